"""Bedrock responses rendered for a person at a terminal (the demo).

The agent's model reads the JSON; a person watching the demo would rather see a few aligned lines:
what is on or off, the most urgent findings with their reasons, the plan, what is missing.
"""

from __future__ import annotations

import json
import textwrap
from typing import Any

_MARK = {True: "on ", False: "OFF", None: " ? "}
WIDTH = 110
SHOWN = 6


def render_response(response: dict[str, Any]) -> str:
    api = response.get("response", {})
    status = api.get("httpStatusCode")
    body_text = api.get("responseBody", {}).get("application/json", {}).get("body", "{}")
    try:
        body = json.loads(body_text)
    except json.JSONDecodeError:
        return f"  [{status}] {body_text}"
    lines = [f"  [{status}] " + _wrap(str(body.get("summary") or body.get("message") or ""), 8)]
    data = body.get("data") or {}
    lines += _services(data) + _servers(data) + _scores(data) + _findings(data) + _plan(data) + _compliance(data)
    lines += _changes(data)
    for link in body.get("documentation", [])[:4]:
        lines.append(f"    doc: {link.get('title')}: {link.get('url')}")
    for part in body.get("degraded", [])[:4]:
        lines.append(_cut(f"    missing: {part.get('server')}: {part.get('reason')}"))
    if body.get("guidance"):
        lines.append("    " + _wrap(str(body["guidance"]), 4))
    return "\n".join(lines)


def _services(data: dict[str, Any]) -> list[str]:
    return [
        _cut(f"    [{_MARK.get(s.get('enabled'), ' ? ')}] {s.get('service', ''):<15} {s.get('summary', '')}")
        for s in data.get("services", [])
    ]


def _servers(data: dict[str, Any]) -> list[str]:
    lines = []
    for server in data.get("servers", []):
        mark = "up " if server.get("reachable") else "n/c " if server.get("reachable") is None else "DOWN"
        tools = ", ".join(server.get("tools", [])[:4])
        detail = (
            f"{server.get('latency_ms')} ms, circuit {server.get('circuit')}; tools: {tools}"
            if server.get("reachable")
            else server.get("error")
        )
        lines.append(_cut(f"    [{mark}] {server.get('name', ''):<18} {detail}"))
    return lines


def _scores(data: dict[str, Any]) -> list[str]:
    scores = data.get("scores")
    if not isinstance(scores, dict) or "pass_ratio" not in scores:
        return []
    parts = [f"{name} {value.get('value')}%" for name, value in scores.items() if isinstance(value, dict)]
    counts = data.get("counts_by_severity") or {}
    failing = ", ".join(f"{k.lower()} {v}" for k, v in counts.items() if v)
    return [f"    scores: {'; '.join(parts)}" + (f"   failing: {failing}" if failing else "")]


def _findings(data: dict[str, Any]) -> list[str]:
    findings = data.get("findings") or []
    lines = []
    for card in findings[:SHOWN]:
        rank = f"#{card['priority']}" if "priority" in card else "-"
        lines.append(
            _cut(
                f"    {rank:>4} {card.get('severity', ''):<8} {card.get('control_id', ''):<12} "
                f"{card.get('resource', '')}  ({card.get('region', '')})"
            )
        )
        why = [r for r in card.get("why_this_rank", []) if not r.startswith("control severity")]
        if why:
            lines.append(_cut(f"           why: {why[0]}"))
    if len(findings) > SHOWN:
        lines.append(f"         ... {len(findings) - SHOWN} more in this answer")
    paging = data.get("paging")
    if isinstance(paging, dict):
        lines.append(f"    paging: {paging.get('shown')}; next: {paging.get('next')}")
    return lines


def _plan(data: dict[str, Any]) -> list[str]:
    steps = data.get("action_plan") or data.get("remediation_steps") or data.get("roadmap") or []
    return [_cut(f"    plan [{s.get('phase')}] {s.get('step')}  ({s.get('effort', '')})") for s in steps[:4]]


def _compliance(data: dict[str, Any]) -> list[str]:
    lines = []
    controls = data.get("controls")
    if isinstance(controls, dict):
        failing = [c for c, status in controls.items() if status == "FAILED"]
        lines.append(_cut(f"    controls: {len(controls)} evaluated, failing: {', '.join(failing)}"))
    for gap in (data.get("gaps") or [])[:3]:
        lines.append(
            _cut(
                f"    gap: {gap.get('requirement')} {gap.get('title')} <- {', '.join(gap.get('failing_controls', []))}"
            )
        )
    process = data.get("not_assessable_automatically") or []
    if process:
        lines.append(f"    not assessable automatically: {len(process)} process practices (e.g. {process[0]})")
    return lines


def _changes(data: dict[str, Any]) -> list[str]:
    changes = data.get("changes_since_previous")
    if not isinstance(changes, dict) or changes.get("first_assessment_in_session"):
        return []
    return [
        f"    since {changes.get('previous_assessment_id')}: {len(changes.get('new', []))} new, "
        f"{len(changes.get('resolved', []))} resolved, {changes.get('persisting')} persisting"
    ]


def _cut(line: str) -> str:
    return line if len(line) <= WIDTH + 40 else line[: WIDTH + 37] + "..."


def _wrap(text: str, indent: int) -> str:
    return textwrap.fill(text, width=WIDTH, subsequent_indent=" " * indent)
