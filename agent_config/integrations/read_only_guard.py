"""The read-only guard: nothing leaves this process towards AWS unless it is a known read.

The agent assesses; it never changes an account. The AWS API MCP server has its own read-only mode
(and runs with it), but one layer is not enough: every command is checked here first, before it
reaches any server or boto3.

- The (service, operation) pair must be one the check modules actually plan (`READS`), and the
  operation must also *look* like a read (get-, list-, describe-, batch-get-). Nothing else is allowed, not even
  other reads: an unused read is attack surface (a name from a listing could be steered into it)
  and an IAM permission the deployed role would have to grant. A test keeps `READS` equal to what
  the plans produce, so adding a check that needs a new read means adding it here, deliberately.
- Every parameter must be one that operation is planned with, at most once, and every value must
  match, as a whole (`fullmatch`: `$` would also accept a trailing newline), the pattern AWS
  documents for that kind of identifier (bucket names, resource ids, ARNs, names), in ASCII only
  (`\\d` and `\\w` would otherwise accept non-ASCII digits and letters). A value can therefore never
  smuggle in a second command, an option (`--endpoint-url`, `--profile`, `--region`), a shell
  metacharacter, a quote, a control character or a look-alike of a real name, whatever the server
  does with the command line. Some are pinned to fixed values (`FIXED_VALUES`): the only instance
  attribute read is `userData`.
- Filter documents are the one exception to "no quote": the security-services fallback
  (`integrations/direct_security.py`) sends a few API structures (a severity threshold, ACTIVE
  only, sorted by severity). Each is compact JSON whose whole text is pinned, per operation, to the
  shapes that module builds (`STRUCTURED_PARAMETERS`: fixed keys, a closed set of values); only the
  boto3 path sends them, and `cli_command` refuses to put one on a command line.
- No value may start with `-` (the CLI would read it as an option) or carry a URL scheme: the AWS
  CLI replaces a value starting with `file://`, `fileb://`, `http://` or `https://` by the content
  of that file or URL ("paramfile"), so a resource name arriving in a listing could otherwise make
  the API server read a local file or fetch a URL. The only exception is a parameter whose value
  *is* a URL and for which the CLI turns that loading off (SQS `--queue-url`, in awscli's
  `PARAMFILE_DISABLED`); there the pattern pins the host, and `file://`/`fileb://` stay refused.
- Regions must look like regions.

A refusal raises `InvalidInput` naming what was refused and why; it is never sent anywhere.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from agent_config.checks.evidence import ApiCall
from agent_config.utils.error_handling import InvalidInput

READ_PREFIXES = ("get-", "list-", "describe-", "batch-get-")
REGION = re.compile(r"[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}", re.ASCII)
MAX_VALUE_LENGTH = 2048

LOCAL_FILE_SCHEMES = ("file://", "fileb://")
"""Prefixes the AWS CLI always resolves to a file's content; `http://`/`https://` it resolves to a
URL's content except where paramfile is disabled (then the value is the URL itself)."""

