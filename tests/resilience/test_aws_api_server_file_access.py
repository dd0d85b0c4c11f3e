"""The AWS API MCP server runs with local file access off, whatever else its configuration says.

Its embedded AWS CLI replaces a parameter value starting with `file://` or `fileb://` by that file's
content, and by default the server allows that inside its working folder. The read-only guard
refuses such values first; `AWS_API_MCP_ALLOW_UNRESTRICTED_LOCAL_FILE_ACCESS=no-access` is the
second layer. These tests check that the setting reaches the server's process environment (default
configuration, sandbox configuration, a hostile process environment) and, with the real server's
own code, that the value is the one it understands and that it breaks none of the commands the
checks send.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from agent_config.checks.evidence import Evidence, EvidenceItem
from agent_config.checks.registry import plan_all
from agent_config.config import load_config
from agent_config.integrations.aws_api_server import FILE_ACCESS_ENV, REQUIRED_ENV, SERVER
from agent_config.integrations.mcp_connection import stdio_environment
from agent_config.integrations.read_only_guard import cli_command
from agent_config.sandbox.local_aws import LocalAws
from agent_config.sandbox.paths import aws_api_python
from agent_config.sandbox.servers import sandbox_config_layer

API_PYTHON = aws_api_python()
GOLDEN = Path(__file__).parents[1] / "unit" / "checks" / "golden"
SUBPROCESS_TIMEOUT_S = 60.0
# Run with the server's own interpreter: what its configuration makes of the environment, and what
# its command parser (which resolves `file://` values) makes of each command.
PROBE = """
import json, sys
from awslabs.aws_api_mcp_server.core.common import config
from awslabs.aws_api_mcp_server.core.parser.parser import parse
outcomes = []
for command in json.loads(sys.argv[1]):
    try:
        outcomes.append({"parameters": parse(command).parameters})
    except Exception as exc:  # the server's refusal, whatever its type
        outcomes.append({"refused": type(exc).__name__, "message": str(exc)[:300]})
print(json.dumps({"mode": config.FILE_ACCESS_MODE.value, "outcomes": outcomes}, default=str))
"""


def _server_env() -> dict[str, str]:
    """The environment the agent starts the AWS API server with (as the MCP connection builds it)."""
    return stdio_environment(load_config(environ={}).servers[SERVER])


def test_the_default_configuration_turns_file_access_off() -> None:
    env = load_config(environ={}).servers[SERVER].env

    assert {name: env.get(name) for name in REQUIRED_ENV} == dict(REQUIRED_ENV)


def test_the_setting_reaches_the_server_environment_over_a_hostile_process_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The server inherits this process's AWS_* variables; its own configured env must win.
    monkeypatch.setenv(FILE_ACCESS_ENV, "unrestricted")
    monkeypatch.setenv("READ_OPERATIONS_ONLY", "false")

    env = _server_env()

    assert env[FILE_ACCESS_ENV] == "no-access"
    assert env["READ_OPERATIONS_ONLY"] == "true"


def test_the_sandbox_configuration_keeps_file_access_off(tmp_path: Path) -> None:
    aws = LocalAws(endpoint_url="http://127.0.0.1:1", home=tmp_path / "home", region="us-east-1")
    config_file = tmp_path / "sandbox.json"
    config_file.write_text(json.dumps(sandbox_config_layer(aws, ["us-east-1"], tmp_path)), encoding="utf-8")

    env = stdio_environment(load_config(config_file, environ={}).servers[SERVER])

    assert {name: env.get(name) for name in REQUIRED_ENV} == dict(REQUIRED_ENV)


def _probe(env: dict[str, str], commands: list[str]) -> dict[str, Any]:
    done = subprocess.run(
        [str(API_PYTHON), "-c", PROBE, json.dumps(commands)],
        env=env,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    outcome: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return outcome


def _probe_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """The configured server environment, plus what a process needs to import the server offline."""
    return {
        **_server_env(),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "AWS_REGION": "us-east-1",
        "AWS_API_MCP_WORKING_DIR": str(tmp_path),
        **overrides,
    }


def _planned_commands() -> list[str]:
    """The command line of every call the checks plan (golden cases and a first round), as sent."""
    calls = set(plan_all(["us-east-1"], Evidence(account_id="123456789012")))
    for path in sorted(GOLDEN.glob("*/*.json")):
        case = json.loads(path.read_text(encoding="utf-8"))
        calls.update(EvidenceItem.model_validate(item).call for item in case["evidence"])
    return sorted(cli_command(call, "us-east-1") for call in calls)


needs_server = pytest.mark.skipif(
    not API_PYTHON.exists(), reason=f"the AWS API server environment is not installed ({API_PYTHON})"
)


@needs_server
def test_the_real_server_refuses_a_file_parameter_with_the_configured_environment(tmp_path: Path) -> None:
    # GIVEN a file inside the server's working folder, and a command that names it as a value
    secret = tmp_path / "secret.txt"
    secret.write_text("do-not-read", encoding="utf-8")
    command = f"aws cloudtrail get-event-selectors --trail-name file://{secret} --region us-east-1"

    # WHEN the server's own parser reads it, with the environment the agent gives the server
    configured = _probe(_probe_env(tmp_path), [command])
    # (and, as a control, without the setting: the server's default)
    env = {name: value for name, value in _probe_env(tmp_path).items() if name != FILE_ACCESS_ENV}
    default = _probe(env, [command])

    # THEN it refuses the file; by default it would have read it into the parameter
    assert configured["mode"] == "no-access"
    assert [outcome.get("refused") for outcome in configured["outcomes"]] == ["LocalFileAccessDisabledError"]
    assert default["mode"] == "workdir"
    assert "do-not-read" in str(default["outcomes"][0].get("parameters"))


@needs_server
def test_with_file_access_off_the_real_server_still_accepts_every_command_the_checks_send(tmp_path: Path) -> None:
    commands = _planned_commands()

    result = _probe(_probe_env(tmp_path), commands)

    assert result["mode"] == "no-access"
    refused = [(command, o) for command, o in zip(commands, result["outcomes"], strict=True) if "refused" in o]
    assert refused == []
