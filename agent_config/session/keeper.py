"""`SessionKeeper`: what the operations need of a session (`actions.AssessmentKeeper`), on top of
the `SessionManager`: whole assessments in and out, the latest ones, the conversation facts.

Every store failure is raised as the project's typed `SessionError`; the operations turn it into a
"answered without session history, because ..." note rather than failing the answer.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from agent_config.interfaces import SecurityAssessment
from agent_config.session.errors import SessionRecordNotFound
from agent_config.session.manager import SessionManager

_FACT_LISTS = ("regions", "services")


class SessionKeeper:
    def __init__(self, manager: SessionManager) -> None:
        self.manager = manager

    def save_assessment(self, session_id: str, assessment: SecurityAssessment) -> None:
        self.manager.record_assessment(session_id, assessment)

    def load_assessment(self, session_id: str, assessment_id: str) -> SecurityAssessment | None:
        try:
            return SecurityAssessment.model_validate(self.manager.load_report(session_id, assessment_id))
        except SessionRecordNotFound:
            return None

    def latest_assessments(
        self, session_id: str, count: int, excluding: Collection[str] = ()
    ) -> list[SecurityAssessment]:
        """The newest `count` assessments; chosen from the summaries, so only those reports are read."""
        summaries = sorted(self.manager.assessments(session_id), key=lambda s: s.created_at, reverse=True)
        wanted = [s for s in summaries if s.assessment_id not in excluding][:count]
        loaded = (self.load_assessment(session_id, s.assessment_id) for s in wanted)
        return [assessment for assessment in loaded if assessment is not None]

    def facts(self, session_id: str) -> dict[str, str]:
        return {k: str(v) for k, v in self.manager.facts(session_id).model_dump(exclude_none=True).items()}

    def update_facts(self, session_id: str, facts: Mapping[str, str]) -> None:
        typed: dict[str, object] = {}
        for key, value in facts.items():
            typed[key] = [part for part in value.split(",") if part] if key in _FACT_LISTS else value
        self.manager.update_facts(session_id, **typed)
