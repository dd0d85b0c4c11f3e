"""What this test process has started: its child processes, read from /proc."""

from __future__ import annotations

from pathlib import Path


def child_pids() -> set[int]:
    """The pids of this process's children, whichever of its threads started them.

    Threads come and go while we read (the MCP SDK, moto's server and the event loop start and end
    their own), so a thread that ended between the listing and the read is skipped: it has no
    children left to report.
    """
    pids: set[int] = set()
    for task in Path("/proc/self/task").iterdir():
        try:
            pids.update(int(pid) for pid in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return pids


def command_line(pid: int) -> str | None:
    """The command line of `pid`, or None when it has already ended."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return None
