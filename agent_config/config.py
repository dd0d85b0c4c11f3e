"""One typed `AgentConfig`, layered from five sources, each overriding the one before:

1. built-in defaults (this module);
2. the environment profile (`development`, `staging`, `production`): a few defaults that differ;
3. an optional file, JSON or TOML (`--config` on the CLI, `SECURITY_AGENT_CONFIG_FILE` in Lambda);
4. an optional SSM parameter holding a JSON document (`SECURITY_AGENT_SSM_PARAMETER`), so the
   deployed function is reconfigured without rebuilding its package;
5. environment variables `SECURITY_AGENT__<FIELD>[__<SUBFIELD>...]`, e.g.
   `SECURITY_AGENT__SERVERS__KNOWLEDGE__URL=https://...`; values are JSON when they parse as JSON.

Dictionaries merge key by key across layers; anything else is replaced. Secrets never live in the
configuration: a server's auth names a Secrets Manager secret, resolved (and cached) only when a
connection needs it. A configuration that does not validate fails at start-up with the path of the
bad field and the layer it came from (the file, the SSM parameter or the exact environment variable).
A changed SSM document takes effect in containers started after the change (configuration is read
once per container, at its first request); publish a new function version to apply it everywhere.
"""

from __future__ import annotations

import ipaddress
import json
import os
import tomllib
from collections.abc import Callable, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from agent_config.interfaces import ServerRole, is_region_code
from agent_config.utils.error_handling import ConfigurationError

ENV_PREFIX = "SECURITY_AGENT__"
ENV_LAYER = "environment variables"
CONFIG_FILE_ENV = "SECURITY_AGENT_CONFIG_FILE"
SSM_PARAMETER_ENV = "SECURITY_AGENT_SSM_PARAMETER"
ENVIRONMENT_ENV = "SECURITY_AGENT_ENVIRONMENT"

DEFAULT_KNOWLEDGE_URL = "https://knowledge-mcp.global.api.aws"
KNOWLEDGE_TIMEOUT_S = 5.0
"""The remote Knowledge server's default connect and call timeouts (one retry): documentation is
optional to an answer, and its offline fallback has to run after a failed attempt within the budget."""
DEFAULT_REGIONS = ("us-east-1",)
SECRET_CACHE_SECONDS = 300


class Environment(StrEnum):
    DEVELOPMENT = "development"
    STAGING = "staging"
    PRODUCTION = "production"


class Transport(StrEnum):
    STDIO = "stdio"
    """A subprocess speaking MCP over stdin/stdout (local servers, the sandbox, tests)."""
    STREAMABLE_HTTP = "streamable_http"
    """A remote server: the AWS Knowledge server, AgentCore runtimes, the managed AWS MCP Server."""
    IN_PROCESS = "in_process"
    """A server object in this process (the offline Knowledge server, tests)."""


class AuthKind(StrEnum):
    NONE = "none"
    BEARER = "bearer"
    """A token read from Secrets Manager, refreshed when it expires or a 401 comes back."""
    SIGV4 = "sigv4"
    """Requests signed with the function's IAM credentials (AgentCore, the managed AWS MCP Server)."""


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AuthConfig(_Config):
    kind: AuthKind = AuthKind.NONE
    secret_id: str | None = Field(default=None, description="Secrets Manager secret holding the bearer token.")
    sigv4_service: str | None = Field(default=None, description="Signing name, e.g. 'bedrock-agentcore'.")
    sigv4_region: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> AuthConfig:
        if self.kind is AuthKind.BEARER and not self.secret_id:
            raise ValueError("bearer auth needs secret_id (the Secrets Manager secret holding the token)")
        if self.kind is AuthKind.SIGV4 and not self.sigv4_service:
            raise ValueError("sigv4 auth needs sigv4_service (for example 'bedrock-agentcore')")
        return self


class RetryConfig(_Config):
    """Exponential backoff with full jitter, for retryable error kinds only."""

    max_attempts: int = Field(default=3, ge=1, le=10)
    base_delay_s: float = Field(default=0.2, gt=0)
    max_delay_s: float = Field(default=2.0, gt=0)


class CircuitBreakerConfig(_Config):
    failure_threshold: int = Field(default=3, ge=1, description="Consecutive failures that open it.")
    cooldown_s: float = Field(default=30.0, gt=0, description="Time open before one trial call.")


class HealthCheckConfig(_Config):
    enabled: bool = Field(
        default=True,
        description="False: `/health` does not probe the server (no connection is opened for it) and "
        "reports it as not checked, e.g. for a metered remote endpoint.",
    )
    timeout_s: float = Field(default=5.0, gt=0)


