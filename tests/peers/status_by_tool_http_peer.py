"""A real MCP server over streamable HTTP whose HTTP answers depend on the tool called, so that
concurrent calls on one connection get different statuses (for per-call status attribution).

Run:  python status_by_tool_http_peer.py PORT

- `throttled`: the POST that calls it is answered HTTP 429 at once;
- `slow_invalid`: the POST is held for `SLOW_S`, then answered HTTP 200 with a JSON-RPC
  "invalid params" error (an MCP error, no HTTP refusal at all);
- `echo`: answered by the server normally.
Every other request (handshake, notifications) goes to the MCP server untouched.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from mcp.server.mcpserver import MCPServer

SLOW_S = 0.8
INVALID_PARAMS = -32602

server = MCPServer("status-by-tool")


@server.tool()
def echo(text: str = "hello") -> str:
    """Answer at once."""
    return json.dumps({"echo": text})


@server.tool()
def throttled() -> str:
    """Never reached: the guard answers 429 first."""
    return "unreachable"


@server.tool()
def slow_invalid() -> str:
    """Never reached: the guard answers a JSON-RPC error first."""
    return "unreachable"


def _app() -> Any:
    from starlette.requests import Request
    from starlette.responses import JSONResponse

    app = server.streamable_http_app()

    async def guard(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await app(scope, receive, send)
            return
        request = Request(scope, receive)
        body = await request.body()
        try:
            message = json.loads(body)
        except json.JSONDecodeError:
            message = None
        tool = message.get("params", {}).get("name") if isinstance(message, dict) else None
        if isinstance(message, dict) and message.get("method") == "tools/call" and tool == "throttled":
            await JSONResponse({"error": "slow down"}, status_code=429)(scope, receive, send)
            return
        if isinstance(message, dict) and message.get("method") == "tools/call" and tool == "slow_invalid":
            await asyncio.sleep(SLOW_S)
            error = {
                "jsonrpc": "2.0",
                "id": message["id"],
                "error": {"code": INVALID_PARAMS, "message": "bad arguments"},
            }
            await JSONResponse(error, status_code=200)(scope, receive, send)
            return

        replayed = {"done": False}

        async def replay() -> dict[str, Any]:
            if replayed["done"]:
                return dict(await receive())
            replayed["done"] = True
            return {"type": "http.request", "body": body, "more_body": False}

        await app(scope, replay, send)

    return guard


def main() -> None:
    import uvicorn

    uvicorn.run(_app(), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")


if __name__ == "__main__":
    main()
