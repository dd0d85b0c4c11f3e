"""Connections to MCP servers: the only module of the agent that imports the `mcp` SDK.

The SDK renamed much between 1.x and 2.x; keeping it behind this one module means the next rename
costs one file. It is also imported lazily (by the orchestrator, on the first call), because
`import mcp` costs about half a second of cold start.

A connection is long-lived: it is opened on first use and kept across warm Lambda invocations.
The SDK's client is an async context manager whose task group must be entered and exited by the
same task, so each connection runs one *owner task* that enters the client, signals readiness and
waits for the close signal; calls are made from any task of the same event loop. When the owner
task ends (the server process died, the HTTP session broke), the connection reports itself dead
and the next use reconnects.

A streamable-HTTP server that restarted (or expired the session) answers HTTP 404 to the old
`Mcp-Session-Id` while the connection still looks alive, so death is not the only signal: a tool
call that carried a session id and got 404 discards the session, reconnects and is sent once more.

HTTP statuses are attributed per call, not per connection. The SDK reports every refused request
as the same "Server returned an error response", so the status is read by an httpx response hook;
but many calls share one connection concurrently, and a status kept on the connection would let one
call's 429 be blamed on another (or be wiped by a call starting in between). Each call therefore
puts a fresh `_HttpRefusal` in a `ContextVar` before it sends: the SDK (2.x) snapshots the sender's
context with every message it queues (`ContextSendStream`) and runs the HTTP POST for that message
in a copy of it, so the hook, running in that copy, finds the calling call's record. The connection's
own task (handshake, the server-event GET stream) runs in a context holding the connection's record.
"""

from __future__ import annotations

import asyncio
import contextvars
import importlib
import json
import os
import tempfile
import time
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import httpx2
import mcp
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.types import CONNECTION_CLOSED, INVALID_PARAMS, METHOD_NOT_FOUND, REQUEST_TIMEOUT

from agent_config.config import MCPServerConfig, Transport
from agent_config.interfaces import ToolInfo
from agent_config.utils.error_handling import (
    AgentError,
    CallTimeout,
    ConfigurationError,
    ConnectionFailure,
    ErrorKind,
    classify,
    error_of_kind,
    kind_for_aws_code,
    kind_for_http_status,
)
from agent_config.utils.logging_utils import get_logger

log = get_logger(__name__)

STDERR_TAIL_BYTES = 2_000
_SESSION_HEADER = "mcp-session-id"
# JSON-RPC / MCP error codes that say what kind of failure happened.
_MCP_ERROR_KINDS: dict[int, ErrorKind] = {
    CONNECTION_CLOSED: ErrorKind.CONNECTION,
    REQUEST_TIMEOUT: ErrorKind.TIMEOUT,
    METHOD_NOT_FOUND: ErrorKind.VALIDATION,
    INVALID_PARAMS: ErrorKind.VALIDATION,
}


@dataclass
class _HttpRefusal:
    """Why the server refused the HTTP requests of one call (or of one connection's handshake)."""

    error: tuple[ErrorKind, int] | None = None
    """The kind and status of the last refusal (401, 429, 503...)."""
    session_lost: bool = False
    """The last refused request carried a session id and got 404: the server forgot the session."""


_REFUSAL: contextvars.ContextVar[_HttpRefusal | None] = contextvars.ContextVar("mcp_http_refusal", default=None)
"""The record of the call whose HTTP requests are in flight in this context (see the module doc)."""


@dataclass(frozen=True)
class RawToolResponse:
    """A tool's answer before any adapter reads it: its text, structured content and error flag.

    Servers in the wild often report failure inside an answer whose `is_error` is false, so the
    adapters parse the payload and do not trust the flag alone.
    """

    text: str
    structured: Any
    is_error: bool
    size_bytes: int
    truncated: bool

    def json_payload(self) -> Any:
        """The answer as JSON: the structured content unwrapped from `{"result": ...}`, else the text."""
        structured = self.structured
        if isinstance(structured, dict) and set(structured) == {"result"}:
            structured = structured["result"]  # FastMCP-style wrapping of a tool's return value
        if structured is not None and not isinstance(structured, str) and not self.truncated:
            return structured
        for text in (structured, self.text):
            if isinstance(text, str):
                try:
                    return json.loads(text)
                except json.JSONDecodeError:
                    continue
        return None


