"""Secrets left in configuration that AWS shows to anyone with read access: Lambda environment
variables (ESA.1) and EC2 instance user data (ESA.2).

Why these two: a function's environment comes back in clear text from `lambda:ListFunctions` and
`lambda:GetFunctionConfiguration`, and an instance's user data from `ec2:DescribeInstanceAttribute`
and, on the instance, from the metadata service to every process. Those are read-only permissions
auditors, support roles and CI pipelines commonly hold, so a password written there is shared with
all of them. AWS Security Hub has no control for either (CodeBuild.2 and ECS.8 cover other services),
so these are the agent's own controls (`origin: agent` in the catalogue, ids ESA.n).

Calls (regional):

- `lambda list-functions`: `Environment.Variables` of every function. The Lambda module plans the
  very same `ApiCall`; `registry.plan_all` drops the duplicate within a round and `needed` skips it
  once it is in the evidence, so it is read once per assessment.
- `ec2 describe-instances` (likewise shared with the EC2 module), then `ec2 describe-instance-attribute
  --instance-id ID --attribute userData` per live instance, capped like every per-resource read.
  User data arrives base64-encoded; gzip-compressed user data (cloud-init accepts it) is
  decompressed and MIME multi-part user data is read part by part. What is not text after that
  (binary, undecodable, larger than `MAX_DECODED_BYTES`) is MANUAL, never PASS.

What counts as a secret (`find_in_variables`, `find_in_user_data`):

1. a value shaped like a credential, whatever its name: AWS access key ids of credentials (AKIA,
   ASIA, ABIA, ACCA; AIDA and AROA name users and roles and are not secret), 40-character secret
   access keys (mixed case with a digit, so a hex commit hash is not one), private key blocks, JSON
   web tokens, `Authorization: Bearer|Basic|Token ...` values, passwords in URLs
   (`scheme://user:password@host`) and well-known vendor tokens (GitHub, GitLab, Slack, Stripe);
   for variable and assignment values also any run of 100+ token characters. The shapes the logs
   already mask are imported from `logging_utils`, not copied, so both stay in step;
2. a literal value under a name that says secret: PASSWORD, PASSWD, PWD, PASS, PASSPHRASE, SECRET,
   TOKEN, CREDENTIALS, API_KEY, PRIVATE_KEY, and SIGNING/ENCRYPTION/MASTER/HMAC/SESSION keys,
   matched on the name's words (`dbPassword`, `DB_PASSWORD`, `db-password`), unless the last word
   says the variable is *about* the secret rather than the secret (`SECRET_ARN`, `TOKEN_TTL`,
   `PASSWORD_MIN_LENGTH`, `SECRETS_EXTENSION_HTTP_PORT`, `API_KEY_HEADER`; see `ABOUT_WORDS`).

A value is not the secret itself, and is never reported under rule 2, when it is a reference or a
template: empty, an ARN (`arn:aws:secretsmanager:...`), a dynamic reference (`{{resolve:...}}`), an
SSM parameter name or file path (starts with `/`), a shell, PowerShell, CloudFormation or template
expansion (`$VAR`, `${VAR}`, `$(cmd)`, `%VAR%`, `!Ref`, `<PLACEHOLDER>`, `{name}`), a mask (`****`,
`xxxx`, `REDACTED`), punctuation only (the `==` of a shell test), a boolean or null word, or a short
number (up to five digits: ports, durations, lengths). Default passwords such as `changeme` or
`password` ARE reported: in a deployed resource they are the live value, and a guessable one is the
worst kind. In user data, comment lines (`#`, `//`, `REM`, `::`) are skipped for rule 2 (prose such
as "# token: rotated monthly") but not for rule 1: a key in a comment is still a key.

User data is read line by line, as shell (`export NAME=value`, `NAME=value`, `set NAME=value`),
PowerShell (`$env:NAME = "value"`), YAML and INI (`name: value`, `name = value`, and the
`- name: X` / `value: Y` pairs of container environments), JSON members (`"name": "value"`,
anywhere on a line), secret-named CLI options (`--master-user-password value`) and `key=value`
pairs inside values (connection strings, query strings).

Results are reported by location only ("environment variable DB_PASSWORD", "user data line 12"),
with the kind of secret. No value, nor any part of one, is put in a result, its evidence, a log line
or an answer; a variable name that is itself credential-shaped is replaced by its position.
Status: FAIL when a secret is found; PASS when the environment or user data holds none; no result
for a function without environment variables or an instance without user data (as for every
control the resource does not apply to), and one NOT_APPLICABLE per Region when none has any;
MANUAL when a read was denied (naming the permission), when Lambda could not decrypt a function's
environment, or when user data could not be read as text.
"""

