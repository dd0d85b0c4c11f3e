"""AgentCore Gateway invocations translated to Bedrock action-group events and back (pure), and the
round trip through the real handler: the same Lambda answers both front doors."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from agent_config.agentcore_gateway import (
    GatewayEventError,
    bedrock_to_gateway_result,
    gateway_error_result,
    gateway_to_bedrock_event,
    gateway_tool_name,
    is_gateway_invocation,
    strip_target_prefix,
    tool_definitions,
)
from agent_config.bedrock import BedrockAgentEvent
from agent_config.cli import LocalLambdaContext
from agent_config.enhanced_security_agent import lambda_handler
from agent_config.schema import routes_from_schema

SCHEMA: dict[str, Any] = {
    "openapi": "3.0.3",
    "paths": {
        "/security/resources/{service}": {
            "get": {
                "operationId": "analyzeService",
                "summary": "Analyze",
                "description": "Checks one service. Call it when asked about S3.",
                "parameters": [
                    {"name": "service", "in": "path", "required": True, "schema": {"type": "string"}},
                    {
                        "name": "page",
                        "in": "query",
                        "schema": {"anyOf": [{"type": "integer"}], "nullable": True},
                    },
                ],
            }
        },
        "/notes": {
            "post": {
                "operationId": "addNote",
                "description": "Adds a note.",
                "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Note"}}}},
            }
        },
    },
    "components": {
        "schemas": {
            "Note": {
                "type": "object",
                "required": ["text"],
                "properties": {
                    "text": {"type": "string"},
                    "tags": {"type": "array", "items": {"type": "string"}},
                },
            }
        }
    },
}


@dataclass
class ClientContext:
    custom: dict[str, str] = field(default_factory=dict)


@dataclass
class GatewayContext:
    client_context: ClientContext
    aws_request_id: str = "req-123"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def gateway_context(tool: str, **custom: str) -> GatewayContext:
    return GatewayContext(ClientContext({"bedrockAgentCoreToolName": tool, **custom}))


def test_the_tool_name_comes_from_the_client_context_with_the_target_prefix_stripped() -> None:
    assert gateway_tool_name(gateway_context("security___getHealth")) == "getHealth"
    assert gateway_tool_name(GatewayContext(ClientContext({"bedrockagentcoreToolName": "t___x"}))) == "x"
    assert gateway_tool_name(LocalLambdaContext(30)) is None
    assert not is_gateway_invocation(object())
    assert strip_target_prefix("getHealth") == "getHealth"
    assert strip_target_prefix("my-target___analyze___x") == "analyze___x"


def test_arguments_become_bedrock_parameters_as_strings_on_the_path_template() -> None:
    routes = routes_from_schema(SCHEMA)
    event = gateway_to_bedrock_event(
        {"service": "s3", "page": 2, "ignored": True},
        "security___analyzeService",
        routes,
        gateway_context("security___analyzeService", bedrockAgentCoreSessionId="sess/1"),
    )
    assert event["apiPath"] == "/security/resources/{service}"
    assert event["httpMethod"] == "GET"
    assert event["parameters"] == [
        {"name": "service", "type": "string", "value": "s3"},
        {"name": "page", "type": "integer", "value": "2"},
    ]
    assert event["sessionId"] == "sess-1"
    assert "requestBody" not in event
    BedrockAgentEvent.model_validate(event)


def test_body_properties_go_into_the_request_body() -> None:
    event = gateway_to_bedrock_event({"text": "hi", "tags": ["a", "b"]}, "addNote", routes_from_schema(SCHEMA))
    assert event["httpMethod"] == "POST"
    assert event["parameters"] == []
    assert event["requestBody"] == {
        "content": {
            "application/json": {
                "properties": [
                    {"name": "text", "type": "string", "value": "hi"},
                    {"name": "tags", "type": "array", "value": '["a","b"]'},
                ]
            }
        }
    }


@pytest.mark.parametrize(
    ("arguments", "tool", "message"),
    [
        ({}, "t___nope", "unknown tool 'nope'"),
        (["not", "an", "object"], "t___addNote", "must be a JSON object"),
    ],
)
def test_calls_that_cannot_be_translated_say_why(arguments: Any, tool: str, message: str) -> None:
    with pytest.raises(GatewayEventError, match=message):
        gateway_to_bedrock_event(arguments, tool, routes_from_schema(SCHEMA))


def test_the_tool_schema_matches_the_operations() -> None:
    tools = tool_definitions(routes_from_schema(SCHEMA))
    assert tools[0] == {
        "name": "analyzeService",
        "description": "Checks one service. Call it when asked about S3.",
        "inputSchema": {
            "type": "object",
            "properties": {"service": {"type": "string"}, "page": {"type": "integer"}},
            "required": ["service"],
        },
    }
    assert tools[1]["inputSchema"]["properties"]["tags"] == {"type": "array", "items": {"type": "string"}}


def test_a_bedrock_response_becomes_an_mcp_tool_result() -> None:
    body = json.dumps({"summary": "ok"})
    ok = {
        "messageVersion": "1.0",
        "response": {"httpStatusCode": 200, "responseBody": {"application/json": {"body": body}}},
    }
    assert bedrock_to_gateway_result(ok) == {"content": [{"type": "text", "text": body}], "isError": False}
    failed = {"response": {"httpStatusCode": 424, "responseBody": {"application/json": {"body": "{}"}}}}
    assert bedrock_to_gateway_result(failed)["isError"] is True
    assert bedrock_to_gateway_result({})["isError"] is True
    assert json.loads(gateway_error_result("bad")["content"][0]["text"]) == {
        "error": "validation",
        "message": "bad",
    }


def test_a_gateway_call_round_trips_through_the_real_handler(scripted_runtime: Any) -> None:
    # GIVEN the security server answers, and a gateway call for getSecurityServices
    _, orchestrator = scripted_runtime
    orchestrator.answers["CheckSecurityServices"] = {
        "region": "eu-west-1",
        "service_statuses": {"guardduty": {"enabled": True, "message": "Amazon GuardDuty is enabled."}},
    }
    context = gateway_context("security___getSecurityServices")
    tool = gateway_tool_name(context)
    assert tool is not None

    # WHEN the gateway invokes the Lambda with the tool's arguments as the event
    result = lambda_handler({"region": "eu-west-1"}, context)

    # THEN the tool result is the handler's answer for that region
    assert result["isError"] is False
    answer = json.loads(result["content"][0]["text"])
    assert "eu-west-1" in answer["summary"]
    assert orchestrator.calls[-1].arguments["region"] == "eu-west-1"


def test_an_unknown_gateway_tool_is_a_tool_error_naming_it(scripted_runtime: Any) -> None:
    result = lambda_handler({}, gateway_context("security___launchRockets"))

    assert result["isError"] is True
    assert "launchRockets" in result["content"][0]["text"]


def test_an_invalid_argument_comes_back_as_a_tool_error_with_the_handlers_guidance(
    scripted_runtime: Any,
) -> None:
    context = gateway_context("security___getSecurityServices")
    result = lambda_handler({"region": "not a region"}, context)
    assert result["isError"] is True
    assert "region" in json.loads(result["content"][0]["text"])["message"]