# (AWS CLI service, operation) -> the parameters it may carry: exactly what the check modules plan
# (agent_config/checks/services/*.py), plus the collector's account lookup (sts get-caller-identity)
# and the security-services fallback's reads (agent_config/integrations/direct_security.py).
READS: dict[tuple[str, str], frozenset[str]] = {
    key: frozenset(parameters)
    for key, parameters in {
        ("accessanalyzer", "list-analyzers"): set(),
        ("accessanalyzer", "list-findings"): {"analyzer-arn", "filter"},
        ("account", "get-alternate-contact"): {"alternate-contact-type"},
        ("cloudtrail", "describe-trails"): set(),
        ("cloudtrail", "get-event-selectors"): {"trail-name"},
        ("cloudtrail", "get-trail-status"): {"name"},
        ("configservice", "describe-configuration-recorder-status"): set(),
        ("configservice", "describe-configuration-recorders"): set(),
        ("dynamodb", "describe-continuous-backups"): {"table-name"},
        ("dynamodb", "list-tables"): set(),
        ("ec2", "describe-flow-logs"): set(),
        ("ec2", "describe-instance-attribute"): {"instance-id", "attribute"},
        ("ec2", "describe-instances"): set(),
        ("ec2", "describe-network-acls"): set(),
        ("ec2", "describe-security-groups"): set(),
        ("ec2", "describe-snapshot-attribute"): {"snapshot-id", "attribute"},
        ("ec2", "describe-snapshots"): {"owner-ids"},
        ("ec2", "describe-volumes"): set(),
        ("ec2", "describe-vpcs"): set(),
        ("ec2", "get-ebs-encryption-by-default"): set(),
        ("ecr", "describe-repositories"): set(),
        ("ecr", "get-registry-scanning-configuration"): set(),
        ("efs", "describe-file-systems"): set(),
        ("eks", "describe-cluster"): {"name"},
        ("eks", "list-clusters"): set(),
        ("elbv2", "describe-listeners"): {"load-balancer-arn"},
        ("elbv2", "describe-load-balancers"): set(),
        ("elbv2", "describe-rules"): {"listener-arn"},
        ("guardduty", "get-detector"): {"detector-id"},
        ("guardduty", "get-findings"): {"detector-id", "finding-ids"},
        ("guardduty", "list-detectors"): set(),
        ("guardduty", "list-findings"): {"detector-id", "finding-criteria", "sort-criteria"},
        ("iam", "get-access-key-last-used"): {"access-key-id"},
        ("iam", "get-account-password-policy"): set(),
        ("iam", "get-account-summary"): set(),
        ("iam", "get-login-profile"): {"user-name"},
        ("iam", "get-policy-version"): {"policy-arn", "version-id"},
        ("iam", "list-access-keys"): {"user-name"},
        ("iam", "list-attached-user-policies"): {"user-name"},
        ("iam", "list-mfa-devices"): {"user-name"},
        ("iam", "list-policies"): {"scope"},
        ("iam", "list-user-policies"): {"user-name"},
        ("iam", "list-users"): set(),
        ("iam", "list-virtual-mfa-devices"): {"assignment-status"},
        ("inspector2", "batch-get-account-status"): set(),
        ("inspector2", "list-findings"): {"filter-criteria", "sort-criteria"},
        ("kms", "describe-key"): {"key-id"},
        ("kms", "get-key-rotation-status"): {"key-id"},
        ("kms", "list-aliases"): set(),
        ("kms", "list-keys"): set(),
        ("lambda", "get-policy"): {"function-name"},
        ("lambda", "list-functions"): set(),
        ("macie2", "get-findings"): {"finding-ids"},
        ("macie2", "get-macie-session"): set(),
        ("macie2", "list-findings"): {"finding-criteria", "sort-criteria"},
        ("organizations", "describe-organization"): set(),
        ("rds", "describe-db-cluster-snapshot-attributes"): {"db-cluster-snapshot-identifier"},
        ("rds", "describe-db-cluster-snapshots"): {"snapshot-type"},
        ("rds", "describe-db-instances"): set(),
        ("rds", "describe-db-snapshot-attributes"): {"db-snapshot-identifier"},
        ("rds", "describe-db-snapshots"): {"snapshot-type"},
        ("s3api", "get-bucket-acl"): {"bucket"},
        ("s3api", "get-bucket-location"): {"bucket"},
        ("s3api", "get-bucket-logging"): {"bucket"},
        ("s3api", "get-bucket-policy"): {"bucket"},
        ("s3api", "get-public-access-block"): {"bucket"},
        ("s3api", "list-buckets"): set(),
        ("s3control", "get-public-access-block"): {"account-id"},
        ("secretsmanager", "list-secrets"): set(),
        ("securityhub", "describe-hub"): set(),
        ("securityhub", "get-findings"): {"filters"},
        ("sns", "get-topic-attributes"): {"topic-arn"},
        ("sns", "list-topics"): set(),
        ("sqs", "get-queue-attributes"): {"queue-url", "attribute-names"},
        ("sqs", "list-queues"): set(),
        ("ssm", "describe-document-permission"): {"name", "permission-type"},
        ("ssm", "list-documents"): {"filters"},
        ("sts", "get-caller-identity"): set(),
    }.items()
}


def _by_service(reads: Mapping[tuple[str, str], frozenset[str]]) -> dict[str, frozenset[str]]:
    services: dict[str, set[str]] = {}
    for service, operation in reads:
        services.setdefault(service, set()).add(operation)
    return {service: frozenset(operations) for service, operations in services.items()}


READ_OPERATIONS: dict[str, frozenset[str]] = _by_service(READS)
"""The allowed operations by AWS CLI service (a view of `READS`)."""

FIXED_VALUES: dict[tuple[str, str, str], frozenset[str]] = {
    ("ec2", "describe-instance-attribute", "attribute"): frozenset({"userData"}),
}
"""(service, operation, parameter) whose value may only be one of these: the secrets check reads an
instance's user data and nothing else of it, whatever a planning bug or a crafted id asked for."""

