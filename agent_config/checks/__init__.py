"""The control catalogue and the checks that evaluate it.

- `catalogue` data (one JSON document per AWS service) says what each control is: FSBP id, CIS id,
  Well-Architected best practice, severity, risk, remediation, documentation. Framework mappings
  are separate data files.
- `evidence` is what the checks read: AWS API responses, whichever path collected them.
- one module per AWS service plans the read-only calls it needs and evaluates the evidence into
  PASS / FAIL / MANUAL / NOT_APPLICABLE results. Evaluators are pure: no I/O, tested on golden files.
"""
