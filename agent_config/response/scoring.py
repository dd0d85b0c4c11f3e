"""Scores, each with its formula stated in the output.

Only controls of the catalogue are scored. The security services also report things that are not
controls: threat and vulnerability findings (GuardDuty, Inspector CVEs, Macie, Access Analyzer,
Security Hub findings without a control), whether a service is switched on (`SecurityHub.Enabled`,
Macie.1, Inspector.1...), and checks of their own (`S3.DefaultEncryption`, Trusted Advisor). Counting
them as controls would let one CVE list swamp the score (one passing S3.8 beside nine CVEs read as
9% and "10 controls fail"). They are counted, ranked and shown beside the scores (`finding_kind`),
never inside them.

A control's status across its resources (as AWS Security Hub computes it): FAILED if any resource
fails; PASSED if at least one passes and none fails; NO DATA if it has only MANUAL or
NOT_APPLICABLE results. Controls without data are left out of every denominator: they are reported
as not assessed, never counted as passed.

- `pass_ratio` = passed controls / controls with data x 100 (Security Hub's security score).
- `weighted` = sum of the weights of passed controls / sum of the weights of controls with data
  x 100, weights from the catalogue (severity, public exposure, account scope).
- Per framework: a requirement passes when every control it maps to that has data passes, fails
  when any fails, and has no data otherwise; process requirements (threat modelling, incident
  plans...) are "not assessable automatically" and never count as passed.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from enum import StrEnum

from agent_config.checks.catalogue import FRAMEWORK_NAMES, Catalogue, load_catalogue, load_framework
from agent_config.integrations.security_findings import CONTROLS as SECURITY_SERVER_CONTROLS
from agent_config.interfaces import Finding, FindingStatus, FrameworkScore, Score

PASS_RATIO_FORMULA = (
    "passed controls / controls with data x 100 (catalogued controls only; a control fails if any resource fails)"  # noqa: S105
)
WEIGHTED_FORMULA = "sum(weight of passed controls) / sum(weight of controls with data) x 100"
FRAMEWORK_FORMULA = (
    "passed requirements / requirements with data x 100; not-assessable requirements are excluded, never passed"
)
OUTSIDE_SCORES_NOTE = (
    "threat and vulnerability findings, service status and the services' own checks are ranked with the "
    "controls but not counted in the control scores"
)


class ControlStatus(StrEnum):
    PASSED = "PASSED"
    FAILED = "FAILED"
    NO_DATA = "NO_DATA"


class FindingKind(StrEnum):
    """What a finding is, which decides whether it counts in the control scores."""

    CONTROL = "control"
    """A control of the catalogue: scored."""
    THREAT_OR_VULNERABILITY = "threat_or_vulnerability"
    """A detection reported by a security service (GuardDuty, Inspector, Macie, Access Analyzer,
    a Security Hub finding without a control): about activity or a flaw, not a configuration rule."""
    SERVICE_STATUS = "service_status"
    """Whether a security service is on (`SecurityHub.Enabled`, Macie.1, Inspector.1...)."""
    OTHER_CHECK = "other_check"
    """A check outside the catalogue: the Security server's own ids, Security Hub controls we do not
    catalogue, Trusted Advisor checks, compliance findings of other standards."""


_DETECTIONS = ("GuardDuty.Finding/", "Inspector.Finding/", "Macie.Finding/", "AccessAnalyzer.Finding/")


def finding_kind(finding: Finding, catalogue: Catalogue) -> FindingKind:
    control_id = finding.control_id
    if control_id in catalogue:
        return FindingKind.CONTROL
    if control_id.startswith(_DETECTIONS):
        return FindingKind.THREAT_OR_VULNERABILITY
    if control_id.startswith("SecurityHub.Finding/"):
        # a compliance finding of another standard carries a compliance status; a threat does not
        compliance = finding.evidence.get("compliance_status")
        return FindingKind.OTHER_CHECK if compliance else FindingKind.THREAT_OR_VULNERABILITY
    info = SECURITY_SERVER_CONTROLS.get(control_id)
    if control_id.endswith(".Enabled") or (info is not None and info.setup_service is not None):
        return FindingKind.SERVICE_STATUS
    return FindingKind.OTHER_CHECK


def catalogued(findings: Sequence[Finding], catalogue: Catalogue) -> list[Finding]:
    """The findings that are controls of the catalogue: the only ones the scores count."""
    return [f for f in findings if f.control_id in catalogue]


def failing_outside_controls(findings: Sequence[Finding], catalogue: Catalogue) -> dict[str, int]:
    """Failing findings that are not catalogue controls, by kind (only kinds that occur)."""
    counts = Counter(
        finding_kind(f, catalogue).value
        for f in findings
        if f.status is FindingStatus.FAIL and f.control_id not in catalogue
    )
    return {kind.value: counts[kind.value] for kind in FindingKind if counts.get(kind.value)}


def control_statuses(findings: Sequence[Finding], catalogue: Catalogue | None = None) -> dict[str, ControlStatus]:
    """Each control's status across its resources; with `catalogue`, catalogue controls only."""
    by_control: dict[str, set[FindingStatus]] = defaultdict(set)
    for finding in findings:
        if catalogue is None or finding.control_id in catalogue:
            by_control[finding.control_id].add(finding.status)
    result = {}
    for control, statuses in by_control.items():
        if FindingStatus.FAIL in statuses:
            result[control] = ControlStatus.FAILED
        elif FindingStatus.PASS in statuses:
            result[control] = ControlStatus.PASSED
        else:
            result[control] = ControlStatus.NO_DATA
    return result


def overall_scores(findings: Sequence[Finding], catalogue: Catalogue) -> list[Score]:
    statuses = control_statuses(findings, catalogue)
    with_data = {c: s for c, s in statuses.items() if s is not ControlStatus.NO_DATA}
    passed = [c for c, s in with_data.items() if s is ControlStatus.PASSED]
    total_weight = sum(catalogue.get(c).weight for c in with_data)
    passed_weight = sum(catalogue.get(c).weight for c in passed)
    return [
        _score("pass_ratio", len(passed), len(with_data), PASS_RATIO_FORMULA),
        _score("weighted", passed_weight, total_weight, WEIGHTED_FORMULA),
    ]


def framework_scores(findings: Sequence[Finding], catalogue: Catalogue | None = None) -> list[FrameworkScore]:
    statuses = control_statuses(findings, catalogue or load_catalogue())
    scores = []
    for name in FRAMEWORK_NAMES:
        framework = load_framework(name)
        passed, failed, no_data = [], [], []
        for requirement in framework.assessable():
            known = [statuses[c] for c in requirement.controls if c in statuses]
            if ControlStatus.FAILED in known:
                failed.append(requirement.id)
            elif ControlStatus.PASSED in known:
                passed.append(requirement.id)
            else:
                no_data.append(requirement.id)
        not_assessable = [r.id for r in framework.not_assessable()]
        scores.append(
            FrameworkScore(
                framework=name,
                title=framework.title,
                passed=len(passed),
                failed=len(failed),
                no_data=len(no_data),
                not_assessable=len(not_assessable),
                score=_score(f"{name}_requirements", len(passed), len(passed) + len(failed), FRAMEWORK_FORMULA, name),
                failed_requirements=failed,
                not_assessable_requirements=not_assessable,
            )
        )
    return scores


def _score(name: str, numerator: float, denominator: float, formula: str, framework: str = "all") -> Score:
    value = round(100.0 * numerator / denominator, 1) if denominator else None
    return Score(
        name=name,
        value=value,
        formula=formula,
        numerator=numerator,
        denominator=denominator,
        framework=framework,
    )
