"""`SecuritySynthesizer`: the seed's `DataSynthesizer`. Merges what every source said into one
de-duplicated, conflict-resolved, ranked assessment, and says why each item ranks where it does.

De-duplication: findings are the same when they name the same control on the same resource (its
ARN, else its id) in the same region (`Finding.key`); their sources and evidence are merged. Global
resources and controls (IAM, account-level S3 Block Public Access, the account's contacts) carry the
region `global` from every source, so a Security Hub IAM.5 finding meets our own IAM.5 result.

Conflict rules, applied in order when sources disagree about a status (the losing statuses are kept
in the evidence under `conflict`, with every rule that removed one):

1. **A definite answer beats a missing one**: PASS or FAIL beats MANUAL and NOT_APPLICABLE (a source
   that could not look says nothing about the resource).
2. **Live evidence beats a report**: a status read from the resource itself (the AWS API, the
   Security server's live service checks) beats one taken from a stored report (Security Hub or
   Inspector findings, which are as old as their last evaluation).
3. **Newer beats older**: the later observation wins (`Finding.observed_at`: the call time for live
   evidence, the report's own UpdatedAt or LastObservedAt for a report). Live sources asked in the
   same assessment share its call time, so between them this rule does not decide.
4. **FAIL beats PASS** when nothing else separates them: a possible exposure is reported, not hidden.

Prioritisation: the control's severity is the base (CRITICAL 400, HIGH 300, MEDIUM 200, LOW 100),
raised by context Security Hub's severity ignores, each with its reason:

- +60 exposure: the failure makes the resource reachable or readable from the internet;
- +40 blast radius: the resource grants or holds administrative permissions: a policy that allows
  '*' on '*' (IAM.1), a policy that allows `iam:*` (IAM.21: it can grant itself anything), the root
  user (IAM.4, IAM.6, IAM.9), and any user with AdministratorAccess or an IAM.1-failing policy
  attached directly (read from IAM.2's evidence, which lists the user's attached policies);
- +80 per toxic combination on the same resource: a public instance that also allows IMDSv1
  (credential theft from the internet); a public database that is also unencrypted; a publicly
  readable or writable bucket that also lacks Block Public Access; a console user without MFA
  (IAM.5) who holds administrative permissions.

Ties are broken by severity, control id, region and resource, so the ranking is deterministic.

Scores count catalogue controls only; threat and vulnerability findings, service status and the
services' own checks are ranked and counted beside them (`scoring.FindingKind`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
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
from agent_config.response.neutralize import neutralize, neutralize_note, safe_finding
from agent_config.response.scoring import (
    FindingKind,
    failing_outside_controls,
    finding_kind,
    framework_scores,
    overall_scores,
)

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

ADMIN_CONTROLS: Mapping[str, str] = {
    "IAM.1": "blast radius: the policy allows every action on every resource (administrative permissions)",
    "IAM.4": "blast radius: the root user can do anything in the account",
    "IAM.6": "blast radius: the root user can do anything in the account",
    "IAM.9": "blast radius: the root user can do anything in the account",
}
"""Controls whose failure is about administrative permissions by definition. KMS.1 (decrypt with
every key) is broad but not administrative; IAM.21 counts only when it allows `iam:*`."""
ADMIN_MANAGED_POLICY = "AdministratorAccess"
ADMIN_EVIDENCE_CONTROL = "IAM.2"
"""The control whose evidence lists a user's directly attached policies (`attached_policies`)."""
IAM_WILDCARD = "iam:*"
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
# (controls that must all fail on a principal holding administrative permissions, reason); the
# finding that shows the permissions (IAM.2) is part of the combination too
ADMIN_TOXIC_COMBINATIONS: tuple[tuple[frozenset[str], str], ...] = (
    (
        frozenset({"IAM.5"}),
        "toxic combination: a console user without MFA holds administrative permissions: one phished or "
        "guessed password controls the whole account",
    ),
)

