"""Per-server call metrics, published as CloudWatch embedded metrics (EMF) once per invocation.

Counters accumulate while a request runs and `flush` writes one EMF document per server (dimension
`server`), which CloudWatch turns into metrics without any API call: Calls, Successes, Failures,
Timeouts, Skipped, Retries, BreakerTransitions and every call's LatencyMs. Totals since the
container started are kept for `/health`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from agent_config.interfaces import CallOutcome, ToolResult

NAMESPACE = "EnhancedSecurityAgent"
SERVICE = "security-agent"


@dataclass
class _Counters:
    calls: int = 0
    successes: int = 0
    failures: int = 0
    timeouts: int = 0
    skipped: int = 0
    retries: int = 0
    transitions: int = 0
    latencies_ms: list[float] = field(default_factory=list)

    def add(self, other: _Counters) -> None:
        for name in ("calls", "successes", "failures", "timeouts", "skipped", "retries", "transitions"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


class ServerMetrics:
    def __init__(self) -> None:
        self._pending: dict[str, _Counters] = defaultdict(_Counters)
        self._totals: dict[str, _Counters] = defaultdict(_Counters)

    def call(self, result: ToolResult) -> None:
        counters = self._pending[result.call.server]
        counters.calls += 1
        if result.outcome is CallOutcome.OK:
            counters.successes += 1
        elif result.outcome is CallOutcome.TIMEOUT:
            counters.timeouts += 1
        elif result.outcome is CallOutcome.SKIPPED:
            counters.skipped += 1
        else:
            counters.failures += 1
        if result.outcome is not CallOutcome.SKIPPED:
            counters.latencies_ms.append(round(result.latency_ms, 1))

    def retry(self, server: str) -> None:
        self._pending[server].retries += 1

    def transition(self, server: str) -> None:
        self._pending[server].transitions += 1

    def totals(self, server: str) -> dict[str, int]:
        merged = _Counters()
        merged.add(self._totals[server])
        merged.add(self._pending[server])
        return {
            "calls": merged.calls,
            "successes": merged.successes,
            "failures": merged.failures,
            "timeouts": merged.timeouts,
            "skipped": merged.skipped,
            "retries": merged.retries,
        }

    def flush(self, publish: bool) -> None:
        """Publish what accumulated since the last flush (when `publish`), then start afresh."""
        pending, self._pending = self._pending, defaultdict(_Counters)
        for server, counters in pending.items():
            self._totals[server].add(counters)
            if publish and counters.calls + counters.retries + counters.transitions:
                _emit(server, counters)


def _emit(server: str, counters: _Counters) -> None:
    from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

    metrics = EphemeralMetrics(namespace=NAMESPACE, service=SERVICE)
    metrics.add_dimension(name="server", value=server)
    for name, value in (
        ("Calls", counters.calls),
        ("Successes", counters.successes),
        ("Failures", counters.failures),
        ("Timeouts", counters.timeouts),
        ("Skipped", counters.skipped),
        ("Retries", counters.retries),
        ("BreakerTransitions", counters.transitions),
    ):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    for latency in counters.latencies_ms:
        metrics.add_metric(name="LatencyMs", unit=MetricUnit.Milliseconds, value=latency)
    metrics.flush_metrics()
