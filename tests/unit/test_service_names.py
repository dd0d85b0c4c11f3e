"""The service names a person (or the agent's model) may use reach the right check module."""

from __future__ import annotations

import pytest

from agent_config.orchestration.planner import known_services
from agent_config.routes import SERVICES_TEXT, _services
from agent_config.utils.error_handling import InvalidInput


@pytest.mark.parametrize(
    ("asked", "module"),
    [
        ("s3", "s3"),
        ("EFS", "efs"),
        ("elasticfilesystem", "efs"),
        ("alb", "elb"),
        ("elbv2", "elb"),
        ("secrets-in-config", "secrets_in_config"),
        ("awsconfig", "config"),
    ],
)
def test_every_documented_name_and_alias_reaches_a_check_module(asked: str, module: str) -> None:
    assert _services(asked) == [module]
    assert module in known_services()


def test_every_check_module_is_named_in_the_description_the_model_reads() -> None:
    described = SERVICES_TEXT.replace("_", "-")
    for service in known_services():
        assert service.replace("_", "-") in described, service


def test_an_unknown_service_is_refused_naming_the_allowed_ones() -> None:
    with pytest.raises(InvalidInput, match="allowed: s3, ec2"):
        _services("mainframe")
