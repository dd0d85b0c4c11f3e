"""Amazon RDS: public snapshots, publicly accessible instances and storage encryption.

Calls (regional): `describe-db-instances` (RDS.2, RDS.3); `describe-db-snapshots --snapshot-type
manual` and `describe-db-cluster-snapshots --snapshot-type manual`, then per snapshot
`describe-db-snapshot-attributes` / `describe-db-cluster-snapshot-attributes` (RDS.1: a `restore`
attribute that includes "all" makes the snapshot public). Automated snapshots cannot be shared,
so only manual ones are listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agent_config.checks.evidence import ApiCall, Evidence
from agent_config.checks.results import CapReached, CheckResult
from agent_config.checks.services._common import (
    DEFAULT_MAX_RESOURCES,
    Index,
    Read,
    Subject,
    account_subject,
    arn,
    cap_notice,
    capped,
    items_of,
    listing_gate,
    needed,
    not_applicable,
    obj,
    read,
    strings_of,
)

SERVICE = "rds"
GLOBAL = False
CONTROL_IDS: tuple[str, ...] = ("RDS.1", "RDS.2", "RDS.3")
INSTANCE = "AWS::RDS::DBInstance"


@dataclass(frozen=True)
class SnapshotKind:
    """DB snapshots and cluster snapshots differ only in names."""

    resource_type: str
    list_operation: str
    list_key: str
    id_key: str
    arn_key: str
    arn_kind: str
    attributes_operation: str
    id_parameter: str
    result_key: str
    attributes_key: str


DB_SNAPSHOTS = SnapshotKind(
    "AWS::RDS::DBSnapshot",
    "describe-db-snapshots",
    "DBSnapshots",
    "DBSnapshotIdentifier",
    "DBSnapshotArn",
    "snapshot",
    "describe-db-snapshot-attributes",
    "db_snapshot_identifier",
    "DBSnapshotAttributesResult",
    "DBSnapshotAttributes",
)
CLUSTER_SNAPSHOTS = SnapshotKind(
    "AWS::RDS::DBClusterSnapshot",
    "describe-db-cluster-snapshots",
    "DBClusterSnapshots",
    "DBClusterSnapshotIdentifier",
    "DBClusterSnapshotArn",
    "cluster-snapshot",
    "describe-db-cluster-snapshot-attributes",
    "db_cluster_snapshot_identifier",
    "DBClusterSnapshotAttributesResult",
    "DBClusterSnapshotAttributes",
)
KINDS = (DB_SNAPSHOTS, CLUSTER_SNAPSHOTS)


def instances_call(region: str) -> ApiCall:
    return ApiCall.of("rds", "describe-db-instances", region)


def snapshots_call(region: str, kind: SnapshotKind) -> ApiCall:
    return ApiCall.of("rds", kind.list_operation, region, snapshot_type="manual")


def attributes_call(region: str, kind: SnapshotKind, identifier: str) -> ApiCall:
    return ApiCall.of("rds", kind.attributes_operation, region, **{kind.id_parameter: identifier})


def _snapshots(index: Index, region: str, kind: SnapshotKind) -> tuple[Read, list[dict[str, Any]]]:
    listing = read(index, snapshots_call(region, kind))
    return listing, [s for s in items_of(listing.doc, kind.list_key) if isinstance(s.get(kind.id_key), str)]


def plan(region: str, evidence: Evidence, max_resources: int = DEFAULT_MAX_RESOURCES) -> list[ApiCall]:
    index = Index(evidence)
    calls = [instances_call(region), *(snapshots_call(region, kind) for kind in KINDS)]
    for kind in KINDS:
        _, snapshots = _snapshots(index, region, kind)
        calls.extend(attributes_call(region, kind, s[kind.id_key]) for s in capped(snapshots, max_resources))
    return needed(index, calls)


def cap_reached(region: str, evidence: Evidence, max_resources: int = DEFAULT_MAX_RESOURCES) -> list[CapReached]:
    index = Index(evidence)
    notices: list[CapReached] = []
    for kind in KINDS:
        _, snapshots = _snapshots(index, region, kind)
        notices += cap_notice(SERVICE, region, kind.resource_type, len(snapshots), max_resources)
    return notices


def evaluate(
    region: str,
    evidence: Evidence,
    *,
    now: datetime | None = None,
    max_resources: int = DEFAULT_MAX_RESOURCES,
) -> list[CheckResult]:
    index = Index(evidence)
    results = _instance_results(index, region)
    results.extend(_snapshot_results(index, region, max_resources))
    return results


def _instance_results(index: Index, region: str) -> list[CheckResult]:
    listing = read(index, instances_call(region))
    instances = [i for i in items_of(listing.doc, "DBInstances") if isinstance(i.get("DBInstanceIdentifier"), str)]
    gate = listing_gate(("RDS.2", "RDS.3"), index.account_id, region, listing, len(instances), "RDS DB instances")
    if gate is not None:
        return gate
    results = []
    for instance in instances:
        name = instance["DBInstanceIdentifier"]
        instance_arn = instance.get("DBInstanceArn") or arn("rds", region, index.account_id, f"db:{name}")
        subject = Subject(INSTANCE, name, str(instance_arn), region)
        public = instance.get("PubliclyAccessible")
        if public is None:
            results.append(subject.manual("RDS.2", "PubliclyAccessible missing from rds:DescribeDBInstances"))
        else:
            results.append(
                subject.verdict(
                    "RDS.2",
                    public is False,
                    "The DB instance is not publicly accessible.",
                    "The DB instance is publicly accessible.",
                    PubliclyAccessible=public,
                    engine=instance.get("Engine"),
                )
            )
        encrypted = instance.get("StorageEncrypted")
        results.append(
            subject.verdict(
                "RDS.3",
                encrypted is True,
                "The DB instance's storage is encrypted.",
                "The DB instance's storage is not encrypted.",
                StorageEncrypted=encrypted,
                KmsKeyId=instance.get("KmsKeyId"),
            )
        )
    return results


def _snapshot_results(index: Index, region: str, max_resources: int) -> list[CheckResult]:
    results: list[CheckResult] = []
    missing: list[str] = []
    for kind in KINDS:
        listing, snapshots = _snapshots(index, region, kind)
        if listing.missing is not None:
            missing.append(listing.missing)
        results.extend(_rds_1(index, region, kind, s) for s in capped(snapshots, max_resources))
    if missing:
        # Snapshots of a kind whose listing failed could not be seen at all: say so once.
        subject = account_subject(index.account_id, region)
        results.append(subject.manual("RDS.1", missing, "the manual snapshots"))
    elif not results:
        results.append(not_applicable("RDS.1", index.account_id, region, "manual RDS snapshots"))
    return results


def _rds_1(index: Index, region: str, kind: SnapshotKind, snapshot: dict[str, Any]) -> CheckResult:
    identifier = snapshot[kind.id_key]
    snapshot_arn = snapshot.get(kind.arn_key) or arn("rds", region, index.account_id, f"{kind.arn_kind}:{identifier}")
    subject = Subject(kind.resource_type, identifier, str(snapshot_arn), region)
    attributes = read(index, attributes_call(region, kind, identifier))
    if attributes.doc is None:
        return subject.manual("RDS.1", attributes.missing or "", "who may restore the snapshot")
    result = obj(attributes.doc.get(kind.result_key))
    restore = [
        value
        for attribute in items_of(result, kind.attributes_key)
        if attribute.get("AttributeName") == "restore"
        for value in strings_of(attribute, "AttributeValues")
    ]
    return subject.verdict(
        "RDS.1",
        "all" not in restore,
        "Only named accounts may restore the snapshot." if restore else "The snapshot is not shared.",
        "Anyone may restore the snapshot (restore attribute 'all').",
        restore=restore[:10],
    )
