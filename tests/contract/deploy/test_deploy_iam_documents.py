"""The IAM documents the deploy creates: least privilege, derived from the catalogue, no wildcards
beyond the ones AWS requires (each documented), and the confused-deputy conditions on trust."""

from __future__ import annotations

import json
import re

import pytest

from agent_config.checks.catalogue import is_read_only_action, load_catalogue
from agent_config.config import AuthKind
from agent_config.deploy.iam import as_list, iter_statements, scoped_arns
from agent_config.deploy.iam_data import REASONS, load_resource_types
from agent_config.deploy.plan import DeployPlan, ServerSetting, Target, parse_model
from agent_config.integrations.direct_security import IAM_ACTIONS as SECURITY_FALLBACK_ACTIONS
from agent_config.interfaces import ServerRole
from agent_config.session.table import REQUIRED_IAM_ACTIONS
from tests.contract.deploy.deploy_stubs import ACCOUNT, REGION, plan_for, settings

INLINE_POLICY_LIMIT = 10_240
"""IAM's limit on the total size of a role's inline policies (characters, whitespace excluded)."""


def all_plans() -> list[DeployPlan]:
    sigv4 = (
        ServerSetting(
            role=ServerRole.SECURITY,
            url="https://bedrock-agentcore.us-east-1.amazonaws.com/runtimes/"
            "arn%3Aaws%3Abedrock-agentcore%3Aus-east-1%3A123456789012%3Aruntime%2Fsecurity_mcp-AbCdEf1234/invocations",
            auth=AuthKind.SIGV4,
        ),
        ServerSetting(role=ServerRole.AWS_API, url="https://api.example.com/mcp", auth=AuthKind.SIGV4),
    )
    return [
        plan_for(),
        plan_for(settings(target=Target.AGENTCORE_GATEWAY)),
        plan_for(settings(servers=sigv4)),
        plan_for(settings(model="anthropic.claude-3-haiku-20240307-v1:0")),
    ]


@pytest.fixture(scope="module", params=range(4), ids=["agent", "gateway", "sigv4-servers", "plain-model"])
def plan(request: pytest.FixtureRequest) -> DeployPlan:
    return all_plans()[request.param]


def star_actions(plan: DeployPlan) -> set[str]:
    return {s.action for s in plan.star_resources}


def reads_only(action: str) -> bool:
    """Get/List/Describe, or BatchGet (Inspector's account status is read with BatchGetAccountStatus)."""
    return is_read_only_action(action) or re.fullmatch(r"[a-z0-9-]+:BatchGet[A-Za-z0-9]+", action) is not None


def test_no_statement_allows_a_wildcard_action(plan: DeployPlan) -> None:
    for name, document in plan.policy_documents().items():
        for statement in iter_statements(document):
            for action in as_list(statement["Action"]):
                assert "*" not in action, f"{name}: {action}"


def test_every_resource_is_scoped_except_the_documented_read_actions(plan: DeployPlan) -> None:
    for name, document in plan.policy_documents().items():
        if name.endswith("/trust"):
            continue
        for statement in iter_statements(document):
            resources = as_list(statement["Resource"])
            if "*" in resources:
                assert resources == ["*"], name
                assert statement["Sid"] == "DirectApiReadAccountWide", name
                assert set(as_list(statement["Action"])) == star_actions(plan)
                continue
            for resource in resources:
                assert resource.startswith("arn:aws:"), f"{name}: {resource}"
                region_and_account = resource.split(":")[3:5]
                # Scoped: to this account, or to S3 buckets / EC2 snapshots / AWS-managed IAM policies,
                # whose ARNs carry no account (the checks read them wherever they live).
                assert (
                    ACCOUNT in resource
                    or resource
                    in (
                        "arn:aws:s3:::*",
                        "arn:aws:ec2:*::snapshot/*",
                        "arn:aws:iam::aws:policy/*",
                    )
                    or resource.startswith("arn:aws:bedrock:*::foundation-model/")
                    or region_and_account
                    == [
                        REGION,
                        "",
                    ]
                ), f"{name}: {resource}"


def test_each_wildcard_resource_has_its_reason_from_the_service_authorization_reference(
    plan: DeployPlan,
) -> None:
    data = load_resource_types()
    assert plan.star_resources, "the catalogue has account-wide list actions"
    for entry in plan.star_resources:
        scope = data.actions[entry.action]
        assert scope.star_reason is not None
        assert entry.reason == REASONS[scope.star_reason]
        assert reads_only(entry.action)


