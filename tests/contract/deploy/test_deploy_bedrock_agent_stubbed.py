"""The Bedrock agent steps against `botocore.stub.Stubber` (requests and responses validated against the
real bedrock-agent service model): status transitions, failures, refusals, retries and updates."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from botocore.stub import ANY

from agent_config.deploy.bedrock_agent import deploy_agent, ensure_action_group, ensure_agent, prepare
from agent_config.deploy.errors import (
    AgentsClassicUnavailable,
    CreateAgentDenied,
    MissingPermission,
    ModelAccessDenied,
    PrepareFailed,
    QuotaExceeded,
    WaitTimedOut,
)
from agent_config.deploy.progress import Change
from tests.contract.deploy.deploy_stubs import (
    AGENT_ID,
    GROUP_ID,
    NOW,
    AgentScript,
    FakeClock,
    action_group_body,
    agent_body,
    plan_for,
    reporter,
    settings,
    stubbed,
)


@pytest.fixture
def plan() -> Any:
    return plan_for()


def run(plan: Any, script: Any, clock: FakeClock | None = None) -> tuple[tuple[str, str, str], str, list[str]]:
    client, stubber = stubbed("bedrock-agent")
    script(AgentScript(stubber, plan))
    report, out = reporter(clock)
    permissions: list[str] = []
    result = deploy_agent(client, plan, report, permissions.append)
    stubber.assert_no_pending_responses()
    return result, out.getvalue(), permissions


def test_a_fresh_deploy_waits_through_creating_and_preparing_then_publishes_an_alias(plan: Any) -> None:
    clock = FakeClock()
    (agent_id, agent_arn, alias_id), output, permissions = run(plan, lambda s: s.fresh_deploy(), clock)
    assert (agent_id, alias_id) == ("AGENT12345", "ALIAS12345")
    assert permissions == [agent_arn]  # between the action group and prepare_agent
    assert "Waiting for agent esa-test to be created ... 0 s (CREATING)" in output
    assert "Waiting for agent to be PREPARED ... 0 s (PREPARING)" in output
    assert "Waiting for alias to be PREPARED" in output
    assert clock.sleeps == [3.0, 3.0, 3.0]


def test_the_action_group_is_sent_with_the_generated_schema_and_our_function(plan: Any) -> None:
    client, stubber = stubbed("bedrock-agent")
    script = AgentScript(stubber, plan)
    script.add("list_agent_action_groups", {"actionGroupSummaries": []})
    script.add(
        "create_agent_action_group",
        {"agentActionGroup": action_group_body(plan)},
        {
            "agentId": AGENT_ID,
            "agentVersion": "DRAFT",
            "actionGroupName": "security-assessment",
            "description": ANY,
            "actionGroupExecutor": {"lambda": plan.function.arn},
            "apiSchema": {"payload": plan.action_group.payload()},
            "actionGroupState": "ENABLED",
        },
    )
    report, _ = reporter()
    assert ensure_action_group(client, plan, AGENT_ID, report) is Change.CREATED
    payload = json.loads(plan.action_group.payload())
    operations = [op["operationId"] for item in payload["paths"].values() for op in item.values()]
    assert sorted(operations) == sorted(plan.action_group.operations)
    assert len(operations) <= 11  # Bedrock's default quota of APIs per agent


def test_the_status_sequence_not_prepared_preparing_prepared_is_followed(plan: Any) -> None:
    client, stubber = stubbed("bedrock-agent")
    AgentScript(stubber, plan).prepare(("NOT_PREPARED", "PREPARING", "PREPARING", "PREPARED"))
    report, out = reporter()
    prepare(client, plan, AGENT_ID, report)
    stubber.assert_no_pending_responses()
    assert "agent to be PREPARED: PREPARED after 9 s" in out.getvalue()


def test_an_agent_that_stays_not_prepared_after_prepare_is_reported_with_its_reasons(plan: Any) -> None:
    client, stubber = stubbed("bedrock-agent")
    script = AgentScript(stubber, plan)
    script.prepare(())
    for _ in range(12):
        script.get_agent("NOT_PREPARED", failureReasons=["The instruction is too short"])
    report, _ = reporter()
    with pytest.raises(PrepareFailed, match="The instruction is too short"):
        prepare(client, plan, AGENT_ID, report)


def test_prepare_waits_while_preparing_and_reports_failed_with_its_reasons(plan: Any) -> None:
    client, stubber = stubbed("bedrock-agent")
    script = AgentScript(stubber, plan)
    script.prepare(("PREPARING",))
    failed = {
        "failureReasons": ["Action group security-assessment: the Lambda ARN is not valid"],
        "recommendedActions": ["Check the function ARN"],
    }
    script.get_agent("FAILED", **failed)
    script.get_agent("FAILED", **failed)
    report, out = reporter()
    with pytest.raises(PrepareFailed) as caught:
        prepare(client, plan, AGENT_ID, report)
    assert str(caught.value) == (
        "The agent failed to prepare: Action group security-assessment: the Lambda ARN is not valid. "
        "Check the function ARN"
    )
    assert "Waiting for agent to be PREPARED ... 0 s (PREPARING)" in out.getvalue()


def test_a_stuck_agent_times_out_with_its_last_status(plan: Any) -> None:
    client, stubber = stubbed("bedrock-agent")
    script = AgentScript(stubber, plan)
    script.add(
        "prepare_agent",
        {
            "agentId": AGENT_ID,
            "agentStatus": "PREPARING",
            "agentVersion": "DRAFT",
            "preparedAt": agent_body(plan, "X")["createdAt"],
        },
    )
    for _ in range(202):
        script.get_agent("PREPARING")
    report, _ = reporter()
    with pytest.raises(WaitTimedOut, match="still PREPARING"):
        prepare(client, plan, AGENT_ID, report)


def denied(message: str, code: str = "AccessDeniedException") -> dict[str, Any]:
    return {"service_error_code": code, "service_message": message, "http_status_code": 403}


def test_access_denied_while_the_new_role_propagates_is_retried_with_backoff(plan: Any) -> None:
    client, stubber = stubbed("bedrock-agent")
    stubber.add_response("list_agents", {"agentSummaries": []})
    for _ in range(2):
        stubber.add_client_error(
            "create_agent",
            **denied("Access denied when calling Bedrock. Check your request permissions and retry the request."),
        )
    stubber.add_response("create_agent", {"agent": agent_body(plan, "CREATING")})
    stubber.add_response("get_agent", {"agent": agent_body(plan, "NOT_PREPARED")})
    clock = FakeClock()
    report, out = reporter(clock)
    state, change = ensure_agent(client, plan, report)
    assert (state.agent_id, state.status, change) == (AGENT_ID, "NOT_PREPARED", Change.CREATED)
    assert clock.sleeps == [2.0, 4.0]
    assert "IAM changes still propagating, retrying in 2 s" in out.getvalue()


def test_a_denial_naming_the_missing_permission_is_not_retried_and_names_it(plan: Any) -> None:
    client, stubber = stubbed("bedrock-agent")
    stubber.add_response("list_agents", {"agentSummaries": []})
    stubber.add_client_error(
        "create_agent",
        **denied("User: arn:aws:iam::123456789012:user/dev is not authorized to perform: iam:PassRole on r"),
    )
    report, _ = reporter()
    with pytest.raises(MissingPermission) as caught:
        ensure_agent(client, plan, report)
    assert caught.value.action == "iam:PassRole"
    assert "Grant iam:PassRole" in str(caught.value)


def test_an_account_that_cannot_use_agents_classic_is_told_to_use_the_gateway_target(plan: Any) -> None:
    client, stubber = stubbed("bedrock-agent")
    stubber.add_response("list_agents", {"agentSummaries": []})
    stubber.add_client_error(
        "create_agent",
        **denied(
            "Amazon Bedrock Agents (Agents Classic) is not available for new customers.",
            "ValidationException",
        ),
    )
    report, _ = reporter()
    with pytest.raises(AgentsClassicUnavailable) as caught:
        ensure_agent(client, plan, report)
    assert "--target agentcore-gateway" in str(caught.value)
    assert "2026-07-30" in str(caught.value)


def test_a_model_without_access_is_one_sentence_naming_the_model(plan: Any) -> None:
    client, stubber = stubbed("bedrock-agent")
    stubber.add_response("list_agents", {"agentSummaries": []})
    stubber.add_client_error(
        "create_agent",
        **denied("You don't have access to the model with the specified model ID.", "ValidationException"),
    )
    report, _ = reporter()
    with pytest.raises(ModelAccessDenied) as caught:
        ensure_agent(client, plan, report)
    assert "us.anthropic.claude-haiku-4-5-20251001-v1:0" in str(caught.value)
    assert "Model access" in str(caught.value)


def test_a_quota_on_the_action_group_is_reported_as_a_quota(plan: Any) -> None:
    client, stubber = stubbed("bedrock-agent")
    stubber.add_response("list_agent_action_groups", {"actionGroupSummaries": []})
    stubber.add_client_error(
        "create_agent_action_group",
        service_error_code="ServiceQuotaExceededException",
        service_message="The number of APIs per agent exceeds the limit of 11",
        http_status_code=402,
    )
    report, _ = reporter()
    with pytest.raises(QuotaExceeded, match="APIs per agent"):
        ensure_action_group(client, plan, AGENT_ID, report)


def test_changed_settings_update_the_whole_agent_and_the_action_group_by_id() -> None:
    old = plan_for()
    new = plan_for(settings(model="us.anthropic.claude-sonnet-4-5-20250929-v1:0"))
    client, stubber = stubbed("bedrock-agent")
    script = AgentScript(stubber, new)
    script.existing(agent=agent_body(old, "PREPARED"))
    # update_agent replaces the agent: name, model and role must all be sent
    script.add(
        "update_agent",
        {"agent": agent_body(new, "UPDATING")},
        {
            "agentId": AGENT_ID,
            "agentName": "esa-test",
            "foundationModel": "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "agentResourceRoleArn": new.agent_role.arn,
            "instruction": ANY,
            "idleSessionTTLInSeconds": ANY,
            "description": ANY,
        },
    )
    script.get_agent("UPDATING")
    script.get_agent("NOT_PREPARED")
    script.existing_group(group=action_group_body(new, actionGroupState="DISABLED"))
    script.add(
        "update_agent_action_group",
        {"agentActionGroup": action_group_body(new)},
        {
            "agentId": AGENT_ID,
            "agentVersion": "DRAFT",
            "actionGroupId": GROUP_ID,
            "actionGroupName": "security-assessment",
            "description": ANY,
            "actionGroupExecutor": ANY,
            "apiSchema": ANY,
            "actionGroupState": "ENABLED",
        },
    )
    script.existing_alias()
    script.prepare(("PREPARED",))
    script.add("update_agent_alias", {"agentAlias": {**_alias(new), "agentAliasStatus": "UPDATING"}})
    script.alias_polls(("PREPARED",), version="2")
    report, out = reporter()
    deploy_agent(client, new, report, lambda _arn: None)
    stubber.assert_no_pending_responses()
    text = out.getvalue()
    assert "updated   bedrock-agent          esa-test  (foundationModel)" in text
    assert "updated   bedrock-action-group   security-assessment  (actionGroupState)" in text
    assert "version 2" in text


def test_an_unchanged_agent_with_a_current_alias_is_not_touched(plan: Any) -> None:
    (_, _, alias_id), output, _ = run(plan, lambda s: s.unchanged_deploy())
    assert alias_id == "ALIAS12345"
    assert "updated" not in output and "created" not in output


def test_an_agent_with_our_name_but_not_our_tag_is_refused(plan: Any) -> None:
    client, stubber = stubbed("bedrock-agent")
    script = AgentScript(stubber, plan)
    script.add(
        "list_agents",
        {
            "agentSummaries": [
                {
                    "agentId": AGENT_ID,
                    "agentName": "esa-test",
                    "agentStatus": "PREPARED",
                    "updatedAt": agent_body(plan, "X")["updatedAt"],
                }
            ]
        },
    )
    script.add("get_agent", {"agent": agent_body(plan, "PREPARED")})
    script.add("list_tags_for_resource", {"tags": {"owner": "someone-else"}})
    report, _ = reporter()
    with pytest.raises(Exception, match="was not created by this deploy"):
        ensure_agent(client, plan, report)


def _alias(plan: Any) -> dict[str, Any]:
    from tests.contract.deploy.deploy_stubs import alias_body

    return alias_body(plan, "PREPARED")


def _prepare_agent_response() -> dict[str, Any]:
    return {"agentId": AGENT_ID, "agentStatus": "PREPARING", "agentVersion": "DRAFT", "preparedAt": NOW}


def test_a_stale_prepared_right_after_prepare_agent_is_not_taken_for_the_result(plan: Any) -> None:
    # GIVEN get_agent still answers with the previous preparation (PREPARED, an older preparedAt),
    # then shows PREPARING, then PREPARED
    client, stubber = stubbed("bedrock-agent")
    script = AgentScript(stubber, plan)
    script.add("prepare_agent", _prepare_agent_response(), {"agentId": AGENT_ID})
    script.get_agent("PREPARED", preparedAt=NOW - timedelta(days=1))
    script.get_agent("PREPARING", preparedAt=NOW - timedelta(days=1))
    script.get_agent("PREPARED", preparedAt=NOW + timedelta(seconds=20))
    report, out = reporter()

    # WHEN prepare polls
    prepare(client, plan, AGENT_ID, report)

    # THEN it waited through the stale read and PREPARING (every queued read was consumed)
    stubber.assert_no_pending_responses()
    assert "Waiting for agent to be PREPARED ... 0 s (stale PREPARED)" in out.getvalue()


def test_a_prepared_whose_prepared_at_is_from_this_preparation_is_believed_without_preparing(plan: Any) -> None:
    client, stubber = stubbed("bedrock-agent")
    script = AgentScript(stubber, plan)
    script.add("prepare_agent", _prepare_agent_response(), {"agentId": AGENT_ID})
    script.get_agent("PREPARED", preparedAt=NOW - timedelta(minutes=5))
    script.get_agent("PREPARED")  # no preparedAt at all: not proven fresh either
    script.get_agent("PREPARED", preparedAt=NOW)  # at the preparedAt prepare_agent returned
    report, _ = reporter()
    prepare(client, plan, AGENT_ID, report)
    stubber.assert_no_pending_responses()


def test_a_prepared_that_never_becomes_fresh_times_out_instead_of_publishing_the_old_draft(plan: Any) -> None:
    client, stubber = stubbed("bedrock-agent")
    script = AgentScript(stubber, plan)
    script.add("prepare_agent", _prepare_agent_response(), {"agentId": AGENT_ID})
    for _ in range(202):
        script.get_agent("PREPARED", preparedAt=NOW - timedelta(days=1))
    report, _ = reporter()
    with pytest.raises(WaitTimedOut, match="still stale PREPARED"):
        prepare(client, plan, AGENT_ID, report)


def test_after_update_agent_a_stale_settled_status_is_not_believed_until_updating_is_left() -> None:
    # GIVEN an agent whose model changes, and a get_agent that first still shows it as before the update
    old = plan_for()
    new = plan_for(settings(model="us.anthropic.claude-sonnet-4-5-20250929-v1:0"))
    client, stubber = stubbed("bedrock-agent")
    script = AgentScript(stubber, new)
    script.existing(agent=agent_body(old, "PREPARED", updatedAt=NOW - timedelta(days=1)))
    script.add("update_agent", {"agent": agent_body(new, "UPDATING", updatedAt=NOW)})
    script.get_agent("PREPARED", updatedAt=NOW - timedelta(days=1))  # stale: before the update
    script.get_agent("UPDATING", updatedAt=NOW)
    script.get_agent("NOT_PREPARED", updatedAt=NOW)
    report, out = reporter()

    # WHEN the agent is ensured
    state, change = ensure_agent(client, new, report)

    # THEN it waited until UPDATING was left, and reports the real status
    stubber.assert_no_pending_responses()
    assert (state.status, change) == ("NOT_PREPARED", Change.UPDATED)
    assert "(stale PREPARED)" in out.getvalue() and "(UPDATING)" in out.getvalue()


def test_a_create_agent_denial_without_a_reason_names_the_permission_and_agents_classic(plan: Any) -> None:
    # GIVEN CreateAgent keeps answering a bare AccessDenied (retried first, as IAM propagation)
    client, stubber = stubbed("bedrock-agent")
    stubber.add_response("list_agents", {"agentSummaries": []})
    for _ in range(7):
        stubber.add_client_error("create_agent", **denied("Access denied when calling Bedrock."))
    clock = FakeClock()
    report, _ = reporter(clock)

    # WHEN the agent is created, THEN after the retries the error names both causes and the gateway target
    with pytest.raises(CreateAgentDenied) as caught:
        ensure_agent(client, plan, report)
    stubber.assert_no_pending_responses()
    assert len(clock.sleeps) == 6
    assert "bedrock:CreateAgent" in str(caught.value)
    assert "not allowed to use Amazon Bedrock Agents" in str(caught.value)
    assert "--target agentcore-gateway" in str(caught.value)
