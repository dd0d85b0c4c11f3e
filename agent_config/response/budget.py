"""The byte budget: every answer fits the agent's context, and nothing is silently dropped.

Everything a Lambda returns enters the model's context, so a body is kept under
`max_response_bytes` (20 KB by default). Long lists (findings) are split into pages that each fit
with the rest of the answer; the first page goes out at once, the others are kept with the stored
report and fetched by page number. Page boundaries depend only on the items and the budget, so
asking for page 3 twice gives the same findings, and every item lands on exactly one page.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

from agent_config.interfaces import DegradedSource
from agent_config.response.neutralize import neutralize_note

AgentAnswerT = TypeVar("AgentAnswerT", bound=BaseModel)

SAFETY_BYTES = 600
"""Room kept for the paging note and the JSON punctuation around the list."""


def size_of(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), default=str).encode("utf-8"))


def paginate(items: Sequence[Any], budget: int) -> list[tuple[int, int]]:
    """Greedy page boundaries `(start, end)` so each page's items fit in `budget` bytes (one item per
    page at least, even if it alone is larger: it is never dropped)."""
    pages: list[tuple[int, int]] = []
    start, used = 0, 1  # the list's brackets; each item adds its size and a comma
    for index, item in enumerate(items):
        size = size_of(item) + 1
        if index > start and used + size > budget:
            pages.append((start, index))
            start, used = index, 1
        used += size
    if start < len(items) or not pages:
        pages.append((start, len(items)))
    return pages


def list_budget(envelope: dict[str, Any], limit: int) -> int:
    """Bytes left for a list once the rest of the answer (`envelope`) is counted."""
    return max(1000, limit - size_of(envelope) - SAFETY_BYTES)


def shrink_to_fit(body: dict[str, Any], limit: int, trimmable: Sequence[str]) -> dict[str, Any]:
    """Last resort for bodies whose fixed parts are too large: trim the named list fields from
    their tails, recording how many items each lost, until the body fits."""
    result = dict(body)
    for field in trimmable:
        values = result.get(field)
        if not isinstance(values, list):
            continue
        dropped = 0
        while values and size_of(result) > limit:
            values = values[:-1]
            dropped += 1
            result[field] = values
        if dropped:  # added to what the builder already counted (a list it capped), never replacing it
            omitted = dict(result.get("omitted") or {})
            omitted[field] = omitted.get(field, 0) + dropped
            result["omitted"] = omitted
    return result


def fit_answer(answer: AgentAnswerT, limit: int) -> AgentAnswerT:
    """The guarantee every operation ends with: the serialised answer is under `limit` bytes, and
    its degraded notes are safe to quote.

    Operations page their main lists themselves; this catches what is left (a long gap analysis,
    many degraded notes) by trimming the longest lists from their tails, recording in
    `data["omitted"]` how many items each lost, so nothing disappears without a word.

    Degraded reasons often quote what a server said (an error payload, the tail of its stderr), which
    its operator or anyone who can shape its input controls; every answer passes through here, so
    they are neutralised here (`neutralize_note` keeps our own leading words readable).
    """
    answer = _neutralised_degraded(answer)
    body = answer.model_dump(mode="json")
    if size_of(body) <= limit:
        return answer
    data = dict(body.get("data") or {})
    omitted: dict[str, int] = dict(data.get("omitted") or {})
    degraded = list(body.get("degraded") or [])
    if len(degraded) > 5:
        omitted["degraded"] = omitted.get("degraded", 0) + len(degraded) - 5
        degraded = degraded[:5]
    body = {**body, "degraded": degraded}
    while size_of({**body, "data": {**data, "omitted": omitted}}) > limit:
        lists = [(size_of(v), k) for k, v in data.items() if isinstance(v, list) and v]
        if not lists:
            break
        _, longest = max(lists)
        data[longest] = data[longest][:-1]
        omitted[longest] = omitted.get(longest, 0) + 1
    body["data"] = {**data, "omitted": omitted} if omitted else data
    return type(answer).model_validate(body)


def _neutralised_degraded(answer: AgentAnswerT) -> AgentAnswerT:
    degraded = getattr(answer, "degraded", None)
    if not isinstance(degraded, list) or not degraded:
        return answer
    safe = [
        note.model_copy(update={"reason": neutralize_note(note.reason)}) if isinstance(note, DegradedSource) else note
        for note in degraded
    ]
    return answer.model_copy(update={"degraded": safe})
