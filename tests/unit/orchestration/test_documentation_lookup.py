"""Documentation searches are planned from the request's scope and issued together with the
evidence collection, then matched to the findings.

The Knowledge server here is a real MCP server in process (`tests/peers/scripted_knowledge_server`)
behind the real orchestrator; only `run_assessment` is scripted (it sleeps like a slow account and
records when it ran). Overlap is proven by the timestamps both fakes record, never by wall time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from agent_config import actions
from agent_config.checks import registry
from agent_config.config import AgentConfig
from agent_config.integrations import knowledge_server
from agent_config.integrations.knowledge_server import SearchResult
from agent_config.interfaces import DocumentationLink, Finding, FindingStatus, SecurityAssessment, Severity
from agent_config.orchestration.deadline import Deadline
from agent_config.orchestration.documentation import ScopeDocumentation
from agent_config.orchestration.orchestrator import ServerOrchestrator
from agent_config.orchestration.planner import (
    FRAMEWORK_SEARCH,
    SERVICE_DOCS,
    AssessmentRequest,
    documentation_calls,
)
from agent_config.response.engine import AnswerEngine
from agent_config.response.synthesizer import SecuritySynthesizer
from tests.peers import scripted_knowledge_server as peer

pytestmark = pytest.mark.anyio

S3_2_PAGE = (
    "[S3.2] S3 buckets should prohibit public read access",
    "https://docs.aws.amazon.com/securityhub/latest/userguide/s3-controls.html#s3-2",
)
S3_GUIDE = (
    "Security best practices for Amazon S3",
    "https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html",
)
EKS_GUIDE = (
    "Security best practices for Amazon EKS",
    "https://docs.aws.amazon.com/eks/latest/best-practices/security.html",
)
FSBP_PAGE = (
    "AWS Foundational Security Best Practices standard in Security Hub",
    "https://docs.aws.amazon.com/securityhub/latest/userguide/fsbp-standard.html",
)
CATALOGUE_S3_2 = "https://docs.aws.amazon.com/securityhub/latest/userguide/s3-controls.html#s3-2"
ASSESSMENT_S = 0.4
SEARCH_S = 0.4


class SlowAssessment:
    """Stands in for `run_assessment`: takes `seconds`, records when, finds S3.2 failing."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started: float | None = None
        self.finished: float | None = None

    async def __call__(
        self, orchestrator: Any, request: AssessmentRequest, deadline: Any, **_: Any
    ) -> SecurityAssessment:
        self.started = time.monotonic()
        await asyncio.sleep(self.seconds)
        finding = Finding(
            control_id="S3.2",
            title="S3 general purpose buckets should block public read access",
            status=FindingStatus.FAIL,
            severity=Severity.CRITICAL,
            resource_type="AWS::S3::Bucket",
            resource_id="acme-public",
            region="global",
            account_id="123456789012",
            sources=["aws_api"],
            observed_at=datetime(2026, 11, 25, tzinfo=UTC),
        )
        assessment = SecuritySynthesizer().synthesize_security_assessment([finding], [], assessment_id="asm-1")
        self.finished = time.monotonic()
        return assessment.model_copy(
            update={"regions": list(request.regions), "account_id": "123456789012", "services": ["s3"]}
        )


def _context(orchestrator: ServerOrchestrator, config: AgentConfig) -> actions.OperationContext:
    return actions.OperationContext(
        orchestrator=orchestrator, config=config, deadline=Deadline.after(30), session_id="s-1", sessions=None
    )


def _config() -> AgentConfig:
    return AgentConfig.model_validate(
        {
            "servers": {
                "knowledge": {
                    "role": "knowledge",
                    "transport": "in_process",
                    "in_process_target": peer.TARGET,
                    "retry": {"max_attempts": 2, "base_delay_s": 0.01, "max_delay_s": 0.02},
                }
            }
        }
    )


@pytest.fixture
def slow_assessment(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlowAssessment]:
    scripted = SlowAssessment(ASSESSMENT_S)
    monkeypatch.setattr("agent_config.actions.run_assessment", scripted)
    yield scripted
    peer.reset()