from __future__ import annotations

import base64
import binascii
import email
import email.policy
import itertools
import re
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from agent_config.checks.evidence import ApiCall, Evidence
from agent_config.checks.results import CapReached, CheckResult
from agent_config.checks.services import awslambda, ec2
from agent_config.checks.services._common import (
    DEFAULT_MAX_RESOURCES,
    Index,
    Read,
    Subject,
    arn,
    cap_notice,
    capped,
    items_of,
    listing_gate,
    needed,
    not_applicable,
    obj,
    read,
    text,
)
from agent_config.utils.logging_utils import (
    _ACCESS_KEY_ID,
    _BARE_SECRET_KEY,
    _JWT,
    _LONG_TOKEN,
    _NAMED_SECRET,
    _SECRET_OPTION,
    _URL_PASSWORD,
)

SERVICE = "secrets_in_config"
GLOBAL = False
CONTROL_IDS: tuple[str, ...] = ("ESA.1", "ESA.2")
FUNCTION = "AWS::Lambda::Function"
INSTANCE = "AWS::EC2::Instance"
MAX_DECODED_BYTES: Final = 256 * 1024
"""User data is at most 16 KB before base64; gzip can hide far more. Past this it is not scanned
(MANUAL) rather than decompressed without bound."""
MAX_LOCATIONS: Final = 10
"""Locations kept in a result's evidence; the count says how many there were."""

# Credential prefixes that are secrets. AIDA (user) and AROA (role) are principal ids: not secret.
_CREDENTIAL_KEY_PREFIXES: Final = ("AKIA", "ASIA", "ABIA", "ACCA")
_PRIVATE_KEY: Final = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
_AUTHORIZATION: Final = re.compile(
    r"(?i)\bauthorization\b[\"']?\s*[:=]\s*[\"']?(?:bearer|basic|token)\s+([A-Za-z0-9\-._~+/]{8,}=*)"
)
_VENDOR_TOKEN: Final = re.compile(
    r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,}|glpat-[A-Za-z0-9_-]{20,}"
    r"|xox[abprs]-[A-Za-z0-9-]{10,}|[sr]k_live_[A-Za-z0-9]{20,})\b"
)
_JSON_MEMBER: Final = re.compile(r"[\"']([A-Za-z_][A-Za-z0-9_.-]{0,127})[\"']\s*:\s*\"((?:[^\"\\]|\\.)*)\"")
_SHELL_ASSIGNMENT: Final = re.compile(
    r"^\s*(?:export\s+|declare\s+(?:-[A-Za-z]+\s+)*|readonly\s+|local\s+|set\s+)?"
    r"([A-Za-z_][A-Za-z0-9_.-]{0,127})\s*=(?!=)\s*(.*)$"
)
_POWERSHELL_ASSIGNMENT: Final = re.compile(r"^\s*\$(?:env:)?([A-Za-z_][A-Za-z0-9_]{0,127})\s*=\s*(.*)$", re.I)
_YAML_ENTRY: Final = re.compile(r"^\s*(?:-\s+)?[\"']?([A-Za-z_][A-Za-z0-9_.-]{0,127})[\"']?\s*:(?:\s+(.*))?$")
_AWS_CONFIGURE: Final = re.compile(r"\baws\s+configure\s+set\s+([A-Za-z0-9_.]+)\s+(\S+)")
_COMMENT: Final = re.compile(r"^\s*(?:#|//|;|::|rem\s|<!--)", re.I)
_CAMEL: Final = re.compile(r"([a-z0-9])([A-Z])")
_NAME_SEPARATORS: Final = re.compile(r"[^A-Z0-9]+")
_TEMPLATE_PLACEHOLDER: Final = re.compile(r"\{\{.*\}\}|\{[A-Za-z_][A-Za-z0-9_]*\}|%\([A-Za-z_]+\)s|<[^<>]+>")

