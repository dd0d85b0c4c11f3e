"""A response of an unexpected shape (a server that changed, a proxy that mangled it) costs its part
of the answer, never the whole assessment: no evaluator, plan or cap may raise on it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from agent_config.checks import registry
from agent_config.checks.evidence import Evidence, EvidenceItem

GOLDEN = Path(__file__).parent / "golden"
CASE_FILES = sorted(GOLDEN.glob("*/*.json"))
ODD_VALUES: tuple[Any, ...] = (None, "x", 7, True, [], {}, [1, "a", None])


def mutations(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The document emptied, then each field (and each field of its first object) made odd."""
    yield {}
    for key, value in document.items():
        for odd in ODD_VALUES:
            yield {**document, key: odd}
        first = value[0] if isinstance(value, list) and value and isinstance(value[0], dict) else None
        nested = first if first is not None else value if isinstance(value, dict) else None
        if nested is None:
            continue
        for inner in nested:
            for odd in ODD_VALUES:
                changed = {**nested, inner: odd}
                yield {**document, key: [changed, *value[1:]] if first is not None else changed}


@pytest.mark.parametrize("path", CASE_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_no_evaluator_raises_on_a_malformed_response(path: Path) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))
    module = registry.module_for(case["service"])
    items = [EvidenceItem.model_validate(item) for item in case["evidence"]]
    now = datetime.fromisoformat(case["now"])
    regions = registry.regions_for(module, case["regions"])

    for position, item in enumerate(items):
        if item.response is None:
            continue
        for odd in mutations(item.response):
            changed = item.model_copy(update={"response": odd})
            evidence = Evidence(
                account_id=case["account_id"], items=[*items[:position], changed, *items[position + 1 :]]
            )
            for region in regions:
                module.plan(region, evidence)
                module.cap_reached(region, evidence)
                module.evaluate(region, evidence, now=now)
