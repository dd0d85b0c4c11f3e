"""Configuration: layering order, environment profiles, and errors that name the bad field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent_config.config import (
    AgentConfig,
    AuthKind,
    Environment,
    Transport,
    env_layer,
    load_config,
)
from agent_config.interfaces import ServerRole
from agent_config.utils.error_handling import ConfigurationError


def test_defaults_configure_the_three_server_roles_with_the_offline_knowledge_fallback() -> None:
    config = load_config(environ={})

    assert set(config.servers) == {"security", "aws_api", "knowledge", "knowledge_offline"}
    assert config.servers["knowledge"].fallback == "knowledge_offline"
    assert config.servers["aws_api"].env["READ_OPERATIONS_ONLY"] == "true"
    assert config.environment is Environment.DEVELOPMENT
    assert {s.role for s in config.servers.values()} == set(ServerRole)


def test_each_layer_overrides_the_one_before(tmp_path: Path) -> None:
    # GIVEN a file, an SSM document and environment variables that all set log_level
    config_file = tmp_path / "agent.json"
    config_file.write_text(json.dumps({"log_level": "WARNING", "default_regions": ["eu-west-1"]}))
    ssm = {"log_level": "ERROR", "max_response_bytes": 15000}
    environ = {
        "SECURITY_AGENT_SSM_PARAMETER": "/agent/config",
        "SECURITY_AGENT__LOG_LEVEL": "CRITICAL",
    }

    # WHEN the configuration is loaded
    config = load_config(config_file, environ=environ, ssm_fetch=lambda name: ssm)

    # THEN environment variables win, SSM beats the file, the file beats the defaults
    assert config.log_level == "CRITICAL"
    assert config.max_response_bytes == 15000
    assert config.default_regions == ["eu-west-1"]


def test_nested_environment_variables_reach_one_server_without_replacing_the_others() -> None:
    environ = {
        "SECURITY_AGENT__SERVERS__KNOWLEDGE__URL": "https://mcp.example.com/mcp",
        "SECURITY_AGENT__SERVERS__SECURITY__MAX_CONCURRENCY": "8",
    }

    config = load_config(environ=environ)

    assert config.servers["knowledge"].url == "https://mcp.example.com/mcp"
    assert config.servers["knowledge"].transport is Transport.STREAMABLE_HTTP
    assert config.servers["security"].max_concurrency == 8
    assert config.servers["security"].command == "awslabs.well-architected-security-mcp-server"


def test_production_profile_keeps_a_larger_safety_margin() -> None:
    production = load_config(environ={"SECURITY_AGENT_ENVIRONMENT": "production"})
    development = load_config(environ={})

    assert production.lambda_safety_margin_s > development.lambda_safety_margin_s
    assert production.log_level == "INFO"


def test_toml_files_are_accepted(tmp_path: Path) -> None:
    config_file = tmp_path / "agent.toml"
    config_file.write_text('environment = "staging"\n[servers.security]\nmax_concurrency = 2\n')

    config = load_config(config_file, environ={})

    assert config.environment is Environment.STAGING
    assert config.servers["security"].max_concurrency == 2


def test_the_seed_log_level_variable_is_honoured() -> None:
    assert load_config(environ={"LOG_LEVEL": "DEBUG"}).log_level == "DEBUG"


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"SECURITY_AGENT__SERVERS__KNOWLEDGE__URL": "http://mcp.example.com/mcp"}, "servers.knowledge"),
        ({"SECURITY_AGENT__SERVERS__SECURITY__MAX_CONCURRENCY": "0"}, "servers.security.max_concurrency"),
        ({"SECURITY_AGENT__SERVERS__SECURITY__TRANSPORT": "carrier-pigeon"}, "servers.security.transport"),
        ({"SECURITY_AGENT__SERVERS__KNOWLEDGE__FALLBACK": "nowhere"}, "unknown server 'nowhere'"),
        ({"SECURITY_AGENT__SERVERS__SECURITY__COLOUR": "blue"}, "servers.security.colour"),
        ({"SECURITY_AGENT__DEFAULT_REGIONS": "[]"}, "default_regions"),
        ({"SECURITY_AGENT_ENVIRONMENT": "moon"}, "environment"),
    ],
    ids=[
        "plain-http-remote",
        "zero-concurrency",
        "unknown-transport",
        "unknown-fallback",
        "unknown-field",
        "no-regions",
        "unknown-environment",
    ],
)
def test_invalid_configuration_fails_naming_the_field(environ: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_config(environ=environ)

    assert named in caught.value.message


def test_plain_http_is_allowed_on_loopback_only() -> None:
    config = load_config(environ={"SECURITY_AGENT__SERVERS__KNOWLEDGE__URL": "http://127.0.0.1:8080/mcp"})

    assert config.servers["knowledge"].url == "http://127.0.0.1:8080/mcp"


def test_bearer_auth_without_a_secret_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="secret_id"):
        load_config(environ={"SECURITY_AGENT__SERVERS__KNOWLEDGE__AUTH__KIND": "bearer"})


def test_bearer_auth_names_a_secret_and_never_holds_the_token() -> None:
    config = load_config(
        environ={"SECURITY_AGENT__SERVERS__KNOWLEDGE__AUTH": json.dumps({"kind": "bearer", "secret_id": "mcp/token"})}
    )

    auth = config.servers["knowledge"].auth
    assert auth.kind is AuthKind.BEARER
    assert "token" not in auth.model_dump(exclude={"secret_id", "kind"})


def test_an_unreadable_or_malformed_file_is_a_configuration_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")

    with pytest.raises(ConfigurationError, match="not valid"):
        load_config(broken, environ={})
    with pytest.raises(ConfigurationError, match="cannot read"):
        load_config(tmp_path / "absent.json", environ={})


def test_an_ssm_failure_is_reported_as_a_configuration_error() -> None:
    def failing_fetch(name: str) -> dict[str, object]:
        raise RuntimeError("ParameterNotFound")

    with pytest.raises(ConfigurationError, match="SSM parameter /missing"):
        load_config(environ={"SECURITY_AGENT_SSM_PARAMETER": "/missing"}, ssm_fetch=failing_fetch)


def test_region_specific_overrides_choose_the_url() -> None:
    config = AgentConfig.model_validate(
        {
            "servers": {
                "knowledge": {
                    "role": "knowledge",
                    "transport": "streamable_http",
                    "url": "https://knowledge.example.com/mcp",
                    "region_specific": {"eu-west-1": {"url": "https://eu.knowledge.example.com/mcp"}},
                }
            }
        }
    )

    server = config.servers["knowledge"]
    assert server.url_for("eu-west-1") == "https://eu.knowledge.example.com/mcp"
    assert server.url_for("us-east-1") == "https://knowledge.example.com/mcp"


def test_env_layer_parses_json_values_and_keeps_plain_strings() -> None:
    layer = env_layer({"SECURITY_AGENT__A__B": "3", "SECURITY_AGENT__C": "plain text", "OTHER": "x"})

    assert layer == {"a": {"b": 3}, "c": "plain text"}


def test_an_invalid_value_names_the_environment_variable_that_set_it() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_config(environ={"SECURITY_AGENT__SERVERS__SECURITY__MAX_CONCURRENCY": "0"})

    assert "servers.security.max_concurrency" in caught.value.message
    assert "environment variable SECURITY_AGENT__SERVERS__SECURITY__MAX_CONCURRENCY" in caught.value.message


def test_an_invalid_value_inside_a_json_variable_names_that_variable() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_config(environ={"SECURITY_AGENT__SERVERS__KNOWLEDGE__AUTH": json.dumps({"kind": "kerberos"})})

    assert "environment variable SECURITY_AGENT__SERVERS__KNOWLEDGE__AUTH)" in caught.value.message


def test_an_invalid_value_names_the_file_or_ssm_parameter_that_set_it(tmp_path: Path) -> None:
    config_file = tmp_path / "agent.json"
    config_file.write_text(json.dumps({"servers": {"security": {"transport": "carrier-pigeon"}}}))
    with pytest.raises(ConfigurationError) as from_file:
        load_config(config_file, environ={})
    with pytest.raises(ConfigurationError) as from_ssm:
        load_config(
            environ={"SECURITY_AGENT_SSM_PARAMETER": "/esa/config"},
            ssm_fetch=lambda _name: {"default_regions": []},
        )

    assert f"from configuration file {config_file}" in from_file.value.message
    assert "default_regions" in from_ssm.value.message
    assert "from SSM parameter /esa/config" in from_ssm.value.message


def _knowledge(**extra: object) -> dict[str, object]:
    return {"role": "knowledge", "transport": "streamable_http", "url": "https://knowledge.example.com/mcp", **extra}


@pytest.mark.parametrize(
    ("server", "problem"),
    [
        (_knowledge(region_specific={"eu-west-1": {"url": "http://eu.example.com/mcp"}}), "must use https"),
        (_knowledge(region_specific={"mars-1": {"url": "https://mars.example.com/mcp"}}), "not an AWS Region code"),
        (_knowledge(region_specific={"eu-west-1": {"endpoint": "https://eu.example.com"}}), "Extra inputs"),
        (_knowledge(region_specific={"eu-west-1": {"env": {"AWS_REGION": "eu-west-1"}}}), "stdio servers only"),
        (
            {
                "role": "security",
                "transport": "stdio",
                "command": "s",
                "region_specific": {"eu-west-1": {"url": "https://x.example.com"}},
            },
            "streamable_http servers only",
        ),
        (_knowledge(feature_flags={" ": False}), "keys are tool names"),
    ],
)
def test_region_specific_and_feature_flags_are_validated_when_the_configuration_loads(
    server: dict[str, object], problem: str
) -> None:
    with pytest.raises(ConfigurationError, match=problem):
        load_config(environ={"SECURITY_AGENT__SERVERS__KNOWLEDGE": json.dumps(server)})


def test_a_region_specific_environment_is_merged_over_the_servers_own_for_that_region_only() -> None:
    config = AgentConfig.model_validate(
        {
            "servers": {
                "security": {
                    "role": "security",
                    "transport": "stdio",
                    "command": "security-server",
                    "env": {"A": "1", "AWS_REGION": "us-east-1"},
                    "region_specific": {"eu-west-1": {"env": {"AWS_REGION": "eu-west-1"}}},
                }
            }
        }
    )

    server = config.servers["security"]
    assert server.for_region("eu-west-1").env == {"A": "1", "AWS_REGION": "eu-west-1"}
    assert server.for_region("us-east-1") is server
    assert server.for_region(None) is server


def test_the_remote_knowledge_server_has_short_timeouts_so_its_fallback_fits_a_lambda_budget() -> None:
    config = load_config(environ={})

    knowledge = config.servers["knowledge"]
    assert knowledge.timeouts.call_s == 5.0
    assert knowledge.timeouts.connect_s == 5.0
    assert knowledge.retry.max_attempts == 2  # one retry
    assert config.servers["security"].timeouts.call_s == 25.0  # the others keep theirs


def test_feature_flags_turn_single_tools_off_and_leave_the_rest_on() -> None:
    config = load_config(
        environ={"SECURITY_AGENT__SERVERS__SECURITY__FEATURE_FLAGS": json.dumps({"CheckNetworkSecurity": False})}
    )

    security = config.servers["security"]
    assert not security.tool_enabled("CheckNetworkSecurity")
    assert security.tool_enabled("GetSecurityFindings")
