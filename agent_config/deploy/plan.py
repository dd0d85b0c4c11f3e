"""The deploy plan: every resource the deploy creates, with its name, ARN, settings and policy
documents, computed from the command-line settings alone (no AWS call).

One plan drives everything: `--dry-run` prints it, deploy creates or updates what it lists,
`--validate` checks against it and `--destroy` removes it. So what a person reviews is exactly
what runs, and the dry run is deterministic (a golden file in the tests).

Names all derive from `--agent-name` (one stack per name; use a different name per environment):

    <agent-name>-actions          Lambda function
    /aws/lambda/<agent-name>-actions  its log group
    <agent-name>-lambda-role      its execution role
    <agent-name>-sessions         DynamoDB sessions table
    /<agent-name>/config          SSM: the function's configuration (also feature-flags, mcp-servers,
                                  and deployment: the ids of what was deployed)
    <agent-name>/mcp/<role>-token Secrets Manager: bearer tokens (only for --*-auth bearer)
    <agent-name>-agent-role       the agent's service role (or <agent-name>-gateway-role)
    <agent-name>                  the Bedrock agent (or the AgentCore gateway), alias `live`
"""

from __future__ import annotations

import hashlib
import json
import re
from enum import StrEnum
from pathlib import Path
from typing import Any, Final
from urllib.parse import unquote, urlparse

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agent_config.agentcore_gateway import tool_definitions
from agent_config.config import (
    ENVIRONMENT_ENV,
    SSM_PARAMETER_ENV,
    AuthKind,
    Environment,
    Features,
    default_layer,
    load_config,
)
from agent_config.deploy import iam
from agent_config.deploy.errors import DeployError
from agent_config.integrations.direct_security import IAM_ACTIONS as SECURITY_FALLBACK_ACTIONS
from agent_config.interfaces import ServerRole
from agent_config.schema import Route, routes_from_schema
from agent_config.session.table import TTL_ATTRIBUTE, table_definition
from agent_config.utils.error_handling import ConfigurationError

# ---------------------------------------------------------------------------------------------
# Constants
# ---------------------------------------------------------------------------------------------

