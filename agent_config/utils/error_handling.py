"""The error taxonomy: every failure the agent can meet, named by what the user should do about it.

```
AgentError                      (base: kind, user guidance, retryable?)
 ├── ConnectionFailure          server unreachable, process died, connection reset   retry
 ├── AuthenticationFailure      bad or expired credentials / token / signature       no retry
 ├── PermissionDenied           authenticated, but not allowed (AccessDenied)         no retry
 ├── RateLimited                throttled, HTTP 429                                   retry (backoff)
 ├── CallTimeout                no answer within the call's share of the deadline     retry if time remains
 ├── InvalidInput               the request itself is wrong (bad parameter, schema)  no retry
 ├── ServerFailure              the peer answered with an error (5xx, error payload)  retry
 │    └── DependencyFailed   a server the whole answer depends on failed (HTTP 424)
 ├── CircuitOpen                the server failed repeatedly and is resting           no retry
 └── ConfigurationError         the agent's own configuration is wrong               no retry
```

Classification (`classify`) maps foreign exceptions (botocore, httpx2, MCP, OS errors) onto this
tree by looking at error codes and types, never at message wording alone, so the retry policy and
the guidance shown to the user follow from the kind.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar


class ErrorKind(StrEnum):
    """What went wrong, in the terms that decide retrying and guidance."""

    CONNECTION = "connection"
    AUTHENTICATION = "authentication"
    PERMISSION = "permission"
    RATE_LIMIT = "rate_limit"
    TIMEOUT = "timeout"
    VALIDATION = "validation"
    SERVER_ERROR = "server_error"
    CIRCUIT_OPEN = "circuit_open"
    CONFIGURATION = "configuration"


GUIDANCE: dict[ErrorKind, str] = {
    ErrorKind.CONNECTION: (
        "The server could not be reached. Check that it is running, that its endpoint or command in the "
        "configuration is right, and that the network (VPC, security groups, proxy) allows the connection."
    ),
    ErrorKind.AUTHENTICATION: (
        "The credentials were rejected. Check the token in Secrets Manager or the IAM role used for SigV4 "
        "signing, and that they have not expired."
    ),
    ErrorKind.PERMISSION: (
        "The caller is authenticated but not allowed to do this. Grant the IAM permission named in the "
        "error to the role the agent runs as; until then the affected checks are reported as MANUAL."
    ),
    ErrorKind.RATE_LIMIT: (
        "The service is throttling requests. The agent retried with backoff; ask again in a minute or "
        "narrow the request (fewer regions or services)."
    ),
    ErrorKind.TIMEOUT: (
        "The server did not answer in time. The answer contains what arrived before the deadline; narrow "
        "the request or raise the Lambda timeout."
    ),
    ErrorKind.VALIDATION: "The request is not valid. Correct the named parameter and ask again.",
    ErrorKind.SERVER_ERROR: (
        "The server answered with an error. It was retried; if it persists, check the server's logs."
    ),
    ErrorKind.CIRCUIT_OPEN: (
        "The server failed repeatedly and is being rested before it is tried again; its part of the "
        "answer is missing until then."
    ),
    ErrorKind.CONFIGURATION: "The agent's configuration is invalid. Fix the named setting and redeploy.",
}

RETRYABLE: frozenset[ErrorKind] = frozenset(
    {ErrorKind.CONNECTION, ErrorKind.RATE_LIMIT, ErrorKind.TIMEOUT, ErrorKind.SERVER_ERROR}
)


class AgentError(Exception):
    """Base of every error the agent raises on purpose."""

    kind: ClassVar[ErrorKind] = ErrorKind.SERVER_ERROR

    def __init__(self, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    @property
    def guidance(self) -> str:
        return GUIDANCE[self.kind]

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE


class ConnectionFailure(AgentError):
    kind = ErrorKind.CONNECTION


class AuthenticationFailure(AgentError):
    kind = ErrorKind.AUTHENTICATION


class PermissionDenied(AgentError):
    kind = ErrorKind.PERMISSION


class RateLimited(AgentError):
    kind = ErrorKind.RATE_LIMIT


class CallTimeout(AgentError):
    kind = ErrorKind.TIMEOUT


class InvalidInput(AgentError):
    kind = ErrorKind.VALIDATION


class ServerFailure(AgentError):
    kind = ErrorKind.SERVER_ERROR


class CircuitOpen(AgentError):
    kind = ErrorKind.CIRCUIT_OPEN


class ConfigurationError(AgentError):
    kind = ErrorKind.CONFIGURATION


class DependencyFailed(ServerFailure):
    """A server the answer depends on gave nothing usable; names the server and the kind of its failure."""

    def __init__(self, server: str, reason: str, cause_kind: ErrorKind | None = None) -> None:
        super().__init__(f"the {server} MCP server failed: {reason}")
        self.server = server
        self.reason = reason
        self.cause_kind = cause_kind or ErrorKind.SERVER_ERROR

    @property
    def guidance(self) -> str:
        return GUIDANCE[self.cause_kind]


_ERROR_TYPES: dict[ErrorKind, type[AgentError]] = {
    cls.kind: cls
    for cls in (
        ConnectionFailure,
        AuthenticationFailure,
        PermissionDenied,
        RateLimited,
        CallTimeout,
        InvalidInput,
        ServerFailure,
        CircuitOpen,
        ConfigurationError,
    )
}

# AWS error codes by kind (botocore ClientError `Error.Code`, also seen inside MCP payloads).
_AWS_CODES: dict[str, ErrorKind] = {
    **dict.fromkeys(
        (
            "AccessDenied",
            "AccessDeniedException",
            "UnauthorizedOperation",
            "AuthorizationError",
            "Forbidden",
            "SubscriptionRequiredException",
            "OptInRequired",
        ),
        ErrorKind.PERMISSION,
    ),
    **dict.fromkeys(
        (
            "UnrecognizedClientException",
            "InvalidClientTokenId",
            "ExpiredToken",
            "ExpiredTokenException",
            "InvalidSignatureException",
            "SignatureDoesNotMatch",
            "IncompleteSignature",
            "MissingAuthenticationToken",
        ),
        ErrorKind.AUTHENTICATION,
    ),
    **dict.fromkeys(
        (
            "Throttling",
            "ThrottlingException",
            "ThrottledException",
            "TooManyRequestsException",
            "RequestLimitExceeded",
            "ProvisionedThroughputExceededException",
            "SlowDown",
        ),
        ErrorKind.RATE_LIMIT,
    ),
    **dict.fromkeys(
        ("ValidationException", "ValidationError", "InvalidParameterValue", "InvalidParameterException"),
        ErrorKind.VALIDATION,
    ),
    **dict.fromkeys(
        ("InternalFailure", "InternalError", "ServiceUnavailable", "ServiceUnavailableException"),
        ErrorKind.SERVER_ERROR,
    ),
}


def error_of_kind(kind: ErrorKind, message: str, detail: str | None = None) -> AgentError:
    """An error of the given kind (the right subclass), for callers that know the kind already."""
    return _ERROR_TYPES[kind](message, detail=detail)


def kind_for_aws_code(code: str) -> ErrorKind | None:
    """The kind of an AWS error code, or None for codes that say nothing about retrying."""
    return _AWS_CODES.get(code)


def kind_for_http_status(status: int) -> ErrorKind:
    if status in (401, 407):
        return ErrorKind.AUTHENTICATION
    if status == 403:
        return ErrorKind.PERMISSION
    if status == 429:
        return ErrorKind.RATE_LIMIT
    if status in (408, 504):
        return ErrorKind.TIMEOUT
    if 400 <= status < 500:
        return ErrorKind.VALIDATION
    return ErrorKind.SERVER_ERROR


def classify(exc: BaseException) -> AgentError:
    """Turn any exception into an `AgentError` of the right kind (the original is its `__cause__`).

    Exception groups (from task groups inside the MCP SDK) are classified by their first leaf.
    """
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, AgentError):
        return exc
    kind = _kind_of(exc)
    error = _ERROR_TYPES[kind](_describe(exc))
    error.__cause__ = exc
    return error


def _kind_of(exc: BaseException) -> ErrorKind:  # noqa: PLR0911 - one return per family of errors
    # botocore ClientError carries a structured response; checked by shape to avoid importing botocore.
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = str(response.get("Error", {}).get("Code", ""))
        by_code = kind_for_aws_code(code)
        if by_code is not None:
            return by_code
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if isinstance(status, int):
            return kind_for_http_status(status)
    status_code = getattr(getattr(exc, "response", None), "status_code", None)
    if isinstance(status_code, int):  # httpx2.HTTPStatusError
        return kind_for_http_status(status_code)
    if isinstance(exc, TimeoutError):  # asyncio.TimeoutError is the same class since 3.11
        return ErrorKind.TIMEOUT
    if isinstance(exc, ConnectionError | BrokenPipeError | EOFError | OSError):
        return ErrorKind.CONNECTION
    name = type(exc).__name__
    if name in ("NoCredentialsError", "PartialCredentialsError", "ProfileNotFound"):
        return ErrorKind.AUTHENTICATION
    if name in ("EndpointConnectionError", "ConnectTimeoutError", "ConnectError", "ClosedResourceError"):
        return ErrorKind.CONNECTION
    if name in ("ReadTimeoutError", "ReadTimeout", "TimeoutException"):
        return ErrorKind.TIMEOUT
    if name in ("ValidationError", "ParamValidationError", "ValueError", "TypeError"):
        return ErrorKind.VALIDATION
    return ErrorKind.SERVER_ERROR


def _describe(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 500 else text[:497] + "..."
