"""A moto server (over HTTP, in its own process) for the session store's integration tests, and
builders for its clients, tables and assessments."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from agent_config.interfaces import Finding, FindingStatus, Remediation, SecurityAssessment, Severity
from agent_config.sandbox.local_aws import (
    SANDBOX_ACCESS_KEY_ID,
    SANDBOX_SECRET_ACCESS_KEY,
    LocalAws,
    local_aws,
)
from agent_config.session.dynamodb import DynamoDBSessionStore, client_config
from agent_config.session.settings import SessionSettings
from agent_config.session.table import create_session_table

_table_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def session_aws() -> Iterator[LocalAws]:
    with local_aws() as aws:
        yield aws


def make_client(endpoint_url: str, region: str = "us-east-1", **config: Any) -> Any:
    return boto3.client(
        "dynamodb",
        region_name=region,
        endpoint_url=endpoint_url,
        aws_access_key_id=SANDBOX_ACCESS_KEY_ID,
        aws_secret_access_key=SANDBOX_SECRET_ACCESS_KEY,
        config=client_config(**config),
    )


@pytest.fixture
def client_for() -> Callable[..., Any]:
    """`client_for(endpoint_url, **client_config)`: a session-store client for any endpoint."""
    return make_client


@pytest.fixture
def dynamodb(session_aws: LocalAws) -> Any:
    return make_client(session_aws.endpoint_url)


@pytest.fixture
def table(dynamodb: Any) -> str:
    """A fresh session table, created exactly as the deploy script creates it."""
    name = f"sessions-{next(_table_numbers)}"
    create_session_table(dynamodb, name)
    return name


@pytest.fixture
def make_store(session_aws: LocalAws, table: str) -> Callable[..., DynamoDBSessionStore]:
    """A store with its own client (as a separate Lambda container would have)."""

    def make(settings: SessionSettings | None = None, **kwargs: Any) -> DynamoDBSessionStore:
        return DynamoDBSessionStore(table, make_client(session_aws.endpoint_url), settings, **kwargs)

    return make


def big_assessment(assessment_id: str, target_bytes: int, seed: int = 1, noise_bytes: int = 0) -> SecurityAssessment:
    """An assessment whose JSON is about `target_bytes`: realistic findings with varied evidence
    (resource ids, policy documents with random principals). `noise_bytes` of random data per
    finding (think certificates, hashes) make it compress poorly, to force many chunks."""
    rng = random.Random(seed)
    created = datetime(2026, 11, 1, 12, tzinfo=UTC)
    findings: list[Finding] = []
    size = 0
    for i in itertools.count():
        if size >= target_bytes:
            break
        bucket = f"acme-data-{rng.getrandbits(48):012x}"
        statement = [
            {
                "Sid": f"s{j}",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{rng.randrange(10**11, 10**12)}:role/r-{rng.getrandbits(40):010x}"},
                "Action": ["s3:GetObject", "s3:PutObject"][: 1 + j % 2],
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
            for j in range(3)
        ]
        finding = Finding(
            control_id=f"S3.{1 + i % 20}",
            title=f"S3 bucket {bucket} does not meet control S3.{1 + i % 20}",
            status=FindingStatus.FAIL if i % 3 else FindingStatus.PASS,
            severity=list(Severity)[i % 5],
            resource_type="AWS::S3::Bucket",
            resource_id=bucket,
            resource_arn=f"arn:aws:s3:::{bucket}",
            region="us-east-1",
            account_id="123456789012",
            evidence={
                "policy": {"Version": "2012-10-17", "Statement": statement},
                "etag": rng.randbytes(16).hex(),
            }
            | ({"certificate": rng.randbytes(noise_bytes).hex()} if noise_bytes else {}),
            sources=["aws_api"],
            remediation=Remediation(summary="Block public access and restrict the bucket policy."),
            observed_at=created,
        )
        findings.append(finding)
        size += len(finding.model_dump_json())
    return SecurityAssessment(
        assessment_id=assessment_id,
        account_id="123456789012",
        regions=["us-east-1"],
        findings=findings,
        created_at=created + timedelta(seconds=seed),
    )


@pytest.fixture
def make_big_assessment() -> Callable[..., SecurityAssessment]:
    return big_assessment