async def test_documentation_is_searched_while_the_evidence_is_collected(slow_assessment: SlowAssessment) -> None:
    # GIVEN a Knowledge server that takes SEARCH_S per search and an assessment that takes ASSESSMENT_S
    script = peer.reset(
        delay_s=SEARCH_S,
        pages={"amazon s3": [S3_2_PAGE, EKS_GUIDE, S3_GUIDE], "foundational": [FSBP_PAGE]},
    )
    config = _config()
    orchestrator = ServerOrchestrator(config)
    try:
        # WHEN an S3 analysis is asked for
        answer = await actions.service_analysis(_context(orchestrator, config), "s3", "us-east-1", None)
    finally:
        await orchestrator.close()

    # THEN the searches started before the evidence was in, and ran alongside it: max(A, S), not A + S
    assert slow_assessment.started is not None and slow_assessment.finished is not None
    assert [s.phrase for s in script.searches] == [
        "Amazon S3 security best practices S3.1 S3.2 S3.3 S3.5 S3.8 S3.9",
        FRAMEWORK_SEARCH,
    ]
    for search in script.searches:
        assert search.finished is not None
        assert search.started < slow_assessment.finished
        assert search.finished > slow_assessment.started
    # AND the pages are matched afterwards: the control's own page on its card, the service's guide
    # and the framework's page in the answer's list, never another service's guide
    [card] = [c for c in answer.data["findings"] if c["control_id"] == "S3.2"]
    assert card["docs"][0] == S3_2_PAGE[1]
    listed = [link.url for link in answer.documentation]
    assert S3_GUIDE[1] in listed and FSBP_PAGE[1] in listed
    assert EKS_GUIDE[1] not in listed
    assert [link["url"] for link in answer.data["best_practices"]] == [S3_GUIDE[1], S3_2_PAGE[1]]
    assert not [d for d in answer.degraded if d.server == knowledge_server.SERVER]


async def test_a_failing_knowledge_server_leaves_the_catalogue_links_and_one_note(
    slow_assessment: SlowAssessment,
) -> None:
    # GIVEN a Knowledge server whose every search fails, and a comprehensive assessment (21 searches)
    script = peer.reset(fail=True)
    config = _config()
    orchestrator = ServerOrchestrator(config)
    try:
        answer = await actions.assessment(_context(orchestrator, config), ["us-east-1"], None)
    finally:
        await orchestrator.close()

    # THEN the finding keeps the catalogue's own link (never a made-up one), and one note says why
    assert script.searches  # it was asked
    [card] = [c for c in answer.data["findings"] if c["control_id"] == "S3.2"]
    control = AnswerEngine().catalogue.find("S3.2")
    assert control is not None
    assert card["docs"] == [link.url for link in control.documentation][:2]
    assert card["docs"][0] == CATALOGUE_S3_2
    notes = [d.reason for d in answer.degraded if d.server == knowledge_server.SERVER]
    assert len(notes) == 1
    assert "documentation searches failed" in notes[0]
    assert "catalogue links are used instead" in notes[0]


def test_the_planner_plans_one_search_per_service_in_scope_and_one_for_the_framework() -> None:
    one = documentation_calls(AssessmentRequest(regions=("us-east-1",), services=("s3", "iam")))
    every = documentation_calls(AssessmentRequest(regions=("us-east-1", "eu-west-1")))

    assert [c.arguments["search_phrase"] for c in one] == [
        "Amazon S3 security best practices S3.1 S3.2 S3.3 S3.5 S3.8 S3.9",
        "AWS IAM security best practices " + " ".join(registry.module_for("iam").CONTROL_IDS),
        FRAMEWORK_SEARCH,
    ]
    assert {c.server for c in one} == {knowledge_server.SERVER}
    assert len(every) == len(registry.SERVICE_MODULES) + 1  # per service, not per Region
    assert {m.SERVICE for m in registry.SERVICE_MODULES} <= set(SERVICE_DOCS)
    [secrets] = documentation_calls(AssessmentRequest(regions=("us-east-1",), services=("secrets_in_config",)))[:1]
    assert "ESA." not in secrets.arguments["search_phrase"]  # the agent's own controls have no page to find


def _hit(rank: int, title: str, url: str) -> SearchResult:
    return SearchResult(rank=rank, link=DocumentationLink(title=title, url=url, source="knowledge"), context="")


def test_pages_are_matched_to_their_own_control_and_guides_to_the_service_they_name() -> None:
    s3_8 = (
        "[S3.8] S3 Block Public Access setting should be enabled at the bucket-level",
        CATALOGUE_S3_2[:-5] + "#s3-8",
    )
    docs = ScopeDocumentation(
        by_service={"s3": [_hit(1, *EKS_GUIDE), _hit(2, *S3_GUIDE), _hit(3, *s3_8)], "iam": [_hit(1, *EKS_GUIDE)]},
        framework=[_hit(1, *S3_2_PAGE), _hit(2, *FSBP_PAGE)],
    )

    found = docs.for_controls(["S3.2", "S3.8", "IAM.1", "GuardDuty.Finding/Recon"])

    assert {control: [link.url for link in links] for control, links in found.items()} == {
        "S3.2": [S3_2_PAGE[1]],  # found by the framework's search: any search counts
        "S3.8": [s3_8[1]],
    }  # nothing for IAM.1: its catalogue links stand alone
    assert [link.url for link in docs.scope_links(["iam", "s3", "s3"])] == [S3_GUIDE[1], FSBP_PAGE[1]]
    assert [link.url for link in docs.service_links("s3", 5)] == [S3_GUIDE[1], s3_8[1]]  # not the EKS guide
