"""Check results joined with the catalogue: the `Finding`s the rest of the agent works with.

An evaluator says what the evidence decided; the catalogue says what the control is (title,
severity, remediation, documentation). Joining them here keeps both sides ignorant of each other.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from agent_config.checks.catalogue import Catalogue, load_catalogue
from agent_config.checks.results import CheckResult
from agent_config.interfaces import Finding, Severity

UNCATALOGUED_SEVERITY = Severity.MEDIUM


def findings_from_results(
    results: Iterable[CheckResult],
    account_id: str,
    source: str,
    observed_at: datetime | None = None,
    catalogue: Catalogue | None = None,
) -> list[Finding]:
    catalogue = catalogue or load_catalogue()
    findings = []
    for result in results:
        control = catalogue.find(result.control_id)
        evidence = dict(result.evidence)
        evidence["reason"] = result.reason
        if result.missing:
            evidence["missing"] = result.missing
        extra = {"observed_at": observed_at} if observed_at is not None else {}
        findings.append(
            Finding(
                control_id=result.control_id,
                title=control.title if control else f"{result.control_id} (not in the catalogue)",
                status=result.status,
                severity=control.severity if control else UNCATALOGUED_SEVERITY,
                resource_type=result.resource_type,
                resource_id=result.resource_id,
                resource_arn=result.resource_arn,
                region=result.region,
                account_id=account_id,
                evidence=evidence,
                sources=[source],
                remediation=control.remediation if control else None,
                documentation=list(control.documentation) if control else [],
                **extra,
            )
        )
    return findings
