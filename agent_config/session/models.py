"""What a session keeps, as validated data: the boundary between the store's bytes and the code.

A session (the META record) is small on purpose: conversation facts and one summary per
assessment. The per-finding fingerprints and the full report live in their own items, read only
when a question needs them ("what changed since last time", "show page 3 of the findings").
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agent_config.interfaces import FindingStatus, Severity

SESSION_SCHEMA_VERSION = 1


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FindingFingerprint(_Model):
    """One finding reduced to what "what changed since last time" needs.

    `fingerprint` is a stable hash of control id, resource and region (see `fingerprints.py`), so
    the same problem on the same resource has the same fingerprint in every assessment.
    """

    fingerprint: str
    control_id: str
    resource: str
    region: str
    status: FindingStatus
    severity: Severity

    def as_row(self) -> list[str]:
        """Compact stored form (a list, not a dict: fingerprints can number in the thousands)."""
        return [
            self.fingerprint,
            self.control_id,
            self.resource,
            self.region,
            self.status.value,
            self.severity.value,
        ]

    @classmethod
    def from_row(cls, row: list[str]) -> FindingFingerprint:
        fingerprint, control_id, resource, region, status, severity = row
        return cls(
            fingerprint=fingerprint,
            control_id=control_id,
            resource=resource,
            region=region,
            status=FindingStatus(status),
            severity=Severity(severity),
        )


class ReportManifest(_Model):
    """How a full report was stored: enough to read it back whole and prove it is the same."""

    sha256: str = Field(description="SHA-256 of the report's canonical JSON (before compression).")
    raw_bytes: int = Field(ge=0, description="Size of the canonical JSON.")
    stored_bytes: int = Field(ge=0, description="Size after compression: the sum of the chunks.")
    chunks: int = Field(ge=1)
    encoding: Literal["zlib+json"] = "zlib+json"


class AssessmentSummary(_Model):
    """One assessment as META lists it: small enough that a session can hold hundreds."""

    assessment_id: str
    created_at: datetime = Field(description="When the assessment was made (from the report).")
    recorded_at: datetime = Field(description="When it was stored.")
    regions: list[str] = Field(default_factory=list)
    services: list[str] | None = Field(default=None, description="The services assessed; None: every service.")
    scores: dict[str, float | None] = Field(default_factory=dict)
    counts: dict[str, int] = Field(default_factory=dict, description="Findings by status.")
    failing_by_severity: dict[str, int] = Field(default_factory=dict)
    finding_count: int = Field(ge=0)
    report: ReportManifest
    fingerprints_inline: bool = Field(
        default=True,
        description="False when the fingerprints were too large for the ASSESSMENT item; they are "
        "then recomputed from the report.",
    )
    items_expire_at: int = Field(
        description="TTL of this assessment's items (ASSESSMENT and REPORT chunks), epoch seconds."
    )


class AssessmentDraft(_Model):
    """What the manager extracts from an assessment; the store adds how and until when it is kept."""

    assessment_id: str
    created_at: datetime
    regions: list[str] = Field(default_factory=list)
    services: list[str] | None = None
    scores: dict[str, float | None] = Field(default_factory=dict)
    fingerprints: list[FindingFingerprint] = Field(default_factory=list)


class AssessmentRecord(_Model):
    """An assessment's summary with its fingerprints (the ASSESSMENT item, decoded)."""

    summary: AssessmentSummary
    fingerprints: list[FindingFingerprint] | None = Field(
        description="None when not stored inline (see `AssessmentSummary.fingerprints_inline`)."
    )


class ConversationFacts(_Model):
    """What the conversation has established, for answers that refer back to it.

    Updated per key, last writer wins: `update_facts(framework="cis")` leaves the regions alone.
    """

    regions: list[str] | None = None
    services: list[str] | None = None
    framework: str | None = Field(default=None, description="The last framework the user asked about.")
    last_assessment_id: str | None = None
    account_id: str | None = Field(default=None, description="The account the conversation assessed.")


class SessionState(_Model):
    """The META record's content (its version and expiry travel beside it in `SessionRecord`)."""

    schema_version: int = SESSION_SCHEMA_VERSION
    created_at: datetime
    updated_at: datetime
    facts: ConversationFacts = Field(default_factory=ConversationFacts)
    assessments: list[AssessmentSummary] = Field(default_factory=list, description="Oldest first, by `created_at`.")

    def with_facts(self, updates: Mapping[str, Any]) -> SessionState:
        """These facts set (a None value clears one), every other fact kept."""
        merged = {**self.facts.model_dump(), **updates}
        return self.model_copy(update={"facts": ConversationFacts.model_validate(merged)})

    def with_assessment(self, summary: AssessmentSummary, max_kept: int) -> SessionState:
        """The summary added (or replacing one with the same id), oldest dropped beyond `max_kept`.

        `last_assessment_id` follows the newest assessment by `created_at`, not the last writer, so
        two assessments recorded concurrently leave it pointing at the more recent one.
        """
        kept = [s for s in self.assessments if s.assessment_id != summary.assessment_id]
        kept.append(summary)
        kept.sort(key=lambda s: (s.created_at, s.recorded_at, s.assessment_id))
        kept = kept[-max_kept:]
        facts = self.facts.model_copy(update={"last_assessment_id": kept[-1].assessment_id})
        return self.model_copy(update={"assessments": kept, "facts": facts})

    def summary_of(self, assessment_id: str) -> AssessmentSummary | None:
        return next((s for s in self.assessments if s.assessment_id == assessment_id), None)


class SessionRecord(_Model):
    """META as read: the state, the version it was read at, and when it expires."""

    session_id: str
    version: int = Field(ge=1, description="1 after the first write, +1 on every write.")
    expires_at: int
    state: SessionState


class FindingChanges(_Model):
    """What changed between two assessments, from their fingerprints.

    - `new`: failing now, not failing before (absent, passing, or not assessable then);
    - `resolved`: failing before, and now passing, not applicable, or absent although the
      current assessment covered its region and service;
    - `persisting`: failing in both;
    - `not_reassessed`: failing before, and now only MANUAL, or absent because the current
      assessment did not cover its region or service. Not called resolved: nobody looked.
    """

    previous_assessment_id: str | None
    previous_created_at: datetime | None = Field(
        default=None, description="When the previous assessment was made, so an answer can say since when."
    )
    current_assessment_id: str
    new: list[FindingFingerprint] = Field(default_factory=list)
    resolved: list[FindingFingerprint] = Field(default_factory=list)
    persisting: list[FindingFingerprint] = Field(default_factory=list)
    not_reassessed: list[FindingFingerprint] = Field(default_factory=list)

    @property
    def has_previous(self) -> bool:
        return self.previous_assessment_id is not None

    def counts(self) -> dict[str, int]:
        return {
            "new": len(self.new),
            "resolved": len(self.resolved),
            "persisting": len(self.persisting),
            "not_reassessed": len(self.not_reassessed),
        }


class ReportPage(_Model):
    """One page of a stored report's findings, for answers that must stay small."""

    assessment_id: str
    page: int = Field(ge=1)
    page_size: int = Field(ge=1)
    total_findings: int = Field(ge=0)
    total_pages: int = Field(ge=0)
    findings: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def has_next(self) -> bool:
        return self.page < self.total_pages
