"""The rules the golden files do not reach: edge cases of policies, ports, selectors, dates and the
result model, each on the smallest evidence that shows it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from pydantic import ValidationError

from agent_config.checks.evidence import ApiCall, Evidence, EvidenceItem
from agent_config.checks.findings import findings_from_results
from agent_config.checks.results import CheckResult
from agent_config.checks.services import account, cloudtrail, ec2, elb, iam, s3
from agent_config.checks.services._common import Tri, parse_time
from agent_config.checks.services._policy import (
    action_matches,
    is_public_statement,
    parse_document,
    restricting_keys,
    statements,
)
from agent_config.integrations.security_findings import findings_from_network_security
from agent_config.interfaces import FindingStatus
from agent_config.response.synthesizer import SecuritySynthesizer

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

    for control in ("IAM.7", "IAM.15", "IAM.16"):
        assert by_control(results, control)[0].status is FindingStatus.PASS, control


def test_iam_15_and_16_judge_only_their_own_setting_of_the_password_policy() -> None:
    # GIVEN a policy one short on length and one short on remembered passwords, strong otherwise
    policy = {
        "PasswordPolicy": {
            "MinimumPasswordLength": 13,
            "RequireSymbols": True,
            "RequireNumbers": True,
            "RequireUppercaseCharacters": True,
            "RequireLowercaseCharacters": True,
            "PasswordReusePrevention": 23,
            "MaxPasswordAge": 90,
        }
    }

    results = iam.evaluate(REGION, evidence((iam.password_policy_call(), policy)))

    assert by_control(results, "IAM.15")[0].status is FindingStatus.FAIL
    assert by_control(results, "IAM.15")[0].evidence == {"MinimumPasswordLength": 13}
    assert by_control(results, "IAM.16")[0].status is FindingStatus.FAIL
    assert by_control(results, "IAM.16")[0].evidence == {"PasswordReusePrevention": 23}
    assert by_control(results, "IAM.7")[0].status is FindingStatus.FAIL


NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _user_with_one_key(created_days: int, last_used: int | str) -> Evidence:
    """A user without console password and one active key; `last_used` is days ago or an error code."""
    key = "AKIAEXAMPLEKEY000001"
    calls = iam.user_calls("svc-export")
    listing = {"Users": [{"UserName": "svc-export", "Arn": f"arn:aws:iam::{ACCOUNT}:user/svc-export"}]}
    keys = {
        "AccessKeyMetadata": [
            {"AccessKeyId": key, "Status": "Active", "CreateDate": (NOW - timedelta(days=created_days)).isoformat()}
        ]
    }
    used: dict[str, Any] | str = (
        last_used
        if isinstance(last_used, str)
        else {"AccessKeyLastUsed": {"LastUsedDate": (NOW - timedelta(days=last_used)).isoformat()}}
    )
    return evidence(
        (iam.list_users_call(), listing),
        (calls["get-login-profile"], "NoSuchEntity"),
        (calls["list-access-keys"], keys),
        (calls["list-attached-user-policies"], {"AttachedPolicies": []}),
        (calls["list-user-policies"], {"PolicyNames": []}),
        (iam.key_last_used_call(key), used),
    )


@pytest.mark.parametrize(
    ("created", "last_used", "iam_8", "iam_22"),
    [
        (80, 45, FindingStatus.PASS, FindingStatus.PASS),  # exactly 45 days: not more than 45
        (80, 46, FindingStatus.PASS, FindingStatus.FAIL),
        (200, 90, FindingStatus.PASS, FindingStatus.FAIL),
        (200, 91, FindingStatus.FAIL, FindingStatus.FAIL),
        (30, "AccessDenied", FindingStatus.PASS, FindingStatus.PASS),  # younger than both thresholds
        (60, "AccessDenied", FindingStatus.PASS, FindingStatus.MANUAL),  # may have idled 60 days
        (120, "AccessDenied", FindingStatus.MANUAL, FindingStatus.MANUAL),
    ],
)
def test_iam_8_and_iam_22_read_the_same_credential_use_with_their_own_threshold(
    created: int, last_used: int | str, iam_8: FindingStatus, iam_22: FindingStatus
) -> None:
    results = iam.evaluate(REGION, _user_with_one_key(created, last_used), now=NOW)

    assert by_control(results, "IAM.8")[0].status is iam_8
    assert by_control(results, "IAM.22")[0].status is iam_22
    if iam_22 is FindingStatus.MANUAL:
        assert by_control(results, "IAM.22")[0].missing == "permission iam:GetAccessKeyLastUsed was denied"


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


# --- Account ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        ("AWSOrganizationsNotInUseException", FindingStatus.FAIL),
        ("AccessDeniedException", FindingStatus.MANUAL),
        ("TooManyRequestsException", FindingStatus.MANUAL),
        ({"Organization": {}}, FindingStatus.MANUAL),
        ({"Organization": {"Id": "o-abcdef1234", "MasterAccountId": "111122223333"}}, FindingStatus.PASS),
    ],
)
def test_account_2_fails_only_when_organizations_says_the_account_is_in_none(
    answer: dict[str, Any] | str, status: FindingStatus
) -> None:
    results = account.evaluate(REGION, evidence((account.organization_call(), answer)))

    result = by_control(results, "Account.2")[0]
    assert result.status is status
    if status is FindingStatus.MANUAL:
        assert result.missing and "organizations:DescribeOrganization" in result.missing


# --- ELB ------------------------------------------------------------------------------------

ELB_ARN = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:"
SHOP_ALB = ELB_ARN + "loadbalancer/app/shop-alb/366a156f04f7c37d"
API_ALB = ELB_ARN + "loadbalancer/app/api-alb/e1be1c18f05b07f8"
SHOP_HTTP = ELB_ARN + "listener/app/shop-alb/366a156f04f7c37d/0a1b2c3d4e5f6a7b"
HTTPS_REDIRECT = {"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}


def _alb_evidence(http_default: list[dict[str, Any]], rules: list[dict[str, Any]] | None = None) -> Evidence:
    """shop-alb with HTTP:80 (the given default actions) and HTTPS:443; api-alb with HTTPS:443 only;
    the ARNs of the Security server's own golden answer (`check_network_security_no_default_view`)."""
    balancers = {
        "LoadBalancers": [
            {"LoadBalancerArn": SHOP_ALB, "LoadBalancerName": "shop-alb", "Type": "application"},
            {"LoadBalancerArn": API_ALB, "LoadBalancerName": "api-alb", "Type": "application"},
        ]
    }
    https = {"Protocol": "HTTPS", "Port": 443, "DefaultActions": [{"Type": "forward"}]}
    shop = {
        "Listeners": [
            {"ListenerArn": SHOP_HTTP, "Protocol": "HTTP", "Port": 80, "DefaultActions": http_default},
            https,
        ]
    }
    default_rule = {"Priority": "default", "IsDefault": True, "Actions": http_default}
    return evidence(
        (elb.list_call(REGION), balancers),
        (elb.listeners_call(REGION, SHOP_ALB), shop),
        (elb.listeners_call(REGION, API_ALB), {"Listeners": [https]}),
        (elb.rules_call(REGION, SHOP_HTTP), {"Rules": [default_rule, *(rules or [])]}),
    )


