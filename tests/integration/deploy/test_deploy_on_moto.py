"""The deploy against the sandbox's moto server over HTTP: IAM, Lambda (from the real package),
DynamoDB, SSM, Secrets Manager and CloudWatch Logs are created as planned; a second run changes
nothing; changed settings update in place; --destroy leaves nothing tagged behind.

moto has no Bedrock agent action groups, preparation or aliases, so the bedrock-agent client is a
`botocore.stub.Stubber` scripted with the exact calls each run must make (an unexpected call,
such as a write on the unchanged run, fails the test). The package is the real one, built once per
session for manylinux2014_x86_64 / CPython 3.12 and cached under .cache/ by the requirements hash.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from agent_config.config import AuthKind
from agent_config.deploy import resources
from agent_config.deploy.aws import AwsClients
from agent_config.deploy.cli import main
from agent_config.deploy.errors import MissingPermission
from agent_config.deploy.packaging import BuiltPackage, build_package
from agent_config.deploy.plan import STACK_TAG, DeployPlan, ServerSetting, Target
from agent_config.deploy.progress import Change
from agent_config.deploy.runner import run_deploy, run_destroy
from agent_config.interfaces import ServerRole
from agent_config.sandbox.local_aws import (
    SANDBOX_ACCESS_KEY_ID,
    SANDBOX_SECRET_ACCESS_KEY,
    LocalAws,
    local_aws,
)
from tests.contract.deploy.deploy_stubs import (
    ACCOUNT,
    AGENT_ID,
    ALIAS_ID,
    REGION,
    AgentScript,
    agent_body,
    gateway_plan,
    plan_for,
    reporter,
    settings,
    stubbed,
    tiny_package,
)

pytestmark = pytest.mark.integration

BEARER_KNOWLEDGE = (
    ServerSetting(role=ServerRole.KNOWLEDGE, url="https://knowledge.example.com/mcp", auth=AuthKind.BEARER),
)


@pytest.fixture(scope="module")
def aws() -> Iterator[LocalAws]:
    with local_aws(region=REGION) as world:
        yield world


@pytest.fixture(scope="module")
def real_package() -> BuiltPackage:
    """The real Lambda package (pip for the Lambda platform; cached by the requirements hash)."""
    return build_package(plan_for().package)


def clients_for(aws: LocalAws, **overrides: Any) -> AwsClients:
    session = boto3.session.Session(
        aws_access_key_id=SANDBOX_ACCESS_KEY_ID,
        aws_secret_access_key=SANDBOX_SECRET_ACCESS_KEY,
        region_name=REGION,
    )
    return AwsClients(region=REGION, session=session, endpoint_url=aws.endpoint_url, overrides=overrides)


def tagged_arns(aws: LocalAws, stack: str) -> list[str]:
    """Everything the Resource Groups Tagging API knows with our stack tag (Lambda, Logs, SSM, ...)."""
    tagging = aws.client("resourcegroupstaggingapi")
    found = []
    for page in tagging.get_paginator("get_resources").paginate(TagFilters=[{"Key": STACK_TAG, "Values": [stack]}]):
        found.extend(m["ResourceARN"] for m in page["ResourceTagMappingList"])
    return sorted(found)


def tagged_roles(aws: LocalAws, stack: str) -> list[str]:
    iam = aws.client("iam")
    names = []
    for role in iam.list_roles()["Roles"]:
        tags = {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=role["RoleName"])["Tags"]}
        if tags.get(STACK_TAG) == stack:
            names.append(role["RoleName"])
    return sorted(names)


def agent_destroy_client(plan: DeployPlan) -> tuple[Any, Stubber]:
    """A bedrock-agent client scripted for deleting the stack's agent and its alias."""
    agent_client, stubber = stubbed("bedrock-agent")
    stubber.add_response(
        "list_agents",
        {
            "agentSummaries": [
                {
                    "agentId": AGENT_ID,
                    "agentName": plan.settings.agent_name,
                    "agentStatus": "PREPARED",
                    "updatedAt": agent_body(plan, "PREPARED")["updatedAt"],
                }
            ]
        },
    )
    stubber.add_response("get_agent", {"agent": agent_body(plan, "PREPARED")})
    stubber.add_response("list_tags_for_resource", {"tags": plan.tags})
    stubber.add_response(
        "list_agent_aliases",
        {
            "agentAliasSummaries": [
                {
                    "agentAliasId": ALIAS_ID,
                    "agentAliasName": "live",
                    "agentAliasStatus": "PREPARED",
                    "createdAt": agent_body(plan, "PREPARED")["createdAt"],
                    "updatedAt": agent_body(plan, "PREPARED")["updatedAt"],
                }
            ]
        },
    )
    stubber.add_response(
        "delete_agent_alias", {"agentId": AGENT_ID, "agentAliasId": ALIAS_ID, "agentAliasStatus": "DELETING"}
    )
    stubber.add_response(
        "delete_agent",
        {"agentId": AGENT_ID, "agentStatus": "DELETING"},
        {"agentId": AGENT_ID, "skipResourceInUseCheck": True},
    )
    return agent_client, stubber


