"""VPCs, security groups, network ACLs and flow logs, in both regions.

Each region has the two networks most real accounts have: the **default VPC**, left as AWS
creates it and used by the legacy workloads (its default security group allows traffic, it has no
flow logs, its default network ACL admits everything), and a **workload VPC** built to the
company's standard (flow logs to CloudWatch Logs, default security group emptied, default network
ACL narrowed). The open security groups live in the default VPC, their twins in the workload VPC.

Security group *names* carry no `sg-` prefix: AWS refuses group names that start with `sg-`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agent_config.sandbox.sample_account._context import (
    CORPORATE_VPN_CIDR,
    CORPORATE_VPN_IPV6,
    DATA,
    LEGACY,
    OPEN_IPV4,
    OPEN_IPV6,
    PAYMENTS,
    SECURITY,
    VENDOR_SUPPORT_CIDR,
    WEB,
    SeedContext,
    Team,
)

SECURITY_GROUP = "AWS::EC2::SecurityGroup"
VPC = "AWS::EC2::VPC"
NETWORK_ACL = "AWS::EC2::NetworkAcl"

TCP = "6"
ALL_PROTOCOLS = "-1"


@dataclass(frozen=True)
class Network:
    """What the other modules place their resources into, for one region."""

    region: str
    default_vpc_id: str
    default_subnet_ids: tuple[str, ...]
    """The default VPC's subnets, ordered by Availability Zone (they auto-assign public IPs)."""
    vpc_id: str
    vpc_name: str
    public_subnet_ids: tuple[str, ...]
    private_subnet_ids: tuple[str, ...]
    security_groups: dict[str, str]
    """Group name to group id."""


@dataclass(frozen=True)
class _WorkloadVpc:
    name: str
    cidr: str
    team: Team

    def subnet(self, third_octet: int) -> str:
        first, second = self.cidr.split(".")[:2]
        return f"{first}.{second}.{third_octet}.0/24"


def _ingress(
    protocol: str,
    ports: tuple[int, int] | None = None,
    cidrs: tuple[str, ...] = (),
    from_group: str | None = None,
    description: str = "",
) -> dict[str, Any]:
    """One ingress permission. `ports` is inclusive; `None` with protocol -1 means all traffic."""
    permission: dict[str, Any] = {"IpProtocol": "tcp" if protocol == TCP else protocol}
    if ports is not None:
        permission["FromPort"], permission["ToPort"] = ports
    v4 = [c for c in cidrs if ":" not in c]
    v6 = [c for c in cidrs if ":" in c]
    if v4:
        permission["IpRanges"] = [{"CidrIp": c, "Description": description} for c in v4]
    if v6:
        permission["Ipv6Ranges"] = [{"CidrIpv6": c, "Description": description} for c in v6]
    if from_group:
        permission["UserIdGroupPairs"] = [{"GroupId": from_group, "Description": description}]
    return permission


def _security_group(
    ec2: Any, vpc_id: str, name: str, description: str, team: Team, *permissions: dict[str, Any]
) -> str:
    group_id = str(
        ec2.create_security_group(
            GroupName=name,
            Description=description,
            VpcId=vpc_id,
            TagSpecifications=[{"ResourceType": "security-group", "Tags": team.tags(name)}],
        )["GroupId"]
    )
    if permissions:
        ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=list(permissions))
    return group_id


def _sg_arn(ctx: SeedContext, region: str, group_id: str) -> str:
    return ctx.arn("ec2", region, f"security-group/{group_id}")


def _default_security_group(ec2: Any, vpc_id: str) -> dict[str, Any]:
    groups = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"]
    return dict(groups[0])


def _default_network_acl(ec2: Any, vpc_id: str) -> str:
    acls = ec2.describe_network_acls(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "default", "Values": ["true"]}]
    )["NetworkAcls"]
    return str(acls[0]["NetworkAclId"])


def _acl_entry(ec2: Any, acl_id: str, rule: int, cidr: str, ports: tuple[int, int], *, replace: bool = False) -> None:
    """An inbound TCP allow entry."""
    entry: dict[str, Any] = {
        "NetworkAclId": acl_id,
        "RuleNumber": rule,
        "Protocol": TCP,
        "RuleAction": "allow",
        "Egress": False,
        "PortRange": {"From": ports[0], "To": ports[1]},
    }
    entry["Ipv6CidrBlock" if ":" in cidr else "CidrBlock"] = cidr
    (ec2.replace_network_acl_entry if replace else ec2.create_network_acl_entry)(**entry)


