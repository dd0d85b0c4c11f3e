"""The account itself: is a security contact registered (Account.1), and does the account belong to
an AWS Organizations organization (Account.2)?

Calls (global, `region=None`):

- `account get-alternate-contact --alternate-contact-type SECURITY` (Account.1).
  ResourceNotFoundException means no security contact (FAIL).
- `organizations describe-organization` (Account.2). Any account of an organization, member or
  management, may call it and gets the organization back; AWSOrganizationsNotInUseException means
  the account is standalone (FAIL).

A read that is denied or not available (an organisation member without the permission, a local
AWS without the API) gives MANUAL naming the permission, never FAIL: a denied
organizations:DescribeOrganization says nothing about whether an organization exists (an SCP may
deny it inside one).
"""

from __future__ import annotations

from datetime import datetime

from agent_config.checks.evidence import ApiCall, Evidence
from agent_config.checks.results import GLOBAL_REGION, CapReached, CheckResult
from agent_config.checks.services._common import (
    DEFAULT_MAX_RESOURCES,
    Index,
    Subject,
    account_subject,
    needed,
    obj,
    read,
    text,
)

SERVICE = "account"
GLOBAL = True
CONTROL_IDS: tuple[str, ...] = ("Account.1", "Account.2")
NOT_FOUND = "ResourceNotFoundException"
NOT_IN_ORGANIZATION = "AWSOrganizationsNotInUseException"


def contact_call() -> ApiCall:
    return ApiCall.of("account", "get-alternate-contact", alternate_contact_type="SECURITY")


def organization_call() -> ApiCall:
    return ApiCall.of("organizations", "describe-organization")


def plan(region: str, evidence: Evidence, max_resources: int = DEFAULT_MAX_RESOURCES) -> list[ApiCall]:
    return needed(Index(evidence), [contact_call(), organization_call()])


def cap_reached(region: str, evidence: Evidence, max_resources: int = DEFAULT_MAX_RESOURCES) -> list[CapReached]:
    return []


def evaluate(
    region: str,
    evidence: Evidence,
    *,
    now: datetime | None = None,
    max_resources: int = DEFAULT_MAX_RESOURCES,
) -> list[CheckResult]:
    index = Index(evidence)
    subject = account_subject(evidence.account_id, GLOBAL_REGION)
    return [_account_1(index, subject), _account_2(index, subject)]


def _account_1(index: Index, subject: Subject) -> CheckResult:
    contact = read(index, contact_call(), absent_codes={NOT_FOUND})
    if contact.absent:
        return subject.failed("Account.1", "No security alternate contact is registered for the account.")
    if contact.doc is None:
        return subject.manual("Account.1", contact.missing or "", "the security contact")
    details = obj(contact.doc.get("AlternateContact"))
    has_email = bool(details.get("EmailAddress"))
    return subject.verdict(
        "Account.1",
        has_email,
        "A security alternate contact is registered.",
        "The security alternate contact has no email address.",
        contact_type=details.get("AlternateContactType"),
        has_email=has_email,
    )


def _account_2(index: Index, subject: Subject) -> CheckResult:
    organization = read(index, organization_call(), absent_codes={NOT_IN_ORGANIZATION})
    if organization.absent:
        return subject.failed("Account.2", "The account is not a member of an AWS Organizations organization.")
    if organization.doc is None:
        return subject.manual("Account.2", organization.missing or "", "organization membership")
    details = obj(organization.doc.get("Organization"))
    organization_id = text(details.get("Id"))
    if organization_id is None:
        return subject.manual("Account.2", "Organization.Id missing from organizations:DescribeOrganization")
    management = text(details.get("MasterAccountId"))
    role = "the management account" if management == subject.resource_id else "a member account"
    return subject.passed(
        "Account.2",
        f"The account is {role} of organization {organization_id}.",
        organization_id=organization_id,
        management_account_id=management,
        feature_set=details.get("FeatureSet"),
    )
