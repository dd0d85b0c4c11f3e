"""A real MCP server (mcp SDK 2.x) that misbehaves on purpose, for the resilience tests.

Run over stdio:   python faulty_mcp_server.py
Run over HTTP:    python faulty_mcp_server.py --http PORT [--bearer TOKEN] [--sigv4]
                  [--fail-first N --fail-status 429]

Tools: `echo` (answers at once), `slow` (sleeps `seconds`), `hang` (never answers), `crash` (the
process exits mid-call), `garbage` (prints junk lines on stdout, then answers), `huge` (answers
`megabytes` of text), `error_payload` (an error inside an ok answer), `flaky` (fails every other
call), `denied` (a tool error saying AccessDenied, as a server built on boto3 reports a missing IAM
permission), `throttled_once` (a throttling tool error on the first call with a given `key`). The
HTTP mode can demand a bearer token or a SigV4 signature (verified with botocore), and can answer
the first N requests with an HTTP error status before recovering.

In process, `get_server` gives this server and `get_unlisting_server` one whose `tools/list` never
answers (a server that hangs on health probes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("faulty")
_state = {"flaky_calls": 0}
_throttled_keys: set[str] = set()


def get_server() -> MCPServer:
    """For in-process use (`in_process_target = "tests.peers.faulty_mcp_server:get_server"`)."""
    return server


class _UnlistingServer(MCPServer):
    """Completes the handshake, then never answers `tools/list`."""

    async def list_tools(self) -> Any:  # type: ignore[override]
        await asyncio.Event().wait()


def get_unlisting_server() -> MCPServer:
    """For in-process use: a server that hangs on every health probe."""
    return _UnlistingServer("unlisting")


@server.tool()
def echo(text: str = "hello") -> str:
    """Answer at once."""
    return json.dumps({"echo": text, "pid": os.getpid()})


@server.tool()
async def slow(seconds: float = 1.0) -> str:
    """Answer after `seconds`."""
    await asyncio.sleep(seconds)
    return json.dumps({"slept": seconds})


@server.tool()
async def hang() -> str:
    """Never answer."""
    await asyncio.Event().wait()
    return "unreachable"


@server.tool()
def crash() -> str:
    """Exit the whole process in the middle of the call."""
    os._exit(3)


@server.tool()
def garbage() -> str:
    """Print junk on stdout (the MCP channel), then answer normally."""
    sys.stdout.write("[DEBUG] this is not JSON-RPC\n{broken json\n")
    sys.stdout.flush()
    return json.dumps({"after_garbage": True})


@server.tool()
def huge(megabytes: float = 10.0) -> str:
    """Answer with `megabytes` of text."""
    return "x" * int(megabytes * 1024 * 1024)


@server.tool()
def error_payload() -> str:
    """Fail inside a successful answer, as real servers do."""
    return json.dumps({"error": "AccessDenied: not authorized to perform guardduty:ListDetectors"})


@server.tool()
def flaky() -> str:
    """Fail every other call."""
    _state["flaky_calls"] += 1
    if _state["flaky_calls"] % 2 == 1:
        raise RuntimeError("flaky failure")
    return json.dumps({"flaky": "ok"})


@server.tool()
def denied() -> str:
    """Fail the way a server built on boto3 reports a missing IAM permission."""
    raise ToolError(
        "An error occurred (AccessDeniedException) when calling the ListDetectors operation: User: "
        "arn:aws:sts::123456789012:assumed-role/security-agent/session is not authorized to perform: "
        "guardduty:ListDetectors"
    )


@server.tool()
def throttled_once(key: str) -> str:
    """Throttled on the first call with `key`, answered on the next."""
    if key not in _throttled_keys:
        _throttled_keys.add(key)
        raise ToolError("An error occurred (ThrottlingException) when calling the GetFindings operation: Rate exceeded")
    return json.dumps({"throttled_once": key})


def _http_app(args: argparse.Namespace) -> Any:
    from starlette.requests import Request
    from starlette.responses import JSONResponse

    app = server.streamable_http_app()
    failures = {"left": args.fail_first}

    async def guard(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        request = Request(scope, receive)
        if failures["left"] > 0:
            failures["left"] -= 1
            await JSONResponse({"error": "injected"}, status_code=args.fail_status)(scope, receive, send)
            return
        if args.bearer and request.headers.get("authorization") != f"Bearer {args.bearer}":
            await JSONResponse({"error": "bad token"}, status_code=401)(scope, receive, send)
            return
        if args.sigv4:
            body = await request.body()
            if not _sigv4_valid(request, body):
                await JSONResponse({"error": "bad signature"}, status_code=403)(scope, receive, send)
                return

            replayed = {"done": False}

            async def replay() -> dict[str, Any]:
                if replayed["done"]:
                    return await receive()  # then whatever comes next (a disconnect)
                replayed["done"] = True
                return {"type": "http.request", "body": body, "more_body": False}

            await app(scope, replay, send)
            return
        await app(scope, receive, send)

    return guard


def _sigv4_valid(request: Any, body: bytes) -> bool:
    """Recompute the signature with botocore from the same credentials and compare."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    header = request.headers.get("authorization", "")
    amz_date = request.headers.get("x-amz-date", "")
    if not header.startswith("AWS4-HMAC-SHA256") or not amz_date:
        return False
    signed_headers = header.split("SignedHeaders=")[1].split(",")[0].split(";")
    headers = {name: request.headers[name] for name in signed_headers if name in request.headers}
    url = str(request.url)
    candidate = AWSRequest(method=request.method, url=url, data=body, headers=headers)
    credentials = Credentials(os.environ["SIGV4_ACCESS_KEY"], os.environ["SIGV4_SECRET_KEY"])
    signer = SigV4Auth(credentials, os.environ.get("SIGV4_SERVICE", "bedrock-agentcore"), "us-east-1")
    signer._timestamp = lambda: amz_date  # type: ignore[method-assign]  # same instant as the client
    candidate.context["timestamp"] = amz_date
    signer.add_auth(candidate)
    return candidate.headers["Authorization"] == header


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--http", type=int)
    parser.add_argument("--bearer")
    parser.add_argument("--sigv4", action="store_true")
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--fail-status", type=int, default=429)
    args = parser.parse_args()
    if args.http is None:
        server.run("stdio")
        return
    import uvicorn

    uvicorn.run(_http_app(args), host="127.0.0.1", port=args.http, log_level="warning")


if __name__ == "__main__":
    main()
