"""The `security-agent` command: lambda-invoke and schema, as a person or CI would run them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agent_config.bedrock import build_event
from agent_config.cli import main


def test_schema_prints_the_openapi_document(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0

    schema = json.loads(capsys.readouterr().out)
    assert "/security/services" in schema["paths"]


def test_schema_can_be_written_to_a_file(tmp_path: Path) -> None:
    target = tmp_path / "openapi.json"

    assert main(["schema", "--output", str(target)]) == 0
    assert json.loads(target.read_text())["openapi"].startswith("3.0")


def test_lambda_invoke_prints_the_handler_response(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], scripted_runtime: Any
) -> None:
    event_file = tmp_path / "event.json"
    event_file.write_text(json.dumps(build_event("/health")))

    assert main(["lambda-invoke", "--event", str(event_file)]) == 0

    response = json.loads(capsys.readouterr().out)
    assert response["response"]["httpStatusCode"] == 200


def test_lambda_invoke_reports_unreadable_and_non_json_events(tmp_path: Path) -> None:
    not_json = tmp_path / "event.json"
    not_json.write_text("{nope")

    assert main(["lambda-invoke", "--event", str(tmp_path / "missing.json")]) == 2
    assert main(["lambda-invoke", "--event", str(not_json)]) == 2


def test_no_command_is_a_usage_error() -> None:
    assert main([]) == 2


def test_schema_prints_the_function_details_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "--function-details"]) == 0

    functions = json.loads(capsys.readouterr().out)["functions"]
    assert {f["name"] for f in functions} >= {"getHealth", "runAssessment", "getReportPage"}
    assert all(len(f["parameters"]) <= 5 for f in functions)
