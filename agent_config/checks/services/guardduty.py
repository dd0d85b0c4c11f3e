"""Amazon GuardDuty: is a detector enabled in the Region (GuardDuty.1)?

Calls (regional): `guardduty list-detectors`, then `get-detector --detector-id ID` per detector
(a Region has at most one per account, so no cap is needed in practice; the cap applies anyway).

GuardDuty.1 is an account-level result per Region; no detector fails.
"""

from __future__ import annotations

from datetime import datetime

from agent_config.checks.evidence import ApiCall, Evidence
from agent_config.checks.results import CapReached, CheckResult
from agent_config.checks.services._common import (
    DEFAULT_MAX_RESOURCES,
    Index,
    Read,
    account_subject,
    arn,
    cap_notice,
    capped,
    needed,
    read,
    strings_of,
)

SERVICE = "guardduty"
GLOBAL = False
CONTROL_IDS: tuple[str, ...] = ("GuardDuty.1",)
DETECTOR = "AWS::GuardDuty::Detector"


def list_call(region: str) -> ApiCall:
    return ApiCall.of("guardduty", "list-detectors", region)


def detector_call(region: str, detector_id: str) -> ApiCall:
    return ApiCall.of("guardduty", "get-detector", region, detector_id=detector_id)


def _detectors(index: Index, region: str) -> tuple[Read, list[str]]:
    listing = read(index, list_call(region))
    return listing, strings_of(listing.doc, "DetectorIds")


def plan(region: str, evidence: Evidence, max_resources: int = DEFAULT_MAX_RESOURCES) -> list[ApiCall]:
    index = Index(evidence)
    _, detectors = _detectors(index, region)
    return needed(index, [list_call(region), *(detector_call(region, d) for d in capped(detectors, max_resources))])


def cap_reached(region: str, evidence: Evidence, max_resources: int = DEFAULT_MAX_RESOURCES) -> list[CapReached]:
    _, detectors = _detectors(Index(evidence), region)
    return cap_notice(SERVICE, region, DETECTOR, len(detectors), max_resources)


def evaluate(
    region: str,
    evidence: Evidence,
    *,
    now: datetime | None = None,
    max_resources: int = DEFAULT_MAX_RESOURCES,
) -> list[CheckResult]:
    index = Index(evidence)
    subject = account_subject(evidence.account_id, region)
    listing, detectors = _detectors(index, region)
    if listing.missing is not None:
        return [subject.manual("GuardDuty.1", listing.missing, "the GuardDuty detectors")]
    if not detectors:
        return [subject.failed("GuardDuty.1", f"GuardDuty has no detector in {region}.", detectors={})]
    statuses: dict[str, str | None] = {}
    missing: list[str] = []
    for detector_id in capped(detectors, max_resources):
        detector = read(index, detector_call(region, detector_id))
        if detector.doc is None:
            missing.append(detector.missing or "")
            statuses[detector_id] = None
        else:
            statuses[detector_id] = str(detector.doc.get("Status"))
    enabled = [d for d, status in statuses.items() if status == "ENABLED"]
    if enabled:
        detector_arn = arn("guardduty", region, evidence.account_id, f"detector/{enabled[0]}")
        return [
            subject.passed(
                "GuardDuty.1",
                f"GuardDuty detector {enabled[0]} is enabled.",
                detectors=statuses,
                detector=detector_arn,
            )
        ]
    if missing:
        return [subject.manual("GuardDuty.1", missing, "the detector's status")]
    return [subject.failed("GuardDuty.1", f"The GuardDuty detector in {region} is suspended.", detectors=statuses)]
