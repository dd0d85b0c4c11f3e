"""A local AWS: moto's HTTP server on a free loopback port, and the files that point clients at it.

Everything that talks to AWS here (boto3 in the tests, both awslabs MCP servers) reaches this
server through `AWS_ENDPOINT_URL`. The Security server insists on a `[default]` profile in a
shared credentials file, so the sandbox writes its own credentials and config files (fake keys
that only moto accepts) in a private folder and points `AWS_SHARED_CREDENTIALS_FILE` and
`AWS_CONFIG_FILE` at them. Only loopback addresses are ever used.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LOOPBACK = "127.0.0.1"
SANDBOX_ACCOUNT_ID = "123456789012"  # moto's default account
SANDBOX_ACCESS_KEY_ID = "sandbox"
SANDBOX_SECRET_ACCESS_KEY = "sandbox"  # noqa: S105 - moto accepts any key; this one is not a secret


@dataclass(frozen=True)
class LocalAws:
    """Where the local AWS listens, and the environment that makes any AWS client use it."""

    endpoint_url: str
    home: Path
    region: str

    @property
    def credentials_file(self) -> Path:
        return self.home / "credentials"

    @property
    def config_file(self) -> Path:
        return self.home / "config"

    def env(self) -> dict[str, str]:
        """Variables for a subprocess (an MCP server) or a CLI that should talk to the local AWS."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_SHARED_CREDENTIALS_FILE": str(self.credentials_file),
            "AWS_CONFIG_FILE": str(self.config_file),
            "AWS_PROFILE": "default",
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_EC2_METADATA_DISABLED": "true",
            "HOME": str(self.home),
        }

    def client(self, service: str, region: str | None = None) -> Any:
        """A boto3 client bound to the local AWS (never to the real one, whatever the environment says)."""
        import boto3

        return boto3.client(
            service,  # type: ignore[call-overload]
            region_name=region or self.region,
            endpoint_url=self.endpoint_url,
            aws_access_key_id=SANDBOX_ACCESS_KEY_ID,
            aws_secret_access_key=SANDBOX_SECRET_ACCESS_KEY,
        )


def write_aws_files(home: Path, region: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "credentials").write_text(
        f"[default]\naws_access_key_id = {SANDBOX_ACCESS_KEY_ID}\n"
        f"aws_secret_access_key = {SANDBOX_SECRET_ACCESS_KEY}\n",
        encoding="utf-8",
    )
    (home / "config").write_text(f"[default]\nregion = {region}\noutput = json\n", encoding="utf-8")
    (home / "credentials").chmod(0o600)


@contextmanager
def local_aws(region: str = "us-east-1", home: Path | None = None) -> Iterator[LocalAws]:
    """Run a moto server on a free loopback port for the duration of the block."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    owned_home = home is None
    home = home or Path(tempfile.mkdtemp(prefix="security-agent-aws-"))
    write_aws_files(home, region)
    server = ThreadedMotoServer(ip_address=LOOPBACK, port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield LocalAws(endpoint_url=f"http://{host}:{port}", home=home, region=region)
    finally:
        server.stop()
        if owned_home:
            shutil.rmtree(home, ignore_errors=True)