DEFAULT_MODEL: Final = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
DEFAULT_AGENT_NAME: Final = "enhanced-security-agent"
DEFAULT_REGION: Final = "us-east-1"
LAMBDA_RUNTIME: Final = "python3.12"
LAMBDA_PYTHON_VERSION: Final = "3.12"
LAMBDA_HANDLER: Final = "agent_config.enhanced_security_agent.lambda_handler"
LAMBDA_TIMEOUT_S: Final = 120
"""The longest request the handler plans for, plus what it needs around it; longer buys nothing.

    120 s = 110 s  AgentConfig.max_request_s: the cap on one request's budget, in Lambda too
          +   5 s  lambda_safety_margin_s in production: kept back to build and send the answer
          +   5 s  cold start and slack (the handler imports in 0.23 s: `python -m bench cold_start`)

The handler's deadline is min(remaining time - margin, max_request_s)
(`enhanced_security_agent._request_deadline`): at 110 s a request stops and answers with what
arrived, naming what is missing. A shorter timeout would cut into that budget; a longer one would
never be used unless max_request_s grows with it (a test keeps the two in step).

Why 110 s of work is enough: `python -m bench assessment` (README "Benchmarks", 2 shared cores)
assessed 1,200 resources in 87.5 s and 2,400 in 116.6 s, so a whole assessment of up to about
2,000 resources completes and a larger one comes back partial and says so (max_resources=1000
bounds the reads of any one service, not of the account). Those seconds are mostly moto and the
MCP servers answering on the same machine: the agent process itself used 4.8 s of CPU in a
1,200-resource run (see LAMBDA_MEMORY_MB).

Bedrock's side: `shared/reference/bedrock-agents.md` gives no figure for how long an agent waits for
its action-group Lambda, and none could be checked here, so this is not proven to fit inside it.
The relation: the agent waits for our answer while the turn runs; if it gives up before 120 s, the
turn fails with a dependency failure (the trace's failureReason) although the function would have
answered. If that is seen, lower max_request_s in the function's SSM configuration and this timeout
with it. The same holds for an AgentCore gateway waiting on its Lambda target (no figure found
either). Callers of InvokeAgent need a read timeout above it (the reference says 300 s).
"""
LAMBDA_MEMORY_MB: Final = 1024
"""Lambda sells CPU by memory (1,769 MB is one vCPU); the function needs the CPU more than the memory.

Memory: the agent's peak Python allocations in `python -m bench assessment` (README) were 17 / 58 /
68 MB for 300 / 1,200 / 2,400 resources, growing less than linearly (max_resources=1000 caps any one
service). The whole agent process peaked at 146 / 183 MB RSS for 300 / 1,200 resources (the same
bench with `resource.getrusage` added, tracemalloc's own overhead included; the interpreter with
the handler, boto3 and pydantic imported is 51 MB). So about 250 MB at 2,400 resources: 512 MB
would hold it with room to spare, 256 MB would not.

CPU: the agent process used 2.0 / 4.8 s of CPU for 300 / 1,200 resources (`time.process_time`
around the same runs), about 10 s projected for 2,400 on a full core. At 1024 MB (about 0.58 vCPU)
that is under 20 s of the 110 s budget; at 512 MB it would be a third of it. In Lambda the
direct-API fallback also signs and parses every AWS read in-process with boto3 (about three reads
per resource), work the benchmark's separate AWS API server did, so the real CPU share is higher
than measured: another reason not to go below 1024 MB. More would mostly buy idle time: the
function spends most of a request waiting on AWS and the MCP servers.
"""
LOG_RETENTION_DAYS: Final = 30
IDLE_SESSION_TTL_S: Final = 1800
ALIAS_NAME: Final = "live"
ACTION_GROUP_NAME: Final = "security-assessment"
GATEWAY_TARGET_NAME: Final = "security"
PERMISSION_STATEMENT_ID: Final = "bedrock-agent-invoke"
STACK_TAG: Final = "enhanced-security-agent:stack"
ENVIRONMENT_TAG: Final = "enhanced-security-agent:environment"
MANAGED_BY_TAG: Final = "enhanced-security-agent:managed-by"
MANAGED_BY: Final = "deploy_enhanced_security_agent.py"
AGENT_ID_PLACEHOLDER: Final = "${AgentId}"
REQUIREMENTS_FILE: Final = "requirements.txt"
LOCK_DIR: Final = "agent_config/deploy/lambda-lock"
"""One lock per architecture, `<arch>.txt` (see `agent_config.deploy.lock`)."""
SESSION_TTL_ATTRIBUTE: Final = TTL_ATTRIBUTE
SIGV4_SERVICE: Final = "bedrock-agentcore"
MAX_INSTRUCTION_CHARS: Final = 4000
"""botocore 1.44's `Instruction` shape allows 40-4,000 characters."""
GEO_PREFIXES: Final = frozenset({"us", "us-gov", "eu", "apac", "jp", "au", "ca", "global"})
_AGENT_NAME = re.compile(r"^[A-Za-z0-9](?:-?[A-Za-z0-9]){0,39}$")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}$")
_RUNTIME_ARN = re.compile(r"arn:aws[a-z-]*:bedrock-agentcore:[a-z0-9-]+:[0-9]{12}:runtime/[A-Za-z0-9_-]+")

ROLE_OPTION: Final[dict[ServerRole, str]] = {
    ServerRole.KNOWLEDGE: "knowledge",
    ServerRole.SECURITY: "security",
    ServerRole.AWS_API: "api",
}
"""Command-line names of the server roles (`--knowledge-url`, `--security-url`, `--api-url`)."""
ROLE_SERVER: Final[dict[ServerRole, str]] = {
    ServerRole.KNOWLEDGE: "knowledge",
    ServerRole.SECURITY: "security",
    ServerRole.AWS_API: "aws_api",
}
"""The role's server name in `AgentConfig.servers` (the built-in defaults)."""


class Architecture(StrEnum):
    X86_64 = "x86_64"
    ARM64 = "arm64"

    @property
    def pip_platform(self) -> str:
        return "manylinux2014_x86_64" if self is Architecture.X86_64 else "manylinux2014_aarch64"


