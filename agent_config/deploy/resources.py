"""Create-or-update for the supporting resources: IAM roles, the sessions table, the log group,
the MCP token secrets and the SSM parameters.

Each `ensure_*` reads first and writes only what differs, so a second deploy with the same
settings makes no write call at all and reports "unchanged". Each refuses to touch a resource
that has our name but not our stack tag (someone else's), rather than take it over.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError, WaiterError

from agent_config.deploy.errors import DeployError, NotOurs, error_code, translated
from agent_config.deploy.plan import STACK_TAG, DeployPlan, ParameterSpec, RoleSpec, canonical_json, tag_list
from agent_config.deploy.progress import Change, Reporter

NOT_FOUND = frozenset(
    {
        "NoSuchEntity",
        "ResourceNotFoundException",
        "ParameterNotFound",
        "ResourceNotFound",
        "NotFoundException",
    }
)


TABLE_DELETE_POLL_S = 5
TABLE_DELETE_MAX_POLLS = 60
"""DynamoDB deletes a small table in seconds; five minutes means something is stuck."""


def is_not_found(exc: ClientError) -> bool:
    return error_code(exc) in NOT_FOUND


def tags_map(tags: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tags or []}


def missing_tags(current: dict[str, str], wanted: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in wanted.items() if current.get(k) != v}


def require_ours(kind: str, name: str, current_tags: dict[str, str], stack: str) -> None:
    if current_tags.get(STACK_TAG) != stack:
        raise NotOurs(kind, name, f"{STACK_TAG}={stack}")


def same_document(a: Any, b: Any) -> bool:
    return canonical_json(a) == canonical_json(b)


# ---------------------------------------------------------------------------------------------
# IAM roles
# ---------------------------------------------------------------------------------------------


def ensure_role(iam: Any, spec: RoleSpec, tags: dict[str, str], reporter: Reporter) -> Change:
    """The role with exactly the planned trust policy, description, tags and inline policies."""
    stack = tags[STACK_TAG]
    with translated("iam"):
        try:
            role = iam.get_role(RoleName=spec.name)["Role"]
        except ClientError as exc:
            if not is_not_found(exc):
                raise
            iam.create_role(
                RoleName=spec.name,
                AssumeRolePolicyDocument=canonical_json(spec.trust_policy),
                Description=spec.description,
                Tags=tag_list(tags),
            )
            for name, document in spec.inline_policies.items():
                iam.put_role_policy(RoleName=spec.name, PolicyName=name, PolicyDocument=canonical_json(document))
            reporter.record("iam-role", spec.name, Change.CREATED)
            return Change.CREATED

        changes: list[str] = []
        current_tags = tags_map(iam.list_role_tags(RoleName=spec.name).get("Tags"))
        require_ours("IAM role", spec.name, current_tags, stack)
        if not same_document(role.get("AssumeRolePolicyDocument"), spec.trust_policy):
            iam.update_assume_role_policy(RoleName=spec.name, PolicyDocument=canonical_json(spec.trust_policy))
            changes.append("trust policy")
        if role.get("Description", "") != spec.description:
            iam.update_role(RoleName=spec.name, Description=spec.description)
            changes.append("description")
        if missing := missing_tags(current_tags, tags):
            iam.tag_role(RoleName=spec.name, Tags=tag_list(missing))
            changes.append("tags")
        existing = set(iam.list_role_policies(RoleName=spec.name).get("PolicyNames", []))
        for name, document in spec.inline_policies.items():
            current = (
                iam.get_role_policy(RoleName=spec.name, PolicyName=name)["PolicyDocument"] if name in existing else None
            )
            if current is None or not same_document(current, document):
                iam.put_role_policy(RoleName=spec.name, PolicyName=name, PolicyDocument=canonical_json(document))
                changes.append(f"policy {name}")
        for name in sorted(existing - set(spec.inline_policies)):
            iam.delete_role_policy(RoleName=spec.name, PolicyName=name)
            changes.append(f"removed policy {name}")
    change = Change.UPDATED if changes else Change.UNCHANGED
    reporter.record("iam-role", spec.name, change, ", ".join(changes))
    return change


def delete_role(iam: Any, name: str, stack: str, reporter: Reporter) -> None:
    with translated("iam"):
        try:
            current_tags = tags_map(iam.list_role_tags(RoleName=name).get("Tags"))
        except ClientError as exc:
            if not is_not_found(exc):
                raise
            reporter.record("iam-role", name, Change.ABSENT)
            return
        if current_tags.get(STACK_TAG) != stack:
            reporter.record("iam-role", name, Change.SKIPPED, f"not tagged {STACK_TAG}={stack}")
            return
        for policy in iam.list_role_policies(RoleName=name).get("PolicyNames", []):
            iam.delete_role_policy(RoleName=name, PolicyName=policy)
        for attached in iam.list_attached_role_policies(RoleName=name).get("AttachedPolicies", []):
            iam.detach_role_policy(RoleName=name, PolicyArn=attached["PolicyArn"])
        iam.delete_role(RoleName=name)
    reporter.record("iam-role", name, Change.DELETED)


# ---------------------------------------------------------------------------------------------
# DynamoDB sessions table
# ---------------------------------------------------------------------------------------------


def ensure_table(dynamodb: Any, plan: DeployPlan, reporter: Reporter) -> Change:
    """The sessions table with the planned keys, billing, tags and TTL; a table still DELETING is awaited first."""
    spec, tags, stack = plan.table, plan.tags, plan.tags[STACK_TAG]
    wanted = spec.create_table_kwargs(tags)
    changes: list[str] = []
    with translated("dynamodb"):
        try:
            table: dict[str, Any] | None = dynamodb.describe_table(TableName=spec.name)["Table"]
        except ClientError as exc:
            if not is_not_found(exc):
                raise
            table = None
        if table is not None and table.get("TableStatus") == "DELETING":
            # A destroy a moment ago: creating now fails with ResourceInUseException, and waiting
            # for ACTIVE would end in ResourceNotFoundException. Let it go, then create it anew.
            wait_table_deleted(dynamodb, spec.name, reporter)
            table = None
        if table is None:
            dynamodb.create_table(**wanted)
            created = True
        else:
            created = False
            current_tags = tags_map(dynamodb.list_tags_of_resource(ResourceArn=table["TableArn"]).get("Tags"))
            require_ours("DynamoDB table", spec.name, current_tags, stack)
            if sorted(table["KeySchema"], key=str) != sorted(wanted["KeySchema"], key=str):
                from agent_config.deploy.errors import DeployError

                raise DeployError(
                    f"The table {spec.name} has another key schema than pk/sk (strings), which cannot change in place.",
                    "Delete the table (its sessions are disposable) or choose another --agent-name.",
                )
            billing = table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
            if billing != spec.billing_mode:
                dynamodb.update_table(TableName=spec.name, BillingMode=spec.billing_mode)
                changes.append("billing mode")
            if missing := missing_tags(current_tags, tags):
                dynamodb.tag_resource(ResourceArn=table["TableArn"], Tags=tag_list(missing))
                changes.append("tags")
        reporter.poll(
            f"table {spec.name} to be ACTIVE",
            lambda: str(dynamodb.describe_table(TableName=spec.name)["Table"]["TableStatus"]),
            {"ACTIVE"},
            interval_s=2.0,
        )
        ttl = dynamodb.describe_time_to_live(TableName=spec.name).get("TimeToLiveDescription", {})
        if ttl.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING") or ttl.get("AttributeName") != spec.ttl_attribute:
            dynamodb.update_time_to_live(
                TableName=spec.name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute},
            )
            changes.append(f"TTL on {spec.ttl_attribute}")
    change = Change.CREATED if created else (Change.UPDATED if changes else Change.UNCHANGED)
    reporter.record("dynamodb-table", spec.name, change, "" if created else ", ".join(changes))
    return change


def delete_table(dynamodb: Any, plan: DeployPlan, reporter: Reporter) -> None:
    name, stack = plan.table.name, plan.tags[STACK_TAG]
    with translated("dynamodb"):
        try:
            table = dynamodb.describe_table(TableName=name)["Table"]
        except ClientError as exc:
            if not is_not_found(exc):
                raise
            reporter.record("dynamodb-table", name, Change.ABSENT)
            return
        current_tags = tags_map(dynamodb.list_tags_of_resource(ResourceArn=table["TableArn"]).get("Tags"))
        if current_tags.get(STACK_TAG) != stack:
            reporter.record("dynamodb-table", name, Change.SKIPPED, f"not tagged {STACK_TAG}={stack}")
            return
        dynamodb.delete_table(TableName=name)
        wait_table_deleted(dynamodb, name, reporter)
    reporter.record("dynamodb-table", name, Change.DELETED)


def wait_table_deleted(dynamodb: Any, name: str, reporter: Reporter) -> None:
    """Wait (DynamoDB's `table_not_exists` waiter) until the table is gone.

    `delete_table` returns while the table is still DELETING; a deploy right after a destroy would
    otherwise find it and fail, so destroy ends only when the name is free again.
    """
    reporter.line(f"  Waiting for table {name} to be deleted ...")
    try:
        dynamodb.get_waiter("table_not_exists").wait(
            TableName=name,
            WaiterConfig={"Delay": TABLE_DELETE_POLL_S, "MaxAttempts": TABLE_DELETE_MAX_POLLS},
        )
    except WaiterError as exc:
        error = (exc.last_response or {}).get("Error") or {}
        if error:  # the waiter stops at the first unexpected error, such as AccessDenied on DescribeTable
            what = f"waiting for it failed: {error.get('Code')}: {error.get('Message')}"
        else:
            what = f"it still exists after {TABLE_DELETE_POLL_S * TABLE_DELETE_MAX_POLLS} s"
        raise DeployError(
            f"The table {name} is being deleted, but {what}.",
            "Check it in the DynamoDB console; running the same command again resumes where this one stopped.",
        ) from exc


# ---------------------------------------------------------------------------------------------
# CloudWatch log group
# ---------------------------------------------------------------------------------------------


def _log_group(logs: Any, name: str) -> dict[str, Any] | None:
    for group in logs.describe_log_groups(logGroupNamePrefix=name).get("logGroups", []):
        if group["logGroupName"] == name:
            return dict(group)
    return None


def ensure_log_group(logs: Any, plan: DeployPlan, reporter: Reporter) -> Change:
    spec, tags, stack = plan.log_group, plan.tags, plan.tags[STACK_TAG]
    changes: list[str] = []
    with translated("logs"):
        group = _log_group(logs, spec.name)
        if group is None:
            logs.create_log_group(logGroupName=spec.name, tags=tags)
            logs.put_retention_policy(logGroupName=spec.name, retentionInDays=spec.retention_days)
            reporter.record("log-group", spec.name, Change.CREATED, f"retention {spec.retention_days} days")
            return Change.CREATED
        current_tags = dict(logs.list_tags_for_resource(resourceArn=spec.arn).get("tags", {}))
        require_ours("log group", spec.name, current_tags, stack)
        if group.get("retentionInDays") != spec.retention_days:
            logs.put_retention_policy(logGroupName=spec.name, retentionInDays=spec.retention_days)
            changes.append(f"retention {spec.retention_days} days")
        if missing := missing_tags(current_tags, tags):
            logs.tag_resource(resourceArn=spec.arn, tags=missing)
            changes.append("tags")
    change = Change.UPDATED if changes else Change.UNCHANGED
    reporter.record("log-group", spec.name, change, ", ".join(changes))
    return change


def delete_log_group(logs: Any, plan: DeployPlan, reporter: Reporter) -> None:
    spec, stack = plan.log_group, plan.tags[STACK_TAG]
    with translated("logs"):
        if _log_group(logs, spec.name) is None:
            reporter.record("log-group", spec.name, Change.ABSENT)
            return
        current_tags = dict(logs.list_tags_for_resource(resourceArn=spec.arn).get("tags", {}))
        if current_tags.get(STACK_TAG) != stack:
            reporter.record("log-group", spec.name, Change.SKIPPED, f"not tagged {STACK_TAG}={stack}")
            return
        logs.delete_log_group(logGroupName=spec.name)
    reporter.record("log-group", spec.name, Change.DELETED)


# ---------------------------------------------------------------------------------------------
# Secrets Manager: MCP bearer tokens (created without a value; never read, never printed)
# ---------------------------------------------------------------------------------------------


def ensure_secrets(secrets: Any, plan: DeployPlan, reporter: Reporter) -> list[str]:
    """Create each bearer-token secret without a value; returns the names that still have none."""
    tags, stack = plan.tags, plan.tags[STACK_TAG]
    empty: list[str] = []
    with translated("secretsmanager"):
        for spec in plan.secrets:
            try:
                current = secrets.describe_secret(SecretId=spec.name)
            except ClientError as exc:
                if not is_not_found(exc):
                    raise
                secrets.create_secret(Name=spec.name, Description=spec.description, Tags=tag_list(tags))
                reporter.record("secret", spec.name, Change.CREATED, "no value yet")
                empty.append(spec.name)
                continue
            current_tags = tags_map(current.get("Tags"))
            require_ours("secret", spec.name, current_tags, stack)
            changes: list[str] = []
            if current.get("DeletedDate") is not None:
                secrets.restore_secret(SecretId=spec.name)
                changes.append("restored from scheduled deletion")
            if current.get("Description", "") != spec.description:
                secrets.update_secret(SecretId=spec.name, Description=spec.description)
                changes.append("description")
            if missing := missing_tags(current_tags, tags):
                secrets.tag_resource(SecretId=spec.name, Tags=tag_list(missing))
                changes.append("tags")
            if not current.get("VersionIdsToStages"):
                empty.append(spec.name)
            reporter.record("secret", spec.name, Change.UPDATED if changes else Change.UNCHANGED, ", ".join(changes))
    return empty


def delete_secrets(secrets: Any, names: list[str], stack: str, reporter: Reporter) -> None:
    """Delete our secrets at once (no recovery window), so a redeploy can create them again."""
    with translated("secretsmanager"):
        for name in names:
            try:
                current = secrets.describe_secret(SecretId=name)
            except ClientError as exc:
                if not is_not_found(exc):
                    raise
                reporter.record("secret", name, Change.ABSENT)
                continue
            if tags_map(current.get("Tags")).get(STACK_TAG) != stack:
                reporter.record("secret", name, Change.SKIPPED, f"not tagged {STACK_TAG}={stack}")
                continue
            secrets.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
            reporter.record("secret", name, Change.DELETED)


# ---------------------------------------------------------------------------------------------
# SSM parameters
# ---------------------------------------------------------------------------------------------


def _parameter_value(ssm: Any, name: str) -> str | None:
    try:
        return str(ssm.get_parameter(Name=name)["Parameter"]["Value"])
    except ClientError as exc:
        if is_not_found(exc):
            return None
        raise


def _parameter_tags(ssm: Any, name: str) -> dict[str, str]:
    return tags_map(ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name).get("TagList"))


def ensure_parameter(ssm: Any, spec: ParameterSpec, tags: dict[str, str], reporter: Reporter) -> Change:
    stack = tags[STACK_TAG]
    with translated("ssm"):
        current = _parameter_value(ssm, spec.name)
        if current is None:
            ssm.put_parameter(
                Name=spec.name,
                Value=spec.value,
                Description=spec.description,
                Type="String",
                Tier="Standard",
                Tags=tag_list(tags),
            )
            reporter.record("ssm-parameter", spec.name, Change.CREATED)
            return Change.CREATED
        current_tags = _parameter_tags(ssm, spec.name)
        require_ours("SSM parameter", spec.name, current_tags, stack)
        changes: list[str] = []
        if current != spec.value:
            ssm.put_parameter(
                Name=spec.name, Value=spec.value, Description=spec.description, Type="String", Overwrite=True
            )
            changes.append("value")
        if missing := missing_tags(current_tags, tags):
            ssm.add_tags_to_resource(ResourceType="Parameter", ResourceId=spec.name, Tags=tag_list(missing))
            changes.append("tags")
    change = Change.UPDATED if changes else Change.UNCHANGED
    reporter.record("ssm-parameter", spec.name, change, ", ".join(changes))
    return change


def delete_parameters(ssm: Any, names: list[str], stack: str, reporter: Reporter) -> None:
    with translated("ssm"):
        for name in names:
            if _parameter_value(ssm, name) is None:
                reporter.record("ssm-parameter", name, Change.ABSENT)
                continue
            if _parameter_tags(ssm, name).get(STACK_TAG) != stack:
                reporter.record("ssm-parameter", name, Change.SKIPPED, f"not tagged {STACK_TAG}={stack}")
                continue
            ssm.delete_parameter(Name=name)
            reporter.record("ssm-parameter", name, Change.DELETED)