class TimeoutConfig(_Config):
    connect_s: float = Field(default=15.0, gt=0, description="Start-up and handshake.")
    call_s: float = Field(default=25.0, gt=0, description="One tool call, capped by the deadline.")


class RegionOverride(_Config):
    """What changes for calls about one Region (`region_specific`): a Regional endpoint of a remote
    server, or the environment of a stdio server started for that Region."""

    url: str | None = Field(default=None, description="streamable_http only; https, as `url`.")
    env: dict[str, str] = Field(default_factory=dict, description="stdio only; merged over `env`.")

    @model_validator(mode="after")
    def _safe_url(self) -> RegionOverride:
        if self.url is not None:
            _require_safe_url(self.url)
        return self


class MCPServerConfig(_Config):
    """One MCP server: the seed's `EnhancedMCPServerConfig`."""

    role: ServerRole
    transport: Transport
    enabled: bool = True
    command: str | None = None
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    in_process_target: str | None = Field(
        default=None, description="'package.module:factory' returning the server object."
    )
    protocol_mode: Literal["auto", "legacy"] = Field(
        default="auto", description="'legacy' skips the 2026 discovery probe for servers on mcp 1.x."
    )
    auth: AuthConfig = Field(default_factory=AuthConfig)
    retry: RetryConfig = Field(default_factory=RetryConfig)
    circuit_breaker: CircuitBreakerConfig = Field(default_factory=CircuitBreakerConfig)
    health_check: HealthCheckConfig = Field(default_factory=HealthCheckConfig)
    timeouts: TimeoutConfig = Field(default_factory=TimeoutConfig)
    max_concurrency: int = Field(default=4, ge=1, le=64)
    max_payload_bytes: int = Field(default=2_000_000, ge=1024)
    fallback: str | None = Field(default=None, description="Server to use when this one is unavailable.")
    feature_flags: dict[str, bool] = Field(
        default_factory=dict,
        description="Per tool of this server, by its name: false turns the tool off. Its calls are not "
        "sent (they are answered 'skipped', so the answer says what is missing and why), and `/health` "
        "does not report it missing. For a tool known to misbehave, or one an endpoint must not be asked.",
    )
    region_specific: dict[str, RegionOverride] = Field(
        default_factory=dict,
        description="Per-Region overrides of 'url' (streamable_http) or 'env' (stdio), applied to calls "
        "whose arguments name that Region; each Region gets its own connection.",
    )

    @model_validator(mode="after")
    def _transport_complete(self) -> MCPServerConfig:
        if self.transport is Transport.STDIO and not self.command:
            raise ValueError("a stdio server needs 'command'")
        if self.transport is Transport.IN_PROCESS and not self.in_process_target:
            raise ValueError("an in_process server needs 'in_process_target'")
        if self.transport is Transport.STREAMABLE_HTTP:
            if not self.url:
                raise ValueError("a streamable_http server needs 'url'")
            _require_safe_url(self.url)
        if self.auth.kind is not AuthKind.NONE and self.transport is not Transport.STREAMABLE_HTTP:
            raise ValueError("auth applies to streamable_http servers only")
        for region, override in self.region_specific.items():
            if not is_region_code(region):
                raise ValueError(f"region_specific: {region!r} is not an AWS Region code (e.g. eu-west-1)")
            if override.url is not None and self.transport is not Transport.STREAMABLE_HTTP:
                raise ValueError(f"region_specific.{region}.url applies to streamable_http servers only")
            if override.env and self.transport is not Transport.STDIO:
                raise ValueError(f"region_specific.{region}.env applies to stdio servers only")
        if any(not tool.strip() for tool in self.feature_flags):
            raise ValueError("feature_flags: keys are tool names and cannot be empty")
        return self

    def url_for(self, region: str | None) -> str | None:
        """The endpoint for calls about `region`: its `region_specific` url, else `url`."""
        override = self.region_specific.get(region or "")
        return override.url if override is not None and override.url is not None else self.url

    def for_region(self, region: str | None) -> MCPServerConfig:
        """This server as calls about `region` reach it: `self` when nothing is overridden for that
        Region, else a copy with its url and env (both validated when the configuration loaded)."""
        override = self.region_specific.get(region or "")
        if override is None:
            return self
        return self.model_copy(update={"url": self.url_for(region), "env": {**self.env, **override.env}})

    def tool_enabled(self, tool: str) -> bool:
        """False when `feature_flags` turns `tool` off; tools not named there are on."""
        return self.feature_flags.get(tool, True)