class Target(StrEnum):
    AGENT = "agent"
    """An Agents Classic agent with an action group (existing Agents customers)."""
    AGENTCORE_GATEWAY = "agentcore-gateway"
    """An AgentCore Gateway with a Lambda target (accounts that cannot create Agents Classic agents)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------------------------------------
# Settings (the command line, validated)
# ---------------------------------------------------------------------------------------------


class ServerSetting(_Model):
    """Where one MCP server role is reached from the Lambda, and how it authenticates."""

    role: ServerRole
    url: str | None = None
    auth: AuthKind = AuthKind.NONE


class DeploySettings(_Model):
    region: str = DEFAULT_REGION
    account_id: str = Field(pattern=r"^[0-9]{12}$")
    partition: str = "aws"
    environment: Environment = Environment.PRODUCTION
    agent_name: str = DEFAULT_AGENT_NAME
    model: str = DEFAULT_MODEL
    architecture: Architecture = Architecture.X86_64
    target: Target = Target.AGENT
    servers: tuple[ServerSetting, ...] = ()
    log_retention_days: int = LOG_RETENTION_DAYS
    idle_session_ttl_s: int = Field(default=IDLE_SESSION_TTL_S, ge=60, le=5400)
    """The agent's idleSessionTTLInSeconds, and the session table's item lifetime with it."""

    @field_validator("agent_name")
    @classmethod
    def _valid_name(cls, name: str) -> str:
        if not _AGENT_NAME.fullmatch(name):
            raise ValueError(
                "use 1-40 letters, digits and single hyphens, starting and ending with a letter or digit "
                "(it names the agent, the gateway, the function, the roles and the table)"
            )
        return name

    @field_validator("region")
    @classmethod
    def _valid_region(cls, region: str) -> str:
        if not _REGION.fullmatch(region):
            raise ValueError(f"{region!r} is not an AWS Region code such as us-east-1")
        return region

    def server(self, role: ServerRole) -> ServerSetting:
        for setting in self.servers:
            if setting.role is role:
                return setting
        return ServerSetting(role=role)


# ---------------------------------------------------------------------------------------------
# The model and its inference profile
# ---------------------------------------------------------------------------------------------


class ModelRef(_Model):
    """The `--model` value split into what the agent is given and what IAM must allow."""

    agent_model: str
    """What `create_agent(foundationModel=...)` gets: the profile id (or model id) as given."""
    inference_profile_id: str | None
    foundation_model_id: str


def parse_model(model: str) -> ModelRef:
    """Split a model id, a system inference profile id or either's ARN.

    Current Claude models are served through inference profiles (`us.anthropic...`), whose
    requests the service routes to the foundation model in several Regions; IAM needs both.
    """
    value = model
    if model.startswith("arn:"):
        resource = model.split(":", 5)[-1]
        kind, _, value = resource.partition("/")
        if kind == "foundation-model":
            return ModelRef(agent_model=model, inference_profile_id=None, foundation_model_id=value)
        if kind != "inference-profile":
            raise DeployError(
                f"--model {model} is a {kind}, which this deploy cannot derive IAM permissions for.",
                "Pass a system inference profile id such as us.anthropic.claude-haiku-4-5-20251001-v1:0.",
            )
    prefix, _, rest = value.partition(".")
    if prefix in GEO_PREFIXES and rest:
        return ModelRef(agent_model=model, inference_profile_id=value, foundation_model_id=rest)
    return ModelRef(agent_model=model, inference_profile_id=None, foundation_model_id=value)


_PROFILE_GEOGRAPHIES: Final[tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]] = (
    (("us-gov-",), ("us-gov",)),
    (("us-",), ("us",)),
    (("eu-",), ("eu",)),
    (("ap-northeast-1", "ap-northeast-3"), ("apac", "jp")),
    (("ap-southeast-2", "ap-southeast-4"), ("apac", "au")),
    (("ap-",), ("apac",)),
    (("ca-",), ("ca", "us")),
)
"""(Region code prefixes, the inference-profile prefixes callable from them); the first match wins."""


def profile_prefixes_for(region: str) -> tuple[str, ...] | None:
    """The geographic inference-profile prefixes a caller in `region` may use, the usual one first.

    A geographic profile (`us.`, `eu.`, ...) can only be called from a Region of its geography;
    Bedrock refuses any other at `create_agent`, after the roles, table and function already exist.
    `None` means a Region whose geography this table does not know: it is not checked (and
    Bedrock's own error still applies). `global.` profiles fit every commercial Region.
    """
    for region_prefixes, profile_prefixes in _PROFILE_GEOGRAPHIES:
        if region.startswith(region_prefixes):
            return profile_prefixes
    return None


def check_model_region(model: ModelRef, region: str) -> None:
    """Refuse a geographic inference profile that cannot be called from `region`, in one sentence."""
    if model.inference_profile_id is None:
        return
    prefix = model.inference_profile_id.split(".", 1)[0]
    allowed = profile_prefixes_for(region)
    if prefix == "global" or allowed is None or prefix in allowed:
        return
    right, base = allowed[0], model.foundation_model_id
    raise DeployError(
        f"--model {model.agent_model} is a {prefix}. inference profile, which cannot be used from {region}: "
        f"pass --model {right}.{base} ({right}. is the prefix for {region}) or --model global.{base} "
        "(global. fits every Region)."
    )


# ---------------------------------------------------------------------------------------------
# Resource specifications
# ---------------------------------------------------------------------------------------------


class PackageSpec(_Model):
    requirements_file: str = REQUIREMENTS_FILE
    requirements_sha256: str
    lock_file: str
    """The architecture's lock (`agent_config.deploy.lock`): what pip installs, with --require-hashes."""
    lock_sha256: str | None = None
    """None when the lock is missing: the dry run still prints, the build refuses with the command to run."""
    platform: str
    python_version: str = LAMBDA_PYTHON_VERSION
    architecture: Architecture
    contents: tuple[str, ...] = ("the dependencies pinned in lock_file", "agent_config (without sandbox/)")


class RoleSpec(_Model):
    name: str
    arn: str
    description: str
    trust_policy: dict[str, Any]
    inline_policies: dict[str, dict[str, Any]]


class TableSpec(_Model):
    """The sessions table exactly as the session store defines it (`session.table.table_definition`)."""

    name: str
    arn: str
    definition: dict[str, Any]
    """`create_table` arguments from `agent_config.session.table.table_definition` (one definition)."""
    ttl_attribute: str = SESSION_TTL_ATTRIBUTE

    @property
    def billing_mode(self) -> str:
        return str(self.definition.get("BillingMode", "PAY_PER_REQUEST"))

    def create_table_kwargs(self, tags: dict[str, str]) -> dict[str, Any]:
        return {**self.definition, "Tags": tag_list(tags)}


class LogGroupSpec(_Model):
    name: str
    arn: str
    retention_days: int


class ParameterSpec(_Model):
    name: str
    arn: str
    description: str
    value: str


class SecretSpec(_Model):
    name: str
    description: str
    role: ServerRole


class FunctionSpec(_Model):
    name: str
    arn: str
    runtime: str = LAMBDA_RUNTIME
    handler: str = LAMBDA_HANDLER
    role_name: str
    timeout_s: int = LAMBDA_TIMEOUT_S
    memory_mb: int = LAMBDA_MEMORY_MB
    architecture: Architecture
    environment: dict[str, str]
    description: str


class AgentSpec(_Model):
    name: str
    arn_pattern: str
    foundation_model: str
    role_name: str
    instruction: str
    idle_session_ttl_s: int = IDLE_SESSION_TTL_S
    description: str


class ActionGroupSpec(_Model):
    name: str
    description: str
    function_arn: str
    operations: tuple[str, ...]
    api_schema_sha256: str
    api_schema: dict[str, Any] = Field(exclude=True, repr=False)
    """Not printed by --dry-run (it is long; `security-agent schema` prints it); its hash is."""

    def payload(self) -> str:
        return json.dumps(self.api_schema, indent=2, sort_keys=True)


class PermissionSpec(_Model):
    function_name: str
    statement_id: str = PERMISSION_STATEMENT_ID
    principal: str = "bedrock.amazonaws.com"
    action: str = "lambda:InvokeFunction"
    source_arn: str
    source_account: str


class AliasSpec(_Model):
    name: str = ALIAS_NAME
    description_prefix: str = "Managed by deploy_enhanced_security_agent.py"


class GatewaySpec(_Model):
    name: str
    role_name: str
    authorizer_type: str = "AWS_IAM"
    description: str
    instructions: str


class GatewayTargetSpec(_Model):
    name: str = GATEWAY_TARGET_NAME
    description: str
    function_arn: str
    tools: tuple[dict[str, Any], ...]


class StarResource(_Model):
    """A read action allowed on `"*"`, and why no narrower resource can allow it."""

    action: str
    reason: str


class DeployPlan(_Model):
    settings: DeploySettings
    tags: dict[str, str]
    package: PackageSpec
    lambda_role: RoleSpec
    table: TableSpec
    log_group: LogGroupSpec
    secrets: tuple[SecretSpec, ...]
    parameters: tuple[ParameterSpec, ...]
    outputs_parameter: str
    function: FunctionSpec
    agent_role: RoleSpec | None = None
    agent: AgentSpec | None = None
    action_group: ActionGroupSpec | None = None
    permission: PermissionSpec | None = None
    alias: AliasSpec | None = None
    gateway_role: RoleSpec | None = None
    gateway: GatewaySpec | None = None
    gateway_target: GatewayTargetSpec | None = None
    star_resources: tuple[StarResource, ...]
    notes: tuple[str, ...]

    def roles(self) -> list[RoleSpec]:
        return [r for r in (self.lambda_role, self.agent_role, self.gateway_role) if r is not None]

    def policy_documents(self) -> dict[str, dict[str, Any]]:
        """Every IAM document by `<role>/<policy>` (trust policies as `<role>/trust`), for the tests."""
        documents: dict[str, dict[str, Any]] = {}
        for role in self.roles():
            documents[f"{role.name}/trust"] = role.trust_policy
            for name, document in role.inline_policies.items():
                documents[f"{role.name}/{name}"] = document
        return documents

    def fingerprint(self) -> str:
        """A short hash of what the agent and its action group are made of (stored on the alias)."""
        parts = {
            "agent": self.agent.model_dump(mode="json") if self.agent else None,
            "action_group": self.action_group.model_dump(mode="json") if self.action_group else None,
            "schema": self.action_group.api_schema_sha256 if self.action_group else None,
        }
        return hashlib.sha256(canonical_json(parts).encode()).hexdigest()[:16]

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=2) + "\n"


