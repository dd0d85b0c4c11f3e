"""Adapter for the AWS Knowledge MCP server (remote) and its offline twin: tool calls and results.

Both answer one text block of JSON `{"content": {"result": ...}}`; search items carry `rank_order`,
`url`, `title` and `context`. Errors come back as `{"errorMessage": ...}` with `isError` false, so
the payload is read, not the flag. Only `https://` links on AWS documentation hosts are accepted:
a link the agent shows is one a server really gave, never one made up.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel

from agent_config.interfaces import DocumentationLink, ToolCall
from agent_config.utils.error_handling import ServerFailure

SERVER = "knowledge"
SEARCH = "aws___search_documentation"
READ = "aws___read_documentation"
OFFICIAL_HOSTS = ("docs.aws.amazon.com", "aws.amazon.com", "repost.aws")
MAX_LIMIT = 10


class SearchResult(BaseModel):
    rank: int
    link: DocumentationLink
    context: str


def search_call(phrase: str, limit: int = 5, purpose: str = "") -> ToolCall:
    return ToolCall(
        server=SERVER,
        tool=SEARCH,
        arguments={"search_phrase": phrase[:300], "limit": max(1, min(limit, MAX_LIMIT))},
        purpose=purpose or f"documentation for {phrase[:60]!r}",
    )


def parse_search(payload: Any, source: str = SERVER) -> list[SearchResult]:
    result = _result(payload)
    if not isinstance(result, list):
        raise ServerFailure("the Knowledge server's search answer had no result list")
    hits = []
    for position, item in enumerate(result, start=1):
        if not isinstance(item, dict):
            continue
        url, title = str(item.get("url", "")), str(item.get("title", "")).strip()
        if not title or not is_official(url):
            continue
        rank = item.get("rank_order")
        hits.append(
            SearchResult(
                rank=rank if isinstance(rank, int) else position,
                link=DocumentationLink(title=title[:200], url=url, source=source),
                context=str(item.get("context", ""))[:400],
            )
        )
    return sorted(hits, key=lambda hit: hit.rank)


def is_official(url: str) -> bool:
    parts = urlsplit(url)
    host = parts.hostname or ""
    return parts.scheme == "https" and any(host == h or host.endswith("." + h) for h in OFFICIAL_HOSTS)


def _result(payload: Any) -> Any:
    if isinstance(payload, dict):
        if payload.get("errorMessage"):
            raise ServerFailure(f"the Knowledge server answered an error: {str(payload['errorMessage'])[:200]}")
        content = payload.get("content")
        if isinstance(content, dict) and "result" in content:
            return content["result"]
        if "result" in payload:
            return payload["result"]
    return payload
