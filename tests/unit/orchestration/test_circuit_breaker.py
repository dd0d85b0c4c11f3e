"""The per-server circuit breaker, driven by a fake clock: no test sleeps."""

from __future__ import annotations

import json

import pytest

from agent_config.config import CircuitBreakerConfig
from agent_config.orchestration.circuit_breaker import (
    TRIPPING_KINDS,
    CircuitBreaker,
    CircuitSnapshot,
    CircuitState,
)
from agent_config.utils.error_handling import CircuitOpen, ErrorKind

SERVER_HEALTH_KINDS = [
    ErrorKind.CONNECTION,
    ErrorKind.TIMEOUT,
    ErrorKind.SERVER_ERROR,
    ErrorKind.RATE_LIMIT,
]
NOT_SERVER_HEALTH_KINDS = [
    ErrorKind.AUTHENTICATION,
    ErrorKind.PERMISSION,
    ErrorKind.VALIDATION,
    ErrorKind.CIRCUIT_OPEN,
    ErrorKind.CONFIGURATION,
]


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_breaker(
    clock: FakeClock,
    *,
    threshold: int = 3,
    cooldown: float = 30.0,
    transitions: list[tuple[CircuitState, CircuitState]] | None = None,
) -> CircuitBreaker:
    config = CircuitBreakerConfig(failure_threshold=threshold, cooldown_s=cooldown)
    record = None if transitions is None else (lambda old, new: transitions.append((old, new)))
    return CircuitBreaker(config, name="security", clock=clock, on_transition=record)


def trip(breaker: CircuitBreaker, kind: ErrorKind = ErrorKind.CONNECTION) -> None:
    for _ in range(breaker.config.failure_threshold):
        assert breaker.allow()
        breaker.record_failure(kind)
    assert breaker.state is CircuitState.OPEN


# ---------------------------------------------------------------------------------------------
# CLOSED
# ---------------------------------------------------------------------------------------------


def test_a_new_breaker_is_closed_and_lets_calls_through(clock: FakeClock) -> None:
    # GIVEN a breaker that has seen nothing
    breaker = make_breaker(clock)
    # WHEN / THEN it is closed and admits any number of calls
    assert breaker.state is CircuitState.CLOSED
    assert all(breaker.allow() for _ in range(10))
    assert breaker.consecutive_failures == 0


@pytest.mark.parametrize("threshold", [1, 3, 5])
def test_opens_after_the_configured_consecutive_failures(clock: FakeClock, threshold: int) -> None:
    # GIVEN a breaker configured to open after `threshold` failures
    breaker = make_breaker(clock, threshold=threshold)
    # WHEN one failure fewer than the threshold is recorded
    for _ in range(threshold - 1):
        breaker.record_failure(ErrorKind.CONNECTION)
    # THEN it is still closed
    assert breaker.state is CircuitState.CLOSED
    assert breaker.allow()
    # WHEN the threshold-th failure is recorded
    breaker.record_failure(ErrorKind.CONNECTION)
    # THEN it opens and refuses calls
    assert breaker.state is CircuitState.OPEN
    assert breaker.consecutive_failures == threshold
    assert not breaker.allow()


def test_a_success_resets_the_consecutive_failure_count(clock: FakeClock) -> None:
    # GIVEN two failures, one short of the threshold
    breaker = make_breaker(clock, threshold=3)
    breaker.record_failure(ErrorKind.TIMEOUT)
    breaker.record_failure(ErrorKind.TIMEOUT)
    # WHEN a call succeeds, then two more fail
    breaker.record_success()
    breaker.record_failure(ErrorKind.TIMEOUT)
    breaker.record_failure(ErrorKind.TIMEOUT)
    # THEN the failures were not consecutive: it stays closed
    assert breaker.state is CircuitState.CLOSED
    assert breaker.consecutive_failures == 2


@pytest.mark.parametrize("kind", SERVER_HEALTH_KINDS)
def test_every_server_health_failure_kind_counts_towards_opening(clock: FakeClock, kind: ErrorKind) -> None:
    # GIVEN a breaker with threshold 2
    breaker = make_breaker(clock, threshold=2)
    # WHEN two failures of a kind that says the server is unhealthy are recorded
    breaker.record_failure(kind)
    breaker.record_failure(kind)
    # THEN it opens
    assert breaker.state is CircuitState.OPEN


@pytest.mark.parametrize("kind", NOT_SERVER_HEALTH_KINDS)
def test_errors_that_say_the_request_or_credentials_are_wrong_do_not_trip_it(clock: FakeClock, kind: ErrorKind) -> None:
    # GIVEN a breaker with threshold 1, one failure from opening
    breaker = make_breaker(clock, threshold=1)
    # WHEN many failures of a kind that says nothing about the server's health are recorded
    for _ in range(10):
        breaker.record_failure(kind)
    # THEN it stays closed and counts nothing
    assert breaker.state is CircuitState.CLOSED
    assert breaker.consecutive_failures == 0
    assert breaker.allow()


