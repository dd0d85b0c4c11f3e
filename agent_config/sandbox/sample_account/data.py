"""Keys and data stores: KMS, RDS, Secrets Manager, SNS, SQS, DynamoDB and EFS.

The keys come first because almost everything else is encrypted with one of them. The twins
here are private, encrypted with a rotating customer managed key, backed up and (for secrets)
rotated, so a finding on any of them is a false positive whatever control raised it.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent_config.sandbox.sample_account._context import (
    DATA,
    DATA_DEV,
    DR_ACCOUNT_ID,
    LEGACY,
    PAYMENTS,
    WEB,
    SeedContext,
    Team,
)
from agent_config.sandbox.sample_account.network import Network

KMS_KEY = "AWS::KMS::Key"
SECRET = "AWS::SecretsManager::Secret"  # noqa: S105 - a resource type name
FIRST_ALIAS = "alias/acme-payments"
"""The first resource a seeding creates; its presence means the account is already seeded."""


@dataclass(frozen=True)
class Key:
    key_id: str
    arn: str


@dataclass(frozen=True)
class PrimaryKeys:
    payments: Key
    """Rotating key for payments data (RDS, secrets, SNS, EFS, EBS)."""
    billing: Key
    legacy_app: Key


@dataclass(frozen=True)
class SecondaryKeys:
    data: Key
    """Rotating key for the data platform (S3, SQS, CloudTrail, DynamoDB)."""


def _create_key(ctx: SeedContext, region: str, alias: str, team: Team, description: str) -> Key:
    kms = ctx.client("kms", region)
    metadata = kms.create_key(Description=description, Tags=team.kms_tags())["KeyMetadata"]
    kms.create_alias(AliasName=f"alias/{alias}", TargetKeyId=metadata["KeyId"])
    return Key(key_id=metadata["KeyId"], arn=metadata["Arn"])


def seed_primary_keys(ctx: SeedContext) -> PrimaryKeys:
    region = ctx.primary
    kms = ctx.client("kms", region)
    payments = _create_key(ctx, region, "acme-payments", PAYMENTS, "Payments data at rest")
    kms.enable_key_rotation(KeyId=payments.key_id)
    legacy = _create_key(ctx, region, "acme-legacy-app", LEGACY, "Legacy web app secrets")
    rotation_off = ctx.fail(
        "KMS.4",
        KMS_KEY,
        "acme-legacy-app",
        legacy.key_id,
        region,
        "Customer managed key with automatic rotation never turned on.",
        arn=legacy.arn,
    )
    ctx.twin(
        rotation_off,
        "acme-payments",
        payments.key_id,
        "Customer managed key with yearly automatic rotation.",
        arn=payments.arn,
    )

    old_billing = _create_key(ctx, region, "acme-billing-2019", LEGACY, "Billing exports until 2019")
    kms.schedule_key_deletion(KeyId=old_billing.key_id, PendingWindowInDays=7)
    deleting = ctx.fail(
        "KMS.3",
        KMS_KEY,
        "acme-billing-2019",
        old_billing.key_id,
        region,
        "Key scheduled for deletion in 7 days while old billing exports may still need it.",
        arn=old_billing.arn,
    )
    billing = _create_key(ctx, region, "acme-billing", PAYMENTS, "Billing exports")
    kms.enable_key_rotation(KeyId=billing.key_id)
    ctx.twin(deleting, "acme-billing", billing.key_id, "Enabled key in use, rotating.", arn=billing.arn)
    return PrimaryKeys(payments=payments, billing=billing, legacy_app=legacy)


def seed_secondary_keys(ctx: SeedContext) -> SecondaryKeys:
    region = ctx.secondary
    kms = ctx.client("kms", region)
    data = _create_key(ctx, region, "acme-data", DATA, "Data platform at rest")
    kms.enable_key_rotation(KeyId=data.key_id)
    legacy = _create_key(ctx, region, "acme-data-legacy", DATA_DEV, "First data lake (2020)")
    rotation_off = ctx.fail(
        "KMS.4",
        KMS_KEY,
        "acme-data-legacy",
        legacy.key_id,
        region,
        "Customer managed key of the first data lake, never rotated.",
        arn=legacy.arn,
    )
    ctx.twin(rotation_off, "acme-data", data.key_id, "Data platform key, rotating.", arn=data.arn)
    return SecondaryKeys(data=data)


# ---------------------------------------------------------------------------------------------
# Primary region: databases, secrets, topics, file systems
# ---------------------------------------------------------------------------------------------

_DB_PASSWORD = "Sandbox-only-not-a-secret-1"  # noqa: S105 - moto stores it; nothing real is protected


def seed_primary_data(ctx: SeedContext, network: Network, keys: PrimaryKeys) -> None:
    _seed_rds(ctx, network, keys)
    _seed_secrets(ctx, keys)
    _seed_topics(ctx, keys)
    _seed_file_systems(ctx, network, keys)


def _seed_rds(ctx: SeedContext, network: Network, keys: PrimaryKeys) -> None:
    region = ctx.primary
    rds = ctx.client("rds", region)
    rds.create_db_subnet_group(
        DBSubnetGroupName="acme-legacy-default-vpc",
        DBSubnetGroupDescription="Legacy databases in the default VPC",
        SubnetIds=list(network.default_subnet_ids[:2]),
        Tags=LEGACY.tags(),
    )
    rds.create_db_subnet_group(
        DBSubnetGroupName="acme-prod-db-private",
        DBSubnetGroupDescription="Private database subnets of acme-prod-vpc",
        SubnetIds=list(network.private_subnet_ids),
        Tags=PAYMENTS.tags(),
    )
    reporting = rds.create_db_instance(
        DBInstanceIdentifier="acme-reporting-db",
        Engine="mysql",
        EngineVersion="8.0.35",
        DBInstanceClass="db.t3.medium",
        AllocatedStorage=100,
        MasterUsername="reporting_admin",
        MasterUserPassword=_DB_PASSWORD,
        DBSubnetGroupName="acme-legacy-default-vpc",
        VpcSecurityGroupIds=[network.security_groups["legacy-mysql"]],
        PubliclyAccessible=True,
        StorageEncrypted=False,
        BackupRetentionPeriod=1,
        Tags=LEGACY.tags("acme-reporting-db"),
    )["DBInstance"]
    payments = rds.create_db_instance(
        DBInstanceIdentifier="payments-db",
        Engine="postgres",
        EngineVersion="16.3",
        DBInstanceClass="db.r6g.large",
        AllocatedStorage=200,
        MasterUsername="payments_admin",
        MasterUserPassword=_DB_PASSWORD,
        DBSubnetGroupName="acme-prod-db-private",
        VpcSecurityGroupIds=[network.security_groups["payments-db"]],
        PubliclyAccessible=False,
        StorageEncrypted=True,
        KmsKeyId=keys.payments.arn,
        MultiAZ=True,
        BackupRetentionPeriod=14,
        DeletionProtection=True,
        EnableIAMDatabaseAuthentication=True,
        Tags=PAYMENTS.tags("payments-db"),
    )["DBInstance"]
    db = "AWS::RDS::DBInstance"
    public = ctx.fail(
        "RDS.2",
        db,
        "acme-reporting-db",
        "acme-reporting-db",
        region,
        "MySQL reporting database marked publicly accessible, in the default VPC's public subnets.",
        arn=reporting["DBInstanceArn"],
    )
    ctx.twin(
        public,
        "payments-db",
        "payments-db",
        "PostgreSQL in private subnets, not publicly accessible.",
        arn=payments["DBInstanceArn"],
    )
    unencrypted = ctx.fail(
        "RDS.3",
        db,
        "acme-reporting-db",
        "acme-reporting-db",
        region,
        "Storage not encrypted at rest (cannot be turned on in place).",
        arn=reporting["DBInstanceArn"],
    )
    ctx.twin(
        unencrypted,
        "payments-db",
        "payments-db",
        "Storage encrypted with the rotating acme-payments key.",
        arn=payments["DBInstanceArn"],
    )

    snapshot_type = "AWS::RDS::DBSnapshot"
    public_snapshot = rds.create_db_snapshot(
        DBInstanceIdentifier="acme-reporting-db",
        DBSnapshotIdentifier="acme-reporting-db-pre-migration",
        Tags=LEGACY.tags(),
    )["DBSnapshot"]
    rds.modify_db_snapshot_attribute(
        DBSnapshotIdentifier="acme-reporting-db-pre-migration", AttributeName="restore", ValuesToAdd=["all"]
    )
    shared_snapshot = rds.create_db_snapshot(
        DBInstanceIdentifier="payments-db",
        DBSnapshotIdentifier="payments-db-pre-upgrade",
        Tags=PAYMENTS.tags(),
    )["DBSnapshot"]
    rds.modify_db_snapshot_attribute(
        DBSnapshotIdentifier="payments-db-pre-upgrade", AttributeName="restore", ValuesToAdd=[DR_ACCOUNT_ID]
    )
    restorable = ctx.fail(
        "RDS.1",
        snapshot_type,
        "acme-reporting-db-pre-migration",
        "acme-reporting-db-pre-migration",
        region,
        "Manual snapshot anyone can restore (restore attribute 'all'), shared to move the data once.",
        arn=public_snapshot["DBSnapshotArn"],
    )
    ctx.twin(
        restorable,
        "payments-db-pre-upgrade",
        "payments-db-pre-upgrade",
        f"Manual snapshot shared only with the disaster-recovery account {DR_ACCOUNT_ID}.",
        arn=shared_snapshot["DBSnapshotArn"],
    )


def _seed_secrets(ctx: SeedContext, keys: PrimaryKeys) -> None:
    region = ctx.primary
    secrets = ctx.client("secretsmanager", region)
    stale = secrets.create_secret(
        Name="prod/reporting-db/credentials",
        Description="acme-reporting-db master user",
        KmsKeyId=keys.legacy_app.arn,
        SecretString='{"username": "reporting_admin", "password": "sandbox"}',
        Tags=LEGACY.tags(),
    )
    rotated = secrets.create_secret(
        Name="prod/payments-db/credentials",
        Description="payments-db application user",
        KmsKeyId=keys.payments.arn,
        SecretString='{"username": "payments_app", "password": "sandbox"}',
        Tags=PAYMENTS.tags(),
    )
    # Rotation without a Lambda ARN (as AWS-managed rotation does): moto would otherwise try to
    # run the rotation function in Docker.
    secrets.rotate_secret(
        SecretId=rotated["ARN"], RotationRules={"AutomaticallyAfterDays": 30}, RotateImmediately=False
    )
    never = ctx.fail(
        "SecretsManager.1",
        SECRET,
        "prod/reporting-db/credentials",
        stale["ARN"],
        region,
        "Database credentials with automatic rotation off.",
        arn=stale["ARN"],
    )
    ctx.twin(
        never,
        "prod/payments-db/credentials",
        rotated["ARN"],
        "Database credentials rotated automatically every 30 days.",
        arn=rotated["ARN"],
    )


def _seed_topics(ctx: SeedContext, keys: PrimaryKeys) -> None:
    region = ctx.primary
    sns = ctx.client("sns", region)
    plain = sns.create_topic(Name="acme-order-events", Tags=WEB.tags())["TopicArn"]
    encrypted = sns.create_topic(
        Name="acme-payment-events", Attributes={"KmsMasterKeyId": keys.payments.arn}, Tags=PAYMENTS.tags()
    )["TopicArn"]
    topic = "AWS::SNS::Topic"
    unencrypted = ctx.fail(
        "SNS.1",
        topic,
        "acme-order-events",
        plain,
        region,
        "Order events (customer names, addresses) stored without KMS encryption.",
        arn=plain,
    )
    ctx.twin(
        unencrypted,
        "acme-payment-events",
        encrypted,
        "Encrypted with the customer managed acme-payments key.",
        arn=encrypted,
    )


def _seed_file_systems(ctx: SeedContext, network: Network, keys: PrimaryKeys) -> None:
    region = ctx.primary
    efs = ctx.client("efs", region)
    plain = efs.create_file_system(
        CreationToken="acme-shared-home",
        PerformanceMode="generalPurpose",
        Encrypted=False,
        Tags=LEGACY.tags("acme-shared-home"),
    )
    encrypted = efs.create_file_system(
        CreationToken="acme-payments-batch",
        PerformanceMode="generalPurpose",
        Encrypted=True,
        KmsKeyId=keys.payments.arn,
        Tags=PAYMENTS.tags("acme-payments-batch"),
    )
    file_system = "AWS::EFS::FileSystem"
    unencrypted = ctx.fail(
        "EFS.1",
        file_system,
        "acme-shared-home",
        plain["FileSystemId"],
        region,
        "Shared home directories without encryption at rest.",
        arn=plain["FileSystemArn"],
    )
    ctx.twin(
        unencrypted,
        "acme-payments-batch",
        encrypted["FileSystemId"],
        "Batch scratch space encrypted with the acme-payments key.",
        arn=encrypted["FileSystemArn"],
    )


# ---------------------------------------------------------------------------------------------
# Secondary region: queues and tables of the data platform
# ---------------------------------------------------------------------------------------------


def seed_secondary_data(ctx: SeedContext, keys: SecondaryKeys) -> None:
    region = ctx.secondary
    sqs = ctx.client("sqs", region)
    # New queues get SSE-SQS by default now; this one had it switched off explicitly.
    sqs.create_queue(QueueName="acme-ingest-jobs", Attributes={"SqsManagedSseEnabled": "false"}, tags=DATA.tag_map())
    sqs.create_queue(
        QueueName="acme-export-jobs",
        Attributes={"KmsMasterKeyId": keys.data.arn, "KmsDataKeyReusePeriodSeconds": "300"},
        tags=DATA.tag_map(),
    )
    # The queue URL carries the local endpoint's port; the name is the stable identifier.
    queue = "AWS::SQS::Queue"
    unencrypted = ctx.fail(
        "SQS.1",
        queue,
        "acme-ingest-jobs",
        "acme-ingest-jobs",
        region,
        "Ingest queue with server-side encryption switched off.",
        arn=ctx.arn("sqs", region, "acme-ingest-jobs"),
    )
    ctx.twin(
        unencrypted,
        "acme-export-jobs",
        "acme-export-jobs",
        "Export queue encrypted with the acme-data key.",
        arn=ctx.arn("sqs", region, "acme-export-jobs"),
    )

    dynamodb = ctx.client("dynamodb", region)
    tables: dict[str, str] = {}
    for name in ("acme-ingest-checkpoints", "acme-data-catalog"):
        tables[name] = dynamodb.create_table(
            TableName=name,
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
            SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": keys.data.arn},
            Tags=DATA.tags(),
        )["TableDescription"]["TableArn"]
    dynamodb.update_continuous_backups(
        TableName="acme-data-catalog", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    table = "AWS::DynamoDB::Table"
    no_pitr = ctx.fail(
        "DynamoDB.2",
        table,
        "acme-ingest-checkpoints",
        "acme-ingest-checkpoints",
        region,
        "Table without point-in-time recovery: a bad deploy cannot be rolled back.",
        arn=tables["acme-ingest-checkpoints"],
    )
    ctx.twin(
        no_pitr,
        "acme-data-catalog",
        "acme-data-catalog",
        "Point-in-time recovery on.",
        arn=tables["acme-data-catalog"],
    )