def deploy(aws: LocalAws, plan: DeployPlan, package: BuiltPackage, script: Any) -> tuple[Any, list[Any], str]:
    agent_client, stubber = stubbed("bedrock-agent")
    script(AgentScript(stubber, plan))
    report, out = reporter()
    result = run_deploy(plan, clients_for(aws, **{"bedrock-agent": agent_client}), report, lambda _spec: package)
    stubber.assert_no_pending_responses()
    return result, report.outcomes, out.getvalue()


def test_deploy_creates_every_resource_as_planned_then_changes_nothing_then_destroys_it_all(
    aws: LocalAws, real_package: BuiltPackage
) -> None:
    # GIVEN a plan with a bearer-authenticated Knowledge server (so a secret is part of it)
    plan = plan_for(settings(agent_name="esa-moto", servers=BEARER_KNOWLEDGE))
    stack = plan.tags[STACK_TAG]

    # WHEN it is deployed for the first time
    result, outcomes, output = deploy(aws, plan, real_package, lambda s: s.fresh_deploy())

    # THEN every resource was created, with the planned settings
    created = {(o.kind, o.name) for o in outcomes if o.change is Change.CREATED}
    assert ("iam-role", plan.lambda_role.name) in created
    assert plan.agent_role is not None and ("iam-role", plan.agent_role.name) in created
    assert ("dynamodb-table", plan.table.name) in created
    assert ("lambda-function", plan.function.name) in created
    assert ("log-group", plan.log_group.name) in created
    assert ("secret", "esa-moto/mcp/knowledge-token") in created
    assert result.agent_id == AGENT_ID and result.alias_id == ALIAS_ID
    assert f"sha256 {real_package.sha256_hex}" in output

    iam = aws.client("iam")
    role = iam.get_role(RoleName=plan.lambda_role.name)["Role"]
    assert role["AssumeRolePolicyDocument"] == plan.lambda_role.trust_policy
    for name, document in plan.lambda_role.inline_policies.items():
        assert iam.get_role_policy(RoleName=plan.lambda_role.name, PolicyName=name)["PolicyDocument"] == document

    dynamodb = aws.client("dynamodb")
    table = dynamodb.describe_table(TableName=plan.table.name)["Table"]
    assert table["KeySchema"] == plan.table.definition["KeySchema"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    ttl = dynamodb.describe_time_to_live(TableName=plan.table.name)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}

    function = aws.client("lambda").get_function(FunctionName=plan.function.name)
    config = function["Configuration"]
    assert config["CodeSha256"] == real_package.sha256_b64
    assert config["Runtime"] == "python3.12" and config["Architectures"] == ["x86_64"]
    assert (config["Timeout"], config["MemorySize"]) == (120, 1024)
    assert config["Environment"]["Variables"] == plan.function.environment
    policy = json.loads(aws.client("lambda").get_policy(FunctionName=plan.function.name)["Policy"])
    statement = policy["Statement"][0]
    assert statement["Principal"] == {"Service": "bedrock.amazonaws.com"}
    assert json.dumps(statement["Condition"]).count(f"agent/{AGENT_ID}") == 1

    ssm = aws.client("ssm")
    config_doc = json.loads(ssm.get_parameter(Name="/esa-moto/config")["Parameter"]["Value"])
    assert config_doc["sessions_table"] == plan.table.name
    assert config_doc["servers"]["knowledge"]["auth"] == {
        "kind": "bearer",
        "secret_id": "esa-moto/mcp/knowledge-token",
    }
    outputs = json.loads(ssm.get_parameter(Name="/esa-moto/deployment")["Parameter"]["Value"])
    assert outputs["agent_id"] == AGENT_ID and outputs["alias_id"] == ALIAS_ID

    groups = aws.client("logs").describe_log_groups(logGroupNamePrefix=plan.log_group.name)["logGroups"]
    assert groups[0]["retentionInDays"] == 30
    secret = aws.client("secretsmanager").describe_secret(SecretId="esa-moto/mcp/knowledge-token")
    assert not secret.get("VersionIdsToStages")  # created without a value
    assert "put-secret-value --secret-id esa-moto/mcp/knowledge-token" not in output  # only in the summary

    # WHEN it is deployed again with the same settings
    _, again, _ = deploy(aws, plan, real_package, lambda s: s.unchanged_deploy())

    # THEN nothing changed (and the stubbed Bedrock client saw reads only)
    assert [o for o in again if o.change is not Change.UNCHANGED] == []

    # WHEN --destroy runs
    agent_client, stubber = agent_destroy_client(plan)
    report, _ = reporter()
    run_destroy(plan, gateway_plan(agent_name="esa-moto"), clients_for(aws, **{"bedrock-agent": agent_client}), report)
    stubber.assert_no_pending_responses()

    # THEN nothing tagged with the stack is left
    assert tagged_arns(aws, stack) == []
    assert tagged_roles(aws, stack) == []
    with pytest.raises(dynamodb.exceptions.ResourceNotFoundException):
        dynamodb.describe_table(TableName=plan.table.name)