def test_a_non_server_failure_neither_counts_nor_resets_the_streak(clock: FakeClock) -> None:
    # GIVEN two connection failures (threshold 3)
    breaker = make_breaker(clock, threshold=3)
    breaker.record_failure(ErrorKind.CONNECTION)
    breaker.record_failure(ErrorKind.CONNECTION)
    # WHEN a permission error comes in between, then one more connection failure
    breaker.record_failure(ErrorKind.PERMISSION)
    breaker.record_failure(ErrorKind.CONNECTION)
    # THEN the permission error was neutral and the third connection failure opens it
    assert breaker.state is CircuitState.OPEN


def test_the_tripping_kinds_are_exactly_the_server_health_kinds() -> None:
    # GIVEN / WHEN / THEN the documented set and the module's set agree
    assert set(SERVER_HEALTH_KINDS) == TRIPPING_KINDS
    assert set(SERVER_HEALTH_KINDS) | set(NOT_SERVER_HEALTH_KINDS) == set(ErrorKind)


# ---------------------------------------------------------------------------------------------
# OPEN and the cool-down
# ---------------------------------------------------------------------------------------------


def test_refuses_calls_while_open_until_the_cooldown_passes(clock: FakeClock) -> None:
    # GIVEN a breaker that just opened, with a 30 s cool-down
    breaker = make_breaker(clock, cooldown=30.0)
    trip(breaker)
    # WHEN almost the whole cool-down has passed
    clock.advance(29.999)
    # THEN calls are still refused
    assert not breaker.allow()
    assert breaker.state is CircuitState.OPEN
    # WHEN the cool-down has fully passed
    clock.advance(0.001)
    # THEN the breaker is half-open
    assert breaker.state is CircuitState.HALF_OPEN


def test_the_cooldown_comes_from_the_config(clock: FakeClock) -> None:
    # GIVEN a breaker with a 2 s cool-down
    breaker = make_breaker(clock, cooldown=2.0)
    trip(breaker)
    # WHEN 2 s pass
    clock.advance(2.0)
    # THEN one trial is allowed
    assert breaker.allow()


def test_retry_after_counts_down_the_cooldown(clock: FakeClock) -> None:
    # GIVEN a breaker opened 10 s ago with a 30 s cool-down
    breaker = make_breaker(clock, cooldown=30.0)
    trip(breaker)
    clock.advance(10.0)
    # WHEN / THEN 20 s remain; once half-open, nothing remains
    assert breaker.retry_after() == pytest.approx(20.0)
    clock.advance(25.0)
    assert breaker.retry_after() == 0.0


def test_late_results_while_open_do_not_move_the_cooldown(clock: FakeClock) -> None:
    # GIVEN a breaker opened at t0 while other calls were still in flight
    breaker = make_breaker(clock, cooldown=30.0)
    trip(breaker)
    # WHEN those calls finish late: one success, then one failure, 20 s later
    clock.advance(20.0)
    breaker.record_success()
    breaker.record_failure(ErrorKind.SERVER_ERROR)
    # THEN the breaker stays open and the cool-down still ends 30 s after it opened
    assert breaker.state is CircuitState.OPEN
    clock.advance(10.0)
    assert breaker.state is CircuitState.HALF_OPEN


# ---------------------------------------------------------------------------------------------
# HALF_OPEN
# ---------------------------------------------------------------------------------------------


def test_half_open_admits_one_trial_call(clock: FakeClock) -> None:
    # GIVEN a breaker whose cool-down has passed
    breaker = make_breaker(clock, cooldown=5.0)
    trip(breaker)
    clock.advance(5.0)
    # WHEN several calls ask to go through at once
    admitted = [breaker.allow() for _ in range(4)]
    # THEN only the first is admitted, as the trial
    assert admitted == [True, False, False, False]
    assert breaker.state is CircuitState.HALF_OPEN


def test_a_successful_trial_closes_the_breaker(clock: FakeClock) -> None:
    # GIVEN a half-open breaker with its trial call admitted
    breaker = make_breaker(clock, cooldown=5.0)
    trip(breaker)
    clock.advance(5.0)
    assert breaker.allow()
    # WHEN the trial succeeds
    breaker.record_success()
    # THEN calls flow again and the failure count is cleared
    assert breaker.state is CircuitState.CLOSED
    assert breaker.consecutive_failures == 0
    assert all(breaker.allow() for _ in range(5))


