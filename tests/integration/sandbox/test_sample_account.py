"""The sample account holds what its manifest says: every planted misconfiguration reads back as
misconfigured and every twin as correct, through plain boto3 calls.

GIVEN a fresh local AWS seeded once for this module
WHEN each planted (control, resource) is read back with this module's own small readers
THEN FAIL items break their control and PASS twins satisfy it.

The readers here are deliberately independent of the seeding code (and of the agent's checks):
each is a few lines of boto3 and the control's rule as AWS documents it. `EXPECTED` is likewise
an independent statement of what must be planted, so a renamed or dropped resource is noticed.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from agent_config.interfaces import FindingStatus
from agent_config.sandbox.local_aws import LocalAws, local_aws
from agent_config.sandbox.sample_account import (
    MANIFEST_FILENAME,
    PlantedItem,
    SampleAccountError,
    SampleAccountManifest,
    seed_sample_account,
)

pytestmark = pytest.mark.integration

PRIMARY, SECONDARY = "us-east-1", "eu-west-1"
REGION_OF = {"global": "global", "primary": PRIMARY, "secondary": SECONDARY}
F, P = "FAIL", "PASS"

# (control, where, resource name, expected status)
EXPECTED: list[tuple[str, str, str, str]] = [
    # account-wide
    ("IAM.7", "global", "account-password-policy", F),
    ("IAM.15", "global", "account-password-policy", F),
    ("IAM.16", "global", "account-password-policy", F),
    ("Account.2", "global", "aws-organizations-membership", F),
    ("IAM.1", "global", "AcmeLegacyFullAccess", F),
    ("IAM.1", "global", "AcmeCiDeploy", P),
    ("KMS.1", "global", "AcmeAppDecryptAll", F),
    ("KMS.1", "global", "AcmePaymentsDecrypt", P),
    ("IAM.21", "global", "AcmeDataLakeFullS3", F),
    ("IAM.21", "global", "AcmeDataLakeReadOnly", P),
    ("IAM.5", "global", "j.smith", F),
    ("IAM.5", "global", "a.patel", P),
    ("IAM.2", "global", "ci-deploy", F),
    ("IAM.2", "global", "svc-reporting", P),
    ("S3.1", "global", "s3-account-public-access-block", F),
    ("CloudTrail.1", "global", "cloudtrail-multi-region", F),
    # per-region account settings, the twin in the other region
    ("EC2.7", "primary", "ebs-encryption-by-default", F),
    ("EC2.7", "secondary", "ebs-encryption-by-default", P),
    ("GuardDuty.1", "primary", "guardduty", F),
    ("GuardDuty.1", "secondary", "guardduty", P),
    ("Config.1", "secondary", "config-recorder", F),
    ("Config.1", "primary", "config-recorder", P),
    # primary region
    ("KMS.4", "primary", "acme-legacy-app", F),
    ("KMS.4", "primary", "acme-payments", P),
    ("KMS.3", "primary", "acme-billing-2019", F),
    ("KMS.3", "primary", "acme-billing", P),
    ("S3.8", "primary", "acme-prod-customer-uploads", F),
    ("S3.8", "primary", "acme-prod-invoices", P),
    ("S3.2", "primary", "acme-legacy-static-site", F),
    ("S3.2", "primary", "acme-static-site", P),
    ("S3.3", "primary", "acme-partner-dropbox", F),
    ("S3.3", "primary", "acme-partner-exchange", P),
    ("EC2.2", "primary", "default-vpc/default", F),
    ("EC2.2", "primary", "acme-prod-vpc/default", P),
    ("EC2.6", "primary", "default-vpc", F),
    ("EC2.6", "primary", "acme-prod-vpc", P),
    ("EC2.21", "primary", "default-vpc/default-acl", F),
    ("EC2.21", "primary", "acme-prod-vpc/default-acl", P),
    ("EC2.21", "primary", "acme-legacy-dmz", F),
    ("EC2.21", "primary", "acme-prod-app", P),
    ("EC2.13", "primary", "bastion-ssh", F),
    ("EC2.13", "primary", "bastion-ssh-vpn", P),
    ("EC2.14", "primary", "windows-jump-rdp", F),
    ("EC2.14", "primary", "windows-jump-rdp-vpn", P),
    ("EC2.19", "primary", "legacy-mysql", F),
    ("EC2.19", "primary", "payments-db", P),
    ("EC2.18", "primary", "partner-api-8443", F),
    ("EC2.18", "primary", "public-alb", P),
    ("ELB.1", "primary", "acme-legacy-shop-alb", F),
    ("ELB.1", "primary", "acme-shop-alb", P),
    ("EC2.8", "primary", "acme-legacy-web-01", F),
    ("EC2.8", "primary", "acme-web-01", P),
    ("EC2.9", "primary", "acme-legacy-web-01", F),
    ("EC2.9", "primary", "acme-web-01", P),
    ("EC2.3", "primary", "acme-legacy-web-01-root", F),
    ("EC2.3", "primary", "acme-web-01-root", P),
    ("EC2.1", "primary", "acme-legacy-web-01-root-2024", F),
    ("EC2.1", "primary", "acme-web-01-root-nightly", P),
    ("Lambda.1", "primary", "acme-webhook-receiver", F),
    ("Lambda.1", "primary", "acme-invoice-processor", P),
    ("ECR.1", "primary", "acme/legacy-api", F),
    ("ECR.1", "primary", "acme/payments-api", P),
    ("ECR.2", "primary", "acme/legacy-api", F),
    ("ECR.2", "primary", "acme/payments-api", P),
    ("SSM.4", "primary", "acme-restart-app", F),
    ("SSM.4", "primary", "acme-rotate-logs", P),
    ("RDS.2", "primary", "acme-reporting-db", F),
    ("RDS.2", "primary", "payments-db", P),
    ("RDS.3", "primary", "acme-reporting-db", F),
    ("RDS.3", "primary", "payments-db", P),
    ("RDS.1", "primary", "acme-reporting-db-pre-migration", F),
    ("RDS.1", "primary", "payments-db-pre-upgrade", P),
    ("SecretsManager.1", "primary", "prod/reporting-db/credentials", F),
    ("SecretsManager.1", "primary", "prod/payments-db/credentials", P),
    ("SNS.1", "primary", "acme-order-events", F),
    ("SNS.1", "primary", "acme-payment-events", P),
    ("EFS.1", "primary", "acme-shared-home", F),
    ("EFS.1", "primary", "acme-payments-batch", P),
    ("ESA.1", "primary", "acme-billing-api", F),
    ("ESA.1", "primary", "acme-billing-api-v2", P),
    ("ESA.2", "primary", "acme-billing-batch-01", F),
    ("ESA.2", "primary", "acme-billing-batch-02", P),
    # secondary region
    ("KMS.4", "secondary", "acme-data-legacy", F),
    ("KMS.4", "secondary", "acme-data", P),
    ("S3.5", "secondary", "acme-analytics-raw", F),
    ("S3.5", "secondary", "acme-analytics-curated", P),
    ("S3.2", "secondary", "acme-public-datasets", F),
    ("S3.2", "secondary", "acme-partner-datasets", P),
    ("EC2.2", "secondary", "default-vpc/default", F),
    ("EC2.2", "secondary", "acme-data-vpc/default", P),
    ("EC2.6", "secondary", "default-vpc", F),
    ("EC2.6", "secondary", "acme-data-vpc", P),
    ("EC2.21", "secondary", "default-vpc/default-acl", F),
    ("EC2.21", "secondary", "acme-data-vpc/default-acl", P),
    ("EC2.13", "secondary", "data-bastion-ssh", F),
    ("EC2.13", "secondary", "data-bastion-ssh-vpn", P),
    ("EC2.14", "secondary", "vendor-support-any", F),
    ("EC2.14", "secondary", "vendor-support", P),
    ("EC2.19", "secondary", "reporting-postgres", F),
    ("EC2.19", "secondary", "reporting-postgres-internal", P),
    ("EC2.8", "secondary", "acme-etl-worker-01", F),
    ("EC2.8", "secondary", "acme-etl-worker-02", P),
    ("Lambda.2", "secondary", "acme-csv-ingest-legacy", F),
    ("Lambda.2", "secondary", "acme-csv-ingest", P),
    ("EKS.1", "secondary", "acme-data-dev-eks", F),
    ("EKS.1", "secondary", "acme-data-prod-eks", P),
    ("SQS.1", "secondary", "acme-ingest-jobs", F),
    ("SQS.1", "secondary", "acme-export-jobs", P),
    ("DynamoDB.2", "secondary", "acme-ingest-checkpoints", F),
    ("DynamoDB.2", "secondary", "acme-data-catalog", P),
    ("CloudTrail.2", "secondary", "acme-data-app-trail", F),
    ("CloudTrail.2", "secondary", "acme-data-security-trail", P),
    ("CloudTrail.4", "secondary", "acme-data-app-trail", F),
    ("CloudTrail.4", "secondary", "acme-data-security-trail", P),
]


def _key(control: str, where: str, name: str) -> str:
    return f"{control}/{REGION_OF[where]}/{name}"


def _id(row: tuple[str, str, str, str]) -> str:
    control, where, name, status = row
    return f"{control}-{where}-{name.replace('/', ':')}-{status}"


# ---------------------------------------------------------------------------------------------
# Fixtures: one seeding per module
# ---------------------------------------------------------------------------------------------


@dataclass
class Seeded:
    aws: LocalAws
    manifest: SampleAccountManifest
    seconds: float
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict)

    def client(self, service: str, region: str = PRIMARY) -> Any:
        if region == "global":
            region = PRIMARY
        if (service, region) not in self._clients:
            client = self.aws.client(service, region)
            if service == "s3control":
                client.meta.events.register("before-sign.s3-control.*", _drop_account_from_host)
            self._clients[service, region] = client
        return self._clients[service, region]


def _drop_account_from_host(request: Any, **_: Any) -> None:
    request.url = re.sub(r"^(https?://)\d{12}\.", r"\1", request.url)


@pytest.fixture(scope="module")
def seeded() -> Iterator[Seeded]:
    with local_aws() as aws:
        started = time.perf_counter()
        manifest = seed_sample_account(aws)
        yield Seeded(aws=aws, manifest=manifest, seconds=time.perf_counter() - started)


# ---------------------------------------------------------------------------------------------
# Independent readers: True when the resource satisfies the control
# ---------------------------------------------------------------------------------------------

OPEN = {"0.0.0.0/0", "::/0"}
HIGH_RISK_PORTS = {20, 21, 22, 23, 25, 110, 135, 143, 445, 1433, 1434, 3000, 3306, 3389, 4333}
HIGH_RISK_PORTS |= {5000, 5432, 5500, 5601, 8080, 8088, 8888, 9200, 9300}
PUBLIC_GRANTEES = {
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
}
# Condition keys that pin a '*' principal down to known callers (AWS does not call those public).
LIMITING_KEYS = {
    "aws:sourcearn",
    "aws:sourceaccount",
    "aws:sourceowner",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:sourceip",
    "aws:principalorgid",
    "aws:principalaccount",
    "aws:principalarn",
}
SUPPORTED_LAMBDA_RUNTIMES = {"python3.11", "python3.12", "python3.13", "nodejs20.x", "nodejs22.x", "java21"}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _document(raw: Any) -> dict[str, Any]:
    return raw if isinstance(raw, dict) else json.loads(raw)


def _missing(error: ClientError, *codes: str) -> bool:
    return error.response["Error"]["Code"] in codes


def _iam_policy_document(s: Seeded, name: str) -> dict[str, Any]:
    iam = s.client("iam")
    policy = next(p for p in iam.list_policies(Scope="Local")["Policies"] if p["PolicyName"] == name)
    version = iam.get_policy_version(PolicyArn=policy["Arn"], VersionId=policy["DefaultVersionId"])
    return _document(version["PolicyVersion"]["Document"])


def _allows(document: dict[str, Any]) -> Iterator[tuple[list[str], list[str]]]:
    for statement in _as_list(document["Statement"]):
        if statement["Effect"] == "Allow":
            yield (
                [a.lower() for a in _as_list(statement.get("Action", []))],
                _as_list(statement.get("Resource", [])),
            )


def no_admin_policy(s: Seeded, item: PlantedItem) -> bool:
    return not any(
        "*" in actions and "*" in resources for actions, resources in _allows(_iam_policy_document(s, item.name))
    )


def no_decrypt_on_all_keys(s: Seeded, item: PlantedItem) -> bool:
    decrypting = {"kms:decrypt", "kms:*", "*"}
    return not any(
        decrypting & set(actions) and "*" in resources
        for actions, resources in _allows(_iam_policy_document(s, item.name))
    )


def no_service_wildcards(s: Seeded, item: PlantedItem) -> bool:
    return not any(a.endswith(":*") for actions, _ in _allows(_iam_policy_document(s, item.name)) for a in actions)


def _password_policy(s: Seeded) -> dict[str, Any] | None:
    try:
        policy: dict[str, Any] = s.client("iam").get_account_password_policy()["PasswordPolicy"]
    except ClientError as error:
        if _missing(error, "NoSuchEntity"):
            return None
        raise
    return policy


def password_length_at_least_14(s: Seeded, item: PlantedItem) -> bool:
    policy = _password_policy(s)
    return policy is not None and policy.get("MinimumPasswordLength", 0) >= 14


def password_reuse_prevented(s: Seeded, item: PlantedItem) -> bool:
    policy = _password_policy(s)
    return policy is not None and policy.get("PasswordReusePrevention", 0) >= 24


def in_an_organization(s: Seeded, item: PlantedItem) -> bool:
    try:
        s.client("organizations").describe_organization()
    except ClientError as error:
        if _missing(error, "AWSOrganizationsNotInUseException"):
            return False
        raise
    return True


def http_redirected_to_https(s: Seeded, item: PlantedItem) -> bool:
    """Every HTTP listener's default action redirects to HTTPS and no rule of it forwards."""
    elb = s.client("elbv2", item.region)
    for listener in elb.describe_listeners(LoadBalancerArn=item.resource_id)["Listeners"]:
        if listener["Protocol"] != "HTTP":
            continue
        default = listener["DefaultActions"]
        if not any(a["Type"] == "redirect" and a["RedirectConfig"]["Protocol"] == "HTTPS" for a in default):
            return False
        rules = elb.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]
        if any(a["Type"] == "forward" for rule in rules for a in rule["Actions"]):
            return False
    return True


