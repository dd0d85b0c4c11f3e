"""AgentCore Gateway Lambda-target invocations <-> Bedrock action-group events. Pure: no I/O, no AWS.

The same Lambda serves Agents Classic (an action group with our OpenAPI schema) and an AgentCore
Gateway (a Lambda target whose tools are the same operations). The gateway invokes the function
with the tool's arguments as the whole event, and names the tool in the client context:
`context.client_context.custom["bedrockAgentCoreToolName"]` is `<target>___<tool>`, and the
prefix is ours to strip. Rather than teach the handler a second event format, this module
translates a gateway call into the Bedrock event the handler already serves (operationId -> path
template and method via the OpenAPI schema; every value a string, as Bedrock sends them) and the
handler's Bedrock response back into an MCP tool result.

Handler integration (`agent_config/enhanced_security_agent.py`)::

    from agent_config import agentcore_gateway as gateway

    def lambda_handler(event, context):
        tool = gateway.gateway_tool_name(context)
        if tool is not None:
            try:
                routes = schema_routes()  # from agent_config.schema
                bedrock_event = gateway.gateway_to_bedrock_event(event, tool, routes, context)
            except gateway.GatewayEventError as exc:
                return gateway.gateway_error_result(str(exc))
            return gateway.bedrock_to_gateway_result(_bedrock_handler(bedrock_event, context))
        return _bedrock_handler(event, context)

`schema_routes()` reads the schema once per process (it is generated from the same app).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Final

from agent_config.schema import Route

TOOL_NAME_KEY: Final = "bedrockAgentCoreToolName"
SESSION_ID_KEY: Final = "bedrockAgentCoreSessionId"
TARGET_DELIMITER: Final = "___"
GATEWAY_ACTION_GROUP: Final = "agentcore-gateway"
"""The `actionGroup` the translated events carry, so logs show which front door a call came in by."""
MESSAGE_VERSION: Final = "1.0"
_SESSION_ID_CHARS = re.compile(r"[^0-9a-zA-Z._:-]")


class GatewayEventError(ValueError):
    """A gateway call that cannot be translated (unknown tool, arguments not an object)."""


# ---------------------------------------------------------------------------------------------
# Gateway -> Bedrock
# ---------------------------------------------------------------------------------------------


def _custom(context: Any) -> Mapping[str, Any]:
    client_context = getattr(context, "client_context", None)
    custom = getattr(client_context, "custom", None)
    if custom is None and isinstance(client_context, Mapping):
        custom = client_context.get("custom")
    return custom if isinstance(custom, Mapping) else {}


def _custom_value(context: Any, key: str) -> str | None:
    """A client-context value by key, case-insensitively (samples spell it `bedrockagentcore...`)."""
    wanted = key.lower()
    for name, value in _custom(context).items():
        if str(name).lower() == wanted and value is not None:
            return str(value)
    return None


def gateway_tool_name(context: Any) -> str | None:
    """The tool name an AgentCore Gateway put in the client context, prefix stripped; None otherwise."""
    raw = _custom_value(context, TOOL_NAME_KEY)
    return strip_target_prefix(raw) if raw else None


def is_gateway_invocation(context: Any) -> bool:
    return gateway_tool_name(context) is not None


def strip_target_prefix(tool_name: str) -> str:
    """`security___getHealth` -> `getHealth` (the gateway prefixes the target name and `___`)."""
    _, delimiter, tool = tool_name.partition(TARGET_DELIMITER)
    return tool if delimiter else tool_name


def _as_bedrock_value(value: Any) -> str:
    """Bedrock sends every parameter value as a string; non-strings as their JSON text."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _session_id(context: Any) -> str:
    raw = _custom_value(context, SESSION_ID_KEY) or str(getattr(context, "aws_request_id", "") or "gateway")
    cleaned = _SESSION_ID_CHARS.sub("-", raw)[:100]
    return cleaned if len(cleaned) >= 2 else "gateway-session"


