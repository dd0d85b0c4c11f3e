"""The OpenAPI schema Bedrock is given, generated from the handler's routes so they cannot drift apart.

Powertools emits OpenAPI 3.0.3; Bedrock accepts a subset of it. Three adjustments make the schema
fit (see the Bedrock limits in the README):
- `enum` is not supported: allowed values move into the description;
- validation failures answer 400 with our `ErrorBody`, not Powertools' 422 `HTTPValidationError`;
- every operation documents its error answers (400, 404 is routing-level, 424, 500).
"""

from __future__ import annotations

import json
from typing import Any

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
