"""What every service module shares: evidence lookups, reads that know "absent" from "missing",
result builders, three-valued logic, ARNs, timestamps and the per-service resource cap.

Conventions that hold for every module (they are the contract the collector relies on):

- `plan(region, evidence, max_resources)` returns only calls not yet in the evidence, list and
  describe calls first, then per-resource calls built from the listing responses already present.
  The collector calls it until it returns nothing, so it is idempotent by construction. A call
  whose evidence holds an error is not planned again: retrying is the collector's retry policy.
- Global services (IAM, S3 listing, S3 Control, Account) put `region=None` on their calls and are
  planned and evaluated once per assessment (`GLOBAL = True`; the registry passes the home region).
  Regional services put the assessed region on every call.
- Listing responses are expected complete: the AWS CLI (what `call_aws` runs) paginates by itself,
  and the boto3 fallback must merge pages (`paginator.paginate().build_full_result()`).
- `max_resources` caps the per-resource calls per resource kind; only the first N resources, in
  listing order, are inspected and evaluated, and `cap_reached` says so.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from agent_config.checks.evidence import ApiCall, Evidence, EvidenceItem
from agent_config.checks.results import GLOBAL_REGION, CapReached, CheckResult
from agent_config.interfaces import FindingStatus

DEFAULT_MAX_RESOURCES = 1000
"""Per resource kind and region: Prowler's slow scans of very large accounts are the lesson."""

ACCOUNT_TYPE = "AWS::::Account"
NOT_COLLECTED = "NotCollected"
"""Marks a call the collector never made (time ran out, or it was not planned yet)."""

T = TypeVar("T")


# ---------------------------------------------------------------------------------------------
# Reading the evidence
# ---------------------------------------------------------------------------------------------


class Index:
    """The evidence indexed by call, so plan and evaluate stay linear in the number of items.

    When one call appears more than once (a collector that retried and kept both), the first
    successful answer wins; failing that, the first item.
    """

    def __init__(self, evidence: Evidence) -> None:
        self.account_id = evidence.account_id
        self._items: dict[ApiCall, EvidenceItem] = {}
        for item in evidence.items:
            known = self._items.get(item.call)
            if known is None or (item.ok and not known.ok):
                self._items[item.call] = item

    def get(self, call: ApiCall) -> EvidenceItem | None:
        return self._items.get(call)

    def __contains__(self, call: ApiCall) -> bool:
        return call in self._items


@dataclass(frozen=True)
class Read:
    """One call's evidence, classified: a document, an expected absence, or something missing."""

    call: ApiCall
    doc: dict[str, Any] | None = None
    absent: bool = False
    """The API answered with an error that means "there is none" (NoSuchBucketPolicy...)."""
    missing: str | None = None
    """Why the evidence is missing (denied, unsupported, failed, not collected): for MANUAL."""

    @property
    def ok(self) -> bool:
        return self.doc is not None


def missing_reason(item: EvidenceItem) -> str:
    """`item.missing_reason()`, and the same wording for a call that was never collected."""
    if item.error_code == NOT_COLLECTED:
        return f"{item.call.iam_action} was not collected"
    return item.missing_reason()


def read(index: Index, call: ApiCall, absent_codes: Iterable[str] = ()) -> Read:
    """Classify the evidence of `call`; `absent_codes` are error codes meaning "not configured"."""
    item = index.get(call)
    if item is None:
        return Read(call, missing=missing_reason(EvidenceItem(call=call, error_code=NOT_COLLECTED)))
    if item.ok and item.response is not None:
        return Read(call, doc=item.response)
    if item.error_code is not None and item.error_code in set(absent_codes):
        return Read(call, absent=True)
    return Read(call, missing=missing_reason(item))


def needed(index: Index, calls: Iterable[ApiCall]) -> list[ApiCall]:
    """The calls not in the evidence yet, without duplicates, in the order given."""
    seen: set[ApiCall] = set()
    result: list[ApiCall] = []
    for call in calls:
        if call not in index and call not in seen:
            seen.add(call)
            result.append(call)
    return result


