"""Amazon GuardDuty: is a detector enabled in the Region (GuardDuty.1)?

Calls (regional): `guardduty list-detectors`, then `get-detector --detector-id ID` per detector
(a Region has at most one per account, so no cap is needed in practice; the cap applies anyway).

GuardDuty.1 is an account-level result per Region; no detector fails.
"""

from __future__ import annotations

from datetime import datetime

from agent_config.checks.evidence import ApiCall, Evidence
from agent_config.checks.results import CheckResult
from agent_config.checks.services._common import (
    DEFAULT_MAX_RESOURCES,
    Index,
    ListedResources,
    account_subject,
    arn,
    capped,
    read,
)

SERVICE = "guardduty"
GLOBAL = False
CONTROL_IDS: tuple[str, ...] = ("GuardDuty.1",)
DETECTOR = "AWS::GuardDuty::Detector"


def list_call(region: str) -> ApiCall:
    return ApiCall.of("guardduty", "list-detectors", region)


def detector_call(region: str, detector_id: str) -> ApiCall:
    return ApiCall.of("guardduty", "get-detector", region, detector_id=detector_id)


RESOURCES = ListedResources(SERVICE, DETECTOR, list_call, "DetectorIds", detector_call)
plan = RESOURCES.plan
cap_reached = RESOURCES.cap_reached


def evaluate(
    region: str,
    evidence: Evidence,
    *,
    now: datetime | None = None,
    max_resources: int = DEFAULT_MAX_RESOURCES,
) -> list[CheckResult]:
    index = Index(evidence)
    subject = account_subject(evidence.account_id, region)
    listing, detectors = RESOURCES.listed(index, region)
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
