"""Progress lines, polling and retries for the deploy, with the clock and the sleep injected.

AWS has no waiters for Bedrock agents, and IAM changes take seconds to propagate, so the deploy
polls and retries a lot. Doing it in one place gives every long step the same progress line
("Waiting for agent to be PREPARED ... 12 s") and lets the tests run the whole state machine
in microseconds with a fake clock.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TextIO, TypeVar

from botocore.exceptions import ClientError

from agent_config.deploy.errors import WaitTimedOut

T = TypeVar("T")

POLL_INTERVAL_S = 3.0
POLL_TIMEOUT_S = 600.0
"""Agent preparation takes 10-60 s in practice; ten minutes means something is stuck."""
PROPAGATION_DELAYS_S = (2.0, 4.0, 8.0, 12.0, 16.0, 20.0)
"""Backoff for IAM propagation (about a minute in all): new roles are usually usable within 10 s."""


class Change(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    DELETED = "deleted"
    ABSENT = "absent"
    SKIPPED = "skipped"
    PLANNED = "planned"


@dataclass(frozen=True)
class Outcome:
    """What one step did to one resource, for the summary and for the idempotency tests."""

    kind: str
    name: str
    change: Change
    detail: str = ""


@dataclass
class Reporter:
    """Writes one line per resource and per long wait; keeps the outcomes for the caller."""

    stream: TextIO = field(default_factory=lambda: sys.stdout)
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    outcomes: list[Outcome] = field(default_factory=list)

    def line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def record(self, kind: str, name: str, change: Change, detail: str = "") -> Outcome:
        outcome = Outcome(kind, name, change, detail)
        self.outcomes.append(outcome)
        self.line(f"  {change.value:<9} {kind:<22} {name}{f'  ({detail})' if detail else ''}")
        return outcome

    def changed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.change not in (Change.UNCHANGED, Change.ABSENT, Change.SKIPPED)]

    def poll(
        self,
        what: str,
        read_status: Callable[[], str],
        done: Iterable[str],
        *,
        failed: Callable[[str], None] | None = None,
        interval_s: float = POLL_INTERVAL_S,
        timeout_s: float = POLL_TIMEOUT_S,
    ) -> str:
        """Call `read_status` until it returns one of `done`; `failed(status)` may raise on failure states.

        Prints "Waiting for <what> ... N s" once it has to wait, and the final status.
        """
        targets = set(done)
        started = self.clock()
        status = read_status()
        waited = False
        while status not in targets:
            if failed is not None:
                failed(status)
            elapsed = self.clock() - started
            if elapsed >= timeout_s:
                raise WaitTimedOut(what, elapsed, status)
            waited = True
            self.line(f"  Waiting for {what} ... {elapsed:.0f} s ({status})")
            self.sleep(interval_s)
            status = read_status()
        if waited:
            self.line(f"  {what}: {status} after {self.clock() - started:.0f} s")
        return status

    def retry_while(
        self,
        what: str,
        call: Callable[[], T],
        retryable: Callable[[ClientError], bool],
        delays_s: Iterable[float] = PROPAGATION_DELAYS_S,
    ) -> T:
        """Run `call`, retrying a `ClientError` that `retryable` accepts after each delay in turn.

        For IAM propagation: a role created a second ago may not be assumable yet. The last error is
        re-raised when the delays run out.
        """
        for delay in (*delays_s, None):
            try:
                return call()
            except ClientError as exc:
                if delay is None or not retryable(exc):
                    raise
                self.line(f"  {what}: IAM changes still propagating, retrying in {delay:.0f} s")
                self.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover
