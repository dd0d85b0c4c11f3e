"""The Session Manager's answers, over the in-memory store: history, diff, reports, facts, pointers.

GIVEN a conversation in which assessments are recorded and facts updated
WHEN the answer layer asks what it needs (previous assessment, what changed, a page of findings)
THEN it gets exactly what was recorded, and typed errors when it cannot.
"""

from __future__ import annotations

import time

import pytest

from agent_config.config import load_config
from agent_config.session.attributes import (
    LAST_ASSESSMENT_ATTRIBUTE,
    last_assessment_from_attributes,
    pointer_attributes,
)
from agent_config.session.dynamodb import DynamoDBSessionStore
from agent_config.session.errors import SessionError, SessionRecordNotFound
from agent_config.session.manager import SessionManager, session_manager_from_config
from agent_config.session.memory import InMemorySessionStore
from agent_config.session.settings import SessionSettings
from agent_config.utils.error_handling import InvalidInput


@pytest.fixture
def manager(clock) -> SessionManager:
    return SessionManager(InMemorySessionStore(clock=clock, sleep=clock.sleep), clock=clock)


def test_a_fixed_misconfiguration_is_reported_resolved_in_the_next_assessment(manager, make_assessment):
    first = make_assessment("a1", [("S3.8", "public-bucket", "FAIL"), ("S3.8", "logs", "FAIL")])
    manager.record_assessment("s1", first)
    second = make_assessment("a2", [("S3.8", "public-bucket", "PASS"), ("S3.8", "logs", "FAIL")], minutes=5)
    changes = manager.changes_since_previous("s1", second)
    assert changes.previous_assessment_id == "a1"
    assert [f.resource for f in changes.resolved] == ["public-bucket"]
    assert [f.resource for f in changes.persisting] == ["logs"]
    assert changes.new == []


def test_the_diff_excludes_the_current_assessment_even_once_it_is_recorded(manager, make_assessment):
    manager.record_assessment("s1", make_assessment("a1", [("S3.8", "b", "FAIL")]))
    current = make_assessment("a2", [("S3.8", "b", "PASS")], minutes=5)
    manager.record_assessment("s1", current)
    changes = manager.changes_since_previous("s1", current)
    assert changes.previous_assessment_id == "a1"
    assert len(changes.resolved) == 1


def test_the_first_assessment_of_a_session_has_no_previous_and_all_failures_are_new(manager, make_assessment):
    changes = manager.changes_since_previous("s1", make_assessment("a1", [("S3.8", "b", "FAIL")]))
    assert changes.previous_assessment_id is None
    assert len(changes.new) == 1


def test_the_full_report_reads_back_exactly_as_recorded(manager, make_assessment):
    assessment = make_assessment("a1", [("S3.8", f"b{i}", "FAIL") for i in range(50)])
    manager.record_assessment("s1", assessment)
    assert manager.load_report("s1", "a1") == assessment.model_dump(mode="json")


def test_a_json_report_is_accepted_as_well_as_the_model(manager, make_assessment):
    document = make_assessment("a1", [("S3.8", "b", "FAIL")]).model_dump(mode="json")
    summary = manager.record_assessment("s1", document)
    assert summary.counts == {"FAIL": 1}
    assert manager.load_report("s1", "a1") == document


def test_report_pages_cover_every_finding_once(manager, make_assessment):
    manager.record_assessment("s1", make_assessment("a1", [("S3.8", f"b{i:02d}", "FAIL") for i in range(23)]))
    pages = [manager.report_page("s1", "a1", page, page_size=10) for page in (1, 2, 3)]
    assert [len(p.findings) for p in pages] == [10, 10, 3]
    assert [p.has_next for p in pages] == [True, True, False]
    assert pages[0].total_pages == 3
    resources = [f["resource_id"] for p in pages for f in p.findings]
    assert sorted(resources) == [f"b{i:02d}" for i in range(23)]
    with pytest.raises(InvalidInput):
        manager.report_page("s1", "a1", 0, 10)


def test_an_unknown_assessment_is_a_typed_not_found(manager):
    with pytest.raises(SessionRecordNotFound) as raised:
        manager.load_report("s1", "nope")
    assert isinstance(raised.value, SessionError)
    assert "not in this session" in raised.value.as_degraded().reason


