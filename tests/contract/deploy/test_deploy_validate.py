"""`--validate`: one line per check, the fix on failure, a non-zero exit when any check fails.

The control plane and Lambda calls go through Stubber. InvokeAgent returns an event stream,
which Stubber cannot produce (its response validation wants a dict where botocore yields an
`EventStream`), so the trace parsing is tested on recorded-shape event dicts, and the smoke check
gets a runtime client that yields them; that client still validates every request against
InvokeAgent's input shape in the real service model, as Stubber would.
"""

from __future__ import annotations

import base64
import io
import json
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.exceptions import ParamValidationError
from botocore.response import StreamingBody
from botocore.validate import validate_parameters

from agent_config.deploy.aws import AwsClients
from agent_config.deploy.cli import main
from agent_config.deploy.validate import (
    Validator,
    action_group_calls,
    completion_text,
    failure_traces,
    gateway_health_invocation,
    health_event,
)
from agent_config.enhanced_security_agent import lambda_handler
from tests.contract.deploy.deploy_stubs import (
    ACCOUNT,
    AGENT_ID,
    ALIAS_ID,
    GROUP_ID,
    NOW,
    REGION,
    action_group_body,
    agent_arn,
    agent_body,
    alias_body,
    gateway_plan,
    plan_for,
    reporter,
    stubbed,
)

# The shape botocore yields for invoke_agent's `completion` stream (recorded from the service model:
# TracePart -> Trace -> OrchestrationTrace -> InvocationInput -> ActionGroupInvocationInput).
RECORDED_EVENTS: list[dict[str, Any]] = [
    {
        "trace": {
            "agentId": AGENT_ID,
            "agentAliasId": ALIAS_ID,
            "sessionId": "validate-1",
            "trace": {"orchestrationTrace": {"rationale": {"text": "I should check the health.", "traceId": "t-1"}}},
        }
    },
    {
        "trace": {
            "agentId": AGENT_ID,
            "trace": {
                "orchestrationTrace": {
                    "invocationInput": {
                        "invocationType": "ACTION_GROUP",
                        "traceId": "t-1",
                        "actionGroupInvocationInput": {
                            "actionGroupName": "security-assessment",
                            "apiPath": "/health",
                            "verb": "get",
                            "executionType": "LAMBDA",
                        },
                    }
                }
            },
        }
    },
    {
        "trace": {
            "trace": {
                "orchestrationTrace": {
                    "observation": {
                        "type": "ACTION_GROUP",
                        "actionGroupInvocationOutput": {"text": '{"summary": "3 of 3 servers reachable"}'},
                    }
                }
            }
        }
    },
    {"chunk": {"bytes": b"All three data sources are "}},
    {"chunk": {"bytes": b"healthy."}},
]


def _runtime_input_shape() -> Any:
    """InvokeAgent's input shape from botocore's bedrock-agent-runtime service model (no AWS call)."""
    client = boto3.client(
        "bedrock-agent-runtime", region_name=REGION, aws_access_key_id="stub", aws_secret_access_key="stub"
    )
    return client.meta.service_model.operation_model("InvokeAgent").input_shape


INVOKE_AGENT_INPUT = _runtime_input_shape()


class RecordedRuntime:
    """A bedrock-agent-runtime client whose invoke_agent yields recorded events (see module doc).

    Stubber cannot stand in for InvokeAgent, but its requests must still match the real service
    model: each one is validated against InvokeAgent's input shape as botocore would (a wrong
    parameter name, a missing required one, a wrong type or a too-short sessionId raises
    ParamValidationError).
    """

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.events = events
        self.requests: list[dict[str, Any]] = []

    def invoke_agent(self, **kwargs: Any) -> dict[str, Any]:
        validate_parameters(kwargs, INVOKE_AGENT_INPUT)
        self.requests.append(kwargs)
        return {
            "completion": iter(self.events),
            "contentType": "application/json",
            "sessionId": kwargs["sessionId"],
        }


def test_the_recorded_runtime_refuses_a_request_the_service_model_would_refuse() -> None:
    runtime = RecordedRuntime(RECORDED_EVENTS)
    good = {"agentId": AGENT_ID, "agentAliasId": ALIAS_ID, "sessionId": "validate-1", "inputText": "hi"}
    assert runtime.invoke_agent(**good)["sessionId"] == "validate-1"
    with pytest.raises(ParamValidationError, match="agentAliasID"):
        runtime.invoke_agent(**{**good, "agentAliasID": ALIAS_ID})  # a wrong parameter name
    without_alias = {k: v for k, v in good.items() if k != "agentAliasId"}
    with pytest.raises(ParamValidationError, match="agentAliasId"):
        runtime.invoke_agent(**without_alias)
    with pytest.raises(ParamValidationError, match="enableTrace"):
        runtime.invoke_agent(**good, enableTrace="yes")
    assert len(runtime.requests) == 1


