"""The control catalogue: packaged JSON that must be complete, safe to paste, and least-privilege.

The catalogue feeds three things a mistake would hurt: the answer a person reads (remediation and
links), the Lambda's IAM policy (derived from `iam_actions`), and weighted scores. So the tests
check every control against the rules, and check that the loader refuses data that breaks them.
"""

from __future__ import annotations

import copy
import json
import shlex
from importlib.resources import files
from typing import Any

import pytest

from agent_config.checks.catalogue import (
    ACCOUNT_RESOURCE_TYPE,
    Catalogue,
    Control,
    UnknownControlError,
    expected_weight,
    is_aws_documentation_url,
    is_read_only_action,
    is_read_only_cli,
    load_catalogue,
    security_hub_control_url,
)
from agent_config.interfaces import Finding, FindingStatus, Severity
from agent_config.utils.error_handling import ErrorKind

REQUIRED_CONTROLS = (
    *(f"IAM.{n}" for n in range(1, 9)),
    *("S3.1", "S3.2", "S3.3", "S3.5", "S3.8", "S3.9"),
    *(f"EC2.{n}" for n in (1, 2, 3, 6, 7, 8, 9, 13, 14, 18, 19, 21)),
    *("CloudTrail.1", "CloudTrail.2", "CloudTrail.4", "Config.1", "GuardDuty.1"),
    *("RDS.1", "RDS.2", "RDS.3", "KMS.3", "KMS.4", "Lambda.1", "SecretsManager.1"),
    *("ECR.1", "EKS.1", "EFS.1", "SNS.1", "SQS.1", "Account.1", "DynamoDB.2"),
)
ALL_CONTROLS = load_catalogue().all()


def control_ids(controls: tuple[Control, ...] = ALL_CONTROLS) -> list[str]:
    return [c.id for c in controls]


def raw_control(control_id: str) -> dict[str, Any]:
    """A deep copy of one control as it is stored, for building invalid variants."""
    return copy.deepcopy(load_catalogue().get(control_id).model_dump(mode="json"))


# ---------------------------------------------------------------------------------------------
# What the shipped catalogue contains
# ---------------------------------------------------------------------------------------------


def test_the_catalogue_holds_at_least_forty_controls() -> None:
    assert len(load_catalogue()) >= 40


def test_the_catalogue_holds_every_control_the_agent_is_specified_to_assess() -> None:
    missing = sorted(set(REQUIRED_CONTROLS) - load_catalogue().ids())
    assert missing == []


@pytest.mark.parametrize("control", ALL_CONTROLS, ids=control_ids())
def test_every_control_has_every_field_filled_in(control: Control) -> None:
    fix = control.remediation
    assert control.title.strip()
    assert control.risk.strip()
    assert control.resource_type.startswith("AWS::")
    assert control.well_architected
    assert control.iam_actions
    assert len(control.documentation) >= 2
    assert fix.summary.strip()
    assert fix.console_steps
    assert all(step.strip() for step in fix.console_steps)
    assert fix.cli_commands
    assert (fix.infrastructure_as_code or "").strip()
    assert (fix.may_break or "").strip()
    assert (fix.verify_command or "").strip()


@pytest.mark.parametrize("control", ALL_CONTROLS, ids=control_ids())
def test_severities_are_one_of_the_four_security_hub_levels(control: Control) -> None:
    assert control.severity in {Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW}


@pytest.mark.parametrize("control", ALL_CONTROLS, ids=control_ids())
def test_remediation_commands_are_aws_cli_commands_that_parse(control: Control) -> None:
    for command in control.remediation.cli_commands:
        assert command.startswith("aws ")
        assert len(shlex.split(command)) >= 3


@pytest.mark.parametrize("control", ALL_CONTROLS, ids=control_ids())
def test_the_verify_command_only_reads(control: Control) -> None:
    command = control.remediation.verify_command or ""
    tokens = shlex.split(command)
    assert tokens[0] == "aws"
    assert tokens[2].startswith(("get-", "describe-", "list-", "head-"))
    assert is_read_only_cli(command)


