"""Finding fingerprints and assessment summaries, from a `SecurityAssessment` or its JSON.

A fingerprint is a stable hash of what makes a finding the same problem from one assessment to the
next: the control, the resource and the region (the same triple as `Finding.key`, so findings the
synthesizer de-duplicates share one fingerprint). Status, severity and wording are left out:
they are what may change, and the diff compares them.

Accepted report shapes: `SecurityAssessment.model_dump(mode="json")` and the CLI's
`reports.assessment_json()` document (they differ in how scores are laid out); any other JSON
object is kept as a report but yields no fingerprints unless it has a `findings` list.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from agent_config.interfaces import Finding, FindingStatus, SecurityAssessment, Severity
from agent_config.session.models import FindingFingerprint
from agent_config.utils.error_handling import InvalidInput

FINGERPRINT_HEX_CHARS = 16
"""64 bits: a collision among a session's few thousand findings has odds of about 1 in 10^12."""

_SEPARATOR = "\x1f"  # ASCII unit separator: cannot occur in control ids, ARNs or region names

_STATUS_WEIGHT = {
    FindingStatus.FAIL: 3,
    FindingStatus.MANUAL: 2,
    FindingStatus.PASS: 1,
    FindingStatus.NOT_APPLICABLE: 0,
}


def finding_fingerprint(control_id: str, resource: str, region: str) -> str:
    """The stable identity of "this control on this resource in this region"."""
    material = _SEPARATOR.join((control_id.strip(), resource.strip(), region.strip()))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:FINGERPRINT_HEX_CHARS]


def fingerprint_of(finding: Finding | Mapping[str, Any]) -> FindingFingerprint:
    """One finding's fingerprint; a malformed finding dict raises `InvalidInput` naming the field."""
    if isinstance(finding, Finding):
        control_id, resource, region = finding.key
        status, severity = finding.status, finding.severity
    else:
        control_id = _text(finding, "control_id", required=True)
        resource = _text(finding, "resource_arn") or _text(finding, "resource_id")
        region = _text(finding, "region")
        try:
            status = FindingStatus(_text(finding, "status", required=True).upper())
            severity = Severity.parse(_text(finding, "severity") or Severity.INFORMATIONAL.value)
        except ValueError as exc:
            raise InvalidInput(f"finding {control_id!r} has an unknown status or severity: {exc}") from exc
    return FindingFingerprint(
        fingerprint=finding_fingerprint(control_id, resource, region),
        control_id=control_id,
        resource=resource,
        region=region,
        status=status,
        severity=severity,
    )


def fingerprints_of(findings: Iterable[Finding | Mapping[str, Any]]) -> list[FindingFingerprint]:
    """One fingerprint per (control, resource, region); where sources disagree the worst status wins
    (FAIL over MANUAL over PASS), so a duplicate never hides a failure."""
    by_print: dict[str, FindingFingerprint] = {}
    for finding in findings:
        current = fingerprint_of(finding)
        seen = by_print.get(current.fingerprint)
        if seen is None or _worse(current, seen):
            by_print[current.fingerprint] = current
    return sorted(by_print.values(), key=lambda f: (f.control_id, f.resource, f.region))


def report_document(assessment: SecurityAssessment | Mapping[str, Any]) -> dict[str, Any]:
    """The JSON document kept as the full report."""
    if isinstance(assessment, SecurityAssessment):
        return assessment.model_dump(mode="json")
    if not isinstance(assessment, Mapping):
        raise InvalidInput(f"an assessment must be a SecurityAssessment or a JSON object, not {type(assessment)}")
    return dict(assessment)


def assessment_id_of(document: Mapping[str, Any]) -> str:
    value = document.get("assessment_id")
    if not isinstance(value, str) or not value:
        raise InvalidInput("the assessment has no 'assessment_id'")
    return value


def findings_of(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    findings = document.get("findings", [])
    if not isinstance(findings, list) or not all(isinstance(f, Mapping) for f in findings):
        raise InvalidInput("the assessment's 'findings' must be a list of objects")
    return findings


def created_at_of(document: Mapping[str, Any], default: datetime) -> datetime:
    value = document.get("created_at")
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError as exc:
            raise InvalidInput(f"the assessment's created_at {value!r} is not an ISO 8601 time") from exc
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return default


def regions_of(document: Mapping[str, Any]) -> list[str]:
    regions = document.get("regions", [])
    return [r for r in regions if isinstance(r, str)] if isinstance(regions, list) else []


def services_of(document: Mapping[str, Any]) -> list[str] | None:
    """The services an assessment was limited to; None when it covered every service."""
    services = document.get("services")
    return [s for s in services if isinstance(s, str)] if isinstance(services, list) else None


def scores_of(document: Mapping[str, Any]) -> dict[str, float | None]:
    """Score values by name; frameworks as `framework:<name>`. Both report shapes are read."""
    scores: dict[str, float | None] = {}
    raw = document.get("scores")
    if isinstance(raw, list):  # SecurityAssessment.model_dump
        for score in raw:
            if isinstance(score, Mapping) and isinstance(score.get("name"), str):
                scores[score["name"]] = _number(score.get("value"))
    elif isinstance(raw, Mapping):  # reports.assessment_json
        for name, score in raw.items():
            if name == "frameworks" and isinstance(score, Mapping):
                for framework, entry in score.items():
                    scores[f"framework:{framework}"] = _framework_value(entry)
            elif isinstance(score, Mapping):
                scores[name] = _number(score.get("value"))
    frameworks = document.get("frameworks")
    if isinstance(frameworks, list):  # SecurityAssessment.model_dump
        for entry in frameworks:
            if isinstance(entry, Mapping) and isinstance(entry.get("framework"), str):
                scores[f"framework:{entry['framework']}"] = _framework_value(entry)
    return scores


def counts_of(fingerprints: Iterable[FindingFingerprint]) -> tuple[dict[str, int], dict[str, int]]:
    """Findings by status, and failing findings by severity."""
    by_status: dict[str, int] = {}
    failing: dict[str, int] = {}
    for item in fingerprints:
        by_status[item.status.value] = by_status.get(item.status.value, 0) + 1
        if item.status is FindingStatus.FAIL:
            failing[item.severity.value] = failing.get(item.severity.value, 0) + 1
    return by_status, failing


def _framework_value(entry: Any) -> float | None:
    if isinstance(entry, Mapping) and isinstance(entry.get("score"), Mapping):
        return _number(entry["score"].get("value"))
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    return float(value) if isinstance(value, int | float) else None


def _text(finding: Mapping[str, Any], name: str, *, required: bool = False) -> str:
    value = finding.get(name)
    if value is None or value == "":
        if required:
            raise InvalidInput(f"a finding has no {name!r}")
        return ""
    return str(value)


def _worse(candidate: FindingFingerprint, incumbent: FindingFingerprint) -> bool:
    a, b = _STATUS_WEIGHT[candidate.status], _STATUS_WEIGHT[incumbent.status]
    return a > b or (a == b and candidate.severity.rank > incumbent.severity.rank)
