"""AWS CloudTrail: a multi-Region trail recording management events, trail encryption and log
file validation.

Calls: `describe-trails` in each Region (it includes shadow copies of multi-Region trails created
in other Regions), then per trail `get-trail-status --name ARN` and `get-event-selectors
--trail-name ARN` in the trail's home Region. Asking the home Region means one pair of calls per
trail however many Regions see it (the registry de-duplicates them), and avoids cross-Region reads
of shadow trails, which moto answers with TrailNotFoundException.

CloudTrail.1 is an account-level result per Region: it passes when at least one trail visible there
is multi-Region, logging, and records read and write management events. CloudTrail.2 and
CloudTrail.4 are per trail and reported only in the trail's home Region, so a multi-Region trail is
not counted once per Region.

A trail without custom event selectors records all management events (AWS's default); moto returns
empty selectors for such a trail, which `HasCustomEventSelectors: false` lets us read correctly.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agent_config.checks.evidence import ApiCall, Evidence
from agent_config.checks.results import CapReached, CheckResult
from agent_config.checks.services._common import (
    DEFAULT_MAX_RESOURCES,
    Index,
    Read,
    Subject,
    account_subject,
    cap_notice,
    capped,
    items_of,
    needed,
    not_applicable,
    read,
    strings_of,
)

SERVICE = "cloudtrail"
GLOBAL = False
CONTROL_IDS: tuple[str, ...] = ("CloudTrail.1", "CloudTrail.2", "CloudTrail.4")
TRAIL = "AWS::CloudTrail::Trail"


def list_call(region: str) -> ApiCall:
    return ApiCall.of("cloudtrail", "describe-trails", region)


def status_call(region: str, trail_arn: str) -> ApiCall:
    return ApiCall.of("cloudtrail", "get-trail-status", region, name=trail_arn)


def selectors_call(region: str, trail_arn: str) -> ApiCall:
    return ApiCall.of("cloudtrail", "get-event-selectors", region, trail_name=trail_arn)


def _trails(index: Index, region: str) -> tuple[Read, list[dict[str, Any]]]:
    listing = read(index, list_call(region))
    return listing, [t for t in items_of(listing.doc, "trailList") if isinstance(t.get("TrailARN"), str)]


def _home(trail: dict[str, Any], region: str) -> str:
    home = trail.get("HomeRegion")
    return home if isinstance(home, str) and home else region


def plan(region: str, evidence: Evidence, max_resources: int = DEFAULT_MAX_RESOURCES) -> list[ApiCall]:
    index = Index(evidence)
    calls = [list_call(region)]
    _, trails = _trails(index, region)
    for trail in capped(trails, max_resources):
        home = _home(trail, region)
        calls += [status_call(home, trail["TrailARN"]), selectors_call(home, trail["TrailARN"])]
    return needed(index, calls)


def cap_reached(region: str, evidence: Evidence, max_resources: int = DEFAULT_MAX_RESOURCES) -> list[CapReached]:
    _, trails = _trails(Index(evidence), region)
    return cap_notice(SERVICE, region, TRAIL, len(trails), max_resources)


def evaluate(
    region: str,
    evidence: Evidence,
    *,
    now: datetime | None = None,
    max_resources: int = DEFAULT_MAX_RESOURCES,
) -> list[CheckResult]:
    index = Index(evidence)
    account = evidence.account_id
    listing, trails = _trails(index, region)
    if listing.missing is not None:
        subject = account_subject(account, region)
        return [subject.manual(c, listing.missing, "the trails") for c in CONTROL_IDS]
    trails = capped(trails, max_resources)
    results = [_cloudtrail_1(index, account, region, trails)]
    own = [t for t in trails if _home(t, region) == region]
    if not own:
        return results + [
            not_applicable(c, account, region, "trails with their home Region")
            for c in ("CloudTrail.2", "CloudTrail.4")
        ]
    for trail in own:
        subject = Subject(TRAIL, str(trail.get("Name") or trail["TrailARN"]), trail["TrailARN"], region)
        key = trail.get("KmsKeyId")
        results.append(
            subject.verdict(
                "CloudTrail.2",
                bool(key),
                "The trail's log files are encrypted with a KMS key.",
                "The trail's log files are not encrypted with a KMS key (SSE-S3 only).",
                KmsKeyId=key,
            )
        )
        validation = trail.get("LogFileValidationEnabled")
        results.append(
            subject.verdict(
                "CloudTrail.4",
                validation is True,
                "Log file integrity validation is on.",
                "Log file integrity validation is off.",
                LogFileValidationEnabled=validation,
            )
        )
    return results


def management_coverage(trail: dict[str, Any], selectors: dict[str, Any]) -> set[str]:
    """Which management events the trail records: a subset of {'read', 'write'}."""
    covered: set[str] = set()
    basic = items_of(selectors, "EventSelectors")
    advanced = items_of(selectors, "AdvancedEventSelectors")
    if not basic and not advanced and trail.get("HasCustomEventSelectors") is not True:
        return {"read", "write"}  # AWS's default selector: all management events
    for selector in basic:
        if selector.get("IncludeManagementEvents", True) is not True:
            continue
        if strings_of(selector, "ExcludeManagementEventSources"):
            continue
        kind = selector.get("ReadWriteType", "All")
        covered |= {"All": {"read", "write"}, "ReadOnly": {"read"}, "WriteOnly": {"write"}}.get(str(kind), set())
    for selector in advanced:
        fields = {str(f.get("Field")): f for f in items_of(selector, "FieldSelectors")}
        category = fields.get("eventCategory")
        if category is None or "Management" not in strings_of(category, "Equals"):
            continue
        if "eventSource" in fields:
            continue  # limited to (or excluding) some services: not complete coverage
        read_only = strings_of(fields["readOnly"], "Equals") if "readOnly" in fields else []
        if not read_only:
            covered |= {"read", "write"}
        elif read_only == ["true"]:
            covered.add("read")
        elif read_only == ["false"]:
            covered.add("write")
    return covered


def _cloudtrail_1(index: Index, account: str, region: str, trails: list[dict[str, Any]]) -> CheckResult:
    subject = account_subject(account, region)
    candidates = [t for t in trails if t.get("IsMultiRegionTrail") is True]
    if not candidates:
        return subject.failed(
            "CloudTrail.1",
            f"No multi-Region trail is visible in {region}.",
            trails=[str(t.get("Name")) for t in trails][:10],
        )
    missing: list[str] = []
    shortfalls: list[str] = []
    for trail in candidates:
        home = _home(trail, region)
        status = read(index, status_call(home, trail["TrailARN"]))
        selectors = read(index, selectors_call(home, trail["TrailARN"]))
        if status.doc is not None and status.doc.get("IsLogging") is False:
            shortfalls.append(f"{trail.get('Name')} is not logging")
            continue
        if selectors.doc is not None and management_coverage(trail, selectors.doc) != {"read", "write"}:
            shortfalls.append(f"{trail.get('Name')} does not record both read and write management events")
            continue
        if status.doc is None or selectors.doc is None:
            missing += [r.missing for r in (status, selectors) if r.missing is not None]
            continue
        return subject.passed(
            "CloudTrail.1",
            f"Multi-Region trail {trail.get('Name')} is logging read and write management events.",
            trail=trail["TrailARN"],
            IsLogging=True,
        )
    if missing:
        return subject.manual("CloudTrail.1", missing, "the multi-Region trails' status")
    return subject.failed(
        "CloudTrail.1",
        f"No multi-Region trail qualifies: {'; '.join(shortfalls[:3])}.",
        shortfalls=shortfalls[:5],
    )
