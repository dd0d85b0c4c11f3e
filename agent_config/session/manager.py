"""The seed's Session Manager: what the answers ask of a conversation's history.

The manager decides *what* is kept (a summary and fingerprints per assessment, the full report,
the conversation facts) and answers the questions the responses need ("what changed since last
time", "page 3 of the findings", "which regions were we talking about"); the store decides *how*
(items, chunks, locking, TTL).

It is synchronous (boto3 is): from the handler's event loop call it through `asyncio.to_thread`.
Every method raises a `SessionError` when history cannot be used; `error.as_degraded()` is the
note "answered without session history, because ..." for the answer's `degraded` list. Nothing
here is needed to answer: a caller that catches `SessionError` can always go on without history.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from agent_config.config import AgentConfig
from agent_config.interfaces import SecurityAssessment
from agent_config.session.attributes import pointer_attributes
from agent_config.session.diff import diff_fingerprints
from agent_config.session.dynamodb import DynamoDBClient, DynamoDBSessionStore
from agent_config.session.errors import SessionDataCorrupt, SessionError, SessionRecordNotFound
from agent_config.session.fingerprints import (
    assessment_id_of,
    created_at_of,
    findings_of,
    fingerprints_of,
    regions_of,
    report_document,
    scores_of,
    services_of,
)
from agent_config.session.memory import InMemorySessionStore
from agent_config.session.models import (
    AssessmentDraft,
    AssessmentRecord,
    AssessmentSummary,
    ConversationFacts,
    FindingChanges,
    FindingFingerprint,
    ReportPage,
    SessionState,
)
from agent_config.session.settings import SessionSettings
from agent_config.session.store import Clock, SessionStore
from agent_config.session.table import validate_id
from agent_config.utils.error_handling import InvalidInput
from agent_config.utils.logging_utils import get_logger

MAX_PAGE_SIZE = 500

AssessmentInput = SecurityAssessment | Mapping[str, Any]
"""An assessment as the synthesizer makes it, or its JSON (`model_dump(mode="json")`)."""

FingerprintFilter = Callable[[FindingFingerprint], bool]

log = get_logger(__name__)


class SessionManager:
    """History, facts and reports of Bedrock sessions, over any `SessionStore`."""

    def __init__(self, store: SessionStore, *, clock: Clock = time.time) -> None:
        self.store = store
        self._clock = clock

    # --- assessments ------------------------------------------------------------------------------

    def record_assessment(
        self, session_id: str, assessment: AssessmentInput, facts: Mapping[str, Any] | None = None
    ) -> AssessmentSummary:
        """Keep an assessment: its full report, its fingerprints, and its summary in the session.

        `facts` (the regions and services it covered, say) are set in the same META write as the
        summary: one write per assessment, not two, so half the conflicts and write units. The
        assessment is applied after the facts, so `last_assessment_id` always follows the newest
        assessment by time (`SessionState.with_assessment`), never a caller's value.

        Recording the same assessment again replaces it (same id); concurrent recordings to one
        session all end up in its history (optimistic locking with merge).
        """
        validate_id("session id", session_id)
        updates = _checked_facts(facts or {})
        document = report_document(assessment)
        draft = self._draft(document, assessment)
        summary = self.store.write_assessment(session_id, draft, document)
        max_kept = self.store.settings.max_assessments

        def change(state: SessionState) -> SessionState:
            with_facts = state.with_facts(updates) if updates else state
            return with_facts.with_assessment(summary, max_kept)

        self.store.update_session(session_id, change)
        return summary

    def assessments(self, session_id: str) -> list[AssessmentSummary]:
        """The session's assessments, oldest first; empty for an unknown or expired session."""
        return list(self._state(session_id).assessments)

    def previous_assessment(self, session_id: str, before_id: str | None = None) -> AssessmentRecord | None:
        """The latest assessment other than `before_id` and not newer than it; None if there is none.

        With `before_id=None`: the latest assessment. With the id of an assessment not recorded
        yet (the one being answered): the latest recorded one.
        """
        summary = _previous_summary(self._state(session_id).assessments, before_id)
        if summary is None:
            return None
        record = self.store.read_assessment(session_id, summary)
        if record is None:
            return None
        if record.fingerprints is None:  # too many to store inline: recompute from the report
            document = self.store.read_report(session_id, summary)
            record = record.model_copy(update={"fingerprints": fingerprints_of(findings_of(document))})
        return record

    def changes_since_previous(
        self, session_id: str, current: AssessmentInput, previous_filter: FingerprintFilter | None = None
    ) -> FindingChanges:
        """New, resolved, persisting (and not re-assessed) failures since the previous assessment.

        Reads the previous assessment's stored fingerprints, not its report, so a turn never reads a
        multi-megabyte report to say what changed. `previous_filter` keeps only some previous
        fingerprints (an answer about one resource compares that resource only).

        With no previous assessment every current failure is `new` and `previous_assessment_id` is
        None, so the answer can say "first assessment in this conversation".
        """
        if isinstance(current, SecurityAssessment):  # no need to serialise the whole model
            current_id, current_regions = current.assessment_id, list(current.regions)
            current_prints = fingerprints_of(current.findings)
        else:
            document = report_document(current)
            current_id, current_regions = assessment_id_of(document), regions_of(document)
            current_prints = fingerprints_of(findings_of(document))
        previous = self.previous_assessment(session_id, before_id=current_id)
        previous_prints: list[FindingFingerprint] = (previous.fingerprints or []) if previous else []
        if previous_filter is not None:
            previous_prints = [f for f in previous_prints if previous_filter(f)]
        changes = diff_fingerprints(
            previous_prints,
            current_prints,
            current_assessment_id=current_id,
            previous_assessment_id=previous.summary.assessment_id if previous else None,
            current_regions=current_regions,
        )
        if previous is None:
            return changes
        return changes.model_copy(update={"previous_created_at": previous.summary.created_at})

    # --- reports ----------------------------------------------------------------------------------

    def load_report(self, session_id: str, assessment_id: str) -> dict[str, Any]:
        """The full report as it was recorded (verified against its hash)."""
        return self.report_of(session_id, self._summary(session_id, assessment_id))

    def report_of(self, session_id: str, summary: AssessmentSummary) -> dict[str, Any]:
        """The full report of an assessment already listed (from `assessments`): META is not read again."""
        document = self.store.read_report(session_id, summary)
        if not isinstance(document, dict):
            # recorded reports are JSON objects (`report_document`): anything else was damaged
            raise SessionDataCorrupt(f"the report of {summary.assessment_id} is not a JSON object")
        return document

    def report_page(self, session_id: str, assessment_id: str, page: int = 1, page_size: int = 25) -> ReportPage:
        """One page (1-based) of the report's findings, in the order they were recorded."""
        if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
            raise InvalidInput(f"page must be >= 1 and page_size 1..{MAX_PAGE_SIZE} (got {page}, {page_size})")
        findings = findings_of(self.load_report(session_id, assessment_id))
        total_pages = math.ceil(len(findings) / page_size)
        start = (page - 1) * page_size
        return ReportPage(
            assessment_id=assessment_id,
            page=page,
            page_size=page_size,
            total_findings=len(findings),
            total_pages=total_pages,
            findings=[dict(f) for f in findings[start : start + page_size]],
        )

    # --- conversation facts -----------------------------------------------------------------------

    def facts(self, session_id: str) -> ConversationFacts:
        return self._state(session_id).facts

    def update_facts(self, session_id: str, **facts: Any) -> ConversationFacts:
        """Set the given facts (None clears one), keeping the others; last writer wins per fact."""
        updates = _checked_facts(facts)
        record = self.store.update_session(session_id, lambda state: state.with_facts(updates))
        return record.state.facts

    # --- small things -----------------------------------------------------------------------------

    def session_attributes(self, session_id: str) -> dict[str, str]:
        """Pointers for Bedrock's session attributes (never the report itself)."""
        state = self._state(session_id)
        return pointer_attributes(state.facts.last_assessment_id, len(state.assessments))

    def touch(self, session_id: str) -> None:
        """Keep a session that is only being read alive (see `SessionStore.touch`)."""
        self.store.touch(validate_id("session id", session_id))

    # --- helpers ----------------------------------------------------------------------------------

    def _state(self, session_id: str) -> SessionState:
        """META's state, keeping the session alive: every read is a turn of the conversation.

        Turns that only read (paging a report, remediation, the executive summary) count as
        activity for Bedrock, so they refresh the TTL too; the refresh reuses the record just read
        and writes only when less than half the TTL is left (`SessionStore.touch`), so most reads
        cost nothing extra. A failed refresh is logged, not raised: the read itself succeeded.
        """
        record = self.store.read_session(session_id)
        if record is None:
            now = datetime.fromtimestamp(self._clock(), UTC)
            return SessionState(created_at=now, updated_at=now)
        try:
            record = self.store.touch(session_id, record) or record
        except SessionError as exc:
            log.warning("session_touch_failed", session=session_id, error_kind=exc.kind.value, error=exc.message)
        return record.state

    def _summary(self, session_id: str, assessment_id: str) -> AssessmentSummary:
        summary = self._state(session_id).summary_of(validate_id("assessment id", assessment_id))
        if summary is None:
            raise SessionRecordNotFound(f"session {session_id} has no assessment {assessment_id}")
        return summary

    def _draft(self, document: Mapping[str, Any], assessment: AssessmentInput) -> AssessmentDraft:
        return AssessmentDraft(
            assessment_id=validate_id("assessment id", assessment_id_of(document)),
            created_at=created_at_of(document, default=datetime.fromtimestamp(self._clock(), UTC)),
            regions=regions_of(document),
            services=services_of(document),
            scores=scores_of(document),
            fingerprints=fingerprints_of(_findings(assessment, document)),
        )