def _require_safe_url(url: str) -> None:
    """Remote servers are reached over HTTPS only; plain HTTP is allowed on loopback (tests, sandbox)."""
    parsed = urlparse(url)
    if parsed.scheme == "https":
        return
    if parsed.scheme == "http" and _is_loopback(parsed.hostname or ""):
        return
    raise ValueError(f"refusing {url!r}: remote MCP servers must use https (plain http only on loopback)")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Features(_Config):
    """Feature flags: each turns a capability off without a code change."""

    knowledge_fallback: bool = Field(
        default=True,
        description="A Knowledge server's `fallback` (the offline one) answers when it fails; false: never "
        "(the answer then keeps the catalogue's own documentation links).",
    )
    direct_api_fallback: bool = Field(default=True, description="Collect evidence with boto3 if aws_api fails.")
    session_history: bool = True
    metrics: bool = True


class AgentConfig(_Config):
    environment: Environment = Environment.DEVELOPMENT
    log_level: str = "INFO"
    default_regions: list[str] = Field(default_factory=lambda: list(DEFAULT_REGIONS), min_length=1)
    servers: dict[str, MCPServerConfig] = Field(default_factory=dict)
    features: Features = Field(default_factory=Features)
    lambda_safety_margin_s: float = Field(default=3.0, ge=0.5, description="Kept back from the Lambda timeout.")
    max_request_s: float = Field(default=110.0, gt=0, description="Cap on one request's budget outside Lambda.")
    max_response_bytes: int = Field(default=20_000, ge=2_000, le=6_000_000)
    sessions_table: str | None = None
    session_ttl_s: int = Field(
        default=3600,
        ge=60,
        le=7 * 24 * 3600,
        description="How long session state outlives the session's last turn. The deploy sets it to the "
        "agent's idleSessionTTLInSeconds, so history lives exactly as long as the conversation can.",
    )

    @model_validator(mode="after")
    def _fallbacks_exist(self) -> AgentConfig:
        for name, server in self.servers.items():
            if server.fallback is not None and server.fallback not in self.servers:
                raise ValueError(f"servers.{name}.fallback names unknown server {server.fallback!r}")
        return self

    def servers_for(self, role: ServerRole) -> dict[str, MCPServerConfig]:
        return {n: s for n, s in self.servers.items() if s.role is role and s.enabled}


def default_layer() -> dict[str, Any]:
    """Built-in defaults: the real servers by their console-script names, the remote Knowledge server
    with the offline one as its fallback."""
    return {
        "servers": {
            "security": {
                "role": "security",
                "transport": "stdio",
                "command": "awslabs.well-architected-security-mcp-server",
                "env": {"FASTMCP_LOG_LEVEL": "ERROR"},
            },
            "aws_api": {
                "role": "aws_api",
                "transport": "stdio",
                "command": "awslabs.aws-api-mcp-server",
                "protocol_mode": "legacy",
                "env": {
                    "READ_OPERATIONS_ONLY": "true",
                    "AWS_API_MCP_ALLOW_UNRESTRICTED_LOCAL_FILE_ACCESS": "no-access",
                    "AWS_API_MCP_TELEMETRY": "false",
                    "FASTMCP_LOG_LEVEL": "ERROR",
                },
            },
            "knowledge": {
                "role": "knowledge",
                "transport": "streamable_http",
                "url": DEFAULT_KNOWLEDGE_URL,
                "fallback": "knowledge_offline",
                # Short: a documentation search that has not answered in 5 s will not, and the
                # offline fallback must still fit the Lambda's budget after it (README).
                "timeouts": {"connect_s": KNOWLEDGE_TIMEOUT_S, "call_s": KNOWLEDGE_TIMEOUT_S},
                "retry": {"max_attempts": 2, "base_delay_s": 0.2, "max_delay_s": 1.0},
            },
            "knowledge_offline": {
                "role": "knowledge",
                "transport": "in_process",
                "in_process_target": "agent_config.knowledge.server:build_server",
            },
        }
    }


PROFILE_LAYERS: dict[Environment, dict[str, Any]] = {
    Environment.DEVELOPMENT: {"log_level": "DEBUG"},
    Environment.STAGING: {"log_level": "INFO"},
    Environment.PRODUCTION: {"log_level": "INFO", "lambda_safety_margin_s": 5.0},
}


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = dict(base)
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            merged[key] = deep_merge(current, value)
        else:
            merged[key] = value
    return merged


def read_config_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"cannot read configuration file {path}: {exc.strerror}") from exc
    try:
        data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"configuration file {path} is not valid {path.suffix or 'JSON'}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigurationError(f"configuration file {path} must hold an object at the top level")
    return data


