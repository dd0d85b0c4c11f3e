"""AWS Config: is a configuration recorder recording in the Region (Config.1)?

Call (regional): `configservice describe-configuration-recorder-status`. The module is named
`awsconfig` so it cannot be mistaken for the agent's own `agent_config.config`.

Config.1 is an account-level result per Region; a Region with no recorder fails (there is nothing
"not applicable" about not recording). Security Hub's current Config.1 also asks for the
service-linked role; the recorder's role is not decisive here and is left to the catalogue's text.
"""

from __future__ import annotations

from datetime import datetime

from agent_config.checks.evidence import ApiCall, Evidence
from agent_config.checks.results import CapReached, CheckResult
from agent_config.checks.services._common import (
    DEFAULT_MAX_RESOURCES,
    Index,
    account_subject,
    items_of,
    needed,
    read,
)

SERVICE = "config"
GLOBAL = False
CONTROL_IDS: tuple[str, ...] = ("Config.1",)


def status_call(region: str) -> ApiCall:
    return ApiCall.of("configservice", "describe-configuration-recorder-status", region)


def plan(region: str, evidence: Evidence, max_resources: int = DEFAULT_MAX_RESOURCES) -> list[ApiCall]:
    return needed(Index(evidence), [status_call(region)])


def cap_reached(region: str, evidence: Evidence, max_resources: int = DEFAULT_MAX_RESOURCES) -> list[CapReached]:
    return []


def evaluate(
    region: str,
    evidence: Evidence,
    *,
    now: datetime | None = None,
    max_resources: int = DEFAULT_MAX_RESOURCES,
) -> list[CheckResult]:
    subject = account_subject(evidence.account_id, region)
    status = read(Index(evidence), status_call(region))
    if status.doc is None:
        return [subject.manual("Config.1", status.missing or "", "the configuration recorders")]
    recorders = items_of(status.doc, "ConfigurationRecordersStatus")
    recording = [str(r.get("name")) for r in recorders if r.get("recording") is True]
    if not recorders:
        return [subject.failed("Config.1", f"No AWS Config recorder exists in {region}.", recorders=[])]
    return [
        subject.verdict(
            "Config.1",
            bool(recording),
            f"AWS Config recorder {', '.join(recording)} is recording.",
            f"AWS Config recorder(s) exist in {region} but none is recording.",
            recorders={str(r.get("name")): r.get("recording") for r in recorders},
        )
    ]
