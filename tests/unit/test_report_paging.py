"""Paging a stored report: the first answer plus report pages 2..N hold every finding exactly once.

The first answer and `getReportPage` cut the same stored report into pages; if they cut it
differently, findings between the two cuts are shown by neither (the answer says "ask for page 2"
and page 2 starts further on). These tests walk every page, through the same final `fit_answer` the
route applies, for reports from a handful of findings to thousands, with and without a bulky answer
around the findings (long change lists, many degraded notes).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import Any, cast

import pytest

from agent_config import actions
from agent_config.config import load_config
from agent_config.interfaces import (
    AgentAnswer,
    DegradedSource,
    Finding,
    FindingStatus,
    SecurityAssessment,
)
from agent_config.orchestration.deadline import Deadline
from agent_config.response.budget import fit_answer
from agent_config.response.engine import AnswerEngine
from agent_config.response.synthesizer import SecuritySynthesizer
from agent_config.routes import RESPONSE_ENVELOPE_BYTES
from agent_config.utils.error_handling import InvalidInput
from tests.conftest import ScriptedOrchestrator

ASSESSMENT_ID = "asm-20261125134548-a908c181"
SESSION = "paging-session"


class _Keeper:
    """The session store, in memory: only what paging reads."""

    def __init__(self, assessment: SecurityAssessment) -> None:
        self._assessment = assessment

    def load_assessment(self, session_id: str, assessment_id: str) -> SecurityAssessment | None:
        return self._assessment if assessment_id == self._assessment.assessment_id else None

    def latest_assessments(
        self, session_id: str, count: int, excluding: Collection[str] = (), *_: Any, **__: Any
    ) -> list[Any]:
        return []

    def facts(self, session_id: str) -> dict[str, str]:
        return {}

    def update_facts(self, session_id: str, facts: Mapping[str, str]) -> None:
        return None


def _report(size: int, degraded: int = 0) -> SecurityAssessment:
    """`size` findings over the catalogue's controls: two in three FAIL, the rest PASS or MANUAL,
    with evidence of varying length so cards (and page boundaries) differ in size."""
    engine = AnswerEngine()
    controls = list(engine.catalogue.all())
    findings = []
    for index in range(size):
        control = controls[index % len(controls)]
        status = (FindingStatus.PASS, FindingStatus.FAIL, FindingStatus.FAIL, FindingStatus.MANUAL)[index % 4]
        findings.append(
            Finding(
                control_id=control.id,
                title=control.title,
                status=status,
                severity=control.severity,
                resource_type=control.resource_type,
                resource_id=f"acme-resource-{index:05d}",
                region="us-east-1",
                account_id="123456789012",
                sources=["aws_api"],
                remediation=control.remediation,
                documentation=list(control.documentation),
                observed_at=datetime(2026, 11, 25, tzinfo=UTC),
                evidence={"reason": f"observed setting {'x' * ((index * 37) % 300)}"},
            )
        )
    notes = [DegradedSource(server="security", reason=f"check {i} failed: " + "e" * 300) for i in range(degraded)]
    return SecuritySynthesizer().synthesize_security_assessment(findings, notes, ASSESSMENT_ID)


def _context(assessment: SecurityAssessment) -> actions.OperationContext:
    return actions.OperationContext(
        orchestrator=ScriptedOrchestrator(),
        config=load_config(environ={}),
        deadline=Deadline.after(600),
        session_id=SESSION,
        sessions=cast(actions.AssessmentKeeper, _Keeper(assessment)),  # only what paging reads
    )


def _as_the_route_sends_it(ctx: actions.OperationContext, answer: AgentAnswer) -> tuple[AgentAnswer, int]:
    """The route's last step, and the size of the body Bedrock receives."""
    fitted = fit_answer(answer, ctx.budget - RESPONSE_ENVELOPE_BYTES)
    return fitted, len(fitted.model_dump_json().encode("utf-8"))


