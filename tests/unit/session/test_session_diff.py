"""What changed since last time, from two sets of fingerprints: pure, one rule per test.

GIVEN the fingerprints of a previous and a current assessment
WHEN they are compared
THEN each failing finding lands in exactly one of new / resolved / persisting / not_reassessed.
"""

from __future__ import annotations

from agent_config.interfaces import Severity
from agent_config.session.diff import diff_fingerprints, service_of


def _diff(previous, current, regions=("us-east-1",)):
    return diff_fingerprints(
        previous,
        current,
        current_assessment_id="now",
        previous_assessment_id="before",
        current_regions=regions,
    )


def _controls(items):
    return [(f.control_id, f.resource) for f in items]


def test_a_failure_absent_before_is_new(make_print):
    changes = _diff([], [make_print("S3.8", "bucket-a", "FAIL")])
    assert _controls(changes.new) == [("S3.8", "bucket-a")]
    assert changes.counts() == {"new": 1, "resolved": 0, "persisting": 0, "not_reassessed": 0}


def test_a_failure_that_passed_before_is_new(make_print):
    changes = _diff([make_print("S3.8", "b", "PASS")], [make_print("S3.8", "b", "FAIL")])
    assert _controls(changes.new) == [("S3.8", "b")]


def test_failing_in_both_is_persisting_not_new(make_print):
    changes = _diff([make_print("S3.8", "b", "FAIL")], [make_print("S3.8", "b", "FAIL")])
    assert _controls(changes.persisting) == [("S3.8", "b")]
    assert changes.new == []


def test_a_failure_that_now_passes_is_resolved(make_print):
    changes = _diff([make_print("S3.8", "b", "FAIL")], [make_print("S3.8", "b", "PASS")])
    assert _controls(changes.resolved) == [("S3.8", "b")]


def test_a_failure_now_not_applicable_is_resolved(make_print):
    changes = _diff([make_print("S3.8", "b", "FAIL")], [make_print("S3.8", "b", "NOT_APPLICABLE")])
    assert _controls(changes.resolved) == [("S3.8", "b")]


def test_a_failure_absent_now_in_a_covered_region_and_service_is_resolved(make_print):
    previous = [make_print("S3.8", "deleted-bucket", "FAIL")]
    current = [make_print("S3.1", "other-bucket", "PASS")]  # S3 was looked at, in the same region
    changes = _diff(previous, current)
    assert _controls(changes.resolved) == [("S3.8", "deleted-bucket")]


def test_a_failure_absent_because_its_region_was_not_assessed_is_not_called_resolved(make_print):
    previous = [make_print("S3.8", "b", "FAIL", region="eu-west-1")]
    current = [make_print("S3.8", "other", "PASS", region="us-east-1")]
    changes = _diff(previous, current, regions=("us-east-1",))
    assert changes.resolved == []
    assert _controls(changes.not_reassessed) == [("S3.8", "b")]


def test_a_failure_absent_because_its_service_was_not_assessed_is_not_called_resolved(make_print):
    previous = [make_print("IAM.1", "policy", "FAIL", region="")]
    current = [make_print("S3.8", "b", "PASS")]
    changes = _diff(previous, current)
    assert _controls(changes.not_reassessed) == [("IAM.1", "policy")]


def test_a_global_failure_counts_as_covered_when_its_service_was_assessed(make_print):
    previous = [make_print("IAM.1", "old-policy", "FAIL", region="global")]
    current = [make_print("IAM.1", "other-policy", "PASS", region="global")]
    changes = _diff(previous, current, regions=("eu-west-1",))
    assert _controls(changes.resolved) == [("IAM.1", "old-policy")]


def test_a_failure_now_manual_is_not_reassessed_rather_than_resolved(make_print):
    changes = _diff([make_print("S3.8", "b", "FAIL")], [make_print("S3.8", "b", "MANUAL")])
    assert _controls(changes.not_reassessed) == [("S3.8", "b")]
    assert changes.resolved == []


def test_passing_findings_in_both_are_not_reported(make_print):
    changes = _diff([make_print("S3.8", "b", "PASS")], [make_print("S3.8", "b", "PASS")])
    assert changes.counts() == {"new": 0, "resolved": 0, "persisting": 0, "not_reassessed": 0}


def test_without_a_previous_assessment_every_failure_is_new(make_print):
    changes = diff_fingerprints(
        [], [make_print("S3.8", "b", "FAIL")], current_assessment_id="now", previous_assessment_id=None
    )
    assert not changes.has_previous
    assert len(changes.new) == 1


def test_the_same_resource_in_another_region_is_a_different_finding(make_print):
    previous = [make_print("S3.8", "b", "FAIL", region="us-east-1")]
    current = [make_print("S3.8", "b", "FAIL", region="eu-west-1"), make_print("S3.8", "b", "PASS")]
    changes = _diff(previous, current, regions=("us-east-1", "eu-west-1"))
    assert _controls(changes.new) == [("S3.8", "b")]
    assert _controls(changes.resolved) == [("S3.8", "b")]
    assert changes.persisting == []


def test_lists_are_ordered_worst_severity_first(make_print):
    current = [
        make_print("S3.8", "low", "FAIL", severity=Severity.LOW),
        make_print("S3.1", "crit", "FAIL", severity=Severity.CRITICAL),
        make_print("S3.5", "med", "FAIL", severity=Severity.MEDIUM),
    ]
    changes = _diff([], current)
    assert [f.severity for f in changes.new] == [Severity.CRITICAL, Severity.MEDIUM, Severity.LOW]


def test_service_of_a_control_is_the_part_before_the_dot():
    assert service_of("S3.8") == "S3"
    assert service_of("ec2.19") == "EC2"
    assert service_of("guardduty-finding") == "GUARDDUTY-FINDING"
