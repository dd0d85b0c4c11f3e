"""AWS clients for the deploy: one boto3 session, one client per service, replaceable in tests.

`endpoint_url` points every client at the sandbox's moto server; `overrides` swaps in a client
wrapped by `botocore.stub.Stubber` for the Bedrock operations moto does not implement. Clients are
created on first use, so a dry run with `--account-id` creates none at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from agent_config.deploy.errors import DeployError, explain_client_error

CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 8}, connect_timeout=10, read_timeout=60)
RUNTIME_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=10, read_timeout=300)
"""`invoke_agent` streams a whole agent turn: 60 s (botocore's default) is too short."""


@dataclass
class AwsClients:
    region: str
    session: Any = None
    endpoint_url: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    def client(self, service: str) -> Any:
        if service in self.overrides:
            return self.overrides[service]
        if service not in self._clients:
            import boto3

            session = self.session or boto3.session.Session()
            config = RUNTIME_CONFIG if service in ("bedrock-agent-runtime", "lambda-invoke") else CLIENT_CONFIG
            name = "lambda" if service == "lambda-invoke" else service
            kwargs: dict[str, Any] = {"region_name": self.region, "config": config}
            if self.endpoint_url:
                kwargs["endpoint_url"] = self.endpoint_url
            self._clients[service] = session.client(name, **kwargs)  # type: ignore[call-overload]
        return self._clients[service]

    def account_id(self) -> str:
        """The caller's account (a read-only STS call); names the missing permission if denied."""
        try:
            identity = self.client("sts").get_caller_identity()
        except ClientError as exc:
            raise explain_client_error(exc, "sts", "GetCallerIdentity") from exc
        except BotoCoreError as exc:
            raise DeployError(
                f"Cannot reach AWS to find the account id ({exc}).",
                "Configure credentials (aws configure, or AWS_PROFILE), or pass --account-id for a dry run.",
            ) from exc
        return str(identity["Account"])

    def partition(self) -> str:
        """`aws`, `aws-cn` or `aws-us-gov` for the Region, from botocore's endpoint data (no AWS call)."""
        import boto3

        session = self.session or boto3.session.Session()
        try:
            return str(session.get_partition_for_region(self.region))
        except (BotoCoreError, ValueError, AttributeError):
            return "aws"
