"""`SessionKeeper`: what the operations need of a session (`actions.AssessmentKeeper`), on top of
the `SessionManager`: whole assessments in and out, the latest ones, what changed, the facts.

Every store failure is raised as the project's typed `SessionError`; the operations turn it into a
"answered without session history, because ..." note rather than failing the answer. One stored
report that cannot be read back is the exception: it is skipped and reported, so the rest of the
history still serves the answer.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping

from pydantic import ValidationError

from agent_config.interfaces import SecurityAssessment
from agent_config.session.errors import SessionDataCorrupt, SessionError, SessionRecordNotFound
from agent_config.session.manager import FingerprintFilter, SessionManager
from agent_config.session.models import AssessmentSummary, FindingChanges
from agent_config.utils.logging_utils import get_logger

_FACT_LISTS = ("regions", "services")
_FACTS_OWNED_BY_THE_STORE = ("last_assessment_id",)
"""Set by recording an assessment (newest by time), never from a caller's facts."""

Unreadable = Callable[[str, SessionError], None]
"""Told of each stored assessment left out of a history: its id and why."""

log = get_logger(__name__)


class SessionKeeper:
    def __init__(self, manager: SessionManager) -> None:
        self.manager = manager

    def save_assessment(
        self, session_id: str, assessment: SecurityAssessment, facts: Mapping[str, str] | None = None
    ) -> None:
        """Record the assessment and the facts it establishes in one META write (see
        `SessionManager.record_assessment`)."""
        typed = {k: v for k, v in _typed(facts or {}).items() if k not in _FACTS_OWNED_BY_THE_STORE}
        self.manager.record_assessment(session_id, assessment, facts=typed)

    def load_assessment(self, session_id: str, assessment_id: str) -> SecurityAssessment | None:
        try:
            return _parsed(assessment_id, self.manager.load_report(session_id, assessment_id))
        except SessionRecordNotFound:
            return None

    def latest_assessments(
        self,
        session_id: str,
        count: int,
        excluding: Collection[str] = (),
        on_unreadable: Unreadable | None = None,
        *,
        every_service_only: bool = False,
    ) -> list[SecurityAssessment]:
        """The newest `count` readable assessments; chosen from the summaries, so only those reports
        are read (and META once).

        A report that fails its integrity check or no longer parses is left out and passed to
        `on_unreadable`, and the next older one takes its place: one bad report must not hide the
        whole history. A store that cannot be used still raises. With `every_service_only`, only
        assessments of every service (not one service's analysis) are considered.
        """
        summaries = sorted(self.manager.assessments(session_id), key=lambda s: s.created_at, reverse=True)
        loaded: list[SecurityAssessment] = []
        wanted = (
            s for s in summaries if s.assessment_id not in excluding and (s.services is None or not every_service_only)
        )
        for summary in wanted:
            if len(loaded) == count:
                break
            try:
                assessment = self._load(session_id, summary)
            except SessionDataCorrupt as exc:
                log.warning("session_report_unreadable", session=session_id, assessment=summary.assessment_id)
                if on_unreadable is not None:
                    on_unreadable(summary.assessment_id, exc)
                continue
            if assessment is not None:
                loaded.append(assessment)
        return loaded

    def changes_since_previous(
        self, session_id: str, current: SecurityAssessment, previous_filter: FingerprintFilter | None = None
    ) -> FindingChanges:
        """What changed since the previous assessment, from its stored fingerprints (its report,
        possibly megabytes, is not read)."""
        return self.manager.changes_since_previous(session_id, current, previous_filter)

    def facts(self, session_id: str) -> dict[str, str]:
        """The conversation's facts as text; lists (regions, services) comma-separated, as written."""
        facts = self.manager.facts(session_id).model_dump(exclude_none=True)
        return {k: ",".join(v) if isinstance(v, list) else str(v) for k, v in facts.items()}

    def update_facts(self, session_id: str, facts: Mapping[str, str]) -> None:
        self.manager.update_facts(session_id, **_typed(facts))

    def _load(self, session_id: str, summary: AssessmentSummary) -> SecurityAssessment | None:
        try:
            return _parsed(summary.assessment_id, self.manager.report_of(session_id, summary))
        except SessionRecordNotFound:
            return None


def _parsed(assessment_id: str, document: object) -> SecurityAssessment:
    """The stored report as the model; one that no longer parses is corrupt, not a crash."""
    try:
        return SecurityAssessment.model_validate(document)
    except ValidationError as exc:
        raise SessionDataCorrupt(
            f"the report of {assessment_id} is not a readable assessment: {exc.error_count()} error(s)",
            reason=f"the stored report of {assessment_id} could not be read back",
        ) from exc


def _typed(facts: Mapping[str, str]) -> dict[str, object]:
    return {k: [p for p in v.split(",") if p] if k in _FACT_LISTS else v for k, v in facts.items()}