def test_changed_settings_update_in_place_and_make_a_new_version_behind_the_alias(
    aws: LocalAws, real_package: BuiltPackage, tmp_path: Path
) -> None:
    # GIVEN a deployed stack
    plan = plan_for(settings(agent_name="esa-update"))
    deploy(aws, plan, real_package, lambda s: s.fresh_deploy())

    # WHEN the model, the log retention and the code change
    from tests.contract.deploy.deploy_stubs import tiny_package

    changed = plan_for(
        settings(
            agent_name="esa-update",
            model="us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            log_retention_days=14,
        )
    )
    new_code = tiny_package(tmp_path, b"print('v2')\n")

    def script(s: AgentScript) -> None:
        s.existing(agent=agent_body(plan, "PREPARED"))  # the agent still has the old model
        s.add("update_agent", {"agent": agent_body(changed, "UPDATING")})
        s.get_agent("NOT_PREPARED")
        s.existing_group()
        s.existing_alias(description="Managed by deploy_enhanced_security_agent.py; settings old")
        s.prepare(("PREPARED",))
        s.add("update_agent_alias", {"agentAlias": {**_alias(changed), "agentAliasStatus": "UPDATING"}})
        s.alias_polls(("UPDATING", "PREPARED"), version="2")

    _, outcomes, output = deploy(aws, changed, new_code, script)

    # THEN each changed resource is updated in place, and the alias serves a new version
    changes = {(o.kind, o.change) for o in outcomes}
    assert ("lambda-function", Change.UPDATED) in changes
    assert ("log-group", Change.UPDATED) in changes
    assert ("bedrock-agent", Change.UPDATED) in changes
    assert ("bedrock-agent-alias", Change.UPDATED) in changes
    assert ("iam-role", Change.UPDATED) in changes  # the agent role's model permissions
    assert "version 2" in output
    agent_role = aws.client("iam").get_role_policy(RoleName="esa-update-agent-role", PolicyName="invoke-model")
    assert "claude-sonnet-4-5" in json.dumps(agent_role["PolicyDocument"])
    config = aws.client("lambda").get_function_configuration(FunctionName="esa-update-actions")
    assert config["CodeSha256"] == new_code.sha256_b64


