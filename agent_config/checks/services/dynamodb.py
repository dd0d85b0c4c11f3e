"""Amazon DynamoDB: point-in-time recovery (DynamoDB.2).

Calls (regional): `dynamodb list-tables`, then `dynamodb describe-continuous-backups --table-name
NAME` per table.
"""

from __future__ import annotations

from datetime import datetime

from agent_config.checks.evidence import ApiCall, Evidence
from agent_config.checks.results import CheckResult
from agent_config.checks.services._common import (
    DEFAULT_MAX_RESOURCES,
    Index,
    ListedResources,
    Subject,
    arn,
    capped,
    listing_gate,
    obj,
    read,
)

SERVICE = "dynamodb"
GLOBAL = False
CONTROL_IDS: tuple[str, ...] = ("DynamoDB.2",)
TABLE = "AWS::DynamoDB::Table"


def list_call(region: str) -> ApiCall:
    return ApiCall.of("dynamodb", "list-tables", region)


def backups_call(region: str, table: str) -> ApiCall:
    return ApiCall.of("dynamodb", "describe-continuous-backups", region, table_name=table)


RESOURCES = ListedResources(SERVICE, TABLE, list_call, "TableNames", backups_call)
plan = RESOURCES.plan
cap_reached = RESOURCES.cap_reached


def evaluate(
    region: str,
    evidence: Evidence,
    *,
    now: datetime | None = None,
    max_resources: int = DEFAULT_MAX_RESOURCES,
) -> list[CheckResult]:
    index = Index(evidence)
    listing, tables = RESOURCES.listed(index, region)
    gate = listing_gate(CONTROL_IDS, evidence.account_id, region, listing, len(tables), "DynamoDB tables")
    if gate is not None:
        return gate
    results = []
    for table in capped(tables, max_resources):
        subject = Subject(TABLE, table, arn("dynamodb", region, evidence.account_id, f"table/{table}"), region)
        backups = read(index, backups_call(region, table))
        if backups.doc is None:
            results.append(subject.manual("DynamoDB.2", backups.missing or "", "the table's backups"))
            continue
        description = obj(backups.doc.get("ContinuousBackupsDescription"))
        pitr = obj(description.get("PointInTimeRecoveryDescription")).get("PointInTimeRecoveryStatus")
        results.append(
            subject.verdict(
                "DynamoDB.2",
                pitr == "ENABLED",
                "Point-in-time recovery is on.",
                "Point-in-time recovery is off.",
                PointInTimeRecoveryStatus=pitr,
            )
        )
    return results
