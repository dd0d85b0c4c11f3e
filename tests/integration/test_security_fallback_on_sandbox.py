"""The default deploy's situation on the sandbox: the Security MCP server disabled in configuration,
so `/security/services` and `/security/findings` are read with the agent's own credentials (boto3
against the local AWS), through the real handler, and say so.

moto serves GuardDuty detectors, Security Hub, Inspector2's account status and findings, Macie's
session and AWS Config; it has no IAM Access Analyzer and no GuardDuty or Macie findings API, which
the Stubber tests (tests/unit/test_direct_security.py) cover instead."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from agent_config.bedrock import BedrockAgentResponse
from agent_config.cli import LocalLambdaContext
from agent_config.config import AgentConfig
from agent_config.enhanced_security_agent import lambda_handler
from agent_config.runtime import AgentRuntime, use_runtime
from agent_config.sandbox.demo import load_event
from agent_config.sandbox.world import Sandbox

pytestmark = pytest.mark.integration

DISABLED = "read directly with the function's role because the Security server is disabled in the configuration"


@pytest.fixture(scope="module")
def without_security_server(sandbox_world: Sandbox) -> Iterator[AgentRuntime]:
    document = sandbox_world.config().model_dump()
    document["servers"]["security"]["enabled"] = False
    runtime = AgentRuntime(AgentConfig.model_validate(document))
    previous = use_runtime(runtime)
    try:
        yield runtime
    finally:
        use_runtime(previous)
        runtime.close()


def _ask(api_path: str, **parameters: str) -> tuple[int, dict[str, Any]]:
    event = load_event("security_services.json")
    event["apiPath"] = api_path
    event["parameters"] = [{"name": k, "type": "string", "value": v} for k, v in parameters.items()]
    response = lambda_handler(event, LocalLambdaContext(60))
    BedrockAgentResponse.model_validate(response)
    body = json.loads(response["response"]["responseBody"]["application/json"]["body"])
    return response["response"]["httpStatusCode"], body


def _services(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {status["service"]: status for status in body["data"]["services"]}


def test_guardduty_is_reported_off_where_the_sample_account_planted_it(without_security_server: AgentRuntime) -> None:
    # GIVEN the sample account: no GuardDuty detector and a running Config recorder in us-east-1
    status, body = _ask("/security/services", region="us-east-1")

    # THEN the services are read directly, GuardDuty is off, and the answer says why it was read so
    assert status == 200, body
    services = _services(body)
    assert services["guardduty"]["enabled"] is False
    assert "guardduty" in body["data"]["not_enabled"]
    assert "Amazon GuardDuty" in body["summary"].split("Not enabled:")[1]
    assert services["config"]["enabled"] is True
    assert body["degraded"][0]["reason"].startswith(DISABLED)
    # moto has no IAM Access Analyzer: unknown, with the reason, never "off"
    assert "enabled" not in services["accessanalyzer"]
    assert "accessanalyzer" in body["data"]["unknown"]
    assert services["accessanalyzer"]["error"].startswith("could not read IAM Access Analyzer")


def test_the_twin_region_has_guardduty_on_and_config_stopped(without_security_server: AgentRuntime) -> None:
    status, body = _ask("/security/services", region="eu-west-1")

    assert status == 200, body
    services = _services(body)
    assert services["guardduty"]["enabled"] is True
    assert services["guardduty"]["detail"]["detector_details"]["status"] == "ENABLED"
    assert services["config"]["enabled"] is False
    assert "stopped" in services["config"]["summary"]


def test_guardduty_findings_where_it_is_off_say_so_instead_of_failing(without_security_server: AgentRuntime) -> None:
    status, body = _ask("/security/findings", source="guardduty", region="us-east-1")

    assert status == 200, body
    assert (
        body["summary"] == "Amazon GuardDuty is not enabled in us-east-1: no detector, so it has no findings to report."
    )
    assert body["degraded"][0]["reason"] == DISABLED


def test_security_hub_findings_are_read_directly(without_security_server: AgentRuntime) -> None:
    status, body = _ask("/security/findings", source="securityhub", region="us-east-1", min_severity="high")

    assert status == 200, body
    assert body["data"]["source"] == "securityhub"
    assert body["degraded"][0]["reason"] == DISABLED
