"""Reading IAM policy documents: statements, actions, principals and conditions.

Policies reach the evaluators in several forms (a JSON string in `get-bucket-policy` and
`lambda get-policy`, a decoded object in `iam get-policy-version`, sometimes URL-encoded from raw
IAM responses), with IAM's "one or many" fields. These helpers normalise them once so the S3, IAM
and Lambda evaluators reason about the same shapes.

"Public" follows IAM Access Analyzer's idea: a statement is public when it allows everyone
(`"*"` or `{"AWS": "*"}`) and no condition pins the caller to known accounts, organisations,
networks or source resources. Only a condition that *requires* a fixed value pins the caller: S3
calls a policy non-public only when it grants to "a fixed aws:SourceArn, aws:SourceVpc,
aws:SourceAccount..." or a set of CIDRs
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html#access-control-block-public-access-policy-status),
and Lambda.1 passes only conditions with fixed values
(https://docs.aws.amazon.com/securityhub/latest/userguide/lambda-controls.html#lambda-1). So a
negated operator (`StringNotEquals`, `ArnNotLike`, `NotIpAddress`...) restricts nobody: it admits
every caller but the ones listed, and a caller whose request lacks the key at all. See
`restricting_keys` for `...IfExists` and the `ForAllValues`/`ForAnyValue` qualifiers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from agent_config.checks.services._common import as_list

# Condition keys (lower case: IAM compares keys case-insensitively) that restrict who can use a
# statement to known parties. A statement carrying one of them with a concrete value is not public.
RESTRICTING_CONDITION_KEYS = frozenset(
    {
        "aws:sourceaccount",
        "aws:sourcearn",
        "aws:sourceowner",
        "aws:sourceorgid",
        "aws:sourceorgpaths",
        "aws:sourceip",
        "aws:sourcevpc",
        "aws:sourcevpce",
        "aws:principalaccount",
        "aws:principalarn",
        "aws:principalorgid",
        "aws:principalorgpaths",
        "aws:userid",
        "aws:username",
        "s3:dataaccesspointaccount",
        "s3:dataaccesspointarn",
    }
)
_OPEN_VALUES = frozenset({"0.0.0.0/0", "::/0"})
# Operators that match only when the request carries the key with one of the listed values (lower
# case, without qualifier or IfExists). Every other operator (the negated ones, Null, Bool, numeric
# and date comparisons) cannot pin a caller to known parties.
_REQUIRING_OPERATORS = frozenset(
    {"stringequals", "stringequalsignorecase", "stringlike", "arnequals", "arnlike", "ipaddress"}
)
_IF_EXISTS = "ifexists"


@dataclass(frozen=True)
class Statement:
    """One statement, with IAM's "one or many" fields made lists."""

    effect: str
    actions: tuple[str, ...]
    not_actions: tuple[str, ...]
    resources: tuple[str, ...]
    principal: Any
    condition: dict[str, Any]
    sid: str

    @property
    def allows(self) -> bool:
        return self.effect.lower() == "allow"

    @property
    def denies(self) -> bool:
        return self.effect.lower() == "deny"

    def covers_action(self, action: str) -> bool:
        """Whether the statement applies to `action` (wildcards in the policy honoured)."""
        if self.not_actions:
            return not any(action_matches(pattern, action) for pattern in self.not_actions)
        return any(action_matches(pattern, action) for pattern in self.actions)

    @property
    def label(self) -> str:
        return self.sid or "(no Sid)"


def parse_document(document: Any) -> dict[str, Any] | None:
    """A policy document from a JSON string, a URL-encoded JSON string, or an object; None if unreadable."""
    if isinstance(document, dict):
        return document
    if not isinstance(document, str) or not document.strip():
        return None
    text = document.strip()
    if not text.startswith("{"):
        text = unquote(text)
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        return None
    return parsed if isinstance(parsed, dict) else None


def statements(document: Any) -> list[Statement]:
    parsed = parse_document(document)
    if parsed is None:
        return []
    result: list[Statement] = []
    for raw in as_list(parsed.get("Statement")):
        if not isinstance(raw, dict):
            continue
        condition = raw.get("Condition")
        result.append(
            Statement(
                effect=str(raw.get("Effect", "")),
                actions=tuple(str(a) for a in as_list(raw.get("Action"))),
                not_actions=tuple(str(a) for a in as_list(raw.get("NotAction"))),
                resources=tuple(str(r) for r in as_list(raw.get("Resource"))),
                principal=raw.get("Principal"),
                condition=condition if isinstance(condition, dict) else {},
                sid=str(raw.get("Sid", "")),
            )
        )
    return result