PASSWORD_WORDS: Final = frozenset({"PASSWORD", "PASSWD", "PWD", "PASS", "PASSPHRASE", "DBPASSWORD"})
SECRET_WORDS: Final = frozenset({"SECRET", "SECRETS", "CLIENTSECRET"})
TOKEN_WORDS: Final = frozenset({"TOKEN", "TOKENS", "ACCESSTOKEN", "AUTHTOKEN", "APITOKEN"})
CREDENTIAL_WORDS: Final = frozenset({"CREDENTIAL", "CREDENTIALS", "CREDS"})
KEY_QUALIFIERS: Final = frozenset({"PRIVATE", "API", "SIGNING", "ENCRYPTION", "MASTER", "HMAC", "SESSION"})
ABOUT_WORDS: Final = frozenset(
    {
        "ID", "IDS", "ARN", "ARNS", "NAME", "NAMES", "PATH", "FILE", "DIR", "URL", "URI", "ENDPOINT",
        "HOST", "PORT", "TTL", "TIMEOUT", "EXPIRY", "EXPIRES", "EXPIRATION", "LIFETIME", "DURATION",
        "SECONDS", "MINUTES", "HOURS", "DAYS", "AGE", "LENGTH", "LEN", "SIZE", "MIN", "MAX", "COUNT",
        "LIMIT", "POLICY", "TYPE", "KIND", "MODE", "FORMAT", "ALGORITHM", "ALG", "VERSION", "REGION",
        "ENABLED", "DISABLED", "ENABLE", "REQUIRED", "HEADER", "PARAM", "PARAMETER", "LOCATION",
        "PREFIX", "SUFFIX", "FIELD", "PROVIDER", "ISSUER", "AUDIENCE", "SCOPE", "SCOPES", "STORE",
        "ROTATION", "INTERVAL", "RETRIES", "CACHE", "LEVEL", "HASH", "RESET", "POLICYNAME",
    }
)  # fmt: skip
"""A name whose last word is one of these holds something *about* a secret (where it is, how long
it lives, how long it must be), not the secret itself."""
NOT_SECRET_VALUES: Final = frozenset(
    {"true", "false", "yes", "no", "on", "off", "none", "null", "nil", "undefined", "n/a", "na", "-", "redacted",
     "masked", "hidden", "[redacted]", "<redacted>", "(redacted)"}
)  # fmt: skip
REFERENCE_PREFIXES: Final = ("arn:", "{{", "$", "/", "ssm:", "secretsmanager:", "resolve:", "vault:", "file:")
_CLOUDFORMATION_FUNCTION: Final = re.compile(r"!(?:Ref|Sub|GetAtt|ImportValue|Join|Select|FindInMap|If)\b")
_WINDOWS_VARIABLE: Final = re.compile(r"%[A-Za-z_][A-Za-z0-9_]*%")
MASK_CHARACTERS: Final = frozenset("*xX#.•")


# ---------------------------------------------------------------------------------------------
# Detection (pure: a value or a text in, locations and kinds out; values never leave)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Secret:
    """One secret found: where (never what), and what kind of secret it is."""

    where: str
    """'environment variable DB_PASSWORD', 'user data line 12', 'user data part 2 line 3'."""
    kind: str
    """'password', 'AWS secret access key', 'private key', ..."""
    name: str | None = None
    """The variable or key it was assigned to, when there is one (and it is safe to show)."""


@dataclass
class UserDataScan:
    """What the scan of one instance's user data found, and what it could not read."""

    secrets: list[Secret] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def name_words(name: str) -> list[str]:
    """`dbPassword`, `DB_PASSWORD`, `db-password.value` -> ['DB', 'PASSWORD', ...]."""
    return [w for w in _NAME_SEPARATORS.split(_CAMEL.sub(r"\1_\2", name).upper()) if w]


