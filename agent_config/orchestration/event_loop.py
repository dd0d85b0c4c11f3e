"""One long-lived event loop in a background thread, shared by every invocation of a warm container.

The Lambda handler is synchronous, but the MCP connections are asyncio objects bound to the loop
that opened them. `asyncio.run()` per invocation would close that loop and kill every connection;
a loop that lives in its own thread keeps stdio servers running and HTTP sessions open between
invocations, and any synchronous caller (the handler, the CLI, a test) submits work to it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

from agent_config.utils.error_handling import CallTimeout

T = TypeVar("T")


class BackgroundLoop:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _ensure_started(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._thread is None or not self._thread.is_alive():
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="security-agent-loop", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    def run(self, coro: Coroutine[Any, Any, T], timeout_s: float | None = None) -> T:
        """Run a coroutine on the loop and wait for it; a timeout cancels it and raises `CallTimeout`."""
        future = asyncio.run_coroutine_threadsafe(coro, self._ensure_started())
        try:
            return future.result(timeout=timeout_s)
        except FutureTimeout as exc:
            future.cancel()
            raise CallTimeout(f"the request did not finish within {timeout_s:.1f} s") from exc

    def stop(self) -> None:
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        if not thread.is_alive():
            loop.close()
