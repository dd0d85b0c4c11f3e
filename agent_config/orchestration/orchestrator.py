"""`ServerOrchestrator`: the seed's `MCPOrchestrator`, fanning tool calls out to every configured server.

How one call travels:

1. its server's **circuit breaker** is asked first: an open breaker answers "skipped" at once, so a
   sick server costs nothing from the shared budget (asked again when the call gets its slot and
   before each retry: calls queued behind the failures that opened it are skipped too);
2. the call waits for a slot of the server's **concurrency bound** (a wait bounded only by the
   request's **deadline**: queueing behind other calls is not the server's fault, so a call still
   queued when the deadline comes is reported as not started and gives the breaker no verdict),
   then runs with a timeout that is the server's `timeouts.call_s`, counted from when it holds the
   slot and capped by what is left of the deadline;
3. a failure of a retryable kind (connection, timeout, throttling, server error) is **retried** with
   exponential backoff and full jitter, never past the deadline; authentication, permission and
   validation errors are not retried. A tool that answers with `isError` is judged by its text
   (`tool_error`): an unknown tool or bad arguments is a validation error, AccessDenied a
   permission error, throttling a rate limit, anything else a server error;
4. the outcome is recorded in the breaker, in per-server **metrics**, in one log line and in one
   **audit** line (what was called, where, with what result). The breaker hears only failures that
   say something about the server: not a call that never started, and not an attempt that the
   request's deadline cut short before the server's own `call_s` ran out;
5. if the call still failed and the server has a **fallback** (the offline Knowledge server behind
   the remote one), the same call goes to the fallback while time remains. Time is kept for it: the
   server itself gets the deadline less `FALLBACK_RESERVE_S`, and only as many attempts as fit
   whole in that (each its full `call_s`), so a hanging server is left for the fallback instead of
   being retried until nothing is left. `features.knowledge_fallback = false` turns the Knowledge
   servers' fallbacks off.

Configuration read per call: `feature_flags` (a tool turned off is answered "skipped" without
reaching the server) and `region_specific` (a call whose arguments name a Region with its own url
or env goes through a connection of its own for that Region; the server's breaker, concurrency
bound and metrics are shared by all its Regions).

A call never raises: it becomes a `ToolResult` that says ok, error (with its `ErrorKind`),
timeout or skipped. Connections, breakers and metrics live as long as the orchestrator, which
lives as long as the Lambda container.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from agent_config.config import AgentConfig, MCPServerConfig
from agent_config.integrations.expected_tools import missing_tools
from agent_config.interfaces import CallOutcome, ServerHealth, ServerRole, ToolCall, ToolInfo, ToolResult
from agent_config.orchestration.circuit_breaker import CircuitBreaker, CircuitState
from agent_config.orchestration.deadline import Deadline
from agent_config.orchestration.retry_policy import Failed, RetryEvent, call_with_retries
from agent_config.orchestration.telemetry import ServerMetrics
from agent_config.utils.error_handling import AgentError, ErrorKind, classify, error_of_kind, kind_for_aws_code
from agent_config.utils.logging_utils import get_logger

if TYPE_CHECKING:
    from agent_config.integrations.mcp_connection import MCPConnection, RawToolResponse

log = get_logger(__name__)

ConnectionFactory = Callable[[str, MCPServerConfig], "MCPConnection"]

FALLBACK_RESERVE_S = 2.0
"""Kept back from the deadline for a server's fallback (never more than half of what is left, nor
more than the fallback's own `call_s`). The offline Knowledge server answers in milliseconds once
open; its first use in a container (building the index) takes a fraction of a second."""
HEALTH_NOT_CHECKED = "not checked (disabled in configuration)"


def _default_connection_factory(name: str, config: MCPServerConfig) -> MCPConnection:
    # Imported here: `mcp` is expensive to import and not every request needs a server.
    from agent_config.integrations.mcp_connection import MCPConnection

    return MCPConnection(name, config)


class ServerOrchestrator:
    def __init__(
        self,
        config: AgentConfig,
        connection_factory: ConnectionFactory | None = None,
        clock: Callable[[], float] = time.monotonic,
        metrics: ServerMetrics | None = None,
    ) -> None:
        self._servers: dict[str, MCPServerConfig] = {n: s for n, s in config.servers.items() if s.enabled}
        self._fallbacks: dict[str, str] = {
            name: cfg.fallback
            for name, cfg in self._servers.items()
            if cfg.fallback is not None
            and cfg.fallback in self._servers
            and (config.features.knowledge_fallback or cfg.role is not ServerRole.KNOWLEDGE)
        }
        """Server -> the enabled server that answers when it fails (see `features.knowledge_fallback`)."""
        self._factory = connection_factory or _default_connection_factory
        self._connections: dict[str, MCPConnection] = {}
        self._limits: dict[str, asyncio.Semaphore] = {}
        self._clock = clock
        self.breakers: dict[str, CircuitBreaker] = {
            name: CircuitBreaker(
                cfg.circuit_breaker, name=name, clock=clock, on_transition=self._transition_logger(name)
            )
            for name, cfg in self._servers.items()
        }
        self.metrics = metrics or ServerMetrics()
        self.tool_problems: dict[str, list[str]] = {}

    @property
    def server_names(self) -> list[str]:
        return list(self._servers)

    def server_config(self, name: str) -> MCPServerConfig | None:
        return self._servers.get(name)

    def connection(self, name: str, region: str | None = None) -> MCPConnection:
        """The connection for calls about `region`: the server's own, or the one of its
        `region_specific` endpoint (or environment) for that Region, opened on first use."""
        cfg = self._servers[name]
        variant = cfg.for_region(region)
        key = name if variant is cfg else f"{name}@{region}"
        if key not in self._connections:
            self._connections[key] = self._factory(name, variant)
        if name not in self._limits:
            self._limits[name] = asyncio.Semaphore(cfg.max_concurrency)
        return self._connections[key]

    def fallback_for(self, name: str) -> str | None:
        """The server that answers when `name` fails, or None (none configured, or turned off)."""
        return self._fallbacks.get(name)

    def _transition_logger(self, name: str) -> Callable[[CircuitState, CircuitState], None]:
        def record(old: CircuitState, new: CircuitState) -> None:
            log.warning("circuit_transition", server=name, old=old.value, new=new.value)
            self.metrics.transition(name)

        return record

    # -----------------------------------------------------------------------------------------
    # Connections and discovery
    # -----------------------------------------------------------------------------------------

    async def initialize_connections(self) -> None:
        """Open every connection concurrently; failures are logged, not raised (health says why)."""

        async def _open(name: str) -> None:
            try:
                await self.connection(name).ensure_connected(self._servers[name].timeouts.connect_s)
            except AgentError as exc:
                log.warning("mcp_connect_failed", server=name, error_kind=exc.kind.value, error=exc.message)

        await asyncio.gather(*(_open(name) for name in self._servers))

    async def discover_all_tools(self) -> Mapping[str, Sequence[ToolInfo]]:
        """Every reachable server's tools; an unreachable server maps to an empty list.

        A server that no longer offers a tool its adapter relies on (an upgrade renamed it, say) is
        recorded in `tool_problems` and logged, so `/health` says exactly which tool is missing
        instead of every later call failing obscurely.
        """

        async def _list(name: str) -> tuple[str, list[ToolInfo]]:
            cfg = self._servers[name]
            try:
                return name, await self.connection(name).list_tools(cfg.health_check.timeout_s)
            except AgentError as exc:
                log.warning("mcp_discovery_failed", server=name, error=exc.message)
                return name, []

        catalogue = dict(await asyncio.gather(*(_list(name) for name in self._servers)))
        for name, tools in catalogue.items():
            if tools:
                self._check_tools(name, tools)
        return catalogue

    def _check_tools(self, name: str, tools: Sequence[ToolInfo]) -> None:
        cfg = self._servers[name]
        offered = {tool.name for tool in tools}
        missing = [tool for tool in missing_tools(cfg.role, offered) if cfg.tool_enabled(tool)]
        if missing:
            self.tool_problems[name] = [f"tool {tool!r} is not offered by the server" for tool in missing]
            log.error("mcp_tools_missing", server=name, missing=missing, offered=sorted(offered))
        else:
            self.tool_problems.pop(name, None)

    # -----------------------------------------------------------------------------------------
    # Calls
    # -----------------------------------------------------------------------------------------

    async def execute_parallel_calls(self, calls: Sequence[ToolCall], deadline: Deadline) -> list[ToolResult]:
        return list(await asyncio.gather(*(self._execute_with_fallback(call, deadline) for call in calls)))

    async def _execute_with_fallback(self, call: ToolCall, deadline: Deadline) -> ToolResult:
        """The call on its server; if that fails, on the server's fallback with the time kept for it.

        A result the fallback gave names the fallback as its `call.server` and says in
        `error_message` why the first server did not answer, so the answer can say so.
        """
        fallback_name = self._fallbacks.get(call.server)
        if fallback_name is None:
            return await self._execute(call, deadline)
        reserve = _fallback_reserve(self._servers[fallback_name], deadline)
        primary = Deadline(expires_at=deadline.expires_at - reserve, clock=deadline.clock)
        result = await self._execute(call, primary, whole_attempts_only=True)
        if result.ok or deadline.expired:
            return result
        log.info("mcp_fallback", server=call.server, fallback=fallback_name, reason=result.error_message)
        fallback = await self._execute(call.model_copy(update={"server": fallback_name}), deadline)
        if not fallback.ok:
            return result
        note = f"{call.server} failed ({result.error_message}); answered by {fallback_name}"
        return fallback.model_copy(update={"error_message": note})

    async def _execute(self, call: ToolCall, deadline: Deadline, *, whole_attempts_only: bool = False) -> ToolResult:
        """One call with its breaker, slot, retries and records. With `whole_attempts_only` (a server
        that has a fallback waiting) no more attempts are made than fit whole in the deadline, so a
        server that hangs is not retried into the time its fallback needs."""
        cfg = self._servers.get(call.server)
        if cfg is None:
            return _failed(call, CallOutcome.SKIPPED, ErrorKind.CONFIGURATION, "server is not configured", 0.0, 0)
        if not cfg.tool_enabled(call.tool):
            message = f"tool {call.tool} is turned off for this server in configuration (feature_flags)"
            return self._record(_failed(call, CallOutcome.SKIPPED, ErrorKind.CONFIGURATION, message, 0.0, 0))
        breaker = self.breakers[call.server]
        if not breaker.allow():
            refusal = breaker.refusal()
            return self._record(_failed(call, CallOutcome.SKIPPED, refusal.kind, refusal.message, 0.0, 0))

        started = time.perf_counter()
        region = call.arguments.get("region")
        connection = self.connection(call.server, region if isinstance(region, str) else None)

        limit = self._limits[call.server]
        retry = cfg.retry
        if whole_attempts_only:
            fitting = max(1, int(deadline.remaining() // cfg.timeouts.call_s))
            if fitting < retry.max_attempts:
                retry = retry.model_copy(update={"max_attempts": fitting})

        async def attempt() -> RawToolResponse:
            # Runs with the server's slot held (see `slot=` below): the timeout starts now.
            if breaker.state is CircuitState.OPEN:
                # The breaker opened while this call queued for a slot (or between its attempts):
                # refuse it now, as a call arriving now would be, instead of waiting on a sick server.
                raise breaker.refusal()
            raw = await connection.call_tool(call.tool, call.arguments, deadline.timeout_for(cfg.timeouts.call_s))
            if raw.is_error:
                # The server answered, but the tool failed: its text says of which kind, and the
                # kind decides retrying and the breaker's verdict like any other failure.
                raise tool_error(call.server, call.tool, raw.text)
            return raw

        def on_retry(event: RetryEvent) -> None:
            self.metrics.retry(call.server)
            log.info(
                "mcp_retry",
                server=call.server,
                tool=call.tool,
                attempt=event.attempt,
                error_kind=event.error.kind.value,
                delay_s=round(event.delay_s, 3),
            )

        try:
            outcome = await call_with_retries(
                attempt,
                retry,
                deadline,
                on_retry=on_retry,
                attempt_timeout_s=cfg.timeouts.call_s,
                slot=lambda: limit,
            )
        except BaseException:
            breaker.release()  # cancelled: no verdict on the server's health
            raise
        elapsed = _ms_since(started)
        if isinstance(outcome, Failed):
            error = outcome.error
            if outcome.verdict is None:
                # Never reached the server (no time, or still queued for a slot), or only cut short
                # by the request's deadline: nothing learnt about the server's health.
                breaker.release()
            else:
                breaker.record_failure(outcome.verdict.kind)
            kind = error.kind
            status = {ErrorKind.TIMEOUT: CallOutcome.TIMEOUT, ErrorKind.CIRCUIT_OPEN: CallOutcome.SKIPPED}.get(
                kind, CallOutcome.ERROR
            )
            return self._record(_failed(call, status, kind, _explain(error), elapsed, outcome.attempts))
        breaker.record_success()
        return self._record(_succeeded(call, outcome.value, elapsed, outcome.attempts))

    def _record(self, result: ToolResult) -> ToolResult:
        self.metrics.call(result)
        fields: dict[str, Any] = {
            "server": result.call.server,
            "tool": result.call.tool,
            "outcome": result.outcome.value,
            "latency_ms": round(result.latency_ms, 1),
            "attempts": result.attempts,
        }
        if result.error_kind is not None:
            fields.update(error_kind=result.error_kind.value, error=result.error_message)
        log.info("mcp_call", **fields)
        log.info(
            "audit",
            action="mcp_tool_call",
            server=result.call.server,
            tool=result.call.tool,
            arguments=result.call.arguments,
            region=result.call.arguments.get("region"),
            result=result.outcome.value,
        )
        return result

    # -----------------------------------------------------------------------------------------
    # Health
    # -----------------------------------------------------------------------------------------

    async def health_check_all(self, deadline: Deadline | None = None) -> list[ServerHealth]:
        """Probe every server at once (connect if needed, list its tools).

        With the request's `deadline`, each probe is cut off at what is left of it, so a server
        that hangs costs its own entry (reported unreachable, timed out) and the others are still
        reported in time; `/health` is asked precisely when something is wrong, so it must answer.
        Without a deadline a probe may take the server's connect plus health-check timeouts.
        """
        return list(await asyncio.gather(*(self._health(name, deadline) for name in self._servers)))

    async def _health(self, name: str, deadline: Deadline | None) -> ServerHealth:
        cfg = self._servers[name]
        circuit = self.breakers[name].snapshot().state.value
        if not cfg.health_check.enabled:
            # Not probed (no connection opened for it): reachability unknown, state and totals shown.
            return ServerHealth(
                name=name,
                role=cfg.role,
                transport=cfg.transport.value,
                reachable=None,
                circuit=circuit,
                calls=self.metrics.totals(name),
                error=HEALTH_NOT_CHECKED,
            )
        budget = cfg.timeouts.connect_s + cfg.health_check.timeout_s
        if deadline is not None:
            budget = deadline.timeout_for(budget)
        if budget <= 0.0:
            return self._unreachable(name, circuit, "timeout: not probed: the request's deadline had already passed")
        started = time.perf_counter()
        try:
            tools = await asyncio.wait_for(
                self.connection(name).list_tools(min(cfg.health_check.timeout_s, budget)), timeout=budget
            )
        except TimeoutError:
            waited = _ms_since(started) / 1000.0
            return self._unreachable(name, circuit, f"timeout: no answer to the health probe within {waited:.1f} s")
        except Exception as exc:  # noqa: BLE001 - health reports failures, it does not raise them
            error = classify(exc)
            return self._unreachable(name, circuit, f"{error.kind.value}: {error.message}")
        self._check_tools(name, tools)
        problems = self.tool_problems.get(name)
        return ServerHealth(
            name=name,
            role=cfg.role,
            transport=cfg.transport.value,
            reachable=True,
            latency_ms=round(_ms_since(started), 1),
            tools=sorted(t.name for t in tools),
            circuit=circuit,
            calls=self.metrics.totals(name),
            error="; ".join(problems) if problems else None,
        )

    def _unreachable(self, name: str, circuit: str, error: str) -> ServerHealth:
        cfg = self._servers[name]
        return ServerHealth(
            name=name,
            role=cfg.role,
            transport=cfg.transport.value,
            reachable=False,
            circuit=circuit,
            calls=self.metrics.totals(name),
            error=error,
        )

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self._connections.values()), return_exceptions=True)
        self._connections.clear()


def _fallback_reserve(fallback: MCPServerConfig, deadline: Deadline) -> float:
    """Time kept back for a fallback: `FALLBACK_RESERVE_S`, at most its `call_s` and half of what is
    left (so a short deadline still gives the first server a fair attempt)."""
    return min(FALLBACK_RESERVE_S, fallback.timeouts.call_s, deadline.remaining() / 2.0)


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0


def _explain(error: AgentError) -> str:
    """The error in words a user understands: what happened, then what the detail says."""
    return error.message if not error.detail else f"{error.message} ({error.detail.splitlines()[-1][:200]})"


def _failed(
    call: ToolCall, outcome: CallOutcome, kind: ErrorKind, message: str, latency_ms: float, attempts: int
) -> ToolResult:
    return ToolResult(
        call=call,
        outcome=outcome,
        latency_ms=latency_ms,
        attempts=attempts,
        error_kind=kind,
        error_message=message,
    )


def _succeeded(call: ToolCall, raw: RawToolResponse, latency_ms: float, attempts: int) -> ToolResult:
    payload: Any = raw.json_payload()
    if payload is None and not raw.truncated:
        payload = raw.text
    note = (
        f"the answer ({raw.size_bytes:,} bytes) exceeded the configured maximum, so its data is missing"
        if raw.truncated
        else None
    )
    return ToolResult(
        call=call,
        outcome=CallOutcome.ERROR if raw.truncated else CallOutcome.OK,
        payload=None if raw.truncated else payload,
        latency_ms=latency_ms,
        attempts=attempts,
        truncated=raw.truncated,
        error_kind=ErrorKind.SERVER_ERROR if raw.truncated else None,
        error_message=note,
    )


# ---------------------------------------------------------------------------------------------
# Tool errors (`isError` answers)
# ---------------------------------------------------------------------------------------------

_AWS_CODE_IN_ERROR = re.compile(r"An error occurred \((\w+)\)")
"""botocore's wording, which servers built on boto3 pass through: the code is the best evidence."""
_CODE_TOKEN = re.compile(r"\b[A-Z][A-Za-z]{3,}\b")
_UNKNOWN_TOOL = re.compile(r"\bunknown tool\b|\bno such tool\b|\btool\b[^.]{0,100}\bnot found\b", re.IGNORECASE)
_TOOL_ERROR_PHRASES: tuple[tuple[ErrorKind, re.Pattern[str]], ...] = (
    (
        ErrorKind.RATE_LIMIT,
        re.compile(r"\bthrottl|\btoo ?many ?requests\b|\brate exceeded\b|\brequest ?limit ?exceeded\b", re.I),
    ),
    (
        ErrorKind.PERMISSION,
        re.compile(r"\baccess ?denied|\bunauthorized ?operation\b|\bnot authori[sz]ed\b|\bpermission denied\b", re.I),
    ),
    (
        ErrorKind.VALIDATION,
        re.compile(
            r"\bunknown tool\b|\bno such tool\b|\btool\b[^.]{0,100}\bnot found\b|\brejected (its |the )?arguments\b"
            r"|\binvalid (tool )?(arguments?|params|parameters?|input)\b|\bvalidation error"
            r"|\bmissing required (argument|parameter|property)",
            re.I,
        ),
    ),
)
_TOOL_ERROR_WORDING: dict[ErrorKind, str] = {
    ErrorKind.PERMISSION: "was not allowed",
    ErrorKind.AUTHENTICATION: "was refused for its credentials",
    ErrorKind.RATE_LIMIT: "was throttled",
    ErrorKind.VALIDATION: "rejected the request",
}


