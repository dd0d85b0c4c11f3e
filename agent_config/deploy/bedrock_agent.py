"""The Bedrock agent (Agents Classic): agent, action group, preparation and alias.

The control plane has no waiters, so each step polls (`Reporter.poll`). Order and waits:

1. `create_agent` (retried while IAM propagates the new service role) -> CREATING -> NOT_PREPARED;
   or `update_agent` (it replaces the agent: name, model and role every time) -> UPDATING -> ...
   (a status read that predates the update is not believed: see `After`)
2. `create_agent_action_group` / `update_agent_action_group` on the DRAFT version.
3. (the caller adds the Lambda permission for the agent's ARN)
4. `prepare_agent` -> PREPARING -> PREPARED (FAILED carries `failureReasons`); a PREPARED left
   from the previous preparation is not believed (`After`).
5. `create_agent_alias` / `update_agent_alias` without a routing configuration: Bedrock snapshots
   the prepared DRAFT into a new numbered version behind the alias -> PREPARED.

Idempotency: the alias's description carries a fingerprint of the agent and action-group settings
it was made from. When the agent, the action group and that fingerprint all match the plan and
the agent is PREPARED, nothing is written.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from agent_config.deploy.errors import (
    NotOurs,
    PrepareFailed,
    is_access_denied,
    mentions_agents_classic_refusal,
    translated,
)
from agent_config.deploy.plan import AGENT_ID_PLACEHOLDER, STACK_TAG, DeployPlan, canonical_json
from agent_config.deploy.progress import Change, Reporter

DRAFT = "DRAFT"
SETTLED_AGENT = {"NOT_PREPARED", "PREPARED", "FAILED"}
SETTLED_ALIAS = {"PREPARED", "FAILED"}
NOT_PREPARED_GRACE_S = 30.0


@dataclass(frozen=True)
class AgentState:
    agent_id: str
    agent_arn: str
    status: str


def agent_arn(plan: DeployPlan, agent_id: str) -> str:
    assert plan.agent is not None
    return plan.agent.arn_pattern.replace(AGENT_ID_PLACEHOLDER, agent_id)


def find_agent(client: Any, name: str) -> dict[str, Any] | None:
    for page in client.get_paginator("list_agents").paginate():
        for summary in page.get("agentSummaries", []):
            if summary.get("agentName") == name:
                return dict(summary)
    return None


def _propagating(exc: ClientError) -> bool:
    """AccessDenied right after the service role was created is IAM propagation, not a real denial.

    A denial that names an action the caller lacks (`not authorized to perform: iam:PassRole`) or
    the refusal to use Agents Classic is final: retrying would only delay the message.
    """
    message = str(exc)
    return (
        is_access_denied(exc)
        and not mentions_agents_classic_refusal(message)
        and "not authorized to perform" not in message
    )


def _fail_on(what: str, read: Any) -> Any:
    def check(status: str) -> None:
        if status == "FAILED":
            item = read()
            raise PrepareFailed(
                what, list(item.get("failureReasons") or []), list(item.get("recommendedActions") or [])
            )

    return check


@dataclass(frozen=True)
class After:
    """A write the poll must see the effect of: Bedrock's reads can lag its writes.

    Right after `update_agent` or `prepare_agent`, `get_agent` may still return the agent as it was
    (PREPARED from the previous deploy), and taking that for the result would publish an alias of
    the old DRAFT. A status in `checked` is believed only once the poll has seen `transitional`
    (UPDATING, PREPARING), or once the agent's `stamp` field is at or after `since`, the time the
    write returned; until then the poll reads it as `stale <status>` and keeps waiting.
    """

    stamp: str
    since: datetime | None
    transitional: str
    checked: frozenset[str]


def _at_or_after(stamp: Any, since: datetime | None) -> bool:
    if since is None:
        return True  # the write returned no time: nothing to compare, trust the status
    if stamp is None:
        return False
    try:
        return bool(stamp >= since)
    except TypeError:  # a naive and an aware datetime: cannot tell, so not proven fresh
        return False


def _status_reader(read: Callable[[], dict[str, Any]], after: After | None) -> Callable[[], str]:
    seen_transition: list[bool] = []

    def status() -> str:
        agent = read()
        current = str(agent["agentStatus"])
        if after is None:
            return current
        if current == after.transitional:
            seen_transition.append(True)
        elif current in after.checked and not seen_transition and not _at_or_after(agent.get(after.stamp), after.since):
            return f"stale {current}"
        return current

    return status


def wait_for_agent(
    client: Any, agent_id: str, reporter: Reporter, targets: set[str], what: str, after: After | None = None
) -> str:
    def read() -> dict[str, Any]:
        return dict(client.get_agent(agentId=agent_id)["agent"])

    return reporter.poll(what, _status_reader(read, after), targets, failed=_fail_on("The agent", read))


def ensure_agent(client: Any, plan: DeployPlan, reporter: Reporter) -> tuple[AgentState, Change]:
    assert plan.agent is not None and plan.agent_role is not None
    spec, role_arn = plan.agent, plan.agent_role.arn
    model, region = spec.foundation_model, plan.settings.region
    wanted = {
        "agentName": spec.name,
        "foundationModel": spec.foundation_model,
        "agentResourceRoleArn": role_arn,
        "instruction": spec.instruction,
        "idleSessionTTLInSeconds": spec.idle_session_ttl_s,
        "description": spec.description,
    }
    with translated("bedrock-agent", model=model, region=region):
        summary = find_agent(client, spec.name)
        if summary is None:
            created = reporter.retry_while(
                f"create agent {spec.name}",
                lambda: client.create_agent(**wanted, tags=plan.tags),
                _propagating,
            )["agent"]
            agent_id = str(created["agentId"])
            status = wait_for_agent(client, agent_id, reporter, SETTLED_AGENT, f"agent {spec.name} to be created")
            reporter.record("bedrock-agent", spec.name, Change.CREATED, agent_id)
            return AgentState(agent_id, str(created["agentArn"]), status), Change.CREATED

        agent_id = str(summary["agentId"])
        current = dict(client.get_agent(agentId=agent_id)["agent"])
        arn = str(current["agentArn"])
        tags = dict(client.list_tags_for_resource(resourceArn=arn).get("tags") or {})
        if tags.get(STACK_TAG) != plan.tags[STACK_TAG]:
            raise NotOurs("Bedrock agent", spec.name, f"{STACK_TAG}={plan.tags[STACK_TAG]}")
        differences = [key for key, value in wanted.items() if current.get(key) != value]
        status = str(current["agentStatus"])
        if differences:
            updated = reporter.retry_while(
                f"update agent {spec.name}",
                lambda: client.update_agent(agentId=agent_id, **wanted),
                _propagating,
            )["agent"]
            after = After("updatedAt", updated.get("updatedAt"), "UPDATING", frozenset(SETTLED_AGENT))
            status = wait_for_agent(
                client, agent_id, reporter, SETTLED_AGENT, f"agent {spec.name} to be updated", after
            )
        elif status not in SETTLED_AGENT:
            status = wait_for_agent(client, agent_id, reporter, SETTLED_AGENT, f"agent {spec.name} to settle")
        if missing := {k: v for k, v in plan.tags.items() if tags.get(k) != v}:
            client.tag_resource(resourceArn=arn, tags=missing)
            differences.append("tags")
    change = Change.UPDATED if differences else Change.UNCHANGED
    reporter.record("bedrock-agent", spec.name, change, ", ".join(differences) or agent_id)
    return AgentState(agent_id, arn, status), change


def _same_schema(current: dict[str, Any], wanted_payload: str) -> bool:
    payload = (current.get("apiSchema") or {}).get("payload")
    if not isinstance(payload, str):
        return False
    try:
        return canonical_json(json.loads(payload)) == canonical_json(json.loads(wanted_payload))
    except json.JSONDecodeError:
        return False


def ensure_action_group(client: Any, plan: DeployPlan, agent_id: str, reporter: Reporter) -> Change:
    assert plan.action_group is not None
    spec = plan.action_group
    payload = spec.payload()
    fields = {
        "actionGroupName": spec.name,
        "description": spec.description,
        "actionGroupExecutor": {"lambda": spec.function_arn},
        "apiSchema": {"payload": payload},
        "actionGroupState": "ENABLED",
    }
    with translated("bedrock-agent", region=plan.settings.region):
        existing = None
        for page in client.get_paginator("list_agent_action_groups").paginate(agentId=agent_id, agentVersion=DRAFT):
            for summary in page.get("actionGroupSummaries", []):
                if summary.get("actionGroupName") == spec.name:
                    existing = summary
        if existing is None:
            client.create_agent_action_group(agentId=agent_id, agentVersion=DRAFT, **fields)
            reporter.record("bedrock-action-group", spec.name, Change.CREATED, f"{len(spec.operations)} operations")
            return Change.CREATED
        group_id = str(existing["actionGroupId"])
        current = dict(
            client.get_agent_action_group(agentId=agent_id, agentVersion=DRAFT, actionGroupId=group_id)[
                "agentActionGroup"
            ]
        )
        differences = [
            key for key in ("description", "actionGroupExecutor", "actionGroupState") if current.get(key) != fields[key]
        ]
        if not _same_schema(current, payload):
            differences.append("apiSchema")
        if differences:
            client.update_agent_action_group(agentId=agent_id, agentVersion=DRAFT, actionGroupId=group_id, **fields)
    change = Change.UPDATED if differences else Change.UNCHANGED
    reporter.record("bedrock-action-group", spec.name, change, ", ".join(differences))
    return change


def prepare(client: Any, plan: DeployPlan, agent_id: str, reporter: Reporter) -> None:
    """`prepare_agent`, then poll until PREPARED by this preparation.

    A PREPARED read counts only after PREPARING was seen or when the agent's `preparedAt` is at or
    after the `preparedAt` that `prepare_agent` returned (`After`): an eventually consistent read
    can still show the previous preparation, and the alias would then snapshot the old DRAFT.
    NOT_PREPARED right after the call is read as "not started yet" for `NOT_PREPARED_GRACE_S`
    (the status is eventually consistent); if it stays, preparation was refused and the agent's
    `failureReasons` say why.
    """
    assert plan.agent is not None
    first_seen: list[float] = []

    def read() -> dict[str, Any]:
        return dict(client.get_agent(agentId=agent_id)["agent"])

    def check(status: str) -> None:
        _fail_on("The agent", read)(status)
        if status == "NOT_PREPARED":
            if not first_seen:
                first_seen.append(reporter.clock())
            elif reporter.clock() - first_seen[0] >= NOT_PREPARED_GRACE_S:
                agent = read()
                raise PrepareFailed(
                    "The agent",
                    list(agent.get("failureReasons") or ["it went back to NOT_PREPARED"]),
                    list(agent.get("recommendedActions") or []),
                )

    with translated("bedrock-agent", model=plan.agent.foundation_model, region=plan.settings.region):
        started = client.prepare_agent(agentId=agent_id)
        after = After("preparedAt", started.get("preparedAt"), "PREPARING", frozenset({"PREPARED"}))
        reporter.poll("agent to be PREPARED", _status_reader(read, after), {"PREPARED"}, failed=check)
    reporter.record("bedrock-agent-prepare", plan.agent.name, Change.UPDATED, "PREPARED")


def alias_description(plan: DeployPlan) -> str:
    assert plan.alias is not None
    return f"{plan.alias.description_prefix}; settings {plan.fingerprint()}"


def wait_for_alias(client: Any, agent_id: str, alias_id: str, reporter: Reporter) -> str:
    def read() -> dict[str, Any]:
        return dict(client.get_agent_alias(agentId=agent_id, agentAliasId=alias_id)["agentAlias"])

    return reporter.poll(
        "alias to be PREPARED",
        lambda: str(read()["agentAliasStatus"]),
        {"PREPARED"},
        failed=_fail_on("The alias", read),
    )


def find_alias(client: Any, agent_id: str, name: str) -> dict[str, Any] | None:
    for page in client.get_paginator("list_agent_aliases").paginate(agentId=agent_id):
        for summary in page.get("agentAliasSummaries", []):
            if summary.get("agentAliasName") == name:
                return dict(summary)
    return None


def alias_is_current(client: Any, plan: DeployPlan, agent_id: str) -> tuple[str | None, bool]:
    """(alias id or None, whether it serves a version made from exactly these settings)."""
    assert plan.alias is not None
    summary = find_alias(client, agent_id, plan.alias.name)
    if summary is None:
        return None, False
    alias_id = str(summary["agentAliasId"])
    current = dict(client.get_agent_alias(agentId=agent_id, agentAliasId=alias_id)["agentAlias"])
    return alias_id, (
        current.get("description") == alias_description(plan) and current.get("agentAliasStatus") == "PREPARED"
    )


def ensure_alias(client: Any, plan: DeployPlan, agent_id: str, alias_id: str | None, reporter: Reporter) -> str:
    """Point the alias at a new version made from the prepared DRAFT (Bedrock creates the version)."""
    assert plan.alias is not None
    description = alias_description(plan)
    with translated("bedrock-agent", region=plan.settings.region):
        if alias_id is None:
            created = client.create_agent_alias(
                agentId=agent_id, agentAliasName=plan.alias.name, description=description, tags=plan.tags
            )["agentAlias"]
            alias_id = str(created["agentAliasId"])
            change = Change.CREATED
        else:
            client.update_agent_alias(
                agentId=agent_id,
                agentAliasId=alias_id,
                agentAliasName=plan.alias.name,
                description=description,
            )
            change = Change.UPDATED
        wait_for_alias(client, agent_id, alias_id, reporter)
        alias = dict(client.get_agent_alias(agentId=agent_id, agentAliasId=alias_id)["agentAlias"])
    versions = [r.get("agentVersion") for r in alias.get("routingConfiguration") or []]
    version = ", ".join(str(v) for v in versions if v) or "new version"
    reporter.record("bedrock-agent-alias", f"{plan.alias.name} ({alias_id})", change, f"version {version}")
    return alias_id


def deploy_agent(client: Any, plan: DeployPlan, reporter: Reporter, add_permission: Any) -> tuple[str, str, str]:
    """All agent steps in order; `add_permission(agent_arn)` runs between action group and prepare.

    Returns (agent id, agent ARN, alias id).
    """
    state, agent_change = ensure_agent(client, plan, reporter)
    group_change = ensure_action_group(client, plan, state.agent_id, reporter)
    add_permission(state.agent_arn)
    with translated("bedrock-agent", region=plan.settings.region):
        alias_id, current = alias_is_current(client, plan, state.agent_id)
    draft_changed = agent_change is not Change.UNCHANGED or group_change is not Change.UNCHANGED
    if not draft_changed and current and state.status == "PREPARED" and alias_id is not None:
        assert plan.alias is not None
        reporter.record("bedrock-agent-alias", f"{plan.alias.name} ({alias_id})", Change.UNCHANGED)
        return state.agent_id, state.agent_arn, alias_id
    prepare(client, plan, state.agent_id, reporter)
    alias_id = ensure_alias(client, plan, state.agent_id, alias_id, reporter)
    return state.agent_id, state.agent_arn, alias_id


def delete_agent(client: Any, plan: DeployPlan, reporter: Reporter) -> None:
    assert plan.agent is not None
    name, stack = plan.agent.name, plan.tags[STACK_TAG]
    with translated("bedrock-agent", region=plan.settings.region):
        summary = find_agent(client, name)
        if summary is None:
            reporter.record("bedrock-agent", name, Change.ABSENT)
            return
        agent_id = str(summary["agentId"])
        arn = str(client.get_agent(agentId=agent_id)["agent"]["agentArn"])
        tags = dict(client.list_tags_for_resource(resourceArn=arn).get("tags") or {})
        if tags.get(STACK_TAG) != stack:
            reporter.record("bedrock-agent", name, Change.SKIPPED, f"not tagged {STACK_TAG}={stack}")
            return
        # Aliases first: an agent with aliases cannot be deleted without skipping the in-use check.
        for page in client.get_paginator("list_agent_aliases").paginate(agentId=agent_id):
            for alias in page.get("agentAliasSummaries", []):
                if alias.get("agentAliasId") == "TSTALIASID":
                    continue
                client.delete_agent_alias(agentId=agent_id, agentAliasId=alias["agentAliasId"])
                reporter.record("bedrock-agent-alias", str(alias.get("agentAliasName")), Change.DELETED)
        client.delete_agent(agentId=agent_id, skipResourceInUseCheck=True)
    reporter.record("bedrock-agent", name, Change.DELETED, agent_id)
