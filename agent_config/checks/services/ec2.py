"""Amazon EC2 and VPC: snapshots, security groups, network ACLs, flow logs, EBS encryption and
instance exposure.

Calls (regional):

- `describe-instances` (EC2.8 IMDSv2, EC2.9 public IPv4), `describe-volumes` (EC2.3),
  `describe-security-groups` (EC2.2, EC2.13, EC2.14, EC2.18, EC2.19), `describe-network-acls`
  (EC2.21), `describe-vpcs` + `describe-flow-logs` (EC2.6), `get-ebs-encryption-by-default` (EC2.7),
- `describe-snapshots --owner-ids self`, then `describe-snapshot-attribute --attribute
  createVolumePermission` per own snapshot (EC2.1; the only per-resource call, so the only cap).

Ingress rules count as unrestricted when their source is exactly 0.0.0.0/0 or ::/0. Protocol -1
(all traffic) covers every port; a port range covers every port inside it. Only TCP matters for
SSH and RDP (EC2.13, EC2.14, EC2.21); EC2.18 and EC2.19 consider TCP and UDP, as Security Hub does.
Network ACL entries are read in rule-number order, so an earlier deny of 0.0.0.0/0 on a port wins
over a later allow (more precise than Security Hub, which flags any such allow).
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
    account_subject,
    arn,
    cap_notice,
    capped,
    items_of,
    listing_gate,
    needed,
    obj,
    read,
    text,
)

SERVICE = "ec2"
GLOBAL = False
CONTROL_IDS: tuple[str, ...] = (
    "EC2.1",
    "EC2.2",
    "EC2.3",
    "EC2.6",
    "EC2.7",
    "EC2.8",
    "EC2.9",
    "EC2.13",
    "EC2.14",
    "EC2.18",
    "EC2.19",
    "EC2.21",
)

INSTANCE = "AWS::EC2::Instance"
VOLUME = "AWS::EC2::Volume"
SNAPSHOT = "AWS::EC2::Snapshot"
SECURITY_GROUP = "AWS::EC2::SecurityGroup"
NETWORK_ACL = "AWS::EC2::NetworkAcl"
VPC = "AWS::EC2::VPC"

OPEN_IPV4 = "0.0.0.0/0"
OPEN_IPV6 = "::/0"
SSH_PORT = 22
RDP_PORT = 3389
AUTHORIZED_PORTS = frozenset({80, 443})
"""EC2.18's default `authorizedTcpPorts`; no UDP port is authorised."""
HIGH_RISK_PORTS = (
    20, 21, 22, 23, 25, 110, 135, 143, 445, 1433, 1434, 3000, 3306, 3389,
    4333, 5000, 5432, 5500, 5601, 8080, 8088, 8888, 9200, 9300,
)  # fmt: skip
"""EC2.19's list, as Security Hub documents it (TCP and UDP)."""
GONE_STATES = frozenset({"terminated", "shutting-down"})
FLOW_LOG_TRAFFIC = frozenset({"ALL", "REJECT"})
"""EC2.6's `trafficType` parameter is REJECT: a flow log that records rejects (or all traffic) counts."""

_PROTOCOLS = {"-1": "all", "tcp": "tcp", "6": "tcp", "udp": "udp", "17": "udp"}


# ---------------------------------------------------------------------------------------------
# Calls
# ---------------------------------------------------------------------------------------------


def instances_call(region: str) -> ApiCall:
    return ApiCall.of("ec2", "describe-instances", region)


def live_instances(listing: Read) -> list[dict[str, Any]]:
    """The listed instances that still exist (terminated and shutting-down ones are ignored)."""
    return [
        i
        for reservation in items_of(listing.doc, "Reservations")
        for i in items_of(reservation, "Instances")
        if isinstance(i.get("InstanceId"), str) and obj(i.get("State")).get("Name") not in GONE_STATES
    ]


