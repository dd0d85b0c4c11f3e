"""The edge towards MCP servers: connections (the only place that imports `mcp`) and one adapter
per server role that parses the server's raw output into domain models."""
