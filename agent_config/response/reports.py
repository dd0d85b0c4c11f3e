"""An assessment as a stable JSON document (for scripts and CI) and as Markdown (for people).

The JSON shape is a contract (`security-agent assess --format json`); fields are added, never
renamed or removed:

```
{"schema_version": 1,
 "assessment_id", "account_id", "regions", "created_at",
 "findings": [{"control_id", "status", "severity", "priority", "resource_id", "resource_arn",
               "region", "account_id", "title", "sources", "reasons", "evidence",
               "remediation", "documentation"}],
 "scores":   {"pass_ratio": {"value", "formula", "numerator", "denominator"}, "weighted": {...},
              "frameworks": {"fsbp": {...}, "cis": {...}, "well-architected": {...}}},
 "summary":  {"posture", "top_risks", "counts_by_severity", "not_assessed", "failing_outside_controls"},
 "degraded": [{"server", "reason", "error_kind"}],
 "stats":    {...}}
```
`priority` is the rank among failing findings (1 = most urgent) and null for the others.
"""

from __future__ import annotations

from typing import Any

from agent_config.interfaces import Finding, FindingStatus, SecurityAssessment, Severity

SCHEMA_VERSION = 1
_STATUS_ORDER = {
    FindingStatus.FAIL: 0,
    FindingStatus.MANUAL: 1,
    FindingStatus.PASS: 2,
    FindingStatus.NOT_APPLICABLE: 3,
}


def assessment_json(assessment: SecurityAssessment) -> dict[str, Any]:
    ranks = {id(p.finding): (p.priority, p.reasons) for p in assessment.prioritized}
    by_key = {p.finding.key: (p.priority, p.reasons) for p in assessment.prioritized}
    findings = []
    for finding in _ordered(assessment):
        priority, reasons = ranks.get(id(finding)) or by_key.get(finding.key) or (None, [])
        findings.append(
            {
                "control_id": finding.control_id,
                "status": finding.status.value,
                "severity": finding.severity.value,
                "priority": priority,
                "resource_id": finding.resource_id,
                "resource_arn": finding.resource_arn,
                "resource_type": finding.resource_type,
                "region": finding.region,
                "account_id": finding.account_id,
                "title": finding.title,
                "sources": finding.sources,
                "reasons": reasons,
                "evidence": finding.evidence,
                "remediation": finding.remediation.model_dump(mode="json") if finding.remediation else None,
                "documentation": [d.model_dump(mode="json") for d in finding.documentation],
            }
        )
    scores: dict[str, Any] = {s.name: s.model_dump(mode="json", exclude={"name"}) for s in assessment.scores}
    scores["frameworks"] = {
        f.framework: f.model_dump(mode="json", exclude={"framework"}) for f in assessment.frameworks
    }
    return {
        "schema_version": SCHEMA_VERSION,
        "assessment_id": assessment.assessment_id,
        "account_id": assessment.account_id,
        "regions": assessment.regions,
        "created_at": assessment.created_at.isoformat(),
        "findings": findings,
        "scores": scores,
        "summary": assessment.summary.model_dump(mode="json") if assessment.summary else {},
        "degraded": [d.model_dump(mode="json") for d in assessment.degraded],
        "stats": assessment.stats,
    }


def assessment_markdown(assessment: SecurityAssessment, top: int = 25) -> str:
    summary = assessment.summary
    lines = [
        f"# Security assessment of account {assessment.account_id or 'unknown'}",
        "",
        f"Regions: {', '.join(assessment.regions)} · assessment `{assessment.assessment_id}`",
        "",
    ]
    if summary:
        lines += ["## Summary", "", summary.posture, ""]
        counts = " · ".join(f"{s.value.title()}: {summary.counts_by_severity.get(s, 0)}" for s in Severity)
        lines += [f"Failing findings by severity: {counts}", ""]
    lines += ["## Scores", "", "| score | value | formula |", "|---|---|---|"]
    for score in assessment.scores:
        lines.append(f"| {score.name} | {_pct(score.value)} | {score.formula} |")
    for framework in assessment.frameworks:
        lines.append(
            f"| {framework.title} | {_pct(framework.score.value)} | {framework.passed} passed, {framework.failed} "
            f"failed, {framework.no_data} without data, {framework.not_assessable} not assessable automatically |"
        )
    lines += ["", f"## Top {min(top, len(assessment.prioritized))} risks", ""]
    for item in assessment.prioritized[:top]:
        finding = item.finding
        lines.append(
            f"{item.priority}. **{finding.control_id}** ({finding.severity.value}) `{_resource(finding)}` "
            f"in {finding.region}: {finding.title}"
        )
        lines.append(f"   - why here: {'; '.join(item.reasons)}")
        if finding.remediation:
            lines.append(f"   - fix: {finding.remediation.summary}")
            if finding.remediation.may_break:
                lines.append(f"   - may break: {finding.remediation.may_break}")
            if finding.remediation.verify_command:
                lines.append(f"   - verify: `{finding.remediation.verify_command}`")
        if finding.documentation:
            lines.append(f"   - docs: {finding.documentation[0].url}")
    if len(assessment.prioritized) > top:
        lines.append(f"\n{len(assessment.prioritized) - top} more failing findings: use --format json for all.")
    if summary and summary.not_assessed:
        lines += ["", "## Not assessed", ""] + [f"- {item}" for item in summary.not_assessed]
    return "\n".join(lines) + "\n"


def _ordered(assessment: SecurityAssessment) -> list[Finding]:
    ranked = [p.finding for p in assessment.prioritized]
    ranked_keys = {f.key for f in ranked}
    rest = sorted(
        (f for f in assessment.findings if f.key not in ranked_keys),
        key=lambda f: (_STATUS_ORDER[f.status], -f.severity.rank, f.control_id, f.region, f.resource_id),
    )
    return ranked + rest


def _pct(value: float | None) -> str:
    return "no data" if value is None else f"{value:.1f}%"


def _resource(finding: Finding) -> str:
    return finding.resource_id or finding.resource_arn or "account"