def _tag(ec2: Any, resource_id: str, team: Team, name: str) -> None:
    ec2.create_tags(Resources=[resource_id], Tags=team.tags(name))


def _build_region(ctx: SeedContext, region: str, workload: _WorkloadVpc, flow_logs_role_arn: str) -> Network:
    """Plant the default VPC's three failures and build the workload VPC that twins them."""
    ec2 = ctx.client("ec2", region)
    default_vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    _tag(ec2, default_vpc, LEGACY, "default")
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [default_vpc]}])["Subnets"]
    default_subnets = tuple(s["SubnetId"] for s in sorted(subnets, key=lambda s: s["AvailabilityZone"]))

    # Default VPC: as AWS makes it. moto's default group lacks AWS's self-referencing inbound
    # rule; add it so the group looks like the real one.
    default_sg = _default_security_group(ec2, default_vpc)
    ec2.authorize_security_group_ingress(
        GroupId=default_sg["GroupId"],
        IpPermissions=[{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": default_sg["GroupId"]}]}],
    )
    default_acl = _default_network_acl(ec2, default_vpc)
    open_default_sg = ctx.fail(
        "EC2.2",
        SECURITY_GROUP,
        "default-vpc/default",
        default_sg["GroupId"],
        region,
        "The default VPC's default security group as AWS creates it: all traffic from its own "
        "members in, all traffic out.",
        arn=_sg_arn(ctx, region, default_sg["GroupId"]),
    )
    no_flow_logs = ctx.fail(
        "EC2.6",
        VPC,
        "default-vpc",
        default_vpc,
        region,
        "Default VPC in use by legacy workloads, with no flow logs.",
        arn=ctx.arn("ec2", region, f"vpc/{default_vpc}"),
    )
    open_default_acl = ctx.fail(
        "EC2.21",
        NETWORK_ACL,
        "default-vpc/default-acl",
        default_acl,
        region,
        "Default network ACL as AWS creates it: rule 100 allows all protocols and ports from "
        "0.0.0.0/0, so SSH and RDP are admitted.",
        arn=ctx.arn("ec2", region, f"network-acl/{default_acl}"),
    )

    # Workload VPC: the company standard.
    team = workload.team
    vpc_id = ec2.create_vpc(
        CidrBlock=workload.cidr,
        TagSpecifications=[{"ResourceType": "vpc", "Tags": team.tags(workload.name)}],
    )["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
    igw = ec2.create_internet_gateway(
        TagSpecifications=[{"ResourceType": "internet-gateway", "Tags": team.tags(f"{workload.name}-igw")}]
    )["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)

    def subnet(name: str, octet: int, zone: str) -> str:
        return str(
            ec2.create_subnet(
                VpcId=vpc_id,
                CidrBlock=workload.subnet(octet),
                AvailabilityZone=f"{region}{zone}",
                TagSpecifications=[{"ResourceType": "subnet", "Tags": team.tags(f"{workload.name}-{name}")}],
            )["Subnet"]["SubnetId"]
        )

    public = (subnet("public-a", 0, "a"), subnet("public-b", 1, "b"))
    private = (subnet("private-a", 10, "a"), subnet("private-b", 11, "b"))

    log_group = f"/acme/vpc-flow-logs/{workload.name}"
    logs = ctx.client("logs", region)
    logs.create_log_group(logGroupName=log_group, tags=SECURITY.tag_map())
    logs.put_retention_policy(logGroupName=log_group, retentionInDays=365)
    ec2.create_flow_logs(
        ResourceIds=[vpc_id],
        ResourceType="VPC",
        TrafficType="ALL",
        LogDestinationType="cloud-watch-logs",
        LogGroupName=log_group,
        DeliverLogsPermissionArn=flow_logs_role_arn,
        TagSpecifications=[{"ResourceType": "vpc-flow-log", "Tags": SECURITY.tags(f"{workload.name}-all")}],
    )

    closed_sg = _default_security_group(ec2, vpc_id)
    if closed_sg["IpPermissionsEgress"]:
        ec2.revoke_security_group_egress(GroupId=closed_sg["GroupId"], IpPermissions=closed_sg["IpPermissionsEgress"])
    if closed_sg["IpPermissions"]:
        ec2.revoke_security_group_ingress(GroupId=closed_sg["GroupId"], IpPermissions=closed_sg["IpPermissions"])

    narrowed_acl = _default_network_acl(ec2, vpc_id)
    _tag(ec2, narrowed_acl, team, f"{workload.name}-default-acl")
    # Ephemeral ports from 32768 only: 1024-65535, the usual rule, would admit RDP (3389).
    _acl_entry(ec2, narrowed_acl, 100, OPEN_IPV4, (443, 443), replace=True)
    _acl_entry(ec2, narrowed_acl, 110, OPEN_IPV4, (32768, 65535))
    _acl_entry(ec2, narrowed_acl, 120, CORPORATE_VPN_CIDR, (22, 22))
    _acl_entry(ec2, narrowed_acl, 130, workload.cidr, (0, 65535))

    ctx.twin(
        open_default_sg,
        f"{workload.name}/default",
        closed_sg["GroupId"],
        "Default security group with every inbound and outbound rule removed.",
        arn=_sg_arn(ctx, region, closed_sg["GroupId"]),
    )
    ctx.twin(
        no_flow_logs,
        workload.name,
        vpc_id,
        f"Flow logs (ALL traffic) to CloudWatch Logs group {log_group}.",
        arn=ctx.arn("ec2", region, f"vpc/{vpc_id}"),
    )
    ctx.twin(
        open_default_acl,
        f"{workload.name}/default-acl",
        narrowed_acl,
        "Default network ACL narrowed: 443 and ephemeral ports 32768-65535 from anywhere, SSH only "
        "from the corporate VPN, everything from inside the VPC.",
        arn=ctx.arn("ec2", region, f"network-acl/{narrowed_acl}"),
    )
    return Network(
        region=region,
        default_vpc_id=default_vpc,
        default_subnet_ids=default_subnets,
        vpc_id=vpc_id,
        vpc_name=workload.name,
        public_subnet_ids=public,
        private_subnet_ids=private,
        security_groups={},
    )


def seed_primary_network(ctx: SeedContext, flow_logs_role_arn: str) -> Network:
    region = ctx.primary
    network = _build_region(ctx, region, _WorkloadVpc("acme-prod-vpc", "10.10.0.0/16", WEB), flow_logs_role_arn)
    ec2 = ctx.client("ec2", region)
    legacy, prod = network.default_vpc_id, network.vpc_id
    groups = network.security_groups

    def sg(name: str, vpc_id: str, description: str, team: Team, *permissions: dict[str, Any]) -> str:
        groups[name] = _security_group(ec2, vpc_id, name, description, team, *permissions)
        return groups[name]

    open_ssh = sg(
        "bastion-ssh",
        legacy,
        "Legacy bastion",
        LEGACY,
        _ingress(TCP, (22, 22), (OPEN_IPV4,), description="ssh"),
    )
    vpn_ssh = sg(
        "bastion-ssh-vpn",
        prod,
        "Bastion reachable from the VPN",
        WEB,
        _ingress(TCP, (22, 22), (CORPORATE_VPN_CIDR,), description="corporate VPN"),
    )
    _plant_pair(
        ctx,
        region,
        "EC2.13",
        ("bastion-ssh", open_ssh, "SSH (22) open to 0.0.0.0/0; attached to the legacy web server."),
        ("bastion-ssh-vpn", vpn_ssh, "SSH only from the corporate VPN range."),
    )

    open_rdp = sg(
        "windows-jump-rdp",
        legacy,
        "Windows jump host",
        LEGACY,
        _ingress(TCP, (3389, 3389), (OPEN_IPV4,), description="rdp"),
    )
    vpn_rdp = sg(
        "windows-jump-rdp-vpn",
        prod,
        "Windows jump host from the VPN",
        WEB,
        _ingress(TCP, (3389, 3389), (CORPORATE_VPN_CIDR,), description="corporate VPN"),
    )
    _plant_pair(
        ctx,
        region,
        "EC2.14",
        ("windows-jump-rdp", open_rdp, "RDP (3389) open to 0.0.0.0/0."),
        ("windows-jump-rdp-vpn", vpn_rdp, "RDP only from the corporate VPN range."),
    )

    open_mysql = sg(
        "legacy-mysql",
        legacy,
        "Reporting database",
        LEGACY,
        _ingress(TCP, (3306, 3306), (OPEN_IPV4,), description="BI tool"),
    )
    public_alb = sg(
        "public-alb",
        prod,
        "Internet-facing load balancer",
        WEB,
        _ingress(TCP, (443, 443), (OPEN_IPV4, OPEN_IPV6), description="https"),
        _ingress(TCP, (80, 80), (OPEN_IPV4, OPEN_IPV6), description="redirect to https"),
    )
    app = sg(
        "payments-app",
        prod,
        "Payments service tasks",
        PAYMENTS,
        _ingress(TCP, (8080, 8080), from_group=public_alb, description="from the load balancer"),
    )
    private_db = sg(
        "payments-db",
        prod,
        "Payments database",
        PAYMENTS,
        _ingress(TCP, (5432, 5432), from_group=app, description="from the payments service"),
    )
    _plant_pair(
        ctx,
        region,
        "EC2.19",
        ("legacy-mysql", open_mysql, "MySQL (3306) open to 0.0.0.0/0 for a BI tool; used by acme-reporting-db."),
        ("payments-db", private_db, "PostgreSQL (5432) only from the payments-app security group."),
    )

    open_api = sg(
        "partner-api-8443",
        legacy,
        "Partner API",
        LEGACY,
        _ingress(TCP, (8443, 8443), (OPEN_IPV4,), description="partner API"),
    )
    _plant_pair(
        ctx,
        region,
        "EC2.18",
        ("partner-api-8443", open_api, "Port 8443 open to 0.0.0.0/0: not one of the authorised ports (80, 443)."),
        ("public-alb", public_alb, "Open to 0.0.0.0/0 and ::/0, but only on the authorised ports 80 and 443."),
    )

    # A custom network ACL from sadcloud: SSH and RDP explicitly allowed from anywhere.
    dmz_acl = ec2.create_network_acl(
        VpcId=legacy,
        TagSpecifications=[{"ResourceType": "network-acl", "Tags": LEGACY.tags("acme-legacy-dmz")}],
    )["NetworkAcl"]["NetworkAclId"]
    for rule, ports in ((100, (22, 22)), (110, (3389, 3389)), (120, (80, 80)), (130, (443, 443))):
        _acl_entry(ec2, dmz_acl, rule, OPEN_IPV4, ports)
    _associate(ec2, legacy, network.default_subnet_ids[-1], dmz_acl)
    app_acl = ec2.create_network_acl(
        VpcId=prod,
        TagSpecifications=[{"ResourceType": "network-acl", "Tags": PAYMENTS.tags("acme-prod-app")}],
    )["NetworkAcl"]["NetworkAclId"]
    _acl_entry(ec2, app_acl, 100, "10.10.0.0/16", (0, 65535))
    _acl_entry(ec2, app_acl, 110, OPEN_IPV4, (32768, 65535))
    _associate(ec2, prod, network.private_subnet_ids[0], app_acl)
    item = ctx.fail(
        "EC2.21",
        NETWORK_ACL,
        "acme-legacy-dmz",
        dmz_acl,
        region,
        "Custom network ACL with explicit allow rules for TCP 22 and 3389 from 0.0.0.0/0.",
        arn=ctx.arn("ec2", region, f"network-acl/{dmz_acl}"),
    )
    ctx.twin(
        item,
        "acme-prod-app",
        app_acl,
        "Custom network ACL: all TCP from inside the VPC, only ephemeral ports 32768-65535 from anywhere.",
        arn=ctx.arn("ec2", region, f"network-acl/{app_acl}"),
    )
    return network


def _plant_pair(
    ctx: SeedContext, region: str, control_id: str, bad: tuple[str, str, str], good: tuple[str, str, str]
) -> None:
    """Record a misconfigured security group and its correctly configured twin: (name, id, why) each."""
    (bad_name, bad_id, bad_why), (good_name, good_id, good_why) = bad, good
    item = ctx.fail(control_id, SECURITY_GROUP, bad_name, bad_id, region, bad_why, arn=_sg_arn(ctx, region, bad_id))
    ctx.twin(item, good_name, good_id, good_why, arn=_sg_arn(ctx, region, good_id))


def _associate(ec2: Any, vpc_id: str, subnet_id: str, acl_id: str) -> None:
    """Move a subnet onto `acl_id` (every subnet is always associated with exactly one ACL)."""
    acls = ec2.describe_network_acls(Filters=[{"Name": "association.subnet-id", "Values": [subnet_id]}])["NetworkAcls"]
    association = next(
        a["NetworkAclAssociationId"]
        for acl in acls
        if acl["VpcId"] == vpc_id
        for a in acl["Associations"]
        if a["SubnetId"] == subnet_id
    )
    ec2.replace_network_acl_association(AssociationId=association, NetworkAclId=acl_id)


def seed_secondary_network(ctx: SeedContext, flow_logs_role_arn: str) -> Network:
    region = ctx.secondary
    network = _build_region(ctx, region, _WorkloadVpc("acme-data-vpc", "10.30.0.0/16", DATA), flow_logs_role_arn)
    ec2 = ctx.client("ec2", region)
    legacy, data = network.default_vpc_id, network.vpc_id
    groups = network.security_groups

    def sg(name: str, vpc_id: str, description: str, team: Team, *permissions: dict[str, Any]) -> str:
        groups[name] = _security_group(ec2, vpc_id, name, description, team, *permissions)
        return groups[name]

    ipv6_ssh = sg(
        "data-bastion-ssh",
        legacy,
        "Data bastion (IPv6)",
        DATA,
        _ingress(TCP, (22, 22), (OPEN_IPV6,), description="ssh over IPv6"),
    )
    vpn_ssh = sg(
        "data-bastion-ssh-vpn",
        data,
        "Data bastion from the VPN",
        DATA,
        _ingress(TCP, (22, 22), (CORPORATE_VPN_CIDR, CORPORATE_VPN_IPV6), description="corporate VPN"),
    )
    _plant_pair(
        ctx,
        region,
        "EC2.13",
        ("data-bastion-ssh", ipv6_ssh, "SSH (22) open to ::/0 only: an IPv4-only check misses it."),
        ("data-bastion-ssh-vpn", vpn_ssh, "SSH only from the corporate VPN's IPv4 and IPv6 ranges."),
    )

    everything = sg(
        "vendor-support-any",
        legacy,
        "Vendor remote support",
        LEGACY,
        _ingress(ALL_PROTOCOLS, None, (OPEN_IPV4,), description="vendor support"),
    )
    vendor = sg(
        "vendor-support",
        data,
        "Vendor remote support from their range",
        DATA,
        _ingress(ALL_PROTOCOLS, None, (VENDOR_SUPPORT_CIDR,), description="vendor support"),
    )
    _plant_pair(
        ctx,
        region,
        "EC2.14",
        (
            "vendor-support-any",
            everything,
            "All protocols and ports from 0.0.0.0/0, so RDP (3389) is open though no rule names it.",
        ),
        ("vendor-support", vendor, f"All traffic, but only from the vendor's fixed range {VENDOR_SUPPORT_CIDR}."),
    )

    open_pg = sg(
        "reporting-postgres",
        legacy,
        "Reporting PostgreSQL",
        DATA,
        _ingress(TCP, (5432, 5432), (OPEN_IPV4, OPEN_IPV6), description="analysts"),
    )
    inner_pg = sg(
        "reporting-postgres-internal",
        data,
        "Reporting PostgreSQL inside the VPC",
        DATA,
        _ingress(TCP, (5432, 5432), ("10.30.0.0/16",), description="data VPC"),
    )
    sg("etl-workers", data, "ETL workers", DATA)
    _plant_pair(
        ctx,
        region,
        "EC2.19",
        ("reporting-postgres", open_pg, "PostgreSQL (5432) open to 0.0.0.0/0 and ::/0."),
        ("reporting-postgres-internal", inner_pg, "PostgreSQL only from the data VPC's own range."),
    )
    return network
