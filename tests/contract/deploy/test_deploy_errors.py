"""Errors a person can act on: one sentence each, naming the permission, the model, the quota or
the reasons, and the next step."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from agent_config.deploy.errors import (
    AgentsClassicUnavailable,
    CreateAgentDenied,
    DeployError,
    MissingPermission,
    ModelAccessDenied,
    QuotaExceeded,
    WrongRegion,
    explain_client_error,
    iam_action,
    translated,
)


def client_error(code: str, message: str, operation: str = "CreateAgent") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


@pytest.mark.parametrize(
    ("service", "operation", "action"),
    [
        ("bedrock-agent", "PrepareAgent", "bedrock:PrepareAgent"),
        ("bedrock-agentcore-control", "CreateGateway", "bedrock-agentcore:CreateGateway"),
        ("lambda", "AddPermission", "lambda:AddPermission"),
        ("iam", "PutRolePolicy", "iam:PutRolePolicy"),
    ],
)
def test_access_denied_without_a_named_action_names_the_operations_action(
    service: str, operation: str, action: str
) -> None:
    error = explain_client_error(client_error("AccessDeniedException", "Access denied", operation), service, operation)
    assert isinstance(error, MissingPermission)
    assert error.action == action
    assert str(error).startswith(
        f"Access denied for {operation}: the credentials you deploy with lack the IAM permission {action}"
    )


def test_create_agent_denied_without_a_reason_names_both_causes_and_the_gateway_target() -> None:
    # GIVEN the bare AccessDenied Bedrock gives both to a caller without bedrock:CreateAgent and to
    # an account that may not use Agents Classic (the two cannot be told apart from the message)
    denied = client_error("AccessDeniedException", "Access denied when calling Bedrock.", "CreateAgent")

    # WHEN it is explained
    error = explain_client_error(denied, "bedrock-agent", "CreateAgent")

    # THEN the sentence names both possibilities and the way out of the second, not only "grant it"
    assert isinstance(error, CreateAgentDenied) and isinstance(error, MissingPermission)
    assert error.action == "bedrock:CreateAgent"
    text = str(error)
    assert "lack the IAM permission bedrock:CreateAgent" in text
    assert "not allowed to use Amazon Bedrock Agents" in text and "Agents Classic" in text
    assert "--target agentcore-gateway" in text
    assert "AWS said: Access denied when calling Bedrock" in text
    assert text.count("\n") == 0


def test_create_agent_denied_naming_another_action_names_only_that_action() -> None:
    message = "User: arn:aws:iam::1:user/x is not authorized to perform: iam:PassRole on resource: r"
    error = explain_client_error(client_error("AccessDeniedException", message), "bedrock-agent", "CreateAgent")
    assert type(error) is MissingPermission and error.action == "iam:PassRole"


def test_access_denied_naming_an_action_names_that_action() -> None:
    message = "User: arn:aws:iam::1:user/x is not authorized to perform: dynamodb:CreateTable on resource: t"
    error = explain_client_error(
        client_error("AccessDeniedException", message, "CreateTable"), "dynamodb", "CreateTable"
    )
    assert isinstance(error, MissingPermission) and error.action == "dynamodb:CreateTable"


def test_each_kind_of_failure_is_one_clear_sentence_with_a_next_step() -> None:
    refusal = explain_client_error(
        client_error("AccessDeniedException", "This account is not allowlisted for Agents Classic"),
        "bedrock-agent",
        "CreateAgent",
    )
    assert isinstance(refusal, AgentsClassicUnavailable)
    model = explain_client_error(
        client_error("AccessDeniedException", "You don't have access to the model with the specified model ID."),
        "bedrock-agent",
        "CreateAgent",
        model="us.anthropic.claude-haiku-4-5-20251001-v1:0",
        region="eu-north-1",
    )
    assert isinstance(model, ModelAccessDenied)
    assert "us.anthropic.claude-haiku-4-5-20251001-v1:0 is not available to this account in eu-north-1" in str(model)
    region = explain_client_error(
        client_error("ValidationException", "The provided model identifier is invalid."),
        "bedrock-agent",
        "CreateAgent",
        model="us.x",
        region="af-south-1",
    )
    assert isinstance(region, WrongRegion) and "--region" in str(region)
    quota = explain_client_error(
        client_error("ServiceQuotaExceededException", "Parameters per function exceeds 5", "CreateAgentActionGroup"),
        "bedrock-agent",
        "CreateAgentActionGroup",
    )
    assert isinstance(quota, QuotaExceeded) and "5 parameters per function" in str(quota)
    other = explain_client_error(client_error("ThrottlingException", "Rate exceeded"), "iam", "CreateRole")
    assert type(other) is DeployError and "ThrottlingException" in str(other)
    for error in (refusal, model, region, quota, other):
        assert str(error).count("\n") == 0 and error.fix


def test_translated_turns_client_errors_of_a_block_into_deploy_errors() -> None:
    with pytest.raises(MissingPermission, match="iam:CreateRole"), translated("iam"):
        raise client_error("AccessDenied", "denied", "CreateRole")


def test_iam_action_maps_service_names_to_action_prefixes() -> None:
    assert iam_action("logs", "CreateLogGroup") == "logs:CreateLogGroup"
