"""Domain models: validation at the boundary, identities and orderings other layers rely on."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agent_config.interfaces import (
    CallOutcome,
    DocumentationLink,
    Finding,
    FindingStatus,
    Severity,
    ToolCall,
    ToolResult,
)
from agent_config.utils.error_handling import ErrorKind


def _finding(**overrides: object) -> Finding:
    values: dict[str, object] = {
        "control_id": "S3.8",
        "title": "S3 general purpose buckets should block public access",
        "status": FindingStatus.FAIL,
        "severity": Severity.HIGH,
        "resource_type": "AWS::S3::Bucket",
        "resource_id": "acme-prod-uploads",
        "resource_arn": "arn:aws:s3:::acme-prod-uploads",
        "region": "us-east-1",
        "sources": ["aws_api"],
    }
    values.update(overrides)
    return Finding.model_validate(values)


def test_a_finding_is_identified_by_control_resource_and_region() -> None:
    from_api = _finding(sources=["aws_api"])
    from_security_server = _finding(sources=["security"], resource_id="other-name-same-arn")

    assert from_api.key == from_security_server.key
    assert _finding(region="eu-west-1").key != from_api.key


def test_severity_ranks_order_from_critical_down() -> None:
    ordered = sorted(Severity, key=lambda s: s.rank, reverse=True)

    assert ordered == [
        Severity.CRITICAL,
        Severity.HIGH,
        Severity.MEDIUM,
        Severity.LOW,
        Severity.INFORMATIONAL,
    ]
    assert Severity.parse("info") is Severity.INFORMATIONAL
    assert Severity.parse(" high ") is Severity.HIGH


def test_documentation_links_must_be_https() -> None:
    with pytest.raises(ValidationError, match="https"):
        DocumentationLink(title="x", url="http://docs.aws.amazon.com/")


def test_findings_reject_unknown_fields_and_statuses() -> None:
    with pytest.raises(ValidationError):
        _finding(status="BROKEN")
    with pytest.raises(ValidationError):
        _finding(colour="red")


def test_models_are_immutable() -> None:
    finding = _finding()

    with pytest.raises(ValidationError):
        finding.status = FindingStatus.PASS  # type: ignore[misc]


def test_a_tool_result_reports_ok_only_for_the_ok_outcome() -> None:
    call = ToolCall(server="security", tool="CheckSecurityServices")

    assert ToolResult(call=call, outcome=CallOutcome.OK, latency_ms=3).ok
    failed = ToolResult(
        call=call,
        outcome=CallOutcome.TIMEOUT,
        latency_ms=3,
        error_kind=ErrorKind.TIMEOUT,
        error_message="slow",
    )
    assert not failed.ok


def test_a_tool_result_rejects_negative_latency() -> None:
    with pytest.raises(ValidationError):
        ToolResult(call=ToolCall(server="s", tool="t"), outcome=CallOutcome.OK, latency_ms=-1)