def _alias(plan: DeployPlan) -> dict[str, Any]:
    from tests.contract.deploy.deploy_stubs import alias_body

    return alias_body(plan, "PREPARED")


def test_the_cli_deploys_the_gateway_target_on_moto_and_destroy_asks_first(aws: LocalAws, tmp_path: Path) -> None:
    # GIVEN the command line, pointed at moto, for an account that uses the AgentCore gateway
    from tests.contract.deploy.deploy_stubs import tiny_package

    package = tiny_package(tmp_path)
    args = [
        "--region",
        REGION,
        "--agent-name",
        "esa-gw",
        "--target",
        "agentcore-gateway",
        "--account-id",
        ACCOUNT,
    ]
    out = io.StringIO()
    clients = clients_for(aws)

    # WHEN it deploys
    code = main(args, stdout=out, clients=clients, build=lambda _spec: package)

    # THEN the gateway and its Lambda target exist (moto implements the AgentCore control plane)
    assert code == 0, out.getvalue()
    control = aws.client("bedrock-agentcore-control")
    gateway = next(g for g in control.list_gateways()["items"] if g["name"] == "esa-gw")
    targets = control.list_gateway_targets(gatewayIdentifier=gateway["gatewayId"])["items"]
    assert [t["name"] for t in targets] == ["security"]
    assert "Gateway id:" in out.getvalue()

    # WHEN --destroy runs without --yes and without a terminal, THEN it refuses and deletes nothing
    refused = io.StringIO()
    assert main([*args, "--destroy"], stdout=refused, stdin=io.StringIO(""), clients=clients) == 1
    assert "Nothing was deleted" in refused.getvalue()
    assert tagged_roles(aws, "esa-gw")

    # WHEN --destroy --yes runs (no agent exists: the bedrock-agent stub answers the lookup only)
    agent_client, stubber = stubbed("bedrock-agent")
    stubber.add_response("list_agents", {"agentSummaries": []})
    done = io.StringIO()
    assert (
        main(
            [*args, "--destroy", "--yes"],
            stdout=done,
            clients=clients_for(aws, **{"bedrock-agent": agent_client}),
        )
        == 0
    ), done.getvalue()

    # THEN nothing tagged is left
    assert tagged_arns(aws, "esa-gw") == []
    assert tagged_roles(aws, "esa-gw") == []
    assert all(g["name"] != "esa-gw" for g in control.list_gateways()["items"])


def test_a_resource_with_our_name_but_not_our_tag_is_left_alone(aws: LocalAws, tmp_path: Path) -> None:
    # GIVEN someone else's role with the name the deploy would use
    from agent_config.deploy.errors import NotOurs
    from tests.contract.deploy.deploy_stubs import tiny_package

    iam = aws.client("iam")
    iam.create_role(
        RoleName="esa-taken-lambda-role",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )
    plan = plan_for(settings(agent_name="esa-taken"))

    # WHEN the deploy runs, THEN it refuses to take the role over and changes nothing
    report, _ = reporter()
    with pytest.raises(NotOurs, match="esa-taken-lambda-role"):
        run_deploy(plan, clients_for(aws), report, lambda _spec: tiny_package(tmp_path))
    assert iam.list_role_policies(RoleName="esa-taken-lambda-role")["PolicyNames"] == []

    # and --destroy skips it
    agent_client, stubber = stubbed("bedrock-agent")
    stubber.add_response("list_agents", {"agentSummaries": []})
    report, _ = reporter()
    run_destroy(plan, gateway_plan(agent_name="esa-taken"), clients_for(aws, **{"bedrock-agent": agent_client}), report)
    skipped = [o for o in report.outcomes if o.change is Change.SKIPPED]
    assert [(o.kind, o.name) for o in skipped] == [("iam-role", "esa-taken-lambda-role")]
    assert iam.get_role(RoleName="esa-taken-lambda-role")