def obj(value: Any) -> dict[str, Any]:
    """`value` when it is a JSON object, else an empty one: a malformed field reads as absent."""
    return value if isinstance(value, dict) else {}


def text(value: Any) -> str | None:
    """`value` when it is a string, else None: a malformed field reads as absent."""
    return value if isinstance(value, str) else None


def number(value: Any) -> int:
    """`value` when it is an integer (not a boolean), else 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def items_of(doc: dict[str, Any] | None, key: str) -> list[dict[str, Any]]:
    """`doc[key]` as a list of objects (non-objects dropped), whatever the response held."""
    value = obj(doc).get(key)
    if not isinstance(value, list):
        return []
    return [entry for entry in value if isinstance(entry, dict)]


def strings_of(doc: dict[str, Any] | None, key: str) -> list[str]:
    """`doc[key]` as a list of strings (non-strings dropped)."""
    value = obj(doc).get(key)
    if not isinstance(value, list):
        return []
    return [entry for entry in value if isinstance(entry, str)]


def as_list(value: Any) -> list[Any]:
    """IAM-style "one or many": a scalar becomes a one-element list, None an empty one."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def truthy(value: Any) -> bool:
    """True for True and for the strings AWS uses for booleans in attribute maps ("true")."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return False


# ---------------------------------------------------------------------------------------------
# The cap
# ---------------------------------------------------------------------------------------------


def capped(resources: Sequence[T], max_resources: int) -> list[T]:
    """The first `max_resources` resources, in listing order (a negative cap means none)."""
    return list(resources[: max(max_resources, 0)])


def cap_notice(service: str, region: str, resource_type: str, listed: int, max_resources: int) -> list[CapReached]:
    if listed <= max_resources:
        return []
    return [
        CapReached(
            service=service,
            region=region,
            resource_type=resource_type,
            listed=listed,
            assessed=max(max_resources, 0),
        )
    ]


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


def partition(region: str | None) -> str:
    """The ARN partition of a region (the commercial one unless the name says otherwise)."""
    if region and region.startswith("cn-"):
        return "aws-cn"
    if region and region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def arn(service: str, region: str, account: str, resource: str) -> str:
    return f"arn:{partition(region)}:{service}:{region}:{account}:{resource}"


@dataclass(frozen=True)
class Subject:
    """The resource a group of results is about; its methods build the results."""

    resource_type: str
    resource_id: str
    resource_arn: str | None
    region: str

    def result(
        self,
        control_id: str,
        status: FindingStatus,
        reason: str,
        evidence: dict[str, Any] | None = None,
        missing: str | None = None,
    ) -> CheckResult:
        return CheckResult(
            control_id=control_id,
            status=status,
            resource_type=self.resource_type,
            resource_id=self.resource_id,
            resource_arn=self.resource_arn,
            region=self.region,
            reason=reason,
            evidence=evidence or {},
            missing=missing,
        )

    def passed(self, control_id: str, reason: str, **evidence: Any) -> CheckResult:
        return self.result(control_id, FindingStatus.PASS, reason, evidence)

    def failed(self, control_id: str, reason: str, **evidence: Any) -> CheckResult:
        return self.result(control_id, FindingStatus.FAIL, reason, evidence)

    def verdict(self, control_id: str, ok: bool, pass_reason: str, fail_reason: str, **evidence: Any) -> CheckResult:
        """PASS or FAIL from a boolean that was read, never from a missing one."""
        if ok:
            return self.passed(control_id, pass_reason, **evidence)
        return self.failed(control_id, fail_reason, **evidence)

    def manual(self, control_id: str, missing: str | Iterable[str], what: str = "") -> CheckResult:
        """Could not be decided; `missing` names the permission(s) or API(s)."""
        reasons = [missing] if isinstance(missing, str) else sorted(set(missing))
        text = "; ".join(reasons) or "evidence missing"
        reason = f"Could not evaluate {what or 'this control'}: {text}."
        return self.result(control_id, FindingStatus.MANUAL, reason, missing=text)


def account_subject(account_id: str, region: str) -> Subject:
    """The account itself, for account-level controls (Security Hub's `AWS::::Account`)."""
    return Subject(ACCOUNT_TYPE, account_id, None, region)


def not_applicable(control_id: str, account_id: str, region: str, what: str) -> CheckResult:
    """The one NOT_APPLICABLE result of a control in a region that has none of `what`."""
    where = "the account" if region == GLOBAL_REGION else region
    return account_subject(account_id, region).result(
        control_id, FindingStatus.NOT_APPLICABLE, f"No {what} in {where}."
    )


def listing_gate(
    controls: Iterable[str], account_id: str, region: str, listing: Read, count: int, what: str
) -> list[CheckResult] | None:
    """The results when a listing decides everything: one MANUAL per control naming the missing
    permission when the listing failed, one NOT_APPLICABLE per control when it listed nothing.
    None when there are resources to evaluate.
    """
    if listing.missing is not None:
        subject = account_subject(account_id, region)
        return [subject.manual(control, listing.missing, f"the {what}") for control in controls]
    if count == 0:
        return all_not_applicable(controls, account_id, region, what)
    return None


def all_not_applicable(controls: Iterable[str], account_id: str, region: str, what: str) -> list[CheckResult]:
    return [not_applicable(control, account_id, region, what) for control in controls]


# ---------------------------------------------------------------------------------------------
# Three-valued logic: True, False, or unknown with the reasons it is unknown
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tri:
    """A boolean that may be unknown; an unknown one carries why (the missing evidence)."""

    value: bool | None
    missing: tuple[str, ...] = field(default=())

    @classmethod
    def known(cls, value: bool) -> Tri:
        return cls(value)

    @classmethod
    def unknown(cls, *missing: str) -> Tri:
        return cls(None, tuple(missing))

    def negate(self) -> Tri:
        return self if self.value is None else Tri(not self.value)

    def and_(self, other: Tri) -> Tri:
        if self.value is False or other.value is False:
            return Tri(False)
        if self.value is True and other.value is True:
            return Tri(True)
        return Tri(None, self.missing + other.missing)

    def or_(self, other: Tri) -> Tri:
        if self.value is True or other.value is True:
            return Tri(True)
        if self.value is False and other.value is False:
            return Tri(False)
        return Tri(None, self.missing + other.missing)


# ---------------------------------------------------------------------------------------------
# Time
# ---------------------------------------------------------------------------------------------

_NUMBER = re.compile(r"^\d+(\.\d+)?$")


def parse_time(value: Any) -> datetime | None:
    """An AWS timestamp as evidence holds it: ISO 8601 ('T' or space, 'Z' or offset) or epoch seconds."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), tz=UTC)
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if _NUMBER.match(text):
        return datetime.fromtimestamp(float(text), tz=UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def resolve_now(now: datetime | None) -> datetime:
    """The evaluation time: the caller's (tests, replays), or the clock's."""
    if now is None:
        return datetime.now(UTC)
    return now if now.tzinfo else now.replace(tzinfo=UTC)


def days_between(earlier: datetime, later: datetime) -> int:
    return (later - earlier).days


@dataclass(frozen=True)
class ListedResources:
    """A service whose resources one call lists (by id, under `key`) and another reads one by one.

    Most modules have this shape; this keeps their `plan` and `cap_reached` to one line each and
    leaves only the evaluation, which is what differs, in the module.
    """

    service: str
    resource_type: str
    list_call: Callable[[str], ApiCall]
    key: str
    item_call: Callable[[str, str], ApiCall]

    def listed(self, index: Index, region: str) -> tuple[Read, list[str]]:
        listing = read(index, self.list_call(region))
        return listing, strings_of(listing.doc, self.key)

    def plan(self, region: str, evidence: Evidence, max_resources: int = DEFAULT_MAX_RESOURCES) -> list[ApiCall]:
        index = Index(evidence)
        _, names = self.listed(index, region)
        reads = (self.item_call(region, name) for name in capped(names, max_resources))
        return needed(index, [self.list_call(region), *reads])

    def cap_reached(
        self, region: str, evidence: Evidence, max_resources: int = DEFAULT_MAX_RESOURCES
    ) -> list[CapReached]:
        _, names = self.listed(Index(evidence), region)
        return cap_notice(self.service, region, self.resource_type, len(names), max_resources)
