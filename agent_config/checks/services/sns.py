"""Amazon SNS: topics encrypted at rest with KMS (SNS.1).

Calls (regional): `sns list-topics`, then `sns get-topic-attributes --topic-arn ARN` per topic;
a topic is encrypted when its `KmsMasterKeyId` attribute is set.
"""

from __future__ import annotations

from datetime import datetime

from agent_config.checks.evidence import ApiCall, Evidence
from agent_config.checks.results import CapReached, CheckResult
from agent_config.checks.services._common import (
    DEFAULT_MAX_RESOURCES,
    Index,
    Read,
    Subject,
    cap_notice,
    capped,
    items_of,
    listing_gate,
    needed,
    obj,
    read,
)

SERVICE = "sns"
GLOBAL = False
CONTROL_IDS: tuple[str, ...] = ("SNS.1",)
TOPIC = "AWS::SNS::Topic"


def list_call(region: str) -> ApiCall:
    return ApiCall.of("sns", "list-topics", region)


def attributes_call(region: str, topic_arn: str) -> ApiCall:
    return ApiCall.of("sns", "get-topic-attributes", region, topic_arn=topic_arn)


def _topics(index: Index, region: str) -> tuple[Read, list[str]]:
    listing = read(index, list_call(region))
    return listing, [str(t["TopicArn"]) for t in items_of(listing.doc, "Topics") if isinstance(t.get("TopicArn"), str)]


def plan(region: str, evidence: Evidence, max_resources: int = DEFAULT_MAX_RESOURCES) -> list[ApiCall]:
    index = Index(evidence)
    _, topics = _topics(index, region)
    return needed(index, [list_call(region), *(attributes_call(region, t) for t in capped(topics, max_resources))])


def cap_reached(region: str, evidence: Evidence, max_resources: int = DEFAULT_MAX_RESOURCES) -> list[CapReached]:
    _, topics = _topics(Index(evidence), region)
    return cap_notice(SERVICE, region, TOPIC, len(topics), max_resources)


def evaluate(
    region: str,
    evidence: Evidence,
    *,
    now: datetime | None = None,
    max_resources: int = DEFAULT_MAX_RESOURCES,
) -> list[CheckResult]:
    index = Index(evidence)
    listing, topics = _topics(index, region)
    gate = listing_gate(CONTROL_IDS, evidence.account_id, region, listing, len(topics), "SNS topics")
    if gate is not None:
        return gate
    results = []
    for topic_arn in capped(topics, max_resources):
        subject = Subject(TOPIC, topic_arn, topic_arn, region)
        attributes = read(index, attributes_call(region, topic_arn))
        if attributes.doc is None:
            results.append(subject.manual("SNS.1", attributes.missing or "", "the topic's attributes"))
            continue
        key = obj(attributes.doc.get("Attributes")).get("KmsMasterKeyId")
        results.append(
            subject.verdict(
                "SNS.1",
                bool(key),
                f"The topic is encrypted with KMS key {key}.",
                "The topic is not encrypted at rest with KMS.",
                KmsMasterKeyId=key or None,
            )
        )
    return results
