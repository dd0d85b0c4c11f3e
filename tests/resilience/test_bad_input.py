"""Bad input: every malformed event gets a well-formed Bedrock response with a 4xx and a clear message."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agent_config.bedrock import BedrockAgentResponse, build_event
from agent_config.cli import LocalLambdaContext
from agent_config.enhanced_security_agent import lambda_handler


def _answer(event: Any) -> tuple[int, dict[str, Any]]:
    response = lambda_handler(event, LocalLambdaContext(30))
    BedrockAgentResponse.model_validate(response)
    body = json.loads(response["response"]["responseBody"]["application/json"]["body"])
    return response["response"]["httpStatusCode"], body


def _without(key: str) -> dict[str, Any]:
    event = build_event("/health")
    del event[key]
    return event


@pytest.mark.parametrize(
    ("event", "mentions"),
    [
        ({}, "empty"),
        (None, "empty"),
        ([], "empty"),
        ("GET /health", "empty"),
        (_without("apiPath"), "apiPath"),
        (_without("httpMethod"), "httpMethod"),
        (_without("actionGroup"), "actionGroup"),
        ({**build_event("/health"), "apiPath": "health"}, "apiPath"),
        ({**build_event("/health"), "parameters": "region=us-east-1"}, "parameters"),
        ({**build_event("/health"), "parameters": [{"name": "region"}]}, "parameters.0.value"),
        ({**build_event("/health"), "requestBody": "not json at all"}, "requestBody"),
        ({**build_event("/health"), "requestBody": {"content": "{oops"}}, "requestBody"),
    ],
    ids=[
        "empty-dict",
        "none",
        "list",
        "string",
        "no-apiPath",
        "no-httpMethod",
        "no-actionGroup",
        "relative-apiPath",
        "parameters-not-a-list",
        "parameter-without-value",
        "body-not-json",
        "body-content-not-json",
    ],
)
def test_malformed_events_answer_400_saying_what_is_wrong(event: Any, mentions: str) -> None:
    status, body = _answer(event)

    assert status == 400
    assert body["error"] == "validation"
    assert mentions in body["message"]


def test_an_unknown_operation_answers_404_listing_the_real_ones(scripted_runtime: Any) -> None:
    status, body = _answer(build_event("/security/teleport"))

    assert status == 404
    assert "GET /security/teleport" in body["message"]
    assert "GET /health" in body["guidance"]
    assert "GET /security/services" in body["guidance"]


def test_a_wrong_method_on_a_known_path_answers_404(scripted_runtime: Any) -> None:
    status, _ = _answer(build_event("/health", http_method="DELETE"))

    assert status == 404


@pytest.mark.parametrize(
    "region",
    ["us-east-1; rm -rf /", "US-EAST-1", "moon-base-1", "--endpoint-url=http://evil", "us-east-1" * 10, ""],
    ids=["shell", "upper-case", "not-a-region", "option-injection", "too-long", "empty"],
)
def test_a_malformed_region_answers_400_naming_the_parameter(region: str, scripted_runtime: Any) -> None:
    _, orchestrator = scripted_runtime

    status, body = _answer(build_event("/security/services", {"region": region}))

    assert status == 400, body
    assert "region" in body["message"]
    assert orchestrator.calls == []  # refused before anything reached a server


def test_session_attributes_that_are_not_strings_are_dropped_or_stringified(scripted_runtime: Any) -> None:
    event = build_event("/health")
    event["sessionAttributes"] = {"count": 3, "tags": ["a"]}

    response = lambda_handler(event, LocalLambdaContext(30))

    assert response["sessionAttributes"] == {"count": "3", "tags": '["a"]'}