# ---------------------------------------------------------------------------------------------
# Building the plan
# ---------------------------------------------------------------------------------------------


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def lock_file(architecture: Architecture) -> str:
    """Where the architecture's dependency lock lives, relative to the project root."""
    return f"{LOCK_DIR}/{architecture.value}.txt"


def requirements_sha256(root: Path) -> str:
    return hashlib.sha256((root / REQUIREMENTS_FILE).read_bytes()).hexdigest()


_WHEN = re.compile(r"(?:Call|Use) (?:it|this) (?:when|for|after)[^.]*(?:\.|$)|Use an? [^.]*(?:\.|$)")


def when_to_use(route: Route) -> str:
    """The operation's summary and the sentence of its description that says when to call it."""
    found = _WHEN.search(route.description)
    summary = route.summary or route.operation_id
    return f"{summary}. {found.group(0).strip()}" if found else summary


def agent_instruction(routes: dict[str, Route]) -> str:
    """The agent's instruction: its purpose, its rules, and when to use each operation.

    The "when" comes from each operation's description in the OpenAPI schema (written for the
    model: "Call it when ..."), so adding an operation updates the instruction too. Whole
    descriptions are used while they fit botocore's 4,000-character limit; otherwise the summary and
    the "Call it ..." sentence; otherwise the summaries alone.
    """
    head = (
        "You are a read-only AWS security assessment assistant. Answer questions about the security of "
        "the user's AWS account by calling the operations of your action group; never invent findings, "
        "and say which data sources were unavailable when an answer lists them as degraded. You cannot "
        "change the account: give remediation as steps and link the official AWS documentation the "
        "operations return. When an operation answers with an error, follow its guidance.\n"
        "Operations and when to use them:\n"
    )
    for describe in (
        lambda r: r.description or r.summary,
        when_to_use,
        lambda r: r.summary or r.operation_id,
    ):
        lines = [f"- {r.operation_id} ({r.method} {r.path}): {describe(r)}" for r in routes.values()]
        text = head + "\n".join(lines)
        if len(text) <= MAX_INSTRUCTION_CHARS:
            return text
    return text[:MAX_INSTRUCTION_CHARS]


