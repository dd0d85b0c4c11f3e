"""The plan: names derived from --agent-name, the function's configuration document (validated the
way the function will load it), the table from the session store's own definition, the instruction."""

from __future__ import annotations

import json

import pytest

from agent_config.config import SSM_PARAMETER_ENV, AuthKind, load_config
from agent_config.deploy.errors import DeployError
from agent_config.deploy.plan import MAX_INSTRUCTION_CHARS, STACK_TAG, ServerSetting, agent_instruction
from agent_config.interfaces import ServerRole
from agent_config.schema import schema_routes
from agent_config.session.table import table_definition
from tests.contract.deploy.deploy_stubs import plan_for, settings


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
