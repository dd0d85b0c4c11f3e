"""The table design as data: the deploy script and the tests create exactly this table.

GIVEN the design in agent_config.session.table
THEN its create_table and TTL arguments, keys and id rules are what the README documents.
"""

from __future__ import annotations

import pytest

from agent_config.session.table import (
    REQUIRED_IAM_ACTIONS,
    TTL_ATTRIBUTE,
    assessment_sk,
    report_chunk_sk,
    session_pk,
    table_definition,
    time_to_live_definition,
)
from agent_config.utils.error_handling import InvalidInput


def test_the_table_has_string_pk_and_sk_and_on_demand_capacity():
    definition = table_definition("sessions")
    assert definition["TableName"] == "sessions"
    assert definition["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert {a["AttributeName"]: a["AttributeType"] for a in definition["AttributeDefinitions"]} == {
        "pk": "S",
        "sk": "S",
    }
    assert definition["BillingMode"] == "PAY_PER_REQUEST"
    assert "ProvisionedThroughput" not in definition


def test_ttl_is_on_the_expires_at_attribute():
    assert TTL_ATTRIBUTE == "expires_at"
    assert time_to_live_definition("sessions") == {
        "TableName": "sessions",
        "TimeToLiveSpecification": {"Enabled": True, "AttributeName": "expires_at"},
    }


def test_keys_follow_the_documented_layout():
    assert session_pk("abc-123") == "SESSION#abc-123"
    assert assessment_sk("asm-1") == "ASSESSMENT#asm-1"
    assert report_chunk_sk("asm-1", 7) == "REPORT#asm-1#0007"


@pytest.mark.parametrize("bad", ["", "a#b", "x" * 129, "with space", "slash/"])
def test_ids_that_could_break_a_key_are_refused(bad):
    with pytest.raises(InvalidInput):
        session_pk(bad)


def test_a_chunk_index_beyond_four_digits_is_refused():
    with pytest.raises(InvalidInput):
        report_chunk_sk("a", 10_000)


def test_the_role_needs_no_scan_query_or_delete():
    assert not {a for a in REQUIRED_IAM_ACTIONS if a.split(":")[1] in {"Scan", "Query", "DeleteItem"}}