def strong_password_policy(s: Seeded, item: PlantedItem) -> bool:
    policy = _password_policy(s)
    if policy is None:
        return False
    return (
        policy.get("MinimumPasswordLength", 0) >= 14
        and all(policy.get(k) for k in ("RequireSymbols", "RequireNumbers", "RequireUppercaseCharacters"))
        and policy.get("RequireLowercaseCharacters", False)
        and policy.get("PasswordReusePrevention", 0) >= 24
        and 0 < policy.get("MaxPasswordAge", 0) <= 90
    )


def console_user_has_mfa(s: Seeded, item: PlantedItem) -> bool:
    iam = s.client("iam")
    try:
        iam.get_login_profile(UserName=item.name)
    except ClientError as error:
        if _missing(error, "NoSuchEntity"):
            return True  # no console access, nothing to protect
        raise
    return bool(iam.list_mfa_devices(UserName=item.name)["MFADevices"])


def no_policies_on_user(s: Seeded, item: PlantedItem) -> bool:
    iam = s.client("iam")
    return not (
        iam.list_attached_user_policies(UserName=item.name)["AttachedPolicies"]
        or iam.list_user_policies(UserName=item.name)["PolicyNames"]
    )


def _block_public_access(s: Seeded, bucket: str | None) -> dict[str, bool]:
    try:
        if bucket is None:
            answer = s.client("s3control").get_public_access_block(AccountId=s.manifest.account_id)
        else:
            answer = s.client("s3").get_public_access_block(Bucket=bucket)
    except ClientError as error:
        if _missing(error, "NoSuchPublicAccessBlockConfiguration"):
            return {}
        raise
    return dict(answer["PublicAccessBlockConfiguration"])