def test_a_failed_trial_reopens_the_breaker_and_restarts_the_cooldown(clock: FakeClock) -> None:
    # GIVEN a half-open breaker with its trial call admitted
    breaker = make_breaker(clock, threshold=3, cooldown=5.0)
    trip(breaker)
    clock.advance(5.0)
    assert breaker.allow()
    # WHEN the trial fails with a server-health kind
    clock.advance(1.0)
    breaker.record_failure(ErrorKind.TIMEOUT)
    # THEN the breaker is open again at once (a single failure suffices) for a full cool-down
    assert breaker.state is CircuitState.OPEN
    assert not breaker.allow()
    clock.advance(4.999)
    assert breaker.state is CircuitState.OPEN
    clock.advance(0.001)
    assert breaker.state is CircuitState.HALF_OPEN


def test_a_non_server_failure_of_the_trial_frees_the_slot_for_another_trial(clock: FakeClock) -> None:
    # GIVEN a half-open breaker whose trial call is in flight
    breaker = make_breaker(clock, cooldown=5.0)
    trip(breaker)
    clock.advance(5.0)
    assert breaker.allow()
    # WHEN the trial fails with a validation error (no verdict on the server's health)
    breaker.record_failure(ErrorKind.VALIDATION)
    # THEN the breaker stays half-open and the next call becomes the trial
    assert breaker.state is CircuitState.HALF_OPEN
    assert breaker.allow()
    assert not breaker.allow()


def test_release_frees_the_trial_slot_of_a_cancelled_call(clock: FakeClock) -> None:
    # GIVEN a half-open breaker whose trial call is in flight
    breaker = make_breaker(clock, cooldown=5.0)
    trip(breaker)
    clock.advance(5.0)
    assert breaker.allow()
    assert not breaker.allow()
    # WHEN the trial is cancelled and its slot released
    breaker.release()
    # THEN another call may be the trial
    assert breaker.allow()


def test_release_outside_half_open_changes_nothing(clock: FakeClock) -> None:
    # GIVEN a closed breaker with one failure counted
    breaker = make_breaker(clock)
    breaker.record_failure(ErrorKind.CONNECTION)
    # WHEN a call is released
    breaker.release()
    # THEN state and count are as they were
    assert breaker.state is CircuitState.CLOSED
    assert breaker.consecutive_failures == 1


def test_a_lost_trial_verdict_expires_after_one_cooldown(clock: FakeClock) -> None:
    # GIVEN a half-open breaker whose trial call never reports back
    breaker = make_breaker(clock, cooldown=5.0)
    trip(breaker)
    clock.advance(5.0)
    assert breaker.allow()
    # WHEN less than a cool-down passes, THEN no second trial
    clock.advance(4.9)
    assert not breaker.allow()
    # WHEN a full cool-down has passed since the trial started, THEN another trial is admitted
    clock.advance(0.1)
    assert breaker.allow()
    assert not breaker.allow()


# ---------------------------------------------------------------------------------------------
# Observability: transitions, snapshot, refusal
# ---------------------------------------------------------------------------------------------


def test_the_transition_callback_sees_every_change_in_order(clock: FakeClock) -> None:
    # GIVEN a breaker reporting its transitions
    transitions: list[tuple[CircuitState, CircuitState]] = []
    breaker = make_breaker(clock, threshold=1, cooldown=5.0, transitions=transitions)
    # WHEN it opens, half-opens, fails the trial, half-opens again and recovers
    breaker.record_failure(ErrorKind.CONNECTION)
    clock.advance(5.0)
    assert breaker.allow()
    breaker.record_failure(ErrorKind.CONNECTION)
    clock.advance(5.0)
    assert breaker.allow()
    breaker.record_success()
    # THEN each transition was reported once, in order
    closed, open_, half = CircuitState.CLOSED, CircuitState.OPEN, CircuitState.HALF_OPEN
    assert transitions == [(closed, open_), (open_, half), (half, open_), (open_, half), (half, closed)]


def test_no_transition_is_reported_when_nothing_changes(clock: FakeClock) -> None:
    # GIVEN a closed breaker reporting its transitions
    transitions: list[tuple[CircuitState, CircuitState]] = []
    breaker = make_breaker(clock, threshold=3, transitions=transitions)
    # WHEN calls succeed, fail below the threshold, and the state is read
    breaker.record_success()
    breaker.record_failure(ErrorKind.CONNECTION)
    _ = breaker.state
    # THEN nothing is reported
    assert transitions == []


def test_the_callback_sees_the_new_state_already_applied(clock: FakeClock) -> None:
    # GIVEN a callback that reads the breaker
    seen: list[CircuitState] = []
    config = CircuitBreakerConfig(failure_threshold=1, cooldown_s=5.0)
    breaker = CircuitBreaker(config, clock=clock, on_transition=lambda _old, _new: seen.append(breaker.state))
    # WHEN the breaker opens
    breaker.record_failure(ErrorKind.SERVER_ERROR)
    # THEN the callback observed the new state
    assert seen == [CircuitState.OPEN]


