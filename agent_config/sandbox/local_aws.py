"""A local AWS: moto's HTTP server (its own process) on a free loopback port, and the files that
point clients at it.

Everything that talks to AWS here (boto3 in the tests, both awslabs MCP servers) reaches this
server through `AWS_ENDPOINT_URL`. The Security server insists on a `[default]` profile in a
shared credentials file, so the sandbox writes its own credentials and config files (fake keys
that only moto accepts) in a private folder and points `AWS_SHARED_CREDENTIALS_FILE` and
`AWS_CONFIG_FILE` at them. Only loopback addresses are ever used.
"""

from __future__ import annotations

import ctypes
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LOOPBACK = "127.0.0.1"
SANDBOX_ACCOUNT_ID = "123456789012"  # moto's default account
SANDBOX_ACCESS_KEY_ID = "sandbox"
SANDBOX_SECRET_ACCESS_KEY = "sandbox"  # noqa: S105 - moto accepts any key; this one is not a secret
PR_SET_PDEATHSIG = 1


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

        # A session of its own: boto3's process-wide default session remembers the profile and
        # config files of the moment it was made, which may be an earlier, removed sandbox's.
        return boto3.session.Session().client(
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


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask Linux to stop the moto server if the process that started it dies (no stray servers)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        return


def _wait_until_listening(port: int, process: subprocess.Popen[bytes], timeout_s: float, log: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(encoding="utf-8", errors="replace")[-1500:]
            raise RuntimeError(f"the moto server exited with code {process.returncode}:\n{tail}")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.settimeout(0.2)
            if probe.connect_ex((LOOPBACK, port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"the moto server did not listen on {LOOPBACK}:{port} within {timeout_s:.0f} s")


@contextmanager
def local_aws(region: str = "us-east-1", home: Path | None = None, start_timeout_s: float = 60.0) -> Iterator[LocalAws]:
    """Run a moto server on a free loopback port, in its own process, for the duration of the block.

    A separate process keeps moto's request handling off this process's GIL and its console noise
    (it prints a line for every unknown AWS host, such as Resource Explorer) out of our output: it
    goes to `<home>/moto.log`.
    """
    owned_home = home is None
    home = home or Path(tempfile.mkdtemp(prefix="security-agent-aws-"))
    write_aws_files(home, region)
    port = free_loopback_port()
    log_path = home / "moto.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", LOOPBACK, "-p", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
        )
    try:
        _wait_until_listening(port, process, start_timeout_s, log_path)
        yield LocalAws(endpoint_url=f"http://{LOOPBACK}:{port}", home=home, region=region)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if owned_home:
            shutil.rmtree(home, ignore_errors=True)
