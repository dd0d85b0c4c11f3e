"""The domain: what travels between the layers, and the contracts of the seed's three engines.

Everything here is plain data (pydantic v2, validated on construction) or a `Protocol`. No module
in this file does I/O, and nothing here knows Bedrock's event format or an MCP server's raw
output: the handler and the integration adapters translate at the edges.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agent_config.orchestration.deadline import Deadline
from agent_config.utils.error_handling import ErrorKind


class ServerRole(StrEnum):
    """The three kinds of MCP server the agent orchestrates (the seed's `MCPServerType`)."""

    SECURITY = "security"
    """Status of AWS security services and their findings (awslabs well-architected-security)."""
    KNOWLEDGE = "knowledge"
    """Official AWS documentation (the remote AWS Knowledge server, or the offline one)."""
    AWS_API = "aws_api"
    """Read-only AWS API calls for resource-level evidence (awslabs aws-api)."""


REGION_CODE_PATTERN = r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}$"
"""An AWS Region code (us-east-1, us-gov-west-1, cn-north-1, us-isob-east-1). The same rule as the
action group's routes, so `security-agent assess` and the Lambda accept exactly the same Regions."""


def is_region_code(text: str) -> bool:
    """Whether `text` is a well-formed AWS Region code. Checked where requests enter, because a bad
    code (`mars-1`) otherwise travels to every server and fails there as an unreadable account."""
    return re.fullmatch(REGION_CODE_PATTERN, text) is not None


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------------------------------------
# Tool calls
# ---------------------------------------------------------------------------------------------


class ToolCall(_Model):
    """One request to one tool of one server, as the planner decides it."""

    server: str = Field(description="Name of the configured server (usually its role's name).")
    tool: str = Field(min_length=1)
    arguments: dict[str, Any] = Field(default_factory=dict)
    purpose: str = Field(default="", description="Why the call is made, for logs and degraded notes.")


class CallOutcome(StrEnum):
    OK = "ok"
    """The server answered and its payload parsed."""
    ERROR = "error"
    """The server answered with an error, or the transport failed."""
    TIMEOUT = "timeout"
    """No answer within the call's share of the deadline."""
    SKIPPED = "skipped"
    """Not attempted: the server is not configured, or its circuit breaker is open."""


class ToolResult(_Model):
    """What came back for a `ToolCall`, with how long it took and, on failure, what kind of failure."""

    call: ToolCall
    outcome: CallOutcome
    payload: Any = None
    latency_ms: float = Field(ge=0)
    attempts: int = Field(default=1, ge=0)
    error_kind: ErrorKind | None = None
    error_message: str | None = None
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return self.outcome is CallOutcome.OK


class ToolInfo(_Model):
    """A tool as a server lists it."""

    server: str
    name: str
    description: str = ""
    input_schema: dict[str, Any] = Field(default_factory=dict)


class ServerHealth(_Model):
    """One server's health as `/health` reports it."""

    name: str
    role: ServerRole
    transport: str
    reachable: bool | None = Field(description="None when not probed (its health check is turned off).")
    latency_ms: float | None = None
    tools: list[str] = Field(default_factory=list)
    circuit: str = "closed"
    calls: dict[str, int] = Field(default_factory=dict, description="Totals since the container started.")
    error: str | None = None


# ---------------------------------------------------------------------------------------------
# Findings
# ---------------------------------------------------------------------------------------------


class FindingStatus(StrEnum):
    PASS = "PASS"  # noqa: S105 - a check status, not a password
    FAIL = "FAIL"
    MANUAL = "MANUAL"
    """Could not be evaluated automatically (missing permission or API); says which."""
    NOT_APPLICABLE = "NOT_APPLICABLE"


class Severity(StrEnum):
    CRITICAL = "CRITICAL"
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"
    INFORMATIONAL = "INFORMATIONAL"

    @property
    def rank(self) -> int:
        """Higher is worse; used for sorting and `--fail-on` thresholds."""
        return _SEVERITY_RANK[self]

    @classmethod
    def parse(cls, text: str) -> Severity:
        """Accept any case and the common short form `INFO`."""
        normalised = text.strip().upper()
        return cls.INFORMATIONAL if normalised == "INFO" else cls(normalised)


