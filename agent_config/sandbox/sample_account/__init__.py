"""The sandbox's sample account: a badly configured "Acme Corp" AWS account, seeded into a running
local AWS (moto server) over HTTP, with a manifest of what was planted.

Why: the agent's checks, its synthesis and the real MCP servers are only worth something if they
find real misconfigurations *and* leave correct resources alone. The account plants about forty
distinct Security Hub FSBP misconfigurations drawn from sadcloud, TerraGoat, CfnGoat and IAM
Vulnerable, each beside a correctly configured twin of the same kind, and the manifest
(`SampleAccountManifest`) says which resource must FAIL which control and which must PASS.

The world, in two regions (the first given is the *primary*, the second the *secondary*):

- account-wide: a weak password policy (too short, no reuse prevention), a `*:*` policy attached
  to humans and to an instance role, a console user without MFA, a CI user with a policy attached
  directly, decrypt-all and `s3:*` policies, account-level S3 Block Public Access off, no
  multi-Region trail, and an account in no AWS Organizations organization;
- primary (web shop, payments, the legacy estate): public and unprotected buckets, security
  groups open on 22, 3389, 3306 and 8443, the default VPC as AWS creates it, a load balancer
  serving plain HTTP, an IMDSv1 server with a public IP, an unencrypted volume with a public
  snapshot, a public unencrypted MySQL with a public snapshot, keys without rotation or pending
  deletion, a public Lambda policy, a secret without rotation, an ECR repository without
  scanning, an unencrypted topic and file system, a public SSM document, EBS default encryption
  off, GuardDuty off; a billing API with an access key pair and its database password in its Lambda
  environment and a batch host whose user data exports a password and an API key (the agent's own
  ESA.1 and ESA.2, beside twins that read the secret from Secrets Manager);
- secondary (data platform): SSH open on `::/0`, an all-traffic group, PostgreSQL open, a bucket
  without a TLS-only policy, a world-readable dataset bucket, a key without rotation, an IMDSv1
  worker, a deprecated Lambda runtime, a public EKS endpoint, an unencrypted queue, a table
  without PITR, a trail without KMS and validation, AWS Config present but not recording.

How to read the manifest: a FAIL item is asserted for the control it was planted for only (a
public bucket also lacks Block Public Access; that is not listed). Twins are hardened throughout,
so any finding on a twin, for any control, is a false positive.

moto 5.2.5 in server mode, and what this module does about it:

- S3 Control requests carry the account id in the host name; a `before-sign.s3-control.*` hook
  strips it (see `_context`).
- Lambda `invoke` needs Docker, so nothing is invoked. For the same reason a rotated secret is
  rotated without a rotation Lambda (`rotate_secret` with rules only, the way AWS-managed rotation
  looks): with a Lambda ARN moto tries to run the function in Docker.
- `ModifyEbsDefaultKmsKeyId` answers HTTP 500, so EBS default encryption uses the AWS managed key.
- EBS encryption by default does not encrypt new volumes in moto; every volume here states its
  encryption explicitly.
- Not plantable: IAM.3, IAM.8 and IAM.22 (moto cannot back-date access keys or last use: it
  stamps a key's last use with the time of a request signed with it, never sets a password's
  last use, and its server has no way to move the clock),
  IAM.4/6/9 (root keys and root MFA are hard-coded), S3.4 (every real bucket is encrypted since
  2023; buckets here get default encryption), and anything needing invocation or running
  containers.
- moto's default security group has no self-referencing inbound rule; the seeding adds it so the
  default VPC looks as AWS makes it.

Seeding is deterministic (same names, same settings, same order; only moto's random ids differ)
and takes a few seconds, most of it moto building each region's EC2 backend on first use. It
refuses an account that was already seeded, rather than half-seeding it again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from agent_config.interfaces import FindingStatus
from agent_config.sandbox.local_aws import LocalAws
from agent_config.sandbox.sample_account import (
    account,
    compute,
    config_secrets,
    data,
    detection,
    identity,
    load_balancing,
    network,
    storage,
)
from agent_config.sandbox.sample_account._context import SampleAccountError, SeedContext
from agent_config.sandbox.sample_account.manifest import GLOBAL_REGION, PlantedItem, SampleAccountManifest

__all__ = [
    "DEFAULT_REGIONS",
    "GLOBAL_REGION",
    "MANIFEST_FILENAME",
    "PlantedItem",
    "SampleAccountError",
    "SampleAccountManifest",
    "seed_sample_account",
]

DEFAULT_REGIONS = ("us-east-1", "eu-west-1")
MANIFEST_FILENAME = "sample-account-manifest.json"

NOTES = (
    "A FAIL item is asserted only for the control it was planted for; the same resource may fail "
    "other controls. PASS twins are hardened throughout: any finding on a twin is a false positive.",
    "Each region also holds what moto creates on first use (the default VPC with its subnets, "
    "default security group and default network ACL); the default VPC's failures are listed.",
    "Not planted because moto 5.2.5 cannot represent them: IAM.3, IAM.8, IAM.22 (access key age "
    "and last use cannot be back-dated: moto stamps a key's last use with the time of the request "
    "signed with it and never sets PasswordLastUsed, so no credential can be 50-89 days idle; every "
    "user's credentials are fresh, so any IAM.22 or IAM.8 FAIL on a twin user is a false positive), "
    "IAM.4, IAM.6, IAM.9 (root user keys and MFA are hard-coded), S3.4 (retired; every bucket here "
    "has default encryption).",
    "Secrets rotate without a rotation Lambda and no Lambda function is invoked: moto would run "
    "them in Docker. EBS default encryption uses the AWS managed key (moto lacks "
    "ModifyEbsDefaultKmsKeyId).",
)

_log = logging.getLogger(__name__)


def seed_sample_account(
    aws: LocalAws,
    regions: Sequence[str] = DEFAULT_REGIONS,
    *,
    manifest_path: Path | None = None,
) -> SampleAccountManifest:
    """Seed the sample account into `aws` and return its manifest, also written to
    `manifest_path` (default: `sample-account-manifest.json` in the sandbox's home folder).

    `regions` names exactly two regions: the primary, then the secondary. Raises
    `SampleAccountError` when the regions are wrong or the account was already seeded.
    """
    if len(regions) != 2 or regions[0] == regions[1]:
        raise SampleAccountError(f"the sample account needs two distinct regions, got {list(regions)}")
    started = time.perf_counter()
    primary, secondary = regions
    # Ask rather than assume: moto's account id can be changed (MOTO_ACCOUNT_ID).
    account_id = str(aws.client("sts", primary).get_caller_identity()["Account"])
    ctx = SeedContext(aws=aws, account_id=account_id, primary=primary, secondary=secondary)
    _refuse_if_seeded(ctx)

    primary_keys = data.seed_primary_keys(ctx)
    secondary_keys = data.seed_secondary_keys(ctx)
    iam = identity.seed_identity(ctx, payments_key_arn=primary_keys.payments.arn)
    account.seed_account(ctx)

    storage.seed_account_public_access(ctx)
    storage.seed_primary_buckets(ctx, payments_key_arn=primary_keys.payments.arn)
    storage.seed_secondary_buckets(ctx, data_key_arn=secondary_keys.data.arn)

    primary_network = network.seed_primary_network(ctx, iam.flow_logs_role_arn)
    secondary_network = network.seed_secondary_network(ctx, iam.flow_logs_role_arn)
    load_balancing.seed_primary_load_balancers(ctx, primary_network)

    compute.seed_ebs_default_encryption(ctx)
    compute.seed_primary_compute(ctx, primary_network, iam, primary_keys)
    compute.seed_secondary_compute(ctx, secondary_network, iam, secondary_keys)
    config_secrets.seed_config_secrets(ctx, primary_network, iam, primary_keys)

    data.seed_primary_data(ctx, primary_network, primary_keys)
    data.seed_secondary_data(ctx, secondary_keys)

    detection.seed_detection(ctx, iam, secondary_keys)

    manifest = SampleAccountManifest(
        items=tuple(ctx.items),
        account_id=account_id,
        regions=(primary, secondary),
        created_at=datetime.now(UTC),
        notes=NOTES,
    )
    manifest.write(manifest_path or aws.home / MANIFEST_FILENAME)
    _log.info(
        "sample account seeded: %d items, %d failing controls, %.2fs",
        len(manifest.items),
        len(manifest.control_ids(FindingStatus.FAIL)),
        time.perf_counter() - started,
    )
    return manifest


def _refuse_if_seeded(ctx: SeedContext) -> None:
    """Fail fast, before creating anything, when the sample account is already there (its first
    resource, a KMS alias, exists): seeding twice would fail half-way on duplicate names."""
    aliases = ctx.client("kms", ctx.primary).list_aliases()["Aliases"]
    if any(alias["AliasName"] == data.FIRST_ALIAS for alias in aliases):
        raise SampleAccountError(
            "the sample account is already seeded in this local AWS; start a fresh one "
            f"(or POST {ctx.aws.endpoint_url}/moto-api/reset) to seed it again"
        )