class MCPConnection:
    """One server, one long-lived client session."""

    def __init__(
        self,
        name: str,
        config: MCPServerConfig,
        stderr_dir: Path | None = None,
        auth: httpx2.Auth | None = None,
    ) -> None:
        self.name = name
        self.config = config
        self.auth = auth
        self._stderr_path = (stderr_dir or Path(tempfile.gettempdir()) / "security-agent") / f"{name}.stderr.log"
        self._client: mcp.Client | None = None
        self._owner: asyncio.Task[None] | None = None
        self._ready: asyncio.Event | None = None
        self._stop: asyncio.Event | None = None
        self._failure: BaseException | None = None
        self._lock: asyncio.Lock | None = None
        self._refusal = _HttpRefusal()
        """Refusals seen outside any call: the handshake and the connection's own requests."""
        self.connect_count = 0

    @property
    def alive(self) -> bool:
        return self._client is not None and self._owner is not None and not self._owner.done()

    async def ensure_connected(self, timeout_s: float) -> mcp.Client:
        """The open client, connecting (or reconnecting after a death) first if needed."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self.alive:
                assert self._client is not None
                return self._client
            await self._discard()
            return await self._connect(timeout_s)

    async def _connect(self, timeout_s: float) -> mcp.Client:
        self._ready, self._stop, self._failure = asyncio.Event(), asyncio.Event(), None
        self._refusal = _HttpRefusal()
        # The owner task outlives the call that opened the connection: it must not inherit (and
        # later write into) that call's refusal record, so it runs with the connection's own.
        owner_context = contextvars.copy_context()
        owner_context.run(_REFUSAL.set, self._refusal)
        self._owner = asyncio.create_task(
            self._own_session(), name=f"mcp-connection-{self.name}", context=owner_context
        )
        try:
            await asyncio.wait_for(self._ready.wait(), timeout=timeout_s)
        except TimeoutError as exc:
            await self._discard()
            raise CallTimeout(
                f"{self.name}: the server did not finish its start-up handshake within {timeout_s:.0f} s",
                detail=self._stderr_tail(),
            ) from exc
        if self._client is None:
            failure = self._failure
            await self._discard()
            error = (
                self._classify(failure, self._refusal)
                if failure is not None
                else ConnectionFailure("connection closed")
            )
            raise error_of_kind(
                error.kind, f"{self.name}: could not connect: {error.message}", detail=self._stderr_tail()
            ) from failure
        self.connect_count += 1
        log.info("mcp_connected", server=self.name, transport=self.config.transport.value)
        return self._client

    async def _own_session(self) -> None:
        assert self._ready is not None and self._stop is not None
        errlog: TextIO | None = None
        try:
            if self.config.transport is Transport.STDIO:
                self._stderr_path.parent.mkdir(parents=True, exist_ok=True)
                errlog = self._stderr_path.open("w", encoding="utf-8")  # this process's output only
            async with self._make_client(errlog) as client:
                self._client = client
                self._ready.set()
                await self._stop.wait()
        except Exception as exc:  # noqa: BLE001 - recorded and reported by the caller as a typed error
            self._failure = exc
            log.warning("mcp_connection_ended", server=self.name, error=str(exc)[:300])
        finally:
            self._client = None
            self._ready.set()
            if errlog is not None:
                errlog.close()

    def _make_client(self, errlog: TextIO | None) -> AbstractAsyncContextManager[mcp.Client]:
        cfg = self.config
        if cfg.transport is Transport.STDIO:
            assert cfg.command is not None and errlog is not None
            params = StdioServerParameters(command=cfg.command, args=cfg.args, env=stdio_environment(cfg), cwd=cfg.cwd)
            return mcp.Client(stdio_client(params, errlog=errlog), mode=cfg.protocol_mode)
        if cfg.transport is Transport.IN_PROCESS:
            assert cfg.in_process_target is not None
            return mcp.Client(load_in_process_server(cfg.in_process_target), mode=cfg.protocol_mode)
        return self._make_http_client()

    def _make_http_client(self) -> AbstractAsyncContextManager[mcp.Client]:
        import httpx2
        from mcp.client.streamable_http import streamable_http_client

        from agent_config.integrations.http_auth import auth_for

        cfg = self.config
        assert cfg.url is not None
        http = httpx2.AsyncClient(
            timeout=httpx2.Timeout(cfg.timeouts.call_s, connect=cfg.timeouts.connect_s),
            auth=self.auth if self.auth is not None else auth_for(cfg),
            event_hooks={"response": [self._observe_response]},
        )
        return mcp.Client(streamable_http_client(cfg.url, http_client=http), mode=cfg.protocol_mode)

    async def _observe_response(self, response: httpx2.Response) -> None:
        """Remember why the server refused a request: the SDK reports every HTTP error the same way
        ("Server returned an error response"), so the status (401, 429, 503...) is read here, into
        the record of the call that sent the request (the module doc says how it is found)."""
        if response.status_code < 400:
            return
        aws_code = response.headers.get("x-amzn-errortype", "").split(":")[0]
        kind = kind_for_aws_code(aws_code) or kind_for_http_status(response.status_code)
        refusal = _REFUSAL.get() or self._refusal
        refusal.error = (kind, response.status_code)
        refusal.session_lost = response.status_code == 404 and bool(response.request.headers.get(_SESSION_HEADER))

    def _classify(self, exc: BaseException, refusal: _HttpRefusal) -> AgentError:
        """`exc` as a typed error; an HTTP status the server gave this call (`refusal`) decides."""
        http_error = refusal.error
        leaf = exc
        while isinstance(leaf, BaseExceptionGroup) and leaf.exceptions:
            leaf = leaf.exceptions[0]
        if isinstance(leaf, mcp.MCPError) and leaf.code in _MCP_ERROR_KINDS and http_error is None:
            error = error_of_kind(_MCP_ERROR_KINDS[leaf.code], leaf.message)
            error.__cause__ = exc
            return error
        error = classify(exc)
        if http_error is not None and not isinstance(exc, AgentError):
            kind, status = http_error
            error = error_of_kind(kind, f"the server answered HTTP {status}")
            error.__cause__ = exc
        return error

    async def list_tools(self, timeout_s: float) -> list[ToolInfo]:
        client = await self.ensure_connected(self.config.timeouts.connect_s)
        result = await asyncio.wait_for(client.list_tools(), timeout=timeout_s)
        return [
            ToolInfo(
                server=self.name,
                name=t.name,
                description=t.description or "",
                input_schema=dict(t.input_schema),
            )
            for t in result.tools
        ]

    async def call_tool(self, tool: str, arguments: dict[str, Any], timeout_s: float) -> RawToolResponse:
        """Call one tool; transport failures and MCP errors become typed `AgentError`s.

        If the server no longer knows the session (HTTP 404 to a request carrying its id: the
        server restarted), the session is replaced and the call sent once more, within the same
        `timeout_s`; otherwise the 404 would read as a bad request and the dead session be kept.
        """
        started = time.monotonic()
        try:
            return await self._call_tool_once(tool, arguments, timeout_s, resume_lost_session=True)
        except _SessionLost as lost:
            await self._forget(lost.client)
            remaining = timeout_s - (time.monotonic() - started)
            log.info("mcp_session_lost", server=self.name, tool=tool, remaining_s=round(remaining, 3))
            if remaining <= 0.0:
                raise CallTimeout(
                    f"{self.name}: the server lost the session (HTTP 404) and no time was left to open a new one"
                ) from lost
            return await self._call_tool_once(tool, arguments, remaining, resume_lost_session=False)

    async def _call_tool_once(
        self, tool: str, arguments: dict[str, Any], timeout_s: float, *, resume_lost_session: bool
    ) -> RawToolResponse:
        client = await self.ensure_connected(min(self.config.timeouts.connect_s, max(timeout_s, 0.1)))
        refusal = _HttpRefusal()
        token = _REFUSAL.set(refusal)  # seen by the hook for this call's requests only
        try:
            result = await asyncio.wait_for(
                client.call_tool(tool, arguments, read_timeout_seconds=timeout_s), timeout=timeout_s
            )
        except TimeoutError as exc:
            raise CallTimeout(f"{self.name}.{tool} did not answer within {timeout_s:.1f} s") from exc
        except AgentError:
            raise
        except Exception as exc:
            if refusal.session_lost and resume_lost_session:
                raise _SessionLost(client) from exc
            error = self._classify(exc, refusal)
            if error.kind is ErrorKind.CONNECTION or not self.alive:
                error = ConnectionFailure(
                    f"{self.name}: the connection was lost during {tool}: {error.message}",
                    detail=self._stderr_tail(),
                )
                await self._discard()  # the next use reconnects instead of reusing a dead session
            raise error from exc
        finally:
            _REFUSAL.reset(token)
        return _to_raw(result, self.config.max_payload_bytes)

    async def close(self) -> None:
        await self._discard()

    async def _forget(self, client: mcp.Client) -> None:
        """Discard the session `client` belongs to, unless it was replaced already: concurrent calls
        that all saw the same lost session must not tear down the new one another call opened."""
        if self._client is client:
            await self._discard()

    async def _discard(self) -> None:
        owner, stop = self._owner, self._stop
        self._owner = None
        if owner is None:
            return
        if stop is not None:
            stop.set()
        try:
            await asyncio.wait_for(asyncio.shield(owner), timeout=5.0)
        except TimeoutError:
            owner.cancel()
        except asyncio.CancelledError:
            pass
        self._client = None

    def _stderr_tail(self) -> str | None:
        try:
            data = self._stderr_path.read_bytes()[-STDERR_TAIL_BYTES:]
        except OSError:
            return None
        return data.decode("utf-8", errors="replace").strip() or None


class _SessionLost(Exception):
    """The server answered 404 to a request carrying the session's id: it no longer knows it."""

    def __init__(self, client: mcp.Client) -> None:
        super().__init__("the server no longer knows this session (HTTP 404)")
        self.client = client


