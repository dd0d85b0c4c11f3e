"""AWS Systems Manager: documents shared publicly (SSM.4).

Calls (regional): `ssm list-documents --filters Key=Owner,Values=Self` (the account's own
documents; without the filter AWS lists hundreds of Amazon-owned ones), then per document
`ssm describe-document-permission --name NAME --permission-type Share`. A document shared with
"All" is public; one shared with named accounts is not.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agent_config.checks.evidence import ApiCall, Evidence
from agent_config.checks.results import CapReached, CheckResult
from agent_config.checks.services._common import (
    DEFAULT_MAX_RESOURCES,
    Index,
    Read,
    Subject,
    arn,
    cap_notice,
    capped,
    items_of,
    listing_gate,
    needed,
    read,
    strings_of,
)

SERVICE = "ssm"
GLOBAL = False
CONTROL_IDS: tuple[str, ...] = ("SSM.4",)
DOCUMENT = "AWS::SSM::Document"
OWN_DOCUMENTS = "Key=Owner,Values=Self"


def list_call(region: str) -> ApiCall:
    return ApiCall.of("ssm", "list-documents", region, filters=OWN_DOCUMENTS)


def permission_call(region: str, name: str) -> ApiCall:
    return ApiCall.of("ssm", "describe-document-permission", region, name=name, permission_type="Share")


def _documents(index: Index, region: str) -> tuple[Read, list[dict[str, Any]]]:
    listing = read(index, list_call(region))
    own = [
        d
        for d in items_of(listing.doc, "DocumentIdentifiers")
        if isinstance(d.get("Name"), str) and d.get("Owner", index.account_id) == index.account_id
    ]
    return listing, own


def plan(region: str, evidence: Evidence, max_resources: int = DEFAULT_MAX_RESOURCES) -> list[ApiCall]:
    index = Index(evidence)
    _, documents = _documents(index, region)
    calls = [
        list_call(region),
        *(permission_call(region, d["Name"]) for d in capped(documents, max_resources)),
    ]
    return needed(index, calls)


def cap_reached(region: str, evidence: Evidence, max_resources: int = DEFAULT_MAX_RESOURCES) -> list[CapReached]:
    _, documents = _documents(Index(evidence), region)
    return cap_notice(SERVICE, region, DOCUMENT, len(documents), max_resources)


def evaluate(
    region: str,
    evidence: Evidence,
    *,
    now: datetime | None = None,
    max_resources: int = DEFAULT_MAX_RESOURCES,
) -> list[CheckResult]:
    index = Index(evidence)
    listing, documents = _documents(index, region)
    gate = listing_gate(CONTROL_IDS, evidence.account_id, region, listing, len(documents), "SSM documents")
    if gate is not None:
        return gate
    results = []
    for document in capped(documents, max_resources):
        name = document["Name"]
        subject = Subject(DOCUMENT, name, arn("ssm", region, evidence.account_id, f"document/{name}"), region)
        permission = read(index, permission_call(region, name))
        if permission.doc is None:
            results.append(subject.manual("SSM.4", permission.missing or "", "who the document is shared with"))
            continue
        accounts = strings_of(permission.doc, "AccountIds")
        public = any(account.lower() == "all" for account in accounts)
        results.append(
            subject.verdict(
                "SSM.4",
                not public,
                f"The document is shared with {len(accounts)} named account(s)."
                if accounts
                else "The document is not shared.",
                "The document is shared with 'All': every AWS account can read it.",
                shared_with=accounts[:10],
                document_type=document.get("DocumentType"),
            )
        )
    return results
