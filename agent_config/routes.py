"""The action group's operations as Powertools routes: the OpenAPI schema Bedrock is given is
generated from these declarations, so descriptions, parameters and code cannot drift apart.

Each route validates its parameters (patterns, lengths; allowed values are named in the
descriptions, never as `enum`, which Bedrock rejects), builds the request's `OperationContext` and
runs the matching function of `agent_config.actions` on the warm runtime's event loop.
Errors become well-formed answers in `register_error_handlers`: 400 for input the model can fix
(saying how), 404 for an unknown operation, 424 for a dependency that failed (saying which and
what the answer still contains), 500 for the truly unexpected.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from types import ModuleType
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.event_handler import BedrockAgentResolver, BedrockResponse
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from agent_config import runtime
from agent_config.bedrock import ErrorBody
from agent_config.interfaces import REGION_CODE_PATTERN, AgentAnswer
from agent_config.orchestration.deadline import Deadline
from agent_config.response.budget import fit_answer
from agent_config.response.neutralize import neutralize_note
from agent_config.utils.error_handling import AgentError, DependencyFailed, ErrorKind, InvalidInput
from agent_config.utils.logging_utils import get_logger

if TYPE_CHECKING:
    from agent_config.actions import OperationContext

log = get_logger(__name__)

REGION_PATTERN = REGION_CODE_PATTERN
REGION_LIST_PATTERN = r"^[a-z0-9, -]{1,200}$"
SERVICE_LIST_PATTERN = r"^[a-z0-9, -]{1,200}$"
SERVICES_TEXT = (
    "s3, ec2, iam, rds, kms, lambda, cloudtrail, config, guardduty, secretsmanager, ecr, eks, "
    "efs (elasticfilesystem), elb (application load balancers), sns, sqs, dynamodb, ssm, account, "
    "secrets-in-config (secrets in Lambda environment variables and EC2 user data)"
)
SERVICE_ALIASES = {
    "elasticfilesystem": "efs",
    "awsconfig": "config",
    "secrets": "secretsmanager",
    "elbv2": "elb",
    "alb": "elb",
    "elasticloadbalancing": "elb",
    "secrets-in-config": "secrets_in_config",
    "secrets-in-configuration": "secrets_in_config",
}
FRAMEWORKS = ("well-architected", "fsbp", "cis")
FRAMEWORK_ALIASES = {"wa": "well-architected", "wellarchitected": "well-architected", "aws-fsbp": "fsbp"}
FINDING_SOURCES = ("guardduty", "securityhub", "inspector", "accessanalyzer", "macie")
DEFAULT_BUDGET_S = 60.0
RESPONSE_ENVELOPE_BYTES = 200
"""Kept back from the byte budget for the JSON of the response around the answer."""
BACKSTOP_GRACE_S = 1.0
ERROR_MESSAGE_MAX_LENGTH = 1000
"""Our own error messages list allowed values; longer than a degraded note, still bounded."""

app = BedrockAgentResolver()
SESSION_UPDATES: ContextVar[dict[str, str]] = ContextVar("session_updates")
"""Small pointers an operation wants in Bedrock's session attributes (Powertools clears its own
routing context when `resolve` returns, so they are kept here for the handler to merge)."""

RegionQuery = Annotated[
    str | None,
    Query(
        description="AWS Region code, for example us-east-1 or eu-west-1. Omit it for the agent's default Region.",
        pattern=REGION_PATTERN,
        max_length=25,
    ),
]


# ---------------------------------------------------------------------------------------------
# Operations
# ---------------------------------------------------------------------------------------------


@app.get(
    "/health",
    operation_id="getHealth",
    summary="Health of every data source",
    description=(
        "Reports which MCP servers (Security, AWS Knowledge, AWS API) are configured and reachable, with "
        "their latency, tools and circuit-breaker state. Call it when the user asks whether the agent's "
        "data sources work, or after another operation answered that a source failed."
    ),
)
def get_health() -> AgentAnswer:
    return _operate(lambda actions, ctx: actions.health(ctx.orchestrator, ctx.deadline))


@app.get(
    "/security/services",
    operation_id="getSecurityServices",
    summary="Security services status",
    description=(
        "Tells which AWS security services (Amazon GuardDuty, Amazon Inspector, IAM Access Analyzer, "
        "AWS Security Hub, AWS Trusted Advisor, Amazon Macie) are enabled in one AWS Region, with setup "
        "documentation for those that are not. Call it when the user asks which security services are "
        "on, or whether threat detection is enabled."
    ),
)
def get_security_services(region: RegionQuery = None) -> AgentAnswer:
    return _operate(
        lambda actions, ctx: actions.security_services(
            ctx.orchestrator,
            ctx.deadline,
            _region(ctx, region),
            direct=ctx.direct,
            use_direct_fallback=ctx.config.features.direct_api_fallback,
        )
    )


@app.get(
    "/security/assessment",
    operation_id="runAssessment",
    summary="Comprehensive security assessment",
    description=(
        "Runs a full, read-only security assessment of the AWS account: security service status, storage "
        "and network checks, and resource-level checks of AWS Foundational Security Best Practices "
        "controls; answers with the posture, scores, prioritised findings with their reasons and fixes, an "
        "action plan, documentation links and what changed since the previous assessment of this session. "
        "Call it for 'assess my AWS environment' or 'how secure is my account'. Long results are paged: "
        "the answer says which report page to ask for next."
    ),
)
def get_assessment(
    regions: Annotated[
        str | None,
        Query(
            description="Comma-separated AWS Region codes, e.g. 'us-east-1,eu-west-1'. Omit for the Regions "
            "assessed earlier in this conversation, or the configured default Regions in a new one.",
            pattern=REGION_LIST_PATTERN,
        ),
    ] = None,
    services: Annotated[
        str | None,
        Query(
            description=f"Comma-separated services to limit the assessment to; omit for all. Allowed: {SERVICES_TEXT}.",
            pattern=SERVICE_LIST_PATTERN,
        ),
    ] = None,
) -> AgentAnswer:
    region_list = _regions(regions)
    service_list = _services(services)
    return _operate(lambda actions, ctx: actions.assessment(ctx, region_list, service_list))


@app.get(
    "/security/resources/<service>",
    operation_id="analyzeService",
    summary="One AWS service's security analysis",
    description=(
        "Analyses one AWS service's security configuration in one Region (or one resource of it): every "
        "control's status, prioritised failures with step-by-step remediation (console, CLI, what could "
        "break, how to verify) and the service's security best-practice documentation. Call it for "
        f"'analyze my S3 bucket security' and similar. Allowed services: {SERVICES_TEXT}."
    ),
)
def get_service_analysis(
    service: Annotated[
        str, Path(description=f"The AWS service. Allowed: {SERVICES_TEXT}.", pattern=r"^[a-z0-9-]{2,24}$")
    ],
    region: RegionQuery = None,
    resource: Annotated[
        str | None,
        Query(
            description="Optional resource name, id or ARN to focus on (e.g. a bucket name or sg- id).",
            pattern=r"^[A-Za-z0-9_.:/@+=,-]{1,256}$",
        ),
    ] = None,
) -> AgentAnswer:
    [chosen] = _services(service) or []
    return _operate(lambda actions, ctx: actions.service_analysis(ctx, chosen, region, resource))


@app.get(
    "/security/findings",
    operation_id="getSecurityFindings",
    summary="Findings from the AWS security services",
    description=(
        "Lists findings reported by one AWS security service in one Region, most severe first. Allowed "
        f"sources: {', '.join(FINDING_SOURCES)}. Allowed min_severity: critical, high, medium, low, "
        "informational. Call it for 'show my GuardDuty findings' or 'critical Security Hub findings'."
    ),
)
def get_security_findings(
    source: Annotated[
        str,
        Query(
            description=f"The security service. Allowed: {', '.join(FINDING_SOURCES)}.",
            pattern=r"^[a-z]{3,20}$",
        ),
    ] = "securityhub",
    min_severity: Annotated[
        str | None,
        Query(
            description="Lowest severity to include. Allowed: critical, high, medium, low, informational.",
            pattern=r"^[A-Za-z]{3,13}$",
        ),
    ] = None,
    region: RegionQuery = None,
) -> AgentAnswer:
    if source not in FINDING_SOURCES:
        raise InvalidInput(f"source {source!r} is not one of {', '.join(FINDING_SOURCES)}")
    if min_severity and min_severity.lower() not in (
        "critical",
        "high",
        "medium",
        "low",
        "informational",
        "info",
    ):
        raise InvalidInput("min_severity must be one of critical, high, medium, low, informational")
    return _operate(lambda actions, ctx: actions.security_findings(ctx, source, min_severity, _region(ctx, region)))


@app.get(
    "/security/compliance/<framework>",
    operation_id="getCompliance",
    summary="Compliance framework alignment",
    description=(
        "Shows how the account aligns with a framework: requirements passed, failed, without data, and "
        "those that cannot be assessed automatically (process practices), with a gap analysis, a roadmap "
        "with documentation links and an executive summary. Uses the session's latest assessment or runs "
        f"one. Allowed frameworks: {', '.join(FRAMEWORKS)}. Call it for 'help me align with the "
        "Well-Architected Security Pillar'."
    ),
)
def get_compliance(
    framework: Annotated[str, Path(description=f"Allowed: {', '.join(FRAMEWORKS)}.", pattern=r"^[a-z-]{2,20}$")],
) -> AgentAnswer:
    chosen = FRAMEWORK_ALIASES.get(framework, framework)
    if chosen not in FRAMEWORKS:
        raise InvalidInput(f"framework {framework!r} is not one of {', '.join(FRAMEWORKS)}")
    return _operate(lambda actions, ctx: actions.compliance(ctx, chosen))


@app.get(
    "/security/remediation/<finding_id>",
    operation_id="getRemediationPlan",
    summary="Remediation plan for one finding",
    description=(
        "Gives the full remediation plan for one finding of this session's assessment: what the fix "
        "changes, console steps, AWS CLI commands, an infrastructure-as-code snippet, what it could break "
        "and the read-only command that verifies it. Nothing is executed. Use a finding_id (like "
        "F1a2b3c4d5e) from an assessment answer."
    ),
)
def get_remediation(
    finding_id: Annotated[str, Path(description="A finding_id from an assessment answer.", pattern=r"^F[0-9a-f]{10}$")],
) -> AgentAnswer:
    return _operate(lambda actions, ctx: actions.remediation(ctx, finding_id))


@app.get(
    "/security/documentation",
    operation_id="searchDocumentation",
    summary="Search official AWS documentation",
    description=(
        "Searches official AWS documentation (the AWS Knowledge server) and returns ranked pages with "
        "their URLs. Call it when the user asks how to do something in AWS security or for a best practice."
    ),
)
def get_documentation(
    q: Annotated[str, Query(description="What to search for, in plain words.", min_length=2, max_length=300)],
) -> AgentAnswer:
    return _operate(lambda actions, ctx: actions.documentation(ctx, q))


@app.get(
    "/security/reports/<assessment_id>",
    operation_id="getReportPage",
    summary="Next page of a stored report",
    description=(
        "Returns one page of a stored assessment's findings. Call it when an answer says more findings "
        "are in the stored report; pages start at 1 and every finding is on exactly one page."
    ),
)
def get_report_page(
    assessment_id: Annotated[
        str,
        Path(description="The assessment_id from an assessment answer.", pattern=r"^asm-[0-9]{14}-[0-9a-f]{8}$"),
    ],
    page: Annotated[int, Query(description="Page number, 1 or more.", ge=1, le=1000)] = 1,
) -> AgentAnswer:
    return _operate(lambda actions, ctx: actions.report_page(ctx, assessment_id, page))


@app.get(
    "/security/summary",
    operation_id="getExecutiveSummary",
    summary="Executive summary of the session",
    description=(
        "Gives a stakeholder-ready summary of this session's latest assessment: posture in plain words, "
        "top risks in business terms, counts by severity, scores, what changed since the previous "
        "assessment and the next steps. Call it for 'summarise this for my CISO'."
    ),
)
def get_summary() -> AgentAnswer:
    return _operate(lambda actions, ctx: actions.executive_summary(ctx))


# ---------------------------------------------------------------------------------------------
# Running an operation
# ---------------------------------------------------------------------------------------------


Work = Callable[[ModuleType, "OperationContext"], Coroutine[Any, Any, AgentAnswer]]


def _operate(work: Work) -> AgentAnswer:
    """Run one operation on the warm runtime. `actions` (and with it the checks, the catalogue and the
    response engine) is imported on first use, so a cold start for `/health` does not pay for it."""
    from agent_config import actions

    state = runtime.get_runtime()
    ctx = actions.OperationContext(
        orchestrator=state.orchestrator,
        config=state.config,
        deadline=current_deadline(),
        session_id=_session_id(),
        sessions=state.sessions,
        direct=state.direct,
    )
    try:
        answer = state.run(lambda: work(actions, ctx), current_deadline().remaining() + BACKSTOP_GRACE_S)
        return fit_answer(answer, state.config.max_response_bytes - RESPONSE_ENVELOPE_BYTES)
    finally:
        SESSION_UPDATES.get().update(ctx.session_updates)


def current_deadline() -> Deadline:
    deadline = app.context.get("deadline")
    return deadline if isinstance(deadline, Deadline) else Deadline.after(DEFAULT_BUDGET_S)


def _session_id() -> str:
    try:
        return str(app.current_event.session_id or "no-session")
    except (AttributeError, KeyError):
        return "no-session"


def _region(ctx: OperationContext, region: str | None) -> str:
    return region or ctx.config.default_regions[0]


def _regions(text: str | None) -> list[str]:
    if not text:
        return []
    regions = [part.strip() for part in text.split(",") if part.strip()]
    bad = [r for r in regions if not re.match(REGION_PATTERN, r)]
    if bad:
        raise InvalidInput(f"regions: {', '.join(bad)} is not an AWS Region code (e.g. us-east-1)")
    return list(dict.fromkeys(regions))


def _services(text: str | None) -> list[str] | None:
    if not text:
        return None
    from agent_config.orchestration.planner import known_services

    services = [SERVICE_ALIASES.get(p.strip(), p.strip()) for p in text.lower().split(",") if p.strip()]
    unknown = [s for s in services if s not in known_services()]
    if unknown:
        raise InvalidInput(f"services: {', '.join(unknown)} is not assessed; allowed: {SERVICES_TEXT}")
    return list(dict.fromkeys(services))


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


@app.exception_handler(RequestValidationError)
def _invalid_parameters(exc: RequestValidationError) -> BedrockResponse[ErrorBody]:
    problems = []
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ()) if part not in ("query", "path", "body")]
        problems.append(f"{'.'.join(location) or 'request'}: {error.get('msg', 'invalid')}")
    body = ErrorBody(
        error=ErrorKind.VALIDATION.value,
        message="Invalid parameters: " + "; ".join(problems),
        guidance="Correct the named parameter (see the operation's description for allowed values) and call again.",
    )
    return BedrockResponse(body=body.model_dump(mode="json"), status_code=400)


@app.not_found
def _unknown_operation(exc: NotFoundError) -> BedrockResponse[ErrorBody]:
    event = app.current_event
    known = sorted(
        f"{method.upper()} {path}"
        for path, item in (app.get_openapi_schema().paths or {}).items()
        for method in ("get", "post", "put", "delete")
        if getattr(item, method, None) is not None
    )
    body = ErrorBody(
        error="not_found",
        message=f"There is no operation {event.http_method} {event.api_path}.",
        guidance="Use one of the operations in the action group's schema: " + ", ".join(known),
    )
    return BedrockResponse(body=body.model_dump(mode="json"), status_code=404)


@app.exception_handler(AgentError)
def _agent_error(exc: AgentError) -> BedrockResponse[ErrorBody]:
    return BedrockResponse(body=error_body(exc).model_dump(mode="json"), status_code=status_for(exc))


def status_for(exc: AgentError) -> int:
    if exc.kind is ErrorKind.VALIDATION:
        return 400
    if exc.kind is ErrorKind.CONFIGURATION:
        return 500
    return 424


def error_body(exc: AgentError) -> ErrorBody:
    """The error as the model reads it. A message or reason may quote a server's words (its stderr,
    an error payload), which are untrusted text like any account data, so both are neutralised."""
    degraded: list[dict[str, str]] = []
    if isinstance(exc, DependencyFailed):
        reason = neutralize_note(exc.reason)
        degraded = [{"server": exc.server, "reason": reason, "error_kind": exc.cause_kind.value}]
    log.warning("request_failed", status=status_for(exc), error_kind=exc.kind.value, error=exc.message)
    message = neutralize_note(exc.message, limit=ERROR_MESSAGE_MAX_LENGTH)
    return ErrorBody.model_validate(
        {"error": exc.kind.value, "message": message, "guidance": exc.guidance, "degraded": degraded}
    )
