"""Adapter for the awslabs Well-Architected Security MCP server: its tool names and its output.

What the server really does (checked against version 0.2.0 on a moto server):
- `CheckSecurityServices` answers one JSON text block (also in `structuredContent.result`) with
  `service_statuses: {service: {enabled, message, ...}}`; a service whose status could not be read
  carries an `error` field *inside* a successful answer, and a whole-call failure is a top-level
  `error` field with `isError` false. So the payload is parsed and the flag is not trusted.
- Setup guidance comes as free text with the documentation URL inside it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from agent_config.interfaces import ServiceStatus, ToolCall
from agent_config.utils.error_handling import ServerFailure

SERVER = "security"
CHECK_SECURITY_SERVICES = "CheckSecurityServices"
GET_SECURITY_FINDINGS = "GetSecurityFindings"
CHECK_STORAGE_ENCRYPTION = "CheckStorageEncryption"
CHECK_NETWORK_SECURITY = "CheckNetworkSecurity"
EXPECTED_TOOLS = frozenset({CHECK_SECURITY_SERVICES, GET_SECURITY_FINDINGS, CHECK_STORAGE_ENCRYPTION})

# The services CheckSecurityServices knows, under the names it uses, with the names people use.
SECURITY_SERVICES: dict[str, str] = {
    "guardduty": "Amazon GuardDuty",
    "inspector": "Amazon Inspector",
    "accessanalyzer": "IAM Access Analyzer",
    "securityhub": "AWS Security Hub",
    "trustedadvisor": "AWS Trusted Advisor",
    "macie": "Amazon Macie",
}

SETUP_DOCS: dict[str, str] = {
    "guardduty": "https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_settingup.html",
    "inspector": "https://docs.aws.amazon.com/inspector/latest/user/getting_started_tutorial.html",
    "accessanalyzer": "https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-getting-started.html",
    "securityhub": "https://docs.aws.amazon.com/securityhub/latest/userguide/securityhub-get-started.html",
    "trustedadvisor": "https://docs.aws.amazon.com/awssupport/latest/user/get-started-with-aws-trusted-advisor.html",
    "macie": "https://docs.aws.amazon.com/macie/latest/user/getting-started.html",
}

_DOCS_URL = re.compile(r"https://docs\.aws\.amazon\.com/[^\s)\"']+")


def check_security_services_call(region: str, services: Sequence[str] | None = None) -> ToolCall:
    arguments: dict[str, Any] = {"region": region, "store_in_context": False}
    if services:
        arguments["services"] = list(services)
    return ToolCall(
        server=SERVER,
        tool=CHECK_SECURITY_SERVICES,
        arguments=arguments,
        purpose=f"security service status in {region}",
    )


def parse_service_statuses(payload: Any, region: str) -> list[ServiceStatus]:
    """Read `CheckSecurityServices` output; raise `ServerFailure` when the whole call failed."""
    if not isinstance(payload, dict):
        raise ServerFailure("the Security server's answer was not a JSON object")
    statuses = payload.get("service_statuses")
    if not isinstance(statuses, dict):
        error = payload.get("error") or payload.get("message") or "no service_statuses in the answer"
        raise ServerFailure(f"the Security server could not check the services: {_first_line(str(error))}")
    answer_region = str(payload.get("region") or region)
    return [_one_status(name, raw, answer_region) for name, raw in statuses.items() if isinstance(raw, dict)]


def _one_status(service: str, raw: dict[str, Any], region: str) -> ServiceStatus:
    label = SECURITY_SERVICES.get(service, service)
    error = raw.get("error")
    enabled = raw.get("enabled")
    if error:
        # The server reports enabled=false alongside an error; that is "unknown", not "off".
        return ServiceStatus(
            service=service,
            region=region,
            enabled=None,
            summary=f"{label}: status could not be determined ({_first_line(str(error))})",
            error=_first_line(str(error)),
            setup_url=SETUP_DOCS.get(service),
        )
    message = str(raw.get("message") or (f"{label} is enabled." if enabled else f"{label} is not enabled."))
    setup_url = _setup_url(raw) or SETUP_DOCS.get(service)
    detail = {k: v for k, v in raw.items() if k not in ("message", "setup_instructions", "enabled")}
    return ServiceStatus(
        service=service,
        region=region,
        enabled=bool(enabled) if enabled is not None else None,
        summary=message,
        detail=detail,
        setup_url=setup_url,
    )


def _setup_url(raw: dict[str, Any]) -> str | None:
    match = _DOCS_URL.search(str(raw.get("setup_instructions") or ""))
    return match.group(0).rstrip(".,") if match else None


def _first_line(text: str, limit: int = 240) -> str:
    line = text.strip().splitlines()[0] if text.strip() else text
    # botocore appends the HTML body of a 500 page; the first sentence is the useful part.
    line = line.split(": <!doctype", 1)[0].split(":<!doctype", 1)[0]
    return line if len(line) <= limit else line[: limit - 3] + "..."
