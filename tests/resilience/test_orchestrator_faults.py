"""Fault injection with real MCP servers (subprocesses built on the mcp SDK) that misbehave on purpose.

For every fault: the answer arrives within the deadline, says what is missing and why, and the
circuit breaker opens after the configured failures and closes again after the cool-down.
"""

from __future__ import annotations

import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from agent_config.config import AgentConfig
from agent_config.interfaces import CallOutcome, ToolCall
from agent_config.orchestration.deadline import Deadline
from agent_config.orchestration.orchestrator import ServerOrchestrator
from agent_config.utils.error_handling import DependencyFailed, ErrorKind

pytestmark = pytest.mark.anyio

PEER = Path(__file__).parents[1] / "peers" / "faulty_mcp_server.py"


class FakeClock:
    """Time for the circuit breakers only; calls still run in real time."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _server(command: str, args: list[str], **overrides: Any) -> dict[str, Any]:
    return {
        "role": "security",
        "transport": "stdio",
        "command": command,
        "args": args,
        "timeouts": {"connect_s": 20, "call_s": 2},
        "retry": {"max_attempts": 2, "base_delay_s": 0.05, "max_delay_s": 0.1},
        "circuit_breaker": {"failure_threshold": 2, "cooldown_s": 30},
        **overrides,
    }


def _config(**servers: dict[str, Any]) -> AgentConfig:
    return AgentConfig.model_validate({"servers": servers})


@pytest.fixture
async def faulty() -> AsyncIterator[tuple[ServerOrchestrator, FakeClock]]:
    clock = FakeClock()
    config = _config(faulty=_server(sys.executable, [str(PEER)], max_payload_bytes=1_000_000, max_concurrency=16))
    orchestrator = ServerOrchestrator(config, clock=clock)
    try:
        await _start(orchestrator)
        yield orchestrator, clock
    finally:
        await orchestrator.close()


async def _start(orchestrator: ServerOrchestrator) -> None:
    """Start the peers within their `connect_s` (a Python process importing mcp can take seconds on
    a busy machine), so the tests' short `call_s` measures calls, not process start-up."""
    with anyio.fail_after(30):
        await orchestrator.initialize_connections()


def _call(tool: str, **arguments: Any) -> ToolCall:
    return ToolCall(server="faulty", tool=tool, arguments=arguments)


async def _run(orchestrator: ServerOrchestrator, calls: list[ToolCall], budget_s: float) -> tuple[list[Any], float]:
    started = time.perf_counter()
    with anyio.fail_after(budget_s + 5):
        results = await orchestrator.execute_parallel_calls(calls, Deadline.after(budget_s))
    return results, time.perf_counter() - started


async def test_a_server_that_crashes_mid_call_costs_that_call_and_is_restarted() -> None:
    # (a call_s long enough for the retry to restart the process on a busy machine)
    config = _config(faulty=_server(sys.executable, [str(PEER)], timeouts={"connect_s": 20, "call_s": 15}))
    orchestrator = ServerOrchestrator(config, clock=FakeClock())
    try:
        await _start(orchestrator)
        [first], _ = await _run(orchestrator, [_call("echo")], 20)
        pid_before = first.payload["pid"]

        [crashed], elapsed = await _run(orchestrator, [_call("crash")], 20)

        assert crashed.outcome is CallOutcome.ERROR
        assert crashed.error_kind is ErrorKind.CONNECTION
        assert "connection was lost" in (crashed.error_message or "") or "could not connect" in (
            crashed.error_message or ""
        )
        assert elapsed < 20
        [after], _ = await _run(orchestrator, [_call("echo")], 20)
        assert after.ok
        assert after.payload["pid"] != pid_before
    finally:
        await orchestrator.close()