def action_matches(pattern: str, action: str) -> bool:
    """IAM action matching: case-insensitive, `*` and `?` wildcards."""
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, action, flags=re.IGNORECASE) is not None


def resource_matches(pattern: str, arn: str) -> bool:
    """IAM resource matching: case-sensitive (ARNs are), `*` and `?` wildcards."""
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, arn) is not None


def principal_is_everyone(principal: Any) -> bool:
    """`"*"`, `{"AWS": "*"}` or a list of AWS principals containing `"*"`."""
    if principal == "*":
        return True
    if isinstance(principal, dict):
        return "*" in [str(p) for p in as_list(principal.get("AWS"))]
    return False


def service_principals(principal: Any) -> list[str]:
    if isinstance(principal, dict):
        return [str(p) for p in as_list(principal.get("Service"))]
    return []


def restricting_keys(condition: dict[str, Any], keys: Iterable[str] = RESTRICTING_CONDITION_KEYS) -> list[str]:
    """The condition keys (of `keys`) that pin the caller to concrete values.

    A key pins the caller only under an operator that requires a match with a fixed value, since a
    missing key never matches one (IAM: "If the key that you specify in a policy condition is not
    present in the request context, the values do not match", and the negated operators are then
    *true*: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html):

    - `StringEquals`, `StringEqualsIgnoreCase`, `StringLike`, `ArnEquals`, `ArnLike`, `IpAddress`
      restrict, with or without `ForAnyValue:` (false when the key is absent);
    - their negations (`StringNotEquals`, `StringNotLike`, `ArnNotEquals`, `ArnNotLike`,
      `NotIpAddress`) never restrict: everyone outside the listed values gets in;
    - `...IfExists` never restricts: the condition is true when the key is absent, and an anonymous
      caller has no aws:PrincipalOrgID, aws:PrincipalAccount or aws:SourceAccount at all;
    - `ForAllValues:` never restricts: it "also returns true if there are no context keys in the
      request" (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html);
    - a value made only of wildcards (`*`) or an open CIDR (`0.0.0.0/0`) is not a concrete value.
    """
    wanted = {key.lower() for key in keys}
    found: list[str] = []
    for operator, clauses in condition.items():
        if not isinstance(clauses, dict) or not requires_a_match(str(operator)):
            continue
        for key, values in clauses.items():
            if str(key).lower() not in wanted:
                continue
            concrete = [str(v) for v in as_list(values) if _is_concrete(str(v))]
            if concrete:
                found.append(str(key))
    return found


def requires_a_match(operator: str) -> bool:
    """Whether `operator` holds only for a request carrying the key with one of the listed values."""
    qualifier, _, name = operator.strip().lower().rpartition(":")
    if qualifier not in ("", "foranyvalue") or name.endswith(_IF_EXISTS):
        return False
    return name in _REQUIRING_OPERATORS


def _is_concrete(value: str) -> bool:
    text = value.strip()
    return bool(text.strip("*?")) and text not in _OPEN_VALUES


def is_public_statement(statement: Statement) -> bool:
    """Allows everyone, with no condition that restricts the caller."""
    return statement.allows and principal_is_everyone(statement.principal) and not restricting_keys(statement.condition)


def bool_condition(condition: dict[str, Any], key: str) -> list[str]:
    """The values a `Bool` condition tests `key` against (lower-cased strings).

    `BoolIfExists` counts too: it differs from `Bool` only when the key is absent, and the keys this
    is asked about (aws:SecureTransport) are in every request.
    """
    values: list[str] = []
    for operator, clauses in condition.items():
        if str(operator).lower() not in {"bool", "boolifexists", "forallvalues:bool", "foranyvalue:bool"}:
            continue
        if not isinstance(clauses, dict):
            continue
        for name, value in clauses.items():
            if str(name).lower() == key.lower():
                values.extend(str(v).lower() for v in as_list(value))
    return values