@pytest.mark.parametrize("control", ALL_CONTROLS, ids=control_ids())
def test_iam_actions_are_read_only_get_list_or_describe_actions(control: Control) -> None:
    for action in control.iam_actions:
        service, _, name = action.partition(":")
        assert service
        assert service == service.lower()
        assert name.startswith(("Get", "List", "Describe"))
    assert len(set(control.iam_actions)) == len(control.iam_actions)


def test_required_iam_actions_is_the_sorted_union_of_every_controls_actions() -> None:
    catalogue = load_catalogue()
    actions = catalogue.required_iam_actions()
    assert actions == sorted(actions)
    assert set(actions) == {a for c in catalogue.all() for a in c.iam_actions}
    assert len(actions) == len(set(actions))
    assert all(is_read_only_action(a) for a in actions)


def test_required_iam_actions_for_chosen_controls_covers_only_those_controls() -> None:
    actions = load_catalogue().required_iam_actions(["S3.8", "IAM.4"])
    assert actions == [
        "iam:GetAccountSummary",
        "s3:GetBucketLocation",
        "s3:GetBucketPublicAccessBlock",
        "s3:ListAllMyBuckets",
    ]


@pytest.mark.parametrize("control", ALL_CONTROLS, ids=control_ids())
def test_documentation_links_are_https_urls_on_aws_documentation_hosts(control: Control) -> None:
    for link in control.documentation:
        assert link.title.strip()
        assert link.url.startswith("https://")
        assert is_aws_documentation_url(link.url), link.url


SECURITY_HUB_CONTROLS = tuple(c for c in ALL_CONTROLS if c.origin == "security_hub")


@pytest.mark.parametrize("control", SECURITY_HUB_CONTROLS, ids=control_ids(SECURITY_HUB_CONTROLS))
def test_the_first_link_is_the_controls_own_security_hub_page(control: Control) -> None:
    service, number = control.id.split(".")
    expected = (
        f"https://docs.aws.amazon.com/securityhub/latest/userguide/"
        f"{service.lower()}-controls.html#{service.lower()}-{number}"
    )
    assert control.documentation[0].url == expected == security_hub_control_url(control.id)


@pytest.mark.parametrize("control", ALL_CONTROLS, ids=control_ids())
def test_weights_follow_the_documented_rule(control: Control) -> None:
    assert 1 <= control.weight <= 1000
    assert control.weight == expected_weight(
        control.severity, public_exposure=control.public_exposure, resource_type=control.resource_type
    )


def test_the_weight_rule_ranks_public_and_account_wide_failures_above_their_severity_peers() -> None:
    def weight(severity: Severity, public: bool, resource_type: str = "AWS::S3::Bucket") -> int:
        return expected_weight(severity, public_exposure=public, resource_type=resource_type)

    assert weight(Severity.CRITICAL, public=True, resource_type=ACCOUNT_RESOURCE_TYPE) == 1000
    assert weight(Severity.CRITICAL, public=False) == 700
    assert weight(Severity.HIGH, public=True) > weight(Severity.HIGH, public=False)
    assert weight(Severity.MEDIUM, public=False, resource_type=ACCOUNT_RESOURCE_TYPE) == 250
    assert weight(Severity.LOW, public=False) == 50


def test_controls_are_listed_by_service_in_natural_number_order() -> None:
    ec2 = [c.id for c in load_catalogue().by_service()["EC2"]]
    assert ec2.index("EC2.2") < ec2.index("EC2.13") < ec2.index("EC2.21")
    assert list(load_catalogue().by_service()) == sorted(load_catalogue().by_service(), key=str.lower)


def test_by_service_groups_every_control_under_its_own_service() -> None:
    grouped = load_catalogue().by_service()
    assert sum(len(controls) for controls in grouped.values()) == len(load_catalogue())
    assert all(c.service == service for service, controls in grouped.items() for c in controls)


def test_get_returns_the_control_and_refuses_an_unknown_id_as_invalid_input() -> None:
    catalogue = load_catalogue()
    assert catalogue.get("S3.8").title == "S3 general purpose buckets should block public access"
    with pytest.raises(UnknownControlError) as raised:
        catalogue.get("S3.999")
    assert raised.value.kind is ErrorKind.VALIDATION
    assert raised.value.control_id == "S3.999"


