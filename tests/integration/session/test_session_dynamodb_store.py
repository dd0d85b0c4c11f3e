"""The DynamoDB session store against the sandbox's moto server, over HTTP (the real API).

GIVEN a session table created exactly as the deploy script creates it, on a moto server
WHEN sessions are written and read through the real boto3 client
THEN reports of several MB round-trip whole, every item carries its TTL, twenty concurrent writers
all land, and a missing table or a dead endpoint gives a typed "unavailable" the answer can use.
"""

from __future__ import annotations

import multiprocessing
import socket
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest

from agent_config.sandbox.local_aws import LOOPBACK
from agent_config.session.dynamodb import DynamoDBSessionStore
from agent_config.session.errors import (
    SessionError,
    SessionStoreUnavailable,
    SessionStoreUnreachable,
    SessionTableMissing,
)
from agent_config.session.manager import SessionManager
from agent_config.session.settings import SessionSettings
from agent_config.session.table import ITEM_LIMIT_BYTES, TTL_ATTRIBUTE
from agent_config.utils.error_handling import ErrorKind

pytestmark = pytest.mark.integration

WRITERS = 20


def _raw_items(dynamodb, table: str, session_id: str) -> list[dict]:
    response = dynamodb.query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"SESSION#{session_id}"}},
        ConsistentRead=True,
    )
    items = list(response["Items"])
    while "LastEvaluatedKey" in response:
        response = dynamodb.query(
            TableName=table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"SESSION#{session_id}"}},
            ConsistentRead=True,
            ExclusiveStartKey=response["LastEvaluatedKey"],
        )
        items.extend(response["Items"])
    return items


def test_an_assessment_round_trips_with_its_facts_and_history(make_store, make_big_assessment):
    manager = SessionManager(make_store())
    assessment = make_big_assessment("asm-1", 50_000)
    manager.record_assessment("sess-1", assessment)
    manager.update_facts("sess-1", regions=["us-east-1"], framework="cis")
    other_container = SessionManager(make_store())  # a second client: nothing is cached in memory
    assert other_container.load_report("sess-1", "asm-1") == assessment.model_dump(mode="json")
    assert other_container.facts("sess-1").framework == "cis"
    assert other_container.facts("sess-1").last_assessment_id == "asm-1"
    previous = other_container.previous_assessment("sess-1")
    assert len(previous.fingerprints) == len(assessment.findings)


def test_a_three_megabyte_report_round_trips_whole_in_chunks_under_the_item_limit(
    make_store, make_big_assessment, dynamodb, table
):
    store = make_store()
    manager = SessionManager(store)
    assessment = make_big_assessment("asm-big", 3_000_000, noise_bytes=400)
    document = assessment.model_dump(mode="json")

    started = time.perf_counter()
    summary = manager.record_assessment("sess-big", assessment)
    written = time.perf_counter()
    loaded = SessionManager(make_store()).load_report("sess-big", "asm-big")
    read = time.perf_counter()

    assert loaded == document
    manifest = summary.report
    assert manifest.raw_bytes > 3_000_000 > ITEM_LIMIT_BYTES
    assert manifest.chunks >= 3
    chunk_items = [i for i in _raw_items(dynamodb, table, "sess-big") if i["sk"]["S"].startswith("REPORT#")]
    assert len(chunk_items) == manifest.chunks
    assert all(len(i["blob"]["B"]) <= SessionSettings().chunk_bytes for i in chunk_items)
    print(
        f"\n3 MB report: raw {manifest.raw_bytes} B, stored {manifest.stored_bytes} B in {manifest.chunks} "
        f"chunks; record {written - started:.3f} s, load {read - written:.3f} s"
    )


def test_a_realistic_three_megabyte_report_compresses_below_one_item_and_round_trips(make_store, make_big_assessment):
    manager = SessionManager(make_store())
    assessment = make_big_assessment("asm-real", 3_000_000)
    started = time.perf_counter()
    summary = manager.record_assessment("sess-real", assessment)
    written = time.perf_counter()
    assert manager.load_report("sess-real", "asm-real") == assessment.model_dump(mode="json")
    read = time.perf_counter()
    print(
        f"\nrealistic 3 MB report: raw {summary.report.raw_bytes} B, stored {summary.report.stored_bytes} B "
        f"in {summary.report.chunks} chunk(s); record {written - started:.3f} s, load {read - written:.3f} s"
    )


def test_every_item_carries_the_ttl_attribute_and_the_table_has_ttl_on_it(make_store, dynamodb, table):
    store = make_store(SessionSettings(ttl_seconds=900))
    manager = SessionManager(store)
    before = int(time.time())
    manager.record_assessment("sess-ttl", {"assessment_id": "a1", "findings": []})
    after = int(time.time())
    ttl = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": TTL_ATTRIBUTE}
    items = {i["sk"]["S"]: int(i[TTL_ATTRIBUTE]["N"]) for i in _raw_items(dynamodb, table, "sess-ttl")}
    assert set(items) == {"META", "ASSESSMENT#a1", "REPORT#a1#0000"}
    assert before + 900 <= items["META"] <= after + 900
    assert before + 1800 <= items["ASSESSMENT#a1"] <= after + 1800  # assessment items outlive META


def test_an_expired_session_not_yet_deleted_by_dynamodb_reads_as_empty(make_store):
    now = [time.time()]
    store = make_store(SessionSettings(ttl_seconds=60), clock=lambda: now[0])
    manager = SessionManager(store, clock=lambda: now[0])
    manager.update_facts("sess-old", framework="cis")
    now[0] += 61  # moto, like DynamoDB, keeps the item for a while after it expires
    assert manager.facts("sess-old").framework is None
    manager.update_facts("sess-old", framework="fsbp")  # the version condition still holds
    assert store.read_session("sess-old").version == 2


