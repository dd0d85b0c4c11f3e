"""The retry policy, driven by a fake clock, a fake sleep and scripted random draws: no test sleeps.

Each test runs under `anyio.fail_after`, so a bug that loops or hangs fails fast instead of
stalling the suite. The two tests of the per-attempt timeout wait at most a millisecond or two of
real time (the timeout itself, not a sleep).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterator

import anyio
import pytest
from botocore.exceptions import ClientError

from agent_config.config import RetryConfig
from agent_config.orchestration.deadline import Deadline
from agent_config.orchestration.retry_policy import (
    Failed,
    GiveUpReason,
    RetryEvent,
    RetryOutcome,
    Succeeded,
    backoff_ceiling,
    call_with_retries,
    full_jitter,
)
from agent_config.utils.error_handling import (
    AgentError,
    AuthenticationFailure,
    CallTimeout,
    CircuitOpen,
    ConfigurationError,
    ConnectionFailure,
    ErrorKind,
    InvalidInput,
    PermissionDenied,
    RateLimited,
    ServerFailure,
)

pytestmark = pytest.mark.anyio

BOUND_S = 2.0  # a real-time bound on every test; none should come close


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the policy uses asyncio.timeout


class FakeTime:
    """A clock and a sleep that share fake time: sleeping advances the clock, instantly."""

    def __init__(self, start: float = 500.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Script:
    """A tool call whose attempts raise or return the given steps in order (the last one repeats);
    each attempt may take `cost_s` of fake time."""

    def __init__(self, *steps: object, time: FakeTime | None = None, cost_s: float = 0.0) -> None:
        self.steps = steps
        self.calls = 0
        self.time = time
        self.cost_s = cost_s

    async def __call__(self) -> object:
        step = self.steps[min(self.calls, len(self.steps) - 1)]
        self.calls += 1
        if self.time is not None:
            self.time.now += self.cost_s
        if isinstance(step, BaseException):
            raise step
        return step


def draws(*values: float) -> Iterator[float]:
    yield from values
    raise AssertionError("the random source was asked for more draws than scripted")


def scripted_rng(*values: float) -> Callable[[], float]:
    source = draws(*values)
    return lambda: next(source)


def aws_error(code: str, status: int = 400) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": f"{code} happened"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        "ListBuckets",
    )


async def run(
    fn: Script,
    fake: FakeTime,
    *,
    config: RetryConfig | None = None,
    budget_s: float = 60.0,
    rng: Callable[[], float] | None = None,
    min_attempt_s: float = 0.1,
    on_retry: Callable[[RetryEvent], None] | None = None,
) -> RetryOutcome[object]:
    with anyio.fail_after(BOUND_S):
        return await call_with_retries(
            fn,
            config or RetryConfig(max_attempts=3, base_delay_s=0.2, max_delay_s=2.0),
            Deadline.after(budget_s, clock=fake),
            sleep=fake.sleep,
            rng=rng or (lambda: 1.0),
            min_attempt_s=min_attempt_s,
            on_retry=on_retry,
        )


# ---------------------------------------------------------------------------------------------
# Retrying by kind
# ---------------------------------------------------------------------------------------------


async def test_a_first_successful_attempt_returns_its_value_without_waiting() -> None:
    # GIVEN a call that succeeds at once
    fake = FakeTime()
    fn = Script({"findings": 3})
    # WHEN it is called with retries
    outcome = await run(fn, fake)
    # THEN the value comes back after one attempt and no sleep
    assert outcome == Succeeded(value={"findings": 3}, attempts=1, slept_s=0.0)
    assert fake.sleeps == []


@pytest.mark.parametrize(
    "failure",
    [
        ConnectionFailure("reset"),
        CallTimeout("slow"),
        RateLimited("throttled"),
        ServerFailure("500"),
        ConnectionResetError("peer reset"),
        TimeoutError(),
        aws_error("ThrottlingException"),
        aws_error("InternalError", 500),
    ],
    ids=lambda e: type(e).__name__ + (f"-{e.response['Error']['Code']}" if isinstance(e, ClientError) else ""),
)
async def test_transient_failures_are_retried_until_success(failure: Exception) -> None:
    # GIVEN a call that fails twice with a transient kind, then succeeds
    fake = FakeTime()
    fn = Script(failure, failure, "ok")
    # WHEN it is called with 3 attempts allowed
    outcome = await run(fn, fake)
    # THEN the third attempt's value is returned and the attempts are counted
    assert outcome == Succeeded(value="ok", attempts=3, slept_s=pytest.approx(0.6))
    assert fn.calls == 3


@pytest.mark.parametrize(
    ("failure", "kind"),
    [
        (AuthenticationFailure("expired token"), ErrorKind.AUTHENTICATION),
        (PermissionDenied("no s3:GetBucketPolicy"), ErrorKind.PERMISSION),
        (InvalidInput("bad region"), ErrorKind.VALIDATION),
        (CircuitOpen("resting"), ErrorKind.CIRCUIT_OPEN),
        (ConfigurationError("no url"), ErrorKind.CONFIGURATION),
        (aws_error("ExpiredToken"), ErrorKind.AUTHENTICATION),
        (aws_error("ValidationException"), ErrorKind.VALIDATION),
        (ValueError("not a number"), ErrorKind.VALIDATION),
    ],
    ids=lambda v: v.value if isinstance(v, ErrorKind) else type(v).__name__,
)
async def test_errors_that_would_fail_the_same_way_again_are_never_retried(failure: Exception, kind: ErrorKind) -> None:
    # GIVEN a call that fails with a kind retrying cannot fix, and would succeed if called again
    fake = FakeTime()
    fn = Script(failure, "ok")
    # WHEN it is called with retries
    outcome = await run(fn, fake)
    # THEN it is tried once, not retried, and the classified error surfaces
    assert isinstance(outcome, Failed)
    assert outcome.attempts == 1
    assert outcome.reason is GiveUpReason.NOT_RETRYABLE
    assert outcome.error.kind is kind
    assert fn.calls == 1
    assert fake.sleeps == []


async def test_permission_errors_are_never_retried() -> None:
    # GIVEN an AWS AccessDenied from the API server, with five attempts allowed
    fake = FakeTime()
    denied = aws_error("AccessDenied", 403)
    fn = Script(denied, "ok")
    # WHEN the call is made
    outcome = await run(fn, fake, config=RetryConfig(max_attempts=5))
    # THEN it fails after one attempt as PermissionDenied, keeping the AWS error as its cause
    assert isinstance(outcome, Failed)
    assert isinstance(outcome.error, PermissionDenied)
    assert outcome.error.__cause__ is denied
    assert outcome.attempts == 1
    assert fn.calls == 1


async def test_gives_up_after_max_attempts_and_surfaces_the_last_error() -> None:
    # GIVEN a call that fails differently on each attempt
    fake = FakeTime()
    last = ServerFailure("third")
    fn = Script(ConnectionFailure("first"), CallTimeout("second"), last, "never reached")
    # WHEN it is called with 3 attempts allowed
    outcome = await run(fn, fake)
    # THEN it stops after 3 attempts with the third error, not the first
    assert isinstance(outcome, Failed)
    assert outcome.error is last
    assert outcome.attempts == 3
    assert outcome.reason is GiveUpReason.ATTEMPTS_EXHAUSTED
    assert fn.calls == 3
    assert len(fake.sleeps) == 2  # no wait after the last attempt


async def test_the_last_error_surfaces_classified_with_the_original_as_its_cause() -> None:
    # GIVEN a call that keeps being throttled by AWS
    fake = FakeTime()
    throttled = aws_error("Throttling")
    fn = Script(throttled)
    # WHEN retries run out
    outcome = await run(fn, fake, config=RetryConfig(max_attempts=2))
    # THEN the error is a RateLimited AgentError, with guidance, caused by the botocore error
    assert isinstance(outcome, Failed)
    assert isinstance(outcome.error, RateLimited)
    assert outcome.error.__cause__ is throttled
    assert "throttling" in outcome.error.guidance
    assert outcome.attempts == 2


async def test_a_non_retryable_error_after_retries_stops_at_once() -> None:
    # GIVEN a call that times out, then is refused permission
    fake = FakeTime()
    fn = Script(CallTimeout("slow"), PermissionDenied("denied"), "ok")
    # WHEN it is called with 5 attempts allowed
    outcome = await run(fn, fake, config=RetryConfig(max_attempts=5))
    # THEN it stops at the second attempt with the permission error
    assert isinstance(outcome, Failed)
    assert outcome.error.kind is ErrorKind.PERMISSION
    assert outcome.attempts == 2
    assert outcome.reason is GiveUpReason.NOT_RETRYABLE


async def test_a_single_allowed_attempt_means_no_retry() -> None:
    # GIVEN max_attempts = 1
    fake = FakeTime()
    fn = Script(ConnectionFailure("down"), "ok")
    # WHEN the call fails transiently
    outcome = await run(fn, fake, config=RetryConfig(max_attempts=1))
    # THEN it is not retried and the random source is never consulted
    assert isinstance(outcome, Failed)
    assert outcome.attempts == 1
    assert outcome.reason is GiveUpReason.ATTEMPTS_EXHAUSTED
    assert fake.sleeps == []


async def test_cancellation_is_neither_retried_nor_swallowed() -> None:
    # GIVEN a call that is cancelled (the request was abandoned)
    fake = FakeTime()
    fn = Script(asyncio.CancelledError(), "ok")
    # WHEN / THEN the cancellation propagates after one attempt
    with pytest.raises(asyncio.CancelledError):
        await run(fn, fake)
    assert fn.calls == 1


# ---------------------------------------------------------------------------------------------
# Backoff and jitter
# ---------------------------------------------------------------------------------------------


async def test_backoff_grows_exponentially() -> None:
    # GIVEN a base delay of 0.1 s, a high cap, and a random source at its maximum
    fake = FakeTime()
    fn = Script(ServerFailure("500"))
    config = RetryConfig(max_attempts=5, base_delay_s=0.1, max_delay_s=100.0)
    # WHEN every attempt fails
    await run(fn, fake, config=config)
    # THEN the waits double each time
    assert fake.sleeps == pytest.approx([0.1, 0.2, 0.4, 0.8])


async def test_backoff_is_capped_at_the_configured_maximum() -> None:
    # GIVEN a cap of 0.5 s
    fake = FakeTime()
    fn = Script(ConnectionFailure("down"))
    config = RetryConfig(max_attempts=6, base_delay_s=0.2, max_delay_s=0.5)
    # WHEN every attempt fails
    outcome = await run(fn, fake, config=config)
    # THEN no wait exceeds the cap, and the total is reported
    assert fake.sleeps == pytest.approx([0.2, 0.4, 0.5, 0.5, 0.5])
    assert outcome.slept_s == pytest.approx(2.1)


@pytest.mark.parametrize(
    ("failed_attempt", "expected"),
    [(1, 0.2), (2, 0.4), (3, 0.8), (4, 1.6), (5, 2.0), (10, 2.0), (10_000, 2.0)],
)
def test_backoff_ceiling_doubles_from_the_base_up_to_the_cap(failed_attempt: int, expected: float) -> None:
    # GIVEN the default-like config / WHEN the ceiling is computed / THEN it doubles, capped, never overflows
    config = RetryConfig(base_delay_s=0.2, max_delay_s=2.0)
    assert backoff_ceiling(failed_attempt, config) == pytest.approx(expected)


async def test_jitter_scales_each_wait_by_a_random_draw() -> None:
    # GIVEN scripted random draws
    fake = FakeTime()
    fn = Script(RateLimited("429"))
    config = RetryConfig(max_attempts=4, base_delay_s=1.0, max_delay_s=10.0)
    # WHEN every attempt fails
    await run(fn, fake, config=config, rng=scripted_rng(0.5, 0.0, 0.25))
    # THEN each wait is its draw times its ceiling (1, 2, 4), and no extra draw is taken
    assert fake.sleeps == pytest.approx([0.5, 0.0, 1.0])


async def test_jitter_stays_within_zero_and_the_ceiling() -> None:
    # GIVEN a seeded random source and the longest allowed retry sequence
    fake = FakeTime()
    fn = Script(ServerFailure("500"))
    config = RetryConfig(max_attempts=10, base_delay_s=0.05, max_delay_s=1.0)
    # WHEN every attempt fails
    await run(fn, fake, config=config, rng=random.Random(20260731).random)
    # THEN every wait lies in [0, ceiling] for its attempt, and they are not all equal
    assert len(fake.sleeps) == 9
    for failed_attempt, slept in enumerate(fake.sleeps, start=1):
        assert 0.0 <= slept <= backoff_ceiling(failed_attempt, config)
    assert len(set(fake.sleeps)) > 1


@pytest.mark.parametrize(("draw", "expected"), [(-3.0, 0.0), (0.0, 0.0), (0.5, 1.0), (1.0, 2.0), (7.0, 2.0)])
def test_a_misbehaving_random_source_is_clamped_into_the_ceiling(draw: float, expected: float) -> None:
    # GIVEN a ceiling of 2 s / WHEN a draw outside [0, 1] comes in / THEN the wait stays in [0, 2]
    assert full_jitter(2.0, lambda: draw) == pytest.approx(expected)


async def test_on_retry_is_told_each_failed_attempt_and_its_wait() -> None:
    # GIVEN a call that fails twice, then succeeds, with a 10 s budget
    fake = FakeTime()
    first, second = ConnectionFailure("a"), ServerFailure("b")
    fn = Script(first, second, "ok")
    events: list[RetryEvent] = []
    # WHEN it is called with an on_retry callback
    await run(fn, fake, budget_s=10.0, on_retry=events.append)
    # THEN the callback saw each failed attempt, its error, the coming wait and the time left
    assert events == [
        RetryEvent(attempt=1, error=first, delay_s=pytest.approx(0.2), remaining_s=pytest.approx(10.0)),
        RetryEvent(attempt=2, error=second, delay_s=pytest.approx(0.4), remaining_s=pytest.approx(9.8)),
    ]


# ---------------------------------------------------------------------------------------------
# The deadline
# ---------------------------------------------------------------------------------------------


async def test_backoff_never_sleeps_past_the_deadline() -> None:
    # GIVEN 1 s of budget, attempts that each take 0.3 s, and waits that would be 2 s
    fake = FakeTime()
    fn = Script(ServerFailure("500"), time=fake, cost_s=0.3)
    config = RetryConfig(max_attempts=10, base_delay_s=2.0, max_delay_s=2.0)
    deadline_at = fake.now + 1.0
    # WHEN every attempt fails
    outcome = await run(fn, fake, config=config, budget_s=1.0, min_attempt_s=0.1)
    # THEN the first wait was shortened to leave exactly the minimum for one more attempt
    assert fake.sleeps == pytest.approx([0.6])
    # AND the policy gave up because of the deadline, with the server's error, never past the deadline
    assert isinstance(outcome, Failed)
    assert outcome.reason is GiveUpReason.DEADLINE
    assert outcome.error.kind is ErrorKind.SERVER_ERROR
    assert outcome.attempts == 2
    assert fake.now <= deadline_at + 0.3  # only the last attempt's own time may run to the deadline


async def test_no_attempt_starts_when_less_than_the_minimum_remains() -> None:
    # GIVEN 1 s of budget and attempts that fail after 0.45 s each
    fake = FakeTime()
    fn = Script(CallTimeout("slow"), time=fake, cost_s=0.45)
    # WHEN the minimum time for an attempt is 0.2 s
    outcome = await run(fn, fake, config=RetryConfig(max_attempts=10), budget_s=1.0, min_attempt_s=0.2, rng=lambda: 0.0)
    # THEN after two attempts (0.1 s left) no third one is started
    assert fn.calls == 2
    assert isinstance(outcome, Failed)
    assert outcome.attempts == 2
    assert outcome.reason is GiveUpReason.DEADLINE
    assert fake.sleeps == [0.0]


async def test_no_first_attempt_when_the_deadline_leaves_no_room() -> None:
    # GIVEN a deadline with 0.05 s left and a 0.1 s minimum per attempt
    fake = FakeTime()
    fn = Script("ok")
    # WHEN a call is attempted
    outcome = await run(fn, fake, budget_s=0.05, min_attempt_s=0.1)
    # THEN nothing is called and the outcome is a timeout with zero attempts
    assert fn.calls == 0
    assert isinstance(outcome, Failed)
    assert isinstance(outcome.error, CallTimeout)
    assert outcome.attempts == 0
    assert outcome.reason is GiveUpReason.DEADLINE


async def test_an_attempt_is_cut_off_at_the_deadline() -> None:
    # GIVEN a peer that never answers and a deadline 1 ms away
    fake = FakeTime()
    never = asyncio.Event()

    async def hangs() -> None:
        await never.wait()

    # WHEN the call is made with no minimum
    with anyio.fail_after(BOUND_S):
        outcome = await call_with_retries(
            hangs,
            RetryConfig(max_attempts=1),
            Deadline.after(0.001, clock=fake),
            sleep=fake.sleep,
            min_attempt_s=0.0,
        )
    # THEN the attempt is cancelled and reported as a timeout
    assert isinstance(outcome, Failed)
    assert isinstance(outcome.error, CallTimeout)
    assert "attempt 1" in outcome.error.message
    assert outcome.attempts == 1


async def test_an_attempt_timeout_counts_as_a_retryable_timeout() -> None:
    # GIVEN a peer that never answers, a long deadline and a 1 ms per-attempt timeout
    fake = FakeTime()
    never = asyncio.Event()

    async def hangs() -> None:
        await never.wait()

    # WHEN the call is made with two attempts allowed
    with anyio.fail_after(BOUND_S):
        outcome = await call_with_retries(
            hangs,
            RetryConfig(max_attempts=2),
            Deadline.after(60.0, clock=fake),
            sleep=fake.sleep,
            rng=lambda: 0.0,
            attempt_timeout_s=0.001,
        )
    # THEN both attempts timed out and the timeout was retried once
    assert isinstance(outcome, Failed)
    assert outcome.error.kind is ErrorKind.TIMEOUT
    assert outcome.attempts == 2
    assert outcome.reason is GiveUpReason.ATTEMPTS_EXHAUSTED


async def test_a_timeout_raised_by_the_call_itself_is_classified_as_a_timeout() -> None:
    # GIVEN a call whose own client times out (not the policy's timeout)
    fake = FakeTime()
    fn = Script(TimeoutError("read timed out"), "ok")
    # WHEN it is called
    outcome = await run(fn, fake)
    # THEN the timeout was retried and the second attempt's value returned
    assert isinstance(outcome, Succeeded)
    assert outcome.attempts == 2


async def test_each_attempt_calls_the_function_afresh() -> None:
    # GIVEN a function that builds a new coroutine per call
    fake = FakeTime()
    started: list[int] = []

    async def call() -> str:
        started.append(len(started) + 1)
        if len(started) < 3:
            raise ConnectionFailure("down")
        return "ok"

    # WHEN it is retried
    with anyio.fail_after(BOUND_S):
        outcome = await call_with_retries(
            call, RetryConfig(max_attempts=3), Deadline.after(10.0, clock=fake), sleep=fake.sleep
        )
    # THEN each attempt was a separate call, and the outcome carries the count
    assert started == [1, 2, 3]
    assert isinstance(outcome, Succeeded)
    assert outcome.value == "ok"
    assert outcome.attempts == 3


async def test_outcomes_can_be_matched_to_build_a_tool_result() -> None:
    # GIVEN one failing and one succeeding call
    fake = FakeTime()
    outcomes = [await run(Script(PermissionDenied("no")), fake), await run(Script(42), fake)]

    # WHEN the orchestrator matches on them
    def summarise(outcome: RetryOutcome[object]) -> tuple[str, int, ErrorKind | None]:
        match outcome:
            case Succeeded(attempts=attempts):
                return ("ok", attempts, None)
            case Failed(error=AgentError() as error, attempts=attempts):
                return ("error", attempts, error.kind)
        raise AssertionError("unreachable")

    # THEN each gives its status, attempt count and error kind
    assert [summarise(o) for o in outcomes] == [("error", 1, ErrorKind.PERMISSION), ("ok", 1, None)]
