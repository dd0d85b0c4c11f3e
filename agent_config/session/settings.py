"""The session store's knobs, with the reason for each default."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from agent_config.session.table import DEFAULT_CHUNK_BYTES, DEFAULT_TTL_SECONDS


class BackoffSettings(BaseModel):
    """Bounded retries with exponential backoff and full jitter (the wait after failed attempt n is
    uniform in `[0, min(max_delay_s, base_delay_s * 2**(n-1)))`), so writers that collided spread
    out instead of colliding again in lock-step."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_attempts: int = Field(ge=1, le=50)
    base_delay_s: float = Field(gt=0)
    max_delay_s: float = Field(gt=0)

    def ceiling(self, failed_attempt: int) -> float:
        exponent = min(max(failed_attempt - 1, 0), 62)
        return min(self.max_delay_s, self.base_delay_s * 2.0**exponent)


class SessionSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ttl_seconds: int = Field(
        default=DEFAULT_TTL_SECONDS,
        ge=60,
        le=7 * 24 * 3600,
        description="Idle session TTL: every item expires this long after the session's last write. "
        "Match the agent's idleSessionTTLInSeconds (Bedrock allows 60-5400 s).",
    )
    chunk_bytes: int = Field(
        default=DEFAULT_CHUNK_BYTES,
        ge=1024,
        le=350_000,
        description="Largest REPORT chunk; the rest of the 400 KB item limit is left for keys and hashes.",
    )
    inline_fingerprints_bytes: int = Field(
        default=300_000,
        ge=0,
        le=350_000,
        description="Compressed fingerprints larger than this are not stored in the ASSESSMENT item; "
        "they are recomputed from the report when needed.",
    )
    max_report_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=1024,
        description="Largest report kept, compressed. A Lambda holds the whole report in memory.",
    )
    max_assessments: int = Field(
        default=200,
        ge=1,
        le=1000,
        description="Assessment summaries kept in META (oldest dropped), so META stays far below 400 KB.",
    )
    conflict_retry: BackoffSettings = Field(
        default_factory=lambda: BackoffSettings(max_attempts=20, base_delay_s=0.01, max_delay_s=0.25),
        description="Re-read-and-merge attempts when another writer updated META first. Many and "
        "short: a conflict means the store is healthy and a retry will usually win.",
    )
    throttle_retry: BackoffSettings = Field(
        default_factory=lambda: BackoffSettings(max_attempts=4, base_delay_s=0.05, max_delay_s=1.0),
        description="Attempts per request when throttling outlasts botocore's own retries. Few: "
        "the answer does not wait long for history.",
    )
