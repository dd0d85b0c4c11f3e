"""The DynamoDB session store: the base class's five primitives over the low-level boto3 client.

The low-level client (not the `Table` resource) because the items carry binary chunks and exact
numbers, and because its errors and the botocore `Stubber` are the real API's. Two layers retry
throttling: botocore's adaptive mode (client-side rate limiting plus its own retries) on every
request, then the base class's jittered backoff when throttling outlasts those. Batch calls
resubmit what DynamoDB leaves unprocessed, which is how it reports partial throttling.

boto3 is imported only when a client is built, so importing this module costs a cold start
nothing.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from agent_config.session.settings import SessionSettings
from agent_config.session.store import (
    Clock,
    ItemKey,
    PreconditionFailed,
    RandomSource,
    SessionStore,
    Sleep,
    StoredItem,
    chunked,
)
from agent_config.session.table import (
    BLOB_ATTRIBUTE,
    DATA_ATTRIBUTE,
    HASH_ATTRIBUTE,
    PARTITION_KEY,
    SORT_KEY,
    TTL_ATTRIBUTE,
    VERSION_ATTRIBUTE,
)
from agent_config.utils.error_handling import AgentError, ConfigurationError, RateLimited, classify

if TYPE_CHECKING:
    from botocore.config import Config

BATCH_GET_KEYS = 40
"""BatchGetItem takes 100 keys but answers at most 16 MB: 40 chunks of 300 KB stay below it."""
BATCH_WRITE_ITEMS = 25
"""BatchWriteItem's limit (25 chunks of 300 KB are 7.5 MB, under its 16 MB request limit)."""
UNPROCESSED_ROUNDS = 6
"""Resubmissions of unprocessed batch entries before the batch counts as throttled."""

DEFAULT_CONNECT_TIMEOUT_S = 2.0
DEFAULT_READ_TIMEOUT_S = 5.0
DEFAULT_BOTOCORE_ATTEMPTS = 3
DEFAULT_MAX_POOL_CONNECTIONS = 32
"""Above botocore's 10, so twenty threads sharing one client do not queue for connections."""


class DynamoDBClient(Protocol):
    """The part of the boto3 DynamoDB client this store uses (a boto3 client satisfies it)."""

    def get_item(self, **kwargs: Any) -> Mapping[str, Any]: ...
    def batch_get_item(self, **kwargs: Any) -> Mapping[str, Any]: ...
    def put_item(self, **kwargs: Any) -> Mapping[str, Any]: ...
    def batch_write_item(self, **kwargs: Any) -> Mapping[str, Any]: ...
    def update_item(self, **kwargs: Any) -> Mapping[str, Any]: ...


def client_config(
    *,
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
    read_timeout_s: float = DEFAULT_READ_TIMEOUT_S,
    max_attempts: int = DEFAULT_BOTOCORE_ATTEMPTS,
    max_pool_connections: int = DEFAULT_MAX_POOL_CONNECTIONS,
) -> Config:
    """botocore settings for the session client: short timeouts (history must not hold the answer
    up), adaptive retries (backs off and rate-limits itself when throttled)."""
    from botocore.config import Config

    return Config(
        connect_timeout=connect_timeout_s,
        read_timeout=read_timeout_s,
        retries={"mode": "adaptive", "max_attempts": max_attempts},
        max_pool_connections=max_pool_connections,
    )


def dynamodb_client(region: str | None = None, config: Config | None = None, **client_kwargs: Any) -> Any:
    """A DynamoDB client with `client_config()`; `client_kwargs` go to `boto3.client` (for example
    `endpoint_url` and keys for the sandbox)."""
    import boto3

    return boto3.client("dynamodb", region_name=region, config=config or client_config(), **client_kwargs)