def test_twenty_concurrent_writers_to_one_session_all_land(make_store, make_big_assessment):
    stores = [make_store() for _ in range(WRITERS)]  # one client each, like separate containers
    barrier = threading.Barrier(WRITERS)
    assessments = [make_big_assessment(f"asm-{i:02d}", 2_000, seed=i) for i in range(WRITERS)]

    def writer(i: int) -> None:
        manager = SessionManager(stores[i])
        barrier.wait(timeout=30)
        manager.record_assessment("sess-busy", assessments[i])
        manager.update_facts("sess-busy", framework=f"framework-{i}")

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        for future in [pool.submit(writer, i) for i in range(WRITERS)]:
            future.result(timeout=120)  # re-raises a writer's error here
    elapsed = time.perf_counter() - started

    reader = SessionManager(make_store())
    assert sorted(s.assessment_id for s in reader.assessments("sess-busy")) == [f"asm-{i:02d}" for i in range(WRITERS)]
    assert reader.store.read_session("sess-busy").version == 2 * WRITERS  # every write landed
    assert reader.facts("sess-busy").framework in {f"framework-{i}" for i in range(WRITERS)}
    assert reader.facts("sess-busy").last_assessment_id == "asm-19"  # newest by created_at
    for i in (0, WRITERS - 1):
        assert reader.load_report("sess-busy", f"asm-{i:02d}")["assessment_id"] == f"asm-{i:02d}"

    totals: dict[str, int] = {}
    for store in stores:
        for name, count in store.stats.snapshot().items():
            totals[name] = totals.get(name, 0) + count
    attempts = {int(k.split("_")[2]): n for k, n in totals.items() if k.startswith("won_after_")}
    attempts[1] = totals["session_writes"] - sum(attempts.values())
    print(
        f"\n{WRITERS} concurrent writers (2 writes each): {elapsed:.2f} s, "
        f"conflicts {totals.get('conflicts', 0)}, writes {totals['session_writes']}, "
        f"writes by attempts needed {dict(sorted(attempts.items()))}"
    )
    assert totals["session_writes"] == 2 * WRITERS


def _write_from_another_process(endpoint_url: str, table: str, index: int, start_at: float) -> int:
    """One Lambda container's turn, in its own process: its own client, its own clock, one write."""
    from tests.integration.session.conftest import big_assessment, make_client

    manager = SessionManager(DynamoDBSessionStore(table, make_client(endpoint_url)))
    time.sleep(max(0.0, start_at - time.time()))  # all processes start writing together
    manager.record_assessment("sess-procs", big_assessment(f"asm-p{index:02d}", 2_000, seed=index))
    return manager.store.stats.snapshot().get("conflicts", 0)


def test_twenty_writer_processes_to_one_session_all_land(session_aws, table, make_store):
    # GIVEN twenty processes (as twenty Lambda containers) writing to one session at the same moment
    start_at = time.time() + 5.0
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=WRITERS, mp_context=context) as pool:
        futures = [
            pool.submit(_write_from_another_process, session_aws.endpoint_url, table, i, start_at)
            for i in range(WRITERS)
        ]
        conflicts = sum(future.result(timeout=180) for future in futures)

    # THEN every assessment is in the session, none overwrote another
    reader = SessionManager(make_store())
    landed = sorted(s.assessment_id for s in reader.assessments("sess-procs"))
    assert landed == [f"asm-p{i:02d}" for i in range(WRITERS)]
    assert reader.store.read_session("sess-procs").version == WRITERS
    print(f"\n{WRITERS} writer processes: {conflicts} conflicts, all re-read and merged")


def test_a_missing_table_gives_a_typed_unavailable_the_answer_can_explain(session_aws, client_for):
    store = DynamoDBSessionStore("no-such-table", client_for(session_aws.endpoint_url))
    manager = SessionManager(store)
    with pytest.raises(SessionTableMissing) as raised:
        manager.facts("sess-1")
    assert raised.value.kind is ErrorKind.CONFIGURATION
    with pytest.raises(SessionTableMissing):
        manager.record_assessment("sess-1", {"assessment_id": "a1", "findings": []})
    note = raised.value.as_degraded()
    assert note.reason == "answered without session history, because the session table does not exist"


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]  # closed when the block ends: nothing listens there


def test_a_dead_endpoint_gives_an_unreachable_store_quickly(client_for):
    client = client_for(f"http://{LOOPBACK}:{_closed_port()}", max_attempts=2)
    manager = SessionManager(DynamoDBSessionStore("sessions", client))
    started = time.perf_counter()
    with pytest.raises(SessionStoreUnreachable) as raised:
        manager.previous_assessment("sess-1")
    elapsed = time.perf_counter() - started
    assert isinstance(raised.value, SessionStoreUnavailable)
    assert raised.value.kind is ErrorKind.CONNECTION
    assert elapsed < 10
    print(f"\nDynamoDB down: unavailable after {elapsed:.2f} s")


def test_an_answer_degrades_instead_of_failing_when_the_store_is_down(make_big_assessment, client_for):
    """The pattern the handler follows: catch SessionError, answer, and say what is missing."""
    client = client_for(f"http://{LOOPBACK}:{_closed_port()}", max_attempts=1)
    manager = SessionManager(DynamoDBSessionStore("sessions", client))
    current = make_big_assessment("asm-now", 5_000)
    degraded = []
    try:
        changes = manager.changes_since_previous("sess-1", current)
    except SessionError as error:
        changes = None
        degraded.append(error.as_degraded())
    assert changes is None
    assert [d.server for d in degraded] == ["session_store"]
    assert "could not be reached" in degraded[0].reason
