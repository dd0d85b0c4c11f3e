"""Where the MCP servers' own virtual environments live (created by `make setup`)."""

from __future__ import annotations

import os
from pathlib import Path

MCP_ENVS_ENV = "SECURITY_AGENT_MCP_ENVS"
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def mcp_envs_dir() -> Path:
    """`$SECURITY_AGENT_MCP_ENVS`, else `.mcp-envs/` in the checkout this package was installed from."""
    configured = os.environ.get(MCP_ENVS_ENV)
    return Path(configured) if configured else PROJECT_ROOT / ".mcp-envs"


def server_executable(env_name: str, script: str) -> Path:
    return mcp_envs_dir() / env_name / "bin" / script


def security_server_command() -> Path:
    return server_executable("security", "awslabs.well-architected-security-mcp-server")


def aws_api_python() -> Path:
    return server_executable("aws-api", "python")
