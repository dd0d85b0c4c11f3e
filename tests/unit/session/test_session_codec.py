"""Documents to chunks and back: every byte returns, and a damaged report is refused, not returned.

GIVEN a JSON document (small, or several MB of findings)
WHEN it is encoded into chunks under the 400 KB item limit and decoded again
THEN it is identical; and a missing, reordered or foreign chunk raises SessionDataCorrupt.
"""

from __future__ import annotations

import math
import os
import random
from datetime import UTC, datetime

import pytest

from agent_config.session.codec import (
    canonical_json,
    decode_document,
    decode_fingerprints,
    encode_document,
    encode_fingerprints,
)
from agent_config.session.errors import SessionDataCorrupt, SessionReportTooLarge
from agent_config.session.table import DEFAULT_CHUNK_BYTES, ITEM_LIMIT_BYTES
from agent_config.utils.error_handling import InvalidInput

BIG = 1 << 30


def large_report(target_bytes: int, seed: int = 7) -> dict:
    """Findings with random evidence (so zlib cannot shrink them away) up to about `target_bytes`."""
    rng = random.Random(seed)
    findings = []
    size = 0
    i = 0
    while size < target_bytes:
        evidence = {"policy": rng.randbytes(300).hex(), "note": f"finding {i} ünïcode ✓"}
        finding = {
            "control_id": f"S3.{i % 20}",
            "resource_id": f"bucket-{i}",
            "status": "FAIL",
            "evidence": evidence,
        }
        findings.append(finding)
        size += 700
        i += 1
    return {"assessment_id": "big", "findings": findings}


def test_a_small_document_is_one_chunk_and_round_trips():
    document = {"assessment_id": "a", "findings": [], "score": 1.5, "none": None, "text": "é"}
    encoded = encode_document(document, DEFAULT_CHUNK_BYTES, BIG)
    assert encoded.manifest.chunks == 1
    assert decode_document(encoded.manifest, encoded.chunks) == document


def test_a_multi_megabyte_report_is_chunked_under_the_item_limit_and_round_trips():
    document = large_report(3_000_000)
    encoded = encode_document(document, DEFAULT_CHUNK_BYTES, BIG)
    assert encoded.manifest.raw_bytes > 2_500_000
    assert encoded.manifest.chunks == math.ceil(encoded.manifest.stored_bytes / DEFAULT_CHUNK_BYTES)
    assert encoded.manifest.chunks > 1
    assert all(len(chunk) <= DEFAULT_CHUNK_BYTES < ITEM_LIMIT_BYTES for chunk in encoded.chunks)
    assert decode_document(encoded.manifest, encoded.chunks) == document


def test_the_same_document_always_encodes_to_the_same_hash_whatever_its_key_order():
    a = encode_document({"x": 1, "y": [1, 2]}, 1024, BIG).manifest
    b = encode_document({"y": [1, 2], "x": 1}, 1024, BIG).manifest
    assert a == b


def test_tiny_chunks_give_many_chunks_that_still_round_trip():
    document = {"data": os.urandom(20_000).hex()}
    encoded = encode_document(document, 1024, BIG)
    assert encoded.manifest.chunks >= 20
    assert decode_document(encoded.manifest, encoded.chunks) == document


def test_a_missing_chunk_is_refused_as_corrupt():
    encoded = encode_document({"data": os.urandom(5000).hex()}, 1024, BIG)
    with pytest.raises(SessionDataCorrupt, match="chunks"):
        decode_document(encoded.manifest, encoded.chunks[:-1])


def test_reordered_chunks_are_refused_as_corrupt():
    encoded = encode_document({"data": os.urandom(5000).hex()}, 1024, BIG)
    swapped = [encoded.chunks[1], encoded.chunks[0], *encoded.chunks[2:]]
    with pytest.raises(SessionDataCorrupt):
        decode_document(encoded.manifest, swapped)


def test_a_chunk_of_another_version_of_the_report_is_refused_as_corrupt():
    first = encode_document({"v": 1, "data": "a" * 5000}, 1024, BIG)
    second = encode_document({"v": 2, "data": "a" * 5000}, 1024, BIG)
    mixed = [second.chunks[0], *first.chunks[1:]]
    with pytest.raises(SessionDataCorrupt):
        decode_document(first.manifest, mixed)


def test_a_document_json_cannot_carry_is_refused_with_a_hint():
    with pytest.raises(InvalidInput, match="model_dump"):
        canonical_json({"when": datetime.now(UTC)})
    with pytest.raises(InvalidInput):
        canonical_json({"score": float("nan")})


def test_a_report_above_the_configured_maximum_is_refused():
    with pytest.raises(SessionReportTooLarge):
        encode_document({"data": os.urandom(10_000).hex()}, 1024, max_stored_bytes=2048)


def test_fingerprints_round_trip_compactly(make_print):
    prints = [make_print("S3.8", f"bucket-{i}", "FAIL") for i in range(2000)]
    blob = encode_fingerprints(prints)
    assert decode_fingerprints(blob) == prints
    assert len(blob) < 2000 * 60  # compact rows, compressed


def test_unreadable_fingerprints_are_reported_as_corrupt():
    with pytest.raises(SessionDataCorrupt):
        decode_fingerprints(b"not zlib")
