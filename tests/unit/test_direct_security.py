"""The security-services fallback against botocore's `Stubber`: real clients and service models
(requests and answers are validated against them), every answer a service can give (on, off,
suspended, denied, paginated, capped), and nothing sent that a test did not expect: an unexpected
call fails the test."""

from __future__ import annotations

import asyncio
import copy
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from agent_config.checks.evidence import ApiCall
from agent_config.integrations import direct_security
from agent_config.integrations.direct_security import (
    IAM_ACTIONS,
    MAX_FINDINGS,
    OPERATIONS,
    DirectFindings,
    DirectSecurity,
    plannable_calls,
)
from agent_config.integrations.read_only_guard import READS, check_call
from agent_config.integrations.security_findings import findings_from_security_findings
from agent_config.interfaces import ServiceStatus, Severity
from agent_config.orchestration.deadline import Deadline
from agent_config.response.service_status import render_service_status

REGION = "us-east-1"
ACCOUNT = "123456789012"
DETECTOR = "b6c1f0e2a7d94c3e8f5a1b2c3d4e5f60"
ANALYZER = f"arn:aws:access-analyzer:{REGION}:{ACCOUNT}:analyzer/acme-account-analyzer"
FIXTURES = Path(__file__).parent / "fixtures" / "security_server"
NOW = datetime(2026, 1, 14, 9, 30, tzinfo=UTC)
PROFILE_VARIABLES = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")
"""What would make a client read a profile: other tests (the sandbox) point these at their own files."""


@contextmanager
def _without_profiles() -> Iterator[None]:
    saved = {name: os.environ.pop(name) for name in PROFILE_VARIABLES if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def fixture_findings(name: str) -> list[dict[str, Any]]:
    """The raw AWS documents the Security server passed on in a captured answer."""
    findings: list[dict[str, Any]] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))["findings"]
    return findings


class Clients:
    """Real boto3 clients, one per service and Region, each behind an active `Stubber`."""

    def __init__(self) -> None:
        self.clients: dict[tuple[str, str], Any] = {}
        self.stubbers: dict[tuple[str, str], Stubber] = {}
        with _without_profiles():  # a fresh session reads no profile, whatever ran before this test
            self.session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing")

    def __call__(self, service: str, region: str) -> Any:
        key = (service, region)
        if key not in self.clients:
            with _without_profiles():
                client = self.session.client(service, region_name=region)  # type: ignore[call-overload]
            stubber = Stubber(client)
            stubber.activate()
            self.clients[key], self.stubbers[key] = client, stubber
        return self.clients[key]

    def stub(self, service: str, region: str = REGION) -> Stubber:
        self(service, region)
        return self.stubbers[(service, region)]

    def verify(self) -> None:
        for stubber in self.stubbers.values():
            stubber.assert_no_pending_responses()


@pytest.fixture
def clients() -> Iterator[Clients]:
    made = Clients()
    yield made
    made.verify()


def denied(stubber: Stubber, method: str, message: str = "User is not authorized to perform this action") -> None:
    stubber.add_client_error(method, "AccessDeniedException", message, 403)


# --- status ---------------------------------------------------------------------------------------


def inspector_account(status: str, ec2: str = "DISABLED", ecr: str = "DISABLED") -> dict[str, Any]:
    def state(value: str) -> dict[str, str]:
        return {"status": value, "errorCode": "ALREADY_ENABLED", "errorMessage": "none"}

    return {
        "accounts": [
            {
                "accountId": ACCOUNT,
                "state": state(status),
                "resourceState": {"ec2": state(ec2), "ecr": state(ecr), "lambda": state("DISABLED")},
            }
        ],
        "failedAccounts": [],
    }


def analyzer(name: str, kind: str = "ACCOUNT", status: str = "ACTIVE") -> dict[str, Any]:
    return {
        "arn": f"arn:aws:access-analyzer:{REGION}:{ACCOUNT}:analyzer/{name}",
        "name": name,
        "type": kind,
        "createdAt": NOW,
        "status": status,
    }


