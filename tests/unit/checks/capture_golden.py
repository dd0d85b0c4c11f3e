"""Regenerate the evidence in the evaluators' golden files from a real moto server.

Not a test (pytest does not collect it); a tool, kept beside the files it writes so that anyone can
see where every response came from and reproduce it.

    .venv/bin/python tests/unit/checks/capture_golden.py            # every service
    .venv/bin/python tests/unit/checks/capture_golden.py s3 iam     # some services
    .venv/bin/python tests/unit/checks/capture_golden.py iam/many   # one case (keeps the others' files)

For each case it resets moto, creates the case's resources with boto3, then runs the service
module's own `plan` until it asks for nothing new, executing each planned call the way the AWS CLI
would (auto-pagination, blobs base64-encoded, timestamps ISO 8601) and keeping the response
documents (`ResponseMetadata` dropped) as the case's evidence. The `expected` results are NOT
written here: run

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/checks/test_evaluators_golden.py

then review the diff of every `expected` block by hand before committing it.

One moto gap is corrected for every case (`_as_aws_would`: `--owner-ids self` is not honoured by
moto's describe-snapshots). Two things moto cannot express are synthesised, and each case says so
in its description:

- permission denials: moto's IAM enforcement answers JSON-protocol services with an XML body
  that botocore reads as code "403", so denied calls are answered here with the error code AWS
  itself returns for that service (AccessDenied, AccessDeniedException, UnauthorizedOperation,
  AuthorizationError), without reaching moto;
- facts moto hard-codes (the root user's MFA is always off, every date is "now"): the case's
  `rewrite` edits the response as it is recorded, so the plan sees the edited value too.
"""

from __future__ import annotations

import base64
import json
import re
import sys
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import botocore.exceptions
from botocore import xform_name

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from agent_config.checks.evidence import ApiCall, Evidence, EvidenceItem  # noqa: E402
from agent_config.checks.registry import SERVICE_MODULES, ServiceModule, regions_for  # noqa: E402
from agent_config.sandbox.local_aws import LocalAws, local_aws  # noqa: E402
from tests.unit.checks.golden_cases import ACCOUNT, CASES, PRIMARY, Case  # noqa: E402

GOLDEN = Path(__file__).parent / "golden"
CLI_TO_BOTO = {"s3api": "s3", "configservice": "config"}

# The codes AWS answers a denied call with, per service (moto cannot produce them for every protocol).
DENIED_CODES = {
    "iam": "AccessDenied",
    "s3api": "AccessDenied",
    "s3control": "AccessDenied",
    "ec2": "UnauthorizedOperation",
    "rds": "AccessDenied",
    "sns": "AuthorizationError",
    "sqs": "AccessDenied",
}
DEFAULT_DENIED_CODE = "AccessDeniedException"

# ---------------------------------------------------------------------------------------------
# Executing planned calls like the AWS CLI
# ---------------------------------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return str(value)


def _strip_account_host_prefix(request: Any, **_: Any) -> None:
    scheme, sep, rest = request.url.partition("://")
    request.url = scheme + sep + re.sub(r"^\d{12}\.", "", rest, count=1)


class Executor:
    """Runs `ApiCall`s against the local AWS with boto3, recording what the CLI would print."""

    def __init__(self, aws: LocalAws) -> None:
        self.aws = aws
        self._clients: dict[tuple[str, str], Any] = {}

    def client(self, service: str, region: str) -> Any:
        key = (service, region)
        if key not in self._clients:
            client = self.aws.client(service, region)
            if service == "s3control":
                client.meta.events.register("before-sign.s3-control.*", _strip_account_host_prefix)
            self._clients[key] = client
        return self._clients[key]

    def __call__(self, call: ApiCall) -> EvidenceItem:
        service = CLI_TO_BOTO.get(call.service, call.service)
        client = self.client(service, call.region or PRIMARY)
        method = call.operation.replace("-", "_")
        operation = client.meta.service_model.operation_model(client.meta.method_to_api_mapping[method])
        members = operation.input_shape.members if operation.input_shape else {}
        by_cli_name = {xform_name(name).replace("_", "-"): name for name in members}
        kwargs: dict[str, Any] = {}
        for name, value in call.parameters:
            member = by_cli_name[name]
            kwargs[member] = _cli_value(members[member], value)
        try:
            if client.can_paginate(method):
                response = client.get_paginator(method).paginate(**kwargs).build_full_result()
            else:
                response = getattr(client, method)(**kwargs)
        except botocore.exceptions.ClientError as error:
            details = error.response.get("Error", {})
            return EvidenceItem(
                call=call,
                error_code=str(details.get("Code")),
                error_message=str(details.get("Message", ""))[:300],
                source="boto3",
            )
        except botocore.exceptions.BotoCoreError as error:
            return EvidenceItem(
                call=call, error_code=type(error).__name__, error_message=str(error)[:300], source="boto3"
            )
        document = json.loads(json.dumps(response, default=_json_default))
        document.pop("ResponseMetadata", None)
        return EvidenceItem(call=call, response=_as_aws_would(call, document), source="boto3")


