"""AWS Config: is a configuration recorder recording everything, healthily, with the service-linked
role, in the Region (Config.1)?

Calls (regional): `configservice describe-configuration-recorder-status` (is it recording, did the
last attempt fail) and `configservice describe-configuration-recorders` (what it records, with which
role), joined on the recorder's name. The module is named `awsconfig` so it cannot be mistaken for
the agent's own `agent_config.config`.

Config.1 "checks whether AWS Config is enabled in your account in the current AWS Region, records
all resources that correspond to controls that are enabled in the current Region, and uses the
service-linked AWS Config role" AWSServiceRoleForConfig, and fails on another role "because other
roles might not have the necessary permissions for AWS Config to accurately record your resources"
(https://docs.aws.amazon.com/securityhub/latest/userguide/config-controls.html#config-1). A recorder
passes when all four hold:

- `recording` is true;
- `lastStatus` is not Failure (the recorder is on but its last recording attempt failed, so it is
  not recording in practice; https://docs.aws.amazon.com/config/latest/APIReference/API_ConfigurationRecorderStatus.html);
- it records all supported resource types: `recordingGroup.allSupported`, or the newer
  `recordingStrategy.useOnly` ALL_SUPPORTED_RESOURCE_TYPES
  (https://docs.aws.amazon.com/config/latest/APIReference/API_RecordingGroup.html). Security Hub
  itself only needs the types its enabled controls evaluate, which an assessment cannot know; an
  inclusion or exclusion list fails here, as it does CIS 3.3 (which this control maps to) and the
  catalogue's remediation (allSupported=true);
- its `roleARN` is the service-linked role (`role/aws-service-role/config.amazonaws.com/
  AWSServiceRoleForConfig`, https://docs.aws.amazon.com/config/latest/developerguide/using-service-linked-roles.html).

A fact the evidence does not hold (describe-configuration-recorders denied, a field absent from the
response) is unknown, never a failure: the result is FAIL only when a fact that was read fails, and
MANUAL, naming what was missing, when the known facts pass but one is unknown. A Region with no
recorder fails (there is nothing "not applicable" about not recording).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from agent_config.checks.evidence import ApiCall, Evidence
from agent_config.checks.results import CapReached, CheckResult
from agent_config.checks.services._common import (
    DEFAULT_MAX_RESOURCES,
    Index,
    Read,
    Subject,
    Tri,
    account_subject,
    items_of,
    needed,
    obj,
    read,
    text,
)

SERVICE = "config"
GLOBAL = False
CONTROL_IDS: tuple[str, ...] = ("Config.1",)
SERVICE_LINKED_ROLE = "role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"
ALL_SUPPORTED = "ALL_SUPPORTED_RESOURCE_TYPES"


def status_call(region: str) -> ApiCall:
    return ApiCall.of("configservice", "describe-configuration-recorder-status", region)


def recorders_call(region: str) -> ApiCall:
    return ApiCall.of("configservice", "describe-configuration-recorders", region)


def plan(region: str, evidence: Evidence, max_resources: int = DEFAULT_MAX_RESOURCES) -> list[ApiCall]:
    return needed(Index(evidence), [status_call(region), recorders_call(region)])


def cap_reached(region: str, evidence: Evidence, max_resources: int = DEFAULT_MAX_RESOURCES) -> list[CapReached]:
    return []


def evaluate(
    region: str,
    evidence: Evidence,
    *,
    now: datetime | None = None,
    max_resources: int = DEFAULT_MAX_RESOURCES,
) -> list[CheckResult]:
    index = Index(evidence)
    subject = account_subject(evidence.account_id, region)
    status = read(index, status_call(region))
    if status.doc is None:
        return [subject.manual("Config.1", status.missing or "", "the configuration recorders")]
    recorders = [r for r in items_of(status.doc, "ConfigurationRecordersStatus") if r.get("name")]
    if not recorders:
        return [subject.failed("Config.1", f"No AWS Config recorder exists in {region}.", recorders=[])]
    configurations = read(index, recorders_call(region))
    checked = [_check(recorder, configurations) for recorder in recorders]
    return [_verdict(subject, region, checked)]


def _check(status: dict[str, Any], configurations: Read) -> dict[str, Any]:
    """One recorder's four facts (True, False or unknown), by name."""
    name = str(status.get("name"))
    last = text(status.get("lastStatus"))
    facts: dict[str, Tri] = {
        "recording": Tri.known(status.get("recording") is True),
        "healthy": Tri.known(last.lower() != "failure") if last else Tri.known(True),
    }
    if configurations.doc is None:
        unknown = Tri.unknown(configurations.missing or "")
        facts["all_resource_types"] = unknown
        facts["service_linked_role"] = unknown
    else:
        found = [c for c in items_of(configurations.doc, "ConfigurationRecorders") if c.get("name") == name]
        configuration = found[0] if found else None
        call = configurations.call.iam_action
        facts["all_resource_types"] = _all_types(configuration, call)
        facts["service_linked_role"] = _service_linked(configuration, call)
    return {"name": name, "facts": facts, "lastStatus": last, "role": _role(configurations, name)}