@pytest.mark.parametrize(
    ("default", "rules", "status"),
    [
        ([HTTPS_REDIRECT], [], FindingStatus.PASS),
        ([{"Type": "authenticate-oidc", "Order": 1}, {**HTTPS_REDIRECT, "Order": 2}], [], FindingStatus.PASS),
        ([HTTPS_REDIRECT], [{"Priority": "5", "Actions": [{"Type": "fixed-response"}]}], FindingStatus.PASS),
        ([HTTPS_REDIRECT], [{"Priority": "5", "Actions": [{"Type": "forward"}]}], FindingStatus.FAIL),
        ([{"Type": "authenticate-cognito"}, {"Type": "forward"}], [], FindingStatus.FAIL),
        ([{"Type": "redirect", "RedirectConfig": {"Protocol": "HTTP", "Host": "b.example"}}], [], FindingStatus.FAIL),
        ([], [], FindingStatus.FAIL),
    ],
    ids=[
        "redirect",
        "authenticate-then-redirect",
        "fixed-response-rule",
        "forwarding-rule",
        "authenticate-then-forward",
        "redirect-to-http",
        "no-default-action",
    ],
)
def test_elb_1_passes_only_http_listeners_that_redirect_to_https_and_forward_nothing(
    default: list[dict[str, Any]], rules: list[dict[str, Any]], status: FindingStatus
) -> None:
    results = elb.evaluate(REGION, _alb_evidence(default, rules))

    assert {(r.resource_id, r.status) for r in results} == {("shop-alb", status), ("api-alb", FindingStatus.PASS)}


def test_elb_1_is_one_finding_per_alb_whether_this_module_or_the_security_server_reported_it() -> None:
    # GIVEN ELB.1 from both sources for the same two ALBs: the Security server cannot read redirects
    # (MANUAL for shop-alb, PASS for api-alb, which has no HTTP listener); this module reads them
    fixture = (
        Path(__file__).parents[1] / "fixtures" / "security_server" / "check_network_security_no_default_view.moto.json"
    )
    server = findings_from_network_security(json.loads(fixture.read_text(encoding="utf-8")), REGION, ACCOUNT)
    forwarding = [{"Priority": "5", "Actions": [{"Type": "forward"}]}]
    ours = findings_from_results(elb.evaluate(REGION, _alb_evidence([HTTPS_REDIRECT], forwarding)), ACCOUNT, "aws_api")

    # WHEN the synthesizer merges them
    merged = SecuritySynthesizer().resolve_conflicts([*server, *ours])

    # THEN each ALB has one ELB.1 finding with both sources, and the definite answer wins
    elb_1 = {f.resource_arn: f for f in merged if f.control_id == "ELB.1"}
    assert set(elb_1) == {SHOP_ALB, API_ALB}
    assert elb_1[SHOP_ALB].status is FindingStatus.FAIL
    assert elb_1[API_ALB].status is FindingStatus.PASS
    assert all(set(f.sources) == {"aws_api", "security"} for f in elb_1.values())


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
