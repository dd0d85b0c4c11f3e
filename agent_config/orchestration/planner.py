"""The planner: from what the user asked (a typed request) to the tool calls, across the servers.

It decides *what* to ask, never *how*: every call it returns is issued together by the
orchestrator. Resource-level evidence from the AWS API server is planned in rounds by the check
modules themselves (see `evidence_collector`); the planner covers the Security server's calls.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agent_config.checks import registry
from agent_config.integrations import security_server
from agent_config.interfaces import ToolCall
from agent_config.utils.error_handling import InvalidInput

FINDING_SOURCES = ("guardduty", "securityhub", "inspector", "accessanalyzer", "macie")
STORAGE_SERVICES = frozenset({"s3", "ec2", "rds", "dynamodb", "efs", "elasticache"})
NETWORK_SERVICES = frozenset({"ec2", "elb", "apigateway", "cloudfront"})
MAX_FINDINGS_PER_SOURCE = 50


class AssessmentRequest(BaseModel):
    """A comprehensive assessment (no `services`), or one limited to some services."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    regions: tuple[str, ...] = Field(min_length=1, max_length=20)
    services: tuple[str, ...] | None = Field(default=None, description="Check modules, e.g. ('s3', 'iam').")
    finding_sources: tuple[str, ...] = Field(default=("securityhub",))

    @field_validator("services")
    @classmethod
    def _known_services(cls, services: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if services is None:
            return None
        known = known_services()
        unknown = [s for s in services if s not in known]
        if unknown:
            raise ValueError(f"unknown service(s) {', '.join(unknown)}; choose from {', '.join(sorted(known))}")
        return tuple(dict.fromkeys(services))

    @field_validator("finding_sources")
    @classmethod
    def _known_sources(cls, sources: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [s for s in sources if s not in FINDING_SOURCES]
        if unknown:
            raise ValueError(
                f"unknown finding source(s) {', '.join(unknown)}; choose from {', '.join(FINDING_SOURCES)}"
            )
        return sources


def known_services() -> frozenset[str]:
    return frozenset(module.SERVICE for module in registry.SERVICE_MODULES)


def parse_request(regions: list[str], services: list[str] | None) -> AssessmentRequest:
    """Build a request from user input; a bad value raises `InvalidInput` saying how to fix it."""
    from pydantic import ValidationError

    try:
        return AssessmentRequest(regions=tuple(regions), services=tuple(services) if services else None)
    except ValidationError as exc:
        raise InvalidInput("; ".join(str(e["msg"]) for e in exc.errors())) from exc


def security_server_calls(request: AssessmentRequest) -> list[ToolCall]:
    """Per region: service status, findings from the chosen sources, storage and network checks."""
    wanted = set(request.services) if request.services is not None else None
    calls: list[ToolCall] = []
    for region in request.regions:
        calls.append(security_server.check_security_services_call(region))
        for source in request.finding_sources:
            calls.append(
                ToolCall(
                    server=security_server.SERVER,
                    tool=security_server.GET_SECURITY_FINDINGS,
                    arguments={"region": region, "service": source, "max_findings": MAX_FINDINGS_PER_SOURCE},
                    purpose=f"{source} findings in {region}",
                )
            )
        if wanted is None or wanted & STORAGE_SERVICES:
            calls.append(
                ToolCall(
                    server=security_server.SERVER,
                    tool=security_server.CHECK_STORAGE_ENCRYPTION,
                    arguments={
                        "region": region,
                        "include_unencrypted_only": False,
                        "store_in_context": False,
                    },
                    purpose=f"storage encryption in {region}",
                )
            )
        if wanted is None or wanted & NETWORK_SERVICES:
            calls.append(
                ToolCall(
                    server=security_server.SERVER,
                    tool=security_server.CHECK_NETWORK_SECURITY,
                    arguments={
                        "region": region,
                        "include_non_compliant_only": False,
                        "store_in_context": False,
                    },
                    purpose=f"network security in {region}",
                )
            )
    return calls
