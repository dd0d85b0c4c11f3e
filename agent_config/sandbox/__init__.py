"""The local AWS world: a moto server on loopback, credentials files for it, the real MCP servers
launched against it. Used by the demo and the tests; never imported by the Lambda."""
