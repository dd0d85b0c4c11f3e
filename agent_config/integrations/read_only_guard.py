"""The read-only guard: nothing leaves this process towards AWS unless it is a known read.

The agent assesses; it never changes an account. The AWS API MCP server has its own read-only mode
(and runs with it), but one layer is not enough: every command is checked here first, before it
reaches any server or boto3.

- The (service, operation) pair must be on an explicit allow-list of read operations, and the
  operation must *look* like a read (get-, list-, describe-, head-, generate-credential-report...).
- Every parameter name must be one the checks use, and every value must match the pattern AWS
  documents for that kind of identifier (bucket names, resource ids, ARNs, names). A value can
  therefore never smuggle in a second command, an option (`--endpoint-url`), a shell
  metacharacter, a quote or a newline, whatever the server does with the command line.
- Regions must look like regions.

A refusal raises `InvalidInput` naming what was refused and why; it is never sent anywhere.
"""

from __future__ import annotations

import re

from agent_config.checks.evidence import ApiCall
from agent_config.utils.error_handling import InvalidInput

READ_PREFIXES = ("get-", "list-", "describe-", "head-", "generate-credential-report", "lookup-")
REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}$")
MAX_VALUE_LENGTH = 2048

# Every read the checks need, by AWS CLI service. Adding a check that needs a new read means
# adding it here, deliberately.
READ_OPERATIONS: dict[str, frozenset[str]] = {
    "account": frozenset({"get-alternate-contact", "get-contact-information"}),
    "cloudtrail": frozenset({"describe-trails", "get-trail-status", "get-event-selectors", "list-trails"}),
    "configservice": frozenset(
        {
            "describe-configuration-recorders",
            "describe-configuration-recorder-status",
            "describe-delivery-channels",
        }
    ),
    "dynamodb": frozenset({"list-tables", "describe-table", "describe-continuous-backups"}),
    "ec2": frozenset(
        {
            "describe-instances",
            "describe-security-groups",
            "describe-vpcs",
            "describe-flow-logs",
            "describe-volumes",
            "describe-snapshots",
            "describe-snapshot-attribute",
            "describe-network-acls",
            "get-ebs-encryption-by-default",
            "describe-regions",
        }
    ),
    "ecr": frozenset({"describe-repositories", "get-registry-scanning-configuration"}),
    "efs": frozenset({"describe-file-systems"}),
    "eks": frozenset({"list-clusters", "describe-cluster"}),
    "guardduty": frozenset({"list-detectors", "get-detector"}),
    "iam": frozenset(
        {
            "get-account-summary",
            "get-account-password-policy",
            "get-credential-report",
            "generate-credential-report",
            "list-users",
            "list-mfa-devices",
            "list-access-keys",
            "get-access-key-last-used",
            "get-login-profile",
            "list-policies",
            "get-policy",
            "get-policy-version",
            "list-attached-user-policies",
            "list-user-policies",
            "list-entities-for-policy",
            "list-virtual-mfa-devices",
        }
    ),
    "kms": frozenset({"list-keys", "describe-key", "get-key-rotation-status", "list-aliases"}),
    "lambda": frozenset({"list-functions", "get-policy", "get-function-configuration"}),
    "rds": frozenset(
        {
            "describe-db-instances",
            "describe-db-snapshots",
            "describe-db-snapshot-attributes",
            "describe-db-clusters",
            "describe-db-cluster-snapshots",
            "describe-db-cluster-snapshot-attributes",
        }
    ),
    "s3api": frozenset(
        {
            "list-buckets",
            "get-bucket-acl",
            "get-bucket-policy",
            "get-bucket-policy-status",
            "get-public-access-block",
            "get-bucket-logging",
            "get-bucket-location",
            "get-bucket-encryption",
            "get-bucket-versioning",
        }
    ),
    "s3control": frozenset({"get-public-access-block"}),
    "secretsmanager": frozenset({"list-secrets", "describe-secret"}),
    "sns": frozenset({"list-topics", "get-topic-attributes"}),
    "sqs": frozenset({"list-queues", "get-queue-attributes"}),
    "ssm": frozenset({"list-documents", "describe-document-permission"}),
    "sts": frozenset({"get-caller-identity"}),
}

