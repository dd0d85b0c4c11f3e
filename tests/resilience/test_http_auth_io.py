"""Authentication I/O stays off the shared event loop, and tokens and credentials are reused.

GIVEN the auth flows the MCP SDK's async HTTP client runs for remote servers
WHEN a request needs a token or signing credentials
THEN the blocking fetch runs in a worker thread (the other servers' calls keep flowing), a rotated
secret is picked up once the cache age has passed, and the credential chain is resolved once.
"""

from __future__ import annotations

import threading

import anyio
import httpx2
import pytest
from botocore.credentials import Credentials

from agent_config.integrations.http_auth import BearerTokenAuth, BotocoreCredentials, SigV4Auth

pytestmark = pytest.mark.anyio


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _client(auth: httpx2.Auth, seen: list[httpx2.Request], status: int = 200) -> httpx2.AsyncClient:
    def answer(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(status)

    return httpx2.AsyncClient(transport=httpx2.MockTransport(answer), auth=auth)


async def test_the_token_is_read_in_a_worker_thread_not_on_the_event_loop() -> None:
    loop_thread = threading.get_ident()
    fetched_on: list[int] = []

    def provider(_force: bool) -> str:
        fetched_on.append(threading.get_ident())
        return "the-token"

    seen: list[httpx2.Request] = []
    async with _client(BearerTokenAuth(provider), seen) as client:
        with anyio.fail_after(10):
            await client.post("https://mcp.example.com/mcp", content=b"{}")

    assert seen[0].headers["Authorization"] == "Bearer the-token"
    assert fetched_on and loop_thread not in fetched_on


async def test_a_rotated_secret_is_picked_up_once_the_cache_age_has_passed() -> None:
    clock = FakeClock()
    tokens = iter(["before-rotation", "after-rotation"])
    seen: list[httpx2.Request] = []
    auth = BearerTokenAuth(lambda _force: next(tokens), clock=clock, max_age_s=300)
    async with _client(auth, seen) as client:
        with anyio.fail_after(10):
            await client.post("https://mcp.example.com/mcp")
            clock.now += 299
            await client.post("https://mcp.example.com/mcp")
            clock.now += 1
            await client.post("https://mcp.example.com/mcp")

    assert [r.headers["Authorization"] for r in seen] == [
        "Bearer before-rotation",
        "Bearer before-rotation",
        "Bearer after-rotation",
    ]


async def test_sigv4_credentials_come_from_a_worker_thread_and_sign_the_body() -> None:
    loop_thread = threading.get_ident()
    resolved_on: list[int] = []

    def credentials() -> Credentials:
        resolved_on.append(threading.get_ident())
        return Credentials("AKIDEXAMPLE", "sigv4-test-secret-not-a-real-one")

    seen: list[httpx2.Request] = []
    async with _client(SigV4Auth("bedrock-agentcore", "us-east-1", credentials), seen) as client:
        with anyio.fail_after(10):
            await client.post("https://mcp.example.com/mcp", content=b'{"jsonrpc": "2.0"}')

    authorization = seen[0].headers["Authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/us-east-1/bedrock-agentcore/aws4_request" in authorization
    assert resolved_on and loop_thread not in resolved_on


def test_the_default_credential_chain_is_resolved_once_for_many_requests() -> None:
    class Session:
        built = 0

        def get_credentials(self) -> Credentials:
            Session.built += 1
            return Credentials("AKIDEXAMPLE", "sigv4-test-secret-not-a-real-one")

    provider = BotocoreCredentials(session_factory=Session)

    frozen = [provider() for _ in range(5)]

    assert Session.built == 1
    assert all(f.access_key == "AKIDEXAMPLE" for f in frozen)


def test_no_credentials_now_are_looked_for_again_next_time() -> None:
    answers: list[Credentials | None] = [None, Credentials("AKIDEXAMPLE", "s")]

    class Session:
        def get_credentials(self) -> Credentials | None:
            return answers.pop(0)

    provider = BotocoreCredentials(session_factory=Session)

    assert provider() is None
    assert provider().access_key == "AKIDEXAMPLE"
