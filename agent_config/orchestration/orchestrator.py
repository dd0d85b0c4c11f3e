"""`ServerOrchestrator`: the seed's `MCPOrchestrator`, fanning tool calls out to every configured server.

Every call of a batch starts at once (bounded per server by `max_concurrency`), and each gets a
timeout that is its server's `timeouts.call_s` capped by what is left of the request's deadline,
so a batch never outlives the deadline. A call never raises: it becomes a `ToolResult` that says
ok, error (with its `ErrorKind`) or timeout, so one bad server costs its part of the answer and
not the answer. When a server that has a `fallback` fails, the same call is tried on the fallback
(for example the offline Knowledge server behind the remote one) if time remains.

Connections are created lazily and kept: the orchestrator lives as long as the Lambda container.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from agent_config.config import AgentConfig, MCPServerConfig
from agent_config.interfaces import CallOutcome, ServerHealth, ToolCall, ToolInfo, ToolResult
from agent_config.orchestration.deadline import Deadline
from agent_config.utils.error_handling import AgentError, ErrorKind, classify
from agent_config.utils.logging_utils import get_logger

if TYPE_CHECKING:
    from agent_config.integrations.mcp_connection import MCPConnection, RawToolResponse

log = get_logger(__name__)

ConnectionFactory = Callable[[str, MCPServerConfig], "MCPConnection"]


def _default_connection_factory(name: str, config: MCPServerConfig) -> MCPConnection:
    # Imported here: `mcp` is expensive to import and not every request needs a server.
    from agent_config.integrations.mcp_connection import MCPConnection

    return MCPConnection(name, config)


class ServerOrchestrator:
    def __init__(self, config: AgentConfig, connection_factory: ConnectionFactory | None = None) -> None:
        self._servers: dict[str, MCPServerConfig] = {n: s for n, s in config.servers.items() if s.enabled}
        self._factory = connection_factory or _default_connection_factory
        self._connections: dict[str, MCPConnection] = {}
        self._limits: dict[str, asyncio.Semaphore] = {}

    @property
    def server_names(self) -> list[str]:
        return list(self._servers)

    def server_config(self, name: str) -> MCPServerConfig | None:
        return self._servers.get(name)

    def connection(self, name: str) -> MCPConnection:
        if name not in self._connections:
            self._connections[name] = self._factory(name, self._servers[name])
            self._limits[name] = asyncio.Semaphore(self._servers[name].max_concurrency)
        return self._connections[name]

    async def initialize_connections(self) -> None:
        """Open every connection concurrently; failures are logged, not raised (health says why)."""

        async def _open(name: str) -> None:
            try:
                await self.connection(name).ensure_connected(self._servers[name].timeouts.connect_s)
            except AgentError as exc:
                log.warning("mcp_connect_failed", server=name, error_kind=exc.kind.value, error=exc.message)

        await asyncio.gather(*(_open(name) for name in self._servers))

    async def discover_all_tools(self) -> Mapping[str, Sequence[ToolInfo]]:
        """Every reachable server's tools; an unreachable server maps to an empty list."""

        async def _list(name: str) -> tuple[str, list[ToolInfo]]:
            cfg = self._servers[name]
            try:
                return name, await self.connection(name).list_tools(cfg.health_check.timeout_s)
            except AgentError as exc:
                log.warning("mcp_discovery_failed", server=name, error=exc.message)
                return name, []

        return dict(await asyncio.gather(*(_list(name) for name in self._servers)))

    async def execute_parallel_calls(self, calls: Sequence[ToolCall], deadline: Deadline) -> list[ToolResult]:
        return list(await asyncio.gather(*(self._execute_with_fallback(call, deadline) for call in calls)))

    async def _execute_with_fallback(self, call: ToolCall, deadline: Deadline) -> ToolResult:
        result = await self._execute(call, deadline)
        cfg = self._servers.get(call.server)
        if result.ok or cfg is None or cfg.fallback is None or cfg.fallback not in self._servers:
            return result
        if deadline.expired:
            return result
        log.info("mcp_fallback", server=call.server, fallback=cfg.fallback, reason=result.error_message)
        fallback_call = call.model_copy(update={"server": cfg.fallback})
        fallback = await self._execute(fallback_call, deadline)
        if not fallback.ok:
            return result
        note = f"{call.server} failed ({result.error_message}); answered by {cfg.fallback}"
        return fallback.model_copy(update={"error_message": note})

    async def _execute(self, call: ToolCall, deadline: Deadline) -> ToolResult:
        cfg = self._servers.get(call.server)
        if cfg is None:
            return _failed(
                call, CallOutcome.SKIPPED, ErrorKind.CONFIGURATION, "server is not configured", 0.0
            )
        timeout = deadline.timeout_for(cfg.timeouts.call_s)
        if timeout <= 0:
            return _failed(
                call, CallOutcome.TIMEOUT, ErrorKind.TIMEOUT, "no time left before the deadline", 0.0
            )
        started = time.perf_counter()
        connection = self.connection(call.server)
        try:
            async with self._limits[call.server]:
                raw = await asyncio.wait_for(
                    connection.call_tool(call.tool, call.arguments, deadline.timeout_for(timeout)),
                    timeout=max(deadline.timeout_for(timeout), 0.001),
                )
        except TimeoutError:
            elapsed = _ms_since(started)
            return self._log(
                _failed(call, CallOutcome.TIMEOUT, ErrorKind.TIMEOUT, _timeout_text(timeout), elapsed)
            )
        except Exception as exc:  # noqa: BLE001 - a call's failure is data, never an exception
            error = classify(exc)
            outcome = CallOutcome.TIMEOUT if error.kind is ErrorKind.TIMEOUT else CallOutcome.ERROR
            return self._log(_failed(call, outcome, error.kind, error.message, _ms_since(started)))
        return self._log(_succeeded(call, raw, _ms_since(started)))

    @staticmethod
    def _log(result: ToolResult) -> ToolResult:
        log.info(
            "mcp_call",
            server=result.call.server,
            tool=result.call.tool,
            outcome=result.outcome.value,
            latency_ms=round(result.latency_ms, 1),
            error_kind=result.error_kind.value if result.error_kind else None,
            error=result.error_message,
        )
        return result

    async def health_check_all(self) -> list[ServerHealth]:
        return list(await asyncio.gather(*(self._health(name) for name in self._servers)))

    async def _health(self, name: str) -> ServerHealth:
        cfg = self._servers[name]
        started = time.perf_counter()
        try:
            tools = await asyncio.wait_for(
                self.connection(name).list_tools(cfg.health_check.timeout_s),
                timeout=cfg.timeouts.connect_s + cfg.health_check.timeout_s,
            )
        except Exception as exc:  # noqa: BLE001 - health reports failures, it does not raise them
            error = classify(exc)
            return ServerHealth(
                name=name,
                role=cfg.role,
                transport=cfg.transport.value,
                reachable=False,
                error=f"{error.kind.value}: {error.message}",
            )
        return ServerHealth(
            name=name,
            role=cfg.role,
            transport=cfg.transport.value,
            reachable=True,
            latency_ms=round(_ms_since(started), 1),
            tools=sorted(t.name for t in tools),
        )

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self._connections.values()), return_exceptions=True)
        self._connections.clear()


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0


def _timeout_text(timeout: float) -> str:
    return f"no answer within {timeout:.1f} s"


def _failed(
    call: ToolCall, outcome: CallOutcome, kind: ErrorKind, message: str, latency_ms: float
) -> ToolResult:
    return ToolResult(
        call=call, outcome=outcome, latency_ms=latency_ms, error_kind=kind, error_message=message
    )


def _succeeded(call: ToolCall, raw: RawToolResponse, latency_ms: float) -> ToolResult:
    payload: Any = raw.json_payload()
    if payload is None and not raw.truncated:
        payload = raw.text
    message = f"answer of {raw.size_bytes} bytes was cut to the configured maximum" if raw.truncated else None
    outcome = CallOutcome.ERROR if raw.is_error else CallOutcome.OK
    return ToolResult(
        call=call,
        outcome=outcome,
        payload=payload,
        latency_ms=latency_ms,
        truncated=raw.truncated,
        error_kind=ErrorKind.SERVER_ERROR if raw.is_error else None,
        error_message=(raw.text[:300] if raw.is_error else message),
    )
