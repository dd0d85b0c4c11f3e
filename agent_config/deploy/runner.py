"""The deploy and destroy sequences: the plan's resources in dependency order, waiting where AWS needs it.

    package -> Lambda role -> table -> log group -> secrets -> parameters -> function, then
      --target agent:              agent role -> agent -> action group -> permission -> prepare -> alias
      --target agentcore-gateway:  gateway role -> gateway -> Lambda target
    and last the /<agent-name>/deployment parameter (the ids, for --validate and for people).

Destroy runs the same list backwards and deletes only resources that carry our stack tag. It looks
for both targets; the service of the one the deployment parameter does not name may be unusable in
the Region or to the caller, which is a warning, not a stop. The table is awaited until it is gone,
so a deploy can follow at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError, UnknownEndpointError, UnknownServiceError
from botocore.exceptions import ConnectionError as BotoConnectionError

from agent_config.deploy import bedrock_agent, function, gateway, resources
from agent_config.deploy.errors import MissingPermission, WrongRegion, error_code, error_message, translated
from agent_config.deploy.packaging import BuiltPackage, build_package
from agent_config.deploy.plan import STACK_TAG, DeployPlan, PackageSpec, ParameterSpec, Target, canonical_json
from agent_config.deploy.progress import Change, Outcome, Reporter

PackageBuilder = Callable[[PackageSpec], BuiltPackage]


@dataclass
class DeployResult:
    function_arn: str
    package: BuiltPackage
    agent_id: str | None = None
    agent_arn: str | None = None
    alias_id: str | None = None
    gateway_id: str | None = None
    gateway_url: str | None = None
    target_id: str | None = None
    secrets_without_value: list[str] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)

    def outputs(self, plan: DeployPlan) -> dict[str, str]:
        values = {
            "region": plan.settings.region,
            "target": plan.settings.target.value,
            "function_arn": self.function_arn,
            "agent_id": self.agent_id,
            "agent_arn": self.agent_arn,
            "alias_id": self.alias_id,
            "gateway_id": self.gateway_id,
            "gateway_url": self.gateway_url,
            "gateway_target_id": self.target_id,
        }
        return {k: v for k, v in values.items() if v}


def outputs_parameter(plan: DeployPlan, outputs: dict[str, str]) -> ParameterSpec:
    name = plan.outputs_parameter
    return ParameterSpec(
        name=name,
        arn=f"arn:{plan.settings.partition}:ssm:{plan.settings.region}:{plan.settings.account_id}:parameter{name}",
        description=f"{plan.settings.agent_name}: ids of the deployed agent/gateway (read by --validate)",
        value=canonical_json(outputs),
    )


def _gateway_role_not_ready(exc: ClientError) -> bool:
    message = error_message(exc).lower()
    return error_code(exc) in ("ValidationException", "AccessDeniedException") and "role" in message


def run_deploy(
    plan: DeployPlan, clients: Any, reporter: Reporter, build: PackageBuilder = build_package
) -> DeployResult:
    s = plan.settings
    reporter.line(
        f"Deploying {s.agent_name} to {s.region} (account {s.account_id}, {s.environment.value}, "
        f"target {s.target.value})"
    )
    reporter.line(f"Building the Lambda package for {plan.package.platform}, Python {plan.package.python_version} ...")
    package = build(plan.package)
    reporter.line(
        f"  package {package.size / 1_000_000:.1f} MB, {package.files} files, sha256 {package.sha256_hex} "
        f"({'dependencies from cache' if package.dependencies_cached else 'dependencies built'}, "
        f"{package.build_seconds:.1f} s)"
    )
    iam = clients.client("iam")
    lambda_client = clients.client("lambda")
    resources.ensure_role(iam, plan.lambda_role, plan.tags, reporter)
    resources.ensure_table(clients.client("dynamodb"), plan, reporter)
    resources.ensure_log_group(clients.client("logs"), plan, reporter)
    empty_secrets = resources.ensure_secrets(clients.client("secretsmanager"), plan, reporter)
    ssm = clients.client("ssm")
    for parameter in plan.parameters:
        resources.ensure_parameter(ssm, parameter, plan.tags, reporter)
    function.ensure_function(lambda_client, plan, package, reporter)
    result = DeployResult(function_arn=plan.function.arn, package=package, secrets_without_value=empty_secrets)

    if plan.agent is not None and plan.agent_role is not None and plan.permission is not None:
        resources.ensure_role(iam, plan.agent_role, plan.tags, reporter)
        permission = plan.permission

        def add_permission(agent_arn: str) -> None:
            function.ensure_permission(lambda_client, permission, agent_arn, reporter)

        agent_id, agent_arn, alias_id = bedrock_agent.deploy_agent(
            clients.client("bedrock-agent"), plan, reporter, add_permission
        )
        result.agent_id, result.agent_arn, result.alias_id = agent_id, agent_arn, alias_id
    elif plan.gateway is not None and plan.gateway_role is not None:
        resources.ensure_role(iam, plan.gateway_role, plan.tags, reporter)
        control = clients.client("bedrock-agentcore-control")
        gateway_id, url, target_id = reporter.retry_while(
            "create gateway",
            lambda: gateway.ensure_gateway(control, plan, reporter),
            _gateway_role_not_ready,
        )
        result.gateway_id, result.gateway_url, result.target_id = gateway_id, url, target_id

    resources.ensure_parameter(ssm, outputs_parameter(plan, result.outputs(plan)), plan.tags, reporter)
    result.outcomes = list(reporter.outcomes)
    return result


def summary_lines(plan: DeployPlan, result: DeployResult, reporter: Reporter) -> list[str]:
    changed = reporter.changed()
    lines = [
        "",
        f"{len(changed)} change(s)" if changed else "Everything was already up to date: unchanged.",
        f"Lambda function: {result.function_arn}",
    ]
    if result.agent_id:
        lines += [f"Agent id: {result.agent_id}", f"Alias id: {result.alias_id}"]
        lines.append(
            "Validate: python deploy_enhanced_security_agent.py --validate "
            f"--region {plan.settings.region} --environment {plan.settings.environment.value} "
            f"--agent-name {plan.settings.agent_name} "
            f"--agent-id {result.agent_id} --alias-id {result.alias_id}"
        )
    if result.gateway_id:
        lines += [f"Gateway id: {result.gateway_id}", f"Gateway URL (MCP, SigV4): {result.gateway_url}"]
    lines.append(f"Stored in SSM: {plan.outputs_parameter}")
    for name in result.secrets_without_value:
        lines.append(
            f"Secret {name} has no value yet: aws secretsmanager put-secret-value --secret-id {name} "
            "--secret-string file://token.json   (the file holds the token; it is never printed)"
        )
    return lines


def read_outputs(ssm: Any, plan: DeployPlan) -> dict[str, str]:
    """The ids a previous deploy stored (empty if there was none)."""
    with translated("ssm"):
        try:
            value = ssm.get_parameter(Name=plan.outputs_parameter)["Parameter"]["Value"]
        except ClientError as exc:
            if resources.is_not_found(exc):
                return {}
            raise
    loaded = json.loads(value)
    return {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}


def _our_secret_names(secrets: Any, plan: DeployPlan) -> list[str]:
    """Every secret under `<agent-name>/mcp/` that carries our stack tag, whatever the current flags."""
    prefix = f"{plan.settings.agent_name}/mcp/"
    names = {s.name for s in plan.secrets}
    with translated("secretsmanager"):
        for page in secrets.get_paginator("list_secrets").paginate(Filters=[{"Key": "name", "Values": [prefix]}]):
            for entry in page.get("SecretList", []):
                if str(entry.get("Name", "")).startswith(prefix):
                    names.add(str(entry["Name"]))
    return sorted(names)


def _our_parameter_names(ssm: Any, plan: DeployPlan) -> list[str]:
    names = {p.name for p in plan.parameters} | {plan.outputs_parameter}
    with translated("ssm"):
        for page in ssm.get_paginator("get_parameters_by_path").paginate(
            Path=f"/{plan.settings.agent_name}", Recursive=True
        ):
            names.update(str(p["Name"]) for p in page.get("Parameters", []))
    return sorted(names)


_UNREACHABLE = (
    MissingPermission,
    WrongRegion,
    BotoConnectionError,
    UnknownEndpointError,
    UnknownServiceError,
)
"""What "this service is not usable here" looks like: AccessDenied (no permission for a service
one never used), a Region without the service (UnknownEndpoint, or no endpoint to connect to), or a
botocore without the service. Anything else (throttling, a bug) still stops the destroy."""


def delete_target(
    target: Target,
    deployed: str | None,
    service: str,
    kind: str,
    name: str,
    delete: Callable[[], None],
    reporter: Reporter,
) -> None:
    """Delete one target's resources; for a target that was not deployed, an unusable service is a warning.

    Destroy looks for both targets (a stack may have been deployed with either over time), but the
    other target's service may not exist in the Region or may not be granted to the person
    destroying: that must not stop the deletion of the function, table, secrets and roles. For the
    target the deployment record names, every error still stops the destroy (it is really there).
    """
    if deployed == target.value:
        delete()
        return
    try:
        delete()
    except _UNREACHABLE as exc:
        why = (
            f"the deployment record says target {deployed}"
            if deployed
            else "there is no deployment record to say which target was deployed"
        )
        reporter.line(
            f"  Warning: could not look for the {kind} {name}, {service} is not usable here ({exc}); {why}, so "
            f"this is skipped and everything else is deleted. If a {kind} {name} exists, delete it in the console."
        )
        reporter.record(kind, name, Change.SKIPPED, f"{service} not usable here")


def run_destroy(agent_plan: DeployPlan, gateway_plan: DeployPlan, clients: Any, reporter: Reporter) -> None:
    """Delete, in reverse order, every resource of either target that carries our stack tag.

    Which target was deployed is read from the /<agent-name>/deployment parameter before anything
    is deleted (it goes with the other parameters); see `delete_target` for the other one.
    """
    plan = agent_plan
    stack = plan.tags[STACK_TAG]
    reporter.line(
        f"Destroying {plan.settings.agent_name} in {plan.settings.region} (account {plan.settings.account_id})"
    )
    ssm = clients.client("ssm")
    deployed = read_outputs(ssm, plan).get("target")
    assert agent_plan.agent is not None and gateway_plan.gateway is not None
    delete_target(
        Target.AGENT,
        deployed,
        "bedrock-agent",
        "bedrock-agent",
        agent_plan.agent.name,
        lambda: bedrock_agent.delete_agent(clients.client("bedrock-agent"), agent_plan, reporter),
        reporter,
    )
    delete_target(
        Target.AGENTCORE_GATEWAY,
        deployed,
        "bedrock-agentcore-control",
        "agentcore-gateway",
        gateway_plan.gateway.name,
        lambda: gateway.delete_gateway(clients.client("bedrock-agentcore-control"), gateway_plan, reporter),
        reporter,
    )
    function.delete_function(clients.client("lambda"), plan, reporter)
    resources.delete_log_group(clients.client("logs"), plan, reporter)
    resources.delete_parameters(ssm, _our_parameter_names(ssm, plan), stack, reporter)
    secrets = clients.client("secretsmanager")
    resources.delete_secrets(secrets, _our_secret_names(secrets, plan), stack, reporter)
    resources.delete_table(clients.client("dynamodb"), plan, reporter)
    iam = clients.client("iam")
    for role in (agent_plan.lambda_role, agent_plan.agent_role, gateway_plan.gateway_role):
        if role is not None:
            resources.delete_role(iam, role.name, stack, reporter)