def listing_calls(region: str) -> dict[str, ApiCall]:
    return {
        "instances": instances_call(region),
        "volumes": ApiCall.of("ec2", "describe-volumes", region),
        "security_groups": ApiCall.of("ec2", "describe-security-groups", region),
        "network_acls": ApiCall.of("ec2", "describe-network-acls", region),
        "vpcs": ApiCall.of("ec2", "describe-vpcs", region),
        "flow_logs": ApiCall.of("ec2", "describe-flow-logs", region),
        "ebs_default": ApiCall.of("ec2", "get-ebs-encryption-by-default", region),
        "snapshots": ApiCall.of("ec2", "describe-snapshots", region, owner_ids="self"),
    }


def snapshot_attribute_call(region: str, snapshot_id: str) -> ApiCall:
    return ApiCall.of(
        "ec2",
        "describe-snapshot-attribute",
        region,
        snapshot_id=snapshot_id,
        attribute="createVolumePermission",
    )


def _own_snapshots(index: Index, region: str) -> tuple[Read, list[dict[str, Any]]]:
    """Snapshots this account owns (moto's `--owner-ids self` also returns public AMI snapshots)."""
    listing = read(index, listing_calls(region)["snapshots"])
    own = [
        s
        for s in items_of(listing.doc, "Snapshots")
        if isinstance(s.get("SnapshotId"), str) and s.get("OwnerId", index.account_id) == index.account_id
    ]
    return listing, own


def plan(region: str, evidence: Evidence, max_resources: int = DEFAULT_MAX_RESOURCES) -> list[ApiCall]:
    index = Index(evidence)
    calls = list(listing_calls(region).values())
    _, snapshots = _own_snapshots(index, region)
    calls.extend(snapshot_attribute_call(region, s["SnapshotId"]) for s in capped(snapshots, max_resources))
    return needed(index, calls)


def cap_reached(region: str, evidence: Evidence, max_resources: int = DEFAULT_MAX_RESOURCES) -> list[CapReached]:
    _, snapshots = _own_snapshots(Index(evidence), region)
    return cap_notice(SERVICE, region, SNAPSHOT, len(snapshots), max_resources)


# ---------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------


def evaluate(
    region: str,
    evidence: Evidence,
    *,
    now: datetime | None = None,
    max_resources: int = DEFAULT_MAX_RESOURCES,
) -> list[CheckResult]:
    index = Index(evidence)
    calls = listing_calls(region)
    account = evidence.account_id
    results: list[CheckResult] = []
    results.extend(_snapshot_results(index, region, max_resources))
    results.extend(_security_group_results(index, region, read(index, calls["security_groups"])))
    results.extend(_volume_results(index, region, read(index, calls["volumes"])))
    results.extend(_vpc_results(index, region, read(index, calls["vpcs"]), read(index, calls["flow_logs"])))
    results.append(_ec2_7(account, region, read(index, calls["ebs_default"])))
    results.extend(_instance_results(index, region, read(index, calls["instances"])))
    results.extend(_nacl_results(index, region, read(index, calls["network_acls"])))
    return results


# --- snapshots -------------------------------------------------------------------------------


def _snapshot_results(index: Index, region: str, max_resources: int) -> list[CheckResult]:
    listing, snapshots = _own_snapshots(index, region)
    gate = listing_gate(("EC2.1",), index.account_id, region, listing, len(snapshots), "EBS snapshots")
    if gate is not None:
        return gate
    results = []
    for snapshot in capped(snapshots, max_resources):
        snapshot_id = snapshot["SnapshotId"]
        subject = Subject(SNAPSHOT, snapshot_id, arn("ec2", region, "", f"snapshot/{snapshot_id}"), region)
        attribute = read(index, snapshot_attribute_call(region, snapshot_id))
        if attribute.doc is None:
            results.append(subject.manual("EC2.1", attribute.missing or "", "who may restore the snapshot"))
            continue
        permissions = items_of(attribute.doc, "CreateVolumePermissions")
        public = [p for p in permissions if p.get("Group") == "all"]
        accounts = [str(p["UserId"]) for p in permissions if "UserId" in p]
        results.append(
            subject.verdict(
                "EC2.1",
                not public,
                "Only named accounts may restore the snapshot." if accounts else "The snapshot is not shared.",
                "Anyone may create a volume from the snapshot (createVolumePermission group 'all').",
                public=bool(public),
                shared_with_accounts=accounts[:10],
            )
        )
    return results