def _auth_layer(auth: AuthKind, secret_name: str, region: str) -> dict[str, Any]:
    if auth is AuthKind.BEARER:
        return {"kind": "bearer", "secret_id": secret_name}
    if auth is AuthKind.SIGV4:
        return {"kind": "sigv4", "sigv4_service": SIGV4_SERVICE, "sigv4_region": region}
    return {"kind": "none"}


def secret_name(agent_name: str, role: ServerRole) -> str:
    return f"{agent_name}/mcp/{ROLE_OPTION[role]}-token"


def servers_layer(settings: DeploySettings) -> dict[str, Any]:
    """The configuration's `servers` layer for the deployed function.

    The Lambda package carries no stdio MCP servers (their environments conflict with ours), so a
    role without a URL is switched off, except Knowledge, whose default is the public remote server
    with the offline one as its fallback. The direct-API fallback still gathers evidence with the
    function's own role when the AWS API server is off.
    """
    layer: dict[str, Any] = {}
    for role, name in ROLE_SERVER.items():
        setting = settings.server(role)
        if setting.url:
            layer[name] = {
                "transport": "streamable_http",
                "url": setting.url,
                "auth": _auth_layer(setting.auth, secret_name(settings.agent_name, role), settings.region),
            }
        elif role is not ServerRole.KNOWLEDGE:
            layer[name] = {"enabled": False}
        elif setting.auth is not AuthKind.NONE:
            layer[name] = {"auth": _auth_layer(setting.auth, secret_name(settings.agent_name, role), settings.region)}
    return layer


