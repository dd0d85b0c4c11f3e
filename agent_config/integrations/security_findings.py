"""The Security server's answers as `Finding`s: one pure function per tool, and a typed "could not assess".

| tool                     | function                           |
|--------------------------|------------------------------------|
| `CheckSecurityServices`  | `findings_from_service_status`     |
| `GetSecurityFindings`    | `findings_from_security_findings`  |
| `CheckStorageEncryption` | `findings_from_storage_encryption` |
| `CheckNetworkSecurity`   | `findings_from_network_security`   |

Why a module of its own: the server's answers are free-form dictionaries with its own verdicts in
them, and several of those verdicts are wrong (see below). Everything above the integrations works
with `Finding`s keyed by control id, so this is where the server's words are weighed and turned
into controls, once, with no I/O (golden-file tests run in milliseconds).

Errors are read from the payload, never from the MCP `isError` flag: the server answers almost
every failure as a JSON `error` field inside a successful result. What cannot be assessed raises::

    ServerFailure                 (agent_config.utils.error_handling)
     └── SourceUnavailable        the server answered, but this part could not be assessed; says why
          │                       in words a user can act on (HTML error pages cut off) and carries
          │                       the ErrorKind of the cause (permission, connection, ...)
          ├── ServiceNotEnabled   the security service asked about is off in the region: nothing
          │                       to read, not a failure of anything (never retried)
          └── MalformedPayload    the answer is not in the shape 0.2.0 gives; names where it broke

`SourceUnavailable.degraded()` is the `DegradedSource` for the answer. A status that could not be
read for one service or one resource (a denied call) is not an exception but a MANUAL finding with
the reason in `evidence["missing"]`: missing permissions give MANUAL, never FAIL.

Control ids. A Security Hub control id (`S3.8`: service, dot, number; FSBP uses these) is used only
where the server's test decides exactly what the control decides, in the direction reported: a
FAIL is mapped when every resource the server fails also fails the control, a PASS when every
resource it passes also passes. Otherwise the finding gets a project id, which never ends in a dot
and digits only, so `is_security_hub_control_id` tells the two apart:

- `SecurityHub.Enabled`, `Inspector.Enabled`, `AccessAnalyzer.Enabled`: the service is on in the
  region. FSBP has no such control (it runs inside Security Hub; Inspector.1-4 are per scan type).
- `S3.DefaultEncryption`: FSBP's S3.4 was retired in 2023, when S3 began encrypting every bucket.
- `DynamoDB.EncryptionAtRest`: FSBP has no encryption control for tables.
- `ElastiCache.ClusterEncryptionAtRest` / `...InTransit`: per cache cluster, as the server reads
  them (ElastiCache.4 and .5 are per replication group).
- `EC2.InterfaceEndpointPrivateDns`: an interface VPC endpoint has private DNS on.
- `EC2.CleartextPortPublic`: TCP 80 open to 0.0.0.0/0 (EC2.18 authorises port 80).
- `APIGateway.DomainTlsPolicy`: a custom domain's TLS security policy.
- `CloudFront.S3OriginAccess`: an S3-looking origin without OAI or OAC (CloudFront.13 wants OAC,
  and the server guesses "S3" from the origin's domain name).
- `GuardDuty.Finding/<Type>`: one GuardDuty finding type on one resource, e.g.
  `GuardDuty.Finding/Recon:EC2/PortProbeUnprotectedPort`.
- `Inspector.Finding/<type>/<key>`: key is the CVE (`PACKAGE_VULNERABILITY/CVE-2024-6387`), the
  detector (`CODE_VULNERABILITY/<detectorId>`) or protocol and ports
  (`NETWORK_REACHABILITY/TCP:22-22`), so two vulnerabilities of one instance stay two findings.
- `Macie.Finding/<type>`, e.g. `Macie.Finding/SensitiveData:S3Object/Personal`.
- `AccessAnalyzer.Finding/PublicAccess` / `.../ExternalAccess`: the resource is reachable by
  anyone / by principals outside the account.
- `TrustedAdvisor.Check/<checkId>`: one Trusted Advisor check, on the account.
- `SecurityHub.Finding/<GeneratorId or type>`: a Security Hub finding with no control id; the
  generator for compliance findings, the first ASFF type for threat findings.

Findings read from `GetSecurityFindings` are stored reports, not live reads: their evidence says
`origin: "report"`, which the synthesizer's conflict rules rank below live evidence. Their
`observed_at` is the report's own time (LastObservedAt, else UpdatedAt; GuardDuty's EventLastSeen;
Access Analyzer's analyzedAt; Trusted Advisor's timestamp), never later than the call that read it,
so a report cannot claim to be newer than it is; without one, the call time. Live checks carry the
call time the caller passes.

Regions. AWS evaluates IAM, account-level S3 Block Public Access (S3.1) and the account's settings
(Account.*) once for the whole account, and our evaluators give them the region `global`
(`GLOBAL_REGION`); Security Hub files the same findings under the region that recorded them. Control
findings and Access Analyzer findings on global resource types or controls (`is_global`) are given
`global` too, the recorded region kept as `evidence["reported_region"]`, so the same control on the
same resource is one finding. Threat detections keep the region they were detected in.

Severity: a Security Hub control keeps AWS's severity for the control; Security Hub findings keep
`Severity.Label`; GuardDuty's 1.0-10.0 score uses GuardDuty's bands (`guardduty_severity`);
Inspector's label is kept, UNTRIAGED (no vendor rating yet) counted MEDIUM so that an unrated CVE is
neither hidden nor alarming; Macie's Low/Medium/High is kept; Access Analyzer has no severity:
public access HIGH, other external access MEDIUM; Trusted Advisor error HIGH, warning MEDIUM.
Project ids: service-enabled MEDIUM, except `SecurityHub.Enabled` INFORMATIONAL (a reporting
service; its absence exposes nothing by itself and the agent evaluates the controls itself);
encryption at rest and in transit MEDIUM, as FSBP rates its own encryption controls; private DNS and
port 80 LOW.

What Security server 0.2.0 gets wrong, and what is done about it here:

- GuardDuty's status says "ENABLED" for any detector (a suspended one too); Macie's says enabled
  while Macie is paused, which is read from its session status here (Macie.1 FAIL); Macie's
  AccessDeniedException is reported as "not enabled" and cannot be told apart.
- Inspector: `GetStatus` does not exist and `BatchGetAccountStatus` is read under the wrong key, so
  every scan type is reported DISABLED or UNKNOWN whatever the account has: Inspector.1/.2/.4 are
  only reported PASS from an ENABLED scan type, and "enabled, no scan type enabled" is MANUAL.
  Its findings query always fails (`severities` is not a filter key): `SourceUnavailable`.
- Macie's findings filter (`severity.score > 7`, scores run 1-3) never matches; Access Analyzer's
  findings loop never runs (analyzer ARNs dropped) and would fail if it did. Their readers follow
  the AWS API shapes, for a corrected server.
- S3 "default encryption not enabled" comes from any `GetBucketEncryption` error, AccessDenied
  included, and S3 has encrypted every bucket since January 2023: MANUAL, never FAIL.
- DynamoDB "not encrypted" means no `SSEDescription`, which is what `DescribeTable` returns for the
  default AWS owned key; DynamoDB cannot store a table unencrypted: PASS, with the key type.
- API Gateway "HTTPS not enforced for stage" tests `methodSettings["*/*"].requireHttps`, a setting
  that does not exist (REST APIs are HTTPS-only): ignored.
- Load balancer TLS policies: the server flags AWS's recommended `ELBSecurityPolicy-TLS13-*`
  policies and misses TLS 1.0 on Classic Load Balancers (`Protocol-TLSv1`); ELB.17 is decided here
  from the policy name, ELB.8 only FAILs on what the server did flag.
- ARNs: Classic Load Balancer and ElastiCache ARNs lack the account, CloudFront's carry the
  distribution id as the account: repaired from `account_id`, or dropped when it is unknown.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Final

from agent_config.checks.catalogue import security_hub_control_url
from agent_config.checks.results import GLOBAL_REGION
from agent_config.integrations.security_server import (
    CHECK_NETWORK_SECURITY,
    CHECK_SECURITY_SERVICES,
    CHECK_STORAGE_ENCRYPTION,
    GET_SECURITY_FINDINGS,
    SECURITY_SERVICES,
    SERVER,
    SETUP_DOCS,
    parse_service_statuses,
)
from agent_config.interfaces import (
    DegradedSource,
    DocumentationLink,
    Finding,
    FindingStatus,
    ServiceStatus,
    Severity,
)
from agent_config.utils.error_handling import (
    GUIDANCE,
    RETRYABLE,
    ErrorKind,
    InvalidInput,
    ServerFailure,
    kind_for_aws_code,
    kind_for_http_status,
)

__all__ = [
    "CONTROLS",
    "REPORT_ORIGIN",
    "SOURCE",
    "ControlInfo",
    "MalformedPayload",
    "ServiceNotEnabled",
    "SourceUnavailable",
    "findings_from_network_security",
    "findings_from_security_findings",
    "findings_from_service_status",
    "findings_from_storage_encryption",
    "guardduty_severity",
    "is_global",
    "is_security_hub_control_id",
]

SOURCE: Final = SERVER
"""`Finding.sources` of everything read here."""
REPORT_ORIGIN: Final = "report"
"""`evidence["origin"]` of findings read from a stored report (the synthesizer's REPORT_ORIGIN)."""
ACCOUNT: Final = "AWS::::Account"
MAX_TEXT: Final = 300
"""Longest string kept in evidence: evidence is the deciding fields, never a whole response."""
MAX_ITEMS: Final = 10

_CONTROL_ID = re.compile(r"^[A-Za-z][A-Za-z0-9]*\.\d+$")


def is_security_hub_control_id(control_id: str) -> bool:
    """True for AWS Security Hub control ids (`S3.8`, the ids FSBP uses), False for project ids."""
    return bool(_CONTROL_ID.match(control_id))


_GLOBAL_RESOURCE_TYPE_PREFIX: Final = "AWS::IAM::"
_GLOBAL_CONTROL_PREFIXES: Final = ("IAM.", "Account.")
_GLOBAL_CONTROLS: Final = frozenset({"S3.1", "KMS.1"})
"""S3.1 is account-level Block Public Access; KMS.1 is evaluated on IAM policies."""
_GLOBAL_FINDINGS: Final = ("AccessAnalyzer.Finding/",)
"""Findings about a resource's configuration (its policy), as opposed to a detection in a region."""


def is_global(control_id: str, resource_type: str) -> bool:
    """Whether a finding is about something AWS keeps once per account (IAM, account-level S3 Block
    Public Access, the account's contacts), where our evaluators use the region `global`.

    Only controls and configuration findings qualify: a GuardDuty or Inspector detection on an IAM
    access key happened in a region, and that region is part of what it says.
    """
    if not (is_security_hub_control_id(control_id) or control_id.startswith(_GLOBAL_FINDINGS)):
        return False
    return (
        resource_type.startswith(_GLOBAL_RESOURCE_TYPE_PREFIX)
        or control_id.startswith(_GLOBAL_CONTROL_PREFIXES)
        or control_id in _GLOBAL_CONTROLS
    )


def _report_time(*values: Any) -> datetime | None:
    """The first value that is an ISO 8601 time (AWS writes `2026-01-14T09:30:00.000Z`), in UTC."""
    for value in values:
        if isinstance(value, datetime):
            parsed = value
        elif isinstance(value, str) and value:
            try:
                parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            except ValueError:
                continue
        else:
            continue
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    return None


# ---------------------------------------------------------------------------------------------
# The controls this module reports under fixed ids
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ControlInfo:
    """Title and severity of a control reported here (AWS's own for Security Hub controls)."""

    title: str
    severity: Severity
    setup_service: str | None = None
    """For service-enabled controls: the `SETUP_DOCS` key of the service's getting-started guide."""


CONTROLS: Mapping[str, ControlInfo] = MappingProxyType(
    {
        # Security Hub controls: title and severity as AWS publishes them.
        "GuardDuty.1": ControlInfo("GuardDuty should be enabled", Severity.HIGH, "guardduty"),
        "Macie.1": ControlInfo("Amazon Macie should be enabled", Severity.MEDIUM, "macie"),
        "Inspector.1": ControlInfo("Amazon Inspector EC2 scanning should be enabled", Severity.HIGH, "inspector"),
        "Inspector.2": ControlInfo("Amazon Inspector ECR scanning should be enabled", Severity.HIGH, "inspector"),
        "Inspector.4": ControlInfo(
            "Amazon Inspector Lambda standard scanning should be enabled", Severity.HIGH, "inspector"
        ),
        "S3.8": ControlInfo("S3 general purpose buckets should block public access", Severity.HIGH),
        "EC2.3": ControlInfo("Attached Amazon EBS volumes should be encrypted at-rest", Severity.MEDIUM),
        "RDS.3": ControlInfo("RDS DB instances should have encryption at-rest enabled", Severity.MEDIUM),
        "EFS.1": ControlInfo(
            "Elastic File System should be configured to encrypt file data at-rest using AWS KMS",
            Severity.MEDIUM,
        ),
        "ELB.1": ControlInfo(
            "Application Load Balancer should be configured to redirect all HTTP requests to HTTPS",
            Severity.MEDIUM,
        ),
        "ELB.3": ControlInfo(
            "Classic Load Balancer listeners should be configured with HTTPS or TLS termination",
            Severity.MEDIUM,
        ),
        "ELB.8": ControlInfo(
            "Classic Load Balancers with SSL listeners should use a predefined security policy that has "
            "strong AWS Configuration",
            Severity.MEDIUM,
        ),
        "ELB.17": ControlInfo(
            "Application and Network Load Balancers with listeners should use recommended security policies",
            Severity.MEDIUM,
        ),
        "EC2.18": ControlInfo(
            "Security groups should only allow unrestricted incoming traffic for authorized ports",
            Severity.HIGH,
        ),
        "EC2.19": ControlInfo(
            "Security groups should not allow unrestricted access to ports with high risk", Severity.CRITICAL
        ),
        "CloudFront.3": ControlInfo("CloudFront distributions should require encryption in transit", Severity.MEDIUM),
        "CloudFront.15": ControlInfo(
            "CloudFront distributions should use the recommended TLS security policy", Severity.MEDIUM
        ),
        # Project controls: the module docstring says why each is not a Security Hub control.
        "SecurityHub.Enabled": ControlInfo("AWS Security Hub should be enabled", Severity.INFORMATIONAL, "securityhub"),
        "Inspector.Enabled": ControlInfo("Amazon Inspector should be enabled", Severity.MEDIUM, "inspector"),
        "AccessAnalyzer.Enabled": ControlInfo(
            "IAM Access Analyzer should have an active external access analyzer",
            Severity.MEDIUM,
            "accessanalyzer",
        ),
        "S3.DefaultEncryption": ControlInfo("S3 buckets should have default encryption", Severity.MEDIUM),
        "DynamoDB.EncryptionAtRest": ControlInfo("DynamoDB tables should be encrypted at rest", Severity.MEDIUM),
        "ElastiCache.ClusterEncryptionAtRest": ControlInfo(
            "ElastiCache clusters should be encrypted at rest", Severity.MEDIUM
        ),
        "ElastiCache.ClusterEncryptionInTransit": ControlInfo(
            "ElastiCache clusters should be encrypted in transit", Severity.MEDIUM
        ),
        "EC2.InterfaceEndpointPrivateDns": ControlInfo(
            "Interface VPC endpoints should have private DNS enabled", Severity.LOW
        ),
        "EC2.CleartextPortPublic": ControlInfo(
            "Security groups should not expose clear-text HTTP (port 80) to the internet", Severity.LOW
        ),
        "APIGateway.DomainTlsPolicy": ControlInfo(
            "API Gateway custom domains should require TLS 1.2 or later", Severity.MEDIUM
        ),
        "CloudFront.S3OriginAccess": ControlInfo(
            "CloudFront S3 origins should be reachable only through origin access control", Severity.MEDIUM
        ),
    }
)

EC2_19_PORTS: Final = frozenset(
    {20, 21, 22, 23, 25, 110, 135, 143, 445, 1433, 1434, 3000, 3306, 3389, 4333, 5000, 5432, 5500}
    | {5601, 8080, 8088, 8888, 9200, 9300}
)
"""EC2.19's high-risk ports. Of the eight ports the server checks, 20, 21, 23, 25, 110 and 143 are here."""
EC2_18_AUTHORISED_PORTS: Final = frozenset({80, 443})
"""EC2.18's default `authorizedTcpPorts`."""
ELB_17_POLICIES: Final = frozenset(
    {
        "ELBSecurityPolicy-TLS13-1-3-2021-06",
        "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
        "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
        "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04",
        "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
        "ELBSecurityPolicy-TLS13-1-3-PQ-2025-09",
        "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-PQ-2025-09",
        "ELBSecurityPolicy-TLS13-1-3-FIPS-PQ-2025-09",
    }
)
"""ELB.17's `sslPolicies` parameter (not customisable)."""
CLOUDFRONT_15_POLICIES: Final = frozenset({"TLSv1.2_2021", "TLSv1.2_2025", "TLSv1.3_2025"})
"""CloudFront.15's `securityPolicies` parameter (not customisable)."""
HTTPS_VIEWER_POLICIES: Final = frozenset({"redirect-to-https", "https-only"})


# ---------------------------------------------------------------------------------------------
# "Could not assess"
# ---------------------------------------------------------------------------------------------


class SourceUnavailable(ServerFailure):
    """The Security server answered, but what was asked could not be assessed from its answer."""

    def __init__(
        self,
        tool: str,
        reason: str,
        *,
        service: str | None = None,
        region: str | None = None,
        cause_kind: ErrorKind | None = ErrorKind.SERVER_ERROR,
        retryable: bool | None = None,
    ) -> None:
        subject = _service_label(service) if service else tool
        where = f" in {region}" if region else ""
        super().__init__(f"{subject}{where} could not be assessed: {reason}")
        self.tool = tool
        self.reason = reason
        self.service = service
        self.region = region
        self.cause_kind = cause_kind
        self._retryable = retryable

    @property
    def guidance(self) -> str:
        return GUIDANCE[self.cause_kind] if self.cause_kind else "Nothing could be read; see the reason."

    @property
    def retryable(self) -> bool:
        """By the cause's kind, unless the answer shows that asking again gets the same answer."""
        return self.cause_kind in RETRYABLE if self._retryable is None else self._retryable

    def degraded(self) -> DegradedSource:
        """The missing part of the answer, in the words the response shows the user."""
        return DegradedSource(server=SERVER, reason=self.message, error_kind=self.cause_kind)


class ServiceNotEnabled(SourceUnavailable):
    """The service whose findings were asked for is off in the region: there is nothing to read."""

    def __init__(self, tool: str, service: str, region: str | None, message: str) -> None:
        super().__init__(tool, message, service=service, region=region, cause_kind=None, retryable=False)
        self.setup_url = SETUP_DOCS.get(service)

    @property
    def guidance(self) -> str:
        where = f" in {self.region}" if self.region else ""
        how = f" ({self.setup_url})" if self.setup_url else ""
        return f"Enable {_service_label(self.service)}{where}{how}; until then it has no findings to report."


class MalformedPayload(SourceUnavailable):
    """The answer is not in the shape Security server 0.2.0 gives; `where` names the part that is not."""

    def __init__(self, tool: str, where: str, problem: str) -> None:
        # Not retried: the same server answers in the same shape again.
        super().__init__(tool, f"the answer is not in the expected shape at {where}: {problem}", retryable=False)
        self.where = where


def _service_label(service: str | None) -> str:
    return SECURITY_SERVICES.get(service or "", service or "the Security server")


_HTML = re.compile(r":?\s*<(?:!doctype|html)", re.IGNORECASE)
_AWS_ERROR = re.compile(r"An error occurred \((?P<code>[^)]+)\)")


def _reason(error: object, limit: int = 240) -> str:
    """The first line of an error, without the HTML body botocore appends to 5xx pages."""
    text = _HTML.split(str(error).strip(), maxsplit=1)[0].strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()] or ["no reason given"]
    line = lines[0]
    if line.endswith(":") and len(lines) > 1:  # "Parameter validation failed:\nUnknown parameter ..."
        line = f"{line} {lines[1]}"
    return line if len(line) <= limit else line[: limit - 3] + "..."


