"""Authentication for remote MCP servers, as `httpx2.Auth` flows the MCP SDK's HTTP client runs.

- `BearerTokenAuth`: a token from Secrets Manager, sent as `Authorization: Bearer`. The token is
  kept for `SECRET_CACHE_SECONDS` and then read again, so a rotated secret is picked up without a
  restart. When the server answers 401 the token is fetched again, bypassing every cache, and the
  request is sent once more; a second 401 is the server's verdict and surfaces as an
  authentication error, so wrong credentials never become a retry storm.
- `SigV4Auth`: each request signed with the function's IAM credentials by botocore's own signer,
  for AgentCore runtimes (`bedrock-agentcore`) and the managed AWS MCP Server. The credentials
  object is resolved once and refreshed by botocore when it nears expiry.

Fetching a secret or refreshing credentials is network I/O. The MCP SDK runs these flows on the
event loop that every other server's calls share, so the async flows do that I/O in a worker
thread: one slow Secrets Manager call must not stall the other servers' answers.

Secrets never leave these objects: they are not logged, and `repr` does not show them.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any

import anyio.to_thread
import httpx2

from agent_config.config import SECRET_CACHE_SECONDS, AuthKind, MCPServerConfig
from agent_config.utils.error_handling import AuthenticationFailure, ConfigurationError

TokenProvider = Callable[[bool], str]
"""Returns the current token; the argument asks for a fresh one (bypassing any cache)."""


REFRESH_INTERVAL_S = 60.0
"""A rejected token is fetched afresh at most this often, so a wrong secret cannot cause a storm."""


class BearerTokenAuth(httpx2.Auth):
    def __init__(
        self,
        token_provider: TokenProvider,
        clock: Callable[[], float] = time.monotonic,
        max_age_s: float = SECRET_CACHE_SECONDS,
    ) -> None:
        self._provider = token_provider
        self._clock = clock
        self._max_age_s = max_age_s
        self._token: str | None = None
        self._fetched_at = 0.0
        self._last_forced: float | None = None

    def __repr__(self) -> str:
        return "BearerTokenAuth(token=***)"

    def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._current_token()}"
        response = yield request
        if self._should_refresh(response):
            request.headers["Authorization"] = f"Bearer {self._fresh_token()}"
            yield request

    async def async_auth_flow(self, request: httpx2.Request) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        token = await anyio.to_thread.run_sync(self._current_token)
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if self._should_refresh(response):
            token = await anyio.to_thread.run_sync(self._fresh_token)
            request.headers["Authorization"] = f"Bearer {token}"
            yield request

    def _current_token(self) -> str:
        """The kept token, read again once it is older than the cache age (a rotation lands)."""
        if self._token is None or self._clock() - self._fetched_at >= self._max_age_s:
            self._token, self._fetched_at = self._provider(False), self._clock()
        return self._token

    def _fresh_token(self) -> str:
        self._last_forced = self._clock()
        self._token, self._fetched_at = self._provider(True), self._clock()
        return self._token

    def _should_refresh(self, response: httpx2.Response) -> bool:
        """After a 401, once: at most one forced read a minute, so a wrong secret cannot cause a storm."""
        if response.status_code != 401:
            return False
        return self._last_forced is None or self._clock() - self._last_forced >= REFRESH_INTERVAL_S


def secret_token_provider(secret_id: str) -> TokenProvider:
    """Read the token from Secrets Manager; the secret is the token itself or JSON with a `token` key."""
    from aws_lambda_powertools.utilities import parameters

    def provide(force_refresh: bool) -> str:
        value = parameters.get_secret(secret_id, max_age=SECRET_CACHE_SECONDS, force_fetch=force_refresh)
        text = value.decode("utf-8") if isinstance(value, bytes) else str(value)
        return _token_from_secret(text)

    return provide


def _token_from_secret(text: str) -> str:
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            document: Any = json.loads(stripped)
        except json.JSONDecodeError:
            return stripped
        for key in ("token", "access_token", "bearer_token"):
            if isinstance(document, dict) and isinstance(document.get(key), str):
                return str(document[key])
    return stripped


class SigV4Auth(httpx2.Auth):
    """Sign with botocore's SigV4 signer; credentials are resolved (and refreshed) by botocore."""

    requires_request_body = True

    def __init__(self, service: str, region: str, credentials_provider: Callable[[], Any] | None = None) -> None:
        self._service = service
        self._region = region
        self._credentials_provider = credentials_provider or BotocoreCredentials()

    def __repr__(self) -> str:
        return f"SigV4Auth(service={self._service!r}, region={self._region!r})"

    def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
        self._sign(request, self._credentials_provider())
        yield request

    async def async_auth_flow(self, request: httpx2.Request) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        await request.aread()
        self._sign(request, await anyio.to_thread.run_sync(self._credentials_provider))
        yield request

    def _sign(self, request: httpx2.Request, credentials: Any) -> None:
        from botocore.auth import SigV4Auth as BotocoreSigner
        from botocore.awsrequest import AWSRequest

        if credentials is None:
            raise AuthenticationFailure("no AWS credentials are available to sign requests with SigV4")
        signable = AWSRequest(
            method=request.method,
            url=str(request.url),
            data=request.content,
            headers={"host": request.url.netloc.decode("ascii"), **_signable_headers(request)},
        )
        BotocoreSigner(credentials, self._service, self._region).add_auth(signable)
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
            if name in signable.headers:
                request.headers[name] = signable.headers[name]


class BotocoreCredentials:
    """The default credential chain, resolved once: botocore's refreshable credentials renew
    themselves near expiry, so building a session (and, on EC2 or ECS, asking the metadata
    service) for every request would only add latency."""

    def __init__(self, session_factory: Callable[[], Any] | None = None) -> None:
        self._session_factory = session_factory or _botocore_session
        self._credentials: Any = None
        self._lock = threading.Lock()

    def __call__(self) -> Any:
        with self._lock:
            if self._credentials is None:
                self._credentials = self._session_factory().get_credentials()
            credentials = self._credentials
        return credentials.get_frozen_credentials() if credentials is not None else None


def auth_for(config: MCPServerConfig) -> httpx2.Auth | None:
    """The auth flow a server's configuration asks for (None for no auth)."""
    auth = config.auth
    if auth.kind is AuthKind.BEARER:
        assert auth.secret_id is not None
        return BearerTokenAuth(secret_token_provider(auth.secret_id))
    if auth.kind is AuthKind.SIGV4:
        assert auth.sigv4_service is not None
        region = auth.sigv4_region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if not region:
            raise ConfigurationError("sigv4 auth needs sigv4_region or AWS_REGION to be set")
        return SigV4Auth(auth.sigv4_service, region)
    return None


def _signable_headers(request: httpx2.Request) -> dict[str, str]:
    # Only headers that will not change on the way out; the SDK adds its own MCP headers before us.
    wanted = ("content-type", "accept", "mcp-session-id", "mcp-protocol-version")
    return {name: request.headers[name] for name in wanted if name in request.headers}


def _botocore_session() -> Any:
    import botocore.session

    return botocore.session.get_session()
