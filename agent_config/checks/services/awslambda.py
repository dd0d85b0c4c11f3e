"""AWS Lambda: function resource policies that let anyone invoke the function (Lambda.1), and
functions on runtimes Lambda no longer supports (Lambda.2).

Calls (regional): `lambda list-functions`, then `lambda get-policy --function-name NAME` per
function (ResourceNotFoundException means no resource-based policy: nothing is shared).

A statement is public when it allows everyone (`"*"`, `{"AWS": "*"}`) without a condition pinning
the caller, or when it allows an AWS service principal (s3.amazonaws.com...) without
`aws:SourceAccount`, `aws:SourceArn` or `aws:SourceOwner`: any account's bucket or topic could
then invoke the function, which Security Hub counts as public too.

Lambda.2 reads `Runtime` from the listing and decides with the assessment's `now`:

- PASS when the runtime is in `SUPPORTED_RUNTIMES` and `now` is before its deprecation date. That
  allow-list is what Security Hub's control parameter is (its default list, e.g. dotnet10, dotnet8,
  java25...java8.al2, nodejs24.x/22.x/20.x, python3.14...python3.10, ruby3.4/3.3/3.2:
  https://docs.aws.amazon.com/securityhub/latest/userguide/lambda-controls.html#lambda-2), with
  each entry's deprecation date from Lambda's runtime table
  (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html, as of August 2026), so a
  runtime drops out of support on its date without an edit: Security Hub removes deprecated
  runtimes from its list, and a list frozen on a date would keep passing them. Lambda's OS-only
  runtimes (provided.al2023, provided.al2) and the runtimes added after Security Hub's list was last
  published (ruby4.0, java*.al2023) are in the table too: Lambda supports and patches them, and
  failing a patched runtime would be a false finding.
- FAIL when the runtime's deprecation date has come (`DEPRECATED_RUNTIMES` holds the ones already
  retired): "After a runtime is deprecated, we may no longer apply security patches"
  (https://docs.aws.amazon.com/lambda/latest/dg/runtime-support-policy.html).
- MANUAL for a runtime in neither table: an unknown runtime is not evidence of a supported one,
  and passing it would hide a deprecation this table has not caught up with.
- No result for a container-image function (`PackageType` Image): it has no managed runtime and
  Security Hub ignores it; a Region with no zip function gets one NOT_APPLICABLE.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
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
    not_applicable,
    read,
    resolve_now,
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
CONTROL_IDS: tuple[str, ...] = ("Lambda.1", "Lambda.2")
FUNCTION = "AWS::Lambda::Function"
NOT_FOUND = "ResourceNotFoundException"
SOURCE_KEYS = ("aws:SourceAccount", "aws:SourceArn", "aws:SourceOwner")

SUPPORTED_RUNTIMES: dict[str, date] = {
    "dotnet10": date(2028, 11, 14),
    "dotnet8": date(2026, 11, 10),
    "java25": date(2029, 6, 30),
    "java21": date(2029, 6, 30),
    "java17.al2023": date(2029, 6, 30),
    "java17": date(2027, 6, 30),
    "java11.al2023": date(2029, 6, 30),
    "java11": date(2027, 6, 30),
    "java8.al2023": date(2029, 6, 30),
    "java8.al2": date(2027, 6, 30),
    "nodejs24.x": date(2028, 4, 30),
    "nodejs22.x": date(2027, 4, 30),
    "nodejs20.x": date(2026, 4, 30),
    "python3.14": date(2029, 6, 30),
    "python3.13": date(2029, 6, 30),
    "python3.12": date(2028, 10, 31),
    "python3.11": date(2027, 6, 30),
    "python3.10": date(2026, 10, 31),
    "ruby4.0": date(2029, 3, 31),
    "ruby3.4": date(2028, 3, 31),
    "ruby3.3": date(2027, 3, 31),
    "ruby3.2": date(2026, 3, 31),
    "provided.al2023": date(2029, 6, 30),
    "provided.al2": date(2026, 7, 31),
}
"""The allow-list: runtime -> the deprecation date Lambda's runtime table gives it (August 2026).
Supported strictly before that date."""

DEPRECATED_RUNTIMES: dict[str, date] = {
    "nodejs": date(2016, 8, 30),
    "nodejs4.3": date(2020, 3, 5),
    "nodejs4.3-edge": date(2020, 3, 5),
    "nodejs6.10": date(2019, 8, 12),
    "nodejs8.10": date(2020, 3, 6),
    "nodejs10.x": date(2021, 7, 30),
    "nodejs12.x": date(2023, 3, 31),
    "nodejs14.x": date(2023, 12, 4),
    "nodejs16.x": date(2024, 6, 12),
    "nodejs18.x": date(2025, 9, 1),
    "python2.7": date(2021, 7, 15),
    "python3.6": date(2022, 7, 18),
    "python3.7": date(2023, 12, 4),
    "python3.8": date(2024, 10, 14),
    "python3.9": date(2025, 12, 15),
    "ruby2.5": date(2021, 7, 30),
    "ruby2.7": date(2023, 12, 7),
    "java8": date(2024, 1, 8),
    "go1.x": date(2024, 1, 8),
    "provided": date(2024, 1, 8),
    "dotnetcore1.0": date(2019, 6, 27),
    "dotnetcore2.0": date(2019, 5, 30),
    "dotnetcore2.1": date(2022, 1, 5),
    "dotnetcore3.1": date(2023, 4, 3),
    "dotnet5.0": date(2022, 5, 10),
    "dotnet6": date(2024, 12, 20),
    "dotnet7": date(2024, 5, 14),
}
"""Runtimes Lambda has already retired -> the date it deprecated them (its runtime table's
"Deprecated runtimes")."""

RUNTIMES_PAGE = "https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html"
IMAGE = "Image"


def list_call(region: str) -> ApiCall:
    return ApiCall.of("lambda", "list-functions", region)


def policy_call(region: str, function_name: str) -> ApiCall:
    return ApiCall.of("lambda", "get-policy", region, function_name=function_name)


def listed_functions(index: Index, region: str) -> tuple[Read, list[dict[str, Any]]]:
    listing = read(index, list_call(region))
    return listing, [f for f in items_of(listing.doc, "Functions") if isinstance(f.get("FunctionName"), str)]


def plan(region: str, evidence: Evidence, max_resources: int = DEFAULT_MAX_RESOURCES) -> list[ApiCall]:
    index = Index(evidence)
    _, functions = listed_functions(index, region)
    calls = [
        list_call(region),
        *(policy_call(region, f["FunctionName"]) for f in capped(functions, max_resources)),
    ]
    return needed(index, calls)


def cap_reached(region: str, evidence: Evidence, max_resources: int = DEFAULT_MAX_RESOURCES) -> list[CapReached]:
    _, functions = listed_functions(Index(evidence), region)
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
    listing, functions = listed_functions(index, region)
    gate = listing_gate(CONTROL_IDS, evidence.account_id, region, listing, len(functions), "Lambda functions")
    if gate is not None:
        return gate
    today = resolve_now(now).astimezone(UTC).date()
    results = []
    for function in capped(functions, max_resources):
        name = function["FunctionName"]
        function_arn = function.get("FunctionArn") or arn("lambda", region, evidence.account_id, f"function:{name}")
        subject = Subject(FUNCTION, name, str(function_arn), region)
        if function.get("PackageType") != IMAGE:
            results.append(_lambda_2(subject, function.get("Runtime"), today))
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
    if not any(r.control_id == "Lambda.2" for r in results):
        results.append(
            not_applicable("Lambda.2", evidence.account_id, region, "functions on a managed runtime (.zip packages)")
        )
    return results


def _lambda_2(subject: Subject, runtime: Any, today: date) -> CheckResult:
    """Supported strictly before the deprecation date; deprecated on and after it; unknown -> MANUAL."""
    if not isinstance(runtime, str) or not runtime:
        return subject.manual(
            "Lambda.2", "lambda:ListFunctions returned no Runtime for this .zip function", "the function's runtime"
        )
    deprecated = SUPPORTED_RUNTIMES.get(runtime) or DEPRECATED_RUNTIMES.get(runtime)
    if deprecated is None:
        return subject.manual(
            "Lambda.2",
            f"{runtime} is not a runtime this agent knows; check the Lambda runtimes page ({RUNTIMES_PAGE})",
            "the function's runtime",
        )
    if deprecated <= today:
        return subject.failed(
            "Lambda.2",
            f"The function runs on {runtime}, deprecated on {deprecated.isoformat()}: no security patches.",
            Runtime=runtime,
            deprecated_on=deprecated.isoformat(),
        )
    return subject.passed(
        "Lambda.2",
        f"The function runs on {runtime}, a supported runtime until {deprecated.isoformat()}.",
        Runtime=runtime,
        deprecated_on=deprecated.isoformat(),
    )