def all_off(clients: Clients, *, but: str) -> None:
    """Every service but `but` answers "off", as a fresh account would."""
    answers: dict[str, Callable[[Stubber], None]] = {
        "guardduty": lambda s: s.add_response("list_detectors", {"DetectorIds": []}),
        "securityhub": lambda s: s.add_client_error(
            "describe_hub", "InvalidAccessException", "Account is not subscribed to AWS Security Hub", 401
        ),
        "inspector2": lambda s: s.add_response("batch_get_account_status", inspector_account("DISABLED")),
        "macie2": lambda s: denied(s, "get_macie_session", "Macie is not enabled."),
        "accessanalyzer": lambda s: s.add_response("list_analyzers", {"analyzers": []}),
        "config": lambda s: s.add_response(
            "describe_configuration_recorder_status", {"ConfigurationRecordersStatus": []}
        ),
    }
    for service, answer in answers.items():
        if service != but:
            answer(clients.stub(service))


def statuses(clients: Clients, deadline_s: float = 30.0) -> dict[str, ServiceStatus]:
    read = asyncio.run(DirectSecurity(clients).service_statuses(REGION, Deadline.after(deadline_s)))
    return {status.service: status for status in read}


Answer = Callable[[Stubber], None]


def steps(*answers: Answer) -> Answer:
    """Several answers of one service, in the order they are asked for."""

    def answer(stubber: Stubber) -> None:
        for each in answers:
            each(stubber)

    return answer


def detector(status: str, **extra: Any) -> Answer:
    return lambda s: s.add_response(
        "get_detector", {"ServiceRole": "r", "Status": status, **extra}, {"DetectorId": DETECTOR}
    )


def detectors(*ids: str, next_token: str | None = None, after: str | None = None) -> Answer:
    page: dict[str, Any] = {"DetectorIds": list(ids), **({"NextToken": next_token} if next_token else {})}
    return lambda s: s.add_response("list_detectors", page, {"NextToken": after} if after else None)


StatusCase = tuple[str, Answer, bool | None, str]
STATUS_CASES: dict[str, StatusCase] = {
    "guardduty-enabled": (
        "guardduty",
        steps(detectors(DETECTOR), detector("ENABLED", Features=[{"Name": "S3_DATA_EVENTS", "Status": "ENABLED"}])),
        True,
        "enabled",
    ),
    "guardduty-suspended": (
        "guardduty",
        steps(detectors(DETECTOR), detector("DISABLED")),
        False,
        "detector is disabled",
    ),
    "guardduty-detector-on-page-2": (
        "guardduty",
        steps(detectors(next_token="page-2"), detectors(DETECTOR, after="page-2"), detector("ENABLED")),
        True,
        "enabled",
    ),
    "guardduty-no-detector": (
        "guardduty",
        lambda s: s.add_response("list_detectors", {"DetectorIds": []}),
        False,
        "no detector",
    ),
    "guardduty-denied": (
        "guardduty",
        lambda s: denied(s, "list_detectors"),
        None,
        "could not read Amazon GuardDuty: missing permission guardduty:ListDetectors",
    ),
    "guardduty-get-detector-denied": (
        "guardduty",
        steps(detectors(DETECTOR), lambda s: denied(s, "get_detector")),
        None,
        "missing permission guardduty:GetDetector",
    ),
    "securityhub-enabled": (
        "securityhub",
        lambda s: s.add_response("describe_hub", {"HubArn": f"arn:aws:securityhub:{REGION}:{ACCOUNT}:hub/default"}),
        True,
        "enabled",
    ),
    "securityhub-not-subscribed": (
        "securityhub",
        lambda s: s.add_client_error("describe_hub", "InvalidAccessException", "Account is not subscribed", 401),
        False,
        "not enabled",
    ),
    "securityhub-denied": (
        "securityhub",
        lambda s: denied(s, "describe_hub"),
        None,
        "missing permission securityhub:DescribeHub",
    ),
    "inspector-enabled": (
        "inspector2",
        lambda s: s.add_response("batch_get_account_status", inspector_account("ENABLED", ec2="ENABLED")),
        True,
        "scan types: ec2",
    ),
    "inspector-disabled": (
        "inspector2",
        lambda s: s.add_response("batch_get_account_status", inspector_account("DISABLED")),
        False,
        "not enabled",
    ),
    "inspector-denied": (
        "inspector2",
        lambda s: denied(s, "batch_get_account_status"),
        None,
        "missing permission inspector2:BatchGetAccountStatus",
    ),
    "macie-enabled": (
        "macie2",
        lambda s: s.add_response("get_macie_session", {"status": "ENABLED", "createdAt": NOW}),
        True,
        "enabled",
    ),
    "macie-paused": (
        "macie2",
        lambda s: s.add_response("get_macie_session", {"status": "PAUSED"}),
        False,
        "paused",
    ),
    "macie-not-enabled": (
        "macie2",
        lambda s: denied(s, "get_macie_session", "Macie is not enabled."),
        False,
        "not enabled",
    ),
    "macie-denied": (
        "macie2",
        lambda s: denied(s, "get_macie_session"),
        None,
        "missing permission macie2:GetMacieSession",
    ),
    "accessanalyzer-active": (
        "accessanalyzer",
        lambda s: s.add_response("list_analyzers", {"analyzers": [analyzer("acme-account-analyzer")]}),
        True,
        "acme-account-analyzer",
    ),
    "accessanalyzer-unused-access-only": (
        "accessanalyzer",
        lambda s: s.add_response("list_analyzers", {"analyzers": [analyzer("unused", "ACCOUNT_UNUSED_ACCESS")]}),
        False,
        "no active account or organization analyzer",
    ),
    "accessanalyzer-denied": (
        "accessanalyzer",
        lambda s: denied(s, "list_analyzers"),
        None,
        "missing permission access-analyzer:ListAnalyzers",
    ),
    "config-recording": (
        "config",
        lambda s: s.add_response(
            "describe_configuration_recorder_status",
            {"ConfigurationRecordersStatus": [{"name": "default", "recording": True, "lastStatus": "SUCCESS"}]},
        ),
        True,
        "recording",
    ),
    "config-stopped": (
        "config",
        lambda s: s.add_response(
            "describe_configuration_recorder_status",
            {"ConfigurationRecordersStatus": [{"name": "default", "recording": False}]},
        ),
        False,
        "stopped",
    ),
    "config-no-recorder": (
        "config",
        lambda s: s.add_response("describe_configuration_recorder_status", {"ConfigurationRecordersStatus": []}),
        False,
        "no configuration recorder",
    ),
    "config-denied": (
        "config",
        lambda s: s.add_client_error("describe_configuration_recorder_status", "AccessDeniedException", "no", 400),
        None,
        "missing permission config:DescribeConfigurationRecorderStatus",
    ),
}
SERVICE_OF = {"inspector2": "inspector", "macie2": "macie"}


