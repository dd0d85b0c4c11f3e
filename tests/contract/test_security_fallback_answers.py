"""The handler with the Security server disabled in configuration, as the default deploy has it:
`/security/services` and `/security/findings` answer 200 from the function's own role, say so in
`degraded`, and fail (424) only when nothing at all could be read. boto3 is real; only the network
is replaced, by `Stubber`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from agent_config.bedrock import BedrockAgentResponse, build_event
from agent_config.cli import LocalLambdaContext
from agent_config.config import load_config
from agent_config.enhanced_security_agent import lambda_handler
from agent_config.integrations import direct_security
from agent_config.integrations.direct_api import DirectApi
from agent_config.interfaces import CallOutcome, ToolCall, ToolResult
from agent_config.runtime import AgentRuntime, use_runtime
from agent_config.utils.error_handling import ErrorKind
from tests.unit.test_direct_security import (
    DETECTOR,
    STATUS_CASES,
    Clients,
    all_off,
    denied,
    guardduty_finding,
)

DISABLED = "read directly with the function's role because the Security server is disabled in the configuration"


@pytest.fixture
def disabled_security(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clients]:
    """The warm runtime with `servers.security.enabled = false` and stubbed boto3 clients."""
    clients = Clients()
    runtime = AgentRuntime(load_config(environ={"SECURITY_AGENT__SERVERS__SECURITY__ENABLED": "false"}))
    runtime.direct = DirectApi(clients)  # what the findings operation is given
    monkeypatch.setattr(direct_security, "default_client_factory", lambda: clients)  # the services route's own
    previous = use_runtime(runtime)
    try:
        yield clients
    finally:
        use_runtime(previous)
        runtime.close()
    clients.verify()


def _invoke(event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = lambda_handler(event, LocalLambdaContext(30))
    BedrockAgentResponse.model_validate(response)
    body = json.loads(response["response"]["responseBody"]["application/json"]["body"])
    return response["response"]["httpStatusCode"], body


def test_services_are_read_directly_when_the_security_server_is_disabled(disabled_security: Clients) -> None:
    # GIVEN GuardDuty on and everything else off, as the function's role reads them
    STATUS_CASES["guardduty-enabled"][1](disabled_security.stub("guardduty"))
    all_off(disabled_security, but="guardduty")

    status, body = _invoke(build_event("/security/services", {"region": "us-east-1"}))

    # THEN the same answer as from the Security server, and the note says where it came from
    assert status == 200
    assert body["data"]["enabled"] == ["guardduty"]
    assert set(body["data"]["not_enabled"]) == {"inspector", "accessanalyzer", "securityhub", "macie", "config"}
    guardduty = next(s for s in body["data"]["services"] if s["service"] == "guardduty")
    assert guardduty["detail"]["detector_details"]["id"] == DETECTOR
    assert body["degraded"][0]["reason"].startswith(DISABLED)
    assert body["degraded"][0]["error_kind"] == "configuration"
    assert "Trusted Advisor is not read" in body["degraded"][0]["reason"]


def test_a_denied_service_is_unknown_with_the_missing_permission(disabled_security: Clients) -> None:
    denied(disabled_security.stub("securityhub"), "describe_hub")
    all_off(disabled_security, but="securityhub")

    status, body = _invoke(build_event("/security/services", {"region": "us-east-1"}))

    assert status == 200
    assert body["data"]["unknown"] == ["securityhub"]
    assert "Could not be determined: AWS Security Hub" in body["summary"]
    reasons = [d["reason"] for d in body["degraded"]]
    assert "could not read AWS Security Hub: missing permission securityhub:DescribeHub" in reasons


def test_findings_are_read_directly_when_the_security_server_is_disabled(disabled_security: Clients) -> None:
    stub = disabled_security.stub("guardduty")
    stub.add_response("list_detectors", {"DetectorIds": [DETECTOR]})
    stub.add_response("list_findings", {"FindingIds": ["1" * 32, "2" * 32]})
    stub.add_response(
        "get_findings", {"Findings": [guardduty_finding("1" * 32, 5.0), guardduty_finding("2" * 32, 9.1)]}
    )

    status, body = _invoke(build_event("/security/findings", {"source": "guardduty", "region": "us-east-1"}))

    assert status == 200
    assert body["summary"] == "2 guardduty findings in us-east-1."
    assert [card["severity"] for card in body["data"]["findings"]] == ["CRITICAL", "MEDIUM"]
    assert body["degraded"][0]["reason"] == DISABLED


def test_a_service_that_is_off_has_no_findings_and_links_its_setup(disabled_security: Clients) -> None:
    denied(disabled_security.stub("macie2"), "list_findings", "Macie is not enabled.")

    status, body = _invoke(build_event("/security/findings", {"source": "macie", "region": "us-east-1"}))

    assert status == 200
    assert body["summary"] == "Amazon Macie is not enabled in us-east-1, so it has no findings to report."
    assert body["data"]["enabled"] is False
    assert body["documentation"][0]["url"].startswith("https://docs.aws.amazon.com/macie/")


def test_findings_nobody_could_read_are_a_failed_dependency_naming_the_permission(
    disabled_security: Clients,
) -> None:
    denied(disabled_security.stub("securityhub"), "get_findings")

    status, body = _invoke(build_event("/security/findings", {"source": "securityhub", "region": "us-east-1"}))

    assert status == 424
    assert "could not read AWS Security Hub findings: missing permission securityhub:GetFindings" in body["message"]
    assert "Grant the IAM permission" in body["guidance"]
    assert body["degraded"][0]["error_kind"] == "permission"


def test_an_unreachable_security_server_is_read_around_and_named(scripted_runtime: Any) -> None:
    runtime, orchestrator = scripted_runtime
    orchestrator.answers["CheckSecurityServices"] = ToolResult(
        call=ToolCall(server="security", tool="CheckSecurityServices"),
        outcome=CallOutcome.TIMEOUT,
        latency_ms=25_000,
        error_kind=ErrorKind.TIMEOUT,
        error_message="no answer within 25.0 s",
    )
    clients = Clients()
    runtime.direct = DirectApi(clients)
    all_off(clients, but="none")

    status, body = _invoke(build_event("/security/services", {"region": "us-east-1"}))

    assert status == 200
    assert body["degraded"][0]["reason"].startswith(
        "read directly with the function's role because the Security server is unreachable (no answer within 25.0 s)"
    )
    assert body["degraded"][0]["error_kind"] == "timeout"
    clients.verify()


def test_with_the_fallback_turned_off_a_disabled_security_server_is_a_failed_dependency() -> None:
    # GIVEN the Security server disabled and the direct-API fallback turned off by configuration
    environ = {
        "SECURITY_AGENT__SERVERS__SECURITY__ENABLED": "false",
        "SECURITY_AGENT__FEATURES__DIRECT_API_FALLBACK": "false",
    }
    clients = Clients()  # no stubbed answers: any AWS call would fail the test
    runtime = AgentRuntime(load_config(environ=environ))
    runtime.direct = DirectApi(clients)
    previous = use_runtime(runtime)
    try:
        status, body = _invoke(build_event("/security/services", {"region": "us-east-1"}))
    finally:
        use_runtime(previous)
        runtime.close()

    # THEN nothing is read around the server, and the answer says which dependency failed
    assert status == 424
    assert body["degraded"][0]["server"] == "security"
    clients.verify()
