"""The plan: names derived from --agent-name, the function's configuration document (validated the
way the function will load it), the table from the session store's own definition, the instruction."""

from __future__ import annotations

import io
import json

import pytest

from agent_config.config import ENVIRONMENT_ENV, SSM_PARAMETER_ENV, AuthKind, load_config
from agent_config.deploy.cli import main
from agent_config.deploy.errors import DeployError
from agent_config.deploy.plan import (
    LAMBDA_MEMORY_MB,
    LAMBDA_TIMEOUT_S,
    MAX_INSTRUCTION_CHARS,
    STACK_TAG,
    ServerSetting,
    Target,
    agent_instruction,
)
from agent_config.interfaces import ServerRole
from agent_config.schema import schema_routes
from agent_config.session.table import table_definition
from tests.contract.deploy.deploy_stubs import ACCOUNT, plan_for, settings


def test_every_name_derives_from_the_agent_name_and_everything_is_tagged() -> None:
    plan = plan_for()
    assert plan.function.name == "esa-test-actions"
    assert plan.table.name == "esa-test-sessions"
    assert plan.log_group.name == "/aws/lambda/esa-test-actions"
    assert [p.name for p in plan.parameters] == [
        "/esa-test/config",
        "/esa-test/feature-flags",
        "/esa-test/mcp-servers",
    ]
    assert plan.outputs_parameter == "/esa-test/deployment"
    assert plan.tags[STACK_TAG] == "esa-test"
    assert plan.function.environment[SSM_PARAMETER_ENV] == "/esa-test/config"


def test_the_table_is_the_session_stores_own_definition() -> None:
    plan = plan_for()
    kwargs = plan.table.create_table_kwargs(plan.tags)
    assert {k: v for k, v in kwargs.items() if k != "Tags"} == table_definition("esa-test-sessions")
    assert {"Key": STACK_TAG, "Value": "esa-test"} in kwargs["Tags"]
    assert plan.table.ttl_attribute == "expires_at"


def test_the_configuration_document_loads_as_the_function_will_load_it() -> None:
    servers = (
        ServerSetting(role=ServerRole.KNOWLEDGE, url="https://knowledge.example.com/mcp", auth=AuthKind.BEARER),
        ServerSetting(role=ServerRole.SECURITY, url="https://security.example.com/mcp", auth=AuthKind.SIGV4),
    )
    plan = plan_for(settings(servers=servers))
    document = json.loads(plan.parameters[0].value)
    config = load_config(environ={SSM_PARAMETER_ENV: "/esa-test/config"}, ssm_fetch=lambda _name: document)
    assert config.sessions_table == "esa-test-sessions"
    assert config.servers["knowledge"].auth.secret_id == "esa-test/mcp/knowledge-token"
    assert config.servers["security"].auth.sigv4_service == "bedrock-agentcore"
    assert config.servers["aws_api"].enabled is False  # no URL and no stdio server in the package
    assert [s.name for s in plan.secrets] == ["esa-test/mcp/knowledge-token"]
    listed = json.loads(plan.parameters[2].value)
    assert listed["security"] == {
        "role": "security",
        "transport": "streamable_http",
        "enabled": True,
        "url": "https://security.example.com/mcp",
        "auth": "sigv4",
    }


def test_the_function_timeout_covers_the_handlers_request_budget_and_no_more() -> None:
    # GIVEN the configuration the deployed function loads (production: its own answer margin)
    plan = plan_for()
    document = json.loads(plan.parameters[0].value)
    config = load_config(
        environ={SSM_PARAMETER_ENV: "/esa-test/config", ENVIRONMENT_ENV: plan.settings.environment.value},
        ssm_fetch=lambda _name: document,
    )
    needed = config.max_request_s + config.lambda_safety_margin_s

    # THEN the timeout leaves the whole request budget plus the margin, with at most 10 s unused
    # (if max_request_s or the margin change, LAMBDA_TIMEOUT_S and its docstring change with them)
    assert plan.function.timeout_s == LAMBDA_TIMEOUT_S
    assert needed <= LAMBDA_TIMEOUT_S <= needed + 10, (config.max_request_s, config.lambda_safety_margin_s)
    assert plan.function.memory_mb == LAMBDA_MEMORY_MB and 128 <= LAMBDA_MEMORY_MB <= 10_240


def test_session_history_expires_with_the_agents_idle_session() -> None:
    # GIVEN a deploy asking for a 15-minute idle session
    plan = plan_for(settings(idle_session_ttl_s=900))

    # THEN the agent gets that TTL and the function keeps session state exactly that long
    document = json.loads(plan.parameters[0].value)
    config = load_config(environ={SSM_PARAMETER_ENV: "/esa-test/config"}, ssm_fetch=lambda _name: document)
    assert plan.agent.idle_session_ttl_s == 900
    assert config.session_ttl_s == 900