def test_find_returns_none_for_an_unknown_id() -> None:
    assert load_catalogue().find("S3.999") is None
    assert load_catalogue().find("IAM.4") is not None
    assert "IAM.4" in load_catalogue()


def test_the_catalogue_is_loaded_once_per_process() -> None:
    assert load_catalogue() is load_catalogue()


def test_each_catalogue_file_holds_one_service_and_is_named_after_it() -> None:
    directory = files("agent_config.checks").joinpath("catalogue")
    for resource in directory.iterdir():
        if not resource.name.endswith(".json"):
            continue
        document = json.loads(resource.read_text(encoding="utf-8"))
        assert resource.name == f"{document['service'].lower()}.json"
        assert {c["service"] for c in document["controls"]} == {document["service"]}


def test_ec2_19_is_critical_as_security_hub_rates_it_now_and_keeps_its_history() -> None:
    control = load_catalogue().get("EC2.19")
    assert control.severity is Severity.CRITICAL
    assert "Medium" in control.severity_note


def test_config_1_records_that_its_severity_rose_from_medium_to_critical() -> None:
    control = load_catalogue().get("Config.1")
    assert control.severity is Severity.CRITICAL
    assert "Medium" in control.severity_note


def test_classic_security_group_ids_record_the_newer_split_ids_as_aliases() -> None:
    catalogue = load_catalogue()
    assert {a.id for a in catalogue.get("EC2.13").aliases} == {"EC2.53", "EC2.54"}
    assert [c.id for c in catalogue.aliased("EC2.53")] == ["EC2.13", "EC2.14"]
    assert "EC2.53" not in catalogue


def test_a_controls_remediation_and_links_attach_to_a_finding_unchanged() -> None:
    control = load_catalogue().get("S3.2")
    finding = Finding(
        control_id=control.id,
        title=control.title,
        status=FindingStatus.FAIL,
        severity=control.severity,
        remediation=control.remediation,
        documentation=list(control.documentation),
    )
    assert finding.remediation == control.remediation
    assert finding.documentation[0].url == security_hub_control_url("S3.2")


# ---------------------------------------------------------------------------------------------
# What the loader refuses
# ---------------------------------------------------------------------------------------------


def test_a_catalogue_with_a_duplicate_control_id_is_refused() -> None:
    control = load_catalogue().get("S3.8")
    with pytest.raises(ValueError, match="duplicate control ids"):
        Catalogue(controls=(control, control))


def test_an_alias_that_is_also_a_primary_control_id_is_refused() -> None:
    data = raw_control("EC2.13")
    data["aliases"] = [{"id": "EC2.14", "note": "not really"}]
    with pytest.raises(ValueError, match="alias ids that are also primary"):
        Catalogue(controls=(Control.model_validate(data), load_catalogue().get("EC2.14")))


@pytest.mark.parametrize(
    "verify_command",
    [
        "aws s3api put-public-access-block --bucket b --public-access-block-configuration x",
        "aws ec2 revoke-security-group-ingress --group-id sg-1",
        "aws --region eu-west-1 s3api get-bucket-policy --bucket b",
        "curl https://example.com",
    ],
)
def test_a_control_whose_verify_command_could_change_something_is_refused(verify_command: str) -> None:
    data = raw_control("S3.8")
    data["remediation"]["verify_command"] = verify_command
    with pytest.raises(ValueError, match="verify_command"):
        Control.model_validate(data)


@pytest.mark.parametrize("action", ["s3:PutBucketPolicy", "iam:*", "s3:Get*", "ec2:DeleteSecurityGroup", "GetObject"])
def test_a_control_needing_a_write_or_wildcard_iam_action_is_refused(action: str) -> None:
    data = raw_control("S3.8")
    data["iam_actions"] = [*data["iam_actions"], action]
    with pytest.raises(ValueError, match="iam_actions"):
        Control.model_validate(data)


