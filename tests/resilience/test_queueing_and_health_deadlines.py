"""The request's one deadline, against real MCP servers run in process (the faulty peer).

- Waiting for a server's concurrency slot is bounded by the deadline only; a call's own timeout
  starts when it holds the slot, so a queue of slow-but-healthy calls never looks like a failing
  server, and calls still queued when the deadline comes are reported as not started without
  touching the breaker.
- `/health` answers within the deadline: a server that hangs costs its own entry, not the answer.
"""

from __future__ import annotations

import time
from typing import Any

import anyio
import pytest

from agent_config.actions import health
from agent_config.config import AgentConfig
from agent_config.interfaces import CallOutcome, ToolCall, ToolResult
from agent_config.orchestration.deadline import Deadline
from agent_config.orchestration.orchestrator import ServerOrchestrator
from agent_config.utils.error_handling import ErrorKind

pytestmark = pytest.mark.anyio

FAULTY = "tests.peers.faulty_mcp_server:get_server"
UNLISTING = "tests.peers.faulty_mcp_server:get_unlisting_server"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the orchestrator uses asyncio primitives


def _server(target: str, **overrides: Any) -> dict[str, Any]:
    return {
        "role": "security",
        "transport": "in_process",
        "in_process_target": target,
        "timeouts": {"connect_s": 10, "call_s": 1},
        "retry": {"max_attempts": 2, "base_delay_s": 0.05, "max_delay_s": 0.1},
        "circuit_breaker": {"failure_threshold": 2, "cooldown_s": 30},
        **overrides,
    }


def _orchestrator(**servers: dict[str, Any]) -> ServerOrchestrator:
    return ServerOrchestrator(AgentConfig.model_validate({"servers": servers}))


def _slow(seconds: float) -> ToolCall:
    return ToolCall(server="faulty", tool="slow", arguments={"seconds": seconds})


async def _warm(orchestrator: ServerOrchestrator) -> None:
    """Connect first, so the measured calls do not include the handshake."""
    with anyio.fail_after(15):
        [echo] = await orchestrator.execute_parallel_calls([ToolCall(server="faulty", tool="echo")], Deadline.after(10))
    assert echo.ok, echo.error_message


async def _run(
    orchestrator: ServerOrchestrator, calls: list[ToolCall], budget_s: float
) -> tuple[list[ToolResult], float]:
    started = time.perf_counter()
    with anyio.fail_after(budget_s + 5):
        results = await orchestrator.execute_parallel_calls(calls, Deadline.after(budget_s))
    return results, time.perf_counter() - started


async def test_calls_queued_behind_a_one_call_server_all_succeed_and_the_breaker_stays_closed() -> None:
    # GIVEN a healthy server that takes one call at a time, with a 1 s call timeout
    orchestrator = _orchestrator(faulty=_server(FAULTY, max_concurrency=1))
    try:
        await _warm(orchestrator)

        # WHEN four 0.6 s calls arrive together (2.4 s of work) under a 6 s deadline
        results, elapsed = await _run(orchestrator, [_slow(0.6) for _ in range(4)], 6.0)

        # THEN all four answer (queueing did not eat their timeouts), within the deadline
        assert [r.outcome for r in results] == [CallOutcome.OK] * 4, [r.error_message for r in results]
        assert all(r.attempts == 1 for r in results)
        assert 2.4 <= elapsed < 6.0
        # AND the breaker heard nothing against the server
        snapshot = orchestrator.breakers["faulty"].snapshot()
        assert snapshot.state.value == "closed"
        assert snapshot.consecutive_failures == 0
    finally:
        await orchestrator.close()


async def test_calls_still_queued_when_the_deadline_ends_are_reported_not_started_and_the_breaker_is_untouched() -> (
    None
):
    # GIVEN a one-call-at-a-time server whose calls take longer than the request has
    orchestrator = _orchestrator(faulty=_server(FAULTY, max_concurrency=1, timeouts={"connect_s": 10, "call_s": 5}))
    try:
        await _warm(orchestrator)

        # WHEN four 3 s calls arrive under a 1 s deadline
        results, elapsed = await _run(orchestrator, [_slow(3.0) for _ in range(4)], 1.0)

        # THEN the answer comes by the deadline, every call reported as timed out
        assert elapsed < 1.5
        assert all(r.outcome is CallOutcome.TIMEOUT and r.error_kind is ErrorKind.TIMEOUT for r in results)
        # the one that ran was cut short by the deadline; the three queued ones never started
        ran = [r for r in results if r.attempts > 0]
        queued = [r for r in results if r.attempts == 0]
        assert len(ran) == 1
        assert len(queued) == 3
        assert all("not started" in (r.error_message or "") for r in queued)
        # AND none of it counts against the server: it never failed, the request ran out of time
        snapshot = orchestrator.breakers["faulty"].snapshot()
        assert snapshot.state.value == "closed"
        assert snapshot.consecutive_failures == 0
        assert snapshot.trial_in_flight is False
    finally:
        await orchestrator.close()


async def test_health_answers_before_the_deadline_when_one_server_hangs() -> None:
    # GIVEN a healthy server and one that never answers a health probe, each allowed
    # connect 10 s + probe 5 s on its own
    orchestrator = _orchestrator(
        faulty=_server(FAULTY),
        stuck=_server(UNLISTING, timeouts={"connect_s": 10, "call_s": 1}, health_check={"timeout_s": 5}),
    )
    try:
        # WHEN /health is asked with 1.5 s left of the request
        started = time.perf_counter()
        with anyio.fail_after(10):
            answer = await health(orchestrator, Deadline.after(1.5))
        elapsed = time.perf_counter() - started

        # THEN the answer arrives before the deadline, the hanging server costing only its entry
        assert elapsed < 1.9
        cards = {card["name"]: card for card in answer.data["servers"]}
        assert cards["faulty"]["reachable"] is True
        assert "slow" in cards["faulty"]["tools"]
        assert cards["stuck"]["reachable"] is False
        assert str(cards["stuck"]["error"]).startswith("timeout")
        assert "1 of 2 configured MCP servers are reachable" in answer.summary
        assert [d.server for d in answer.degraded] == ["stuck"]
    finally:
        await orchestrator.close()


async def test_health_reports_every_server_as_not_probed_when_the_deadline_has_passed() -> None:
    orchestrator = _orchestrator(faulty=_server(FAULTY))
    try:
        with anyio.fail_after(5):
            [entry] = await orchestrator.health_check_all(Deadline.after(0.0))
        assert entry.reachable is False
        assert entry.error is not None and "not probed" in entry.error
    finally:
        await orchestrator.close()
