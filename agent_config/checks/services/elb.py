"""Elastic Load Balancing: Application Load Balancers redirect HTTP to HTTPS (ELB.1).

Calls (regional), in three rounds:

- `elbv2 describe-load-balancers`; only `Type: application` balancers are assessed (ELB.1 is about
  ALBs; Network and Gateway Load Balancers get no result);
- `elbv2 describe-listeners --load-balancer-arn ARN` per ALB;
- `elbv2 describe-rules --listener-arn ARN` per HTTP listener whose default action already
  redirects to HTTPS: only then can a rule still decide the verdict.

An ALB passes when it has no HTTP listener, or when every HTTP listener's default action is a
redirect to HTTPS and none of its other rules forwards requests to targets (AWS Config's
`alb-http-to-https-redirection-check`: a listener that forwards HTTP is not redirecting, whatever
its default). A redirect that keeps the protocol (`#{protocol}`) or names HTTP is not to HTTPS.

The Security server's network check reports ELB.1 too (PASS without HTTP listeners, MANUAL when it
cannot see redirects); results here carry the load balancer's ARN and Region, the same identity the
server's findings carry, so the synthesizer merges the two and the definite answer from here wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

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
    text,
)

SERVICE = "elb"
GLOBAL = False
CONTROL_IDS: tuple[str, ...] = ("ELB.1",)
LOAD_BALANCER = "AWS::ElasticLoadBalancingV2::LoadBalancer"
APPLICATION = "application"
HTTP = "HTTP"
HTTPS = "HTTPS"
FORWARD = "forward"
REDIRECT = "redirect"


def list_call(region: str) -> ApiCall:
    return ApiCall.of("elbv2", "describe-load-balancers", region)


def listeners_call(region: str, load_balancer_arn: str) -> ApiCall:
    return ApiCall.of("elbv2", "describe-listeners", region, load_balancer_arn=load_balancer_arn)


def rules_call(region: str, listener_arn: str) -> ApiCall:
    return ApiCall.of("elbv2", "describe-rules", region, listener_arn=listener_arn)


def _albs(index: Index, region: str) -> tuple[Read, list[dict[str, Any]]]:
    listing = read(index, list_call(region))
    albs = [
        lb
        for lb in items_of(listing.doc, "LoadBalancers")
        if lb.get("Type") == APPLICATION and isinstance(lb.get("LoadBalancerArn"), str)
    ]
    return listing, albs


def _http_listeners(listeners: Read) -> list[dict[str, Any]]:
    return [
        listener
        for listener in items_of(listeners.doc, "Listeners")
        if str(listener.get("Protocol", "")).upper() == HTTP
    ]


def _redirects_to_https(actions: list[dict[str, Any]]) -> bool:
    """True when the actions end in a redirect to HTTPS (authentication actions may come first)."""
    types = [str(a.get("Type", "")).lower() for a in actions]
    if FORWARD in types:
        return False
    return any(
        kind == REDIRECT and str(obj(action.get("RedirectConfig")).get("Protocol", "")).upper() == HTTPS
        for kind, action in zip(types, actions, strict=True)
    )


def _forwards(actions: list[dict[str, Any]]) -> bool:
    return any(str(a.get("Type", "")).lower() == FORWARD for a in actions)


def plan(region: str, evidence: Evidence, max_resources: int = DEFAULT_MAX_RESOURCES) -> list[ApiCall]:
    """The listing, then each ALB's listeners, then the rules of HTTP listeners that redirect."""
    index = Index(evidence)
    calls = [list_call(region)]
    _, albs = _albs(index, region)
    for alb in capped(albs, max_resources):
        call = listeners_call(region, alb["LoadBalancerArn"])
        calls.append(call)
        for listener in _http_listeners(read(index, call)):
            listener_arn = text(listener.get("ListenerArn"))
            if listener_arn and _redirects_to_https(items_of(listener, "DefaultActions")):
                calls.append(rules_call(region, listener_arn))
    return needed(index, calls)