def _checked_facts(facts: Mapping[str, Any]) -> dict[str, Any]:
    """The facts, refused with `InvalidInput` (before anything is written) if unknown or ill-typed."""
    unknown = sorted(set(facts) - set(ConversationFacts.model_fields))
    if unknown:
        known = ", ".join(ConversationFacts.model_fields)
        raise InvalidInput(f"unknown session fact(s) {', '.join(unknown)}; known: {known}")
    try:
        ConversationFacts.model_validate(facts)
    except ValidationError as exc:
        raise InvalidInput(f"invalid session fact value: {exc}") from exc
    return dict(facts)


def _findings(assessment: AssessmentInput, document: Mapping[str, Any]) -> list[Any]:
    """The typed findings when we have the model (no re-parsing), the JSON ones otherwise."""
    if isinstance(assessment, SecurityAssessment):
        return list(assessment.findings)
    return findings_of(document)


def _previous_summary(summaries: list[AssessmentSummary], before_id: str | None) -> AssessmentSummary | None:
    if not summaries:
        return None
    if before_id is None:
        return summaries[-1]
    anchor = next((s for s in summaries if s.assessment_id == before_id), None)
    candidates = [s for s in summaries if s.assessment_id != before_id]
    if anchor is not None:
        candidates = [s for s in candidates if (s.created_at, s.recorded_at) <= (anchor.created_at, anchor.recorded_at)]
    return candidates[-1] if candidates else None


def session_manager_from_config(
    config: AgentConfig,
    *,
    settings: SessionSettings | None = None,
    client: DynamoDBClient | None = None,
) -> SessionManager | None:
    """The manager the configuration asks for: None when `features.session_history` is off, the
    DynamoDB store when `sessions_table` is set, the in-memory store otherwise (local use)."""
    if not config.features.session_history:
        return None
    settings = settings or SessionSettings(ttl_seconds=config.session_ttl_s)
    if config.sessions_table:
        return SessionManager(DynamoDBSessionStore(config.sessions_table, client=client, settings=settings))
    return SessionManager(InMemorySessionStore(settings))
