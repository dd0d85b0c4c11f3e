"""Compute and its surroundings: EC2 instances, EBS volumes and snapshots, EBS default encryption,
Lambda, ECR, EKS and Systems Manager documents.

The primary region's legacy web server is the toxic combination the prioritiser should rank first:
a public IPv4 address, IMDSv1, SSH open to the world, an unencrypted root volume with a public
snapshot, and an instance role carrying `*:*`. Its twin `acme-web-01` sits in a private subnet
with IMDSv2 required and an encrypted root volume.

No Lambda function is ever invoked: moto runs invocations in Docker.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

from agent_config.sandbox.sample_account._context import (
    DATA,
    DATA_DEV,
    DR_ACCOUNT_ID,
    LEGACY,
    PAYMENTS,
    SECURITY,
    WEB,
    SeedContext,
    Team,
)
from agent_config.sandbox.sample_account.data import PrimaryKeys, SecondaryKeys
from agent_config.sandbox.sample_account.identity import Identity
from agent_config.sandbox.sample_account.network import Network

INSTANCE = "AWS::EC2::Instance"
VOLUME = "AWS::EC2::Volume"
SNAPSHOT = "AWS::EC2::Snapshot"
ACCOUNT = "AWS::::Account"
FUNCTION = "AWS::Lambda::Function"

_FALLBACK_AMI = "ami-04681a1dbd79675a5"
"""Amazon Linux 2 in moto's default image list, present in every region."""


def _amazon_linux_image(ec2: Any) -> str:
    """The newest Amazon Linux 2023 image moto lists for this region (a fixed list: deterministic)."""
    images = ec2.describe_images(Owners=["amazon"], Filters=[{"Name": "name", "Values": ["al2023-ami-2023*-x86_64"]}])[
        "Images"
    ]
    if not images:
        return _FALLBACK_AMI
    return str(max(images, key=lambda image: (image["Name"], image["ImageId"]))["ImageId"])


def _run_instance(
    ec2: Any,
    *,
    name: str,
    team: Team,
    image: str,
    subnet: str,
    groups: list[str],
    profile: str,
    http_tokens: str,
    kms_key_arn: str | None,
    instance_type: str = "t3.medium",
) -> dict[str, Any]:
    """Launch one instance; its root volume is encrypted exactly when `kms_key_arn` is given."""
    ebs: dict[str, Any] = {"VolumeSize": 30, "VolumeType": "gp3", "DeleteOnTermination": True}
    ebs["Encrypted"] = kms_key_arn is not None
    if kms_key_arn:
        ebs["KmsKeyId"] = kms_key_arn
    reservation = ec2.run_instances(
        ImageId=image,
        InstanceType=instance_type,
        MinCount=1,
        MaxCount=1,
        SubnetId=subnet,
        SecurityGroupIds=groups,
        IamInstanceProfile={"Name": profile},
        MetadataOptions={"HttpTokens": http_tokens, "HttpEndpoint": "enabled", "HttpPutResponseHopLimit": 1},
        BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": ebs}],
        TagSpecifications=[
            {"ResourceType": "instance", "Tags": team.tags(name)},
            {"ResourceType": "volume", "Tags": team.tags(f"{name}-root")},
        ],
    )
    return dict(reservation["Instances"][0])


def _root_volume(instance: dict[str, Any]) -> str:
    return str(instance["BlockDeviceMappings"][0]["Ebs"]["VolumeId"])