Resource = tuple[str, str]


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
        # titles and ids that did not come from the catalogue are made safe once, here, so every
        # answer built from the assessment (and the stored report) quotes them safely
        merged = [safe_finding(f, self.catalogue) for f in self.resolve_conflicts(findings)]
        account_ids = sorted({f.account_id for f in merged if f.account_id})
        regions = sorted({f.region for f in merged if f.region})
        assessment = SecurityAssessment(
            assessment_id=assessment_id,
            account_id=account_ids[0] if account_ids else None,
            regions=regions,
            findings=merged,
            prioritized=self.prioritize_recommendations(merged),
            scores=overall_scores(merged, self.catalogue),
            frameworks=framework_scores(merged, self.catalogue),
            degraded=list(degraded),
        )
        return assessment.model_copy(update={"summary": self.generate_executive_summary(assessment)})

    def resolve_conflicts(self, findings: Sequence[Finding]) -> list[Finding]:
        groups: dict[tuple[str, str, str], list[Finding]] = defaultdict(list)
        for finding in findings:
            groups[finding.key].append(finding)
        return sorted((_merge(group) for group in groups.values()), key=_order)

    def prioritize_recommendations(self, findings: Sequence[Finding]) -> list[PrioritizedFinding]:
        admins = admin_principals(findings)
        failing = [f for f in findings if f.status is FindingStatus.FAIL]
        failing_by_resource: dict[Resource, set[str]] = defaultdict(set)
        for finding in failing:
            failing_by_resource[_resource(finding)].add(finding.control_id)
        scored = []
        for finding in failing:
            points, reasons = self._score(finding, failing_by_resource[_resource(finding)], admins)
            scored.append((points, finding, reasons))
        scored.sort(key=lambda item: (-item[0], *_order(item[1])))
        return [
            PrioritizedFinding(finding=finding, priority=rank, reasons=reasons)
            for rank, (_, finding, reasons) in enumerate(scored, start=1)
        ]

    def _score(
        self, finding: Finding, failing_here: set[str], admins: Mapping[Resource, list[str]]
    ) -> tuple[int, list[str]]:
        points = SEVERITY_POINTS[finding.severity]
        control = self.catalogue.find(finding.control_id)
        if finding_kind(finding, self.catalogue) is FindingKind.THREAT_OR_VULNERABILITY:
            reasons = [f"finding severity {finding.severity.value} (as the reporting service rates it)"]
        elif control is not None and control.origin == "agent":
            reasons = [f"control severity {finding.severity.value} (the agent's own control and rating)"]
        else:
            reasons = [f"control severity {finding.severity.value} (AWS Security Hub)"]
        if finding.control_id in EXPOSURE_CONTROLS or (control is not None and control.public_exposure):
            points += EXPOSURE_POINTS
            reasons.append("exposure: the failure makes the resource reachable or readable from the internet")
        admin_policies = admins.get(_resource(finding))
        blast = _blast_radius(finding, admin_policies)
        if blast is not None:
            points += BLAST_RADIUS_POINTS
            reasons.append(blast)
        for controls, reason in TOXIC_COMBINATIONS:
            if finding.control_id in controls and controls <= failing_here:
                points += TOXIC_POINTS
                reasons.append(reason)
        if admin_policies:
            for controls, reason in ADMIN_TOXIC_COMBINATIONS:
                members = controls | {ADMIN_EVIDENCE_CONTROL}
                if finding.control_id in members and controls <= failing_here:
                    points += TOXIC_POINTS
                    reasons.append(reason)
        return points, reasons

    def generate_executive_summary(self, assessment: SecurityAssessment) -> ExecutiveSummary:
        findings = assessment.findings
        failing = [f for f in findings if f.status is FindingStatus.FAIL]
        counts = Counter(f.severity for f in failing)
        by_severity = {severity: counts.get(severity, 0) for severity in Severity}
        manual = [f for f in findings if f.status is FindingStatus.MANUAL]
        not_assessed = sorted({_manual_text(f) for f in manual})[:20]
        not_assessed += [f"{d.server}: {neutralize_note(d.reason)}" for d in assessment.degraded]
        outside = failing_outside_controls(findings, self.catalogue)
        posture = self._posture(assessment, failing, outside, len(manual))
        if assessment.prioritized:
            top = assessment.prioritized[0].finding
            posture += f"The most urgent is {_control_id(top)} on {_name(top)}: {self._title(top)}. "
        elif any(f.status is FindingStatus.PASS for f in findings):
            posture += "No control failed. "
        if manual:
            posture += f"{len(manual)} checks could not be evaluated and are listed as not assessed."
        elif assessment.degraded:
            posture += "Every selected check could be evaluated; some sources could not be read (see degraded)."
        elif findings:
            posture += "Every selected check could be evaluated."
        return ExecutiveSummary(
            posture=posture.strip(),
            top_risks=self._top_risks(assessment.prioritized),
            counts_by_severity=by_severity,
            not_assessed=not_assessed,
            failing_outside_controls=outside,
        )

    def _posture(
        self, assessment: SecurityAssessment, failing: list[Finding], outside: Mapping[str, int], manual: int
    ) -> str:
        """The first sentences: the control scores, then what else the services reported."""
        pass_ratio = next((s for s in assessment.scores if s.name == "pass_ratio"), None)
        control_failures = [f for f in failing if f.control_id in self.catalogue]
        if pass_ratio is None or pass_ratio.value is None:
            posture = f"No control could be assessed: {self._why_nothing(assessment, manual)}. "
        elif not control_failures:
            posture = f"{pass_ratio.value:.0f}% of the assessed controls pass; no control fails. "
        else:
            critical_high = sum(1 for f in control_failures if f.severity.rank >= Severity.HIGH.rank)
            posture = (
                f"{pass_ratio.value:.0f}% of the assessed controls pass; "
                f"{len({f.control_id for f in control_failures})} controls fail on "
                f"{len({_resource(f) for f in control_failures})} resources, {critical_high} of the failures "
                "critical or high. "
            )
        if outside:
            others = [f for f in failing if f.control_id not in self.catalogue]
            severe = sum(1 for f in others if f.severity.rank >= Severity.HIGH.rank)
            parts = [f"{count} {_KIND_WORDS[kind]}" for kind, count in outside.items()]
            posture += (
                f"The security services also report {_join(parts)} ({severe} of them critical or high), ranked "
                "with the controls but not counted in the control scores. "
            )
        return posture

    @staticmethod
    def _why_nothing(assessment: SecurityAssessment, manual: int) -> str:
        if not assessment.findings and not assessment.degraded:
            return "no source returned a result for the selected Regions and services"
        reasons = []
        if manual:
            reasons.append(f"{manual} checks lacked the data or permission they need")
        if assessment.degraded:
            servers = sorted({d.server for d in assessment.degraded})
            reasons.append(f"{len(assessment.degraded)} parts failed ({', '.join(servers)}; see not assessed)")
        if not reasons:
            reasons.append("no catalogued control applies to what was found")
        return "; ".join(reasons)

    def _title(self, finding: Finding) -> str:
        control = self.catalogue.find(finding.control_id)
        return control.title if control is not None else neutralize(finding.title)

    def _top_risks(self, prioritized: Iterable[PrioritizedFinding], limit: int = 5) -> list[str]:
        risks: list[str] = []
        seen: set[str] = set()
        for item in prioritized:
            finding = item.finding
            if finding.control_id in seen:
                continue
            seen.add(finding.control_id)
            control = self.catalogue.find(finding.control_id)
            risk = control.risk if control else neutralize(finding.title)
            risks.append(f"{_control_id(finding)} ({finding.severity.value}) on {_name(finding)}: {risk}")
            if len(risks) == limit:
                break
        return risks