class DynamoDBSessionStore(SessionStore):
    backend: ClassVar[str] = "dynamodb"

    def __init__(
        self,
        table_name: str,
        client: DynamoDBClient | None = None,
        settings: SessionSettings | None = None,
        *,
        clock: Clock = time.time,
        sleep: Sleep = time.sleep,
        rng: RandomSource = random.random,
    ) -> None:
        super().__init__(settings, clock=clock, sleep=sleep, rng=rng)
        self.table_name = table_name
        self.client: DynamoDBClient = client if client is not None else dynamodb_client()

    # --- primitives -------------------------------------------------------------------------------

    def _get_item(self, key: ItemKey) -> StoredItem | None:
        response = self.client.get_item(TableName=self.table_name, Key=_key(key), ConsistentRead=True)
        item = response.get("Item")
        return _from_attributes(item) if item else None

    def _get_items(self, keys: Sequence[ItemKey]) -> list[StoredItem]:
        found: list[StoredItem] = []
        for group in chunked(list(keys), BATCH_GET_KEYS):
            request: dict[str, Any] = {self.table_name: {"Keys": [_key(k) for k in group], "ConsistentRead": True}}
            for round_number in range(1, UNPROCESSED_ROUNDS + 1):
                response = self.client.batch_get_item(RequestItems=request)
                found.extend(_from_attributes(i) for i in response.get("Responses", {}).get(self.table_name, []))
                request = dict(response.get("UnprocessedKeys") or {})
                if not request:
                    break
                self._back_off_unprocessed(round_number)
            else:
                raise RateLimited(f"BatchGetItem on {self.table_name} left keys unprocessed")
        return found

    def _put_item(self, item: StoredItem, expected_version: int | None) -> None:
        if expected_version is None:
            condition: dict[str, Any] = {"ConditionExpression": f"attribute_not_exists({PARTITION_KEY})"}
        else:
            condition = {
                "ConditionExpression": "#version = :expected",
                "ExpressionAttributeNames": {"#version": VERSION_ATTRIBUTE},
                "ExpressionAttributeValues": {":expected": {"N": str(expected_version)}},
            }
        try:
            self.client.put_item(TableName=self.table_name, Item=_to_attributes(item), **condition)
        except Exception as exc:
            if _error_code(exc) == "ConditionalCheckFailedException":
                raise PreconditionFailed(f"{item.key} is not at version {expected_version}") from exc
            raise

    def _put_items(self, items: Sequence[StoredItem]) -> None:
        for group in chunked(list(items), BATCH_WRITE_ITEMS):
            request: dict[str, Any] = {self.table_name: [{"PutRequest": {"Item": _to_attributes(i)}} for i in group]}
            for round_number in range(1, UNPROCESSED_ROUNDS + 1):
                response = self.client.batch_write_item(RequestItems=request)
                request = dict(response.get("UnprocessedItems") or {})
                if not request:
                    break
                self._back_off_unprocessed(round_number)
            else:
                raise RateLimited(f"BatchWriteItem on {self.table_name} left items unprocessed")

    def _refresh_expiry(self, key: ItemKey, expires_at: int) -> bool:
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=_key(key),
                UpdateExpression="SET #ttl = :ttl",
                ConditionExpression=f"attribute_exists({PARTITION_KEY})",
                ExpressionAttributeNames={"#ttl": TTL_ATTRIBUTE},
                ExpressionAttributeValues={":ttl": {"N": str(expires_at)}},
            )
        except Exception as exc:
            if _error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _classify(self, exc: Exception) -> AgentError:
        if _error_code(exc) == "ResourceNotFoundException":
            error = ConfigurationError(f"the session table {self.table_name!r} does not exist")
            error.__cause__ = exc
            return error
        return classify(exc)

    def _back_off_unprocessed(self, round_number: int) -> None:
        self.stats.add("unprocessed_batch_retries")
        self._sleep(self._jitter(self.settings.throttle_retry, round_number))


def _error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore `ClientError` (read by shape: botocore is not imported)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def _key(key: ItemKey) -> dict[str, Any]:
    return {PARTITION_KEY: {"S": key[0]}, SORT_KEY: {"S": key[1]}}


def _to_attributes(item: StoredItem) -> dict[str, Any]:
    attributes: dict[str, Any] = {**_key(item.key), TTL_ATTRIBUTE: {"N": str(item.expires_at)}}
    if item.version is not None:
        attributes[VERSION_ATTRIBUTE] = {"N": str(item.version)}
    if item.data is not None:
        attributes[DATA_ATTRIBUTE] = {"S": item.data}
    if item.blob is not None:
        attributes[BLOB_ATTRIBUTE] = {"B": item.blob}
    if item.sha256 is not None:
        attributes[HASH_ATTRIBUTE] = {"S": item.sha256}
    return attributes


def _from_attributes(attributes: Mapping[str, Any]) -> StoredItem:
    def number(name: str) -> int | None:
        value = attributes.get(name)
        return int(value["N"]) if value else None

    def text(name: str) -> str | None:
        value = attributes.get(name)
        return str(value["S"]) if value else None

    blob = attributes.get(BLOB_ATTRIBUTE)
    return StoredItem(
        pk=str(attributes[PARTITION_KEY]["S"]),
        sk=str(attributes[SORT_KEY]["S"]),
        expires_at=number(TTL_ATTRIBUTE) or 0,
        version=number(VERSION_ATTRIBUTE),
        data=text(DATA_ATTRIBUTE),
        blob=bytes(blob["B"]) if blob else None,
        sha256=text(HASH_ATTRIBUTE),
    )
