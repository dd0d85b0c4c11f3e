"""Deciding which tools to call and calling them concurrently under one deadline: the orchestrator,
its circuit breakers and retry policy, the planner, the evidence collector, the long-lived event
loop and per-server metrics."""
