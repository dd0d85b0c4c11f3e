"""The Security server's two questions answered directly with boto3, under the function's own role.

Why: in AWS the Security MCP server runs only where the user gives its remote URL (README,
"Deploying to AWS"); in the default deploy it is disabled, so "which security services are on" and
"show my GuardDuty findings" would always answer 424 although the function's role can read the same
facts. `actions.security_services` and `actions.security_findings` come here when that server gives
no answer (disabled, unreachable, its circuit breaker open), and the answer says so in `degraded`.

What is read, in one Region (`OPERATIONS` names every call with the IAM action it needs; the deploy
grants exactly `IAM_ACTIONS`, so the role and this module cannot drift apart):

| service             | status                                  | findings                                         |
|---------------------|-----------------------------------------|--------------------------------------------------|
| Amazon GuardDuty    | list-detectors, get-detector (SUSPENDED | list-findings (severity, not archived, most      |
|                     | is off)                                 | severe first), get-findings by 50                |
| AWS Security Hub    | describe-hub (InvalidAccess: off)       | get-findings: ACTIVE, NEW or NOTIFIED, one       |
|                     |                                         | severity label at a time from CRITICAL down      |
| Amazon Inspector    | batch-get-account-status                | list-findings (ACTIVE, severities, most severe   |
|                     |                                         | first), after the account status says ENABLED    |
| Amazon Macie        | get-macie-session ("Macie is not        | list-findings (not archived, severities), then   |
|                     | enabled": off; PAUSED is off)           | get-findings by 50                               |
| IAM Access Analyzer | list-analyzers (an ACTIVE account or    | list-findings (ACTIVE) of each such analyzer     |
|                     | organization analyzer: on)              |                                                  |
| AWS Config          | describe-configuration-recorder-status  | -                                                |

AWS Trusted Advisor, which the Security server also reports, is not read here: its API is global
and needs a Business support plan; the answer's note says so.

**The same models as the Security server's path.** Status: one `ServiceStatus` per service, with
the detail keys the server uses where `security_findings.findings_from_service_status` reads them
(`detector_details.id`, `scan_status`, `analyzers`, Macie's `status`). Findings: the documents these
APIs return are the ones the Security server passes on (GuardDuty `Finding`, ASFF, Inspector2
`Finding`, Macie `Finding`, Access Analyzer `FindingSummary`), so they go through
`security_findings.findings_from_security_findings`, not a second normaliser; one at a time, so a
malformed one costs only itself (and is counted in a note). Their `sources` say `boto3`.

**Read-only, bounded, honest.**
- Every call is an `ApiCall` checked by the read-only guard before its client is made. Filter
  documents are built here as compact JSON and pinned by the guard (`STRUCTURED_PARAMETERS`); ids
  from listings are validated like any other identifier.
- Every read runs on this module's own threads within the request's deadline: no call or page
  starts with less than `MIN_CALL_S` left, a read still running at the deadline is given up (what
  it had read by then is kept), listings stop after `MAX_PAGES` pages and findings at
  `MAX_FINDINGS` (most severe first); each cut is said.
- A denied call gives "could not read X: missing permission Y": a status "unknown", a note, never an
  exception and never a FAIL. Only botocore's `ClientError`/`BotoCoreError` and the guard's refusal
  are caught, so a bug of ours is never turned into "could not read".
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Final, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from agent_config.checks.evidence import ApiCall
from agent_config.integrations.direct_api import MIN_CALL_S, ClientFactory, default_client_factory
from agent_config.integrations.read_only_guard import MAX_VALUE_LENGTH, check_call
from agent_config.integrations.security_findings import SourceUnavailable, findings_from_security_findings
from agent_config.integrations.security_server import SECURITY_SERVICES, SERVER, SETUP_DOCS
from agent_config.interfaces import DegradedSource, Finding, ServiceStatus, Severity, ToolResult
from agent_config.orchestration.deadline import Deadline
from agent_config.utils.error_handling import ErrorKind, InvalidInput, classify

__all__ = [
    "FINDING_SOURCES",
    "IAM_ACTIONS",
    "MAX_FINDINGS",
    "OPERATIONS",
    "SOURCE",
    "DirectFindings",
    "DirectSecurity",
    "Note",
    "plannable_calls",
    "read_directly_note",
]

T = TypeVar("T")

SOURCE: Final = "boto3"
"""`Finding.sources` of what is read here (the direct-API fallback's name for itself)."""
MAX_FINDINGS: Final = 100
"""Findings read per request, most severe first (the Security server's path asks for 100 too)."""
MAX_PAGES: Final = 10
"""Pages of one listing at most; a listing cut there says so."""
GET_BATCH: Final = 50
"""Ids per get-findings call: GuardDuty's and Macie's limit."""
MAX_WORKERS: Final = 8
"""Threads of this module's own pool: six status reads at once, with room for given-up ones."""

OPERATIONS: Final[Mapping[tuple[str, str], str]] = MappingProxyType(
    {
        ("accessanalyzer", "list-analyzers"): "access-analyzer:ListAnalyzers",
        ("accessanalyzer", "list-findings"): "access-analyzer:ListFindings",
        ("configservice", "describe-configuration-recorder-status"): "config:DescribeConfigurationRecorderStatus",
        ("guardduty", "get-detector"): "guardduty:GetDetector",
        ("guardduty", "get-findings"): "guardduty:GetFindings",
        ("guardduty", "list-detectors"): "guardduty:ListDetectors",
        ("guardduty", "list-findings"): "guardduty:ListFindings",
        ("inspector2", "batch-get-account-status"): "inspector2:BatchGetAccountStatus",
        ("inspector2", "list-findings"): "inspector2:ListFindings",
        ("macie2", "get-findings"): "macie2:GetFindings",
        ("macie2", "get-macie-session"): "macie2:GetMacieSession",
        ("macie2", "list-findings"): "macie2:ListFindings",
        ("securityhub", "describe-hub"): "securityhub:DescribeHub",
        ("securityhub", "get-findings"): "securityhub:GetFindings",
    }
)
"""Every (AWS CLI service, operation) this module sends, and the IAM action it needs: the one list
the read-only guard's allow-list and the execution role's policy are checked against."""
IAM_ACTIONS: Final = tuple(sorted(set(OPERATIONS.values())))
"""What the execution role needs for this path (added to the catalogue's read actions by the deploy)."""

_BOTO3_SERVICE = {"configservice": "config"}

CONFIG: Final = "config"
LABELS: Final[Mapping[str, str]] = MappingProxyType({**SECURITY_SERVICES, CONFIG: "AWS Config"})
SETUP: Final[Mapping[str, str]] = MappingProxyType(
    {**SETUP_DOCS, CONFIG: "https://docs.aws.amazon.com/config/latest/developerguide/getting-started.html"}
)
FINDING_SOURCES: Final = ("guardduty", "securityhub", "inspector", "macie", "accessanalyzer")
"""The `source` values of `GET /security/findings`, as `findings_from_security_findings` names them."""

_ORDER: Final = (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFORMATIONAL)
_GUARDDUTY_FLOOR: Final = {
    Severity.CRITICAL: 9,
    Severity.HIGH: 7,
    Severity.MEDIUM: 4,
    Severity.LOW: 1,
    Severity.INFORMATIONAL: 1,  # GuardDuty's scores start at 1.0 (LOW)
}
"""The lowest GuardDuty score of each band (`security_findings.guardduty_severity`)."""
_MACIE_LEVELS: Final = {"High": Severity.HIGH, "Medium": Severity.MEDIUM, "Low": Severity.LOW}
_EXTERNAL_ANALYZERS: Final = frozenset({"ACCOUNT", "ORGANIZATION"})
_MACIE_OFF: Final = "Macie is not enabled"


# ---------------------------------------------------------------------------------------------
# The calls (each built in one place: the readers and `plannable_calls` use the same builders)
# ---------------------------------------------------------------------------------------------


def _document(value: object) -> str:
    """A filter document as the guard's patterns expect it: compact JSON, keys sorted."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _at_or_above(threshold: Severity) -> list[Severity]:
    return [level for level in _ORDER if level.rank >= threshold.rank]


def _list_detectors(region: str) -> ApiCall:
    return ApiCall.of("guardduty", "list-detectors", region)


def _get_detector(region: str, detector_id: str) -> ApiCall:
    return ApiCall.of("guardduty", "get-detector", region, detector_id=detector_id)


def _guardduty_list_findings(region: str, detector_id: str, threshold: Severity) -> ApiCall:
    criteria = {
        "Criterion": {
            "service.archived": {"Equals": ["false"]},
            "severity": {"GreaterThanOrEqual": _GUARDDUTY_FLOOR[threshold]},
        }
    }
    return ApiCall.of(
        "guardduty",
        "list-findings",
        region,
        detector_id=detector_id,
        finding_criteria=_document(criteria),
        sort_criteria=_document({"AttributeName": "severity", "OrderBy": "DESC"}),
    )


def _guardduty_get_findings(region: str, detector_id: str, finding_ids: Sequence[str]) -> ApiCall:
    return ApiCall.of("guardduty", "get-findings", region, detector_id=detector_id, finding_ids=",".join(finding_ids))


def _describe_hub(region: str) -> ApiCall:
    return ApiCall.of("securityhub", "describe-hub", region)


def _securityhub_get_findings(region: str, label: Severity) -> ApiCall:
    def equals(*values: str) -> list[dict[str, str]]:
        return [{"Comparison": "EQUALS", "Value": value} for value in values]

    filters = {
        "RecordState": equals("ACTIVE"),
        "SeverityLabel": equals(label.value),
        "WorkflowStatus": equals("NEW", "NOTIFIED"),
    }
    return ApiCall.of("securityhub", "get-findings", region, filters=_document(filters))


def _inspector_status(region: str) -> ApiCall:
    return ApiCall.of("inspector2", "batch-get-account-status", region)


def _inspector_list_findings(region: str, threshold: Severity) -> ApiCall:
    labels = [level.value for level in _at_or_above(threshold)]
    if Severity.MEDIUM.value in labels:  # not yet rated by its vendor: counted MEDIUM when normalised
        labels.insert(labels.index(Severity.MEDIUM.value) + 1, "UNTRIAGED")
    criteria = {
        "findingStatus": [{"comparison": "EQUALS", "value": "ACTIVE"}],
        "severity": [{"comparison": "EQUALS", "value": label} for label in labels],
    }
    return ApiCall.of(
        "inspector2",
        "list-findings",
        region,
        filter_criteria=_document(criteria),
        sort_criteria=_document({"field": "SEVERITY", "sortOrder": "DESC"}),
    )


def _macie_session(region: str) -> ApiCall:
    return ApiCall.of("macie2", "get-macie-session", region)


def _macie_list_findings(region: str, threshold: Severity) -> ApiCall:
    # Macie rates Low, Medium or High: a CRITICAL threshold still asks for High (none will pass it).
    floor = max(threshold.rank, Severity.LOW.rank)
    levels = [name for name, level in _MACIE_LEVELS.items() if level.rank >= min(floor, Severity.HIGH.rank)]
    criteria = {"criterion": {"archived": {"eq": ["false"]}, "severity.description": {"eq": levels}}}
    return ApiCall.of(
        "macie2",
        "list-findings",
        region,
        finding_criteria=_document(criteria),
        sort_criteria=_document({"attributeName": "severity.score", "orderBy": "DESC"}),
    )


def _macie_get_findings(region: str, finding_ids: Sequence[str]) -> ApiCall:
    return ApiCall.of("macie2", "get-findings", region, finding_ids=",".join(finding_ids))


def _list_analyzers(region: str) -> ApiCall:
    return ApiCall.of("accessanalyzer", "list-analyzers", region)


def _analyzer_findings(region: str, analyzer_arn: str) -> ApiCall:
    return ApiCall.of(
        "accessanalyzer",
        "list-findings",
        region,
        analyzer_arn=analyzer_arn,
        filter=_document({"status": {"eq": ["ACTIVE"]}}),
    )


def _recorder_status(region: str) -> ApiCall:
    return ApiCall.of("configservice", "describe-configuration-recorder-status", region)


def plannable_calls(region: str = "us-east-1") -> list[ApiCall]:
    """Every call this module can send, with sample identifiers where a listing supplies them.

    The read-only guard's test keeps its allow-list equal to the check modules' plans plus these,
    and `tests/unit/test_direct_security.py` keeps these equal to `OPERATIONS`.
    """
    detector = "0123456789abcdef0123456789abcdef"
    ids = [detector, "fedcba9876543210fedcba9876543210"]
    analyzer = f"arn:aws:access-analyzer:{region}:123456789012:analyzer/account-analyzer"
    calls = [
        _list_detectors(region),
        _get_detector(region, detector),
        _describe_hub(region),
        _inspector_status(region),
        _macie_session(region),
        _list_analyzers(region),
        _recorder_status(region),
        _guardduty_get_findings(region, detector, ids),
        _macie_get_findings(region, ids),
        _analyzer_findings(region, analyzer),
    ]
    for level in _ORDER:
        calls += [
            _guardduty_list_findings(region, detector, level),
            _securityhub_get_findings(region, level),
            _inspector_list_findings(region, level),
            _macie_list_findings(region, level),
        ]
    return calls


def _batches(ids: Sequence[str]) -> Iterator[list[str]]:
    """Ids in groups of at most `GET_BATCH`, each short enough, joined, for the guard's value limit."""
    batch: list[str] = []
    length = 0
    for finding_id in ids:
        if batch and (len(batch) == GET_BATCH or length + 1 + len(finding_id) > MAX_VALUE_LENGTH):
            yield batch
            batch, length = [], 0
        length += len(finding_id) + (1 if batch else 0)
        batch.append(finding_id)
    if batch:
        yield batch


# ---------------------------------------------------------------------------------------------
# Reading: one guarded, deadline-bounded call or listing at a time (in a worker thread)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Note:
    """A part of the answer that is missing or cut short, in the answer's words."""

    reason: str
    kind: ErrorKind | None = None


class _Unread(Exception):
    """Nothing usable came back for a call (refused by the guard, out of time, or AWS said no)."""

    def __init__(self, reason: str, kind: ErrorKind | None) -> None:
        super().__init__(reason)
        self.note = Note(reason, kind)


class _AwsError(_Unread):
    """AWS (or botocore on its way) answered a call with an error; its code decides what it means."""

    def __init__(self, call: ApiCall, code: str, message: str, kind: ErrorKind) -> None:
        self.call = call
        self.code = code
        self.message = message
        self.action = OPERATIONS[(call.service, call.operation)]
        super().__init__(f"{code}: {_first_line(message)}", kind)

    def about(self, what: str) -> Note:
        """ "could not read X: missing permission Y" for a denial; the code and message otherwise."""
        if self.note.kind is ErrorKind.PERMISSION:
            return Note(f"could not read {what}: missing permission {self.action}", self.note.kind)
        return Note(f"could not read {what}: {self.note.reason}", self.note.kind)


class _NotEnabled(Exception):
    """The service is off in the Region: a definite answer, not a failure."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


_HTML: Final = re.compile(r":?\s*<(?:!doctype|html)", re.IGNORECASE)


def _first_line(text: str, limit: int = 240) -> str:
    """The first line of an error, without the HTML page botocore appends to some 5xx errors."""
    text = _HTML.split(text.strip(), maxsplit=1)[0]
    line = next((part.strip() for part in text.splitlines() if part.strip()), "no reason given")
    return line if len(line) <= limit else line[: limit - 3] + "..."


class _Reader:
    """Guarded, deadline-bounded reads in one Region; runs in a worker thread (clients are thread-safe)."""

    def __init__(self, clients: ClientFactory, region: str, deadline: Deadline) -> None:
        self.region = region
        self._clients = clients
        self._deadline = deadline

    def one(self, call: ApiCall) -> dict[str, Any]:
        """One call's response (without its `ResponseMetadata`)."""
        client, method, arguments = self._prepare(call)
        response: dict[str, Any] = self._send(call, lambda: getattr(client, method)(**arguments))
        response.pop("ResponseMetadata", None)
        return response

    def listing(self, call: ApiCall, key: str, cap: int | None = None) -> tuple[list[Any], str | None]:
        """The `key` items of every page, up to `cap` items and `MAX_PAGES` pages, and why it was cut
        short (None when it was read to the end). No page starts with less than `MIN_CALL_S` left."""
        client, method, arguments = self._prepare(call)
        pages = iter(client.get_paginator(method).paginate(**arguments))
        items: list[Any] = []
        for index in range(MAX_PAGES):
            if index and self._deadline.remaining() < MIN_CALL_S:
                return items, f"only the first {index} pages were read before the request's deadline"
            page: dict[str, Any] | None = self._send(call, lambda: next(pages, None))
            if page is None:
                return items, None
            items.extend(page.get(key) or [])
            if cap is not None and len(items) >= cap:
                return items[:cap], f"the first {cap} were read"
        return items, f"only the first {MAX_PAGES} pages were read"

    def _prepare(self, call: ApiCall) -> tuple[Any, str, dict[str, Any]]:
        if self._deadline.remaining() < MIN_CALL_S:
            raise _Unread("not read: the request's deadline came first", ErrorKind.TIMEOUT)
        try:
            check_call(call)
        except InvalidInput as exc:
            raise _Unread(f"not read: the read-only guard {exc.message}", ErrorKind.VALIDATION) from exc
        client = self._clients(_BOTO3_SERVICE.get(call.service, call.service), call.region or self.region)
        method, arguments = _arguments(client, call)
        return client, method, arguments

    @staticmethod
    def _send(call: ApiCall, send: Callable[[], T]) -> T:
        try:
            return send()
        except (ClientError, BotoCoreError) as exc:
            error = exc.response.get("Error", {}) if isinstance(exc, ClientError) else {}
            code = str(error.get("Code") or type(exc).__name__)
            message = str(error.get("Message") or exc)
            raise _AwsError(call, code, message, classify(exc).kind) from exc


def _arguments(client: Any, call: ApiCall) -> tuple[str, dict[str, Any]]:
    """The boto3 method and arguments of a checked call, typed by the service model: a list of
    strings arrives comma-separated, a structure as the JSON document the guard checked."""
    from botocore import xform_name

    model = client.meta.service_model
    operation_name = {xform_name(name, "-"): name for name in model.operation_names}[call.operation]
    operation = model.operation_model(operation_name)
    members = operation.input_shape.members if operation.input_shape is not None else {}
    by_cli = {xform_name(name, "-"): name for name in members}
    arguments: dict[str, Any] = {}
    for cli_name, value in call.parameters:
        member = by_cli[cli_name]
        shape = members[member]
        if shape.type_name == "string":
            arguments[member] = value
        elif shape.type_name == "list" and shape.member.type_name == "string":
            arguments[member] = value.split(",")
        else:
            arguments[member] = json.loads(value)
    return xform_name(operation_name), arguments


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    """This module's own threads: a read given up at the deadline keeps its thread until botocore's
    timeouts end it, and must not starve the event loop's default executor (the session store's)."""
    global _pool  # noqa: PLW0603 - one pool per process, made on first use
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(MAX_WORKERS, thread_name_prefix="direct-security")
        return _pool


async def _in_thread(work: Callable[[], T], deadline: Deadline) -> tuple[bool, T | None]:
    """(True, result) when `work` finished within the deadline; (False, None) when it could not start
    or was given up. Exceptions `work` raises are raised here."""
    if deadline.remaining() < MIN_CALL_S:
        return False, None
    running = asyncio.get_running_loop().run_in_executor(_executor(), work)
    try:
        return True, await asyncio.wait_for(running, timeout=deadline.remaining())
    except TimeoutError:
        return False, None


def _jsonable(value: Any) -> Any:
    """What a JSON round trip gives (times as ISO strings), as the Security server passes documents on."""

    def default(item: Any) -> Any:
        return item.isoformat() if hasattr(item, "isoformat") else str(item)

    return json.loads(json.dumps(value, default=default))


# ---------------------------------------------------------------------------------------------
# Service status
# ---------------------------------------------------------------------------------------------


def _status(service: str, region: str, enabled: bool, summary: str, **detail: Any) -> ServiceStatus:
    return ServiceStatus(
        service=service,
        region=region,
        enabled=enabled,
        summary=summary,
        detail=_jsonable({k: v for k, v in detail.items() if v is not None}),
        setup_url=SETUP.get(service),
    )


def _unknown(service: str, region: str, note: Note) -> ServiceStatus:
    """Could not be read: "unknown", as the Security server's path reports a status with an error."""
    return ServiceStatus(
        service=service,
        region=region,
        enabled=None,
        summary=f"{LABELS[service]}: status could not be determined ({note.reason})",
        error=note.reason,
        setup_url=SETUP.get(service),
    )


def _guardduty_status(reader: _Reader) -> ServiceStatus:
    region = reader.region
    detectors, _ = reader.listing(_list_detectors(region), "DetectorIds")
    if not detectors:
        return _status("guardduty", region, False, f"Amazon GuardDuty is not enabled in {region}: no detector.")
    detector_id = str(detectors[0])  # one detector per account and Region
    detector = reader.one(_get_detector(region, detector_id))
    state = str(detector.get("Status") or "UNKNOWN").upper()
    details = {
        "id": detector_id,
        "status": state,
        "finding_publishing_frequency": detector.get("FindingPublishingFrequency"),
        "features": [
            {"name": f.get("Name"), "status": f.get("Status")}
            for f in detector.get("Features") or []
            if isinstance(f, Mapping)
        ],
    }
    if state == "ENABLED":
        return _status("guardduty", region, True, "Amazon GuardDuty is enabled and active.", detector_details=details)
    return _status(
        "guardduty",
        region,
        False,
        f"Amazon GuardDuty's detector is {state.lower()} in {region}: it monitors nothing until it is enabled.",
        detector_details=details,
    )


def _securityhub_status(reader: _Reader) -> ServiceStatus:
    region = reader.region
    try:
        hub = reader.one(_describe_hub(region))
    except _AwsError as exc:
        if exc.code == "InvalidAccessException":  # "Account is not subscribed to AWS Security Hub"
            return _status("securityhub", region, False, f"AWS Security Hub is not enabled in {region}.")
        raise
    return _status(
        "securityhub",
        region,
        True,
        "AWS Security Hub is enabled.",
        hub_arn=hub.get("HubArn"),
        subscribed_at=hub.get("SubscribedAt"),
        auto_enable_controls=hub.get("AutoEnableControls"),
    )


_SCAN_TYPES: Final = {"ec2": "ec2_status", "ecr": "ecr_status", "lambda": "lambda_status"}
_SCAN_TYPES["lambdaCode"] = "lambda_code_status"


def _inspector_state(reader: _Reader) -> tuple[str, dict[str, str]]:
    """The account's Inspector status and the status of each scan type (the Security server's keys)."""
    answer = reader.one(_inspector_status(reader.region))
    failed = [f for f in answer.get("failedAccounts") or [] if isinstance(f, Mapping)]
    accounts = [a for a in answer.get("accounts") or [] if isinstance(a, Mapping)]
    if not accounts:
        reason = f"{failed[0].get('errorCode')}: {failed[0].get('errorMessage')}" if failed else "no account status"
        raise _Unread(f"Amazon Inspector returned no status for this account ({_first_line(reason)})", None)
    account = accounts[0]
    state = str((account.get("state") or {}).get("status") or "UNKNOWN").upper()
    resources = account.get("resourceState") or {}
    scans = {
        key: str((resources.get(kind) or {}).get("status") or "UNKNOWN").upper()
        for kind, key in _SCAN_TYPES.items()
        if kind in resources
    }
    return state, scans


def _inspector_service_status(reader: _Reader) -> ServiceStatus:
    region = reader.region
    state, scans = _inspector_state(reader)
    if state != "ENABLED":
        summary = f"Amazon Inspector is not enabled in {region} (status {state})."
        return _status("inspector", region, False, summary, status=state, scan_status=scans)
    on = [key.removesuffix("_status").replace("_", " ") for key, value in scans.items() if value == "ENABLED"]
    summary = "Amazon Inspector is enabled with the following scan types: " + (", ".join(on) or "none")
    return _status("inspector", region, True, summary, status=state, scan_status=scans)


def _macie_not_enabled(error: _AwsError) -> bool:
    """Macie answers a disabled account's calls with AccessDenied saying so (a local AWS with
    ResourceNotFound): off, not a missing permission."""
    return error.code == "ResourceNotFoundException" or (
        error.note.kind is ErrorKind.PERMISSION and _MACIE_OFF.lower() in error.message.lower()
    )


def _macie_status(reader: _Reader) -> ServiceStatus:
    region = reader.region
    try:
        session = reader.one(_macie_session(region))
    except _AwsError as exc:
        if _macie_not_enabled(exc):
            return _status("macie", region, False, f"Amazon Macie is not enabled in {region}.")
        raise
    state = str(session.get("status") or "UNKNOWN").upper()
    enabled = state == "ENABLED"
    summary = (
        "Amazon Macie is enabled in this region."
        if enabled
        else f"Amazon Macie is {state.lower()} in {region}: it does nothing until it is enabled again."
    )
    return _status(
        "macie",
        region,
        enabled,
        summary,
        status=state,
        created_at=session.get("createdAt"),
        finding_publishing_frequency=session.get("findingPublishingFrequency"),
    )


def _external_analyzers(analyzers: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The analyzers that report external access: ACTIVE, of type ACCOUNT or ORGANIZATION."""
    return [a for a in analyzers if a.get("status") == "ACTIVE" and str(a.get("type")).upper() in _EXTERNAL_ANALYZERS]


def _access_analyzer_status(reader: _Reader) -> ServiceStatus:
    region = reader.region
    listed, _ = reader.listing(_list_analyzers(region), "analyzers")
    analyzers = [a for a in listed if isinstance(a, Mapping)]
    cards = [{"name": a.get("name"), "type": a.get("type"), "status": a.get("status")} for a in analyzers]
    active = _external_analyzers(analyzers)
    if active:
        names = ", ".join(str(a.get("name")) for a in active)
        summary = f"IAM Access Analyzer is enabled with {len(analyzers)} analyzer(s) ({len(active)} active): {names}."
        return _status("accessanalyzer", region, True, summary, analyzers=cards)
    summary = f"IAM Access Analyzer has no active account or organization analyzer in {region}" + (
        f" ({len(analyzers)} other analyzer(s))." if analyzers else "."
    )
    return _status("accessanalyzer", region, False, summary, analyzers=cards)


def _config_status(reader: _Reader) -> ServiceStatus:
    region = reader.region
    answer = reader.one(_recorder_status(region))
    recorders = [r for r in answer.get("ConfigurationRecordersStatus") or [] if isinstance(r, Mapping)]
    cards = [
        {"name": r.get("name"), "recording": r.get("recording"), "last_status": r.get("lastStatus")} for r in recorders
    ]
    if not recorders:
        return _status(CONFIG, region, False, f"AWS Config has no configuration recorder in {region}.")
    recording = [str(r.get("name")) for r in recorders if r.get("recording") is True]
    if recording:
        return _status(CONFIG, region, True, f"AWS Config is recording ({', '.join(recording)}).", recorders=cards)
    names = ", ".join(str(r.get("name")) for r in recorders)
    summary = f"AWS Config is not recording in {region}: recorder {names} exists but is stopped."
    return _status(CONFIG, region, False, summary, recorders=cards)


_STATUS_READERS: Final[Mapping[str, Callable[[_Reader], ServiceStatus]]] = MappingProxyType(
    {
        "guardduty": _guardduty_status,
        "inspector": _inspector_service_status,
        "accessanalyzer": _access_analyzer_status,
        "securityhub": _securityhub_status,
        "macie": _macie_status,
        CONFIG: _config_status,
    }
)
"""In the Security server's order, then AWS Config (which that server does not report)."""


def _read_status(service: str, reader: _Reader) -> ServiceStatus:
    try:
        return _STATUS_READERS[service](reader)
    except _AwsError as exc:
        return _unknown(service, reader.region, exc.about(LABELS[service]))
    except _Unread as exc:
        note = Note(f"could not read {LABELS[service]}: {exc.note.reason}", exc.note.kind)
        return _unknown(service, reader.region, note)


# ---------------------------------------------------------------------------------------------
# Findings
# ---------------------------------------------------------------------------------------------


@dataclass
class _Found:
    """What a findings read gathered so far: kept when the read is given up at the deadline."""

    raws: list[dict[str, Any]] = field(default_factory=list)
    cuts: list[str] = field(default_factory=list)
    answered: bool = False
    """The service answered the findings query itself, so "none found" is an answer."""


def _guardduty_findings(reader: _Reader, threshold: Severity, found: _Found) -> None:
    region = reader.region
    detectors, _ = reader.listing(_list_detectors(region), "DetectorIds")
    if not detectors:
        raise _NotEnabled(f"Amazon GuardDuty is not enabled in {region}: no detector")
    detector_id = str(detectors[0])
    ids, cut = reader.listing(_guardduty_list_findings(region, detector_id, threshold), "FindingIds", MAX_FINDINGS)
    found.answered = True
    for batch in _batches([str(i) for i in ids]):
        found.raws.extend(reader.one(_guardduty_get_findings(region, detector_id, batch)).get("Findings") or [])
    if cut:
        found.cuts.append(cut)


def _securityhub_findings(reader: _Reader, threshold: Severity, found: _Found) -> None:
    """Label by label from CRITICAL down, so a capped answer holds the most severe findings."""
    for level in _at_or_above(threshold):
        room = MAX_FINDINGS - len(found.raws)
        if room <= 0:
            found.cuts.append(f"the first {MAX_FINDINGS} were read, most severe first")
            return
        try:
            items, cut = reader.listing(_securityhub_get_findings(reader.region, level), "Findings", room)
        except _AwsError as exc:
            if exc.code == "InvalidAccessException":
                raise _NotEnabled(f"AWS Security Hub is not enabled in {reader.region}") from exc
            raise
        found.answered = True
        found.raws.extend(items)
        if cut and len(found.raws) < MAX_FINDINGS:  # cut by the deadline or the page limit
            found.cuts.append(f"{level.value} findings: {cut}")
            return


def _inspector_findings(reader: _Reader, threshold: Severity, found: _Found) -> None:
    try:
        state, _ = _inspector_state(reader)
    except _Unread:
        state = None  # the status could not be read: the findings query will say what it can
    if state is not None and state != "ENABLED":
        raise _NotEnabled(f"Amazon Inspector is not enabled in {reader.region} (status {state})")
    items, cut = reader.listing(_inspector_list_findings(reader.region, threshold), "findings", MAX_FINDINGS)
    found.answered = True
    found.raws.extend(items)
    if cut:
        found.cuts.append(cut)


def _macie_findings(reader: _Reader, threshold: Severity, found: _Found) -> None:
    region = reader.region
    try:
        ids, cut = reader.listing(_macie_list_findings(region, threshold), "findingIds", MAX_FINDINGS)
    except _AwsError as exc:
        if _macie_not_enabled(exc):
            raise _NotEnabled(f"Amazon Macie is not enabled in {region}") from exc
        raise
    found.answered = True
    for batch in _batches([str(i) for i in ids]):
        found.raws.extend(reader.one(_macie_get_findings(region, batch)).get("findings") or [])
    if cut:
        found.cuts.append(cut)


def _access_analyzer_findings(reader: _Reader, threshold: Severity, found: _Found) -> None:
    del threshold  # Access Analyzer rates nothing: the answer filters after normalising
    region = reader.region
    listed, _ = reader.listing(_list_analyzers(region), "analyzers")
    active = _external_analyzers([a for a in listed if isinstance(a, Mapping)])
    if not active:
        raise _NotEnabled(f"IAM Access Analyzer has no active account or organization analyzer in {region}")
    for analyzer in active:
        room = MAX_FINDINGS - len(found.raws)
        if room <= 0:
            found.cuts.append(f"the first {MAX_FINDINGS} were read")
            return
        items, cut = reader.listing(_analyzer_findings(region, str(analyzer.get("arn"))), "findings", room)
        found.answered = True
        found.raws.extend(items)
        if cut:
            found.cuts.append(f"analyzer {analyzer.get('name')}: {cut}")


_FINDING_READERS: Final[Mapping[str, Callable[[_Reader, Severity, _Found], None]]] = MappingProxyType(
    {
        "guardduty": _guardduty_findings,
        "securityhub": _securityhub_findings,
        "inspector": _inspector_findings,
        "macie": _macie_findings,
        "accessanalyzer": _access_analyzer_findings,
    }
)


@dataclass(frozen=True)
class DirectFindings:
    """One source's findings in one Region as read directly, and what is missing from them."""

    findings: list[Finding] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    not_enabled: str | None = None
    """Set when the service is off in the Region: it has no findings, and that is the answer."""
    answered: bool = False
    """False when nothing could be read of the findings (every note says why)."""


def _normalise(
    source: str, raws: Sequence[dict[str, Any]], region: str, account_id: str | None, observed_at: datetime
) -> tuple[list[Finding], list[Note]]:
    """Each raw document through the Security server path's own normaliser, one at a time."""
    findings: list[Finding] = []
    skipped: list[str] = []
    for raw in raws:
        payload = {"service": source, "enabled": True, "findings": [_jsonable(raw)]}
        try:
            findings += findings_from_security_findings(payload, source, region, account_id, observed_at=observed_at)
        except SourceUnavailable as exc:  # MalformedPayload: this document is not in the API's shape
            skipped.append(exc.reason)
    notes = []
    if skipped:
        label = SECURITY_SERVICES.get(source, source)
        notes.append(Note(f"{len(skipped)} {label} findings could not be read ({skipped[0]})", ErrorKind.SERVER_ERROR))
    return [f.model_copy(update={"sources": [SOURCE]}) for f in findings], notes


class DirectSecurity:
    """Security service status and findings with boto3 under the function's role (module docstring).

    `clients(service, region)` gives boto3 clients: pass the warm container's `DirectApi.client`
    so both direct paths share one set; by default a session of this reader's own is made on first use.
    """

    def __init__(self, clients: ClientFactory | None = None) -> None:
        self._clients = clients
        self._lock = threading.Lock()

    def _factory(self) -> ClientFactory:
        with self._lock:
            if self._clients is None:
                self._clients = default_client_factory()
            return self._clients

    async def service_statuses(self, region: str, deadline: Deadline) -> list[ServiceStatus]:
        """Every service's status in `region`, read at once; one not read in time is "unknown"."""
        reader = _Reader(self._factory(), region, deadline)

        async def one(service: str) -> ServiceStatus:
            done, status = await _in_thread(lambda: _read_status(service, reader), deadline)
            if done and status is not None:
                return status
            return _unknown(service, region, Note("not read before the request's deadline", ErrorKind.TIMEOUT))

        return list(await asyncio.gather(*(one(service) for service in _STATUS_READERS)))

    async def findings(
        self, source: str, region: str, threshold: Severity, deadline: Deadline, account_id: str | None
    ) -> DirectFindings:
        """`source`'s current findings in `region` at `threshold` or above, most severe first, capped
        at `MAX_FINDINGS`; what could not be read is in `notes`."""
        if source not in _FINDING_READERS:
            raise InvalidInput(f"unknown findings source {source!r}; expected one of {', '.join(FINDING_SOURCES)}")
        label = SECURITY_SERVICES.get(source, source)
        reader = _Reader(self._factory(), region, deadline)
        found = _Found()
        notes: list[Note] = []
        called_at = datetime.now(UTC)
        try:
            done, _ = await _in_thread(lambda: _FINDING_READERS[source](reader, threshold, found), deadline)
        except _NotEnabled as exc:
            return DirectFindings(not_enabled=exc.message, answered=True)
        except _AwsError as exc:
            done = True
            notes.append(exc.about(f"{label} findings"))
        except _Unread as exc:
            done = True
            notes.append(Note(f"could not read {label} findings: {exc.note.reason}", exc.note.kind))
        if not done:
            notes.append(Note(f"{label} findings: the request's deadline came before all were read", ErrorKind.TIMEOUT))
        raws = list(found.raws)  # a given-up read may still be appending in its thread
        notes += [Note(f"{label} findings: {cut}; narrow with min_severity") for cut in found.cuts]
        findings, skipped = _normalise(source, raws, region, account_id, called_at)
        return DirectFindings(findings=findings, notes=notes + skipped, answered=found.answered)


def read_directly_note(result: ToolResult) -> DegradedSource:
    """The answer's `degraded` entry saying the Security server's part was read directly, and why."""
    why = why_not_the_server(result.error_kind, result.error_message)
    reason = f"read directly with the function's role because the Security server is {why}"
    return DegradedSource(server=SERVER, reason=reason, error_kind=result.error_kind)


def why_not_the_server(error_kind: ErrorKind | None, error_message: str | None) -> str:
    """Why the Security server gave no answer (a failed `ToolResult`), in the words of the note."""
    message = error_message or "no answer"
    if error_kind is ErrorKind.CONFIGURATION and "not configured" in message:
        return "disabled in the configuration"
    if error_kind is ErrorKind.CONFIGURATION:
        return f"not usable as configured ({message})"
    if error_kind is ErrorKind.CIRCUIT_OPEN:
        return f"unavailable: its circuit breaker is open ({message})"
    return f"unreachable ({message})"