def tool_error_kind(text: str) -> ErrorKind:
    """The kind of a tool's failure, from its text (an `isError` answer carries nothing else).

    An AWS error code quoted by botocore decides first, then well-known phrases (throttling, access
    denied, unknown tool or invalid arguments), then any AWS error code named in the text; anything
    else is a server error.
    """
    quoted = _AWS_CODE_IN_ERROR.search(text)
    if quoted is not None and (kind := kind_for_aws_code(quoted.group(1))) is not None:
        return kind
    for kind, pattern in _TOOL_ERROR_PHRASES:
        if pattern.search(text):
            return kind
    for token in _CODE_TOKEN.findall(text):
        if (kind := kind_for_aws_code(token)) is not None:
            return kind
    return ErrorKind.SERVER_ERROR


def tool_error(server: str, tool: str, text: str) -> AgentError:
    """A tool's `isError` answer as an `AgentError` of the right kind, worded for the user.

    Why it matters: the kind decides everything after it. Validation and permission errors are not
    retried and leave the breaker alone (the server is healthy; the request or the role is wrong),
    throttling is retried with backoff, and only real server errors count against the server.
    """
    said = " ".join(text.split())[:300] or "no details given"
    kind = tool_error_kind(said)
    if kind is ErrorKind.VALIDATION and _UNKNOWN_TOOL.search(said):
        return error_of_kind(kind, f"the {server} server has no tool named {tool!r}", detail=said)
    wording = _TOOL_ERROR_WORDING.get(kind, "reported an error")
    return error_of_kind(kind, f"{server}.{tool} {wording}: {said}")
