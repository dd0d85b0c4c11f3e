"""The plans: read-only, idempotent, listing first and per-resource calls after, capped, and
exactly the calls the golden files were collected with."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agent_config.checks import registry
from agent_config.checks.catalogue import load_catalogue
from agent_config.checks.evidence import ApiCall, Evidence, EvidenceItem
from agent_config.checks.registry import ServiceModule
from agent_config.checks.services import iam, s3
from agent_config.integrations.read_only_guard import check_call
from agent_config.interfaces import FindingStatus

GOLDEN = Path(__file__).parent / "golden"
CASE_FILES = sorted(GOLDEN.glob("*/*.json"))
READ_PREFIXES = ("get-", "list-", "describe-", "head-")
MODULES = registry.SERVICE_MODULES
ACCOUNT = "123456789012"


def module_id(module: ServiceModule) -> str:
    return module.SERVICE


def load(path: Path) -> dict[str, Any]:
    case: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return case


def items_of(case: dict[str, Any]) -> list[EvidenceItem]:
    return [EvidenceItem.model_validate(item) for item in case["evidence"]]


def plan(module: ServiceModule, regions: list[str], evidence: Evidence, max_resources: int = 1000) -> list[ApiCall]:
    return [c for r in registry.regions_for(module, regions) for c in module.plan(r, evidence, max_resources)]


def answered(call: ApiCall, response: dict[str, Any] | None = None) -> EvidenceItem:
    return EvidenceItem(call=call, response=response or {})


@pytest.mark.parametrize("module", MODULES, ids=module_id)
def test_a_first_plan_lists_before_it_looks_at_any_resource(module: ServiceModule) -> None:
    calls = plan(module, ["us-east-1"], Evidence(account_id=ACCOUNT))

    assert calls
    for call in calls:
        assert call.operation.startswith(READ_PREFIXES), call.label
        # Only fixed filters, never a resource name, before anything was listed.
        assert {name for name, _ in call.parameters} <= {
            "account-id",
            "alternate-contact-type",
            "filters",
            "owner-ids",
            "scope",
            "snapshot-type",
        }, call.label


@pytest.mark.parametrize("module", MODULES, ids=module_id)
def test_global_services_call_without_a_region_and_regional_ones_with_it(module: ServiceModule) -> None:
    calls = plan(module, ["eu-west-1"], Evidence(account_id=ACCOUNT))

    regions = {call.region for call in calls}
    assert regions == ({None} if module.GLOBAL else {"eu-west-1"})


@pytest.mark.parametrize("path", CASE_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_replaying_a_golden_case_plans_exactly_its_calls_and_only_reads(path: Path) -> None:
    # GIVEN the evidence a case was collected with, fed back one planning round at a time
    case = load(path)
    module = registry.module_for(case["service"])
    by_call = {item.call: item for item in items_of(case)}
    evidence = Evidence(account_id=case["account_id"])
    planned: list[ApiCall] = []

    for _ in range(10):
        # WHEN the module plans
        calls = plan(module, case["regions"], evidence)
        if not calls:
            break
        # THEN it asks only for reads it has not got yet, never twice
        assert all(call.operation.startswith(READ_PREFIXES) for call in calls)
        assert not set(calls) & set(planned), "a call was planned twice"
        assert plan(module, case["regions"], evidence) == calls, "planning twice changes nothing"
        planned.extend(calls)
        evidence.extend(by_call[call] for call in calls)

    # AND in the end it asked for exactly what the file holds, and now wants nothing more
    assert set(planned) == set(by_call)
    assert plan(module, case["regions"], evidence) == []


def test_per_resource_calls_follow_the_listing() -> None:
    # GIVEN only the bucket listing
    listing = answered(
        s3.list_buckets_call(),
        {"Buckets": [{"Name": "alpha"}, {"Name": "beta", "BucketRegion": "eu-west-1"}]},
    )
    evidence = Evidence(account_id=ACCOUNT, items=[listing])

    # WHEN S3 plans
    calls = {call.label for call in s3.plan("us-east-1", evidence)}

    # THEN it reads every bucket, and the location only where the listing did not give it
    assert "s3api get-bucket-policy --bucket alpha" in calls
    assert "s3api get-bucket-acl --bucket beta" in calls
    assert "s3api get-public-access-block --bucket beta" in calls
    assert "s3api get-bucket-logging --bucket alpha" in calls
    assert "s3api get-bucket-location --bucket alpha" in calls
    assert "s3api get-bucket-location --bucket beta" not in calls
    assert "s3api list-buckets" not in calls


def test_a_failed_listing_plans_no_per_resource_calls_and_gives_manual() -> None:
    denied = EvidenceItem(call=s3.list_buckets_call(), error_code="AccessDenied")
    evidence = Evidence(account_id=ACCOUNT, items=[denied])

    calls = s3.plan("us-east-1", evidence)
    results = s3.evaluate("us-east-1", evidence)

    assert [c.operation for c in calls] == ["get-public-access-block"]  # the account-level one
    bucket_results = [r for r in results if r.control_id != "S3.1"]
    assert {r.status for r in bucket_results} == {FindingStatus.MANUAL}
    assert all(r.missing == "permission s3:ListAllMyBuckets was denied" for r in bucket_results)


def test_calls_never_collected_give_manual_naming_the_api() -> None:
    # GIVEN a listing but none of the per-user reads (the deadline ran out)
    users = answered(
        iam.list_users_call(), {"Users": [{"UserName": "alice", "Arn": f"arn:aws:iam::{ACCOUNT}:user/alice"}]}
    )
    evidence = Evidence(account_id=ACCOUNT, items=[users])

    results = [r for r in iam.evaluate("us-east-1", evidence) if r.resource_id == "alice"]

    assert results
    assert {r.status for r in results} == {FindingStatus.MANUAL}
    assert any(r.missing and "iam:GetLoginProfile was not collected" in r.missing for r in results)


def _buckets(count: int) -> Evidence:
    listing = answered(
        s3.list_buckets_call(),
        {"Buckets": [{"Name": f"bucket-{n:02d}", "BucketRegion": "us-east-1"} for n in range(count)]},
    )
    return Evidence(account_id=ACCOUNT, items=[listing])


def test_the_cap_limits_per_resource_calls_and_says_so() -> None:
    evidence = _buckets(5)

    calls = s3.plan("us-east-1", evidence, max_resources=2)
    caps = s3.cap_reached("us-east-1", evidence, max_resources=2)
    results = s3.evaluate("us-east-1", evidence, max_resources=2)

    assert {c.parameter("bucket") for c in calls if c.parameter("bucket")} == {"bucket-00", "bucket-01"}
    assert [(c.listed, c.assessed) for c in caps] == [(5, 2)]
    assert "only the first 2 assessed" in caps[0].message
    assert {r.resource_id for r in results if r.control_id == "S3.8"} == {"bucket-00", "bucket-01"}
    assert s3.cap_reached("us-east-1", evidence, max_resources=5) == []


def test_plan_all_runs_global_services_once_and_deduplicates() -> None:
    evidence = Evidence(account_id=ACCOUNT)

    calls = registry.plan_all(["us-east-1", "eu-west-1", "ap-southeast-2"], evidence)

    assert len(calls) == len(set(calls))
    assert sum(1 for c in calls if c.label == "iam list-users") == 1
    assert {c.region for c in calls if c.service == "ec2"} == {"us-east-1", "eu-west-1", "ap-southeast-2"}


def test_a_multi_region_trail_is_read_once_in_its_home_region() -> None:
    trail = {
        "Name": "org",
        "TrailARN": f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/org",
        "HomeRegion": "us-east-1",
        "IsMultiRegionTrail": True,
    }
    items = [
        answered(ApiCall.of("cloudtrail", "describe-trails", region), {"trailList": [trail]})
        for region in ("us-east-1", "eu-west-1")
    ]

    calls = registry.plan_all(
        ["us-east-1", "eu-west-1"], Evidence(account_id=ACCOUNT, items=items), services=["cloudtrail"]
    )

    assert sorted((c.operation, c.region) for c in calls) == [
        ("get-event-selectors", "us-east-1"),
        ("get-trail-status", "us-east-1"),
    ]


def test_the_registry_lists_every_module_once_with_unique_controls() -> None:
    services = [m.SERVICE for m in MODULES]

    assert len(services) == len(set(services)) == 20
    assert len(registry.control_ids()) == sum(len(m.CONTROL_IDS) for m in MODULES)
    assert registry.CONTROL_OWNERS["KMS.1"] is iam
    with pytest.raises(KeyError, match="nope"):
        registry.module_for("nope")


def test_every_catalogued_control_has_an_evaluator_and_every_evaluator_a_catalogue_entry() -> None:
    """A catalogued control without an evaluator would only ever be "no data"; name it here."""
    assert set(registry.control_ids()) == load_catalogue().ids()


@pytest.mark.parametrize("path", CASE_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_planned_call_needs_only_iam_actions_the_catalogue_grants_its_controls(path: Path) -> None:
    """The deploy derives the role's policy from the catalogue's `iam_actions`: a planned call
    whose action is missing there would be denied in AWS and show as MANUAL for ever."""
    case = load(path)
    module = registry.module_for(case["service"])
    granted = set(load_catalogue().required_iam_actions(module.CONTROL_IDS))

    assert {item.call.iam_action for item in items_of(case)} <= granted


@pytest.mark.parametrize("path", CASE_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_planned_call_passes_the_read_only_guard(path: Path) -> None:
    """The plans and the guard's allow-list agree: nothing a check needs is refused."""
    for item in items_of(load(path)):
        assert check_call(item.call) == item.call
