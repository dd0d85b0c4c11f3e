"""`python -m agent_config.knowledge [--http PORT]`: run the offline AWS Knowledge MCP server."""

from agent_config.knowledge.server import main

raise SystemExit(main())
