"""Per-server metrics: counted per call, published as CloudWatch embedded metrics once per flush."""

from __future__ import annotations

import json

import pytest

from agent_config.interfaces import CallOutcome, ToolCall, ToolResult
from agent_config.orchestration.telemetry import NAMESPACE, ServerMetrics
from agent_config.utils.error_handling import ErrorKind


def _result(server: str, outcome: CallOutcome, latency: float = 10.0) -> ToolResult:
    failed = outcome is not CallOutcome.OK
    return ToolResult(
        call=ToolCall(server=server, tool="t"),
        outcome=outcome,
        latency_ms=latency,
        error_kind=ErrorKind.TIMEOUT if failed else None,
        error_message="x" if failed else None,
    )


def test_a_flush_publishes_one_emf_document_per_server_with_every_count(capsys: pytest.CaptureFixture[str]) -> None:
    metrics = ServerMetrics()
    metrics.call(_result("security", CallOutcome.OK, 12.0))
    metrics.call(_result("security", CallOutcome.TIMEOUT, 25_000.0))
    metrics.retry("security")
    metrics.transition("security")
    metrics.call(_result("knowledge", CallOutcome.SKIPPED))

    metrics.flush(publish=True)

    documents = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    by_server = {d["server"]: d for d in documents}
    security = by_server["security"]
    assert security["_aws"]["CloudWatchMetrics"][0]["Namespace"] == NAMESPACE
    assert security["Calls"] == [2.0]
    assert security["Successes"] == [1.0]
    assert security["Timeouts"] == [1.0]
    assert security["Retries"] == [1.0]
    assert security["BreakerTransitions"] == [1.0]
    assert security["LatencyMs"] == [12.0, 25000.0]
    assert by_server["knowledge"]["Skipped"] == [1.0]


def test_nothing_is_printed_outside_lambda_but_totals_are_kept(capsys: pytest.CaptureFixture[str]) -> None:
    metrics = ServerMetrics()
    metrics.call(_result("security", CallOutcome.OK))

    metrics.flush(publish=False)
    metrics.call(_result("security", CallOutcome.ERROR))

    assert capsys.readouterr().out == ""
    assert metrics.totals("security") == {
        "calls": 2,
        "successes": 1,
        "failures": 1,
        "timeouts": 0,
        "skipped": 0,
        "retries": 0,
    }
