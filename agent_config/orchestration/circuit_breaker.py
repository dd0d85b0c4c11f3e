"""A per-server circuit breaker: stop calling a server that keeps failing, try it again later.

Why: a server that is down or overloaded makes every call wait for its timeout, and the request's
one deadline is shared by all calls. After `failure_threshold` consecutive failures that say the
*server* is unhealthy, the breaker opens and calls to that server are refused at once (the answer
degrades to "this part is missing because ..."), which keeps the budget for the servers that work
and gives the sick one time to recover. After `cooldown_s` one trial call is let through; its
verdict closes the breaker or opens it again.

```
            failures >= threshold                cool-down passed (observed lazily)
  CLOSED ───────────────────────────► OPEN ─────────────────────────────────► HALF_OPEN
    ▲                                   ▲                                         │
    │                                   └──────────── trial failed ───────────────┤
    └──────────────────────────────────────────────── trial succeeded ────────────┘
```

Only failures of kinds in `TRIPPING_KINDS` count (connection, timeout, server error, rate limit).
Authentication, permission and validation errors mean the server answered and the request or the
credentials are wrong: retrying later will not help, and refusing other, valid calls would hide a
healthy server. `circuit_open` and `configuration` are the agent's own verdicts, not the server's.

Concurrency: a breaker is used from one asyncio event loop. Every method runs to completion without
awaiting, so no two coroutines can interleave inside one; no lock is needed. It is *not* safe to
share one breaker between threads.

Time is read from an injected clock (`time.monotonic` by default) and nothing here sleeps or
schedules timers: the OPEN -> HALF_OPEN transition happens when someone looks (`allow()`, `state`,
`snapshot()`), which is also why the tests run in microseconds.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from agent_config.config import CircuitBreakerConfig
from agent_config.utils.error_handling import CircuitOpen, ErrorKind

Clock = Callable[[], float]


class CircuitState(StrEnum):
    """Where a breaker is in its cycle (values are what `/health` shows)."""

    CLOSED = "closed"
    """Calls flow; consecutive server-health failures are counted, a success resets the count."""
    OPEN = "open"
    """Calls are refused without trying until the cool-down has passed since the breaker opened."""
    HALF_OPEN = "half_open"
    """One trial call at a time is allowed; its success closes the breaker, its failure re-opens it."""


TransitionCallback = Callable[[CircuitState, CircuitState], None]

TRIPPING_KINDS: frozenset[ErrorKind] = frozenset(
    {ErrorKind.CONNECTION, ErrorKind.TIMEOUT, ErrorKind.SERVER_ERROR, ErrorKind.RATE_LIMIT}
)
"""Failure kinds that say the server itself is unhealthy; only these move the breaker."""


class CircuitSnapshot(BaseModel):
    """A breaker's state at one moment, small and JSON-ready for `/health` and logs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    state: CircuitState
    consecutive_failures: int = Field(ge=0)
    failure_threshold: int = Field(ge=1)
    open_for_s: float | None = Field(
        default=None, description="Seconds since the breaker last opened; None while CLOSED."
    )
    retry_after_s: float | None = Field(
        default=None, description="Seconds until a trial call is admitted; None unless OPEN."
    )
    trial_in_flight: bool = False
    refused_calls: int = Field(default=0, ge=0, description="Calls refused since the breaker was made.")
    transitions: dict[str, int] = Field(
        default_factory=dict, description="How often each transition happened, keyed 'old->new'."
    )