@pytest.mark.parametrize("case", list(STATUS_CASES))
def test_each_service_status_is_read_as_on_off_or_unknown(clients: Clients, case: str) -> None:
    boto3_service, answer, enabled, words = STATUS_CASES[case]
    answer(clients.stub(boto3_service))
    all_off(clients, but=boto3_service)

    status = statuses(clients)[SERVICE_OF.get(boto3_service, boto3_service)]

    assert status.enabled is enabled
    assert words in (status.error or status.summary)
    if enabled is None:  # a denied read is "unknown" naming what is missing, never "off"
        assert status.error is not None and status.error.startswith("could not read ")
    assert status.setup_url and status.setup_url.startswith("https://docs.aws.amazon.com/")


def test_statuses_keep_the_security_servers_detail_keys_and_render_the_same_way(clients: Clients) -> None:
    STATUS_CASES["guardduty-enabled"][1](clients.stub("guardduty"))
    all_off(clients, but="guardduty")

    read = statuses(clients)
    answer = render_service_status(REGION, list(read.values()))

    assert list(read) == ["guardduty", "inspector", "accessanalyzer", "securityhub", "macie", "config"]
    assert read["guardduty"].detail["detector_details"]["id"] == DETECTOR
    assert answer.data["enabled"] == ["guardduty"]
    assert "config" in answer.data["not_enabled"]
    assert "AWS Config" in answer.summary
    assert "Amazon Inspector" in answer.summary


def test_a_detector_id_the_guard_refuses_is_never_sent(clients: Clients) -> None:
    clients.stub("guardduty").add_response("list_detectors", {"DetectorIds": ["../../evil --endpoint-url x"]})
    all_off(clients, but="guardduty")

    status = statuses(clients)["guardduty"]  # no get_detector is stubbed: sending it would fail the test

    assert status.enabled is None
    assert "read-only guard refused" in (status.error or "")