def seed_primary_compute(ctx: SeedContext, network: Network, identity: Identity, keys: PrimaryKeys) -> None:
    region = ctx.primary
    ec2 = ctx.client("ec2", region)
    image = _amazon_linux_image(ec2)
    groups = network.security_groups

    legacy = _run_instance(
        ec2,
        name="acme-legacy-web-01",
        team=LEGACY,
        image=image,
        subnet=network.default_subnet_ids[0],
        groups=[groups["bastion-ssh"], groups["partner-api-8443"]],
        profile=identity.legacy_web_profile,
        http_tokens="optional",
        kms_key_arn=None,
    )
    web = _run_instance(
        ec2,
        name="acme-web-01",
        team=WEB,
        image=image,
        subnet=network.private_subnet_ids[0],
        groups=[groups["payments-app"]],
        profile=identity.web_profile,
        http_tokens="required",
        kms_key_arn=keys.payments.arn,
    )
    legacy_id, web_id = legacy["InstanceId"], web["InstanceId"]

    def instance_arn(instance_id: str) -> str:
        return ctx.arn("ec2", region, f"instance/{instance_id}")

    imds_v1 = ctx.fail(
        "EC2.8",
        INSTANCE,
        "acme-legacy-web-01",
        legacy_id,
        region,
        "IMDSv1 allowed (HttpTokens optional) on an internet-facing server whose role has '*:*'.",
        arn=instance_arn(legacy_id),
    )
    ctx.twin(imds_v1, "acme-web-01", web_id, "IMDSv2 required (HttpTokens required).", arn=instance_arn(web_id))
    public_ip = ctx.fail(
        "EC2.9",
        INSTANCE,
        "acme-legacy-web-01",
        legacy_id,
        region,
        "Public IPv4 address, auto-assigned by the default VPC's subnet.",
        arn=instance_arn(legacy_id),
    )
    ctx.twin(
        public_ip,
        "acme-web-01",
        web_id,
        "Private subnet, no public address; reached through the load balancer.",
        arn=instance_arn(web_id),
    )

    legacy_volume, web_volume = _root_volume(legacy), _root_volume(web)
    plain = ctx.fail(
        "EC2.3",
        VOLUME,
        "acme-legacy-web-01-root",
        legacy_volume,
        region,
        "Attached root volume, not encrypted.",
        arn=ctx.arn("ec2", region, f"volume/{legacy_volume}"),
    )
    ctx.twin(
        plain,
        "acme-web-01-root",
        web_volume,
        "Attached root volume encrypted with the acme-payments key.",
        arn=ctx.arn("ec2", region, f"volume/{web_volume}"),
    )

    public_snapshot = ec2.create_snapshot(
        VolumeId=legacy_volume,
        Description="acme-legacy-web-01 before the 2024 OS upgrade",
        TagSpecifications=[{"ResourceType": "snapshot", "Tags": LEGACY.tags("acme-legacy-web-01-root-2024")}],
    )["SnapshotId"]
    ec2.modify_snapshot_attribute(
        SnapshotId=public_snapshot,
        Attribute="createVolumePermission",
        OperationType="add",
        GroupNames=["all"],
    )
    shared_snapshot = ec2.create_snapshot(
        VolumeId=web_volume,
        Description="acme-web-01 nightly, copied to disaster recovery",
        TagSpecifications=[{"ResourceType": "snapshot", "Tags": WEB.tags("acme-web-01-root-nightly")}],
    )["SnapshotId"]
    ec2.modify_snapshot_attribute(
        SnapshotId=shared_snapshot,
        Attribute="createVolumePermission",
        OperationType="add",
        UserIds=[DR_ACCOUNT_ID],
    )
    restorable = ctx.fail(
        "EC2.1",
        SNAPSHOT,
        "acme-legacy-web-01-root-2024",
        public_snapshot,
        region,
        "Snapshot of the legacy server's disk that anyone can restore (createVolumePermission group all).",
        arn=ctx.arn("ec2", region, f"snapshot/{public_snapshot}"),
    )
    ctx.twin(
        restorable,
        "acme-web-01-root-nightly",
        shared_snapshot,
        f"Encrypted snapshot shared only with the disaster-recovery account {DR_ACCOUNT_ID}.",
        arn=ctx.arn("ec2", region, f"snapshot/{shared_snapshot}"),
    )

    _seed_webhooks(ctx, identity)
    _seed_repositories(ctx, keys)
    _seed_documents(ctx)


def seed_ebs_default_encryption(ctx: SeedContext) -> None:
    """EBS encryption by default is one switch per region: off in the primary, on in the secondary."""
    ctx.client("ec2", ctx.primary).disable_ebs_encryption_by_default()
    ctx.client("ec2", ctx.secondary).enable_ebs_encryption_by_default()
    off = ctx.fail(
        "EC2.7",
        ACCOUNT,
        "ebs-encryption-by-default",
        ctx.account_id,
        ctx.primary,
        "EBS encryption by default is off in this region: new volumes are created unencrypted.",
    )
    ctx.twin(
        off,
        "ebs-encryption-by-default",
        ctx.account_id,
        "EBS encryption by default is on in this region.",
        region=ctx.secondary,
    )


