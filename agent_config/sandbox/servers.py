"""The sandbox's configuration layer: the real MCP servers, from their own environments, against the
local AWS.

The remote AWS Knowledge server cannot be reached from these machines, so in the sandbox the
`knowledge` server is the offline one, in-process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent_config.sandbox.local_aws import LocalAws
from agent_config.sandbox.paths import aws_api_python, security_server_command

LAUNCHER = Path(__file__).with_name("api_server_launcher.py")


def sandbox_config_layer(aws: LocalAws, regions: list[str], workdir: Path) -> dict[str, Any]:
    """A configuration document (same shape as a `--config` file) pointing every role at the sandbox."""
    aws_env = aws.env()
    api_workdir = workdir / "aws-api"
    api_workdir.mkdir(parents=True, exist_ok=True)
    return {
        "environment": "development",
        "log_level": "INFO",
        "default_regions": regions,
        "servers": {
            "security": {
                "command": str(security_server_command()),
                "env": {**aws_env, "FASTMCP_LOG_LEVEL": "ERROR"},
            },
            "aws_api": {
                "command": str(aws_api_python()),
                "args": [str(LAUNCHER)],
                "env": {
                    **aws_env,
                    "READ_OPERATIONS_ONLY": "true",
                    "AWS_API_MCP_TELEMETRY": "false",
                    "AWS_API_MCP_WORKING_DIR": str(api_workdir),
                    "FASTMCP_LOG_LEVEL": "ERROR",
                },
            },
            # The remote Knowledge server is unreachable here: the offline one takes its place.
            "knowledge": {
                "transport": "in_process",
                "in_process_target": "agent_config.knowledge.server:build_server",
                "url": None,
                "fallback": None,
            },
            "knowledge_offline": {"enabled": False},
        },
    }


def missing_server_environments() -> list[str]:
    """The MCP server environments `make setup` should have created but did not."""
    wanted = {"security": security_server_command(), "aws-api": aws_api_python()}
    return [f"{name} ({path})" for name, path in wanted.items() if not path.exists()]