def configuration_document(settings: DeploySettings, table_name: str) -> dict[str, Any]:
    """The JSON document the function reads from SSM (`SECURITY_AGENT_SSM_PARAMETER`)."""
    return {
        "environment": settings.environment.value,
        "default_regions": [settings.region],
        "sessions_table": table_name,
        "session_ttl_s": settings.idle_session_ttl_s,
        "features": Features().model_dump(mode="json"),
        "servers": servers_layer(settings),
    }


def _checked_configuration(document: dict[str, Any], parameter: str, environment: Environment) -> dict[str, Any]:
    """Validate the document exactly as the function will load it, so a bad URL fails the deploy."""
    try:
        config = load_config(
            environ={SSM_PARAMETER_ENV: parameter, ENVIRONMENT_ENV: environment.value},
            ssm_fetch=lambda _name: document,
        )
    except ConfigurationError as exc:
        raise DeployError(
            f"The function's configuration would be invalid: {exc.message}.",
            "Fix the MCP server options (--*-url must be https, --*-auth none|bearer|sigv4).",
        ) from exc
    return {
        name: {
            "role": server.role.value,
            "transport": server.transport.value,
            "enabled": server.enabled,
            "url": server.url,
            "auth": server.auth.kind.value,
        }
        for name, server in sorted(config.servers.items())
    }


def _runtime_arns(settings: DeploySettings) -> list[str]:
    """AgentCore runtime ARNs the function signs requests to (SigV4 servers); exact when the URL names one."""
    arns: set[str] = set()
    for setting in settings.servers:
        if setting.auth is not AuthKind.SIGV4 or not setting.url:
            continue
        found = _RUNTIME_ARN.search(unquote(urlparse(setting.url).path))
        arns.add(
            found.group(0)
            if found
            else f"arn:{settings.partition}:bedrock-agentcore:{settings.region}:{settings.account_id}:runtime/*"
        )
    return sorted(arns)


