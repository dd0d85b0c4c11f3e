"""Every IAM policy document the deploy creates, built from the plan's names: least privilege, derived.

Three roles:

- **Lambda execution role** (trusted by `lambda.amazonaws.com`): write its own log group, use its
  own sessions table, read its own SSM parameters and secrets (by name prefix), and, for the
  direct-API fallback, exactly the read actions of the check catalogue
  (`load_catalogue().required_iam_actions()`) and of the security-services fallback
  (`direct_security.IAM_ACTIONS`), so the policy and the code cannot drift apart.
  Each of those actions is scoped to the ARNs AWS allows (`iam_resource_types.json`); the ones AWS
  authorizes only on `"*"` are in one statement, each with its reason in the plan's notes.
  The trust policy carries no `aws:SourceAccount` condition: Lambda does not send one when it
  assumes an execution role, and a condition there would stop the function from starting.
- **Agent service role** (trusted by `bedrock.amazonaws.com` with `aws:SourceAccount` and
  `aws:SourceArn` = this account's agents): invoke (and stream from) the one model through its
  inference profile and the foundation model in every Region the profile routes to, and read
  those two resources.
- **Gateway role** (trusted by `bedrock-agentcore.amazonaws.com` with the same two conditions,
  for `--target agentcore-gateway`): invoke our function, nothing else.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any, Final

from agent_config.deploy.iam_data import REASONS, load_resource_types
from agent_config.session.table import REQUIRED_IAM_ACTIONS

PolicyDocument = dict[str, Any]

VERSION: Final = "2012-10-17"
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9]+)\}")
SESSION_TABLE_ACTIONS: Final = tuple(sorted(REQUIRED_IAM_ACTIONS))
"""What the session store says it needs on its table (derived, like the read actions)."""
LOG_ACTIONS: Final = ("logs:CreateLogStream", "logs:PutLogEvents")
SSM_ACTIONS: Final = ("ssm:GetParameter", "ssm:GetParameters")
SECRET_ACTIONS: Final = ("secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue")
MODEL_INVOKE_ACTIONS: Final = ("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream")


def trust_policy(service: str, conditions: dict[str, dict[str, str]] | None = None) -> PolicyDocument:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if conditions:
        statement["Condition"] = conditions
    return {"Version": VERSION, "Statement": [statement]}


def confused_deputy_conditions(account_id: str, source_arn_pattern: str) -> dict[str, dict[str, str]]:
    """Only this account's resources of the expected kind may use the role (the confused-deputy guard)."""
    return {
        "StringEquals": {"aws:SourceAccount": account_id},
        "ArnLike": {"aws:SourceArn": source_arn_pattern},
    }


def scoped_arns(template: str, partition: str, account_id: str) -> list[str]:
    """Fill an ARN template from the Service Authorization Reference for this account, any Region.

    `${Partition}` and `${Account}` become this partition and account; every other placeholder
    (Region, resource names and ids) becomes `*`. IAM policy ARNs also get AWS-managed policies
    (`iam::aws:policy/*`), which the checks read when a user has one attached. Templates naming
    another account (`${MemberAccountId}`, ...) give nothing: the checks read this account only.
    """
    if "AccountId}" in template:
        return []  # another account's resources (an organization's member accounts): never read
    values = {"Partition": partition, "Account": account_id}
    arn = _PLACEHOLDER.sub(lambda m: values.get(m.group(1), "*"), template)
    arn = re.sub(r"\*(?:[/:-]?\*)+", "*", arn)
    arns = [arn]
    if template.startswith("arn:${Partition}:iam::${Account}:policy/"):
        arns.append(f"arn:{partition}:iam::aws:policy/*")
    return arns


