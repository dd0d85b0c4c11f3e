"""Bedrock responses rendered for a person at a terminal (the demo and `lambda-invoke --pretty`)."""

from __future__ import annotations

import json
import textwrap
from typing import Any

_MARK = {True: "on ", False: "OFF", None: " ? "}


def render_response(response: dict[str, Any]) -> str:
    api = response.get("response", {})
    status = api.get("httpStatusCode")
    body_text = api.get("responseBody", {}).get("application/json", {}).get("body", "{}")
    try:
        body = json.loads(body_text)
    except json.JSONDecodeError:
        return f"  [{status}] {body_text}"
    lines = [f"  [{status}] " + _wrap(str(body.get("summary") or body.get("message") or ""), 6)]
    data = body.get("data") or {}
    for service in data.get("services", []):
        mark = _MARK.get(service.get("enabled"), " ? ")
        lines.append(f"    [{mark}] {service.get('service', ''):<15} {service.get('summary', '')}"[:140])
    for server in data.get("servers", []):
        mark = "up " if server.get("reachable") else "DOWN"
        tools = ", ".join(server.get("tools", [])[:6])
        detail = (
            f"{server.get('latency_ms')} ms; tools: {tools}"
            if server.get("reachable")
            else server.get("error")
        )
        lines.append(f"    [{mark}] {server.get('name', ''):<18} {detail}"[:160])
    for link in body.get("documentation", []):
        lines.append(f"    doc: {link.get('title')}: {link.get('url')}")
    for part in body.get("degraded", []):
        lines.append(f"    missing: {part.get('server')}: {part.get('reason')}"[:160])
    if body.get("guidance"):
        lines.append("    " + _wrap(str(body["guidance"]), 4))
    return "\n".join(lines)


def _wrap(text: str, indent: int) -> str:
    return textwrap.fill(text, width=100, subsequent_indent=" " * indent)
