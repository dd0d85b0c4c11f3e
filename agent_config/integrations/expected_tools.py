"""The tools each server role must offer for the adapters to work, checked at discovery and in /health.

A server upgrade that renames or drops one of these is reported by name ("tool 'call_aws' is not
offered"), instead of every later call failing with a generic unknown-tool error.
"""

from __future__ import annotations

from agent_config.integrations import security_server
from agent_config.interfaces import ServerRole

EXPECTED_TOOLS_BY_ROLE: dict[ServerRole, frozenset[str]] = {
    ServerRole.SECURITY: security_server.EXPECTED_TOOLS,
    ServerRole.AWS_API: frozenset({"call_aws"}),
    ServerRole.KNOWLEDGE: frozenset({"aws___search_documentation", "aws___read_documentation"}),
}


def missing_tools(role: ServerRole, offered: set[str]) -> list[str]:
    return sorted(EXPECTED_TOOLS_BY_ROLE.get(role, frozenset()) - offered)
