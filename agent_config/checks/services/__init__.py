"""One evaluator module per AWS service; `agent_config.checks.registry` lists them all.

Every module exposes the same small interface (see `registry.ServiceModule`): `SERVICE`,
`CONTROL_IDS`, `GLOBAL`, `plan`, `evaluate` and `cap_reached`. Shared plumbing lives in the
private `_common` (evidence lookups, result builders, the cap) and `_policy` (IAM policy documents).
"""