def test_the_trace_shows_which_action_group_the_agent_called() -> None:
    calls = action_group_calls(RECORDED_EVENTS)
    assert [(c.action_group, c.api_path, c.verb) for c in calls] == [("security-assessment", "/health", "get")]
    assert completion_text(RECORDED_EVENTS) == "All three data sources are healthy."
    assert failure_traces(RECORDED_EVENTS) == []
    failure = [{"trace": {"trace": {"failureTrace": {"failureReason": "Lambda timed out", "traceId": "x"}}}}]
    assert failure_traces(failure) == ["Lambda timed out"]
    assert action_group_calls([{"chunk": {"bytes": b"no tools"}}]) == []


def streaming(payload: dict[str, Any]) -> StreamingBody:
    data = json.dumps(payload).encode()
    return StreamingBody(io.BytesIO(data), len(data))


def function_configuration(plan: Any, **overrides: Any) -> dict[str, Any]:
    config = {
        "FunctionName": plan.function.name,
        "FunctionArn": plan.function.arn,
        "Runtime": "python3.12",
        "Handler": plan.function.handler,
        "Timeout": plan.function.timeout_s,
        "MemorySize": plan.function.memory_mb,
        "Role": plan.lambda_role.arn,
        "State": "Active",
        "Environment": {"Variables": dict(plan.function.environment)},
    }
    config.update(overrides)
    return config


def resource_policy(plan: Any, source_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "bedrock-agent-invoke",
                    "Effect": "Allow",
                    "Principal": {"Service": "bedrock.amazonaws.com"},
                    "Action": "lambda:InvokeFunction",
                    "Resource": plan.function.arn,
                    "Condition": {
                        "StringEquals": {"AWS:SourceAccount": ACCOUNT},
                        "ArnLike": {"AWS:SourceArn": source_arn},
                    },
                }
            ],
        }
    )


def scripted_clients(
    plan: Any,
    *,
    alias_status: str = "PREPARED",
    health_status: int = 200,
    events: list[dict[str, Any]] | None = None,
    with_outputs: bool = False,
) -> tuple[AwsClients, list[Any]]:
    agent, agent_stub = stubbed("bedrock-agent")
    fn, fn_stub = stubbed("lambda")
    ssm, ssm_stub = stubbed("ssm")
    if with_outputs:
        outputs = {"agent_id": AGENT_ID, "alias_id": ALIAS_ID}
        ssm_stub.add_response(
            "get_parameter", {"Parameter": {"Name": "/esa-test/deployment", "Value": json.dumps(outputs)}}
        )
    agent_stub.add_response("get_agent", {"agent": agent_body(plan, "PREPARED")}, {"agentId": AGENT_ID})
    agent_stub.add_response(
        "get_agent_alias",
        {
            "agentAlias": alias_body(
                plan, alias_status, failureReasons=[] if alias_status == "PREPARED" else ["Version 2 failed"]
            )
        },
    )
    agent_stub.add_response(
        "list_agent_action_groups",
        {
            "actionGroupSummaries": [
                {
                    "actionGroupId": GROUP_ID,
                    "actionGroupName": "security-assessment",
                    "actionGroupState": "ENABLED",
                    "updatedAt": NOW,
                }
            ]
        },
        {"agentId": AGENT_ID, "agentVersion": "1"},
    )
    agent_stub.add_response("get_agent_action_group", {"agentActionGroup": action_group_body(plan, agentVersion="1")})
    fn_stub.add_response("get_function_configuration", function_configuration(plan))
    fn_stub.add_response("get_policy", {"Policy": resource_policy(plan, agent_arn()), "RevisionId": "1"})
    body = json.dumps({"summary": "ok"})
    fn_stub.add_response(
        "invoke",
        {
            "StatusCode": 200,
            "Payload": streaming(
                {
                    "messageVersion": "1.0",
                    "response": {
                        "httpStatusCode": health_status,
                        "responseBody": {"application/json": {"body": body}},
                    },
                }
            ),
        },
    )
    runtime = RecordedRuntime(RECORDED_EVENTS if events is None else events)
    clients = AwsClients(
        region=REGION,
        overrides={
            "bedrock-agent": agent,
            "lambda": fn,
            "lambda-invoke": fn,
            "ssm": ssm,
            "bedrock-agent-runtime": runtime,
        },
    )
    return clients, [agent_stub, fn_stub, ssm_stub, runtime]