# --- security groups ------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenRule:
    """One ingress permission from 0.0.0.0/0 or ::/0."""

    protocol: str
    """'all', 'tcp', 'udp', or the raw protocol (ICMP and others)."""
    from_port: int
    to_port: int
    source: str

    def covers(self, port: int, protocols: frozenset[str]) -> bool:
        if self.protocol == "all":
            return True
        return self.protocol in protocols and self.from_port <= port <= self.to_port

    @property
    def label(self) -> str:
        if self.protocol == "all":
            return f"all traffic from {self.source}"
        ports = str(self.from_port) if self.from_port == self.to_port else f"{self.from_port}-{self.to_port}"
        return f"{self.protocol} {ports} from {self.source}"


def _port(value: Any, default: int) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return default


def open_rules(permissions: list[dict[str, Any]]) -> list[OpenRule]:
    """The ingress permissions whose source is the whole IPv4 or IPv6 internet."""
    rules: list[OpenRule] = []
    for permission in permissions:
        protocol = _PROTOCOLS.get(str(permission.get("IpProtocol", "")).lower(), str(permission.get("IpProtocol")))
        low, high = _port(permission.get("FromPort"), 0), _port(permission.get("ToPort"), 65535)
        sources = [r.get("CidrIp") for r in items_of(permission, "IpRanges")]
        sources += [r.get("CidrIpv6") for r in items_of(permission, "Ipv6Ranges")]
        rules.extend(OpenRule(protocol, low, high, str(s)) for s in sources if s in (OPEN_IPV4, OPEN_IPV6))
    return rules


_TCP = frozenset({"tcp"})
_TCP_UDP = frozenset({"tcp", "udp"})


def _unauthorized(rule: OpenRule) -> bool:
    """EC2.18: any open TCP/UDP port other than the authorised TCP ones (ICMP is not considered)."""
    if rule.protocol in {"all", "udp"}:
        return True
    if rule.protocol != "tcp":
        return False
    return not (rule.from_port == rule.to_port and rule.from_port in AUTHORIZED_PORTS)


def _security_group_results(index: Index, region: str, listing: Read) -> list[CheckResult]:
    groups = [g for g in items_of(listing.doc, "SecurityGroups") if isinstance(g.get("GroupId"), str)]
    controls = ("EC2.2", "EC2.13", "EC2.14", "EC2.18", "EC2.19")
    gate = listing_gate(controls, index.account_id, region, listing, len(groups), "security groups")
    if gate is not None:
        return gate
    results: list[CheckResult] = []
    for group in groups:
        group_id = group["GroupId"]
        group_arn = group.get("SecurityGroupArn") or arn("ec2", region, index.account_id, f"security-group/{group_id}")
        subject = Subject(SECURITY_GROUP, group_id, str(group_arn), region)
        rules = open_rules(items_of(group, "IpPermissions"))
        name = group.get("GroupName")
        if name == "default":
            inbound, outbound = (
                len(items_of(group, "IpPermissions")),
                len(items_of(group, "IpPermissionsEgress")),
            )
            results.append(
                subject.verdict(
                    "EC2.2",
                    inbound == 0 and outbound == 0,
                    "The VPC's default security group has no inbound or outbound rules.",
                    f"The default security group has {inbound} inbound and {outbound} outbound rule(s).",
                    group_name=name,
                    vpc_id=group.get("VpcId"),
                    inbound_rules=inbound,
                    outbound_rules=outbound,
                )
            )
        for control, port, service in (("EC2.13", SSH_PORT, "SSH"), ("EC2.14", RDP_PORT, "RDP")):
            exposing = [r.label for r in rules if r.covers(port, _TCP)]
            results.append(
                subject.verdict(
                    control,
                    not exposing,
                    f"No rule opens port {port} ({service}) to the internet.",
                    f"Port {port} ({service}) is open to the internet: {'; '.join(exposing[:3])}.",
                    group_name=name,
                    open_rules=exposing[:10],
                )
            )
        unauthorized = [r.label for r in rules if _unauthorized(r)]
        results.append(
            subject.verdict(
                "EC2.18",
                not unauthorized,
                "Unrestricted ingress, if any, is only to TCP 80 and 443.",
                f"Unrestricted ingress to unauthorised ports: {'; '.join(unauthorized[:3])}.",
                group_name=name,
                open_rules=unauthorized[:10],
            )
        )
        risky = sorted({p for r in rules for p in HIGH_RISK_PORTS if r.covers(p, _TCP_UDP)})
        results.append(
            subject.verdict(
                "EC2.19",
                not risky,
                "No high-risk port is open to the internet.",
                f"High-risk ports open to the internet: {', '.join(map(str, risky[:10]))}.",
                group_name=name,
                high_risk_ports=risky,
            )
        )
    return results