def test_previous_assessment_before_an_id_skips_it_and_newer_ones(manager, make_assessment):
    for i in range(3):
        manager.record_assessment("s1", make_assessment(f"a{i}", [("S3.8", "b", "FAIL")], minutes=i))
    assert manager.previous_assessment("s1").summary.assessment_id == "a2"
    assert manager.previous_assessment("s1", before_id="a2").summary.assessment_id == "a1"
    assert manager.previous_assessment("s1", before_id="a0") is None
    assert manager.previous_assessment("s1", before_id="not-yet-recorded").summary.assessment_id == "a2"


def test_recording_the_same_assessment_twice_keeps_one_entry(manager, make_assessment):
    assessment = make_assessment("a1", [("S3.8", "b", "FAIL")])
    manager.record_assessment("s1", assessment)
    manager.record_assessment("s1", assessment)
    assert [s.assessment_id for s in manager.assessments("s1")] == ["a1"]


def test_last_assessment_follows_the_newest_by_time_not_the_last_recorded(manager, make_assessment):
    manager.record_assessment("s1", make_assessment("newer", [], minutes=10))
    manager.record_assessment("s1", make_assessment("older", [], minutes=1))
    assert manager.facts("s1").last_assessment_id == "newer"
    assert [s.assessment_id for s in manager.assessments("s1")] == ["older", "newer"]


def test_fingerprints_too_large_to_store_inline_are_recomputed_from_the_report(clock, make_assessment):
    store = InMemorySessionStore(SessionSettings(inline_fingerprints_bytes=0), clock=clock)
    manager = SessionManager(store, clock=clock)
    summary = manager.record_assessment("s1", make_assessment("a1", [("S3.8", "b", "FAIL")]))
    assert summary.fingerprints_inline is False
    record = manager.previous_assessment("s1")
    assert [f.resource for f in record.fingerprints] == ["b"]


def test_facts_update_per_key_and_none_clears_one(manager):
    manager.update_facts("s1", regions=["us-east-1"], services=["s3"])
    manager.update_facts("s1", framework="cis")
    facts = manager.update_facts("s1", services=None)
    assert facts.regions == ["us-east-1"]
    assert facts.framework == "cis"
    assert facts.services is None


def test_an_unknown_or_badly_typed_fact_is_refused_before_anything_is_written(manager):
    with pytest.raises(InvalidInput, match="unknown session fact"):
        manager.update_facts("s1", colour="blue")
    with pytest.raises(InvalidInput, match="invalid session fact value"):
        manager.update_facts("s1", regions="us-east-1,eu-west-1")
    assert manager.store.read_session("s1") is None


def test_an_id_that_could_not_be_a_key_is_refused(manager, make_assessment):
    with pytest.raises(InvalidInput):
        manager.record_assessment("bad#session", make_assessment("a1", []))
    with pytest.raises(InvalidInput):
        manager.record_assessment("s1", make_assessment("bad#id", []))


def test_session_attributes_carry_pointers_never_the_report(manager, make_assessment):
    manager.record_assessment("s1", make_assessment("a1", [("S3.8", f"b{i}", "FAIL") for i in range(500)]))
    attributes = manager.session_attributes("s1")
    assert attributes == {LAST_ASSESSMENT_ATTRIBUTE: "a1", "assessments_in_session": "1"}
    assert sum(len(k) + len(v) for k, v in attributes.items()) < 100
    assert last_assessment_from_attributes(attributes) == "a1"
    assert pointer_attributes(None) == {}
    with pytest.raises(InvalidInput):
        pointer_attributes("x" * 1000)


def test_the_configuration_chooses_the_store():
    assert (
        session_manager_from_config(load_config(environ={"SECURITY_AGENT__FEATURES__SESSION_HISTORY": "false"})) is None
    )
    local = session_manager_from_config(load_config(environ={}))
    assert isinstance(local.store, InMemorySessionStore)
    deployed = session_manager_from_config(
        load_config(environ={"SECURITY_AGENT__SESSIONS_TABLE": "sessions"}),
        client=object(),  # type: ignore[arg-type]
    )
    assert isinstance(deployed.store, DynamoDBSessionStore)
    assert deployed.store.table_name == "sessions"


def test_the_configured_session_ttl_decides_how_long_history_lives() -> None:
    # GIVEN a function configured (by the deploy) for a 15-minute idle session
    config = load_config(environ={"SECURITY_AGENT__SESSION_TTL_S": "900"})
    manager = session_manager_from_config(config)
    assert manager is not None
    before = time.time()
    manager.update_facts("s1", framework="cis")
    written = manager.store.read_session("s1")
    assert written is not None

    # THEN what it wrote expires 15 minutes after the write, not after the library default
    assert int(before) + 900 <= written.expires_at <= time.time() + 900
