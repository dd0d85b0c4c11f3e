"""A full security assessment: the pipeline behind `GET /security/assessment` and `security-agent assess`.

```
request ──► planner ──► Security server calls ─────────────┐   (concurrently)
        └─► evidence collector ──► AWS API server / boto3 ─┤
                                                           ▼
            checks (evaluate_all) + Security server normalisation ──► findings
                                                           ▼
                                   SecuritySynthesizer ──► SecurityAssessment
```

Both sources are asked at the same time under one deadline; whatever one of them could not give
is listed in `degraded` with the reason, and the assessment is built from the rest.

Observation times: both live sources were asked at the same moment, so their findings carry that
call time (and neither counts as "newer" than the other); the Security server's stored reports
(Security Hub, GuardDuty, Inspector...) carry the time the report itself gives.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from agent_config.checks import registry
from agent_config.checks.findings import findings_from_results
from agent_config.integrations import security_findings, security_server
from agent_config.integrations.direct_api import DirectApi
from agent_config.interfaces import DegradedSource, Finding, MCPOrchestrator, SecurityAssessment, ToolResult
from agent_config.orchestration.deadline import Deadline
from agent_config.orchestration.evidence_collector import CollectionReport, EvidenceCollector, account_id_of
from agent_config.orchestration.planner import AssessmentRequest, security_server_calls
from agent_config.response.neutralize import neutralize_note
from agent_config.response.synthesizer import SecuritySynthesizer
from agent_config.utils.error_handling import AgentError

Normaliser = Callable[[Any, str, str], list[Finding]]


async def run_assessment(
    orchestrator: MCPOrchestrator,
    request: AssessmentRequest,
    deadline: Deadline,
    *,
    direct: DirectApi | None = None,
    use_direct_fallback: bool = True,
    max_resources: int | None = None,
) -> SecurityAssessment:
    direct = direct or DirectApi()
    started = datetime.now(UTC)
    home = request.regions[0]
    account_id = await account_id_of(orchestrator, direct, home, deadline)
    collector = EvidenceCollector(
        orchestrator, direct=direct, use_direct_fallback=use_direct_fallback, max_resources=max_resources
    )
    server_calls = security_server_calls(request)
    called_at = datetime.now(UTC)
    report, server_results = await asyncio.gather(
        collector.collect(account_id, request.regions, deadline, request.services),
        orchestrator.execute_parallel_calls(server_calls, deadline),
    )
    regions = list(request.regions)
    kwargs = {"max_resources": max_resources} if max_resources is not None else {}
    results = registry.evaluate_all(regions, report.evidence, services=request.services, now=started, **kwargs)
    findings = findings_from_results(results, account_id, _evidence_source(report), observed_at=called_at)
    server_findings, server_degraded = normalise_security_server(server_results, account_id, called_at=called_at)
    findings += [f for f in server_findings if in_scope(f, request.services)]
    degraded = [
        *report.degraded,
        *server_degraded,
        *capped_findings(server_results),
        *_caps(regions, report, request, kwargs),
    ]
    assessment = SecuritySynthesizer().synthesize_security_assessment(
        findings, degraded, assessment_id=new_assessment_id()
    )
    stats = {
        "evidence_rounds": report.rounds,
        "aws_api_reads": report.calls,
        "reads_via_aws_api_server": report.via_server,
        "reads_via_boto3": report.via_boto3,
        "reads_refused_by_guard": report.refused,
        "security_server_calls": len(server_calls),
        "findings": len(assessment.findings),
    }
    services = list(request.services) if request.services is not None else None
    return assessment.model_copy(
        update={"stats": stats, "regions": regions, "account_id": account_id, "services": services}
    )


def in_scope(finding: Finding, services: Sequence[str] | None) -> bool:
    """Whether a Security server finding belongs to an assessment limited to `services` (the check
    module that owns its control decides; findings with project ids belong to no service's scope)."""
    if services is None:
        return True
    owner = registry.CONTROL_OWNERS.get(finding.control_id)
    return owner is not None and owner.SERVICE in services


def new_assessment_id() -> str:
    return f"asm-{datetime.now(UTC):%Y%m%d%H%M%S}-{uuid.uuid4().hex[:8]}"


def normalise_security_server(
    results: Sequence[ToolResult], account_id: str, *, called_at: datetime | None = None
) -> tuple[list[Finding], list[DegradedSource]]:
    """The Security server's results as findings and degraded notes. `called_at` is when the calls
    were made (default: now, just after they returned): live checks are observed then, and a
    report may not claim a later time. A reason quoting the server is neutralised here, because it
    can also leave as an error body (424) that does not pass the answer's own neutralising."""
    called_at = called_at or datetime.now(UTC)
    findings: list[Finding] = []
    degraded: list[DegradedSource] = []
    for result in results:
        region = str(result.call.arguments.get("region", ""))
        what = result.call.purpose or result.call.tool
        if not result.ok:
            degraded.append(
                DegradedSource(
                    server=result.call.server,
                    reason=f"{what}: {neutralize_note(result.error_message or 'no answer')}",
                    error_kind=result.error_kind,
                )
            )
            continue
        try:
            findings += _normalise(result, region, account_id, called_at)
        except AgentError as exc:
            degraded.append(
                DegradedSource(
                    server=result.call.server, reason=f"{what}: {neutralize_note(exc.message)}", error_kind=exc.kind
                )
            )
    return findings, degraded


def capped_findings(results: Sequence[ToolResult]) -> list[DegradedSource]:
    """A note for every findings source that returned as many findings as were asked for.

    The Security server's `GetSecurityFindings` returns at most `max_findings`, gives no total and
    cannot sort (see `orchestration.planner`), so an answer at the cap may be missing findings,
    and which ones is up to the service: the answer must say so rather than look complete.
    """
    notes = []
    for result in results:
        if not result.ok or result.call.tool != security_server.GET_SECURITY_FINDINGS:
            continue
        cap = result.call.arguments.get("max_findings")
        payload = result.payload
        found = payload.get("findings") if isinstance(payload, dict) else None
        if not isinstance(cap, int) or not isinstance(found, list) or len(found) < cap:
            continue
        source = str(result.call.arguments.get("service", ""))
        region = str(result.call.arguments.get("region", ""))
        notes.append(
            DegradedSource(
                server=result.call.server,
                reason=f"{source} findings in {region}: showing the first {cap} the service returned (the most it "
                "is asked for; the Security server cannot sort them by severity or count the rest): more may be "
                f"in {security_server.SECURITY_SERVICES.get(source, source)}",
            )
        )
    return notes


def _normalise(result: ToolResult, region: str, account_id: str, when: datetime) -> list[Finding]:
    tool, payload = result.call.tool, result.payload
    if tool == security_server.CHECK_SECURITY_SERVICES:
        return security_findings.findings_from_service_status(payload, region, account_id, observed_at=when)
    if tool == security_server.GET_SECURITY_FINDINGS:
        service = str(result.call.arguments.get("service", ""))
        return security_findings.findings_from_security_findings(payload, service, region, account_id, observed_at=when)
    if tool == security_server.CHECK_STORAGE_ENCRYPTION:
        return security_findings.findings_from_storage_encryption(payload, region, account_id, observed_at=when)
    if tool == security_server.CHECK_NETWORK_SECURITY:
        return security_findings.findings_from_network_security(payload, region, account_id, observed_at=when)
    return []


def _evidence_source(report: CollectionReport) -> str:
    return "boto3" if report.via_server == 0 and report.via_boto3 > 0 else "aws_api"


def _caps(
    regions: list[str], report: CollectionReport, request: AssessmentRequest, kwargs: dict[str, int]
) -> list[DegradedSource]:
    caps = registry.caps_all(regions, report.evidence, services=request.services, **kwargs)
    return [DegradedSource(server="aws_api", reason=cap.message) for cap in caps]
