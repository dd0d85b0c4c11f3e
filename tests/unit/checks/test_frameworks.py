"""Framework mappings: FSBP, CIS AWS Foundations v3.0.0 and the Well-Architected Security Pillar.

A report built on a framework must cite only controls that exist, must agree with what each control
says about itself, and must never turn a requirement that no API can show into a pass.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from agent_config.checks import registry
from agent_config.checks.catalogue import (
    FRAMEWORK_NAMES,
    Framework,
    Requirement,
    UnknownFrameworkError,
    framework_problems,
    is_aws_documentation_url,
    load_catalogue,
    load_framework,
)
from agent_config.utils.error_handling import ErrorKind, InvalidInput

WA_QUESTIONS = [f"SEC{n:02d}" for n in range(1, 12)]
CIS_V3_IDS = [
    *(f"1.{n}" for n in range(1, 23)),
    *("2.1.1", "2.1.2", "2.1.3", "2.1.4", "2.2.1", "2.3.1", "2.3.2", "2.3.3", "2.4.1"),
    *(f"3.{n}" for n in range(1, 10)),
    *(f"4.{n}" for n in range(1, 17)),
    *(f"5.{n}" for n in range(1, 7)),
]
CATALOGUE_ONLY_OUTSIDE_FSBP = [
    "IAM.9",
    "IAM.15",
    "IAM.16",
    "IAM.22",
    "EC2.13",
    "EC2.14",
    "KMS.4",
    "Account.2",
    "ESA.1",
    "ESA.2",
]


def framework_dump(name: str) -> dict[str, Any]:
    return load_framework(name).model_dump(mode="json")


@pytest.mark.parametrize("name", FRAMEWORK_NAMES)
def test_each_framework_loads_and_names_itself(name: str) -> None:
    framework = load_framework(name)
    assert framework.name == name
    assert framework.requirements
    assert load_framework(name) is framework


@pytest.mark.parametrize("spelling", ["Well-Architected", "well_architected", " CIS ", "FSBP"])
def test_framework_names_match_regardless_of_case_and_underscores(spelling: str) -> None:
    assert load_framework(spelling).name in FRAMEWORK_NAMES


def test_an_unknown_framework_name_is_invalid_input() -> None:
    with pytest.raises(UnknownFrameworkError) as raised:
        load_framework("pci-dss")
    assert raised.value.kind is ErrorKind.VALIDATION


@pytest.mark.parametrize("name", FRAMEWORK_NAMES)
def test_every_control_a_framework_references_exists_in_the_catalogue(name: str) -> None:
    catalogue = load_catalogue()
    framework = load_framework(name)
    assert framework.control_ids() <= catalogue.ids()
    assert framework_problems(framework, catalogue) == []


@pytest.mark.parametrize("name", FRAMEWORK_NAMES)
def test_every_control_a_framework_relies_on_has_an_evaluator(name: str) -> None:
    """A requirement mapped to a control nobody evaluates would always read "no data"."""
    assert load_framework(name).control_ids() <= set(registry.control_ids())


@pytest.mark.parametrize("name", FRAMEWORK_NAMES)
def test_every_requirement_is_either_mapped_to_controls_or_explained(name: str) -> None:
    for requirement in load_framework(name).requirements:
        if requirement.assessable:
            assert requirement.controls, requirement.id
            assert requirement.coverage in {"full", "partial"}
            assert requirement.gap is None
        else:
            assert not requirement.controls, requirement.id
            assert requirement.gap in {"process", "not_covered"}
            assert requirement.reason.strip()


@pytest.mark.parametrize("name", FRAMEWORK_NAMES)
def test_assessable_and_not_assessable_requirements_partition_the_framework(name: str) -> None:
    framework = load_framework(name)
    assessable = {r.id for r in framework.assessable()}
    not_assessable = {r.id for r in framework.not_assessable()}
    assert assessable.isdisjoint(not_assessable)
    assert assessable | not_assessable == {r.id for r in framework.requirements}


@pytest.mark.parametrize("name", FRAMEWORK_NAMES)
def test_framework_urls_are_aws_documentation_urls(name: str) -> None:
    framework = load_framework(name)
    urls = [
        framework.source_url,
        *(g.url for g in framework.groups if g.url),
        *(r.url for r in framework.requirements if r.url),
    ]
    assert all(is_aws_documentation_url(url) for url in urls)


# ---------------------------------------------------------------------------------------------
# Well-Architected Security Pillar
# ---------------------------------------------------------------------------------------------


def test_well_architected_has_all_eleven_security_questions_in_order() -> None:
    framework = load_framework("well-architected")
    assert [g.id for g in framework.groups] == WA_QUESTIONS
    assert all(g.title.startswith("How do you") for g in framework.groups)


def test_every_security_question_has_best_practices() -> None:
    for question, practices in load_framework("well-architected").by_group().items():
        assert practices, question


def test_best_practices_are_keyed_by_their_documentation_page_slug() -> None:
    for practice in load_framework("well-architected").requirements:
        assert re.fullmatch(r"sec_[a-z0-9_]+", practice.id)
        assert practice.url == f"https://docs.aws.amazon.com/wellarchitected/latest/framework/{practice.id}.html"


def test_best_practice_numbers_are_unique_and_belong_to_their_question() -> None:
    practices = load_framework("well-architected").requirements
    numbers = [p.number for p in practices]
    assert len(set(numbers)) == len(numbers)
    for practice in practices:
        assert practice.number is not None
        assert re.fullmatch(rf"{practice.group}-BP\d\d", practice.number)
        assert practice.risk_level in {"HIGH", "MEDIUM", "LOW"}


def test_root_user_practice_is_mapped_to_the_root_user_controls() -> None:
    practice = load_framework("well-architected").requirement("sec_securely_operate_aws_account")
    assert practice.number == "SEC01-BP02"
    assert {"IAM.4", "IAM.6", "IAM.9"} <= set(practice.controls)


@pytest.mark.parametrize(
    "slug",
    [
        "sec_securely_operate_threat_model",
        "sec_incident_response_develop_management_plans",
        "sec_incident_response_playbooks",
        "sec_data_classification_identify_data",
        "sec_data_classification_define_protection",
        "sec_appsec_perform_regular_penetration_testing",
    ],
)
def test_process_practices_are_marked_not_assessable_with_a_reason(slug: str) -> None:
    practice = load_framework("well-architected").requirement(slug)
    assert practice.assessable is False
    assert practice.gap == "process"
    assert practice.reason


def test_every_catalogue_control_supports_some_best_practice() -> None:
    mapped = load_framework("well-architected").control_ids()
    assert mapped == load_catalogue().ids()


def test_each_control_lists_exactly_the_best_practices_that_map_it() -> None:
    framework = load_framework("well-architected")
    for control in load_catalogue().all():
        listed = {r.id for r in framework.requirements_for_control(control.id)}
        assert set(control.well_architected) == listed, control.id


def test_an_unknown_best_practice_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="no requirement"):
        load_framework("well-architected").requirement("sec_made_up")


# ---------------------------------------------------------------------------------------------
# CIS AWS Foundations Benchmark v3.0.0
# ---------------------------------------------------------------------------------------------


def test_cis_lists_every_v3_recommendation_in_its_section() -> None:
    framework = load_framework("cis")
    assert framework.version == "3.0.0"
    assert [r.id for r in framework.requirements] == CIS_V3_IDS
    assert all(r.group == r.id.split(".")[0] for r in framework.requirements)


def test_each_control_lists_exactly_the_cis_recommendations_that_map_it() -> None:
    framework = load_framework("cis")
    for control in load_catalogue().all():
        listed = {r.id for r in framework.requirements_for_control(control.id)}
        assert set(control.cis) == listed, control.id


def test_cis_keeps_security_hubs_own_mapping_where_the_catalogue_differs() -> None:
    framework = load_framework("cis")
    ssh_ipv4 = framework.requirement("5.2")
    assert ssh_ipv4.security_hub_controls == ("EC2.53",)
    assert set(ssh_ipv4.controls) == {"EC2.13", "EC2.14"}
    assert ssh_ipv4.coverage == "partial"
    admin_policies = framework.requirement("1.16")
    assert admin_policies.controls == ("IAM.1",)
    assert admin_policies.security_hub_controls == ()
    assert admin_policies.coverage == "partial"


def test_cis_45_day_credentials_recommendation_uses_iam_22_not_the_90_day_iam_8() -> None:
    requirement = load_framework("cis").requirement("1.12")
    assert requirement.controls == ("IAM.22",)
    assert "IAM.8" not in requirement.controls


def test_cis_monitoring_section_is_reported_as_not_assessed_rather_than_passed() -> None:
    monitoring = load_framework("cis").by_group()["4"]
    assert len(monitoring) == 16
    assert all(not r.assessable and r.gap == "not_covered" for r in monitoring)


# ---------------------------------------------------------------------------------------------
# FSBP
# ---------------------------------------------------------------------------------------------


def test_fsbp_requirements_map_to_the_control_of_the_same_id() -> None:
    for requirement in load_framework("fsbp").requirements:
        assert requirement.controls == (requirement.id,)


def test_controls_from_other_standards_are_not_listed_as_fsbp() -> None:
    fsbp = {r.id for r in load_framework("fsbp").requirements}
    assert fsbp.isdisjoint(CATALOGUE_ONLY_OUTSIDE_FSBP)
    assert fsbp | set(CATALOGUE_ONLY_OUTSIDE_FSBP) == load_catalogue().ids()


# ---------------------------------------------------------------------------------------------
# What the loader refuses
# ---------------------------------------------------------------------------------------------


def test_a_requirement_marked_assessable_without_controls_is_refused() -> None:
    with pytest.raises(ValueError, match="needs controls"):
        Requirement(id="x", title="x", group="1", controls=(), coverage="full")


def test_a_requirement_marked_not_assessable_without_a_reason_is_refused() -> None:
    with pytest.raises(ValueError, match="needs a gap and a reason"):
        Requirement(id="x", title="x", group="1", assessable=False, gap="process", reason=" ")


def test_a_requirement_that_is_not_assessable_but_names_controls_is_refused() -> None:
    with pytest.raises(ValueError, match="no controls"):
        Requirement(id="x", title="x", group="1", controls=("S3.1",), assessable=False, gap="process", reason="r")


def test_a_framework_referencing_an_unknown_control_is_reported() -> None:
    data = framework_dump("fsbp")
    data["requirements"][0]["controls"] = ["S3.999"]
    problems = framework_problems(Framework.model_validate(data), load_catalogue())
    assert any("unknown control S3.999" in p for p in problems)


def test_a_best_practice_mapping_the_control_does_not_declare_is_reported() -> None:
    data = framework_dump("well-architected")
    practice = next(r for r in data["requirements"] if r["id"] == "sec_network_protection_layered")
    practice["controls"].append("KMS.4")
    problems = framework_problems(Framework.model_validate(data), load_catalogue())
    assert any(p.startswith("KMS.4 declares") for p in problems)


def test_a_well_architected_file_missing_a_question_is_reported() -> None:
    data = framework_dump("well-architected")
    data["groups"] = [g for g in data["groups"] if g["id"] != "SEC07"]
    data["requirements"] = [r for r in data["requirements"] if r["group"] != "SEC07"]
    problems = framework_problems(Framework.model_validate(data), load_catalogue())
    assert any("questions must be" in p for p in problems)


def test_a_requirement_in_an_undeclared_group_is_refused() -> None:
    data = framework_dump("cis")
    data["requirements"][0]["group"] = "9"
    with pytest.raises(ValueError, match="unknown groups"):
        Framework.model_validate(data)


def test_duplicate_requirement_ids_are_refused() -> None:
    data = framework_dump("cis")
    data["requirements"].append(data["requirements"][0])
    with pytest.raises(ValueError, match="duplicate requirement ids"):
        Framework.model_validate(data)
