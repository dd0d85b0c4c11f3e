"""Adapter for the awslabs AWS API MCP server: read-only AWS CLI commands in, evidence out.

What the server really does (version 1.5.6, checked on a moto server):
- `call_aws(cli_command: str | list[str], max_results)` takes up to 20 commands per call and answers
  one JSON list, one item per command:
  `{"cli_command", "response": {"error", "status_code", "error_code", "as_json"}, "metadata": {...}}`,
  where `as_json` is the API response as a JSON *string*.
- A command its read-only mode refuses comes back as `{"cli_command", "error": "Execution of this
  operation is denied by security policy."}` with `isError` false. Our own guard refuses such
  commands before they are sent, so seeing this means the two disagree: it is recorded, not hidden.
- The AWS CLI it embeds loads a parameter from a file when the value starts with `file://` or
  `fileb://` ("paramfile"); by default the server allows that inside its working folder. It must run
  with `AWS_API_MCP_ALLOW_UNRESTRICTED_LOCAL_FILE_ACCESS=no-access` (documented in its README;
  checked on 1.5.6: a `file://` value is then refused with `LocalFileAccessDisabledError`, and
  without it the file's content becomes the parameter). The guard refuses such values first; this
  is the second layer. `REQUIRED_ENV` is what the server's environment must hold, and the default
  configuration sets it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from agent_config.checks.evidence import ApiCall, EvidenceItem
from agent_config.integrations.read_only_guard import cli_command
from agent_config.interfaces import ToolCall

SERVER = "aws_api"
CALL_AWS = "call_aws"
MAX_COMMANDS_PER_CALL = 20
SOURCE = "aws_api"
DENIED_BY_SERVER = "DeniedByServerPolicy"
READ_ONLY_ENV = "READ_OPERATIONS_ONLY"
FILE_ACCESS_ENV = "AWS_API_MCP_ALLOW_UNRESTRICTED_LOCAL_FILE_ACCESS"
REQUIRED_ENV: Mapping[str, str] = {READ_ONLY_ENV: "true", FILE_ACCESS_ENV: "no-access"}
"""Settings the server must run with: only read operations, and no local file access at all."""

_ERROR_CODE = re.compile(r"An error occurred \(([A-Za-z0-9.]+)\)")


def batch_calls(calls: Sequence[ApiCall], default_region: str) -> list[tuple[ToolCall, list[ApiCall]]]:
    """`call_aws` tool calls of at most 20 commands each, with the calls each one carries."""
    batches = []
    for start in range(0, len(calls), MAX_COMMANDS_PER_CALL):
        chunk = list(calls[start : start + MAX_COMMANDS_PER_CALL])
        commands = [cli_command(call, default_region) for call in chunk]
        tool_call = ToolCall(
            server=SERVER,
            tool=CALL_AWS,
            arguments={"cli_command": commands},
            purpose=f"{len(commands)} read-only AWS API calls",
        )
        batches.append((tool_call, chunk))
    return batches


def parse_call_aws(payload: Any, calls: Sequence[ApiCall]) -> list[EvidenceItem]:
    """One evidence item per call, in order; a missing or malformed answer becomes an error item."""
    answers = payload if isinstance(payload, list) else []
    items = []
    for index, call in enumerate(calls):
        answer = answers[index] if index < len(answers) and isinstance(answers[index], dict) else None
        items.append(_one(call, answer))
    return items


def _one(call: ApiCall, answer: dict[str, Any] | None) -> EvidenceItem:
    if answer is None:
        return EvidenceItem(call=call, error_code="NoAnswer", error_message="no answer for this command", source=SOURCE)
    response = answer.get("response")
    if not isinstance(response, dict):
        message = str(answer.get("error") or "the server gave no response for this command")
        code = DENIED_BY_SERVER if "denied by security policy" in message else _code_from(message)
        return EvidenceItem(call=call, error_code=code, error_message=message[:500], source=SOURCE)
    error = response.get("error")
    if error:
        code = str(response.get("error_code") or _code_from(str(error)))
        return EvidenceItem(call=call, error_code=code, error_message=str(error)[:500], source=SOURCE)
    try:
        document = json.loads(response.get("as_json") or "{}")
    except json.JSONDecodeError:
        return EvidenceItem(
            call=call, error_code="MalformedResponse", error_message="as_json is not JSON", source=SOURCE
        )
    if isinstance(document, dict):
        document.pop("ResponseMetadata", None)
        return EvidenceItem(call=call, response=document, source=SOURCE)
    return EvidenceItem(call=call, error_code="MalformedResponse", error_message="not a JSON object", source=SOURCE)


def _code_from(message: str) -> str:
    match = _ERROR_CODE.search(message)
    return match.group(1) if match else "UnknownError"
