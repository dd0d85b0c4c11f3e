"""S3: the account-level Block Public Access switch and the buckets of both regions.

TerraGoat, CfnGoat and sadcloud all start here: a static site left on a public-read ACL, a
"temporary" bucket policy letting anyone upload, a press bucket readable by the world, a data lake
that accepts plain HTTP. The twins do the same jobs safely: CloudFront origin access instead of a
public ACL, a named partner account instead of `*`, an organisation condition instead of the
world, a deny on `aws:SecureTransport = false`.

Every bucket gets default encryption (SSE-S3 or SSE-KMS), as every S3 bucket has since January
2023, so S3.4 (retired by AWS) is not planted: it could not fail in a real account any more.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agent_config.sandbox.sample_account._context import (
    DATA,
    LEGACY,
    MARKETING,
    ORGANIZATION_ID,
    PARTNER_ACCOUNT_ID,
    PAYMENTS,
    SECURITY,
    WEB,
    SeedContext,
    Team,
    policy_document,
)
from agent_config.sandbox.sample_account.manifest import GLOBAL_REGION

BUCKET = "AWS::S3::Bucket"
ACCOUNT = "AWS::::Account"

Statement = Callable[[str], dict[str, Any]]
"""Builds one bucket-policy statement from the bucket's ARN."""

_ALL_BLOCKED = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}


def tls_only(arn: str) -> dict[str, Any]:
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [arn, f"{arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def _public_read(arn: str) -> dict[str, Any]:
    return {
        "Sid": "PublicRead",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"{arn}/*",
    }


def _public_upload(arn: str) -> dict[str, Any]:
    return {
        "Sid": "AnyoneCanDropFiles",
        "Effect": "Allow",
        "Principal": "*",
        "Action": ["s3:PutObject", "s3:PutObjectAcl"],
        "Resource": f"{arn}/*",
    }


def _partner_upload(arn: str) -> dict[str, Any]:
    return {
        "Sid": "PartnerDropsFiles",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{PARTNER_ACCOUNT_ID}:root"},
        "Action": "s3:PutObject",
        "Resource": f"{arn}/incoming/*",
    }


def _organisation_read(arn: str) -> dict[str, Any]:
    return {
        "Sid": "OrganisationRead",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"{arn}/*",
        "Condition": {"StringEquals": {"aws:PrincipalOrgID": ORGANIZATION_ID}},
    }


def _cloudfront_read(account_id: str) -> Statement:
    def statement(arn: str) -> dict[str, Any]:
        return {
            "Sid": "CloudFrontOriginAccess",
            "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": "s3:GetObject",
            "Resource": f"{arn}/*",
            "Condition": {
                "StringEquals": {"AWS:SourceArn": f"arn:aws:cloudfront::{account_id}:distribution/E2ACMESTATIC01"}
            },
        }

    return statement


def service_write(service: str, account_id: str, prefix: str) -> Statement:
    """Let an AWS service (CloudTrail, Config) deliver into `prefix` for this account only."""
    sid = "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]", prefix)) + "Delivery"

    def statement(arn: str) -> dict[str, Any]:
        return {
            "Sid": sid,
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "s3:PutObject",
            "Resource": f"{arn}/{prefix}/AWSLogs/{account_id}/*",
            "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
        }

    return statement


@dataclass(frozen=True)
class BucketSpec:
    """How one bucket is set up; the defaults are the company's hardened standard."""

    name: str
    team: Team
    statements: tuple[Statement, ...] = ()
    canned_acl: str | None = None
    block_public_access: bool = True
    kms_key_arn: str | None = None
    versioning: bool = True
    access_logging: bool = True
    extra_tags: dict[str, str] = field(default_factory=dict)


def access_log_bucket(region: str) -> str:
    return f"acme-access-logs-{region}"


