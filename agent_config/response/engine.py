"""`AnswerEngine`: the seed's `ResponseEngine`. Turns an assessment into answers a security engineer
would be glad to receive, that the agent's model can use without guessing.

- `transform_multi_source_response`: one coherent answer: posture, scores with their formulas,
  the prioritised findings (each with its reasons, fix and documentation), which source said what
  (the Security server, live resource evidence, or both), and what could not be assessed.
- `create_contextual_analysis`: what changed since the session's previous assessment: new,
  resolved and persisting failures.
- `generate_action_plan`: phases (now, this week, this quarter), one step per control covering its
  resources, each with the command or console path, what it changes, what it could break and the
  read-only command that verifies it; effort and risk-reduction estimates. Nothing is executed.
- `format_with_documentation_links`: official documentation for every recommendation, from the
  Knowledge server when it answered, else the catalogue's own links; never a made-up URL.

Account-derived text (resource names, reasons quoting them, evidence) is neutralised here, once, and
so are titles and ids that did not come from the catalogue (Security Hub, GuardDuty and Inspector
titles can be written by outsiders through `BatchImportFindings`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from agent_config.checks.catalogue import ACCOUNT_RESOURCE_TYPE, Catalogue, load_catalogue
from agent_config.interfaces import (
    ActionPlan,
    ActionStep,
    AgentAnswer,
    DocumentationLink,
    Finding,
    FindingStatus,
    PrioritizedFinding,
    SecurityAssessment,
    Severity,
)
from agent_config.response.neutralize import DATA_NOTICE, neutralize, neutralize_tree, safe_finding
from agent_config.response.scoring import OUTSIDE_SCORES_NOTE
from agent_config.session.diff import diff_fingerprints
from agent_config.session.fingerprints import fingerprints_of
from agent_config.session.models import FindingFingerprint

PHASE_NOW, PHASE_WEEK, PHASE_QUARTER = "now", "this week", "this quarter"
MAX_DOCS_PER_FINDING = 2
MAX_STEP_FINDING_IDS = 5
PLAN_NOTE = (
    "Advice only: nothing is executed and the agent never changes the account. Each step fixes one control "
    "on the finding_ids listed (its title counts them all). risk_reduction: high, medium or low by the "
    "control's weight (1-1000, the catalogue's rating from severity, public exposure and account scope: "
    "high from 600, medium from 250), then how many failures the step closes. changes: what the fix does; "
    "cli or console: the first command or console path (getRemediationPlan with a finding_id gives every "
    "step, CLI command and IaC); may_break: what to check first; verify: the read-only command to run after."
)
"""Stated once in every answer that carries plan steps, so each step stays compact."""
SLOW_FIXES = {
    "IAM.1": "hours: find who relies on the broad permissions (IAM Access Advisor) before narrowing them",
    "IAM.21": "hours: find who relies on the broad permissions (IAM Access Advisor) before narrowing them",
    "KMS.1": "hours: find who relies on the broad permissions before narrowing them",
    "IAM.5": "days: every console user has to enrol an MFA device",
    "IAM.6": "minutes, but only the root user can do it, in the console",
    "IAM.9": "minutes, but only the root user can do it, in the console",
    "CloudTrail.1": "an hour: a multi-Region trail needs a log bucket with a policy",
    "Config.1": "an hour: a recorder needs a delivery channel and a role",
    "RDS.3": "hours to days: encryption needs a snapshot, an encrypted copy and a cut-over",
    "EC2.3": "hours: an unencrypted volume is replaced from an encrypted snapshot copy",
    "EFS.1": "days: an unencrypted file system is replaced and its data copied",
}


class AnswerEngine:
    def __init__(self, catalogue: Catalogue | None = None) -> None:
        self._catalogue = catalogue

    @property
    def catalogue(self) -> Catalogue:
        if self._catalogue is None:
            self._catalogue = load_catalogue()
        return self._catalogue

    # -----------------------------------------------------------------------------------------

    def transform_multi_source_response(self, assessment: SecurityAssessment) -> AgentAnswer:
        summary = assessment.summary
        findings = [self.finding_card(item.finding, item.priority, item.reasons) for item in assessment.prioritized]
        data: dict[str, Any] = {
            "assessment_id": assessment.assessment_id,
            "account_id": assessment.account_id,
            "regions": assessment.regions,
            "scores": {s.name: {"value": s.value, "formula": s.formula} for s in assessment.scores},
            "counts_by_severity": {k.value: v for k, v in summary.counts_by_severity.items()} if summary else {},
            "top_risks": summary.top_risks if summary else [],
            "sources": self._sources(assessment.findings),
            "not_assessed": (summary.not_assessed if summary else [])[:15],
            "findings": findings,
            "data_notice": DATA_NOTICE,
        }
        if summary and summary.failing_outside_controls:
            # threats, vulnerabilities and service status: ranked above, counted here, not in the scores
            data["failing_outside_control_scores"] = {**summary.failing_outside_controls, "note": OUTSIDE_SCORES_NOTE}
        return AgentAnswer(
            summary=summary.posture if summary else "The assessment produced no summary.",
            data=data,
            degraded=assessment.degraded,
        )

    def finding_card(
        self, finding: Finding, priority: int | None = None, reasons: Sequence[str] = ()
    ) -> dict[str, Any]:
        """A finding as the model sees it: compact, account text and outsiders' titles neutralised."""
        finding = safe_finding(finding, self.catalogue)
        card: dict[str, Any] = {
            "finding_id": finding.finding_id,
            "control_id": finding.control_id,
            "title": finding.title,
            "status": finding.status.value,
            "severity": finding.severity.value,
            "resource": neutralize(finding.resource_id or finding.resource_arn or "account"),
            "region": finding.region,
            "sources": finding.sources,
        }
        if priority is not None:
            card["priority"] = priority
            card["why_this_rank"] = list(reasons)
        reason = finding.evidence.get("reason")
        if isinstance(reason, str):
            card["evidence"] = neutralize(reason)
        if finding.status is FindingStatus.MANUAL and finding.evidence.get("missing"):
            card["missing"] = neutralize(str(finding.evidence["missing"]))
        conflict = finding.evidence.get("conflict")
        if isinstance(conflict, dict):
            card["sources_disagreed"] = neutralize_tree(conflict)
        if finding.remediation:
            card["fix"] = finding.remediation.summary
        if finding.documentation:
            card["docs"] = [link.url for link in finding.documentation[:MAX_DOCS_PER_FINDING]]
        return card

    @staticmethod
    def _sources(findings: Sequence[Finding]) -> dict[str, int]:
        counts: dict[str, int] = {}
        for finding in findings:
            label = "+".join(sorted(finding.sources)) or "unknown"
            counts[label] = counts.get(label, 0) + 1
        return counts

    # -----------------------------------------------------------------------------------------

    def create_contextual_analysis(
        self, current: SecurityAssessment, previous: SecurityAssessment | None
    ) -> dict[str, Any]:
        """New, resolved, persisting and not-reassessed failures (the rules are `session.diff`'s)."""
        if previous is None:
            return {"first_assessment_in_session": True}
        changes = diff_fingerprints(
            fingerprints_of(previous.findings),
            fingerprints_of(current.findings),
            current_assessment_id=current.assessment_id,
            previous_assessment_id=previous.assessment_id,
            current_regions=current.regions,
        )
        return {
            "previous_assessment_id": previous.assessment_id,
            "previous_at": previous.created_at.isoformat(),
            "new": [_brief(f) for f in changes.new],
            "resolved": [_brief(f) for f in changes.resolved],
            "persisting": len(changes.persisting),
            "not_reassessed": [_brief(f) for f in changes.not_reassessed],
        }

    # -----------------------------------------------------------------------------------------

    def generate_action_plan(self, findings: Sequence[PrioritizedFinding]) -> ActionPlan:
        by_control: OrderedDict[str, list[PrioritizedFinding]] = OrderedDict()
        for item in findings:
            if item.finding.status is FindingStatus.FAIL and item.finding.remediation is not None:
                by_control.setdefault(item.finding.control_id, []).append(item)
        steps = [self._step(control_id, items) for control_id, items in by_control.items()]
        order = {PHASE_NOW: 0, PHASE_WEEK: 1, PHASE_QUARTER: 2}
        steps.sort(key=lambda step: order[step.phase])  # stable: priority order within a phase
        return ActionPlan(steps=steps)

    @staticmethod
    def step_card(step: ActionStep, *, console_steps: int = 0, cli_commands: int = 0) -> dict[str, Any]:
        """One plan step as the model sees it: everything needed to act on it, compactly (`PLAN_NOTE`
        explains the fields once per answer).

        By default only the first CLI command (else the first console step) is given: a plan shows
        many steps and the full procedure is one `getRemediationPlan` away. A service analysis asks
        for more (`console_steps`, `cli_commands`) because it promises step-by-step remediation.
        """
        fix = step.remediation
        card: dict[str, Any] = {
            "phase": step.phase,
            "step": step.title,
            "finding_ids": step.finding_ids[:MAX_STEP_FINDING_IDS],
            "effort": step.effort,
            "risk_reduction": step.risk_reduction,
            "changes": fix.summary,
        }
        if console_steps or cli_commands:
            card["console"] = fix.console_steps[:console_steps]
            card["cli"] = fix.cli_commands[:cli_commands]
        elif fix.cli_commands:
            card["cli"] = fix.cli_commands[:1]
        elif fix.console_steps:
            card["console"] = fix.console_steps[:1]
        card["may_break"] = fix.may_break
        card["verify"] = fix.verify_command
        return card

    def _step(self, control_id: str, items: list[PrioritizedFinding]) -> ActionStep:
        first = safe_finding(items[0].finding, self.catalogue)
        assert first.remediation is not None
        control = self.catalogue.find(control_id)
        resources = [neutralize(i.finding.resource_id or "account") for i in items]
        return ActionStep(
            phase=_phase(items),
            control_id=first.control_id,
            title=f"{first.title} ({len(items)} resource{'s' if len(items) != 1 else ''})",
            resources=resources[:20],
            finding_ids=[i.finding.finding_id for i in items][:20],
            remediation=first.remediation,
            effort=_effort(control_id, first, len(items)),
            risk_reduction=_risk_reduction(control.weight if control else None, first.severity, len(items)),
            documentation=first.documentation[:MAX_DOCS_PER_FINDING],
        )

    # -----------------------------------------------------------------------------------------

    def format_with_documentation_links(
        self, answer: AgentAnswer, found: Mapping[str, Sequence[DocumentationLink]]
    ) -> AgentAnswer:
        """Attach documentation to every finding card: Knowledge server results for its control first,
        then the catalogue's links; the answer's own list gathers them, de-duplicated."""
        cards = answer.data.get("findings", [])
        gathered: OrderedDict[str, DocumentationLink] = OrderedDict((d.url, d) for d in answer.documentation)
        new_cards = []
        for card in cards:
            links = list(found.get(card.get("control_id", ""), ()))
            control = self.catalogue.find(card.get("control_id", ""))
            if control:
                links += list(control.documentation)
            unique = list(OrderedDict((link.url, link) for link in links).values())[:MAX_DOCS_PER_FINDING]
            if unique:
                for link in unique:
                    gathered.setdefault(link.url, link)
                new_cards.append({**card, "docs": [link.url for link in unique]})
            else:
                new_cards.append(card)
        return answer.model_copy(
            update={
                "data": {**answer.data, "findings": new_cards},
                "documentation": list(gathered.values())[:12],
            }
        )