def _fully_blocked(settings: dict[str, bool]) -> bool:
    names = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
    return all(settings.get(name) for name in names)


def account_public_access_blocked(s: Seeded, item: PlantedItem) -> bool:
    return _fully_blocked(_block_public_access(s, None))


def bucket_public_access_blocked(s: Seeded, item: PlantedItem) -> bool:
    return _fully_blocked(_block_public_access(s, item.name))


def _bucket_policy(s: Seeded, bucket: str) -> dict[str, Any] | None:
    try:
        return _document(s.client("s3").get_bucket_policy(Bucket=bucket)["Policy"])
    except ClientError as error:
        if _missing(error, "NoSuchBucketPolicy"):
            return None
        raise


def _public_principal(principal: Any) -> bool:
    if principal == "*":
        return True
    return isinstance(principal, dict) and "*" in _as_list(principal.get("AWS", []))


def _limited(statement: dict[str, Any]) -> bool:
    keys = {key.lower() for operator in statement.get("Condition", {}).values() for key in operator}
    return bool(keys & LIMITING_KEYS)


def _bucket_is_public(s: Seeded, bucket: str, acl_permissions: set[str], actions: set[str]) -> bool:
    blocks = _block_public_access(s, bucket)
    account = _block_public_access(s, None)
    ignore_acls = blocks.get("IgnorePublicAcls") or account.get("IgnorePublicAcls")
    restrict = blocks.get("RestrictPublicBuckets") or account.get("RestrictPublicBuckets")
    grants = s.client("s3").get_bucket_acl(Bucket=bucket)["Grants"]
    by_acl = any(g["Grantee"].get("URI") in PUBLIC_GRANTEES and g["Permission"] in acl_permissions for g in grants)
    policy = _bucket_policy(s, bucket) or {"Statement": []}
    by_policy = any(
        st["Effect"] == "Allow"
        and _public_principal(st.get("Principal"))
        and not _limited(st)
        and actions & {a.lower() for a in _as_list(st["Action"])}
        for st in _as_list(policy["Statement"])
    )
    return bool((by_acl and not ignore_acls) or (by_policy and not restrict))