def test_no_time_left_reads_nothing_and_says_so(clients: Clients) -> None:
    read = statuses(clients, deadline_s=0.05)

    assert {s.enabled for s in read.values()} == {None}
    assert all("deadline" in (s.error or "") for s in read.values())


# --- findings -------------------------------------------------------------------------------------


def findings(clients: Clients, source: str, threshold: Severity = Severity.INFORMATIONAL) -> DirectFindings:
    reader = DirectSecurity(clients)
    return asyncio.run(reader.findings(source, REGION, threshold, Deadline.after(30), ACCOUNT))


def guardduty_finding(finding_id: str, score: float = 8.0) -> dict[str, Any]:
    raw = copy.deepcopy(fixture_findings("get_security_findings_guardduty.stubbed.json")[0])
    raw.update(Id=finding_id, Severity=score)
    return raw


def test_guardduty_findings_are_listed_by_severity_then_fetched_in_batches_of_50(clients: Clients) -> None:
    ids = [f"{n:032x}" for n in range(60)]
    stub = clients.stub("guardduty")
    stub.add_response("list_detectors", {"DetectorIds": [DETECTOR]})
    criteria = {
        "DetectorId": DETECTOR,
        "FindingCriteria": {
            "Criterion": {"service.archived": {"Equals": ["false"]}, "severity": {"GreaterThanOrEqual": 7}}
        },
        "SortCriteria": {"AttributeName": "severity", "OrderBy": "DESC"},
    }
    stub.add_response("list_findings", {"FindingIds": ids[:50], "NextToken": "t"}, criteria)
    stub.add_response("list_findings", {"FindingIds": ids[50:]}, {**criteria, "NextToken": "t"})
    stub.add_response(
        "get_findings",
        {"Findings": [guardduty_finding(i) for i in ids[:50]]},
        {"DetectorId": DETECTOR, "FindingIds": ids[:50]},
    )
    stub.add_response(
        "get_findings",
        {"Findings": [guardduty_finding(i, 9.5) for i in ids[50:]]},
        {"DetectorId": DETECTOR, "FindingIds": ids[50:]},
    )

    read = findings(clients, "guardduty", Severity.HIGH)

    assert read.answered and not read.notes
    assert len(read.findings) == 60
    assert {f.severity for f in read.findings} == {Severity.HIGH, Severity.CRITICAL}
    assert {f.sources[0] for f in read.findings} == {"boto3"}


def test_directly_read_findings_are_the_security_servers_own_normalisation(clients: Clients) -> None:
    raw = guardduty_finding(DETECTOR)
    stub = clients.stub("guardduty")
    stub.add_response("list_detectors", {"DetectorIds": [DETECTOR]})
    stub.add_response("list_findings", {"FindingIds": [DETECTOR]})
    stub.add_response("get_findings", {"Findings": [raw]})

    [direct] = findings(clients, "guardduty").findings
    payload = {"service": "guardduty", "enabled": True, "findings": [raw]}
    [served] = findings_from_security_findings(payload, "guardduty", REGION, ACCOUNT, observed_at=direct.observed_at)

    assert direct.model_dump(exclude={"sources"}) == served.model_dump(exclude={"sources"})
    assert direct.control_id == "GuardDuty.Finding/CryptoCurrency:EC2/BitcoinTool.B!DNS"


def test_guardduty_without_a_detector_is_not_enabled_not_failed(clients: Clients) -> None:
    clients.stub("guardduty").add_response("list_detectors", {"DetectorIds": []})

    read = findings(clients, "guardduty")

    assert read.not_enabled == f"Amazon GuardDuty is not enabled in {REGION}: no detector"
    assert not read.findings


def test_a_denied_findings_query_names_the_missing_permission(clients: Clients) -> None:
    stub = clients.stub("guardduty")
    stub.add_response("list_detectors", {"DetectorIds": [DETECTOR]})
    denied(stub, "list_findings")

    read = findings(clients, "guardduty")

    assert not read.answered
    assert [n.reason for n in read.notes] == [
        "could not read Amazon GuardDuty findings: missing permission guardduty:ListFindings"
    ]


