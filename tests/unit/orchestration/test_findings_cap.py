"""Security Hub findings are asked for up to a cap per Region; an answer at the cap is never shown
as complete: the assessment says the list may be missing findings, and why."""

from __future__ import annotations

from typing import Any

from agent_config.assessment import capped_findings
from agent_config.integrations import security_server
from agent_config.interfaces import CallOutcome, ToolCall, ToolResult
from agent_config.orchestration.planner import MAX_FINDINGS_PER_SOURCE, AssessmentRequest, security_server_calls


def _findings_result(count: int, service: str = "securityhub", outcome: CallOutcome = CallOutcome.OK) -> ToolResult:
    call = ToolCall(
        server=security_server.SERVER,
        tool=security_server.GET_SECURITY_FINDINGS,
        arguments={"region": "eu-west-1", "service": service, "max_findings": MAX_FINDINGS_PER_SOURCE},
    )
    payload: dict[str, Any] = {"service": service, "enabled": True, "findings": [{"Id": str(n)} for n in range(count)]}
    return ToolResult(call=call, outcome=outcome, payload=payload, latency_ms=1.0)


def test_the_planner_asks_each_region_for_at_most_the_cap() -> None:
    calls = security_server_calls(AssessmentRequest(regions=("us-east-1", "eu-west-1")))

    asked = [c.arguments for c in calls if c.tool == security_server.GET_SECURITY_FINDINGS]
    assert [a["region"] for a in asked] == ["us-east-1", "eu-west-1"]
    assert {a["max_findings"] for a in asked} == {MAX_FINDINGS_PER_SOURCE}


def test_an_answer_that_reaches_the_cap_is_reported_as_possibly_incomplete() -> None:
    [note] = capped_findings([_findings_result(MAX_FINDINGS_PER_SOURCE)])

    assert note.server == security_server.SERVER
    assert note.reason.startswith("securityhub findings in eu-west-1: showing the first 50")
    assert "cannot sort them by severity" in note.reason
    assert note.reason.endswith("more may be in AWS Security Hub")


def test_answers_below_the_cap_or_failed_say_nothing_more() -> None:
    below = _findings_result(MAX_FINDINGS_PER_SOURCE - 1)
    failed = _findings_result(MAX_FINDINGS_PER_SOURCE, outcome=CallOutcome.ERROR).model_copy(update={"payload": None})
    status = ToolResult(
        call=security_server.check_security_services_call("eu-west-1"),
        outcome=CallOutcome.OK,
        payload={"findings": [{}] * 60},
        latency_ms=1.0,
    )

    assert capped_findings([below, failed, status]) == []