def test_the_fallback_read_actions_are_exactly_the_catalogues_and_the_security_fallbacks() -> None:
    plan = plan_for()
    document = plan.lambda_role.inline_policies["direct-api-read"]
    granted = sorted(a for s in iter_statements(document) for a in as_list(s["Action"]))
    assert granted == sorted(set(load_catalogue().required_iam_actions()) | set(SECURITY_FALLBACK_ACTIONS))
    assert all(reads_only(action) for action in granted)


def test_every_catalogue_action_is_classified_in_the_resource_type_data() -> None:
    wanted = set(load_catalogue().required_iam_actions()) | set(SECURITY_FALLBACK_ACTIONS)
    missing = wanted - set(load_resource_types().actions)
    assert not missing, (
        f"{sorted(missing)} are not in agent_config/deploy/iam_resource_types.json; regenerate it "
        "(see agent_config/deploy/iam_data.py; the security fallback's actions are "
        "agent_config.integrations.direct_security.IAM_ACTIONS) so they are scoped as AWS allows"
    )


def test_the_lambda_role_reaches_only_its_own_log_group_table_parameters_and_secrets() -> None:
    plan = plan_for()
    statements = {s["Sid"]: s for s in iter_statements(plan.lambda_role.inline_policies["own-resources"])}
    assert statements["WriteOwnLogs"]["Resource"] == [
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/esa-test-actions:*"
    ]
    assert statements["OwnSessionsTable"]["Resource"] == [
        f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/esa-test-sessions"
    ]
    assert sorted(statements["OwnSessionsTable"]["Action"]) == sorted(REQUIRED_IAM_ACTIONS)
    assert statements["OwnConfiguration"]["Resource"] == [f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/esa-test/*"]
    assert statements["OwnMcpSecrets"]["Resource"] == [f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:esa-test/*"]
    assert "InvokeRemoteMcpServers" not in statements


def test_sigv4_servers_get_invoke_on_the_runtime_named_in_the_url_or_the_accounts_runtimes() -> None:
    plan = all_plans()[2]
    statements = {s["Sid"]: s for s in iter_statements(plan.lambda_role.inline_policies["own-resources"])}
    assert statements["InvokeRemoteMcpServers"]["Resource"] == [
        f"arn:aws:bedrock-agentcore:{REGION}:{ACCOUNT}:runtime/*",
        f"arn:aws:bedrock-agentcore:{REGION}:{ACCOUNT}:runtime/security_mcp-AbCdEf1234",
    ]


def test_trust_policies_carry_the_confused_deputy_conditions() -> None:
    agent = plan_for()
    assert agent.agent_role is not None
    trust = agent.agent_role.trust_policy["Statement"][0]
    assert trust["Principal"] == {"Service": "bedrock.amazonaws.com"}
    assert trust["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnLike": {"aws:SourceArn": f"arn:aws:bedrock:{REGION}:{ACCOUNT}:agent/*"},
    }
    gateway = plan_for(settings(target=Target.AGENTCORE_GATEWAY))
    assert gateway.gateway_role is not None
    trust = gateway.gateway_role.trust_policy["Statement"][0]
    assert trust["Principal"] == {"Service": "bedrock-agentcore.amazonaws.com"}
    assert trust["Condition"]["ArnLike"] == {"aws:SourceArn": f"arn:aws:bedrock-agentcore:{REGION}:{ACCOUNT}:gateway/*"}
    lambda_trust = agent.lambda_role.trust_policy["Statement"][0]
    assert lambda_trust["Principal"] == {"Service": "lambda.amazonaws.com"}


def test_the_agent_may_invoke_its_model_through_the_profile_and_in_the_regions_it_routes_to() -> None:
    plan = plan_for()
    assert plan.agent_role is not None
    statements = {s["Sid"]: s for s in iter_statements(plan.agent_role.inline_policies["invoke-model"])}
    profile = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/us.anthropic.claude-haiku-4-5-20251001-v1:0"
    foundation = "arn:aws:bedrock:*::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0"
    # InvokeModelWithResponseStream too, as the Bedrock Agents service-role documentation grants:
    # an agent that streams its model's answer needs it.
    assert statements["InvokeTheModel"]["Action"] == ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
    assert statements["InvokeTheModel"]["Resource"] == [profile, foundation]
    assert statements["ReadTheFoundationModel"] == {
        "Sid": "ReadTheFoundationModel",
        "Effect": "Allow",
        "Action": ["bedrock:GetFoundationModel"],
        "Resource": [foundation],
    }
    assert statements["ReadTheInferenceProfile"] == {
        "Sid": "ReadTheInferenceProfile",
        "Effect": "Allow",
        "Action": ["bedrock:GetInferenceProfile"],
        "Resource": [profile],
    }


def test_a_plain_model_id_is_allowed_in_the_deploy_region_only() -> None:
    plan = all_plans()[3]
    assert plan.agent_role is not None
    statements = iter_statements(plan.agent_role.inline_policies["invoke-model"])
    foundation = [f"arn:aws:bedrock:{REGION}::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"]
    assert [(s["Sid"], s["Resource"]) for s in statements] == [
        ("InvokeTheModel", foundation),
        ("ReadTheFoundationModel", foundation),
    ]


def test_the_agent_role_grants_only_model_actions_on_its_own_model(plan: DeployPlan) -> None:
    """Every bedrock: action of the agent role names the profile or the foundation model, nothing wider."""
    if plan.agent_role is None:
        return
    model = parse_model(plan.settings.model)
    for statement in iter_statements(plan.agent_role.inline_policies["invoke-model"]):
        assert set(as_list(statement["Action"])) <= {
            "bedrock:InvokeModel",
            "bedrock:InvokeModelWithResponseStream",
            "bedrock:GetFoundationModel",
            "bedrock:GetInferenceProfile",
        }
        for resource in as_list(statement["Resource"]):
            assert resource.endswith(("/" + model.foundation_model_id, f"/{model.inference_profile_id}")), resource


def test_the_gateway_role_may_invoke_our_function_only() -> None:
    plan = plan_for(settings(target=Target.AGENTCORE_GATEWAY))
    assert plan.gateway_role is not None
    (statement,) = iter_statements(plan.gateway_role.inline_policies["invoke-function"])
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:esa-test-actions"
    assert statement["Action"] == ["lambda:InvokeFunction"]
    assert statement["Resource"] == [arn, f"{arn}:*"]


def test_inline_policies_fit_iams_size_limit(plan: DeployPlan) -> None:
    for role in plan.roles():
        size = sum(len(json.dumps(d, separators=(",", ":"))) for d in role.inline_policies.values())
        assert size < INLINE_POLICY_LIMIT, f"{role.name}: {size}"


@pytest.mark.parametrize(
    ("model", "profile", "foundation"),
    [
        (
            "us.anthropic.claude-haiku-4-5-20251001-v1:0",
            "us.anthropic.claude-haiku-4-5-20251001-v1:0",
            "anthropic.claude-haiku-4-5-20251001-v1:0",
        ),
        (
            "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "anthropic.claude-sonnet-4-5-20250929-v1:0",
        ),
        ("anthropic.claude-3-haiku-20240307-v1:0", None, "anthropic.claude-3-haiku-20240307-v1:0"),
        (
            "arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.anthropic.claude-haiku-4-5-20251001-v1:0",
            "eu.anthropic.claude-haiku-4-5-20251001-v1:0",
            "anthropic.claude-haiku-4-5-20251001-v1:0",
        ),
    ],
)
def test_model_ids_split_into_profile_and_foundation_model(model: str, profile: str | None, foundation: str) -> None:
    ref = parse_model(model)
    assert (ref.inference_profile_id, ref.foundation_model_id, ref.agent_model) == (
        profile,
        foundation,
        model,
    )


def test_arn_templates_are_filled_for_this_account_in_any_region() -> None:
    assert scoped_arns("arn:${Partition}:sqs:${Region}:${Account}:${QueueName}", "aws", ACCOUNT) == [
        f"arn:aws:sqs:*:{ACCOUNT}:*"
    ]
    assert scoped_arns("arn:${Partition}:iam::${Account}:policy/${PolicyNameWithPath}", "aws", ACCOUNT) == [
        f"arn:aws:iam::{ACCOUNT}:policy/*",
        "arn:aws:iam::aws:policy/*",
    ]
    # Placeholders with digits in their names are filled too (no literal `${HubV2Id}` policy variable).
    assert scoped_arns("arn:${Partition}:securityhub:${Region}:${Account}:hubv2/${HubV2Id}", "aws", ACCOUNT) == [
        f"arn:aws:securityhub:*:{ACCOUNT}:hubv2/*"
    ]
