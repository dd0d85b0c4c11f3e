"""AWS Account Management: is a security contact registered (Account.1)?

Call (global, `region=None`): `account get-alternate-contact --alternate-contact-type SECURITY`.
ResourceNotFoundException means no security contact (FAIL); an API that is not available (an
organisation member without the permission, a local AWS without the API) gives MANUAL.
"""

from __future__ import annotations

from datetime import datetime

from agent_config.checks.evidence import ApiCall, Evidence
from agent_config.checks.results import GLOBAL_REGION, CapReached, CheckResult
from agent_config.checks.services._common import (
    DEFAULT_MAX_RESOURCES,
    Index,
    account_subject,
    needed,
    obj,
    read,
)

SERVICE = "account"
GLOBAL = True
CONTROL_IDS: tuple[str, ...] = ("Account.1",)
NOT_FOUND = "ResourceNotFoundException"


def contact_call() -> ApiCall:
    return ApiCall.of("account", "get-alternate-contact", alternate_contact_type="SECURITY")


def plan(region: str, evidence: Evidence, max_resources: int = DEFAULT_MAX_RESOURCES) -> list[ApiCall]:
    return needed(Index(evidence), [contact_call()])


def cap_reached(region: str, evidence: Evidence, max_resources: int = DEFAULT_MAX_RESOURCES) -> list[CapReached]:
    return []


def evaluate(
    region: str,
    evidence: Evidence,
    *,
    now: datetime | None = None,
    max_resources: int = DEFAULT_MAX_RESOURCES,
) -> list[CheckResult]:
    subject = account_subject(evidence.account_id, GLOBAL_REGION)
    contact = read(Index(evidence), contact_call(), absent_codes={NOT_FOUND})
    if contact.absent:
        return [subject.failed("Account.1", "No security alternate contact is registered for the account.")]
    if contact.doc is None:
        return [subject.manual("Account.1", contact.missing or "", "the security contact")]
    details = obj(contact.doc.get("AlternateContact"))
    has_email = bool(details.get("EmailAddress"))
    return [
        subject.verdict(
            "Account.1",
            has_email,
            "A security alternate contact is registered.",
            "The security alternate contact has no email address.",
            contact_type=details.get("AlternateContactType"),
            has_email=has_email,
        )
    ]
