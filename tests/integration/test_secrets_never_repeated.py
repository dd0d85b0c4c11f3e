"""Secrets found in account data are reported by location and masked, never repeated (issue 7).

The sample account plants known values (`config_secrets.PLANTED_VALUES`: an access key pair and a
database password in a Lambda environment, a password and an API key in EC2 user data). An
assessment through the real handler must report where they are, and no value may appear anywhere in
what the agent says: the first answer, every page of the stored report, the remediation plan for
the finding, the stored report itself, or the agent's own log lines (captured at DEBUG).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest

from agent_config.bedrock import build_event
from agent_config.cli import LocalLambdaContext
from agent_config.enhanced_security_agent import lambda_handler
from agent_config.runtime import AgentRuntime
from agent_config.sandbox.sample_account.config_secrets import PLANTED_VALUES
from agent_config.utils.logging_utils import configure_logging

pytestmark = pytest.mark.integration

SESSION = "secrets-never-repeated-0001"


def _ask(api_path: str, parameters: dict[str, str] | None = None, template: str | None = None) -> tuple[int, str]:
    event = build_event(api_path, parameters, api_template=template, session_id=SESSION)
    response = lambda_handler(event, LocalLambdaContext(280))
    return response["response"]["httpStatusCode"], response["response"]["responseBody"]["application/json"]["body"]


@pytest.fixture
def debug_logs() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("DEBUG", stream=stream)
    yield stream
    configure_logging("WARNING")


def test_planted_secrets_are_reported_by_location_and_never_repeated(
    sandbox_runtime: AgentRuntime, debug_logs: io.StringIO
) -> None:
    # GIVEN the sample account, whose billing API and batch host hold known secrets
    # WHEN the agent assesses it, and every page of the report and the fix for each leak are asked for
    status, first = _ask("/security/assessment")
    assert status == 200, first
    data = json.loads(first)["data"]
    assessment_id = data["assessment_id"]
    bodies = [first]
    for page in range(1, data["paging"]["pages"] + 1):
        status, body = _ask(
            f"/security/reports/{assessment_id}",
            {"assessment_id": assessment_id, "page": str(page)},
            "/security/reports/{assessment_id}",
        )
        assert status == 200, body
        bodies.append(body)
    cards: list[dict[str, Any]] = [c for body in bodies[1:] for c in json.loads(body)["data"]["findings"]]
    leaks = [c for c in cards if c["control_id"] in {"ESA.1", "ESA.2"} and c["status"] == "FAIL"]
    for card in leaks:
        status, body = _ask(
            f"/security/remediation/{card['finding_id']}",
            {"finding_id": card["finding_id"]},
            "/security/remediation/{finding_id}",
        )
        assert status == 200, body
        bodies.append(body)
    assert sandbox_runtime.sessions is not None
    report = sandbox_runtime.sessions.load_assessment(SESSION, assessment_id)
    assert report is not None

    # THEN both leaks are reported, by location and kind
    by_resource = {c["resource"]: c for c in leaks}
    assert set(by_resource) >= {"acme-billing-api"}
    assert "DB_PASSWORD (password)" in by_resource["acme-billing-api"]["evidence"]
    batch = next(f for f in report.findings if f.control_id == "ESA.2" and f.status.value == "FAIL")
    assert [loc["where"] for loc in batch.evidence["locations"]] == [
        f"user data line 4 of instance {batch.resource_id} (acme-billing-batch-01)",
        f"user data line 5 of instance {batch.resource_id} (acme-billing-batch-01)",
    ]
    # AND no planted value appears in any answer, in the stored report or in the agent's logs
    logs = debug_logs.getvalue()
    assert "aws_api_read" in logs or "mcp_call" in logs  # the logs were really captured
    everything = "\n".join([*bodies, report.model_dump_json(), logs])
    for value in PLANTED_VALUES:
        assert value not in everything, f"{value[:6]}... was repeated"