def secret_kind_of_name(name: str) -> str | None:
    """The kind of secret a variable of this name holds, or None when the name does not say secret
    (or says it holds something about a secret: `SECRET_ARN`, `TOKEN_TTL`)."""
    words = name_words(name)
    if not words or words[-1] in ABOUT_WORDS:
        return None
    joined, present, pairs = "".join(words), set(words), set(itertools.pairwise(words))
    rules = (
        ("private key", ("PRIVATE", "KEY") in pairs or "PRIVATEKEY" in joined),
        ("AWS secret access key", {"SECRET", "ACCESS", "KEY"} <= present),
        ("API key", ("API", "KEY") in pairs or "APIKEY" in present),
        ("password", bool(PASSWORD_WORDS & present)),
        ("secret", bool(SECRET_WORDS & present)),
        ("token", bool(TOKEN_WORDS & present)),
        ("credentials", bool(CREDENTIAL_WORDS & present) or words[-1] == "AUTH"),
        ("key", any((qualifier, "KEY") in pairs for qualifier in KEY_QUALIFIERS)),
    )
    return next((kind for kind, holds in rules if holds), None)


def is_literal_secret_value(value: str) -> bool:
    """Whether a value under a secret name is the secret itself, not a reference, template or mask."""
    stripped = value.strip().strip("\"'").strip()
    lowered = stripped.lower()
    not_the_secret = (
        not any(c.isalnum() for c in stripped)
        or lowered in NOT_SECRET_VALUES
        or lowered.startswith(REFERENCE_PREFIXES)
        or any(expansion in stripped for expansion in ("$(", "${", "`"))
        or _CLOUDFORMATION_FUNCTION.match(stripped) is not None
        or _WINDOWS_VARIABLE.fullmatch(stripped) is not None
        or _TEMPLATE_PLACEHOLDER.fullmatch(stripped) is not None
        or set(stripped) <= MASK_CHARACTERS
        or (stripped.isdigit() and len(stripped) <= 5)
    )
    return not not_the_secret


def _is_secret_access_key(candidate: str) -> bool:
    """A 40-character base64 run that is a secret access key: mixed case and a digit, so that hex
    digests (one case) and most paths (no digit, or a leading slash) are not taken for one."""
    return (
        not candidate.startswith("/")
        and any(c.isupper() for c in candidate)
        and any(c.islower() for c in candidate)
        and any(c.isdigit() for c in candidate)
    )


def credential_shapes(fragment: str) -> list[str]:
    """The kinds of credential-shaped text in `fragment` (free text: a line, a value)."""
    kinds: list[str] = []
    if any(m.group(0).startswith(_CREDENTIAL_KEY_PREFIXES) for m in _ACCESS_KEY_ID.finditer(fragment)):
        kinds.append("AWS access key id")
    if any(_is_secret_access_key(m.group(0)) for m in _BARE_SECRET_KEY.finditer(fragment)):
        kinds.append("AWS secret access key")
    if _PRIVATE_KEY.search(fragment):
        kinds.append("private key")
    if _JWT.search(fragment):
        kinds.append("JSON web token")
    if _VENDOR_TOKEN.search(fragment):
        kinds.append("access token")
    if any(is_literal_secret_value(m.group(1)) for m in _AUTHORIZATION.finditer(fragment)):
        kinds.append("authorization header credentials")
    for match in _URL_PASSWORD.finditer(fragment):
        password = match.group(0)[len(match.group(1)) : -1]
        if is_literal_secret_value(password):
            kinds.append("password in a URL")
            break
    return kinds


def _embedded(fragment: str) -> Iterator[tuple[str, str]]:
    """(kind, name) for `name=value` pairs, JSON members and CLI options inside a fragment."""
    for match in _NAMED_SECRET.finditer(fragment):
        kind = secret_kind_of_name(match.group(1))
        if kind and is_literal_secret_value(match.group(3)):
            yield kind, match.group(1)
    for match in _JSON_MEMBER.finditer(fragment):
        kind = secret_kind_of_name(match.group(1))
        if kind and is_literal_secret_value(match.group(2)):
            yield kind, match.group(1)
    for match in _SECRET_OPTION.finditer(fragment):
        kind = secret_kind_of_name(match.group(1))
        if kind and is_literal_secret_value(match.group(3)):
            yield kind, match.group(1)


