"""The session table: its design, as prose (copy it to the README) and as data (the deploy script and
the tests create the table from `table_definition()`, so there is one definition).

## Session table

One DynamoDB table, on-demand capacity (`PAY_PER_REQUEST`): sessions are bursty and mostly idle,
so provisioned capacity would be paid for and unused.

| attribute    | type | meaning                                                                    |
|--------------|------|----------------------------------------------------------------------------|
| `pk`         | S    | partition key: `SESSION#<session_id>` (the Bedrock session id)             |
| `sk`         | S    | sort key: which record of the session, see below                           |
| `expires_at` | N    | epoch seconds; the table's TTL attribute                                   |
| `version`    | N    | META only: optimistic-locking counter, +1 on every write                   |
| `data`       | S    | JSON: META's session state, or an ASSESSMENT's summary                     |
| `blob`       | B    | zlib-compressed JSON: an ASSESSMENT's finding fingerprints, or a REPORT chunk |
| `sha256`     | S    | REPORT chunks: hash of the whole report they belong to                     |

Records of one session (all under the same `pk`, so a session is one item collection):

| `sk`                                 | holds                                                   |
|--------------------------------------|---------------------------------------------------------|
| `META`                               | the session: `version`; conversation facts (regions and |
|                                      | services in scope, last framework, last assessment id); |
|                                      | one summary per assessment (id, time, scores, counts,   |
|                                      | the report's manifest: hash, sizes, chunk count)        |
| `ASSESSMENT#<assessment_id>`         | one assessment's summary and a fingerprint per finding  |
|                                      | (hash of control id + resource + region, with status    |
|                                      | and severity)                                           |
| `REPORT#<assessment_id>#<chunk:04d>` | the full report (any JSON document), compressed and cut |
|                                      | into chunks of at most 300 KB                           |

- **Item size.** DynamoDB items are limited to 400 KB. A report is serialised as canonical JSON,
  compressed (zlib) and split into 300 KB chunks; it is read back whole and checked against the
  SHA-256 recorded in its manifest, so a partial or mixed report is refused, never returned.
- **Commit point.** Chunks and the ASSESSMENT item are written first, META last (conditionally):
  an assessment exists for readers only once META lists it. A writer that dies half-way leaves
  unlisted items that the TTL removes.
- **Optimistic locking.** Every META write is conditional: `attribute_not_exists(pk)` for a new
  session, `version = :expected` after that. A writer that loses re-reads META, re-applies its
  change (append the assessment summary; set the facts it sets, last writer wins per fact) and
  tries again, with jittered backoff, a bounded number of times. Nothing is overwritten blindly.
- **TTL.** `expires_at` = now + the idle session TTL (default 3600 s; Bedrock allows 60 to 5400 s)
  on every item written. Every META write refreshes META's expiry and, at most once per half TTL,
  the expiry of the assessments' items it lists, so the records of a live session do not expire
  under it. DynamoDB deletes expired items lazily (typically within days), so readers treat an
  item whose `expires_at` has passed as absent.
- **Encryption.** DynamoDB encrypts every table at rest; the default (AWS owned key) is kept.
- **Access.** GetItem and BatchGetItem (strongly consistent), PutItem (conditional),
  BatchWriteItem, UpdateItem (TTL refresh). No scans, no indexes.
"""

from __future__ import annotations

import re
from typing import Any, Final

from agent_config.utils.error_handling import InvalidInput

PARTITION_KEY: Final = "pk"
SORT_KEY: Final = "sk"
TTL_ATTRIBUTE: Final = "expires_at"
VERSION_ATTRIBUTE: Final = "version"
DATA_ATTRIBUTE: Final = "data"
BLOB_ATTRIBUTE: Final = "blob"
HASH_ATTRIBUTE: Final = "sha256"

SESSION_PREFIX: Final = "SESSION#"
META_SK: Final = "META"
ASSESSMENT_PREFIX: Final = "ASSESSMENT#"
REPORT_PREFIX: Final = "REPORT#"

DEFAULT_TTL_SECONDS: Final = 3600
ITEM_LIMIT_BYTES: Final = 400 * 1024
"""DynamoDB's item size limit (attribute names and values together)."""
DEFAULT_CHUNK_BYTES: Final = 300_000
"""Leaves room under the 400 KB limit for the keys and the other attributes of a chunk item."""
MAX_CHUNKS: Final = 10_000
"""`<chunk:04d>` in the sort key: indexes 0000 to 9999."""

REQUIRED_IAM_ACTIONS: Final = (
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:PutItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:UpdateItem",
)
"""What the Lambda's role needs on the table (and nothing more: no Scan, no Query, no Delete)."""

_ID_PATTERN = re.compile(r"^[0-9A-Za-z._:-]{1,128}$")
"""Bedrock session ids are 2-100 of `[0-9a-zA-Z._:-]`; assessment ids use the same alphabet.
`#` is excluded because it separates the parts of a key."""


def validate_id(what: str, value: str) -> str:
    """Refuse ids that could not be keys (empty, too long, or containing the `#` separator)."""
    if not _ID_PATTERN.fullmatch(value):
        raise InvalidInput(f"invalid {what} {value!r}: use 1-128 characters of [0-9A-Za-z._:-]")
    return value


def session_pk(session_id: str) -> str:
    return SESSION_PREFIX + validate_id("session id", session_id)


def assessment_sk(assessment_id: str) -> str:
    return ASSESSMENT_PREFIX + validate_id("assessment id", assessment_id)


def report_chunk_sk(assessment_id: str, index: int) -> str:
    if not 0 <= index < MAX_CHUNKS:
        raise InvalidInput(f"report chunk index {index} is outside 0..{MAX_CHUNKS - 1}")
    return f"{REPORT_PREFIX}{validate_id('assessment id', assessment_id)}#{index:04d}"


def table_definition(table_name: str) -> dict[str, Any]:
    """The keyword arguments of `dynamodb.create_table` for the session table."""
    return {
        "TableName": table_name,
        "KeySchema": [
            {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
        ],
        "AttributeDefinitions": [
            {"AttributeName": PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": SORT_KEY, "AttributeType": "S"},
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }


def time_to_live_definition(table_name: str) -> dict[str, Any]:
    """The keyword arguments of `dynamodb.update_time_to_live` (run once the table is ACTIVE)."""
    return {
        "TableName": table_name,
        "TimeToLiveSpecification": {"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
    }


def create_session_table(client: Any, table_name: str) -> None:
    """Create the table exactly as designed, wait until it is active, then turn TTL on.

    For the sandbox, the tests and the deploy script; the Lambda never creates tables.
    """
    client.create_table(**table_definition(table_name))
    client.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    client.update_time_to_live(**time_to_live_definition(table_name))
