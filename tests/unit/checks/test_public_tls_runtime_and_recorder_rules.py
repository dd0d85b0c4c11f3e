"""Rules the golden files cannot pin down on their own: which condition operators restrict a public
principal (S3.2, S3.3, Lambda.1), what a TLS-only bucket policy must cover (S3.5), Lambda runtimes
around their deprecation dates (Lambda.2), and each fact Config.1 reads from the recorder."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from agent_config.checks.evidence import ApiCall, Evidence, EvidenceItem
from agent_config.checks.results import CheckResult
from agent_config.checks.services import awsconfig, awslambda, s3
from agent_config.checks.services._policy import is_public_statement, requires_a_match, statements
from agent_config.interfaces import FindingStatus

ACCOUNT = "123456789012"
REGION = "us-east-1"
ORG = "o-acme4x9k2p7"
BUCKET = "acme-data"
BUCKET_ARN = f"arn:aws:s3:::{BUCKET}"
SERVICE_LINKED = f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"

P, F, M, NA = FindingStatus.PASS, FindingStatus.FAIL, FindingStatus.MANUAL, FindingStatus.NOT_APPLICABLE


def evidence(*pairs: tuple[ApiCall, dict[str, Any] | str]) -> Evidence:
    """Evidence from (call, response) pairs; a string response is an error code."""
    items = [
        EvidenceItem(call=call, error_code=response)
        if isinstance(response, str)
        else EvidenceItem(call=call, response=response)
        for call, response in pairs
    ]
    return Evidence(account_id=ACCOUNT, items=items)


def only(results: list[CheckResult], control: str) -> CheckResult:
    found = [r for r in results if r.control_id == control]
    assert len(found) == 1, found
    return found[0]


# --- which conditions keep a public principal from being public -------------------------------


@pytest.mark.parametrize(
    ("condition", "public"),
    [
        # positive operators with a fixed value pin the caller
        ({"StringEquals": {"aws:PrincipalOrgID": ORG}}, False),
        ({"StringEqualsIgnoreCase": {"aws:PrincipalAccount": ACCOUNT}}, False),
        ({"StringLike": {"aws:SourceOwner": ACCOUNT}}, False),
        ({"ArnEquals": {"aws:SourceArn": "arn:aws:s3:::acme-uploads"}}, False),
        ({"ArnLike": {"aws:SourceArn": "arn:aws:sns:us-east-1:123456789012:acme-*"}}, False),
        ({"StringEquals": {"aws:SourceVpce": "vpce-0a1b2c3d"}}, False),
        ({"StringEquals": {"aws:SourceVpc": "vpc-0a1b2c3d"}}, False),
        ({"IpAddress": {"aws:SourceIp": "10.8.0.0/16"}}, False),
        ({"ForAnyValue:StringEquals": {"aws:PrincipalOrgID": ORG}}, False),
        # negated operators admit everyone but the listed values (and callers without the key)
        ({"StringNotEquals": {"aws:PrincipalOrgID": ORG}}, True),
        ({"StringNotEqualsIgnoreCase": {"aws:PrincipalAccount": ACCOUNT}}, True),
        ({"StringNotLike": {"aws:SourceArn": "arn:aws:s3:::acme-*"}}, True),
        ({"ArnNotEquals": {"aws:SourceArn": "arn:aws:s3:::acme-uploads"}}, True),
        ({"ArnNotLike": {"aws:SourceArn": "arn:aws:s3:::acme-*"}}, True),
        ({"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, True),
        ({"ForAnyValue:StringNotEquals": {"aws:PrincipalOrgID": ORG}}, True),
        # IfExists is true when the key is absent: an anonymous caller has no org or account
        ({"StringEqualsIfExists": {"aws:PrincipalOrgID": ORG}}, True),
        ({"ArnLikeIfExists": {"aws:SourceArn": "arn:aws:s3:::acme-uploads"}}, True),
        # ForAllValues is true when the request has no value for the key at all
        ({"ForAllValues:StringEquals": {"aws:PrincipalOrgID": ORG}}, True),
        # wildcard-only and open values pin nobody
        ({"StringLike": {"aws:SourceAccount": "**"}}, True),
        ({"IpAddress": {"aws:SourceIp": ["0.0.0.0/0", "::/0"]}}, True),
        # conditions are ANDed: one positive restriction is enough, whatever else is there
        (
            {
                "StringNotEquals": {"aws:PrincipalAccount": "999999999999"},
                "StringEquals": {"aws:PrincipalOrgID": ORG},
            },
            False,
        ),
    ],
)
def test_only_positive_operators_with_fixed_values_restrict_a_public_principal(
    condition: dict[str, Any], public: bool
) -> None:
    statement = statements(
        {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Condition": condition}]}
    )[0]

    assert is_public_statement(statement) is public


@pytest.mark.parametrize(
    ("operator", "requires"),
    [
        ("StringEquals", True),
        ("stringlike", True),
        ("ForAnyValue:ArnLike", True),
        ("StringNotLike", False),
        ("NotIpAddress", False),
        ("IpAddressIfExists", False),
        ("ForAllValues:StringEquals", False),
        ("Null", False),
        ("Bool", False),
    ],
)
def test_an_operator_requires_a_match_only_when_an_absent_key_makes_it_false(operator: str, requires: bool) -> None:
    assert requires_a_match(operator) is requires


def _bucket(policy: dict[str, Any] | str) -> Evidence:
    calls = s3.bucket_calls(BUCKET)
    return evidence(
        (s3.account_bpa_call(ACCOUNT), "NoSuchPublicAccessBlockConfiguration"),
        (s3.list_buckets_call(), {"Buckets": [{"Name": BUCKET, "BucketRegion": REGION}]}),
        (calls["get-bucket-acl"], {"Grants": []}),
        (calls["get-bucket-policy"], policy if isinstance(policy, str) else {"Policy": json.dumps(policy)}),
        (calls["get-public-access-block"], "NoSuchPublicAccessBlockConfiguration"),
        (calls["get-bucket-logging"], {}),
    )


def test_a_bucket_open_to_everyone_outside_one_organisation_is_public_for_read_and_write() -> None:
    policy = {
        "Statement": [
            {
                "Sid": "EveryoneButPartnersOrg",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": "s3:GetObject",
                "Resource": f"{BUCKET_ARN}/*",
                "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-partner0001"}},
            },
            {
                "Sid": "UploadsFromAnywhereButOneRange",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": f"{BUCKET_ARN}/*",
                "Condition": {"NotIpAddress": {"aws:SourceIp": "198.51.100.0/24"}},
            },
        ]
    }

    results = s3.evaluate(REGION, _bucket(policy))

    assert only(results, "S3.2").status is F
    assert "EveryoneButPartnersOrg" in only(results, "S3.2").reason
    assert only(results, "S3.3").status is F
    assert "UploadsFromAnywhereButOneRange" in only(results, "S3.3").reason


def test_a_bucket_shared_with_one_organisation_is_not_public() -> None:
    policy = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": f"{BUCKET_ARN}/*",
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": ORG}},
            }
        ]
    }

    results = s3.evaluate(REGION, _bucket(policy))

    assert only(results, "S3.2").status is P
    assert only(results, "S3.3").status is P


def _function(name: str, **fields: Any) -> dict[str, Any]:
    return {"FunctionName": name, "FunctionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}", **fields}


def _lambda(functions: list[dict[str, Any]], policies: dict[str, dict[str, Any]] | None = None) -> Evidence:
    policies = policies or {}
    return evidence(
        (awslambda.list_call(REGION), {"Functions": functions}),
        *(
            (
                awslambda.policy_call(REGION, f["FunctionName"]),
                {"Policy": json.dumps(policies[f["FunctionName"]])}
                if f["FunctionName"] in policies
                else "ResourceNotFoundException",
            )
            for f in functions
        ),
    )


@pytest.mark.parametrize(
    ("statement", "status"),
    [
        ({"Principal": "*", "Condition": {"ArnNotLike": {"AWS:SourceArn": "arn:aws:s3:::acme-*"}}}, F),
        ({"Principal": "*", "Condition": {"StringEqualsIfExists": {"aws:SourceAccount": ACCOUNT}}}, F),
        ({"Principal": "*", "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}}, P),
        (
            {
                "Principal": {"Service": "s3.amazonaws.com"},
                "Condition": {"StringNotEquals": {"aws:SourceAccount": "1"}},
            },
            F,
        ),
        (
            {
                "Principal": {"Service": "s3.amazonaws.com"},
                "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
            },
            P,
        ),
    ],
)
def test_lambda_1_counts_negated_and_if_exists_conditions_as_no_restriction(
    statement: dict[str, Any], status: FindingStatus
) -> None:
    policy = {"Statement": [{"Sid": "invoke", "Effect": "Allow", "Action": "lambda:InvokeFunction", **statement}]}

    results = awslambda.evaluate(
        REGION, _lambda([_function("acme-hook", Runtime="python3.12")], {"acme-hook": policy}), now=_at(2026, 12, 3)
    )

    assert only(results, "Lambda.1").status is status


# --- S3.5: a Deny on aws:SecureTransport false, to everyone, on the bucket and all objects -----


def _tls_deny(**overrides: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Sid": "DenyHttp",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [BUCKET_ARN, f"{BUCKET_ARN}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    statement.update(overrides)
    return {"Statement": [statement]}


@pytest.mark.parametrize(
    ("overrides", "status", "gap"),
    [
        ({}, P, None),
        ({"Principal": {"AWS": "*"}}, P, None),
        ({"Principal": {"AWS": ["*"]}, "Action": ["s3:GetObject", "s3:PutObject"]}, P, None),
        ({"Resource": "*"}, P, None),
        ({"Resource": f"{BUCKET_ARN}*"}, P, None),
        ({"Condition": {"BoolIfExists": {"aws:SecureTransport": "false"}}}, P, None),
        ({"Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/acme-app"}}, F, "named principals"),
        ({"Action": "s3:GetObject"}, F, "s3:GetObject and s3:PutObject"),
        ({"Resource": f"{BUCKET_ARN}/*"}, F, f"do not include {BUCKET_ARN}"),
        ({"Resource": BUCKET_ARN}, F, "every object"),
        ({"Resource": [BUCKET_ARN, f"{BUCKET_ARN}/logs/*"]}, F, "every object"),
        ({"Resource": [BUCKET_ARN, f"{BUCKET_ARN}/?"]}, F, "every object"),
        ({"Resource": ["arn:aws:s3:::other-bucket", "arn:aws:s3:::other-bucket/*"]}, F, "do not include"),
        (
            {
                "Condition": {
                    "Bool": {"aws:SecureTransport": "false"},
                    "NumericLessThan": {"s3:TlsVersion": "1.2"},
                }
            },
            F,
            "s3:TlsVersion",
        ),
        ({"Effect": "Allow"}, F, "no Deny statement"),
        ({"Condition": {"Bool": {"aws:SecureTransport": "true"}}}, F, "no Deny statement"),
    ],
)
def test_s3_5_passes_only_a_deny_of_plain_http_to_everyone_on_the_bucket_and_all_objects(
    overrides: dict[str, Any], status: FindingStatus, gap: str | None
) -> None:
    result = only(s3.evaluate(REGION, _bucket(_tls_deny(**overrides))), "S3.5")

    assert result.status is status
    if gap is not None:
        assert gap in result.reason


def test_s3_5_passes_when_one_of_several_tls_statements_covers_everything() -> None:
    policy = _tls_deny(Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:role/acme-app"})
    policy["Statement"].append(_tls_deny(Sid="DenyHttpForAll")["Statement"][0])

    result = only(s3.evaluate(REGION, _bucket(policy)), "S3.5")

    assert result.status is P
    assert result.evidence["deny_statements"] == ["DenyHttpForAll"]


# --- Lambda.2: supported strictly before the deprecation date -----------------------------------


def _at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 12, tzinfo=UTC)


def _runtime_result(runtime: str, when: datetime) -> CheckResult:
    return only(awslambda.evaluate(REGION, _lambda([_function("acme-fn", Runtime=runtime)]), now=when), "Lambda.2")


@pytest.mark.parametrize(
    ("runtime", "deprecated"),
    [
        ("nodejs20.x", date(2026, 4, 30)),
        ("python3.10", date(2026, 10, 31)),
        ("dotnet8", date(2026, 11, 10)),
        ("ruby3.2", date(2026, 3, 31)),
        ("provided.al2", date(2026, 7, 31)),
        ("nodejs22.x", date(2027, 4, 30)),
        ("python3.12", date(2028, 10, 31)),
    ],
)
def test_a_runtime_passes_the_day_before_its_deprecation_and_fails_on_the_day(runtime: str, deprecated: date) -> None:
    day_before = datetime.combine(deprecated - timedelta(days=1), datetime.max.time(), tzinfo=UTC)
    on_the_day = datetime.combine(deprecated, datetime.min.time(), tzinfo=UTC)

    assert _runtime_result(runtime, day_before).status is P
    failed = _runtime_result(runtime, on_the_day)
    assert failed.status is F
    assert failed.evidence["deprecated_on"] == deprecated.isoformat()


@pytest.mark.parametrize(
    ("runtime", "status"),
    [
        ("python3.12", P),
        ("python3.14", P),
        ("nodejs22.x", P),
        ("nodejs24.x", P),
        ("java8.al2", P),
        ("ruby3.3", P),
        ("provided.al2023", P),
        ("nodejs20.x", F),
        ("python3.10", F),
        ("dotnet8", F),
        ("ruby3.2", F),
        ("python3.9", F),
        ("go1.x", F),
    ],
)
def test_runtimes_on_the_day_of_this_review(runtime: str, status: FindingStatus) -> None:
    assert _runtime_result(runtime, _at(2026, 12, 3)).status is status


def test_an_unknown_runtime_is_manual_never_pass() -> None:
    result = _runtime_result("nodejs26.x", _at(2026, 12, 3))

    assert result.status is M
    assert "not a runtime this agent knows" in result.reason
    assert "lambda-runtimes.html" in result.reason


def test_a_zip_function_whose_runtime_was_not_listed_is_manual() -> None:
    results = awslambda.evaluate(REGION, _lambda([_function("acme-fn", PackageType="Zip")]), now=_at(2026, 12, 3))

    assert only(results, "Lambda.2").status is M


def test_container_image_functions_get_no_runtime_result_and_a_region_of_them_is_not_applicable() -> None:
    image = _function("acme-image", PackageType="Image")
    zipped = _function("acme-zip", PackageType="Zip", Runtime="python3.13")

    images_only = awslambda.evaluate(REGION, _lambda([image]), now=_at(2026, 12, 3))
    mixed = awslambda.evaluate(REGION, _lambda([image, zipped]), now=_at(2026, 12, 3))

    assert only(images_only, "Lambda.2").status is NA
    assert only(images_only, "Lambda.1").status is P
    assert only(mixed, "Lambda.2").resource_id == "acme-zip"


def test_security_hubs_default_runtimes_are_all_known_and_no_runtime_is_both_supported_and_retired() -> None:
    security_hub_default = {
        *("dotnet10", "dotnet8", "java25", "java21", "java17", "java11", "java8.al2"),
        *("nodejs24.x", "nodejs22.x", "nodejs20.x"),
        *("python3.14", "python3.13", "python3.12", "python3.11", "python3.10"),
        *("ruby3.4", "ruby3.3", "ruby3.2"),
    }

    assert security_hub_default <= set(awslambda.SUPPORTED_RUNTIMES)
    assert not set(awslambda.SUPPORTED_RUNTIMES) & set(awslambda.DEPRECATED_RUNTIMES)
    assert all(day < date(2026, 12, 3) for day in awslambda.DEPRECATED_RUNTIMES.values())


# --- Config.1: recording, healthy, everything, with the service-linked role ---------------------


def _status(**fields: Any) -> dict[str, Any]:
    return {"ConfigurationRecordersStatus": [{"name": "default", "recording": True, "lastStatus": "SUCCESS", **fields}]}


def _recorder(**fields: Any) -> dict[str, Any]:
    recorder: dict[str, Any] = {
        "name": "default",
        "roleARN": SERVICE_LINKED,
        "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": True},
    }
    recorder.update(fields)
    return {"ConfigurationRecorders": [{k: v for k, v in recorder.items() if v is not None}]}


def _config(status: dict[str, Any] | str, recorders: dict[str, Any] | str) -> CheckResult:
    results = awsconfig.evaluate(
        REGION, evidence((awsconfig.status_call(REGION), status), (awsconfig.recorders_call(REGION), recorders))
    )
    assert len(results) == 1
    return results[0]


@pytest.mark.parametrize(
    ("status", "recorders", "expected", "words"),
    [
        (_status(), _recorder(), P, ""),
        (_status(lastStatus="Pending"), _recorder(), P, ""),
        (
            _status(),
            _recorder(recordingGroup={"recordingStrategy": {"useOnly": "ALL_SUPPORTED_RESOURCE_TYPES"}}),
            P,
            "",
        ),
        (_status(recording=False), _recorder(), F, "is not recording"),
        (_status(lastStatus="FAILURE"), _recorder(), F, "last failed to record"),
        (_status(lastStatus="Failure"), _recorder(), F, "last failed to record"),
        (_status(), _recorder(roleARN=f"arn:aws:iam::{ACCOUNT}:role/acme-config"), F, "service-linked role"),
        (
            _status(),
            _recorder(
                recordingGroup={
                    "allSupported": False,
                    "exclusionByResourceTypes": {"resourceTypes": ["AWS::EC2::Instance"]},
                    "recordingStrategy": {"useOnly": "EXCLUSION_BY_RESOURCE_TYPES"},
                }
            ),
            F,
            "does not record all supported resource types",
        ),
        (
            _status(recording=False),
            _recorder(roleARN=f"arn:aws:iam::{ACCOUNT}:role/acme-config"),
            F,
            "is not recording, does not use",
        ),
        # a field the response does not hold is unknown: MANUAL when everything read passes ...
        (_status(), _recorder(roleARN=None), M, "returned no roleARN"),
        (_status(), _recorder(recordingGroup=None), M, "returned no recordingGroup"),
        (_status(), "AccessDeniedException", M, "config:DescribeConfigurationRecorders was denied"),
        (_status(), {"ConfigurationRecorders": []}, M, "did not return this recorder"),
        # ... and FAIL, never MANUAL, when something that was read already fails
        (_status(recording=False), "AccessDeniedException", F, "is not recording"),
        (_status(lastStatus="FAILURE"), _recorder(roleARN=None), F, "last failed to record"),
    ],
)
def test_config_1_reads_every_fact_and_never_fails_on_a_missing_one(
    status: dict[str, Any], recorders: dict[str, Any] | str, expected: FindingStatus, words: str
) -> None:
    result = _config(status, recorders)

    assert result.status is expected
    assert words in (result.reason if expected is not M else result.missing or "")


def test_config_1_passes_when_one_of_two_recorders_does_everything() -> None:
    status = {
        "ConfigurationRecordersStatus": [
            {"name": "old", "recording": False},
            {"name": "default", "recording": True, "lastStatus": "SUCCESS"},
        ]
    }
    recorders = {
        "ConfigurationRecorders": [
            {
                "name": "old",
                "roleARN": f"arn:aws:iam::{ACCOUNT}:role/legacy",
                "recordingGroup": {"allSupported": False},
            },
            _recorder()["ConfigurationRecorders"][0],
        ]
    }

    result = _config(status, recorders)

    assert result.status is P
    assert "default" in result.reason
