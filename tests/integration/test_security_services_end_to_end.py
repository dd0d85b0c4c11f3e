"""A real Bedrock event through the handler to the real Security MCP server and a moto server, and back."""

from __future__ import annotations

import json
import os
import signal
from typing import Any

import pytest

from agent_config.bedrock import BedrockAgentResponse
from agent_config.cli import LocalLambdaContext
from agent_config.enhanced_security_agent import lambda_handler
from agent_config.runtime import AgentRuntime
from agent_config.sandbox.demo import load_event
from agent_config.sandbox.world import Sandbox
from tests.integration.processes import child_pids, command_line

pytestmark = pytest.mark.integration

SECURITY_SCRIPT = "awslabs.well-architected-security-mcp-server"
REGION = "ap-southeast-2"  # outside the sample account, so the test owns GuardDuty's state there


def _ask(event: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, Any]]:
    response = lambda_handler(event, LocalLambdaContext(120))
    BedrockAgentResponse.model_validate(response)
    body = json.loads(response["response"]["responseBody"]["application/json"]["body"])
    return response["response"]["httpStatusCode"], body, response


def _services_event(region: str) -> dict[str, Any]:
    event = load_event("security_services.json")
    event["parameters"] = [{"name": "region", "type": "string", "value": region}]
    return event


def test_guardduty_is_reported_off_then_on_after_a_detector_is_enabled(
    sandbox_world: Sandbox, sandbox_runtime: AgentRuntime
) -> None:
    guardduty = sandbox_world.aws.client("guardduty", REGION)
    for detector_id in guardduty.list_detectors()["DetectorIds"]:
        guardduty.delete_detector(DetectorId=detector_id)

    # GIVEN no GuardDuty detector in the region
    status, body, response = _ask(_services_event(REGION))

    # THEN the agent says GuardDuty is not enabled, links its setup guide, and echoes the session
    assert status == 200
    guardduty_status = next(s for s in body["data"]["services"] if s["service"] == "guardduty")
    assert guardduty_status["enabled"] is False
    assert "guardduty" in body["data"]["not_enabled"]
    assert "Amazon GuardDuty" in body["summary"].split("Not enabled:")[1]
    assert any("guardduty" in link["url"] for link in body["documentation"])
    assert response["sessionAttributes"] == {"tenant": "acme"}

    # WHEN a detector is enabled in the local AWS
    detector_id = guardduty.create_detector(Enable=True)["DetectorId"]
    try:
        status, body, _ = _ask(_services_event(REGION))
    finally:
        guardduty.delete_detector(DetectorId=detector_id)

    # THEN the next answer says it is enabled
    assert status == 200
    assert "guardduty" in body["data"]["enabled"]
    assert "guardduty" not in body["data"]["not_enabled"]


def test_health_reports_the_real_servers_and_their_tools(sandbox_runtime: AgentRuntime) -> None:
    status, body, _ = _ask(load_event("health.json"))

    assert status == 200
    servers = {s["name"]: s for s in body["data"]["servers"]}
    assert servers["security"]["reachable"] is True
    assert "CheckSecurityServices" in servers["security"]["tools"]
    assert servers["aws_api"]["reachable"] is True
    assert "call_aws" in servers["aws_api"]["tools"]


def _server_pids(fragment: str) -> set[int]:
    """Our child processes whose command line contains `fragment` (the stdio MCP servers)."""
    return {pid for pid in child_pids() if fragment in (command_line(pid) or "")}


def test_warm_invocations_reuse_the_server_process_and_a_killed_server_is_rebuilt(
    sandbox_runtime: AgentRuntime,
) -> None:
    from agent_config.orchestration.orchestrator import ServerOrchestrator

    orchestrator = sandbox_runtime.orchestrator
    assert isinstance(orchestrator, ServerOrchestrator)
    connection = orchestrator.connection("security")

    # GIVEN two invocations in one warm container
    _ask(_services_event("us-east-1"))
    pids_first, connects_first = _server_pids(SECURITY_SCRIPT), connection.connect_count
    status, _, _ = _ask(_services_event("us-east-1"))

    # THEN the same server process answered both
    assert status == 200
    assert len(pids_first) == 1
    assert _server_pids(SECURITY_SCRIPT) == pids_first
    assert connection.connect_count == connects_first

    # WHEN the server process dies between invocations
    os.kill(next(iter(pids_first)), signal.SIGKILL)
    status, body, _ = _ask(_services_event("us-east-1"))

    # THEN the next invocation still answers, from a new process
    assert status == 200, body
    pids_after = _server_pids(SECURITY_SCRIPT)
    assert len(pids_after) == 1
    assert pids_after != pids_first
    assert connection.connect_count == connects_first + 1