async def test_a_hanging_server_times_out_within_the_deadline(
    faulty: tuple[ServerOrchestrator, FakeClock],
) -> None:
    orchestrator, _ = faulty
    await _run(orchestrator, [_call("echo")], 20)  # started and warm

    [hung], elapsed = await _run(orchestrator, [_call("hang")], 3.0)

    assert hung.outcome is CallOutcome.TIMEOUT
    assert hung.error_kind is ErrorKind.TIMEOUT
    assert elapsed < 3.5
    assert hung.attempts >= 1


async def test_a_slow_answer_within_its_timeout_arrives(faulty: tuple[ServerOrchestrator, FakeClock]) -> None:
    orchestrator, _ = faulty

    [slow], _ = await _run(orchestrator, [_call("slow", seconds=0.5)], 20)

    assert slow.ok
    assert slow.latency_ms >= 500


async def test_junk_on_stdout_is_tolerated(faulty: tuple[ServerOrchestrator, FakeClock]) -> None:
    orchestrator, _ = faulty

    [answer], _ = await _run(orchestrator, [_call("garbage")], 20)

    assert answer.ok
    assert answer.payload == {"after_garbage": True}


async def test_a_huge_answer_is_capped_and_said_to_be_missing() -> None:
    config = _config(
        faulty=_server(
            sys.executable, [str(PEER)], max_payload_bytes=1_000_000, timeouts={"connect_s": 20, "call_s": 30}
        )
    )
    orchestrator = ServerOrchestrator(config)
    try:
        [huge], _ = await _run(orchestrator, [_call("huge", megabytes=10)], 40)
    finally:
        await orchestrator.close()

    assert huge.outcome is CallOutcome.ERROR
    assert huge.truncated
    assert huge.payload is None
    assert "exceeded the configured maximum" in (huge.error_message or "")
    assert "10,485,760 bytes" in (huge.error_message or "")


async def test_an_error_inside_an_ok_payload_reaches_the_adapter_intact(
    faulty: tuple[ServerOrchestrator, FakeClock],
) -> None:
    orchestrator, _ = faulty

    [answer], _ = await _run(orchestrator, [_call("error_payload")], 20)

    assert answer.ok  # the transport worked; judging the payload is the adapter's job
    assert "AccessDenied" in answer.payload["error"]


async def test_many_calls_against_a_hanging_server_all_return_by_the_deadline(
    faulty: tuple[ServerOrchestrator, FakeClock],
) -> None:
    orchestrator, _ = faulty
    await _run(orchestrator, [_call("echo")], 20)

    results, elapsed = await _run(orchestrator, [_call("hang") for _ in range(6)] + [_call("echo")], 2.5)

    assert elapsed < 3.0
    assert results[-1].ok
    assert all(r.outcome is CallOutcome.TIMEOUT for r in results[:-1])


async def test_the_breaker_opens_after_the_configured_failures_and_closes_after_the_cooldown(
    tmp_path: Path,
) -> None:
    # GIVEN a server whose process cannot start until a flag file exists (a server that flaps)
    flag = tmp_path / "up"
    launcher = tmp_path / "flapping.sh"
    launcher.write_text(f'#!/bin/sh\n[ -f "{flag}" ] || exit 7\nexec "{sys.executable}" "{PEER}"\n')
    launcher.chmod(0o755)
    clock = FakeClock()
    # (a call_s long enough for the trial call to start the process on a busy machine)
    server = _server(str(launcher), [], timeouts={"connect_s": 20, "call_s": 15})
    orchestrator = ServerOrchestrator(_config(faulty=server), clock=clock)
    try:
        # WHEN it fails as many times as the threshold
        failures, _ = await _run(orchestrator, [_call("echo")], 20)
        failures2, _ = await _run(orchestrator, [_call("echo")], 20)
        assert failures[0].error_kind is ErrorKind.CONNECTION
        assert failures2[0].error_kind is ErrorKind.CONNECTION

        # THEN the breaker is open and further calls are refused at once, saying why
        assert orchestrator.breakers["faulty"].snapshot().state.value == "open"
        [refused], elapsed = await _run(orchestrator, [_call("echo")], 20)
        assert refused.outcome is CallOutcome.SKIPPED
        assert refused.error_kind is ErrorKind.CIRCUIT_OPEN
        assert elapsed < 0.5
        health = {h.name: h for h in await orchestrator.health_check_all()}
        assert health["faulty"].circuit == "open"

        # WHEN the server comes back and the cool-down passes
        flag.touch()
        clock.now += 31

        # THEN one trial call goes through and closes the breaker
        [trial], _ = await _run(orchestrator, [_call("echo")], 20)
        assert trial.ok
        assert orchestrator.breakers["faulty"].snapshot().state.value == "closed"
    finally:
        await orchestrator.close()