_SEVERITY_RANK = {
    Severity.CRITICAL: 4,
    Severity.HIGH: 3,
    Severity.MEDIUM: 2,
    Severity.LOW: 1,
    Severity.INFORMATIONAL: 0,
}


class DocumentationLink(_Model):
    title: str
    url: str
    source: str = Field(default="catalogue", description="'catalogue' or the knowledge server that gave it.")

    @field_validator("url")
    @classmethod
    def _https_only(cls, url: str) -> str:
        if not url.startswith("https://"):
            raise ValueError("documentation links must be https URLs")
        return url


class Remediation(_Model):
    """How to fix a finding. Advice only: the agent never executes any of it."""

    summary: str
    console_steps: list[str] = Field(default_factory=list)
    cli_commands: list[str] = Field(default_factory=list)
    infrastructure_as_code: str | None = None
    may_break: str | None = None
    verify_command: str | None = None


class Finding(_Model):
    """One control evaluated against one resource (or the account), from one or more sources."""

    control_id: str = Field(min_length=1, description="FSBP control id, e.g. 'S3.8', or a source's own id.")
    title: str
    status: FindingStatus
    severity: Severity
    resource_type: str = ""
    resource_id: str = ""
    resource_arn: str | None = None
    region: str = ""
    account_id: str | None = None
    evidence: dict[str, Any] = Field(default_factory=dict)
    sources: list[str] = Field(default_factory=list)
    remediation: Remediation | None = None
    documentation: list[DocumentationLink] = Field(default_factory=list)
    observed_at: datetime = Field(
        default_factory=lambda: datetime.now(UTC),
        description="When the status was observed: the call time for live evidence, the report's own time "
        "(UpdatedAt, LastObservedAt) for a stored report. The conflict rule 'newer beats older' compares it, "
        "so producers pass it; the default (now) is for tests and hand-made findings.",
    )

    @property
    def key(self) -> tuple[str, str, str]:
        """Identity for de-duplication: the same control on the same resource in the same region."""
        return (self.control_id, self.resource_arn or self.resource_id, self.region)

    @property
    def finding_id(self) -> str:
        """A short, stable id for the agent's model to refer to a finding (remediation requests)."""
        return "F" + hashlib.sha256("|".join(self.key).encode("utf-8")).hexdigest()[:10]


class ServiceStatus(_Model):
    """Whether one AWS security service is enabled in one region, as the Security server reports it."""

    service: str
    region: str
    enabled: bool | None = Field(description="None when the status could not be determined.")
    summary: str
    detail: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    setup_url: str | None = None


# ---------------------------------------------------------------------------------------------
# Assessment results (filled in by the assessment and answers work)
# ---------------------------------------------------------------------------------------------


class DegradedSource(_Model):
    """A part of the answer that is missing, and why, in words a user understands."""

    server: str
    reason: str
    error_kind: ErrorKind | None = None


class PrioritizedFinding(_Model):
    finding: Finding
    priority: int = Field(ge=1, description="1 is the most urgent.")
    reasons: list[str] = Field(default_factory=list)


class ExecutiveSummary(_Model):
    posture: str
    top_risks: list[str] = Field(default_factory=list)
    counts_by_severity: dict[Severity, int] = Field(default_factory=dict)
    not_assessed: list[str] = Field(default_factory=list)
    failing_outside_controls: dict[str, int] = Field(
        default_factory=dict,
        description="Failing findings that are not catalogue controls (threats, vulnerabilities, service "
        "status, other checks), by kind: ranked and counted here, never in the control scores.",
    )


class Score(_Model):
    """One score, with the formula that produced it (so nobody has to guess what it means)."""

    name: str
    value: float | None = Field(description="0-100; None when no control had data.")
    formula: str
    numerator: float
    denominator: float
    framework: str = "all"


class FrameworkScore(_Model):
    """How one framework's requirements fare: passed, failed, no data, not assessable automatically."""

    framework: str
    title: str
    passed: int
    failed: int
    no_data: int
    not_assessable: int
    score: Score
    failed_requirements: list[str] = Field(default_factory=list)
    not_assessable_requirements: list[str] = Field(default_factory=list)