def _first_answer(ctx: actions.OperationContext, stored: SecurityAssessment, bulky: bool) -> AgentAnswer:
    """What `assessment` builds before paging, optionally with a very long answer around the findings."""
    engine = AnswerEngine()
    answer = engine.format_with_documentation_links(engine.transform_multi_source_response(stored), {})
    plan = engine.generate_action_plan(stored.prioritized)
    changes: dict[str, Any] = {"first_assessment_in_session": True}
    if bulky:
        changes = {
            "previous_assessment_id": "asm-20261124000000-00000000",
            "new": [f"S3.8 (HIGH) on bucket-{i:05d} in us-east-1" for i in range(3000)],
            "resolved": [f"EC2.2 (HIGH) on sg-{i:08x} in us-east-1" for i in range(1000)],
            "persisting": 10,
            "not_reassessed": [],
        }
    extras = {"changes_since_previous": changes, **actions.plan_extras(plan, "action_plan", actions.MAX_PLAN_STEPS)}
    return actions._paged(ctx, answer, extras, stored)


def _page(ctx: actions.OperationContext, page: int) -> AgentAnswer:
    return asyncio.run(actions.report_page(ctx, ASSESSMENT_ID, page))


def _ids(answer: AgentAnswer) -> list[str]:
    return [card["finding_id"] for card in answer.data["findings"]]


