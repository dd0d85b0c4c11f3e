"""A tool's `isError` answer is judged by its text: the kind decides retrying, the breaker and the
guidance the user gets."""

from __future__ import annotations

import pytest

from agent_config.orchestration.orchestrator import tool_error, tool_error_kind
from agent_config.utils.error_handling import ErrorKind


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Unknown tool: no_such_tool", ErrorKind.VALIDATION),
        ("Tool search_docs not found", ErrorKind.VALIDATION),
        ("Error executing tool slow: 1 validation error for slowArguments", ErrorKind.VALIDATION),
        ("Invalid arguments for tool call_aws: missing 'cli_command'", ErrorKind.VALIDATION),
        (
            "An error occurred (AccessDeniedException) when calling the ListDetectors operation: User is not "
            "authorized to perform: guardduty:ListDetectors",
            ErrorKind.PERMISSION,
        ),
        ("An error occurred (UnauthorizedOperation) when calling the DescribeVpcs operation", ErrorKind.PERMISSION),
        ("AccessDenied: not authorized to perform s3:GetBucketPolicy", ErrorKind.PERMISSION),
        ("User is not authorized to perform: iam:ListUsers", ErrorKind.PERMISSION),
        ("An error occurred (ThrottlingException) when calling GetFindings: Rate exceeded", ErrorKind.RATE_LIMIT),
        ("TooManyRequestsException: slow down", ErrorKind.RATE_LIMIT),
        ("Rate exceeded", ErrorKind.RATE_LIMIT),
        ("An error occurred (ExpiredTokenException): the security token has expired", ErrorKind.AUTHENTICATION),
        ("Error executing tool flaky", ErrorKind.SERVER_ERROR),
        ("", ErrorKind.SERVER_ERROR),
    ],
)
def test_a_tool_error_is_classified_by_what_it_says(text: str, kind: ErrorKind) -> None:
    assert tool_error_kind(text) is kind


def test_an_unknown_tool_is_named_in_the_message() -> None:
    error = tool_error("security", "CheckEverything", "Unknown tool: CheckEverything")

    assert error.kind is ErrorKind.VALIDATION
    assert error.message == "the security server has no tool named 'CheckEverything'"
    assert error.detail == "Unknown tool: CheckEverything"
    assert not error.retryable


def test_a_permission_error_keeps_the_action_and_gives_the_iam_guidance() -> None:
    error = tool_error("security", "GetFindings", "AccessDenied: not authorized to perform guardduty:ListFindings")

    assert error.kind is ErrorKind.PERMISSION
    assert "guardduty:ListFindings" in error.message
    assert "Grant the IAM permission" in error.guidance
    assert not error.retryable


def test_throttling_is_retryable() -> None:
    assert tool_error("aws_api", "call_aws", "Rate exceeded").retryable


def test_a_long_multi_line_error_is_one_bounded_line() -> None:
    error = tool_error("knowledge", "search", "boom\n" * 500)

    assert "\n" not in error.message
    assert len(error.message) < 400
