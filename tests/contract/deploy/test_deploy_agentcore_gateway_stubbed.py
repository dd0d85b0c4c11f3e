"""`--target agentcore-gateway` against Stubber on bedrock-agentcore-control (botocore 1.44's model
validates the gateway, the Lambda target and the generated tool schema)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import ANY

from agent_config.deploy.errors import PrepareFailed
from agent_config.deploy.gateway import CREDENTIALS, delete_gateway, ensure_gateway, target_configuration
from agent_config.deploy.progress import Change
from agent_config.schema import openapi_schema, routes_from_schema
from tests.contract.deploy.deploy_stubs import ACCOUNT, NOW, REGION, gateway_plan, reporter, stubbed

GATEWAY_ID = "esa-test-abcdef1234"
TARGET_ID = "TARGET1234"
GATEWAY_ARN = f"arn:aws:bedrock-agentcore:{REGION}:{ACCOUNT}:gateway/{GATEWAY_ID}"


def gateway_body(plan: Any, status: str, **extra: Any) -> dict[str, Any]:
    body = {
        "gatewayArn": GATEWAY_ARN,
        "gatewayId": GATEWAY_ID,
        "gatewayUrl": f"https://{GATEWAY_ID}.gateway.bedrock-agentcore.{REGION}.amazonaws.com/mcp",
        "createdAt": NOW,
        "updatedAt": NOW,
        "status": status,
        "name": plan.gateway.name,
        "description": plan.gateway.description,
        "roleArn": plan.gateway_role.arn,
        "protocolType": "MCP",
        "protocolConfiguration": {"mcp": {"instructions": plan.gateway.instructions}},
        "authorizerType": "AWS_IAM",
    }
    body.update(extra)
    return body


def target_body(plan: Any, status: str, **extra: Any) -> dict[str, Any]:
    body = {
        "gatewayArn": GATEWAY_ARN,
        "targetId": TARGET_ID,
        "createdAt": NOW,
        "updatedAt": NOW,
        "status": status,
        "name": "security",
        "description": plan.gateway_target.description,
        "targetConfiguration": target_configuration(plan),
        "credentialProviderConfigurations": CREDENTIALS,
    }
    body.update(extra)
    return body


def test_a_fresh_gateway_and_lambda_target_are_created_and_awaited() -> None:
    plan = gateway_plan()
    client, stubber = stubbed("bedrock-agentcore-control")
    stubber.add_response("list_gateways", {"items": []})
    stubber.add_response(
        "create_gateway",
        gateway_body(plan, "CREATING"),
        {
            "name": "esa-test",
            "description": ANY,
            "roleArn": f"arn:aws:iam::{ACCOUNT}:role/esa-test-gateway-role",
            "protocolType": "MCP",
            "protocolConfiguration": ANY,
            "authorizerType": "AWS_IAM",
            "tags": plan.tags,
        },
    )
    stubber.add_response("get_gateway", gateway_body(plan, "CREATING"))
    stubber.add_response("get_gateway", gateway_body(plan, "READY"))
    stubber.add_response("get_gateway", gateway_body(plan, "READY"))
    stubber.add_response("list_gateway_targets", {"items": []})
    stubber.add_response(
        "create_gateway_target",
        target_body(plan, "CREATING"),
        {
            "gatewayIdentifier": GATEWAY_ID,
            "name": "security",
            "description": ANY,
            "targetConfiguration": target_configuration(plan),
            "credentialProviderConfigurations": [{"credentialProviderType": "GATEWAY_IAM_ROLE"}],
        },
    )
    stubber.add_response("get_gateway_target", target_body(plan, "CREATING"))
    stubber.add_response("get_gateway_target", target_body(plan, "READY"))
    report, out = reporter()
    gateway_id, url, target_id = ensure_gateway(client, plan, report)
    stubber.assert_no_pending_responses()
    assert (gateway_id, target_id) == (GATEWAY_ID, TARGET_ID)
    assert url.endswith("/mcp")
    assert "Waiting for gateway esa-test to be READY ... 0 s (CREATING)" in out.getvalue()
    assert [o.change for o in report.outcomes] == [Change.CREATED, Change.CREATED]


def test_the_tool_schema_has_one_tool_per_operation_with_the_lambda_arn() -> None:
    plan = gateway_plan()
    config = target_configuration(plan)["mcp"]["lambda"]
    assert config["lambdaArn"] == plan.function.arn
    tools = config["toolSchema"]["inlinePayload"]
    names = [t["name"] for t in tools]
    assert names == list(routes_from_schema(openapi_schema()))  # the same operations, by operationId
    assert "getHealth" in names
    for tool in tools:
        assert tool["inputSchema"]["type"] == "object"
        assert tool["description"]


def test_an_unchanged_gateway_is_only_read() -> None:
    plan = gateway_plan()
    client, stubber = stubbed("bedrock-agentcore-control")
    stubber.add_response(
        "list_gateways",
        {
            "items": [
                {
                    "gatewayId": GATEWAY_ID,
                    "name": "esa-test",
                    "status": "READY",
                    "createdAt": NOW,
                    "updatedAt": NOW,
                    "authorizerType": "AWS_IAM",
                }
            ]
        },
    )
    stubber.add_response("get_gateway", gateway_body(plan, "READY"))
    stubber.add_response("list_tags_for_resource", {"tags": plan.tags}, {"resourceArn": GATEWAY_ARN})
    stubber.add_response("get_gateway", gateway_body(plan, "READY"))
    stubber.add_response("get_gateway", gateway_body(plan, "READY"))
    stubber.add_response(
        "list_gateway_targets",
        {
            "items": [
                {
                    "targetId": TARGET_ID,
                    "name": "security",
                    "status": "READY",
                    "createdAt": NOW,
                    "updatedAt": NOW,
                }
            ]
        },
    )
    stubber.add_response("get_gateway_target", target_body(plan, "READY"))
    stubber.add_response("get_gateway_target", target_body(plan, "READY"))
    report, _ = reporter()
    ensure_gateway(client, plan, report)
    stubber.assert_no_pending_responses()
    assert [o.change for o in report.outcomes] == [Change.UNCHANGED, Change.UNCHANGED]


def test_a_failed_target_reports_its_status_reasons() -> None:
    plan = gateway_plan()
    client, stubber = stubbed("bedrock-agentcore-control")
    stubber.add_response("list_gateways", {"items": []})
    stubber.add_response("create_gateway", gateway_body(plan, "READY"))
    stubber.add_response("get_gateway", gateway_body(plan, "READY"))
    stubber.add_response("get_gateway", gateway_body(plan, "READY"))
    stubber.add_response("list_gateway_targets", {"items": []})
    stubber.add_response("create_gateway_target", target_body(plan, "CREATING"))
    failed = target_body(plan, "FAILED", statusReasons=["The gateway role cannot invoke the function"])
    stubber.add_response("get_gateway_target", failed)
    stubber.add_response("get_gateway_target", failed)
    report, _ = reporter()
    with pytest.raises(PrepareFailed, match="cannot invoke the function"):
        ensure_gateway(client, plan, report)


def test_destroy_removes_the_targets_then_the_gateway() -> None:
    plan = gateway_plan()
    client, stubber = stubbed("bedrock-agentcore-control")
    stubber.add_response(
        "list_gateways",
        {
            "items": [
                {
                    "gatewayId": GATEWAY_ID,
                    "name": "esa-test",
                    "status": "READY",
                    "createdAt": NOW,
                    "updatedAt": NOW,
                    "authorizerType": "AWS_IAM",
                }
            ]
        },
    )
    stubber.add_response("get_gateway", gateway_body(plan, "READY"))
    stubber.add_response("list_tags_for_resource", {"tags": plan.tags})
    summary = {
        "targetId": TARGET_ID,
        "name": "security",
        "status": "READY",
        "createdAt": NOW,
        "updatedAt": NOW,
    }
    stubber.add_response("list_gateway_targets", {"items": [summary]})
    stubber.add_response(
        "delete_gateway_target",
        {"gatewayArn": GATEWAY_ARN, "targetId": TARGET_ID, "status": "DELETING"},
        {"gatewayIdentifier": GATEWAY_ID, "targetId": TARGET_ID},
    )
    stubber.add_response("list_gateway_targets", {"items": [{**summary, "status": "DELETING"}]})
    stubber.add_response("list_gateway_targets", {"items": []})
    stubber.add_response(
        "delete_gateway", {"gatewayId": GATEWAY_ID, "status": "DELETING"}, {"gatewayIdentifier": GATEWAY_ID}
    )
    report, _ = reporter()
    delete_gateway(client, plan, report)
    stubber.assert_no_pending_responses()
    assert [o.change for o in report.outcomes] == [Change.DELETED, Change.DELETED]
