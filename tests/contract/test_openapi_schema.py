"""The exported OpenAPI schema satisfies the limits Bedrock enforces on action groups."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from agent_config.schema import openapi_schema

TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
ACTION_GROUP = "SecurityAssessment"


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return openapi_schema()


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]


def test_the_schema_is_openapi_3_0(schema: dict[str, Any]) -> None:
    assert schema["openapi"].startswith("3.0.")


def test_there_are_at_most_eleven_operations(schema: dict[str, Any]) -> None:
    assert 1 <= len(_operations(schema)) <= 11


def test_no_enum_anywhere(schema: dict[str, Any]) -> None:
    assert '"enum"' not in json.dumps(schema)


def test_every_operation_has_a_description_and_a_short_operation_id(schema: dict[str, Any]) -> None:
    seen = set()
    for path, method, operation in _operations(schema):
        assert operation.get("description"), f"{method} {path} has no description"
        operation_id = operation["operationId"]
        tool_name = f"{method.upper()}__{ACTION_GROUP}__{operation_id}"
        assert TOOL_NAME.match(tool_name), tool_name
        assert "__" not in operation_id
        assert operation_id not in seen
        seen.add(operation_id)


def test_every_parameter_is_described(schema: dict[str, Any]) -> None:
    for path, method, operation in _operations(schema):
        for parameter in operation.get("parameters", []):
            assert parameter.get("description"), f"{method} {path} parameter {parameter['name']}"


def test_errors_are_documented_with_the_error_body(schema: dict[str, Any]) -> None:
    for _, _, operation in _operations(schema):
        assert "422" not in operation["responses"]
        for status in ("400", "424", "500"):
            ref = operation["responses"][status]["content"]["application/json"]["schema"]["$ref"]
            assert ref == "#/components/schemas/ErrorBody"
    assert "ErrorBody" in schema["components"]["schemas"]


def test_every_reference_resolves(schema: dict[str, Any]) -> None:
    text = json.dumps(schema)
    for ref in set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', text)):
        assert ref in schema["components"]["schemas"], ref


FUNCTION_NAME = re.compile(r"^([0-9a-zA-Z][_-]?){1,100}$")


def test_the_function_details_schema_fits_bedrock_limits() -> None:
    from agent_config.function_routes import function_schema

    functions = function_schema()["functions"]
    schema_operations = {op["operationId"] for _, _, op in _operations(openapi_schema())}
    assert {f["name"] for f in functions} == schema_operations
    for function in functions:
        assert FUNCTION_NAME.match(function["name"])
        assert function["description"] and len(function["description"]) <= 1200
        assert len(function["parameters"]) <= 5
        for name, parameter in function["parameters"].items():
            assert FUNCTION_NAME.match(name)
            assert parameter["type"] in ("string", "integer", "number", "boolean")
            assert parameter["description"]
