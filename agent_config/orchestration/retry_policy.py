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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeAlias, TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception

from agent_config.config import RetryConfig
from agent_config.orchestration.deadline import Deadline
from agent_config.utils.error_handling import RETRYABLE, AgentError, CallTimeout, classify

T = TypeVar("T")

Sleep = Callable[[float], Awaitable[None]]
RandomSource = Callable[[], float]
"""Returns a float in [0, 1), like `random.random`."""

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
    """Attempts started; 0 when the deadline left no room for the first one."""
    reason: GiveUpReason
    slept_s: float = 0.0


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
) -> RetryOutcome[T]:
    """Call `fn` until it succeeds, its error is not retryable, attempts run out or time does.

    `fn` is called afresh for each attempt (pass a zero-argument function, not a coroutine object).
    Each attempt is cut off after `deadline.timeout_for(attempt_timeout_s)` seconds (the deadline
    alone when `attempt_timeout_s` is None) and then counts as a timeout. `on_retry` is called
    before each wait, for logging and metrics; it must not raise.
    """
    attempts = 0
    slept = 0.0

    if deadline.remaining() < min_attempt_s:
        error = CallTimeout(
            f"no attempt started: {deadline.remaining():.3f} s left, at least {min_attempt_s:.3f} s needed"
        )
        return Failed(error=error, attempts=0, reason=GiveUpReason.DEADLINE)

    async def attempt() -> T:
        nonlocal attempts
        attempts += 1
        limit = deadline.timeout_for(math.inf if attempt_timeout_s is None else attempt_timeout_s)
        scope = asyncio.timeout(limit)
        try:
            async with scope:
                return await fn()
        except AgentError:
            raise
        except TimeoutError as exc:
            if scope.expired():
                raise CallTimeout(f"no answer within {limit:.2f} s (attempt {attempts})") from exc
            raise classify(exc) from exc
        except Exception as exc:
            raise classify(exc) from exc

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
    except AgentError as error:
        if not is_retryable(error):
            reason = GiveUpReason.NOT_RETRYABLE
        elif attempts >= config.max_attempts:
            reason = GiveUpReason.ATTEMPTS_EXHAUSTED
        else:
            reason = GiveUpReason.DEADLINE
        return Failed(error=error, attempts=attempts, reason=reason, slept_s=slept)
    return Succeeded(value=value, attempts=attempts, slept_s=slept)