def gateway_to_bedrock_event(
    arguments: Any, tool_name: str, routes: Mapping[str, Route], context: Any = None
) -> dict[str, Any]:
    """The Bedrock action-group event equivalent to a gateway tool call.

    Raises `GatewayEventError` for an unknown tool or arguments that are not a JSON object.
    Arguments the operation does not declare are dropped (the gateway validated them against the
    tool schema we generated from the same operations, so this only happens across versions).
    """
    name = strip_target_prefix(tool_name)
    route = routes.get(name)
    if route is None:
        known = ", ".join(sorted(routes))
        raise GatewayEventError(f"unknown tool {name!r}; this target serves: {known}")
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, Mapping):
        raise GatewayEventError(f"the arguments of {name} must be a JSON object")
    parameters: list[dict[str, str]] = []
    body: list[dict[str, str]] = []
    for parameter in route.parameters:
        if parameter.name not in arguments or arguments[parameter.name] is None:
            continue
        entry = {
            "name": parameter.name,
            "type": parameter.type,
            "value": _as_bedrock_value(arguments[parameter.name]),
        }
        (body if parameter.location == "body" else parameters).append(entry)
    event: dict[str, Any] = {
        "messageVersion": MESSAGE_VERSION,
        "agent": {"name": "agentcore-gateway", "id": "agentcore-gateway", "alias": "gateway", "version": "1"},
        "inputText": "",
        "sessionId": _session_id(context),
        "actionGroup": GATEWAY_ACTION_GROUP,
        "apiPath": route.path,
        "httpMethod": route.method,
        "parameters": parameters,
        "sessionAttributes": {},
        "promptSessionAttributes": {},
    }
    if body:
        event["requestBody"] = {"content": {"application/json": {"properties": body}}}
    return event


# ---------------------------------------------------------------------------------------------
# Bedrock -> Gateway
# ---------------------------------------------------------------------------------------------


def bedrock_to_gateway_result(response: Mapping[str, Any]) -> dict[str, Any]:
    """An MCP tool result (`content` + `isError`) from the handler's Bedrock response.

    The body the model would have seen becomes the text content unchanged (it is already compact
    JSON within the agent's byte budget); a status of 400 or more marks the result as an error, so
    the calling agent knows to read the guidance rather than treat it as data.
    """
    inner = response.get("response", {}) if isinstance(response, Mapping) else {}
    status = int(inner.get("httpStatusCode", 500)) if isinstance(inner, Mapping) else 500
    body = ""
    if isinstance(inner, Mapping):
        content = inner.get("responseBody", {})
        if isinstance(content, Mapping):
            for media in content.values():
                if isinstance(media, Mapping) and "body" in media:
                    raw = media["body"]
                    body = raw if isinstance(raw, str) else json.dumps(raw)
                    break
    if not body:
        return gateway_error_result("the action produced no answer")
    return {"content": [{"type": "text", "text": body}], "isError": status >= 400}


def gateway_error_result(message: str) -> dict[str, Any]:
    """A tool error for a call that never reached an operation (unknown tool, bad arguments)."""
    text = json.dumps({"error": "validation", "message": message}, separators=(",", ":"))
    return {"content": [{"type": "text", "text": text}], "isError": True}


# ---------------------------------------------------------------------------------------------
# Tool schema for the gateway target (same operations)
# ---------------------------------------------------------------------------------------------

_TOOL_TYPES: Final = frozenset({"string", "number", "object", "array", "boolean", "integer"})


def tool_definitions(routes: Mapping[str, Route]) -> list[dict[str, Any]]:
    """The gateway target's inline tool schema: one tool per operation, named by its operationId.

    Only the fields AgentCore's `SchemaDefinition` accepts (type, properties, required,
    description); patterns and lengths stay in the description text, and the handler validates
    them as it does for Bedrock.
    """
    tools = []
    for route in routes.values():
        properties: dict[str, Any] = {}
        for parameter in route.parameters:
            kind = parameter.type if parameter.type in _TOOL_TYPES else "string"
            definition: dict[str, Any] = {"type": kind}
            if kind == "array":
                definition["items"] = {"type": "string"}
            if parameter.description:
                definition["description"] = parameter.description
            properties[parameter.name] = definition
        input_schema: dict[str, Any] = {"type": "object", "properties": properties}
        required = [p.name for p in route.parameters if p.required]
        if required:
            input_schema["required"] = required
        description = route.description or route.summary or route.operation_id
        tools.append({"name": route.operation_id, "description": description, "inputSchema": input_schema})
    return tools
