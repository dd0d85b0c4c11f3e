"""When the AWS API MCP server cannot be used at all, the same evidence is read directly with boto3
under the agent's own credentials, the assessment is as complete, and the answer says so."""

from __future__ import annotations

import pytest

from agent_config.assessment import run_assessment
from agent_config.config import AgentConfig
from agent_config.orchestration.deadline import Deadline
from agent_config.orchestration.planner import parse_request
from agent_config.runtime import AgentRuntime
from agent_config.sandbox.world import Sandbox

pytestmark = pytest.mark.integration


def test_an_unavailable_api_server_falls_back_to_boto3_and_says_so(
    sandbox_world: Sandbox, sandbox_runtime: AgentRuntime
) -> None:
    document = sandbox_runtime.config.model_dump()
    document["servers"]["aws_api"]["command"] = "/nonexistent/awslabs.aws-api-mcp-server"
    document["servers"]["aws_api"]["retry"] = {"max_attempts": 1, "base_delay_s": 0.1, "max_delay_s": 0.1}
    runtime = AgentRuntime(AgentConfig.model_validate(document))
    try:
        request = parse_request(["us-east-1"], ["s3", "kms"])
        assessment = runtime.run(
            lambda: run_assessment(runtime.orchestrator, request, Deadline.after(120)), timeout_s=180
        )
    finally:
        runtime.close()

    assert assessment.stats["reads_via_aws_api_server"] == 0
    assert assessment.stats["reads_via_boto3"] > 10
    assert any("collected directly with boto3" in d.reason for d in assessment.degraded)
    failing = {(f.control_id, f.resource_id) for f in assessment.findings if f.status.value == "FAIL"}
    assert ("S3.8", "acme-prod-customer-uploads") in failing
    assert any(control == "KMS.4" for control, _ in failing)