def test_a_healthy_deployment_passes_every_check_one_line_each() -> None:
    plan = plan_for()
    clients, (agent_stub, fn_stub, *_rest, runtime) = scripted_clients(plan)
    report, out = reporter()
    results = Validator(plan, clients, report).run(AGENT_ID, ALIAS_ID)
    agent_stub.assert_no_pending_responses()
    fn_stub.assert_no_pending_responses()
    assert all(r.passed for r in results), out.getvalue()
    lines = out.getvalue().splitlines()
    assert [line.split("  ")[1].split(":")[0] for line in lines] == [
        "agent PREPARED",
        "alias PREPARED",
        "action group security-assessment",
        "function esa-test-actions configuration",
        "function resource policy",
        "direct /health invocation",
        "InvokeAgent smoke question",
    ]
    assert "the agent called GET /health" in lines[-1]
    request = runtime.requests[0]
    assert request["enableTrace"] is True and request["agentAliasId"] == ALIAS_ID


def test_failures_name_the_fix_and_the_cli_exits_non_zero() -> None:
    plan = plan_for()
    clients, _ = scripted_clients(
        plan,
        alias_status="FAILED",
        health_status=424,
        events=[{"chunk": {"bytes": b"I cannot tell."}}],
        with_outputs=True,
    )
    out = io.StringIO()
    code = main(
        ["--validate", "--region", REGION, "--agent-name", "esa-test", "--account-id", ACCOUNT],
        stdout=out,
        clients=clients,
    )
    text = out.getvalue()
    assert code == 1
    assert "FAIL  alias PREPARED: it is FAILED: Version 2 failed  Fix: Run the same deploy command again" in text
    assert "FAIL  direct /health invocation: status 424" in text
    assert "FAIL  InvokeAgent smoke question: the agent did not call security-assessment" in text
    assert "PASS  function resource policy" in text
    assert text.rstrip().endswith("4 passed, 3 failed")


def test_the_health_event_is_a_bedrock_event_for_get_health() -> None:
    event = health_event(plan_for(), AGENT_ID)
    assert (event["apiPath"], event["httpMethod"], event["actionGroup"]) == (
        "/health",
        "GET",
        "security-assessment",
    )


def test_a_gateway_deployment_is_validated_without_an_agent() -> None:
    plan = gateway_plan()
    control, control_stub = stubbed("bedrock-agentcore-control")
    fn, fn_stub = stubbed("lambda")
    ssm, ssm_stub = stubbed("ssm")
    ssm_stub.add_response(
        "get_parameter",
        {"Parameter": {"Name": "/esa-test/deployment", "Value": json.dumps({"gateway_id": "gw-1"})}},
    )
    control_stub.add_response(
        "get_gateway",
        {
            "gatewayArn": f"arn:aws:bedrock-agentcore:{REGION}:{ACCOUNT}:gateway/gw-1",
            "gatewayId": "gw-1",
            "gatewayUrl": "https://gw-1.example/mcp",
            "createdAt": NOW,
            "updatedAt": NOW,
            "status": "READY",
            "name": "esa-test",
            "authorizerType": "AWS_IAM",
        },
        {"gatewayIdentifier": "gw-1"},
    )
    control_stub.add_response(
        "list_gateway_targets",
        {"items": [{"targetId": "T1", "name": "security", "status": "READY", "createdAt": NOW, "updatedAt": NOW}]},
    )
    fn_stub.add_response("get_function_configuration", function_configuration(plan))
    fn_stub.add_response(
        "invoke",
        {"StatusCode": 200, "Payload": streaming(tool_result('{"summary": "ok"}'))},
        GATEWAY_HEALTH_PARAMS,
    )
    clients = AwsClients(
        region=REGION,
        overrides={"bedrock-agentcore-control": control, "lambda": fn, "lambda-invoke": fn, "ssm": ssm},
    )
    out = io.StringIO()
    args = [
        "--validate",
        "--target",
        "agentcore-gateway",
        "--agent-name",
        "esa-test",
        "--region",
        REGION,
        "--account-id",
        ACCOUNT,
    ]
    assert main(args, stdout=out, clients=clients) == 0, out.getvalue()
    assert "PASS  gateway READY: https://gw-1.example/mcp" in out.getvalue()
    assert "PASS  gateway getHealth invocation: security___getHealth answered without error" in out.getvalue()
    assert out.getvalue().rstrip().endswith("3 passed, 0 failed")
    fn_stub.assert_no_pending_responses()


# ---------------------------------------------------------------------------------------------
# The gateway's getHealth invocation
# ---------------------------------------------------------------------------------------------

