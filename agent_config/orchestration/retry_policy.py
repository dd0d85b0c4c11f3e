"""Retrying one call: exponential backoff with full jitter, by error kind, inside one deadline.

Why each rule:

- **By kind.** Only failures that may go away on their own are retried: timeouts, connection
  failures, throttling and server errors (`error_handling.RETRYABLE`). Authentication, permission,
  validation, circuit-open and configuration errors give the same answer every time, so retrying
  them only spends the deadline. Every exception is first turned into an `AgentError` by
  `classify()`, so the decision never depends on which library raised it.
- **Full jitter.** The wait before attempt n+1 is uniform in `[0, min(max_delay_s, base_delay_s *
  2**(n-1)))`. Concurrent calls that failed together (a server restarting, a throttled account)
  spread out instead of retrying in lock-step, which is what keeps throttling from feeding itself.
- **One deadline.** A wait never reaches past the deadline: it is shortened so that at least
  `min_attempt_s` remains, and when even that is impossible the policy gives up instead of
  starting an attempt that cannot finish. Each attempt is also cut off at the deadline (or at
  `attempt_timeout_s`, whichever comes first), so the caller's budget holds even if the peer hangs.
- **Queueing is not the server's fault.** When a `slot` is given (the orchestrator's per-server
  concurrency bound), each attempt first waits for it, bounded only by the deadline, and the
  attempt's own timeout starts once the slot is held. Time spent queued behind other calls says
  nothing about the server, so it must never turn into a "timeout" that opens its breaker. A call
  whose first attempt is still queued when the deadline comes ends as `Failed(attempts=0)`: not
  started, no verdict on the server. Likewise an attempt that the request's deadline cut short
  before its own `attempt_timeout_s` proves nothing about the server (the request simply had too
  little time left), so `Failed.verdict` carries only errors that do.

The outcome is a value, not an exception: `Succeeded(value, attempts)` or `Failed(error, attempts,
reason)`, so the orchestrator can put `attempts` and the error's kind into its `ToolResult` without
unpacking exceptions. Cancellation (and any other `BaseException`) is never swallowed.

The sleep and the random source are injected (defaults `asyncio.sleep`, `random.random`) so tests
are deterministic and never wait.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeAlias, TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception

from agent_config.config import RetryConfig
from agent_config.orchestration.deadline import Deadline
from agent_config.utils.error_handling import RETRYABLE, AgentError, CallTimeout, ErrorKind, classify

T = TypeVar("T")

Sleep = Callable[[float], Awaitable[None]]
RandomSource = Callable[[], float]
"""Returns a float in [0, 1), like `random.random`."""
Slot = Callable[[], AbstractAsyncContextManager[object]]
"""Makes the context manager an attempt holds while it runs (e.g. `lambda: semaphore`)."""

DEFAULT_MIN_ATTEMPT_S = 0.1
"""Below this much remaining time an attempt is not started: it could not finish anyway."""

_MAX_EXPONENT = 62  # 2.0**62 is far above any sane max_delay_s; guards against float overflow.


class GiveUpReason(StrEnum):
    """Why the policy stopped, for logs and the degraded-answer note."""

    NOT_RETRYABLE = "not_retryable"
    """The last error's kind is not worth retrying (auth, permission, validation, ...)."""
    ATTEMPTS_EXHAUSTED = "attempts_exhausted"
    """`max_attempts` attempts were made and the last one failed."""
    DEADLINE = "deadline"
    """Too little time remained for another attempt (possibly for the first one)."""


@dataclass(frozen=True, slots=True)
class Succeeded(Generic[T]):
    value: T
    attempts: int
    slept_s: float = 0.0
    """Total time spent waiting between attempts."""


@dataclass(frozen=True, slots=True)
class Failed:
    error: AgentError
    """The last attempt's error, classified (the original exception is its `__cause__`)."""
    attempts: int
    """Attempts started; 0 when the deadline left no room for the first one (or it came while the
    first attempt was still waiting for its slot): then nothing reached the server."""
    reason: GiveUpReason
    slept_s: float = 0.0
    verdict: AgentError | None = None
    """The last error that says something about the server's health, for its circuit breaker: None
    when no attempt reached the server, or when every failed attempt timed out only because the
    request's deadline came before the attempt's own timeout."""


