"""Enhanced Security Agent: a Bedrock Agent action-group backend over three MCP servers.

Reading order: `enhanced_security_agent` (the Lambda entry point) -> `actions` (one function per
operation) -> `orchestration` (planning and concurrent calls) -> `integrations` (MCP connections
and one adapter per server) -> `interfaces` (the domain models every layer shares).
"""

__version__ = "0.1.0"
