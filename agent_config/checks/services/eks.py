"""Amazon EKS: cluster API endpoints not reachable from the internet (EKS.1).

Calls (regional): `eks list-clusters`, then `eks describe-cluster --name NAME` per cluster.
A public endpoint fails even with `publicAccessCidrs` narrowed, as Security Hub's rule does; the
CIDRs are kept in the evidence so the answer can say how exposed it is.
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
    strings_of,
)

SERVICE = "eks"
GLOBAL = False
CONTROL_IDS: tuple[str, ...] = ("EKS.1",)
CLUSTER = "AWS::EKS::Cluster"


def list_call(region: str) -> ApiCall:
    return ApiCall.of("eks", "list-clusters", region)


def describe_call(region: str, name: str) -> ApiCall:
    return ApiCall.of("eks", "describe-cluster", region, name=name)


RESOURCES = ListedResources(SERVICE, CLUSTER, list_call, "clusters", describe_call)
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
    listing, clusters = RESOURCES.listed(index, region)
    gate = listing_gate(CONTROL_IDS, evidence.account_id, region, listing, len(clusters), "EKS clusters")
    if gate is not None:
        return gate
    results = []
    for name in capped(clusters, max_resources):
        described = read(index, describe_call(region, name))
        cluster = obj(obj(described.doc).get("cluster"))
        cluster_arn = cluster.get("arn") or arn("eks", region, evidence.account_id, f"cluster/{name}")
        subject = Subject(CLUSTER, name, str(cluster_arn), region)
        config = obj(cluster.get("resourcesVpcConfig"))
        public = config.get("endpointPublicAccess")
        if described.doc is None or public is None:
            results.append(subject.manual("EKS.1", described.missing or "endpointPublicAccess missing", "the endpoint"))
            continue
        results.append(
            subject.verdict(
                "EKS.1",
                public is False,
                "The cluster's API endpoint is private only.",
                "The cluster's API endpoint is reachable from the internet.",
                endpointPublicAccess=public,
                endpointPrivateAccess=config.get("endpointPrivateAccess"),
                publicAccessCidrs=strings_of(config, "publicAccessCidrs")[:5],
            )
        )
    return results
