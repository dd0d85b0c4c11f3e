"""One deadline for a whole request.

In the Lambda the budget is the invocation's remaining time minus a safety margin, so the answer
is sent before Lambda kills the function. Every call takes its timeout from what is left, which is
how the orchestrator can promise never to exceed the budget. The clock is injected so tests never
sleep.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

Clock = Callable[[], float]


@dataclass(frozen=True)
class Deadline:
    """An absolute point on a monotonic clock."""

    expires_at: float
    clock: Clock = field(default=time.monotonic, repr=False, compare=False)

    @classmethod
    def after(cls, seconds: float, clock: Clock = time.monotonic) -> Deadline:
        return cls(expires_at=clock() + max(0.0, seconds), clock=clock)

    @classmethod
    def from_lambda_context(
        cls,
        remaining_ms: int,
        safety_margin_s: float,
        cap_s: float | None = None,
        clock: Clock = time.monotonic,
    ) -> Deadline:
        """The Lambda's remaining time, less the margin needed to build and send the response."""
        budget = remaining_ms / 1000.0 - safety_margin_s
        if cap_s is not None:
            budget = min(budget, cap_s)
        return cls.after(budget, clock)

    def remaining(self) -> float:
        return max(0.0, self.expires_at - self.clock())

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0.0

    def timeout_for(self, preferred_s: float) -> float:
        """A call's timeout: its configured timeout, but never past the deadline."""
        return min(preferred_s, self.remaining())
