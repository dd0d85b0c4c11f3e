"""The session package's errors, named by meaning and built on the project's error taxonomy.

```
SessionError                          base; `as_degraded()` is the note the answer layer shows
 ├── SessionStoreUnavailable          the store cannot be used now: answer without history
 │    ├── SessionStoreUnreachable     (ConnectionFailure)      connection refused, DNS, network
 │    ├── SessionStoreTimedOut        (CallTimeout)            no answer in time
 │    ├── SessionStoreAuthFailed      (AuthenticationFailure)  credentials rejected
 │    ├── SessionStoreAccessDenied    (PermissionDenied)       the role may not use the table
 │    ├── SessionStoreThrottled       (RateLimited)            still throttled after backoff
 │    ├── SessionTableMissing         (ConfigurationError)     the table does not exist
 │    ├── SessionStoreRejected        (InvalidInput)           the store refused the request
 │    └── SessionStoreFailed          (ServerFailure)          any other store failure
 ├── SessionConflict                  (ServerFailure)  optimistic lock lost too often; NOT applied
 ├── SessionDataCorrupt               (ServerFailure)  a stored report fails its integrity check
 ├── SessionRecordNotFound            (InvalidInput)   no such assessment in this session
 └── SessionReportTooLarge            (InvalidInput)   a report beyond the configured maximum
```

Why a class per cause: each `SessionStoreUnavailable` subclass is *also* the taxonomy class of its
cause, so `kind`, `guidance` and `retryable` are right without special cases, and a caller can
catch either "the session store is unavailable" (degrade) or "permission denied" (wherever it
came from). The handler catches `SessionError` once and turns it into "answered without session
history, because ..." with `as_degraded()`.
"""

from __future__ import annotations

from agent_config.interfaces import DegradedSource
from agent_config.utils.error_handling import (
    AgentError,
    AuthenticationFailure,
    CallTimeout,
    ConfigurationError,
    ConnectionFailure,
    ErrorKind,
    InvalidInput,
    PermissionDenied,
    RateLimited,
    ServerFailure,
)

SESSION_STORE_SOURCE = "session_store"
"""The name under which session problems appear in an answer's `degraded` list."""


class SessionError(AgentError):
    """Base of the session package's errors.

    `reason` completes the sentence "answered without session history, because ..." in words a
    user understands; `message` is for logs.
    """

    default_reason = "the session store answered with an error"

    def __init__(self, message: str, *, reason: str | None = None, detail: str | None = None) -> None:
        super().__init__(message, detail=detail)
        self.reason = reason or self.default_reason

    def as_degraded(self) -> DegradedSource:
        """The note for the answer: what is missing (history) and why, with the error's kind."""
        return DegradedSource(
            server=SESSION_STORE_SOURCE,
            reason=f"answered without session history, because {self.reason}",
            error_kind=self.kind,
        )


class SessionStoreUnavailable(SessionError):
    """The store cannot be used now; the answer is still given, without history."""


class SessionStoreUnreachable(SessionStoreUnavailable, ConnectionFailure):
    default_reason = "the session store could not be reached"


class SessionStoreTimedOut(SessionStoreUnavailable, CallTimeout):
    default_reason = "the session store did not answer in time"


class SessionStoreAuthFailed(SessionStoreUnavailable, AuthenticationFailure):
    default_reason = "the credentials used for the session store were rejected"


class SessionStoreAccessDenied(SessionStoreUnavailable, PermissionDenied):
    default_reason = "the agent's role is not allowed to use the session table"


class SessionStoreThrottled(SessionStoreUnavailable, RateLimited):
    default_reason = "the session store kept throttling requests after several retries"


class SessionTableMissing(SessionStoreUnavailable, ConfigurationError):
    default_reason = "the session table does not exist"


class SessionStoreRejected(SessionStoreUnavailable, InvalidInput):
    default_reason = "the session store rejected the request"


class SessionStoreFailed(SessionStoreUnavailable, ServerFailure):
    default_reason = "the session store answered with an error"


class SessionConflict(SessionError, ServerFailure):
    """Concurrent writers won the optimistic lock every time we tried; the change was not applied."""

    default_reason = "too many concurrent updates to this session; the latest change was not saved"


class SessionDataCorrupt(SessionError, ServerFailure):
    """A stored report is incomplete or fails its content hash: refused rather than returned wrong."""

    default_reason = "the stored report failed its integrity check"


class SessionRecordNotFound(SessionError, InvalidInput):
    """The session holds no such assessment (never recorded, or expired with the session)."""

    default_reason = "the requested assessment is not in this session's history (it may have expired)"


class SessionReportTooLarge(SessionError, InvalidInput):
    default_reason = "the report is larger than the session store keeps"


_UNAVAILABLE_BY_KIND: dict[ErrorKind, type[SessionStoreUnavailable]] = {
    ErrorKind.CONNECTION: SessionStoreUnreachable,
    ErrorKind.TIMEOUT: SessionStoreTimedOut,
    ErrorKind.AUTHENTICATION: SessionStoreAuthFailed,
    ErrorKind.PERMISSION: SessionStoreAccessDenied,
    ErrorKind.RATE_LIMIT: SessionStoreThrottled,
    ErrorKind.CONFIGURATION: SessionTableMissing,
    ErrorKind.VALIDATION: SessionStoreRejected,
}


def unavailable(error: AgentError, operation: str, reason: str | None = None) -> SessionStoreUnavailable:
    """The `SessionStoreUnavailable` of the same kind as `error` (which becomes its `__cause__`)."""
    if isinstance(error, SessionStoreUnavailable):
        return error
    cls = _UNAVAILABLE_BY_KIND.get(error.kind, SessionStoreFailed)
    wrapped = cls(f"session store unavailable during {operation}: {error.message}", reason=reason)
    wrapped.__cause__ = error
    return wrapped
