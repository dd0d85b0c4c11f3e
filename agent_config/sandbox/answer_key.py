"""Scoring an assessment against the sample account's manifest: recall and false positives.

A planted misconfiguration (FAIL item) is found when the assessment reports that control FAIL on
that resource in that region. A twin (PASS item) is a false positive when the assessment reports
*any* control FAIL on it: twins are hardened throughout. Items whose control the agent does not
evaluate at all are counted separately (not silently as misses or as hits).
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, Field

from agent_config.interfaces import Finding, FindingStatus
from agent_config.sandbox.sample_account import GLOBAL_REGION, PlantedItem, SampleAccountManifest

ACCOUNT = "AWS::::Account"


class ManifestScore(BaseModel):
    planted: int
    found: int
    missed: list[str] = Field(default_factory=list)
    not_evaluated: list[str] = Field(default_factory=list, description="Planted controls with no check.")
    twins: int
    false_positives: list[str] = Field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.found / self.planted if self.planted else 1.0

    def describe(self) -> str:
        return (
            f"recall {self.found}/{self.planted} = {self.recall:.0%} of planted misconfigurations; "
            f"false positives {len(self.false_positives)} on {self.twins} correctly configured twins; "
            f"{len(self.not_evaluated)} planted items have no check"
        )


def score(findings: Iterable[Finding], manifest: SampleAccountManifest, evaluated: set[str]) -> ManifestScore:
    failing = [f for f in findings if f.status is FindingStatus.FAIL]
    planted = [i for i in manifest.items if i.expected_status is FindingStatus.FAIL]
    twins = [i for i in manifest.items if i.expected_status is FindingStatus.PASS]
    found, missed, not_evaluated = 0, [], []
    for item in planted:
        if item.control_id not in evaluated:
            not_evaluated.append(item.key)
        elif any(f.control_id == item.control_id and _same_resource(f, item) for f in failing):
            found += 1
        else:
            missed.append(item.key)
    false_positives = sorted(
        {f"{f.control_id} on {item.key}" for item in twins for f in failing if _counts_against(f, item)}
    )
    return ManifestScore(
        planted=len(planted) - len(not_evaluated),
        found=found,
        missed=missed,
        not_evaluated=not_evaluated,
        twins=len(twins),
        false_positives=false_positives,
    )


def _counts_against(finding: Finding, twin: PlantedItem) -> bool:
    """Any FAIL on a twin resource counts; on the account itself (shared by every account-level
    setting of a region) only a FAIL of the twin's own control does."""
    if not _same_resource(finding, twin):
        return False
    return twin.resource_type != ACCOUNT or finding.control_id == twin.control_id


def _same_resource(finding: Finding, item: PlantedItem) -> bool:
    # An account-wide item ("global") is found by a FAIL in any region: Security Hub evaluates
    # account-level controls such as CloudTrail.1 once per region.
    global_account_item = item.region == GLOBAL_REGION and item.resource_type == ACCOUNT
    if finding.region != item.region and not global_account_item:
        return False
    ids = {item.resource_id, item.name}
    if item.resource_arn:
        ids.add(item.resource_arn)
    return finding.resource_id in ids or (finding.resource_arn is not None and finding.resource_arn in ids)