# --- volumes, VPCs, EBS default encryption -------------------------------------------------


def _volume_results(index: Index, region: str, listing: Read) -> list[CheckResult]:
    attached = [
        v
        for v in items_of(listing.doc, "Volumes")
        if isinstance(v.get("VolumeId"), str)
        and any(a.get("State") in ("attached", "attaching") for a in items_of(v, "Attachments"))
    ]
    gate = listing_gate(("EC2.3",), index.account_id, region, listing, len(attached), "attached EBS volumes")
    if gate is not None:
        return gate
    results = []
    for volume in attached:
        volume_id = volume["VolumeId"]
        subject = Subject(VOLUME, volume_id, arn("ec2", region, index.account_id, f"volume/{volume_id}"), region)
        instances = [str(a.get("InstanceId")) for a in items_of(volume, "Attachments")]
        results.append(
            subject.verdict(
                "EC2.3",
                volume.get("Encrypted") is True,
                "The attached volume is encrypted.",
                f"The volume attached to {', '.join(instances)} is not encrypted.",
                encrypted=volume.get("Encrypted"),
                kms_key_id=volume.get("KmsKeyId"),
                instances=instances,
            )
        )
    return results


def _vpc_results(index: Index, region: str, vpcs: Read, flow_logs: Read) -> list[CheckResult]:
    found = [v for v in items_of(vpcs.doc, "Vpcs") if isinstance(v.get("VpcId"), str)]
    gate = listing_gate(("EC2.6",), index.account_id, region, vpcs, len(found), "VPCs")
    if gate is not None:
        return gate
    results = []
    for vpc in found:
        vpc_id = vpc["VpcId"]
        subject = Subject(VPC, vpc_id, arn("ec2", region, index.account_id, f"vpc/{vpc_id}"), region)
        if flow_logs.doc is None:
            results.append(subject.manual("EC2.6", flow_logs.missing or "", "the VPC's flow logs"))
            continue
        logs = [
            f
            for f in items_of(flow_logs.doc, "FlowLogs")
            if f.get("ResourceId") == vpc_id and f.get("FlowLogStatus", "ACTIVE") == "ACTIVE"
        ]
        recording = [f for f in logs if text(f.get("TrafficType")) in FLOW_LOG_TRAFFIC]
        results.append(
            subject.verdict(
                "EC2.6",
                bool(recording),
                f"Flow log {recording[0].get('FlowLogId') if recording else ''} records rejected traffic.",
                "No active flow log records the VPC's rejected traffic."
                if not logs
                else "The VPC's flow logs record accepted traffic only.",
                is_default=vpc.get("IsDefault"),
                flow_logs=[f"{f.get('FlowLogId')}:{f.get('TrafficType')}" for f in logs][:5],
            )
        )
    return results


def _ec2_7(account: str, region: str, setting: Read) -> CheckResult:
    subject = account_subject(account, region)
    if setting.doc is None:
        return subject.manual("EC2.7", setting.missing or "", "EBS encryption by default")
    enabled = setting.doc.get("EbsEncryptionByDefault")
    return subject.verdict(
        "EC2.7",
        enabled is True,
        f"New EBS volumes in {region} are encrypted by default.",
        f"EBS encryption by default is off in {region}.",
        EbsEncryptionByDefault=enabled,
    )


# --- instances -------------------------------------------------------------------------------