def direct_api_statements(
    actions: list[str], partition: str, account_id: str
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Statements allowing exactly `actions`, scoped where AWS allows; and the reason for each `"*"`.

    Actions sharing the same resources share a statement, so the document stays small (IAM limits a
    role's inline policies to 10,240 characters in all). An action missing from the data file is
    scoped to its service's ARNs in this account, so it still works where the ARN format is regular;
    the IAM tests fail until the data file is regenerated.
    """
    data = load_resource_types()
    by_resources: dict[tuple[str, ...], list[str]] = defaultdict(list)
    star: dict[str, str] = {}
    for action in sorted(set(actions)):
        scope = data.actions.get(action)
        if scope is not None and scope.star_reason is not None:
            star[action] = REASONS[scope.star_reason]
            continue
        if scope is None:
            service = action.split(":", 1)[0]
            resources: tuple[str, ...] = (f"arn:{partition}:{service}:*:{account_id}:*",)
        else:
            resources = tuple(sorted({arn for t in scope.arns for arn in scoped_arns(t, partition, account_id)}))
        by_resources[resources].append(action)
    statements: list[dict[str, Any]] = []
    for index, (resources, grouped) in enumerate(sorted(by_resources.items(), key=lambda kv: kv[1][0])):
        statements.append(
            {
                "Sid": f"DirectApiReadScoped{index + 1:02d}",
                "Effect": "Allow",
                "Action": sorted(grouped),
                "Resource": list(resources),
            }
        )
    if star:
        statements.append(
            {
                "Sid": "DirectApiReadAccountWide",
                "Effect": "Allow",
                "Action": sorted(star),
                "Resource": "*",
            }
        )
    return statements, star


def lambda_runtime_policy(
    *,
    log_group_arn: str,
    table_arn: str,
    parameter_arns: list[str],
    secret_arn_pattern: str,
    agentcore_runtime_arns: list[str],
) -> PolicyDocument:
    """The function's access to its own resources; nothing it did not create is reachable."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "WriteOwnLogs",
            "Effect": "Allow",
            "Action": list(LOG_ACTIONS),
            "Resource": [f"{log_group_arn}:*"],
        },
        {
            "Sid": "OwnSessionsTable",
            "Effect": "Allow",
            "Action": list(SESSION_TABLE_ACTIONS),
            "Resource": [table_arn],
        },
        {
            "Sid": "OwnConfiguration",
            "Effect": "Allow",
            "Action": list(SSM_ACTIONS),
            "Resource": parameter_arns,
        },
        {
            "Sid": "OwnMcpSecrets",
            "Effect": "Allow",
            "Action": list(SECRET_ACTIONS),
            "Resource": [secret_arn_pattern],
        },
    ]
    if agentcore_runtime_arns:
        statements.append(
            {
                "Sid": "InvokeRemoteMcpServers",
                "Effect": "Allow",
                "Action": ["bedrock-agentcore:InvokeAgentRuntime"],
                "Resource": agentcore_runtime_arns,
            }
        )
    return {"Version": VERSION, "Statement": statements}


def direct_api_policy(actions: list[str], partition: str, account_id: str) -> tuple[PolicyDocument, dict[str, str]]:
    statements, star = direct_api_statements(actions, partition, account_id)
    return {"Version": VERSION, "Statement": statements}, star


def agent_model_policy(*, inference_profile_arn: str | None, foundation_model_arns: list[str]) -> PolicyDocument:
    """Use the one model: through its inference profile and in the Regions the profile routes to.

    `InvokeModelWithResponseStream` is granted with `InvokeModel` (as the Bedrock Agents service-role
    documentation does) because the agent streams model responses, for example when an InvokeAgent
    caller asks for streamed final responses; without it those turns fail with AccessDenied. The two
    reads let the agent resolve the profile and the foundation model behind it; both are scoped to
    exactly the resources it may invoke.
    """
    invoke_resources = ([inference_profile_arn] if inference_profile_arn else []) + foundation_model_arns
    statements: list[dict[str, Any]] = [
        {
            "Sid": "InvokeTheModel",
            "Effect": "Allow",
            "Action": list(MODEL_INVOKE_ACTIONS),
            "Resource": invoke_resources,
        },
        {
            "Sid": "ReadTheFoundationModel",
            "Effect": "Allow",
            "Action": ["bedrock:GetFoundationModel"],
            "Resource": foundation_model_arns,
        },
    ]
    if inference_profile_arn:
        statements.append(
            {
                "Sid": "ReadTheInferenceProfile",
                "Effect": "Allow",
                "Action": ["bedrock:GetInferenceProfile"],
                "Resource": [inference_profile_arn],
            }
        )
    return {"Version": VERSION, "Statement": statements}


def gateway_invoke_policy(function_arn: str) -> PolicyDocument:
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "InvokeTheActionFunction",
                "Effect": "Allow",
                "Action": ["lambda:InvokeFunction"],
                "Resource": [function_arn, f"{function_arn}:*"],
            }
        ],
    }


def iter_statements(document: PolicyDocument) -> list[dict[str, Any]]:
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