_DETERMINISTIC_STATUSES = frozenset({404, 405, 501})
"""HTTP statuses in botocore's "An error occurred (404)": the endpoint lacks the operation."""


def _kind_of(error: object) -> tuple[ErrorKind, bool | None]:  # noqa: PLR0911 - one return per family
    """The kind of an error the server reported as text, and whether asking again could help (None:
    as the kind says). By the AWS error code inside it when there is one (botocore writes "An error
    occurred (Code) when calling..."), else by botocore's wording for the failures without a code."""
    text = str(error)
    match = _AWS_ERROR.search(text)
    if match:
        code = match.group("code")
        if code.isdigit():
            status = int(code)
            if status in _DETERMINISTIC_STATUSES:
                return ErrorKind.SERVER_ERROR, False
            return kind_for_http_status(status), None
        return kind_for_aws_code(code) or ErrorKind.SERVER_ERROR, None
    lowered = text.lower()
    if "parameter validation failed" in lowered:
        return ErrorKind.SERVER_ERROR, False  # the server built a request AWS's model rejects
    if "profile" in lowered and "could not be found" in lowered:
        return ErrorKind.CONFIGURATION, None
    if "unable to locate credentials" in lowered:
        return ErrorKind.AUTHENTICATION, None
    if "could not connect to the endpoint" in lowered:
        return ErrorKind.CONNECTION, None
    if "timed out" in lowered or "read timeout" in lowered:
        return ErrorKind.TIMEOUT, None
    return ErrorKind.SERVER_ERROR, None


