"""Test support for the deploy tests: plans, a fake clock, and Stubber scripts for the Bedrock control
plane (the operations moto does not implement). Every stubbed response is validated by botocore
against the real service model, and every request against the operation's input shape.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.stub import ANY, Stubber

from agent_config.checks.catalogue import load_catalogue
from agent_config.deploy.bedrock_agent import alias_description
from agent_config.deploy.packaging import BuiltPackage, project_root
from agent_config.deploy.plan import DeployPlan, DeploySettings, Target, build_plan
from agent_config.deploy.progress import Reporter
from agent_config.schema import openapi_schema

ACCOUNT = "123456789012"
REGION = "us-east-1"
AGENT_ID = "AGENT12345"
ALIAS_ID = "ALIAS12345"
GROUP_ID = "GROUP12345"
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@dataclass
class FakeClock:
    """A monotonic clock that only moves when the code under test sleeps."""

    now: float = 0.0
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def reporter(clock: FakeClock | None = None) -> tuple[Reporter, io.StringIO]:
    clock = clock or FakeClock()
    out = io.StringIO()
    return Reporter(stream=out, clock=clock, sleep=clock.sleep), out


def settings(**overrides: Any) -> DeploySettings:
    values: dict[str, Any] = {"account_id": ACCOUNT, "region": REGION, "agent_name": "esa-test"}
    values.update(overrides)
    return DeploySettings(**values)


def plan_for(s: DeploySettings | None = None) -> DeployPlan:
    return build_plan(s or settings(), openapi_schema(), load_catalogue().required_iam_actions(), project_root())


def tiny_package(tmp: Path, content: bytes = b"print('hello')\n") -> BuiltPackage:
    """A small zip standing in for the real package where the code under test only uploads it."""
    path = tmp / "package.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(zipfile.ZipInfo("handler.py", date_time=(1980, 1, 1, 0, 0, 0)), content)
    data = path.read_bytes()
    digest = hashlib.sha256(data).digest()
    return BuiltPackage(
        path=path,
        size=len(data),
        sha256_hex=digest.hex(),
        sha256_b64=base64.b64encode(digest).decode(),
        files=1,
        dependencies_cached=True,
        build_seconds=0.0,
    )


def stubbed(service: str) -> tuple[Any, Stubber]:
    client = boto3.client(
        service,  # type: ignore[call-overload]
        region_name=REGION,
        aws_access_key_id="stub",
        aws_secret_access_key="stub",
    )
    stubber = Stubber(client)
    stubber.activate()
    return client, stubber


# ---------------------------------------------------------------------------------------------
# bedrock-agent shapes
# ---------------------------------------------------------------------------------------------


def agent_arn(agent_id: str = AGENT_ID) -> str:
    return f"arn:aws:bedrock:{REGION}:{ACCOUNT}:agent/{agent_id}"


def agent_body(plan: DeployPlan, status: str, **extra: Any) -> dict[str, Any]:
    assert plan.agent is not None and plan.agent_role is not None
    body = {
        "agentId": AGENT_ID,
        "agentName": plan.agent.name,
        "agentArn": agent_arn(),
        "agentVersion": "DRAFT",
        "agentStatus": status,
        "idleSessionTTLInSeconds": plan.agent.idle_session_ttl_s,
        "agentResourceRoleArn": plan.agent_role.arn,
        "foundationModel": plan.agent.foundation_model,
        "instruction": plan.agent.instruction,
        "description": plan.agent.description,
        "createdAt": NOW,
        "updatedAt": NOW,
    }
    body.update(extra)
    return body


def action_group_body(plan: DeployPlan, **extra: Any) -> dict[str, Any]:
    assert plan.action_group is not None
    body = {
        "agentId": AGENT_ID,
        "agentVersion": "DRAFT",
        "actionGroupId": GROUP_ID,
        "actionGroupName": plan.action_group.name,
        "description": plan.action_group.description,
        "actionGroupExecutor": {"lambda": plan.action_group.function_arn},
        "apiSchema": {"payload": plan.action_group.payload()},
        "actionGroupState": "ENABLED",
        "createdAt": NOW,
        "updatedAt": NOW,
    }
    body.update(extra)
    return body


def alias_body(plan: DeployPlan, status: str, version: str = "1", **extra: Any) -> dict[str, Any]:
    assert plan.alias is not None
    body = {
        "agentId": AGENT_ID,
        "agentAliasId": ALIAS_ID,
        "agentAliasName": plan.alias.name,
        "agentAliasArn": f"arn:aws:bedrock:{REGION}:{ACCOUNT}:agent-alias/{AGENT_ID}/{ALIAS_ID}",
        "description": alias_description(plan),
        "routingConfiguration": [{"agentVersion": version}],
        "createdAt": NOW,
        "updatedAt": NOW,
        "agentAliasStatus": status,
    }
    body.update(extra)
    return body


class AgentScript:
    """Queues the bedrock-agent responses of one deploy, in call order."""

    def __init__(self, stubber: Stubber, plan: DeployPlan) -> None:
        self.stubber = stubber
        self.plan = plan

    def add(self, operation: str, response: dict[str, Any], params: dict[str, Any] | None = None) -> None:
        self.stubber.add_response(operation, response, params)

    def get_agent(self, status: str, **extra: Any) -> None:
        self.add("get_agent", {"agent": agent_body(self.plan, status, **extra)}, {"agentId": AGENT_ID})

    def fresh_deploy(self, create_statuses: tuple[str, ...] = ("CREATING", "NOT_PREPARED")) -> None:
        plan = self.plan
        assert plan.agent is not None and plan.action_group is not None and plan.agent_role is not None
        self.add("list_agents", {"agentSummaries": []})
        self.add(
            "create_agent",
            {"agent": agent_body(plan, "CREATING")},
            {
                "agentName": plan.agent.name,
                "foundationModel": plan.agent.foundation_model,
                "agentResourceRoleArn": plan.agent_role.arn,
                "instruction": plan.agent.instruction,
                "idleSessionTTLInSeconds": plan.agent.idle_session_ttl_s,
                "description": plan.agent.description,
                "tags": plan.tags,
            },
        )
        for status in create_statuses:
            self.get_agent(status)
        self.add("list_agent_action_groups", {"actionGroupSummaries": []})
        self.add(
            "create_agent_action_group",
            {"agentActionGroup": action_group_body(plan)},
            {
                "agentId": AGENT_ID,
                "agentVersion": "DRAFT",
                "actionGroupName": plan.action_group.name,
                "description": plan.action_group.description,
                "actionGroupExecutor": {"lambda": plan.function.arn},
                "apiSchema": {"payload": ANY},
                "actionGroupState": "ENABLED",
            },
        )
        self.add("list_agent_aliases", {"agentAliasSummaries": []})
        self.prepare(("PREPARING", "PREPARED"))
        self.add(
            "create_agent_alias",
            {"agentAlias": alias_body(plan, "CREATING")},
            {
                "agentId": AGENT_ID,
                "agentAliasName": "live",
                "description": alias_description(plan),
                "tags": plan.tags,
            },
        )
        self.alias_polls(("CREATING", "PREPARED"))

    def prepare(self, statuses: tuple[str, ...]) -> None:
        """`prepare_agent` (it returns preparedAt NOW), then one `get_agent` per status.

        Each polled agent carries preparedAt NOW too: the deploy believes a PREPARED only when it is
        from this preparation (preparedAt at or after the one prepare_agent returned).
        """
        self.add(
            "prepare_agent",
            {"agentId": AGENT_ID, "agentStatus": "PREPARING", "agentVersion": "DRAFT", "preparedAt": NOW},
            {"agentId": AGENT_ID},
        )
        for status in statuses:
            self.get_agent(status, preparedAt=NOW)

    def alias_polls(self, statuses: tuple[str, ...], version: str = "1") -> None:
        for status in statuses:
            self.add(
                "get_agent_alias",
                {"agentAlias": alias_body(self.plan, status, version)},
                {"agentId": AGENT_ID, "agentAliasId": ALIAS_ID},
            )
        # the final read for the summary line
        self.add(
            "get_agent_alias",
            {"agentAlias": alias_body(self.plan, "PREPARED", version)},
            {"agentId": AGENT_ID, "agentAliasId": ALIAS_ID},
        )

    def existing(self, agent: dict[str, Any] | None = None, group: dict[str, Any] | None = None) -> None:
        """The reads of a deploy that finds the agent and action group already there."""
        plan = self.plan
        assert plan.action_group is not None
        self.add(
            "list_agents",
            {
                "agentSummaries": [
                    {
                        "agentId": AGENT_ID,
                        "agentName": plan.settings.agent_name,
                        "agentStatus": "PREPARED",
                        "updatedAt": NOW,
                    }
                ]
            },
        )
        self.add("get_agent", {"agent": agent or agent_body(plan, "PREPARED")}, {"agentId": AGENT_ID})
        self.add("list_tags_for_resource", {"tags": plan.tags}, {"resourceArn": agent_arn()})

    def existing_group(self, group: dict[str, Any] | None = None) -> None:
        plan = self.plan
        assert plan.action_group is not None
        self.add(
            "list_agent_action_groups",
            {
                "actionGroupSummaries": [
                    {
                        "actionGroupId": GROUP_ID,
                        "actionGroupName": plan.action_group.name,
                        "actionGroupState": "ENABLED",
                        "updatedAt": NOW,
                    }
                ]
            },
        )
        self.add(
            "get_agent_action_group",
            {"agentActionGroup": group or action_group_body(plan)},
            {"agentId": AGENT_ID, "agentVersion": "DRAFT", "actionGroupId": GROUP_ID},
        )

    def existing_alias(self, description: str | None = None, status: str = "PREPARED") -> None:
        plan = self.plan
        self.add(
            "list_agent_aliases",
            {
                "agentAliasSummaries": [
                    {
                        "agentAliasId": ALIAS_ID,
                        "agentAliasName": "live",
                        "agentAliasStatus": status,
                        "createdAt": NOW,
                        "updatedAt": NOW,
                    }
                ]
            },
        )
        extra = {} if description is None else {"description": description}
        self.add(
            "get_agent_alias",
            {"agentAlias": alias_body(plan, status, **extra)},
            {"agentId": AGENT_ID, "agentAliasId": ALIAS_ID},
        )

    def unchanged_deploy(self) -> None:
        self.existing()
        self.existing_group()
        self.existing_alias()


def gateway_plan(**overrides: Any) -> DeployPlan:
    return plan_for(settings(target=Target.AGENTCORE_GATEWAY, **overrides))


def json_payload(document: dict[str, Any]) -> str:
    return json.dumps(document)
