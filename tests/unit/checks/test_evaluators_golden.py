"""Every evaluator against saved evidence (golden files captured from moto) and reviewed results.

Each file under `golden/<service>/<case>.json` holds the evidence one assessment collected (the
service module's own plan, executed against moto by `capture_golden.py`) and the results a correct
evaluator gives for it. The comparison covers control, status, resource, ARN, Region and, for
MANUAL, what was missing; the reason sentence is kept in the file for the reviewer but not compared.

Regenerating:
    .venv/bin/python tests/unit/checks/capture_golden.py [service ...]     # evidence (needs moto)
    UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/checks/test_evaluators_golden.py   # expectations
and review every changed `expected` block before committing it: the files are the specification.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from agent_config.checks import registry
from agent_config.checks.evidence import Evidence, EvidenceItem
from agent_config.checks.results import UNKNOWN_REGION, CheckResult
from agent_config.interfaces import FindingStatus

GOLDEN = Path(__file__).parent / "golden"
CASE_FILES = sorted(GOLDEN.glob("*/*.json"))
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
COMPARED = ("control_id", "status", "resource_id", "resource_arn", "region", "missing")


def load(path: Path) -> dict[str, Any]:
    case: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return case


def evidence_of(case: dict[str, Any]) -> Evidence:
    return Evidence(
        account_id=case["account_id"], items=[EvidenceItem.model_validate(item) for item in case["evidence"]]
    )


def run(case: dict[str, Any], evidence: Evidence | None = None) -> list[CheckResult]:
    module = registry.module_for(case["service"])
    now = datetime.fromisoformat(case["now"])
    evidence = evidence or evidence_of(case)
    results: list[CheckResult] = []
    for region in registry.regions_for(module, case["regions"]):
        results.extend(module.evaluate(region, evidence, now=now))
    return results


def summary(result: CheckResult) -> dict[str, Any]:
    row: dict[str, Any] = {
        "control_id": result.control_id,
        "status": result.status.value,
        "resource_id": result.resource_id,
        "resource_arn": result.resource_arn,
        "region": result.region,
        "reason": result.reason,
    }
    if result.missing is not None:
        row["missing"] = result.missing
    return row


def compared(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row.get(field) for field in COMPARED)


def case_id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


SINGLETON_SERVICES = {"account"}
"""An account has one security contact and one organization membership: no 'empty' or 'many' case,
an 'unsupported' one instead (and 'member', an account inside someone else's organization)."""


def test_every_service_module_has_every_kind_of_case() -> None:
    for module in registry.SERVICE_MODULES:
        names = {p.stem for p in (GOLDEN / module.SERVICE).glob("*.json")}
        if module.SERVICE in SINGLETON_SERVICES:
            expected = {"passing", "failing", "unsupported", "denied"}
        else:
            expected = {"passing", "failing", "empty", "many", "denied"}
        assert expected <= names, f"{module.SERVICE} lacks {sorted(expected - names)}"


@pytest.mark.parametrize("path", CASE_FILES, ids=case_id)
def test_golden_case(path: Path) -> None:
    # GIVEN the evidence one assessment collected
    case = load(path)

    # WHEN the service's evaluator reads it
    actual = [summary(r) for r in run(case)]

    # THEN it gives the reviewed results
    if UPDATE:
        case["expected"] = actual
        path.write_text(json.dumps(case, indent=1) + "\n", encoding="utf-8")
        return
    assert case["expected"] is not None, f"{case_id(path)} has no expectations: UPDATE_GOLDEN=1, then review"
    assert sorted(map(compared, actual)) == sorted(map(compared, case["expected"]))


@pytest.mark.parametrize("path", CASE_FILES, ids=case_id)
def test_results_are_well_formed(path: Path) -> None:
    case = load(path)
    module = registry.module_for(case["service"])

    results = run(case)

    assert results, "every case yields at least one result"
    assert {r.control_id for r in results} <= set(module.CONTROL_IDS)
    assert len({r.key for r in results}) == len(results), "one result per control, resource and Region"
    for result in results:
        if result.status is FindingStatus.MANUAL:
            assert result.missing and (":" in result.missing), "MANUAL names the permission or API"
        if result.resource_arn is not None:
            assert result.resource_arn.startswith("arn:aws:")


@pytest.mark.parametrize("path", CASE_FILES, ids=case_id)
def test_every_control_of_the_module_is_answered(path: Path) -> None:
    """No control is silently skipped: each gets a result, a MANUAL or a NOT_APPLICABLE."""
    case = load(path)
    module = registry.module_for(case["service"])

    answered = {r.control_id for r in run(case)}

    assert answered == set(module.CONTROL_IDS)


@pytest.mark.parametrize("path", CASE_FILES, ids=case_id)
def test_missing_evidence_never_creates_a_verdict(path: Path) -> None:
    """Deny any one call: no result may turn into a PASS or FAIL it was not with the full evidence."""
    # GIVEN a case and its verdicts with all the evidence
    case = load(path)
    original = run(case)
    full = {r.key: r.status for r in original}
    # A denied location read leaves a bucket's Region unknown: match those on control and resource.
    anywhere = {(r.control_id, r.resource_arn or r.resource_id): r.status for r in original}
    items = [EvidenceItem.model_validate(item) for item in case["evidence"]]

    for position, item in enumerate(items):
        # WHEN that one call is denied
        denied = item.model_copy(update={"response": None, "error_code": "AccessDenied"})
        evidence = Evidence(account_id=case["account_id"], items=[*items[:position], denied, *items[position + 1 :]])

        # THEN every PASS or FAIL left was already that verdict
        for result in run(case, evidence):
            if result.status not in (FindingStatus.PASS, FindingStatus.FAIL):
                continue
            if result.region == UNKNOWN_REGION:
                before = anywhere.get((result.control_id, result.resource_arn or result.resource_id))
            else:
                before = full.get(result.key)
            assert before is result.status, f"denying {item.call.label} gave {result}"
