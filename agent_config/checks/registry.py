"""Every service module, and the pure functions that run them all over a set of Regions.

A module is listed here once; the registry checks at import time that no control id is claimed by
two modules. The collector's loop is, in outline::

    evidence = Evidence(account_id=...)
    while calls := plan_all(regions, evidence):
        evidence.extend(collect(calls))          # I/O: the AWS API MCP server, or boto3
    results = evaluate_all(regions, evidence)
    caps = caps_all(regions, evidence)

Global modules (`GLOBAL = True`: IAM, S3, Account) are planned and evaluated once, with the first
Region as the home Region; their calls carry `region=None`. Regional modules run once per Region.
Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

from agent_config.checks.evidence import ApiCall, Evidence
from agent_config.checks.results import CapReached, CheckResult
from agent_config.checks.services import (
    account,
    awsconfig,
    awslambda,
    cloudtrail,
    dynamodb,
    ec2,
    ecr,
    efs,
    eks,
    elb,
    guardduty,
    iam,
    kms,
    rds,
    s3,
    secrets_in_config,
    secretsmanager,
    sns,
    sqs,
    ssm,
)
from agent_config.checks.services._common import DEFAULT_MAX_RESOURCES


class ServiceModule(Protocol):
    """What every module under `agent_config.checks.services` provides."""

    SERVICE: str
    """The AWS service, as its IAM prefix names it ('s3', 'config', 'lambda')."""
    CONTROL_IDS: tuple[str, ...]
    """Every control the module evaluates (FSBP ids)."""
    GLOBAL: bool
    """True when the service is global: planned and evaluated once, not per Region."""

    def plan(self, region: str, evidence: Evidence, max_resources: int = ...) -> list[ApiCall]: ...

    def evaluate(
        self, region: str, evidence: Evidence, *, now: datetime | None = ..., max_resources: int = ...
    ) -> list[CheckResult]: ...

    def cap_reached(self, region: str, evidence: Evidence, max_resources: int = ...) -> list[CapReached]: ...


SERVICE_MODULES: tuple[ServiceModule, ...] = (
    iam,
    s3,
    account,
    ec2,
    cloudtrail,
    awsconfig,
    guardduty,
    rds,
    kms,
    awslambda,
    secretsmanager,
    ecr,
    eks,
    efs,
    sns,
    sqs,
    dynamodb,
    ssm,
    elb,
    secrets_in_config,
)


def _control_owners(modules: Iterable[ServiceModule]) -> dict[str, ServiceModule]:
    owners: dict[str, ServiceModule] = {}
    for module in modules:
        for control in module.CONTROL_IDS:
            if control in owners:
                raise ValueError(f"{control} is claimed by {owners[control].SERVICE} and {module.SERVICE}")
            owners[control] = module
    return owners


CONTROL_OWNERS: dict[str, ServiceModule] = _control_owners(SERVICE_MODULES)
"""Control id -> the module that evaluates it (KMS.1 belongs to `iam`: it reads IAM policies)."""


def module_for(service: str) -> ServiceModule:
    """The module of `service` (its `SERVICE` name); `KeyError` names the unknown service."""
    for module in SERVICE_MODULES:
        if service == module.SERVICE:
            return module
    raise KeyError(service)


def control_ids() -> tuple[str, ...]:
    return tuple(CONTROL_OWNERS)


def _selected(services: Iterable[str] | None) -> tuple[ServiceModule, ...]:
    if services is None:
        return SERVICE_MODULES
    return tuple(module_for(name) for name in services)


def regions_for(module: ServiceModule, regions: Sequence[str]) -> list[str]:
    """The Regions a module runs in: the home Region (the first) for global services, else all."""
    if not regions:
        raise ValueError("at least one Region is needed (the first is the home Region)")
    return [regions[0]] if module.GLOBAL else list(regions)


def plan_all(
    regions: Sequence[str],
    evidence: Evidence,
    *,
    services: Iterable[str] | None = None,
    max_resources: int = DEFAULT_MAX_RESOURCES,
) -> list[ApiCall]:
    """Every call still needed, across modules and Regions, without duplicates."""
    seen: set[ApiCall] = set()
    calls: list[ApiCall] = []
    for module in _selected(services):
        for region in regions_for(module, regions):
            for call in module.plan(region, evidence, max_resources):
                if call not in seen:
                    seen.add(call)
                    calls.append(call)
    return calls


def evaluate_all(
    regions: Sequence[str],
    evidence: Evidence,
    *,
    services: Iterable[str] | None = None,
    now: datetime | None = None,
    max_resources: int = DEFAULT_MAX_RESOURCES,
) -> list[CheckResult]:
    results: list[CheckResult] = []
    for module in _selected(services):
        for region in regions_for(module, regions):
            results.extend(module.evaluate(region, evidence, now=now, max_resources=max_resources))
    return results


def caps_all(
    regions: Sequence[str],
    evidence: Evidence,
    *,
    services: Iterable[str] | None = None,
    max_resources: int = DEFAULT_MAX_RESOURCES,
) -> list[CapReached]:
    """Where the per-service cap left resources unassessed (empty for most accounts)."""
    caps: list[CapReached] = []
    for module in _selected(services):
        for region in regions_for(module, regions):
            caps.extend(module.cap_reached(region, evidence, max_resources))
    return caps
