"""Shared fixtures. The sandbox (moto server + the real MCP servers) starts once per test session."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest

from agent_config.config import AgentConfig, load_config
from agent_config.interfaces import CallOutcome, ServerHealth, ServerRole, ToolCall, ToolInfo, ToolResult
from agent_config.orchestration.deadline import Deadline
from agent_config.runtime import AgentRuntime, use_runtime
from agent_config.sandbox.servers import missing_server_environments
from agent_config.sandbox.world import Sandbox, sandbox


@pytest.fixture(scope="session")
def sandbox_world() -> Iterator[Sandbox]:
    missing = missing_server_environments()
    if missing:
        pytest.fail(f"MCP server environments missing ({', '.join(missing)}): run `make setup`")
    with sandbox() as world:
        # The agent's own boto3 path (the direct-API fallback) must reach the local AWS too, as it
        # would after `security-agent sandbox up` and `export ...`.
        saved = dict(os.environ)
        os.environ.update({k: v for k, v in world.aws.env().items() if k != "HOME"})
        try:
            yield world
        finally:
            os.environ.clear()
            os.environ.update(saved)


@pytest.fixture(scope="session")
def sandbox_runtime(sandbox_world: Sandbox) -> Iterator[AgentRuntime]:
    """The agent's runtime wired to the sandbox, installed as the handler's warm runtime."""
    runtime = AgentRuntime(sandbox_world.config())
    previous = use_runtime(runtime)
    try:
        yield runtime
    finally:
        use_runtime(previous)
        runtime.close()


class ScriptedOrchestrator:
    """An `MCPOrchestrator` whose answers are scripted per tool, for testing the layers above it.

    Used only where the subject is the handler's formatting of outcomes; the integration tests
    use the real servers.
    """

    def __init__(self, answers: Mapping[str, Any] | None = None, health: Sequence[ServerHealth] = ()) -> None:
        self.answers = dict(answers or {})
        self.health = list(health)
        self.calls: list[ToolCall] = []

    async def initialize_connections(self) -> None:
        return None

    async def discover_all_tools(self) -> Mapping[str, Sequence[ToolInfo]]:
        return {}

    async def execute_parallel_calls(self, calls: Sequence[ToolCall], deadline: Deadline) -> list[ToolResult]:
        self.calls.extend(calls)
        results = []
        for call in calls:
            answer = self.answers.get(call.tool)
            if isinstance(answer, ToolResult):
                results.append(answer.model_copy(update={"call": call}))
            elif isinstance(answer, BaseException):
                raise answer
            else:
                results.append(ToolResult(call=call, outcome=CallOutcome.OK, payload=answer, latency_ms=1.0))
        return results

    async def health_check_all(self, deadline: Deadline | None = None) -> list[ServerHealth]:
        return self.health

    async def close(self) -> None:
        return None


@pytest.fixture
def scripted_runtime() -> Iterator[tuple[AgentRuntime, ScriptedOrchestrator]]:
    config: AgentConfig = load_config(environ={})
    orchestrator = ScriptedOrchestrator(
        health=[ServerHealth(name="security", role=ServerRole.SECURITY, transport="stdio", reachable=True)]
    )
    runtime = AgentRuntime(config, orchestrator=orchestrator)
    previous = use_runtime(runtime)
    try:
        yield runtime, orchestrator
    finally:
        use_runtime(previous)
        runtime.loop.stop()


@pytest.fixture(autouse=True)
def _fresh_boto3_default_session() -> None:
    """boto3 caches a default session with the profile and config files of the moment it was made;
    tests that point AWS_CONFIG_FILE elsewhere (and remove the file after) must not leak into others."""
    import boto3

    boto3.DEFAULT_SESSION = None


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"