class CircuitBreaker:
    """The breaker for one server.

    Protocol for a caller (the orchestrator)::

        if not breaker.allow():
            raise breaker.refusal()          # or report the call as skipped
        try:
            result = await call()
        except AgentError as error:
            breaker.record_failure(error.kind)
            raise
        except BaseException:                # cancelled: no verdict on the server
            breaker.release()
            raise
        breaker.record_success()

    Every `allow()` that returned True should be followed by exactly one of `record_success()`,
    `record_failure()` or `release()`. If a half-open trial's verdict never arrives (a task was
    cancelled and nobody called `release()`), the trial slot is given back after `cooldown_s`, so a
    lost verdict cannot lock the server out for good. In HALF_OPEN the first verdict recorded
    decides, even if it belongs to a slow call admitted before the breaker opened: either way it is
    fresh evidence about the server.
    """

    def __init__(
        self,
        config: CircuitBreakerConfig | None = None,
        *,
        name: str = "",
        clock: Clock = time.monotonic,
        on_transition: TransitionCallback | None = None,
    ) -> None:
        self._config = config or CircuitBreakerConfig()
        self._name = name
        self._clock = clock
        self._on_transition = on_transition
        self._state = CircuitState.CLOSED
        self._consecutive_failures = 0
        self._opened_at: float | None = None
        self._trial_started_at: float | None = None
        self._refused = 0
        self._transitions: Counter[str] = Counter()

    # ----------------------------------------------------------------------------------------
    # Reading
    # ----------------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

    @property
    def config(self) -> CircuitBreakerConfig:
        return self._config

    @property
    def state(self) -> CircuitState:
        """The current state; reading it moves OPEN to HALF_OPEN once the cool-down has passed."""
        self._advance(self._clock())
        return self._state

    @property
    def consecutive_failures(self) -> int:
        return self._consecutive_failures

    def retry_after(self) -> float:
        """Seconds until a trial call will be admitted: 0 unless the breaker is OPEN."""
        now = self._clock()
        self._advance(now)
        if self._state is not CircuitState.OPEN or self._opened_at is None:
            return 0.0
        return max(0.0, self._opened_at + self._config.cooldown_s - now)

    def snapshot(self) -> CircuitSnapshot:
        now = self._clock()
        self._advance(now)
        open_for = None if self._opened_at is None else max(0.0, now - self._opened_at)
        retry_after = None
        if self._state is CircuitState.OPEN and self._opened_at is not None:
            retry_after = max(0.0, self._opened_at + self._config.cooldown_s - now)
        return CircuitSnapshot(
            name=self._name,
            state=self._state,
            consecutive_failures=self._consecutive_failures,
            failure_threshold=self._config.failure_threshold,
            open_for_s=open_for,
            retry_after_s=retry_after,
            trial_in_flight=self._trial_started_at is not None,
            refused_calls=self._refused,
            transitions=dict(self._transitions),
        )

    def refusal(self) -> CircuitOpen:
        """The error to report for a call that `allow()` refused, with when to expect a retry."""
        wait = self.retry_after()
        who = f"server {self._name!r}" if self._name else "the server"
        when = f"next trial in {wait:.1f} s" if wait > 0 else "a trial call is in progress"
        return CircuitOpen(
            f"{who} is resting after {self._consecutive_failures} consecutive failures; {when}",
            detail=f"state={self._state.value}",
        )

    # ----------------------------------------------------------------------------------------
    # Admitting calls and recording their verdicts
    # ----------------------------------------------------------------------------------------

    def allow(self) -> bool:
        """May a call to this server start now? In HALF_OPEN, True for exactly one trial at a time."""
        now = self._clock()
        self._advance(now)
        if self._state is CircuitState.CLOSED:
            return True
        if self._state is CircuitState.HALF_OPEN and not self._trial_pending(now):
            self._trial_started_at = now
            return True
        self._refused += 1
        return False

    def record_success(self) -> None:
        """The server answered: close a half-open breaker, reset the failure count.

        A success recorded while OPEN comes from a call admitted before the breaker opened; it does
        not shorten the cool-down (the failures that opened it are more recent evidence).
        """
        self._advance(self._clock())
        if self._state is CircuitState.OPEN:
            return
        self._consecutive_failures = 0
        if self._state is CircuitState.HALF_OPEN:
            self._trial_started_at = None
            self._move_to(CircuitState.CLOSED)

    def record_failure(self, kind: ErrorKind) -> None:
        """A call failed with `kind`; only kinds in `TRIPPING_KINDS` count against the server.

        A failure of another kind is neutral: the failure count is left as it is, and in HALF_OPEN
        the trial slot is given back so the next call can be the trial. A failure recorded while
        OPEN (a late result of a call admitted earlier) does not extend the cool-down.
        """
        now = self._clock()
        self._advance(now)
        if kind not in TRIPPING_KINDS:
            if self._state is CircuitState.HALF_OPEN:
                self._trial_started_at = None
            return
        if self._state is CircuitState.OPEN:
            return
        self._consecutive_failures += 1
        # A failed trial re-opens at once; in CLOSED it takes `failure_threshold` in a row.
        half_open = self._state is CircuitState.HALF_OPEN
        if half_open or self._consecutive_failures >= self._config.failure_threshold:
            self._open(now)

    def release(self) -> None:
        """An admitted call ended without a verdict on the server (cancelled): free the trial slot."""
        if self._state is CircuitState.HALF_OPEN:
            self._trial_started_at = None

    # ----------------------------------------------------------------------------------------
    # Internals
    # ----------------------------------------------------------------------------------------

    def _trial_pending(self, now: float) -> bool:
        if self._trial_started_at is None:
            return False
        if now - self._trial_started_at >= self._config.cooldown_s:
            self._trial_started_at = None  # the verdict was lost; let another call be the trial
            return False
        return True

    def _advance(self, now: float) -> None:
        if (
            self._state is CircuitState.OPEN
            and self._opened_at is not None
            and now - self._opened_at >= self._config.cooldown_s
        ):
            self._trial_started_at = None
            self._move_to(CircuitState.HALF_OPEN)

    def _open(self, now: float) -> None:
        self._opened_at = now
        self._trial_started_at = None
        self._move_to(CircuitState.OPEN)

    def _move_to(self, new: CircuitState) -> None:
        old = self._state
        if old is new:
            return
        self._state = new
        if new is CircuitState.CLOSED:
            self._opened_at = None
        self._transitions[f"{old.value}->{new.value}"] += 1
        # Called after the state is consistent, so a callback that reads the breaker sees the new state.
        if self._on_transition is not None:
            self._on_transition(old, new)
