"""The manifest model refuses an answer key that breaks its own promises (pure: no AWS needed).

Kept beside the sample-account integration test it supports; it runs in milliseconds.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from agent_config.interfaces import FindingStatus
from agent_config.sandbox.sample_account import PlantedItem, SampleAccountManifest


def _item(**overrides: Any) -> PlantedItem:
    fields: dict[str, Any] = {
        "control_id": "S3.8",
        "resource_type": "AWS::S3::Bucket",
        "name": "acme-bad",
        "resource_id": "acme-bad",
        "region": "us-east-1",
        "expected_status": FindingStatus.FAIL,
        "description": "no block public access",
    }
    fields.update(overrides)
    return PlantedItem(**fields)


def _twin(**overrides: Any) -> PlantedItem:
    fields: dict[str, Any] = {
        "name": "acme-good",
        "resource_id": "acme-good",
        "expected_status": FindingStatus.PASS,
        "twin_of": "S3.8/us-east-1/acme-bad",
    }
    fields.update(overrides)
    return _item(**fields)


def _manifest(*items: PlantedItem) -> SampleAccountManifest:
    return SampleAccountManifest(
        items=items,
        account_id="123456789012",
        regions=("us-east-1", "eu-west-1"),
        created_at=datetime.now(UTC),
    )


def test_a_fail_item_with_a_twin_is_accepted_and_round_trips(tmp_path: Path) -> None:
    manifest = _manifest(_item(), _twin())
    assert manifest.twin_for(manifest.get("S3.8/us-east-1/acme-bad")) == _twin()
    assert SampleAccountManifest.read(manifest.write(tmp_path / "manifest.json")) == manifest


def test_a_fail_item_without_twin_needs_a_reason() -> None:
    with pytest.raises(ValidationError, match="neither a PASS twin nor a reason"):
        _manifest(_item())
    assert _manifest(_item(no_twin_reason="one per account")).failing()


def test_a_twin_must_point_at_a_fail_item_of_the_same_control() -> None:
    with pytest.raises(ValidationError, match="not a FAIL item"):
        _manifest(_item(no_twin_reason="x"), _twin(twin_of="S3.8/us-east-1/missing"))
    with pytest.raises(ValidationError, match="different control"):
        _manifest(_item(), _twin(), _twin(control_id="S3.5", name="other"))


def test_keys_are_unique() -> None:
    with pytest.raises(ValidationError, match="duplicate"):
        _manifest(_item(), _twin(), _twin())


@pytest.mark.parametrize(
    "overrides",
    [
        {"expected_status": FindingStatus.MANUAL},
        {"control_id": "not a control"},
        {"twin_of": "S3.8/us-east-1/acme-other"},
        {"expected_status": FindingStatus.PASS, "no_twin_reason": "x"},
    ],
    ids=["manual-status", "bad-control-id", "twin-on-fail", "reason-on-pass"],
)
def test_an_item_must_be_a_plain_pass_or_fail_expectation(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        _item(**overrides)
