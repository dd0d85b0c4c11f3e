"""The rules the golden files do not reach: edge cases of policies, ports, selectors, dates and the
result model, each on the smallest evidence that shows it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
from pydantic import ValidationError

from agent_config.checks.evidence import ApiCall, Evidence, EvidenceItem
from agent_config.checks.results import CheckResult
from agent_config.checks.services import cloudtrail, ec2, iam, s3
from agent_config.checks.services._common import Tri, parse_time
from agent_config.checks.services._policy import (
    action_matches,
    is_public_statement,
    parse_document,
    restricting_keys,
    statements,
)
from agent_config.interfaces import FindingStatus

ACCOUNT = "123456789012"
REGION = "us-east-1"


def evidence(*pairs: tuple[ApiCall, dict[str, Any] | str]) -> Evidence:
    """Evidence from (call, response) pairs; a string response is an error code."""
    items = [
        EvidenceItem(call=call, error_code=response)
        if isinstance(response, str)
        else EvidenceItem(call=call, response=response)
        for call, response in pairs
    ]
    return Evidence(account_id=ACCOUNT, items=items)


def by_control(results: list[CheckResult], control: str) -> list[CheckResult]:
    return [r for r in results if r.control_id == control]


# --- policies -------------------------------------------------------------------------------


def test_policy_documents_are_read_from_json_url_encoded_json_and_objects() -> None:
    document = {"Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}}

    for form in (document, json.dumps(document), quote(json.dumps(document))):
        assert parse_document(form) == document
    assert parse_document("not a policy") is None
    assert statements(json.dumps(document))[0].actions == ("s3:GetObject",)


@pytest.mark.parametrize(
    ("pattern", "action", "matches"),
    [
        ("s3:*", "s3:GetObject", True),
        ("S3:get*", "s3:GetObject", True),
        ("s3:Put*", "s3:GetObject", False),
        ("*", "kms:Decrypt", True),
        ("kms:?ecrypt", "kms:Decrypt", True),
    ],
)
def test_actions_match_with_iam_wildcards_and_any_case(pattern: str, action: str, matches: bool) -> None:
    assert action_matches(pattern, action) is matches


@pytest.mark.parametrize(
    ("condition", "restricted"),
    [
        ({"StringEquals": {"aws:PrincipalOrgID": "o-abc"}}, True),
        ({"IpAddress": {"AWS:SourceIp": ["10.0.0.0/8"]}}, True),
        ({"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}, False),
        ({"StringLike": {"aws:SourceAccount": "*"}}, False),
        ({"Null": {"aws:SourceAccount": "false"}}, False),
        ({"Bool": {"aws:SecureTransport": "true"}}, False),
    ],
)
def test_only_concrete_values_of_identity_keys_restrict_a_public_principal(
    condition: dict[str, Any], restricted: bool
) -> None:
    statement = statements(
        {"Statement": [{"Effect": "Allow", "Principal": {"AWS": ["*"]}, "Action": "s3:*", "Condition": condition}]}
    )[0]

    assert bool(restricting_keys(statement.condition)) is restricted
    assert is_public_statement(statement) is not restricted


# --- S3 -------------------------------------------------------------------------------------


def _bucket_evidence(name: str, *, policy: dict[str, Any] | str, location: str | None) -> Evidence:
    calls = s3.bucket_calls(name)
    return evidence(
        (s3.account_bpa_call(ACCOUNT), "NoSuchPublicAccessBlockConfiguration"),
        (s3.list_buckets_call(), {"Buckets": [{"Name": name}]}),
        (calls["get-bucket-acl"], {"Grants": []}),
        (calls["get-bucket-policy"], policy if isinstance(policy, str) else {"Policy": json.dumps(policy)}),
        (calls["get-public-access-block"], "NoSuchPublicAccessBlockConfiguration"),
        (calls["get-bucket-logging"], {}),
        (s3.location_call(name), {"LocationConstraint": location}),
    )


def test_a_tls_deny_written_with_a_json_boolean_counts_and_eu_means_eu_west_1() -> None:
    tls = {
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "*",
                "Resource": "*",
                "Condition": {"Bool": {"aws:SecureTransport": False}},
            }
        ]
    }

    results = s3.evaluate(REGION, _bucket_evidence("old-eu", policy=tls, location="EU"))

    s3_5 = by_control(results, "S3.5")[0]
    assert s3_5.status is FindingStatus.PASS
    assert s3_5.region == "eu-west-1"


def test_a_bucket_in_the_original_region_reports_us_east_1() -> None:
    results = s3.evaluate(REGION, _bucket_evidence("classic", policy="NoSuchBucketPolicy", location=None))

    assert {r.region for r in results if r.resource_id == "classic"} == {"us-east-1"}
    assert by_control(results, "S3.5")[0].status is FindingStatus.FAIL


def test_a_public_policy_fails_even_when_the_acl_could_not_be_read() -> None:
    public = {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}]}
    base = _bucket_evidence("leaky", policy=public, location=None)
    acl_call = s3.bucket_calls("leaky")["get-bucket-acl"]
    base.items = [
        EvidenceItem(call=acl_call, error_code="AccessDenied") if i.call == acl_call else i for i in base.items
    ]

    read_result = by_control(s3.evaluate(REGION, base), "S3.2")[0]

    assert read_result.status is FindingStatus.FAIL
    assert "policy allows everyone" in read_result.reason


# --- EC2 ------------------------------------------------------------------------------------


def test_numeric_protocols_and_missing_ports_are_read_as_aws_means_them() -> None:
    rules = ec2.open_rules(
        [
            {"IpProtocol": "6", "FromPort": 20, "ToPort": 30, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
            {"IpProtocol": "17", "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]},
        ]
    )

    assert [r.label for r in rules] == ["tcp 20-30 from 0.0.0.0/0", "udp 0-65535 from ::/0"]
    assert rules[0].covers(22, frozenset({"tcp"}))
    assert not rules[1].covers(22, frozenset({"tcp"}))


def test_network_acl_entries_are_read_in_rule_number_order() -> None:
    entries = [
        {
            "RuleNumber": 200,
            "Protocol": "-1",
            "RuleAction": "allow",
            "Egress": False,
            "CidrBlock": "0.0.0.0/0",
        },
        {
            "RuleNumber": 100,
            "Protocol": "6",
            "RuleAction": "deny",
            "Egress": False,
            "CidrBlock": "0.0.0.0/0",
            "PortRange": {"From": 0, "To": 1024},
        },
        {
            "RuleNumber": 100,
            "Protocol": "6",
            "RuleAction": "allow",
            "Egress": False,
            "Ipv6CidrBlock": "::/0",
            "PortRange": {"From": 22, "To": 22},
        },
        {"RuleNumber": 50, "Protocol": "-1", "RuleAction": "allow", "Egress": True, "CidrBlock": "0.0.0.0/0"},
    ]

    assert ec2.nacl_exposure(entries) == ["3389 from 0.0.0.0/0 (rule 200)", "22 from ::/0 (rule 100)"]


def test_terminated_instances_are_ignored_and_a_disabled_metadata_service_passes() -> None:
    calls = ec2.listing_calls(REGION)
    instances = {
        "Reservations": [
            {
                "Instances": [
                    {
                        "InstanceId": "i-gone",
                        "State": {"Name": "terminated"},
                        "MetadataOptions": {"HttpTokens": "optional"},
                    },
                    {
                        "InstanceId": "i-quiet",
                        "State": {"Name": "running"},
                        "MetadataOptions": {"HttpTokens": "optional", "HttpEndpoint": "disabled"},
                    },
                ]
            }
        ]
    }

    results = ec2.evaluate(REGION, evidence((calls["instances"], instances)))

    imds = by_control(results, "EC2.8")
    assert [(r.resource_id, r.status) for r in imds] == [("i-quiet", FindingStatus.PASS)]
    assert imds[0].resource_arn == f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/i-quiet"


# --- CloudTrail -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("selectors", "coverage"),
    [
        (
            {"EventSelectors": [{"ReadWriteType": "ReadOnly"}, {"ReadWriteType": "WriteOnly"}]},
            {"read", "write"},
        ),
        ({"EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": False}]}, set()),
        (
            {"EventSelectors": [{"ReadWriteType": "All", "ExcludeManagementEventSources": ["kms.amazonaws.com"]}]},
            set(),
        ),
        (
            {
                "AdvancedEventSelectors": [
                    {
                        "FieldSelectors": [
                            {"Field": "eventCategory", "Equals": ["Management"]},
                            {"Field": "readOnly", "Equals": ["true"]},
                        ]
                    }
                ]
            },
            {"read"},
        ),
        ({"EventSelectors": [], "AdvancedEventSelectors": []}, {"read", "write"}),
    ],
)
def test_management_event_coverage(selectors: dict[str, Any], coverage: set[str]) -> None:
    assert cloudtrail.management_coverage({"HasCustomEventSelectors": False}, selectors) == coverage


# --- IAM ------------------------------------------------------------------------------------


def test_a_password_policy_exactly_at_the_thresholds_passes() -> None:
    policy = {
        "PasswordPolicy": {
            "MinimumPasswordLength": 14,
            "RequireSymbols": True,
            "RequireNumbers": True,
            "RequireUppercaseCharacters": True,
            "RequireLowercaseCharacters": True,
            "PasswordReusePrevention": 24,
            "MaxPasswordAge": 90,
        }
    }

    results = iam.evaluate(REGION, evidence((iam.password_policy_call(), policy)))

    assert by_control(results, "IAM.7")[0].status is FindingStatus.PASS


def test_a_virtual_mfa_device_on_the_root_user_is_not_hardware() -> None:
    summary = {"SummaryMap": {"AccountMFAEnabled": 1, "AccountAccessKeysPresent": 0}}
    devices = {
        "VirtualMFADevices": [
            {
                "SerialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/root-account-mfa-device",
                "User": {"Arn": f"arn:aws:iam::{ACCOUNT}:root"},
            }
        ]
    }

    results = iam.evaluate(REGION, evidence((iam.summary_call(), summary), (iam.virtual_mfa_call(), devices)))

    assert by_control(results, "IAM.9")[0].status is FindingStatus.PASS
    assert by_control(results, "IAM.6")[0].status is FindingStatus.FAIL


# --- plumbing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-25T12:00:00+00:00",
        "2026-11-25 12:00:00+00:00",
        "2026-11-25T12:00:00Z",
        "2026-11-25T12:00:00",
        "1795608000",
        1795608000.0,
    ],
)
def test_timestamps_are_read_in_every_form_aws_tools_print(text: str | float) -> None:
    assert parse_time(text) == datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_unknown_stays_unknown_unless_another_operand_decides() -> None:
    unknown = Tri.unknown("permission x:Y was denied")

    assert unknown.and_(Tri.known(False)).value is False
    assert unknown.or_(Tri.known(True)).value is True
    combined = unknown.and_(Tri.known(True))
    assert combined.value is None
    assert combined.missing == ("permission x:Y was denied",)


def test_results_refuse_manual_without_missing_and_oversized_evidence() -> None:
    base = {
        "control_id": "S3.8",
        "resource_type": "AWS::S3::Bucket",
        "resource_id": "b",
        "region": REGION,
        "reason": "r",
    }

    with pytest.raises(ValidationError, match="must name what was missing"):
        CheckResult(status=FindingStatus.MANUAL, **base)
    with pytest.raises(ValidationError, match="only a MANUAL result"):
        CheckResult(status=FindingStatus.PASS, missing="x", **base)
    with pytest.raises(ValidationError, match="decisive fields"):
        CheckResult(status=FindingStatus.PASS, evidence={"whole": "x" * 5000}, **base)