# ---------------------------------------------------------------------------------------------
# Reading the payload
# ---------------------------------------------------------------------------------------------


def _object(value: Any, tool: str, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise MalformedPayload(tool, where, f"expected an object, got {type(value).__name__}")
    return value


def _items(value: Any, tool: str, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise MalformedPayload(tool, where, f"expected a list, got {type(value).__name__}")
    return value


def _mapping(value: Any) -> Mapping[str, Any]:
    """`value` when it is an object, else an empty one: for the optional parts of an answer."""
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _required_text(item: Mapping[str, Any], key: str, tool: str, where: str) -> str:
    value = _text(item.get(key))
    if value is None:
        raise MalformedPayload(tool, f"{where}.{key}", "missing or not a string")
    return value


def _number(value: Any, tool: str, where: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise MalformedPayload(tool, where, f"expected a number from {low:g} to {high:g}, got {value!r}")
    return float(value)


def _answer(payload: Any, tool: str, region: str, service: str | None = None) -> Mapping[str, Any]:
    """The answer as an object, or the typed reason it cannot be read: the `isError` flag is not
    trusted, a top-level `error` is."""
    answer = _object(payload, tool, "the answer")
    error = answer.get("error")
    if error:
        kind, retryable = _kind_of(error)
        raise SourceUnavailable(
            tool,
            _reason(error),
            service=service,
            region=str(answer.get("region") or region),
            cause_kind=kind,
            retryable=retryable,
        )
    return answer


def _small(value: Any, depth: int = 0) -> Any:
    """Evidence stays small: long strings cut, long lists shortened, deep structures flattened."""
    if isinstance(value, str):
        return value if len(value) <= MAX_TEXT else value[: MAX_TEXT - 3] + "..."
    if isinstance(value, Mapping):
        if depth >= 2:
            return _small(str(dict(value)), depth)
        return {str(k): _small(v, depth + 1) for k, v in list(value.items())[:MAX_ITEMS]}
    if isinstance(value, list | tuple):
        return [_small(v, depth + 1) for v in value[:MAX_ITEMS]]
    return value


# ---------------------------------------------------------------------------------------------
# Building findings
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Where:
    """What every finding of one answer shares: the tool, region, account and observation time."""

    tool: str
    region: str
    account_id: str | None
    observed_at: datetime | None

    def subject(self, resource_type: str, resource_id: str, arn: str | None = None, **overrides: Any) -> _Subject:
        return _Subject(self, resource_type, resource_id, arn, **overrides)

    def account(self) -> _Subject:
        return _Subject(self, ACCOUNT, self.account_id or "", None)


@dataclass(frozen=True)
class _Subject:
    """The resource a group of findings is about; its methods build the findings (one line each)."""

    where: _Where
    resource_type: str
    resource_id: str
    arn: str | None = None
    region: str | None = None
    account_id: str | None = None
    origin: str | None = None
    observed_at: datetime | None = None

    def reported(
        self, region: str | None = None, account_id: str | None = None, observed_at: datetime | None = None
    ) -> _Subject:
        """The same subject, read from a stored report (another region or account, when it says so,
        observed when the report says, never after the call that read it)."""
        called = self.where.observed_at
        if observed_at is not None and called is not None and observed_at > called:
            observed_at = called
        return replace(self, region=region, account_id=account_id, origin=REPORT_ORIGIN, observed_at=observed_at)

    def result(
        self,
        control_id: str,
        status: FindingStatus,
        reason: str,
        *,
        missing: str | None = None,
        title: str | None = None,
        severity: Severity | None = None,
        **evidence: Any,
    ) -> Finding:
        info = CONTROLS.get(control_id)
        details: dict[str, Any] = {"reason": reason}
        if missing is not None:
            details["missing"] = missing
        if self.origin is not None:
            details["origin"] = self.origin
        details.update({k: v for k, v in evidence.items() if v is not None})
        region = self.region or self.where.region
        if region != GLOBAL_REGION and is_global(control_id, self.resource_type):
            details["reported_region"] = region
            region = GLOBAL_REGION
        observed_at = self.observed_at or self.where.observed_at
        extra = {"observed_at": observed_at} if observed_at is not None else {}
        return Finding(
            control_id=control_id,
            title=title or (info.title if info else control_id),
            status=status,
            severity=severity or (info.severity if info else Severity.MEDIUM),
            resource_type=self.resource_type,
            resource_id=self.resource_id,
            resource_arn=self.arn,
            region=region,
            account_id=self.account_id or self.where.account_id,
            evidence=_small(details),
            sources=[SOURCE],
            documentation=_documentation(control_id, info),
            **extra,
        )

    def passed(self, control_id: str, reason: str, **evidence: Any) -> Finding:
        return self.result(control_id, FindingStatus.PASS, reason, **evidence)

    def failed(self, control_id: str, reason: str, **evidence: Any) -> Finding:
        return self.result(control_id, FindingStatus.FAIL, reason, **evidence)

    def verdict(self, control_id: str, ok: bool, pass_reason: str, fail_reason: str, **evidence: Any) -> Finding:
        """PASS or FAIL from a value that was read, never from a missing one."""
        return self.result(control_id, _verdict(ok), pass_reason if ok else fail_reason, **evidence)

    def manual(self, control_id: str, reason: str, missing: str, **evidence: Any) -> Finding:
        """Could not be decided; `missing` says what was not read, for the "not assessed" list."""
        return self.result(control_id, FindingStatus.MANUAL, reason, missing=missing, **evidence)


def _verdict(ok: bool) -> FindingStatus:
    return FindingStatus.PASS if ok else FindingStatus.FAIL


def _documentation(control_id: str, info: ControlInfo | None) -> list[DocumentationLink]:
    if info is None:
        return []
    links = []
    if is_security_hub_control_id(control_id):
        links.append(
            DocumentationLink(
                title=f"[{control_id}] {info.title} (AWS Security Hub)",
                url=security_hub_control_url(control_id),
            )
        )
    if info.setup_service in SETUP_DOCS:
        label = _service_label(info.setup_service)
        links.append(DocumentationLink(title=f"Getting started with {label}", url=SETUP_DOCS[info.setup_service]))
    return links


def _partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


_ACCOUNTLESS_SERVICES = frozenset({"s3", "apigateway"})
_ACCOUNT_ID = re.compile(r"^\d{12}$")


def _arn(raw: Any, where: _Where) -> str | None:
    """The server's ARN, repaired where 0.2.0 builds it wrong; None when it cannot be made right.

    Classic Load Balancer ARNs lack the account segment, ElastiCache ARNs leave it empty (and so do
    EBS ones when `DescribeVolumes` omits the owner), CloudFront ARNs carry the distribution id in
    it, and every ARN says partition `aws`. A right ARN matters: it is the de-duplication key.
    """
    if not isinstance(raw, str) or not raw.startswith("arn:"):
        return None
    parts = raw.split(":", 5)
    if len(parts) == 5:  # arn:aws:elasticloadbalancing:REGION:loadbalancer/NAME
        parts = [*parts[:4], "", parts[4]]
    if len(parts) != 6 or not parts[5]:
        return None
    parts[1] = _partition(parts[3] or where.region)
    if parts[2] in _ACCOUNTLESS_SERVICES or _ACCOUNT_ID.match(parts[4]):
        return ":".join(parts)
    if where.account_id and _ACCOUNT_ID.match(where.account_id):
        parts[4] = where.account_id
        return ":".join(parts)
    return None


def _last_segment(arn: str) -> str:
    """The resource's own name or id at the end of an ARN (`bucket`, `sg-1`, `db:name` -> `name`)."""
    resource = arn.split(":", 5)[-1]
    return re.split(r"[:/]", resource)[-1] or resource


# ---------------------------------------------------------------------------------------------
# CheckSecurityServices
# ---------------------------------------------------------------------------------------------


def findings_from_service_status(
    payload: Any, region: str, account_id: str | None, *, observed_at: datetime | None = None
) -> list[Finding]:
    """Which security services are on, as account-level findings (one or more per service).

    GuardDuty.1 and Macie.1 are FSBP controls; Security Hub, Inspector and IAM Access Analyzer get
    project ids (`SecurityHub.Enabled`...: FSBP has no such control). Inspector.1/.2/.4 are added
    only as PASS, from a scan type the server reports ENABLED (its DISABLED cannot be trusted).
    Trusted Advisor is left out: it depends on the support plan and is not a security control. A
    service whose status carries an `error` is MANUAL, never FAIL.

    Raises `SourceUnavailable` when the whole call failed (an `error` at the top of the answer) and
    `MalformedPayload` for an answer of another shape.
    """
    answer = _answer(payload, CHECK_SECURITY_SERVICES, region)
    statuses = answer.get("service_statuses")
    if not isinstance(statuses, Mapping):
        raise MalformedPayload(CHECK_SECURITY_SERVICES, "service_statuses", "missing or not an object")
    for name, raw in statuses.items():
        _object(raw, CHECK_SECURITY_SERVICES, f"service_statuses.{name}")
    where = _Where(CHECK_SECURITY_SERVICES, str(answer.get("region") or region), account_id, observed_at)
    findings: list[Finding] = []
    for status in parse_service_statuses(dict(answer), where.region):
        reader = _STATUS_READERS.get(status.service)
        if reader is not None:
            findings.extend(reader(status, where))
    return findings


def _on_off(where: _Where, control_id: str, status: ServiceStatus, **evidence: Any) -> Finding:
    """PASS when on, FAIL when off, MANUAL when the server could not tell (an `error`)."""
    label = _service_label(status.service)
    account = where.account()
    if status.enabled is None:
        return account.manual(control_id, f"The status of {label} could not be read.", status.error or status.summary)
    return account.verdict(
        control_id,
        status.enabled,
        f"{label} is enabled in {where.region}.",
        f"{label} is not enabled in {where.region}.",
        **evidence,
    )


def _guardduty_status(status: ServiceStatus, where: _Where) -> list[Finding]:
    detector = _mapping(status.detail.get("detector_details"))
    return [_on_off(where, "GuardDuty.1", status, detector_id=detector.get("id"))]


def _securityhub_status(status: ServiceStatus, where: _Where) -> list[Finding]:
    standards = status.detail.get("standards")
    return [
        _on_off(
            where,
            "SecurityHub.Enabled",
            status,
            hub_arn=_mapping(status.detail.get("debug_info")).get("hub_arn"),
            standards=len(standards) if isinstance(standards, list) else None,
        )
    ]


_SCAN_CONTROLS = {"ec2_status": ("Inspector.1", "EC2"), "ecr_status": ("Inspector.2", "ECR")}
_SCAN_CONTROLS["lambda_status"] = ("Inspector.4", "Lambda standard")


def _inspector_status(status: ServiceStatus, where: _Where) -> list[Finding]:
    scans = {str(k): str(v).upper() for k, v in _mapping(status.detail.get("scan_status")).items()}
    account = where.account()
    if status.enabled is False and scans and set(scans.values()) == {"UNKNOWN"}:
        # "Multiple detection methods failed": unknown, not off.
        return [account.manual("Inspector.Enabled", "Amazon Inspector's status could not be read.", status.summary)]
    if status.enabled is not True:
        return [_on_off(where, "Inspector.Enabled", status)]
    enabled = [key for key, value in scans.items() if value == "ENABLED"]
    if not enabled:
        return [
            account.manual(
                "Inspector.Enabled",
                "The Security server reports Amazon Inspector on but names no enabled scan type.",
                "Inspector's scan types: Security server 0.2.0 cannot read them (it calls a GetStatus "
                "operation boto3 lacks, then reads BatchGetAccountStatus under the wrong key)",
                scan_status=scans,
            )
        ]
    findings = [account.passed("Inspector.Enabled", "Amazon Inspector is enabled.", scan_status=scans)]
    for key in enabled:
        if key in _SCAN_CONTROLS:
            control_id, scan = _SCAN_CONTROLS[key]
            findings.append(account.passed(control_id, f"Amazon Inspector {scan} scanning is enabled."))
    return findings


_EXTERNAL_ANALYZER_TYPES = frozenset({"ACCOUNT", "ORGANIZATION"})


def _access_analyzer_status(status: ServiceStatus, where: _Where) -> list[Finding]:
    """PASS needs an ACTIVE account or organization analyzer: the server counts any analyzer, an
    unused-access one or one still being created included, as "enabled"."""
    if status.enabled is not True:
        return [_on_off(where, "AccessAnalyzer.Enabled", status)]
    analyzers = [a for a in status.detail.get("analyzers") or [] if isinstance(a, Mapping)]
    active = [
        str(a.get("name"))
        for a in analyzers
        if a.get("status") == "ACTIVE" and str(a.get("type", "")).upper() in _EXTERNAL_ANALYZER_TYPES
    ]
    return [
        where.account().verdict(
            "AccessAnalyzer.Enabled",
            bool(active),
            f"Active external access analyzer: {', '.join(active)}.",
            "No active account or organization analyzer.",
            analyzers=[f"{a.get('name')} ({a.get('type')}, {a.get('status')})" for a in analyzers],
        )
    ]


def _macie_status(status: ServiceStatus, where: _Where) -> list[Finding]:
    if status.enabled is not True:
        return [_on_off(where, "Macie.1", status)]
    session = str(status.detail.get("status") or "ENABLED").upper()
    return [
        where.account().verdict(
            "Macie.1",
            session == "ENABLED",
            f"Amazon Macie is enabled in {where.region}.",
            f"Amazon Macie is {session.lower()} in {where.region}: it does nothing while suspended.",
            macie_status=session,
        )
    ]


_STATUS_READERS: Mapping[str, Callable[[ServiceStatus, _Where], list[Finding]]] = {
    "guardduty": _guardduty_status,
    "securityhub": _securityhub_status,
    "inspector": _inspector_status,
    "accessanalyzer": _access_analyzer_status,
    "macie": _macie_status,
}


# ---------------------------------------------------------------------------------------------
# GetSecurityFindings
# ---------------------------------------------------------------------------------------------


def findings_from_security_findings(
    payload: Any, service: str, region: str, account_id: str | None, *, observed_at: datetime | None = None
) -> list[Finding]:
    """One finding per current finding the service reports: FAIL, or the control's status for a
    Security Hub control finding. Archived, resolved, suppressed and closed findings are left out.

    Raises `ServiceNotEnabled` when the service is off, `SourceUnavailable` for an `error` in the
    answer, `MalformedPayload` for an answer of another shape, and `InvalidInput` for a service the
    tool does not know.
    """
    name = service.strip().lower()
    reader = _FINDING_READERS.get(name)
    if reader is None:
        raise InvalidInput(f"unknown security service {service!r}; expected one of {', '.join(_FINDING_READERS)}")
    answer = _answer(payload, GET_SECURITY_FINDINGS, region, name)
    answered = answer.get("service")
    if answered is not None and str(answered).lower() != name:
        raise MalformedPayload(GET_SECURITY_FINDINGS, "service", f"the answer is about {answered!r}, not {name!r}")
    if answer.get("enabled") is False:
        message = _text(answer.get("message")) or f"{_service_label(name)} is not enabled"
        raise ServiceNotEnabled(GET_SECURITY_FINDINGS, name, region, _reason(message))
    where = _Where(GET_SECURITY_FINDINGS, region, account_id, observed_at)
    findings: list[Finding] = []
    for index, item in enumerate(_items(answer.get("findings"), GET_SECURITY_FINDINGS, "findings")):
        at = f"findings[{index}]"
        finding = reader(_object(item, GET_SECURITY_FINDINGS, at), where, at)
        if finding is not None:
            findings.append(finding)
    return findings


def guardduty_severity(score: float) -> Severity:
    """GuardDuty's documented bands: 1.0-3.9 LOW, 4.0-6.9 MEDIUM, 7.0-8.9 HIGH, 9.0-10.0 CRITICAL."""
    if score >= 9.0:
        return Severity.CRITICAL
    if score >= 7.0:
        return Severity.HIGH
    if score >= 4.0:
        return Severity.MEDIUM
    return Severity.LOW


_GUARDDUTY_RESOURCES: Mapping[str, tuple[str, str, str, str | None]] = {
    # GuardDuty ResourceType: (resource type, details key, id field, ARN field)
    "AccessKey": ("AWS::IAM::AccessKey", "AccessKeyDetails", "AccessKeyId", None),
    "S3Bucket": ("AWS::S3::Bucket", "S3BucketDetails", "Name", "Arn"),
    "EKSCluster": ("AWS::EKS::Cluster", "EksClusterDetails", "Name", "Arn"),
    "ECSCluster": ("AWS::ECS::Cluster", "EcsClusterDetails", "Name", "Arn"),
    "Lambda": ("AWS::Lambda::Function", "LambdaDetails", "FunctionName", "FunctionArn"),
    "RDSDBInstance": (
        "AWS::RDS::DBInstance",
        "RdsDbInstanceDetails",
        "DbInstanceIdentifier",
        "DbInstanceArn",
    ),
    "Container": ("Container", "ContainerDetails", "Id", None),
}


def _guardduty_subject(raw: Mapping[str, Any], where: _Where, region: str, account: str | None) -> _Subject:
    resource = _mapping(raw.get("Resource"))
    kind = str(resource.get("ResourceType") or "")
    if kind == "Instance":
        instance = _text(_mapping(resource.get("InstanceDetails")).get("InstanceId"))
        if instance:
            arn = f"arn:{_partition(region)}:ec2:{region}:{account}:instance/{instance}" if account else None
            return where.subject("AWS::EC2::Instance", instance, arn)
    elif kind in _GUARDDUTY_RESOURCES:
        resource_type, key, id_field, arn_field = _GUARDDUTY_RESOURCES[kind]
        details = resource.get(key)
        details = _mapping(details[0] if isinstance(details, list) and details else details)
        if _text(details.get(id_field)):
            return where.subject(resource_type, str(details[id_field]), _text(details.get(arn_field or "")))
    if kind:
        return where.subject(f"GuardDuty::{kind}", str(raw.get("Id") or ""))
    return where.account()


def _guardduty_finding(raw: Mapping[str, Any], where: _Where, at: str) -> Finding | None:
    service = _mapping(raw.get("Service"))
    if service.get("Archived") is True:
        return None
    finding_type = _required_text(raw, "Type", where.tool, at)
    score = _number(raw.get("Severity"), where.tool, f"{at}.Severity", 0.0, 10.0)
    region = _text(raw.get("Region")) or where.region
    account = _text(raw.get("AccountId")) or where.account_id
    title = _text(raw.get("Title")) or finding_type
    observed = _report_time(service.get("EventLastSeen"), raw.get("UpdatedAt"))
    subject = _guardduty_subject(raw, where, region, account).reported(region, account, observed)
    return subject.failed(
        f"GuardDuty.Finding/{finding_type}",
        title,
        title=title,
        severity=guardduty_severity(score),
        finding_id=raw.get("Id"),
        type=finding_type,
        severity_score=score,
        count=service.get("Count"),
        last_seen=service.get("EventLastSeen") or raw.get("UpdatedAt"),
        user_name=_mapping(_mapping(raw.get("Resource")).get("AccessKeyDetails")).get("UserName"),
    )


_ASFF_TYPES: Mapping[str, str] = {
    "AwsAccount": ACCOUNT,
    "AwsS3Bucket": "AWS::S3::Bucket",
    "AwsEc2Instance": "AWS::EC2::Instance",
    "AwsEc2Volume": "AWS::EC2::Volume",
    "AwsEc2SecurityGroup": "AWS::EC2::SecurityGroup",
    "AwsEc2Vpc": "AWS::EC2::VPC",
    "AwsEc2NetworkAcl": "AWS::EC2::NetworkAcl",
    "AwsRdsDbInstance": "AWS::RDS::DBInstance",
    "AwsRdsDbSnapshot": "AWS::RDS::DBSnapshot",
    "AwsIamUser": "AWS::IAM::User",
    "AwsIamRole": "AWS::IAM::Role",
    "AwsIamPolicy": "AWS::IAM::Policy",
    "AwsKmsKey": "AWS::KMS::Key",
    "AwsLambdaFunction": "AWS::Lambda::Function",
    "AwsDynamoDbTable": "AWS::DynamoDB::Table",
    "AwsEfsFileSystem": "AWS::EFS::FileSystem",
    "AwsEksCluster": "AWS::EKS::Cluster",
    "AwsEcrRepository": "AWS::ECR::Repository",
    "AwsElbLoadBalancer": "AWS::ElasticLoadBalancing::LoadBalancer",
    "AwsElbv2LoadBalancer": "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "AwsCloudTrailTrail": "AWS::CloudTrail::Trail",
    "AwsCloudFrontDistribution": "AWS::CloudFront::Distribution",
    "AwsSnsTopic": "AWS::SNS::Topic",
    "AwsSqsQueue": "AWS::SQS::Queue",
    "AwsSecretsManagerSecret": "AWS::SecretsManager::Secret",
}
"""ASFF resource types to the CloudFormation names the project's own checks use."""
_COMPLIANCE_STATUSES: Mapping[str, FindingStatus] = {
    "PASSED": FindingStatus.PASS,
    "FAILED": FindingStatus.FAIL,
    "WARNING": FindingStatus.MANUAL,  # Security Hub could not decide
    "NOT_AVAILABLE": FindingStatus.MANUAL,  # the check could not run
}
_FSBP_GENERATOR = "aws-foundational-security-best-practices/"
_NORMALIZED_FLOORS = ((90, Severity.CRITICAL), (70, Severity.HIGH), (40, Severity.MEDIUM), (1, Severity.LOW))
"""ASFF's own mapping from the deprecated `Severity.Normalized` (0-100) to `Severity.Label`."""


def _asff_severity(raw: Mapping[str, Any], where: _Where, at: str) -> Severity:
    severity = _object(raw.get("Severity"), where.tool, f"{at}.Severity")
    label = _text(severity.get("Label"))
    if label is not None:
        try:
            return Severity.parse(label)
        except ValueError as exc:
            raise MalformedPayload(where.tool, f"{at}.Severity.Label", f"unknown label {label!r}") from exc
    normalized = _number(severity.get("Normalized"), where.tool, f"{at}.Severity.Normalized", 0, 100)
    return next((level for floor, level in _NORMALIZED_FLOORS if normalized >= floor), Severity.INFORMATIONAL)


def _asff_subject(raw: Mapping[str, Any], where: _Where, at: str) -> _Subject:
    resources = _items(raw.get("Resources"), where.tool, f"{at}.Resources")
    if not resources:
        raise MalformedPayload(where.tool, f"{at}.Resources", "a finding names at least one resource")
    first = _object(resources[0], where.tool, f"{at}.Resources[0]")
    asff_type = _required_text(first, "Type", where.tool, f"{at}.Resources[0]")
    identifier = _required_text(first, "Id", where.tool, f"{at}.Resources[0]")
    resource_type = _ASFF_TYPES.get(asff_type, asff_type)
    region = _text(first.get("Region")) or _text(raw.get("Region"))
    account = _text(raw.get("AwsAccountId"))
    observed = _report_time(raw.get("LastObservedAt"), raw.get("UpdatedAt"))
    if resource_type == ACCOUNT:
        subject = where.subject(ACCOUNT, identifier.rsplit(":", 1)[-1])
    elif identifier.startswith("arn:"):
        subject = where.subject(resource_type, _last_segment(identifier), identifier)
    else:
        subject = where.subject(resource_type, identifier)
    return subject.reported(region, account, observed)


def _securityhub_control_id(raw: Mapping[str, Any], compliance: Mapping[str, Any] | None) -> str:
    if compliance is not None and _text(compliance.get("SecurityControlId")):
        return str(compliance["SecurityControlId"])
    generator = str(raw.get("GeneratorId") or "")
    control = _text(_mapping(raw.get("ProductFields")).get("ControlId"))
    if control and generator.startswith(_FSBP_GENERATOR) and is_security_hub_control_id(control):
        return control  # a standard-control finding from before consolidated control findings
    if compliance is not None:
        return f"SecurityHub.Finding/{generator or raw.get('Id')}"
    types = raw.get("Types")
    first_type = types[0] if isinstance(types, list) and types and isinstance(types[0], str) else None
    return f"SecurityHub.Finding/{first_type or generator or raw.get('Id')}"


def _securityhub_finding(raw: Mapping[str, Any], where: _Where, at: str) -> Finding | None:
    if str(raw.get("RecordState") or "ACTIVE").upper() == "ARCHIVED":
        return None
    workflow = str(_mapping(raw.get("Workflow")).get("Status") or raw.get("WorkflowState") or "NEW").upper()
    if workflow == "SUPPRESSED":
        return None  # accepted by the account's owner; Security Hub leaves these out of its score too
    compliance = raw.get("Compliance") if isinstance(raw.get("Compliance"), Mapping) else None
    missing = None
    if compliance is None:
        if workflow == "RESOLVED":
            return None
        status = FindingStatus.FAIL
    else:
        compliance_status = str(compliance.get("Status") or "").upper()
        if compliance_status not in _COMPLIANCE_STATUSES:
            raise MalformedPayload(where.tool, f"{at}.Compliance.Status", f"unknown status {compliance_status!r}")
        status = _COMPLIANCE_STATUSES[compliance_status]
        if status is FindingStatus.MANUAL:
            reasons = compliance.get("StatusReasons")
            first = _mapping(reasons[0] if isinstance(reasons, list) and reasons else None)
            missing = f"Security Hub reported {compliance_status}: {first.get('Description') or 'no reason given'}"
    control_id = _securityhub_control_id(raw, compliance)
    title = _text(raw.get("Title")) or control_id
    return _asff_subject(raw, where, at).result(
        control_id,
        status,
        title,
        missing=missing,
        title=title,
        severity=_asff_severity(raw, where, at),
        finding_id=raw.get("Id"),
        compliance_status=compliance.get("Status") if compliance is not None else None,
        product=raw.get("ProductName"),
        types=raw.get("Types") if compliance is None else None,
        workflow_status=workflow if workflow != "NEW" else None,
        updated_at=raw.get("UpdatedAt"),
    )


_INSPECTOR_SEVERITIES: Mapping[str, Severity] = {
    "INFORMATIONAL": Severity.INFORMATIONAL,
    "LOW": Severity.LOW,
    "MEDIUM": Severity.MEDIUM,
    "HIGH": Severity.HIGH,
    "CRITICAL": Severity.CRITICAL,
    "UNTRIAGED": Severity.MEDIUM,  # no vendor rating yet: neither hidden nor alarming
}
_INSPECTOR_RESOURCES: Mapping[str, str] = {
    "AWS_EC2_INSTANCE": "AWS::EC2::Instance",
    "AWS_ECR_CONTAINER_IMAGE": "AWS::ECR::ContainerImage",
    "AWS_ECR_REPOSITORY": "AWS::ECR::Repository",
    "AWS_LAMBDA_FUNCTION": "AWS::Lambda::Function",
}


def _inspector_key(raw: Mapping[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """What tells one Inspector finding of a type from another on the same resource."""
    package = _mapping(raw.get("packageVulnerabilityDetails"))
    if _text(package.get("vulnerabilityId")):
        return str(package["vulnerabilityId"]), {"vulnerability_id": package["vulnerabilityId"]}
    code = _mapping(raw.get("codeVulnerabilityDetails"))
    if _text(code.get("detectorId")):
        return str(code["detectorId"]), {"detector_id": code["detectorId"]}
    network = _mapping(raw.get("networkReachabilityDetails"))
    ports = _mapping(network.get("openPortRange"))
    if ports:
        key = f"{network.get('protocol', 'TCP')}:{ports.get('begin')}-{ports.get('end')}"
        return key, {"open_ports": key}
    return None, {}


def _inspector_finding(raw: Mapping[str, Any], where: _Where, at: str) -> Finding | None:
    if str(raw.get("status") or "ACTIVE").upper() != "ACTIVE":
        return None  # SUPPRESSED or CLOSED
    finding_type = _required_text(raw, "type", where.tool, at)
    label = str(raw.get("severity") or "").upper()
    if label not in _INSPECTOR_SEVERITIES:
        raise MalformedPayload(where.tool, f"{at}.severity", f"unknown severity {raw.get('severity')!r}")
    account = _text(raw.get("awsAccountId")) or where.account_id
    resources = _items(raw.get("resources", []), where.tool, f"{at}.resources")
    region = where.region
    subject = where.account()
    if resources:
        first = _object(resources[0], where.tool, f"{at}.resources[0]")
        identifier = _required_text(first, "id", where.tool, f"{at}.resources[0]")
        kind = str(first.get("type") or "")
        resource_type = _INSPECTOR_RESOURCES.get(kind, kind)
        region = _text(first.get("region")) or region
        if identifier.startswith("arn:"):
            subject = where.subject(resource_type, _last_segment(identifier), identifier)
        elif kind == "AWS_EC2_INSTANCE" and account:
            arn = f"arn:{_partition(region)}:ec2:{region}:{account}:instance/{identifier}"
            subject = where.subject(resource_type, identifier, arn)
        else:
            subject = where.subject(resource_type, identifier)
    key, key_evidence = _inspector_key(raw)
    control_id = f"Inspector.Finding/{finding_type}" + (f"/{key}" if key else "")
    title = _text(raw.get("title")) or control_id
    observed = _report_time(raw.get("lastObservedAt"), raw.get("updatedAt"))
    return subject.reported(region, account, observed).failed(
        control_id,
        title,
        title=title,
        severity=_INSPECTOR_SEVERITIES[label],
        finding_arn=raw.get("findingArn"),
        type=finding_type,
        **key_evidence,
        inspector_score=raw.get("inspectorScore"),
        fix_available=raw.get("fixAvailable"),
    )


_MACIE_SCORES: Mapping[int, Severity] = {1: Severity.LOW, 2: Severity.MEDIUM, 3: Severity.HIGH}


def _macie_severity(raw: Mapping[str, Any], where: _Where, at: str) -> Severity:
    severity = _object(raw.get("severity"), where.tool, f"{at}.severity")
    description = _text(severity.get("description"))
    if description is not None and description.upper() in ("LOW", "MEDIUM", "HIGH"):
        return Severity.parse(description)
    return _MACIE_SCORES[int(_number(severity.get("score"), where.tool, f"{at}.severity.score", 1, 3))]


def _macie_finding(raw: Mapping[str, Any], where: _Where, at: str) -> Finding | None:
    if raw.get("archived") is True:
        return None
    finding_type = _required_text(raw, "type", where.tool, at)
    severity = _macie_severity(raw, where, at)
    region = _text(raw.get("region")) or where.region
    partition = _partition(region)
    affected = _mapping(raw.get("resourcesAffected"))
    bucket, obj = _mapping(affected.get("s3Bucket")), _mapping(affected.get("s3Object"))
    bucket_name, key = _text(bucket.get("name")), _text(obj.get("key"))
    if bucket_name and key:
        subject = where.subject("AWS::S3::Object", f"{bucket_name}/{key}", f"arn:{partition}:s3:::{bucket_name}/{key}")
    elif bucket_name:
        arn = _text(bucket.get("arn")) or f"arn:{partition}:s3:::{bucket_name}"
        subject = where.subject("AWS::S3::Bucket", bucket_name, arn)
    else:
        subject = where.account()
    sensitive = _mapping(_mapping(raw.get("classificationDetails")).get("result")).get("sensitiveData")
    kinds = (
        [f"{s.get('category')}: {s.get('totalCount')}" for s in sensitive if isinstance(s, Mapping)]
        if isinstance(sensitive, list)
        else None
    )
    title = _text(raw.get("title")) or finding_type
    observed = _report_time(raw.get("updatedAt"), raw.get("createdAt"))
    return subject.reported(region, _text(raw.get("accountId")), observed).failed(
        f"Macie.Finding/{finding_type}",
        title,
        title=title,
        severity=severity,
        finding_id=raw.get("id"),
        type=finding_type,
        category=raw.get("category"),
        sensitive_data=kinds,
    )


def _access_analyzer_finding(raw: Mapping[str, Any], where: _Where, at: str) -> Finding | None:
    # A corrected server appends whole GetFinding responses ({"finding": {...}}); accept either form.
    finding = _object(raw["finding"], where.tool, f"{at}.finding") if "finding" in raw else raw
    if str(finding.get("status") or "ACTIVE").upper() != "ACTIVE":
        return None  # ARCHIVED (intended access) or RESOLVED
    resource_type = _required_text(finding, "resourceType", where.tool, at)
    arn = _text(finding.get("resource"))
    public = finding.get("isPublic") is True
    name = _last_segment(arn) if arn and arn.startswith("arn:") else arn or str(finding.get("id") or "")
    reach = "anyone (public access)" if public else "principals outside the account"
    actions = finding.get("action")
    subject = where.subject(resource_type, name, arn if arn and arn.startswith("arn:") else None)
    observed = _report_time(finding.get("analyzedAt"), finding.get("updatedAt"))
    return subject.reported(None, _text(finding.get("resourceOwnerAccount")), observed).failed(
        "AccessAnalyzer.Finding/PublicAccess" if public else "AccessAnalyzer.Finding/ExternalAccess",
        f"{resource_type} {name} can be accessed by {reach}.",
        title=f"{resource_type} {name} is accessible by {reach}",
        severity=Severity.HIGH if public else Severity.MEDIUM,
        finding_id=finding.get("id"),
        principal=finding.get("principal"),
        actions=actions[:5] if isinstance(actions, list) else None,
        is_public=public,
    )


_TRUSTED_ADVISOR_STATUSES: Mapping[str, tuple[FindingStatus, Severity]] = {
    "error": (FindingStatus.FAIL, Severity.HIGH),  # "action recommended"
    "warning": (FindingStatus.FAIL, Severity.MEDIUM),  # "investigation recommended"
    "ok": (FindingStatus.PASS, Severity.LOW),
}


def _trusted_advisor_finding(raw: Mapping[str, Any], where: _Where, at: str) -> Finding | None:
    check_id = _required_text(raw, "check_id", where.tool, at)
    name = _text(raw.get("name")) or check_id
    state = str(raw.get("status") or "not_available").lower()
    status, severity = _TRUSTED_ADVISOR_STATUSES.get(state, (FindingStatus.MANUAL, Severity.MEDIUM))
    flagged = raw.get("flagged_resources")
    examples = [r.get("metadata") for r in flagged[:3] if isinstance(r, Mapping)] if isinstance(flagged, list) else None
    count = raw.get("resources_flagged", 0)
    # Trusted Advisor is global
    subject = replace(where.account().reported(None, None, _report_time(raw.get("timestamp"))), region=GLOBAL_REGION)
    return subject.result(
        f"TrustedAdvisor.Check/{check_id}",
        status,
        f"Trusted Advisor's check '{name}' is {state} ({count} resources flagged).",
        missing=f"Trusted Advisor reported the check as {state}" if status is FindingStatus.MANUAL else None,
        title=name,
        severity=severity,
        check_id=check_id,
        check_status=state,
        resources_flagged=count,
        flagged=examples,
    )


_FINDING_READERS: Mapping[str, Callable[[Mapping[str, Any], _Where, str], Finding | None]] = {
    "guardduty": _guardduty_finding,
    "securityhub": _securityhub_finding,
    "inspector": _inspector_finding,
    "accessanalyzer": _access_analyzer_finding,
    "macie": _macie_finding,
    "trustedadvisor": _trusted_advisor_finding,
}


# ---------------------------------------------------------------------------------------------
# CheckStorageEncryption and CheckNetworkSecurity
# ---------------------------------------------------------------------------------------------

_ResourceReader = Callable[[Mapping[str, Any], Mapping[str, Any], _Where, str], list[Finding]]


def findings_from_storage_encryption(
    payload: Any, region: str, account_id: str | None, *, observed_at: datetime | None = None
) -> list[Finding]:
    """Per resource: S3.8, EC2.3, RDS.3 and EFS.1, where the server's test is the control's; project
    ids for S3 default encryption, DynamoDB and ElastiCache (module docstring). EC2.3 covers
    attached volumes, and the server does not say which volumes are attached: an unattached
    unencrypted volume is reported under EC2.3 too.

    Raises `SourceUnavailable` when the whole check failed (Resource Explorer's `ListViews` failing
    is the usual cause) and `MalformedPayload` for an answer of another shape.
    """
    return _resource_findings(payload, CHECK_STORAGE_ENCRYPTION, _STORAGE_READERS, region, account_id, observed_at)


def findings_from_network_security(
    payload: Any, region: str, account_id: str | None, *, observed_at: datetime | None = None
) -> list[Finding]:
    """Per resource: ELB.1, ELB.3, ELB.8, ELB.17, EC2.18, EC2.19, CloudFront.3 and CloudFront.15
    where the server's test decides the control in the direction reported; project ids otherwise.
    Security groups and distributions the server passes get no finding for EC2.18/19 and
    CloudFront.3: its tests look at fewer ports and behaviours than the controls do. API Gateway's
    "HTTPS not enforced for stage" is not reported (it tests a setting that does not exist).

    Raises `SourceUnavailable` when the whole check failed and `MalformedPayload` for an answer of
    another shape.
    """
    return _resource_findings(payload, CHECK_NETWORK_SECURITY, _NETWORK_READERS, region, account_id, observed_at)


def _resource_findings(
    payload: Any,
    tool: str,
    readers: Mapping[str, _ResourceReader],
    region: str,
    account_id: str | None,
    observed_at: datetime | None,
) -> list[Finding]:
    answer = _answer(payload, tool, region)
    where = _Where(tool, str(answer.get("region") or region), account_id, observed_at)
    findings: list[Finding] = []
    for index, item in enumerate(_items(answer.get("resource_details"), tool, "resource_details")):
        at = f"resource_details[{index}]"
        resource = _object(item, tool, at)
        reader = readers.get(str(resource.get("type") or ""))
        if reader is not None:  # else a kind of resource this version of the server does not report
            findings.extend(reader(resource, _object(resource.get("checks", {}), tool, f"{at}.checks"), where, at))
    return findings


def _name(resource: Mapping[str, Any], where: _Where, at: str) -> str:
    name = _text(resource.get("name")) or _text(resource.get("id"))
    if name is None:
        raise MalformedPayload(where.tool, at, "a resource without a name or id")
    return name


def _subject(resource: Mapping[str, Any], resource_type: str, where: _Where, at: str) -> _Subject:
    return where.subject(resource_type, _name(resource, where, at), _arn(resource.get("arn"), where))


def _has_error(resource: Mapping[str, Any], what: str) -> bool:
    """Whether the server noted that it could not read `what` ("Error checking listeners")."""
    issues = resource.get("issues")
    return isinstance(issues, list) and any(str(i).startswith(f"Error checking {what}") for i in issues)


# --- storage -----------------------------------------------------------------------------------

_NO_BPA = "NoSuchPublicAccessBlockConfiguration"


def _s3_bucket(resource: Mapping[str, Any], checks: Mapping[str, Any], where: _Where, at: str) -> list[Finding]:
    name = _name(resource, where, at)
    bucket = where.subject(
        "AWS::S3::Bucket",
        name,
        _arn(resource.get("arn"), where) or f"arn:{_partition(where.region)}:s3:::{name}",
    )
    findings = []
    bpa = checks.get("block_public_access")
    if isinstance(bpa, Mapping):
        error = _text(bpa.get("error"))
        if bpa.get("enabled") is True:
            findings.append(bucket.passed("S3.8", "All four bucket-level Block Public Access settings are on."))
        elif error is not None and _NO_BPA in error:
            findings.append(bucket.failed("S3.8", "The bucket has no bucket-level Block Public Access configuration."))
        elif error is not None:
            findings.append(
                bucket.manual("S3.8", "Bucket-level Block Public Access could not be read.", _reason(error))
            )
        else:
            off = [k for k, v in _mapping(bpa.get("configuration")).items() if v is not True]
            findings.append(
                bucket.failed("S3.8", f"Bucket-level Block Public Access has {', '.join(off)} off.", off=off)
            )
    encryption = checks.get("default_encryption")
    if isinstance(encryption, Mapping) and encryption.get("enabled") is True:
        algorithm = encryption.get("type")
        findings.append(
            bucket.passed("S3.DefaultEncryption", f"Default encryption is on ({algorithm}).", algorithm=algorithm)
        )
    elif isinstance(encryption, Mapping):
        findings.append(
            bucket.manual(
                "S3.DefaultEncryption",
                "The Security server could not read the bucket's default encryption.",
                "s3:GetEncryptionConfiguration (the server reports any GetBucketEncryption error as 'not "
                "enabled', and S3 has encrypted every bucket by default since January 2023)",
            )
        )
    return findings


def _encrypted(control_id: str, resource_type: str, key: str, noun: str) -> _ResourceReader:
    """A reader for resources whose one decisive field is a boolean, `checks[key]`."""

    def read(resource: Mapping[str, Any], checks: Mapping[str, Any], where: _Where, at: str) -> list[Finding]:
        value = checks.get(key)
        if not isinstance(value, bool):
            return []
        return [
            _subject(resource, resource_type, where, at).verdict(
                control_id,
                value,
                f"The {noun} is encrypted at rest.",
                f"The {noun} is not encrypted at rest.",
                kms_key_id=checks.get("kms_key_id"),
            )
        ]

    return read


def _dynamodb_table(resource: Mapping[str, Any], checks: Mapping[str, Any], where: _Where, at: str) -> list[Finding]:
    """Never FAIL: DynamoDB encrypts every table; the server's "not encrypted" is the default key."""
    table = _subject(resource, "AWS::DynamoDB::Table", where, at)
    control_id = "DynamoDB.EncryptionAtRest"
    if _has_error(resource, "encryption"):
        return [
            table.manual(control_id, "The table's encryption settings could not be read.", "dynamodb:DescribeTable")
        ]
    if checks.get("encrypted") is True:
        key = "a customer managed KMS key" if checks.get("using_cmk") else f"{checks.get('encryption_type')} encryption"
        return [table.passed(control_id, f"The table is encrypted at rest with {key}.")]
    return [
        table.passed(
            control_id,
            "The table is encrypted at rest with the AWS owned key (DynamoDB encrypts every table).",
            server_said="not encrypted: DescribeTable has no SSEDescription, as for the AWS owned key",
        )
    ]


def _elasticache_cluster(
    resource: Mapping[str, Any], checks: Mapping[str, Any], where: _Where, at: str
) -> list[Finding]:
    cluster = _subject(resource, "AWS::ElastiCache::CacheCluster", where, at)
    engine = str(resource.get("engine") or "unknown").lower()
    at_rest, in_transit = "ElastiCache.ClusterEncryptionAtRest", "ElastiCache.ClusterEncryptionInTransit"
    if engine == "redis":
        return [
            cluster.verdict(control_id, value, f"Encrypted {what}.", f"Not encrypted {what}.", engine=engine)
            for control_id, value, what in (
                (at_rest, checks.get("at_rest_encryption"), "at rest"),
                (in_transit, checks.get("transit_encryption"), "in transit"),
            )
            if isinstance(value, bool)
        ]
    if engine == "memcached":
        return [
            cluster.failed(at_rest, "Node-based Memcached clusters cannot be encrypted at rest.", engine=engine),
            cluster.manual(
                in_transit,
                "Memcached supports TLS from 1.6.12, but the server does not read the setting.",
                "TransitEncryptionEnabled of the Memcached cluster",
                engine=engine,
            ),
        ]
    missing = f"the Security server checks Redis and Memcached clusters only, not {engine}"
    return [cluster.manual(c, f"The {engine} cluster was not assessed.", missing) for c in (at_rest, in_transit)]


_STORAGE_READERS: Mapping[str, _ResourceReader] = {
    "s3": _s3_bucket,
    "ebs": _encrypted("EC2.3", "AWS::EC2::Volume", "encrypted", "volume"),
    "rds": _encrypted("RDS.3", "AWS::RDS::DBInstance", "storage_encrypted", "database's storage"),
    "efs": _encrypted("EFS.1", "AWS::EFS::FileSystem", "encrypted", "file system"),
    "dynamodb": _dynamodb_table,
    "elasticache": _elasticache_cluster,
}


# --- network -----------------------------------------------------------------------------------


def _listener_counts(checks: Mapping[str, Any], key: str) -> tuple[int, int] | None:
    counts = _mapping(checks.get(key))
    secure, total = counts.get("count"), counts.get("total_listeners")
    return (secure, total) if isinstance(secure, int) and isinstance(total, int) else None


def _elb_17(policies: Any, balancer: _Subject, where: _Where) -> list[Finding]:
    """ELB.17 per listener the server names, decided from the policy name: the server's own test
    flags AWS's recommended TLS 1.3 policies as "potentially insecure"."""
    findings = []
    for policy in policies if isinstance(policies, list) else []:
        name = _text(_mapping(policy).get("name"))
        if name is None:
            continue
        listener_arn = _arn(policy.get("listener_arn"), where)
        listener = (
            where.subject("AWS::ElasticLoadBalancingV2::Listener", _last_segment(listener_arn), listener_arn)
            if listener_arn
            else balancer
        )
        findings.append(
            listener.verdict(
                "ELB.17",
                name in ELB_17_POLICIES,
                f"The listener uses {name}, a recommended security policy.",
                f"The listener uses {name}, not one of the recommended security policies.",
                ssl_policy=name,
                load_balancer=balancer.arn,
            )
        )
    return findings


def _classic_load_balancer(
    resource: Mapping[str, Any], checks: Mapping[str, Any], where: _Where, at: str
) -> list[Finding]:
    balancer = _subject(resource, "AWS::ElasticLoadBalancing::LoadBalancer", where, at)
    findings = []
    counts = _listener_counts(checks, "https_listeners")
    if counts is not None and counts[1] > 0:
        secure, total = counts
        findings.append(
            balancer.verdict(
                "ELB.3",
                checks.get("all_listeners_secure") is True,
                "Every listener terminates HTTPS or TLS.",
                f"{total - secure} of {total} listeners use HTTP or TCP without TLS.",
                secure_listeners=secure,
                listeners=total,
            )
        )
    weak = [p for p in checks.get("ssl_policies") or [] if isinstance(p, Mapping) and p.get("insecure_protocols")]
    if weak:
        protocols = sorted({str(p) for policy in weak for p in policy["insecure_protocols"]})
        findings.append(
            balancer.failed(
                "ELB.8",
                f"The SSL negotiation policy allows {', '.join(protocols)}.",
                policies=[p.get("name") for p in weak],
                insecure_protocols=protocols,
            )
        )
    elif _has_error(resource, "SSL policy"):
        findings.append(
            balancer.manual(
                "ELB.8",
                "The SSL policy could not be read.",
                "elasticloadbalancing:DescribeLoadBalancerPolicies",
            )
        )
    return findings


def _application_load_balancer(
    resource: Mapping[str, Any], checks: Mapping[str, Any], where: _Where, at: str
) -> list[Finding]:
    balancer = _subject(resource, "AWS::ElasticLoadBalancingV2::LoadBalancer", where, at)
    counts = _listener_counts(checks, "https_listeners")
    findings = []
    if _has_error(resource, "listeners"):
        findings.append(
            balancer.manual("ELB.1", "The listeners could not be read.", "elasticloadbalancing:DescribeListeners")
        )
    elif counts is not None and checks.get("all_listeners_secure") is True:
        findings.append(balancer.passed("ELB.1", "The load balancer has no HTTP listener."))
    elif counts is not None and counts[0] < counts[1]:
        secure, total = counts
        findings.append(
            balancer.manual(
                "ELB.1",
                f"{total - secure} of {total} listeners are not HTTPS; whether they redirect was not read.",
                "the HTTP listeners' default actions (the Security server reads no redirects)",
                secure_listeners=secure,
                listeners=total,
            )
        )
    return findings + _elb_17(checks.get("ssl_policies"), balancer, where)


def _network_load_balancer(
    resource: Mapping[str, Any], checks: Mapping[str, Any], where: _Where, at: str
) -> list[Finding]:
    balancer = _subject(resource, "AWS::ElasticLoadBalancingV2::LoadBalancer", where, at)
    if _has_error(resource, "listeners"):
        return [balancer.manual("ELB.17", "The listeners could not be read.", "elasticloadbalancing:DescribeListeners")]
    return _elb_17(checks.get("ssl_policies"), balancer, where)


def _vpc_endpoint(resource: Mapping[str, Any], checks: Mapping[str, Any], where: _Where, at: str) -> list[Finding]:
    enabled = checks.get("private_dns_enabled")
    if checks.get("endpoint_type") != "Interface" or not isinstance(enabled, bool):
        return []  # gateway endpoints have no private DNS
    service = resource.get("service")
    return [
        _subject(resource, "AWS::EC2::VPCEndpoint", where, at).verdict(
            "EC2.InterfaceEndpointPrivateDns",
            enabled,
            f"Private DNS is on: clients reach {service} through the endpoint under its usual name.",
            f"Private DNS is off: clients using {service}'s public name bypass the endpoint.",
            service=service,
        )
    ]


def _security_group(resource: Mapping[str, Any], checks: Mapping[str, Any], where: _Where, at: str) -> list[Finding]:
    opened = checks.get("open_sensitive_ports")
    ports = sorted(
        {p["port"] for p in opened if isinstance(p, Mapping) and isinstance(p.get("port"), int)}
        if isinstance(opened, list)
        else set()
    )
    if not ports:
        return []  # the server looks at eight ports only: no PASS for EC2.18 or EC2.19
    group_id = _text(resource.get("id")) or _name(resource, where, at)
    group = where.subject("AWS::EC2::SecurityGroup", group_id, _arn(resource.get("arn"), where))
    evidence = {"group_name": resource.get("name"), "open_ports": ports}
    findings = []
    if risky := [p for p in ports if p in EC2_19_PORTS]:
        findings.append(group.failed("EC2.19", f"High-risk ports open to 0.0.0.0/0: {_ports(risky)}.", **evidence))
    if unauthorised := [p for p in ports if p not in EC2_18_AUTHORISED_PORTS]:
        findings.append(
            group.failed("EC2.18", f"Open to 0.0.0.0/0 on unauthorised ports: {_ports(unauthorised)}.", **evidence)
        )
    if 80 in ports:
        findings.append(
            group.failed("EC2.CleartextPortPublic", "Port 80 (HTTP, clear text) is open to 0.0.0.0/0.", **evidence)
        )
    return findings


def _ports(ports: list[int]) -> str:
    return ", ".join(map(str, ports))


def _api_gateway(resource: Mapping[str, Any], checks: Mapping[str, Any], where: _Where, at: str) -> list[Finding]:
    findings = []
    domains = checks.get("domains")
    for domain in domains if isinstance(domains, list) else []:
        name = _text(_mapping(domain).get("name"))
        if name is None:
            continue
        policy = str(domain.get("security_policy") or "")
        arn = f"arn:{_partition(where.region)}:apigateway:{where.region}::/domainnames/{name}"
        subject = where.subject("AWS::ApiGateway::DomainName", name, arn)
        evidence = {"security_policy": policy, "rest_api": resource.get("id")}
        control_id = "APIGateway.DomainTlsPolicy"
        if policy == "TLS_1_0":
            findings.append(subject.failed(control_id, "The custom domain accepts TLS 1.0.", **evidence))
        elif "TLS13" in policy.upper() or "TLS_1_2" in policy.upper():
            findings.append(
                subject.passed(control_id, f"The custom domain requires TLS 1.2 or later ({policy}).", **evidence)
            )
        else:
            reason = f"The custom domain's security policy {policy or '(none)'} is not one this agent knows."
            findings.append(subject.manual(control_id, reason, "the TLS versions of the domain's policy", **evidence))
    return findings


def _cloudfront_distribution(
    resource: Mapping[str, Any], checks: Mapping[str, Any], where: _Where, at: str
) -> list[Finding]:
    distribution = _subject(resource, "AWS::CloudFront::Distribution", where, at)
    findings = []
    viewer = _text(checks.get("viewer_protocol_policy"))
    if viewer is not None and viewer not in HTTPS_VIEWER_POLICIES:
        findings.append(
            distribution.failed(
                "CloudFront.3",
                f"The default cache behaviour's viewer protocol policy is {viewer}.",
                viewer_protocol_policy=viewer,
            )
        )
    if tls := _text(checks.get("minimum_tls_version")):
        findings.append(
            distribution.verdict(
                "CloudFront.15",
                tls in CLOUDFRONT_15_POLICIES,
                f"The viewer security policy {tls} is a recommended one.",
                f"The viewer security policy {tls} is not a recommended one (TLSv1.2_2021 or later).",
                minimum_protocol_version=tls,
            )
        )
    origins = checks.get("s3_origins_without_oai")
    if isinstance(origins, list) and origins:
        reason = f"S3 origins reachable without OAI or OAC: {', '.join(map(str, origins))}."
        findings.append(distribution.failed("CloudFront.S3OriginAccess", reason, origins=origins))
    return findings


_NETWORK_READERS: Mapping[str, _ResourceReader] = {
    "classic_load_balancer": _classic_load_balancer,
    "application_load_balancer": _application_load_balancer,
    "network_load_balancer": _network_load_balancer,
    "vpc_endpoint": _vpc_endpoint,
    "security_group": _security_group,
    "api_gateway": _api_gateway,
    "cloudfront_distribution": _cloudfront_distribution,
}