def test_new_mcp_settings_update_the_parameters_and_the_secrets(aws: LocalAws, tmp_path: Path) -> None:
    from tests.contract.deploy.deploy_stubs import tiny_package

    package = tiny_package(tmp_path)
    plan = plan_for(settings(agent_name="esa-params", target=Target.AGENTCORE_GATEWAY))
    report, _ = reporter()
    run_deploy(plan, clients_for(aws), report, lambda _spec: package)

    changed = plan_for(settings(agent_name="esa-params", target=Target.AGENTCORE_GATEWAY, servers=BEARER_KNOWLEDGE))
    report, _ = reporter()
    run_deploy(changed, clients_for(aws), report, lambda _spec: package)
    changes = {(o.kind, o.name): o.change for o in report.outcomes}
    assert changes[("ssm-parameter", "/esa-params/config")] is Change.UPDATED
    assert changes[("ssm-parameter", "/esa-params/mcp-servers")] is Change.UPDATED
    assert changes[("ssm-parameter", "/esa-params/feature-flags")] is Change.UNCHANGED
    assert changes[("secret", "esa-params/mcp/knowledge-token")] is Change.CREATED
    assert changes[("agentcore-gateway", "esa-params")] is Change.UNCHANGED
    value = json.loads(aws.client("ssm").get_parameter(Name="/esa-params/config")["Parameter"]["Value"])
    assert value["servers"]["knowledge"]["url"] == "https://knowledge.example.com/mcp"


def unreachable(service: str) -> Any:
    """A real client whose endpoint refuses connections, like a Region where the service does not exist."""
    return boto3.client(
        service,  # type: ignore[call-overload]
        region_name=REGION,
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="stub",
        aws_secret_access_key="stub",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=2),
    )


def test_destroy_deletes_everything_when_the_other_targets_service_is_denied_then_a_deploy_follows(
    aws: LocalAws, tmp_path: Path
) -> None:
    # GIVEN a deployed agent, and credentials without bedrock-agentcore:ListGateways
    package = tiny_package(tmp_path)
    plan = plan_for(settings(agent_name="esa-noac"))
    deploy(aws, plan, package, lambda s: s.fresh_deploy())
    agent_client, agent_stubber = agent_destroy_client(plan)
    control, control_stubber = stubbed("bedrock-agentcore-control")
    control_stubber.add_client_error(
        "list_gateways",
        service_error_code="AccessDeniedException",
        service_message="User: arn:aws:iam::123456789012:user/dev is not authorized to perform: "
        "bedrock-agentcore:ListGateways on resource: *",
        http_status_code=403,
    )
    clients = clients_for(aws, **{"bedrock-agent": agent_client, "bedrock-agentcore-control": control})

    # WHEN --destroy runs
    report, out = reporter()
    run_destroy(plan, gateway_plan(agent_name="esa-noac"), clients, report)

    # THEN the gateway look-up is a warning, and the agent and everything else are deleted
    agent_stubber.assert_no_pending_responses()
    control_stubber.assert_no_pending_responses()
    text = out.getvalue()
    assert "Warning: could not look for the agentcore-gateway esa-noac, bedrock-agentcore-control is not usable" in text
    assert "the deployment record says target agent" in text
    assert tagged_arns(aws, "esa-noac") == []
    assert tagged_roles(aws, "esa-noac") == []

    # and a deploy right after finds the names free again (the table was awaited until gone)
    _, outcomes, _ = deploy(aws, plan, package, lambda s: s.fresh_deploy())
    assert ("dynamodb-table", plan.table.name, Change.CREATED) in {(o.kind, o.name, o.change) for o in outcomes}


