"""The remote Knowledge server hangs: the offline one answers, within a 10 s deadline, and says so.

The remote is a real TCP peer on loopback that accepts connections and never answers a byte (a
hung load balancer, a black-holed endpoint). The configuration is the built-in one (its short
Knowledge timeouts are what is under test), with only the remote's URL pointed at the peer.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import anyio
import pytest

from agent_config import actions
from agent_config.config import load_config
from agent_config.integrations import knowledge_server
from agent_config.orchestration.deadline import Deadline
from agent_config.orchestration.orchestrator import ServerOrchestrator

pytestmark = pytest.mark.anyio


@pytest.fixture
def hanging_peer() -> Iterator[str]:
    """A loopback HTTP 'server' that accepts every connection and never answers; yields its MCP URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(connection)  # kept open, never read from nor written to

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/mcp"
    stop.set()
    thread.join(timeout=5)
    for connection in held:
        connection.close()
    listener.close()


async def test_a_hanging_remote_knowledge_server_is_answered_by_the_offline_one_within_the_deadline(
    hanging_peer: str,
) -> None:
    # GIVEN the built-in configuration, the remote Knowledge server hanging, a 10 s deadline
    config = load_config(
        environ={
            "SECURITY_AGENT__SERVERS__KNOWLEDGE__URL": hanging_peer,
            "SECURITY_AGENT__SERVERS__SECURITY__ENABLED": "false",
            "SECURITY_AGENT__SERVERS__AWS_API__ENABLED": "false",
        }
    )
    orchestrator = ServerOrchestrator(config)
    deadline = Deadline.after(10)
    ctx = actions.OperationContext(
        orchestrator=orchestrator, config=config, deadline=deadline, session_id="s-1", sessions=None
    )
    try:
        with anyio.fail_after(30):
            # WHEN the documentation is searched
            answer = await actions.documentation(ctx, "S3 block public access")
            remaining = deadline.remaining()
    finally:
        with anyio.fail_after(30):
            await orchestrator.close()

    # THEN the offline server answered before the deadline, and the answer says it did and why
    assert remaining > 0.0
    assert answer.documentation
    assert {link.source for link in answer.documentation} == {"knowledge_offline"}
    [note] = [d.reason for d in answer.degraded if d.server == knowledge_server.SERVER]
    assert "offline corpus instead of the AWS Knowledge server" in note
    assert "answered by knowledge_offline" in note
    assert "5.00 s" in note  # the remote had its one whole attempt of call_s, no retry into the reserve
