"""`SecuritySynthesizer`: the seed's `DataSynthesizer`. Merges what every source said into one
de-duplicated, conflict-resolved, ranked assessment, and says why each item ranks where it does.

De-duplication: findings are the same when they name the same control on the same resource (its
ARN, else its id) in the same region (`Finding.key`); their sources and evidence are merged.

Conflict rules, applied in order when sources disagree about a status (the losing statuses are kept
in the evidence under `conflict`, with the rule that decided):

1. **A definite answer beats a missing one**: PASS or FAIL beats MANUAL and NOT_APPLICABLE (a source
   that could not look says nothing about the resource).
2. **Live evidence beats a report**: a status read from the resource itself (the AWS API, the
   Security server's live service checks) beats one taken from a stored report (Security Hub or
   Inspector findings, which are as old as their last evaluation).
3. **Newer beats older**: between equally live sources, the later observation wins.
4. **FAIL beats PASS** when nothing else separates them: a possible exposure is reported, not hidden.

Prioritisation: the control's severity is the base (CRITICAL 400, HIGH 300, MEDIUM 200, LOW 100),
raised by context Security Hub's severity ignores, each with its reason:

- +60 exposure: the failure makes the resource reachable or readable from the internet;
- +40 blast radius: the resource grants or holds administrative permissions (IAM.1, IAM.2 on admin);
- +80 per toxic combination on the same resource: a public instance that also allows IMDSv1
  (credential theft from the internet); a public database that is also unencrypted; a publicly
  readable bucket that also lacks Block Public Access; a console user without MFA on an account
  with an admin policy.

Ties are broken by severity, control id, region and resource, so the ranking is deterministic.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from agent_config.checks.catalogue import Catalogue, load_catalogue
from agent_config.interfaces import (
    DegradedSource,
    ExecutiveSummary,
    Finding,
    FindingStatus,
    PrioritizedFinding,
    SecurityAssessment,
    Severity,
)
from agent_config.response.neutralize import neutralize
from agent_config.response.scoring import framework_scores, overall_scores

SEVERITY_POINTS = {
    Severity.CRITICAL: 400,
    Severity.HIGH: 300,
    Severity.MEDIUM: 200,
    Severity.LOW: 100,
    Severity.INFORMATIONAL: 0,
}
EXPOSURE_POINTS = 60
BLAST_RADIUS_POINTS = 40
TOXIC_POINTS = 80
REPORT_ORIGIN = "report"
"""`evidence["origin"]` of findings taken from a stored report (Security Hub, Inspector...)."""

ADMIN_CONTROLS = frozenset({"IAM.1", "KMS.1", "IAM.21"})
EXPOSURE_CONTROLS = frozenset(
    {
        "S3.1",
        "S3.2",
        "S3.3",
        "S3.8",
        "EC2.1",
        "EC2.2",
        "EC2.9",
        "EC2.13",
        "EC2.14",
        "EC2.18",
        "EC2.19",
        "EC2.21",
        "RDS.1",
        "RDS.2",
        "Lambda.1",
        "EKS.1",
        "SSM.4",
    }
)
# (controls that must all fail on one resource, reason)
TOXIC_COMBINATIONS: tuple[tuple[frozenset[str], str], ...] = (
    (
        frozenset({"EC2.9", "EC2.8"}),
        "toxic combination: a public instance that allows IMDSv1 lets anyone who reaches it steal its role's "
        "credentials",
    ),
    (
        frozenset({"RDS.2", "RDS.3"}),
        "toxic combination: a publicly accessible database whose storage is also unencrypted",
    ),
    (
        frozenset({"S3.2", "S3.8"}),
        "toxic combination: a publicly readable bucket with bucket-level Block Public Access off",
    ),
    (
        frozenset({"S3.3", "S3.8"}),
        "toxic combination: a publicly writable bucket with bucket-level Block Public Access off",
    ),
)


class SecuritySynthesizer:
    def __init__(self, catalogue: Catalogue | None = None) -> None:
        self._catalogue = catalogue

    @property
    def catalogue(self) -> Catalogue:
        if self._catalogue is None:
            self._catalogue = load_catalogue()
        return self._catalogue

    # -----------------------------------------------------------------------------------------

    def synthesize_security_assessment(
        self, findings: Sequence[Finding], degraded: Sequence[DegradedSource], assessment_id: str
    ) -> SecurityAssessment:
        merged = self.resolve_conflicts(findings)
        account_ids = sorted({f.account_id for f in merged if f.account_id})
        regions = sorted({f.region for f in merged if f.region})
        assessment = SecurityAssessment(
            assessment_id=assessment_id,
            account_id=account_ids[0] if account_ids else None,
            regions=regions,
            findings=merged,
            prioritized=self.prioritize_recommendations(merged),
            scores=overall_scores(merged, self.catalogue),
            frameworks=framework_scores(merged),
            degraded=list(degraded),
        )
        return assessment.model_copy(update={"summary": self.generate_executive_summary(assessment)})

    def resolve_conflicts(self, findings: Sequence[Finding]) -> list[Finding]:
        groups: dict[tuple[str, str, str], list[Finding]] = defaultdict(list)
        for finding in findings:
            groups[finding.key].append(finding)
        return sorted((_merge(group) for group in groups.values()), key=_order)

    def prioritize_recommendations(self, findings: Sequence[Finding]) -> list[PrioritizedFinding]:
        failing = [f for f in findings if f.status is FindingStatus.FAIL]
        failing_by_resource: dict[tuple[str, str], set[str]] = defaultdict(set)
        for finding in failing:
            failing_by_resource[_resource(finding)].add(finding.control_id)
        scored = []
        for finding in failing:
            points, reasons = self._score(finding, failing_by_resource[_resource(finding)])
            scored.append((points, finding, reasons))
        scored.sort(key=lambda item: (-item[0], *_order(item[1])))
        return [
            PrioritizedFinding(finding=finding, priority=rank, reasons=reasons)
            for rank, (_, finding, reasons) in enumerate(scored, start=1)
        ]

    def _score(self, finding: Finding, failing_here: set[str]) -> tuple[int, list[str]]:
        points = SEVERITY_POINTS[finding.severity]
        reasons = [f"control severity {finding.severity.value} (AWS Security Hub)"]
        control = self.catalogue.find(finding.control_id)
        if finding.control_id in EXPOSURE_CONTROLS or (control is not None and control.public_exposure):
            points += EXPOSURE_POINTS
            reasons.append("exposure: the failure makes the resource reachable or readable from the internet")
        if finding.control_id in ADMIN_CONTROLS or finding.evidence.get("admin") is True:
            points += BLAST_RADIUS_POINTS
            reasons.append("blast radius: administrative permissions are involved")
        for controls, reason in TOXIC_COMBINATIONS:
            if finding.control_id in controls and controls <= failing_here:
                points += TOXIC_POINTS
                reasons.append(reason)
        return points, reasons

    def generate_executive_summary(self, assessment: SecurityAssessment) -> ExecutiveSummary:
        findings = assessment.findings
        failing = [f for f in findings if f.status is FindingStatus.FAIL]
        counts = Counter(f.severity for f in failing)
        by_severity = {severity: counts.get(severity, 0) for severity in Severity}
        manual = [f for f in findings if f.status is FindingStatus.MANUAL]
        pass_ratio = next((s for s in assessment.scores if s.name == "pass_ratio"), None)
        ratio_text = f"{pass_ratio.value:.0f}%" if pass_ratio and pass_ratio.value is not None else "no"
        controls_failing = len({f.control_id for f in failing})
        critical_high = by_severity[Severity.CRITICAL] + by_severity[Severity.HIGH]
        posture = (
            f"{ratio_text} of the assessed controls pass; {controls_failing} controls fail on "
            f"{len({_resource(f) for f in failing})} resources, {critical_high} of the failures critical or high. "
        )
        if assessment.prioritized:
            top = assessment.prioritized[0].finding
            posture += f"The most urgent is {top.control_id} on {_name(top)}: {top.title}. "
        else:
            posture += "No control failed. "
        not_assessed = sorted({_manual_text(f) for f in manual})[:20]
        not_assessed += [f"{d.server}: {d.reason}" for d in assessment.degraded]
        posture += (
            f"{len(manual)} checks could not be evaluated and are listed as not assessed."
            if manual or assessment.degraded
            else "Every selected check could be evaluated."
        )
        return ExecutiveSummary(
            posture=posture,
            top_risks=self._top_risks(assessment.prioritized),
            counts_by_severity=by_severity,
            not_assessed=not_assessed,
        )

    def _top_risks(self, prioritized: Iterable[PrioritizedFinding], limit: int = 5) -> list[str]:
        risks: list[str] = []
        seen: set[str] = set()
        for item in prioritized:
            finding = item.finding
            if finding.control_id in seen:
                continue
            seen.add(finding.control_id)
            control = self.catalogue.find(finding.control_id)
            risk = control.risk if control else finding.title
            risks.append(f"{finding.control_id} ({finding.severity.value}) on {_name(finding)}: {risk}")
            if len(risks) == limit:
                break
        return risks


# ---------------------------------------------------------------------------------------------
# Merging
# ---------------------------------------------------------------------------------------------

_DEFINITE = (FindingStatus.PASS, FindingStatus.FAIL)


def _merge(group: list[Finding]) -> Finding:
    if len(group) == 1:
        return group[0]
    winner, rule = _decide(group)
    sources = sorted({s for f in group for s in f.sources})
    evidence: dict[str, Any] = {}
    for finding in sorted(group, key=lambda f: f is winner):  # the winner's fields last, so they stay
        evidence.update(finding.evidence)
    statuses = {f.status for f in group}
    if len(statuses) > 1:
        evidence["conflict"] = {
            "rule": rule,
            "statuses": [
                {"sources": f.sources, "status": f.status.value, "observed_at": f.observed_at.isoformat()}
                for f in group
            ],
        }
    documentation = list({link.url: link for f in group for link in f.documentation}.values())
    return winner.model_copy(
        update={
            "sources": sources,
            "evidence": evidence,
            "documentation": documentation,
            "remediation": winner.remediation or next((f.remediation for f in group if f.remediation), None),
            "resource_arn": winner.resource_arn or next((f.resource_arn for f in group if f.resource_arn), None),
        }
    )


def _decide(group: list[Finding]) -> tuple[Finding, str]:
    definite = [f for f in group if f.status in _DEFINITE]
    if not definite:
        return max(group, key=lambda f: f.observed_at), "no source had a definite answer; the newest is kept"
    rule = "a definite answer beats a missing one" if len(definite) < len(group) else ""
    live = [f for f in definite if f.evidence.get("origin") != REPORT_ORIGIN]
    if live and len(live) < len(definite):
        definite, rule = live, rule or "live evidence beats a stored report"
    if len({f.status for f in definite}) == 1:
        return max(definite, key=lambda f: f.observed_at), rule or "the sources agree"
    newest = max(f.observed_at for f in definite)
    latest = [f for f in definite if f.observed_at == newest]
    if len({f.status for f in latest}) == 1:
        return latest[0], rule or "newer beats older"
    return next(f for f in latest if f.status is FindingStatus.FAIL), rule or "FAIL beats PASS on a tie"


def _resource(finding: Finding) -> tuple[str, str]:
    return (finding.resource_arn or finding.resource_id, finding.region)


def _name(finding: Finding) -> str:
    return neutralize(finding.resource_id or finding.resource_arn or "the account")


def _manual_text(finding: Finding) -> str:
    missing = finding.evidence.get("missing") or "data was missing"
    return f"{finding.control_id}: {neutralize(str(missing))}"


def _order(finding: Finding) -> tuple[int, str, str, str]:
    return (-finding.severity.rank, finding.control_id, finding.region, finding.resource_id)
