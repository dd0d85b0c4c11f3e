"""What survives between warm invocations: configuration, the event loop and the MCP connections.

Built on first use, not at import, so a cold start pays only for what the first request needs,
and so the CLI and tests can install a runtime of their own (`use_runtime`).
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from agent_config.config import AgentConfig, load_config
from agent_config.integrations.direct_api import DirectApi
from agent_config.interfaces import MCPOrchestrator
from agent_config.orchestration.event_loop import BackgroundLoop
from agent_config.orchestration.orchestrator import ServerOrchestrator
from agent_config.orchestration.telemetry import ServerMetrics

if TYPE_CHECKING:
    from agent_config.actions import AssessmentKeeper

T = TypeVar("T")


class AgentRuntime:
    def __init__(self, config: AgentConfig, orchestrator: MCPOrchestrator | None = None) -> None:
        self.config = config
        self.loop = BackgroundLoop()
        self.metrics = ServerMetrics()
        self.orchestrator: MCPOrchestrator = orchestrator or ServerOrchestrator(config, metrics=self.metrics)
        self.direct = DirectApi()
        self.sessions: AssessmentKeeper | None = _session_keeper(config)

    def flush_metrics(self) -> None:
        """End of an invocation: publish this invocation's metrics (in Lambda, when enabled)."""
        in_lambda = bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))
        self.metrics.flush(publish=self.config.features.metrics and in_lambda)

    def run(self, work: Callable[[], Coroutine[Any, Any, T]], timeout_s: float | None = None) -> T:
        """Run `work()` on the long-lived loop (the coroutine is created there, on its own loop)."""

        async def _in_loop() -> T:
            return await work()

        return self.loop.run(_in_loop(), timeout_s)

    def close(self) -> None:
        """Close every connection (stopping stdio servers) and the loop."""
        try:
            self.loop.run(self.orchestrator.close(), timeout_s=15)
        finally:
            self.loop.stop()


def _session_keeper(config: AgentConfig) -> AssessmentKeeper | None:
    from agent_config.session import session_manager_from_config
    from agent_config.session.keeper import SessionKeeper

    manager = session_manager_from_config(config)
    return SessionKeeper(manager) if manager is not None else None


_runtime: AgentRuntime | None = None
_runtime_lock = threading.Lock()


def get_runtime(config_file: Path | None = None) -> AgentRuntime:
    global _runtime  # noqa: PLW0603 - the one warm-container singleton, by design
    with _runtime_lock:
        if _runtime is None:
            _runtime = AgentRuntime(load_config(config_file))
            atexit.register(_close_at_exit)
        return _runtime


def use_runtime(runtime: AgentRuntime | None) -> AgentRuntime | None:
    """Install a runtime (or remove it with None); returns the previous one. For the CLI and tests."""
    global _runtime
    with _runtime_lock:
        previous, _runtime = _runtime, runtime
        return previous


def _close_at_exit() -> None:
    runtime = use_runtime(None)
    if runtime is not None:
        runtime.close()