RetryOutcome: TypeAlias = Succeeded[T] | Failed


@dataclass(frozen=True, slots=True)
class RetryEvent:
    """Passed to `on_retry` just before the policy waits for the next attempt."""

    attempt: int
    """The attempt that failed (1-based)."""
    error: AgentError
    delay_s: float
    """How long the policy is about to wait."""
    remaining_s: float
    """What is left of the deadline before the wait."""


RetryCallback = Callable[[RetryEvent], None]


class _NotStarted(Exception):
    """An attempt never reached the server: the deadline came while it waited for its slot.

    Deliberately not an `AgentError`, so tenacity's retry predicate rejects it and it surfaces at
    once; `call_with_retries` turns it into its outcome.
    """

    def __init__(self, queued_s: float) -> None:
        super().__init__(f"queued {queued_s:.3f} s")
        self.queued_s = queued_s


async def _hold_slot(stack: AsyncExitStack, slot: Slot, deadline: Deadline, min_attempt_s: float) -> None:
    """Enter `slot()` on `stack`, waiting at most until too little of the deadline is left for an
    attempt (waiting any longer could only end in an attempt that cannot finish)."""
    started = time.perf_counter()
    wait_s = max(0.0, deadline.remaining() - min_attempt_s)
    try:
        async with asyncio.timeout(wait_s):
            await stack.enter_async_context(slot())
    except TimeoutError as exc:
        raise _NotStarted(time.perf_counter() - started) from exc
    if deadline.remaining() < min_attempt_s:  # the slot came, but too late to use it
        raise _NotStarted(time.perf_counter() - started)


def _attempt_error(exc: Exception, *, timed_out: bool, limit: float, attempt: int) -> AgentError:
    """What a failed attempt means: its own `AgentError`, a timeout if the attempt's limit cut it
    off, else the classified exception."""
    if isinstance(exc, AgentError):
        return exc
    if isinstance(exc, TimeoutError) and timed_out:
        return CallTimeout(f"no answer within {limit:.2f} s (attempt {attempt})")
    return classify(exc)


def is_retryable(error: AgentError) -> bool:
    """Whether an error of this kind may succeed on a later attempt."""
    return error.kind in RETRYABLE


def backoff_ceiling(failed_attempt: int, config: RetryConfig) -> float:
    """The upper bound of the jittered wait after attempt `failed_attempt` (1-based) failed:
    `base_delay_s * 2**(failed_attempt - 1)`, capped at `max_delay_s`."""
    exponent = min(max(failed_attempt - 1, 0), _MAX_EXPONENT)
    return min(config.max_delay_s, config.base_delay_s * 2.0**exponent)


def full_jitter(ceiling: float, rng: RandomSource) -> float:
    """A wait uniform in [0, ceiling); a misbehaving random source is clamped into [0, 1]."""
    return min(max(rng(), 0.0), 1.0) * ceiling


class _Schedule:
    """tenacity's `wait` and `stop` for one call, sharing the deadline decision.

    tenacity computes the wait before asking whether to stop, so `wait` decides whether another
    attempt still fits before the deadline and `stop` reads that decision; computing it twice could
    disagree by a rounding error.
    """

    def __init__(self, config: RetryConfig, deadline: Deadline, rng: RandomSource, min_attempt_s: float) -> None:
        self._config = config
        self._deadline = deadline
        self._rng = rng
        self._min_attempt_s = min_attempt_s
        self.out_of_time = False

    def wait(self, retry_state: RetryCallState) -> float:
        if retry_state.attempt_number >= self._config.max_attempts:
            return 0.0  # no further attempt: do not consume the random source
        budget = self._deadline.remaining() - self._min_attempt_s
        if budget < 0.0:
            self.out_of_time = True
            return 0.0
        delay = full_jitter(backoff_ceiling(retry_state.attempt_number, self._config), self._rng)
        return min(delay, budget)

    def stop(self, retry_state: RetryCallState) -> bool:
        return self.out_of_time or retry_state.attempt_number >= self._config.max_attempts


