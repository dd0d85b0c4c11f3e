"""The boto3 fallback within the request's deadline.

The clients are real botocore clients (real CLI-to-API translation, real paginators); only the
network is replaced, by a `before-send` hook answering DynamoDB `ListTables` pages after a delay, so
a test decides how slow each Region is and how many pages it has.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anyio
import boto3
import pytest
from botocore.awsrequest import AWSResponse

from agent_config.checks.evidence import ApiCall
from agent_config.checks.services._common import NOT_COLLECTED, missing_reason
from agent_config.integrations.direct_api import DirectApi, default_client_factory
from agent_config.orchestration.deadline import Deadline

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


class FakeDynamoDB:
    """`ListTables` per Region: `(seconds per page, pages)`; `pages=None` means endless."""

    def __init__(self, regions: dict[str, tuple[float, int | None]]) -> None:
        self.regions = regions
        self.pages_served: dict[str, int] = {}
        self._lock = threading.Lock()

    def client(self, service: str, region: str) -> Any:
        assert service == "dynamodb"
        client = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region
        ).client("dynamodb")
        client.meta.events.register("before-send.dynamodb.ListTables", self._answer(region))
        return client

    def _answer(self, region: str) -> Any:
        page_s, pages = self.regions[region]

        def send(request: Any, **_: Any) -> AWSResponse:
            time.sleep(page_s)  # bounded: a fraction of a second per page
            with self._lock:
                served = self.pages_served.get(region, 0) + 1
                self.pages_served[region] = served
            body: dict[str, Any] = {"TableNames": [f"{region}-table-{served}"]}
            if pages is None or served < pages:
                body["LastEvaluatedTableName"] = f"{region}-table-{served}"
            return AWSResponse(request.url, 200, {"x-amzn-RequestId": "1"}, _Body(json.dumps(body).encode()))

        return send


def _list_tables(region: str) -> ApiCall:
    return ApiCall.of("dynamodb", "list-tables", region=region)


async def test_a_deadline_that_ends_mid_collection_keeps_what_was_read_and_says_what_is_missing() -> None:
    # GIVEN one call at a time: a quick Region, one with endless 0.1 s pages, and one more after it
    fake = FakeDynamoDB({"us-east-1": (0.05, 1), "eu-west-1": (0.1, None), "eu-central-1": (0.05, 1)})
    direct = DirectApi(fake.client, max_concurrency=1)
    calls = [_list_tables("us-east-1"), _list_tables("eu-west-1"), _list_tables("eu-central-1")]

    # WHEN they are collected under a 1 s deadline
    started = time.perf_counter()
    with anyio.fail_after(5):
        quick, paged, late = await direct.collect(calls, "us-east-1", Deadline.after(1.0))
    elapsed = time.perf_counter() - started

    # THEN the answer comes by the deadline
    assert elapsed < 1.2
    # AND the quick Region's evidence is complete
    assert quick.ok and quick.response == {"TableNames": ["us-east-1-table-1"]}
    assert quick.error_message is None
    # AND the endless listing keeps the pages it read, flagged as incomplete and why
    assert paged.ok and paged.response is not None
    assert paged.response["Truncated"] is True
    assert len(paged.response["TableNames"]) == fake.pages_served["eu-west-1"] >= 1
    assert "incomplete" in (paged.error_message or "") and "deadline" in (paged.error_message or "")
    # AND the call the deadline left out is reported as not collected (checks say MANUAL: not collected)
    assert late.error_code == NOT_COLLECTED
    assert "deadline" in (late.error_message or "")
    assert missing_reason(late) == "dynamodb:ListTables was not collected"
    assert "eu-central-1" not in fake.pages_served  # never sent


async def test_a_call_still_running_at_the_deadline_is_given_up_and_reported() -> None:
    # GIVEN a Region whose only page takes 2 s
    fake = FakeDynamoDB({"us-east-1": (2.0, 1)})
    direct = DirectApi(fake.client)

    # WHEN it is read with 0.5 s left
    started = time.perf_counter()
    with anyio.fail_after(5):
        [item] = await direct.collect([_list_tables("us-east-1")], "us-east-1", Deadline.after(0.5))

    # THEN the answer does not wait for it
    assert time.perf_counter() - started < 0.9
    assert item.error_code == NOT_COLLECTED
    assert "given up" in (item.error_message or "")


async def test_without_a_deadline_every_page_is_read() -> None:
    fake = FakeDynamoDB({"us-east-1": (0.0, 3)})

    with anyio.fail_after(5):
        [item] = await DirectApi(fake.client).collect([_list_tables("us-east-1")], "us-east-1")

    assert item.ok and item.response is not None
    assert item.response["TableNames"] == [f"us-east-1-table-{n}" for n in (1, 2, 3)]
    assert "Truncated" not in item.response


def test_clients_made_from_many_threads_at_once_are_made_once_per_service_and_region() -> None:
    # GIVEN the default factory, whose boto3 Session is not thread-safe
    factory = default_client_factory()
    barrier = threading.Barrier(8)

    def make(_: int) -> Any:
        barrier.wait(timeout=10)
        return factory("sts", "us-east-1")

    # WHEN eight threads ask for the same client at the same moment
    with ThreadPoolExecutor(8) as pool:
        clients = list(pool.map(make, range(8), timeout=30))

    # THEN one client was made and shared
    assert len({id(client) for client in clients}) == 1
