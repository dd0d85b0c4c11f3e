"""Builders shared by the session unit tests: assessments, fingerprints, and a fake clock."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from agent_config.interfaces import Finding, FindingStatus, SecurityAssessment, Severity
from agent_config.session.fingerprints import finding_fingerprint
from agent_config.session.models import FindingFingerprint

START = 1_800_000_000.0  # a fixed epoch second for the fake clock

FindingSpec = tuple[str, str, str]  # (control_id, resource_id, status)


class FakeClock:
    """A clock and a sleep sharing fake time: sleeping advances the clock, instantly."""

    def __init__(self, start: float = START) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def build_assessment(
    assessment_id: str,
    findings: Sequence[FindingSpec],
    *,
    region: str = "us-east-1",
    regions: Sequence[str] | None = None,
    minutes: int = 0,
    severity: Severity = Severity.HIGH,
) -> SecurityAssessment:
    created = datetime(2026, 11, 1, 12, 0, tzinfo=UTC) + timedelta(minutes=minutes)
    return SecurityAssessment(
        assessment_id=assessment_id,
        account_id="123456789012",
        regions=list(regions) if regions is not None else [region],
        created_at=created,
        findings=[
            Finding(
                control_id=control,
                title=f"{control} on {resource}",
                status=FindingStatus(status),
                severity=severity,
                resource_id=resource,
                region=region,
                observed_at=created,
            )
            for control, resource, status in findings
        ],
    )


@pytest.fixture
def make_assessment() -> Callable[..., SecurityAssessment]:
    return build_assessment


@pytest.fixture
def make_print() -> Callable[..., FindingFingerprint]:
    def make(
        control: str,
        resource: str,
        status: str,
        *,
        region: str = "us-east-1",
        severity: Severity = Severity.HIGH,
    ) -> FindingFingerprint:
        return FindingFingerprint(
            fingerprint=finding_fingerprint(control, resource, region),
            control_id=control,
            resource=resource,
            region=region,
            status=FindingStatus(status),
            severity=severity,
        )

    return make