async def test_a_permission_style_failure_does_not_open_the_breaker(
    faulty: tuple[ServerOrchestrator, FakeClock],
) -> None:
    # GIVEN a server whose tool fails with AccessDenied (the agent's role lacks a permission)
    orchestrator, _ = faulty

    # WHEN it is called more times than the breaker's failure threshold
    answers = []
    for _ in range(4):
        [answer], _ = await _run(orchestrator, [_call("denied")], 20)
        answers.append(answer)

    # THEN each answer is a permission error naming the missing action, with the guidance to grant
    # it, tried once (retrying cannot help), and the healthy server's breaker counts nothing
    for answer in answers:
        assert answer.outcome is CallOutcome.ERROR
        assert answer.error_kind is ErrorKind.PERMISSION
        assert "guardduty:ListDetectors" in (answer.error_message or "")
        assert answer.attempts == 1
    # the answer the user sees when this server's part is missing (as `actions` builds it)
    failure = DependencyFailed("faulty", answers[0].error_message or "", answers[0].error_kind)
    assert "Grant the IAM permission" in failure.guidance
    snapshot = orchestrator.breakers["faulty"].snapshot()
    assert snapshot.state.value == "closed"
    assert snapshot.consecutive_failures == 0


async def test_an_unknown_tool_is_a_validation_error_naming_the_tool(
    faulty: tuple[ServerOrchestrator, FakeClock],
) -> None:
    orchestrator, _ = faulty

    [answer], _ = await _run(orchestrator, [_call("no_such_tool")], 20)

    assert answer.outcome is CallOutcome.ERROR
    assert answer.error_kind is ErrorKind.VALIDATION
    assert "has no tool named 'no_such_tool'" in (answer.error_message or "")
    assert answer.attempts == 1
    assert orchestrator.breakers["faulty"].snapshot().consecutive_failures == 0


async def test_a_throttled_tool_is_retried_and_then_answers(faulty: tuple[ServerOrchestrator, FakeClock]) -> None:
    orchestrator, _ = faulty

    [answer], _ = await _run(orchestrator, [_call("throttled_once", key="retried")], 20)

    assert answer.ok, answer.error_message
    assert answer.attempts == 2
    assert orchestrator.metrics.totals("faulty")["retries"] == 1


async def test_a_failed_server_is_answered_by_its_fallback(tmp_path: Path) -> None:
    config = _config(
        primary=_server(str(tmp_path / "missing-server"), [], fallback="backup"),
        backup=_server(sys.executable, [str(PEER)]),
    )
    orchestrator = ServerOrchestrator(config)
    try:
        await _start(orchestrator)  # the backup is up; the primary cannot start
        with anyio.fail_after(30):
            [answer] = await orchestrator.execute_parallel_calls(
                [ToolCall(server="primary", tool="echo")], Deadline.after(20)
            )
        assert answer.ok
        assert answer.call.server == "backup"
        assert "primary failed" in (answer.error_message or "")
    finally:
        await orchestrator.close()


async def test_an_unknown_server_is_skipped_with_a_configuration_error(
    faulty: tuple[ServerOrchestrator, FakeClock],
) -> None:
    orchestrator, _ = faulty

    [answer], _ = await _run(orchestrator, [ToolCall(server="nowhere", tool="echo")], 5)

    assert answer.outcome is CallOutcome.SKIPPED
    assert answer.error_kind is ErrorKind.CONFIGURATION
