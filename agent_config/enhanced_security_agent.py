"""Lambda entry point: Bedrock Agent events in, Bedrock responses out.

`lambda_handler` checks the event's shape itself (so even an empty or truncated event gets a
well-formed answer), computes the request's deadline from the Lambda context, routes through
Powertools' resolvers (`routes` for OpenAPI action groups, `function_routes` for function-details
action groups), and finally validates what it is about to return against Bedrock's response
contract, echoing the session attributes it was given merged with the small pointers the
operation set (never a report).

Status codes the agent's model sees: 200 (answered, possibly with `degraded` parts), 400 (input it
can fix: the body says how), 404 (no such operation), 424 (a server the answer depends on failed:
the body says which and why), 500 (a fault of ours, or invalid configuration).
"""

from __future__ import annotations

import os
import re
import time
from typing import Any

from pydantic import ValidationError

from agent_config import runtime
from agent_config.bedrock import (
    BedrockAgentEvent,
    BedrockAgentResponse,
    BedrockFunctionEvent,
    ErrorBody,
    InvalidEvent,
    api_response,
    parse_event,
    string_map,
)
from agent_config.orchestration.deadline import Deadline
from agent_config.routes import DEFAULT_BUDGET_S, SESSION_UPDATES, app
from agent_config.utils.error_handling import AgentError
from agent_config.utils.logging_utils import bind_request, ensure_logging_configured, get_logger

log = get_logger(__name__)
_TEMPLATE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    """Bedrock Agents (OpenAPI or function details) and AgentCore Gateway calls, one handler."""
    tool = _gateway_tool(context)
    if tool is not None:
        from agent_config import agentcore_gateway as gateway
        from agent_config.schema import schema_routes

        try:
            bedrock_event = gateway.gateway_to_bedrock_event(event, tool, schema_routes(), context)
        except gateway.GatewayEventError as exc:
            return gateway.gateway_error_result(str(exc))
        return gateway.bedrock_to_gateway_result(_bedrock_handler(bedrock_event, context))
    return _bedrock_handler(event, context)


def _gateway_tool(context: Any) -> str | None:
    custom = getattr(getattr(context, "client_context", None), "custom", None)
    if not isinstance(custom, dict) or "bedrockAgentCoreToolName" not in custom:
        return None
    from agent_config import agentcore_gateway

    return agentcore_gateway.gateway_tool_name(context)


def _bedrock_handler(event: Any, context: Any) -> dict[str, Any]:
    ensure_logging_configured(os.environ.get("LOG_LEVEL", "INFO"))
    started = time.perf_counter()
    raw = event if isinstance(event, dict) else {}
    bind_request(getattr(context, "aws_request_id", None), str(raw.get("sessionId") or "") or None)
    try:
        parsed = parse_event(event)
    except InvalidEvent as exc:
        log.warning("invalid_event", error=str(exc))
        return api_response(event, 400, _error_body("validation", str(exc), "Send a Bedrock Agent action event."))
    if isinstance(parsed, BedrockFunctionEvent):
        from agent_config.function_routes import handle_function_event

        final = handle_function_event(parsed, event, context)
    else:
        final = answer_openapi_event(event, parsed, context)
    log.info(
        "request_done",
        operation=parsed.apiPath if isinstance(parsed, BedrockAgentEvent) else parsed.function,
        latency_ms=round((time.perf_counter() - started) * 1000, 1),
    )
    return final


def answer_openapi_event(event: dict[str, Any], parsed: BedrockAgentEvent, context: Any) -> dict[str, Any]:
    """Route one OpenAPI action-group event and return the validated Bedrock response."""
    app.append_context(deadline=_request_deadline(context))
    updates: dict[str, str] = {}
    token = SESSION_UPDATES.set(updates)
    try:
        response = app.resolve(_concrete_path(event, parsed), context)
    except Exception:
        log.exception("unhandled_error", api_path=parsed.apiPath)
        updates.clear()
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
        SESSION_UPDATES.reset(token)
        app.clear_context()
        _flush_metrics()
    return _finalise(event, response, updates)


def _concrete_path(event: dict[str, Any], parsed: BedrockAgentEvent) -> dict[str, Any]:
    """Bedrock sends the path *template* (`/security/reports/{assessment_id}`) and the values as
    parameters; the router needs the concrete path. The response echoes the template again."""
    values = {p.name: p.value for p in parsed.parameters}

    def fill(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        return value if value and "/" not in value else match.group(0)

    return {**event, "apiPath": _TEMPLATE.sub(fill, parsed.apiPath)}


def _finalise(event: dict[str, Any], response: dict[str, Any], updates: dict[str, str]) -> dict[str, Any]:
    """Echo the session attributes (merged with the operation's updates) and the template path, and
    prove the response is well-formed before it leaves."""
    session = {
        **string_map(event.get("sessionAttributes")),
        **string_map(response.get("sessionAttributes")),
        **updates,
    }
    prompt = {
        **string_map(event.get("promptSessionAttributes")),
        **string_map(response.get("promptSessionAttributes")),
    }
    inner = dict(response.get("response") or {})
    if "apiPath" in inner:
        inner["apiPath"] = event.get("apiPath", inner["apiPath"])
    candidate = {
        **response,
        "response": inner,
        "sessionAttributes": session,
        "promptSessionAttributes": prompt,
    }
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
    try:
        config = runtime.get_runtime().config
        margin, cap = config.lambda_safety_margin_s, config.max_request_s
    except AgentError:
        margin, cap = 3.0, DEFAULT_BUDGET_S  # the configuration error is reported by the route
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if callable(remaining):
        return Deadline.from_lambda_context(int(remaining()), margin, cap)
    return Deadline.after(cap)
