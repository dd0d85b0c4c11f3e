"""The handler's responses against Bedrock's contract, for every outcome a route can have."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agent_config.bedrock import BedrockAgentResponse, BedrockFunctionResponse, build_event
from agent_config.cli import LocalLambdaContext
from agent_config.enhanced_security_agent import lambda_handler
from agent_config.interfaces import CallOutcome, ToolCall, ToolResult
from agent_config.utils.error_handling import ErrorKind

GOLDEN_SERVICES = {
    "region": "us-east-1",
    "service_statuses": {
        "guardduty": {"enabled": False, "message": "Amazon GuardDuty is not enabled in this region."},
        "macie": {"enabled": True, "message": "Amazon Macie is enabled in this region."},
    },
}


def _invoke(event: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, Any]]:
    response = lambda_handler(event, LocalLambdaContext(30))
    BedrockAgentResponse.model_validate(response)  # well-formed, or this raises
    status = response["response"]["httpStatusCode"]
    body = json.loads(response["response"]["responseBody"]["application/json"]["body"])
    return status, body, response


def test_a_successful_answer_echoes_the_request_and_session_attributes(scripted_runtime: Any) -> None:
    _, orchestrator = scripted_runtime
    orchestrator.answers["CheckSecurityServices"] = GOLDEN_SERVICES
    event = build_event(
        "/security/services", {"region": "us-east-1"}, session_attributes={"tenant": "acme", "turn": "3"}
    )
    event["promptSessionAttributes"] = {"tz": "UTC"}

    status, body, response = _invoke(event)

    assert status == 200
    assert response["response"]["actionGroup"] == "SecurityAssessment"
    assert response["response"]["apiPath"] == "/security/services"
    assert response["response"]["httpMethod"] == "GET"
    assert response["sessionAttributes"] == {"tenant": "acme", "turn": "3"}
    assert response["promptSessionAttributes"] == {"tz": "UTC"}
    assert "Not enabled: Amazon GuardDuty" in body["summary"]


def test_the_default_region_is_used_when_none_is_given(scripted_runtime: Any) -> None:
    runtime, orchestrator = scripted_runtime
    orchestrator.answers["CheckSecurityServices"] = GOLDEN_SERVICES

    status, _, _ = _invoke(build_event("/security/services"))

    assert status == 200
    assert orchestrator.calls[-1].arguments["region"] == runtime.config.default_regions[0]


def test_a_failed_dependency_answers_424_naming_the_server_and_the_reason(scripted_runtime: Any) -> None:
    runtime, orchestrator = scripted_runtime
    # The direct reads that would stand in for the Security server are turned off
    # (tests/contract/test_security_fallback_answers.py covers them).
    features = runtime.config.features.model_copy(update={"direct_api_fallback": False})
    runtime.config = runtime.config.model_copy(update={"features": features})
    orchestrator.answers["GetSecurityFindings"] = ToolResult(
        call=ToolCall(server="security", tool="GetSecurityFindings"),
        outcome=CallOutcome.TIMEOUT,
        latency_ms=25_000,
        error_kind=ErrorKind.TIMEOUT,
        error_message="no answer within 25.0 s",
    )

    status, body, _ = _invoke(build_event("/security/findings", {"source": "guardduty", "region": "us-east-1"}))

    assert status == 424
    assert body["degraded"] == [
        {
            "server": "security",
            "reason": "guardduty findings in us-east-1: no answer within 25.0 s",
            "error_kind": "timeout",
        }
    ]
    assert "did not answer in time" in body["guidance"]


def test_an_error_inside_the_payload_answers_424(scripted_runtime: Any) -> None:
    _, orchestrator = scripted_runtime
    orchestrator.answers["CheckSecurityServices"] = {"error": "AccessDenied: not allowed", "message": "Error"}

    status, body, _ = _invoke(build_event("/security/services", {"region": "us-east-1"}))

    assert status == 424
    assert "AccessDenied" in body["message"]


def test_an_unexpected_crash_answers_500_without_internals(scripted_runtime: Any) -> None:
    _, orchestrator = scripted_runtime
    orchestrator.answers["CheckSecurityServices"] = RuntimeError("secret internal detail at line 42")

    status, body, _ = _invoke(build_event("/security/services", {"region": "us-east-1"}))

    assert status == 500
    assert "secret internal detail" not in json.dumps(body)
    assert body["error"] == "internal_error"


def test_health_lists_each_server(scripted_runtime: Any) -> None:
    status, body, _ = _invoke(build_event("/health"))

    assert status == 200
    assert body["data"]["servers"][0]["name"] == "security"
    assert body["summary"].startswith("1 of 1 configured MCP servers are reachable")


def _function_event(function: str, **parameters: str) -> dict[str, Any]:
    return {
        "messageVersion": "1.0",
        "actionGroup": "SecurityAssessment",
        "function": function,
        "parameters": [{"name": k, "type": "string", "value": v} for k, v in parameters.items()],
        "sessionId": "s-1",
        "sessionAttributes": {"a": "b"},
        "promptSessionAttributes": {},
    }


def test_function_details_events_are_answered_by_the_same_operations(scripted_runtime: Any) -> None:
    _, orchestrator = scripted_runtime
    orchestrator.answers["CheckSecurityServices"] = GOLDEN_SERVICES

    response = lambda_handler(_function_event("getSecurityServices", region="us-east-1"), LocalLambdaContext(30))

    BedrockFunctionResponse.model_validate(response)
    function_response = response["response"]["functionResponse"]
    assert response["response"]["function"] == "getSecurityServices"
    assert "responseState" not in function_response
    body = json.loads(function_response["responseBody"]["TEXT"]["body"])
    assert "Not enabled: Amazon GuardDuty" in body["summary"]
    assert response["sessionAttributes"] == {"a": "b"}


def test_bad_function_input_asks_the_model_to_try_again(scripted_runtime: Any) -> None:
    bad_region = lambda_handler(_function_event("getSecurityServices", region="moon-1"), LocalLambdaContext(30))
    unknown = lambda_handler(_function_event("launchRockets"), LocalLambdaContext(30))

    for response in (bad_region, unknown):
        BedrockFunctionResponse.model_validate(response)
        assert response["response"]["functionResponse"]["responseState"] == "REPROMPT"
    assert "region" in bad_region["response"]["functionResponse"]["responseBody"]["TEXT"]["body"]
    assert "getHealth" in unknown["response"]["functionResponse"]["responseBody"]["TEXT"]["body"]


@pytest.mark.parametrize("bad_config", ['{"servers": {"security": {"transport": "pigeon"}}}'])
def test_invalid_configuration_answers_500_naming_the_field(
    bad_config: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent_config.runtime import use_runtime

    config_file = tmp_path / "bad.json"
    config_file.write_text(bad_config)
    monkeypatch.setenv("SECURITY_AGENT_CONFIG_FILE", str(config_file))
    previous = use_runtime(None)
    try:
        status, body, _ = _invoke(build_event("/health"))
    finally:
        use_runtime(previous)

    assert status == 500
    assert "servers.security.transport" in body["message"]