def env_layer(environ: Mapping[str, str]) -> dict[str, Any]:
    """`SECURITY_AGENT__A__B=v` becomes `{"a": {"b": v}}`; `LOG_LEVEL` is honoured as in the seed."""
    layer: dict[str, Any] = {}
    if "LOG_LEVEL" in environ:
        layer["log_level"] = environ["LOG_LEVEL"]
    for name, raw in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX):
            continue
        path = [part.lower() for part in name[len(ENV_PREFIX) :].split("__") if part]
        if not path:
            continue
        value: Any
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        node = layer
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigurationError(f"environment variable {name} conflicts with another one")
        node[path[-1]] = value
    return layer


def fetch_ssm_json(parameter_name: str) -> dict[str, Any]:
    """Read a JSON configuration document from SSM Parameter Store (cached by Powertools)."""
    from aws_lambda_powertools.utilities import parameters

    value = parameters.get_parameter(parameter_name, transform="json", max_age=SECRET_CACHE_SECONDS)
    if not isinstance(value, dict):
        raise ConfigurationError(f"SSM parameter {parameter_name} must hold a JSON object")
    return value


def load_config(
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    ssm_fetch: Callable[[str], dict[str, Any]] = fetch_ssm_json,
) -> AgentConfig:
    """Build the configuration from every layer; raise `ConfigurationError` naming the bad field."""
    environ = os.environ if environ is None else environ
    file_path = config_file or (Path(environ[CONFIG_FILE_ENV]) if environ.get(CONFIG_FILE_ENV) else None)
    file_layer = read_config_file(file_path) if file_path else {}
    ssm_name = environ.get(SSM_PARAMETER_ENV)
    ssm_layer = _fetch_ssm_layer(ssm_name, ssm_fetch) if ssm_name else {}
    variables = env_layer(environ)

    environment_name = (
        environ.get(ENVIRONMENT_ENV)
        or variables.get("environment")
        or ssm_layer.get("environment")
        or file_layer.get("environment")
        or Environment.DEVELOPMENT.value
    )
    try:
        environment = Environment(str(environment_name).lower())
    except ValueError as exc:
        allowed = ", ".join(e.value for e in Environment)
        raise ConfigurationError(f"environment: {environment_name!r} is not one of {allowed}") from exc

    layers: list[tuple[str, dict[str, Any]]] = [
        ("the built-in defaults", default_layer()),
        (f"the {environment.value} profile", PROFILE_LAYERS[environment]),
        (f"configuration file {file_path}", file_layer),
        (f"SSM parameter {ssm_name}", ssm_layer),
        (ENV_LAYER, variables),
    ]
    merged: dict[str, Any] = {}
    for _, layer in layers:
        merged = deep_merge(merged, layer)
    merged["environment"] = environment.value
    try:
        return AgentConfig.model_validate(merged)
    except ValidationError as exc:
        raise ConfigurationError(_describe_validation_error(exc, layers, environ)) from exc


def _fetch_ssm_layer(name: str, fetch: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    try:
        return fetch(name)
    except ConfigurationError:
        raise
    except Exception as exc:
        raise ConfigurationError(f"cannot read configuration from SSM parameter {name}: {exc}") from exc


def _describe_validation_error(
    exc: ValidationError, layers: list[tuple[str, dict[str, Any]]], environ: Mapping[str, str]
) -> str:
    problems = []
    for error in exc.errors():
        path = [str(part) for part in error["loc"]]
        location = ".".join(path) or "(top level)"
        problems.append(f"{location}: {error['msg']} (from {_origin(path, layers, environ)})")
    return "invalid configuration: " + "; ".join(problems)


def _origin(path: list[str], layers: list[tuple[str, dict[str, Any]]], environ: Mapping[str, str]) -> str:
    """The layer that set the bad value: the one holding the deepest part of its path, the later
    layer on a tie (it overrode the earlier ones). An environment variable is named exactly."""
    best_name, best_depth = layers[0][0], 0
    for name, layer in layers:
        node: Any = layer
        depth = 0
        for part in path:
            if not isinstance(node, Mapping) or part not in node:
                break
            node, depth = node[part], depth + 1
        if depth > 0 and depth >= best_depth:
            best_name, best_depth = name, depth
    if best_name != ENV_LAYER:
        return best_name
    names = {key.upper(): key for key in environ if key.startswith(ENV_PREFIX)}
    for length in range(len(path), 0, -1):
        candidate = ENV_PREFIX + "__".join(part.upper() for part in path[:length])
        if candidate in names:
            return f"environment variable {names[candidate]}"
    return ENV_LAYER