def _all_types(configuration: dict[str, Any] | None, action: str) -> Tri:
    if configuration is None:
        return Tri.unknown(f"{action} did not return this recorder")
    group = configuration.get("recordingGroup")
    if not isinstance(group, dict):
        return Tri.unknown(f"{action} returned no recordingGroup")
    strategy = text(obj(group.get("recordingStrategy")).get("useOnly"))
    if group.get("allSupported") is True or strategy == ALL_SUPPORTED:
        return Tri.known(True)
    if group.get("allSupported") is False or strategy:
        return Tri.known(False)
    return Tri.unknown(f"{action} returned neither allSupported nor recordingStrategy")


def _service_linked(configuration: dict[str, Any] | None, action: str) -> Tri:
    if configuration is None:
        return Tri.unknown(f"{action} did not return this recorder")
    role = text(configuration.get("roleARN"))
    if not role:
        return Tri.unknown(f"{action} returned no roleARN")
    return Tri.known(role.lower().endswith(SERVICE_LINKED_ROLE.lower()))


def _role(configurations: Read, name: str) -> str | None:
    for configuration in items_of(configurations.doc, "ConfigurationRecorders"):
        if configuration.get("name") == name:
            return text(configuration.get("roleARN"))
    return None


FAILURE_WORDS = {
    "recording": "is not recording",
    "healthy": "last failed to record (lastStatus Failure)",
    "all_resource_types": "does not record all supported resource types",
    "service_linked_role": "does not use the AWSServiceRoleForConfig service-linked role",
}


def _verdict(subject: Subject, region: str, checked: list[dict[str, Any]]) -> CheckResult:
    """PASS if some recorder passes every fact, FAIL if every recorder fails a fact that was read,
    MANUAL otherwise (a recorder that could still pass has a fact the evidence does not hold)."""
    evidence = {
        "recorders": {
            c["name"]: {
                **{fact: tri.value for fact, tri in c["facts"].items()},
                "lastStatus": c["lastStatus"],
                "roleARN": c["role"],
            }
            for c in checked[:5]
        }
    }
    verdicts = [(recorder, _all(recorder["facts"].values())) for recorder in checked]
    for recorder, verdict in verdicts:
        if verdict.value is True:
            return subject.passed(
                "Config.1",
                f"AWS Config recorder {recorder['name']} is recording all supported resource types with the "
                "service-linked role, and its last recording did not fail.",
                **evidence,
            )
    if all(verdict.value is False for _, verdict in verdicts):
        failures = [
            f"recorder {recorder['name']} "
            + ", ".join(FAILURE_WORDS[fact] for fact, tri in recorder["facts"].items() if tri.value is False)
            for recorder in checked[:3]
        ]
        return subject.failed("Config.1", f"AWS Config in {region} fails Config.1: {'; '.join(failures)}.", **evidence)
    missing = [reason for _, verdict in verdicts if verdict.value is None for reason in verdict.missing]
    return subject.manual("Config.1", missing or ["evidence missing"], "the configuration recorder's settings")


def _all(facts: Iterable[Tri]) -> Tri:
    result = Tri.known(True)
    for fact in facts:
        result = result.and_(fact)
    return result
