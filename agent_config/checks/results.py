"""What an evaluator says about one control on one resource, and what it could not look at.

A `CheckResult` is deliberately smaller than a `Finding`: it carries only what the evidence decided
(status, resource, one-sentence reason, the few decisive fields). Title, severity, remediation and
documentation are the catalogue's business and are joined on `control_id` later, so an evaluator
never has to know them and the catalogue can change without touching the evaluators.

Status rules every evaluator follows:

- PASS / FAIL only on evidence that was actually read. Never FAIL on missing data.
- MANUAL when a read the decision needs was denied, is unsupported, failed or was never collected;
  `missing` then names the permission or API (from `EvidenceItem.missing_reason()`).
- NOT_APPLICABLE once per (control, region), on the account, when the region (or the account, for
  global services) has no resource the control applies to. Resources the control does not apply to
  (an IAM user without a console password for IAM.5, an unattached volume for EC2.3) get no result
  at all, so a resource-level result is always PASS, FAIL or MANUAL.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agent_config.interfaces import FindingStatus

GLOBAL_REGION = "global"
"""The `region` of account-wide settings of global services (IAM, account-level S3 Block Public
Access, the account's alternate contacts): the same word the sample account's manifest uses."""

UNKNOWN_REGION = "unknown"
"""The `region` of a resource whose region could not be read (an S3 bucket whose location was denied)."""

MAX_EVIDENCE_CHARS = 2000
"""A result's evidence is the handful of fields that decided it, never a whole response: a bound
keeps it that way and keeps the agent's answer within its byte budget."""

_CONTROL_ID = r"^[A-Za-z][A-Za-z0-9]*\.\d+$"


class CheckResult(BaseModel):
    """One control evaluated on one resource (or on the account) in one region."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    control_id: str = Field(pattern=_CONTROL_ID, description="Security Hub FSBP control id, e.g. 'S3.8'.")
    status: FindingStatus
    resource_type: str = Field(min_length=1, description="CloudFormation type, e.g. 'AWS::S3::Bucket'.")
    resource_id: str = Field(
        min_length=1,
        description="The identifier the AWS API addresses the resource by (bucket name, instance id, "
        "queue URL, secret ARN...), or the account id for account-level results.",
    )
    resource_arn: str | None = Field(default=None, description="None only where AWS has no ARN (the account).")
    region: str = Field(min_length=1, description="AWS region, 'global' or 'unknown'.")
    reason: str = Field(min_length=1, description="One sentence saying what decided the status.")
    evidence: dict[str, Any] = Field(default_factory=dict, description="The decisive fields only.")
    missing: str | None = Field(
        default=None, description="For MANUAL: the permission or API that was missing, and how."
    )

    @field_validator("evidence")
    @classmethod
    def _evidence_is_small(cls, value: dict[str, Any]) -> dict[str, Any]:
        size = len(json.dumps(value, default=str))
        if size > MAX_EVIDENCE_CHARS:
            raise ValueError(f"evidence is {size} characters; keep only the decisive fields")
        return value

    @model_validator(mode="after")
    def _missing_only_for_manual(self) -> CheckResult:
        if self.status is FindingStatus.MANUAL and not self.missing:
            raise ValueError("a MANUAL result must name what was missing")
        if self.status is not FindingStatus.MANUAL and self.missing is not None:
            raise ValueError("only a MANUAL result names something missing")
        return self

    @property
    def key(self) -> tuple[str, str, str]:
        """Identity for de-duplication, the same shape as `Finding.key`."""
        return (self.control_id, self.resource_arn or self.resource_id, self.region)


class CapReached(BaseModel):
    """A service listed more resources than the per-service cap allows to inspect one by one.

    Only the first `assessed` resources (in the order the API listed them) got per-resource calls
    and results; the rest were not assessed, and the answer must say so rather than imply they passed.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    service: str
    region: str
    resource_type: str
    listed: int = Field(ge=0)
    assessed: int = Field(ge=0)

    @property
    def message(self) -> str:
        return (
            f"{self.service} in {self.region}: {self.listed} {self.resource_type} resources listed, "
            f"only the first {self.assessed} assessed (resource cap reached)."
        )
