"""`--destroy` against `botocore.stub.Stubber`: the table is awaited until it is gone (so a deploy can
follow at once), and the service of the target that was not deployed may be unusable without
stopping the rest. The same sequences run end to end on moto in tests/integration/deploy."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from agent_config.deploy import resources
from agent_config.deploy.errors import DeployError, MissingPermission
from agent_config.deploy.plan import Target, tag_list
from agent_config.deploy.progress import Change
from agent_config.deploy.runner import delete_target
from tests.contract.deploy.deploy_stubs import NOW, plan_for, reporter, stubbed


@pytest.fixture(autouse=True)
def no_waiter_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """The table_not_exists waiter sleeps between polls; the stubbed table needs no real seconds."""
    monkeypatch.setattr(resources, "TABLE_DELETE_POLL_S", 0)


def table_body(status: str) -> dict[str, Any]:
    plan = plan_for()
    return {
        "TableName": plan.table.name,
        "TableArn": plan.table.arn,
        "TableStatus": status,
        "CreationDateTime": NOW,
    }


def script_delete(stubber: Any, polls: list[str]) -> None:
    """describe, tags, delete_table, then one waiter poll per status in `polls`."""
    plan = plan_for()
    name = {"TableName": plan.table.name}
    stubber.add_response("describe_table", {"Table": table_body("ACTIVE")}, name)
    stubber.add_response("list_tags_of_resource", {"Tags": tag_list(plan.tags)}, {"ResourceArn": plan.table.arn})
    stubber.add_response("delete_table", {"TableDescription": table_body("DELETING")}, name)
    for status in polls:
        stubber.add_response("describe_table", {"Table": table_body(status)}, name)


def test_destroy_waits_for_the_table_to_be_gone_before_going_on() -> None:
    # GIVEN a table that stays DELETING for two polls after delete_table, then is gone
    client, stubber = stubbed("dynamodb")
    script_delete(stubber, ["DELETING", "DELETING"])
    stubber.add_client_error(
        "describe_table",
        service_error_code="ResourceNotFoundException",
        service_message="Requested resource not found",
        http_status_code=400,
        expected_params={"TableName": plan_for().table.name},
    )
    report, out = reporter()

    # WHEN it is deleted
    resources.delete_table(client, plan_for(), report)

    # THEN the table_not_exists waiter polled until it was gone, and only then was it reported deleted
    stubber.assert_no_pending_responses()
    assert [(o.kind, o.change) for o in report.outcomes] == [("dynamodb-table", Change.DELETED)]
    assert "Waiting for table esa-test-sessions to be deleted" in out.getvalue()


def test_a_table_wait_that_fails_is_one_sentence_naming_the_error() -> None:
    client, stubber = stubbed("dynamodb")
    script_delete(stubber, [])
    stubber.add_client_error(
        "describe_table",
        service_error_code="AccessDeniedException",
        service_message="not authorized to perform: dynamodb:DescribeTable",
        http_status_code=400,
    )
    report, _ = reporter()
    with pytest.raises(DeployError) as caught:
        resources.delete_table(client, plan_for(), report)
    assert str(caught.value).startswith(
        "The table esa-test-sessions is being deleted, but waiting for it failed: AccessDeniedException:"
    )


def _raise(exc: Exception) -> Any:
    def call() -> None:
        raise exc

    return call


@pytest.mark.parametrize(
    ("deployed", "why"),
    [
        ("agentcore-gateway", "the deployment record says target agentcore-gateway"),
        (None, "there is no deployment record to say which target was deployed"),
    ],
)
@pytest.mark.parametrize(
    "error",
    [
        MissingPermission("bedrock:ListAgents", "ListAgents"),
        EndpointConnectionError(endpoint_url="https://bedrock-agent.eu-south-2.amazonaws.com/agents/"),
    ],
    ids=["access-denied", "no-endpoint"],
)
def test_the_target_not_deployed_is_skipped_with_a_warning_when_its_service_is_unusable(
    deployed: str | None, why: str, error: Exception
) -> None:
    report, out = reporter()
    delete_target(Target.AGENT, deployed, "bedrock-agent", "bedrock-agent", "esa-test", _raise(error), report)
    assert [(o.kind, o.name, o.change) for o in report.outcomes] == [("bedrock-agent", "esa-test", Change.SKIPPED)]
    text = out.getvalue()
    assert "Warning: could not look for the bedrock-agent esa-test, bedrock-agent is not usable here" in text
    assert why in text and "everything else is deleted" in text


def test_the_deployed_target_still_stops_the_destroy_when_its_service_refuses() -> None:
    report, _ = reporter()
    with pytest.raises(MissingPermission):
        delete_target(
            Target.AGENT,
            "agent",
            "bedrock-agent",
            "bedrock-agent",
            "esa-test",
            _raise(MissingPermission("bedrock:ListAgents", "ListAgents")),
            report,
        )


def test_other_errors_of_the_target_not_deployed_are_not_hidden() -> None:
    report, _ = reporter()
    with pytest.raises(DeployError, match="ThrottlingException"):
        delete_target(
            Target.AGENTCORE_GATEWAY,
            "agent",
            "bedrock-agentcore-control",
            "agentcore-gateway",
            "esa-test",
            _raise(DeployError("ListGateways failed: ThrottlingException: Rate exceeded.")),
            report,
        )
