"""Sessions through the handler on the sandbox: "what changed since last time" after a real fix, and
answers that still arrive (and say so) when DynamoDB is unavailable."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest

from agent_config.bedrock import BedrockAgentResponse, build_event
from agent_config.cli import LocalLambdaContext
from agent_config.config import AgentConfig
from agent_config.enhanced_security_agent import lambda_handler
from agent_config.runtime import AgentRuntime, use_runtime
from agent_config.sandbox.world import Sandbox
from agent_config.session import DynamoDBSessionStore, SessionManager, dynamodb_client
from agent_config.session.keeper import SessionKeeper
from agent_config.session.table import create_session_table

pytestmark = pytest.mark.integration

TABLE = "security-agent-sessions-test"


def _ask_s3(session: str) -> tuple[int, dict[str, Any], dict[str, Any]]:
    event = build_event(
        "/security/resources/{service}",
        {"service": "s3", "region": "us-east-1"},
        api_template="/security/resources/{service}",
        session_id=session,
    )
    response = lambda_handler(event, LocalLambdaContext(200))
    BedrockAgentResponse.model_validate(response)
    body = json.loads(response["response"]["responseBody"]["application/json"]["body"])
    return response["response"]["httpStatusCode"], body, response


@pytest.fixture
def dynamodb_runtime(sandbox_world: Sandbox, sandbox_runtime: AgentRuntime) -> Any:
    """The sandbox runtime with its session history in a DynamoDB table on the local AWS."""
    client = dynamodb_client(endpoint_url=sandbox_world.aws.endpoint_url, region=sandbox_world.aws.region)
    existing = client.list_tables()["TableNames"]
    if TABLE not in existing:
        create_session_table(client, TABLE)
    previous = sandbox_runtime.sessions
    sandbox_runtime.sessions = SessionKeeper(SessionManager(DynamoDBSessionStore(TABLE, client=client)))
    try:
        yield sandbox_runtime
    finally:
        sandbox_runtime.sessions = previous


def test_fixing_a_planted_misconfiguration_is_reported_resolved_in_the_next_answer(
    sandbox_world: Sandbox, dynamodb_runtime: AgentRuntime
) -> None:
    session = "session-history-fix-0001"
    s3 = sandbox_world.aws.client("s3")
    bucket = "acme-prod-customer-uploads"  # planted: no bucket-level Block Public Access (S3.8)

    # GIVEN a first analysis that finds the planted S3.8 failure
    status, first, _ = _ask_s3(session)
    assert status == 200
    assert any(f["control_id"] == "S3.8" and f["resource"] == bucket for f in first["data"]["findings"])

    # WHEN the bucket is fixed in the account and the user asks again in the same session
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    try:
        status, second, _ = _ask_s3(session)
    finally:
        s3.delete_public_access_block(Bucket=bucket)  # the sandbox stays as planted for other tests

    # THEN the second answer reports it resolved, read from the history kept in DynamoDB
    assert status == 200
    changes = second["data"]["changes_since_previous"]
    assert changes["previous_assessment_id"] == first["data"]["assessment_id"]
    assert f"S3.8 (HIGH) on {bucket} in us-east-1" in changes["resolved"]
    assert not any(f["control_id"] == "S3.8" and f["resource"] == bucket for f in second["data"]["findings"])


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_with_dynamodb_down_the_answer_still_arrives_and_says_history_is_missing(
    sandbox_world: Sandbox, sandbox_runtime: AgentRuntime
) -> None:
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    client = dynamodb_client(endpoint_url=endpoint, region="us-east-1")
    broken = AgentRuntime(
        AgentConfig.model_validate({**sandbox_runtime.config.model_dump(), "sessions_table": TABLE}),
        orchestrator=sandbox_runtime.orchestrator,
    )
    broken.loop = sandbox_runtime.loop  # the orchestrator's connections live on this loop
    broken.sessions = SessionKeeper(SessionManager(DynamoDBSessionStore(TABLE, client=client)))
    previous = use_runtime(broken)
    try:
        status, body, response = _ask_s3("session-history-down-0001")
    finally:
        use_runtime(previous)

    assert status == 200
    assert body["data"]["findings"]
    reasons = [d["reason"] for d in body["degraded"] if d["server"] == "session_store"]
    assert len(reasons) == 1  # asked once: the turn does not call a dead store again
    # refused at once, or (botocore backing off between its attempts) abandoned at the turn's bound
    assert reasons[0] in {
        "answered without session history, because the session store could not be reached",
        "answered without session history, because the session store did not answer in time",
    }
    assert endpoint not in json.dumps(body)  # neither the endpoint nor the table reaches the model
    assert TABLE not in json.dumps(body)
    assert response["sessionAttributes"]["last_assessment_id"] == body["data"]["assessment_id"]
