"""The same operations for function-details action groups (Powertools' `BedrockAgentFunctionResolver`).

Some accounts' agents use function details instead of an OpenAPI schema. Rather than a second set
of operations, each function is generated from the OpenAPI operation of the same name: its schema
(at most 5 parameters, each a string or integer with its description) and its dispatch, which turns
the function call into the equivalent OpenAPI event and answers it through the same routes,
validation and error handling. Status codes become `responseState`: REPROMPT for input the model
can fix (400, 404), FAILURE for a failed dependency or an internal error.
"""

from __future__ import annotations

import inspect
import json
from functools import cache
from typing import Any, Literal

from aws_lambda_powertools.event_handler import BedrockAgentFunctionResolver, BedrockFunctionResponse

from agent_config.bedrock import BedrockAgentEvent, BedrockFunctionEvent, function_response
from agent_config.schema import Route, schema_routes

MAX_PARAMETERS = 5
MAX_DESCRIPTION = 1200
_TYPES = {"integer": "integer", "number": "number", "boolean": "boolean"}


def operations() -> dict[str, Route]:
    return schema_routes()


def function_schema() -> dict[str, Any]:
    """The `functionSchema` for `create_agent_action_group`, generated from the OpenAPI operations."""
    functions = []
    for operation in operations().values():
        if len(operation.parameters) > MAX_PARAMETERS:
            raise ValueError(f"{operation.operation_id} has more than {MAX_PARAMETERS} parameters")
        functions.append(
            {
                "name": operation.operation_id,
                "description": operation.description[:MAX_DESCRIPTION],
                "parameters": {
                    p.name: {
                        "type": _TYPES.get(p.type, "string"),
                        "description": (p.description or p.name)[:500],
                        "required": p.required,
                    }
                    for p in operation.parameters
                },
                "requireConfirmation": "DISABLED",
            }
        )
    return {"functions": functions}


@cache
def resolver() -> BedrockAgentFunctionResolver:
    functions = BedrockAgentFunctionResolver()
    for operation in operations().values():
        functions.tool(name=operation.operation_id, description=operation.description[:MAX_DESCRIPTION])(
            _dispatcher(operation)
        )
    return functions


def _dispatcher(operation: Route) -> Any:
    def dispatch(**arguments: Any) -> BedrockFunctionResponse:
        from agent_config.enhanced_security_agent import answer_openapi_event

        functions = resolver()
        current = functions.current_event
        source: dict[str, Any] = dict(current.raw_event) if current is not None else {}
        api_event = {
            "messageVersion": "1.0",
            "agent": source.get("agent", {}),
            "inputText": source.get("inputText", ""),
            "sessionId": source.get("sessionId", ""),
            "actionGroup": source.get("actionGroup", ""),
            "apiPath": operation.path,
            "httpMethod": operation.method,
            "parameters": [{"name": name, "type": "string", "value": str(value)} for name, value in arguments.items()],
            "sessionAttributes": source.get("sessionAttributes") or {},
            "promptSessionAttributes": source.get("promptSessionAttributes") or {},
        }
        answered = answer_openapi_event(
            api_event, BedrockAgentEvent.model_validate(api_event), functions.context["lambda"]
        )
        status = answered["response"]["httpStatusCode"]
        body = answered["response"]["responseBody"]["application/json"]["body"]
        state: Literal["FAILURE", "REPROMPT"] | None = (
            None if status < 400 else "REPROMPT" if status in (400, 404) else "FAILURE"
        )
        return BedrockFunctionResponse(
            body=body,
            session_attributes=answered.get("sessionAttributes"),
            prompt_session_attributes=answered.get("promptSessionAttributes"),
            response_state=state,
        )

    dispatch.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(p.name, inspect.Parameter.KEYWORD_ONLY, default=None) for p in operation.parameters]
    )
    dispatch.__name__ = operation.operation_id
    return dispatch


def handle_function_event(parsed: BedrockFunctionEvent, event: dict[str, Any], context: Any) -> dict[str, Any]:
    if parsed.function not in operations():
        known = ", ".join(sorted(operations()))
        return function_response(parsed, f"There is no function {parsed.function!r}. Use one of: {known}.", "REPROMPT")
    functions = resolver()
    functions.append_context(**{"lambda": context})
    try:
        response = functions.resolve(event, context)
    finally:
        functions.clear_context()
    body = response["response"]["functionResponse"]["responseBody"]["TEXT"]["body"]
    if isinstance(body, str) and body.startswith('"') and body.endswith('"'):
        response["response"]["functionResponse"]["responseBody"]["TEXT"]["body"] = json.loads(body)
    return response