async def call_with_retries(
    fn: Callable[[], Awaitable[T]],
    config: RetryConfig,
    deadline: Deadline,
    *,
    sleep: Sleep = asyncio.sleep,
    rng: RandomSource = random.random,
    on_retry: RetryCallback | None = None,
    min_attempt_s: float = DEFAULT_MIN_ATTEMPT_S,
    attempt_timeout_s: float | None = None,
    slot: Slot | None = None,
) -> RetryOutcome[T]:
    """Call `fn` until it succeeds, its error is not retryable, attempts run out or time does.

    `fn` is called afresh for each attempt (pass a zero-argument function, not a coroutine object).
    Each attempt is cut off after `deadline.timeout_for(attempt_timeout_s)` seconds (the deadline
    alone when `attempt_timeout_s` is None) and then counts as a timeout. `on_retry` is called
    before each wait, for logging and metrics; it must not raise.

    With `slot`, every attempt holds `slot()` while it runs (and gives it back during the backoff
    wait, so a retrying call does not keep others out). The wait for it is bounded by the deadline
    only, and the attempt's timeout starts once it is held. If the deadline comes while an attempt
    is queued, the outcome is `Failed` with reason DEADLINE: for the first attempt a `CallTimeout`
    saying the call was not started (`attempts == 0`), for a later one the previous attempt's error.
    """
    attempts = 0
    slept = 0.0
    last_error: AgentError | None = None
    verdict: AgentError | None = None

    if deadline.remaining() < min_attempt_s:
        error = CallTimeout(
            f"no attempt started: {deadline.remaining():.3f} s left, at least {min_attempt_s:.3f} s needed"
        )
        return Failed(error=error, attempts=0, reason=GiveUpReason.DEADLINE)

    async def attempt() -> T:
        nonlocal attempts, last_error, verdict
        async with AsyncExitStack() as held:
            if slot is not None:
                await _hold_slot(held, slot, deadline, min_attempt_s)
            attempts += 1
            own_limit = math.inf if attempt_timeout_s is None else attempt_timeout_s
            limit = deadline.timeout_for(own_limit)
            scope = asyncio.timeout(limit)
            try:
                async with scope:
                    return await fn()
            except Exception as exc:
                last_error = _attempt_error(exc, timed_out=scope.expired(), limit=limit, attempt=attempts)
                if not (last_error.kind is ErrorKind.TIMEOUT and limit < own_limit):
                    verdict = last_error  # not merely cut short by the request's deadline
                if last_error is exc:
                    raise
                raise last_error from exc

    def before_sleep(retry_state: RetryCallState) -> None:
        nonlocal slept
        slept += retry_state.upcoming_sleep
        if on_retry is None or retry_state.outcome is None:
            return
        error = retry_state.outcome.exception()
        if isinstance(error, AgentError):
            on_retry(
                RetryEvent(
                    attempt=retry_state.attempt_number,
                    error=error,
                    delay_s=retry_state.upcoming_sleep,
                    remaining_s=deadline.remaining(),
                )
            )

    schedule = _Schedule(config, deadline, rng, min_attempt_s)
    retrying = AsyncRetrying(
        sleep=sleep,
        stop=schedule.stop,
        wait=schedule.wait,
        retry=retry_if_exception(lambda exc: isinstance(exc, AgentError) and is_retryable(exc)),
        before_sleep=before_sleep,
        reraise=True,  # surface the last attempt's AgentError itself, not tenacity's RetryError
    )
    try:
        value: T = await retrying(attempt)
    except _NotStarted as queued:
        if last_error is None:
            error = CallTimeout(
                f"not started: still waiting for a free slot on the server after {queued.queued_s:.2f} s "
                "when the request's deadline came"
            )
            return Failed(error=error, attempts=0, reason=GiveUpReason.DEADLINE, slept_s=slept)
        return Failed(error=last_error, attempts=attempts, reason=GiveUpReason.DEADLINE, slept_s=slept, verdict=verdict)
    except AgentError as error:
        if not is_retryable(error):
            reason = GiveUpReason.NOT_RETRYABLE
        elif attempts >= config.max_attempts:
            reason = GiveUpReason.ATTEMPTS_EXHAUSTED
        else:
            reason = GiveUpReason.DEADLINE
        return Failed(error=error, attempts=attempts, reason=reason, slept_s=slept, verdict=verdict)
    return Succeeded(value=value, attempts=attempts, slept_s=slept)
