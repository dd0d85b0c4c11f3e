"""Bedrock Agents' Lambda contract: the event that comes in, the response that must go out.

A malformed response fails the user's whole turn ("The server encountered an error processing the
Lambda response"), so every response the handler returns is validated against these models first,
and the error responses here are built without Powertools so they work even for events that
Powertools cannot parse (no `apiPath`, an empty event, a body that is not JSON).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent_config.interfaces import DegradedSource

CONTENT_TYPE = "application/json"
MESSAGE_VERSION: Literal["1.0"] = "1.0"


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow")


class BedrockParameter(_Lenient):
    name: str
    type: str = "string"
    value: str


class BedrockProperties(_Lenient):
    properties: list[BedrockParameter] = Field(default_factory=list)


class BedrockRequestBody(_Lenient):
    content: dict[str, BedrockProperties] = Field(default_factory=dict)


class BedrockAgentEvent(_Lenient):
    """An OpenAPI action-group invocation. Every parameter value arrives as a string."""

    messageVersion: str = MESSAGE_VERSION
    agent: dict[str, str] = Field(default_factory=dict)
    inputText: str = ""
    sessionId: str = ""
    actionGroup: str = Field(min_length=1)
    apiPath: str = Field(min_length=1, pattern=r"^/")
    httpMethod: str = Field(min_length=1)
    parameters: list[BedrockParameter] = Field(default_factory=list)
    requestBody: BedrockRequestBody | None = None
    sessionAttributes: dict[str, str] = Field(default_factory=dict)
    promptSessionAttributes: dict[str, str] = Field(default_factory=dict)


class BedrockFunctionEvent(_Lenient):
    """A function-details action-group invocation (`function` instead of `apiPath`)."""

    messageVersion: str = MESSAGE_VERSION
    actionGroup: str = Field(min_length=1)
    function: str = Field(min_length=1)
    parameters: list[BedrockParameter] = Field(default_factory=list)
    sessionId: str = ""
    sessionAttributes: dict[str, str] = Field(default_factory=dict)
    promptSessionAttributes: dict[str, str] = Field(default_factory=dict)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ResponseBodyContent(_Strict):
    body: str


class ApiResponse(_Strict):
    actionGroup: str
    apiPath: str
    httpMethod: str
    httpStatusCode: int = Field(ge=100, le=599)
    responseBody: dict[str, ResponseBodyContent]


class BedrockAgentResponse(_Strict):
    messageVersion: Literal["1.0"] = MESSAGE_VERSION
    response: ApiResponse
    sessionAttributes: dict[str, str] = Field(default_factory=dict)
    promptSessionAttributes: dict[str, str] = Field(default_factory=dict)
    knowledgeBasesConfiguration: list[dict[str, Any]] | None = None


class FunctionResponseBody(_Strict):
    responseState: Literal["FAILURE", "REPROMPT"] | None = None
    responseBody: dict[Literal["TEXT"], ResponseBodyContent]


class FunctionResponse(_Strict):
    actionGroup: str
    function: str
    functionResponse: FunctionResponseBody


class BedrockFunctionResponse(_Strict):
    messageVersion: Literal["1.0"] = MESSAGE_VERSION
    response: FunctionResponse
    sessionAttributes: dict[str, str] = Field(default_factory=dict)
    promptSessionAttributes: dict[str, str] = Field(default_factory=dict)


class ErrorBody(_Strict):
    """The body of every non-2xx answer: what went wrong, and what the agent's model can do next."""

    error: str = Field(description="The kind of error, e.g. 'validation', 'not_found', 'dependency_failed'.")
    message: str
    guidance: str
    degraded: list[DegradedSource] = Field(default_factory=list)


class InvalidEvent(ValueError):
    """The event is not an action-group invocation we can route; the message says what is missing."""


def build_event(
    api_path: str,
    parameters: dict[str, str] | None = None,
    *,
    http_method: str = "GET",
    api_template: str | None = None,
    session_id: str = "local-session",
    input_text: str = "",
    action_group: str = "SecurityAssessment",
    session_attributes: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An event exactly as Bedrock sends it (`apiPath` is the template, values are strings)."""
    return {
        "messageVersion": MESSAGE_VERSION,
        "agent": {
            "name": "enhanced-security-agent",
            "id": "LOCALAGENT",
            "alias": "TSTALIASID",
            "version": "DRAFT",
        },
        "inputText": input_text,
        "sessionId": session_id,
        "actionGroup": action_group,
        "apiPath": api_template or api_path,
        "httpMethod": http_method,
        "parameters": [{"name": k, "type": "string", "value": v} for k, v in (parameters or {}).items()],
        "sessionAttributes": dict(session_attributes or {}),
        "promptSessionAttributes": {},
    }


def parse_event(event: Any) -> BedrockAgentEvent | BedrockFunctionEvent:
    if not isinstance(event, dict) or not event:
        raise InvalidEvent("the event is empty or not a JSON object; expected a Bedrock Agent action-group event")
    model: type[BedrockAgentEvent | BedrockFunctionEvent] = (
        BedrockFunctionEvent if "function" in event and "apiPath" not in event else BedrockAgentEvent
    )
    try:
        return model.model_validate(event)
    except ValidationError as exc:
        raise InvalidEvent(_describe(exc)) from exc


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        location = ".".join(str(p) for p in error["loc"]) or "event"
        problems.append(f"{location}: {error['msg']}")
    return "the event is not a valid Bedrock Agent action-group event: " + "; ".join(problems)


def string_map(value: Any) -> dict[str, str]:
    """Bedrock session attribute maps are string to string; anything else in the event is dropped."""
    if not isinstance(value, dict):
        return {}
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in value.items()}


def api_response(
    event: Any,
    status: int,
    body: BaseModel | dict[str, Any],
    session_attributes: dict[str, str] | None = None,
    prompt_session_attributes: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A well-formed OpenAPI action-group response, echoing whatever the event carried."""
    raw = event if isinstance(event, dict) else {}
    text = body.model_dump_json() if isinstance(body, BaseModel) else json.dumps(body, default=str)
    response = BedrockAgentResponse(
        response=ApiResponse(
            actionGroup=str(raw.get("actionGroup") or "unknown"),
            apiPath=str(raw.get("apiPath") or "/"),
            httpMethod=str(raw.get("httpMethod") or "GET"),
            httpStatusCode=status,
            responseBody={CONTENT_TYPE: ResponseBodyContent(body=text)},
        ),
        sessionAttributes=(
            session_attributes if session_attributes is not None else string_map(raw.get("sessionAttributes"))
        ),
        promptSessionAttributes=(
            prompt_session_attributes
            if prompt_session_attributes is not None
            else string_map(raw.get("promptSessionAttributes"))
        ),
    )
    return response.model_dump(exclude_none=True)


def function_response(
    event: BedrockFunctionEvent, text: str, state: Literal["FAILURE", "REPROMPT"] | None
) -> dict[str, Any]:
    return BedrockFunctionResponse(
        response=FunctionResponse(
            actionGroup=event.actionGroup,
            function=event.function,
            functionResponse=FunctionResponseBody(
                responseState=state, responseBody={"TEXT": ResponseBodyContent(body=text)}
            ),
        ),
        sessionAttributes=event.sessionAttributes,
        promptSessionAttributes=event.promptSessionAttributes,
    ).model_dump(exclude_none=True)