def cap_reached(region: str, evidence: Evidence, max_resources: int = DEFAULT_MAX_RESOURCES) -> list[CapReached]:
    _, albs = _albs(Index(evidence), region)
    return cap_notice(SERVICE, region, LOAD_BALANCER, len(albs), max_resources)


def evaluate(
    region: str,
    evidence: Evidence,
    *,
    now: datetime | None = None,
    max_resources: int = DEFAULT_MAX_RESOURCES,
) -> list[CheckResult]:
    index = Index(evidence)
    listing, albs = _albs(index, region)
    gate = listing_gate(CONTROL_IDS, evidence.account_id, region, listing, len(albs), "Application Load Balancers")
    if gate is not None:
        return gate
    return [_elb_1(index, region, alb) for alb in capped(albs, max_resources)]


@dataclass(frozen=True)
class _ListenerVerdict:
    """One HTTP listener: why it fails, or what is missing to decide, or neither (it passes)."""

    label: str
    failure: str | None = None
    missing: str | None = None


def _elb_1(index: Index, region: str, alb: dict[str, Any]) -> CheckResult:
    alb_arn: str = alb["LoadBalancerArn"]
    parts = alb_arn.split("/")  # ...:loadbalancer/app/NAME/ID
    name = text(alb.get("LoadBalancerName")) or (parts[-2] if len(parts) > 2 else alb_arn)
    subject = Subject(LOAD_BALANCER, name, alb_arn, region)
    listeners = read(index, listeners_call(region, alb_arn))
    if listeners.doc is None:
        return subject.manual("ELB.1", listeners.missing or "", "the load balancer's listeners")
    http = _http_listeners(listeners)
    ports = sorted(
        f"{listener.get('Protocol')}:{listener.get('Port')}" for listener in items_of(listeners.doc, "Listeners")
    )
    if not http:
        return subject.passed("ELB.1", "The load balancer has no HTTP listener.", listeners=ports[:10])
    verdicts = [_listener(index, region, listener) for listener in http]
    failures = [f"{v.label} {v.failure}" for v in verdicts if v.failure]
    evidence = {"listeners": ports[:10], "http_listeners": [v.label for v in verdicts][:10]}
    if failures:
        reason = f"HTTP requests are not all redirected to HTTPS: {'; '.join(failures[:3])}."
        return subject.failed("ELB.1", reason, **evidence)
    missing = [v.missing for v in verdicts if v.missing]
    if missing:
        return subject.manual("ELB.1", missing, "the HTTP listeners' rules")
    return subject.passed("ELB.1", "Every HTTP listener redirects to HTTPS and forwards nothing.", **evidence)


def _listener(index: Index, region: str, listener: dict[str, Any]) -> _ListenerVerdict:
    label = f"HTTP:{listener.get('Port')}"
    default = items_of(listener, "DefaultActions")
    if not _redirects_to_https(default):
        kinds = " + ".join(_describe(action) for action in default) or "none"
        return _ListenerVerdict(label, failure=f"has default action {kinds}, not a redirect to HTTPS")
    listener_arn = text(listener.get("ListenerArn"))
    if listener_arn is None:
        return _ListenerVerdict(label, missing="ListenerArn missing from elasticloadbalancing:DescribeListeners")
    rules = read(index, rules_call(region, listener_arn))
    if rules.doc is None:
        return _ListenerVerdict(label, missing=rules.missing or "")
    forwarding = [
        str(rule.get("Priority"))
        for rule in items_of(rules.doc, "Rules")
        if rule.get("IsDefault") is not True and _forwards(items_of(rule, "Actions"))
    ]
    if forwarding:
        priorities = ", ".join(forwarding[:5])
        return _ListenerVerdict(label, failure=f"forwards requests in rule(s) with priority {priorities}")
    return _ListenerVerdict(label)


def _describe(action: dict[str, Any]) -> str:
    """An action in a few words: 'forward', 'fixed-response', 'redirect to #{protocol}'."""
    kind = str(action.get("Type"))
    if kind.lower() == REDIRECT:
        return f"redirect to {obj(action.get('RedirectConfig')).get('Protocol')}"
    return kind