def bucket_not_publicly_readable(s: Seeded, item: PlantedItem) -> bool:
    return not _bucket_is_public(s, item.name, {"READ", "FULL_CONTROL"}, {"s3:getobject", "s3:*", "*"})


def bucket_not_publicly_writable(s: Seeded, item: PlantedItem) -> bool:
    return not _bucket_is_public(s, item.name, {"WRITE", "FULL_CONTROL"}, {"s3:putobject", "s3:*", "*"})


def bucket_requires_tls(s: Seeded, item: PlantedItem) -> bool:
    policy = _bucket_policy(s, item.name) or {"Statement": []}
    return any(
        st["Effect"] == "Deny"
        and str(st.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport", "")).lower() == "false"
        for st in _as_list(policy["Statement"])
    )


def _group(s: Seeded, item: PlantedItem) -> dict[str, Any]:
    return dict(s.client("ec2", item.region).describe_security_groups(GroupIds=[item.resource_id])["SecurityGroups"][0])


def _open_ranges(group: dict[str, Any]) -> Iterator[tuple[str, int, int]]:
    """(protocol, from, to) of every inbound rule reachable from the whole internet."""
    for rule in group["IpPermissions"]:
        sources = {r["CidrIp"] for r in rule.get("IpRanges", [])} | {r["CidrIpv6"] for r in rule.get("Ipv6Ranges", [])}
        if sources & OPEN:
            protocol = str(rule["IpProtocol"])
            if protocol == "-1":
                yield protocol, 0, 65535
            else:
                yield protocol, int(rule.get("FromPort", 0)), int(rule.get("ToPort", 65535))


def _group_admits(s: Seeded, item: PlantedItem, ports: set[int]) -> bool:
    return any(
        protocol in ("-1", "tcp", "6") and any(low <= port <= high for port in ports)
        for protocol, low, high in _open_ranges(_group(s, item))
    )


def ssh_not_open(s: Seeded, item: PlantedItem) -> bool:
    return not _group_admits(s, item, {22})


def rdp_not_open(s: Seeded, item: PlantedItem) -> bool:
    return not _group_admits(s, item, {3389})


def high_risk_ports_not_open(s: Seeded, item: PlantedItem) -> bool:
    return not _group_admits(s, item, HIGH_RISK_PORTS)


def only_authorised_ports_open(s: Seeded, item: PlantedItem) -> bool:
    return all(
        protocol != "-1" and set(range(low, high + 1)) <= {80, 443}
        for protocol, low, high in _open_ranges(_group(s, item))
    )


def default_group_closed(s: Seeded, item: PlantedItem) -> bool:
    group = _group(s, item)
    return group["GroupName"] == "default" and not group["IpPermissions"] and not group["IpPermissionsEgress"]


def vpc_has_flow_logs(s: Seeded, item: PlantedItem) -> bool:
    flow_logs = s.client("ec2", item.region).describe_flow_logs(
        Filters=[{"Name": "resource-id", "Values": [item.resource_id]}]
    )["FlowLogs"]
    return bool(flow_logs)


def acl_blocks_ssh_and_rdp_from_anywhere(s: Seeded, item: PlantedItem) -> bool:
    acl = s.client("ec2", item.region).describe_network_acls(NetworkAclIds=[item.resource_id])["NetworkAcls"][0]
    inbound = sorted((e for e in acl["Entries"] if not e["Egress"]), key=lambda e: e["RuleNumber"])
    for port in (22, 3389):
        for entry in inbound:
            if (entry.get("CidrBlock") or entry.get("Ipv6CidrBlock")) not in OPEN:
                continue
            if entry["Protocol"] not in ("-1", "6"):
                continue
            ports = entry.get("PortRange", {"From": 0, "To": 65535})
            if ports["From"] <= port <= ports["To"]:
                if entry["RuleAction"] == "allow":
                    return False
                break  # the first matching rule decides
    return True


def _instance(s: Seeded, item: PlantedItem) -> dict[str, Any]:
    reservations = s.client("ec2", item.region).describe_instances(InstanceIds=[item.resource_id])["Reservations"]
    return dict(reservations[0]["Instances"][0])


def imdsv2_required(s: Seeded, item: PlantedItem) -> bool:
    return bool(_instance(s, item)["MetadataOptions"]["HttpTokens"] == "required")


def no_public_ip(s: Seeded, item: PlantedItem) -> bool:
    return not _instance(s, item).get("PublicIpAddress")


def attached_volume_encrypted(s: Seeded, item: PlantedItem) -> bool:
    volume = s.client("ec2", item.region).describe_volumes(VolumeIds=[item.resource_id])["Volumes"][0]
    assert volume["Attachments"], "EC2.3 is about attached volumes; this one is not attached"
    return bool(volume["Encrypted"])


def snapshot_not_public(s: Seeded, item: PlantedItem) -> bool:
    permissions = s.client("ec2", item.region).describe_snapshot_attribute(
        SnapshotId=item.resource_id, Attribute="createVolumePermission"
    )["CreateVolumePermissions"]
    return not any(p.get("Group") == "all" for p in permissions)


def ebs_encrypted_by_default(s: Seeded, item: PlantedItem) -> bool:
    return bool(s.client("ec2", item.region).get_ebs_encryption_by_default()["EbsEncryptionByDefault"])


def guardduty_enabled(s: Seeded, item: PlantedItem) -> bool:
    guardduty = s.client("guardduty", item.region)
    return any(
        guardduty.get_detector(DetectorId=d)["Status"] == "ENABLED" for d in guardduty.list_detectors()["DetectorIds"]
    )


def config_recording(s: Seeded, item: PlantedItem) -> bool:
    statuses = s.client("config", item.region).describe_configuration_recorder_status()["ConfigurationRecordersStatus"]
    return any(status["recording"] for status in statuses)


def multi_region_trail_logging(s: Seeded, item: PlantedItem) -> bool:
    for region in s.manifest.regions:
        cloudtrail = s.client("cloudtrail", region)
        for trail in cloudtrail.describe_trails(includeShadowTrails=True)["trailList"]:
            if trail["IsMultiRegionTrail"] and cloudtrail.get_trail_status(Name=trail["TrailARN"])["IsLogging"]:
                return True
    return False


def _trail(s: Seeded, item: PlantedItem) -> dict[str, Any]:
    # get_trail, not describe_trails(trailNameList=...): moto ignores that filter.
    return dict(s.client("cloudtrail", item.region).get_trail(Name=item.resource_id)["Trail"])


def trail_encrypted(s: Seeded, item: PlantedItem) -> bool:
    return bool(_trail(s, item).get("KmsKeyId"))


def trail_validated(s: Seeded, item: PlantedItem) -> bool:
    return bool(_trail(s, item)["LogFileValidationEnabled"])


def _db(s: Seeded, item: PlantedItem) -> dict[str, Any]:
    return dict(
        s.client("rds", item.region).describe_db_instances(DBInstanceIdentifier=item.resource_id)["DBInstances"][0]
    )


def db_not_public(s: Seeded, item: PlantedItem) -> bool:
    return not _db(s, item)["PubliclyAccessible"]


def db_encrypted(s: Seeded, item: PlantedItem) -> bool:
    return bool(_db(s, item)["StorageEncrypted"])


def db_snapshot_private(s: Seeded, item: PlantedItem) -> bool:
    attributes = s.client("rds", item.region).describe_db_snapshot_attributes(DBSnapshotIdentifier=item.resource_id)
    restore = [
        value
        for attribute in attributes["DBSnapshotAttributesResult"]["DBSnapshotAttributes"]
        if attribute["AttributeName"] == "restore"
        for value in attribute["AttributeValues"]
    ]
    return "all" not in restore


def key_rotates(s: Seeded, item: PlantedItem) -> bool:
    return bool(s.client("kms", item.region).get_key_rotation_status(KeyId=item.resource_id)["KeyRotationEnabled"])


def key_not_pending_deletion(s: Seeded, item: PlantedItem) -> bool:
    metadata = s.client("kms", item.region).describe_key(KeyId=item.resource_id)["KeyMetadata"]
    return bool(metadata["KeyState"] != "PendingDeletion")


def function_not_public(s: Seeded, item: PlantedItem) -> bool:
    try:
        policy = _document(s.client("lambda", item.region).get_policy(FunctionName=item.resource_id)["Policy"])
    except ClientError as error:
        if _missing(error, "ResourceNotFoundException"):
            return True
        raise
    return not any(
        st["Effect"] == "Allow" and _public_principal(st.get("Principal")) and not _limited(st)
        for st in _as_list(policy["Statement"])
    )


def runtime_supported(s: Seeded, item: PlantedItem) -> bool:
    configuration = s.client("lambda", item.region).get_function_configuration(FunctionName=item.resource_id)
    return configuration["Runtime"] in SUPPORTED_LAMBDA_RUNTIMES


def secret_rotates(s: Seeded, item: PlantedItem) -> bool:
    return bool(
        s.client("secretsmanager", item.region).describe_secret(SecretId=item.resource_id).get("RotationEnabled")
    )


def _repository(s: Seeded, item: PlantedItem) -> dict[str, Any]:
    return dict(
        s.client("ecr", item.region).describe_repositories(repositoryNames=[item.resource_id])["repositories"][0]
    )


def repository_scans_on_push(s: Seeded, item: PlantedItem) -> bool:
    return bool(_repository(s, item)["imageScanningConfiguration"]["scanOnPush"])


def repository_tags_immutable(s: Seeded, item: PlantedItem) -> bool:
    return bool(_repository(s, item)["imageTagMutability"] == "IMMUTABLE")


def cluster_endpoint_private(s: Seeded, item: PlantedItem) -> bool:
    cluster = s.client("eks", item.region).describe_cluster(name=item.resource_id)["cluster"]
    return not cluster["resourcesVpcConfig"]["endpointPublicAccess"]


def topic_encrypted(s: Seeded, item: PlantedItem) -> bool:
    attributes = s.client("sns", item.region).get_topic_attributes(TopicArn=item.resource_id)["Attributes"]
    return bool(attributes.get("KmsMasterKeyId"))


def queue_encrypted(s: Seeded, item: PlantedItem) -> bool:
    sqs = s.client("sqs", item.region)
    url = sqs.get_queue_url(QueueName=item.resource_id)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return bool(attributes.get("KmsMasterKeyId")) or attributes.get("SqsManagedSseEnabled") == "true"


def table_has_pitr(s: Seeded, item: PlantedItem) -> bool:
    backups = s.client("dynamodb", item.region).describe_continuous_backups(TableName=item.resource_id)
    description = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    return bool(description["PointInTimeRecoveryStatus"] == "ENABLED")


def file_system_encrypted(s: Seeded, item: PlantedItem) -> bool:
    systems = s.client("efs", item.region).describe_file_systems(FileSystemId=item.resource_id)["FileSystems"]
    return bool(systems[0]["Encrypted"])


# A name that says secret with a literal value (not an ARN, not a shell expansion), or an access key id.
_SECRET_NAME = re.compile(r"PASSWORD|SECRET_ACCESS_KEY|API_KEY|TOKEN", re.IGNORECASE)


def _holds_secret(name: str, value: str) -> bool:
    value = value.strip("'\"")
    named = bool(_SECRET_NAME.search(name)) and bool(value) and not value.startswith(("arn:", "$"))
    return named or value.startswith("AKIA")


def environment_holds_no_secret(s: Seeded, item: PlantedItem) -> bool:
    configuration = s.client("lambda", item.region).get_function_configuration(FunctionName=item.resource_id)
    variables: dict[str, str] = configuration.get("Environment", {}).get("Variables", {})
    return not any(_holds_secret(name, value) for name, value in variables.items())


def user_data_holds_no_secret(s: Seeded, item: PlantedItem) -> bool:
    attribute = s.client("ec2", item.region).describe_instance_attribute(
        InstanceId=item.resource_id, Attribute="userData"
    )
    script = base64.b64decode(attribute["UserData"].get("Value", "")).decode("utf-8")
    assignments = (re.match(r"\s*(?:export\s+)?([A-Za-z_]+)=(.*)", line) for line in script.splitlines())
    return not any(m and _holds_secret(m.group(1), m.group(2)) for m in assignments)


def document_not_public(s: Seeded, item: PlantedItem) -> bool:
    permission = s.client("ssm", item.region).describe_document_permission(
        Name=item.resource_id, PermissionType="Share"
    )
    return "all" not in {account.lower() for account in permission["AccountIds"]}


READERS: dict[str, Callable[[Seeded, PlantedItem], bool]] = {
    "IAM.1": no_admin_policy,
    "IAM.2": no_policies_on_user,
    "IAM.5": console_user_has_mfa,
    "IAM.7": strong_password_policy,
    "IAM.15": password_length_at_least_14,
    "IAM.16": password_reuse_prevented,
    "IAM.21": no_service_wildcards,
    "KMS.1": no_decrypt_on_all_keys,
    "KMS.3": key_not_pending_deletion,
    "KMS.4": key_rotates,
    "S3.1": account_public_access_blocked,
    "S3.2": bucket_not_publicly_readable,
    "S3.3": bucket_not_publicly_writable,
    "S3.5": bucket_requires_tls,
    "S3.8": bucket_public_access_blocked,
    "EC2.1": snapshot_not_public,
    "EC2.2": default_group_closed,
    "EC2.3": attached_volume_encrypted,
    "EC2.6": vpc_has_flow_logs,
    "EC2.7": ebs_encrypted_by_default,
    "EC2.8": imdsv2_required,
    "EC2.9": no_public_ip,
    "EC2.13": ssh_not_open,
    "EC2.14": rdp_not_open,
    "EC2.18": only_authorised_ports_open,
    "EC2.19": high_risk_ports_not_open,
    "EC2.21": acl_blocks_ssh_and_rdp_from_anywhere,
    "CloudTrail.1": multi_region_trail_logging,
    "CloudTrail.2": trail_encrypted,
    "CloudTrail.4": trail_validated,
    "GuardDuty.1": guardduty_enabled,
    "Config.1": config_recording,
    "RDS.1": db_snapshot_private,
    "RDS.2": db_not_public,
    "RDS.3": db_encrypted,
    "Lambda.1": function_not_public,
    "Lambda.2": runtime_supported,
    "SecretsManager.1": secret_rotates,
    "ECR.1": repository_scans_on_push,
    "ECR.2": repository_tags_immutable,
    "EKS.1": cluster_endpoint_private,
    "SNS.1": topic_encrypted,
    "SQS.1": queue_encrypted,
    "DynamoDB.2": table_has_pitr,
    "EFS.1": file_system_encrypted,
    "SSM.4": document_not_public,
    "Account.2": in_an_organization,
    "ELB.1": http_redirected_to_https,
    "ESA.1": environment_holds_no_secret,
    "ESA.2": user_data_holds_no_secret,
}


# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("row", EXPECTED, ids=_id)
def test_planted_item_reads_back_as_planted(seeded: Seeded, row: tuple[str, str, str, str]) -> None:
    control, where, name, status = row
    item = seeded.manifest.get(_key(control, where, name))
    assert item.expected_status is FindingStatus(status)

    compliant = READERS[control](seeded, item)

    if status == F:
        assert not compliant, f"{item.key} should be misconfigured: {item.description}"
    else:
        assert compliant, f"{item.key} should be correctly configured: {item.description}"


def test_manifest_lists_exactly_the_expected_items(seeded: Seeded) -> None:
    expected = {_key(c, w, n): s for c, w, n, s in EXPECTED}
    actual = {item.key: item.expected_status.value for item in seeded.manifest.items}
    assert actual == expected


def test_at_least_25_distinct_failing_controls_each_with_a_twin_or_a_reason(seeded: Seeded) -> None:
    manifest = seeded.manifest
    assert len(manifest.control_ids(FindingStatus.FAIL)) >= 25
    for item in manifest.failing():
        twin = manifest.twin_for(item)
        if twin is None:
            assert item.no_twin_reason, f"{item.key} has no twin and no reason"
            continue
        assert (twin.control_id, twin.resource_type) == (item.control_id, item.resource_type)
        if twin.region != item.region:  # only per-region account switches twin across regions
            assert item.resource_type == "AWS::::Account", item.key


def test_every_failing_control_has_a_reader_here(seeded: Seeded) -> None:
    assert seeded.manifest.control_ids() <= set(READERS)


def test_manifest_is_written_and_round_trips(seeded: Seeded, tmp_path: Path) -> None:
    written = SampleAccountManifest.read(seeded.aws.home / MANIFEST_FILENAME)
    assert written == seeded.manifest
    assert SampleAccountManifest.read(seeded.manifest.write(tmp_path / "m.json")) == seeded.manifest
    assert seeded.manifest.regions == (PRIMARY, SECONDARY)


def test_resources_carry_the_company_tags(seeded: Seeded) -> None:
    required = {"Environment", "Owner", "CostCenter"}
    s3 = seeded.client("s3")
    for bucket in s3.list_buckets()["Buckets"]:
        tags = {t["Key"] for t in s3.get_bucket_tagging(Bucket=bucket["Name"])["TagSet"]}
        assert required <= tags, bucket["Name"]
    for region in (PRIMARY, SECONDARY):
        ec2 = seeded.client("ec2", region)
        for reservation in ec2.describe_instances()["Reservations"]:
            for instance in reservation["Instances"]:
                assert required | {"Name"} <= {t["Key"] for t in instance.get("Tags", [])}
        for group in ec2.describe_security_groups()["SecurityGroups"]:
            if group["GroupName"] != "default":
                assert required <= {t["Key"] for t in group.get("Tags", [])}, group["GroupName"]
    for user in seeded.client("iam").list_users()["Users"]:
        tags = {t["Key"] for t in seeded.client("iam").list_user_tags(UserName=user["UserName"])["Tags"]}
        assert required <= tags, user["UserName"]


def test_seeding_finishes_and_reports_its_time(seeded: Seeded) -> None:
    # A time, not a limit: machines here are shared, so speed is measured (the demo prints it and
    # the README quotes it), never asserted.
    print(f"sample account seeded in {seeded.seconds:.2f}s")
    assert seeded.seconds > 0


def test_seeding_an_already_seeded_account_is_refused_before_any_change(seeded: Seeded) -> None:
    with pytest.raises(SampleAccountError, match="already seeded"):
        seed_sample_account(seeded.aws, manifest_path=Path("/nonexistent/never-written.json"))


def test_regions_must_be_two_distinct_ones(seeded: Seeded) -> None:
    with pytest.raises(SampleAccountError, match="two distinct regions"):
        seed_sample_account(seeded.aws, regions=(PRIMARY, PRIMARY))