def test_a_control_whose_weight_breaks_the_rule_is_refused() -> None:
    data = raw_control("S3.8")
    data["weight"] = 999
    with pytest.raises(ValueError, match="weight rule"):
        Control.model_validate(data)


@pytest.mark.parametrize(
    "url",
    [
        "https://docs.aws.amazon.com.evil.example/securityhub/",
        "http://docs.aws.amazon.com/securityhub/latest/userguide/s3-controls.html",
        "https://example.com/aws-docs",
    ],
)
def test_a_control_linking_outside_aws_documentation_is_refused(url: str) -> None:
    data = raw_control("S3.8")
    data["documentation"][1]["url"] = url
    with pytest.raises(ValueError, match=r"documentation|https"):
        Control.model_validate(data)


def test_a_control_whose_first_link_is_not_its_security_hub_page_is_refused() -> None:
    data = raw_control("S3.8")
    data["documentation"].reverse()
    with pytest.raises(ValueError, match="Security Hub page"):
        Control.model_validate(data)


def test_an_informational_severity_is_refused() -> None:
    data = raw_control("S3.8")
    data["severity"] = "INFORMATIONAL"
    with pytest.raises(ValueError, match="CRITICAL, HIGH, MEDIUM or LOW"):
        Control.model_validate(data)


@pytest.mark.parametrize("field", ["summary", "infrastructure_as_code", "may_break", "verify_command"])
def test_a_control_with_a_blank_remediation_field_is_refused(field: str) -> None:
    data = raw_control("S3.8")
    data["remediation"][field] = " "
    with pytest.raises(ValueError, match=f"remediation.{field}|verify_command"):
        Control.model_validate(data)


@pytest.mark.parametrize("field", ["console_steps", "cli_commands"])
def test_a_control_without_console_steps_or_cli_commands_is_refused(field: str) -> None:
    data = raw_control("S3.8")
    data["remediation"][field] = []
    with pytest.raises(ValueError, match=field):
        Control.model_validate(data)


def test_a_remediation_command_that_is_not_an_aws_cli_command_is_refused() -> None:
    data = raw_control("S3.8")
    data["remediation"]["cli_commands"] = ["terraform apply"]
    with pytest.raises(ValueError, match="aws <service> <operation>"):
        Control.model_validate(data)


def test_a_control_filed_under_another_service_is_refused() -> None:
    data = raw_control("S3.8")
    data["service"] = "EC2"
    with pytest.raises(ValueError, match="does not match the id"):
        Control.model_validate(data)


# ---------------------------------------------------------------------------------------------
# The shared rules, on their own
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "read_only"),
    [
        ("aws s3api get-bucket-policy --bucket b", True),
        ("aws ec2 describe-security-groups --group-ids sg-1", True),
        ("aws iam list-users", True),
        ("aws s3api head-bucket --bucket b", True),
        ("aws s3api put-bucket-policy --bucket b --policy file://p.json", False),
        ("aws --profile prod iam list-users", False),
        ("aws iam", False),
        ("aws s3api get-bucket-policy --bucket 'unterminated", False),
        ("bash -c 'aws iam list-users'", False),
    ],
)
def test_read_only_cli_detection_accepts_reads_and_refuses_writes_and_disguises(command: str, read_only: bool) -> None:
    assert is_read_only_cli(command) is read_only


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://docs.aws.amazon.com/securityhub/latest/userguide/s3-controls.html#s3-8", True),
        ("https://aws.amazon.com/premiumsupport/knowledge-center/s3-bucket-policy-for-config-rule/", True),
        ("https://docs.aws.amazon.com", False),
        ("https://docs.aws.amazon.com:8443/securityhub/", False),
        ("https://user@docs.aws.amazon.com/securityhub/", False),
        ("https://docs.aws.amazon.com/security hub/", False),
        ("https://evil.example/?next=https://docs.aws.amazon.com/x", False),
    ],
)
def test_documentation_url_rule_allows_only_aws_documentation_pages(url: str, allowed: bool) -> None:
    assert is_aws_documentation_url(url) is allowed
