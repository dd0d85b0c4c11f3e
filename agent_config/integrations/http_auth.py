"""Authentication for remote MCP servers, as `httpx2.Auth` flows the MCP SDK's HTTP client runs.

- `BearerTokenAuth`: a token from Secrets Manager (cached), sent as `Authorization: Bearer`. When
  the server answers 401 the token is fetched again, bypassing the cache, and the request is sent
  once more; a second 401 is the server's verdict and surfaces as an authentication error, so wrong
  credentials never become a retry storm.
- `SigV4Auth`: each request signed with the function's IAM credentials by botocore's own signer,
  for AgentCore runtimes (`bedrock-agentcore`) and the managed AWS MCP Server.

Secrets never leave these objects: they are not logged, and `repr` does not show them.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Generator
from typing import Any

import httpx2

from agent_config.config import SECRET_CACHE_SECONDS, AuthKind, MCPServerConfig
from agent_config.utils.error_handling import AuthenticationFailure, ConfigurationError

TokenProvider = Callable[[bool], str]
"""Returns the current token; the argument asks for a fresh one (bypassing any cache)."""


REFRESH_INTERVAL_S = 60.0
"""A rejected token is fetched afresh at most this often, so a wrong secret cannot cause a storm."""


class BearerTokenAuth(httpx2.Auth):
    def __init__(self, token_provider: TokenProvider, clock: Callable[[], float] = time.monotonic) -> None:
        self._provider = token_provider
        self._clock = clock
        self._token: str | None = None
        self._last_forced: float | None = None

    def __repr__(self) -> str:
        return "BearerTokenAuth(token=***)"

    def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
        if self._token is None:
            self._token = self._provider(False)
        request.headers["Authorization"] = f"Bearer {self._token}"
        response = yield request
        if response.status_code == 401 and self._may_refresh():
            self._last_forced = self._clock()
            self._token = self._provider(True)
            request.headers["Authorization"] = f"Bearer {self._token}"
            yield request

    def _may_refresh(self) -> bool:
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
        self._credentials_provider = credentials_provider or _default_credentials

    def __repr__(self) -> str:
        return f"SigV4Auth(service={self._service!r}, region={self._region!r})"

    def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
        from botocore.auth import SigV4Auth as BotocoreSigner
        from botocore.awsrequest import AWSRequest

        credentials = self._credentials_provider()
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
        yield request


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


def _default_credentials() -> Any:
    import botocore.session

    credentials = botocore.session.get_session().get_credentials()
    return credentials.get_frozen_credentials() if credentials is not None else None
