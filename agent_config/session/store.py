"""The session store: everything done once here, and five small primitives per backend.

In the spirit of Powertools' idempotency `BasePersistenceLayer`: this base class owns the record
layout (see `table.py`), serialisation, compression and chunking (`codec.py`), the TTL, optimistic
locking with re-read-and-merge, throttling retries and the wrapping of every backend failure into
a typed `SessionStoreUnavailable` (`errors.py`). A backend implements only:

| primitive                          | contract                                                      |
|------------------------------------|---------------------------------------------------------------|
| `_get_item(key)`                   | strongly consistent read of one item, or None                 |
| `_get_items(keys)`                 | the same for many keys (missing ones left out, any order)     |
| `_put_item(item, expected_version)`| conditional write: None = must not exist, n = version must be |
|                                    | n; otherwise raise `PreconditionFailed`                       |
| `_put_items(items)`                | unconditional writes (report chunks, assessment items)        |
| `_refresh_expiry(key, expires_at)` | set `expires_at` on an existing item; False if it is gone     |

and may override `_classify(exc)` to name its own failures (the DynamoDB store maps
`ResourceNotFoundException` to "the table does not exist").

Writes are ordered so that META is the commit point: report chunks and the ASSESSMENT item are
written first, then META lists the assessment. Readers start from META, so they never see an
assessment whose items are not all there.

Clock, sleep and random source are injected, so the tests of conflicts, backoff and expiry run
without waiting.
"""

from __future__ import annotations

import random
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

from pydantic import ValidationError

from agent_config import interfaces
from agent_config.session.codec import (
    decode_document,
    decode_fingerprints,
    encode_document,
    encode_fingerprints,
)
from agent_config.session.errors import (
    SessionConflict,
    SessionDataCorrupt,
    SessionError,
    SessionRecordNotFound,
    unavailable,
)
from agent_config.session.fingerprints import counts_of
from agent_config.session.models import (
    AssessmentDraft,
    AssessmentRecord,
    AssessmentSummary,
    SessionRecord,
    SessionState,
)
from agent_config.session.settings import BackoffSettings, SessionSettings
from agent_config.session.table import (
    ITEM_LIMIT_BYTES,
    META_SK,
    assessment_sk,
    report_chunk_sk,
    session_pk,
)
from agent_config.utils.error_handling import AgentError, ErrorKind, InvalidInput, classify
from agent_config.utils.logging_utils import get_logger

T = TypeVar("T")
ItemKey = tuple[str, str]
"""(pk, sk)"""
Clock = Callable[[], float]
Sleep = Callable[[float], None]
RandomSource = Callable[[], float]

log = get_logger(__name__)

_META_MARGIN_BYTES = 8 * 1024
"""Room kept in META for keys, version and expiry beside the state JSON."""


@dataclass(frozen=True, slots=True)
class StoredItem:
    """One item as a backend stores it. Every field is immutable, so backends may share instances."""

    pk: str
    sk: str
    expires_at: int
    version: int | None = None
    data: str | None = None
    """JSON text (META state, ASSESSMENT summary)."""
    blob: bytes | None = None
    """Compressed bytes (ASSESSMENT fingerprints, REPORT chunk)."""
    sha256: str | None = None
    """REPORT chunks: the hash of the whole report they belong to."""

    @property
    def key(self) -> ItemKey:
        return (self.pk, self.sk)

    def approximate_size(self) -> int:
        """DynamoDB counts attribute names and values; close enough to check the 400 KB limit."""
        size = len(self.pk) + len(self.sk) + 4 + 10 + 10 + 2
        size += len(self.data.encode("utf-8")) + 4 if self.data is not None else 0
        size += len(self.blob) + 4 if self.blob is not None else 0
        size += len(self.sha256) + 6 if self.sha256 is not None else 0
        return size + (17 if self.version is not None else 0)


class PreconditionFailed(Exception):
    """A conditional write found another version. Internal: the store turns it into a retry or a
    `SessionConflict`; it never reaches callers."""


