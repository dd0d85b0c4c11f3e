"""`--target agentcore-gateway`: the same Lambda behind an Amazon Bedrock AgentCore Gateway.

For accounts that cannot create Agents Classic agents. The gateway speaks MCP to any agent (an
AgentCore Runtime agent, Strands, Claude, ...) and calls our function as a Lambda target whose
tools are the operations of our OpenAPI schema (`agent_config.agentcore_gateway.tool_definitions`). Inbound
authorization is AWS_IAM (SigV4, no identity provider to set up); outbound, the gateway assumes its
own role, which may invoke this one function only.

States (botocore 1.44): gateway CREATING/UPDATING -> READY (FAILED, UPDATE_UNSUCCESSFUL carry
`statusReasons`); target the same plus SYNCHRONIZING. There are no waiters, so we poll.

Idempotency: the gateway's and the target's descriptions end with `; settings <hash>`, a hash of
everything we send (as the agent alias carries the agent's fingerprint), and a re-run compares that
hash, not the documents `get_gateway`/`get_gateway_target` return. Those documents are AWS's
rendering of ours: any field the service fills in by default (a tool schema's normalised form, a
credential provider's defaults, a new optional member in a later API version) would otherwise make
every run "updated". The role and the authorizer are plain strings AWS stores as given, so they
are compared directly too (a role swapped in the console is repaired). A change made to the
documents in the console is not seen: run with changed settings, or delete the resource, to
rewrite it. A stack deployed before the hash existed is updated once, to record it.
"""

from __future__ import annotations

import hashlib
from typing import Any, Final

from agent_config.deploy.errors import NotOurs, PrepareFailed, translated
from agent_config.deploy.plan import STACK_TAG, DeployPlan, canonical_json
from agent_config.deploy.progress import Change, Reporter

GATEWAY_FAILED = {"FAILED", "UPDATE_UNSUCCESSFUL"}
TARGET_FAILED = {"FAILED", "UPDATE_UNSUCCESSFUL", "SYNCHRONIZE_UNSUCCESSFUL"}
CREDENTIALS = [{"credentialProviderType": "GATEWAY_IAM_ROLE"}]
SETTINGS_MARK: Final = "; settings "
MAX_DESCRIPTION_CHARS: Final = 200
"""botocore 1.44: a gateway's and a target's `description` are 1-200 characters."""


def find_gateway(client: Any, name: str) -> dict[str, Any] | None:
    token: str | None = None
    while True:
        page = client.list_gateways(**({"nextToken": token} if token else {}))
        for item in page.get("items", []):
            if item.get("name") == name:
                return dict(item)
        token = page.get("nextToken")
        if not token:
            return None


def find_target(client: Any, gateway_id: str, name: str) -> dict[str, Any] | None:
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"gatewayIdentifier": gateway_id}
        if token:
            kwargs["nextToken"] = token
        page = client.list_gateway_targets(**kwargs)
        for item in page.get("items", []):
            if item.get("name") == name:
                return dict(item)
        token = page.get("nextToken")
        if not token:
            return None


def target_configuration(plan: DeployPlan) -> dict[str, Any]:
    assert plan.gateway_target is not None
    return {
        "mcp": {
            "lambda": {
                "lambdaArn": plan.gateway_target.function_arn,
                "toolSchema": {"inlinePayload": [dict(t) for t in plan.gateway_target.tools]},
            }
        }
    }


def settings_hash(settings: dict[str, Any]) -> str:
    """A short hash of the settings we send for one resource (canonical JSON, so key order is moot)."""
    return hashlib.sha256(canonical_json(settings).encode()).hexdigest()[:16]


def with_settings_hash(description: str, settings: dict[str, Any]) -> str:
    """`description` with the hash of `settings` (which include it) appended, within the 200-character limit."""
    text = f"{description}{SETTINGS_MARK}{settings_hash({**settings, 'description': description})}"
    if len(text) > MAX_DESCRIPTION_CHARS:
        raise ValueError(f"description too long with its settings hash ({len(text)} > {MAX_DESCRIPTION_CHARS}): {text}")
    return text


def recorded_hash(description: Any) -> str | None:
    """The settings hash a previous deploy left in a description, if any."""
    if not isinstance(description, str) or SETTINGS_MARK not in description:
        return None
    return description.rsplit(SETTINGS_MARK, 1)[1]


def wanted_gateway(plan: DeployPlan) -> dict[str, Any]:
    """The `create_gateway`/`update_gateway` arguments, the description carrying their hash."""
    assert plan.gateway is not None and plan.gateway_role is not None
    spec = plan.gateway
    settings = {
        "name": spec.name,
        "roleArn": plan.gateway_role.arn,
        "protocolType": "MCP",
        "protocolConfiguration": {"mcp": {"instructions": spec.instructions}},
        "authorizerType": spec.authorizer_type,
    }
    return {**settings, "description": with_settings_hash(spec.description, settings)}


def target_description(plan: DeployPlan) -> str:
    """The Lambda target's description, carrying the hash of its configuration and credentials."""
    assert plan.gateway_target is not None
    settings = {
        "name": plan.gateway_target.name,
        "targetConfiguration": target_configuration(plan),
        "credentialProviderConfigurations": CREDENTIALS,
    }
    return with_settings_hash(plan.gateway_target.description, settings)


def _hash_difference(current: Any, wanted: str) -> list[str]:
    """[] when the recorded hash is ours; else one word for the report line."""
    if current == wanted:
        return []
    before = recorded_hash(current)
    return [f"settings {before} -> {recorded_hash(wanted)}" if before else "settings (no hash recorded yet)"]