def _deployment_package() -> bytes:
    """A tiny handler zipped in memory, with a fixed timestamp so its hash never changes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        entry = zipfile.ZipInfo("handler.py", date_time=(2024, 1, 1, 0, 0, 0))
        archive.writestr(entry, "def handler(event, context):\n    return {'statusCode': 200}\n")
    return buffer.getvalue()


def _function(ctx: SeedContext, region: str, name: str, runtime: str, team: Team, role_arn: str) -> str:
    return str(
        ctx.client("lambda", region).create_function(
            FunctionName=name,
            Runtime=runtime,
            Role=role_arn,
            Handler="handler.handler",
            Code={"ZipFile": _deployment_package()},
            Description=name.replace("-", " "),
            Timeout=30,
            MemorySize=256,
            Tags=team.tag_map(),
        )["FunctionArn"]
    )


def _seed_webhooks(ctx: SeedContext, identity: Identity) -> None:
    region = ctx.primary
    awslambda = ctx.client("lambda", region)
    webhook = _function(ctx, region, "acme-webhook-receiver", "python3.12", WEB, identity.lambda_role_arn)
    awslambda.add_permission(
        FunctionName="acme-webhook-receiver",
        StatementId="AllowAnyoneToInvoke",
        Action="lambda:InvokeFunction",
        Principal="*",
    )
    invoices = _function(ctx, region, "acme-invoice-processor", "python3.12", PAYMENTS, identity.lambda_role_arn)
    awslambda.add_permission(
        FunctionName="acme-invoice-processor",
        StatementId="AllowInvoiceBucketEvents",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceArn="arn:aws:s3:::acme-prod-invoices",
        SourceAccount=ctx.account_id,
    )
    public = ctx.fail(
        "Lambda.1",
        FUNCTION,
        "acme-webhook-receiver",
        "acme-webhook-receiver",
        region,
        "Resource policy lets Principal '*' invoke the function, with no condition.",
        arn=webhook,
    )
    ctx.twin(
        public,
        "acme-invoice-processor",
        "acme-invoice-processor",
        "Only s3.amazonaws.com may invoke it, for one bucket of this account (SourceArn, SourceAccount).",
        arn=invoices,
    )


def _seed_repositories(ctx: SeedContext, keys: PrimaryKeys) -> None:
    region = ctx.primary
    ecr = ctx.client("ecr", region)
    legacy = ecr.create_repository(
        repositoryName="acme/legacy-api",
        imageTagMutability="MUTABLE",
        imageScanningConfiguration={"scanOnPush": False},
        tags=LEGACY.tags(),
    )["repository"]
    payments = ecr.create_repository(
        repositoryName="acme/payments-api",
        imageTagMutability="IMMUTABLE",
        imageScanningConfiguration={"scanOnPush": True},
        encryptionConfiguration={"encryptionType": "KMS", "kmsKey": keys.payments.arn},
        tags=PAYMENTS.tags(),
    )["repository"]
    ecr.put_lifecycle_policy(
        repositoryName="acme/payments-api",
        lifecyclePolicyText='{"rules": [{"rulePriority": 1, "description": "keep 50 images", '
        '"selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 50}, '
        '"action": {"type": "expire"}}]}',
    )
    repository = "AWS::ECR::Repository"
    no_scan = ctx.fail(
        "ECR.1",
        repository,
        "acme/legacy-api",
        "acme/legacy-api",
        region,
        "Images are not scanned on push (and the registry has no enhanced scanning).",
        arn=legacy["repositoryArn"],
    )
    ctx.twin(no_scan, "acme/payments-api", "acme/payments-api", "Scan on push on.", arn=payments["repositoryArn"])
    mutable = ctx.fail(
        "ECR.2",
        repository,
        "acme/legacy-api",
        "acme/legacy-api",
        region,
        "Tags are mutable: 'latest' or 'v1.4.2' can be overwritten with a different image.",
        arn=legacy["repositoryArn"],
    )
    ctx.twin(
        mutable,
        "acme/payments-api",
        "acme/payments-api",
        "Tags are immutable.",
        arn=payments["repositoryArn"],
    )


def _seed_documents(ctx: SeedContext) -> None:
    region = ctx.primary
    ssm = ctx.client("ssm", region)
    content = (
        '{"schemaVersion": "2.2", "description": "%s", "mainSteps": [{"action": "aws:runShellScript", '
        '"name": "run", "inputs": {"runCommand": ["%s"]}}]}'
    )
    ssm.create_document(
        Name="acme-restart-app",
        Content=content % ("Restart the legacy app", "systemctl restart acme-app"),
        DocumentType="Command",
        DocumentFormat="JSON",
        Tags=LEGACY.tags(),
    )
    ssm.modify_document_permission(Name="acme-restart-app", PermissionType="Share", AccountIdsToAdd=["All"])
    ssm.create_document(
        Name="acme-rotate-logs",
        Content=content % ("Rotate application logs", "logrotate -f /etc/logrotate.conf"),
        DocumentType="Command",
        DocumentFormat="JSON",
        Tags=SECURITY.tags(),
    )
    ssm.modify_document_permission(Name="acme-rotate-logs", PermissionType="Share", AccountIdsToAdd=[DR_ACCOUNT_ID])
    document = "AWS::SSM::Document"
    public = ctx.fail(
        "SSM.4",
        document,
        "acme-restart-app",
        "acme-restart-app",
        region,
        "Command document shared with 'All': every AWS account can read it (and its embedded commands).",
        arn=ctx.arn("ssm", region, "document/acme-restart-app"),
    )
    ctx.twin(
        public,
        "acme-rotate-logs",
        "acme-rotate-logs",
        f"Shared only with the disaster-recovery account {DR_ACCOUNT_ID}.",
        arn=ctx.arn("ssm", region, "document/acme-rotate-logs"),
    )


def seed_secondary_compute(ctx: SeedContext, network: Network, identity: Identity, keys: SecondaryKeys) -> None:
    region = ctx.secondary
    ec2 = ctx.client("ec2", region)
    image = _amazon_linux_image(ec2)

    def worker(name: str, subnet: str, http_tokens: str) -> str:
        return str(
            _run_instance(
                ec2,
                name=name,
                team=DATA,
                image=image,
                subnet=subnet,
                groups=[network.security_groups["etl-workers"]],
                profile=identity.etl_profile,
                http_tokens=http_tokens,
                kms_key_arn=keys.data.arn,
                instance_type="m6i.large",
            )["InstanceId"]
        )

    v1_worker = worker("acme-etl-worker-01", network.private_subnet_ids[0], "optional")
    v2_worker = worker("acme-etl-worker-02", network.private_subnet_ids[1], "required")
    imds_v1 = ctx.fail(
        "EC2.8",
        INSTANCE,
        "acme-etl-worker-01",
        v1_worker,
        region,
        "IMDSv1 allowed on a private worker: no public address, but SSRF in the ETL code reaches the "
        "role's credentials.",
        arn=ctx.arn("ec2", region, f"instance/{v1_worker}"),
    )
    ctx.twin(
        imds_v1,
        "acme-etl-worker-02",
        v2_worker,
        "IMDSv2 required.",
        arn=ctx.arn("ec2", region, f"instance/{v2_worker}"),
    )

    old = _function(ctx, region, "acme-csv-ingest-legacy", "python3.7", DATA_DEV, identity.lambda_role_arn)
    new = _function(ctx, region, "acme-csv-ingest", "python3.12", DATA, identity.lambda_role_arn)
    deprecated = ctx.fail(
        "Lambda.2",
        FUNCTION,
        "acme-csv-ingest-legacy",
        "acme-csv-ingest-legacy",
        region,
        "Runs on python3.7, whose Lambda support ended in November 2023: no more security patches.",
        arn=old,
    )
    ctx.twin(deprecated, "acme-csv-ingest", "acme-csv-ingest", "Runs on python3.12, supported.", arn=new)

    eks = ctx.client("eks", region)
    subnets = list(network.private_subnet_ids)
    dev = eks.create_cluster(
        name="acme-data-dev-eks",
        version="1.34",
        roleArn=identity.eks_role_arn,
        resourcesVpcConfig={
            "subnetIds": subnets,
            "endpointPublicAccess": True,
            "endpointPrivateAccess": False,
            "publicAccessCidrs": ["0.0.0.0/0"],
        },
        tags=DATA_DEV.tag_map(),
    )["cluster"]
    prod = eks.create_cluster(
        name="acme-data-prod-eks",
        version="1.34",
        roleArn=identity.eks_role_arn,
        resourcesVpcConfig={
            "subnetIds": subnets,
            "securityGroupIds": [network.security_groups["etl-workers"]],
            "endpointPublicAccess": False,
            "endpointPrivateAccess": True,
        },
        logging={"clusterLogging": [{"types": ["api", "audit", "authenticator"], "enabled": True}]},
        tags=DATA.tag_map(),
    )["cluster"]
    cluster = "AWS::EKS::Cluster"
    public = ctx.fail(
        "EKS.1",
        cluster,
        "acme-data-dev-eks",
        "acme-data-dev-eks",
        region,
        "Kubernetes API endpoint public, open to 0.0.0.0/0, no private endpoint.",
        arn=dev["arn"],
    )
    ctx.twin(public, "acme-data-prod-eks", "acme-data-prod-eks", "Private API endpoint only.", arn=prod["arn"])