def create_access_log_bucket(ctx: SeedContext, region: str) -> None:
    """The region's server-access-log bucket (S3.9 on every other bucket points here). Like most log
    buckets it does not log itself, so it fails S3.9; it is neither planted nor a twin."""
    create_bucket(
        ctx,
        region,
        BucketSpec(access_log_bucket(region), SECURITY, canned_acl="log-delivery-write", access_logging=False),
    )


def create_bucket(ctx: SeedContext, region: str, spec: BucketSpec) -> str:
    """Create and configure a bucket as `spec` says; return its ARN.

    The policy is put before Block Public Access is turned on, the order in which a real account
    would have to do it for a policy that BPA would refuse.
    """
    s3 = ctx.client("s3", region)
    create: dict[str, Any] = {"Bucket": spec.name}
    if region != "us-east-1":
        create["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**create)
    arn = f"arn:aws:s3:::{spec.name}"
    tags = spec.team.tags() + [{"Key": k, "Value": v} for k, v in spec.extra_tags.items()]
    s3.put_bucket_tagging(Bucket=spec.name, Tagging={"TagSet": tags})
    if spec.kms_key_arn:
        default: dict[str, Any] = {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": spec.kms_key_arn}
    else:
        default = {"SSEAlgorithm": "AES256"}
    s3.put_bucket_encryption(
        Bucket=spec.name,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": default, "BucketKeyEnabled": bool(spec.kms_key_arn)}]
        },
    )
    if spec.versioning:
        s3.put_bucket_versioning(Bucket=spec.name, VersioningConfiguration={"Status": "Enabled"})
    if spec.canned_acl:
        s3.put_bucket_acl(Bucket=spec.name, ACL=spec.canned_acl)
    if spec.statements:
        s3.put_bucket_policy(
            Bucket=spec.name, Policy=policy_document(*(statement(arn) for statement in spec.statements))
        )
    if spec.block_public_access:
        s3.put_public_access_block(Bucket=spec.name, PublicAccessBlockConfiguration=_ALL_BLOCKED)
    if spec.access_logging:
        s3.put_bucket_logging(
            Bucket=spec.name,
            BucketLoggingStatus={
                "LoggingEnabled": {"TargetBucket": access_log_bucket(region), "TargetPrefix": f"{spec.name}/"}
            },
        )
    return arn


def seed_account_public_access(ctx: SeedContext) -> None:
    """Switch account-level Block Public Access off, as an account hosting a public site does."""
    ctx.client("s3control", ctx.primary).put_public_access_block(
        AccountId=ctx.account_id,
        PublicAccessBlockConfiguration={key: False for key in _ALL_BLOCKED},
    )
    ctx.fail(
        "S3.1",
        ACCOUNT,
        "s3-account-public-access-block",
        ctx.account_id,
        GLOBAL_REGION,
        "Account-level S3 Block Public Access explicitly set with all four settings off.",
        no_twin_reason="Account-level Block Public Access is one setting for the whole account and "
        "every region, so a blocked twin cannot coexist with it.",
    )


def seed_primary_buckets(ctx: SeedContext, payments_key_arn: str) -> None:
    region = ctx.primary
    acct = ctx.account_id
    create_access_log_bucket(ctx, region)

    uploads = create_bucket(
        ctx,
        region,
        BucketSpec("acme-prod-customer-uploads", WEB, statements=(tls_only,), block_public_access=False),
    )
    invoices = create_bucket(
        ctx,
        region,
        BucketSpec("acme-prod-invoices", PAYMENTS, statements=(tls_only,), kms_key_arn=payments_key_arn),
    )
    no_bpa = ctx.fail(
        "S3.8",
        BUCKET,
        "acme-prod-customer-uploads",
        "acme-prod-customer-uploads",
        region,
        "Private today, but with no bucket-level Block Public Access (and none at account level) one "
        "policy or ACL change makes it public.",
        arn=uploads,
    )
    ctx.twin(
        no_bpa,
        "acme-prod-invoices",
        "acme-prod-invoices",
        "All four bucket-level Block Public Access settings on.",
        arn=invoices,
    )

    legacy_site = create_bucket(
        ctx,
        region,
        BucketSpec(
            "acme-legacy-static-site",
            LEGACY,
            canned_acl="public-read",
            block_public_access=False,
            versioning=False,
            extra_tags={"Website": "www-old.acme-corp.example"},
        ),
    )
    static_site = create_bucket(
        ctx,
        region,
        BucketSpec(
            "acme-static-site",
            MARKETING,
            statements=(_cloudfront_read(acct), tls_only),
            extra_tags={"Website": "www.acme-corp.example"},
        ),
    )
    public_acl = ctx.fail(
        "S3.2",
        BUCKET,
        "acme-legacy-static-site",
        "acme-legacy-static-site",
        region,
        "Old website bucket with the canned ACL public-read (AllUsers READ).",
        arn=legacy_site,
    )
    ctx.twin(
        public_acl,
        "acme-static-site",
        "acme-static-site",
        "Website served through CloudFront origin access control: the only reader is the "
        "cloudfront.amazonaws.com service for one distribution; private ACL; BPA on.",
        arn=static_site,
    )

    dropbox = create_bucket(
        ctx,
        region,
        BucketSpec("acme-partner-dropbox", LEGACY, statements=(_public_upload,), block_public_access=False),
    )
    exchange = create_bucket(
        ctx,
        region,
        BucketSpec("acme-partner-exchange", PAYMENTS, statements=(_partner_upload, tls_only)),
    )
    public_write = ctx.fail(
        "S3.3",
        BUCKET,
        "acme-partner-dropbox",
        "acme-partner-dropbox",
        region,
        "Bucket policy lets Principal '*' call s3:PutObject: anyone on the internet can upload.",
        arn=dropbox,
    )
    ctx.twin(
        public_write,
        "acme-partner-exchange",
        "acme-partner-exchange",
        f"Uploads allowed only for the partner account {PARTNER_ACCOUNT_ID}, under incoming/.",
        arn=exchange,
    )


def seed_secondary_buckets(ctx: SeedContext, data_key_arn: str) -> None:
    create_access_log_bucket(ctx, ctx.secondary)
    region = ctx.secondary

    raw = create_bucket(ctx, region, BucketSpec("acme-analytics-raw", DATA, kms_key_arn=data_key_arn))
    curated = create_bucket(
        ctx,
        region,
        BucketSpec("acme-analytics-curated", DATA, statements=(tls_only,), kms_key_arn=data_key_arn),
    )
    plain_http = ctx.fail(
        "S3.5",
        BUCKET,
        "acme-analytics-raw",
        "acme-analytics-raw",
        region,
        "No bucket policy denying requests without TLS (aws:SecureTransport false).",
        arn=raw,
    )
    ctx.twin(
        plain_http,
        "acme-analytics-curated",
        "acme-analytics-curated",
        "Bucket policy denies every request made without TLS.",
        arn=curated,
    )

    public_data = create_bucket(
        ctx,
        region,
        BucketSpec("acme-public-datasets", DATA, statements=(_public_read,), block_public_access=False),
    )
    partner_data = create_bucket(
        ctx,
        region,
        BucketSpec("acme-partner-datasets", DATA, statements=(_organisation_read, tls_only)),
    )
    public_policy = ctx.fail(
        "S3.2",
        BUCKET,
        "acme-public-datasets",
        "acme-public-datasets",
        region,
        "Bucket policy lets Principal '*' call s3:GetObject with no condition: world-readable.",
        arn=public_data,
    )
    ctx.twin(
        public_policy,
        "acme-partner-datasets",
        "acme-partner-datasets",
        f"Principal '*' but conditioned on aws:PrincipalOrgID {ORGANIZATION_ID}: readable only inside "
        "the organisation, which AWS does not count as public.",
        arn=partner_data,
    )
