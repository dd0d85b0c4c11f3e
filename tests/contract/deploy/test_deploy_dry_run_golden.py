"""`--dry-run` prints the whole plan (every resource, every IAM document) without calling AWS, and is
deterministic, so it is kept as a golden file: a change to what the deploy would create shows up
in review as a diff of this file.

Regenerate after an intended change (a new operation, a catalogue action, a new resource):

    .venv/bin/python deploy_enhanced_security_agent.py --dry-run --region us-east-1 \
        --account-id 123456789012 > tests/contract/deploy/golden/dry_run.json
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from agent_config.deploy.aws import AwsClients
from agent_config.deploy.cli import main

GOLDEN = Path(__file__).with_name("golden") / "dry_run.json"
ARGS = ["--dry-run", "--region", "us-east-1", "--account-id", "123456789012"]
REGENERATE = (
    ".venv/bin/python deploy_enhanced_security_agent.py --dry-run --region us-east-1 "
    "--account-id 123456789012 > tests/contract/deploy/golden/dry_run.json"
)


class NoAws(AwsClients):
    """Any AWS client request fails the test: a dry run with --account-id must not need one."""

    def client(self, service: str) -> Any:
        raise AssertionError(f"--dry-run asked for a {service} client")


def dry_run(*extra: str) -> str:
    out = io.StringIO()
    assert main([*ARGS, *extra], stdout=out, clients=NoAws(region="us-east-1")) == 0
    return out.getvalue()


def test_the_dry_run_matches_the_golden_file() -> None:
    printed = dry_run()
    if printed != GOLDEN.read_text(encoding="utf-8"):
        pytest.fail(f"the deploy plan changed; review the diff and, if intended, regenerate with:\n    {REGENERATE}")


def test_the_dry_run_is_deterministic_and_complete() -> None:
    first, second = dry_run(), dry_run()
    assert first == second
    plan = json.loads(first)
    for key in (
        "lambda_role",
        "agent_role",
        "table",
        "log_group",
        "parameters",
        "function",
        "agent",
        "action_group",
        "permission",
        "alias",
        "package",
        "star_resources",
    ):
        assert plan[key], key
    assert set(plan["lambda_role"]["inline_policies"]) == {"own-resources", "direct-api-read"}
    assert plan["agent_role"]["trust_policy"]["Statement"][0]["Condition"]


def test_the_gateway_dry_run_shows_the_gateway_and_its_tools_instead_of_the_agent() -> None:
    plan = json.loads(dry_run("--target", "agentcore-gateway"))
    assert plan["agent"] is None and plan["gateway"]["name"] == "enhanced-security-agent"
    assert plan["gateway_role"]["inline_policies"]["invoke-function"]
    assert {t["name"] for t in plan["gateway_target"]["tools"]} >= {"getHealth", "getSecurityServices"}


def test_invalid_options_are_refused_with_the_option_named() -> None:
    out = io.StringIO()
    code = main([*ARGS, "--agent-name", "bad_name!"], stdout=out, clients=NoAws(region="us-east-1"))
    assert code == 2
    assert "--agent-name" in out.getvalue()
    out = io.StringIO()
    code = main([*ARGS, "--security-url", "http://example.com/mcp"], stdout=out, clients=NoAws(region="us-east-1"))
    assert code == 1
    assert "must use https" in out.getvalue()