def build_plan(
    settings: DeploySettings,
    schema: dict[str, Any],
    read_actions: list[str],
    root: Path,
    *,
    check_model: bool = True,
) -> DeployPlan:
    """The complete plan for `settings`; `schema` is the OpenAPI schema, `read_actions` the catalogue's
    (the role also gets the security-services fallback's, `direct_security.IAM_ACTIONS`).

    `check_model=False` skips the model/Region check, for the modes that use the plan's names only
    (--validate, --destroy): they must work on a stack whatever --model the person passes now.
    """
    s = settings
    p, region, account = s.partition, s.region, s.account_id
    name = s.agent_name
    tags = {STACK_TAG: name, ENVIRONMENT_TAG: s.environment.value, MANAGED_BY_TAG: MANAGED_BY}
    routes = routes_from_schema(schema)

    function_name = f"{name}-actions"
    function_arn = f"arn:{p}:lambda:{region}:{account}:function:{function_name}"
    table = TableSpec(
        name=f"{name}-sessions",
        arn=f"arn:{p}:dynamodb:{region}:{account}:table/{name}-sessions",
        definition=table_definition(f"{name}-sessions"),
    )
    log_name = f"/aws/lambda/{function_name}"
    log_group = LogGroupSpec(
        name=log_name,
        arn=f"arn:{p}:logs:{region}:{account}:log-group:{log_name}",
        retention_days=s.log_retention_days,
    )
    prefix = f"/{name}"

    def parameter_arn(parameter: str) -> str:
        return f"arn:{p}:ssm:{region}:{account}:parameter{parameter}"

    config_name = f"{prefix}/config"
    config_document = configuration_document(s, table.name)
    effective_servers = _checked_configuration(config_document, config_name, s.environment)
    parameters = (
        ParameterSpec(
            name=config_name,
            arn=parameter_arn(config_name),
            description=f"{name}: the function's configuration layer (SECURITY_AGENT_SSM_PARAMETER)",
            value=canonical_json(config_document),
        ),
        ParameterSpec(
            name=f"{prefix}/feature-flags",
            arn=parameter_arn(f"{prefix}/feature-flags"),
            description=f"{name}: feature flags as deployed (a copy of config.features, for operators)",
            value=canonical_json(config_document["features"]),
        ),
        ParameterSpec(
            name=f"{prefix}/mcp-servers",
            arn=parameter_arn(f"{prefix}/mcp-servers"),
            description=f"{name}: the MCP servers the function uses, as deployed (derived from config)",
            value=canonical_json(effective_servers),
        ),
    )
    outputs_parameter = f"{prefix}/deployment"
    secrets = tuple(
        SecretSpec(
            name=secret_name(name, setting.role),
            description=f"{name}: bearer token for the {setting.role.value} MCP server (the token, or JSON "
            '{"token": ...}); set it with put-secret-value',
            role=setting.role,
        )
        for setting in sorted(s.servers, key=lambda x: x.role.value)
        if setting.auth is AuthKind.BEARER
    )
    runtime_policy = iam.lambda_runtime_policy(
        log_group_arn=log_group.arn,
        table_arn=table.arn,
        parameter_arns=[parameter_arn(f"{prefix}/*")],
        secret_arn_pattern=f"arn:{p}:secretsmanager:{region}:{account}:secret:{name}/*",
        agentcore_runtime_arns=_runtime_arns(s),
    )
    # The direct reads: the checks' evidence, and the security services' status and findings when the
    # Security server is not deployed (each list derived from the code that makes the calls).
    fallback_actions = sorted(set(read_actions) | set(SECURITY_FALLBACK_ACTIONS))
    fallback_policy, star = iam.direct_api_policy(fallback_actions, p, account)
    lambda_role = RoleSpec(
        name=f"{name}-lambda-role",
        arn=f"arn:{p}:iam::{account}:role/{name}-lambda-role",
        description=f"Execution role of the {function_name} function (read-only assessment)",
        trust_policy=iam.trust_policy("lambda.amazonaws.com"),
        inline_policies={"own-resources": runtime_policy, "direct-api-read": fallback_policy},
    )
    function = FunctionSpec(
        name=function_name,
        arn=function_arn,
        role_name=lambda_role.name,
        architecture=s.architecture,
        environment={
            SSM_PARAMETER_ENV: config_name,
            ENVIRONMENT_ENV: s.environment.value,
            "LOG_LEVEL": "INFO",
            "POWERTOOLS_SERVICE_NAME": name,
        },
        description="Enhanced Security Agent: action-group backend (read-only AWS security assessment)",
    )
    lock = lock_file(s.architecture)
    package = PackageSpec(
        requirements_sha256=requirements_sha256(root),
        lock_file=lock,
        lock_sha256=hashlib.sha256((root / lock).read_bytes()).hexdigest() if (root / lock).is_file() else None,
        platform=s.architecture.pip_platform,
        architecture=s.architecture,
    )
    notes = [
        f"Lambda timeout {LAMBDA_TIMEOUT_S} s: the handler's 110 s request cap, its 5 s answer margin and 5 s for "
        f"a cold start; memory {LAMBDA_MEMORY_MB} MB for its CPU share (about 0.58 vCPU), the agent itself peaked at "
        "68 MB in `python -m bench assessment` (2,400 resources).",
        f"The sessions table is created from agent_config.session.table.table_definition (TTL on "
        f"{SESSION_TTL_ATTRIBUTE}); its IAM actions are agent_config.session.table.REQUIRED_IAM_ACTIONS.",
        "The Lambda package has no stdio MCP servers: roles without a --*-url are disabled, except Knowledge "
        "(public remote server, offline fallback); the direct-API fallback reads with the function's role.",
        "The Lambda trust policy has no aws:SourceAccount condition: Lambda does not supply it when it "
        "assumes an execution role.",
    ]
    plan: dict[str, Any] = {
        "settings": s,
        "tags": tags,
        "package": package,
        "lambda_role": lambda_role,
        "table": table,
        "log_group": log_group,
        "secrets": secrets,
        "parameters": parameters,
        "outputs_parameter": outputs_parameter,
        "function": function,
        "star_resources": tuple(StarResource(action=a, reason=r) for a, r in sorted(star.items())),
    }
    if s.target is Target.AGENT:
        plan.update(_agent_part(s, routes, schema, function_arn, function_name, check_model=check_model))
    else:
        plan.update(_gateway_part(s, routes, function_arn))
        notes.append(
            "The gateway's authorizer is AWS_IAM: MCP clients sign requests with SigV4 "
            "(bedrock-agentcore:InvokeGateway on the gateway)."
        )
    plan["notes"] = tuple(notes)
    return DeployPlan(**plan)


