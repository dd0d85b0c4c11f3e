"""AWS Lambda: function resource policies that let anyone invoke the function (Lambda.1).

Calls (regional): `lambda list-functions`, then `lambda get-policy --function-name NAME` per
function (ResourceNotFoundException means no resource-based policy: nothing is shared).

A statement is public when it allows everyone (`"*"`, `{"AWS": "*"}`) without a condition pinning
the caller, or when it allows an AWS service principal (s3.amazonaws.com...) without
`aws:SourceAccount`, `aws:SourceArn` or `aws:SourceOwner`: any account's bucket or topic could
then invoke the function, which Security Hub counts as public too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agent_config.checks.evidence import ApiCall, Evidence
from agent_config.checks.results import CapReached, CheckResult
from agent_config.checks.services._common import (
    DEFAULT_MAX_RESOURCES,
    Index,
    Read,
    Subject,
    arn,
    cap_notice,
    capped,
    items_of,
    listing_gate,
    needed,
    read,
)
from agent_config.checks.services._policy import (
    Statement,
    is_public_statement,
    restricting_keys,
    service_principals,
    statements,
)

SERVICE = "lambda"
GLOBAL = False
CONTROL_IDS: tuple[str, ...] = ("Lambda.1",)
FUNCTION = "AWS::Lambda::Function"
NOT_FOUND = "ResourceNotFoundException"
SOURCE_KEYS = ("aws:SourceAccount", "aws:SourceArn", "aws:SourceOwner")


def list_call(region: str) -> ApiCall:
    return ApiCall.of("lambda", "list-functions", region)


def policy_call(region: str, function_name: str) -> ApiCall:
    return ApiCall.of("lambda", "get-policy", region, function_name=function_name)


def _functions(index: Index, region: str) -> tuple[Read, list[dict[str, Any]]]:
    listing = read(index, list_call(region))
    return listing, [f for f in items_of(listing.doc, "Functions") if isinstance(f.get("FunctionName"), str)]


def plan(region: str, evidence: Evidence, max_resources: int = DEFAULT_MAX_RESOURCES) -> list[ApiCall]:
    index = Index(evidence)
    _, functions = _functions(index, region)
    calls = [
        list_call(region),
        *(policy_call(region, f["FunctionName"]) for f in capped(functions, max_resources)),
    ]
    return needed(index, calls)


def cap_reached(
    region: str, evidence: Evidence, max_resources: int = DEFAULT_MAX_RESOURCES
) -> list[CapReached]:
    _, functions = _functions(Index(evidence), region)
    return cap_notice(SERVICE, region, FUNCTION, len(functions), max_resources)


def public_statements(found: list[Statement]) -> list[str]:
    """What opens the function to the public, one phrase per statement."""
    public: list[str] = []
    for statement in found:
        services = service_principals(statement.principal) if statement.allows else []
        if is_public_statement(statement):
            public.append(f"{statement.label} (principal '*')")
        elif services and not restricting_keys(statement.condition, SOURCE_KEYS):
            public.append(f"{statement.label} ({', '.join(services)} without a source account or ARN)")
    return public


def evaluate(
    region: str,
    evidence: Evidence,
    *,
    now: datetime | None = None,
    max_resources: int = DEFAULT_MAX_RESOURCES,
) -> list[CheckResult]:
    index = Index(evidence)
    listing, functions = _functions(index, region)
    gate = listing_gate(CONTROL_IDS, evidence.account_id, region, listing, len(functions), "Lambda functions")
    if gate is not None:
        return gate
    results = []
    for function in capped(functions, max_resources):
        name = function["FunctionName"]
        function_arn = function.get("FunctionArn") or arn(
            "lambda", region, evidence.account_id, f"function:{name}"
        )
        subject = Subject(FUNCTION, name, str(function_arn), region)
        policy = read(index, policy_call(region, name), absent_codes={NOT_FOUND})
        if policy.absent:
            results.append(subject.passed("Lambda.1", "The function has no resource-based policy."))
            continue
        if policy.doc is None:
            results.append(subject.manual("Lambda.1", policy.missing or "", "the function's policy"))
            continue
        public = public_statements(statements(policy.doc.get("Policy")))
        results.append(
            subject.verdict(
                "Lambda.1",
                not public,
                "Every statement of the function's policy names or conditions its callers.",
                f"The function's policy lets anyone invoke it: {'; '.join(public[:3])}.",
                public_statements=public[:10],
            )
        )
    return results
