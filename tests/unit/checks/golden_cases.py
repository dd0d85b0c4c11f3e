"""The golden cases: what `capture_golden.py` creates in moto for each service, and why.

Every service has a passing case, a failing case, an empty account (or, for the Account service,
an unsupported API), a many-resources case that mixes passing and failing resources, and a
permission-denied case that must give MANUAL, never FAIL. Names follow a fictional company so the
evidence reads like a real account. Where moto cannot express a fact, the case's `rewrite` edits the
recorded response, and the description says exactly what was edited.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from agent_config.checks.evidence import ApiCall
from agent_config.sandbox.local_aws import SANDBOX_ACCOUNT_ID, LocalAws

PRIMARY, SECONDARY = "us-east-1", "eu-west-1"
ACCOUNT = SANDBOX_ACCOUNT_ID
PARTNER = "444455556666"
ORG_ID = "o-acme4x9k2p7"
AMI = "ami-12c6146b"  # one of moto's built-in images

Rewrite = Callable[[ApiCall, dict[str, Any]], dict[str, Any]]


@dataclass
class Case:
    name: str
    description: str
    setup: Callable[[LocalAws], object]
    """Creates the case's resources; its return value is ignored."""
    regions: tuple[str, ...] = (PRIMARY,)
    deny: frozenset[tuple[str, str]] = frozenset()
    """(CLI service, operation) pairs answered with the service's access-denied error."""
    unsupported: frozenset[tuple[str, str]] = frozenset()
    """(CLI service, operation) pairs answered with NotImplemented."""
    rewrite: Rewrite | None = None


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def days_ago(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).replace(microsecond=0).isoformat()


def calls(*pairs: str) -> frozenset[tuple[str, str]]:
    """'iam get-login-profile' -> ('iam', 'get-login-profile')."""
    result: set[tuple[str, str]] = set()
    for pair in pairs:
        service, operation = pair.split(" ", 1)
        result.add((service, operation))
    return frozenset(result)


def zipped_handler() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return 1\n")
    return buffer.getvalue()


def service_role(aws: LocalAws, name: str, service: str) -> str:
    trust = policy({"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"})
    return str(aws.client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"])


def each(create: Callable[..., object], *arguments: tuple[Any, ...]) -> Callable[[LocalAws], None]:
    """A set-up calling `create(aws, *args)` once per argument tuple, in order."""

    def setup(aws: LocalAws) -> None:
        for args in arguments:
            create(aws, *args)

    return setup


def nothing(aws: LocalAws) -> None:
    """A fresh account: only what AWS (and moto) create by themselves."""


# =============================================================================================
# IAM
# =============================================================================================


def _strong_password_policy(iam: Any) -> None:
    iam.update_account_password_policy(
        MinimumPasswordLength=16,
        RequireSymbols=True,
        RequireNumbers=True,
        RequireUppercaseCharacters=True,
        RequireLowercaseCharacters=True,
        AllowUsersToChangePassword=True,
        MaxPasswordAge=90,
        PasswordReusePrevention=24,
    )


def _console_user(iam: Any, name: str, mfa: bool, group: str | None = None) -> None:
    iam.create_user(UserName=name)
    iam.create_login_profile(UserName=name, Password="Sandbox-only-Passw0rd!", PasswordResetRequired=False)
    if mfa:
        serial = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]["SerialNumber"]
        iam.enable_mfa_device(
            UserName=name, SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321"
        )
    if group:
        iam.add_user_to_group(GroupName=group, UserName=name)


def _managed(iam: Any, name: str, *statements: dict[str, Any]) -> str:
    return str(iam.create_policy(PolicyName=name, PolicyDocument=policy(*statements))["Policy"]["Arn"])


