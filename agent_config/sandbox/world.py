"""The whole local world in one context manager: local AWS, the sample account, the MCP servers'
configuration. `security-agent sandbox up`, the demo and the test fixtures all start it here.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from agent_config.config import CONFIG_FILE_ENV, AgentConfig, load_config
from agent_config.sandbox.local_aws import LocalAws, local_aws
from agent_config.sandbox.sample_account import SampleAccountManifest, seed_sample_account
from agent_config.sandbox.servers import sandbox_config_layer

DEFAULT_REGIONS = ("us-east-1", "eu-west-1")
MANIFEST_NAME = "sample-account-manifest.json"


@dataclass(frozen=True)
class Sandbox:
    aws: LocalAws
    workdir: Path
    config_file: Path
    regions: tuple[str, ...]
    manifest: SampleAccountManifest | None

    def environment(self) -> dict[str, str]:
        """What a shell needs to run the agent (`lambda-invoke`, `assess`) against the sandbox
        (not HOME: that is for the MCP server subprocesses only)."""
        return {CONFIG_FILE_ENV: str(self.config_file), **{k: v for k, v in self.aws.env().items() if k != "HOME"}}

    def config(self) -> AgentConfig:
        return load_config(self.config_file, environ={})


@contextmanager
def sandbox(
    regions: Sequence[str] = DEFAULT_REGIONS, workdir: Path | None = None, seed: bool = True
) -> Iterator[Sandbox]:
    """Local AWS (seeded with the sample account unless `seed` is False) and the agent's configuration
    for it; everything is stopped and removed when the block ends, however it ends."""
    owned = workdir is None
    workdir = workdir or Path(tempfile.mkdtemp(prefix="security-agent-sandbox-"))
    try:
        with local_aws(region=regions[0], home=workdir / "aws") as aws:
            manifest = seed_sample_account(aws, tuple(regions), manifest_path=workdir / MANIFEST_NAME) if seed else None
            config_file = workdir / "agent-config.json"
            layer = sandbox_config_layer(aws, list(regions), workdir)
            config_file.write_text(json.dumps(layer, indent=2), encoding="utf-8")
            yield Sandbox(aws=aws, workdir=workdir, config_file=config_file, regions=tuple(regions), manifest=manifest)
    finally:
        if owned:
            shutil.rmtree(workdir, ignore_errors=True)