def assignment_kinds(name: str, value: str) -> list[str]:
    """Every kind of secret an assignment `name = value` holds (empty when it holds none)."""
    kinds = credential_shapes(value)
    literal = is_literal_secret_value(value)
    named = secret_kind_of_name(name)
    if not kinds and named and literal:
        kinds.append(named)
    if not kinds and literal and _LONG_TOKEN.search(value):
        kinds.append("long token")
    kinds.extend(kind for kind, _ in _embedded(value))
    return list(dict.fromkeys(kinds))


def safe_name(name: str) -> str | None:
    """The name, when showing it cannot show a secret (a name may itself be credential-shaped)."""
    if len(name) > 128 or credential_shapes(name) or _LONG_TOKEN.search(name):
        return None
    return name


def find_in_variables(variables: Mapping[str, str]) -> list[Secret]:
    """The secrets in a function's environment variables, one per variable, by name."""
    found: list[Secret] = []
    for position, (name, value) in enumerate(variables.items(), start=1):
        kinds = assignment_kinds(name, value)
        if not kinds:
            continue
        shown = safe_name(name)
        where = f"environment variable {shown}" if shown else f"environment variable #{position} (name withheld)"
        found.append(Secret(where=where, kind=" and ".join(kinds), name=shown))
    return found


def _literal_of(raw: str) -> str:
    """The value of an assignment as the shell or a YAML/INI reader would see its first word."""
    raw = raw.strip()
    if raw[:1] in {'"', "'"}:
        end = raw.find(raw[0], 1)
        return raw[1:end] if end > 0 else raw[1:]
    return raw.split()[0].rstrip(";,") if raw else ""


def _assignments(line: str, pending_name: str | None) -> tuple[list[tuple[str, str]], str | None]:
    """(name, value) pairs a line assigns, and a YAML `name:` waiting for its `value:` line."""
    pairs: list[tuple[str, str]] = []
    waiting: str | None = None
    for pattern in (_POWERSHELL_ASSIGNMENT, _SHELL_ASSIGNMENT):
        match = pattern.match(line)
        if match:
            pairs.append((match.group(1), _literal_of(match.group(2))))
            break
    else:
        match = _YAML_ENTRY.match(line)
        if match and match.group(2) is not None:
            key, value = match.group(1), _literal_of(match.group(2))
            if key.lower() == "value" and pending_name:
                pairs.append((pending_name, value))
            elif key.lower() == "name" and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", value):
                waiting = value
            else:
                pairs.append((key, value))
    pairs.extend((m.group(1), m.group(2)) for m in _AWS_CONFIGURE.finditer(line))
    return pairs, waiting


def find_in_text(text: str, prefix: str = "user data") -> list[Secret]:
    """The secrets in a script or configuration document, one per line that holds any."""
    found: list[Secret] = []
    pending: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        kinds: dict[str, str | None] = dict.fromkeys(credential_shapes(line))
        if not _COMMENT.match(line):
            pairs, pending = _assignments(line, pending)
            for name, value in pairs:
                for kind in assignment_kinds(name, value):
                    if kinds.get(kind) is None:
                        kinds[kind] = safe_name(name)
            for kind, name in _embedded(line):
                if kinds.get(kind) is None:
                    kinds[kind] = safe_name(name)
        if not kinds:
            continue
        names = list(dict.fromkeys(n for n in kinds.values() if n))
        found.append(Secret(where=f"{prefix} line {number}", kind=" and ".join(kinds), name=", ".join(names) or None))
    return found


