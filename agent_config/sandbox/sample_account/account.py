"""The account itself: it belongs to no AWS Organizations organization (Account.2).

Acme created this account in 2016, years before it set up its organization (`ORGANIZATION_ID`,
which holds the disaster-recovery account and the newer workload accounts, and which bucket
policies here name in `aws:PrincipalOrgID`). The original account was never invited, so it gets
none of the organization's guardrails: no SCPs, no organization trail, no delegated security
services. That is the common shape for a small company and what Account.2 exists to catch.

Nothing is created: moto, like AWS, answers `DescribeOrganization` with
AWSOrganizationsNotInUseException for an account that is in no organization. The seeding checks
that this local AWS says so, rather than record a FAIL the account would not show.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from agent_config.sandbox.sample_account._context import ORGANIZATION_ID, SampleAccountError, SeedContext
from agent_config.sandbox.sample_account.manifest import GLOBAL_REGION

ACCOUNT = "AWS::::Account"
NOT_IN_ORGANIZATION = "AWSOrganizationsNotInUseException"

_ONE_ACCOUNT_NO_TWIN = (
    "The sandbox is one account, and an account either is in an organization or is not: a member "
    "twin would need a second account seeded as a member."
)


def seed_account(ctx: SeedContext) -> None:
    """Record the standalone account (Account.2 FAIL) after checking the local AWS agrees."""
    try:
        organization = ctx.client("organizations", ctx.primary).describe_organization()["Organization"]
    except ClientError as error:
        if error.response["Error"]["Code"] != NOT_IN_ORGANIZATION:
            raise
    else:
        raise SampleAccountError(
            f"this local AWS already has organization {organization.get('Id')}; the sample account is standalone"
        )
    ctx.fail(
        "Account.2",
        ACCOUNT,
        "aws-organizations-membership",
        ctx.account_id,
        GLOBAL_REGION,
        f"Standalone account: created before Acme's organization {ORGANIZATION_ID} and never invited into it, "
        "so no SCPs, organization trail or delegated security services reach it.",
        no_twin_reason=_ONE_ACCOUNT_NO_TWIN,
    )
