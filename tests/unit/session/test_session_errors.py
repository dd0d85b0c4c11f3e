"""Session errors sit in the project's error taxonomy: each "unavailable" cause is also its kind.

GIVEN a failure of the session store of some kind
WHEN it is wrapped for the caller
THEN it is a SessionStoreUnavailable *and* the taxonomy class of its cause, with the right
retry decision and a note the answer can show.
"""

from __future__ import annotations

import pytest

from agent_config.session.errors import (
    SessionConflict,
    SessionDataCorrupt,
    SessionError,
    SessionStoreAccessDenied,
    SessionStoreFailed,
    SessionStoreUnavailable,
    SessionStoreUnreachable,
    SessionTableMissing,
    unavailable,
)
from agent_config.utils.error_handling import (
    AgentError,
    ConfigurationError,
    ConnectionFailure,
    ErrorKind,
    PermissionDenied,
    ServerFailure,
    error_of_kind,
)


@pytest.mark.parametrize("kind", list(ErrorKind))
def test_every_kind_wraps_into_an_unavailable_store_of_the_same_kind(kind):
    wrapped = unavailable(error_of_kind(kind, "boom"), "read session")
    assert isinstance(wrapped, SessionStoreUnavailable)
    assert isinstance(wrapped, AgentError)
    expected = ErrorKind.SERVER_ERROR if kind is ErrorKind.CIRCUIT_OPEN else kind
    assert wrapped.kind is expected
    assert "read session" in wrapped.message


def test_the_cause_classes_are_also_the_taxonomy_classes():
    assert issubclass(SessionStoreUnreachable, ConnectionFailure)
    assert issubclass(SessionStoreAccessDenied, PermissionDenied)
    assert issubclass(SessionTableMissing, ConfigurationError)
    assert issubclass(SessionStoreFailed, ServerFailure)
    assert SessionStoreUnreachable("x").retryable
    assert not SessionTableMissing("x").retryable


def test_a_missing_table_says_so_in_the_degraded_note_with_configuration_guidance():
    error = unavailable(ConfigurationError("table t does not exist"), "read session")
    note = error.as_degraded()
    assert note.reason == "answered without session history, because the session table does not exist"
    assert note.error_kind is ErrorKind.CONFIGURATION
    assert "configuration" in error.guidance


def test_conflict_and_corruption_are_session_errors_but_not_unavailability():
    for cls in (SessionConflict, SessionDataCorrupt):
        assert issubclass(cls, SessionError)
        assert not issubclass(cls, SessionStoreUnavailable)


def test_an_already_wrapped_error_is_not_wrapped_twice():
    error = SessionStoreUnreachable("down")
    assert unavailable(error, "again") is error
