"""A hostile resource name that arrives IN A LISTING (an S3 bucket, an IAM user returned by a list
call) is refused by the evidence collector before the orchestrator is asked anything about it: its
reads are reported as refused (MANUAL for that resource), and the rest of the assessment still runs.

The names are what a compromised or careless account could really return: AWS validates its own
names, but the evidence may come from a proxy, a local endpoint or a future API, so the collector
must never trust a listing to be well formed.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from agent_config.checks import registry
from agent_config.checks.evidence import ApiCall
from agent_config.checks.services import iam, s3
from agent_config.integrations import aws_api_server
from agent_config.integrations.direct_api import DirectApi
from agent_config.interfaces import CallOutcome, FindingStatus, ServerHealth, ToolCall, ToolInfo, ToolResult
from agent_config.orchestration.deadline import Deadline
from agent_config.orchestration.evidence_collector import EvidenceCollector

pytestmark = pytest.mark.anyio

ACCOUNT = "123456789012"
REGION = "us-east-1"
GOOD_BUCKET = "acme-prod-invoices"
GOOD_USER = "alice"
HOSTILE_BUCKETS = [
    "evil-bucket --endpoint-url http://evil.example.com",
    "file:///etc/passwd",
    "acme-bucket\n",
    "\u0430cme-bucket",  # Cyrillic a
    "x" * 10_240,
]
HOSTILE_USERS = [
    "bob; aws iam delete-user --user-name admin",
    "carol\n--profile prod",
    "fileb:///root/.aws/credentials",
    "\u0430dmin",  # Cyrillic a
    "-debug",
]
NO_POLICY = {"error": "An error occurred (NoSuchBucketPolicy) when calling GetBucketPolicy", "status_code": 404}


def _document(service: str, operation: str) -> dict[str, Any] | None:
    """The canned AWS answer for one command (None: answer with NoSuchBucketPolicy)."""
    flags = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
    answers: dict[tuple[str, str], dict[str, Any] | None] = {
        ("s3api", "list-buckets"): {
            "Buckets": [{"Name": name, "BucketRegion": REGION} for name in [GOOD_BUCKET, *HOSTILE_BUCKETS]]
        },
        ("s3control", "get-public-access-block"): {"PublicAccessBlockConfiguration": dict.fromkeys(flags, False)},
        ("s3api", "get-public-access-block"): {"PublicAccessBlockConfiguration": dict.fromkeys(flags, True)},
        ("s3api", "get-bucket-acl"): {"Owner": {"ID": "owner"}, "Grants": []},
        ("s3api", "get-bucket-policy"): None,
        ("s3api", "get-bucket-logging"): {"LoggingEnabled": {"TargetBucket": "logs", "TargetPrefix": "s3/"}},
        ("iam", "list-users"): {
            "Users": [
                {"UserName": name, "Arn": f"arn:aws:iam::{ACCOUNT}:user/x", "CreateDate": "2024-01-01T00:00:00Z"}
                for name in [GOOD_USER, *HOSTILE_USERS]
            ]
        },
    }
    return answers.get((service, operation), {})


class RecordingOrchestrator:
    """An `MCPOrchestrator` that answers `call_aws` like the AWS API MCP server, and records every
    command line it was asked to run."""

    def __init__(self) -> None:
        self.commands: list[str] = []

    async def initialize_connections(self) -> None:
        return None

    async def discover_all_tools(self) -> Mapping[str, Sequence[ToolInfo]]:
        return {}

    async def execute_parallel_calls(self, calls: Sequence[ToolCall], deadline: Deadline) -> list[ToolResult]:
        results = []
        for call in calls:
            assert call.server == aws_api_server.SERVER and call.tool == aws_api_server.CALL_AWS
            commands = list(call.arguments["cli_command"])
            self.commands.extend(commands)
            results.append(
                ToolResult(call=call, outcome=CallOutcome.OK, payload=[_answer(c) for c in commands], latency_ms=1.0)
            )
        return results

    async def health_check_all(self, deadline: Deadline | None = None) -> list[ServerHealth]:
        return []

    async def close(self) -> None:
        return None


def _answer(command: str) -> dict[str, Any]:
    _, service, operation, *_ = shlex.split(command)
    document = _document(service, operation)
    response = NO_POLICY if document is None else {"error": None, "status_code": 200, "as_json": json.dumps(document)}
    return {"cli_command": command, "response": response}


async def test_hostile_names_from_listings_never_reach_the_server_and_the_rest_is_assessed() -> None:
    # GIVEN listings that return one good and several hostile names, and no boto3 path to fall on
    orchestrator = RecordingOrchestrator()
    clients_made: list[tuple[str, str]] = []

    def no_clients(service: str, region: str) -> object:
        clients_made.append((service, region))
        raise AssertionError("the boto3 path was used")

    collector = EvidenceCollector(orchestrator, direct=DirectApi(no_clients))

    # WHEN the evidence for S3 and IAM is collected
    report = await collector.collect(ACCOUNT, [REGION], Deadline.after(60.0), services=["s3", "iam"])

    # THEN no command the server was given names a hostile resource, or could be anything but one
    # plain read of a known resource
    hostile = HOSTILE_BUCKETS + HOSTILE_USERS
    assert orchestrator.commands
    assert clients_made == []
    for command in orchestrator.commands:
        assert command.isascii() and command.isprintable(), command
        assert "://" not in command and " --endpoint-url" not in command and " --profile" not in command
        assert not any(name in command for name in hostile), command
    assert any(f"--bucket {GOOD_BUCKET} " in command for command in orchestrator.commands)
    assert any(f"--user-name {GOOD_USER} " in command for command in orchestrator.commands)

    # AND every read of a hostile resource is in the evidence as refused by the guard, and only those
    refused = {item.call for item in report.evidence.items if item.error_code == "RefusedByGuard"}
    expected: set[ApiCall] = {call for name in HOSTILE_BUCKETS for call in s3.bucket_calls(name).values()}
    # (list-mfa-devices is planned only for users whose login profile could be read: never for these)
    expected |= {
        call for name in HOSTILE_USERS for op, call in iam.user_calls(name).items() if op != "list-mfa-devices"
    }
    assert refused == expected
    assert report.refused == len(expected)

    # AND those resources are MANUAL, naming the refusal; the good ones and the account are assessed
    results = registry.evaluate_all([REGION], report.evidence, services=["s3", "iam"])
    for name in hostile:
        mine = [result for result in results if result.resource_id == name]
        assert mine, f"no result for {name!r}"
        assert {result.status for result in mine} == {FindingStatus.MANUAL}, name
        assert all("RefusedByGuard" in (result.missing or "") for result in mine), name
    for name in (GOOD_BUCKET, GOOD_USER):
        mine = [result for result in results if result.resource_id == name]
        assert mine and any(result.status is not FindingStatus.MANUAL for result in mine), name
        assert not any("RefusedByGuard" in (result.missing or "") for result in mine), name
    s3_1 = next(result for result in results if result.control_id == "S3.1")
    assert s3_1.status is FindingStatus.FAIL  # account-level Block Public Access off, as answered
