"""The commands people leave running stop cleanly on Ctrl-C, leaving nothing behind.

GIVEN `security-agent sandbox up` or `security-agent demo` started as a person would, in a terminal
WHEN the person presses Ctrl-C (SIGINT) while it runs
THEN the command ends promptly, the local AWS stops listening, its work directory is removed, and
no process it started is left running.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.processes import command_line

pytestmark = pytest.mark.integration

CLI = Path(sys.executable).with_name("security-agent")
STARTUP_TIMEOUT_S = 120
STOP_TIMEOUT_S = 30


def _start(*args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SECURITY_AGENT"))}
    return subprocess.Popen(
        [str(CLI), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
        start_new_session=True,  # its own process group, as a terminal job would be
    )


def _read_until(process: subprocess.Popen[str], marker: str) -> str:
    """Everything the command printed up to and including the line holding `marker`."""
    assert process.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            pytest.fail(f"the command ended before printing {marker!r}:\n{''.join(seen)}")
        seen.append(line)
        if marker in line:
            return "".join(seen)
    pytest.fail(f"no {marker!r} within {STARTUP_TIMEOUT_S} s:\n{''.join(seen)}")


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _processes_mentioning(fragment: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and fragment in (command_line(int(entry.name)) or ""):
            pids.append(int(entry.name))
    return pids


def _interrupt_and_wait(process: subprocess.Popen[str]) -> int:
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C sends: the whole foreground group
    try:
        return process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        pytest.fail(f"the command did not stop within {STOP_TIMEOUT_S} s of Ctrl-C")


def test_sandbox_up_stops_on_ctrl_c_and_leaves_nothing_behind() -> None:
    process = _start("sandbox", "up")
    printed = _read_until(process, "Ctrl-C stops it")
    endpoint = re.search(r"export AWS_ENDPOINT_URL=http://127\.0\.0\.1:(\d+)", printed)
    config_file = re.search(r"export SECURITY_AGENT_CONFIG_FILE=(\S+)", printed)
    assert endpoint and config_file, printed
    port, workdir = int(endpoint.group(1)), Path(config_file.group(1)).parent
    assert _listening(port)

    _interrupt_and_wait(process)

    assert not _listening(port)
    assert not workdir.exists()
    assert _processes_mentioning(str(workdir)) == []


def test_demo_interrupted_while_it_runs_stops_everything_it_started() -> None:
    already_running = set(_processes_mentioning("security-agent-sandbox-"))  # e.g. the suite's own sandbox
    process = _start("demo")
    printed = _read_until(process, "> ")  # the first question is on its way: servers are up

    status = _interrupt_and_wait(process)

    assert process.stdout is not None
    rest = process.stdout.read()
    assert "Traceback" not in printed + rest
    assert status == 130, rest  # the shell's convention for a command ended by Ctrl-C
    assert set(_processes_mentioning("security-agent-sandbox-")) - already_running == set()
