"""Amazon ECR: private repositories scan images (ECR.1) and have immutable tags (ECR.2).

Calls (regional): `ecr describe-repositories` and `ecr get-registry-scanning-configuration`.
A repository passes when it scans on push itself, or when a registry scanning rule (basic or
enhanced) with a scan frequency matches its name (filters are wildcards: `*` only). ECR.2 reads
`imageTagMutability` from the same listing: IMMUTABLE passes, and so does IMMUTABLE_WITH_EXCLUSION
(its mutable tags are a deliberate, named exception, reported in the evidence).
"""

from __future__ import annotations

import re
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
    items_of,
    listing_gate,
    needed,
    obj,
    read,
    text,
)

SERVICE = "ecr"
GLOBAL = False
CONTROL_IDS: tuple[str, ...] = ("ECR.1", "ECR.2")
IMMUTABLE = frozenset({"IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION"})
REPOSITORY = "AWS::ECR::Repository"
SCANNING_FREQUENCIES = frozenset({"SCAN_ON_PUSH", "CONTINUOUS_SCAN"})
"""A rule with frequency MANUAL scans only when asked, which is not scanning."""


def list_call(region: str) -> ApiCall:
    return ApiCall.of("ecr", "describe-repositories", region)


def registry_call(region: str) -> ApiCall:
    return ApiCall.of("ecr", "get-registry-scanning-configuration", region)


def plan(region: str, evidence: Evidence, max_resources: int = DEFAULT_MAX_RESOURCES) -> list[ApiCall]:
    return needed(Index(evidence), [list_call(region), registry_call(region)])


def cap_reached(region: str, evidence: Evidence, max_resources: int = DEFAULT_MAX_RESOURCES) -> list[CapReached]:
    return []  # no per-repository call


def _wildcard(pattern: str, name: str) -> bool:
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, name) is not None


def registry_rule_for(registry: dict[str, Any], repository: str) -> str | None:
    """'<scanType>/<frequency> <filter>' of the first registry rule that scans `repository`, if any."""
    configuration = obj(registry.get("scanningConfiguration"))
    scan_type = str(configuration.get("scanType", "BASIC"))
    for rule in items_of(configuration, "rules"):
        frequency = str(rule.get("scanFrequency"))
        if frequency not in SCANNING_FREQUENCIES:
            continue
        for repo_filter in items_of(rule, "repositoryFilters"):
            pattern = str(repo_filter.get("filter", ""))
            if repo_filter.get("filterType", "WILDCARD") == "WILDCARD" and _wildcard(pattern, repository):
                return f"{scan_type}/{frequency} {pattern}"
    return None


def evaluate(
    region: str,
    evidence: Evidence,
    *,
    now: datetime | None = None,
    max_resources: int = DEFAULT_MAX_RESOURCES,
) -> list[CheckResult]:
    index = Index(evidence)
    listing = read(index, list_call(region))
    repositories = [r for r in items_of(listing.doc, "repositories") if isinstance(r.get("repositoryName"), str)]
    gate = listing_gate(CONTROL_IDS, evidence.account_id, region, listing, len(repositories), "ECR repositories")
    if gate is not None:
        return gate
    registry: Read = read(index, registry_call(region))
    results = []
    for repository in repositories:
        name = repository["repositoryName"]
        repository_arn = text(repository.get("repositoryArn")) or arn(
            "ecr", region, evidence.account_id, f"repository/{name}"
        )
        subject = Subject(REPOSITORY, name, repository_arn, region)
        results.append(_ecr_2(subject, repository))
        on_push = obj(repository.get("imageScanningConfiguration")).get("scanOnPush") is True
        rule = registry_rule_for(registry.doc, name) if registry.doc is not None else None
        if on_push or rule:
            how = "the repository scans on push" if on_push else f"registry rule {rule} scans it"
            results.append(
                subject.passed("ECR.1", f"Images are scanned: {how}.", scanOnPush=on_push, registry_rule=rule)
            )
        elif registry.doc is None:
            results.append(subject.manual("ECR.1", registry.missing or "", "the registry's scanning rules"))
        else:
            results.append(
                subject.failed(
                    "ECR.1",
                    "Neither the repository nor a registry scanning rule scans its images.",
                    scanOnPush=on_push,
                    registry_rule=None,
                )
            )
    return results


def _ecr_2(subject: Subject, repository: dict[str, Any]) -> CheckResult:
    mutability = text(repository.get("imageTagMutability"))
    if mutability is None:
        return subject.manual("ECR.2", "imageTagMutability missing from ecr:DescribeRepositories")
    return subject.verdict(
        "ECR.2",
        mutability in IMMUTABLE,
        f"Image tags are immutable ({mutability}).",
        "Image tags are mutable: a pushed tag can be overwritten with a different image.",
        imageTagMutability=mutability,
    )
