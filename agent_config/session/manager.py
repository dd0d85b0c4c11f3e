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
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from agent_config.config import AgentConfig
from agent_config.interfaces import SecurityAssessment
from agent_config.session.attributes import pointer_attributes
from agent_config.session.diff import diff_fingerprints
from agent_config.session.dynamodb import DynamoDBClient, DynamoDBSessionStore
from agent_config.session.errors import SessionRecordNotFound
from agent_config.session.fingerprints import (
    assessment_id_of,
    created_at_of,
    findings_of,
    fingerprints_of,
    regions_of,
    report_document,
    scores_of,
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

MAX_PAGE_SIZE = 500

AssessmentInput = SecurityAssessment | Mapping[str, Any]
"""An assessment as the synthesizer makes it, or its JSON (`model_dump(mode="json")`)."""


class SessionManager:
    """History, facts and reports of Bedrock sessions, over any `SessionStore`."""

    def __init__(self, store: SessionStore, *, clock: Clock = time.time) -> None:
        self.store = store
        self._clock = clock

    # --- assessments ------------------------------------------------------------------------------

    def record_assessment(self, session_id: str, assessment: AssessmentInput) -> AssessmentSummary:
        """Keep an assessment: its full report, its fingerprints, and its summary in the session.

        Recording the same assessment again replaces it (same id); concurrent recordings to one
        session all end up in its history (optimistic locking with merge).
        """
        validate_id("session id", session_id)
        document = report_document(assessment)
        draft = self._draft(document, assessment)
        summary = self.store.write_assessment(session_id, draft, document)
        max_kept = self.store.settings.max_assessments
        self.store.update_session(session_id, lambda state: state.with_assessment(summary, max_kept))
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

    def changes_since_previous(self, session_id: str, current: AssessmentInput) -> FindingChanges:
        """New, resolved, persisting (and not re-assessed) failures since the previous assessment.

        With no previous assessment every current failure is `new` and `previous_assessment_id` is
        None, so the answer can say "first assessment in this conversation".
        """
        document = report_document(current)
        current_id = assessment_id_of(document)
        current_prints = fingerprints_of(_findings(current, document))
        previous = self.previous_assessment(session_id, before_id=current_id)
        previous_prints: list[FindingFingerprint] = (previous.fingerprints or []) if previous else []
        return diff_fingerprints(
            previous_prints,
            current_prints,
            current_assessment_id=current_id,
            previous_assessment_id=previous.summary.assessment_id if previous else None,
            current_regions=regions_of(document),
        )

    # --- reports ----------------------------------------------------------------------------------

    def load_report(self, session_id: str, assessment_id: str) -> dict[str, Any]:
        """The full report as it was recorded (verified against its hash)."""
        summary = self._summary(session_id, assessment_id)
        document = self.store.read_report(session_id, summary)
        if not isinstance(document, dict):
            raise InvalidInput(f"the report of {assessment_id} is not a JSON object")
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
        unknown = sorted(set(facts) - set(ConversationFacts.model_fields))
        if unknown:
            known = ", ".join(ConversationFacts.model_fields)
            raise InvalidInput(f"unknown session fact(s) {', '.join(unknown)}; known: {known}")
        try:
            ConversationFacts.model_validate(facts)  # refuse bad values before touching the store
        except ValidationError as exc:
            raise InvalidInput(f"invalid session fact value: {exc}") from exc
        record = self.store.update_session(session_id, lambda state: state.with_facts(facts))
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
        record = self.store.read_session(session_id)
        if record is None:
            now = datetime.fromtimestamp(self._clock(), UTC)
            return SessionState(created_at=now, updated_at=now)
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
            scores=scores_of(document),
            fingerprints=fingerprints_of(_findings(assessment, document)),
        )


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
