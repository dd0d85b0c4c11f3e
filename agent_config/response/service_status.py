"""Answers about the security services: what is on, what is off, what could not be read."""

from __future__ import annotations

from collections.abc import Sequence

from agent_config.integrations.security_server import SECURITY_SERVICES
from agent_config.interfaces import (
    AgentAnswer,
    DegradedSource,
    DocumentationLink,
    ServerHealth,
    ServiceStatus,
)


def render_service_status(
    region: str, statuses: Sequence[ServiceStatus], degraded: Sequence[DegradedSource] = ()
) -> AgentAnswer:
    enabled = [s for s in statuses if s.enabled is True]
    disabled = [s for s in statuses if s.enabled is False]
    unknown = [s for s in statuses if s.enabled is None]
    parts = [f"In {region}, {len(enabled)} of {len(statuses)} security services are enabled."]
    if disabled:
        parts.append("Not enabled: " + ", ".join(_label(s) for s in disabled) + ".")
    if unknown:
        parts.append("Could not be determined: " + ", ".join(_label(s) for s in unknown) + ".")
    if enabled:
        parts.append("Enabled: " + ", ".join(_label(s) for s in enabled) + ".")
    docs = [
        DocumentationLink(title=f"Set up {_label(s)}", url=s.setup_url)
        for s in [*disabled, *unknown]
        if s.setup_url is not None
    ]
    return AgentAnswer(
        summary=" ".join(parts),
        data={
            "region": region,
            "services": [s.model_dump(mode="json", exclude_none=True) for s in statuses],
            "enabled": [s.service for s in enabled],
            "not_enabled": [s.service for s in disabled],
            "unknown": [s.service for s in unknown],
        },
        documentation=docs,
        degraded=list(degraded),
    )


def render_health(health: Sequence[ServerHealth]) -> AgentAnswer:
    up = [h for h in health if h.reachable]
    down = [h for h in health if not h.reachable]
    summary = f"{len(up)} of {len(health)} configured MCP servers are reachable."
    if down:
        summary += " Unreachable: " + "; ".join(f"{h.name} ({h.error})" for h in down) + "."
    return AgentAnswer(
        summary=summary,
        data={"servers": [h.model_dump(mode="json") for h in health]},
        degraded=[DegradedSource(server=h.name, reason=h.error or "unreachable") for h in down],
    )


def _label(status: ServiceStatus) -> str:
    return SECURITY_SERVICES.get(status.service, status.service)