def _public_ips(instance: dict[str, Any]) -> list[str]:
    addresses = {str(instance["PublicIpAddress"])} if instance.get("PublicIpAddress") else set()
    for interface in items_of(instance, "NetworkInterfaces"):
        association = obj(interface.get("Association"))
        if isinstance(association, dict) and association.get("PublicIp"):
            addresses.add(str(association["PublicIp"]))
    return sorted(addresses)


def _instance_results(index: Index, region: str, listing: Read) -> list[CheckResult]:
    instances = live_instances(listing)
    gate = listing_gate(("EC2.8", "EC2.9"), index.account_id, region, listing, len(instances), "EC2 instances")
    if gate is not None:
        return gate
    results = []
    for instance in instances:
        instance_id = instance["InstanceId"]
        subject = Subject(
            INSTANCE, instance_id, arn("ec2", region, index.account_id, f"instance/{instance_id}"), region
        )
        options = obj(instance.get("MetadataOptions"))
        tokens, endpoint = options.get("HttpTokens"), options.get("HttpEndpoint")
        if tokens is None and endpoint is None:
            results.append(subject.manual("EC2.8", "MetadataOptions missing from ec2:DescribeInstances"))
        else:
            results.append(
                subject.verdict(
                    "EC2.8",
                    tokens == "required" or endpoint == "disabled",
                    "The instance requires IMDSv2 session tokens."
                    if tokens == "required"
                    else "The instance metadata service is disabled.",
                    "The instance accepts IMDSv1 requests (HttpTokens is optional).",
                    HttpTokens=tokens,
                    HttpEndpoint=endpoint,
                )
            )
        addresses = _public_ips(instance)
        results.append(
            subject.verdict(
                "EC2.9",
                not addresses,
                "The instance has no public IPv4 address.",
                f"The instance has public IPv4 address {', '.join(addresses)}.",
                public_ips=addresses,
                subnet_id=instance.get("SubnetId"),
            )
        )
    return results


# --- network ACLs ----------------------------------------------------------------------------


def _entry_covers(entry: dict[str, Any], port: int) -> bool:
    protocol = _PROTOCOLS.get(str(entry.get("Protocol", "")).lower())
    if protocol == "all":
        return True
    if protocol != "tcp":
        return False
    ports = obj(entry.get("PortRange"))
    return _port(ports.get("From"), 0) <= port <= _port(ports.get("To"), 65535)


def nacl_exposure(entries: list[dict[str, Any]]) -> list[str]:
    """'22 from 0.0.0.0/0'-style labels for SSH/RDP that the first matching open-source entry allows."""
    inbound = sorted((e for e in entries if e.get("Egress") is False), key=lambda e: _port(e.get("RuleNumber"), 32767))
    exposed: list[str] = []
    for source in (OPEN_IPV4, OPEN_IPV6):
        for port in (SSH_PORT, RDP_PORT):
            for entry in inbound:
                if source not in (entry.get("CidrBlock"), entry.get("Ipv6CidrBlock")) or not _entry_covers(entry, port):
                    continue
                if entry.get("RuleAction") == "allow":
                    exposed.append(f"{port} from {source} (rule {entry.get('RuleNumber')})")
                break
    return exposed


def _nacl_results(index: Index, region: str, listing: Read) -> list[CheckResult]:
    acls = [a for a in items_of(listing.doc, "NetworkAcls") if isinstance(a.get("NetworkAclId"), str)]
    gate = listing_gate(("EC2.21",), index.account_id, region, listing, len(acls), "network ACLs")
    if gate is not None:
        return gate
    results = []
    for acl in acls:
        acl_id = acl["NetworkAclId"]
        subject = Subject(NETWORK_ACL, acl_id, arn("ec2", region, index.account_id, f"network-acl/{acl_id}"), region)
        exposed = nacl_exposure(items_of(acl, "Entries"))
        results.append(
            subject.verdict(
                "EC2.21",
                not exposed,
                "The network ACL does not admit SSH or RDP from the whole internet.",
                f"The network ACL admits {'; '.join(exposed)}.",
                is_default=acl.get("IsDefault"),
                vpc_id=acl.get("VpcId"),
                exposed=exposed,
            )
        )
    return results