URL_PARAMETERS: frozenset[tuple[str, str, str]] = frozenset({("sqs", "get-queue-attributes", "queue-url")})
"""(service, operation, parameter) whose value is an http(s) URL the AWS CLI does not load
(awscli `paramfile.PARAMFILE_DISABLED`); every other value is refused if it holds `://`."""

_ARN = r"arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12})?:[A-Za-z0-9/_+=,.@:*-]{1,1024}"
_QUEUE_URL = (
    r"https://sqs\.[a-z0-9-]+\.amazonaws\.com/\d{12}/[A-Za-z0-9_-]{1,80}(\.fifo)?"
    r"|https?://(127\.0\.0\.1|localhost)(:\d{1,5})?/\d{12}/[A-Za-z0-9_-]{1,80}(\.fifo)?"
)

# Parameter name -> the pattern its whole value must match (`fullmatch`, ASCII only).
PARAMETER_PATTERNS: dict[str, re.Pattern[str]] = {
    name: re.compile(pattern, re.ASCII)
    for name, pattern in {
        "bucket": r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]",
        "account-id": r"\d{12}",
        "snapshot-id": r"snap-[0-9a-f]{8,17}",
        "instance-id": r"i-[0-9a-f]{8,17}",
        "db-snapshot-identifier": r"[A-Za-z][A-Za-z0-9-]{0,254}|" + _ARN,
        "db-cluster-snapshot-identifier": r"[A-Za-z][A-Za-z0-9-]{0,254}|" + _ARN,
        "attribute": r"[A-Za-z]{1,64}",
        "attribute-names": r"[A-Za-z]{1,64}",
        "detector-id": r"[0-9a-f]{32}",
        "key-id": r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32}|" + _ARN,
        "function-name": r"[A-Za-z0-9_-]{1,64}|" + _ARN,
        "topic-arn": _ARN,
        "queue-url": _QUEUE_URL,
        "name": r"[A-Za-z0-9_.-]{1,100}|" + _ARN,
        "assignment-status": r"Assigned|Unassigned|Any",
        "snapshot-type": r"manual|automated|shared|public|awsbackup",
        "table-name": r"[A-Za-z0-9_.-]{3,255}",
        "trail-name": r"[A-Za-z0-9][A-Za-z0-9_.-]{2,127}|" + _ARN,
        "user-name": r"[A-Za-z0-9_+=,.@-]{1,64}",
        "access-key-id": r"[A-Z0-9]{16,128}",
        "policy-arn": _ARN,
        "version-id": r"v[0-9]{1,9}",
        "scope": r"Local|AWS|All",
        "alternate-contact-type": r"SECURITY|BILLING|OPERATIONS",
        "owner-ids": r"self|\d{12}",
        "load-balancer-arn": _ARN,
        "listener-arn": _ARN,
        "filters": r"(Name|Key)=[A-Za-z.:-]{1,64},Values=[A-Za-z0-9_.-]{1,256}",
        "permission-type": r"Share",
        "analyzer-arn": _ARN,
        "finding-ids": r"[A-Za-z0-9-]{1,64}(,[A-Za-z0-9-]{1,64}){0,49}",  # one batch, comma-separated
    }.items()
}

_LABEL = r"(CRITICAL|HIGH|MEDIUM|LOW|INFORMATIONAL)"
_INSPECTOR_SEVERITY = r'\{"comparison":"EQUALS","value":"(CRITICAL|HIGH|MEDIUM|UNTRIAGED|LOW|INFORMATIONAL)"\}'
_MACIE_SEVERITY = r'"(High|Medium|Low)"'

