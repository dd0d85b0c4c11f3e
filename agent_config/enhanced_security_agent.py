"""Lambda entry point: Bedrock Agent events in, Bedrock responses out.

`lambda_handler` checks the event's shape itself (so even an empty or truncated event gets a
well-formed answer), computes the request's deadline from the Lambda context, routes through
Powertools' `BedrockAgentResolver`, and finally validates what it is about to return against
Bedrock's response contract, echoing the session attributes it was given.

Status codes the agent's model sees: 200 (answered, possibly with `degraded` parts), 400 (input it
can fix: the body says how), 404 (no such operation), 424 (a server the answer depends on failed:
the body says which and why), 500 (a fault of ours, or invalid configuration).
"""

from __future__ import annotations

import os
import time
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import BedrockAgentResolver, BedrockResponse
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import ValidationError

from agent_config import actions, runtime
from agent_config.bedrock import (
    BedrockAgentResponse,
    BedrockFunctionEvent,
    ErrorBody,
    InvalidEvent,
    api_response,
    function_response,
    parse_event,
    string_map,
)
from agent_config.interfaces import AgentAnswer
from agent_config.orchestration.deadline import Deadline
from agent_config.utils.error_handling import (
    AgentError,
    DependencyFailed,
    ErrorKind,
)
from agent_config.utils.logging_utils import bind_request, ensure_logging_configured, get_logger

REGION_PATTERN = r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}$"
DEFAULT_BUDGET_S = 60.0
BACKSTOP_GRACE_S = 1.0

log = get_logger(__name__)
app = BedrockAgentResolver()


# ---------------------------------------------------------------------------------------------
# Operations
# ---------------------------------------------------------------------------------------------


@app.get(
    "/health",
    operation_id="getHealth",
    summary="Health of every data source",
    description=(
        "Reports which MCP servers (Security, AWS Knowledge, AWS API) are configured and reachable, with "
        "their latency and tools. Call it when the user asks whether the agent's data sources work, or "
        "after another operation answered that a source failed."
    ),
)
def get_health() -> AgentAnswer:
    state = runtime.get_runtime()
    return state.run(lambda: actions.health(state.orchestrator), _backstop())


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
def get_security_services(
    region: Annotated[
        str | None,
        Query(
            description=(
                "AWS Region code, for example us-east-1 or eu-west-1. "
                "Omit it to use the agent's default Region."
            ),
            pattern=REGION_PATTERN,
            max_length=25,
        ),
    ] = None,
) -> AgentAnswer:
    state = runtime.get_runtime()
    chosen = region or state.config.default_regions[0]
    deadline = _deadline()
    return state.run(lambda: actions.security_services(state.orchestrator, deadline, chosen), _backstop())


# ---------------------------------------------------------------------------------------------
# Errors: every one becomes a well-formed answer with a status the model can act on
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
        guidance=(
            "Correct the named parameter (see the operation's description for allowed values) and call again."
        ),
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
    status, degraded = 424, []
    if isinstance(exc, DependencyFailed):
        degraded = [{"server": exc.server, "reason": exc.reason, "error_kind": exc.cause_kind.value}]
    elif exc.kind is ErrorKind.VALIDATION:
        status = 400
    elif exc.kind is ErrorKind.CONFIGURATION:
        status = 500
    log.warning("request_failed", status=status, error_kind=exc.kind.value, error=exc.message)
    body = ErrorBody.model_validate(
        {"error": exc.kind.value, "message": exc.message, "guidance": exc.guidance, "degraded": degraded}
    )
    return BedrockResponse(body=body.model_dump(mode="json"), status_code=status)


# ---------------------------------------------------------------------------------------------
# The handler
# ---------------------------------------------------------------------------------------------


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    ensure_logging_configured(os.environ.get("LOG_LEVEL", "INFO"))
    started = time.perf_counter()
    raw = event if isinstance(event, dict) else {}
    bind_request(getattr(context, "aws_request_id", None), str(raw.get("sessionId") or "") or None)
    try:
        parsed = parse_event(event)
    except InvalidEvent as exc:
        log.warning("invalid_event", error=str(exc))
        return api_response(
            event, 400, _error_body("validation", str(exc), "Send a Bedrock Agent action event.")
        )

    if isinstance(parsed, BedrockFunctionEvent):
        # Function-details action groups are served by the answers work; say so instead of failing.
        text = (
            "This action group is configured with function details, which this version does not serve yet. "
            "Configure the action group with the OpenAPI schema (security-agent schema)."
        )
        return function_response(parsed, text, "FAILURE")

    app.append_context(deadline=_request_deadline(context))
    try:
        response = app.resolve(event, context)
    except Exception:
        log.exception("unhandled_error", api_path=parsed.apiPath)
        response = api_response(
            event,
            500,
            _error_body(
                "internal_error",
                "The action failed unexpectedly.",
                "Tell the user the security agent hit an internal error; retrying may help.",
            ),
        )
    finally:
        app.clear_context()
        _flush_metrics()
    final = _finalise(event, response)
    log.info(
        "request_done",
        api_path=parsed.apiPath,
        status=final["response"]["httpStatusCode"],
        latency_ms=round((time.perf_counter() - started) * 1000, 1),
    )
    return final


def _finalise(event: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    """Echo the session attributes (merged with any the route set) and prove the response is well-formed."""
    session = {**string_map(event.get("sessionAttributes")), **string_map(response.get("sessionAttributes"))}
    prompt = {
        **string_map(event.get("promptSessionAttributes")),
        **string_map(response.get("promptSessionAttributes")),
    }
    candidate = {**response, "sessionAttributes": session, "promptSessionAttributes": prompt}
    try:
        return BedrockAgentResponse.model_validate(candidate).model_dump(exclude_none=True)
    except ValidationError as exc:
        log.error("malformed_response", error=str(exc))
        return api_response(
            event,
            500,
            _error_body("internal_error", "The action produced a malformed response.", "Retrying may help."),
            session,
            prompt,
        )


def _flush_metrics() -> None:
    try:
        runtime.get_runtime().flush_metrics()
    except AgentError as exc:  # invalid configuration: already answered as a 500
        log.debug("metrics_not_flushed", error=exc.message)


def _error_body(kind: str, message: str, guidance: str) -> ErrorBody:
    return ErrorBody(error=kind, message=message, guidance=guidance)


def _request_deadline(context: Any) -> Deadline:
    state_config = None
    try:
        state_config = runtime.get_runtime().config
    except AgentError:
        state_config = None  # reported by the route that needs it
    margin = state_config.lambda_safety_margin_s if state_config else 3.0
    cap = state_config.max_request_s if state_config else DEFAULT_BUDGET_S
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if callable(remaining):
        return Deadline.from_lambda_context(int(remaining()), margin, cap)
    return Deadline.after(cap)


def _deadline() -> Deadline:
    deadline = app.context.get("deadline")
    return deadline if isinstance(deadline, Deadline) else Deadline.after(DEFAULT_BUDGET_S)


def _backstop() -> float:
    """How long the handler waits for the event loop: the deadline plus a little, as a last resort."""
    return _deadline().remaining() + BACKSTOP_GRACE_S
