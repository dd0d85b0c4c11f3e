"""A remote MCP server that restarts between two calls: the old session is gone, the call is not.

Over the 2025 streamable-HTTP protocol (`protocol_mode = "legacy"`, what servers on mcp 1.x speak)
every request carries the `Mcp-Session-Id` the server issued; a restarted server answers 404 to it.
The connection must take that as a lost session, open a new one and send the call again.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import anyio
import pytest

from agent_config.config import AgentConfig, MCPServerConfig
from agent_config.integrations.mcp_connection import MCPConnection
from agent_config.interfaces import ToolCall
from agent_config.orchestration.deadline import Deadline
from agent_config.orchestration.orchestrator import ServerOrchestrator

pytestmark = pytest.mark.anyio

PEER = Path(__file__).parents[1] / "peers" / "faulty_mcp_server.py"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert process.poll() is None, "the HTTP peer exited during start-up"
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError("the HTTP peer did not start")


@pytest.fixture
def restartable_peer() -> Iterator[tuple[str, Callable[[], None]]]:
    """The peer over HTTP on a fixed port, and a function that restarts it on the same port."""
    port = _free_port()
    running: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        process = subprocess.Popen(
            [sys.executable, str(PEER), "--http", str(port)],
            env={"PATH": "/usr/bin:/bin"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        running.append(process)
        _wait_for_port(port, process)

    def stop() -> None:
        while running:
            process = running.pop()
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def restart() -> None:
        stop()
        start()

    start()
    try:
        yield f"http://127.0.0.1:{port}/mcp", restart
    finally:
        stop()


async def test_a_call_after_the_server_restarted_opens_a_new_session_and_succeeds(
    restartable_peer: tuple[str, Callable[[], None]],
) -> None:
    # GIVEN a remote server reached with sessions, and one call answered on its session
    url, restart = restartable_peer
    server = MCPServerConfig.model_validate(
        {
            "role": "knowledge",
            "transport": "streamable_http",
            "url": url,
            "protocol_mode": "legacy",
            "timeouts": {"connect_s": 10, "call_s": 5},
            "retry": {"max_attempts": 1},
        }
    )
    connection = MCPConnection("remote", server)
    config = AgentConfig.model_validate({"servers": {"remote": server.model_dump()}})
    orchestrator = ServerOrchestrator(config, connection_factory=lambda name, cfg: connection)
    echo = ToolCall(server="remote", tool="echo", arguments={"text": "hi"})
    try:
        with anyio.fail_after(30):
            [before] = await orchestrator.execute_parallel_calls([echo], Deadline.after(20))
        assert before.ok, before.error_message

        # WHEN the server restarts (it forgets every session) and the next call uses the old one
        restart()
        with anyio.fail_after(30):
            [after] = await orchestrator.execute_parallel_calls([echo], Deadline.after(20))

        # THEN the call succeeds in its single attempt, answered by the new process on a new session
        assert after.ok, after.error_message
        assert after.attempts == 1
        assert after.payload["pid"] != before.payload["pid"]
        assert connection.connect_count == 2
        assert orchestrator.breakers["remote"].snapshot().consecutive_failures == 0
    finally:
        await orchestrator.close()
