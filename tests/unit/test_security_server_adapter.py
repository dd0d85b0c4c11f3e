"""Reading the Security server's real output (golden files captured from version 0.2.0 on moto)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agent_config.integrations.security_server import (
    check_security_services_call,
    parse_service_statuses,
)
from agent_config.response.service_status import render_service_status
from agent_config.utils.error_handling import ServerFailure

FIXTURES = Path(__file__).parent / "fixtures" / "security_server"


def _golden(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def test_service_statuses_are_read_from_the_real_answer() -> None:
    statuses = {s.service: s for s in parse_service_statuses(_golden("check_security_services_moto.json"), "x")}

    assert statuses["guardduty"].enabled is False
    assert statuses["securityhub"].enabled is False
    assert statuses["macie"].enabled is True
    assert statuses["guardduty"].region == "us-east-1"
    assert statuses["guardduty"].setup_url == "https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_settingup.html"


def test_an_error_inside_a_successful_answer_means_unknown_not_disabled() -> None:
    statuses = {s.service: s for s in parse_service_statuses(_golden("check_security_services_moto.json"), "x")}

    analyzer = statuses["accessanalyzer"]
    assert analyzer.enabled is None
    assert analyzer.error is not None
    assert "<!doctype" not in analyzer.error  # the HTML body of the 500 page is cut off


def test_a_whole_call_failure_in_the_payload_raises_even_though_is_error_was_false() -> None:
    payload = _golden("check_storage_encryption_error.json")

    with pytest.raises(ServerFailure, match="could not check the services"):
        parse_service_statuses(payload, "us-east-1")


@pytest.mark.parametrize("payload", [None, "text", [], {"service_statuses": "nope"}])
def test_malformed_answers_raise_a_server_failure(payload: Any) -> None:
    with pytest.raises(ServerFailure):
        parse_service_statuses(payload, "us-east-1")


def test_the_rendered_answer_names_what_is_off_and_links_its_setup_docs() -> None:
    statuses = parse_service_statuses(_golden("check_security_services_moto.json"), "us-east-1")

    answer = render_service_status("us-east-1", statuses)

    assert "Not enabled: Amazon GuardDuty, AWS Security Hub." in answer.summary
    assert "Could not be determined: IAM Access Analyzer." in answer.summary
    assert answer.data["not_enabled"] == ["guardduty", "securityhub"]
    assert {d.url for d in answer.documentation} >= {
        "https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_settingup.html"
    }


def test_the_call_asks_for_one_region_and_does_not_store_context() -> None:
    call = check_security_services_call("eu-west-1", ["guardduty"])

    assert call.tool == "CheckSecurityServices"
    assert call.arguments == {"region": "eu-west-1", "store_in_context": False, "services": ["guardduty"]}
