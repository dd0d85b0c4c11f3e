"""The evidence collector's bookkeeping: lookups that stay linear on large accounts, and a report
that says so when not a single read succeeded."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import pytest

from agent_config.checks import registry
from agent_config.checks.evidence import ApiCall, Evidence, EvidenceItem
from agent_config.integrations.direct_api import DirectApi
from agent_config.interfaces import CallOutcome, ToolCall, ToolResult
from agent_config.orchestration import evidence_collector
from agent_config.orchestration.deadline import Deadline
from agent_config.orchestration.evidence_collector import CollectionReport, EvidenceCollector
from tests.conftest import ScriptedOrchestrator


def _bucket_call(index: int) -> ApiCall:
    return ApiCall.of("s3api", "get-bucket-policy", bucket=f"bucket-{index:05d}")


def test_evidence_lookup_finds_the_first_item_for_a_call_however_it_was_added() -> None:
    call = _bucket_call(1)
    first = EvidenceItem(call=call, error_code="AccessDenied")
    evidence = Evidence(account_id="123456789012", items=[first])

    evidence.add(EvidenceItem(call=call, response={}))  # a later item for the same call
    evidence.items.append(EvidenceItem(call=_bucket_call(2), response={}))  # appended directly
    evidence.extend([EvidenceItem(call=_bucket_call(3), response={"Policy": "{}"})])

    assert evidence.get(call) is first
    assert evidence.get(_bucket_call(2)) is not None
    assert evidence.get(_bucket_call(3)) == EvidenceItem(call=_bucket_call(3), response={"Policy": "{}"})
    assert evidence.get(_bucket_call(4)) is None


def test_evidence_lookup_follows_a_replaced_item_list() -> None:
    evidence = Evidence(account_id="123456789012", items=[EvidenceItem(call=_bucket_call(1), response={})])
    assert evidence.get(_bucket_call(1)) is not None

    evidence.items = [EvidenceItem(call=_bucket_call(2), response={})]
    assert evidence.get(_bucket_call(1)) is None
    assert evidence.get(_bucket_call(2)) is not None

    copy = evidence.model_copy(update={"items": [*evidence.items, EvidenceItem(call=_bucket_call(4), response={})]})
    assert copy.get(_bucket_call(4)) is not None
    assert evidence.get(_bucket_call(4)) is None


def test_planning_a_round_of_a_large_account_is_linear(monkeypatch: pytest.MonkeyPatch) -> None:
    # 7,000 items collected, 2,400 new calls planned (the scan this replaces took 18-30 s here)
    report = CollectionReport(evidence=Evidence(account_id="123456789012"))
    report.evidence.extend(EvidenceItem(call=_bucket_call(i), response={}) for i in range(7000))
    new = [ApiCall.of("iam", "list-mfa-devices", user_name=f"user-{i:05d}") for i in range(2400)]
    planned = [*new, *(_bucket_call(i) for i in range(0, 7000, 7))]
    monkeypatch.setattr(registry, "plan_all", lambda *_a, **_k: planned)
    collector = EvidenceCollector(ScriptedOrchestrator(), direct=DirectApi())

    started = time.perf_counter()
    needed = collector._plan(["us-east-1"], report)
    elapsed = time.perf_counter() - started

    assert needed == new
    assert elapsed < 2.0, f"{elapsed:.1f} s"


class _Denied(DirectApi):
    """boto3 without credentials: every read fails."""

    async def collect(
        self, calls: Sequence[ApiCall], default_region: str, deadline: Deadline | None = None
    ) -> list[EvidenceItem]:
        return [
            EvidenceItem(call=c, error_code="NoCredentialsError", error_message="Unable to locate credentials")
            for c in calls
        ]


class _ServerDown(ScriptedOrchestrator):
    async def execute_parallel_calls(self, calls: Sequence[ToolCall], deadline: Deadline) -> list[ToolResult]:
        return [
            ToolResult(call=c, outcome=CallOutcome.SKIPPED, latency_ms=0.0, error_message="not configured")
            for c in calls
        ]


def test_a_collection_where_no_read_succeeded_says_so_once() -> None:
    collector = EvidenceCollector(_ServerDown(), direct=_Denied())

    report: Any = asyncio.run(collector.collect("unknown", ["us-east-1"], Deadline.after(30), ["s3"]))

    assert report.calls > 0 and report.reads_ok == 0
    notes = [d.reason for d in report.degraded if "no AWS API read succeeded" in d.reason]
    assert len(notes) == 1
    assert "NoCredentialsError: Unable to locate credentials" in notes[0]


def test_the_account_is_unknown_when_sts_cannot_answer() -> None:
    account = asyncio.run(evidence_collector.account_id_of(_ServerDown(), _Denied(), "us-east-1", Deadline.after(10)))

    assert account == evidence_collector.UNKNOWN_ACCOUNT
