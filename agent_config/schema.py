"""The OpenAPI schema Bedrock is given, generated from the handler's routes so they cannot drift apart.

Powertools emits OpenAPI 3.0.3; Bedrock accepts a subset of it. Three adjustments make the schema
fit (see the Bedrock limits in the README):
- `enum` is not supported: allowed values move into the description;
- validation failures answer 400 with our `ErrorBody`, not Powertools' 422 `HTTPValidationError`;
- every operation documents its error answers (400, 404 is routing-level, 424, 500).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from typing import Any, Final

from pydantic import BaseModel, ConfigDict

from agent_config.bedrock import ErrorBody

TITLE = "Enhanced Security Agent"
VERSION = "1.0.0"
DESCRIPTION = (
    "Read-only AWS security assessment: security service status, findings, resource checks, compliance "
    "alignment and official AWS documentation, gathered through three MCP servers."
)
ERROR_RESPONSES = {
    "400": "The input is invalid; the body names the parameter and how to fix it.",
    "424": "A data source the answer depends on failed; the body says which and why.",
    "500": "An internal error or invalid configuration of the agent.",
}
_METHODS: Final = ("get", "post", "put", "patch", "delete")
_POWERTOOLS_ONLY = ("HTTPValidationError", "ValidationError", "ResponseValidationError")


def openapi_schema() -> dict[str, Any]:
    from agent_config.routes import app

    raw = json.loads(app.get_openapi_json_schema(title=TITLE, version=VERSION, description=DESCRIPTION))
    return bedrock_compatible(raw)


def openapi_schema_json() -> str:
    return json.dumps(openapi_schema(), indent=2)


def bedrock_compatible(schema: dict[str, Any]) -> dict[str, Any]:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in _POWERTOOLS_ONLY:
        components.pop(name, None)
    error_schema = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(error_schema.pop("$defs", {}))
    components["ErrorBody"] = error_schema
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            for status, text in ERROR_RESPONSES.items():
                responses[status] = {
                    "description": text,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
                }
    result = _without_enums(schema)
    assert isinstance(result, dict)
    return result


def _without_enums(node: Any) -> Any:
    """Replace every `enum` with a sentence in the description (Bedrock rejects `enum`)."""
    if isinstance(node, list):
        return [_without_enums(item) for item in node]
    if not isinstance(node, dict):
        return node
    cleaned = {key: _without_enums(value) for key, value in node.items() if key != "enum"}
    if "enum" in node:
        allowed = ", ".join(str(value) for value in node["enum"])
        description = str(cleaned.get("description", "")).strip()
        cleaned["description"] = f"{description} Allowed values: {allowed}.".strip()
    return cleaned


# ---------------------------------------------------------------------------------------------
# The schema as routes: operationId -> method, path, parameters (for the other front doors)
# ---------------------------------------------------------------------------------------------


class Parameter(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    location: str
    """`query`, `path` or `body` (a property of the JSON request body)."""
    type: str
    description: str = ""
    required: bool = False


class Route(BaseModel):
    """One operation of the OpenAPI schema: what a tool name maps to."""

    model_config = ConfigDict(frozen=True)

    operation_id: str
    method: str
    path: str
    summary: str = ""
    description: str = ""
    parameters: tuple[Parameter, ...] = ()


# ---------------------------------------------------------------------------------------------
# The schema as routes
# ---------------------------------------------------------------------------------------------


def routes_from_schema(schema: Mapping[str, Any]) -> dict[str, Route]:
    """Every operation of an OpenAPI document, by operationId, in the document's order."""
    components = schema.get("components", {}).get("schemas", {})
    routes: dict[str, Route] = {}
    for path, item in schema.get("paths", {}).items():
        for method in _METHODS:
            operation = item.get(method)
            if not isinstance(operation, Mapping) or "operationId" not in operation:
                continue
            parameters = [
                Parameter(
                    name=str(p["name"]),
                    location=str(p.get("in", "query")),
                    type=json_type(p.get("schema", {}), components),
                    description=str(p.get("description") or p.get("schema", {}).get("description") or ""),
                    required=bool(p.get("required", False)),
                )
                for p in operation.get("parameters", [])
            ]
            parameters.extend(_body_parameters(operation, components))
            routes[str(operation["operationId"])] = Route(
                operation_id=str(operation["operationId"]),
                method=method.upper(),
                path=str(path),
                summary=str(operation.get("summary", "")),
                description=str(operation.get("description", "")),
                parameters=tuple(parameters),
            )
    return routes


def _body_parameters(operation: Mapping[str, Any], components: Mapping[str, Any]) -> list[Parameter]:
    content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    schema = _resolve(content.get("schema", {}), components)
    required = set(schema.get("required", []))
    return [
        Parameter(
            name=str(name),
            location="body",
            type=json_type(prop, components),
            description=str(_resolve(prop, components).get("description", "")),
            required=name in required,
        )
        for name, prop in schema.get("properties", {}).items()
    ]


def _resolve(node: Mapping[str, Any], components: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        resolved = components.get(ref.rsplit("/", 1)[-1], {})
        return resolved if isinstance(resolved, Mapping) else {}
    return node


def json_type(node: Mapping[str, Any], components: Mapping[str, Any] | None = None) -> str:
    """The JSON type of a schema node, looking through `$ref` and one-branch `anyOf`/`oneOf`."""
    node = _resolve(node, components or {})
    if isinstance(node.get("type"), str):
        return str(node["type"])
    for key in ("anyOf", "oneOf", "allOf"):
        branches = [b for b in node.get(key, []) if isinstance(b, Mapping) and b.get("type") != "null"]
        if branches:
            return json_type(branches[0], components)
    return "string"


@cache
def schema_routes() -> dict[str, Route]:
    """Routes of this agent's own schema, computed once per process: what the function-details
    resolver and the AgentCore gateway map their tool names to."""
    return routes_from_schema(openapi_schema())