def _short_name(resource: str) -> str:
    """`arn:aws:s3:::acme-uploads` -> `acme-uploads`; `...:security-group/sg-1` -> `sg-1`; ids unchanged."""
    if not resource.startswith("arn:"):
        return resource
    tail = resource.split(":", 5)[-1]
    return tail.rsplit("/", 1)[-1] or resource


def _phase(items: Sequence[PrioritizedFinding]) -> str:
    worst = items[0]
    reasons = " ".join(worst.reasons)
    severity = worst.finding.severity
    if (
        severity is Severity.CRITICAL
        or "toxic combination" in reasons
        or (severity is Severity.HIGH and "exposure" in reasons)
    ):
        return PHASE_NOW
    if severity is Severity.HIGH or "exposure" in reasons:
        return PHASE_WEEK
    return PHASE_QUARTER


def _effort(control_id: str, finding: Finding, count: int) -> str:
    if control_id in SLOW_FIXES:
        return SLOW_FIXES[control_id]
    if finding.resource_type == ACCOUNT_RESOURCE_TYPE:
        return "minutes: one account-level setting per Region"
    return f"minutes per resource ({count} here); test on one first"


def _risk_reduction(weight: int | None, severity: Severity, count: int) -> str:
    level = "high" if (weight or 0) >= 600 else "medium" if (weight or 0) >= 250 else "low"
    """Compact: the unit (control weight, 1-1000) and the levels are stated once, in `PLAN_NOTE`."""
    return f"{level}: closes {count} {severity.value.lower()}-severity failure{'s' if count != 1 else ''}" + (
        f" (weight {weight})" if weight else ""
    )


def _brief(fingerprint: FindingFingerprint) -> str:
    resource = neutralize(_short_name(fingerprint.resource) or "account")
    return f"{fingerprint.control_id} ({fingerprint.severity.value}) on {resource} in {fingerprint.region}"