GATEWAY_CLIENT_CONTEXT = base64.b64encode(b'{"custom":{"bedrockAgentCoreToolName":"security___getHealth"}}').decode()
GATEWAY_HEALTH_PARAMS = {
    "FunctionName": "esa-test-actions",
    "InvocationType": "RequestResponse",
    "ClientContext": GATEWAY_CLIENT_CONTEXT,
    "Payload": "{}",
}
"""What AgentCore Gateway sends for the getHealth tool of target `security`: the tool's arguments
(none) as the event, the prefixed tool name in the client context's `custom` map."""


def tool_result(text: str, *, is_error: bool = False) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": text}], "isError": is_error}


def lambda_runtime_context(client_context_b64: str) -> SimpleNamespace:
    """The context object the Lambda Python runtime builds from an Invoke's `ClientContext`: the base64
    JSON decoded, its `custom`, `client` and `env` members as attributes of `context.client_context`."""
    document = json.loads(base64.b64decode(client_context_b64))
    client_context = SimpleNamespace(
        custom=document.get("custom"), client=document.get("client"), env=document.get("env")
    )
    return SimpleNamespace(
        client_context=client_context,
        aws_request_id="validate-request",
        get_remaining_time_in_millis=lambda: 60_000,
    )


def gateway_validator(response: dict[str, Any]) -> tuple[Validator, Any, io.StringIO]:
    plan = gateway_plan()
    fn, fn_stub = stubbed("lambda")
    fn_stub.add_response("invoke", response, GATEWAY_HEALTH_PARAMS)
    report, out = reporter()
    clients = AwsClients(region=REGION, overrides={"lambda-invoke": fn})
    return Validator(plan, clients, report), fn_stub, out


def test_the_gateway_check_invokes_getHealth_as_the_gateway_does() -> None:
    invocation = gateway_health_invocation(gateway_plan())
    assert invocation == GATEWAY_HEALTH_PARAMS  # Stubber also checks it against Invoke's input shape
    context = lambda_runtime_context(invocation["ClientContext"])
    assert context.client_context.custom == {"bedrockAgentCoreToolName": "security___getHealth"}
    assert json.loads(invocation["Payload"]) == {}  # getHealth takes no arguments
    assert len(invocation["ClientContext"]) <= 3583  # Lambda's limit for ClientContext


def test_the_gateway_invocation_round_trips_through_the_real_handler(scripted_runtime: Any) -> None:
    # GIVEN the answer the real handler gives to exactly what the check sends (decoded as Lambda would)
    invocation = gateway_health_invocation(gateway_plan())
    answer = lambda_handler(json.loads(invocation["Payload"]), lambda_runtime_context(invocation["ClientContext"]))
    assert answer["isError"] is False and "response" not in answer  # the gateway front door answered

    # WHEN the check runs against a function that answers so
    validator, fn_stub, _ = gateway_validator({"StatusCode": 200, "Payload": streaming(answer)})
    result = validator.gateway_health()

    # THEN it passes, and the request matched what the gateway sends
    fn_stub.assert_no_pending_responses()
    assert result.passed, result.line()


def test_a_function_that_ignores_the_client_context_fails_the_gateway_check() -> None:
    # GIVEN code that predates the gateway translation: it answers the empty event as a Bedrock event
    bedrock_answer = {"messageVersion": "1.0", "response": {"httpStatusCode": 400, "responseBody": {}}}
    validator, _, _ = gateway_validator({"StatusCode": 200, "Payload": streaming(bedrock_answer)})

    result = validator.gateway_health()

    assert not result.passed
    assert "did not read the gateway's client context" in result.detail
    assert "run the same deploy command again" in result.fix


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (tool_result('{"error": "dependency_failed"}', is_error=True), "the tool returned an error"),
        ({"statusCode": 200, "body": "ok"}, "not an MCP tool result"),
    ],
)
def test_a_tool_error_or_a_foreign_answer_fails_the_gateway_check(payload: dict[str, Any], expected: str) -> None:
    validator, _, _ = gateway_validator({"StatusCode": 200, "Payload": streaming(payload)})
    result = validator.gateway_health()
    assert not result.passed and expected in result.detail


def test_a_crash_in_the_function_fails_the_gateway_check_with_the_log_group() -> None:
    crash = {"errorMessage": "boom", "errorType": "RuntimeError"}
    validator, _, _ = gateway_validator({"StatusCode": 200, "FunctionError": "Unhandled", "Payload": streaming(crash)})
    result = validator.gateway_health()
    assert not result.passed and "boom" in result.detail and "/aws/lambda/esa-test-actions" in result.fix
