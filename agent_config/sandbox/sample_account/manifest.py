"""What the sample account holds, as data: one `PlantedItem` per (control, resource) expectation.

The manifest is the answer key for the sandbox. A check, a whole assessment, or an MCP server's
output can be scored against it: every FAIL item is a misconfiguration a correct assessment must
report, and every PASS item is a correctly configured twin it must *not* report (so false
positives are measured as well as misses). Items are keyed by control, region and the resource's
human name, never by the random ids moto hands out, so keys are stable from one seeding to the
next.

The model validates its own promise on construction: keys are unique, a twin points at a FAIL
item of the same control, and every FAIL item has either a twin or a written reason why no twin
can exist (an account has one password policy, for example).
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agent_config.interfaces import FindingStatus

GLOBAL_REGION = "global"
"""The `region` of account-wide settings (IAM, account-level S3 Block Public Access)."""

_CONTROL_ID = re.compile(r"^[A-Za-z][A-Za-z0-9]*\.\d+$")


class PlantedItem(BaseModel):
    """One expectation: this control, evaluated on this resource, must give this status."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    control_id: str = Field(description="Security Hub FSBP control id, e.g. 'S3.8'.")
    resource_type: str = Field(
        description="AWS Config resource type (e.g. 'AWS::S3::Bucket'; 'AWS::::Account' for account-wide "
        "and per-region account settings), as the Security Hub control pages name it."
    )
    name: str = Field(min_length=1, description="Human name (Name tag, bucket or user name); stable.")
    resource_id: str = Field(min_length=1, description="The AWS id (random in moto for EC2 and KMS).")
    resource_arn: str | None = None
    region: str = Field(description="AWS region, or 'global' for account-wide settings.")
    expected_status: FindingStatus
    description: str = Field(min_length=1, description="What was planted and why it passes or fails.")
    twin_of: str | None = Field(default=None, description="For a PASS twin: the key of its FAIL item.")
    no_twin_reason: str | None = Field(default=None, description="For a FAIL item that cannot have a twin: why not.")

    @field_validator("control_id")
    @classmethod
    def _control_shape(cls, value: str) -> str:
        if not _CONTROL_ID.match(value):
            raise ValueError(f"not a control id: {value!r}")
        return value

    @field_validator("expected_status")
    @classmethod
    def _pass_or_fail(cls, value: FindingStatus) -> FindingStatus:
        if value not in (FindingStatus.PASS, FindingStatus.FAIL):
            raise ValueError("a planted resource is expected to PASS or FAIL, nothing else")
        return value

    @model_validator(mode="after")
    def _twin_fields_fit_status(self) -> PlantedItem:
        if self.expected_status is FindingStatus.FAIL and self.twin_of is not None:
            raise ValueError("twin_of belongs on the PASS twin, not on the FAIL item")
        if self.expected_status is FindingStatus.PASS and self.no_twin_reason is not None:
            raise ValueError("no_twin_reason belongs on a FAIL item")
        return self

    @property
    def key(self) -> str:
        """`control/region/name`: unique in a manifest and the same on every seeding."""
        return f"{self.control_id}/{self.region}/{self.name}"

    @property
    def is_misconfiguration(self) -> bool:
        return self.expected_status is FindingStatus.FAIL


class SampleAccountManifest(BaseModel):
    """Everything planted in one seeding, with the account and regions it went into."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    items: tuple[PlantedItem, ...]
    account_id: str = Field(pattern=r"^\d{12}$")
    regions: tuple[str, ...]
    created_at: datetime
    notes: tuple[str, ...] = Field(
        default=(), description="What the sandbox could not plant, and what carries no expectation."
    )

    @model_validator(mode="after")
    def _keys_and_twins_hold(self) -> SampleAccountManifest:
        by_key: dict[str, PlantedItem] = {}
        for item in self.items:
            if item.key in by_key:
                raise ValueError(f"duplicate manifest key {item.key}")
            by_key[item.key] = item
        twinned: set[str] = set()
        for item in self.items:
            if item.twin_of is None:
                continue
            target = by_key.get(item.twin_of)
            if target is None or not target.is_misconfiguration:
                raise ValueError(f"{item.key} is a twin of {item.twin_of}, which is not a FAIL item here")
            if target.control_id != item.control_id:
                raise ValueError(f"{item.key} twins a different control ({target.control_id})")
            twinned.add(target.key)
        for item in self.failing():
            if item.key not in twinned and not item.no_twin_reason:
                raise ValueError(f"{item.key} has neither a PASS twin nor a reason why it cannot")
        return self

    def failing(self) -> list[PlantedItem]:
        return [item for item in self.items if item.expected_status is FindingStatus.FAIL]

    def passing(self) -> list[PlantedItem]:
        return [item for item in self.items if item.expected_status is FindingStatus.PASS]

    def get(self, key: str) -> PlantedItem:
        """The item with this key; `KeyError` names the key when there is none."""
        for item in self.items:
            if item.key == key:
                return item
        raise KeyError(key)

    def twin_for(self, item: PlantedItem) -> PlantedItem | None:
        """The PASS twin planted for a FAIL item, if any."""
        return next((other for other in self.items if other.twin_of == item.key), None)

    def control_ids(self, status: FindingStatus | None = None) -> set[str]:
        return {item.control_id for item in self.items if status is None or item.expected_status is status}

    def write(self, path: Path) -> Path:
        """Write the manifest as indented JSON (parents created) and return the path."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def read(cls, path: Path) -> SampleAccountManifest:
        return cls.model_validate_json(path.read_text(encoding="utf-8"))
