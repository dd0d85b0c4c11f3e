"""Amazon EFS: file systems encrypted at rest (EFS.1).

Call (regional): `efs describe-file-systems`; each file system carries `Encrypted` and `KmsKeyId`.
"""

from __future__ import annotations

from datetime import datetime

from agent_config.checks.evidence import ApiCall, Evidence
from agent_config.checks.results import CapReached, CheckResult
from agent_config.checks.services._common import (
    DEFAULT_MAX_RESOURCES,
    Index,
    Subject,
    arn,
    items_of,
    listing_gate,
    needed,
    read,
)

SERVICE = "efs"
GLOBAL = False
CONTROL_IDS: tuple[str, ...] = ("EFS.1",)
FILE_SYSTEM = "AWS::EFS::FileSystem"


def list_call(region: str) -> ApiCall:
    return ApiCall.of("efs", "describe-file-systems", region)


def plan(region: str, evidence: Evidence, max_resources: int = DEFAULT_MAX_RESOURCES) -> list[ApiCall]:
    return needed(Index(evidence), [list_call(region)])


def cap_reached(region: str, evidence: Evidence, max_resources: int = DEFAULT_MAX_RESOURCES) -> list[CapReached]:
    return []  # no per-file-system call


def evaluate(
    region: str,
    evidence: Evidence,
    *,
    now: datetime | None = None,
    max_resources: int = DEFAULT_MAX_RESOURCES,
) -> list[CheckResult]:
    listing = read(Index(evidence), list_call(region))
    systems = [f for f in items_of(listing.doc, "FileSystems") if isinstance(f.get("FileSystemId"), str)]
    gate = listing_gate(CONTROL_IDS, evidence.account_id, region, listing, len(systems), "EFS file systems")
    if gate is not None:
        return gate
    results = []
    for system in systems:
        system_id = system["FileSystemId"]
        system_arn = system.get("FileSystemArn") or arn(
            "elasticfilesystem", region, evidence.account_id, f"file-system/{system_id}"
        )
        subject = Subject(FILE_SYSTEM, system_id, str(system_arn), region)
        encrypted = system.get("Encrypted")
        results.append(
            subject.verdict(
                "EFS.1",
                encrypted is True,
                "The file system is encrypted at rest.",
                "The file system is not encrypted at rest.",
                Encrypted=encrypted,
                KmsKeyId=system.get("KmsKeyId"),
                name=system.get("Name"),
            )
        )
    return results
