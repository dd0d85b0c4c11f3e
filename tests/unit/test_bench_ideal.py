"""The fan-out benchmark's yardstick: the ideal wall time under a per-server concurrency bound."""

from __future__ import annotations

import pytest

from bench.fanout import fifo_makespan


def test_without_a_bound_the_ideal_is_the_longest_call() -> None:
    assert fifo_makespan({"a": [0.2, 0.3], "b": [0.5]}, slots=10) == pytest.approx(0.5)


def test_with_one_slot_each_server_runs_its_calls_in_series() -> None:
    assert fifo_makespan({"a": [0.2, 0.3], "b": [0.4]}, slots=1) == pytest.approx(0.5)


def test_calls_queue_for_the_earliest_free_slot_in_order() -> None:
    # two slots: 0.5 and 0.1 start together; 0.1 frees its slot first, so 0.3 then 0.2 follow on it
    assert fifo_makespan({"a": [0.5, 0.1, 0.3, 0.2]}, slots=2) == pytest.approx(0.6)