def stdio_environment(config: MCPServerConfig) -> dict[str, str]:
    """A stdio server sees the AWS settings of this process (profile, region, role, endpoint: so
    `assess` works against whatever AWS the environment points at), overridden by its own `env`.
    The SDK adds only a minimal PATH/HOME environment of its own."""
    inherited = {k: v for k, v in os.environ.items() if k.startswith(_INHERITED_PREFIXES)}
    return {**inherited, **config.env}


_INHERITED_PREFIXES = ("AWS_",)


def _to_raw(result: Any, max_bytes: int) -> RawToolResponse:
    texts = [block.text for block in result.content if getattr(block, "type", None) == "text"]
    text = "\n".join(texts)
    size = len(text.encode("utf-8"))
    truncated = size > max_bytes
    structured = result.structured_content
    if truncated:
        text = text.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")
        structured = None
    return RawToolResponse(
        text=text, structured=structured, is_error=bool(result.is_error), size_bytes=size, truncated=truncated
    )


def load_in_process_server(target: str) -> Any:
    """Import 'package.module:factory' and call the factory (the offline Knowledge server, tests)."""
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise ConfigurationError(f"in_process_target {target!r} must look like 'package.module:factory'")
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(f"in_process_target {target!r} cannot be loaded: {exc}") from exc
    return factory()