@pytest.mark.parametrize("bulky", [False, True], ids=["plain", "bulky-answer"])
@pytest.mark.parametrize("size", [3, 60, 600, 3000])
def test_the_first_answer_and_pages_2_to_n_hold_every_finding_once_in_priority_order(
    size: int, bulky: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored = _report(size, degraded=40 if bulky else 0)
    ctx = _context(stored)
    # Cards are rebuilt from the stored report on every page (as in the Lambda); remember them per
    # report here so walking a hundred pages of 3,000 findings stays quick.
    computed: dict[int, actions._ReportPages] = {}
    real = actions._report_pages

    def remembered(report: SecurityAssessment, budget: int) -> actions._ReportPages:
        if budget not in computed:
            computed[budget] = real(report, budget)
        return computed[budget]

    monkeypatch.setattr(actions, "_report_pages", remembered)
    expected = [p.finding.finding_id for p in stored.prioritized]
    ranked = set(expected)
    expected += [f.finding_id for f in stored.findings if f.finding_id not in ranked]

    first, size_of_first = _as_the_route_sends_it(ctx, _first_answer(ctx, stored, bulky))

    assert size_of_first < ctx.budget
    assert "findings" not in first.data.get("omitted", {})
    seen = _ids(first)
    assert seen[:1] == expected[:1], "the most urgent finding opens the first answer"
    paging = first.data.get("paging")
    if paging is None:
        assert len(seen) == size
    else:
        assert paging["next"] == f"GET /security/reports/{ASSESSMENT_ID}?page=2"
        assert "page 2" in first.summary
        for number in range(2, paging["pages"] + 1):
            page, size_of_page = _as_the_route_sends_it(ctx, _page(ctx, number))
            assert size_of_page < ctx.budget
            assert "omitted" not in page.data
            assert page.data["page"] == number and page.data["pages"] == paging["pages"]
            seen += _ids(page)
        with pytest.raises(InvalidInput):
            _page(ctx, paging["pages"] + 1)
    assert seen == expected  # every finding, once, most urgent first


def test_report_page_1_is_what_the_first_answer_showed() -> None:
    stored = _report(600)
    ctx = _context(stored)

    first, _ = _as_the_route_sends_it(ctx, _first_answer(ctx, stored, bulky=True))
    page_one = _page(ctx, 1)

    assert _ids(page_one) == _ids(first)
    assert "Ask for page 2" in page_one.summary


def test_a_report_without_failures_shows_its_other_results_in_the_same_pages() -> None:
    passing = _report(60).model_copy(update={"prioritized": []})
    passing = passing.model_copy(
        update={"findings": [f.model_copy(update={"status": FindingStatus.PASS}) for f in passing.findings]}
    )
    ctx = _context(passing)

    first, _ = _as_the_route_sends_it(ctx, _first_answer(ctx, passing, bulky=False))

    assert first.data["paging"]["next"].endswith("?page=2")
    assert "other" in first.summary and "page 2" in first.summary
    assert _ids(_page(ctx, 1)) == _ids(first)
    rest = [i for n in range(2, first.data["paging"]["pages"] + 1) for i in _ids(_page(ctx, n))]
    assert _ids(first) + rest == [f.finding_id for f in passing.findings]


def test_a_small_report_is_one_page_the_first_answer_shows_whole() -> None:
    stored = _report(3)
    ctx = _context(stored)

    first, _ = _as_the_route_sends_it(ctx, _first_answer(ctx, stored, bulky=False))

    assert "paging" not in first.data
    assert sorted(_ids(first)) == sorted(f.finding_id for f in stored.findings)
    assert _page(ctx, 1).data["pages"] == 1


def test_when_page_1_cannot_fit_the_answer_shows_no_finding_and_points_at_page_1() -> None:
    stored = _report(60)
    ctx = _context(stored)
    engine = AnswerEngine()
    answer = engine.transform_multi_source_response(stored)
    # a summary so long that nothing else fits: page 1 cannot go out whole
    answer = answer.model_copy(update={"summary": "posture " * 2500})

    first, _ = _as_the_route_sends_it(ctx, actions._paged(ctx, answer, {}, stored))

    assert _ids(first) == []
    assert first.data["paging"]["next"].endswith("?page=1")
    assert "page 1" in first.summary
    walked = [i for n in range(1, first.data["paging"]["pages"] + 1) for i in _ids(_page(ctx, n))]
    assert sorted(walked) == sorted(f.finding_id for f in stored.findings)
    assert len(walked) == len(set(walked))


def test_what_gave_way_around_page_1_is_counted() -> None:
    stored = _report(600, degraded=40)
    ctx = _context(stored)

    first, _ = _as_the_route_sends_it(ctx, _first_answer(ctx, stored, bulky=True))

    omitted = first.data["omitted"]
    assert omitted["degraded"] == 35
    changes = first.data["changes_since_previous"]
    assert omitted["changes_since_previous.new"] == 3000 - len(changes["new"])
    assert json.dumps(first.data["counts_by_status"]) == json.dumps(
        {"FAIL": len(stored.prioritized), "PASS": 150, "other": 150}
    )


def test_a_resource_is_matched_exactly_not_by_suffix() -> None:
    engine = AnswerEngine()
    control = engine.catalogue.find("RDS.2")
    assert control is not None

    def finding(name: str) -> Finding:
        return Finding(
            control_id="RDS.2",
            title=control.title,
            status=FindingStatus.FAIL,
            severity=control.severity,
            resource_type=control.resource_type,
            resource_id=name,
            resource_arn=f"arn:aws:rds:us-east-1:123456789012:db:{name}",
            region="us-east-1",
            account_id="123456789012",
        )

    stored = SecuritySynthesizer().synthesize_security_assessment(
        [finding("db"), finding("acme-reporting-db"), finding("orders-db")], [], ASSESSMENT_ID
    )

    def names(resource: str) -> list[str]:
        return sorted(str(f.resource_id) for f in actions._only_resource(stored, resource).findings)

    assert names("db") == ["db"]
    assert names("reporting-db") == []
    assert names("acme-reporting-db") == ["acme-reporting-db"]
    assert names("arn:aws:rds:us-east-1:123456789012:db:orders-db") == ["orders-db"]
    assert actions._arn_name("arn:aws:iam::123456789012:user/ops/ana") == "ana"


def test_a_view_narrowed_to_one_resource_points_at_the_complete_report_not_at_its_page_2() -> None:
    stored = _report(600)
    ctx = _context(stored)
    engine = AnswerEngine()
    answer = engine.transform_multi_source_response(stored)

    narrowed, _ = _as_the_route_sends_it(ctx, actions._paged(ctx, answer, {}, stored, whole_report=False))

    paging = narrowed.data["paging"]
    assert paging["next"] == f"GET /security/reports/{ASSESSMENT_ID}?page=1"
    assert "every resource" in paging["note"]
    assert "pages" not in paging
