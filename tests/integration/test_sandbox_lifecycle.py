"""The sandbox comes up and goes down cleanly: no stray processes, no open ports afterwards."""

from __future__ import annotations

import socket

import pytest

from agent_config.runtime import AgentRuntime
from agent_config.sandbox.world import sandbox
from tests.integration.processes import child_pids

pytestmark = pytest.mark.integration


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_start_up_and_teardown_leave_no_stray_processes_or_open_ports() -> None:
    before = child_pids()

    with sandbox(seed=False) as world:
        port = int(world.aws.endpoint_url.rsplit(":", 1)[1])
        runtime = AgentRuntime(world.config())
        runtime.run(runtime.orchestrator.initialize_connections, timeout_s=120)
        during = child_pids() - before
        assert len(during) >= 3  # moto, the Security server, the AWS API server
        assert _listening(port)
        runtime.close()
        workdir = world.workdir

    assert child_pids() - before == set()
    assert not _listening(port)
    assert not workdir.exists()
