"""DynamoDB throttling, down, refusing or hanging: the answer still arrives, within the request's
deadline, says that it has no session history and why, and never shows the store's internals.

GIVEN the real handler and the real DynamoDB session store over a botocore client that fails (the
Stubber for throttling, a client raising botocore's own errors for the rest)
WHEN the user asks for an assessment or a report page
THEN the turn is answered (200 with findings, or a clear error when the answer is nothing but
history), the store is asked once per turn, and no endpoint URL or table name reaches the model.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.stub import Stubber

from agent_config.session.dynamodb import DynamoDBSessionStore, client_config
from agent_config.session.settings import SessionSettings
from tests.unit.session.conversation import ask, script_assessments, session_notes, use_store

TABLE = "acme-prod-agent-sessions"
ENDPOINT = "https://dynamodb.eu-west-1.vpce-0abc123.example.internal"
ASSESS = "/security/assessment"
REPORT = "/security/reports/{assessment_id}"
SOME_REPORT = "asm-20261125120000-0000abcd"


class CountingClient:
    """A DynamoDB client that counts the requests made to it and answers each with `answer()`."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.calls: list[str] = []

    def _call(self, name: str, **kwargs: Any) -> Mapping[str, Any]:
        self.calls.append(name)
        return self.answer(name, kwargs)

    def get_item(self, **kwargs: Any) -> Mapping[str, Any]:
        return self._call("get_item", **kwargs)

    def batch_get_item(self, **kwargs: Any) -> Mapping[str, Any]:
        return self._call("batch_get_item", **kwargs)

    def put_item(self, **kwargs: Any) -> Mapping[str, Any]:
        return self._call("put_item", **kwargs)

    def batch_write_item(self, **kwargs: Any) -> Mapping[str, Any]:
        return self._call("batch_write_item", **kwargs)

    def update_item(self, **kwargs: Any) -> Mapping[str, Any]:
        return self._call("update_item", **kwargs)


def _raising(error: Exception) -> Any:
    def answer(name: str, kwargs: Mapping[str, Any]) -> Mapping[str, Any]:
        raise error

    return answer


def _client_error(code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 400}}, "Op")


FAILURES = {
    "endpoint-unreachable": (
        EndpointConnectionError(endpoint_url=ENDPOINT),
        "could not be reached",
    ),
    "table-missing": (
        _client_error("ResourceNotFoundException", f"Requested resource not found: Table: {TABLE} not found"),
        "the session table does not exist",
    ),
    "access-denied": (
        _client_error(
            "AccessDeniedException",
            f"User: arn:aws:sts::123456789012:assumed-role/agent is not authorized to perform: "
            f"dynamodb:GetItem on resource: arn:aws:dynamodb:eu-west-1:123456789012:table/{TABLE}",
        ),
        "not allowed to use the session table",
    ),
}


@pytest.fixture
def conversation(scripted_runtime: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    runtime, orchestrator = scripted_runtime
    script_assessments(monkeypatch, orchestrator, [[("S3.8", "public", "FAIL")]] * 3)
    return runtime


def _store(client: Any) -> DynamoDBSessionStore:
    return DynamoDBSessionStore(TABLE, client, SessionSettings(), sleep=lambda _: None)


def _shows_no_internals(body: dict[str, Any]) -> None:
    text = json.dumps(body)
    assert ENDPOINT not in text
    assert TABLE not in text
    assert "vpce" not in text


@pytest.mark.parametrize(("error", "why"), FAILURES.values(), ids=FAILURES.keys())
def test_with_dynamodb_failing_the_assessment_arrives_says_history_is_missing_and_asks_once(conversation, error, why):
    # GIVEN a session store whose every request fails this way
    client = CountingClient(_raising(error))
    use_store(conversation, _store(client))

    # WHEN the user asks for an assessment (which would read the scope, save, and compare)
    status, body = ask(ASSESS)

    # THEN the answer arrives with its findings, says it has no history and why, in plain words
    assert status == 200
    assert body["data"]["findings"]
    [note] = session_notes(body)
    assert note.startswith("answered without session history, because")
    assert why in note
    _shows_no_internals(body)
    # AND the failing store was asked once in the turn, not once per use of history
    assert len(client.calls) == 1


def test_with_dynamodb_down_a_report_page_says_the_history_could_not_be_read(conversation):
    use_store(conversation, _store(CountingClient(_raising(EndpointConnectionError(endpoint_url=ENDPOINT)))))

    status, body = ask(REPORT, {"assessment_id": SOME_REPORT, "page": "2"})

    assert status == 424  # a dependency failed: not "you asked for a report that does not exist"
    assert "could not be read, because the session store could not be reached" in body["message"]
    _shows_no_internals(body)


@pytest.fixture
def stubbed() -> Iterator[tuple[Stubber, CountingClient]]:
    client = boto3.client(
        "dynamodb",
        region_name="eu-west-1",
        aws_access_key_id="stub",
        aws_secret_access_key="stub",
        config=client_config(),
    )
    counting = CountingClient(lambda name, kwargs: getattr(client, name)(**kwargs))
    with Stubber(client) as stubber:
        yield stubber, counting


def test_with_dynamodb_throttling_past_the_retries_the_answer_arrives_and_says_so(conversation, stubbed):
    # GIVEN DynamoDB throttling every write of the assessment, more times than the store retries
    stubber, client = stubbed
    attempts = SessionSettings().throttle_retry.max_attempts
    for _ in range(attempts):
        stubber.add_client_error("batch_write_item", "ProvisionedThroughputExceededException", http_status_code=400)
    use_store(conversation, _store(client))

    # WHEN the user asks for an assessment of a named Region (no scope to read first)
    status, body = ask(ASSESS, {"regions": "us-east-1"})

    # THEN the answer arrives, and says the history is missing because of throttling
    assert status == 200
    assert body["data"]["findings"]
    [note] = session_notes(body)
    assert note.startswith("answered without session history, because")
    assert "kept throttling requests after several retries" in note
    # AND after the store gave up, the turn did not ask it again (to compare with the previous one)
    assert client.calls == ["batch_write_item"] * attempts
    stubber.assert_no_pending_responses()


def test_a_hanging_store_costs_the_turn_only_what_its_deadline_allows(conversation):
    # GIVEN a store whose requests hang (a black-holed endpoint), and a turn with 1.6 s of budget
    release = threading.Event()

    def hang(name: str, kwargs: Mapping[str, Any]) -> Mapping[str, Any]:
        release.wait(30)
        raise EndpointConnectionError(endpoint_url=ENDPOINT)

    client = CountingClient(hang)
    use_store(conversation, _store(client))
    seconds = conversation.config.lambda_safety_margin_s + 1.6
    try:
        # WHEN the user asks for an assessment
        started = time.monotonic()
        status, body = ask(ASSESS, seconds=seconds)
        elapsed = time.monotonic() - started
    finally:
        release.set()  # let the abandoned worker thread end

    # THEN the answer arrives within the turn's budget, without history, saying the store was too slow
    assert status == 200
    assert elapsed < 1.6
    assert session_notes(body) == ["answered without session history, because the session store did not answer in time"]
    assert client.calls == ["get_item"]  # the scope read was abandoned; nothing else was attempted
