"""An in-process Knowledge server (mcp SDK) with scripted latency and answers, for timing tests.

It speaks the AWS Knowledge server's `aws___search_documentation` (same arguments, same
`{"content": {"result": [...]}}` envelope) and records when each search started and ended, on the
same monotonic clock as the test, so a test can prove that searches overlapped other work without
asserting on wall-clock limits. Configure it with `reset()` before each test.

In-process target: `tests.peers.scripted_knowledge_server:get_server`.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

TARGET = "tests.peers.scripted_knowledge_server:get_server"


@dataclass
class Search:
    phrase: str
    started: float
    finished: float | None = None


@dataclass
class Script:
    delay_s: float = 0.0
    fail: bool = False
    pages: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    """Phrase fragment (lower case) -> (title, url) pages answered for phrases containing it."""
    searches: list[Search] = field(default_factory=list)


SCRIPT = Script()
server = MCPServer("scripted-knowledge")


def get_server() -> MCPServer:
    return server


def reset(delay_s: float = 0.0, fail: bool = False, pages: dict[str, list[tuple[str, str]]] | None = None) -> Script:
    """Script every later call (and forget the searches recorded so far)."""
    SCRIPT.delay_s, SCRIPT.fail, SCRIPT.pages, SCRIPT.searches = delay_s, fail, dict(pages or {}), []
    return SCRIPT


@server.tool(name="aws___search_documentation")
async def search_documentation(search_phrase: str, limit: int = 4) -> str:
    """Answer after the scripted delay with the pages scripted for the phrase (or fail)."""
    record = Search(phrase=search_phrase, started=time.monotonic())
    SCRIPT.searches.append(record)
    try:
        await asyncio.sleep(SCRIPT.delay_s)
        if SCRIPT.fail:
            raise ToolError("the documentation service is unavailable")
        pages = [page for key, found in SCRIPT.pages.items() if key in search_phrase.lower() for page in found]
        result = [
            {"rank_order": rank, "title": title, "url": url, "context": f"about {title}"}
            for rank, (title, url) in enumerate(pages[:limit], start=1)
        ]
        return json.dumps({"content": {"result": result}})
    finally:
        record.finished = time.monotonic()