@pytest.mark.parametrize("seconds", [59, 5401])
def test_an_idle_session_ttl_bedrock_would_refuse_is_refused_before_any_call(seconds: int) -> None:
    with pytest.raises(ValueError, match="idle_session_ttl_s"):
        settings(idle_session_ttl_s=seconds)


def test_a_configuration_the_function_would_refuse_fails_the_plan() -> None:
    servers = (ServerSetting(role=ServerRole.SECURITY, url="http://security.example.com/mcp"),)
    with pytest.raises(DeployError, match="must use https"):
        plan_for(settings(servers=servers))


def test_the_instruction_says_when_to_use_every_operation_within_the_limit() -> None:
    routes = schema_routes()
    text = agent_instruction(routes)
    assert 40 <= len(text) <= MAX_INSTRUCTION_CHARS
    for operation in routes:
        assert f"- {operation} (" in text
    assert "Call it when the user asks whether the agent's data sources work" in text


def test_a_us_profile_in_an_eu_region_is_refused_in_the_plan_naming_the_right_prefix() -> None:
    # GIVEN the default model (a us. inference profile) and a European Region
    # WHEN the plan is built, THEN it refuses in one sentence naming eu. and global., before any AWS call
    with pytest.raises(DeployError) as caught:
        plan_for(settings(region="eu-west-1"))
    text = str(caught.value)
    assert text == (
        "--model us.anthropic.claude-haiku-4-5-20251001-v1:0 is a us. inference profile, which cannot be used "
        "from eu-west-1: pass --model eu.anthropic.claude-haiku-4-5-20251001-v1:0 (eu. is the prefix for "
        "eu-west-1) or --model global.anthropic.claude-haiku-4-5-20251001-v1:0 (global. fits every Region)."
    )


@pytest.mark.parametrize(
    ("region", "prefix", "right"),
    [
        ("us-east-1", "eu", "us"),
        ("ap-southeast-1", "us", "apac"),
        ("ap-southeast-1", "jp", "apac"),
        ("us-gov-west-1", "us", "us-gov"),
        ("eu-central-1", "apac", "eu"),
    ],
)
def test_a_profile_of_another_geography_is_refused(region: str, prefix: str, right: str) -> None:
    with pytest.raises(DeployError, match=rf"is a {prefix}\. inference profile.*pass --model {right}\.anthropic"):
        plan_for(settings(region=region, model=f"{prefix}.anthropic.claude-haiku-4-5-20251001-v1:0"))


@pytest.mark.parametrize(
    ("region", "model"),
    [
        ("us-east-1", "us.anthropic.claude-haiku-4-5-20251001-v1:0"),
        ("us-west-2", "global.anthropic.claude-haiku-4-5-20251001-v1:0"),
        ("eu-west-1", "eu.anthropic.claude-haiku-4-5-20251001-v1:0"),
        ("eu-west-1", "global.anthropic.claude-haiku-4-5-20251001-v1:0"),
        ("ap-northeast-1", "jp.anthropic.claude-haiku-4-5-20251001-v1:0"),
        ("ap-northeast-1", "apac.anthropic.claude-haiku-4-5-20251001-v1:0"),
        ("ap-southeast-2", "au.anthropic.claude-haiku-4-5-20251001-v1:0"),
        ("us-gov-west-1", "us-gov.anthropic.claude-3-haiku-20240307-v1:0"),
        ("eu-west-1", "anthropic.claude-3-haiku-20240307-v1:0"),  # a plain model id: no geography
        ("sa-east-1", "us.anthropic.claude-haiku-4-5-20251001-v1:0"),  # a Region the table does not know
    ],
)
def test_a_profile_that_fits_the_region_is_planned(region: str, model: str) -> None:
    plan = plan_for(settings(region=region, model=model))
    assert plan.agent is not None and plan.agent.foundation_model == model


def test_the_model_region_check_applies_to_the_agent_target_only_and_not_to_destroy() -> None:
    # The gateway target uses no model, so its --model is not checked
    assert plan_for(settings(region="eu-west-1", target=Target.AGENTCORE_GATEWAY)).agent is None
    # --destroy (and --validate) use the plan's names only: a stack is removable whatever --model says now
    out = io.StringIO()
    args = ["--destroy", "--region", "eu-west-1", "--agent-name", "esa-test", "--account-id", ACCOUNT]
    assert main(args, stdout=out, stdin=io.StringIO("")) == 1
    assert "Nothing was deleted" in out.getvalue() and "inference profile" not in out.getvalue()
