"""Remote MCP servers over streamable HTTP: bearer tokens, SigV4 signatures, throttling.

The peer is a real MCP server (mcp SDK) behind a small guard that checks a bearer token or
recomputes the SigV4 signature with botocore, and can answer the first requests with HTTP 429.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from botocore.credentials import Credentials

from agent_config.config import AgentConfig, MCPServerConfig
from agent_config.integrations.http_auth import BearerTokenAuth, SigV4Auth, _token_from_secret
from agent_config.integrations.mcp_connection import MCPConnection
from agent_config.interfaces import CallOutcome, ToolCall
from agent_config.orchestration.deadline import Deadline
from agent_config.orchestration.orchestrator import ServerOrchestrator
from agent_config.utils.error_handling import AgentError, ErrorKind

pytestmark = pytest.mark.anyio

PEER = Path(__file__).parents[1] / "peers" / "faulty_mcp_server.py"
ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "sigv4-test-secret-not-a-real-one"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def http_peer() -> Iterator[Callable[..., str]]:
    """Start the peer over HTTP with the given options; returns its MCP URL."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(*options: str) -> str:
        port = _free_port()
        env = {"SIGV4_ACCESS_KEY": ACCESS_KEY, "SIGV4_SECRET_KEY": SECRET_KEY, "PATH": "/usr/bin:/bin"}
        process = subprocess.Popen(
            [sys.executable, str(PEER), "--http", str(port), *options],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        processes.append(process)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    return f"http://127.0.0.1:{port}/mcp"
            time.sleep(0.05)
        raise TimeoutError("the HTTP peer did not start")

    yield start
    for process in processes:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _config(url: str, **overrides: Any) -> MCPServerConfig:
    return MCPServerConfig.model_validate(
        {
            "role": "knowledge",
            "transport": "streamable_http",
            "url": url,
            "timeouts": {"connect_s": 10, "call_s": 5},
            **overrides,
        }
    )


class CountingTokens:
    """A token provider that hands out tokens in order and counts how often it is asked."""

    def __init__(self, *tokens: str) -> None:
        self.tokens = list(tokens)
        self.requests: list[bool] = []

    def __call__(self, force_refresh: bool) -> str:
        self.requests.append(force_refresh)
        return self.tokens[min(len(self.requests), len(self.tokens)) - 1]


async def _echo(connection: MCPConnection) -> Any:
    with anyio.fail_after(30):
        try:
            return await connection.call_tool("echo", {"text": "hi"}, 5)
        finally:
            pass


async def test_a_bearer_token_is_sent_and_accepted(http_peer: Callable[..., str]) -> None:
    url = http_peer("--bearer", "right-token")
    tokens = CountingTokens("right-token")
    connection = MCPConnection("remote", _config(url), auth=BearerTokenAuth(tokens))
    try:
        answer = await _echo(connection)
    finally:
        await connection.close()

    assert '"echo": "hi"' in answer.text
    assert tokens.requests == [False]


async def test_a_stale_token_is_refreshed_once_after_a_401(http_peer: Callable[..., str]) -> None:
    url = http_peer("--bearer", "new-token")
    tokens = CountingTokens("expired-token", "new-token")
    connection = MCPConnection("remote", _config(url), auth=BearerTokenAuth(tokens))
    try:
        answer = await _echo(connection)
    finally:
        await connection.close()

    assert '"echo": "hi"' in answer.text
    assert tokens.requests == [False, True]


async def test_a_wrong_token_is_an_authentication_error_with_guidance_and_no_retry_storm(
    http_peer: Callable[..., str],
) -> None:
    url = http_peer("--bearer", "right-token")
    tokens = CountingTokens("wrong-token", "still-wrong")
    connection = MCPConnection("remote", _config(url), auth=BearerTokenAuth(tokens))
    config = AgentConfig.model_validate({"servers": {"remote": _config(url).model_dump()}})
    orchestrator = ServerOrchestrator(config, connection_factory=lambda name, cfg: connection)
    try:
        with anyio.fail_after(30):
            [result] = await orchestrator.execute_parallel_calls(
                [ToolCall(server="remote", tool="echo")], Deadline.after(20)
            )
    finally:
        await orchestrator.close()

    assert result.outcome is CallOutcome.ERROR
    assert result.error_kind is ErrorKind.AUTHENTICATION
    assert "401" in (result.error_message or "")
    assert result.attempts == 1
    assert len(tokens.requests) == 2  # the first token, then one refresh: no storm


async def test_sigv4_signed_requests_are_accepted(http_peer: Callable[..., str]) -> None:
    url = http_peer("--sigv4")
    auth = SigV4Auth("bedrock-agentcore", "us-east-1", lambda: Credentials(ACCESS_KEY, SECRET_KEY))
    connection = MCPConnection("remote", _config(url), auth=auth)
    try:
        answer = await _echo(connection)
    finally:
        await connection.close()

    assert '"echo": "hi"' in answer.text


async def test_a_wrong_sigv4_secret_is_refused_without_retrying(http_peer: Callable[..., str]) -> None:
    url = http_peer("--sigv4")
    auth = SigV4Auth("bedrock-agentcore", "us-east-1", lambda: Credentials(ACCESS_KEY, "wrong-secret"))
    connection = MCPConnection("remote", _config(url), auth=auth)
    try:
        with pytest.raises(AgentError) as caught:
            await _echo(connection)
    finally:
        await connection.close()

    assert caught.value.kind in (ErrorKind.AUTHENTICATION, ErrorKind.PERMISSION)
    assert not caught.value.retryable
    assert "403" in caught.value.message


async def test_throttling_is_retried_with_backoff_until_the_server_recovers(
    http_peer: Callable[..., str],
) -> None:
    url = http_peer("--fail-first", "2", "--fail-status", "429")
    server = _config(url, retry={"max_attempts": 4, "base_delay_s": 0.05, "max_delay_s": 0.2}).model_dump()
    orchestrator = ServerOrchestrator(AgentConfig.model_validate({"servers": {"remote": server}}))
    try:
        with anyio.fail_after(30):
            [result] = await orchestrator.execute_parallel_calls(
                [ToolCall(server="remote", tool="echo")], Deadline.after(20)
            )
    finally:
        await orchestrator.close()

    assert result.ok, result.error_message
    assert result.attempts >= 2
    assert orchestrator.metrics.totals("remote")["retries"] >= 1


async def test_a_server_that_stays_throttled_is_reported_as_rate_limited(
    http_peer: Callable[..., str],
) -> None:
    url = http_peer("--fail-first", "1000", "--fail-status", "429")
    server = _config(url, retry={"max_attempts": 2, "base_delay_s": 0.05, "max_delay_s": 0.1}).model_dump()
    orchestrator = ServerOrchestrator(AgentConfig.model_validate({"servers": {"remote": server}}))
    try:
        with anyio.fail_after(30):
            [result] = await orchestrator.execute_parallel_calls(
                [ToolCall(server="remote", tool="echo")], Deadline.after(10)
            )
    finally:
        await orchestrator.close()

    assert result.error_kind is ErrorKind.RATE_LIMIT
    assert result.attempts == 2
    assert "429" in (result.error_message or "")


@pytest.mark.parametrize(
    ("secret", "token"),
    [
        ("plain-token", "plain-token"),
        ('{"token": "t1"}', "t1"),
        ('{"access_token": "t2"}', "t2"),
        (" t3\n", "t3"),
    ],
)
def test_tokens_are_read_from_plain_or_json_secrets(secret: str, token: str) -> None:
    assert _token_from_secret(secret) == token


def test_auth_objects_never_show_their_secrets() -> None:
    assert "right-token" not in repr(BearerTokenAuth(lambda _: "right-token"))
    assert SECRET_KEY not in repr(SigV4Auth("s", "us-east-1", lambda: Credentials(ACCESS_KEY, SECRET_KEY)))
