"""Application Load Balancers in the primary region: one serving the shop over plain HTTP (ELB.1).

The legacy shop still runs behind a 2018 ALB in the default VPC whose only listener is HTTP:80
forwarding to the web servers, so sessions and card-form posts travel in clear text. Its twin,
the current shop's ALB in the workload VPC (security group `public-alb`, open on 80 and 443 only),
answers HTTP:80 with a permanent redirect to HTTPS and serves HTTPS:443 with a TLS 1.3 policy from
ELB.17's recommended list, so no other load-balancer control fails on it either.

moto accepts an ACM certificate that is still pending validation on an HTTPS listener; AWS would
need it issued. Nothing here sends traffic.
"""

from __future__ import annotations

from typing import Any

from agent_config.sandbox.sample_account._context import LEGACY, WEB, SeedContext, Team
from agent_config.sandbox.sample_account.network import Network

LOAD_BALANCER = "AWS::ElasticLoadBalancingV2::LoadBalancer"
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"
"""One of ELB.17's recommended policies."""
REDIRECT_TO_HTTPS = {
    "Type": "redirect",
    "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"},
}


def _load_balancer(
    ctx: SeedContext, name: str, team: Team, subnets: tuple[str, ...], groups: list[str], vpc_id: str
) -> tuple[str, dict[str, Any]]:
    """An internet-facing ALB and a target group on port 8080; returns its ARN and a forward action."""
    elb = ctx.client("elbv2", ctx.primary)
    arguments: dict[str, Any] = {"SecurityGroups": groups} if groups else {}
    balancer = elb.create_load_balancer(
        Name=name,
        Subnets=list(subnets[:2]),
        Scheme="internet-facing",
        Type="application",
        Tags=team.tags(name),
        **arguments,
    )["LoadBalancers"][0]
    targets = elb.create_target_group(
        Name=f"{name}-web", Protocol="HTTP", Port=8080, VpcId=vpc_id, Tags=team.tags(f"{name}-web")
    )["TargetGroups"][0]
    return str(balancer["LoadBalancerArn"]), {"Type": "forward", "TargetGroupArn": targets["TargetGroupArn"]}


def seed_primary_load_balancers(ctx: SeedContext, network: Network) -> None:
    elb = ctx.client("elbv2", ctx.primary)
    legacy_arn, legacy_forward = _load_balancer(
        ctx, "acme-legacy-shop-alb", LEGACY, network.default_subnet_ids, [], network.default_vpc_id
    )
    elb.create_listener(LoadBalancerArn=legacy_arn, Protocol="HTTP", Port=80, DefaultActions=[legacy_forward])

    shop_arn, shop_forward = _load_balancer(
        ctx,
        "acme-shop-alb",
        WEB,
        network.public_subnet_ids,
        [network.security_groups["public-alb"]],
        network.vpc_id,
    )
    certificate = ctx.client("acm", ctx.primary).request_certificate(
        DomainName="shop.acme-corp.example", ValidationMethod="DNS", Tags=WEB.tags()
    )["CertificateArn"]
    elb.create_listener(
        LoadBalancerArn=shop_arn,
        Protocol="HTTPS",
        Port=443,
        SslPolicy=TLS_POLICY,
        Certificates=[{"CertificateArn": certificate}],
        DefaultActions=[shop_forward],
    )
    elb.create_listener(LoadBalancerArn=shop_arn, Protocol="HTTP", Port=80, DefaultActions=[REDIRECT_TO_HTTPS])

    plain = ctx.fail(
        "ELB.1",
        LOAD_BALANCER,
        "acme-legacy-shop-alb",
        legacy_arn,
        ctx.primary,
        "Internet-facing ALB whose only listener, HTTP:80, forwards to the legacy web servers: no redirect to HTTPS.",
        arn=legacy_arn,
    )
    ctx.twin(
        plain,
        "acme-shop-alb",
        shop_arn,
        f"HTTP:80 answers with a 301 redirect to HTTPS:443, which serves the shop with {TLS_POLICY}.",
        arn=shop_arn,
    )
