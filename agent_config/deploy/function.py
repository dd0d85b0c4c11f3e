"""The Lambda function: create or update its code and configuration, wait until Lambda is done,
and give Bedrock (and only this account's agent) permission to invoke it.

Lambda applies a change asynchronously: a second update while `LastUpdateStatus` is InProgress
fails with ResourceConflictException, and a new function is `Pending` until its role and code are
ready. So every write is followed by a poll. A role created seconds ago is often not yet assumable
("The role defined for the function cannot be assumed by Lambda"): that is retried with backoff.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from agent_config.deploy.errors import DeployError, NotOurs, error_code, error_message, translated
from agent_config.deploy.packaging import MAX_DIRECT_UPLOAD_BYTES, BuiltPackage
from agent_config.deploy.plan import STACK_TAG, DeployPlan, FunctionSpec, PermissionSpec
from agent_config.deploy.progress import Change, Reporter
from agent_config.deploy.resources import is_not_found, missing_tags


def role_not_ready(exc: ClientError) -> bool:
    """Lambda's way of saying IAM has not propagated the new role yet."""
    message = error_message(exc).lower()
    return error_code(exc) == "InvalidParameterValueException" and (
        "cannot be assumed" in message or ("role" in message and "not authorized" in message)
    )


def wanted_configuration(spec: FunctionSpec, role_arn: str) -> dict[str, Any]:
    return {
        "FunctionName": spec.name,
        "Runtime": spec.runtime,
        "Role": role_arn,
        "Handler": spec.handler,
        "Description": spec.description,
        "Timeout": spec.timeout_s,
        "MemorySize": spec.memory_mb,
        "Environment": {"Variables": dict(spec.environment)},
    }


