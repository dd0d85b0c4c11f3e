"""The retry policy's concurrency slot and its verdict for the circuit breaker.

Time queued for a slot belongs to the request's deadline, not to the attempt's timeout; and only
failures that say something about the server become a verdict. These tests use real asyncio time
(the policy's timeouts are `asyncio.timeout`) but wait at most a few tenths of a second, each under
`anyio.fail_after`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import pytest

from agent_config.config import RetryConfig
from agent_config.orchestration.deadline import Deadline
from agent_config.orchestration.retry_policy import Failed, GiveUpReason, Succeeded, call_with_retries
from agent_config.utils.error_handling import ErrorKind, PermissionDenied, ServerFailure

pytestmark = pytest.mark.anyio

BOUND_S = 3.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_time_queued_for_the_slot_does_not_count_against_the_attempt_timeout() -> None:
    # GIVEN a slot held by someone else for 0.15 s, and attempts allowed 0.1 s each
    slot = asyncio.Lock()
    await slot.acquire()
    asyncio.get_running_loop().call_later(0.15, slot.release)

    async def quick() -> str:
        await asyncio.sleep(0.01)
        return "answered"

    # WHEN a quick call queues for it
    with anyio.fail_after(BOUND_S):
        outcome = await call_with_retries(
            quick, RetryConfig(max_attempts=1), Deadline.after(2.0), attempt_timeout_s=0.1, slot=lambda: slot
        )
    # THEN it succeeds: its 0.1 s started when it got the slot
    assert outcome == Succeeded(value="answered", attempts=1)


async def test_a_call_still_queued_when_the_deadline_comes_is_not_started_and_gives_no_verdict() -> None:
    # GIVEN a slot that never comes free
    slot = asyncio.Lock()
    await slot.acquire()
    called = []

    async def fn() -> str:
        called.append(True)
        return "never"

    # WHEN a call queues for it with 0.2 s left
    with anyio.fail_after(BOUND_S):
        outcome = await call_with_retries(
            fn, RetryConfig(), Deadline.after(0.2), attempt_timeout_s=1.0, slot=lambda: slot
        )
    # THEN it is a timeout that never started, with nothing to hold against the server
    assert isinstance(outcome, Failed)
    assert outcome.attempts == 0
    assert outcome.reason is GiveUpReason.DEADLINE
    assert outcome.error.kind is ErrorKind.TIMEOUT
    assert "not started" in outcome.error.message
    assert outcome.verdict is None
    assert called == []


async def test_a_retry_still_queued_at_the_deadline_reports_the_failure_that_happened() -> None:
    # GIVEN a slot free for the first attempt only, and a server error on that attempt
    taken = asyncio.Event()
    never = asyncio.Event()

    @asynccontextmanager
    async def slot() -> AsyncIterator[None]:
        if taken.is_set():
            await never.wait()
        taken.set()
        yield

    async def fails() -> str:
        raise ServerFailure("500 from the server")

    # WHEN the retry waits for the slot until the deadline
    with anyio.fail_after(BOUND_S):
        outcome = await call_with_retries(
            fails,
            RetryConfig(max_attempts=3, base_delay_s=0.01, max_delay_s=0.01),
            Deadline.after(0.3),
            attempt_timeout_s=1.0,
            slot=slot,
        )
    # THEN the server's own error is reported and is the verdict (it did fail once)
    assert isinstance(outcome, Failed)
    assert outcome.attempts == 1
    assert outcome.reason is GiveUpReason.DEADLINE
    assert outcome.error.message == "500 from the server"
    assert outcome.verdict is outcome.error


async def test_the_slot_is_given_back_while_waiting_to_retry() -> None:
    slot = asyncio.Lock()
    held_during_waits: list[bool] = []

    async def sleep(seconds: float) -> None:
        held_during_waits.append(slot.locked())

    calls = iter([ServerFailure("once"), "ok"])

    async def fn() -> str:
        step = next(calls)
        if isinstance(step, Exception):
            raise step
        return step

    with anyio.fail_after(BOUND_S):
        outcome = await call_with_retries(
            fn, RetryConfig(max_attempts=2), Deadline.after(2.0), sleep=sleep, rng=lambda: 0.0, slot=lambda: slot
        )
    assert outcome == Succeeded(value="ok", attempts=2)
    assert held_during_waits == [False]


async def test_an_attempt_cut_short_by_the_deadline_gives_no_verdict() -> None:
    # GIVEN a peer that never answers, a 5 s attempt timeout and only 0.05 s left of the request
    async def hangs() -> None:
        await asyncio.Event().wait()

    with anyio.fail_after(BOUND_S):
        outcome = await call_with_retries(
            hangs, RetryConfig(max_attempts=1), Deadline.after(0.05), attempt_timeout_s=5.0, min_attempt_s=0.0
        )
    # THEN the call timed out, but the server was not given its time: no verdict
    assert isinstance(outcome, Failed)
    assert outcome.attempts == 1
    assert outcome.error.kind is ErrorKind.TIMEOUT
    assert outcome.verdict is None


async def test_an_attempt_that_used_up_its_own_timeout_is_a_verdict() -> None:
    async def hangs() -> None:
        await asyncio.Event().wait()

    with anyio.fail_after(BOUND_S):
        outcome = await call_with_retries(
            hangs, RetryConfig(max_attempts=1), Deadline.after(5.0), attempt_timeout_s=0.02
        )
    assert isinstance(outcome, Failed)
    assert outcome.verdict is not None
    assert outcome.verdict.kind is ErrorKind.TIMEOUT


async def test_a_non_retryable_error_is_the_verdict_as_it_is() -> None:
    async def denied() -> None:
        raise PermissionDenied("no guardduty:ListDetectors")

    with anyio.fail_after(BOUND_S):
        outcome = await call_with_retries(denied, RetryConfig(), Deadline.after(5.0), attempt_timeout_s=1.0)
    assert isinstance(outcome, Failed)
    assert outcome.verdict is outcome.error
    assert outcome.verdict.kind is ErrorKind.PERMISSION
