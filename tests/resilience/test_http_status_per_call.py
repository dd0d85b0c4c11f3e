"""HTTP statuses belong to the call that received them, not to the connection.

Two calls share one streamable-HTTP connection at the same time: the server answers one of them
HTTP 429 while the other is in flight, and later answers the other with an MCP error (HTTP 200,
JSON-RPC "invalid params"). Each must be classified by its own answer: kept on the connection, the
429 was blamed on the other call too (a validation error reported as throttling, and retried).
The peer is a real MCP server (`tests/peers/status_by_tool_http_peer.py`).
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from agent_config.config import MCPServerConfig
from agent_config.integrations.mcp_connection import MCPConnection, RawToolResponse
from agent_config.utils.error_handling import AgentError, ErrorKind

pytestmark = pytest.mark.anyio

PEER = Path(__file__).parents[1] / "peers" / "status_by_tool_http_peer.py"


@pytest.fixture
def peer_url() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, str(PEER), str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        else:
            raise TimeoutError("the HTTP peer did not start")
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


async def test_concurrent_calls_are_each_classified_by_their_own_http_answer(peer_url: str) -> None:
    config = MCPServerConfig.model_validate(
        {"role": "knowledge", "transport": "streamable_http", "url": peer_url, "timeouts": {"connect_s": 10}}
    )
    connection = MCPConnection("remote", config)

    async def later(tool: str) -> RawToolResponse:
        await asyncio.sleep(0.2)  # sent while `slow_invalid` is in flight
        return await connection.call_tool(tool, {}, 10)

    try:
        with anyio.fail_after(30):
            await connection.ensure_connected(10)  # one session for all three calls
            invalid, throttled, echoed = await asyncio.gather(
                connection.call_tool("slow_invalid", {}, 10), later("throttled"), later("echo"), return_exceptions=True
            )
    finally:
        await connection.close()

    # THEN the 429 is the throttled call's alone
    assert isinstance(throttled, AgentError), throttled
    assert throttled.kind is ErrorKind.RATE_LIMIT
    assert "429" in throttled.message
    # AND the call answered with an MCP error after it is a validation error, not throttling
    assert isinstance(invalid, AgentError), invalid
    assert invalid.kind is ErrorKind.VALIDATION
    assert "429" not in invalid.message
    # AND the call that succeeded meanwhile is untouched
    assert isinstance(echoed, RawToolResponse)
    assert '"echo"' in echoed.text
    assert connection.connect_count == 1
