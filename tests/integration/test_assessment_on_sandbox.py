"""A full assessment of the sandbox account: every planted misconfiguration is found, no correctly
configured twin is reported, and `security-agent assess` keeps its command-line contract."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from agent_config.assessment import run_assessment
from agent_config.checks import registry
from agent_config.interfaces import FindingStatus, SecurityAssessment
from agent_config.orchestration.deadline import Deadline
from agent_config.orchestration.planner import parse_request
from agent_config.runtime import AgentRuntime
from agent_config.sandbox.answer_key import score
from agent_config.sandbox.world import Sandbox

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def assessment(sandbox_world: Sandbox, sandbox_runtime: AgentRuntime) -> SecurityAssessment:
    request = parse_request(list(sandbox_world.regions), None)
    return sandbox_runtime.run(
        lambda: run_assessment(sandbox_runtime.orchestrator, request, Deadline.after(240)), timeout_s=300
    )


def test_every_planted_misconfiguration_is_found_and_no_twin_is_reported(
    sandbox_world: Sandbox, assessment: SecurityAssessment
) -> None:
    assert sandbox_world.manifest is not None
    result = score(assessment.findings, sandbox_world.manifest, set(registry.control_ids()))

    print(f"\nsandbox assessment: {result.describe()}")  # the measured figures, in the test log
    assert result.missed == []
    assert result.false_positives == []
    assert result.not_evaluated == []
    assert result.recall == 1.0


def test_the_assessment_uses_both_mcp_servers_and_says_what_it_could_not_assess(
    assessment: SecurityAssessment,
) -> None:
    sources = {source for finding in assessment.findings for source in finding.sources}
    assert "aws_api" in sources
    assert "security" in sources
    assert assessment.stats["reads_via_aws_api_server"] > 100
    assert assessment.stats["reads_refused_by_guard"] == 0
    # moto lacks Resource Explorer: the Security server's storage and network checks say so
    assert any("Resource Explorer" in d.reason or "storage" in d.reason for d in assessment.degraded)


def test_findings_are_ranked_with_reasons_and_scores_state_their_formulas(
    assessment: SecurityAssessment,
) -> None:
    assert assessment.prioritized[0].priority == 1
    assert all(p.reasons for p in assessment.prioritized)
    failing = [f for f in assessment.findings if f.status is FindingStatus.FAIL]
    assert len(assessment.prioritized) == len(failing)
    names = {s.name for s in assessment.scores}
    assert names == {"pass_ratio", "weighted"}
    assert all(s.formula for s in assessment.scores)
    assert assessment.summary is not None and assessment.summary.top_risks


def _assess_cli(world: Sandbox, *arguments: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **world.environment(), "LOG_LEVEL": "ERROR"}
    return subprocess.run(
        [sys.executable, "-m", "agent_config.cli", "assess", *arguments],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_assess_json_is_the_documented_object_and_fail_on_sets_exit_3(sandbox_world: Sandbox) -> None:
    completed = _assess_cli(sandbox_world, "--format", "json", "--service", "s3", "--fail-on", "critical")

    assert completed.returncode == 3, completed.stderr[-2000:]
    report: dict[str, Any] = json.loads(completed.stdout)
    assert set(report) >= {"findings", "scores", "summary", "degraded"}
    required = {
        "control_id",
        "status",
        "severity",
        "priority",
        "resource_id",
        "resource_arn",
        "region",
        "account_id",
        "title",
        "sources",
    }
    assert report["findings"]
    for finding in report["findings"]:
        assert required <= set(finding)
    assert {"S3.2", "S3.8"} <= {f["control_id"] for f in report["findings"] if f["status"] == "FAIL"}
    assert report["scores"]["pass_ratio"]["formula"]


def test_assess_markdown_exits_0_when_no_threshold_is_given(sandbox_world: Sandbox) -> None:
    completed = _assess_cli(sandbox_world, "--service", "kms", "--region", "us-east-1")

    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.startswith("# Security assessment of account 123456789012")
    assert "KMS.4" in completed.stdout


def test_assess_with_an_unknown_service_is_a_usage_error(sandbox_world: Sandbox) -> None:
    completed = _assess_cli(sandbox_world, "--service", "teleporter")

    assert completed.returncode == 2
    assert "unknown service" in completed.stderr