_KIND_WORDS = {
    "threat_or_vulnerability": "threat or vulnerability findings",
    "service_status": "security services not enabled",
    "other_check": "failing checks of their own",
}


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


# ---------------------------------------------------------------------------------------------
# Administrative permissions
# ---------------------------------------------------------------------------------------------


def admin_principals(findings: Iterable[Finding]) -> dict[Resource, list[str]]:
    """Users that hold administrative permissions, with the policies that give them.

    Decided from what the findings already hold, no extra call: IAM.2's evidence lists the policies
    attached directly to a user (`attached_policies`, by name); a policy is administrative when it is
    AWS's AdministratorAccess or a customer policy that fails IAM.1 ('*' on '*') in the same
    assessment (matched by name and ARN). Policies reached through groups or inline policies are not
    in the evidence, so a user is never called administrative on a guess.
    """
    findings = list(findings)
    admin_policies = {ADMIN_MANAGED_POLICY}
    for finding in findings:
        if finding.control_id == "IAM.1" and finding.status is FindingStatus.FAIL:
            admin_policies.update(n for n in (finding.resource_id, finding.resource_arn) if n)
            if finding.resource_arn:
                admin_policies.add(finding.resource_arn.rsplit("/", 1)[-1])
    admins: dict[Resource, list[str]] = {}
    for finding in findings:
        if finding.control_id != ADMIN_EVIDENCE_CONTROL:
            continue
        attached = finding.evidence.get("attached_policies")
        names = [str(n) for n in attached] if isinstance(attached, list) else []
        held = sorted({n for n in names if n in admin_policies})
        if held:
            admins[_resource(finding)] = held
    return admins


