"""`--target agentcore-gateway` against Stubber on bedrock-agentcore-control (botocore 1.44's model
validates the gateway, the Lambda target and the generated tool schema).

Idempotency is judged by the settings hash at the end of each description, never by the documents
AWS returns, so a response with fields the service filled in is still "unchanged"."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import ANY

from agent_config.deploy.errors import PrepareFailed
from agent_config.deploy.gateway import (
    CREDENTIALS,
    delete_gateway,
    ensure_gateway,
    recorded_hash,
    target_configuration,
    target_description,
    wanted_gateway,
)
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
        "description": wanted_gateway(plan)["description"],
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
        "description": target_description(plan),
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


GATEWAY_SUMMARY = {
    "gatewayId": GATEWAY_ID,
    "name": "esa-test",
    "status": "READY",
    "createdAt": NOW,
    "updatedAt": NOW,
    "authorizerType": "AWS_IAM",
}
TARGET_SUMMARY = {"targetId": TARGET_ID, "name": "security", "status": "READY", "createdAt": NOW, "updatedAt": NOW}


def existing_stack(
    plan: Any,
    gateway: dict[str, Any],
    target: dict[str, Any],
    *,
    update_gateway: dict[str, Any] | None = None,
    update_target: dict[str, Any] | None = None,
) -> tuple[Any, Any]:
    """A client scripted for a deploy that finds the gateway and target: the reads, and the updates
    given (expected parameters); any other write fails the test (Stubber has no response for it)."""
    client, stubber = stubbed("bedrock-agentcore-control")
    stubber.add_response("list_gateways", {"items": [GATEWAY_SUMMARY]})
    stubber.add_response("get_gateway", gateway)
    stubber.add_response("list_tags_for_resource", {"tags": plan.tags}, {"resourceArn": GATEWAY_ARN})
    if update_gateway is not None:
        stubber.add_response("update_gateway", gateway_body(plan, "UPDATING"), update_gateway)
    stubber.add_response("get_gateway", gateway_body(plan, "READY"))
    stubber.add_response("get_gateway", gateway_body(plan, "READY"))
    stubber.add_response("list_gateway_targets", {"items": [TARGET_SUMMARY]})
    stubber.add_response("get_gateway_target", target)
    if update_target is not None:
        stubber.add_response("update_gateway_target", target_body(plan, "UPDATING"), update_target)
    stubber.add_response("get_gateway_target", target_body(plan, "READY"))
    return client, stubber


def server_filled(plan: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Gateway and target documents as AWS may return them: ours plus members it filled in by default."""
    gateway = gateway_body(plan, "READY")
    gateway["protocolConfiguration"] = {
        "mcp": {
            "instructions": plan.gateway.instructions,
            "supportedVersions": ["2025-03-26", "2025-06-18"],
            "sessionConfiguration": {"sessionTimeoutInSeconds": 3600},
            "disableMcpListToolsPagination": False,
        }
    }
    configuration = target_configuration(plan)
    for tool in configuration["mcp"]["lambda"]["toolSchema"]["inlinePayload"]:
        tool["inputSchema"].setdefault("required", [])
        tool["outputSchema"] = {"type": "object"}
    target = target_body(plan, "READY", targetConfiguration=configuration, protocolType="MCP")
    return gateway, target


def test_documents_with_server_filled_fields_and_our_hash_are_unchanged() -> None:
    # GIVEN AWS returns our documents with members it filled in, and the descriptions carry our hash
    plan = gateway_plan()
    gateway, target = server_filled(plan)
    assert gateway["protocolConfiguration"] != wanted_gateway(plan)["protocolConfiguration"]
    assert recorded_hash(gateway["description"]) and recorded_hash(target["description"])
    client, stubber = existing_stack(plan, gateway, target)

    # WHEN the deploy runs again with the same settings
    report, _ = reporter()
    ensure_gateway(client, plan, report)

    # THEN nothing is written (an update would find no queued response) and both lines say unchanged
    stubber.assert_no_pending_responses()
    assert [o.change for o in report.outcomes] == [Change.UNCHANGED, Change.UNCHANGED]


def test_changed_settings_change_the_hash_and_update_both_in_place() -> None:
    # GIVEN a gateway and target deployed with the settings of `old`; the new plan has other
    # instructions (the gateway's document) and another tool list (the target's document)
    old = gateway_plan()
    assert old.gateway is not None and old.gateway_target is not None
    changed = old.model_copy(
        update={
            "gateway": old.gateway.model_copy(update={"instructions": "Different instructions."}),
            "gateway_target": old.gateway_target.model_copy(update={"tools": old.gateway_target.tools[:3]}),
        }
    )
    gateway, target = server_filled(old)
    wanted = wanted_gateway(changed)
    client, stubber = existing_stack(
        changed,
        gateway,
        target,
        update_gateway={"gatewayIdentifier": GATEWAY_ID, **wanted},
        update_target={
            "gatewayIdentifier": GATEWAY_ID,
            "targetId": TARGET_ID,
            "name": "security",
            "description": target_description(changed),
            "targetConfiguration": target_configuration(changed),
            "credentialProviderConfigurations": CREDENTIALS,
        },
    )

    # WHEN the deploy runs
    report, _ = reporter()
    ensure_gateway(client, changed, report)

    # THEN both are updated, and the report names the hashes
    stubber.assert_no_pending_responses()
    assert [o.change for o in report.outcomes] == [Change.UPDATED, Change.UPDATED]
    assert f"settings {recorded_hash(gateway['description'])} -> {recorded_hash(wanted['description'])}" in (
        report.outcomes[0].detail
    )


def test_a_description_without_a_hash_is_updated_once_to_record_it() -> None:
    plan = gateway_plan()
    gateway = gateway_body(plan, "READY", description=plan.gateway.description)  # deployed before the hash
    target = target_body(plan, "READY")
    client, stubber = existing_stack(
        plan, gateway, target, update_gateway={"gatewayIdentifier": GATEWAY_ID, **wanted_gateway(plan)}
    )
    report, _ = reporter()
    ensure_gateway(client, plan, report)
    stubber.assert_no_pending_responses()
    assert [o.change for o in report.outcomes] == [Change.UPDATED, Change.UNCHANGED]
    assert report.outcomes[0].detail == "settings (no hash recorded yet)"


def test_a_role_changed_in_the_console_is_repaired_although_the_hash_matches() -> None:
    plan = gateway_plan()
    gateway = gateway_body(plan, "READY", roleArn=f"arn:aws:iam::{ACCOUNT}:role/someone-elses")
    client, stubber = existing_stack(
        plan,
        gateway,
        target_body(plan, "READY"),
        update_gateway={"gatewayIdentifier": GATEWAY_ID, **wanted_gateway(plan)},
    )
    report, _ = reporter()
    ensure_gateway(client, plan, report)
    stubber.assert_no_pending_responses()
    assert report.outcomes[0].change is Change.UPDATED and report.outcomes[0].detail == "roleArn"


def test_every_description_with_its_hash_fits_the_service_limit() -> None:
    plan = gateway_plan()
    for description in (wanted_gateway(plan)["description"], target_description(plan)):
        assert len(description) <= 200
        assert recorded_hash(description) is not None and len(recorded_hash(description) or "") == 16


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
