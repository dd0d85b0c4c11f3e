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
        self, session_id: str, count: int, excluding: Collection[str] = ()
    ) -> list[SecurityAssessment]:
        newest = sorted(self.assessments.values(), key=lambda a: a.created_at, reverse=True)
        return [a for a in newest if a.assessment_id not in excluding][:count]

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
