"""Evidence collected directly with boto3, under the function's own IAM role.

Used when the AWS API MCP server is unavailable (and for single commands it could not deliver),
so the assessment still happens; the answer says which path was taken. The same read-only guard
applies: a call is checked before it is translated.

Calls are named the AWS CLI way (`s3api get-bucket-policy --bucket X`); botocore's service model
translates them: the operation's Python name, each parameter's member name and type (a CLI value
for a list member becomes a one-item list, booleans and integers are parsed). Paginated operations
are read to the end, up to `MAX_PAGES`.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Callable, Sequence
from typing import Any

from agent_config.checks.evidence import ApiCall, EvidenceItem
from agent_config.integrations.read_only_guard import check_call
from agent_config.utils.error_handling import AgentError

SOURCE = "boto3"
MAX_PAGES = 50
MAX_CONCURRENCY = 8
_CLI_TO_BOTO3 = {"s3api": "s3", "configservice": "config", "s3control": "s3control"}
_ACCOUNT_HOST = re.compile(r"^(https?://)\d{12}\.")

ClientFactory = Callable[[str, str], Any]


def default_client_factory() -> ClientFactory:
    import boto3
    from botocore.config import Config

    session = boto3.session.Session()
    config = Config(retries={"mode": "adaptive", "max_attempts": 5}, read_timeout=20, connect_timeout=5)
    clients: dict[tuple[str, str], Any] = {}

    def client(service: str, region: str) -> Any:
        key = (service, region)
        if key not in clients:
            clients[key] = session.client(service, region_name=region, config=config)  # type: ignore[call-overload]
            if service == "s3control" and os.environ.get("AWS_ENDPOINT_URL"):
                # A local endpoint (the sandbox) cannot take the account id as a host-name prefix.
                clients[key].meta.events.register("before-sign.s3-control.*", _strip_account_host)
        return clients[key]

    return client


def _strip_account_host(request: Any, **_: Any) -> None:
    request.url = _ACCOUNT_HOST.sub(r"\1", request.url)


class DirectApi:
    def __init__(self, client_factory: ClientFactory | None = None) -> None:
        self._factory = client_factory
        self._semaphore: asyncio.Semaphore | None = None

    def _client(self, service: str, region: str) -> Any:
        if self._factory is None:
            self._factory = default_client_factory()
        return self._factory(service, region)

    async def collect(self, calls: Sequence[ApiCall], default_region: str) -> list[EvidenceItem]:
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(MAX_CONCURRENCY)
        semaphore = self._semaphore

        async def one(call: ApiCall) -> EvidenceItem:
            async with semaphore:
                return await asyncio.to_thread(self.read, call, default_region)

        return list(await asyncio.gather(*(one(call) for call in calls)))

    def read(self, call: ApiCall, default_region: str) -> EvidenceItem:
        """One call, synchronously; every failure becomes an evidence item with its error code."""
        try:
            check_call(call)
            client = self._client(_CLI_TO_BOTO3.get(call.service, call.service), call.region or default_region)
            method, arguments = _translate(client, call)
            response = _paginate(client, method, arguments)
        except AgentError as exc:
            return EvidenceItem(call=call, error_code="RefusedByGuard", error_message=exc.message, source=SOURCE)
        except Exception as exc:  # noqa: BLE001 - any AWS or transport failure is evidence of what was missing
            code, message = _error_of(exc)
            return EvidenceItem(call=call, error_code=code, error_message=message, source=SOURCE)
        response.pop("ResponseMetadata", None)
        return EvidenceItem(call=call, response=_jsonable(response), source=SOURCE)


def _translate(client: Any, call: ApiCall) -> tuple[str, dict[str, Any]]:
    from botocore import xform_name

    model = client.meta.service_model
    by_cli = {xform_name(name, "-"): name for name in model.operation_names}
    operation_name = by_cli.get(call.operation)
    if operation_name is None:
        raise ValueError(f"{call.service} has no operation {call.operation}")
    operation = model.operation_model(operation_name)
    members = operation.input_shape.members if operation.input_shape is not None else {}
    member_by_cli = {xform_name(name, "-"): name for name in members}
    arguments: dict[str, Any] = {}
    for cli_name, value in call.parameters:
        member = member_by_cli.get(cli_name)
        if member is None:
            raise ValueError(f"{call.operation} has no parameter --{cli_name}")
        arguments[member] = _typed(members[member], value)
    return xform_name(operation_name), arguments


def _typed(shape: Any, value: str) -> Any:
    """A CLI value in the type the API member wants (lists, booleans, numbers, shorthand structures)."""
    type_name = shape.type_name
    if type_name == "list":
        return [_typed(shape.member, value)]
    if type_name == "structure":
        # AWS CLI shorthand: "Key=Owner,Values=Self"
        fields = dict(part.split("=", 1) for part in value.split(",") if "=" in part)
        return {name: _typed(shape.members[name], text) for name, text in fields.items() if name in shape.members}
    if type_name == "boolean":
        return value.lower() == "true"
    if type_name in ("integer", "long"):
        return int(value)
    return value


def _paginate(client: Any, method: str, arguments: dict[str, Any]) -> dict[str, Any]:
    if not client.can_paginate(method):
        response: dict[str, Any] = getattr(client, method)(**arguments)
        return response
    merged: dict[str, Any] = {}
    for index, page in enumerate(client.get_paginator(method).paginate(**arguments)):
        for key, value in page.items():
            if isinstance(value, list) and isinstance(merged.get(key), list):
                merged[key].extend(value)
            elif key not in merged:
                merged[key] = value
        if index + 1 >= MAX_PAGES:
            merged["Truncated"] = True
            break
    return merged


def _error_of(exc: Exception) -> tuple[str, str]:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error", {})
        return str(error.get("Code") or "UnknownError"), str(error.get("Message") or exc)[:500]
    return type(exc).__name__, str(exc)[:500]


def _jsonable(value: Any) -> Any:
    """What a JSON round trip gives (datetimes as ISO strings), like the MCP server's `as_json`."""
    import json

    return json.loads(json.dumps(value, default=_default))


def _default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if hasattr(value, "read"):
        return value.read().decode("utf-8", errors="replace")
    return str(value)
