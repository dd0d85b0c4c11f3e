"""The synthesizer: de-duplication across sources, conflict rules, ranking with reasons, scores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from agent_config.interfaces import Finding, FindingStatus, Severity
from agent_config.response.scoring import control_statuses, overall_scores
from agent_config.response.synthesizer import REPORT_ORIGIN, SecuritySynthesizer

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _finding(control: str, resource: str, status: FindingStatus, **overrides: Any) -> Finding:
    values: dict[str, Any] = {
        "control_id": control,
        "title": f"{control} title",
        "status": status,
        "severity": Severity.HIGH,
        "resource_type": "AWS::S3::Bucket",
        "resource_id": resource,
        "resource_arn": f"arn:aws:s3:::{resource}",
        "region": "us-east-1",
        "account_id": "123456789012",
        "sources": ["aws_api"],
        "observed_at": NOW,
    }
    values.update(overrides)
    return Finding.model_validate(values)


def test_duplicates_from_two_sources_become_one_finding_with_both_sources() -> None:
    live = _finding("S3.8", "acme-uploads", FindingStatus.FAIL, evidence={"reason": "BPA off"})
    reported = _finding(
        "S3.8", "acme-uploads", FindingStatus.FAIL, sources=["security"], evidence={"origin": REPORT_ORIGIN}
    )

    [merged] = SecuritySynthesizer().resolve_conflicts([live, reported])

    assert merged.sources == ["aws_api", "security"]
    assert merged.status is FindingStatus.FAIL
    assert "conflict" not in merged.evidence


def test_live_evidence_beats_a_stored_report_and_the_conflict_is_recorded() -> None:
    live = _finding("S3.8", "acme-uploads", FindingStatus.PASS, observed_at=NOW - timedelta(hours=1))
    reported = _finding(
        "S3.8", "acme-uploads", FindingStatus.FAIL, sources=["security"], evidence={"origin": REPORT_ORIGIN}
    )

    [merged] = SecuritySynthesizer().resolve_conflicts([reported, live])

    assert merged.status is FindingStatus.PASS
    assert merged.evidence["conflict"]["rule"] == "live evidence beats a stored report"
    assert {s["status"] for s in merged.evidence["conflict"]["statuses"]} == {"PASS", "FAIL"}


def test_a_definite_answer_beats_a_source_that_could_not_look() -> None:
    manual = _finding("S3.8", "acme-uploads", FindingStatus.MANUAL, evidence={"missing": "s3:GetBucketAcl"})
    failed = _finding("S3.8", "acme-uploads", FindingStatus.FAIL, sources=["security"])

    [merged] = SecuritySynthesizer().resolve_conflicts([manual, failed])

    assert merged.status is FindingStatus.FAIL
    assert merged.evidence["conflict"]["rule"] == "a definite answer beats a missing one"


def test_newer_beats_older_between_live_sources() -> None:
    older = _finding("EC2.8", "i-1", FindingStatus.FAIL, observed_at=NOW - timedelta(minutes=5))
    newer = _finding("EC2.8", "i-1", FindingStatus.PASS, sources=["boto3"], observed_at=NOW)

    [merged] = SecuritySynthesizer().resolve_conflicts([older, newer])

    assert merged.status is FindingStatus.PASS
    assert merged.evidence["conflict"]["rule"] == "newer beats older"


def test_fail_wins_a_perfect_tie() -> None:
    one = _finding("EC2.8", "i-1", FindingStatus.FAIL)
    other = _finding("EC2.8", "i-1", FindingStatus.PASS, sources=["boto3"])

    [merged] = SecuritySynthesizer().resolve_conflicts([other, one])

    assert merged.status is FindingStatus.FAIL


def test_a_toxic_combination_ranks_above_the_same_severity_alone() -> None:
    findings = [
        _finding("EC2.9", "i-public", FindingStatus.FAIL, resource_type="AWS::EC2::Instance"),
        _finding("EC2.8", "i-public", FindingStatus.FAIL, resource_type="AWS::EC2::Instance"),
        _finding("EC2.8", "i-private", FindingStatus.FAIL, resource_type="AWS::EC2::Instance"),
    ]

    ranked = SecuritySynthesizer().prioritize_recommendations(findings)

    top = [p for p in ranked if p.finding.resource_id == "i-public"]
    lone = next(p for p in ranked if p.finding.resource_id == "i-private")
    assert all(p.priority < lone.priority for p in top)
    assert any("toxic combination" in reason for p in top for reason in p.reasons)
    assert not any("toxic combination" in reason for reason in lone.reasons)


def test_ranking_is_deterministic_and_every_rank_has_reasons() -> None:
    findings = [
        _finding(c, r, FindingStatus.FAIL, severity=s)
        for c, r, s in [
            ("S3.2", "b1", Severity.CRITICAL),
            ("S3.9", "b2", Severity.MEDIUM),
            ("IAM.1", "p1", Severity.HIGH),
            ("S3.9", "b1", Severity.MEDIUM),
        ]
    ]
    synthesizer = SecuritySynthesizer()

    first = synthesizer.prioritize_recommendations(findings)
    second = synthesizer.prioritize_recommendations(list(reversed(findings)))

    assert [p.finding.key for p in first] == [p.finding.key for p in second]
    assert [p.priority for p in first] == [1, 2, 3, 4]
    assert first[0].finding.control_id == "S3.2"
    assert all(p.reasons and p.reasons[0].startswith("control severity") for p in first)


def test_passing_and_manual_findings_are_not_ranked() -> None:
    findings = [
        _finding("S3.8", "b1", FindingStatus.PASS),
        _finding("S3.9", "b1", FindingStatus.MANUAL, evidence={"missing": "x"}),
    ]

    assert SecuritySynthesizer().prioritize_recommendations(findings) == []


def test_a_control_fails_when_any_resource_fails_and_has_no_data_when_only_manual() -> None:
    statuses = control_statuses(
        [
            _finding("S3.8", "a", FindingStatus.PASS),
            _finding("S3.8", "b", FindingStatus.FAIL),
            _finding("S3.9", "a", FindingStatus.PASS),
            _finding("S3.5", "a", FindingStatus.MANUAL, evidence={"missing": "x"}),
        ]
    )

    assert {k: v.value for k, v in statuses.items()} == {
        "S3.8": "FAILED",
        "S3.9": "PASSED",
        "S3.5": "NO_DATA",
    }


def test_scores_state_their_formulas_and_ignore_controls_without_data() -> None:
    synthesizer = SecuritySynthesizer()
    findings = [
        _finding("S3.8", "a", FindingStatus.FAIL),
        _finding("S3.9", "a", FindingStatus.PASS),
        _finding("S3.5", "a", FindingStatus.MANUAL, evidence={"missing": "x"}),
    ]

    scores = {s.name: s for s in overall_scores(findings, synthesizer.catalogue)}

    assert scores["pass_ratio"].value == 50.0
    assert scores["pass_ratio"].denominator == 2
    assert "controls with data" in scores["pass_ratio"].formula
    weighted = scores["weighted"]
    assert weighted.value is not None and weighted.value < 50.0  # S3.8 (HIGH) weighs more than S3.9
    assert "weight" in weighted.formula


def test_the_assessment_summary_names_the_most_urgent_finding_and_what_was_not_assessed() -> None:
    findings = [
        _finding("S3.2", "public-bucket", FindingStatus.FAIL, severity=Severity.CRITICAL),
        _finding("S3.9", "b2", FindingStatus.MANUAL, evidence={"missing": "permission s3:GetBucketLogging"}),
    ]

    assessment = SecuritySynthesizer().synthesize_security_assessment(findings, [], "asm-1")

    assert assessment.summary is not None
    assert "S3.2 on public-bucket" in assessment.summary.posture
    assert any("s3:GetBucketLogging" in item for item in assessment.summary.not_assessed)
    assert assessment.summary.counts_by_severity[Severity.CRITICAL] == 1
    frameworks = {f.framework for f in assessment.frameworks}
    assert frameworks == {"fsbp", "cis", "well-architected"}
    well_architected = next(f for f in assessment.frameworks if f.framework == "well-architected")
    assert well_architected.not_assessable > 0