# (service, operation, parameter) -> the pattern of the JSON document it carries (boto3 path only;
# keys sorted, no spaces: `json.dumps(..., sort_keys=True, separators=(",", ":"))`).
STRUCTURED_PARAMETERS: dict[tuple[str, str, str], re.Pattern[str]] = {
    key: re.compile(pattern, re.ASCII)
    for key, pattern in {
        ("guardduty", "list-findings", "finding-criteria"): (
            r'\{"Criterion":\{"service\.archived":\{"Equals":\["false"\]\},"severity":\{"GreaterThanOrEqual":[1-9]\}\}\}'
        ),
        ("guardduty", "list-findings", "sort-criteria"): re.escape('{"AttributeName":"severity","OrderBy":"DESC"}'),
        ("securityhub", "get-findings", "filters"): (
            r'\{"RecordState":\[\{"Comparison":"EQUALS","Value":"ACTIVE"\}\],'
            rf'"SeverityLabel":\[\{{"Comparison":"EQUALS","Value":"{_LABEL}"\}}\],'
            r'"WorkflowStatus":\[\{"Comparison":"EQUALS","Value":"NEW"\},\{"Comparison":"EQUALS","Value":"NOTIFIED"\}\]\}'
        ),
        ("inspector2", "list-findings", "filter-criteria"): (
            r'\{"findingStatus":\[\{"comparison":"EQUALS","value":"ACTIVE"\}\],'
            rf'"severity":\[{_INSPECTOR_SEVERITY}(,{_INSPECTOR_SEVERITY}){{0,5}}\]\}}'
        ),
        ("inspector2", "list-findings", "sort-criteria"): re.escape('{"field":"SEVERITY","sortOrder":"DESC"}'),
        ("macie2", "list-findings", "finding-criteria"): (
            r'\{"criterion":\{"archived":\{"eq":\["false"\]\},'
            rf'"severity\.description":\{{"eq":\[{_MACIE_SEVERITY}(,{_MACIE_SEVERITY}){{0,2}}\]\}}\}}\}}'
        ),
        ("macie2", "list-findings", "sort-criteria"): re.escape('{"attributeName":"severity.score","orderBy":"DESC"}'),
        ("accessanalyzer", "list-findings", "filter"): re.escape('{"status":{"eq":["ACTIVE"]}}'),
    }.items()
}


def check_call(call: ApiCall) -> ApiCall:
    """Return the call unchanged if it is an allowed read with valid arguments; raise otherwise."""
    allowed_parameters = READS.get((call.service, call.operation))
    if allowed_parameters is None or not call.operation.startswith(READ_PREFIXES):
        if call.service not in READ_OPERATIONS:
            raise InvalidInput(f"refused: {call.service!r} is not a service the assessment reads")
        raise InvalidInput(f"refused: {call.service!r} {call.operation!r} is not an allowed read operation")
    if call.region is not None and not REGION.fullmatch(call.region):
        raise InvalidInput(f"refused: {call.region!r} is not an AWS Region code")
    seen: set[str] = set()
    for name, value in call.parameters:
        known = name in PARAMETER_PATTERNS or (call.service, call.operation, name) in STRUCTURED_PARAMETERS
        if name not in allowed_parameters or not known:
            raise InvalidInput(f"refused: parameter --{name} is not allowed for {call.service} {call.operation}")
        if name in seen:
            raise InvalidInput(f"refused: parameter --{name} is given more than once")
        seen.add(name)
        _check_value(call, name, value)
    return call


def _check_value(call: ApiCall, name: str, value: str) -> None:
    """Refuse a value the CLI could read as something other than a literal identifier."""
    if len(value) > MAX_VALUE_LENGTH:
        raise InvalidInput(f"refused: the value of --{name} is longer than {MAX_VALUE_LENGTH} characters")
    if not (value.isascii() and value.isprintable()):
        raise InvalidInput(f"refused: the value of --{name} holds non-ASCII or control characters")
    if value.startswith("-"):
        raise InvalidInput(f"refused: the value of --{name} starts with '-' and would be read as an option")
    folded = value.lstrip().casefold()
    url_valued = (call.service, call.operation, name) in URL_PARAMETERS
    if folded.startswith(LOCAL_FILE_SCHEMES) or (not url_valued and "://" in folded):
        raise InvalidInput(
            f"refused: the value of --{name} holds a URL scheme; the AWS CLI would load the parameter "
            "from that file or URL"
        )
    pattern = STRUCTURED_PARAMETERS.get((call.service, call.operation, name)) or PARAMETER_PATTERNS[name]
    if not pattern.fullmatch(value):
        raise InvalidInput(f"refused: the value of --{name} does not look like a valid {name}")
    fixed = FIXED_VALUES.get((call.service, call.operation, name))
    if fixed is not None and value not in fixed:
        raise InvalidInput(
            f"refused: --{name} of {call.service} {call.operation} may only be {', '.join(sorted(fixed))}"
        )


def cli_command(call: ApiCall, default_region: str) -> str:
    """The AWS CLI command line for a checked call (values are pattern-validated, so no quoting)."""
    check_call(call)
    if not REGION.fullmatch(default_region):
        raise InvalidInput(f"refused: {default_region!r} is not an AWS Region code")
    structured = [name for name, _ in call.parameters if (call.service, call.operation, name) in STRUCTURED_PARAMETERS]
    if structured:
        raise InvalidInput(
            f"refused: --{structured[0]} of {call.service} {call.operation} is a JSON document that only the "
            "boto3 path sends, never a command line"
        )
    parts = ["aws", call.service, call.operation]
    for name, value in call.parameters:
        parts += [f"--{name}", value]
    parts += ["--region", call.region or default_region]
    return " ".join(parts)