def configuration_differences(current: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    differences = []
    for key, value in wanted.items():
        if key == "FunctionName":
            continue
        have = current.get(key)
        if key == "Environment":
            have = {"Variables": dict((current.get("Environment") or {}).get("Variables") or {})}
        if have != value:
            differences.append(key)
    return differences


def _wait_until_settled(lambda_client: Any, name: str, reporter: Reporter) -> None:
    def status() -> str:
        config = lambda_client.get_function_configuration(FunctionName=name)
        state, update = config.get("State", "Active"), config.get("LastUpdateStatus", "Successful")
        if state == "Failed" or update == "Failed":
            reason = config.get("StateReason") or config.get("LastUpdateStatusReason") or "no reason given"
            raise DeployError(f"Lambda could not apply the change to {name}: {reason}.", "Fix it and deploy again.")
        return f"{state}/{update}"

    reporter.poll(f"function {name} to be ready", status, {"Active/Successful"}, interval_s=2.0)


def ensure_function(lambda_client: Any, plan: DeployPlan, package: BuiltPackage, reporter: Reporter) -> Change:
    spec, tags = plan.function, plan.tags
    if package.size > MAX_DIRECT_UPLOAD_BYTES:
        raise DeployError(
            f"The Lambda package is {package.size / 1e6:.1f} MB, over Lambda's 50 MB direct-upload limit.",
            "Trim requirements.txt (boto3 is in the runtime) or upload through S3.",
        )
    wanted = wanted_configuration(spec, plan.lambda_role.arn)
    with translated("lambda"):
        try:
            current = lambda_client.get_function(FunctionName=spec.name)
        except ClientError as exc:
            if not is_not_found(exc):
                raise
            current = None
        if current is None:
            reporter.retry_while(
                f"create function {spec.name}",
                lambda: lambda_client.create_function(
                    **wanted,
                    Code={"ZipFile": package.read()},
                    Architectures=[spec.architecture.value],
                    PackageType="Zip",
                    Publish=False,
                    Tags=tags,
                ),
                role_not_ready,
            )
            _wait_until_settled(lambda_client, spec.name, reporter)
            reporter.record("lambda-function", spec.name, Change.CREATED, f"code {package.sha256_hex[:12]}")
            return Change.CREATED

        configuration = current["Configuration"]
        current_tags = dict(current.get("Tags") or {})
        if current_tags.get(STACK_TAG) != tags[STACK_TAG]:
            raise NotOurs("Lambda function", spec.name, f"{STACK_TAG}={tags[STACK_TAG]}")
        changes: list[str] = []
        architectures = configuration.get("Architectures") or ["x86_64"]
        if configuration.get("CodeSha256") != package.sha256_b64 or architectures != [spec.architecture.value]:
            lambda_client.update_function_code(
                FunctionName=spec.name, ZipFile=package.read(), Architectures=[spec.architecture.value]
            )
            _wait_until_settled(lambda_client, spec.name, reporter)
            changes.append(f"code {package.sha256_hex[:12]}")
        differences = configuration_differences(configuration, wanted)
        if differences:
            reporter.retry_while(
                f"update function {spec.name}",
                lambda: lambda_client.update_function_configuration(**wanted),
                role_not_ready,
            )
            _wait_until_settled(lambda_client, spec.name, reporter)
            changes.append(", ".join(differences))
        if missing := missing_tags(current_tags, tags):
            lambda_client.tag_resource(Resource=configuration["FunctionArn"], Tags=missing)
            changes.append("tags")
    change = Change.UPDATED if changes else Change.UNCHANGED
    reporter.record("lambda-function", spec.name, change, "; ".join(changes))
    return change


def policy_statements(lambda_client: Any, function_name: str) -> list[dict[str, Any]]:
    try:
        policy = lambda_client.get_policy(FunctionName=function_name)["Policy"]
    except ClientError as exc:
        if is_not_found(exc):
            return []
        raise
    document = json.loads(policy) if isinstance(policy, str) else policy
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def statement_matches(statement: dict[str, Any], spec: PermissionSpec, source_arn: str) -> bool:
    """Does the function's resource policy statement allow exactly this agent of this account?"""
    principal = statement.get("Principal", {})
    service = principal.get("Service") if isinstance(principal, dict) else principal
    condition = statement.get("Condition", {})
    arn_like = condition.get("ArnLike", {}).get("AWS:SourceArn") or condition.get("ArnEquals", {}).get("AWS:SourceArn")
    account = condition.get("StringEquals", {}).get("AWS:SourceAccount")
    return (
        statement.get("Effect") == "Allow"
        and service == spec.principal
        and statement.get("Action") == spec.action
        and arn_like == source_arn
        and account == spec.source_account
    )


def ensure_permission(lambda_client: Any, spec: PermissionSpec, source_arn: str, reporter: Reporter) -> Change:
    """Bedrock may invoke the function for this agent only (`SourceArn`) and this account only."""
    with translated("lambda"):
        statements = policy_statements(lambda_client, spec.function_name)
        ours = [s for s in statements if s.get("Sid") == spec.statement_id]
        if ours and statement_matches(ours[0], spec, source_arn):
            reporter.record("lambda-permission", spec.statement_id, Change.UNCHANGED)
            return Change.UNCHANGED
        if ours:
            lambda_client.remove_permission(FunctionName=spec.function_name, StatementId=spec.statement_id)
        lambda_client.add_permission(
            FunctionName=spec.function_name,
            StatementId=spec.statement_id,
            Action=spec.action,
            Principal=spec.principal,
            SourceArn=source_arn,
            SourceAccount=spec.source_account,
        )
    change = Change.UPDATED if ours else Change.CREATED
    reporter.record("lambda-permission", spec.statement_id, change, f"for {source_arn}")
    return change


def delete_function(lambda_client: Any, plan: DeployPlan, reporter: Reporter) -> None:
    name, stack = plan.function.name, plan.tags[STACK_TAG]
    with translated("lambda"):
        try:
            current = lambda_client.get_function(FunctionName=name)
        except ClientError as exc:
            if not is_not_found(exc):
                raise
            reporter.record("lambda-function", name, Change.ABSENT)
            return
        if dict(current.get("Tags") or {}).get(STACK_TAG) != stack:
            reporter.record("lambda-function", name, Change.SKIPPED, f"not tagged {STACK_TAG}={stack}")
            return
        lambda_client.delete_function(FunctionName=name)
    reporter.record("lambda-function", name, Change.DELETED)
