"""Fan-out efficiency of the orchestrator, and its overhead per call.

1. N calls spread over three real stdio MCP servers (tests/peers/faulty_mcp_server.py), each call
   sleeping a known latency on the server. The orchestrator's wall time is compared with the sum
   of the latencies (what a serial client pays) and with the ideal: the overhead over the ideal in
   percent. Measured twice: with no per-server bound (the ideal is the longest latency), and with
   the configured default bound (`max_concurrency`, 4 calls in flight per server), where the ideal
   is what a perfect FIFO scheduler with that many slots per server would take.
2. Overhead per call: the orchestrator (deadline, breaker, retry policy, metrics, logging) against
   a bare SDK `call_tool` on the same in-process server, both measured in the same run.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from agent_config.config import AgentConfig, MCPServerConfig
from agent_config.interfaces import ToolCall
from agent_config.orchestration.deadline import Deadline
from agent_config.orchestration.orchestrator import ServerOrchestrator
from agent_config.utils.logging_utils import configure_logging

PEER = Path(__file__).parents[1] / "tests" / "peers" / "faulty_mcp_server.py"
SERVERS = ("alpha", "beta", "gamma")
LATENCIES_S = (0.2, 0.35, 0.5)  # per server, injected on the server side


def _config(max_concurrency: int) -> AgentConfig:
    server: dict[str, Any] = {
        "role": "security",
        "transport": "stdio",
        "command": sys.executable,
        "args": [str(PEER)],
        "max_concurrency": max_concurrency,
        "timeouts": {"connect_s": 30, "call_s": 30},
    }
    return AgentConfig.model_validate({"servers": dict.fromkeys(SERVERS, server)})


DEFAULT_BOUND = MCPServerConfig.model_fields["max_concurrency"].default


def fifo_makespan(latencies_by_server: dict[str, list[float]], slots: int) -> float:
    """The wall time of a perfect scheduler that runs each server's calls in order on `slots`
    slots per server: the ideal under a concurrency bound."""
    finish = 0.0
    for latencies in latencies_by_server.values():
        free_at = [0.0] * slots
        for latency in latencies:
            slot = free_at.index(min(free_at))
            free_at[slot] += latency
        finish = max(finish, *free_at)
    return finish


async def _fanout(n_calls: int, bound: int | None) -> tuple[float, float, float]:
    """Wall time, serial time and ideal time for `n_calls`, with `bound` calls in flight per server
    (None: no bound)."""
    slots = bound or max(1, n_calls)
    orchestrator = ServerOrchestrator(_config(max_concurrency=slots))
    try:
        await orchestrator.initialize_connections()
        rng = random.Random(n_calls)
        calls, latencies = [], []
        by_server: dict[str, list[float]] = {server: [] for server in SERVERS}
        for index in range(n_calls):
            server = SERVERS[index % len(SERVERS)]
            latency = LATENCIES_S[index % len(SERVERS)] * (0.9 + 0.2 * rng.random())
            latencies.append(latency)
            by_server[server].append(latency)
            calls.append(ToolCall(server=server, tool="slow", arguments={"seconds": latency}))
        started = time.perf_counter()
        results = await orchestrator.execute_parallel_calls(calls, Deadline.after(60))
        wall = time.perf_counter() - started
        assert all(r.ok for r in results), [r.error_message for r in results if not r.ok]
        return wall, sum(latencies), fifo_makespan(by_server, slots)
    finally:
        await orchestrator.close()


async def _overhead(repeats: int) -> tuple[float, float]:
    import mcp

    sys.path.insert(0, str(PEER.parent))
    from faulty_mcp_server import server as peer_server  # type: ignore[import-not-found]  # on sys.path above

    config = AgentConfig.model_validate(
        {
            "servers": {
                "inproc": {
                    "role": "security",
                    "transport": "in_process",
                    "in_process_target": "faulty_mcp_server:get_server",
                }
            }
        }
    )
    orchestrator = ServerOrchestrator(config)
    bare_times, orchestrated_times = [], []
    try:
        async with mcp.Client(peer_server) as bare:
            await orchestrator.initialize_connections()
            call = ToolCall(server="inproc", tool="echo", arguments={"text": "x"})
            for _ in range(20):  # warm both paths
                await bare.call_tool("echo", {"text": "x"})
                await orchestrator.execute_parallel_calls([call], Deadline.after(10))
            for _ in range(repeats):
                started = time.perf_counter()
                await bare.call_tool("echo", {"text": "x"})
                bare_times.append(time.perf_counter() - started)
                started = time.perf_counter()
                await orchestrator.execute_parallel_calls([call], Deadline.after(10))
                orchestrated_times.append(time.perf_counter() - started)
    finally:
        await orchestrator.close()
    return statistics.median(bare_times) * 1000, statistics.median(orchestrated_times) * 1000


def main() -> None:
    configure_logging("ERROR")
    print("Fan-out over 3 stdio servers (latencies 0.2 / 0.35 / 0.5 s, +-10%):")
    columns = (("calls", 6), ("bound", 6), ("wall s", 8), ("serial s", 9), ("ideal s", 8))
    print(" ".join(f"{name:>{width}}" for name, width in columns), f"{'vs serial':>10} {'over ideal':>11}")
    for bound in (None, DEFAULT_BOUND):
        for n_calls in (3, 9, 15, 30):
            wall, serial, ideal = asyncio.run(_fanout(n_calls, bound))
            print(
                f"{n_calls:>6} {bound or 'none':>6} {wall:>8.3f} {serial:>9.3f} {ideal:>8.3f} "
                f"{serial / wall:>9.1f}x {100 * (wall - ideal) / ideal:>10.1f}%"
            )
    bare_ms, orchestrated_ms = asyncio.run(_overhead(repeats=300))
    print("\nPer-call overhead, in-process server, median of 300 calls:")
    print(f"  bare SDK call_tool     {bare_ms:7.3f} ms")
    print(f"  orchestrator           {orchestrated_ms:7.3f} ms")
    print(f"  overhead               {orchestrated_ms - bare_ms:7.3f} ms ({orchestrated_ms / bare_ms:.2f}x)")
