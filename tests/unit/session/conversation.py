"""A conversation through the real Lambda handler, fast: the scripted orchestrator, an in-memory (or
deliberately failing) session store on a fake clock, and the assessment's findings scripted.

Only `run_assessment` (the AWS reads and checks, tested on the sandbox) is replaced; routing, the
operations, the session keeper, manager and store, and the answer layer are the real ones.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agent_config.bedrock import BedrockAgentResponse, build_event
from agent_config.cli import LocalLambdaContext
from agent_config.enhanced_security_agent import lambda_handler
from agent_config.interfaces import Finding, FindingStatus, SecurityAssessment, Severity
from agent_config.orchestration.planner import AssessmentRequest
from agent_config.response.synthesizer import SecuritySynthesizer
from agent_config.runtime import AgentRuntime
from agent_config.session.keeper import SessionKeeper
from agent_config.session.manager import SessionManager
from agent_config.session.store import SessionStore

SESSION = "conversation-0001"
ACCOUNT = "123456789012"

Spec = tuple[str, str, str]
"""(control_id, resource_id, status) of one scripted finding."""


def finding(control: str, resource: str, status: str, region: str = "us-east-1") -> Finding:
    return Finding(
        control_id=control,
        title=f"{control} on {resource}",
        status=FindingStatus(status),
        severity=Severity.HIGH,
        resource_type="AWS::S3::Bucket",
        resource_id=resource,
        region=region,
        account_id=ACCOUNT,
        sources=["aws_api"],
        observed_at=datetime(2026, 11, 25, tzinfo=UTC),
    )


@dataclass
class ScriptedAssessments:
    """Stands in for `actions.run_assessment`: the next scripted findings, in the Regions asked for."""

    scripts: list[list[Spec]] = field(default_factory=list)
    requests: list[AssessmentRequest] = field(default_factory=list)
    made: list[SecurityAssessment] = field(default_factory=list)

    async def __call__(
        self, orchestrator: Any, request: AssessmentRequest, deadline: Any, **_: Any
    ) -> SecurityAssessment:
        self.requests.append(request)
        specs = self.scripts.pop(0) if self.scripts else []
        region = request.regions[0]
        number = len(self.made)
        synthesized = SecuritySynthesizer().synthesize_security_assessment(
            [finding(control, resource, status, region) for control, resource, status in specs],
            [],
            assessment_id=f"asm-20261125120000-{number:08x}",
        )
        assessment = synthesized.model_copy(
            update={
                "regions": list(request.regions),
                "account_id": ACCOUNT,
                "services": list(request.services) if request.services is not None else None,
                "created_at": datetime(2026, 11, 25, 12, tzinfo=UTC) + timedelta(minutes=number),
            }
        )
        self.made.append(assessment)
        return assessment


def use_store(runtime: AgentRuntime, store: SessionStore) -> SessionKeeper:
    """Give the runtime a session history kept in `store` (clocked as the store is)."""
    keeper = SessionKeeper(SessionManager(store, clock=store._clock))
    runtime.sessions = keeper
    return keeper


def script_assessments(
    monkeypatch: pytest.MonkeyPatch, orchestrator: Any, scripts: Sequence[list[Spec]] = ()
) -> ScriptedAssessments:
    scripted = ScriptedAssessments(scripts=[list(s) for s in scripts])
    monkeypatch.setattr("agent_config.actions.run_assessment", scripted)
    orchestrator.answers["aws___search_documentation"] = []  # no documentation hits: quiet answers
    return scripted


def ask(
    api_path: str, parameters: dict[str, str] | None = None, *, session: str = SESSION, seconds: float = 30
) -> tuple[int, dict[str, Any]]:
    """One turn: the event Bedrock would send (path parameters among `parameters`, as Bedrock
    sends them), answered by the handler; returns (status, body)."""
    template = api_path if "{" in api_path else None
    event = build_event(api_path, parameters, api_template=template, session_id=session)
    response = lambda_handler(event, LocalLambdaContext(seconds))
    BedrockAgentResponse.model_validate(response)
    body = json.loads(response["response"]["responseBody"]["application/json"]["body"])
    return response["response"]["httpStatusCode"], body


def session_notes(body: dict[str, Any]) -> list[str]:
    return [d["reason"] for d in body.get("degraded", []) if d["server"] == "session_store"]