def test_snapshot_of_a_closed_breaker(clock: FakeClock) -> None:
    # GIVEN a closed breaker with one failure
    breaker = make_breaker(clock, threshold=3)
    breaker.record_failure(ErrorKind.TIMEOUT)
    # WHEN it is snapshotted
    snap = breaker.snapshot()
    # THEN it reports closed, the count and the threshold, and no timings
    assert snap == CircuitSnapshot(
        name="security",
        state=CircuitState.CLOSED,
        consecutive_failures=1,
        failure_threshold=3,
    )


def test_snapshot_of_an_open_breaker_reports_timings_and_counts(clock: FakeClock) -> None:
    # GIVEN a breaker opened 12 s ago (30 s cool-down) that has refused two calls
    breaker = make_breaker(clock, threshold=2, cooldown=30.0)
    trip(breaker)
    clock.advance(12.0)
    assert not breaker.allow()
    assert not breaker.allow()
    # WHEN it is snapshotted
    snap = breaker.snapshot()
    # THEN it says how long it has been open, when it will try again, and what it has done
    assert snap.state is CircuitState.OPEN
    assert snap.consecutive_failures == 2
    assert snap.open_for_s == pytest.approx(12.0)
    assert snap.retry_after_s == pytest.approx(18.0)
    assert snap.refused_calls == 2
    assert snap.transitions == {"closed->open": 1}
    assert not snap.trial_in_flight


def test_snapshot_counts_transitions_over_a_full_cycle(clock: FakeClock) -> None:
    # GIVEN a breaker that opened, failed one trial and recovered on the next
    breaker = make_breaker(clock, threshold=1, cooldown=1.0)
    breaker.record_failure(ErrorKind.CONNECTION)
    clock.advance(1.0)
    assert breaker.allow()
    snap_during_trial = breaker.snapshot()
    breaker.record_failure(ErrorKind.CONNECTION)
    clock.advance(1.0)
    assert breaker.allow()
    breaker.record_success()
    # WHEN / THEN the snapshot during the trial shows it in flight, the final one counts every transition
    assert snap_during_trial.state is CircuitState.HALF_OPEN
    assert snap_during_trial.trial_in_flight
    assert snap_during_trial.retry_after_s is None
    final = breaker.snapshot()
    assert final.state is CircuitState.CLOSED
    assert final.open_for_s is None
    assert final.transitions == {
        "closed->open": 1,
        "open->half_open": 2,
        "half_open->open": 1,
        "half_open->closed": 1,
    }


def test_snapshot_is_ready_for_a_json_health_endpoint(clock: FakeClock) -> None:
    # GIVEN an open breaker
    breaker = make_breaker(clock, threshold=1)
    breaker.record_failure(ErrorKind.CONNECTION)
    # WHEN its snapshot is serialised
    document = json.loads(breaker.snapshot().model_dump_json())
    # THEN it is plain JSON with the state as its string value
    assert document["state"] == "open"
    assert document["name"] == "security"
    assert document["retry_after_s"] == pytest.approx(30.0)


def test_refusal_is_a_circuit_open_error_that_says_when_to_expect_a_retry(clock: FakeClock) -> None:
    # GIVEN a breaker opened 10 s ago with a 30 s cool-down
    breaker = make_breaker(clock, threshold=2, cooldown=30.0)
    trip(breaker)
    clock.advance(10.0)
    # WHEN the error for a refused call is built
    error = breaker.refusal()
    # THEN it is a non-retryable CircuitOpen naming the server, the failures and the wait
    assert isinstance(error, CircuitOpen)
    assert error.kind is ErrorKind.CIRCUIT_OPEN
    assert not error.retryable
    assert "'security'" in error.message
    assert "2 consecutive failures" in error.message
    assert "20.0 s" in error.message


def test_refusal_during_a_trial_says_a_trial_is_in_progress(clock: FakeClock) -> None:
    # GIVEN a half-open breaker whose trial is in flight
    breaker = make_breaker(clock, cooldown=1.0)
    trip(breaker)
    clock.advance(1.0)
    assert breaker.allow()
    # WHEN a second call is refused and its error built
    assert not breaker.allow()
    error = breaker.refusal()
    # THEN the error says a trial is under way
    assert "trial call is in progress" in error.message


def test_defaults_come_from_circuit_breaker_config(clock: FakeClock) -> None:
    # GIVEN a breaker built without a config
    breaker = CircuitBreaker(clock=clock)
    defaults = CircuitBreakerConfig()
    # WHEN threshold-many failures are recorded
    for _ in range(defaults.failure_threshold):
        breaker.record_failure(ErrorKind.CONNECTION)
    # THEN it opens for the default cool-down
    assert breaker.state is CircuitState.OPEN
    assert breaker.retry_after() == pytest.approx(defaults.cooldown_s)
    assert breaker.name == ""
