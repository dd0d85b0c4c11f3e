"""Plumbing shared by the seeding modules: the company's teams and tags, cached clients, and the
list of planted items being built.

Every seeding module receives one `SeedContext`. It hands out one boto3 client per (service,
region) so a seeding creates each client once (creating a client costs tens of milliseconds), and
it records what was planted through `fail` and `twin`, which is what keeps the manifest and the
account in step: a resource is recorded in the same few lines that create it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from agent_config.interfaces import FindingStatus
from agent_config.sandbox.local_aws import LocalAws
from agent_config.sandbox.sample_account.manifest import PlantedItem

# Outside parties the account legitimately shares with. A share with one of these named accounts
# or networks is *not* public, which is exactly what the twins need to show.
DR_ACCOUNT_ID = "210987654321"
"""Acme's disaster-recovery account (snapshots are shared with it)."""
PARTNER_ACCOUNT_ID = "444455556666"
"""A logistics partner that drops files into one bucket."""
ORGANIZATION_ID = "o-acme4x9k2p7"
"""Acme's AWS Organization (its newer accounts'; this original account never joined it, see
`account`); a policy conditioned on it is not public."""
CORPORATE_VPN_CIDR = "10.8.0.0/16"
CORPORATE_VPN_IPV6 = "2001:db8:ac3e::/48"
VENDOR_SUPPORT_CIDR = "198.51.100.0/24"
"""A support vendor's fixed egress range (RFC 5737 documentation range)."""

OPEN_IPV4 = "0.0.0.0/0"
OPEN_IPV6 = "::/0"


class SampleAccountError(RuntimeError):
    """The sample account cannot be seeded into this local AWS (for example, it already was)."""


@dataclass(frozen=True)
class Team:
    """Who owns a resource, as the company's mandatory tags say (Environment, Owner, CostCenter)."""

    environment: str
    owner: str
    cost_center: str

    def tag_map(self, name: str | None = None) -> dict[str, str]:
        tags = {"Environment": self.environment, "Owner": self.owner, "CostCenter": self.cost_center}
        if name is not None:
            tags["Name"] = name
        return tags

    def tags(self, name: str | None = None) -> list[dict[str, str]]:
        """`[{"Key": ..., "Value": ...}]`: the shape EC2, S3, IAM, RDS and most services take."""
        return [{"Key": key, "Value": value} for key, value in self.tag_map(name).items()]

    def kms_tags(self) -> list[dict[str, str]]:
        return [{"TagKey": key, "TagValue": value} for key, value in self.tag_map().items()]


_DOMAIN = "acme-corp.example"
PAYMENTS = Team("prod", f"payments-team@{_DOMAIN}", "CC-2100")
WEB = Team("prod", f"web-platform@{_DOMAIN}", "CC-2200")
MARKETING = Team("prod", f"marketing-web@{_DOMAIN}", "CC-4100")
LEGACY = Team("prod", f"it-operations@{_DOMAIN}", "CC-1000")
"""The workloads from before the platform team existed; nobody quite owns them."""
DATA = Team("prod", f"data-platform@{_DOMAIN}", "CC-3100")
DATA_DEV = Team("dev", f"data-platform@{_DOMAIN}", "CC-3100")
SECURITY = Team("prod", f"security@{_DOMAIN}", "CC-9000")


def policy_document(*statements: dict[str, Any]) -> str:
    """An IAM-style policy document as JSON, statements in the order given."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


_ACCOUNT_HOST_PREFIX = re.compile(r"^\d{12}\.")


def _strip_account_host_prefix(request: Any, **_: Any) -> None:
    """botocore puts the account id in the S3 Control host (`123456789012.127.0.0.1:port`), which
    a loopback moto server cannot answer; drop the prefix before the request is signed."""
    scheme, sep, rest = request.url.partition("://")
    request.url = scheme + sep + _ACCOUNT_HOST_PREFIX.sub("", rest, count=1)


@dataclass
class SeedContext:
    """One seeding: where to, which account, the two regions' roles, and what was planted so far."""

    aws: LocalAws
    account_id: str
    primary: str
    """The company's main region: the web shop, payments and the legacy estate."""
    secondary: str
    """The data platform's region."""
    items: list[PlantedItem] = field(default_factory=list)
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False)

    def client(self, service: str, region: str) -> Any:
        """A cached client for the local AWS (S3 Control with the host fix-up installed)."""
        key = (service, region)
        if key not in self._clients:
            client = self.aws.client(service, region)
            if service == "s3control":
                client.meta.events.register("before-sign.s3-control.*", _strip_account_host_prefix)
            self._clients[key] = client
        return self._clients[key]

    def arn(self, service: str, region: str, resource: str) -> str:
        return f"arn:aws:{service}:{region}:{self.account_id}:{resource}"

    def fail(
        self,
        control_id: str,
        resource_type: str,
        name: str,
        resource_id: str,
        region: str,
        description: str,
        *,
        arn: str | None = None,
        no_twin_reason: str | None = None,
    ) -> PlantedItem:
        """Record a planted misconfiguration."""
        item = PlantedItem(
            control_id=control_id,
            resource_type=resource_type,
            name=name,
            resource_id=resource_id,
            resource_arn=arn,
            region=region,
            expected_status=FindingStatus.FAIL,
            description=description,
            no_twin_reason=no_twin_reason,
        )
        self.items.append(item)
        return item

    def twin(
        self,
        of: PlantedItem,
        name: str,
        resource_id: str,
        description: str,
        *,
        arn: str | None = None,
        region: str | None = None,
    ) -> PlantedItem:
        """Record the correctly configured twin of `of` (same control and kind; same region unless
        the setting is per region and the twin lives in the other one)."""
        item = PlantedItem(
            control_id=of.control_id,
            resource_type=of.resource_type,
            name=name,
            resource_id=resource_id,
            resource_arn=arn,
            region=region or of.region,
            expected_status=FindingStatus.PASS,
            description=description,
            twin_of=of.key,
        )
        self.items.append(item)
        return item
