"""The seed's three conversations, as Bedrock events the agent would send, through the handler to the
sandbox; each answer is checked for what the seed promises."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agent_config.bedrock import BedrockAgentResponse, ErrorBody, build_event
from agent_config.checks.catalogue import load_catalogue
from agent_config.cli import LocalLambdaContext
from agent_config.enhanced_security_agent import lambda_handler
from agent_config.interfaces import AgentAnswer
from agent_config.knowledge.corpus import load_corpus
from agent_config.runtime import AgentRuntime

pytestmark = pytest.mark.integration

SESSION = "seed-conversation-0001"
BUDGET = 20_000


def _ask(
    api_path: str,
    parameters: dict[str, str] | None = None,
    template: str | None = None,
    text: str = "",
    attributes: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any], dict[str, Any]]:
    event = build_event(
        api_path,
        parameters,
        api_template=template,
        session_id=SESSION,
        input_text=text,
        session_attributes=attributes,
    )
    response = lambda_handler(event, LocalLambdaContext(280))
    BedrockAgentResponse.model_validate(response)
    raw_body = response["response"]["responseBody"]["application/json"]["body"]
    assert len(raw_body.encode("utf-8")) < BUDGET, f"{api_path}: {len(raw_body)} bytes"
    status = response["response"]["httpStatusCode"]
    body = json.loads(raw_body)
    # every answer validates against the schema its operation declares (AgentAnswer or ErrorBody)
    (AgentAnswer if status == 200 else ErrorBody).model_validate(body)
    return status, body, response


def _known_urls() -> set[str]:
    urls = {link.url for control in load_catalogue().all() for link in control.documentation}
    urls |= {entry.url for entry in load_corpus().entries}
    return urls


@pytest.fixture(scope="module")
def comprehensive(sandbox_runtime: AgentRuntime) -> tuple[int, dict[str, Any], dict[str, Any]]:
    return _ask("/security/assessment", text="Perform a comprehensive security assessment of my AWS environment")


def test_a_comprehensive_assessment_answers_with_status_priorities_docs_and_a_plan(
    comprehensive: tuple[int, dict[str, Any], dict[str, Any]],
) -> None:
    status, body, response = comprehensive

    assert status == 200
    data = body["data"]
    assert "controls fail" in body["summary"]
    assert data["scores"]["pass_ratio"]["formula"]
    findings = data["findings"]
    assert findings[0]["priority"] == 1
    assert all(f["why_this_rank"] for f in findings)
    assert all(f["status"] == "FAIL" for f in findings)
    assert data["action_plan"][0]["phase"] == "now"
    known = _known_urls()
    linked = [url for f in findings for url in f.get("docs", [])]
    assert linked and all(url in known for url in linked)
    assert data["paging"]["pages"] >= 2  # the sandbox has more failures than fit in 20 KB
    assert response["sessionAttributes"]["last_assessment_id"] == data["assessment_id"]


def _report_page(assessment_id: str, page: int) -> dict[str, Any]:
    status, body, _ = _ask(
        f"/security/reports/{assessment_id}",
        {"assessment_id": assessment_id, "page": str(page)},
        template="/security/reports/{assessment_id}",
    )
    assert status == 200, body
    assert body["data"]["page"] == page
    assert "omitted" not in body["data"]  # nothing cut from a page: every finding stays reachable
    return body


def test_the_first_answer_and_the_report_pages_hold_every_finding_once_in_priority_order(
    comprehensive: tuple[int, dict[str, Any], dict[str, Any]],
) -> None:
    _, first, _ = comprehensive
    data = first["data"]
    assessment_id = data["assessment_id"]
    paging = data["paging"]
    assert paging["next"] == f"GET /security/reports/{assessment_id}?page=2"
    assert "findings" not in data.get("omitted", {})

    cards = list(data["findings"])
    for page in range(2, paging["pages"] + 1):
        cards += _report_page(assessment_id, page)["data"]["findings"]

    ids = [card["finding_id"] for card in cards]
    assert len(ids) == len(set(ids)) == paging["in_report"] == sum(data["counts_by_status"].values())
    failing = data["counts_by_status"]["FAIL"]
    assert [card.get("priority") for card in cards[:failing]] == list(range(1, failing + 1))
    assert all(card["status"] != "FAIL" for card in cards[failing:])
    # page 1 of the stored report is what the first answer showed
    assert [f["finding_id"] for f in _report_page(assessment_id, 1)["data"]["findings"]] == ids[: len(data["findings"])]


def test_a_remediation_plan_for_one_finding_says_what_changes_breaks_and_verifies(
    comprehensive: tuple[int, dict[str, Any], dict[str, Any]],
) -> None:
    _, first, _ = comprehensive
    finding_id = first["data"]["findings"][0]["finding_id"]

    status, body, _ = _ask(
        f"/security/remediation/{finding_id}",
        {"finding_id": finding_id},
        template="/security/remediation/{finding_id}",
    )

    assert status == 200
    plan = body["data"]["plan"]
    assert plan["executed"] is False
    assert plan["cli_commands"] and plan["verify_with"] and "may_break" in plan
    assert body["documentation"]


def test_analyzing_s3_shows_bucket_controls_fixes_and_best_practices(sandbox_runtime: AgentRuntime) -> None:
    status, body, _ = _ask(
        "/security/resources/{service}",
        {"service": "s3", "region": "us-east-1"},
        template="/security/resources/{service}",
        text="Analyze my S3 bucket security configuration",
    )

    assert status == 200
    data = body["data"]
    assert data["controls"]["S3.8"] == "FAILED"
    assert data["controls"]["S3.2"] == "FAILED"
    assert {f["control_id"] for f in data["findings"]} >= {"S3.2", "S3.8"}
    assert data["remediation_steps"] and data["remediation_steps"][0]["verify"]
    assert data["best_practices"]


def test_well_architected_alignment_separates_gaps_from_process_practices(
    sandbox_runtime: AgentRuntime,
) -> None:
    status, body, _ = _ask(
        "/security/compliance/{framework}",
        {"framework": "well-architected"},
        template="/security/compliance/{framework}",
        text="Help me align with AWS Well-Architected Security Pillar",
    )

    assert status == 200
    data = body["data"]
    assert data["gaps"]
    assert data["not_assessable_automatically"]
    assert data["roadmap"]
    assert data["executive_summary"]["posture"]
    assert "never as passed" in body["summary"]


def test_the_executive_summary_reports_the_session(
    comprehensive: tuple[int, dict[str, Any], dict[str, Any]],
) -> None:
    status, body, _ = _ask("/security/summary")

    assert status == 200
    assert body["data"]["top_risks_in_business_terms"]
    assert body["data"]["next_steps"]


def test_documentation_search_returns_official_pages(sandbox_runtime: AgentRuntime) -> None:
    status, body, _ = _ask("/security/documentation", {"q": "S3 block public access"})

    assert status == 200
    assert body["data"]["results"][0]["url"].startswith("https://docs.aws.amazon.com/")


def test_security_hub_findings_are_listed_from_the_security_server(sandbox_runtime: AgentRuntime) -> None:
    status, body, _ = _ask("/security/findings", {"source": "securityhub", "region": "us-east-1"})

    assert status in (200, 424)
    assert body.get("summary") or body.get("message")
