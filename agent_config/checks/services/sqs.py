"""Amazon SQS: queues encrypted at rest (SQS.1).

Calls (regional): `sqs list-queues`, then `sqs get-queue-attributes --queue-url URL
--attribute-names All` per queue. A queue is encrypted with SSE-KMS (`KmsMasterKeyId`) or SSE-SQS
(`SqsManagedSseEnabled` "true"). Results use the queue URL as the id (what the API addresses a
queue by) and the queue's ARN.
"""

from __future__ import annotations

from datetime import datetime

from agent_config.checks.evidence import ApiCall, Evidence
from agent_config.checks.results import CheckResult
from agent_config.checks.services._common import (
    DEFAULT_MAX_RESOURCES,
    Index,
    ListedResources,
    Subject,
    arn,
    capped,
    listing_gate,
    obj,
    read,
    truthy,
)

SERVICE = "sqs"
GLOBAL = False
CONTROL_IDS: tuple[str, ...] = ("SQS.1",)
QUEUE = "AWS::SQS::Queue"


def list_call(region: str) -> ApiCall:
    return ApiCall.of("sqs", "list-queues", region)


def attributes_call(region: str, queue_url: str) -> ApiCall:
    return ApiCall.of("sqs", "get-queue-attributes", region, queue_url=queue_url, attribute_names="All")


RESOURCES = ListedResources(SERVICE, QUEUE, list_call, "QueueUrls", attributes_call)
plan = RESOURCES.plan
cap_reached = RESOURCES.cap_reached


def evaluate(
    region: str,
    evidence: Evidence,
    *,
    now: datetime | None = None,
    max_resources: int = DEFAULT_MAX_RESOURCES,
) -> list[CheckResult]:
    index = Index(evidence)
    listing, queues = RESOURCES.listed(index, region)
    gate = listing_gate(CONTROL_IDS, evidence.account_id, region, listing, len(queues), "SQS queues")
    if gate is not None:
        return gate
    results = []
    for url in capped(queues, max_resources):
        attributes = read(index, attributes_call(region, url))
        values = obj(obj(attributes.doc).get("Attributes"))
        queue_arn = values.get("QueueArn") or arn(
            "sqs", region, evidence.account_id, url.rstrip("/").rsplit("/", 1)[-1]
        )
        subject = Subject(QUEUE, url, str(queue_arn), region)
        if attributes.doc is None:
            results.append(subject.manual("SQS.1", attributes.missing or "", "the queue's attributes"))
            continue
        key = values.get("KmsMasterKeyId")
        managed = truthy(values.get("SqsManagedSseEnabled"))
        results.append(
            subject.verdict(
                "SQS.1",
                bool(key) or managed,
                f"The queue is encrypted with KMS key {key}." if key else "The queue is encrypted with SSE-SQS.",
                "The queue is not encrypted at rest.",
                KmsMasterKeyId=key or None,
                SqsManagedSseEnabled=managed,
            )
        )
    return results
