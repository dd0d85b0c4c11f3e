"""AWS Secrets Manager: automatic rotation (SecretsManager.1).

Call (regional): `secretsmanager list-secrets`; each entry carries `RotationEnabled`. AWS (and
moto) omit the field for a secret that never had rotation configured, which therefore reads as off.
"""

from __future__ import annotations

from datetime import datetime

from agent_config.checks.evidence import ApiCall, Evidence
from agent_config.checks.results import CapReached, CheckResult
from agent_config.checks.services._common import (
    DEFAULT_MAX_RESOURCES,
    Index,
    Subject,
    items_of,
    listing_gate,
    needed,
    obj,
    read,
)

SERVICE = "secretsmanager"
GLOBAL = False
CONTROL_IDS: tuple[str, ...] = ("SecretsManager.1",)
RESOURCE_TYPE = "AWS::SecretsManager::Secret"


def list_call(region: str) -> ApiCall:
    return ApiCall.of("secretsmanager", "list-secrets", region)


def plan(region: str, evidence: Evidence, max_resources: int = DEFAULT_MAX_RESOURCES) -> list[ApiCall]:
    return needed(Index(evidence), [list_call(region)])


def cap_reached(region: str, evidence: Evidence, max_resources: int = DEFAULT_MAX_RESOURCES) -> list[CapReached]:
    return []  # no per-secret call: every listed secret is evaluated


def evaluate(
    region: str,
    evidence: Evidence,
    *,
    now: datetime | None = None,
    max_resources: int = DEFAULT_MAX_RESOURCES,
) -> list[CheckResult]:
    listing = read(Index(evidence), list_call(region))
    secrets = [s for s in items_of(listing.doc, "SecretList") if isinstance(s.get("ARN"), str)]
    gate = listing_gate(CONTROL_IDS, evidence.account_id, region, listing, len(secrets), "secrets")
    if gate is not None:
        return gate
    results = []
    for secret in secrets:
        subject = Subject(RESOURCE_TYPE, secret["ARN"], secret["ARN"], region)
        enabled = secret.get("RotationEnabled") is True
        rules = obj(secret.get("RotationRules"))
        results.append(
            subject.verdict(
                "SecretsManager.1",
                enabled,
                f"Secret {secret.get('Name')} rotates automatically.",
                f"Secret {secret.get('Name')} has automatic rotation off.",
                name=secret.get("Name"),
                RotationEnabled=enabled,
                AutomaticallyAfterDays=rules.get("AutomaticallyAfterDays") if isinstance(rules, dict) else None,
            )
        )
    return results
