"""Amazon S3: account-level and bucket-level Block Public Access, public buckets, TLS-only
policies and server access logging.

Calls (all global, `region=None`; the CLI follows S3's redirects to the bucket's region):

- `s3control get-public-access-block --account-id ID` (S3.1; NoSuchPublicAccessBlockConfiguration
  means none is set)
- `s3api list-buckets`, then per bucket: `get-bucket-acl`, `get-bucket-policy` (NoSuchBucketPolicy
  means no policy), `get-public-access-block`, `get-bucket-logging`, and `get-bucket-location` when
  the listing did not give `BucketRegion` (moto's does not; AWS's does).

Bucket results carry the bucket's region; S3.1 carries `global`.

Public access (S3.2 read, S3.3 write) follows how S3 itself decides: an ACL grant to AllUsers or
AuthenticatedUsers counts unless IgnorePublicAcls is on (bucket or account); a policy statement
allowing everyone without a restricting condition counts unless RestrictPublicBuckets is on
(bucket or account). BlockPublicAcls and BlockPublicPolicy only stop new grants, so they do not
neutralise existing ones.

S3.5 (requests must use SSL) passes only on a policy statement that denies plain HTTP to everyone,
for the bucket and all its objects: see `tls_gaps`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agent_config.checks.evidence import ApiCall, Evidence
from agent_config.checks.results import GLOBAL_REGION, UNKNOWN_REGION, CapReached, CheckResult
from agent_config.checks.services._common import (
    DEFAULT_MAX_RESOURCES,
    Index,
    Read,
    Subject,
    Tri,
    account_subject,
    cap_notice,
    capped,
    items_of,
    listing_gate,
    needed,
    obj,
    partition,
    read,
    text,
)
from agent_config.checks.services._policy import (
    Statement,
    bool_condition,
    is_public_statement,
    principal_is_everyone,
    resource_matches,
    statements,
)

SERVICE = "s3"
GLOBAL = True
CONTROL_IDS: tuple[str, ...] = ("S3.1", "S3.2", "S3.3", "S3.5", "S3.8", "S3.9")
BUCKET_CONTROLS: tuple[str, ...] = ("S3.2", "S3.3", "S3.5", "S3.8", "S3.9")

BUCKET = "AWS::S3::Bucket"
BPA_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
NO_BPA = "NoSuchPublicAccessBlockConfiguration"
NO_POLICY = "NoSuchBucketPolicy"

PUBLIC_GROUPS = {
    "http://acs.amazonaws.com/groups/global/AllUsers": "AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers": "AuthenticatedUsers",
}
ACL_READ = frozenset({"READ", "FULL_CONTROL"})
ACL_WRITE = frozenset({"WRITE", "WRITE_ACP", "FULL_CONTROL"})
# Concrete actions that stand for "read the data" and "change the data or its permissions".
READ_ACTIONS = ("s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "s3:ListBucketVersions")
WRITE_ACTIONS = (
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:PutObjectAcl",
    "s3:PutBucketPolicy",
    "s3:PutBucketAcl",
)


# ---------------------------------------------------------------------------------------------
# Calls
# ---------------------------------------------------------------------------------------------


def list_buckets_call() -> ApiCall:
    return ApiCall.of("s3api", "list-buckets")


def account_bpa_call(account_id: str) -> ApiCall:
    return ApiCall.of("s3control", "get-public-access-block", account_id=account_id)


def bucket_calls(name: str) -> dict[str, ApiCall]:
    return {
        operation: ApiCall.of("s3api", operation, bucket=name)
        for operation in (
            "get-bucket-acl",
            "get-bucket-policy",
            "get-public-access-block",
            "get-bucket-logging",
        )
    }


def location_call(name: str) -> ApiCall:
    return ApiCall.of("s3api", "get-bucket-location", bucket=name)


def _buckets(index: Index) -> tuple[Read, list[dict[str, Any]]]:
    listing = read(index, list_buckets_call())
    named = [b for b in items_of(listing.doc, "Buckets") if isinstance(b.get("Name"), str)]
    return listing, named


def plan(region: str, evidence: Evidence, max_resources: int = DEFAULT_MAX_RESOURCES) -> list[ApiCall]:
    """Account BPA and the bucket list first; then four reads (five without BucketRegion) per bucket."""
    index = Index(evidence)
    calls = [account_bpa_call(evidence.account_id), list_buckets_call()]
    _, buckets = _buckets(index)
    for bucket in capped(buckets, max_resources):
        calls.extend(bucket_calls(bucket["Name"]).values())
        if not bucket.get("BucketRegion"):
            calls.append(location_call(bucket["Name"]))
    return needed(index, calls)


def cap_reached(region: str, evidence: Evidence, max_resources: int = DEFAULT_MAX_RESOURCES) -> list[CapReached]:
    _, buckets = _buckets(Index(evidence))
    return cap_notice(SERVICE, GLOBAL_REGION, BUCKET, len(buckets), max_resources)


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
    """S3.1 for the account, then S3.2/3/5/8/9 for each bucket (NOT_APPLICABLE when there are none)."""
    index = Index(evidence)
    account = evidence.account_id
    account_bpa = read(index, account_bpa_call(account), absent_codes={NO_BPA})
    results = [_s3_1(account, account_bpa)]

    listing, buckets = _buckets(index)
    gate = listing_gate(BUCKET_CONTROLS, account, GLOBAL_REGION, listing, len(buckets), "S3 buckets")
    if gate is not None:
        return results + gate
    for bucket in capped(buckets, max_resources):
        results.extend(_bucket_results(index, bucket, account_bpa, partition(region)))
    return results


def _bpa_flags(bpa: Read) -> dict[str, bool] | None:
    """The four flags (all False when no configuration exists), or None when unreadable."""
    if bpa.absent:
        return dict.fromkeys(BPA_FLAGS, False)
    if bpa.doc is None:
        return None
    config = obj(bpa.doc.get("PublicAccessBlockConfiguration"))
    return {flag: config.get(flag) is True for flag in BPA_FLAGS}


def _s3_1(account: str, bpa: Read) -> CheckResult:
    subject = account_subject(account, GLOBAL_REGION)
    flags = _bpa_flags(bpa)
    if flags is None:
        return subject.manual("S3.1", bpa.missing or "", "account-level Block Public Access")
    off = [flag for flag, on in flags.items() if not on]
    if bpa.absent:
        return subject.failed("S3.1", "No account-level S3 Block Public Access configuration is set.", **flags)
    return subject.verdict(
        "S3.1",
        not off,
        "All four account-level S3 Block Public Access settings are on.",
        f"Account-level S3 Block Public Access has {', '.join(off)} off.",
        **flags,
    )


def _bucket_region(index: Index, bucket: dict[str, Any]) -> str:
    if isinstance(bucket.get("BucketRegion"), str) and bucket["BucketRegion"]:
        return str(bucket["BucketRegion"])
    location = read(index, location_call(bucket["Name"]))
    if location.doc is None:
        return UNKNOWN_REGION
    constraint = location.doc.get("LocationConstraint")
    if not constraint:
        return "us-east-1"  # S3 reports the original region as an empty constraint
    if constraint == "EU":
        return "eu-west-1"
    return str(constraint)


@dataclass(frozen=True)
class Exposure:
    """What decides whether a bucket is public: its ACL, its policy, and the two Block Public Access
    settings (bucket or account level) that neutralise them."""

    acl: Read
    policy: Read
    statements: list[Statement]
    ignore_public_acls: Tri
    restrict_public_buckets: Tri


def _flag(flags: dict[str, bool] | None, source: Read, flag: str) -> Tri:
    if flags is None:
        return Tri.unknown(source.missing or "")
    return Tri.known(flags[flag])


def _bucket_results(index: Index, bucket: dict[str, Any], account_bpa: Read, part: str) -> list[CheckResult]:
    name = bucket["Name"]
    calls = bucket_calls(name)
    subject = Subject(BUCKET, name, f"arn:{part}:s3:::{name}", _bucket_region(index, bucket))
    policy = read(index, calls["get-bucket-policy"], absent_codes={NO_POLICY})
    bpa = read(index, calls["get-public-access-block"], absent_codes={NO_BPA})
    bucket_flags, account_flags = _bpa_flags(bpa), _bpa_flags(account_bpa)
    exposure = Exposure(
        acl=read(index, calls["get-bucket-acl"]),
        policy=policy,
        statements=statements(policy.doc.get("Policy")) if policy.doc else [],
        ignore_public_acls=_flag(bucket_flags, bpa, "IgnorePublicAcls").or_(
            _flag(account_flags, account_bpa, "IgnorePublicAcls")
        ),
        restrict_public_buckets=_flag(bucket_flags, bpa, "RestrictPublicBuckets").or_(
            _flag(account_flags, account_bpa, "RestrictPublicBuckets")
        ),
    )
    return [
        _public("S3.2", "read", subject, exposure),
        _public("S3.3", "write", subject, exposure),
        _s3_5(subject, policy, exposure.statements),
        _s3_8(subject, bpa, bucket_flags),
        _s3_9(subject, read(index, calls["get-bucket-logging"])),
    ]


def _public_grants(acl: Read, permissions: frozenset[str]) -> list[str]:
    grants: list[str] = []
    for grant in items_of(acl.doc, "Grants"):
        grantee = obj(grant.get("Grantee"))
        group = PUBLIC_GROUPS.get(str(grantee.get("URI", "")))
        if group and text(grant.get("Permission")) in permissions:
            grants.append(f"{group}:{grant.get('Permission')}")
    return grants


def _public(control: str, mode: str, subject: Subject, exposure: Exposure) -> CheckResult:
    """S3.2 (mode 'read') or S3.3 (mode 'write'): public through the ACL or the policy, not neutralised."""
    acl, policy = exposure.acl, exposure.policy
    grants = _public_grants(acl, ACL_READ if mode == "read" else ACL_WRITE)
    actions = READ_ACTIONS if mode == "read" else WRITE_ACTIONS
    sids = [s.label for s in exposure.statements if is_public_statement(s) and any(s.covers_action(a) for a in actions)]
    acl_public = Tri.known(bool(grants)) if acl.ok else Tri.unknown(acl.missing or "")
    policy_readable = policy.absent or policy.ok
    policy_public = Tri.known(bool(sids)) if policy_readable else Tri.unknown(policy.missing or "")
    through_acl = acl_public.and_(exposure.ignore_public_acls.negate())
    through_policy = policy_public.and_(exposure.restrict_public_buckets.negate())
    public = through_acl.or_(through_policy)

    evidence: dict[str, Any] = {
        "public_acl_grants": grants,
        "public_policy_statements": sids[:10],
        "ignore_public_acls": exposure.ignore_public_acls.value,
        "restrict_public_buckets": exposure.restrict_public_buckets.value,
    }
    if public.value is None:
        return subject.manual(control, public.missing, f"public {mode} access")
    if public.value:
        routes = []
        if through_acl.value:
            routes.append(f"its ACL grants {', '.join(grants)}")
        if through_policy.value:
            routes.append(f"its policy allows everyone ({', '.join(sids[:3])})")
        return subject.failed(control, f"Bucket allows public {mode} access: {' and '.join(routes)}.", **evidence)
    if grants or sids or not acl.ok or not policy_readable:
        return subject.passed(
            control,
            f"Block Public Access (IgnorePublicAcls, RestrictPublicBuckets) neutralises any public {mode} "
            "grant in the ACL or the policy.",
            **evidence,
        )
    return subject.passed(control, f"Neither the ACL nor the policy grants public {mode} access.", **evidence)


SECURE_TRANSPORT = "aws:SecureTransport"
TLS_ACTIONS = ("s3:GetObject", "s3:PutObject")
_SAMPLE_OBJECT = "any/object.key"


def tls_gaps(statement: Statement, bucket_arn: str) -> list[str] | None:
    """What keeps `statement` from requiring TLS on the bucket: None when it is no Deny on
    aws:SecureTransport false at all, an empty list when it requires TLS for every request.

    Why each part (the compliant policy of AWS's own guidance for S3.5 and its Config rule
    s3-bucket-ssl-requests-only: Effect Deny, Principal "*", Action s3:*, Resource the bucket and
    bucket/*, Condition Bool aws:SecureTransport false,
    https://repost.aws/knowledge-center/s3-bucket-policy-for-config-rule, and
    https://docs.aws.amazon.com/securityhub/latest/userguide/s3-controls.html#s3-5):

    - Principal `"*"` (or `{"AWS": "*"}`): a Deny naming one role leaves plain HTTP open to every
      other caller, anonymous ones included;
    - the actions must cover at least s3:GetObject and s3:PutObject (s3:* does): reading and writing
      the data is what HTTP exposes;
    - the resources must cover the bucket ARN and every object (`arn:...:bucket/*`); a Deny on a
      prefix or on the bucket alone leaves the other objects reachable over HTTP (a `NotResource`
      statement is not credited: this reads `Resource` only);
    - no other condition key: IAM ANDs conditions, so a second key narrows the Deny to the requests
      that also match it (an `s3:TlsVersion` test is false on plain HTTP, where the key is absent).
    """
    if not statement.denies or "false" not in bool_condition(statement.condition, SECURE_TRANSPORT):
        return None
    gaps: list[str] = []
    if not principal_is_everyone(statement.principal):
        gaps.append("it applies to named principals only, not to '*'")
    if not all(statement.covers_action(action) for action in TLS_ACTIONS):
        gaps.append("its actions do not cover s3:GetObject and s3:PutObject")
    objects = (f"{bucket_arn}/*", f"{bucket_arn}/{_SAMPLE_OBJECT}")
    if not any(resource_matches(pattern, bucket_arn) for pattern in statement.resources):
        gaps.append(f"its resources do not include {bucket_arn}")
    if not any(all(resource_matches(pattern, arn) for arn in objects) for pattern in statement.resources):
        gaps.append(f"its resources do not include every object ({bucket_arn}/*)")
    others = sorted(
        {
            str(key)
            for clauses in statement.condition.values()
            if isinstance(clauses, dict)
            for key in clauses
            if str(key).lower() != SECURE_TRANSPORT.lower()
        }
    )
    if others:
        gaps.append(f"it also requires {', '.join(others)}, so it does not deny every HTTP request")
    return gaps


def _s3_5(subject: Subject, policy: Read, policy_statements: list[Statement]) -> CheckResult:
    if policy.absent:
        return subject.failed("S3.5", "Bucket has no policy, so requests over plain HTTP are not denied.")
    if policy.doc is None:
        return subject.manual("S3.5", policy.missing or "", "the bucket policy")
    bucket_arn = subject.resource_arn or f"arn:aws:s3:::{subject.resource_id}"
    denying: list[str] = []
    short: list[str] = []
    for statement in policy_statements:
        gaps = tls_gaps(statement, bucket_arn)
        if gaps is None:
            continue
        if gaps:
            short.append(f"{statement.label[:60]} ({'; '.join(gaps)})"[:300])
        else:
            denying.append(statement.label)
    if denying:
        return subject.passed(
            "S3.5",
            "Bucket policy denies every request where aws:SecureTransport is false, to everyone, on the "
            "bucket and all its objects.",
            deny_statements=denying[:5],
        )
    if short:
        return subject.failed(
            "S3.5",
            f"Bucket policy's Deny on aws:SecureTransport false does not cover every request: {' / '.join(short[:3])}.",
            partial_deny_statements=short[:5],
        )
    return subject.failed("S3.5", "Bucket policy has no Deny statement for aws:SecureTransport false.")


def _s3_8(subject: Subject, bpa: Read, flags: dict[str, bool] | None) -> CheckResult:
    if flags is None:
        return subject.manual("S3.8", bpa.missing or "", "bucket-level Block Public Access")
    if bpa.absent:
        return subject.failed("S3.8", "Bucket has no Block Public Access configuration.", **flags)
    off = [flag for flag, on in flags.items() if not on]
    return subject.verdict(
        "S3.8",
        not off,
        "All four bucket-level Block Public Access settings are on.",
        f"Bucket-level Block Public Access has {', '.join(off)} off.",
        **flags,
    )


def _s3_9(subject: Subject, logging: Read) -> CheckResult:
    if logging.doc is None:
        return subject.manual("S3.9", logging.missing or "", "server access logging")
    enabled = obj(logging.doc.get("LoggingEnabled"))
    target = enabled.get("TargetBucket") if isinstance(enabled, dict) else None
    return subject.verdict(
        "S3.9",
        bool(target),
        f"Server access logging delivers to bucket {target}.",
        "Server access logging is off.",
        target_bucket=target,
    )
