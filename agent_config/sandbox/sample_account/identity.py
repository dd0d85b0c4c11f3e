"""IAM: people, pipelines, roles and the policies they carry (account-wide, so region 'global').

The shapes come from IAM Vulnerable and CloudGoat: a break-glass era `*:*` policy still attached
to a group of humans and to an instance role, a CI user with a policy attached straight to it, a
console user without MFA, a decrypt-everything policy, and `s3:*` handed to a whole team. Each has
a twin that does the same job the way a reviewer would accept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agent_config.sandbox.sample_account._context import (
    DATA,
    LEGACY,
    PAYMENTS,
    SECURITY,
    WEB,
    SeedContext,
    Team,
    policy_document,
)
from agent_config.sandbox.sample_account.manifest import GLOBAL_REGION

ACCOUNT = "AWS::::Account"
POLICY = "AWS::IAM::Policy"
USER = "AWS::IAM::User"

_NOT_A_SECRET = "Sandbox-only-Passw0rd!"  # noqa: S105 - a moto login profile; nothing real is protected
_IAM_REGION = "us-east-1"  # IAM is global; its endpoint lives in us-east-1

_ACCOUNT_NO_TWIN = "An AWS account has exactly one IAM password policy, so a strong one cannot sit beside it."


@dataclass(frozen=True)
class Identity:
    """Roles and instance profiles the other modules hand to their resources."""

    lambda_role_arn: str
    flow_logs_role_arn: str
    eks_role_arn: str
    config_role_arn: str
    legacy_web_profile: str
    """Instance profile whose role carries `*:*` (the toxic combination with IMDSv1 and a public IP)."""
    web_profile: str
    etl_profile: str


def _trust(service: str) -> str:
    return policy_document({"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"})


def _role(iam: Any, name: str, service: str, team: Team, description: str) -> str:
    return str(
        iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=_trust(service),
            Description=description,
            Tags=team.tags(),
        )["Role"]["Arn"]
    )


def _policy(iam: Any, name: str, team: Team, description: str, *statements: dict[str, Any]) -> str:
    return str(
        iam.create_policy(
            PolicyName=name,
            PolicyDocument=policy_document(*statements),
            Description=description,
            Tags=team.tags(),
        )["Policy"]["Arn"]
    )


def _instance_profile(iam: Any, name: str, role: str) -> str:
    iam.create_instance_profile(InstanceProfileName=name)
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=role)
    return name


def _console_user(iam: Any, name: str, team: Team, group: str) -> str:
    arn = str(iam.create_user(UserName=name, Tags=team.tags())["User"]["Arn"])
    iam.create_login_profile(UserName=name, Password=_NOT_A_SECRET, PasswordResetRequired=False)
    iam.add_user_to_group(GroupName=group, UserName=name)
    return arn


def seed_identity(ctx: SeedContext, payments_key_arn: str) -> Identity:
    """Create the IAM estate; `payments_key_arn` scopes the well-written decrypt policy."""
    iam = ctx.client("iam", _IAM_REGION)
    acct = ctx.account_id

    # Policies -----------------------------------------------------------------------------
    full_access = _policy(
        iam,
        "AcmeLegacyFullAccess",
        LEGACY,
        "Break-glass policy from the 2017 migration, never removed",
        {"Sid": "Everything", "Effect": "Allow", "Action": "*", "Resource": "*"},
    )
    ci_deploy = _policy(
        iam,
        "AcmeCiDeploy",
        WEB,
        "Push images and roll out the web service",
        {
            "Sid": "PushImages",
            "Effect": "Allow",
            "Action": [
                "ecr:BatchCheckLayerAvailability",
                "ecr:CompleteLayerUpload",
                "ecr:InitiateLayerUpload",
                "ecr:PutImage",
                "ecr:UploadLayerPart",
            ],
            "Resource": f"arn:aws:ecr:{ctx.primary}:{acct}:repository/acme/*",
        },
        {"Sid": "Login", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {
            "Sid": "RollOut",
            "Effect": "Allow",
            "Action": ["ecs:UpdateService", "ecs:DescribeServices"],
            "Resource": f"arn:aws:ecs:{ctx.primary}:{acct}:service/acme-web/*",
        },
    )
    decrypt_all = _policy(
        iam,
        "AcmeAppDecryptAll",
        DATA,
        "Lets the ETL workers decrypt anything",
        {
            "Sid": "Decrypt",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": "*",
        },
    )
    decrypt_payments = _policy(
        iam,
        "AcmePaymentsDecrypt",
        PAYMENTS,
        "Lets the web tier decrypt payments data with one key",
        {
            "Sid": "DecryptPaymentsKey",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": payments_key_arn,
        },
    )
    lake_buckets = [f"arn:aws:s3:::acme-analytics-{zone}" for zone in ("raw", "curated")]
    lake_full = _policy(
        iam,
        "AcmeDataLakeFullS3",
        DATA,
        "Data engineers on the lake buckets",
        {
            "Sid": "Lake",
            "Effect": "Allow",
            "Action": "s3:*",
            "Resource": lake_buckets + [f"{bucket}/*" for bucket in lake_buckets],
        },
    )
    lake_read = _policy(
        iam,
        "AcmeDataLakeReadOnly",
        DATA,
        "Reporting reads the curated zone",
        {
            "Sid": "ListCurated",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": "arn:aws:s3:::acme-analytics-curated",
        },
        {
            "Sid": "ReadCurated",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::acme-analytics-curated/*",
        },
    )
    flow_logs_delivery = _policy(
        iam,
        "AcmeVpcFlowLogsDelivery",
        SECURITY,
        "VPC Flow Logs writing to CloudWatch Logs",
        {
            "Sid": "Deliver",
            "Effect": "Allow",
            "Action": [
                "logs:CreateLogStream",
                "logs:PutLogEvents",
                "logs:DescribeLogGroups",
                "logs:DescribeLogStreams",
            ],
            "Resource": f"arn:aws:logs:*:{acct}:log-group:/acme/vpc-flow-logs/*",
        },
    )

    # Groups and people ------------------------------------------------------------------
    for group, policy_arn in (
        ("acme-legacy-admins", full_access),
        ("acme-data-engineers", lake_full),
        ("acme-reporting-readers", lake_read),
    ):
        iam.create_group(GroupName=group)
        iam.attach_group_policy(GroupName=group, PolicyArn=policy_arn)

    _console_user(iam, "j.smith", LEGACY, "acme-legacy-admins")
    _console_user(iam, "a.patel", DATA, "acme-data-engineers")
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="a.patel", Tags=DATA.tags())["VirtualMFADevice"][
        "SerialNumber"
    ]
    iam.enable_mfa_device(
        UserName="a.patel", SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321"
    )
    ci_arn = str(iam.create_user(UserName="ci-deploy", Tags=WEB.tags())["User"]["Arn"])
    iam.attach_user_policy(UserName="ci-deploy", PolicyArn=ci_deploy)
    iam.create_access_key(UserName="ci-deploy")
    reporting_arn = str(iam.create_user(UserName="svc-reporting", Tags=DATA.tags())["User"]["Arn"])
    iam.add_user_to_group(GroupName="acme-reporting-readers", UserName="svc-reporting")

    # Roles ------------------------------------------------------------------------------
    _role(iam, "acme-legacy-web-role", "ec2.amazonaws.com", LEGACY, "Legacy web servers")
    iam.attach_role_policy(RoleName="acme-legacy-web-role", PolicyArn=full_access)
    _role(iam, "acme-web-role", "ec2.amazonaws.com", WEB, "Web tier")
    iam.attach_role_policy(RoleName="acme-web-role", PolicyArn=decrypt_payments)
    _role(iam, "acme-etl-role", "ec2.amazonaws.com", DATA, "ETL workers")
    iam.attach_role_policy(RoleName="acme-etl-role", PolicyArn=decrypt_all)
    flow_logs_role = _role(iam, "acme-vpc-flow-logs", "vpc-flow-logs.amazonaws.com", SECURITY, "VPC Flow Logs delivery")
    iam.attach_role_policy(RoleName="acme-vpc-flow-logs", PolicyArn=flow_logs_delivery)
    identity = Identity(
        lambda_role_arn=_role(iam, "acme-lambda-exec", "lambda.amazonaws.com", WEB, "Lambda functions"),
        flow_logs_role_arn=flow_logs_role,
        eks_role_arn=_role(iam, "acme-eks-cluster", "eks.amazonaws.com", DATA, "EKS control plane"),
        config_role_arn=_role(iam, "acme-config-recorder", "config.amazonaws.com", SECURITY, "AWS Config"),
        legacy_web_profile=_instance_profile(iam, "acme-legacy-web-profile", "acme-legacy-web-role"),
        web_profile=_instance_profile(iam, "acme-web-profile", "acme-web-role"),
        etl_profile=_instance_profile(iam, "acme-etl-profile", "acme-etl-role"),
    )

    # Account password policy: one per account, weak, and no twin possible ---------------
    iam.update_account_password_policy(
        MinimumPasswordLength=6,
        RequireSymbols=False,
        RequireNumbers=False,
        RequireUppercaseCharacters=False,
        RequireLowercaseCharacters=True,
        AllowUsersToChangePassword=True,
    )

    # The manifest --------------------------------------------------------------------------
    g = GLOBAL_REGION
    ctx.fail(
        "IAM.7",
        ACCOUNT,
        "account-password-policy",
        acct,
        g,
        "Password policy: 6 characters minimum, no symbols, numbers or upper case, no reuse prevention, no expiry.",
        no_twin_reason=_ACCOUNT_NO_TWIN,
    )
    ctx.fail(
        "IAM.15",
        ACCOUNT,
        "account-password-policy",
        acct,
        g,
        "The same password policy's minimum length is 6 characters, not 14.",
        no_twin_reason=_ACCOUNT_NO_TWIN,
    )
    ctx.fail(
        "IAM.16",
        ACCOUNT,
        "account-password-policy",
        acct,
        g,
        "The same password policy remembers no previous passwords (PasswordReusePrevention unset; CIS asks 24).",
        no_twin_reason=_ACCOUNT_NO_TWIN,
    )
    admin = ctx.fail(
        "IAM.1",
        POLICY,
        "AcmeLegacyFullAccess",
        "AcmeLegacyFullAccess",
        g,
        "Customer managed policy allowing '*' on '*', attached to group acme-legacy-admins and to the "
        "legacy web servers' instance role.",
        arn=full_access,
    )
    ctx.twin(
        admin,
        "AcmeCiDeploy",
        "AcmeCiDeploy",
        "Deployment policy naming its ECR and ECS actions and resources.",
        arn=ci_deploy,
    )
    decrypt = ctx.fail(
        "KMS.1",
        POLICY,
        "AcmeAppDecryptAll",
        "AcmeAppDecryptAll",
        g,
        "Customer managed policy allowing kms:Decrypt on every key ('*'), attached to acme-etl-role.",
        arn=decrypt_all,
    )
    ctx.twin(
        decrypt,
        "AcmePaymentsDecrypt",
        "AcmePaymentsDecrypt",
        "kms:Decrypt limited to the acme-payments key.",
        arn=decrypt_payments,
    )
    wildcard = ctx.fail(
        "IAM.21",
        POLICY,
        "AcmeDataLakeFullS3",
        "AcmeDataLakeFullS3",
        g,
        "Customer managed policy granting the service wildcard 's3:*' to the data engineers.",
        arn=lake_full,
    )
    ctx.twin(
        wildcard,
        "AcmeDataLakeReadOnly",
        "AcmeDataLakeReadOnly",
        "Names its actions (s3:ListBucket, s3:GetObject).",
        arn=lake_read,
    )
    no_mfa = ctx.fail(
        "IAM.5",
        USER,
        "j.smith",
        "j.smith",
        g,
        "Console password, no MFA device, member of acme-legacy-admins (full access).",
        arn=f"arn:aws:iam::{acct}:user/j.smith",
    )
    ctx.twin(
        no_mfa,
        "a.patel",
        "a.patel",
        "Console password with a virtual MFA device enabled.",
        arn=f"arn:aws:iam::{acct}:user/a.patel",
    )
    direct = ctx.fail(
        "IAM.2",
        USER,
        "ci-deploy",
        "ci-deploy",
        g,
        "Pipeline user with a managed policy attached straight to the user, not through a group.",
        arn=ci_arn,
    )
    ctx.twin(
        direct,
        "svc-reporting",
        "svc-reporting",
        "Service user whose only permissions come from group acme-reporting-readers.",
        arn=reporting_arn,
    )
    return identity
