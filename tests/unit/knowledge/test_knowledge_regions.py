"""The offline Region catalogue answers availability in the remote server's vocabulary."""

from __future__ import annotations

import pytest

from agent_config.knowledge.models import Product, Region
from agent_config.knowledge.regions import (
    AVAILABLE,
    NOT_AVAILABLE,
    NOT_FOUND,
    AvailabilityError,
    RegionCatalogue,
    load_catalogue,
)


@pytest.fixture(scope="module")
def catalogue() -> RegionCatalogue:
    return load_catalogue()


@pytest.fixture
def small() -> RegionCatalogue:
    regions = [
        Region(region_id="us-east-1", region_long_name="N. Virginia"),
        Region(region_id="eu-west-1", region_long_name="Ireland"),
    ]
    lambda_ = Product(name="AWS Lambda", sdk_service_ids=("Lambda",), cfn_services=("Lambda",), available_in="all")
    bedrock = Product(
        name="Amazon Bedrock",
        sdk_service_ids=("Bedrock",),
        cfn_services=("Bedrock",),
        available_in=("us-east-1",),
    )
    return RegionCatalogue(regions, [lambda_, bedrock])


def test_the_bundled_catalogue_lists_the_commercial_regions(catalogue: RegionCatalogue) -> None:
    ids = [region.region_id for region in catalogue.regions]

    assert len(ids) == len(set(ids)) >= 30
    assert {"us-east-1", "eu-west-1", "ap-southeast-2", "sa-east-1"} <= set(ids)


def test_every_service_the_corpus_checks_has_availability_data(catalogue: RegionCatalogue) -> None:
    names = {product.name for product in catalogue.products}

    assert {
        "AWS Identity and Access Management (IAM)",
        "Amazon Simple Storage Service (S3)",
        "Amazon Elastic Compute Cloud (EC2)",
        "AWS Key Management Service (KMS)",
        "Amazon GuardDuty",
        "AWS Security Hub",
        "AWS CloudTrail",
    } <= names


def test_one_region_answers_name_to_status(small: RegionCatalogue) -> None:
    answer = small.availability("product", ["eu-west-1"], ["AWS Lambda", "Amazon Bedrock", "Lambda"])

    assert answer.as_result() == {
        "products": {"AWS Lambda": AVAILABLE, "Amazon Bedrock": NOT_AVAILABLE, "Lambda": NOT_FOUND}
    }


def test_several_regions_answer_name_to_region_to_status_and_list_unknown_regions(
    small: RegionCatalogue,
) -> None:
    answer = small.availability("product", ["us-east-1", "eu-west-1", "xx-nowhere-9"], ["Amazon Bedrock"])

    assert answer.as_result() == {
        "products": {"Amazon Bedrock": {"us-east-1": AVAILABLE, "eu-west-1": NOT_AVAILABLE}},
        "failed_regions": ["xx-nowhere-9"],
    }


def test_api_filters_match_the_sdk_service_id_with_or_without_an_operation(small: RegionCatalogue) -> None:
    answer = small.availability("api", ["us-east-1"], ["Lambda+Invoke", "lambda", "Nope+Describe"])

    assert answer.as_result() == {
        "service_apis": {"Lambda+Invoke": AVAILABLE, "lambda": AVAILABLE, "Nope+Describe": NOT_FOUND}
    }


def test_cloudformation_filters_match_the_resource_namespace(small: RegionCatalogue) -> None:
    answer = small.availability("cfn", ["eu-west-1"], ["AWS::Lambda::Function", "AWS::Bedrock::Agent", "Lambda"])

    assert answer.as_result() == {
        "cfn_resources": {
            "AWS::Lambda::Function": AVAILABLE,
            "AWS::Bedrock::Agent": NOT_AVAILABLE,
            "Lambda": NOT_FOUND,
        }
    }


def test_without_filters_one_region_lists_every_known_name(small: RegionCatalogue) -> None:
    answer = small.availability("product", ["us-east-1"])

    assert answer.as_result() == {"products": {"AWS Lambda": AVAILABLE, "Amazon Bedrock": AVAILABLE}}


@pytest.mark.parametrize(
    ("resource_type", "regions", "filters", "message"),
    [
        ("service", ["us-east-1"], None, "resource_type must be one of"),
        ("product", [], None, "regions is required"),
        ("product", ["us-east-1", "eu-west-1"], None, "need filters"),
        ("product", [f"r{n}" for n in range(11)], ["AWS Lambda"], "at most 10 regions"),
        ("product", ["xx-nowhere-9"], None, "unknown region"),
    ],
)
def test_requests_the_remote_would_refuse_raise_with_guidance(
    small: RegionCatalogue, resource_type: str, regions: list[str], filters: list[str] | None, message: str
) -> None:
    with pytest.raises(AvailabilityError, match=message):
        small.availability(resource_type, regions, filters)
