"""Error classification: foreign exceptions become the kind that decides retrying and guidance."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

from agent_config.utils.error_handling import (
    GUIDANCE,
    RETRYABLE,
    AgentError,
    DependencyFailed,
    ErrorKind,
    InvalidInput,
    classify,
    kind_for_http_status,
)


def _client_error(code: str, status: int = 400) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (_client_error("AccessDenied", 403), ErrorKind.PERMISSION),
        (_client_error("AccessDeniedException", 400), ErrorKind.PERMISSION),
        (_client_error("UnauthorizedOperation"), ErrorKind.PERMISSION),
        (_client_error("ExpiredToken"), ErrorKind.AUTHENTICATION),
        (_client_error("InvalidClientTokenId", 403), ErrorKind.AUTHENTICATION),
        (_client_error("ThrottlingException"), ErrorKind.RATE_LIMIT),
        (_client_error("RequestLimitExceeded", 503), ErrorKind.RATE_LIMIT),
        (_client_error("ValidationException"), ErrorKind.VALIDATION),
        (_client_error("SomethingNew", 503), ErrorKind.SERVER_ERROR),
        (_client_error("SomethingNew", 429), ErrorKind.RATE_LIMIT),
        (NoCredentialsError(), ErrorKind.AUTHENTICATION),
        (EndpointConnectionError(endpoint_url="https://x"), ErrorKind.CONNECTION),
        (ConnectionResetError("reset"), ErrorKind.CONNECTION),
        (BrokenPipeError("pipe"), ErrorKind.CONNECTION),
        (TimeoutError(), ErrorKind.TIMEOUT),
        (ValueError("bad"), ErrorKind.VALIDATION),
        (RuntimeError("boom"), ErrorKind.SERVER_ERROR),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else str(value),
)
def test_foreign_exceptions_are_classified_by_code_and_type(exc: BaseException, kind: ErrorKind) -> None:
    error = classify(exc)

    assert error.kind is kind
    assert error.__cause__ is exc


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (401, ErrorKind.AUTHENTICATION),
        (403, ErrorKind.PERMISSION),
        (429, ErrorKind.RATE_LIMIT),
        (504, ErrorKind.TIMEOUT),
        (404, ErrorKind.VALIDATION),
        (500, ErrorKind.SERVER_ERROR),
        (502, ErrorKind.SERVER_ERROR),
    ],
)
def test_http_statuses_map_to_kinds(status: int, kind: ErrorKind) -> None:
    assert kind_for_http_status(status) is kind


def test_only_transient_kinds_are_retryable() -> None:
    assert {
        ErrorKind.CONNECTION,
        ErrorKind.RATE_LIMIT,
        ErrorKind.TIMEOUT,
        ErrorKind.SERVER_ERROR,
    } == RETRYABLE
    assert not InvalidInput("x").retryable
    assert classify(ConnectionResetError()).retryable


def test_every_kind_has_guidance_a_user_can_act_on() -> None:
    for kind in ErrorKind:
        assert len(GUIDANCE[kind]) > 40, kind


def test_agent_errors_pass_through_classification_unchanged() -> None:
    original = InvalidInput("region is wrong")

    assert classify(original) is original


def test_dependency_failures_carry_the_guidance_of_their_cause() -> None:
    error = DependencyFailed("security", "timed out", ErrorKind.TIMEOUT)

    assert isinstance(error, AgentError)
    assert error.guidance == GUIDANCE[ErrorKind.TIMEOUT]
    assert "security" in error.message


def test_long_messages_are_shortened() -> None:
    assert len(classify(RuntimeError("x" * 5000)).message) <= 500
