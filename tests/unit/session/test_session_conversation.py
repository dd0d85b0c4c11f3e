"""Session history as a user meets it, turn by turn through the handler: the scope remembered from
earlier turns, what changed since the previous assessment, history kept alive by reading, and one
unreadable report that does not hide the rest.

GIVEN a conversation (the real handler, operations and session code; an in-memory store on a fake
clock; scripted findings)
WHEN the user asks in later turns
THEN the answers use what earlier turns established, and say so.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from agent_config import actions
from agent_config.response.engine import AnswerEngine
from agent_config.session.memory import InMemorySessionStore
from agent_config.session.settings import SessionSettings
from agent_config.session.store import SessionStore
from agent_config.session.table import report_chunk_sk
from tests.unit.session.conftest import FakeClock
from tests.unit.session.conversation import SESSION, ScriptedAssessments, ask, script_assessments, use_store

TTL = 600

ANALYSE_S3 = "/security/resources/{service}"
ASSESS = "/security/assessment"
COMPLIANCE = "/security/compliance/{framework}"
REPORT = "/security/reports/{assessment_id}"
SUMMARY = "/security/summary"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(clock: FakeClock) -> InMemorySessionStore:
    return InMemorySessionStore(SessionSettings(ttl_seconds=TTL), clock=clock, sleep=clock.sleep)


@pytest.fixture
def conversation(
    scripted_runtime: Any, monkeypatch: pytest.MonkeyPatch, store: InMemorySessionStore
) -> ScriptedAssessments:
    runtime, orchestrator = scripted_runtime
    use_store(runtime, store)
    return script_assessments(monkeypatch, orchestrator)


def _version(store: SessionStore, session: str = SESSION) -> int:
    record = store.read_session(session)
    return record.version if record else 0


# --- the scope of a request, from earlier in the conversation ------------------------------------


def test_an_assessment_without_regions_assesses_the_regions_of_the_conversation_and_says_so(conversation):
    # GIVEN a turn that analysed S3 in eu-west-1
    status, _ = ask(ANALYSE_S3, {"service": "s3", "region": "eu-west-1"})
    assert status == 200

    # WHEN the user then asks for an assessment without naming Regions
    status, body = ask(ASSESS)

    # THEN eu-west-1 is assessed, and the answer says the Regions came from earlier
    assert status == 200
    assert conversation.requests[-1].regions == ("eu-west-1",)
    assert body["data"]["regions"] == ["eu-west-1"]
    assert "taken from earlier in this conversation" in body["summary"]
    assert "eu-west-1" in body["data"]["scope_note"]


def test_regions_asked_for_win_and_a_new_conversation_uses_the_configured_defaults(conversation, scripted_runtime):
    runtime, _ = scripted_runtime
    ask(ANALYSE_S3, {"service": "s3", "region": "eu-west-1"})

    status, named = ask(ASSESS, {"regions": "ap-south-1"})
    _, fresh = ask(ASSESS, session="another-conversation")

    assert status == 200
    assert conversation.requests[1].regions == ("ap-south-1",)
    assert "scope_note" not in named["data"]
    assert list(conversation.requests[2].regions) == list(runtime.config.default_regions)
    assert "earlier in this conversation" not in fresh["summary"]


def test_a_service_analysis_without_a_region_uses_the_region_of_the_conversation(conversation):
    ask(ASSESS, {"regions": "eu-central-1"})

    status, body = ask(ANALYSE_S3, {"service": "s3"})

    assert status == 200
    assert conversation.requests[-1].regions == ("eu-central-1",)
    assert "taken from earlier in this conversation" in body["summary"]


def test_the_framework_asked_about_is_remembered_in_the_same_write_as_the_assessment(conversation, store):
    # GIVEN a conversation with no comprehensive assessment yet
    # WHEN the user asks about CIS (which runs one)
    status, _ = ask(COMPLIANCE, {"framework": "cis"})

    # THEN the framework is kept with the assessment, in one write of the session
    assert status == 200
    assert _version(store) == 1
    facts = store.read_session(SESSION).state.facts
    assert facts.framework == "cis"
    assert facts.last_assessment_id == conversation.made[0].assessment_id

    # AND asking about another framework later (answered from history) remembers that one
    status, _ = ask(COMPLIANCE, {"framework": "fsbp"})
    assert status == 200
    assert len(conversation.made) == 1
    assert store.read_session(SESSION).state.facts.framework == "fsbp"


def test_each_assessment_turn_writes_the_session_once(conversation, store):
    for turn in range(1, 4):
        status, _ = ask(ASSESS, {"regions": "us-east-1"})
        assert status == 200
        assert _version(store) == turn  # the assessment and its facts together, not two writes


# --- what changed since the previous assessment --------------------------------------------------


def test_what_changed_is_the_same_as_comparing_whole_reports_but_no_report_is_read(conversation, store):
    conversation.scripts += [
        [("S3.8", "public", "FAIL"), ("S3.8", "logs", "FAIL"), ("S3.9", "old", "FAIL")],
        [("S3.8", "public", "PASS"), ("S3.8", "logs", "FAIL"), ("S3.5", "new", "FAIL")],
    ]
    ask(ASSESS, {"regions": "us-east-1"})
    reads_before = store.stats.snapshot().get("report_chunks_read", 0)

    status, body = ask(ASSESS, {"regions": "us-east-1"})

    first, second = conversation.made
    assert status == 200
    assert body["data"]["changes_since_previous"] == AnswerEngine().create_contextual_analysis(second, first)
    assert body["data"]["changes_since_previous"]["resolved"]  # a real comparison, not an empty one
    assert store.stats.snapshot().get("report_chunks_read", 0) == reads_before


def test_what_changed_for_one_resource_compares_that_resource_only(conversation):
    conversation.scripts += [
        [("S3.8", "public", "FAIL"), ("S3.9", "logs", "FAIL")],
        [("S3.8", "public", "PASS"), ("S3.9", "logs", "PASS")],
    ]
    ask(ANALYSE_S3, {"service": "s3", "region": "us-east-1"})

    status, body = ask(ANALYSE_S3, {"service": "s3", "region": "us-east-1", "resource": "public"})

    first, second = conversation.made
    expected = AnswerEngine().create_contextual_analysis(
        actions._only_resource(second, "public"), actions._only_resource(first, "public")
    )
    assert status == 200
    assert body["data"]["changes_since_previous"] == expected
    assert expected["resolved"] == ["S3.8 (HIGH) on public in us-east-1"]


def test_the_executive_summary_says_what_changed_since_the_assessment_before(conversation):
    conversation.scripts += [[("S3.8", "public", "FAIL")], [("S3.8", "public", "PASS")]]
    ask(ASSESS, {"regions": "us-east-1"})
    ask(ASSESS, {"regions": "us-east-1"})

    status, body = ask(SUMMARY)

    first, second = conversation.made
    assert status == 200
    assert body["data"]["assessment_id"] == second.assessment_id
    assert body["data"]["changes_since_previous"] == AnswerEngine().create_contextual_analysis(second, first)


def test_the_executive_summary_reads_only_the_report_it_summarises(conversation, store):
    # GIVEN a comprehensive assessment, then two analyses of S3 alone
    conversation.scripts += [[("S3.8", "public", "FAIL")], [("S3.8", "public", "FAIL")], [("S3.8", "public", "FAIL")]]
    ask(ASSESS, {"regions": "us-east-1"})
    ask(ANALYSE_S3, {"service": "s3", "region": "us-east-1"})
    ask(ANALYSE_S3, {"service": "s3", "region": "us-east-1"})
    chunks_before = store.stats.snapshot().get("report_chunks_read", 0)

    # WHEN the summary is asked for
    status, _ = ask(SUMMARY)

    # THEN only the comprehensive assessment's report was read (chosen from the summaries in META)
    assert status == 200
    assert store.stats.snapshot().get("report_chunks_read", 0) - chunks_before == 1  # one small report, one chunk


def test_the_executive_summary_speaks_for_the_account_after_a_one_service_analysis(conversation):
    # GIVEN a comprehensive assessment, then an analysis of S3 alone
    conversation.scripts += [
        [("S3.8", "public", "FAIL"), ("IAM.5", "alice", "FAIL")],
        [("S3.8", "public", "FAIL")],
    ]
    ask(ASSESS, {"regions": "us-east-1"})
    ask(ANALYSE_S3, {"service": "s3", "region": "us-east-1"})

    # WHEN the user asks for the summary for stakeholders
    status, body = ask(SUMMARY)

    # THEN it summarises the whole account, and says so
    comprehensive, _ = conversation.made
    assert status == 200
    assert body["data"]["assessment_id"] == comprehensive.assessment_id
    assert body["data"]["scope"] == "every service"


# --- reading keeps the history alive ------------------------------------------------------------


def test_a_conversation_that_only_reads_keeps_its_history_as_long_as_bedrock_keeps_the_session(
    conversation, store, clock
):
    # GIVEN two conversations, each with an assessment, and a session TTL equal to Bedrock's idle TTL
    conversation.scripts += [[("S3.8", f"b{i}", "FAIL") for i in range(3)]] * 2
    ask(ASSESS, {"regions": "us-east-1"})
    ask(ASSESS, {"regions": "us-east-1"}, session="idle-conversation")
    reading = conversation.made[0].assessment_id
    idle = conversation.made[1].assessment_id

    # WHEN one of them keeps paging its report, a turn every 0.3 TTL, for twice the TTL
    versions = []
    for _ in range(6):
        clock.advance(0.3 * TTL)
        status, _ = ask(REPORT, {"assessment_id": reading, "page": "1"})
        assert status == 200
        versions.append(_version(store))
    store.sweep_expired()  # what DynamoDB's TTL process does with expired items

    # THEN its history is still there, and the other one's, with no turn since, is gone
    status, body = ask(REPORT, {"assessment_id": reading, "page": "1"})
    assert status == 200
    assert body["data"]["assessment_id"] == reading
    status, body = ask(REPORT, {"assessment_id": idle, "page": "1"}, session="idle-conversation")
    assert status == 400
    assert "expire" in body["message"]

    # AND reading is cheap: a write only when less than half the TTL was left (2 of the 6 turns)
    assert versions == [1, 2, 2, 3, 3, 4]


# --- one bad report ------------------------------------------------------------------------------


def _damage_report(store: InMemorySessionStore, session: str, assessment_id: str) -> None:
    """Flip the bytes of the report's first chunk, as a partial or corrupted write would leave it."""
    key = next(k for k in store._items if k[1] == report_chunk_sk(assessment_id, 0) and session in k[0])
    item = store._items[key]
    assert item.blob is not None
    store._items[key] = replace(item, blob=bytes(b ^ 0xFF for b in item.blob))


def test_one_unreadable_report_is_left_out_and_named_while_the_rest_of_the_history_answers(conversation, store):
    # GIVEN two assessments, the newer one's stored report damaged
    conversation.scripts += [[("S3.8", "public", "FAIL")], [("S3.8", "public", "PASS")]]
    ask(ASSESS, {"regions": "us-east-1"})
    ask(ASSESS, {"regions": "us-east-1"})
    older, newer = conversation.made
    _damage_report(store, SESSION, newer.assessment_id)

    # WHEN the user asks for the executive summary
    status, body = ask(SUMMARY)

    # THEN it is answered from the readable one, and says which one was left out and why
    assert status == 200
    assert body["data"]["assessment_id"] == older.assessment_id
    [note] = [d for d in body["degraded"] if d["server"] == "session_store"]
    assert newer.assessment_id in note["reason"]
    assert "integrity check" in note["reason"]

    # AND a finding of the readable assessment still gets its remediation plan
    finding_id = older.findings[0].finding_id
    status, body = ask("/security/remediation/{finding_id}", {"finding_id": finding_id})
    assert status == 200
    assert body["data"]["assessment_id"] == older.assessment_id
