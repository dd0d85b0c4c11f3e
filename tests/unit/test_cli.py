"""The `security-agent` command: lambda-invoke, schema and assess, as a person or CI would run them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from agent_config.bedrock import build_event
from agent_config.checks.catalogue import load_catalogue
from agent_config.cli import main
from agent_config.config import AgentConfig
from agent_config.interfaces import (
    CallOutcome,
    Finding,
    FindingStatus,
    SecurityAssessment,
    ToolCall,
    ToolResult,
    is_region_code,
)
from agent_config.orchestration.deadline import Deadline
from agent_config.response.synthesizer import SecuritySynthesizer
from agent_config.runtime import AgentRuntime
from agent_config.utils.error_handling import ErrorKind
from tests.conftest import ScriptedOrchestrator


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


# ---------------------------------------------------------------------------------------------
# assess: exit codes CI can trust
# ---------------------------------------------------------------------------------------------


class _NoServerAnswers(ScriptedOrchestrator):
    """Every MCP server call fails, as when neither server can authenticate."""

    async def execute_parallel_calls(self, calls: Sequence[ToolCall], deadline: Deadline) -> list[ToolResult]:
        self.calls.extend(calls)
        return [
            ToolResult(
                call=call,
                outcome=CallOutcome.ERROR,
                latency_ms=1.0,
                error_kind=ErrorKind.AUTHENTICATION,
                error_message="Unable to locate credentials",
            )
            for call in calls
        ]


def _runtime_with(orchestrator: ScriptedOrchestrator) -> Any:
    def make(config: AgentConfig) -> AgentRuntime:
        return AgentRuntime(config, orchestrator=orchestrator)

    return make


def _assessment_of(*findings: tuple[str, FindingStatus], account: str = "123456789012") -> SecurityAssessment:
    catalogue = load_catalogue()
    made = []
    for index, (control_id, status) in enumerate(findings):
        control = catalogue.find(control_id)
        assert control is not None
        made.append(
            Finding(
                control_id=control_id,
                title=control.title,
                status=status,
                severity=control.severity,
                resource_type=control.resource_type,
                resource_id=f"resource-{index}",
                region="us-east-1",
                account_id=account,
            )
        )
    assessment = SecuritySynthesizer().synthesize_security_assessment(made, [], "asm-20261125134548-a908c181")
    return assessment.model_copy(update={"account_id": account, "regions": ["us-east-1"]})


def _assessing(monkeypatch: pytest.MonkeyPatch, assessment: SecurityAssessment) -> None:
    """`assess` gets `assessment` from the pipeline (the subject is what the CLI makes of it)."""

    async def run_assessment(*_args: Any, **_kwargs: Any) -> SecurityAssessment:
        return assessment

    monkeypatch.setattr("agent_config.assessment.run_assessment", run_assessment)
    monkeypatch.setattr("agent_config.runtime.AgentRuntime", _runtime_with(ScriptedOrchestrator()))


def test_assess_without_usable_credentials_fails_even_with_fail_on(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN no credentials anywhere boto3 looks, and MCP servers that cannot authenticate
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr("agent_config.runtime.AgentRuntime", _runtime_with(_NoServerAnswers()))

    # WHEN CI runs the assessment with a threshold
    code = main(["assess", "--region", "us-east-1", "--service", "s3", "--format", "json", "--fail-on", "low"])

    # THEN it fails, saying nothing could be read, instead of going green
    assert code == 1
    err = capsys.readouterr().err
    assert "read nothing from AWS" in err
    assert "account could not be identified" in err
    assert "credentials" in err


def test_assess_where_every_check_is_manual_fails(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _assessing(monkeypatch, _assessment_of(("S3.8", FindingStatus.MANUAL), ("S3.9", FindingStatus.MANUAL)))

    assert main(["assess", "--region", "us-east-1", "--fail-on", "low"]) == 1
    assert "all 2 checks are MANUAL" in capsys.readouterr().err


@pytest.mark.parametrize(("fail_on", "expected"), [("low", 3), ("critical", 0), (None, 0)])
def test_assess_that_read_evidence_exits_by_its_findings(
    fail_on: str | None, expected: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # S3.8 is HIGH: at or above low, below critical
    _assessing(monkeypatch, _assessment_of(("S3.8", FindingStatus.FAIL), ("S3.9", FindingStatus.MANUAL)))

    argv = ["assess", "--region", "us-east-1", "--format", "json", *(["--fail-on", fail_on] if fail_on else [])]

    assert main(argv) == expected
    captured = capsys.readouterr()
    assert json.loads(captured.out)["account_id"] == "123456789012"
    assert "error" not in captured.err


@pytest.mark.parametrize("region", ["mars-1", "us-east-1;ls", "US-EAST-1", "us-east-1 ", ""])
def test_assess_with_a_malformed_region_is_a_usage_error_naming_it(
    region: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def never(_config: AgentConfig) -> AgentRuntime:
        raise AssertionError("nothing may be assessed with a bad Region")

    monkeypatch.setattr("agent_config.runtime.AgentRuntime", never)

    assert main(["assess", "--region", "us-east-1", "--region", region]) == 2
    err = capsys.readouterr().err
    assert "--region" in err and repr(region) in err and "not an AWS Region code" in err


def test_assess_accepts_every_partition_s_region_codes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _assessing(monkeypatch, _assessment_of(("S3.8", FindingStatus.PASS)))
    regions = ["us-east-1", "eu-central-2", "ap-southeast-5", "us-gov-west-1", "cn-north-1", "us-isob-east-1"]

    assert main(["assess", *[arg for r in regions for arg in ("--region", r)]]) == 0
    assert all(is_region_code(r) for r in regions)


def test_the_lambda_answers_400_naming_regions_for_a_malformed_region(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], scripted_runtime: Any
) -> None:
    event_file = tmp_path / "event.json"
    event_file.write_text(json.dumps(build_event("/security/assessment", {"regions": "us-east-1,mars-1"})))

    assert main(["lambda-invoke", "--event", str(event_file)]) == 0

    response = json.loads(capsys.readouterr().out)["response"]
    assert response["httpStatusCode"] == 400
    message = json.loads(response["responseBody"]["application/json"]["body"])["message"]
    assert "regions" in message and "mars-1" in message
