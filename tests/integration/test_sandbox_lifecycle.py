"""The sandbox comes up and goes down cleanly: no stray processes, no open ports afterwards."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from agent_config.runtime import AgentRuntime
from agent_config.sandbox.world import sandbox

pytestmark = pytest.mark.integration


def _children() -> set[int]:
    pids: set[int] = set()
    for task in Path("/proc/self/task").iterdir():
        pids.update(int(pid) for pid in (task / "children").read_text().split())
    return pids


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_start_up_and_teardown_leave_no_stray_processes_or_open_ports() -> None:
    before = _children()

    with sandbox(seed=False) as world:
        port = int(world.aws.endpoint_url.rsplit(":", 1)[1])
        runtime = AgentRuntime(world.config())
        runtime.run(runtime.orchestrator.initialize_connections, timeout_s=120)
        during = _children() - before
        assert len(during) >= 3  # moto, the Security server, the AWS API server
        assert _listening(port)
        runtime.close()
        workdir = world.workdir

    assert _children() - before == set()
    assert not _listening(port)
    assert not workdir.exists()
