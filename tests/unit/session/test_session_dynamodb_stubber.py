"""The DynamoDB store's requests and its reading of DynamoDB's answers, checked by botocore's Stubber
(which validates every request against the service model): throttling, conditions, missing table,
unprocessed batch entries.

GIVEN a real botocore DynamoDB client whose answers are scripted by the Stubber
WHEN the store reads and writes
THEN throttling is retried with backoff and then succeeds (or ends as a throttled store), a failed
condition is a conflict, and a missing table is named as such.
"""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.stub import ANY, Stubber

from agent_config.session.dynamodb import DynamoDBSessionStore, client_config
from agent_config.session.errors import (
    SessionConflict,
    SessionStoreThrottled,
    SessionStoreUnavailable,
    SessionTableMissing,
)
from agent_config.session.settings import SessionSettings
from agent_config.session.store import StoredItem
from agent_config.utils.error_handling import ErrorKind

TABLE = "sessions"
META_KEY = {"pk": {"S": "SESSION#s1"}, "sk": {"S": "META"}}


@pytest.fixture
def stubbed(clock) -> Iterator[tuple[DynamoDBSessionStore, Stubber]]:
    client = boto3.client(
        "dynamodb",
        region_name="us-east-1",
        aws_access_key_id="stub",
        aws_secret_access_key="stub",
        config=client_config(),
    )
    store = DynamoDBSessionStore(TABLE, client, SessionSettings(), clock=clock, sleep=clock.sleep, rng=lambda: 1.0)
    with Stubber(client) as stubber:
        yield store, stubber
        stubber.assert_no_pending_responses()


def _meta_item(version: int, expires_at: int) -> dict:
    state = '{"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}'
    return {
        **META_KEY,
        "version": {"N": str(version)},
        "expires_at": {"N": str(expires_at)},
        "data": {"S": state},
    }


@pytest.mark.parametrize(
    "code", ["ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"]
)
def test_a_read_throttled_twice_is_retried_with_backoff_and_succeeds(stubbed, clock, code):
    store, stubber = stubbed
    expected = {"TableName": TABLE, "Key": META_KEY, "ConsistentRead": True}
    stubber.add_client_error("get_item", service_error_code=code, http_status_code=400, expected_params=expected)
    stubber.add_client_error("get_item", service_error_code=code, http_status_code=400, expected_params=expected)
    stubber.add_response("get_item", {"Item": _meta_item(4, int(clock.now) + 100)}, expected)
    record = store.read_session("s1")
    assert record.version == 4
    assert store.stats.snapshot()["throttle_retries"] == 2
    assert clock.sleeps == [0.05, 0.1]  # full jitter at its ceiling (rng = 1.0): 0.05 * 2**(n-1)


def test_throttling_beyond_the_attempts_ends_as_a_throttled_store(stubbed):
    store, stubber = stubbed
    for _ in range(SessionSettings().throttle_retry.max_attempts):
        stubber.add_client_error("get_item", "ProvisionedThroughputExceededException", http_status_code=400)
    with pytest.raises(SessionStoreThrottled) as raised:
        store.read_session("s1")
    assert raised.value.kind is ErrorKind.RATE_LIMIT
    assert "throttling" in raised.value.as_degraded().reason


def test_a_missing_table_is_reported_as_such(stubbed):
    store, stubber = stubbed
    stubber.add_client_error("get_item", "ResourceNotFoundException", "Requested resource not found", 400)
    with pytest.raises(SessionTableMissing) as raised:
        store.read_session("s1")
    assert "sessions" in raised.value.message
    assert raised.value.kind is ErrorKind.CONFIGURATION


def test_meta_writes_carry_the_version_condition_and_a_failed_condition_is_a_conflict(stubbed, clock):
    store, stubber = stubbed
    stubber.add_client_error(
        "put_item",
        "ConditionalCheckFailedException",
        http_status_code=400,
        expected_params={
            "TableName": TABLE,
            "Item": ANY,
            "ConditionExpression": "#version = :expected",
            "ExpressionAttributeNames": {"#version": "version"},
            "ExpressionAttributeValues": {":expected": {"N": "3"}},
        },
    )
    state = {"created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}
    with pytest.raises(SessionConflict):
        store.save("s1", state, expected_version=3)


def test_a_new_session_is_created_only_if_absent(stubbed):
    store, stubber = stubbed
    stubber.add_response(
        "put_item",
        {},
        {"TableName": TABLE, "Item": ANY, "ConditionExpression": "attribute_not_exists(pk)"},
    )
    state = {"created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}
    assert store.save("s1", state, expected_version=None) == 1


def test_unprocessed_batch_writes_are_resubmitted(stubbed, clock):
    store, stubber = stubbed
    items = [StoredItem("SESSION#s1", f"REPORT#a#{i:04d}", 99, blob=b"x", sha256="h") for i in range(3)]
    left_over = {TABLE: [{"PutRequest": {"Item": {"pk": {"S": "SESSION#s1"}, "sk": {"S": "REPORT#a#0002"}}}}]}
    stubber.add_response("batch_write_item", {"UnprocessedItems": left_over})
    stubber.add_response("batch_write_item", {"UnprocessedItems": {}}, {"RequestItems": left_over})
    store._put_items(items)
    assert store.stats.snapshot()["unprocessed_batch_retries"] == 1


def test_the_ttl_refresh_is_conditional_on_the_item_existing(stubbed):
    store, stubber = stubbed
    key = {"pk": {"S": "SESSION#s1"}, "sk": {"S": "ASSESSMENT#a"}}
    stubber.add_client_error("update_item", "ConditionalCheckFailedException", http_status_code=400)
    stubber.add_response(
        "update_item",
        {},
        {
            "TableName": TABLE,
            "Key": key,
            "UpdateExpression": "SET #ttl = :ttl",
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeNames": {"#ttl": "expires_at"},
            "ExpressionAttributeValues": {":ttl": {"N": "1234"}},
        },
    )
    assert store._refresh_expiry(("SESSION#s1", "ASSESSMENT#a"), 1234) is False
    assert store._refresh_expiry(("SESSION#s1", "ASSESSMENT#a"), 1234) is True


def test_access_denied_is_reported_as_a_permission_problem_without_retrying(stubbed, clock):
    store, stubber = stubbed
    stubber.add_client_error("get_item", "AccessDeniedException", "not authorized to perform dynamodb:GetItem", 400)
    with pytest.raises(SessionStoreUnavailable) as raised:
        store.read_session("s1")
    assert raised.value.kind is ErrorKind.PERMISSION
    assert clock.sleeps == []
    assert "not allowed" in raised.value.as_degraded().reason