def _blast_radius(finding: Finding, admin_policies: list[str] | None) -> str | None:
    """Why a failure involves administrative permissions, or None."""
    if finding.control_id in ADMIN_CONTROLS:
        return ADMIN_CONTROLS[finding.control_id]
    wildcards = finding.evidence.get("service_wildcards")
    if finding.control_id == "IAM.21" and isinstance(wildcards, list) and IAM_WILDCARD in wildcards:
        return "blast radius: the policy allows iam:*, so whoever holds it can grant itself anything"
    if admin_policies:
        held = ", ".join(neutralize(p) for p in admin_policies[:3])
        return f"blast radius: the user holds administrative permissions ({held} attached directly)"
    return None


# ---------------------------------------------------------------------------------------------
# Merging
# ---------------------------------------------------------------------------------------------

_DEFINITE = (FindingStatus.PASS, FindingStatus.FAIL)
RULE_DEFINITE = "a definite answer beats a missing one"
RULE_LIVE = "live evidence beats a stored report"
RULE_NEWER = "newer beats older"
RULE_FAIL = "FAIL beats PASS on a tie"
RULE_NONE_DEFINITE = "no source had a definite answer; the newest is kept"
RULE_AGREE = "the sources agree"


def _merge(group: list[Finding]) -> Finding:
    if len(group) == 1:
        return group[0]
    winner, rules = _decide(group)
    sources = sorted({s for f in group for s in f.sources})
    evidence: dict[str, Any] = {}
    for finding in sorted(group, key=lambda f: f is winner):  # the winner's fields last, so they stay
        evidence.update(finding.evidence)
    statuses = {f.status for f in group}
    if len(statuses) > 1:
        evidence["conflict"] = {
            "rule": "; ".join(rules),
            "rules": rules,
            "statuses": [
                {
                    "sources": f.sources,
                    "status": f.status.value,
                    "origin": REPORT_ORIGIN if _is_report(f) else "live",
                    "observed_at": f.observed_at.isoformat(),
                }
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


def _decide(group: list[Finding]) -> tuple[Finding, list[str]]:
    """The finding whose status stands, and every rule that removed a differing status, in order."""
    definite = [f for f in group if f.status in _DEFINITE]
    if not definite:
        return _latest(group), [RULE_NONE_DEFINITE]
    rules: list[str] = []
    if len(definite) < len(group):
        rules.append(RULE_DEFINITE)
    live = [f for f in definite if not _is_report(f)]
    if live and len(live) < len(definite) and _differ(definite):
        rules.append(RULE_LIVE)
        definite = live
    elif live and len(live) < len(definite):
        definite = live  # the report agrees: the live reading is kept, no rule decided anything
    if _differ(definite):
        newest = max(f.observed_at for f in definite)
        latest = [f for f in definite if f.observed_at == newest]
        if not _differ(latest):
            rules.append(RULE_NEWER)
            definite = latest
        else:
            rules.append(RULE_FAIL)
            definite = [f for f in latest if f.status is FindingStatus.FAIL]
    return _latest(definite), rules or [RULE_AGREE]


def _differ(findings: Sequence[Finding]) -> bool:
    return len({f.status for f in findings}) > 1


def _latest(findings: Sequence[Finding]) -> Finding:
    """The newest observation; between equally new ones, live evidence, then the first given."""
    return max(findings, key=lambda f: (f.observed_at, not _is_report(f)))


def _is_report(finding: Finding) -> bool:
    return finding.evidence.get("origin") == REPORT_ORIGIN


def _resource(finding: Finding) -> Resource:
    return (finding.resource_arn or finding.resource_id, finding.region)


def _name(finding: Finding) -> str:
    return neutralize(finding.resource_id or finding.resource_arn or "the account")


def _control_id(finding: Finding) -> str:
    return neutralize(finding.control_id)


def _manual_text(finding: Finding) -> str:
    missing = finding.evidence.get("missing") or "data was missing"
    return f"{_control_id(finding)}: {neutralize(str(missing))}"


def _order(finding: Finding) -> tuple[int, str, str, str]:
    return (-finding.severity.rank, finding.control_id, finding.region, finding.resource_id)
