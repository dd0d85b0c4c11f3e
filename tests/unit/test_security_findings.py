"""The Security server's answers as Findings: golden files from version 0.2.0 in, Findings out.

The golden files are in tests/unit/fixtures/security_server/ (their README says which are real
captures against moto, which are the server's own code answered by botocore's Stubber, and which
are constructed). Expected findings are written out here as (control, status, severity, resource
type, resource id, ARN), so a change of mapping shows in the diff as a changed row.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agent_config.integrations.security_findings import (
    CONTROLS,
    REPORT_ORIGIN,
    MalformedPayload,
    ServiceNotEnabled,
    SourceUnavailable,
    findings_from_network_security,
    findings_from_security_findings,
    findings_from_service_status,
    findings_from_storage_encryption,
    guardduty_severity,
    is_global,
    is_security_hub_control_id,
)
from agent_config.interfaces import Finding, FindingStatus, Severity
from agent_config.utils.error_handling import ErrorKind, InvalidInput, ServerFailure

FIXTURES = Path(__file__).parent / "fixtures" / "security_server"
REGION = "us-east-1"
ACCOUNT = "123456789012"

PASS, FAIL, MANUAL = FindingStatus.PASS, FindingStatus.FAIL, FindingStatus.MANUAL
CRITICAL, HIGH, MEDIUM, LOW, INFO = (
    Severity.CRITICAL,
    Severity.HIGH,
    Severity.MEDIUM,
    Severity.LOW,
    Severity.INFORMATIONAL,
)
ACCOUNT_ROW = ("AWS::::Account", ACCOUNT, None)

Row = tuple[str, FindingStatus, Severity, str, str, str | None]


def _golden(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def _rows(findings: list[Finding]) -> list[Row]:
    return [(f.control_id, f.status, f.severity, f.resource_type, f.resource_id, f.resource_arn) for f in findings]


def _by_control(findings: list[Finding]) -> dict[str, Finding]:
    return {f.control_id: f for f in findings}


def _services(name: str) -> list[Finding]:
    return findings_from_service_status(_golden(name), REGION, ACCOUNT)


def _security(name: str, service: str) -> list[Finding]:
    return findings_from_security_findings(_golden(name), service, REGION, ACCOUNT)


# ---------------------------------------------------------------------------------------------
# CheckSecurityServices
# ---------------------------------------------------------------------------------------------


def test_service_status_maps_guardduty_and_macie_to_fsbp_and_the_others_to_project_ids() -> None:
    # GIVEN the real server's answer on a fresh moto account (GuardDuty and Security Hub off)
    findings = _services("check_security_services_moto.json")

    # THEN one account-level finding per service, Trusted Advisor left out
    assert _rows(findings) == [
        ("GuardDuty.1", FAIL, HIGH, *ACCOUNT_ROW),
        ("Inspector.Enabled", MANUAL, MEDIUM, *ACCOUNT_ROW),  # "enabled", no scan type readable
        ("AccessAnalyzer.Enabled", MANUAL, MEDIUM, *ACCOUNT_ROW),  # an error inside the answer
        ("SecurityHub.Enabled", FAIL, INFO, *ACCOUNT_ROW),
        ("Macie.1", PASS, MEDIUM, *ACCOUNT_ROW),
    ]


def test_enabled_services_pass_and_the_detector_and_hub_are_named() -> None:
    findings = _by_control(_services("check_security_services_enabled.moto.json"))

    assert findings["GuardDuty.1"].status is PASS
    assert findings["GuardDuty.1"].evidence["detector_id"]
    assert findings["SecurityHub.Enabled"].status is PASS
    assert findings["SecurityHub.Enabled"].evidence["hub_arn"] == (
        "arn:aws:securityhub:us-east-1:123456789012:hub/default"
    )


def test_a_service_whose_status_has_an_error_is_manual_never_fail() -> None:
    # GIVEN a role that may read none of the services (the server's own code, denied by a Stubber)
    findings = _by_control(_services("check_security_services_access_denied.stubbed.json"))

    # THEN every service with an error is MANUAL, and says which call was denied
    for control_id in ("GuardDuty.1", "AccessAnalyzer.Enabled", "SecurityHub.Enabled"):
        assert findings[control_id].status is MANUAL
        assert "AccessDeniedException" in findings[control_id].evidence["missing"]
    assert findings["Inspector.Enabled"].status is MANUAL  # "could not be determined", no error field
    # Macie answers AccessDeniedException when it is off; the server cannot tell the two apart
    assert findings["Macie.1"].status is FAIL


def test_the_html_of_a_500_page_is_cut_from_the_reason() -> None:
    findings = _by_control(_services("check_security_services_moto.json"))

    missing = findings["AccessAnalyzer.Enabled"].evidence["missing"]
    assert missing == "An error occurred (500) when calling the ListAnalyzers operation (reached max retries: 2)"


def test_inspector_on_without_a_readable_scan_type_is_manual_and_no_scan_control_fails() -> None:
    # GIVEN Inspector scanning EC2 and ECR, which the server misreads as every scan type DISABLED
    findings = _by_control(_services("check_security_services_configured.stubbed.json"))

    assert findings["Inspector.Enabled"].status is MANUAL
    assert "BatchGetAccountStatus" in findings["Inspector.Enabled"].evidence["missing"]
    assert not {"Inspector.1", "Inspector.2", "Inspector.4"} & set(findings)


def test_a_scan_type_reported_enabled_passes_its_fsbp_control() -> None:
    payload = _golden("check_security_services_configured.stubbed.json")
    payload["service_statuses"]["inspector"]["scan_status"]["ec2_status"] = "ENABLED"

    findings = _by_control(findings_from_service_status(payload, REGION, ACCOUNT))

    assert findings["Inspector.Enabled"].status is PASS
    assert (findings["Inspector.1"].status, findings["Inspector.1"].severity) == (PASS, HIGH)
    assert "Inspector.2" not in findings


def test_a_paused_macie_fails_macie_1_although_the_server_says_enabled() -> None:
    findings = _by_control(_services("check_security_services_configured.stubbed.json"))

    assert findings["Macie.1"].status is FAIL
    assert findings["Macie.1"].evidence["macie_status"] == "PAUSED"


def test_access_analyzer_passes_only_with_an_active_external_access_analyzer() -> None:
    payload = _golden("check_security_services_configured.stubbed.json")
    assert _by_control(findings_from_service_status(payload, REGION, ACCOUNT))["AccessAnalyzer.Enabled"].status is PASS

    payload["service_statuses"]["accessanalyzer"]["analyzers"][0]["type"] = "ACCOUNT_UNUSED_ACCESS"
    finding = _by_control(findings_from_service_status(payload, REGION, ACCOUNT))["AccessAnalyzer.Enabled"]

    assert finding.status is FAIL
    assert finding.evidence["analyzers"] == ["acme-account-analyzer (ACCOUNT_UNUSED_ACCESS, ACTIVE)"]


def test_service_findings_link_the_control_page_and_the_setup_guide() -> None:
    guardduty = _by_control(_services("check_security_services_moto.json"))["GuardDuty.1"]

    assert [link.url for link in guardduty.documentation] == [
        "https://docs.aws.amazon.com/securityhub/latest/userguide/guardduty-controls.html#guardduty-1",
        "https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_settingup.html",
    ]
    assert guardduty.sources == ["security"]
    assert (guardduty.region, guardduty.account_id) == (REGION, ACCOUNT)


def test_a_whole_call_failure_in_the_payload_raises_although_is_error_was_false() -> None:
    # GIVEN no [default] profile: the server answers isError=false with a top-level error
    with pytest.raises(SourceUnavailable) as raised:
        _services("check_security_services_no_profile.moto.json")

    # THEN a typed error that says why, in the taxonomy, and becomes a degraded part of the answer
    error = raised.value
    assert isinstance(error, ServerFailure)
    assert error.reason == "The config profile (default) could not be found"
    assert error.cause_kind is ErrorKind.CONFIGURATION
    degraded = error.degraded()
    assert degraded.server == "security"
    assert degraded.error_kind is ErrorKind.CONFIGURATION
    assert "could not be assessed" in degraded.reason


def test_observed_at_is_the_callers_when_given() -> None:
    when = datetime(2026, 1, 14, 9, 30, tzinfo=UTC)

    findings = findings_from_service_status(
        _golden("check_security_services_moto.json"), REGION, ACCOUNT, observed_at=when
    )

    assert {f.observed_at for f in findings} == {when}


# ---------------------------------------------------------------------------------------------
# GetSecurityFindings
# ---------------------------------------------------------------------------------------------

SG = "sg-2b43e523fc66a1e2d"
INSTANCE = "i-0a1b2c3d4e5f60718"


def test_security_hub_control_findings_map_to_their_control_id_and_resource() -> None:
    # GIVEN seven ASFF findings from the real server against moto's Security Hub
    findings = _security("get_security_findings_securityhub.moto.json", "securityhub")

    assert _rows(findings) == [
        ("S3.8", FAIL, HIGH, "AWS::S3::Bucket", "acme-open-uploads", "arn:aws:s3:::acme-open-uploads"),
        ("S3.8", PASS, INFO, "AWS::S3::Bucket", "acme-private-reports", "arn:aws:s3:::acme-private-reports"),
        (
            "EC2.19",
            FAIL,
            CRITICAL,
            "AWS::EC2::SecurityGroup",
            SG,
            f"arn:aws:ec2:us-east-1:123456789012:security-group/{SG}",
        ),
        (
            "RDS.3",
            FAIL,
            MEDIUM,
            "AWS::RDS::DBInstance",
            "acme-legacy-mysql",
            "arn:aws:rds:us-east-1:123456789012:db:acme-legacy-mysql",
        ),
        ("GuardDuty.1", PASS, INFO, *ACCOUNT_ROW),
        # before consolidated control findings: the id is in ProductFields.ControlId
        (
            "EC2.3",
            FAIL,
            MEDIUM,
            "AWS::EC2::Volume",
            "vol-0c0ffee0c0ffee001",
            "arn:aws:ec2:us-east-1:123456789012:volume/vol-0c0ffee0c0ffee001",
        ),
        # a GuardDuty threat finding as Security Hub holds it: no control, FAIL, named by its type
        (
            "SecurityHub.Finding/TTPs/Initial Access/UnauthorizedAccess:EC2-SSHBruteForce",
            FAIL,
            HIGH,
            "AWS::EC2::Instance",
            INSTANCE,
            f"arn:aws:ec2:us-east-1:123456789012:instance/{INSTANCE}",
        ),
    ]
    assert {f.evidence["origin"] for f in findings} == {REPORT_ORIGIN}
    assert findings[0].evidence["compliance_status"] == "FAILED"
    assert findings[0].documentation[0].url.endswith("s3-controls.html#s3-8")


def _one_hub_finding(**changes: Any) -> dict[str, Any]:
    payload = _golden("get_security_findings_securityhub.moto.json")
    finding = copy.deepcopy(payload["findings"][0])
    finding.update(changes)
    return {**payload, "findings": [finding]}


@pytest.mark.parametrize(
    "changes",
    [
        {"RecordState": "ARCHIVED"},
        {"Workflow": {"Status": "SUPPRESSED"}},
    ],
    ids=["archived", "suppressed"],
)
def test_archived_and_suppressed_security_hub_findings_are_left_out(changes: dict[str, Any]) -> None:
    assert findings_from_security_findings(_one_hub_finding(**changes), "securityhub", REGION, ACCOUNT) == []


def test_a_resolved_threat_finding_is_left_out_but_a_resolved_control_finding_keeps_its_status() -> None:
    threat = _golden("get_security_findings_securityhub.moto.json")["findings"][-1]
    payload = {"enabled": True, "findings": [{**threat, "Workflow": {"Status": "RESOLVED"}}]}
    assert findings_from_security_findings(payload, "securityhub", REGION, ACCOUNT) == []

    passed = _golden("get_security_findings_securityhub.moto.json")["findings"][1]  # Workflow RESOLVED
    assert passed["Workflow"]["Status"] == "RESOLVED"
    [finding] = findings_from_security_findings({"enabled": True, "findings": [passed]}, "securityhub", REGION, ACCOUNT)
    assert finding.status is PASS


def test_a_control_security_hub_could_not_evaluate_is_manual_with_its_reason() -> None:
    payload = _one_hub_finding(
        Compliance={
            "Status": "WARNING",
            "SecurityControlId": "S3.8",
            "StatusReasons": [{"ReasonCode": "CONFIG_ACCESS_DENIED", "Description": "AWS Config was denied"}],
        }
    )

    [finding] = findings_from_security_findings(payload, "securityhub", REGION, ACCOUNT)

    assert finding.status is MANUAL
    assert finding.evidence["missing"] == "Security Hub reported WARNING: AWS Config was denied"


def test_security_hub_severity_falls_back_to_the_normalized_score() -> None:
    payload = _one_hub_finding(Severity={"Normalized": 90})

    [finding] = findings_from_security_findings(payload, "securityhub", REGION, ACCOUNT)

    assert finding.severity is CRITICAL


def test_guardduty_findings_are_named_by_type_on_their_resource_and_archived_ones_left_out() -> None:
    # GIVEN four findings, one archived (the server's own code, GuardDuty answered by a Stubber)
    findings = _security("get_security_findings_guardduty.stubbed.json", "guardduty")

    assert _rows(findings) == [
        (
            "GuardDuty.Finding/CryptoCurrency:EC2/BitcoinTool.B!DNS",
            FAIL,
            HIGH,
            "AWS::EC2::Instance",
            INSTANCE,
            f"arn:aws:ec2:us-east-1:123456789012:instance/{INSTANCE}",
        ),
        (
            "GuardDuty.Finding/UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS",
            FAIL,
            HIGH,
            "AWS::IAM::AccessKey",
            "ASIAEXAMPLEEXAMPLE01",
            None,
        ),
        (
            "GuardDuty.Finding/Recon:EC2/PortProbeUnprotectedPort",
            FAIL,
            MEDIUM,
            "AWS::EC2::Instance",
            "i-0f9e8d7c6b5a43210",
            "arn:aws:ec2:us-east-1:123456789012:instance/i-0f9e8d7c6b5a43210",
        ),
    ]
    assert findings[1].evidence["user_name"] == "acme-web-role"
    assert findings[0].evidence["severity_score"] == 8.0
    assert findings[0].title == "Bitcoin-related domain name queried by EC2 instance i-0a1b2c3d4e5f60718."


@pytest.mark.parametrize(
    ("score", "severity"),
    [
        (1.0, LOW),
        (3.9, LOW),
        (4.0, MEDIUM),
        (6.9, MEDIUM),
        (7.0, HIGH),
        (8.9, HIGH),
        (9.0, CRITICAL),
        (10, CRITICAL),
    ],
)
def test_guardduty_scores_follow_guardduty_bands(score: float, severity: Severity) -> None:
    assert guardduty_severity(score) is severity


def test_inspector_findings_are_named_by_cve_or_port_range() -> None:
    # GIVEN findings the tool would return with a valid filter (0.2.0's own filter is rejected)
    findings = _security("get_security_findings_inspector_valid_filter.stubbed.json", "inspector")

    arn = f"arn:aws:ec2:us-east-1:123456789012:instance/{INSTANCE}"
    assert _rows(findings) == [
        (
            "Inspector.Finding/PACKAGE_VULNERABILITY/CVE-2024-6387",
            FAIL,
            HIGH,
            "AWS::EC2::Instance",
            INSTANCE,
            arn,
        ),
        (
            "Inspector.Finding/NETWORK_REACHABILITY/TCP:22-22",
            FAIL,
            MEDIUM,
            "AWS::EC2::Instance",
            INSTANCE,
            arn,
        ),
    ]
    assert findings[0].evidence["vulnerability_id"] == "CVE-2024-6387"


def test_an_untriaged_inspector_finding_counts_as_medium_and_closed_ones_are_left_out() -> None:
    payload = _golden("get_security_findings_inspector_valid_filter.stubbed.json")
    payload["findings"][0]["severity"] = "UNTRIAGED"
    payload["findings"][1]["status"] = "CLOSED"

    [finding] = findings_from_security_findings(payload, "inspector", REGION, ACCOUNT)

    assert finding.severity is MEDIUM


def test_macie_findings_name_the_object_or_the_bucket() -> None:
    findings = _security("get_security_findings_macie_valid_filter.stubbed.json", "macie")

    assert _rows(findings) == [
        (
            "Macie.Finding/SensitiveData:S3Object/Personal",
            FAIL,
            HIGH,
            "AWS::S3::Object",
            "acme-open-uploads/exports/customers-2025-12.csv",
            "arn:aws:s3:::acme-open-uploads/exports/customers-2025-12.csv",
        ),
        (
            "Macie.Finding/Policy:IAMUser/S3BlockPublicAccessDisabled",
            FAIL,
            MEDIUM,
            "AWS::S3::Bucket",
            "acme-open-uploads",
            "arn:aws:s3:::acme-open-uploads",
        ),
    ]
    assert findings[0].evidence["sensitive_data"] == ["PERSONAL_INFORMATION: 412"]


def test_access_analyzer_findings_are_public_or_external_access_on_their_resource() -> None:
    findings = _security("get_security_findings_accessanalyzer.constructed.json", "accessanalyzer")

    assert _rows(findings) == [
        (
            "AccessAnalyzer.Finding/PublicAccess",
            FAIL,
            HIGH,
            "AWS::S3::Bucket",
            "acme-open-uploads",
            "arn:aws:s3:::acme-open-uploads",
        ),
        (
            "AccessAnalyzer.Finding/ExternalAccess",
            FAIL,
            MEDIUM,
            "AWS::IAM::Role",
            "acme-vendor-access",
            "arn:aws:iam::123456789012:role/acme-vendor-access",
        ),
    ]
    assert findings[1].evidence["principal"] == {"AWS": "arn:aws:iam::444455556666:root"}


def test_access_analyzer_as_0_2_0_answers_today_yields_no_findings() -> None:
    assert _security("get_security_findings_accessanalyzer.stubbed.json", "accessanalyzer") == []


def test_trusted_advisor_checks_in_error_and_warning_fail_on_the_account() -> None:
    findings = _security("get_security_findings_trustedadvisor.stubbed.json", "trustedadvisor")

    assert _rows(findings) == [
        ("TrustedAdvisor.Check/HCP4007jGY", FAIL, MEDIUM, *ACCOUNT_ROW),
        ("TrustedAdvisor.Check/7DAFEmoDos", FAIL, HIGH, *ACCOUNT_ROW),
    ]
    assert findings[0].title == "Security Groups - Specific Ports Unrestricted"
    assert findings[0].region == "global"
    assert _security("get_security_findings_trustedadvisor_empty.moto.json", "trustedadvisor") == []


@pytest.mark.parametrize(
    ("name", "service", "reason", "kind", "retryable"),
    [
        (
            "get_security_findings_guardduty_error.moto.json",
            "guardduty",
            "An error occurred (404) when calling the ListFindings operation",
            ErrorKind.SERVER_ERROR,
            False,
        ),
        (
            "get_security_findings_macie_error.moto.json",
            "macie",
            "An error occurred (404) when calling the ListFindings operation",
            ErrorKind.SERVER_ERROR,
            False,
        ),
        (
            "get_security_findings_inspector_invalid_filter.moto.json",
            "inspector",
            'Parameter validation failed: Unknown parameter in filterCriteria: "severities"',
            ErrorKind.SERVER_ERROR,
            False,
        ),
        (
            "get_security_findings_accessanalyzer_if_arns_kept.stubbed.json",
            "accessanalyzer",
            "Parameter validation failed: Invalid type for parameter id",
            ErrorKind.SERVER_ERROR,
            False,
        ),
    ],
)
def test_an_error_in_a_findings_answer_raises_source_unavailable(
    name: str, service: str, reason: str, kind: ErrorKind, retryable: bool
) -> None:
    with pytest.raises(SourceUnavailable) as raised:
        _security(name, service)

    error = raised.value
    assert not isinstance(error, ServiceNotEnabled)
    assert error.reason.startswith(reason)
    assert "<" not in error.reason
    assert (error.cause_kind, error.retryable) == (kind, retryable)
    assert error.service == service


def test_a_permission_error_in_a_findings_answer_is_a_permission_kind() -> None:
    payload = {
        "enabled": True,
        "error": "An error occurred (AccessDeniedException) when calling the ListFindings operation: denied",
        "findings": [],
    }

    with pytest.raises(SourceUnavailable) as raised:
        findings_from_security_findings(payload, "guardduty", REGION, ACCOUNT)

    assert raised.value.cause_kind is ErrorKind.PERMISSION
    assert "IAM permission" in raised.value.guidance


@pytest.mark.parametrize(
    ("name", "service"),
    [
        ("get_security_findings_guardduty_not_enabled.moto.json", "guardduty"),
        # the server swallows Access Analyzer's HTTP 500 and answers "not enabled"
        ("get_security_findings_accessanalyzer_error_hidden.moto.json", "accessanalyzer"),
    ],
)
def test_a_service_that_is_off_raises_service_not_enabled_with_its_setup_guide(name: str, service: str) -> None:
    with pytest.raises(ServiceNotEnabled) as raised:
        _security(name, service)

    error = raised.value
    assert error.retryable is False
    assert error.setup_url is not None
    assert error.setup_url in error.guidance
    assert error.degraded().error_kind is None


def test_an_unknown_service_is_the_callers_mistake() -> None:
    with pytest.raises(InvalidInput, match="unknown security service 'shield'"):
        findings_from_security_findings({"findings": []}, "shield", REGION, ACCOUNT)


def test_an_answer_about_another_service_is_malformed() -> None:
    with pytest.raises(MalformedPayload, match="about 'macie', not 'guardduty'"):
        _security("get_security_findings_macie_valid_filter.stubbed.json", "guardduty")


# ---------------------------------------------------------------------------------------------
# CheckStorageEncryption
# ---------------------------------------------------------------------------------------------


def test_storage_encryption_maps_each_resource_to_its_control() -> None:
    # GIVEN the real server reading moto's storage (Resource Explorer without a default view)
    findings = findings_from_storage_encryption(
        _golden("check_storage_encryption_no_default_view.moto.json"), REGION, ACCOUNT
    )

    s3 = "arn:aws:s3:::"
    ec2 = "arn:aws:ec2:us-east-1:123456789012:volume/"
    rds = "arn:aws:rds:us-east-1:123456789012:db:"
    efs = "arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/"
    cache = "arn:aws:elasticache:us-east-1:123456789012:cluster:"
    bucket, volume, db = "AWS::S3::Bucket", "AWS::EC2::Volume", "AWS::RDS::DBInstance"
    fs, cluster = "AWS::EFS::FileSystem", "AWS::ElastiCache::CacheCluster"
    at_rest, in_transit = "ElastiCache.ClusterEncryptionAtRest", "ElastiCache.ClusterEncryptionInTransit"
    assert _rows(findings) == [
        ("S3.8", FAIL, HIGH, bucket, "acme-open-uploads", s3 + "acme-open-uploads"),
        ("S3.DefaultEncryption", MANUAL, MEDIUM, bucket, "acme-open-uploads", s3 + "acme-open-uploads"),
        ("S3.8", PASS, HIGH, bucket, "acme-private-reports", s3 + "acme-private-reports"),
        ("S3.DefaultEncryption", PASS, MEDIUM, bucket, "acme-private-reports", s3 + "acme-private-reports"),
        ("EC2.3", FAIL, MEDIUM, volume, "vol-269b26352a2ab7131", ec2 + "vol-269b26352a2ab7131"),
        ("EC2.3", PASS, MEDIUM, volume, "vol-c73ae22c9da9490e7", ec2 + "vol-c73ae22c9da9490e7"),
        ("RDS.3", FAIL, MEDIUM, db, "acme-legacy-mysql", rds + "acme-legacy-mysql"),
        ("RDS.3", PASS, MEDIUM, db, "acme-payments-pg", rds + "acme-payments-pg"),
        (
            "DynamoDB.EncryptionAtRest",
            PASS,
            MEDIUM,
            "AWS::DynamoDB::Table",
            "acme-orders",
            "arn:aws:dynamodb:us-east-1:123456789012:table/acme-orders",
        ),
        ("EFS.1", FAIL, MEDIUM, fs, "fs-66635d50", efs + "fs-66635d50"),
        ("EFS.1", PASS, MEDIUM, fs, "fs-3d208d5d", efs + "fs-3d208d5d"),
        (at_rest, FAIL, MEDIUM, cluster, "acme-sessions", cache + "acme-sessions"),
        (in_transit, FAIL, MEDIUM, cluster, "acme-sessions", cache + "acme-sessions"),
        (at_rest, FAIL, MEDIUM, cluster, "acme-memcache", cache + "acme-memcache"),
        (in_transit, MANUAL, MEDIUM, cluster, "acme-memcache", cache + "acme-memcache"),
    ]
    no_bpa = findings[0]
    assert no_bpa.evidence["reason"] == "The bucket has no bucket-level Block Public Access configuration."
    assert "origin" not in no_bpa.evidence  # a live read, not a stored report


def test_denied_storage_reads_are_manual_not_the_servers_missing_protection() -> None:
    # GIVEN denied GetBucketEncryption, GetPublicAccessBlock and DescribeTable, which the server
    # reports as "Default encryption not enabled" and the like
    findings = findings_from_storage_encryption(
        _golden("check_storage_encryption_access_denied.stubbed.json"), REGION, ACCOUNT
    )

    assert [(f.control_id, f.status, f.resource_id) for f in findings] == [
        ("S3.8", MANUAL, "acme-finance-archive"),
        ("S3.DefaultEncryption", MANUAL, "acme-finance-archive"),
        ("DynamoDB.EncryptionAtRest", PASS, "acme-ledger"),
        ("DynamoDB.EncryptionAtRest", MANUAL, "acme-sessions"),
        ("ElastiCache.ClusterEncryptionAtRest", MANUAL, "acme-cache-valkey"),  # Valkey is not checked
        ("ElastiCache.ClusterEncryptionInTransit", MANUAL, "acme-cache-valkey"),
    ]
    assert "AccessDenied" in findings[0].evidence["missing"]
    assert findings[2].evidence["reason"] == "The table is encrypted at rest with a customer managed KMS key."


def test_a_storage_check_that_failed_as_a_whole_raises_with_the_html_cut_off() -> None:
    # GIVEN the real answer when Resource Explorer's ListViews fails (HTTP 500 with an HTML page)
    with pytest.raises(SourceUnavailable) as raised:
        findings_from_storage_encryption(_golden("check_storage_encryption_error.json"), REGION, ACCOUNT)

    error = raised.value
    assert error.reason == "An error occurred (500) when calling the ListViews operation (reached max retries: 2)"
    assert error.message == f"CheckStorageEncryption in {REGION} could not be assessed: {error.reason}"
    assert (error.cause_kind, error.retryable) == (ErrorKind.SERVER_ERROR, True)


# ---------------------------------------------------------------------------------------------
# CheckNetworkSecurity
# ---------------------------------------------------------------------------------------------


def test_network_security_maps_exact_tests_to_fsbp_and_skips_what_the_server_cannot_decide() -> None:
    findings = findings_from_network_security(
        _golden("check_network_security_no_default_view.moto.json"), REGION, ACCOUNT
    )

    elb = "arn:aws:elasticloadbalancing:us-east-1:123456789012:"
    clb, alb = "AWS::ElasticLoadBalancing::LoadBalancer", "AWS::ElasticLoadBalancingV2::LoadBalancer"
    listener, group = "AWS::ElasticLoadBalancingV2::Listener", "AWS::EC2::SecurityGroup"
    sg_arn = "arn:aws:ec2:us-east-1:123456789012:security-group/"
    cloudfront = "arn:aws:cloudfront::123456789012:distribution/"
    legacy_site = "WXOH9KZK625H4"
    assert _rows(findings) == [
        ("ELB.3", FAIL, MEDIUM, clb, "legacy-clb", elb + "loadbalancer/legacy-clb"),
        ("ELB.3", PASS, MEDIUM, clb, "secure-clb", elb + "loadbalancer/secure-clb"),
        # an HTTP listener that redirects to HTTPS: the server does not read redirects
        ("ELB.1", MANUAL, MEDIUM, alb, "shop-alb", elb + "loadbalancer/app/shop-alb/366a156f04f7c37d"),
        (
            "ELB.17",
            FAIL,
            MEDIUM,
            listener,
            "2adfc4fc0965e0c4",
            elb + "listener/app/shop-alb/366a156f04f7c37d/2adfc4fc0965e0c4",
        ),
        ("ELB.1", PASS, MEDIUM, alb, "api-alb", elb + "loadbalancer/app/api-alb/e1be1c18f05b07f8"),
        # flagged by the server, yet one of ELB.17's recommended policies
        (
            "ELB.17",
            PASS,
            MEDIUM,
            listener,
            "4e79e17537724090",
            elb + "listener/app/api-alb/e1be1c18f05b07f8/4e79e17537724090",
        ),
        (
            "EC2.InterfaceEndpointPrivateDns",
            FAIL,
            LOW,
            "AWS::EC2::VPCEndpoint",
            "vpce-c68ae47a969d18435",
            "arn:aws:ec2:us-east-1:123456789012:vpc-endpoint/vpce-c68ae47a969d18435",
        ),
        ("EC2.19", FAIL, CRITICAL, group, SG, sg_arn + SG),
        ("EC2.18", FAIL, HIGH, group, SG, sg_arn + SG),
        (
            "EC2.CleartextPortPublic",
            FAIL,
            LOW,
            group,
            "sg-e354461c9522516b4",
            sg_arn + "sg-e354461c9522516b4",
        ),
        (
            "APIGateway.DomainTlsPolicy",
            FAIL,
            MEDIUM,
            "AWS::ApiGateway::DomainName",
            "api.example.com",
            "arn:aws:apigateway:us-east-1::/domainnames/api.example.com",
        ),
        (
            "CloudFront.3",
            FAIL,
            MEDIUM,
            "AWS::CloudFront::Distribution",
            legacy_site,
            cloudfront + legacy_site,
        ),
        (
            "CloudFront.15",
            FAIL,
            MEDIUM,
            "AWS::CloudFront::Distribution",
            legacy_site,
            cloudfront + legacy_site,
        ),
        (
            "CloudFront.S3OriginAccess",
            FAIL,
            MEDIUM,
            "AWS::CloudFront::Distribution",
            legacy_site,
            cloudfront + legacy_site,
        ),
        (
            "CloudFront.15",
            PASS,
            MEDIUM,
            "AWS::CloudFront::Distribution",
            "FH0KWHFLK4NRX",
            cloudfront + "FH0KWHFLK4NRX",
        ),
    ]
    assert findings[7].evidence["open_ports"] == [20, 21, 23]
    # API Gateway's "HTTPS not enforced for stage" tests a setting that does not exist
    assert not [f for f in findings if "stage" in json.dumps(f.evidence)]


def test_load_balancer_policies_are_judged_by_name_and_insecure_protocols_fail_elb_8() -> None:
    findings = findings_from_network_security(
        _golden("check_network_security_load_balancers.stubbed.json"), REGION, ACCOUNT
    )

    assert [(f.control_id, f.status, f.resource_id) for f in findings] == [
        ("ELB.3", PASS, "payments-clb"),
        ("ELB.8", FAIL, "payments-clb"),
        ("ELB.1", MANUAL, "intranet-alb"),
        ("ELB.17", FAIL, "7b6a5f4e3d2c1b0a"),  # ELBSecurityPolicy-TLS13-1-2-2021-06: not recommended
        ("ELB.17", PASS, "8c7b6a5f4e3d2c1b"),  # ELBSecurityPolicy-TLS13-1-3-2021-06: recommended
    ]
    assert findings[1].evidence["insecure_protocols"] == ["SSLv3"]
    assert findings[3].evidence["load_balancer"].endswith(":loadbalancer/net/mqtt-nlb/1d2c3b4a59687f0e")


def test_a_network_check_that_failed_as_a_whole_raises() -> None:
    with pytest.raises(SourceUnavailable, match="ListViews"):
        findings_from_network_security(_golden("check_network_security_error.moto.json"), REGION, ACCOUNT)


def test_arns_the_server_builds_without_an_account_are_dropped_when_the_account_is_unknown() -> None:
    findings = findings_from_network_security(_golden("check_network_security_no_default_view.moto.json"), REGION, None)

    arns = {f.resource_id: f.resource_arn for f in findings}
    assert arns["legacy-clb"] is None  # arn:aws:elasticloadbalancing:us-east-1:loadbalancer/legacy-clb
    assert arns["WXOH9KZK625H4"] is None  # the distribution id where the account belongs
    assert arns["shop-alb"] == (
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/shop-alb/366a156f04f7c37d"
    )


# ---------------------------------------------------------------------------------------------
# Malformed answers: a typed error, never a crash
# ---------------------------------------------------------------------------------------------

Reader = Callable[[Any], list[Finding]]
READERS: dict[str, Reader] = {
    "services": lambda p: findings_from_service_status(p, REGION, ACCOUNT),
    "guardduty": lambda p: findings_from_security_findings(p, "guardduty", REGION, ACCOUNT),
    "securityhub": lambda p: findings_from_security_findings(p, "securityhub", REGION, ACCOUNT),
    "inspector": lambda p: findings_from_security_findings(p, "inspector", REGION, ACCOUNT),
    "macie": lambda p: findings_from_security_findings(p, "macie", REGION, ACCOUNT),
    "storage": lambda p: findings_from_storage_encryption(p, REGION, ACCOUNT),
    "network": lambda p: findings_from_network_security(p, REGION, ACCOUNT),
}


def _hub_finding(**changes: Any) -> dict[str, Any]:
    finding = copy.deepcopy(_golden("get_security_findings_securityhub.moto.json")["findings"][0])
    finding.update(changes)
    return {"enabled": True, "findings": [finding]}


def _guardduty(**changes: Any) -> dict[str, Any]:
    finding = copy.deepcopy(_golden("get_security_findings_guardduty.stubbed.json")["findings"][0])
    finding.update(changes)
    return {"enabled": True, "findings": [finding]}


MALFORMED: list[tuple[str, Any, str]] = [
    ("services", None, "the answer"),
    ("services", "Checking guardduty status in us-east-1...", "the answer"),
    ("services", [], "the answer"),
    ("services", {"region": REGION}, "service_statuses"),
    ("services", {"service_statuses": {"guardduty": "on"}}, "service_statuses.guardduty"),
    ("guardduty", {"enabled": True}, "findings"),
    ("guardduty", {"enabled": True, "findings": ["id-1"]}, "findings[0]"),
    ("guardduty", _guardduty(Severity="HIGH"), "findings[0].Severity"),
    ("guardduty", _guardduty(Severity=42), "findings[0].Severity"),
    ("guardduty", _guardduty(Type=None), "findings[0].Type"),
    ("securityhub", _hub_finding(Resources=[]), "findings[0].Resources"),
    ("securityhub", _hub_finding(Severity={"Label": "SEVERE"}), "findings[0].Severity.Label"),
    ("securityhub", _hub_finding(Severity={}), "findings[0].Severity.Normalized"),
    ("securityhub", _hub_finding(Compliance={"Status": "MAYBE"}), "findings[0].Compliance.Status"),
    (
        "inspector",
        {"findings": [{"type": "PACKAGE_VULNERABILITY", "severity": "SEVERE"}]},
        "findings[0].severity",
    ),
    ("macie", {"findings": [{"type": "SensitiveData:S3Object/Personal", "severity": {"score": 9}}]}, "score"),
    ("storage", {"region": REGION}, "resource_details"),
    ("storage", {"resource_details": [1]}, "resource_details[0]"),
    ("storage", {"resource_details": [{"type": "s3", "checks": {}}]}, "resource_details[0]"),
    (
        "network",
        {"resource_details": [{"type": "security_group", "checks": "open"}]},
        "resource_details[0].checks",
    ),
]


@pytest.mark.parametrize(("reader", "payload", "where"), MALFORMED)
def test_a_malformed_answer_raises_a_typed_error_naming_where(reader: str, payload: Any, where: str) -> None:
    with pytest.raises(MalformedPayload) as raised:
        READERS[reader](payload)

    assert where in raised.value.where
    assert raised.value.retryable is False
    assert isinstance(raised.value, SourceUnavailable)


def test_kinds_of_resources_the_server_may_add_later_are_skipped() -> None:
    payload = {"resource_details": [{"type": "opensearch", "id": "logs", "checks": {"encrypted": False}}]}

    assert findings_from_storage_encryption(payload, REGION, ACCOUNT) == []


# ---------------------------------------------------------------------------------------------
# What every finding from every golden file has in common
# ---------------------------------------------------------------------------------------------

CASES: list[tuple[str, Reader]] = [
    ("check_security_services_moto.json", READERS["services"]),
    ("check_security_services_enabled.moto.json", READERS["services"]),
    ("check_security_services_access_denied.stubbed.json", READERS["services"]),
    ("check_security_services_configured.stubbed.json", READERS["services"]),
    ("get_security_findings_securityhub.moto.json", READERS["securityhub"]),
    ("get_security_findings_guardduty.stubbed.json", READERS["guardduty"]),
    ("get_security_findings_inspector_valid_filter.stubbed.json", READERS["inspector"]),
    ("get_security_findings_macie_valid_filter.stubbed.json", READERS["macie"]),
    (
        "get_security_findings_accessanalyzer.constructed.json",
        lambda p: findings_from_security_findings(p, "accessanalyzer", REGION, ACCOUNT),
    ),
    (
        "get_security_findings_trustedadvisor.stubbed.json",
        lambda p: findings_from_security_findings(p, "trustedadvisor", REGION, ACCOUNT),
    ),
    ("check_storage_encryption_no_default_view.moto.json", READERS["storage"]),
    ("check_storage_encryption_access_denied.stubbed.json", READERS["storage"]),
    ("check_network_security_no_default_view.moto.json", READERS["network"]),
    ("check_network_security_load_balancers.stubbed.json", READERS["network"]),
]


@pytest.mark.parametrize(("name", "reader"), CASES, ids=[name for name, _ in CASES])
def test_every_finding_names_its_source_place_and_reason_with_small_evidence(name: str, reader: Reader) -> None:
    findings = reader(_golden(name))

    assert findings
    for finding in findings:
        assert finding.sources == ["security"]
        assert finding.title
        assert finding.region
        assert finding.account_id == ACCOUNT
        assert finding.resource_type
        assert finding.evidence["reason"]
        assert len(json.dumps(finding.evidence)) < 2000
        assert "<!doctype" not in json.dumps(finding.evidence).lower()
        if finding.status is MANUAL:
            assert finding.evidence["missing"]
        if name.startswith("get_security_findings"):
            assert finding.evidence["origin"] == REPORT_ORIGIN
        if finding.resource_arn is not None:
            assert finding.resource_arn.startswith("arn:aws:")
            assert ":::" in finding.resource_arn or ACCOUNT in finding.resource_arn or ":/" in finding.resource_arn


def test_security_hub_ids_and_project_ids_cannot_be_confused() -> None:
    assert is_security_hub_control_id("S3.8")
    assert is_security_hub_control_id("CloudFront.15")
    for project_id in (
        "SecurityHub.Enabled",
        "GuardDuty.Finding/Recon:EC2/PortProbeUnprotectedPort",
        "S3.4a",
    ):
        assert not is_security_hub_control_id(project_id)


def test_the_severities_of_security_hub_controls_agree_with_the_catalogue() -> None:
    from agent_config.checks.catalogue import load_catalogue

    catalogue = load_catalogue()
    shared = [control_id for control_id in CONTROLS if control_id in catalogue]
    assert shared  # GuardDuty.1, S3.8, EC2.3, RDS.3, EFS.1, ELB.1, EC2.18, EC2.19 at least
    for control_id in shared:
        assert CONTROLS[control_id].severity is catalogue.get(control_id).severity, control_id


def test_the_report_origin_is_the_one_the_synthesizer_ranks_below_live_evidence() -> None:
    from agent_config.response.synthesizer import REPORT_ORIGIN as SYNTHESIZER_REPORT_ORIGIN

    assert REPORT_ORIGIN == SYNTHESIZER_REPORT_ORIGIN


# ---------------------------------------------------------------------------------------------
# Smaller cases the golden files do not reach
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "kind", "retryable"),
    [
        (
            "An error occurred (ThrottlingException) when calling the GetFindings operation",
            ErrorKind.RATE_LIMIT,
            True,
        ),
        (
            "An error occurred (403) when calling the ListViews operation: Forbidden",
            ErrorKind.PERMISSION,
            False,
        ),
        ("An error occurred (503) when calling the ListViews operation", ErrorKind.SERVER_ERROR, True),
        ("Unable to locate credentials", ErrorKind.AUTHENTICATION, False),
        (
            'Could not connect to the endpoint URL: "https://guardduty.us-east-1.amazonaws.com/"',
            ErrorKind.CONNECTION,
            True,
        ),
        (
            'Read timeout on endpoint URL: "https://securityhub.us-east-1.amazonaws.com/findings"',
            ErrorKind.TIMEOUT,
            True,
        ),
        ("something else entirely", ErrorKind.SERVER_ERROR, True),
    ],
)
def test_the_kind_of_an_error_comes_from_the_aws_code_or_botocores_wording(
    error: str, kind: ErrorKind, retryable: bool
) -> None:
    with pytest.raises(SourceUnavailable) as raised:
        findings_from_network_security({"region": REGION, "error": error}, REGION, ACCOUNT)

    assert (raised.value.cause_kind, raised.value.retryable) == (kind, retryable)


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        (
            {"ResourceType": "S3Bucket", "S3BucketDetails": [{"Name": "logs", "Arn": "arn:aws:s3:::logs"}]},
            ("AWS::S3::Bucket", "logs", "arn:aws:s3:::logs"),
        ),
        (
            {
                "ResourceType": "Lambda",
                "LambdaDetails": {
                    "FunctionName": "resize",
                    "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:resize",
                },
            },
            ("AWS::Lambda::Function", "resize", "arn:aws:lambda:us-east-1:123456789012:function:resize"),
        ),
        (
            {"ResourceType": "EC2NetworkInterface"},
            ("GuardDuty::EC2NetworkInterface", "8ac6b1f2d3e44f5a9b0c1d2e3f4a5b6c", None),
        ),
    ],
)
def test_guardduty_findings_name_the_resource_each_kind_of_finding_is_about(
    resource: dict[str, Any], expected: tuple[str, str, str | None]
) -> None:
    [finding] = findings_from_security_findings(_guardduty(Resource=resource), "guardduty", REGION, ACCOUNT)

    assert (finding.resource_type, finding.resource_id, finding.resource_arn) == expected


@pytest.mark.parametrize(
    ("policy", "status"),
    [("TLS_1_0", FAIL), ("TLS_1_2", PASS), ("SecurityPolicy_TLS13_1_3_2025_09", PASS), ("", MANUAL)],
)
def test_an_api_gateway_domain_is_judged_by_its_tls_policy(policy: str, status: FindingStatus) -> None:
    payload = {
        "resource_details": [
            {
                "type": "api_gateway",
                "id": "a1b2c3",
                "checks": {
                    "stages": [{"name": "prod", "https_enforced": False}],
                    "domains": [{"name": "api.example.com", "security_policy": policy}],
                },
            }
        ]
    }

    [finding] = findings_from_network_security(payload, REGION, ACCOUNT)

    assert (finding.control_id, finding.status) == ("APIGateway.DomainTlsPolicy", status)


def test_load_balancers_whose_listeners_or_policies_could_not_be_read_are_manual() -> None:
    payload = {
        "resource_details": [
            {
                "type": "application_load_balancer",
                "name": "a",
                "arn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/a/1",
                "issues": ["Error checking listeners"],
                "checks": {},
            },
            {
                "type": "network_load_balancer",
                "name": "n",
                "arn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/n/2",
                "issues": ["Error checking listeners"],
                "checks": {},
            },
            {
                "type": "classic_load_balancer",
                "name": "c",
                "arn": "arn:aws:elasticloadbalancing:us-east-1:loadbalancer/c",
                "issues": ["Error checking SSL policy"],
                "checks": {
                    "https_listeners": {"count": 1, "total_listeners": 1},
                    "all_listeners_secure": True,
                },
            },
        ]
    }

    findings = findings_from_network_security(payload, REGION, ACCOUNT)

    assert [(f.control_id, f.status, f.resource_id) for f in findings] == [
        ("ELB.1", MANUAL, "a"),
        ("ELB.17", MANUAL, "n"),
        ("ELB.3", PASS, "c"),
        ("ELB.8", MANUAL, "c"),
    ]


def test_a_bucket_with_block_public_access_partly_off_fails_s3_8_naming_the_settings() -> None:
    configuration = dict.fromkeys(("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy"), True)
    payload = {
        "resource_details": [
            {
                "type": "s3",
                "name": "half-open",
                "arn": "arn:aws:s3:::half-open",
                "checks": {
                    "block_public_access": {
                        "enabled": False,
                        "configuration": {**configuration, "RestrictPublicBuckets": False},
                    }
                },
            }
        ]
    }

    [finding] = findings_from_storage_encryption(payload, REGION, ACCOUNT)

    assert (finding.control_id, finding.status) == ("S3.8", FAIL)
    assert finding.evidence["off"] == ["RestrictPublicBuckets"]


def test_arns_in_other_partitions_are_written_with_their_partition() -> None:
    payload = {
        "region": "cn-north-1",
        "resource_details": [
            {
                "type": "efs",
                "id": "fs-1",
                "arn": "arn:aws:elasticfilesystem:cn-north-1::file-system/fs-1",
                "checks": {"encrypted": True},
            }
        ],
    }

    [finding] = findings_from_storage_encryption(payload, "cn-north-1", ACCOUNT)

    assert finding.resource_arn == "arn:aws-cn:elasticfilesystem:cn-north-1:123456789012:file-system/fs-1"


# ---------------------------------------------------------------------------------------------
# Global resources and controls share our region; reports carry their own observation time
# ---------------------------------------------------------------------------------------------

USER_ARN = f"arn:aws:iam::{ACCOUNT}:user/ops/alice"
CALLED_AT = datetime(2026, 1, 14, 10, 0, tzinfo=UTC)


def _hub(control_id: str, asff_type: str, resource_id: str, **changes: Any) -> dict[str, Any]:
    """One Security Hub control finding (the golden S3.8 one, re-aimed), recorded in us-east-1."""
    finding: dict[str, Any] = copy.deepcopy(_golden("get_security_findings_securityhub.moto.json")["findings"][0])
    finding["Resources"] = [{"Type": asff_type, "Id": resource_id, "Partition": "aws", "Region": REGION}]
    finding["Compliance"] = {**finding["Compliance"], "SecurityControlId": control_id}
    finding.update(changes)
    return finding


def _hub_findings(*findings: dict[str, Any]) -> list[Finding]:
    payload = {"enabled": True, "service": "securityhub", "findings": list(findings)}
    return findings_from_security_findings(payload, "securityhub", REGION, ACCOUNT, observed_at=CALLED_AT)


def test_security_hub_findings_on_global_resources_and_controls_are_filed_under_global() -> None:
    findings = _hub_findings(
        _hub("IAM.5", "AwsIamUser", USER_ARN),
        _hub("S3.1", "AwsAccount", f"AWS::::Account:{ACCOUNT}"),
        _hub("IAM.4", "AwsAccount", f"AWS::::Account:{ACCOUNT}"),
        _hub("GuardDuty.1", "AwsAccount", f"AWS::::Account:{ACCOUNT}"),
        _hub("S3.8", "AwsS3Bucket", "arn:aws:s3:::acme-open-uploads"),
    )

    regions = {f.control_id: (f.region, f.evidence.get("reported_region")) for f in findings}
    assert regions == {
        "IAM.5": ("global", REGION),
        "S3.1": ("global", REGION),
        "IAM.4": ("global", REGION),
        "GuardDuty.1": (REGION, None),  # a detector is regional
        "S3.8": (REGION, None),
    }


def test_threat_detections_on_iam_keys_keep_the_region_they_were_detected_in() -> None:
    assert not is_global("GuardDuty.Finding/UnauthorizedAccess:IAMUser/MaliciousIPCaller", "AWS::IAM::AccessKey")
    assert is_global("AccessAnalyzer.Finding/ExternalAccess", "AWS::IAM::Role")
    assert is_global("KMS.1", "AWS::IAM::Policy")
    assert not is_global("EC2.7", "AWS::::Account")


def test_is_global_agrees_with_the_regions_our_evaluators_report() -> None:
    from agent_config.checks.catalogue import ACCOUNT_RESOURCE_TYPE, load_catalogue
    from agent_config.checks.registry import CONTROL_OWNERS

    for control in load_catalogue().all():
        owner = CONTROL_OWNERS.get(control.id)
        account_wide = control.resource_type == ACCOUNT_RESOURCE_TYPE or control.resource_type.startswith("AWS::IAM::")
        evaluated_globally = owner is not None and owner.GLOBAL and account_wide
        assert is_global(control.id, control.resource_type) is evaluated_globally, control.id


def test_a_security_hub_iam_5_and_our_iam_5_for_the_same_user_are_one_finding_from_both_sources() -> None:
    from agent_config.checks.findings import findings_from_results
    from agent_config.checks.results import GLOBAL_REGION, CheckResult
    from agent_config.response.synthesizer import SecuritySynthesizer

    # GIVEN Security Hub's IAM.5 finding for alice, recorded in us-east-1 ...
    hub = _hub_findings(_hub("IAM.5", "AwsIamUser", USER_ARN))
    # ... and our own evaluator's IAM.5 result for alice, which IAM's global scope files under "global"
    ours = CheckResult(
        control_id="IAM.5",
        status=FAIL,
        resource_type="AWS::IAM::User",
        resource_id="alice",
        resource_arn=USER_ARN,
        region=GLOBAL_REGION,
        reason="The user has a console password and no MFA device.",
        evidence={"mfa_devices": []},
    )
    live = findings_from_results([ours], ACCOUNT, "aws_api", observed_at=CALLED_AT)

    [merged] = SecuritySynthesizer().resolve_conflicts([*live, *hub])

    assert merged.sources == ["aws_api", "security"]
    assert merged.region == GLOBAL_REGION
    assert merged.status is FAIL


def test_a_report_is_observed_when_it_says_not_when_it_was_read() -> None:
    last_observed = "2026-01-13T08:00:00.000Z"
    [observed, updated_only, no_time, future] = _hub_findings(
        _hub("S3.8", "AwsS3Bucket", "arn:aws:s3:::a", LastObservedAt=last_observed, UpdatedAt="2026-01-13T09:00:00Z"),
        {**_hub("S3.8", "AwsS3Bucket", "arn:aws:s3:::b", UpdatedAt="2026-01-12T07:00:00Z"), "LastObservedAt": None},
        {**_hub("S3.8", "AwsS3Bucket", "arn:aws:s3:::c"), "LastObservedAt": None, "UpdatedAt": "not a time"},
        _hub("S3.8", "AwsS3Bucket", "arn:aws:s3:::d", LastObservedAt="2099-01-01T00:00:00Z"),
    )

    assert observed.observed_at == datetime(2026, 1, 13, 8, 0, tzinfo=UTC)
    assert updated_only.observed_at == datetime(2026, 1, 12, 7, 0, tzinfo=UTC)
    assert no_time.observed_at == CALLED_AT  # the call time: it was true then at the latest
    assert future.observed_at == CALLED_AT  # a report cannot be newer than the call that read it


def test_guardduty_and_inspector_reports_carry_their_last_observation() -> None:
    guardduty = findings_from_security_findings(
        _golden("get_security_findings_guardduty.stubbed.json"), "guardduty", REGION, ACCOUNT, observed_at=CALLED_AT
    )
    inspector = findings_from_security_findings(
        _golden("get_security_findings_inspector_valid_filter.stubbed.json"),
        "inspector",
        REGION,
        ACCOUNT,
        observed_at=CALLED_AT,
    )

    assert {f.observed_at for f in guardduty} == {datetime(2026, 1, 14, 9, 12, 40, tzinfo=UTC)}  # EventLastSeen
    assert {f.observed_at for f in inspector} == {datetime(2026, 1, 14, 9, 30, tzinfo=UTC)}  # lastObservedAt


def test_live_checks_are_observed_at_the_call_time() -> None:
    findings = findings_from_storage_encryption(
        _golden("check_storage_encryption_access_denied.stubbed.json"), REGION, ACCOUNT, observed_at=CALLED_AT
    )

    assert findings
    assert {f.observed_at for f in findings} == {CALLED_AT}
