"""Documents to stored bytes and back: canonical JSON, zlib, chunks, and a content hash.

Pure functions, no I/O. Why each step:

- **Canonical JSON** (sorted keys, no spaces, no NaN): the same document always gives the same
  bytes, so its SHA-256 identifies it; recording the same report twice is recognisably a repeat.
- **zlib**: a findings report is repetitive text and typically shrinks five- to tenfold, which
  saves chunks, write units and time.
- **Chunks** of at most `chunk_bytes`: DynamoDB items are limited to 400 KB.
- **Hash check on read**: a missing, stale or mixed chunk (two writers re-recording the same
  assessment id at once) fails the check and is reported as corrupt, never returned as a report.
"""

from __future__ import annotations

import hashlib
import json
import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agent_config.session.errors import SessionDataCorrupt, SessionReportTooLarge
from agent_config.session.models import FindingFingerprint, ReportManifest
from agent_config.session.table import MAX_CHUNKS
from agent_config.utils.error_handling import InvalidInput

COMPRESSION_LEVEL = 6
"""zlib's default: most of level 9's ratio at a fraction of its time (a Lambda pays for CPU)."""


@dataclass(frozen=True, slots=True)
class EncodedDocument:
    manifest: ReportManifest
    chunks: list[bytes]


def canonical_json(document: Any) -> bytes:
    """The one byte form of a JSON document; refuses what JSON cannot carry (datetimes, NaN, sets)."""
    try:
        text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"the report is not a JSON document ({exc}); pass model.model_dump(mode='json')") from exc
    return text.encode("utf-8")


def content_hash(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def encode_document(document: Any, chunk_bytes: int, max_stored_bytes: int) -> EncodedDocument:
    """Serialise, compress and cut a document into chunks of at most `chunk_bytes`."""
    raw = canonical_json(document)
    packed = zlib.compress(raw, COMPRESSION_LEVEL)
    count = max(1, math.ceil(len(packed) / chunk_bytes))
    if len(packed) > max_stored_bytes or count > MAX_CHUNKS:
        raise SessionReportTooLarge(
            f"report is {len(packed)} bytes compressed ({len(raw)} raw); at most {max_stored_bytes} are kept"
        )
    chunks = [packed[i * chunk_bytes : (i + 1) * chunk_bytes] for i in range(count)]
    manifest = ReportManifest(sha256=content_hash(raw), raw_bytes=len(raw), stored_bytes=len(packed), chunks=count)
    return EncodedDocument(manifest=manifest, chunks=chunks)


def decode_document(manifest: ReportManifest, chunks: Sequence[bytes]) -> Any:
    """Join, decompress, verify and parse; any mismatch raises `SessionDataCorrupt`."""
    if len(chunks) != manifest.chunks:
        raise SessionDataCorrupt(f"report has {len(chunks)} of its {manifest.chunks} chunks")
    packed = b"".join(chunks)
    if len(packed) != manifest.stored_bytes:
        raise SessionDataCorrupt(f"report chunks hold {len(packed)} bytes, {manifest.stored_bytes} expected")
    try:
        raw = zlib.decompress(packed)
    except zlib.error as exc:
        raise SessionDataCorrupt(f"report does not decompress: {exc}") from exc
    if len(raw) != manifest.raw_bytes or content_hash(raw) != manifest.sha256:
        raise SessionDataCorrupt("report content does not match the hash recorded when it was written")
    return json.loads(raw)


def encode_fingerprints(fingerprints: Sequence[FindingFingerprint]) -> bytes:
    rows = [f.as_row() for f in fingerprints]
    return zlib.compress(json.dumps(rows, separators=(",", ":")).encode("utf-8"), COMPRESSION_LEVEL)


def decode_fingerprints(blob: bytes) -> list[FindingFingerprint]:
    try:
        rows = json.loads(zlib.decompress(blob))
        return [FindingFingerprint.from_row(row) for row in rows]
    except (zlib.error, ValueError, TypeError) as exc:
        raise SessionDataCorrupt(f"stored fingerprints are unreadable: {exc}") from exc