def _agent_part(
    s: DeploySettings,
    routes: dict[str, Route],
    schema: dict[str, Any],
    function_arn: str,
    function_name: str,
    *,
    check_model: bool = True,
) -> dict[str, Any]:
    p, region, account, name = s.partition, s.region, s.account_id, s.agent_name
    model = parse_model(s.model)
    if check_model:
        check_model_region(model, region)
    profile_arn = (
        f"arn:{p}:bedrock:{region}:{account}:inference-profile/{model.inference_profile_id}"
        if model.inference_profile_id
        else None
    )
    model_region = "*" if model.inference_profile_id else region
    agents = f"arn:{p}:bedrock:{region}:{account}:agent/*"
    agent_role = RoleSpec(
        name=f"{name}-agent-role",
        arn=f"arn:{p}:iam::{account}:role/{name}-agent-role",
        description=f"Service role of the {name} Bedrock agent (invokes its model only)",
        trust_policy=iam.trust_policy("bedrock.amazonaws.com", iam.confused_deputy_conditions(account, agents)),
        inline_policies={
            "invoke-model": iam.agent_model_policy(
                inference_profile_arn=profile_arn,
                foundation_model_arns=[f"arn:{p}:bedrock:{model_region}::foundation-model/{model.foundation_model_id}"],
            )
        },
    )
    schema_json = canonical_json(schema)
    agent_arn = f"arn:{p}:bedrock:{region}:{account}:agent/{AGENT_ID_PLACEHOLDER}"
    return {
        "agent_role": agent_role,
        "agent": AgentSpec(
            name=name,
            arn_pattern=agent_arn,
            foundation_model=model.agent_model,
            role_name=agent_role.name,
            instruction=agent_instruction(routes),
            idle_session_ttl_s=s.idle_session_ttl_s,
            description="Read-only AWS security assessment through three MCP servers",
        ),
        "action_group": ActionGroupSpec(
            name=ACTION_GROUP_NAME,
            description="Security assessment operations served by the Enhanced Security Agent Lambda",
            function_arn=function_arn,
            operations=tuple(routes),
            api_schema_sha256=hashlib.sha256(schema_json.encode()).hexdigest(),
            api_schema=schema,
        ),
        "permission": PermissionSpec(function_name=function_name, source_arn=agent_arn, source_account=account),
        "alias": AliasSpec(),
    }


def _gateway_part(s: DeploySettings, routes: dict[str, Route], function_arn: str) -> dict[str, Any]:
    p, region, account, name = s.partition, s.region, s.account_id, s.agent_name
    gateways = f"arn:{p}:bedrock-agentcore:{region}:{account}:gateway/*"
    gateway_role = RoleSpec(
        name=f"{name}-gateway-role",
        arn=f"arn:{p}:iam::{account}:role/{name}-gateway-role",
        description=f"Role of the {name} AgentCore gateway (invokes the action function only)",
        trust_policy=iam.trust_policy(
            "bedrock-agentcore.amazonaws.com", iam.confused_deputy_conditions(account, gateways)
        ),
        inline_policies={"invoke-function": iam.gateway_invoke_policy(function_arn)},
    )
    return {
        "gateway_role": gateway_role,
        "gateway": GatewaySpec(
            name=name,
            role_name=gateway_role.name,
            description="Enhanced Security Agent tools (read-only AWS security assessment)",
            instructions=agent_instruction(routes)[:2048],
        ),
        "gateway_target": GatewayTargetSpec(
            description="The Enhanced Security Agent Lambda: one tool per operation of its OpenAPI schema",
            function_arn=function_arn,
            tools=tuple(tool_definitions(routes)),
        ),
    }


def default_servers_note() -> str:
    """For the help text: what a role without options uses."""
    knowledge = default_layer()["servers"]["knowledge"]["url"]
    return f"Knowledge defaults to {knowledge} (offline fallback); Security and API are off without a URL."