def test_destroy_without_a_deployment_record_skips_an_unreachable_agent_service(aws: LocalAws, tmp_path: Path) -> None:
    # GIVEN a deployed agent whose /<name>/deployment parameter is gone, in a "Region" without Agents
    plan = plan_for(settings(agent_name="esa-norec"))
    deploy(aws, plan, tiny_package(tmp_path), lambda s: s.fresh_deploy())
    aws.client("ssm").delete_parameter(Name=plan.outputs_parameter)
    clients = clients_for(aws, **{"bedrock-agent": unreachable("bedrock-agent")})

    # WHEN --destroy runs (the gateway look-up goes to moto, which has none)
    report, out = reporter()
    run_destroy(plan, gateway_plan(agent_name="esa-norec"), clients, report)

    # THEN the agent is skipped with a warning and everything else is deleted
    text = out.getvalue()
    assert "Warning: could not look for the bedrock-agent esa-norec, bedrock-agent is not usable here" in text
    assert "there is no deployment record to say which target was deployed" in text
    changes = {(o.kind, o.change) for o in report.outcomes}
    assert ("bedrock-agent", Change.SKIPPED) in changes and ("agentcore-gateway", Change.ABSENT) in changes
    assert tagged_arns(aws, "esa-norec") == []
    assert tagged_roles(aws, "esa-norec") == []


def test_destroy_stops_when_the_deployed_targets_service_refuses(aws: LocalAws, tmp_path: Path) -> None:
    # GIVEN a deployed agent (the record says so) and credentials without bedrock:ListAgents
    plan = plan_for(settings(agent_name="esa-stop"))
    deploy(aws, plan, tiny_package(tmp_path), lambda s: s.fresh_deploy())
    agent_client, stubber = stubbed("bedrock-agent")
    stubber.add_client_error(
        "list_agents",
        service_error_code="AccessDeniedException",
        service_message="User: x is not authorized to perform: bedrock:ListAgents on resource: *",
        http_status_code=403,
    )

    # WHEN --destroy runs, THEN it stops with the missing permission, before deleting anything else
    report, _ = reporter()
    with pytest.raises(MissingPermission, match="bedrock:ListAgents"):
        run_destroy(
            plan, gateway_plan(agent_name="esa-stop"), clients_for(aws, **{"bedrock-agent": agent_client}), report
        )
    assert aws.client("lambda").get_function(FunctionName=plan.function.name)


def test_a_table_still_deleting_is_awaited_then_created_again(aws: LocalAws, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a sessions table that DynamoDB reports as DELETING (a destroy a moment ago)
    monkeypatch.setattr(resources, "TABLE_DELETE_POLL_S", 0)
    plan = plan_for(settings(agent_name="esa-tbl"))
    resources.ensure_table(aws.client("dynamodb"), plan, reporter()[0])
    dynamodb = clients_for(aws).client("dynamodb")
    reported: list[bool] = []

    def deleting_once(parsed: dict[str, Any], **_: Any) -> None:
        if not reported and "Table" in parsed:
            reported.append(True)
            aws.client("dynamodb").delete_table(TableName=plan.table.name)
            parsed["Table"]["TableStatus"] = "DELETING"

    dynamodb.meta.events.register("after-call.dynamodb.DescribeTable", deleting_once)

    # WHEN the deploy ensures the table
    report, out = reporter()
    change = resources.ensure_table(dynamodb, plan, report)

    # THEN it waited for the deletion, then created the table anew
    assert reported and change is Change.CREATED
    assert "Waiting for table esa-tbl-sessions to be deleted" in out.getvalue()
    table = aws.client("dynamodb").describe_table(TableName=plan.table.name)["Table"]
    assert table["TableStatus"] == "ACTIVE"
