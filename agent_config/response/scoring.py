"""Scores, each with its formula stated in the output.

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

from collections import defaultdict
from collections.abc import Sequence
from enum import StrEnum

from agent_config.checks.catalogue import FRAMEWORK_NAMES, Catalogue, load_framework
from agent_config.interfaces import Finding, FindingStatus, FrameworkScore, Score

DEFAULT_WEIGHT = 100
PASS_RATIO_FORMULA = "passed controls / controls with data x 100 (a control fails if any resource fails)"  # noqa: S105
WEIGHTED_FORMULA = "sum(weight of passed controls) / sum(weight of controls with data) x 100"
FRAMEWORK_FORMULA = (
    "passed requirements / requirements with data x 100; not-assessable requirements are excluded, never passed"
)


class ControlStatus(StrEnum):
    PASSED = "PASSED"
    FAILED = "FAILED"
    NO_DATA = "NO_DATA"


def control_statuses(findings: Sequence[Finding]) -> dict[str, ControlStatus]:
    by_control: dict[str, set[FindingStatus]] = defaultdict(set)
    for finding in findings:
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
    statuses = control_statuses(findings)
    with_data = {c: s for c, s in statuses.items() if s is not ControlStatus.NO_DATA}
    passed = [c for c, s in with_data.items() if s is ControlStatus.PASSED]

    def weight(control_id: str) -> int:
        control = catalogue.find(control_id)
        return control.weight if control else DEFAULT_WEIGHT

    total_weight = sum(weight(c) for c in with_data)
    passed_weight = sum(weight(c) for c in passed)
    return [
        _score("pass_ratio", len(passed), len(with_data), PASS_RATIO_FORMULA),
        _score("weighted", passed_weight, total_weight, WEIGHTED_FORMULA),
    ]


def framework_scores(findings: Sequence[Finding]) -> list[FrameworkScore]:
    statuses = control_statuses(findings)
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
