"""Logging and detection: CloudTrail, GuardDuty and AWS Config.

These are per-region (or per-account) switches, so their twins live in the other region: GuardDuty
is off in the primary region and on in the secondary; AWS Config records in the primary region,
while in the secondary a recorder exists but was never started (existing is not recording). The
only trails are two single-region trails in the secondary region, one without log file
validation or KMS and its hardened twin, so the account has no multi-Region trail at all.
"""

from __future__ import annotations

from agent_config.sandbox.sample_account._context import DATA, SECURITY, SeedContext
from agent_config.sandbox.sample_account.data import SecondaryKeys
from agent_config.sandbox.sample_account.identity import Identity
from agent_config.sandbox.sample_account.manifest import GLOBAL_REGION
from agent_config.sandbox.sample_account.storage import BucketSpec, create_bucket, service_write, tls_only

ACCOUNT = "AWS::::Account"
TRAIL = "AWS::CloudTrail::Trail"

TRAIL_BUCKET = "acme-data-cloudtrail-logs"
CONFIG_BUCKET = "acme-config-history"


def seed_detection(ctx: SeedContext, identity: Identity, secondary_keys: SecondaryKeys) -> None:
    _seed_trails(ctx, secondary_keys)
    _seed_guardduty(ctx)
    _seed_config(ctx, identity)


def _seed_trails(ctx: SeedContext, keys: SecondaryKeys) -> None:
    region = ctx.secondary
    create_bucket(
        ctx,
        region,
        BucketSpec(
            TRAIL_BUCKET,
            SECURITY,
            statements=(
                service_write("cloudtrail.amazonaws.com", ctx.account_id, "app"),
                service_write("cloudtrail.amazonaws.com", ctx.account_id, "security"),
                tls_only,
            ),
            kms_key_arn=keys.data.arn,
        ),
    )
    cloudtrail = ctx.client("cloudtrail", region)
    plain = cloudtrail.create_trail(
        Name="acme-data-app-trail",
        S3BucketName=TRAIL_BUCKET,
        S3KeyPrefix="app",
        IsMultiRegionTrail=False,
        EnableLogFileValidation=False,
        TagsList=DATA.tags(),
    )["TrailARN"]
    hardened = cloudtrail.create_trail(
        Name="acme-data-security-trail",
        S3BucketName=TRAIL_BUCKET,
        S3KeyPrefix="security",
        IsMultiRegionTrail=False,
        EnableLogFileValidation=True,
        KmsKeyId=keys.data.arn,
        TagsList=SECURITY.tags(),
    )["TrailARN"]
    for trail in (plain, hardened):
        cloudtrail.start_logging(Name=trail)

    ctx.fail(
        "CloudTrail.1",
        ACCOUNT,
        "cloudtrail-multi-region",
        ctx.account_id,
        GLOBAL_REGION,
        "No multi-Region trail: only two single-Region trails in the data platform's region, so "
        "management events elsewhere (the primary region included) are not recorded.",
        no_twin_reason="A multi-Region trail, the fix, covers every region of the account at once, so "
        "a passing twin cannot coexist with this failure.",
    )
    unencrypted = ctx.fail(
        "CloudTrail.2",
        TRAIL,
        "acme-data-app-trail",
        plain,
        region,
        "Trail logs are not encrypted with a KMS key (SSE-S3 only).",
        arn=plain,
    )
    ctx.twin(
        unencrypted,
        "acme-data-security-trail",
        hardened,
        "Trail logs encrypted with the acme-data KMS key.",
        arn=hardened,
    )
    unvalidated = ctx.fail(
        "CloudTrail.4",
        TRAIL,
        "acme-data-app-trail",
        plain,
        region,
        "Log file validation off: tampered or deleted log files go unnoticed.",
        arn=plain,
    )
    ctx.twin(unvalidated, "acme-data-security-trail", hardened, "Log file validation on.", arn=hardened)


def _seed_guardduty(ctx: SeedContext) -> None:
    detector = ctx.client("guardduty", ctx.secondary).create_detector(
        Enable=True,
        FindingPublishingFrequency="FIFTEEN_MINUTES",
        DataSources={"S3Logs": {"Enable": True}},
        Tags=SECURITY.tag_map(),
    )["DetectorId"]
    off = ctx.fail(
        "GuardDuty.1",
        ACCOUNT,
        "guardduty",
        ctx.account_id,
        ctx.primary,
        "No GuardDuty detector in the primary region, where the web shop and payments run.",
    )
    ctx.twin(
        off,
        "guardduty",
        ctx.account_id,
        "GuardDuty detector enabled (S3 protection on), findings published every 15 minutes.",
        region=ctx.secondary,
        arn=ctx.arn("guardduty", ctx.secondary, f"detector/{detector}"),
    )


def _recorder(ctx: SeedContext, region: str, role_arn: str) -> None:
    config = ctx.client("config", region)
    config.put_configuration_recorder(
        ConfigurationRecorder={
            "name": "default",
            "roleARN": role_arn,
            "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": region == ctx.primary},
        }
    )
    config.put_delivery_channel(
        DeliveryChannel={"name": "default", "s3BucketName": CONFIG_BUCKET, "s3KeyPrefix": region}
    )


def _seed_config(ctx: SeedContext, identity: Identity) -> None:
    create_bucket(
        ctx,
        ctx.primary,
        BucketSpec(
            CONFIG_BUCKET,
            SECURITY,
            statements=(
                *(service_write("config.amazonaws.com", ctx.account_id, r) for r in (ctx.primary, ctx.secondary)),
                tls_only,
            ),
        ),
    )
    # Config.1 asks for the service-linked role, not a customer role such as identity.config_role_arn:
    # a twin recording with another role would fail it. moto names the role it creates for
    # config.amazonaws.com "AWSServiceRoleForconfig", so the recorder names AWS's ARN directly.
    service_linked = f"arn:aws:iam::{ctx.account_id}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"
    for region in (ctx.primary, ctx.secondary):
        _recorder(ctx, region, service_linked)
    # Only the primary region's recorder is started.
    ctx.client("config", ctx.primary).start_configuration_recorder(ConfigurationRecorderName="default")
    stopped = ctx.fail(
        "Config.1",
        ACCOUNT,
        "config-recorder",
        ctx.account_id,
        ctx.secondary,
        "A configuration recorder and delivery channel exist but the recorder was never started.",
    )
    ctx.twin(
        stopped,
        "config-recorder",
        ctx.account_id,
        "Recorder running for all supported resource types, global types included, with the service-linked role.",
        region=ctx.primary,
    )
