"""The keeper the operations use: one write per assessment, history that survives one bad report,
facts as the operations read them, and reads that keep a session alive without failing on it.

GIVEN a SessionKeeper over the in-memory store (fake clock)
WHEN the operations save, read and compare assessments
THEN every assessment costs one META write, and the history answers as much as it can.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from agent_config.session.errors import SessionDataCorrupt, SessionError, SessionStoreUnavailable
from agent_config.session.keeper import SessionKeeper
from agent_config.session.manager import SessionManager
from agent_config.session.memory import InMemorySessionStore
from agent_config.session.settings import SessionSettings
from agent_config.session.store import StoredItem
from agent_config.session.table import META_SK

TTL = 600


@pytest.fixture
def store(clock) -> InMemorySessionStore:
    return InMemorySessionStore(SessionSettings(ttl_seconds=TTL), clock=clock, sleep=clock.sleep)


@pytest.fixture
def keeper(store, clock) -> SessionKeeper:
    return SessionKeeper(SessionManager(store, clock=clock))


def test_an_assessment_and_its_facts_are_one_write_and_the_newest_assessment_stays_last(keeper, store, make_assessment):
    # GIVEN a newer assessment already recorded
    keeper.save_assessment("s1", make_assessment("newer", [], minutes=10))

    # WHEN an older one is saved with facts, including a stale last_assessment_id
    keeper.save_assessment(
        "s1",
        make_assessment("older", [("S3.8", "b", "FAIL")], minutes=1),
        {"regions": "eu-west-1,eu-central-1", "services": "s3", "last_assessment_id": "older"},
    )

    # THEN that took one write, the facts are set, and the newest by time is still the last one
    record = store.read_session("s1")
    assert record.version == 2
    assert record.state.facts.regions == ["eu-west-1", "eu-central-1"]
    assert record.state.facts.services == ["s3"]
    assert record.state.facts.last_assessment_id == "newer"
    assert keeper.facts("s1") == {
        "regions": "eu-west-1,eu-central-1",
        "services": "s3",
        "last_assessment_id": "newer",
    }


def test_twenty_concurrent_turns_each_write_once_and_all_land(keeper, store, make_assessment):
    barrier = threading.Barrier(20)

    def turn(i: int) -> None:
        assessment = make_assessment(f"a{i:02d}", [("S3.8", f"b{i}", "FAIL")], minutes=i)
        barrier.wait(timeout=5)
        keeper.save_assessment("busy", assessment, {"regions": "us-east-1", "framework": f"framework-{i}"})

    with ThreadPoolExecutor(max_workers=20) as pool:
        for future in [pool.submit(turn, i) for i in range(20)]:
            future.result(timeout=30)

    record = store.read_session("busy")
    assert record.version == 20  # one META write per turn
    assert [s.assessment_id for s in record.state.assessments] == [f"a{i:02d}" for i in range(20)]
    assert record.state.facts.last_assessment_id == "a19"
    assert record.state.facts.framework in {f"framework-{i}" for i in range(20)}


def test_a_report_that_no_longer_reads_as_an_assessment_is_skipped_and_named(keeper, make_assessment):
    # GIVEN three assessments, the middle one stored in a shape that is not an assessment any more
    keeper.save_assessment("s1", make_assessment("a1", [("S3.8", "b", "FAIL")], minutes=1))
    old_shape = {"control_id": "S3.8", "status": "FAIL", "resource_id": "b", "region": "us-east-1"}  # no title
    keeper.manager.record_assessment(
        "s1", {"assessment_id": "a2", "created_at": "2026-11-01T12:02:00+00:00", "findings": [old_shape]}
    )
    keeper.save_assessment("s1", make_assessment("a3", [("S3.8", "b", "PASS")], minutes=3))
    unreadable: list[tuple[str, SessionError]] = []

    # WHEN the operations ask for the latest two
    latest = keeper.latest_assessments("s1", 2, on_unreadable=lambda aid, error: unreadable.append((aid, error)))

    # THEN the next older one takes the bad one's place, and the bad one is reported
    assert [a.assessment_id for a in latest] == ["a3", "a1"]
    assert [aid for aid, _ in unreadable] == ["a2"]
    assert isinstance(unreadable[0][1], SessionDataCorrupt)
    assert "could not be read back" in unreadable[0][1].as_degraded().reason
    with pytest.raises(SessionDataCorrupt):
        keeper.load_assessment("s1", "a2")


def test_what_changed_comes_with_the_time_of_the_previous_assessment(keeper, make_assessment):
    first = make_assessment("a1", [("S3.8", "public", "FAIL"), ("S3.8", "logs", "FAIL")])
    keeper.save_assessment("s1", first)
    current = make_assessment("a2", [("S3.8", "public", "PASS")], minutes=5)

    everything = keeper.changes_since_previous("s1", current)
    one_resource = keeper.changes_since_previous("s1", current, lambda f: f.resource == "public")

    assert everything.previous_created_at == first.created_at
    assert [f.resource for f in everything.resolved] == ["logs", "public"]
    assert [f.resource for f in one_resource.resolved] == ["public"]


class MetaWritesFail(InMemorySessionStore):
    """Reads work, META writes fail: a refresh of the TTL cannot be written."""

    def _put_item(self, item: StoredItem, expected_version: int | None) -> None:
        if item.sk == META_SK and self.failing:
            raise ConnectionResetError(104, "reset")
        super()._put_item(item, expected_version)

    failing = False


def test_a_read_keeps_the_session_alive_and_a_refresh_that_fails_does_not_fail_the_read(clock, make_assessment):
    store = MetaWritesFail(SessionSettings(ttl_seconds=TTL), clock=clock, sleep=clock.sleep)
    keeper = SessionKeeper(SessionManager(store, clock=clock))
    keeper.save_assessment("s1", make_assessment("a1", [("S3.8", "b", "FAIL")]))

    # a read with more than half the TTL left writes nothing
    clock.advance(0.4 * TTL)
    assert keeper.load_assessment("s1", "a1") is not None
    assert store.read_session("s1").version == 1

    # a read with less than half left refreshes the expiry from now
    clock.advance(0.2 * TTL)
    assert keeper.load_assessment("s1", "a1") is not None
    refreshed = store.read_session("s1")
    assert refreshed.version == 2
    assert refreshed.expires_at == int(clock.now) + TTL

    # and when that refresh cannot be written, the read still answers
    store.failing = True
    clock.advance(0.6 * TTL)
    assert [a.assessment_id for a in keeper.latest_assessments("s1", 5)] == ["a1"]
    assert store.read_session("s1").version == 2
    with pytest.raises(SessionStoreUnavailable):
        store.update_session("s1", lambda state: state)  # the write really fails