class SecurityAssessment(_Model):
    assessment_id: str
    account_id: str | None = None
    regions: list[str] = Field(default_factory=list)
    services: list[str] | None = Field(default=None, description="The services assessed; None for all.")
    findings: list[Finding] = Field(default_factory=list)
    prioritized: list[PrioritizedFinding] = Field(default_factory=list)
    scores: list[Score] = Field(default_factory=list)
    frameworks: list[FrameworkScore] = Field(default_factory=list)
    degraded: list[DegradedSource] = Field(default_factory=list)
    summary: ExecutiveSummary | None = None
    stats: dict[str, int] = Field(default_factory=dict, description="Calls made, resources read, rounds...")
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class ActionStep(_Model):
    phase: str = Field(description="'now', 'this week' or 'this quarter'.")
    control_id: str
    title: str
    resources: list[str] = Field(default_factory=list)
    finding_ids: list[str] = Field(default_factory=list)
    remediation: Remediation
    effort: str
    risk_reduction: str
    documentation: list[DocumentationLink] = Field(default_factory=list)


class ActionPlan(_Model):
    steps: list[ActionStep] = Field(default_factory=list)


class AgentAnswer(_Model):
    """What one operation answers, before it is fitted to Bedrock's response format."""

    summary: str
    data: dict[str, Any] = Field(default_factory=dict)
    documentation: list[DocumentationLink] = Field(default_factory=list)
    degraded: list[DegradedSource] = Field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# The seed's engines
# ---------------------------------------------------------------------------------------------


@runtime_checkable
class MCPOrchestrator(Protocol):
    """Connections to every configured MCP server, and concurrent calls across them."""

    async def initialize_connections(self) -> None: ...

    async def discover_all_tools(self) -> Mapping[str, Sequence[ToolInfo]]: ...

    async def execute_parallel_calls(self, calls: Sequence[ToolCall], deadline: Deadline) -> list[ToolResult]:
        """One result per call, in the order given; never raises for a call's failure."""
        ...

    async def health_check_all(self, deadline: Deadline | None = None) -> list[ServerHealth]:
        """Every server's state; with a `deadline`, each probe is cut off at what is left of it."""
        ...

    async def close(self) -> None: ...


class DataSynthesizer(Protocol):
    """Merges what several sources said into one ranked, de-duplicated assessment."""

    def synthesize_security_assessment(
        self, findings: Sequence[Finding], degraded: Sequence[DegradedSource], assessment_id: str
    ) -> SecurityAssessment: ...

    def resolve_conflicts(self, findings: Sequence[Finding]) -> list[Finding]: ...

    def prioritize_recommendations(self, findings: Sequence[Finding]) -> list[PrioritizedFinding]: ...

    def generate_executive_summary(self, assessment: SecurityAssessment) -> ExecutiveSummary: ...


class ResponseEngine(Protocol):
    """Turns an assessment into an answer the agent's model can use within its context budget."""

    def transform_multi_source_response(self, assessment: SecurityAssessment) -> AgentAnswer: ...

    def create_contextual_analysis(
        self, current: SecurityAssessment, previous: SecurityAssessment | None
    ) -> dict[str, Any]: ...

    def generate_action_plan(self, findings: Sequence[PrioritizedFinding]) -> ActionPlan: ...

    def format_with_documentation_links(
        self, answer: AgentAnswer, found: Mapping[str, Sequence[DocumentationLink]]
    ) -> AgentAnswer: ...


class SessionStore(Protocol):
    """Where session state lives between turns (DynamoDB in AWS, memory locally): a compare-and-set
    of one JSON state per session. Implemented by `agent_config.session.store.SessionStore`."""

    def load(self, session_id: str) -> tuple[dict[str, Any], int] | None:
        """The state and its version; None for a session never written."""
        ...

    def save(self, session_id: str, state: dict[str, Any], expected_version: int | None) -> int:
        """Write if the stored version is `expected_version` (None: no session yet); return the new
        version. Raises `SessionConflict` when another writer got there first: never overwrites."""
        ...