def _cli_value(shape: Any, value: str) -> Any:
    """A CLI argument as boto3 takes it: lists split on spaces, booleans, and the shorthand
    `Key=Owner,Values=Self` for a list of structures (the only structured form the plans use)."""
    if shape.type_name == "boolean":
        return value.lower() == "true"
    if shape.type_name != "list":
        return value
    if shape.member.type_name != "structure":
        return value.split()
    entry: dict[str, Any] = {}
    for pair in value.split(","):
        key, _, item = pair.partition("=")
        entry[key] = [item] if shape.member.members[key].type_name == "list" else item
    return [entry]


FOREIGN_SNAPSHOTS_KEPT = 2


def _as_aws_would(call: ApiCall, document: dict[str, Any]) -> dict[str, Any]:
    """Undo a moto gap that would bloat the files: `describe-snapshots --owner-ids self` returns
    moto's 1,300 public AMI snapshots of other accounts, which AWS would not. Keep the account's own
    and two foreign ones, so the evaluator's own-account filter stays exercised."""
    if call.operation == "describe-snapshots" and call.parameter("owner-ids") == "self":
        own = [s for s in document.get("Snapshots", []) if s.get("OwnerId") == ACCOUNT]
        foreign = [s for s in document.get("Snapshots", []) if s.get("OwnerId") != ACCOUNT]
        document["Snapshots"] = foreign[:FOREIGN_SNAPSHOTS_KEPT] + own
    return document


# ---------------------------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------------------------


def collect(module: ServiceModule, case: Case, execute: Executor) -> Evidence:
    evidence = Evidence(account_id=ACCOUNT)
    for _ in range(10):
        calls = [c for region in regions_for(module, case.regions) for c in module.plan(region, evidence)]
        if not calls:
            return evidence
        for call in calls:
            key = (call.service, call.operation)
            if key in case.deny:
                code = DENIED_CODES.get(call.service, DEFAULT_DENIED_CODE)
                item = EvidenceItem(call=call, error_code=code, error_message="synthesised denial", source="boto3")
            elif key in case.unsupported:
                item = EvidenceItem(call=call, error_code="NotImplemented", error_message="synthesised", source="boto3")
            else:
                item = execute(call)
                if item.response is not None and case.rewrite is not None:
                    item = item.model_copy(update={"response": case.rewrite(call, item.response)})
            evidence.add(item)
    raise RuntimeError(f"{module.SERVICE}/{case.name}: the plan did not settle in 10 rounds")


def _reset(aws: LocalAws) -> None:
    request = urllib.request.Request(
        aws.endpoint_url + "/moto-api/reset", data=b"", method="POST", headers={"Content-Type": "text/plain"}
    )
    with urllib.request.urlopen(request, timeout=30):
        pass


def capture(aws: LocalAws, module: ServiceModule, case: Case) -> Path:
    _reset(aws)
    case.setup(aws)
    now = datetime.now(UTC).replace(microsecond=0)
    evidence = collect(module, case, Executor(aws))
    path = GOLDEN / module.SERVICE / f"{case.name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "service": module.SERVICE,
        "case": case.name,
        "description": case.description,
        "account_id": ACCOUNT,
        "regions": list(case.regions),
        "now": now.isoformat(),
        "evidence": [item.model_dump(mode="json", exclude_defaults=True) for item in evidence.items],
        "expected": None,
    }
    path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    return path


def main(argv: list[str]) -> int:
    """Capture the named services (`iam`) or single cases (`iam/many`); every case without arguments.

    Recapturing one case leaves the other files of its service untouched, so a new case does not
    churn the evidence (random ids, dates) of cases whose set-up did not change.
    """
    every = {f"{m.SERVICE}/{case.name}" for m in SERVICE_MODULES for case in CASES[m.SERVICE]}
    services = {m.SERVICE for m in SERVICE_MODULES}
    wanted = {name for arg in argv or services for name in every if arg in (name, name.split("/")[0])}
    unknown = [arg for arg in argv if arg not in services and arg not in every]
    if unknown:
        print(f"unknown services or cases: {', '.join(sorted(unknown))}")
        return 2
    with local_aws(region=PRIMARY) as aws:
        for module in SERVICE_MODULES:
            for case in CASES[module.SERVICE]:
                if f"{module.SERVICE}/{case.name}" not in wanted:
                    continue
                path = capture(aws, module, case)
                print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
