"""An account with thousands of findings still gets answers under the byte budget, and paging the
stored report returns every finding exactly once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import Any

from agent_config import actions
from agent_config.config import load_config
from agent_config.interfaces import AgentAnswer, Finding, FindingStatus, SecurityAssessment, Severity
from agent_config.orchestration.deadline import Deadline
from agent_config.response.synthesizer import SecuritySynthesizer

CONTROLS = [
    ("S3.8", Severity.HIGH),
    ("S3.9", Severity.MEDIUM),
    ("EC2.8", Severity.HIGH),
    ("KMS.4", Severity.MEDIUM),
]


class KeptAssessments:
    """A session store double: keeps assessments in a dict (the real stores are tested on their own)."""

    def __init__(self) -> None:
        self.assessments: dict[str, SecurityAssessment] = {}
        self.kept_facts: dict[str, str] = {}

    def save_assessment(self, session_id: str, assessment: SecurityAssessment) -> None:
        self.assessments[assessment.assessment_id] = assessment

    def load_assessment(self, session_id: str, assessment_id: str) -> SecurityAssessment | None:
        return self.assessments.get(assessment_id)

    def latest_assessments(
        self,
        session_id: str,
        count: int,
        excluding: Collection[str] = (),
        on_unreadable: object = None,
        *,
        every_service_only: bool = False,
    ) -> list[SecurityAssessment]:
        newest = sorted(self.assessments.values(), key=lambda a: a.created_at, reverse=True)
        wanted = [a for a in newest if a.services is None or not every_service_only]
        return [a for a in wanted if a.assessment_id not in excluding][:count]

    def facts(self, session_id: str) -> dict[str, str]:
        return dict(self.kept_facts)

    def update_facts(self, session_id: str, facts: Mapping[str, str]) -> None:
        self.kept_facts.update(facts)


def _large_assessment(count: int) -> SecurityAssessment:
    findings = []
    for index in range(count):
        control, severity = CONTROLS[index % len(CONTROLS)]
        findings.append(
            Finding(
                control_id=control,
                title=f"{control} title that is reasonably long, as real control titles are",
                status=FindingStatus.FAIL if index % 3 else FindingStatus.PASS,
                severity=severity,
                resource_type="AWS::S3::Bucket",
                resource_id=f"acme-resource-{index:05d}-with-a-long-name",
                region="us-east-1",
                account_id="123456789012",
                sources=["aws_api"],
                evidence={"reason": f"resource {index} is misconfigured in a way the check can explain"},
                observed_at=datetime(2026, 11, 25, tzinfo=UTC),
            )
        )
    return SecuritySynthesizer().synthesize_security_assessment(findings, [], "asm-20261125120000-0123abcd")


def _context(keeper: KeptAssessments) -> actions.OperationContext:
    return actions.OperationContext(
        orchestrator=None,  # type: ignore[arg-type]  # paging never calls a server
        config=load_config(environ={}),
        deadline=Deadline.after(30),
        session_id="s-1",
        sessions=keeper,
    )


def _body_size(answer: AgentAnswer) -> int:
    """As the handler serialises it (Powertools: compact separators)."""
    return len(json.dumps(answer.model_dump(mode="json"), separators=(",", ":")).encode("utf-8"))


def test_thousands_of_findings_fit_the_budget_and_page_exactly_once() -> None:
    assessment = _large_assessment(3000)
    keeper = KeptAssessments()
    keeper.save_assessment("s-1", assessment)
    ctx = _context(keeper)
    budget = ctx.config.max_response_bytes

    first = asyncio.run(actions.report_page(ctx, assessment.assessment_id, 1))
    pages = first.data["pages"]
    assert pages > 10
    seen: list[str] = []
    for page in range(1, pages + 1):
        answer = asyncio.run(actions.report_page(ctx, assessment.assessment_id, page))
        assert _body_size(answer) < budget, page
        seen.extend(card["finding_id"] for card in answer.data["findings"])

    assert len(seen) == len(set(seen)) == len(assessment.findings)


def test_the_first_answer_fits_and_says_how_to_get_the_rest() -> None:
    assessment = _large_assessment(3000)
    keeper = KeptAssessments()
    keeper.save_assessment("s-1", assessment)
    ctx = _context(keeper)
    answer = AgentAnswer(summary="posture", data={"assessment_id": assessment.assessment_id, "findings": []})

    paged = actions._paged(ctx, answer, {"action_plan": []}, assessment)

    assert _body_size(paged) < ctx.config.max_response_bytes
    paging: dict[str, Any] = paged.data["paging"]
    assert paging["next"] == f"GET /security/reports/{assessment.assessment_id}?page=2"
    assert "ask for page 2" in paged.summary
    assert paged.data["findings"][0]["priority"] == 1


def test_asking_past_the_last_page_is_a_clear_input_error() -> None:
    import pytest

    from agent_config.utils.error_handling import InvalidInput

    assessment = _large_assessment(10)
    keeper = KeptAssessments()
    keeper.save_assessment("s-1", assessment)

    with pytest.raises(InvalidInput, match="has 1 page"):
        asyncio.run(actions.report_page(_context(keeper), assessment.assessment_id, 5))


STEP_FIELDS = {"phase", "step", "finding_ids", "effort", "risk_reduction", "changes", "may_break", "verify"}


def _catalogued_assessment(count: int) -> SecurityAssessment:
    """`count` failing findings spread over every catalogued control, each with the catalogue's fix:
    the longest plan an account can produce (one step per control)."""
    from agent_config.checks.catalogue import load_catalogue

    controls = load_catalogue().controls
    findings = []
    for index in range(count):
        control = controls[index % len(controls)]
        findings.append(
            Finding(
                control_id=control.id,
                title=control.title,
                status=FindingStatus.FAIL,
                severity=control.severity,
                resource_type=control.resource_type,
                resource_id=f"acme-resource-{index:05d}-with-a-long-name",
                region="us-east-1",
                account_id="123456789012",
                sources=["aws_api"],
                evidence={"reason": f"resource {index} is misconfigured in a way the check can explain"},
                remediation=control.remediation,
                documentation=list(control.documentation),
                observed_at=datetime(2026, 11, 25, tzinfo=UTC),
            )
        )
    return SecuritySynthesizer().synthesize_security_assessment(findings, [], "asm-20261125120000-0123abcd")


def _assert_whole_steps(steps: list[dict[str, Any]], detailed: bool = False) -> None:
    for step in steps:
        assert step.keys() >= STEP_FIELDS, step.keys()
        assert all(step[field] for field in STEP_FIELDS), step
        assert step.get("cli") or step.get("console"), step  # the first command or console path
        if not detailed:
            assert len(step.get("cli", step.get("console", []))) == 1


def test_an_assessments_plan_steps_carry_every_field_and_fit_with_3000_findings() -> None:
    """The plan is the assessment's answer to "what do I do": each step must be actionable on its own
    (what, how, risk, verify), and a long one gives way by whole steps, counted, never mid-step."""
    from agent_config.response.budget import fit_answer
    from agent_config.response.engine import PLAN_NOTE, AnswerEngine
    from agent_config.routes import RESPONSE_ENVELOPE_BYTES

    assessment = _catalogued_assessment(3000)
    keeper = KeptAssessments()
    keeper.save_assessment("s-1", assessment)
    ctx = _context(keeper)
    engine = AnswerEngine()
    plan = engine.generate_action_plan(assessment.prioritized)
    assert len(plan.steps) > actions.MAX_PLAN_STEPS  # a plan longer than an answer shows
    answer = engine.format_with_documentation_links(engine.transform_multi_source_response(assessment), {})
    extras = {
        "changes_since_previous": {"first_assessment_in_session": True},
        **actions.plan_extras(plan, "action_plan", actions.MAX_PLAN_STEPS),
    }

    paged = actions._paged(ctx, answer, extras, assessment)
    sent = fit_answer(paged, ctx.budget - RESPONSE_ENVELOPE_BYTES)

    assert _body_size(sent) < ctx.config.max_response_bytes
    data = sent.data
    steps = data["action_plan"]
    assert steps, "the plan gave way entirely"
    _assert_whole_steps(steps)
    assert data["plan_note"] == PLAN_NOTE and "nothing is executed" in PLAN_NOTE
    assert len(steps) + data["omitted"]["action_plan"] == len(plan.steps)  # every step shown or counted
    assert [s["step"] for s in steps] == [s.title for s in plan.steps[: len(steps)]]  # trimmed from the tail
    assert data["findings"] and data["paging"]["next"].endswith("page=2")


def test_service_summary_and_compliance_plans_carry_every_field() -> None:
    """The other answers with plan steps give the same fields (the service analysis more commands)."""
    from agent_config.response.engine import AnswerEngine

    plan = AnswerEngine().generate_action_plan(_catalogued_assessment(120).prioritized)

    service = actions.plan_extras(plan, "remediation_steps", actions.MAX_SERVICE_STEPS, console_steps=4, cli_commands=3)
    _assert_whole_steps(service["remediation_steps"], detailed=True)
    assert service["omitted"]["remediation_steps"] == len(plan.steps) - actions.MAX_SERVICE_STEPS
    summary = actions.plan_extras(plan, "next_steps", actions.MAX_SUMMARY_STEPS)
    _assert_whole_steps(summary["next_steps"])
    assert summary["plan_note"]


def test_a_long_executive_summary_plan_is_cut_by_whole_steps_and_counted() -> None:
    from agent_config.response.budget import shrink_to_fit, size_of
    from agent_config.response.engine import AnswerEngine

    plan = AnswerEngine().generate_action_plan(_catalogued_assessment(120).prioritized)
    body = {"posture": "p", **actions.plan_extras(plan, "next_steps", actions.MAX_SUMMARY_STEPS)}

    shrunk = shrink_to_fit(body, size_of(body) - 500, ("next_steps",))

    kept = shrunk["next_steps"]
    assert 0 < len(kept) < actions.MAX_SUMMARY_STEPS
    _assert_whole_steps(kept)
    assert len(kept) + shrunk["omitted"]["next_steps"] == len(plan.steps)  # the cap and the cut, added
