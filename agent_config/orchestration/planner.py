"""The planner: from what the user asked (a typed request) to the tool calls, across the servers.

It decides *what* to ask, never *how*: every call it returns is issued together by the
orchestrator. Resource-level evidence from the AWS API server is planned in rounds by the check
modules themselves (see `evidence_collector`); the planner covers the Security server's calls and
the Knowledge server's documentation searches.

The searches depend only on the scope (which services, which framework), never on what the
assessment finds, so they are planned from the request and sent at the same time as the evidence
collection (`documentation_calls`): the answer waits for the slower of the two, not for both in turn.
Their results are matched to the findings afterwards (`orchestration.documentation`).

Security Hub findings: the Security server's `GetSecurityFindings` (0.2.0) takes `max_findings`
and one `severity_filter` label, and calls Security Hub's GetFindings with a filter but no
`SortCriteria`; by default it asks for active, new HIGH and CRITICAL findings updated in the last 30
days. It cannot sort by severity, and a `severity_filter` replaces that whole default filter
(archived and resolved findings would then fill the page), so the planner keeps the default and
the assessment says when the cap was reached (`assessment.capped_findings`).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agent_config.checks import registry
from agent_config.checks.catalogue import AGENT_CONTROL_PREFIX
from agent_config.integrations import knowledge_server, security_server
from agent_config.interfaces import ToolCall
from agent_config.utils.error_handling import InvalidInput

FINDING_SOURCES = ("guardduty", "securityhub", "inspector", "accessanalyzer", "macie")
STORAGE_SERVICES = frozenset({"s3", "ec2", "rds", "dynamodb", "efs", "elasticache"})
NETWORK_SERVICES = frozenset({"ec2", "elb", "apigateway", "cloudfront"})
MAX_FINDINGS_PER_SOURCE = 50
"""Findings asked of each source per Region; an answer that reaches it is reported as capped."""

FRAMEWORK_SEARCH = "AWS Foundational Security Best Practices controls in Security Hub"
"""The framework's own search: the catalogue's controls are Security Hub (FSBP) controls."""
DOCS_PER_SEARCH = 3
"""Pages asked for beyond a service's control pages (its guides), and of the framework search."""
SERVICE_DOCS: dict[str, tuple[str, str]] = {
    "iam": ("AWS IAM", r"\bIAM\b"),
    "s3": ("Amazon S3", r"\bS3\b"),
    "account": ("AWS account", r"\baccounts?\b"),
    "ec2": ("Amazon EC2", r"\bEC2\b"),
    "cloudtrail": ("AWS CloudTrail", r"\bCloudTrail\b"),
    "config": ("AWS Config", r"\bAWS Config\b|\bconformance packs?\b"),
    "guardduty": ("Amazon GuardDuty", r"\bGuardDuty\b"),
    "rds": ("Amazon RDS", r"\bRDS\b"),
    "kms": ("AWS KMS", r"\bKMS\b"),
    "lambda": ("AWS Lambda", r"\bLambda\b"),
    "secretsmanager": ("AWS Secrets Manager", r"\bSecrets Manager\b"),
    "ecr": ("Amazon ECR", r"\bECR\b"),
    "eks": ("Amazon EKS", r"\bEKS\b"),
    "efs": ("Amazon EFS", r"\bEFS\b|\bElastic File System\b"),
    "sns": ("Amazon SNS", r"\bSNS\b"),
    "sqs": ("Amazon SQS", r"\bSQS\b"),
    "dynamodb": ("Amazon DynamoDB", r"\bDynamoDB\b"),
    "ssm": ("AWS Systems Manager", r"\bSystems Manager\b"),
    "elb": ("Elastic Load Balancing", r"\bLoad Balanc(?:er|ing)\b"),
    "secrets_in_config": ("secrets in Lambda environment variables and EC2 user data", r"\bsecrets?\b"),
}
"""Per check module: how the documentation names its service (for the search phrase), and a
pattern (case-insensitive) a page's title must match to count as a page about that service: search
engines pad their answers with other services' best-practice pages, which must never be attached
to this service's findings."""


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


def scope_services(request: AssessmentRequest) -> tuple[str, ...]:
    """The check modules an assessment covers: the ones asked for, else every one."""
    if request.services is not None:
        return request.services
    return tuple(module.SERVICE for module in registry.SERVICE_MODULES)


def documentation_calls(request: AssessmentRequest) -> list[ToolCall]:
    """One documentation search per service in scope, then one for the framework.

    Known before any evidence arrives, so they are issued together with it. A service's phrase
    names the service and its Security Hub control ids, so the control pages come back with the
    service's own guides (the agent's own controls have no page to find). The order is the
    contract `orchestration.documentation` reads the results by: services as `scope_services`
    gives them, the framework last.
    """
    calls = []
    for service in scope_services(request):
        name = SERVICE_DOCS.get(service, (service, service))[0]
        ids = [c for c in registry.module_for(service).CONTROL_IDS if c.split(".")[0] != AGENT_CONTROL_PREFIX]
        calls.append(
            knowledge_server.search_call(
                " ".join([f"{name} security best practices", *ids]),
                min(knowledge_server.MAX_LIMIT, len(ids) + DOCS_PER_SEARCH),
                purpose=f"documentation for {service}",
            )
        )
    calls.append(knowledge_server.search_call(FRAMEWORK_SEARCH, DOCS_PER_SEARCH, purpose="framework documentation"))
    return calls