def test_a_malformed_finding_costs_only_itself(clients: Clients) -> None:
    broken = guardduty_finding("0" * 32, score=11.0)  # GuardDuty scores run from 1.0 to 10.0
    stub = clients.stub("guardduty")
    stub.add_response("list_detectors", {"DetectorIds": [DETECTOR]})
    stub.add_response("list_findings", {"FindingIds": ["0" * 32, "1" * 32]})
    stub.add_response("get_findings", {"Findings": [broken, guardduty_finding("1" * 32)]})

    read = findings(clients, "guardduty")

    assert len(read.findings) == 1
    assert read.notes[0].reason.startswith("1 Amazon GuardDuty findings could not be read")


def asff(control: str, label: str) -> dict[str, Any]:
    raw = copy.deepcopy(fixture_findings("get_security_findings_securityhub.moto.json")[0])
    raw["Id"] = f"arn:aws:securityhub:{REGION}:{ACCOUNT}:security-control/{control}/finding/x"
    raw["Compliance"]["SecurityControlId"] = control
    raw["Severity"] = {"Label": label}
    return raw


def hub_filters(label: str) -> dict[str, Any]:
    def equals(*values: str) -> list[dict[str, str]]:
        return [{"Comparison": "EQUALS", "Value": v} for v in values]

    return {
        "Filters": {
            "RecordState": equals("ACTIVE"),
            "SeverityLabel": equals(label),
            "WorkflowStatus": equals("NEW", "NOTIFIED"),
        }
    }


def test_security_hub_is_read_label_by_label_from_critical_down_with_pagination(clients: Clients) -> None:
    stub = clients.stub("securityhub")
    stub.add_response("get_findings", {"Findings": [asff("EC2.19", "CRITICAL")]}, hub_filters("CRITICAL"))
    stub.add_response("get_findings", {"Findings": [asff("S3.8", "HIGH")], "NextToken": "n"}, hub_filters("HIGH"))
    stub.add_response("get_findings", {"Findings": [asff("RDS.2", "HIGH")]}, {**hub_filters("HIGH"), "NextToken": "n"})

    read = findings(clients, "securityhub", Severity.HIGH)

    assert [f.control_id for f in read.findings] == ["EC2.19", "S3.8", "RDS.2"]
    assert not read.notes


def test_security_hub_stops_at_the_cap_and_says_so(clients: Clients) -> None:
    many = [asff(f"EC2.{n}", "CRITICAL") for n in range(MAX_FINDINGS)]
    clients.stub("securityhub").add_response("get_findings", {"Findings": many}, hub_filters("CRITICAL"))

    read = findings(clients, "securityhub", Severity.HIGH)  # HIGH is never asked for: the cap is reached

    assert len(read.findings) == MAX_FINDINGS
    assert any("most severe first" in n.reason for n in read.notes)


def test_security_hub_not_subscribed_is_not_enabled(clients: Clients) -> None:
    clients.stub("securityhub").add_client_error("get_findings", "InvalidAccessException", "not subscribed", 401)

    assert findings(clients, "securityhub").not_enabled == f"AWS Security Hub is not enabled in {REGION}"


def test_inspector_findings_follow_the_account_status(clients: Clients) -> None:
    raws = fixture_findings("get_security_findings_inspector_valid_filter.stubbed.json")
    stub = clients.stub("inspector2")
    stub.add_response("batch_get_account_status", inspector_account("ENABLED", ec2="ENABLED"))
    expected = {
        "filterCriteria": {
            "findingStatus": [{"comparison": "EQUALS", "value": "ACTIVE"}],
            "severity": [{"comparison": "EQUALS", "value": v} for v in ("CRITICAL", "HIGH", "MEDIUM", "UNTRIAGED")],
        },
        "sortCriteria": {"field": "SEVERITY", "sortOrder": "DESC"},
    }
    stub.add_response("list_findings", {"findings": raws}, expected)

    read = findings(clients, "inspector", Severity.MEDIUM)

    assert len(read.findings) == len(raws)
    assert read.findings[0].control_id == "Inspector.Finding/PACKAGE_VULNERABILITY/CVE-2024-6387"


def test_inspector_disabled_is_not_enabled(clients: Clients) -> None:
    clients.stub("inspector2").add_response("batch_get_account_status", inspector_account("DISABLED"))

    assert (
        findings(clients, "inspector").not_enabled == f"Amazon Inspector is not enabled in {REGION} (status DISABLED)"
    )