class StoreStats:
    """Counters since the store was created (thread-safe), for logs, metrics and benchmarks."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}

    def add(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._counts[name] = self._counts.get(name, 0) + amount

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)


class SessionStore(ABC):
    """Base of the session stores; implements `agent_config.interfaces.SessionStore` (load/save)."""

    backend: ClassVar[str] = "abstract"

    def __init__(
        self,
        settings: SessionSettings | None = None,
        *,
        clock: Clock = time.time,
        sleep: Sleep = time.sleep,
        rng: RandomSource = random.random,
    ) -> None:
        self.settings = settings or SessionSettings()
        self.stats = StoreStats()
        self._clock = clock
        self._sleep = sleep
        self._rng = rng

    # ------------------------------------------------------------------------------------------
    # Primitives (the whole of a backend)
    # ------------------------------------------------------------------------------------------

    @abstractmethod
    def _get_item(self, key: ItemKey) -> StoredItem | None: ...

    @abstractmethod
    def _get_items(self, keys: Sequence[ItemKey]) -> list[StoredItem]: ...

    @abstractmethod
    def _put_item(self, item: StoredItem, expected_version: int | None) -> None: ...

    @abstractmethod
    def _put_items(self, items: Sequence[StoredItem]) -> None: ...

    @abstractmethod
    def _refresh_expiry(self, key: ItemKey, expires_at: int) -> bool: ...

    def _classify(self, exc: Exception) -> AgentError:
        """Name a backend failure by kind; backends override this for codes `classify` cannot know."""
        return classify(exc)

    # ------------------------------------------------------------------------------------------
    # interfaces.SessionStore: compare-and-set of the session state
    # ------------------------------------------------------------------------------------------

    def load(self, session_id: str) -> tuple[dict[str, Any], int] | None:
        """The session state (as JSON data) and its version; None for a session never written."""
        record = self.read_session(session_id)
        return None if record is None else (record.state.model_dump(mode="json"), record.version)

    def save(self, session_id: str, state: dict[str, Any], expected_version: int | None) -> int:
        """Write `state` if the stored version is still `expected_version` (None: no session yet).

        Returns the new version; raises `SessionConflict` if another writer got there first. This is
        the raw compare-and-set: `update_session` (re-read and merge on conflict) is what the
        manager uses.
        """
        try:
            parsed = SessionState.model_validate(state)
        except ValidationError as exc:
            raise InvalidInput(f"invalid session state: {exc.error_count()} error(s): {exc}") from exc
        version = (expected_version or 0) + 1
        item = self._meta_item(session_id, self._fit_meta(parsed), version, self._expiry())
        try:
            self._put_meta(item, expected_version)
        except PreconditionFailed as exc:
            self.stats.add("conflicts")
            raise SessionConflict(f"session {session_id} is no longer at version {expected_version}") from exc
        return version

    # ------------------------------------------------------------------------------------------
    # The session record (META)
    # ------------------------------------------------------------------------------------------

    def read_session(self, session_id: str) -> SessionRecord | None:
        """META as stored now (strongly consistent); None if the session was never written.

        An expired META that DynamoDB has not deleted yet reads as an empty session at its stored
        version, so the next write still passes the version condition.
        """
        key = (session_pk(session_id), META_SK)
        item = self._guarded("read session", lambda: self._get_item(key))
        if item is None:
            return None
        if item.version is None or item.data is None:
            raise SessionDataCorrupt(f"session {session_id}: META has no version or data")
        now = self._clock()
        if item.expires_at <= now:
            state = self._empty_state(now)
        else:
            try:
                state = SessionState.model_validate_json(item.data)
            except ValidationError as exc:
                raise SessionDataCorrupt(f"session {session_id}: META does not parse: {exc}") from exc
        return SessionRecord(session_id=session_id, version=item.version, expires_at=item.expires_at, state=state)

    def update_session(self, session_id: str, change: Callable[[SessionState], SessionState]) -> SessionRecord:
        """Apply `change` to the current state and write it under the optimistic lock.

        On a conflict the state is re-read and `change` applied again to the fresh state, so
        concurrent writers' changes merge instead of overwriting each other. `change` must
        therefore be a pure function of the state it is given, and idempotent: if a write's
        answer is lost and botocore's retry then fails the condition, the change is re-applied to
        a state that already contains it (adding an assessment by id and setting facts both are). After
        `settings.conflict_retry.max_attempts` lost races it raises `SessionConflict` with
        nothing written. Each write refreshes the TTL of META and, when they would expire before
        it, of the assessments' items.
        """
        policy = self.settings.conflict_retry
        refreshed: dict[str, int] = {}
        for attempt in range(1, policy.max_attempts + 1):
            current = self.read_session(session_id)
            now = self._clock()
            base = current.state if current is not None else self._empty_state(now)
            state = change(base).model_copy(update={"updated_at": _utc(now)})
            state = self._fit_meta(self._keep_items_alive(session_id, state, now, refreshed))
            version = current.version + 1 if current is not None else 1
            expected = current.version if current is not None else None
            expires_at = self._expiry(now)
            item = self._meta_item(session_id, state, version, expires_at)
            try:
                self._put_meta(item, expected)
            except PreconditionFailed:
                self.stats.add("conflicts")
                if attempt == policy.max_attempts:
                    break
                self.stats.add("conflict_retries")
                delay = self._jitter(policy, attempt)
                log.debug("session_conflict", session=session_id, attempt=attempt, delay_s=round(delay, 4))
                self._sleep(delay)
                continue
            self.stats.add("session_writes")
            if attempt > 1:
                self.stats.add(f"won_after_{attempt}_attempts")
            return SessionRecord(session_id=session_id, version=version, expires_at=expires_at, state=state)
        log.warning("session_conflict_gave_up", session=session_id, attempts=policy.max_attempts)
        raise SessionConflict(
            f"session {session_id}: lost the optimistic lock {policy.max_attempts} times; change not applied"
        )

    def touch(self, session_id: str, record: SessionRecord | None = None) -> SessionRecord | None:
        """Refresh the session's TTL if less than half of it is left (at most one write per half TTL).

        For turns that only read (paging a report): Bedrock counts them as activity, so should we,
        or a conversation that keeps reading would lose its history while Bedrock still holds the
        session. Pass the `record` just read to spare a second read of META: a turn whose session
        has more than half its TTL left then costs nothing extra. A session already expired is
        left alone: there is no history left to keep.
        """
        record = record if record is not None else self.read_session(session_id)
        if record is None:
            return None
        left = record.expires_at - self._clock()
        if left <= 0 or left >= self.settings.ttl_seconds / 2:
            return record
        self.stats.add("touches")
        return self.update_session(session_id, lambda state: state)

    # ------------------------------------------------------------------------------------------
    # Assessments and reports
    # ------------------------------------------------------------------------------------------

    def write_assessment(self, session_id: str, draft: AssessmentDraft, report: Mapping[str, Any]) -> AssessmentSummary:
        """Write the report's chunks and the ASSESSMENT item; return the summary for META.

        Not visible to readers until the caller adds the summary to META (`update_session`).
        """
        pk = session_pk(session_id)
        encoded = encode_document(report, self.settings.chunk_bytes, self.settings.max_report_bytes)
        fingerprint_blob = encode_fingerprints(draft.fingerprints)
        inline = len(fingerprint_blob) <= self.settings.inline_fingerprints_bytes
        now = self._clock()
        items_expire_at = self._child_expiry(now)
        by_status, failing = counts_of(draft.fingerprints)
        summary = AssessmentSummary(
            assessment_id=draft.assessment_id,
            created_at=draft.created_at,
            recorded_at=_utc(now),
            regions=draft.regions,
            services=draft.services,
            scores=draft.scores,
            counts=by_status,
            failing_by_severity=failing,
            finding_count=len(draft.fingerprints),
            report=encoded.manifest,
            fingerprints_inline=inline,
            items_expire_at=items_expire_at,
        )
        items = [
            StoredItem(
                pk=pk,
                sk=report_chunk_sk(draft.assessment_id, index),
                expires_at=items_expire_at,
                blob=chunk,
                sha256=encoded.manifest.sha256,
            )
            for index, chunk in enumerate(encoded.chunks)
        ]
        items.append(
            StoredItem(
                pk=pk,
                sk=assessment_sk(draft.assessment_id),
                expires_at=items_expire_at,
                data=summary.model_dump_json(),
                blob=fingerprint_blob if inline else None,
            )
        )
        for item in items:
            if item.approximate_size() > ITEM_LIMIT_BYTES:  # a settings error, caught before AWS does
                raise InvalidInput(f"item {item.sk} would be {item.approximate_size()} bytes, over 400 KB")
        self._guarded("write assessment", lambda: self._put_items(items))
        self.stats.add("report_chunks_written", len(encoded.chunks))
        return summary

    def read_assessment(self, session_id: str, summary: AssessmentSummary) -> AssessmentRecord | None:
        """The ASSESSMENT item of a listed assessment; None if it expired."""
        key = (session_pk(session_id), assessment_sk(summary.assessment_id))
        item = self._guarded("read assessment", lambda: self._get_item(key))
        if item is None or item.expires_at <= self._clock():
            return None
        fingerprints = decode_fingerprints(item.blob) if item.blob is not None else None
        return AssessmentRecord(summary=summary, fingerprints=fingerprints)

    def read_report(self, session_id: str, summary: AssessmentSummary) -> Any:
        """The full report, read whole and verified against its manifest."""
        pk = session_pk(session_id)
        manifest = summary.report
        keys = [(pk, report_chunk_sk(summary.assessment_id, i)) for i in range(manifest.chunks)]
        items = self._guarded("read report", lambda: self._get_items(keys))
        now = self._clock()
        by_sk = {i.sk: i.blob for i in items if i.expires_at > now and i.sha256 == manifest.sha256 and i.blob}
        if not by_sk:
            raise SessionRecordNotFound(
                f"session {session_id}: the report of {summary.assessment_id} is no longer stored"
            )
        chunks = [by_sk[sk] for _, sk in keys if sk in by_sk]
        self.stats.add("report_chunks_read", len(chunks))
        return decode_document(manifest, chunks)  # fewer chunks than the manifest says: corrupt

    # ------------------------------------------------------------------------------------------
    # Once-for-all machinery
    # ------------------------------------------------------------------------------------------

    def _guarded(self, operation: str, call: Callable[[], T]) -> T:
        """Run one primitive: throttling is retried with jittered backoff, everything else (and
        throttling that outlasts the retries) becomes a typed `SessionStoreUnavailable`."""
        policy = self.settings.throttle_retry
        attempt = 1
        while True:
            try:
                return call()
            except (PreconditionFailed, SessionError):
                raise
            except Exception as exc:
                error = self._classify(exc)
                if error.kind is ErrorKind.RATE_LIMIT and attempt < policy.max_attempts:
                    delay = self._jitter(policy, attempt)
                    self.stats.add("throttle_retries")
                    log.info("session_store_throttled", operation=operation, attempt=attempt, delay_s=delay)
                    self._sleep(delay)
                    attempt += 1
                    continue
                self.stats.add("unavailable")
                log.warning(
                    "session_store_unavailable",
                    backend=self.backend,
                    operation=operation,
                    error_kind=error.kind.value,
                    error=error.message,
                )
                raise unavailable(error, operation) from exc

    def _put_meta(self, item: StoredItem, expected_version: int | None) -> None:
        self._guarded("write session", lambda: self._put_item(item, expected_version))

    def _refresh_one(self, key: ItemKey, expires_at: int) -> bool:
        return self._guarded("refresh expiry", lambda: self._refresh_expiry(key, expires_at))

    def _jitter(self, policy: BackoffSettings, failed_attempt: int) -> float:
        return min(max(self._rng(), 0.0), 1.0) * policy.ceiling(failed_attempt)

    def _expiry(self, now: float | None = None) -> int:
        """META's expiry: the idle session TTL from now."""
        return int(self._clock() if now is None else now) + self.settings.ttl_seconds

    def _child_expiry(self, now: float) -> int:
        """Assessment items live two TTLs: refreshed whenever they would expire before META (see
        `_keep_items_alive`), they then always outlive it, at one refresh per TTL of activity."""
        return int(now) + 2 * self.settings.ttl_seconds

    def _keep_items_alive(
        self, session_id: str, state: SessionState, now: float, refreshed: dict[str, int]
    ) -> SessionState:
        """Extend the TTL of listed assessments' items that would expire before META's new expiry.

        `refreshed` remembers what this update already extended, so a retry after a conflict does
        not repeat the writes. An assessment whose ASSESSMENT item is already gone is dropped from
        the list: its history cannot be read any more.
        """
        meta_expiry = self._expiry(now)
        kept: list[AssessmentSummary] = []
        changed = dropped = False
        pk = session_pk(session_id)
        for summary in state.assessments:
            if summary.items_expire_at > meta_expiry:
                kept.append(summary)
                continue
            new_expiry = refreshed.get(summary.assessment_id)
            if new_expiry is None:
                new_expiry = self._child_expiry(now)
                alive = self._refresh_assessment_items(pk, summary, new_expiry)
                if not alive:
                    changed = dropped = True
                    log.warning("session_assessment_expired", session=session_id, assessment=summary.assessment_id)
                    continue
                refreshed[summary.assessment_id] = new_expiry
            kept.append(summary.model_copy(update={"items_expire_at": new_expiry}))
            changed = True
        if not changed:
            return state
        if not dropped:
            return state.model_copy(update={"assessments": kept})
        last = kept[-1].assessment_id if kept else None
        facts = state.facts.model_copy(update={"last_assessment_id": last})
        return state.model_copy(update={"assessments": kept, "facts": facts})

    def _refresh_assessment_items(self, pk: str, summary: AssessmentSummary, expires_at: int) -> bool:
        aid = summary.assessment_id
        if not self._refresh_one((pk, assessment_sk(aid)), expires_at):
            return False
        for index in range(summary.report.chunks):
            self._refresh_one((pk, report_chunk_sk(aid, index)), expires_at)
        self.stats.add("ttl_refreshes", 1 + summary.report.chunks)
        return True

    def _fit_meta(self, state: SessionState) -> SessionState:
        """Keep META under the item limit: at most `max_assessments` summaries, oldest dropped first
        (their items stay readable by id until they expire)."""
        assessments = state.assessments[-self.settings.max_assessments :]
        state = state.model_copy(update={"assessments": assessments})
        # DynamoDB counts UTF-8 bytes; pydantic's JSON bytes are exactly what is stored.
        while len(state.model_dump_json().encode()) > ITEM_LIMIT_BYTES - _META_MARGIN_BYTES and state.assessments:
            state = state.model_copy(update={"assessments": state.assessments[1:]})
        return state

    def _meta_item(self, session_id: str, state: SessionState, version: int, expires_at: int) -> StoredItem:
        return StoredItem(
            pk=session_pk(session_id),
            sk=META_SK,
            expires_at=expires_at,
            version=version,
            data=state.model_dump_json(),
        )

    def _empty_state(self, now: float) -> SessionState:
        return SessionState(created_at=_utc(now), updated_at=_utc(now))


def _utc(epoch_s: float) -> datetime:
    return datetime.fromtimestamp(epoch_s, UTC)


def chunked(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    """Consecutive slices of at most `size` items (for batch APIs with per-call limits)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def as_protocol(store: SessionStore) -> interfaces.SessionStore:
    """Every store is an `interfaces.SessionStore` (checked by mypy here, where it is declared)."""
    return store
