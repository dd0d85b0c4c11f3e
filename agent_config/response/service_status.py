"""Answers about the security services: what is on, what is off, what could not be read.

What a server says in its own words (a status summary, an error, the tail of its stderr) is quoted
neutralised: it comes from outside and reaches the agent's model.
"""

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
from agent_config.response.neutralize import neutralize_note, neutralize_tree


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
            "services": [_status_card(s) for s in statuses],
            "enabled": [s.service for s in enabled],
            "not_enabled": [s.service for s in disabled],
            "unknown": [s.service for s in unknown],
        },
        documentation=docs,
        degraded=list(degraded),
    )


def render_health(health: Sequence[ServerHealth]) -> AgentAnswer:
    up = [h for h in health if h.reachable]
    down = [h for h in health if h.reachable is False]
    unchecked = [h.name for h in health if h.reachable is None]  # health check turned off
    summary = f"{len(up)} of {len(health)} configured MCP servers are reachable."
    if down:
        summary += " Unreachable: " + "; ".join(f"{h.name} ({neutralize_note(h.error or 'no reason')})" for h in down)
        summary += "."
    if unchecked:
        summary += f" Not checked (health check disabled in configuration): {', '.join(unchecked)}."
    return AgentAnswer(
        summary=summary,
        data={"servers": [_health_card(h) for h in health]},
        degraded=[DegradedSource(server=h.name, reason=h.error or "unreachable") for h in down],
    )


_LABELS = {**SECURITY_SERVICES, "config": "AWS Config"}
"""The Security server's services, and AWS Config, which only the direct read reports (`direct_security`)."""


def _label(status: ServiceStatus) -> str:
    return _LABELS.get(status.service, status.service)


def _status_card(status: ServiceStatus) -> dict[str, object]:
    card = status.model_dump(mode="json", exclude_none=True)
    for key in ("summary", "error"):
        if isinstance(card.get(key), str):
            card[key] = neutralize_note(card[key])
    if "detail" in card:
        card["detail"] = neutralize_tree(card["detail"])
    return card


def _health_card(health: ServerHealth) -> dict[str, object]:
    card = health.model_dump(mode="json")
    card["tools"] = neutralize_tree(card.get("tools") or [])  # a server names its own tools
    if isinstance(card.get("error"), str):
        card["error"] = neutralize_note(card["error"])
    return card
