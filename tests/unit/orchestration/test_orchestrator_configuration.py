"""Configuration the orchestrator reads per call: Regional endpoints, tools turned off, health checks
turned off, the Knowledge fallback switch, and the time kept for a fallback.

The connections are fakes (the subject is the orchestrator's decisions); the real transports are
exercised in `tests/resilience`.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from agent_config.config import AgentConfig, MCPServerConfig
from agent_config.integrations.mcp_connection import RawToolResponse
from agent_config.interfaces import CallOutcome, ToolCall, ToolInfo
from agent_config.orchestration.deadline import Deadline
from agent_config.orchestration.orchestrator import HEALTH_NOT_CHECKED, ServerOrchestrator
from agent_config.response.service_status import render_health
from agent_config.utils.error_handling import ConnectionFailure, ErrorKind, ServerFailure

pytestmark = pytest.mark.anyio


class FakeConnection:
    """Answers every call with `behaviour` (ok, fail, hang), and records what it was asked."""

    def __init__(self, name: str, config: MCPServerConfig, behaviour: str = "ok", tools: tuple[str, ...] = ()) -> None:
        self.name = name
        self.config = config
        self.behaviour = behaviour
        self.tools = tools
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.probes = 0

    async def ensure_connected(self, timeout_s: float) -> None:
        return None

    async def call_tool(self, tool: str, arguments: dict[str, Any], timeout_s: float) -> RawToolResponse:
        self.calls.append((tool, arguments))
        if self.behaviour == "hang":
            await asyncio.Event().wait()
        if self.behaviour == "fail":
            raise ConnectionFailure(f"{self.name} is down")
        if self.behaviour == "server_error":
            raise ServerFailure(f"{self.name} failed")
        text = json.dumps({"server": self.name, "url": self.config.url})
        return RawToolResponse(text=text, structured=None, is_error=False, size_bytes=len(text), truncated=False)

    async def list_tools(self, timeout_s: float) -> list[ToolInfo]:
        self.probes += 1
        return [ToolInfo(server=self.name, name=tool) for tool in self.tools]

    async def close(self) -> None:
        return None


class Factory:
    """A connection factory that remembers every connection it made, with its configuration."""

    def __init__(self, behaviours: dict[str, str] | None = None, tools: tuple[str, ...] = ()) -> None:
        self.behaviours = behaviours or {}
        self.tools = tools
        self.made: list[FakeConnection] = []

    def __call__(self, name: str, config: MCPServerConfig) -> Any:
        connection = FakeConnection(name, config, self.behaviours.get(name, "ok"), self.tools)
        self.made.append(connection)
        return connection


def _http(url: str = "https://knowledge.example.com/mcp", **extra: Any) -> dict[str, Any]:
    return {"role": "knowledge", "transport": "streamable_http", "url": url, **extra}


def _offline() -> dict[str, Any]:
    return {"role": "knowledge", "transport": "in_process", "in_process_target": "pkg.module:factory"}


async def test_a_call_about_a_region_with_its_own_endpoint_uses_a_connection_to_that_endpoint() -> None:
    config = AgentConfig.model_validate(
        {"servers": {"knowledge": _http(region_specific={"eu-west-1": {"url": "https://eu.example.com/mcp"}})}}
    )
    factory = Factory()
    orchestrator = ServerOrchestrator(config, connection_factory=factory)

    results = await orchestrator.execute_parallel_calls(
        [
            ToolCall(server="knowledge", tool="t", arguments={"region": "eu-west-1"}),
            ToolCall(server="knowledge", tool="t", arguments={"region": "us-east-1"}),
            ToolCall(server="knowledge", tool="t"),
        ],
        Deadline.after(5),
    )

    assert [r.payload["url"] for r in results] == [
        "https://eu.example.com/mcp",
        "https://knowledge.example.com/mcp",
        "https://knowledge.example.com/mcp",
    ]
    assert sorted(c.config.url or "" for c in factory.made) == [
        "https://eu.example.com/mcp",
        "https://knowledge.example.com/mcp",
    ]  # one connection per endpoint, reused


async def test_a_tool_turned_off_by_feature_flags_is_skipped_without_reaching_the_server() -> None:
    security = {
        "role": "security",
        "transport": "stdio",
        "command": "security-server",
        "feature_flags": {"CheckStorageEncryption": False, "GetSecurityFindings": True},
    }
    factory = Factory(tools=("CheckSecurityServices", "GetSecurityFindings"))  # the disabled tool is not offered
    orchestrator = ServerOrchestrator(
        AgentConfig.model_validate({"servers": {"security": security}}), connection_factory=factory
    )

    off, on = await orchestrator.execute_parallel_calls(
        [
            ToolCall(server="security", tool="CheckStorageEncryption"),
            ToolCall(server="security", tool="GetSecurityFindings"),
        ],
        Deadline.after(5),
    )
    [health] = await orchestrator.health_check_all()

    assert off.outcome is CallOutcome.SKIPPED
    assert off.error_kind is ErrorKind.CONFIGURATION
    assert "CheckStorageEncryption is turned off" in (off.error_message or "")
    assert on.ok
    assert [tool for connection in factory.made for tool, _ in connection.calls] == ["GetSecurityFindings"]
    assert health.error is None  # a tool turned off is not reported missing


async def test_a_server_whose_health_check_is_disabled_is_reported_not_checked_without_a_probe() -> None:
    config = AgentConfig.model_validate(
        {"servers": {"knowledge": _http(health_check={"enabled": False}), "offline": _offline()}}
    )
    factory = Factory(tools=("aws___search_documentation", "aws___read_documentation"))
    orchestrator = ServerOrchestrator(config, connection_factory=factory)

    health = {h.name: h for h in await orchestrator.health_check_all(Deadline.after(5))}

    assert health["knowledge"].reachable is None
    assert health["knowledge"].error == HEALTH_NOT_CHECKED
    assert health["offline"].reachable is True
    assert [c.name for c in factory.made] == ["offline"]  # no connection was even opened for it
    answer = render_health(list(health.values()))
    assert answer.summary == (
        "1 of 2 configured MCP servers are reachable. Not checked (health check disabled in configuration): knowledge."
    )
    assert not answer.degraded


@pytest.mark.parametrize("enabled", [True, False])
async def test_knowledge_fallback_false_turns_the_offline_fallback_off(enabled: bool) -> None:
    config = AgentConfig.model_validate(
        {
            "servers": {"knowledge": _http(fallback="offline", retry={"max_attempts": 1}), "offline": _offline()},
            "features": {"knowledge_fallback": enabled},
        }
    )
    factory = Factory({"knowledge": "fail"})
    orchestrator = ServerOrchestrator(config, connection_factory=factory)

    [result] = await orchestrator.execute_parallel_calls([ToolCall(server="knowledge", tool="t")], Deadline.after(5))

    if enabled:
        assert result.ok and result.call.server == "offline"
        assert "knowledge failed" in (result.error_message or "")
        assert orchestrator.fallback_for("knowledge") == "offline"
    else:
        assert not result.ok and result.error_kind is ErrorKind.CONNECTION
        assert [c.name for c in factory.made] == ["knowledge"]  # the offline server was never asked
        assert orchestrator.fallback_for("knowledge") is None


async def test_a_hanging_server_is_not_retried_into_the_time_its_fallback_needs() -> None:
    # GIVEN a server that hangs, allowed 3 attempts of 0.2 s, and a deadline that fits only one whole attempt
    server = _http(fallback="offline", timeouts={"connect_s": 0.2, "call_s": 0.2}, retry={"max_attempts": 3})
    config = AgentConfig.model_validate({"servers": {"knowledge": server, "offline": _offline()}})
    factory = Factory({"knowledge": "hang"})
    orchestrator = ServerOrchestrator(config, connection_factory=factory)
    deadline = Deadline.after(0.5)

    # WHEN it is called
    [result] = await orchestrator.execute_parallel_calls([ToolCall(server="knowledge", tool="t")], deadline)

    # THEN one attempt is made, and the fallback answers before the deadline
    assert result.ok and result.call.server == "offline"
    assert "knowledge failed" in (result.error_message or "")
    remote = next(c for c in factory.made if c.name == "knowledge")
    assert len(remote.calls) == 1
    assert not deadline.expired


async def test_calls_queued_behind_the_failures_that_open_the_breaker_are_skipped() -> None:
    # GIVEN a server with one slot, whose breaker opens at the first failure, and three calls at once
    server = _http(max_concurrency=1, retry={"max_attempts": 1}, circuit_breaker={"failure_threshold": 1})
    factory = Factory({"knowledge": "server_error"})
    orchestrator = ServerOrchestrator(
        AgentConfig.model_validate({"servers": {"knowledge": server}}), connection_factory=factory
    )

    results = await orchestrator.execute_parallel_calls(
        [ToolCall(server="knowledge", tool="t", arguments={"n": n}) for n in range(3)], Deadline.after(5)
    )

    # THEN only the first reaches the server; the queued two are skipped, as a new call would be
    assert [r.outcome for r in results] == [CallOutcome.ERROR, CallOutcome.SKIPPED, CallOutcome.SKIPPED]
    assert [r.error_kind for r in results[1:]] == [ErrorKind.CIRCUIT_OPEN, ErrorKind.CIRCUIT_OPEN]
    assert sum(len(c.calls) for c in factory.made) == 1