def _gunzip(raw: bytes) -> bytes | None:
    """The decompressed bytes, or None when they would exceed `MAX_DECODED_BYTES`."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = inflater.decompress(raw, MAX_DECODED_BYTES + 1)
    return None if len(out) > MAX_DECODED_BYTES else out


def _as_text(raw: bytes) -> tuple[str | None, str | None]:
    """(text, None), or (None, why it is not text): gzip is opened, binary is refused."""
    if raw[:2] == b"\x1f\x8b":
        try:
            inflated = _gunzip(raw)
        except zlib.error:
            return None, "gzip-compressed user data that does not decompress"
        if inflated is None:
            return None, f"user data larger than {MAX_DECODED_BYTES // 1024} KB once decompressed"
        raw = inflated
    try:
        decoded = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None, f"binary user data ({len(raw)} bytes) that is not text"
    if any(ord(c) < 32 and c not in "\t\n\r\f\v" for c in decoded):
        return None, f"binary user data ({len(raw)} bytes) that is not text"
    return decoded, None


def _mime_parts(document: str) -> Iterator[bytes]:
    """The payloads of a MIME multi-part document (cloud-init's way of combining scripts)."""
    message = email.message_from_string(document, policy=email.policy.compat32)
    for part in message.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            yield payload


def find_in_user_data(encoded: str) -> UserDataScan:
    """Scan an instance's user data as `describe-instance-attribute` returns it (base64)."""
    scan = UserDataScan()
    try:
        raw = base64.b64decode("".join(encoded.split()), validate=True)
    except binascii.Error:
        scan.problems.append("user data that is not valid base64")
        return scan
    document, problem = _as_text(raw)
    if document is None:
        scan.problems.append(problem or "user data that is not text")
        return scan
    head = document.lstrip()[:200].lower()
    if not (head.startswith("content-type: multipart") or head.startswith("mime-version:")):
        scan.secrets.extend(find_in_text(document))
        return scan
    for number, payload in enumerate(_mime_parts(document), start=1):
        part, problem = _as_text(payload)
        if part is None:
            scan.problems.append(f"part {number}: {problem}")
            continue
        scan.secrets.extend(find_in_text(part, prefix=f"user data part {number}"))
    return scan


# ---------------------------------------------------------------------------------------------
# Calls
# ---------------------------------------------------------------------------------------------


functions_call = awslambda.list_call
"""The Lambda module's own listing call: the evidence index collects it once for both modules."""
instances_call = ec2.instances_call
"""The EC2 module's own listing call, likewise."""


def user_data_call(region: str, instance_id: str) -> ApiCall:
    return ApiCall.of("ec2", "describe-instance-attribute", region, instance_id=instance_id, attribute="userData")


def _instances(index: Index, region: str) -> tuple[Read, list[dict[str, Any]]]:
    listing = read(index, instances_call(region))
    return listing, ec2.live_instances(listing)


def plan(region: str, evidence: Evidence, max_resources: int = DEFAULT_MAX_RESOURCES) -> list[ApiCall]:
    index = Index(evidence)
    _, instances = _instances(index, region)
    reads = (user_data_call(region, i["InstanceId"]) for i in capped(instances, max_resources))
    return needed(index, [functions_call(region), instances_call(region), *reads])


def cap_reached(region: str, evidence: Evidence, max_resources: int = DEFAULT_MAX_RESOURCES) -> list[CapReached]:
    _, instances = _instances(Index(evidence), region)
    return cap_notice(SERVICE, region, INSTANCE, len(instances), max_resources)


# ---------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------


def evaluate(
    region: str,
    evidence: Evidence,
    *,
    now: datetime | None = None,
    max_resources: int = DEFAULT_MAX_RESOURCES,
) -> list[CheckResult]:
    index = Index(evidence)
    return [*_function_results(index, region), *_instance_results(index, region, max_resources)]


def _locations(secrets: Iterable[Secret], owner: str) -> list[dict[str, str]]:
    rows = []
    for secret in secrets:
        row = {"where": f"{secret.where} of {owner}", "kind": secret.kind}
        if secret.name:
            row["name"] = secret.name
        rows.append(row)
    return rows[:MAX_LOCATIONS]


def _summary(labels: list[str]) -> str:
    shown = ", ".join(labels[:4])
    more = f" and {len(labels) - 4} more" if len(labels) > 4 else ""
    return f"{shown}{more}"


def _function_results(index: Index, region: str) -> list[CheckResult]:
    account = index.account_id
    listing, functions = awslambda.listed_functions(index, region)
    gate = listing_gate(("ESA.1",), account, region, listing, len(functions), "Lambda functions")
    if gate is not None:
        return gate
    results: list[CheckResult] = []
    for function in functions:
        name = function["FunctionName"]
        function_arn = text(function.get("FunctionArn")) or arn("lambda", region, account, f"function:{name}")
        subject = Subject(FUNCTION, name, function_arn, region)
        environment = obj(function.get("Environment"))
        variables = {str(k): v for k, v in obj(environment.get("Variables")).items() if isinstance(v, str)}
        if not variables:
            error = obj(environment.get("Error"))
            if error:
                code = text(error.get("ErrorCode")) or "an error"
                missing = f"lambda:ListFunctions returned no environment variables, only {code} (Lambda could not "
                missing += "decrypt them with the function's KMS key)"
                results.append(subject.manual("ESA.1", missing, "the function's environment variables"))
            continue
        found = find_in_variables(variables)
        labels = [f"{s.name or s.where.removeprefix('environment variable ')} ({s.kind})" for s in found]
        plural = "s" if len(found) > 1 else ""
        results.append(
            subject.verdict(
                "ESA.1",
                not found,
                f"None of the function's {len(variables)} environment variables holds a secret.",
                f"Secret{plural} in environment variable{plural} {_summary(labels)}; value{plural} withheld.",
                locations=_locations(found, f"function {name}"),
                count=len(found),
                variables_scanned=len(variables),
            )
        )
    if not results:
        results.append(not_applicable("ESA.1", account, region, "Lambda functions with environment variables"))
    return results


def _instance_name(instance: dict[str, Any]) -> str | None:
    return next(
        (text(t.get("Value")) for t in items_of(instance, "Tags") if t.get("Key") == "Name" and text(t.get("Value"))),
        None,
    )


def _instance_results(index: Index, region: str, max_resources: int) -> list[CheckResult]:
    account = index.account_id
    listing, instances = _instances(index, region)
    gate = listing_gate(("ESA.2",), account, region, listing, len(instances), "EC2 instances")
    if gate is not None:
        return gate
    results: list[CheckResult] = []
    for instance in capped(instances, max_resources):
        instance_id = instance["InstanceId"]
        subject = Subject(INSTANCE, instance_id, arn("ec2", region, account, f"instance/{instance_id}"), region)
        attribute = read(index, user_data_call(region, instance_id))
        if attribute.doc is None:
            results.append(subject.manual("ESA.2", attribute.missing or "", "the instance's user data"))
            continue
        encoded = text(obj(attribute.doc.get("UserData")).get("Value"))
        if not encoded:
            continue
        scan = find_in_user_data(encoded)
        name = _instance_name(instance)
        owner = f"instance {instance_id} ({name})" if name else f"instance {instance_id}"
        if scan.secrets:
            labels = [
                f"{s.where.removeprefix('user data ')} ({s.kind} in {s.name})"
                if s.name
                else f"{s.where.removeprefix('user data ')} ({s.kind})"
                for s in scan.secrets
            ]
            plural = "s" if len(scan.secrets) > 1 else ""
            results.append(
                subject.failed(
                    "ESA.2",
                    f"Secret{plural} in user data {_summary(labels)}; value{plural} withheld.",
                    locations=_locations(scan.secrets, owner),
                    count=len(scan.secrets),
                    not_scanned=scan.problems[:3],
                )
            )
        elif scan.problems:
            missing = f"ec2:DescribeInstanceAttribute returned {'; '.join(scan.problems[:3])}: review it by hand"
            results.append(subject.manual("ESA.2", missing, "the instance's user data"))
        else:
            results.append(subject.passed("ESA.2", "The instance's user data holds no secret.", count=0))
    if not results:
        results.append(not_applicable("ESA.2", account, region, "EC2 instances with user data"))
    return results
