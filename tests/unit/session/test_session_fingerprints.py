"""Finding fingerprints and assessment summaries, from the model and from its JSON shapes.

GIVEN findings as pydantic models or as JSON documents (model_dump or the CLI's report shape)
WHEN they are fingerprinted or summarised
THEN the same problem always gets the same fingerprint, and nothing needed for a diff is lost.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agent_config.interfaces import FindingStatus, Score, SecurityAssessment, Severity
from agent_config.response.reports import assessment_json
from agent_config.session.fingerprints import (
    FINGERPRINT_HEX_CHARS,
    counts_of,
    created_at_of,
    finding_fingerprint,
    fingerprint_of,
    fingerprints_of,
    report_document,
    scores_of,
)
from agent_config.utils.error_handling import InvalidInput


def test_a_fingerprint_is_a_stable_short_hash_of_control_resource_and_region():
    value = finding_fingerprint("S3.8", "arn:aws:s3:::bucket", "us-east-1")
    assert value == finding_fingerprint("S3.8", "arn:aws:s3:::bucket", "us-east-1")
    assert len(value) == FINGERPRINT_HEX_CHARS
    assert int(value, 16) >= 0
    # Pinned: a change here would make every stored session's history look new.
    assert value == "6d4b58a06f47a565"


def test_each_part_of_the_identity_changes_the_fingerprint():
    base = finding_fingerprint("S3.8", "b", "us-east-1")
    assert finding_fingerprint("S3.1", "b", "us-east-1") != base
    assert finding_fingerprint("S3.8", "c", "us-east-1") != base
    assert finding_fingerprint("S3.8", "b", "eu-west-1") != base
    # The separator keeps ("a", "bc") and ("ab", "c") apart.
    assert finding_fingerprint("a", "bc", "r") != finding_fingerprint("ab", "c", "r")


def test_model_and_json_forms_of_a_finding_have_the_same_fingerprint(make_assessment):
    assessment = make_assessment("a1", [("S3.8", "bucket", "FAIL")])
    from_model = fingerprint_of(assessment.findings[0])
    from_json = fingerprint_of(assessment.model_dump(mode="json")["findings"][0])
    from_cli_report = fingerprint_of(assessment_json(assessment)["findings"][0])
    assert from_model == from_json == from_cli_report


def test_the_arn_is_preferred_to_the_resource_id_as_in_finding_key():
    with_arn = fingerprint_of(
        {
            "control_id": "S3.8",
            "status": "FAIL",
            "severity": "HIGH",
            "resource_id": "b",
            "resource_arn": "arn:x",
        }
    )
    assert with_arn.resource == "arn:x"


def test_status_and_severity_are_read_in_any_case_and_info_is_informational():
    item = fingerprint_of({"control_id": "X.1", "status": "fail", "severity": "info"})
    assert item.status is FindingStatus.FAIL
    assert item.severity is Severity.INFORMATIONAL


def test_duplicates_keep_the_worst_status_so_a_failure_is_never_hidden():
    findings = [
        {"control_id": "S3.8", "resource_id": "b", "region": "r", "status": "PASS", "severity": "LOW"},
        {"control_id": "S3.8", "resource_id": "b", "region": "r", "status": "FAIL", "severity": "HIGH"},
        {"control_id": "S3.8", "resource_id": "b", "region": "r", "status": "MANUAL", "severity": "LOW"},
    ]
    (only,) = fingerprints_of(findings)
    assert only.status is FindingStatus.FAIL
    assert only.severity is Severity.HIGH


@pytest.mark.parametrize(
    "finding",
    [
        {"status": "FAIL"},
        {"control_id": "S3.8"},
        {"control_id": "S3.8", "status": "BROKEN"},
        {"control_id": "S3.8", "status": "FAIL", "severity": "APOCALYPTIC"},
    ],
)
def test_a_malformed_finding_is_refused_with_invalid_input(finding):
    with pytest.raises(InvalidInput):
        fingerprint_of(finding)


def test_scores_are_read_from_both_report_shapes():
    score = Score(name="pass_ratio", value=62.5, formula="passed / assessed", numerator=5, denominator=8)
    assessment = SecurityAssessment(assessment_id="a1", scores=[score])
    assert scores_of(assessment.model_dump(mode="json")) == {"pass_ratio": 62.5}
    assert scores_of(assessment_json(assessment)) == {"pass_ratio": 62.5}


def test_framework_scores_are_kept_under_a_framework_prefix():
    document = {
        "scores": {
            "weighted": {"value": 40.0},
            "frameworks": {"cis": {"score": {"value": 70.0}}, "fsbp": {"score": {"value": None}}},
        }
    }
    assert scores_of(document) == {"weighted": 40.0, "framework:cis": 70.0, "framework:fsbp": None}


def test_counts_are_by_status_and_failing_by_severity(make_print):
    prints = [
        make_print("A.1", "x", "FAIL", severity=Severity.HIGH),
        make_print("A.1", "y", "FAIL", severity=Severity.LOW),
        make_print("A.2", "x", "PASS"),
    ]
    assert counts_of(prints) == ({"FAIL": 2, "PASS": 1}, {"HIGH": 1, "LOW": 1})


def test_created_at_is_parsed_and_a_naive_time_is_taken_as_utc():
    default = datetime(2000, 1, 1, tzinfo=UTC)
    assert created_at_of({"created_at": "2026-11-01T12:00:00"}, default) == datetime(2026, 11, 1, 12, tzinfo=UTC)
    assert created_at_of({}, default) == default
    with pytest.raises(InvalidInput):
        created_at_of({"created_at": "yesterday"}, default)


def test_report_document_accepts_the_model_or_a_json_object_only():
    assert report_document(SecurityAssessment(assessment_id="a"))["assessment_id"] == "a"
    assert report_document({"assessment_id": "b"}) == {"assessment_id": "b"}
    with pytest.raises(InvalidInput):
        report_document(["not", "an", "object"])  # type: ignore[arg-type]