def _wait(reporter: Reporter, what: str, read: Any, failed_states: set[str]) -> None:
    def check(status: str) -> None:
        if status in failed_states:
            raise PrepareFailed(what, list(read().get("statusReasons") or []))

    reporter.poll(f"{what} to be READY", lambda: str(read()["status"]), {"READY"}, failed=check)


def ensure_gateway(client: Any, plan: DeployPlan, reporter: Reporter) -> tuple[str, str, str]:
    """The gateway and its Lambda target; returns (gateway id, gateway URL, target id)."""
    assert plan.gateway is not None and plan.gateway_role is not None and plan.gateway_target is not None
    spec, target = plan.gateway, plan.gateway_target
    wanted = wanted_gateway(plan)
    with translated("bedrock-agentcore-control", region=plan.settings.region):
        found = find_gateway(client, spec.name)
        if found is None:
            created = client.create_gateway(**wanted, tags=plan.tags)
            gateway_id = str(created["gatewayId"])
            change = Change.CREATED
            differences: list[str] = []
        else:
            gateway_id = str(found["gatewayId"])
            current = dict(client.get_gateway(gatewayIdentifier=gateway_id))
            tags = dict(client.list_tags_for_resource(resourceArn=current["gatewayArn"]).get("tags") or {})
            if tags.get(STACK_TAG) != plan.tags[STACK_TAG]:
                raise NotOurs("AgentCore gateway", spec.name, f"{STACK_TAG}={plan.tags[STACK_TAG]}")
            differences = _hash_difference(current.get("description"), wanted["description"]) + [
                key for key in ("roleArn", "authorizerType") if current.get(key) != wanted[key]
            ]
            if differences:
                client.update_gateway(gatewayIdentifier=gateway_id, **wanted)
            change = Change.UPDATED if differences else Change.UNCHANGED

        def read_gateway() -> dict[str, Any]:
            return dict(client.get_gateway(gatewayIdentifier=gateway_id))

        _wait(reporter, f"gateway {spec.name}", read_gateway, GATEWAY_FAILED)
        gateway = read_gateway()
        reporter.record("agentcore-gateway", spec.name, change, ", ".join(differences) or gateway_id)

        configuration = target_configuration(plan)
        description = target_description(plan)
        found_target = find_target(client, gateway_id, target.name)
        if found_target is None:
            created_target = client.create_gateway_target(
                gatewayIdentifier=gateway_id,
                name=target.name,
                description=description,
                targetConfiguration=configuration,
                credentialProviderConfigurations=CREDENTIALS,
            )
            target_id = str(created_target["targetId"])
            target_change, target_differences = Change.CREATED, []
        else:
            target_id = str(found_target["targetId"])
            current_target = dict(client.get_gateway_target(gatewayIdentifier=gateway_id, targetId=target_id))
            target_differences = _hash_difference(current_target.get("description"), description)
            if target_differences:
                client.update_gateway_target(
                    gatewayIdentifier=gateway_id,
                    targetId=target_id,
                    name=target.name,
                    description=description,
                    targetConfiguration=configuration,
                    credentialProviderConfigurations=CREDENTIALS,
                )
            target_change = Change.UPDATED if target_differences else Change.UNCHANGED

        def read_target() -> dict[str, Any]:
            return dict(client.get_gateway_target(gatewayIdentifier=gateway_id, targetId=target_id))

        _wait(reporter, f"gateway target {target.name}", read_target, TARGET_FAILED)
    reporter.record(
        "agentcore-gateway-target",
        target.name,
        target_change,
        ", ".join(target_differences) or f"{len(target.tools)} tools",
    )
    return gateway_id, str(gateway.get("gatewayUrl", "")), target_id


def delete_gateway(client: Any, plan: DeployPlan, reporter: Reporter) -> None:
    assert plan.gateway is not None
    name, stack = plan.gateway.name, plan.tags[STACK_TAG]
    with translated("bedrock-agentcore-control", region=plan.settings.region):
        found = find_gateway(client, name)
        if found is None:
            reporter.record("agentcore-gateway", name, Change.ABSENT)
            return
        gateway_id = str(found["gatewayId"])
        current = dict(client.get_gateway(gatewayIdentifier=gateway_id))
        tags = dict(client.list_tags_for_resource(resourceArn=current["gatewayArn"]).get("tags") or {})
        if tags.get(STACK_TAG) != stack:
            reporter.record("agentcore-gateway", name, Change.SKIPPED, f"not tagged {STACK_TAG}={stack}")
            return
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"gatewayIdentifier": gateway_id}
            if token:
                kwargs["nextToken"] = token
            page = client.list_gateway_targets(**kwargs)
            for item in page.get("items", []):
                client.delete_gateway_target(gatewayIdentifier=gateway_id, targetId=item["targetId"])
                reporter.record("agentcore-gateway-target", str(item.get("name")), Change.DELETED)
            token = page.get("nextToken")
            if not token:
                break
        # A gateway with targets still being deleted refuses deletion: wait for the list to empty.
        reporter.poll(
            f"targets of gateway {name} to be deleted",
            lambda: (
                "EMPTY" if not client.list_gateway_targets(gatewayIdentifier=gateway_id).get("items") else "DELETING"
            ),
            {"EMPTY"},
        )
        client.delete_gateway(gatewayIdentifier=gateway_id)
    reporter.record("agentcore-gateway", name, Change.DELETED, gateway_id)
