"""The store's semantics, on the in-memory backend: versions, conflicts and merging, TTL, retries.

Everything here is the base class's behaviour (the DynamoDB store shares it; its integration tests
repeat the important parts against the moto server). Time is a fake clock and sleeping advances
it, so no test waits.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from agent_config import interfaces
from agent_config.session.errors import (
    SessionConflict,
    SessionStoreThrottled,
    SessionStoreUnavailable,
    SessionStoreUnreachable,
)
from agent_config.session.manager import SessionManager
from agent_config.session.memory import InMemorySessionStore
from agent_config.session.models import SessionState
from agent_config.session.settings import BackoffSettings, SessionSettings
from agent_config.session.store import ItemKey, PreconditionFailed, StoredItem, as_protocol
from agent_config.session.table import META_SK, session_pk
from agent_config.utils.error_handling import ErrorKind

TTL = 3600


def store_with(clock, **settings) -> InMemorySessionStore:
    return InMemorySessionStore(SessionSettings(**settings), clock=clock, sleep=clock.sleep, rng=lambda: 0.5)


class ThrottledError(Exception):
    """Shaped like botocore's ClientError for a throttled request."""

    def __init__(self, code: str = "ThrottlingException") -> None:
        super().__init__(code)
        self.response = {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": 400}}


class RivalWritesFirst(InMemorySessionStore):
    """Before our first META write lands, another writer updates the session (a real race, staged)."""

    def __init__(self, *args, rival_facts: dict, times: int = 1, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.rival_facts = rival_facts
        self.times = times

    def _put_item(self, item: StoredItem, expected_version: int | None) -> None:
        if item.sk == META_SK and self.times > 0:
            self.times -= 1
            current = self._items.get(item.key)
            state = SessionState.model_validate_json(current.data) if current else None
            base = state or SessionState(created_at=_dt(), updated_at=_dt())
            rival = base.with_facts(self.rival_facts)
            version = (current.version or 0) + 1 if current else 1
            super()._put_item(
                StoredItem(item.pk, item.sk, item.expires_at, version, rival.model_dump_json()),
                current.version if current else None,
            )
        super()._put_item(item, expected_version)


class AlwaysLoses(InMemorySessionStore):
    def _put_item(self, item: StoredItem, expected_version: int | None) -> None:
        raise PreconditionFailed("someone else always wins")


class FlakyReads(InMemorySessionStore):
    """Reads fail with the given exceptions first, then succeed."""

    def __init__(self, *args, failures: Sequence[Exception], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.failures = list(failures)

    def _get_item(self, key: ItemKey) -> StoredItem | None:
        if self.failures:
            raise self.failures.pop(0)
        return super()._get_item(key)


def _dt() -> datetime:
    return datetime(2026, 1, 1, tzinfo=UTC)


# --- versions and the interfaces.SessionStore protocol ------------------------------------------


def test_a_session_never_written_reads_as_none_and_each_write_adds_one_to_its_version(clock):
    store = store_with(clock)
    assert store.read_session("s1") is None
    first = store.update_session("s1", lambda s: s.with_facts({"framework": "cis"}))
    second = store.update_session("s1", lambda s: s.with_facts({"framework": "fsbp"}))
    assert (first.version, second.version) == (1, 2)
    assert store.read_session("s1").state.facts.framework == "fsbp"


def test_the_protocol_save_is_a_compare_and_set_that_never_overwrites(clock):
    store: interfaces.SessionStore = as_protocol(store_with(clock))
    state = SessionState(created_at=_dt(), updated_at=_dt()).model_dump(mode="json")
    assert store.load("s1") is None
    assert store.save("s1", state, expected_version=None) == 1
    loaded, version = store.load("s1")
    assert version == 1
    assert store.save("s1", {**loaded, "facts": {"framework": "cis"}}, expected_version=1) == 2
    with pytest.raises(SessionConflict):
        store.save("s1", loaded, expected_version=1)  # stale: someone wrote version 2
    with pytest.raises(SessionConflict):
        store.save("s1", loaded, expected_version=None)  # exists already
    assert store.load("s1")[0]["facts"]["framework"] == "cis"


# --- conflicts: re-read, merge, retry ------------------------------------------------------------


def test_a_lost_race_is_retried_on_fresh_state_so_both_writers_changes_survive(clock):
    store = RivalWritesFirst(
        SessionSettings(),
        clock=clock,
        sleep=clock.sleep,
        rng=lambda: 0.5,
        rival_facts={"regions": ["eu-west-1"]},
    )
    record = store.update_session("s1", lambda s: s.with_facts({"framework": "cis"}))
    assert record.state.facts.regions == ["eu-west-1"]  # the rival's fact, kept
    assert record.state.facts.framework == "cis"  # ours, applied on top
    assert record.version == 2
    assert store.stats.snapshot()["conflicts"] == 1
    assert len(clock.sleeps) == 1


def test_the_same_fact_written_by_two_writers_ends_with_the_last_writer(clock):
    store = RivalWritesFirst(
        SessionSettings(), clock=clock, sleep=clock.sleep, rng=lambda: 0.5, rival_facts={"framework": "fsbp"}
    )
    record = store.update_session("s1", lambda s: s.with_facts({"framework": "cis"}))
    assert record.state.facts.framework == "cis"


def test_after_the_bounded_attempts_a_conflict_raises_and_nothing_is_written(clock):
    policy = BackoffSettings(max_attempts=5, base_delay_s=0.01, max_delay_s=0.04)
    store = AlwaysLoses(SessionSettings(conflict_retry=policy), clock=clock, sleep=clock.sleep, rng=lambda: 0.99)
    with pytest.raises(SessionConflict) as raised:
        store.update_session("s1", lambda s: s.with_facts({"framework": "cis"}))
    assert store.read_session("s1") is None
    assert len(clock.sleeps) == 4  # between five attempts
    assert all(delay <= policy.max_delay_s for delay in clock.sleeps)
    assert clock.sleeps == sorted(clock.sleeps)  # exponential ceiling, full jitter at rng 0.99
    assert raised.value.kind is ErrorKind.SERVER_ERROR
    assert "not saved" in raised.value.as_degraded().reason


def test_twenty_threads_updating_one_session_all_land(clock, make_assessment):
    store = InMemorySessionStore(SessionSettings())
    manager = SessionManager(store)
    barrier = threading.Barrier(20)

    def writer(i: int) -> None:
        barrier.wait(timeout=5)
        manager.record_assessment("s1", make_assessment(f"a{i:02d}", [("S3.8", f"b{i}", "FAIL")], minutes=i))

    with ThreadPoolExecutor(max_workers=20) as pool:
        for future in [pool.submit(writer, i) for i in range(20)]:
            future.result(timeout=30)  # re-raises a writer's error here
    ids = [s.assessment_id for s in manager.assessments("s1")]
    assert ids == [f"a{i:02d}" for i in range(20)]
    assert manager.facts("s1").last_assessment_id == "a19"
    assert store.read_session("s1").version == 20


# --- TTL -----------------------------------------------------------------------------------------


def test_every_item_gets_an_expiry_meta_one_ttl_and_assessment_items_two(clock, make_assessment):
    store = store_with(clock, ttl_seconds=TTL)
    SessionManager(store, clock=clock).record_assessment("s1", make_assessment("a1", [("S3.8", "b", "FAIL")]))
    items = dict(store._items)
    meta = items[(session_pk("s1"), META_SK)]
    assert meta.expires_at == int(clock.now) + TTL
    others = [i for k, i in items.items() if k[1] != META_SK]
    assert others
    assert {i.expires_at for i in others} == {int(clock.now) + 2 * TTL}


def test_an_expired_session_reads_as_empty_and_the_next_write_starts_afresh(clock, make_assessment):
    store = store_with(clock, ttl_seconds=TTL)
    manager = SessionManager(store, clock=clock)
    manager.record_assessment("s1", make_assessment("a1", [("S3.8", "b", "FAIL")]))
    manager.update_facts("s1", framework="cis")
    clock.advance(TTL + 1)
    assert manager.assessments("s1") == []
    assert manager.facts("s1").framework is None
    manager.update_facts("s1", framework="fsbp")  # META not swept yet: its version still guards
    record = store.read_session("s1")
    assert record.version == 3
    assert record.state.facts.framework == "fsbp"
    assert record.state.assessments == []


def test_writes_keep_the_items_of_a_long_active_session_alive(clock, make_assessment):
    store = store_with(clock, ttl_seconds=TTL)
    manager = SessionManager(store, clock=clock)
    manager.record_assessment("s1", make_assessment("a1", [("S3.8", "b", "FAIL")]))
    for _ in range(5):  # five hours of a turn every 50 minutes
        clock.advance(TTL - 600)
        manager.update_facts("s1", framework="cis")
    assert manager.load_report("s1", "a1")["assessment_id"] == "a1"
    assert manager.previous_assessment("s1").fingerprints
    refreshes = store.stats.snapshot()["ttl_refreshes"]
    assert 0 < refreshes <= 3 * 2  # at most once per TTL of activity, 2 items each (head + 1 chunk)
    store.sweep_expired()
    assert manager.load_report("s1", "a1")["assessment_id"] == "a1"


def test_an_assessment_whose_items_were_swept_is_dropped_from_the_session(clock, make_assessment):
    store = store_with(clock, ttl_seconds=TTL)
    manager = SessionManager(store, clock=clock)
    manager.record_assessment("s1", make_assessment("a1", [("S3.8", "b", "FAIL")]))
    for key in [k for k in store._items if k[1] != META_SK]:
        del store._items[key]  # as if DynamoDB's TTL process had removed them
    clock.advance(TTL + 60)
    manager.update_facts("s1", framework="cis")
    assert manager.assessments("s1") == []


def test_touch_refreshes_only_when_less_than_half_the_ttl_is_left(clock):
    store = store_with(clock, ttl_seconds=TTL)
    store.update_session("s1", lambda s: s)
    clock.advance(TTL / 4)
    assert store.touch("s1").version == 1
    clock.advance(TTL / 2)
    touched = store.touch("s1")
    assert touched.version == 2
    assert touched.expires_at == int(clock.now) + TTL


# --- size limits ---------------------------------------------------------------------------------


def test_meta_keeps_at_most_the_configured_number_of_summaries(clock, make_assessment):
    store = store_with(clock, max_assessments=3)
    manager = SessionManager(store, clock=clock)
    for i in range(5):
        manager.record_assessment("s1", make_assessment(f"a{i}", [("S3.8", "b", "FAIL")], minutes=i))
    assert [s.assessment_id for s in manager.assessments("s1")] == ["a2", "a3", "a4"]


# --- failures of the backend ---------------------------------------------------------------------


def test_throttled_reads_are_retried_with_backoff_and_then_succeed(clock):
    store = FlakyReads(
        SessionSettings(), clock=clock, sleep=clock.sleep, rng=lambda: 1.0, failures=[ThrottledError()] * 2
    )
    assert store.read_session("s1") is None
    assert store.stats.snapshot()["throttle_retries"] == 2
    assert clock.sleeps == [0.05, 0.1]


def test_throttling_that_outlasts_the_retries_is_reported_as_a_throttled_store(clock):
    store = FlakyReads(
        SessionSettings(), clock=clock, sleep=clock.sleep, rng=lambda: 0.0, failures=[ThrottledError()] * 10
    )
    with pytest.raises(SessionStoreThrottled) as raised:
        store.read_session("s1")
    assert raised.value.kind is ErrorKind.RATE_LIMIT
    assert isinstance(raised.value, SessionStoreUnavailable)
    assert len(store.failures) == 10 - SessionSettings().throttle_retry.max_attempts


def test_a_refused_connection_is_not_retried_and_reads_as_unreachable(clock):
    store = FlakyReads(
        SessionSettings(), clock=clock, sleep=clock.sleep, failures=[ConnectionRefusedError(111, "refused")]
    )
    with pytest.raises(SessionStoreUnreachable) as raised:
        store.read_session("s1")
    assert clock.sleeps == []
    assert raised.value.kind is ErrorKind.CONNECTION
    note = raised.value.as_degraded()
    assert note.server == "session_store"
    assert note.reason == "answered without session history, because the session store could not be reached"