_NAME = r"[A-Za-z0-9][A-Za-z0-9_+=,.@/:-]{0,511}"
_ARN = r"arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12})?:[A-Za-z0-9/_+=,.@:*-]{1,1024}"
_URL = r"https://sqs\.[a-z0-9-]+\.amazonaws\.com/\d{12}/[A-Za-z0-9_-]{1,80}(\.fifo)?|https?://(127\.0\.0\.1|localhost)(:\d{1,5})?/\d{12}/[A-Za-z0-9_-]{1,80}(\.fifo)?"

# Parameter name -> the pattern its values must match (whole value).
PARAMETER_PATTERNS: dict[str, re.Pattern[str]] = {
    name: re.compile(f"^(?:{pattern})$")
    for name, pattern in {
        "bucket": r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]",
        "account-id": r"\d{12}",
        "snapshot-id": r"snap-[0-9a-f]{8,17}",
        "db-snapshot-identifier": r"[A-Za-z][A-Za-z0-9-]{0,254}|" + _ARN,
        "db-instance-identifier": r"[A-Za-z][A-Za-z0-9-]{0,62}",
        "attribute": r"[A-Za-z]{1,64}",
        "attribute-names": r"[A-Za-z]{1,64}",
        "detector-id": r"[0-9a-f]{32}",
        "key-id": r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32}|" + _ARN,
        "function-name": r"[A-Za-z0-9_-]{1,64}|" + _ARN,
        "secret-id": _NAME,
        "topic-arn": _ARN,
        "queue-url": _URL,
        "name": r"[A-Za-z0-9_.-]{1,100}|" + _ARN,
        "assignment-status": r"Assigned|Unassigned|Any",
        "snapshot-type": r"manual|automated|shared|public|awsbackup",
        "db-cluster-snapshot-identifier": r"[A-Za-z][A-Za-z0-9-]{0,254}|" + _ARN,
        "table-name": r"[A-Za-z0-9_.-]{3,255}",
        "trail-name": r"[A-Za-z0-9_.:/-]{1,2048}",
        "trail-name-list": r"[A-Za-z0-9_.:/-]{1,2048}",
        "user-name": r"[A-Za-z0-9_+=,.@-]{1,64}",
        "access-key-id": r"[A-Z0-9]{16,128}",
        "policy-arn": _ARN,
        "version-id": r"v[0-9]{1,9}",
        "scope": r"Local|AWS|All",
        "only-attached": r"true|false",
        "alternate-contact-type": r"SECURITY|BILLING|OPERATIONS",
        "owner-ids": r"self|\d{12}",
        "repository-names": r"[a-z0-9][a-z0-9._/-]{0,255}",
        "file-system-id": r"fs-[0-9a-f]{8,40}",
        "group-ids": r"sg-[0-9a-f]{8,17}",
        "filters": r"(Name|Key)=[A-Za-z.:-]{1,64},Values=[A-Za-z0-9_.:/-]{1,256}",
        "permission-type": r"Share",
        "region-names": r"[a-z]{2}(-gov)?-[a-z]+-[0-9]{1,2}",
        "max-items": r"[0-9]{1,5}",
        "starting-token": r"[A-Za-z0-9+/=_-]{1,2048}",
    }.items()
}


def check_call(call: ApiCall) -> ApiCall:
    """Return the call unchanged if it is an allowed read with valid arguments; raise otherwise."""
    allowed = READ_OPERATIONS.get(call.service)
    if allowed is None:
        raise InvalidInput(f"refused: {call.service!r} is not a service the assessment reads")
    if call.operation not in allowed or not call.operation.startswith(READ_PREFIXES):
        raise InvalidInput(f"refused: {call.service} {call.operation!r} is not an allowed read operation")
    if call.region is not None and not REGION.match(call.region):
        raise InvalidInput(f"refused: {call.region!r} is not an AWS Region code")
    for name, value in call.parameters:
        pattern = PARAMETER_PATTERNS.get(name)
        if pattern is None:
            raise InvalidInput(f"refused: parameter --{name} is not allowed")
        if len(value) > MAX_VALUE_LENGTH or not pattern.match(value):
            raise InvalidInput(f"refused: the value of --{name} does not look like a valid {name}")
    return call


def cli_command(call: ApiCall, default_region: str) -> str:
    """The AWS CLI command line for a checked call (values are pattern-validated, so no quoting)."""
    check_call(call)
    if not REGION.match(default_region):
        raise InvalidInput(f"refused: {default_region!r} is not an AWS Region code")
    parts = ["aws", call.service, call.operation]
    for name, value in call.parameters:
        parts += [f"--{name}", value]
    parts += ["--region", call.region or default_region]
    return " ".join(parts)
