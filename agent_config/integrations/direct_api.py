"""Evidence collected directly with boto3, under the function's own IAM role.

Used when the AWS API MCP server is unavailable (and for single commands it could not deliver),
so the assessment still happens; the answer says which path was taken. The same read-only guard
applies: a call is checked before it is translated.

Calls are named the AWS CLI way (`s3api get-bucket-policy --bucket X`); botocore's service model
translates them: the operation's Python name, each parameter's member name and type (a CLI value
for a list member becomes a one-item list, booleans and integers are parsed). Paginated operations
are read to the end, up to `MAX_PAGES`.

**One deadline.** This path is taken when the MCP server already failed, so it runs on what is
left of the request's budget and must not overrun it. With a deadline, `collect` starts no call
once less than `MIN_CALL_S` is left, a paginated read stops before a page that would not fit (the
pages read are kept, the item says the rest is missing), and a call still running at the deadline
is given up: its answer is reported `NotCollected`. A boto3 call cannot be interrupted, so a given
up call finishes in its own thread (bounded by botocore's standard retries and timeouts) on this
module's own executor, where it cannot starve the event loop's default one.

**Threads.** boto3 documents `Session` as not thread-safe (clients are, once made), so clients are
created under a lock and cached.
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from agent_config.checks.evidence import ApiCall, EvidenceItem
from agent_config.checks.services._common import NOT_COLLECTED
from agent_config.integrations.read_only_guard import check_call
from agent_config.orchestration.deadline import Deadline
from agent_config.utils.error_handling import AgentError

SOURCE = "boto3"
MAX_PAGES = 50
MAX_CONCURRENCY = 8
MIN_CALL_S = 0.2
"""Below this much remaining time a call (or another page) is not started: it could not finish."""
_CLI_TO_BOTO3 = {"s3api": "s3", "configservice": "config", "s3control": "s3control"}
_ACCOUNT_HOST = re.compile(r"^(https?://)\d{12}\.")

ClientFactory = Callable[[str, str], Any]


def default_client_factory() -> ClientFactory:
    import boto3
    from botocore.config import Config

    session = boto3.session.Session()
    # Standard retries (3 attempts, backoff): adaptive mode's client-side rate limiter can block a
    # thread for time nobody accounts for, and a call given up at the deadline keeps its thread.
    config = Config(retries={"mode": "standard", "max_attempts": 3}, read_timeout=20, connect_timeout=5)
    clients: dict[tuple[str, str], Any] = {}
    lock = threading.Lock()  # the Session is not thread-safe; calls come from several threads

    def client(service: str, region: str) -> Any:
        key = (service, region)
        with lock:
            made = clients.get(key)
            if made is None:
                made = session.client(service, region_name=region, config=config)  # type: ignore[call-overload]
                if service == "s3control" and os.environ.get("AWS_ENDPOINT_URL"):
                    # A local endpoint (the sandbox) cannot take the account id as a host-name prefix.
                    made.meta.events.register("before-sign.s3-control.*", _strip_account_host)
                clients[key] = made
        return made

    return client


def _strip_account_host(request: Any, **_: Any) -> None:
    request.url = _ACCOUNT_HOST.sub(r"\1", request.url)


class DirectApi:
    def __init__(self, client_factory: ClientFactory | None = None, max_concurrency: int = MAX_CONCURRENCY) -> None:
        self._factory = client_factory
        self._factory_lock = threading.Lock()
        self._max_concurrency = max_concurrency
        self._semaphore: asyncio.Semaphore | None = None
        self._executor: ThreadPoolExecutor | None = None

    def _client(self, service: str, region: str) -> Any:
        with self._factory_lock:  # read() runs in worker threads: make the factory only once
            if self._factory is None:
                self._factory = default_client_factory()
            factory = self._factory
        return factory(service, region)

    def client(self, service: str, region: str) -> Any:
        """A boto3 client of this path (made once, then shared), for the other direct readers
        (`direct_security`): one set of clients per warm container, not one per reader."""
        return self._client(service, region)

    async def collect(
        self, calls: Sequence[ApiCall], default_region: str, deadline: Deadline | None = None
    ) -> list[EvidenceItem]:
        """One evidence item per call, in order, within `deadline` when one is given.

        What arrived in time is kept (a paginated answer cut short says so in `error_message`);
        a call that was not started, or was given up, at the deadline is a `NotCollected` item
        saying so, which the checks report as not assessed.
        """
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self._max_concurrency)
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self._max_concurrency, thread_name_prefix="direct-api")
        semaphore, executor = self._semaphore, self._executor
        loop = asyncio.get_running_loop()

        async def one(call: ApiCall) -> EvidenceItem:
            async with semaphore:  # queueing ends by the deadline: every running call ends by then
                if deadline is None:
                    return await loop.run_in_executor(executor, self.read, call, default_region)
                if deadline.remaining() < MIN_CALL_S:
                    return _not_collected(call, "not started: the request's deadline came first")
                work = loop.run_in_executor(executor, self.read, call, default_region, deadline)
                try:
                    return await asyncio.wait_for(work, timeout=deadline.remaining())
                except TimeoutError:
                    return _not_collected(call, "no answer before the request's deadline; the call was given up")

        return list(await asyncio.gather(*(one(call) for call in calls)))

    def read(self, call: ApiCall, default_region: str, deadline: Deadline | None = None) -> EvidenceItem:
        """One call, synchronously; every failure becomes an evidence item with its error code."""
        try:
            check_call(call)
            client = self._client(_CLI_TO_BOTO3.get(call.service, call.service), call.region or default_region)
            method, arguments = _translate(client, call)
            response, note = _paginate(client, method, arguments, deadline)
        except AgentError as exc:
            return EvidenceItem(call=call, error_code="RefusedByGuard", error_message=exc.message, source=SOURCE)
        except Exception as exc:  # noqa: BLE001 - any AWS or transport failure is evidence of what was missing
            code, message = _error_of(exc)
            return EvidenceItem(call=call, error_code=code, error_message=message, source=SOURCE)
        response.pop("ResponseMetadata", None)
        return EvidenceItem(call=call, response=_jsonable(response), error_message=note, source=SOURCE)


def _not_collected(call: ApiCall, reason: str) -> EvidenceItem:
    return EvidenceItem(call=call, error_code=NOT_COLLECTED, error_message=reason, source=SOURCE)


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


def _paginate(
    client: Any, method: str, arguments: dict[str, Any], deadline: Deadline | None = None
) -> tuple[dict[str, Any], str | None]:
    """The whole answer (pages merged), and a note when it is incomplete.

    With a deadline, no page is requested once less time is left than the slowest page so far
    took (or `MIN_CALL_S`): the pages read are returned with `Truncated` and a note, instead of
    a request that would be given up at the deadline and lose them all.
    """
    if not client.can_paginate(method):
        response: dict[str, Any] = getattr(client, method)(**arguments)
        return response, None
    merged: dict[str, Any] = {}
    pages = iter(client.get_paginator(method).paginate(**arguments))
    slowest_s = 0.0
    for index in range(MAX_PAGES):
        if index > 0 and deadline is not None and deadline.remaining() < max(slowest_s, MIN_CALL_S):
            merged["Truncated"] = True
            return merged, f"incomplete: only the first {index} pages were read before the request's deadline"
        started = time.monotonic()
        page = next(pages, None)
        if page is None:
            return merged, None
        slowest_s = max(slowest_s, time.monotonic() - started)
        for key, value in page.items():
            if isinstance(value, list) and isinstance(merged.get(key), list):
                merged[key].extend(value)
            elif key not in merged:
                merged[key] = value
    merged["Truncated"] = True
    return merged, None


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
