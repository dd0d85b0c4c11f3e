"""Enhanced Security Agent: a Bedrock Agent action-group backend over three MCP servers.

Reading order: `enhanced_security_agent` (the Lambda entry point) -> `routes` (the operations) ->
`actions` (one function per operation) -> `assessment` (the pipeline) -> `orchestration` (planning,
evidence collection, concurrent calls) -> `integrations` (MCP connections, one adapter per server,
the read-only guard) -> `checks` (catalogue and evaluators) -> `response` (synthesis, answers) ->
`session` (history). `interfaces` holds the domain models every layer shares.
"""

__version__ = "0.1.0"