def iam_passing(aws: LocalAws) -> None:
    iam = aws.client("iam")
    _strong_password_policy(iam)
    read_only = _managed(
        iam,
        "AcmeAppReadOnly",
        {
            "Sid": "ReadAppData",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": ["arn:aws:s3:::acme-app-data", "arn:aws:s3:::acme-app-data/*"],
        },
    )
    iam.create_group(GroupName="acme-app-readers")
    iam.attach_group_policy(GroupName="acme-app-readers", PolicyArn=read_only)
    _console_user(iam, "alice", mfa=True, group="acme-app-readers")
    iam.create_user(UserName="svc-app")
    iam.add_user_to_group(GroupName="acme-app-readers", UserName="svc-app")
    iam.create_access_key(UserName="svc-app")


def root_mfa_on(call: ApiCall, response: dict[str, Any]) -> dict[str, Any]:
    """moto hard-codes the root user's MFA off; this account's root user has a hardware device."""
    if call.operation == "get-account-summary":
        response["SummaryMap"]["AccountMFAEnabled"] = 1
    return response


def iam_failing(aws: LocalAws) -> None:
    iam = aws.client("iam")
    iam.update_account_password_policy(MinimumPasswordLength=8, RequireLowercaseCharacters=True)
    admin = _managed(iam, "AcmeLegacyAdmin", {"Sid": "Everything", "Effect": "Allow", "Action": "*", "Resource": "*"})
    _managed(iam, "AcmeDataLakeFull", {"Sid": "Lake", "Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    _managed(
        iam,
        "AcmeDecryptEverything",
        {
            "Sid": "Decrypt",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": "*",
        },
    )
    _console_user(iam, "bob", mfa=False)
    iam.attach_user_policy(UserName="bob", PolicyArn=admin)
    iam.put_user_policy(
        UserName="bob",
        PolicyName="bob-extra",
        PolicyDocument=policy({"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}),
    )
    iam.create_access_key(UserName="bob")


def iam_failing_rewrite(call: ApiCall, response: dict[str, Any]) -> dict[str, Any]:
    """Root access key present; bob's key created 200 days ago and last used 120 days ago; his
    password set 150 days ago and never used (moto dates everything "now" and has no root keys)."""
    if call.operation == "get-account-summary":
        response["SummaryMap"]["AccountAccessKeysPresent"] = 1
    if call.operation == "list-access-keys":
        for key in response["AccessKeyMetadata"]:
            key["CreateDate"] = days_ago(200)
    if call.operation == "get-access-key-last-used":
        response["AccessKeyLastUsed"].update(LastUsedDate=days_ago(120), ServiceName="s3", Region=PRIMARY)
    if call.operation == "get-login-profile":
        response["LoginProfile"]["CreateDate"] = days_ago(150)
    return response


def iam_many(aws: LocalAws) -> None:
    iam = aws.client("iam")
    iam.update_account_password_policy(
        MinimumPasswordLength=14,
        RequireSymbols=True,
        RequireNumbers=True,
        RequireUppercaseCharacters=True,
        RequireLowercaseCharacters=True,
        MaxPasswordAge=365,
        PasswordReusePrevention=5,
    )
    admin = _managed(iam, "AcmeAdminAll", {"Sid": "Admin", "Effect": "Allow", "Action": ["*"], "Resource": ["*"]})
    _managed(iam, "AcmeS3Wildcard", {"Effect": "Allow", "Action": ["s3:*", "sqs:SendMessage"], "Resource": "*"})
    _managed(iam, "AcmeKmsAllDecrypt", {"Sid": "AllKeys", "Effect": "Allow", "Action": "kms:*", "Resource": "*"})
    scoped = _managed(
        iam,
        "AcmeScopedDecrypt",
        {
            "Sid": "OneKey",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": f"arn:aws:kms:{PRIMARY}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        },
    )
    _managed(
        iam,
        "AcmeEverythingButIam",
        {"Sid": "NotIam", "Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
        {
            "Sid": "DenyDelete",
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {"Bool": {"x": "y"}},
        },
    )
    iam.create_group(GroupName="acme-engineers")
    iam.attach_group_policy(GroupName="acme-engineers", PolicyArn=scoped)
    _console_user(iam, "alice", mfa=True, group="acme-engineers")
    _console_user(iam, "bob", mfa=False, group="acme-engineers")
    iam.create_user(UserName="ci-deploy")
    iam.attach_user_policy(UserName="ci-deploy", PolicyArn=admin)
    iam.create_access_key(UserName="ci-deploy")
    iam.create_user(UserName="svc-reporting")
    iam.add_user_to_group(GroupName="acme-engineers", UserName="svc-reporting")
    iam.create_access_key(UserName="svc-reporting")
    iam.create_user(UserName="svc-billing-export")
    iam.add_user_to_group(GroupName="acme-engineers", UserName="svc-billing-export")
    iam.create_access_key(UserName="svc-billing-export")
    _console_user(iam, "old-contractor", mfa=True)
    key = iam.create_access_key(UserName="old-contractor")["AccessKey"]["AccessKeyId"]
    iam.update_access_key(UserName="old-contractor", AccessKeyId=key, Status="Inactive")
    iam.create_user(UserName="no-credentials")


def iam_many_rewrite(call: ApiCall, response: dict[str, Any]) -> dict[str, Any]:
    """ci-deploy's key is 120 days old but was used 2 days ago; svc-billing-export's key is 80 days
    old and was last used 60 days ago (stale for IAM.22's 45 days, not for IAM.8's 90);
    old-contractor last signed in 200 days ago (moto dates everything "now" and records no use)."""
    user = call.parameter("user-name")
    created = {"ci-deploy": 120, "svc-billing-export": 80}
    last_used = {"ci-deploy": (2, "ecr"), "svc-billing-export": (60, "s3")}
    if call.operation == "list-access-keys" and user in created:
        for key in response["AccessKeyMetadata"]:
            key["CreateDate"] = days_ago(created[user])
    owner = response.get("UserName")
    if call.operation == "get-access-key-last-used" and owner in last_used:
        days, service = last_used[owner]
        response["AccessKeyLastUsed"].update(LastUsedDate=days_ago(days), ServiceName=service, Region=PRIMARY)
    if call.operation == "list-users":
        for entry in response["Users"]:
            if entry["UserName"] == "old-contractor":
                entry["PasswordLastUsed"] = days_ago(200)
                entry["CreateDate"] = days_ago(400)
    return response


def iam_denied(aws: LocalAws) -> None:
    iam = aws.client("iam")
    _managed(iam, "AcmeAppReadOnly", {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})
    _console_user(iam, "alice", mfa=True)
    iam.create_user(UserName="svc-app")
    iam.create_access_key(UserName="svc-app")


IAM_CASES = [
    Case(
        "passing",
        "Strong password policy; a console user with MFA and a service user, both permissioned through a "
        "group; one scoped customer policy. Edited: get-account-summary AccountMFAEnabled=1 (moto "
        "hard-codes root MFA off); the only virtual MFA device belongs to alice, so root MFA is hardware.",
        iam_passing,
        rewrite=root_mfa_on,
    ),
    Case(
        "failing",
        "Weak password policy; '*:*', 's3:*' and decrypt-everything policies; bob has a console password "
        "without MFA, an admin policy and an inline policy attached directly, and an access key. Edited: "
        "root access key present; bob's key 200 days old, last used 120 days ago; his password set 150 "
        "days ago and never used.",
        iam_failing,
        rewrite=iam_failing_rewrite,
    ),
    Case(
        "empty",
        "A fresh account: no users, no customer policies, no password policy (NoSuchEntity).",
        nothing,
    ),
    Case(
        "many",
        "Seven users and five policies mixing passing and failing: MFA and no MFA, a directly attached "
        "admin policy, an old key in recent use, a key idle for 60 days (IAM.22 fails, IAM.8 passes), an "
        "inactive key, a stale password, a user with no credentials; '*' on '*', a service wildcard, "
        "kms:* on everything, a key-scoped decrypt and a NotAction policy; a password policy of length "
        "14 remembering only 5 passwords (IAM.15 passes, IAM.16 fails). Edited: ci-deploy's key 120 "
        "days old but used 2 days ago; svc-billing-export's key 80 days old, last used 60 days ago; "
        "old-contractor's password last used 200 days ago.",
        iam_many,
        rewrite=iam_many_rewrite,
    ),
    Case(
        "denied",
        "The auditor may list users and policies but is denied iam:GetAccountSummary, "
        "iam:GetAccountPasswordPolicy, iam:GetLoginProfile, iam:ListAttachedUserPolicies and "
        "iam:GetPolicyVersion (synthesised AccessDenied): those controls must be MANUAL, never FAIL.",
        iam_denied,
        deny=calls(
            "iam get-account-summary",
            "iam get-account-password-policy",
            "iam get-login-profile",
            "iam list-attached-user-policies",
            "iam get-policy-version",
        ),
    ),
]


# =============================================================================================
# S3
# =============================================================================================

ALL_BPA = {flag: True for flag in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")}


def _s3control(aws: LocalAws) -> Any:
    import re

    client = aws.client("s3control")

    def strip(request: Any, **_: Any) -> None:
        scheme, sep, rest = request.url.partition("://")
        request.url = scheme + sep + re.sub(r"^\d{12}\.", "", rest, count=1)

    client.meta.events.register("before-sign.s3-control.*", strip)
    return client


def _tls_only(bucket: str, *extra: dict[str, Any]) -> str:
    return policy(
        *extra,
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    )


def _bucket(aws: LocalAws, name: str, region: str = PRIMARY) -> Any:
    s3 = aws.client("s3", region)
    if region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
    return s3


def _log_to(s3: Any, bucket: str, target: str) -> None:
    s3.put_bucket_logging(
        Bucket=bucket,
        BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": target, "TargetPrefix": f"{bucket}/"}},
    )


def s3_passing(aws: LocalAws) -> None:
    s3 = _bucket(aws, "acme-app-data")
    _bucket(aws, "acme-access-logs")
    for name in ("acme-app-data", "acme-access-logs"):
        s3.put_bucket_acl(Bucket=name, ACL="log-delivery-write")
    _log_to(s3, "acme-app-data", "acme-access-logs")
    _log_to(s3, "acme-access-logs", "acme-app-data")
    for name in ("acme-app-data", "acme-access-logs"):
        s3.put_bucket_policy(Bucket=name, Policy=_tls_only(name))
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=ALL_BPA)
    _s3control(aws).put_public_access_block(AccountId=ACCOUNT, PublicAccessBlockConfiguration=ALL_BPA)


def s3_failing(aws: LocalAws) -> None:
    s3 = _bucket(aws, "acme-public-site")
    s3.put_bucket_acl(Bucket="acme-public-site", ACL="public-read")
    _bucket(aws, "acme-dropbox")
    s3.put_bucket_acl(Bucket="acme-dropbox", GrantWrite="uri=http://acs.amazonaws.com/groups/global/AuthenticatedUsers")
    s3.put_bucket_policy(
        Bucket="acme-dropbox",
        Policy=policy(
            {
                "Sid": "AnyoneMayUpload",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": "s3:PutObject",
                "Resource": "arn:aws:s3:::acme-dropbox/*",
            }
        ),
    )


def s3_many(aws: LocalAws) -> None:
    s3 = _bucket(aws, "acme-legacy-acl")
    s3.put_bucket_acl(Bucket="acme-legacy-acl", ACL="public-read")
    _bucket(aws, "acme-open-policy")
    s3.put_bucket_policy(
        Bucket="acme-open-policy",
        Policy=_tls_only(
            "acme-open-policy",
            {
                "Sid": "PublicRead",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::acme-open-policy/*",
            },
        ),
    )
    _bucket(aws, "acme-vpn-only")
    s3.put_bucket_policy(
        Bucket="acme-vpn-only",
        Policy=policy(
            {
                "Sid": "VpnRead",
                "Effect": "Allow",
                "Principal": "*",
                "Action": ["s3:GetObject", "s3:ListBucket"],
                "Resource": ["arn:aws:s3:::acme-vpn-only", "arn:aws:s3:::acme-vpn-only/*"],
                "Condition": {"IpAddress": {"aws:SourceIp": "10.8.0.0/16"}},
            }
        ),
    )
    _bucket(aws, "acme-partner-drop")
    s3.put_bucket_policy(
        Bucket="acme-partner-drop",
        Policy=_tls_only(
            "acme-partner-drop",
            {
                "Sid": "PartnerUpload",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{PARTNER}:root"},
                "Action": "s3:PutObject",
                "Resource": "arn:aws:s3:::acme-partner-drop/*",
            },
        ),
    )
    s3.put_public_access_block(Bucket="acme-partner-drop", PublicAccessBlockConfiguration=ALL_BPA)
    eu = _bucket(aws, "acme-eu-archive", SECONDARY)
    eu.put_bucket_acl(Bucket="acme-eu-archive", ACL="log-delivery-write")
    _log_to(eu, "acme-eu-archive", "acme-eu-archive")
    eu.put_bucket_policy(Bucket="acme-eu-archive", Policy=_tls_only("acme-eu-archive"))
    eu.put_public_access_block(Bucket="acme-eu-archive", PublicAccessBlockConfiguration=ALL_BPA)
    _s3control(aws).put_public_access_block(
        AccountId=ACCOUNT,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": False,
            "RestrictPublicBuckets": False,
        },
    )


def s3_denied(aws: LocalAws) -> None:
    s3 = _bucket(aws, "acme-locked-down")
    s3.put_public_access_block(Bucket="acme-locked-down", PublicAccessBlockConfiguration=ALL_BPA)
    _bucket(aws, "acme-unknown")


S3_CASES = [
    Case(
        "passing",
        "Account-level Block Public Access on; two buckets with all four bucket-level settings, a TLS-only "
        "policy, and server access logging to each other (log-delivery ACLs are not public).",
        s3_passing,
    ),
    Case(
        "failing",
        "No account-level Block Public Access; acme-public-site is public-read by ACL; acme-dropbox lets "
        "AuthenticatedUsers write by ACL and anyone upload by policy; neither has a TLS policy, bucket-level "
        "Block Public Access or logging.",
        s3_failing,
    ),
    Case("empty", "No buckets and no account-level Block Public Access configuration.", nothing),
    Case(
        "many",
        "Account BPA blocks and ignores public ACLs but not policies. acme-legacy-acl: public-read ACL "
        "neutralised by IgnorePublicAcls; acme-open-policy: public GetObject policy (not neutralised); "
        "acme-vpn-only: public principal restricted by aws:SourceIp; acme-partner-drop: a named partner "
        "account, TLS-only, bucket BPA on; acme-eu-archive in eu-west-1, fully configured.",
        s3_many,
    ),
    Case(
        "denied",
        "The auditor may list buckets but is denied s3:GetBucketPolicy, s3:GetBucketAcl and the account's "
        "s3:GetAccountPublicAccessBlock (synthesised AccessDenied). acme-locked-down's bucket-level BPA "
        "still proves it is not public; acme-unknown's public access must be MANUAL.",
        s3_denied,
        deny=calls("s3api get-bucket-policy", "s3api get-bucket-acl", "s3control get-public-access-block"),
    ),
]


# =============================================================================================
# EC2
# =============================================================================================


def _lock_down_defaults(ec2: Any) -> None:
    """Empty every default security group and let default NACLs admit HTTPS only."""
    for group in ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["default"]}])[
        "SecurityGroups"
    ]:
        if group["IpPermissionsEgress"]:
            ec2.revoke_security_group_egress(GroupId=group["GroupId"], IpPermissions=group["IpPermissionsEgress"])
        if group["IpPermissions"]:
            ec2.revoke_security_group_ingress(GroupId=group["GroupId"], IpPermissions=group["IpPermissions"])
    for acl in ec2.describe_network_acls()["NetworkAcls"]:
        ec2.replace_network_acl_entry(
            NetworkAclId=acl["NetworkAclId"],
            RuleNumber=100,
            Protocol="6",
            RuleAction="allow",
            Egress=False,
            CidrBlock="0.0.0.0/0",
            PortRange={"From": 443, "To": 443},
        )


def _flow_logs(aws: LocalAws, ec2: Any, vpc_ids: list[str], traffic: str = "ALL") -> None:
    if "acme-flow-logs" not in [b["Name"] for b in aws.client("s3").list_buckets()["Buckets"]]:
        _bucket(aws, "acme-flow-logs")
    ec2.create_flow_logs(
        ResourceIds=vpc_ids,
        ResourceType="VPC",
        TrafficType=traffic,
        LogDestinationType="s3",
        LogDestination="arn:aws:s3:::acme-flow-logs",
    )


def _private_vpc(ec2: Any, cidr: str = "10.0.0.0/16") -> tuple[str, str]:
    vpc = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=cidr.replace(".0.0/16", ".1.0/24"))["Subnet"]["SubnetId"]
    return vpc, subnet


def _instance(ec2: Any, *, subnet: str | None, tokens: str, encrypted: bool, groups: list[str] | None = None) -> str:
    kwargs: dict[str, Any] = {
        "ImageId": AMI,
        "MinCount": 1,
        "MaxCount": 1,
        "MetadataOptions": {"HttpTokens": tokens, "HttpEndpoint": "enabled"},
        "BlockDeviceMappings": [{"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 8, "Encrypted": encrypted}}],
    }
    if subnet:
        kwargs["SubnetId"] = subnet
    if groups:
        kwargs["SecurityGroupIds"] = groups
    return str(ec2.run_instances(**kwargs)["Instances"][0]["InstanceId"])


def _group(ec2: Any, name: str, vpc: str, *permissions: dict[str, Any]) -> str:
    group = ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"]
    ec2.revoke_security_group_egress(
        GroupId=group, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    )
    if permissions:
        ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=list(permissions))
    return str(group)


def tcp(low: int, high: int | None = None, *, v4: str | None = "0.0.0.0/0", v6: str | None = None) -> dict[str, Any]:
    rule: dict[str, Any] = {"IpProtocol": "tcp", "FromPort": low, "ToPort": high or low}
    if v4:
        rule["IpRanges"] = [{"CidrIp": v4}]
    if v6:
        rule["Ipv6Ranges"] = [{"CidrIpv6": v6}]
    return rule


def _snapshot(ec2: Any, *, encrypted: bool, share: str | None) -> str:
    volume = ec2.create_volume(Size=1, AvailabilityZone=f"{PRIMARY}a", Encrypted=encrypted)["VolumeId"]
    snapshot = str(ec2.create_snapshot(VolumeId=volume, Description="backup")["SnapshotId"])
    if share == "all":
        ec2.modify_snapshot_attribute(
            SnapshotId=snapshot, Attribute="createVolumePermission", OperationType="add", GroupNames=["all"]
        )
    elif share:
        ec2.modify_snapshot_attribute(
            SnapshotId=snapshot, Attribute="createVolumePermission", OperationType="add", UserIds=[share]
        )
    return snapshot


def ec2_passing(aws: LocalAws) -> None:
    ec2 = aws.client("ec2")
    ec2.enable_ebs_encryption_by_default()
    vpc, subnet = _private_vpc(ec2)
    default_vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    _flow_logs(aws, ec2, [vpc, default_vpc])
    _lock_down_defaults(ec2)
    web = _group(ec2, "acme-web", vpc, tcp(443, v6="::/0"), tcp(22, v4="10.8.0.0/16"))
    _instance(ec2, subnet=subnet, tokens="required", encrypted=True, groups=[web])
    _snapshot(ec2, encrypted=True, share=PARTNER)


def ec2_failing(aws: LocalAws) -> None:
    ec2 = aws.client("ec2")
    default_vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    legacy = _group(
        ec2,
        "acme-legacy-admin",
        default_vpc,
        tcp(22),
        tcp(3389, v4=None, v6="::/0"),
        tcp(3306),
        {"IpProtocol": "udp", "FromPort": 53, "ToPort": 53, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
    )
    _group(ec2, "acme-wide-open", default_vpc, {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]})
    _instance(ec2, subnet=None, tokens="optional", encrypted=False, groups=[legacy])
    _snapshot(ec2, encrypted=False, share="all")


def ec2_many(aws: LocalAws) -> None:
    ec2 = aws.client("ec2")
    default_vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    vpc, subnet = _private_vpc(ec2, "10.1.0.0/16")
    _flow_logs(aws, ec2, [default_vpc], traffic="REJECT")
    _flow_logs(aws, ec2, [vpc], traffic="ACCEPT")
    https = _group(ec2, "acme-https", vpc, tcp(443, v6="::/0"))
    _group(ec2, "acme-web-range", vpc, tcp(80, 443))
    _group(ec2, "acme-jenkins", vpc, tcp(8080))
    _group(
        ec2,
        "acme-sql-browser",
        vpc,
        {"IpProtocol": "udp", "FromPort": 1434, "ToPort": 1434, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
    )
    _group(
        ec2,
        "acme-ping",
        vpc,
        {"IpProtocol": "icmp", "FromPort": 8, "ToPort": -1, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
    )
    _group(
        ec2,
        "acme-app",
        vpc,
        {"IpProtocol": "tcp", "FromPort": 8000, "ToPort": 8000, "UserIdGroupPairs": [{"GroupId": https}]},
    )
    guarded = ec2.create_network_acl(VpcId=vpc)["NetworkAcl"]["NetworkAclId"]
    for number, action, protocol, ports in (
        (50, "deny", "6", (22, 22)),
        (60, "deny", "6", (3389, 3389)),
        (100, "allow", "-1", None),
    ):
        entry: dict[str, Any] = {
            "NetworkAclId": guarded,
            "RuleNumber": number,
            "Protocol": protocol,
            "RuleAction": action,
            "Egress": False,
            "CidrBlock": "0.0.0.0/0",
        }
        if ports:
            entry["PortRange"] = {"From": ports[0], "To": ports[1]}
        ec2.create_network_acl_entry(**entry)
    rdp = ec2.create_network_acl(VpcId=vpc)["NetworkAcl"]["NetworkAclId"]
    ec2.create_network_acl_entry(
        NetworkAclId=rdp,
        RuleNumber=100,
        Protocol="6",
        RuleAction="allow",
        Egress=False,
        Ipv6CidrBlock="::/0",
        PortRange={"From": 3380, "To": 3390},
    )
    _instance(ec2, subnet=subnet, tokens="required", encrypted=True, groups=[https])
    _instance(ec2, subnet=None, tokens="optional", encrypted=False)
    _instance(ec2, subnet=None, tokens="required", encrypted=True)
    ec2.create_volume(Size=1, AvailabilityZone=f"{PRIMARY}a", Encrypted=False)  # unattached: no EC2.3 result
    _snapshot(ec2, encrypted=True, share=None)
    _snapshot(ec2, encrypted=True, share=PARTNER)
    _snapshot(ec2, encrypted=False, share="all")


def ec2_denied(aws: LocalAws) -> None:
    ec2 = aws.client("ec2")
    _snapshot(ec2, encrypted=True, share=None)
    _instance(ec2, subnet=None, tokens="required", encrypted=True)


EC2_CASES = [
    Case(
        "passing",
        "EBS encryption by default on; flow logs (ALL) on both VPCs; default security groups emptied; "
        "default NACLs admit only HTTPS; one private IMDSv2 instance with an encrypted volume behind a "
        "group open to the world on 443 only (SSH from the VPN range); one snapshot shared with a "
        "named partner account.",
        ec2_passing,
    ),
    Case(
        "failing",
        "EBS encryption by default off; no flow logs; moto's default security group allows all egress; "
        "default NACL admits everything; acme-legacy-admin opens 22, 3306 and UDP 53 to 0.0.0.0/0 and 3389 "
        "to ::/0; acme-wide-open allows all traffic; an IMDSv1 instance with a public IP and an "
        "unencrypted volume; a public snapshot.",
        ec2_failing,
    ),
    Case(
        "empty",
        "A fresh account: only the default VPC, its default security group and default NACL; no "
        "instances, attached volumes or snapshots (moto's public AMI snapshots belong to other accounts).",
        nothing,
    ),
    Case(
        "many",
        "Mixed: flow logs REJECT on the default VPC and ACCEPT-only on a custom VPC; groups open on 443, on "
        "80-443 (crosses 110/135/143), on 8080, on UDP 1434, ICMP only, and to another group only; a NACL "
        "that denies 22 and 3389 before allowing all, and one allowing 3380-3390 from ::/0; three "
        "instances (private IMDSv2, public IMDSv1 unencrypted, public IMDSv2); an unattached unencrypted "
        "volume; private, partner-shared and public snapshots.",
        ec2_many,
    ),
    Case(
        "denied",
        "Denied ec2:DescribeInstances, ec2:DescribeSnapshotAttribute and ec2:GetEbsEncryptionByDefault "
        "(synthesised UnauthorizedOperation): EC2.1, EC2.7, EC2.8 and EC2.9 must be MANUAL.",
        ec2_denied,
        deny=calls("ec2 describe-instances", "ec2 describe-snapshot-attribute", "ec2 get-ebs-encryption-by-default"),
    ),
]


# =============================================================================================
# CloudTrail (two Regions: a multi-Region trail shows up in both)
# =============================================================================================


def _trail_bucket(aws: LocalAws) -> None:
    _bucket(aws, "acme-cloudtrail")


def _key(aws: LocalAws, region: str = PRIMARY) -> str:
    return str(aws.client("kms", region).create_key(Description="trail logs")["KeyMetadata"]["Arn"])


def cloudtrail_passing(aws: LocalAws) -> None:
    _trail_bucket(aws)
    ct = aws.client("cloudtrail", PRIMARY)
    ct.create_trail(
        Name="acme-org-trail",
        S3BucketName="acme-cloudtrail",
        IsMultiRegionTrail=True,
        EnableLogFileValidation=True,
        KmsKeyId=_key(aws),
    )
    ct.start_logging(Name="acme-org-trail")


def cloudtrail_failing(aws: LocalAws) -> None:
    _trail_bucket(aws)
    ct = aws.client("cloudtrail", PRIMARY)
    ct.create_trail(Name="acme-legacy-trail", S3BucketName="acme-cloudtrail")
    ct.create_trail(Name="acme-writes-only", S3BucketName="acme-cloudtrail", IsMultiRegionTrail=True)
    ct.put_event_selectors(
        TrailName="acme-writes-only",
        EventSelectors=[{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}],
    )
    ct.start_logging(Name="acme-writes-only")


def cloudtrail_many(aws: LocalAws) -> None:
    _trail_bucket(aws)
    ct = aws.client("cloudtrail", PRIMARY)
    ct.create_trail(
        Name="acme-main",
        S3BucketName="acme-cloudtrail",
        IsMultiRegionTrail=True,
        EnableLogFileValidation=True,
    )
    ct.put_event_selectors(
        TrailName="acme-main",
        AdvancedEventSelectors=[
            {"Name": "management", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}
        ],
    )
    ct.start_logging(Name="acme-main")
    ct.create_trail(Name="acme-payments-local", S3BucketName="acme-cloudtrail", KmsKeyId=_key(aws))
    ct.start_logging(Name="acme-payments-local")
    eu = aws.client("cloudtrail", SECONDARY)
    eu.create_trail(
        Name="acme-eu-trail",
        S3BucketName="acme-cloudtrail",
        IsMultiRegionTrail=True,
        EnableLogFileValidation=True,
        KmsKeyId=_key(aws, SECONDARY),
    )


def cloudtrail_denied(aws: LocalAws) -> None:
    _trail_bucket(aws)
    ct = aws.client("cloudtrail", PRIMARY)
    ct.create_trail(Name="acme-org-trail", S3BucketName="acme-cloudtrail", IsMultiRegionTrail=True)
    ct.start_logging(Name="acme-org-trail")


CLOUDTRAIL_CASES = [
    Case(
        "passing",
        "One multi-Region trail (home us-east-1), logging, default selectors (all management events), "
        "KMS-encrypted, log file validation on. eu-west-1 sees its shadow copy, so CloudTrail.1 passes "
        "there too, and CloudTrail.2/4 are not applicable there (no trail has its home in eu-west-1).",
        cloudtrail_passing,
        regions=(PRIMARY, SECONDARY),
    ),
    Case(
        "failing",
        "A single-Region trail that is not logging, and a multi-Region trail that records write "
        "management events only; neither is encrypted with KMS nor validates log files.",
        cloudtrail_failing,
        regions=(PRIMARY, SECONDARY),
    ),
    Case("empty", "No trails in either Region.", nothing, regions=(PRIMARY, SECONDARY)),
    Case(
        "many",
        "acme-main: multi-Region, logging, an advanced selector for all management events, validation on, "
        "no KMS; acme-payments-local: single-Region, KMS, no validation; acme-eu-trail: multi-Region from "
        "eu-west-1, KMS and validation, but not logging.",
        cloudtrail_many,
        regions=(PRIMARY, SECONDARY),
    ),
    Case(
        "denied",
        "A logging multi-Region trail, but cloudtrail:GetTrailStatus is denied (synthesised "
        "AccessDeniedException): CloudTrail.1 must be MANUAL; CloudTrail.2/4 read describe-trails.",
        cloudtrail_denied,
        deny=calls("cloudtrail get-trail-status"),
    ),
]


# =============================================================================================
# AWS Config and GuardDuty (two Regions)
# =============================================================================================


CONFIG_ROLE = "AWSServiceRoleForConfig"


def _recorder(
    aws: LocalAws,
    region: str,
    start: bool,
    role: str = f"aws-service-role/config.amazonaws.com/{CONFIG_ROLE}",
    only: tuple[str, ...] = (),
) -> None:
    """A recorder with the service-linked role recording everything, unless `role` (a role path and
    name) or `only` (the resource types it records) say otherwise."""
    group: dict[str, Any] = {"allSupported": True, "includeGlobalResourceTypes": region == PRIMARY}
    if only:
        group = {"allSupported": False, "resourceTypes": list(only)}
    config = aws.client("config", region)
    config.put_configuration_recorder(
        ConfigurationRecorder={
            "name": "default",
            "roleARN": f"arn:aws:iam::{ACCOUNT}:role/{role}",
            "recordingGroup": group,
        }
    )
    if start:
        if "acme-config" not in [b["Name"] for b in aws.client("s3").list_buckets()["Buckets"]]:
            _bucket(aws, "acme-config")
        config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "acme-config"})
        config.start_configuration_recorder(ConfigurationRecorderName="default")


CONFIG_CASES = [
    Case(
        "passing",
        "A recorder recording in both Regions.",
        each(_recorder, (PRIMARY, True), (SECONDARY, True)),
        regions=(PRIMARY, SECONDARY),
    ),
    Case(
        "failing",
        "us-east-1 has a recorder that was never started; eu-west-1 has none.",
        lambda aws: _recorder(aws, PRIMARY, start=False),
        regions=(PRIMARY, SECONDARY),
    ),
    Case("empty", "No recorder in either Region.", nothing, regions=(PRIMARY, SECONDARY)),
    Case(
        "many",
        "Recording in us-east-1; a stopped recorder in eu-west-1.",
        each(_recorder, (PRIMARY, True), (SECONDARY, False)),
        regions=(PRIMARY, SECONDARY),
    ),
    Case(
        "denied",
        "config:DescribeConfigurationRecorderStatus denied (synthesised AccessDeniedException).",
        lambda aws: _recorder(aws, PRIMARY, start=True),
        deny=calls("configservice describe-configuration-recorder-status"),
    ),
    Case(
        "misconfigured",
        "Both recorders are recording, neither as Config.1 asks: us-east-1's uses a customer role "
        "(acme-config-recorder); eu-west-1's uses the service-linked role but records only S3 buckets, "
        "and its last recording failed. Edited: eu-west-1 lastStatus FAILURE (moto reports PENDING).",
        each(
            _recorder,
            (PRIMARY, True, "acme-config-recorder"),
            (SECONDARY, True, f"aws-service-role/config.amazonaws.com/{CONFIG_ROLE}", ("AWS::S3::Bucket",)),
        ),
        regions=(PRIMARY, SECONDARY),
        rewrite=lambda call, response: _last_status_failed(call, response, SECONDARY),
    ),
    Case(
        "settings-denied",
        "Recording with the service-linked role, but config:DescribeConfigurationRecorders is denied "
        "(synthesised AccessDeniedException): the role and the resource types are unknown, so MANUAL.",
        lambda aws: _recorder(aws, PRIMARY, start=True),
        deny=calls("configservice describe-configuration-recorders"),
    ),
]


def _last_status_failed(call: ApiCall, response: dict[str, Any], region: str) -> dict[str, Any]:
    if call.operation == "describe-configuration-recorder-status" and call.region == region:
        for status in response.get("ConfigurationRecordersStatus", []):
            status["lastStatus"] = "FAILURE"
    return response


def _detector(aws: LocalAws, region: str, enabled: bool) -> None:
    aws.client("guardduty", region).create_detector(Enable=enabled)


GUARDDUTY_CASES = [
    Case(
        "passing",
        "An enabled detector in both Regions.",
        each(_detector, (PRIMARY, True), (SECONDARY, True)),
        regions=(PRIMARY, SECONDARY),
    ),
    Case(
        "failing",
        "A suspended detector in us-east-1; none in eu-west-1.",
        lambda aws: _detector(aws, PRIMARY, False),
        regions=(PRIMARY, SECONDARY),
    ),
    Case("empty", "No detector in either Region.", nothing, regions=(PRIMARY, SECONDARY)),
    Case(
        "many",
        "Enabled in us-east-1, suspended in eu-west-1.",
        each(_detector, (PRIMARY, True), (SECONDARY, False)),
        regions=(PRIMARY, SECONDARY),
    ),
    Case(
        "denied",
        "A detector exists but guardduty:GetDetector is denied (synthesised AccessDeniedException).",
        lambda aws: _detector(aws, PRIMARY, True),
        deny=calls("guardduty get-detector"),
    ),
]


# =============================================================================================
# RDS
# =============================================================================================


def _db(aws: LocalAws, name: str, *, public: bool, encrypted: bool) -> None:
    aws.client("rds").create_db_instance(
        DBInstanceIdentifier=name,
        Engine="postgres",
        DBInstanceClass="db.t3.micro",
        AllocatedStorage=20,
        MasterUsername="admin_user",
        MasterUserPassword="Sandbox-only-1",
        PubliclyAccessible=public,
        StorageEncrypted=encrypted,
    )


def _db_snapshot(aws: LocalAws, db: str, name: str, share: str | None) -> None:
    rds = aws.client("rds")
    rds.create_db_snapshot(DBInstanceIdentifier=db, DBSnapshotIdentifier=name)
    if share:
        rds.modify_db_snapshot_attribute(DBSnapshotIdentifier=name, AttributeName="restore", ValuesToAdd=[share])


def _cluster_snapshot(aws: LocalAws, cluster: str, name: str, share: str | None) -> None:
    rds = aws.client("rds")
    rds.create_db_cluster(
        DBClusterIdentifier=cluster,
        Engine="aurora-postgresql",
        MasterUsername="admin_user",
        MasterUserPassword="Sandbox-only-1",
        StorageEncrypted=True,
    )
    rds.create_db_cluster_snapshot(DBClusterIdentifier=cluster, DBClusterSnapshotIdentifier=name)
    if share:
        rds.modify_db_cluster_snapshot_attribute(
            DBClusterSnapshotIdentifier=name, AttributeName="restore", ValuesToAdd=[share]
        )


def rds_passing(aws: LocalAws) -> None:
    _db(aws, "payments-db", public=False, encrypted=True)
    _db_snapshot(aws, "payments-db", "payments-db-pre-upgrade", PARTNER)
    _cluster_snapshot(aws, "ledger", "ledger-nightly", None)


def rds_failing(aws: LocalAws) -> None:
    _db(aws, "reporting-db", public=True, encrypted=False)
    _db_snapshot(aws, "reporting-db", "reporting-db-export", "all")
    _cluster_snapshot(aws, "analytics", "analytics-share", "all")


def rds_many(aws: LocalAws) -> None:
    _db(aws, "payments-db", public=False, encrypted=True)
    _db(aws, "reporting-db", public=True, encrypted=False)
    _db(aws, "crm-db", public=False, encrypted=False)
    _db_snapshot(aws, "payments-db", "payments-db-dr", PARTNER)
    _db_snapshot(aws, "reporting-db", "reporting-db-export", "all")
    _db_snapshot(aws, "crm-db", "crm-db-manual", None)
    _cluster_snapshot(aws, "ledger", "ledger-nightly", None)


RDS_CASES = [
    Case(
        "passing",
        "A private, encrypted instance; its manual snapshot shared only with a partner account; a "
        "private cluster snapshot.",
        rds_passing,
    ),
    Case(
        "failing",
        "A publicly accessible, unencrypted instance; a public DB snapshot and a public cluster snapshot.",
        rds_failing,
    ),
    Case("empty", "No DB instances and no manual snapshots.", nothing),
    Case(
        "many",
        "Three instances (private encrypted, public unencrypted, private unencrypted) and four snapshots "
        "(partner-shared, public, private, private cluster).",
        rds_many,
    ),
    Case(
        "denied",
        "rds:DescribeDBSnapshotAttributes and rds:DescribeDBClusterSnapshots denied (synthesised "
        "AccessDenied): RDS.1 must be MANUAL for the snapshot and for the unlisted cluster snapshots.",
        rds_passing,
        deny=calls("rds describe-db-snapshot-attributes", "rds describe-db-cluster-snapshots"),
    ),
]


# =============================================================================================
# KMS
# =============================================================================================


def _kms_key(aws: LocalAws, alias: str, *, rotate: bool, **kwargs: Any) -> str:
    kms = aws.client("kms")
    key = str(kms.create_key(Description=alias, **kwargs)["KeyMetadata"]["KeyId"])
    kms.create_alias(AliasName=f"alias/{alias}", TargetKeyId=key)
    if rotate:
        kms.enable_key_rotation(KeyId=key)
    return key


def kms_failing(aws: LocalAws) -> None:
    _kms_key(aws, "acme-legacy-app", rotate=False)
    old = _kms_key(aws, "acme-billing-2019", rotate=True)
    aws.client("kms").schedule_key_deletion(KeyId=old, PendingWindowInDays=7)


def kms_many(aws: LocalAws) -> None:
    _kms_key(aws, "acme-payments", rotate=True)
    _kms_key(aws, "acme-legacy-app", rotate=False)
    old = _kms_key(aws, "acme-billing-2019", rotate=False)
    aws.client("kms").schedule_key_deletion(KeyId=old, PendingWindowInDays=30)
    _kms_key(aws, "acme-signing", rotate=False, KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")
    disabled = _kms_key(aws, "acme-archive", rotate=False)
    aws.client("kms").disable_key(KeyId=disabled)


KMS_CASES = [
    Case(
        "passing",
        "One customer managed key with automatic rotation on.",
        lambda aws: _kms_key(aws, "acme-data", rotate=True),
    ),
    Case(
        "failing",
        "A customer managed key without rotation, and one scheduled for deletion in 7 days.",
        kms_failing,
    ),
    Case("empty", "No customer managed keys (moto lists AWS managed aliases only).", nothing),
    Case(
        "many",
        "Rotating, not rotating, pending deletion, an asymmetric signing key (KMS.3 only: it cannot "
        "rotate automatically) and a disabled key without rotation.",
        kms_many,
    ),
    Case(
        "denied",
        "kms:DescribeKey denied (synthesised AccessDeniedException): KMS.3 and KMS.4 must be MANUAL.",
        lambda aws: _kms_key(aws, "acme-data", rotate=True),
        deny=calls("kms describe-key"),
    ),
]


# =============================================================================================
# Lambda
# =============================================================================================


def _function(aws: LocalAws, role: str, name: str, runtime: str = "python3.12") -> None:
    aws.client("lambda").create_function(
        FunctionName=name,
        Runtime=runtime,
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": zipped_handler()},
    )


def lambda_passing(aws: LocalAws) -> None:
    role = service_role(aws, "acme-lambda", "lambda.amazonaws.com")
    _function(aws, role, "acme-resize")
    _function(aws, role, "acme-ingest")
    aws.client("lambda").add_permission(
        FunctionName="acme-ingest",
        StatementId="s3-invoke",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceArn="arn:aws:s3:::acme-uploads",
        SourceAccount=ACCOUNT,
    )


def lambda_failing(aws: LocalAws) -> None:
    role = service_role(aws, "acme-lambda", "lambda.amazonaws.com")
    _function(aws, role, "acme-webhook", "nodejs16.x")
    _function(aws, role, "acme-thumbnailer", "python3.7")
    lam = aws.client("lambda")
    lam.add_permission(FunctionName="acme-webhook", StatementId="anyone", Action="lambda:InvokeFunction", Principal="*")
    lam.add_permission(
        FunctionName="acme-thumbnailer",
        StatementId="any-bucket",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
    )


def lambda_many(aws: LocalAws) -> None:
    lambda_passing(aws)
    role = f"arn:aws:iam::{ACCOUNT}:role/acme-lambda"
    lam = aws.client("lambda")
    for name, runtime in (
        ("acme-webhook", "nodejs22.x"),
        ("acme-partner-hook", "python3.8"),
        ("acme-org-hook", "python3.13"),
    ):
        _function(aws, role, name, runtime)
    lam.add_permission(FunctionName="acme-webhook", StatementId="anyone", Action="lambda:InvokeFunction", Principal="*")
    lam.add_permission(
        FunctionName="acme-partner-hook",
        StatementId="partner",
        Action="lambda:InvokeFunction",
        Principal=PARTNER,
    )
    lam.add_permission(
        FunctionName="acme-org-hook",
        StatementId="org",
        Action="lambda:InvokeFunction",
        Principal="*",
        PrincipalOrgID=ORG_ID,
    )


LAMBDA_CASES = [
    Case(
        "passing",
        "acme-resize has no resource policy; acme-ingest lets S3 invoke it only from one bucket of this "
        "account (aws:SourceArn and aws:SourceAccount).",
        lambda_passing,
    ),
    Case(
        "failing",
        "acme-webhook (nodejs16.x, deprecated) lets anyone ('*') invoke it; acme-thumbnailer (python3.7, "
        "deprecated) lets s3.amazonaws.com invoke it with no source condition (any account's bucket).",
        lambda_failing,
    ),
    Case("empty", "No functions.", nothing),
    Case(
        "many",
        "The passing pair (python3.12) plus a public webhook (nodejs22.x), a partner-account principal "
        "(python3.8, deprecated) and a '*' principal limited by aws:PrincipalOrgID (python3.13).",
        lambda_many,
    ),
    Case(
        "denied",
        "lambda:GetPolicy denied (synthesised AccessDeniedException): Lambda.1 must be MANUAL.",
        lambda_passing,
        deny=calls("lambda get-policy"),
    ),
]


# =============================================================================================
# Secrets Manager, ECR, EKS, EFS, SNS, SQS, DynamoDB
# =============================================================================================


def _secret(aws: LocalAws, name: str, rotate: bool) -> None:
    sm = aws.client("secretsmanager")
    arn = sm.create_secret(Name=name, SecretString='{"password": "sandbox"}')["ARN"]
    if rotate:
        # No rotation Lambda (as AWS-managed rotation): moto would otherwise run one in Docker.
        sm.rotate_secret(SecretId=arn, RotationRules={"AutomaticallyAfterDays": 30}, RotateImmediately=False)


SECRETS_CASES = [
    Case(
        "passing",
        "Database credentials rotated every 30 days.",
        lambda aws: _secret(aws, "prod/payments-db", True),
    ),
    Case("failing", "Database credentials never rotated.", lambda aws: _secret(aws, "prod/reporting-db", False)),
    Case("empty", "No secrets.", nothing),
    Case(
        "many",
        "Two rotated and two unrotated secrets.",
        each(
            _secret,
            ("prod/payments-db", True),
            ("prod/reporting-db", False),
            ("ci/token", False),
            ("prod/api", True),
        ),
    ),
    Case(
        "denied",
        "secretsmanager:ListSecrets denied (synthesised AccessDeniedException).",
        lambda aws: _secret(aws, "prod/payments-db", True),
        deny=calls("secretsmanager list-secrets"),
    ),
]


def _repository(aws: LocalAws, name: str, scan: bool, mutability: str = "MUTABLE") -> None:
    aws.client("ecr").create_repository(
        repositoryName=name, imageScanningConfiguration={"scanOnPush": scan}, imageTagMutability=mutability
    )


def ecr_many(aws: LocalAws) -> None:
    _repository(aws, "acme/web", False, "IMMUTABLE")
    _repository(aws, "acme/worker", False)
    _repository(aws, "legacy/app", False)
    _repository(aws, "tools/builder", True, "IMMUTABLE")
    aws.client("ecr").put_registry_scanning_configuration(
        scanType="ENHANCED",
        rules=[
            {
                "scanFrequency": "CONTINUOUS_SCAN",
                "repositoryFilters": [{"filter": "acme/*", "filterType": "WILDCARD"}],
            }
        ],
    )


ECR_CASES = [
    Case(
        "passing",
        "A repository that scans on push, with immutable tags.",
        lambda aws: _repository(aws, "acme/web", True, "IMMUTABLE"),
    ),
    Case(
        "failing",
        "A repository with mutable tags that does not scan on push; basic registry scanning, no rules.",
        lambda aws: _repository(aws, "legacy/app", False),
    ),
    Case("empty", "No repositories.", nothing),
    Case(
        "many",
        "Enhanced registry scanning for 'acme/*' covers acme/web and acme/worker; tools/builder scans on "
        "push; legacy/app is not scanned. acme/web and tools/builder have immutable tags, the others not.",
        ecr_many,
    ),
    Case(
        "denied",
        "ecr:GetRegistryScanningConfiguration denied (synthesised AccessDeniedException): the repository "
        "that scans on push still passes; the other must be MANUAL.",
        each(_repository, ("acme/web", True, "IMMUTABLE"), ("legacy/app", False)),
        deny=calls("ecr get-registry-scanning-configuration"),
    ),
]


def _cluster(aws: LocalAws, name: str, public: bool) -> None:
    try:
        role = service_role(aws, "acme-eks", "eks.amazonaws.com")
    except aws.client("iam").exceptions.EntityAlreadyExistsException:
        role = f"arn:aws:iam::{ACCOUNT}:role/acme-eks"
    config: dict[str, Any] = {
        "subnetIds": ["subnet-0a1b2c3d", "subnet-4e5f6a7b"],
        "endpointPublicAccess": public,
        "endpointPrivateAccess": True,
    }
    if public:
        config["publicAccessCidrs"] = ["0.0.0.0/0"]
    aws.client("eks").create_cluster(name=name, roleArn=role, resourcesVpcConfig=config)


EKS_CASES = [
    Case("passing", "A cluster with a private endpoint only.", lambda aws: _cluster(aws, "acme-data", False)),
    Case("failing", "A cluster whose endpoint is public.", lambda aws: _cluster(aws, "acme-sandbox", True)),
    Case("empty", "No clusters.", nothing),
    Case(
        "many",
        "Two private clusters and one public.",
        each(_cluster, ("acme-data", False), ("acme-sandbox", True), ("acme-ml", False)),
    ),
    Case(
        "denied",
        "eks:DescribeCluster denied (synthesised AccessDeniedException).",
        lambda aws: _cluster(aws, "acme-data", False),
        deny=calls("eks describe-cluster"),
    ),
]


def _file_system(aws: LocalAws, token: str, encrypted: bool) -> None:
    aws.client("efs").create_file_system(
        CreationToken=token, Encrypted=encrypted, Tags=[{"Key": "Name", "Value": token}]
    )


EFS_CASES = [
    Case("passing", "An encrypted file system.", lambda aws: _file_system(aws, "acme-payments-batch", True)),
    Case("failing", "An unencrypted file system.", lambda aws: _file_system(aws, "acme-shared-home", False)),
    Case("empty", "No file systems.", nothing),
    Case(
        "many",
        "Two encrypted and one unencrypted file system.",
        each(
            _file_system,
            ("acme-payments-batch", True),
            ("acme-shared-home", False),
            ("acme-ml-scratch", True),
        ),
    ),
    Case(
        "denied",
        "elasticfilesystem:DescribeFileSystems denied (synthesised AccessDeniedException).",
        lambda aws: _file_system(aws, "acme-shared-home", False),
        deny=calls("efs describe-file-systems"),
    ),
]


def _topic(aws: LocalAws, name: str, key: str | None) -> None:
    attributes = {"KmsMasterKeyId": key} if key else {}
    aws.client("sns").create_topic(Name=name, Attributes=attributes)


SNS_CASES = [
    Case(
        "passing",
        "A topic encrypted with the AWS managed SNS key.",
        lambda aws: _topic(aws, "acme-payment-events", "alias/aws/sns"),
    ),
    Case("failing", "A topic without encryption at rest.", lambda aws: _topic(aws, "acme-order-events", None)),
    Case("empty", "No topics.", nothing),
    Case(
        "many",
        "Two encrypted topics (AWS managed and customer managed key) and one unencrypted.",
        each(
            _topic,
            ("acme-payment-events", "alias/aws/sns"),
            ("acme-order-events", None),
            (
                "acme-audit-events",
                f"arn:aws:kms:{PRIMARY}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            ),
        ),
    ),
    Case(
        "denied",
        "sns:GetTopicAttributes denied (synthesised AuthorizationError).",
        lambda aws: _topic(aws, "acme-order-events", None),
        deny=calls("sns get-topic-attributes"),
    ),
]


def _queue(aws: LocalAws, name: str, attributes: dict[str, str]) -> None:
    aws.client("sqs").create_queue(QueueName=name, Attributes=attributes)


SQS_CASES = [
    Case(
        "passing",
        "One queue with SSE-SQS (moto's and AWS's default for new queues) and one with a KMS key.",
        each(_queue, ("acme-export-jobs", {}), ("acme-payments", {"KmsMasterKeyId": "alias/aws/sqs"})),
    ),
    Case(
        "failing",
        "A queue with server-side encryption switched off.",
        lambda aws: _queue(aws, "acme-ingest-jobs", {"SqsManagedSseEnabled": "false"}),
    ),
    Case("empty", "No queues (the listing has no QueueUrls key at all).", nothing),
    Case(
        "many",
        "SSE-SQS, SSE-KMS, and two queues with encryption off.",
        each(
            _queue,
            ("acme-export-jobs", {}),
            ("acme-payments", {"KmsMasterKeyId": "alias/aws/sqs"}),
            ("acme-ingest-jobs", {"SqsManagedSseEnabled": "false"}),
            ("acme-dead-letters", {"SqsManagedSseEnabled": "false"}),
        ),
    ),
    Case(
        "denied",
        "sqs:GetQueueAttributes denied (synthesised AccessDenied).",
        lambda aws: _queue(aws, "acme-ingest-jobs", {"SqsManagedSseEnabled": "false"}),
        deny=calls("sqs get-queue-attributes"),
    ),
]


def _table(aws: LocalAws, name: str, pitr: bool) -> None:
    ddb = aws.client("dynamodb")
    ddb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    if pitr:
        ddb.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )


DYNAMODB_CASES = [
    Case("passing", "A table with point-in-time recovery.", lambda aws: _table(aws, "acme-data-catalog", True)),
    Case(
        "failing",
        "A table without point-in-time recovery.",
        lambda aws: _table(aws, "acme-ingest-checkpoints", False),
    ),
    Case("empty", "No tables.", nothing),
    Case(
        "many",
        "Two tables with and two without point-in-time recovery.",
        each(
            _table,
            ("acme-data-catalog", True),
            ("acme-ingest-checkpoints", False),
            ("acme-sessions", False),
            ("acme-orders", True),
        ),
    ),
    Case(
        "denied",
        "dynamodb:DescribeContinuousBackups denied (synthesised AccessDeniedException).",
        lambda aws: _table(aws, "acme-orders", True),
        deny=calls("dynamodb describe-continuous-backups"),
    ),
]


def _security_contact(aws: LocalAws) -> None:
    aws.client("account").put_alternate_contact(
        AlternateContactType="SECURITY",
        EmailAddress="security@acme-corp.example",
        Name="Acme Security",
        PhoneNumber="+1-555-0100",
        Title="Security team",
    )


def _organization(aws: LocalAws) -> None:
    aws.client("organizations").create_organization(FeatureSet="ALL")


def _contact_and_organization(aws: LocalAws) -> None:
    _security_contact(aws)
    _organization(aws)


MANAGEMENT_ACCOUNT = "111122223333"


def organization_of_another_account(call: ApiCall, response: dict[str, Any]) -> dict[str, Any]:
    """moto makes the caller the organization's management account; this account is a member."""
    if call.operation == "describe-organization":
        organization = response["Organization"]
        organization["MasterAccountId"] = MANAGEMENT_ACCOUNT
        organization["MasterAccountArn"] = organization["MasterAccountArn"].replace(ACCOUNT, MANAGEMENT_ACCOUNT)
    return response


ACCOUNT_CASES = [
    Case(
        "passing",
        "A security alternate contact is registered; the account created an organization (its management account).",
        _contact_and_organization,
    ),
    Case(
        "member",
        "A security alternate contact; the account is a member of an organization. Edited: "
        f"describe-organization's management account is {MANAGEMENT_ACCOUNT} (moto makes the caller "
        "the management account).",
        _contact_and_organization,
        rewrite=organization_of_another_account,
    ),
    Case(
        "failing",
        "No security alternate contact (ResourceNotFoundException); a standalone account, in no "
        "organization (AWSOrganizationsNotInUseException).",
        nothing,
    ),
    Case(
        "unsupported",
        "The Account and Organizations APIs are not available (synthesised NotImplemented, as an "
        "endpoint without the API answers): Account.1 and Account.2 must be MANUAL.",
        _contact_and_organization,
        unsupported=calls("account get-alternate-contact", "organizations describe-organization"),
    ),
    Case(
        "denied",
        "account:GetAlternateContact and organizations:DescribeOrganization denied (synthesised "
        "AccessDeniedException); the account is in no organization, which must not show as a FAIL.",
        _security_contact,
        deny=calls("account get-alternate-contact", "organizations describe-organization"),
    ),
]


# =============================================================================================
# ELB
# =============================================================================================

FORWARD = {"Type": "forward"}
"""Stands for a forward to the load balancer's own target group (its ARN is known only at set-up)."""
HTTPS_REDIRECT = {"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}
SAME_PROTOCOL_REDIRECT = {
    "Type": "redirect",
    "RedirectConfig": {"Protocol": "#{protocol}", "Host": "www.acme-corp.example", "StatusCode": "HTTP_301"},
}
NOT_FOUND_RESPONSE = {
    "Type": "fixed-response",
    "FixedResponseConfig": {"StatusCode": "404", "ContentType": "text/plain"},
}


def _alb(
    aws: LocalAws,
    name: str,
    *,
    http: dict[str, Any] | None,
    https: bool = True,
    forward_rule: bool = False,
    region: str = PRIMARY,
    kind: str = "application",
) -> None:
    """A load balancer in the default VPC. `http` is the HTTP:80 listener's default action, or None
    for no HTTP listener ("forward" forwards to the target group); `https` adds HTTPS:443 forwarding
    to it; `forward_rule` adds a rule on the HTTP listener forwarding /healthz to the targets."""
    ec2, elb = aws.client("ec2", region), aws.client("elbv2", region)
    vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]]
    balancer = elb.create_load_balancer(Name=name, Subnets=subnets[:2], Scheme="internet-facing", Type=kind)
    balancer_arn = balancer["LoadBalancers"][0]["LoadBalancerArn"]
    protocol = "HTTP" if kind == "application" else "TCP"
    group = elb.create_target_group(Name=f"{name}-targets", Protocol=protocol, Port=8080, VpcId=vpc)
    forward = {"Type": "forward", "TargetGroupArn": group["TargetGroups"][0]["TargetGroupArn"]}
    if kind != "application":
        elb.create_listener(LoadBalancerArn=balancer_arn, Protocol="TCP", Port=80, DefaultActions=[forward])
        return
    if http is not None:
        action = forward if http.get("Type") == "forward" else http
        listener = elb.create_listener(LoadBalancerArn=balancer_arn, Protocol="HTTP", Port=80, DefaultActions=[action])
        if forward_rule:
            elb.create_rule(
                ListenerArn=listener["Listeners"][0]["ListenerArn"],
                Priority=10,
                Conditions=[{"Field": "path-pattern", "Values": ["/healthz"]}],
                Actions=[forward],
            )
    if https:
        certificate = aws.client("acm", region).request_certificate(DomainName=f"{name}.acme-corp.example")
        elb.create_listener(
            LoadBalancerArn=balancer_arn,
            Protocol="HTTPS",
            Port=443,
            Certificates=[{"CertificateArn": certificate["CertificateArn"]}],
            SslPolicy="ELBSecurityPolicy-TLS13-1-2-2021-06",
            DefaultActions=[forward],
        )


def elb_passing(aws: LocalAws) -> None:
    _alb(aws, "acme-shop-alb", http=HTTPS_REDIRECT)
    _alb(aws, "acme-api-alb", http=None)


def elb_many(aws: LocalAws) -> None:
    _alb(aws, "acme-shop-alb", http=HTTPS_REDIRECT)
    _alb(aws, "acme-api-alb", http=None)
    _alb(aws, "acme-legacy-alb", http=FORWARD, https=False)
    _alb(aws, "acme-checkout-alb", http=HTTPS_REDIRECT, forward_rule=True)
    _alb(aws, "acme-www-alb", http=SAME_PROTOCOL_REDIRECT)
    _alb(aws, "acme-parked-alb", http=NOT_FOUND_RESPONSE)
    _alb(aws, "acme-mqtt-nlb", http=None, kind="network")
    _alb(aws, "acme-data-alb", http=HTTPS_REDIRECT, region=SECONDARY)
    _alb(aws, "acme-reports-alb", http=FORWARD, region=SECONDARY)


def elb_denied(aws: LocalAws) -> None:
    _alb(aws, "acme-shop-alb", http=HTTPS_REDIRECT)
    _alb(aws, "acme-legacy-alb", http=FORWARD, https=False)


ELB_CASES = [
    Case(
        "passing",
        "acme-shop-alb redirects HTTP:80 to HTTPS and serves HTTPS:443; acme-api-alb has only HTTPS:443.",
        elb_passing,
    ),
    Case(
        "failing",
        "acme-legacy-alb serves the application on HTTP:80 only (default action forward).",
        lambda aws: _alb(aws, "acme-legacy-alb", http=FORWARD, https=False),
    ),
    Case("empty", "No load balancers.", nothing),
    Case(
        "many",
        "Two Regions. Passing: a redirecting ALB, an HTTPS-only ALB (us-east-1), a redirecting ALB "
        "(eu-west-1). Failing: HTTP forwarding (both Regions), a redirect default with a rule forwarding "
        "/healthz over HTTP, a redirect that keeps the protocol (#{protocol}), a fixed-response default. "
        "A Network Load Balancer with a TCP listener gets no result (ELB.1 is about ALBs).",
        elb_many,
        regions=(PRIMARY, SECONDARY),
    ),
    Case(
        "denied",
        "elasticloadbalancing:DescribeRules denied (synthesised AccessDeniedException): the redirecting "
        "ALB is MANUAL (a rule could still forward); the ALB whose HTTP default forwards still FAILs, "
        "decided by its listener alone.",
        elb_denied,
        deny=calls("elbv2 describe-rules"),
    ),
]


def _document(aws: LocalAws, name: str, share: list[str]) -> None:
    ssm = aws.client("ssm")
    content = {
        "schemaVersion": "2.2",
        "description": name,
        "mainSteps": [{"action": "aws:runShellScript", "name": "run", "inputs": {"runCommand": ["true"]}}],
    }
    ssm.create_document(Name=name, Content=json.dumps(content), DocumentType="Command", DocumentFormat="JSON")
    if share:
        ssm.modify_document_permission(Name=name, PermissionType="Share", AccountIdsToAdd=share)


SSM_CASES = [
    Case(
        "passing",
        "One private document and one shared with a named partner account.",
        each(_document, ("acme-rotate-logs", []), ("acme-partner-runbook", [PARTNER])),
    ),
    Case("failing", "A command document shared with 'All'.", each(_document, ("acme-restart-app", ["All"]))),
    Case("empty", "No documents of the account's own.", nothing),
    Case(
        "many",
        "Private, partner-shared and two public documents.",
        each(
            _document,
            ("acme-rotate-logs", []),
            ("acme-partner-runbook", [PARTNER]),
            ("acme-restart-app", ["All"]),
            ("acme-debug-dump", ["All"]),
        ),
    ),
    Case(
        "denied",
        "ssm:DescribeDocumentPermission denied (synthesised AccessDeniedException).",
        each(_document, ("acme-restart-app", ["All"])),
        deny=calls("ssm describe-document-permission"),
    ),
]


# =============================================================================================
# Secrets in configuration (the agent's own ESA.1 and ESA.2)
# =============================================================================================

EXAMPLE_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
EXAMPLE_SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEY"
"""AWS's documented example key pair: shaped like live credentials, valid nowhere."""
CLEAN_USER_DATA = (
    "#!/bin/bash\n"
    "# the password is read at boot, never written here\n"
    "DB_PASSWORD=$(aws secretsmanager get-secret-value --secret-id prod/web-db --query SecretString --output text)\n"
    "export DB_PASSWORD\n"
    "export LOG_LEVEL=info\n"
    "export TOKEN_TTL=3600\n"
    "export PASSWORD_MIN_LENGTH=14\n"
    "systemctl start acme-web\n"
)
LEAKY_USER_DATA = (
    "#!/bin/bash\n"
    "yum install -y acme-web\n"
    "export DB_PASSWORD='Acme-Web-Pw-3kq9x7'\n"
    "export PAYMENTS_API_KEY=acme-live-api-5c8e1d3b9f\n"
    "systemctl start acme-web\n"
)
PRIVATE_KEY_USER_DATA = (
    "#!/bin/bash\n"
    "cat > /etc/ssl/private/acme.key <<'KEY'\n"
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "ACME-GOLDEN-CASE-NOT-A-REAL-KEY\n"
    "-----END OPENSSH PRIVATE KEY-----\n"
    "KEY\n"
)
MULTIPART_USER_DATA = (
    'Content-Type: multipart/mixed; boundary="==BOUNDARY=="\n'
    "MIME-Version: 1.0\n"
    "\n"
    "--==BOUNDARY==\n"
    'Content-Type: text/cloud-config; charset="us-ascii"\n'
    "\n"
    "#cloud-config\n"
    "package_update: true\n"
    "\n"
    "--==BOUNDARY==\n"
    'Content-Type: text/x-shellscript; charset="us-ascii"\n'
    "Content-Transfer-Encoding: base64\n"
    "\n"
    + base64.b64encode(b"#!/bin/bash\nexport REPORTS_DB_PASSWORD=Acme-Reports-Pw-8d2m\n").decode("ascii")
    + "\n--==BOUNDARY==--\n"
)


def _configured_function(aws: LocalAws, name: str, variables: dict[str, str] | None) -> None:
    kwargs: dict[str, Any] = {"Environment": {"Variables": variables}} if variables else {}
    aws.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=f"arn:aws:iam::{ACCOUNT}:role/acme-lambda",
        Handler="index.handler",
        Code={"ZipFile": zipped_handler()},
        **kwargs,
    )


def _booted(aws: LocalAws, name: str, user_data: str | bytes | None) -> None:
    kwargs: dict[str, Any] = {"UserData": user_data} if user_data is not None else {}
    aws.client("ec2").run_instances(
        ImageId=AMI,
        MinCount=1,
        MaxCount=1,
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}],
        **kwargs,
    )


def secrets_passing(aws: LocalAws) -> None:
    service_role(aws, "acme-lambda", "lambda.amazonaws.com")
    _secrets_twins(aws)


def _secrets_twins(aws: LocalAws) -> None:
    _configured_function(
        aws,
        "acme-billing-api-v2",
        {
            "DB_SECRET_ARN": f"arn:aws:secretsmanager:{PRIMARY}:{ACCOUNT}:secret:prod/billing-db-AbCdEf",
            "DB_PASSWORD_PARAM": "/acme/prod/billing-db-password",
            "LOG_LEVEL": "INFO",
            "TOKEN_TTL": "3600",
            "PASSWORD_MIN_LENGTH": "14",
            "SECRETS_EXTENSION_HTTP_PORT": "2773",
        },
    )
    _configured_function(aws, "acme-resize", None)
    _booted(aws, "acme-web-2", CLEAN_USER_DATA)
    _booted(aws, "acme-batch-1", None)


def secrets_failing(aws: LocalAws) -> None:
    service_role(aws, "acme-lambda", "lambda.amazonaws.com")
    _secrets_leaks(aws)


def _secrets_leaks(aws: LocalAws) -> None:
    _configured_function(
        aws,
        "acme-billing-api",
        {
            "AWS_ACCESS_KEY_ID": EXAMPLE_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": EXAMPLE_SECRET_KEY,
            "DB_PASSWORD": "Acme-Billing-Pw-7f3k9q2z",
            "LOG_LEVEL": "INFO",
        },
    )
    _booted(aws, "acme-web-1", LEAKY_USER_DATA)


def secrets_many(aws: LocalAws) -> None:
    service_role(aws, "acme-lambda", "lambda.amazonaws.com")
    _secrets_twins(aws)
    _secrets_leaks(aws)
    _configured_function(aws, "acme-reports", {"DATABASE_URL": "postgres://reports:Acme-Rp-2v8n@db.internal:5432/r"})
    _configured_function(aws, "acme-flags", {"LOG_LEVEL": "WARNING", "FEATURE_FLAGS": "beta,dark-mode"})
    _configured_function(aws, "acme-notify", {"CONFIG": '{"channel": "#ops", "slack_token": "acme-notify-9q7w"}'})
    _booted(aws, "acme-build-1", gzip.compress(PRIVATE_KEY_USER_DATA.encode("ascii"), mtime=0))
    _booted(aws, "acme-reports-1", MULTIPART_USER_DATA)
    _booted(aws, "acme-appliance-1", b"\x00\x01ACME\xfe\xff\x00binary-blob")
    _booted(aws, "acme-worker-1", "#cloud-config\npackage_update: true\nruncmd:\n  - systemctl start acme-worker\n")


SECRETS_IN_CONFIG_CASES = [
    Case(
        "passing",
        "acme-billing-api-v2 keeps a Secrets Manager ARN, an SSM parameter name and settings about "
        "secrets (TOKEN_TTL, PASSWORD_MIN_LENGTH, SECRETS_EXTENSION_HTTP_PORT) in its environment; "
        "acme-resize has none (no result). acme-web-2's user data reads its password from Secrets "
        "Manager at boot; acme-batch-1 has no user data (no result).",
        secrets_passing,
    ),
    Case(
        "failing",
        "acme-billing-api holds AWS's example access key pair and a database password in its "
        "environment; acme-web-1's user data exports a database password and an API key.",
        secrets_failing,
    ),
    Case("empty", "No functions and no instances.", nothing),
    Case(
        "many",
        "The passing and failing resources plus: a password inside a DATABASE_URL, a function with only "
        "settings, a token inside a JSON CONFIG value; gzip-compressed user data with a private key, "
        "MIME multi-part user data whose base64 shell part exports a password, binary user data "
        "(MANUAL) and a clean cloud-config.",
        secrets_many,
    ),
    Case(
        "denied",
        "lambda:ListFunctions and ec2:DescribeInstanceAttribute denied (synthesised AccessDeniedException "
        "and UnauthorizedOperation): ESA.1 and ESA.2 must be MANUAL, naming them.",
        secrets_failing,
        deny=calls("lambda list-functions", "ec2 describe-instance-attribute"),
    ),
]


CASES: dict[str, list[Case]] = {
    "iam": IAM_CASES,
    "s3": S3_CASES,
    "account": ACCOUNT_CASES,
    "ec2": EC2_CASES,
    "cloudtrail": CLOUDTRAIL_CASES,
    "config": CONFIG_CASES,
    "guardduty": GUARDDUTY_CASES,
    "rds": RDS_CASES,
    "kms": KMS_CASES,
    "lambda": LAMBDA_CASES,
    "secretsmanager": SECRETS_CASES,
    "ecr": ECR_CASES,
    "eks": EKS_CASES,
    "efs": EFS_CASES,
    "sns": SNS_CASES,
    "sqs": SQS_CASES,
    "dynamodb": DYNAMODB_CASES,
    "ssm": SSM_CASES,
    "elb": ELB_CASES,
    "secrets_in_config": SECRETS_IN_CONFIG_CASES,
}