def test_macie_findings_are_listed_then_fetched(clients: Clients) -> None:
    raws = fixture_findings("get_security_findings_macie_valid_filter.stubbed.json")
    ids = [str(r["id"]) for r in raws]
    stub = clients.stub("macie2")
    expected = {
        "findingCriteria": {
            "criterion": {"archived": {"eq": ["false"]}, "severity.description": {"eq": ["High", "Medium", "Low"]}}
        },
        "sortCriteria": {"attributeName": "severity.score", "orderBy": "DESC"},
    }
    stub.add_response("list_findings", {"findingIds": ids}, expected)
    stub.add_response("get_findings", {"findings": raws}, {"findingIds": ids})

    read = findings(clients, "macie", Severity.LOW)

    assert [f.control_id.split("/")[0] for f in read.findings] == ["Macie.Finding"] * len(raws)


def test_macie_saying_it_is_not_enabled_is_not_a_missing_permission(clients: Clients) -> None:
    denied(clients.stub("macie2"), "list_findings", "Macie is not enabled.")

    assert findings(clients, "macie").not_enabled == f"Amazon Macie is not enabled in {REGION}"


def test_access_analyzer_findings_come_from_each_active_external_analyzer(clients: Clients) -> None:
    stub = clients.stub("accessanalyzer")
    stub.add_response(
        "list_analyzers",
        {"analyzers": [analyzer("acme-account-analyzer"), analyzer("unused", "ACCOUNT_UNUSED_ACCESS")]},
    )
    summary = {
        "id": "0e3f1c2a-1b2c-4d5e-8f90-a1b2c3d4e5f6",
        "principal": {"AWS": "*"},
        "action": ["s3:GetObject"],
        "resource": "arn:aws:s3:::acme-open-uploads",
        "isPublic": True,
        "resourceType": "AWS::S3::Bucket",
        "condition": {},
        "createdAt": NOW,
        "analyzedAt": NOW,
        "updatedAt": NOW,
        "status": "ACTIVE",
        "resourceOwnerAccount": ACCOUNT,
    }
    stub.add_response(
        "list_findings", {"findings": [summary]}, {"analyzerArn": ANALYZER, "filter": {"status": {"eq": ["ACTIVE"]}}}
    )

    [finding] = findings(clients, "accessanalyzer").findings

    assert finding.control_id == "AccessAnalyzer.Finding/PublicAccess"
    assert finding.severity is Severity.HIGH
    assert finding.resource_id == "acme-open-uploads"


def test_access_analyzer_denied_names_the_permission(clients: Clients) -> None:
    denied(clients.stub("accessanalyzer"), "list_analyzers")

    read = findings(clients, "accessanalyzer")

    assert read.notes[0].reason == (
        "could not read IAM Access Analyzer findings: missing permission access-analyzer:ListAnalyzers"
    )


# --- what is planned, allowed and granted --------------------------------------------------------


def test_the_planned_calls_are_exactly_the_operations_and_all_pass_the_guard() -> None:
    calls = plannable_calls()

    assert {(c.service, c.operation) for c in calls} == set(OPERATIONS)
    assert set(OPERATIONS) <= set(READS)
    for call in calls:
        check_call(call)


def test_the_iam_actions_are_derived_from_the_operations() -> None:
    assert tuple(sorted(set(OPERATIONS.values()))) == IAM_ACTIONS


def test_a_long_list_of_ids_is_cut_into_batches_the_guard_accepts() -> None:
    ids = [f"{n:064x}"[-64:] for n in range(120)]

    batches = list(direct_security._batches(ids))

    assert [i for batch in batches for i in batch] == ids
    for batch in batches:
        check_call(ApiCall.of("macie2", "get-findings", REGION, finding_ids=",".join(batch)))


def test_why_the_server_was_not_used_is_said_in_the_note() -> None:
    from agent_config.utils.error_handling import ErrorKind

    why = direct_security.why_not_the_server
    assert why(ErrorKind.CONFIGURATION, "server is not configured") == "disabled in the configuration"
    assert why(ErrorKind.CIRCUIT_OPEN, "resting").startswith("unavailable: its circuit breaker is open")
    assert why(ErrorKind.TIMEOUT, "no answer within 25.0 s") == "unreachable (no answer within 25.0 s)"
