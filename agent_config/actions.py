"""One function per action-group operation: what the user asked, as a typed request, answered.

The handler has already validated the input; these functions plan the tool calls, run them through
the orchestrator under the request's deadline, and hand the results to the response layer. They
know nothing of Bedrock's event format. Each returns an `AgentAnswer` whose `data` fits the byte
budget; what does not fit is kept with the session's stored report and paged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from agent_config.assessment import normalise_security_server, run_assessment
from agent_config.checks.catalogue import load_framework
from agent_config.config import AgentConfig
from agent_config.integrations import knowledge_server, security_server
from agent_config.integrations.direct_api import DirectApi
from agent_config.interfaces import (
    AgentAnswer,
    DegradedSource,
    DocumentationLink,
    Finding,
    FindingStatus,
    MCPOrchestrator,
    SecurityAssessment,
    Severity,
    ToolCall,
)
from agent_config.orchestration.deadline import Deadline
from agent_config.orchestration.planner import AssessmentRequest, parse_request
from agent_config.response.budget import list_budget, paginate, shrink_to_fit
from agent_config.response.engine import AnswerEngine
from agent_config.response.neutralize import DATA_NOTICE
from agent_config.response.scoring import control_statuses
from agent_config.response.service_status import render_health, render_service_status
from agent_config.utils.error_handling import AgentError, DependencyFailed, InvalidInput, ServerFailure

KNOWLEDGE_LOOKUPS = 4
"""Controls whose documentation is looked up on the Knowledge server per answer (the top ones)."""


class AssessmentKeeper(Protocol):
    """Where a session's assessments are kept between turns (see `agent_config.session`)."""

    def save_assessment(self, session_id: str, assessment: SecurityAssessment) -> None: ...

    def load_assessment(self, session_id: str, assessment_id: str) -> SecurityAssessment | None: ...

    def latest_assessments(
        self, session_id: str, count: int, excluding: Collection[str] = ()
    ) -> list[SecurityAssessment]: ...

    def facts(self, session_id: str) -> dict[str, str]: ...

    def update_facts(self, session_id: str, facts: Mapping[str, str]) -> None: ...


@dataclass
class OperationContext:
    """Everything an operation may use for one request."""

    orchestrator: MCPOrchestrator
    config: AgentConfig
    deadline: Deadline
    session_id: str
    sessions: AssessmentKeeper | None
    direct: DirectApi | None = None
    session_updates: dict[str, str] = field(default_factory=dict)
    notes: list[DegradedSource] = field(default_factory=list)

    @property
    def budget(self) -> int:
        return self.config.max_response_bytes


# ---------------------------------------------------------------------------------------------
# Health and service status
# ---------------------------------------------------------------------------------------------


async def health(orchestrator: MCPOrchestrator) -> AgentAnswer:
    return render_health(await orchestrator.health_check_all())


async def security_services(orchestrator: MCPOrchestrator, deadline: Deadline, region: str) -> AgentAnswer:
    """Status of GuardDuty, Inspector, Access Analyzer, Security Hub, Trusted Advisor and Macie.

    Raises `DependencyFailed` when the Security server gave no usable answer at all.
    """
    call = security_server.check_security_services_call(region)
    [result] = await orchestrator.execute_parallel_calls([call], deadline)
    if not result.ok:
        raise DependencyFailed(security_server.SERVER, result.error_message or "no answer", result.error_kind)
    try:
        statuses = security_server.parse_service_statuses(result.payload, region)
    except ServerFailure as exc:
        raise DependencyFailed(security_server.SERVER, exc.message) from exc
    degraded = [
        DegradedSource(server=security_server.SERVER, reason=f"{s.service}: {s.error}") for s in statuses if s.error
    ]
    return render_service_status(region, statuses, degraded)


# ---------------------------------------------------------------------------------------------
# Assessments
# ---------------------------------------------------------------------------------------------


async def assessment(ctx: OperationContext, regions: Sequence[str], services: Sequence[str] | None) -> AgentAnswer:
    """A comprehensive (or service-limited) assessment: prioritised findings, scores, plan, changes."""
    request = parse_request(list(regions) or list(ctx.config.default_regions), list(services) if services else None)
    current = await _assess(ctx, request)
    previous = await _previous(ctx, current)
    engine = AnswerEngine()
    answer = engine.transform_multi_source_response(current)
    answer = engine.format_with_documentation_links(answer, await _knowledge_docs(ctx, current))
    changes = engine.create_contextual_analysis(current, previous)
    plan = engine.generate_action_plan(current.prioritized)
    extras = {
        "changes_since_previous": changes,
        "action_plan": [
            {"phase": s.phase, "step": s.title, "finding_ids": s.finding_ids[:5], "effort": s.effort}
            for s in plan.steps[:10]
        ],
    }
    return _paged(ctx, answer, extras, current)


async def service_analysis(
    ctx: OperationContext, service: str, region: str | None, resource: str | None
) -> AgentAnswer:
    """One service's controls in one Region (or every resource of it): status per control and fixes."""
    regions = [region] if region else list(ctx.config.default_regions)
    request = parse_request(regions, [service])
    current = await _assess(ctx, request)
    previous = await _previous(ctx, current)
    if resource:
        current = _only_resource(current, resource)
        previous = _only_resource(previous, resource) if previous else None
    engine = AnswerEngine()
    answer = engine.transform_multi_source_response(current)
    answer = engine.format_with_documentation_links(answer, await _knowledge_docs(ctx, current))
    best_practices = await _search(ctx, f"{service} security best practices", 3)
    statuses = control_statuses(current.findings)
    extras: dict[str, Any] = {
        "service": service,
        "changes_since_previous": engine.create_contextual_analysis(current, previous),
        "controls": {control: status.value for control, status in sorted(statuses.items())},
        "best_practices": [link.model_dump() for link in best_practices],
        "remediation_steps": [
            {
                "phase": s.phase,
                "step": s.title,
                "effort": s.effort,
                "console": s.remediation.console_steps[:4],
                "cli": s.remediation.cli_commands[:3],
                "may_break": s.remediation.may_break,
                "verify": s.remediation.verify_command,
            }
            for s in engine.generate_action_plan(current.prioritized).steps[:6]
        ],
    }
    if resource and not current.findings:
        extras["resource_note"] = "no finding matched that resource name or id in this service and Region"
    return _paged(ctx, answer, extras, current)


async def compliance(ctx: OperationContext, framework: str) -> AgentAnswer:
    """Alignment with a framework: requirements passed, failed, without data, not assessable."""
    current = await _latest_comprehensive(ctx) or await _assess(
        ctx, parse_request(list(ctx.config.default_regions), None)
    )
    definition = load_framework(framework)
    score = next(f for f in current.frameworks if f.framework == framework)
    failing_controls = {f.control_id for f in current.findings if f.status is FindingStatus.FAIL}
    gaps = []
    for requirement in definition.requirements:
        if requirement.id in score.failed_requirements:
            gaps.append(
                {
                    "requirement": requirement.id,
                    "title": requirement.title,
                    "failing_controls": sorted(set(requirement.controls) & failing_controls),
                    "docs": requirement.url,
                }
            )
    engine = AnswerEngine()
    plan = engine.generate_action_plan(
        [p for p in current.prioritized if _in_framework(p.finding, definition.control_ids())]
    )
    summary = (
        f"{definition.title}: {score.passed} requirements pass, {score.failed} fail, {score.no_data} have no "
        f"data, and {score.not_assessable} cannot be assessed automatically (process practices, reported as "
        f"such, never as passed). Score {_pct(score.score.value)} ({score.score.formula})."
    )
    not_assessable = [f"{r.id}: {r.title}" for r in definition.not_assessable()]
    body: dict[str, Any] = {
        "framework": framework,
        "assessment_id": current.assessment_id,
        "score": score.score.model_dump(),
        "gaps": gaps,
        "roadmap": [
            {"phase": s.phase, "step": s.title, "effort": s.effort, "docs": [d.url for d in s.documentation]}
            for s in plan.steps
        ],
        "not_assessable_automatically": not_assessable,
        "not_assessable_note": (
            "These practices (threat models, incident plans, data classification...) need people, not APIs: "
            "review them with the Well-Architected Tool or your own process."
        ),
        "executive_summary": {
            "posture": current.summary.posture if current.summary else "",
            "top_risks": current.summary.top_risks[:3] if current.summary else [],
        },
        "data_notice": DATA_NOTICE,
    }
    body = shrink_to_fit(body, ctx.budget - 2500, ("roadmap", "not_assessable_automatically", "gaps"))
    docs = [DocumentationLink(title=definition.title, url=definition.source_url)]
    return AgentAnswer(summary=summary, data=body, documentation=docs, degraded=current.degraded)


async def remediation(ctx: OperationContext, finding_id: str) -> AgentAnswer:
    """The full remediation plan for one finding of the session's latest assessments."""
    for stored in await _recent(ctx, 5):
        for finding in stored.findings:
            if finding.finding_id == finding_id:
                return await _remediation_answer(ctx, finding, stored)
    raise InvalidInput(
        f"No finding {finding_id} in this session's assessments. Run an assessment (GET /security/assessment) "
        "and use a finding_id from its answer."
    )


async def _remediation_answer(ctx: OperationContext, finding: Finding, stored: SecurityAssessment) -> AgentAnswer:
    engine = AnswerEngine()
    card = engine.finding_card(finding)
    fix = finding.remediation
    knowledge = await _search(ctx, f"{finding.control_id} {finding.title}", 2)
    steps = (
        {
            "what_it_changes": fix.summary,
            "console_steps": fix.console_steps,
            "cli_commands": fix.cli_commands,
            "infrastructure_as_code": fix.infrastructure_as_code,
            "may_break": fix.may_break,
            "verify_with": fix.verify_command,
            "executed": False,
        }
        if fix
        else {"note": "no catalogued remediation for this control; see the documentation"}
    )
    docs = list({d.url: d for d in [*knowledge, *finding.documentation]}.values())[:4]
    summary = (
        f"{finding.control_id} ({finding.severity.value}) on {card['resource']}: {finding.title}. "
        "These are advice only: the agent never changes the account. Run the verify command after the fix."
    )
    return AgentAnswer(
        summary=summary,
        data={
            "finding": card,
            "assessment_id": stored.assessment_id,
            "plan": steps,
            "data_notice": DATA_NOTICE,
        },
        documentation=docs,
    )


async def report_page(ctx: OperationContext, assessment_id: str, page: int) -> AgentAnswer:
    """A page of a stored assessment's findings (every finding on exactly one page)."""
    stored = (
        await asyncio.to_thread(ctx.sessions.load_assessment, ctx.session_id, assessment_id) if ctx.sessions else None
    )
    if stored is None:
        raise InvalidInput(
            f"No stored assessment {assessment_id} in this session (reports expire with the session). "
            "Run a new assessment."
        )
    engine = AnswerEngine()
    cards = _all_cards(engine, stored)
    envelope = {
        "assessment_id": assessment_id,
        "page": page,
        "pages": 0,
        "findings": [],
        "data_notice": DATA_NOTICE,
    }
    pages = paginate(cards, list_budget(_wrapped(envelope), ctx.budget))
    if page > len(pages):
        raise InvalidInput(f"Report {assessment_id} has {len(pages)} page(s); ask for page 1 to {len(pages)}.")
    start, end = pages[page - 1]
    body = {
        **envelope,
        "pages": len(pages),
        "findings": cards[start:end],
        "items": f"{start + 1}-{end} of {len(cards)}",
    }
    note = f"Page {page} of {len(pages)}: findings {start + 1} to {end} of {len(cards)}."
    if page < len(pages):
        note += f" Ask for page {page + 1} for more."
    return AgentAnswer(summary=note, data=body)


async def executive_summary(ctx: OperationContext) -> AgentAnswer:
    """The session's posture for stakeholders: the latest assessment, and what changed before it."""
    recent = await _recent(ctx, 2)
    if not recent:
        raise InvalidInput("This session has no assessment yet. Run one first (GET /security/assessment).")
    current = recent[0]
    previous = recent[1] if len(recent) > 1 else None
    engine = AnswerEngine()
    summary = current.summary
    plan = engine.generate_action_plan(current.prioritized)
    body = {
        "assessment_id": current.assessment_id,
        "assessed_at": current.created_at.isoformat(),
        "regions": current.regions,
        "posture": summary.posture if summary else "",
        "top_risks_in_business_terms": summary.top_risks if summary else [],
        "counts_by_severity": {k.value: v for k, v in summary.counts_by_severity.items()} if summary else {},
        "scores": {s.name: {"value": s.value, "formula": s.formula} for s in current.scores},
        "frameworks": {f.framework: f.score.value for f in current.frameworks},
        "changes_since_previous": engine.create_contextual_analysis(current, previous),
        "next_steps": [f"{s.phase}: {s.title} ({s.effort})" for s in plan.steps[:5]],
        "not_assessed": (summary.not_assessed if summary else [])[:10],
    }
    body = shrink_to_fit(body, ctx.budget - 1000, ("not_assessed", "next_steps"))
    return AgentAnswer(summary=summary.posture if summary else "", data=body, degraded=current.degraded)


# ---------------------------------------------------------------------------------------------
# Findings from the security services, and documentation
# ---------------------------------------------------------------------------------------------


async def security_findings(ctx: OperationContext, source: str, min_severity: str | None, region: str) -> AgentAnswer:
    threshold = Severity.parse(min_severity).rank if min_severity else Severity.INFORMATIONAL.rank
    call = ToolCall(
        server=security_server.SERVER,
        tool=security_server.GET_SECURITY_FINDINGS,
        arguments={"region": region, "service": source, "max_findings": 100},
        purpose=f"{source} findings in {region}",
    )
    results = await ctx.orchestrator.execute_parallel_calls([call], ctx.deadline)
    account = next((s.account_id for s in await _recent(ctx, 1)), None) or "unknown"
    findings, degraded = normalise_security_server(results, account)
    if degraded and not findings:
        first = degraded[0]
        raise DependencyFailed(first.server, first.reason, first.error_kind)
    kept = sorted((f for f in findings if f.severity.rank >= threshold), key=lambda f: (-f.severity.rank, f.control_id))
    engine = AnswerEngine()
    cards = [engine.finding_card(f) for f in kept]
    envelope: dict[str, Any] = {
        "source": source,
        "region": region,
        "total": len(cards),
        "data_notice": DATA_NOTICE,
    }
    pages = paginate(cards, list_budget(_wrapped(envelope), ctx.budget))
    start, end = pages[0]
    body = {**envelope, "findings": cards[start:end]}
    summary = f"{len(kept)} {source} findings in {region}" + (
        f" at {min_severity.upper()} or above" if min_severity else ""
    )
    if end < len(cards):
        body["more"] = f"{len(cards) - end} more findings not shown; narrow with min_severity"
        summary += f"; the {end} most severe are shown"
    return AgentAnswer(summary=summary + ".", data=body, degraded=degraded)


async def documentation(ctx: OperationContext, query: str) -> AgentAnswer:
    hits = await _search_hits(ctx, query, 6)
    if not hits:
        summary = f"No AWS documentation matched {query!r}."
    else:
        summary = f"{len(hits)} AWS documentation pages for {query!r}; the best match is {hits[0].link.title}."
    return AgentAnswer(
        summary=summary,
        data={
            "results": [{"rank": h.rank, "title": h.link.title, "url": h.link.url, "context": h.context} for h in hits]
        },
        documentation=[h.link for h in hits],
        degraded=ctx.notes,
    )


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


async def _assess(ctx: OperationContext, request: AssessmentRequest) -> SecurityAssessment:
    result = await run_assessment(
        ctx.orchestrator,
        request,
        ctx.deadline,
        direct=ctx.direct,
        use_direct_fallback=ctx.config.features.direct_api_fallback,
    )
    await _save(ctx, result, request)
    return result


async def _save(ctx: OperationContext, assessment: SecurityAssessment, request: AssessmentRequest) -> None:
    """Keep the assessment with the session (off the event loop: the store is synchronous I/O)."""
    ctx.session_updates["last_assessment_id"] = assessment.assessment_id
    if ctx.sessions is None:
        return
    sessions = ctx.sessions
    try:
        await asyncio.to_thread(sessions.save_assessment, ctx.session_id, assessment)
        await asyncio.to_thread(
            sessions.update_facts,
            ctx.session_id,
            {
                "regions": ",".join(request.regions),
                "services": ",".join(request.services or ()),
                "last_assessment_id": assessment.assessment_id,
            },
        )
    except AgentError as exc:
        ctx.notes.append(
            DegradedSource(server="sessions", reason=f"history not saved: {exc.message}", error_kind=exc.kind)
        )


async def _recent(ctx: OperationContext, count: int, excluding: Collection[str] = ()) -> list[SecurityAssessment]:
    if ctx.sessions is None:
        return []
    try:
        return await asyncio.to_thread(ctx.sessions.latest_assessments, ctx.session_id, count, excluding)
    except AgentError as exc:
        ctx.notes.append(
            DegradedSource(server="sessions", reason=f"history unavailable: {exc.message}", error_kind=exc.kind)
        )
        return []


async def _latest_comprehensive(ctx: OperationContext) -> SecurityAssessment | None:
    """The session's latest assessment of every service (a framework needs them all)."""
    return next((a for a in await _recent(ctx, 5) if a.services is None), None)


async def _previous(ctx: OperationContext, current: SecurityAssessment) -> SecurityAssessment | None:
    previous = await _recent(ctx, 1, excluding={current.assessment_id})
    return previous[0] if previous else None


def _only_resource(assessment: SecurityAssessment, resource: str) -> SecurityAssessment:
    def matches(finding: Finding) -> bool:
        return resource in (finding.resource_id, finding.resource_arn) or (
            finding.resource_arn is not None and finding.resource_arn.endswith(resource)
        )

    return assessment.model_copy(
        update={
            "findings": [f for f in assessment.findings if matches(f)],
            "prioritized": [p for p in assessment.prioritized if matches(p.finding)],
        }
    )


def _in_framework(finding: Finding, controls: frozenset[str]) -> bool:
    return finding.control_id in controls


def _all_cards(engine: AnswerEngine, assessment: SecurityAssessment) -> list[dict[str, Any]]:
    ranked = [engine.finding_card(p.finding, p.priority, p.reasons) for p in assessment.prioritized]
    ranked_ids = {card["finding_id"] for card in ranked}
    rest = [engine.finding_card(f) for f in assessment.findings if f.finding_id not in ranked_ids]
    return ranked + rest


def _paged(
    ctx: OperationContext, answer: AgentAnswer, extras: dict[str, Any], stored: SecurityAssessment
) -> AgentAnswer:
    """Put the first page of findings in the answer; the rest stays with the stored report."""
    engine = AnswerEngine()
    docs_by_control = {
        card["control_id"]: card.get("docs", []) for card in answer.data.get("findings", []) if card.get("docs")
    }
    cards = [
        {**card, "docs": docs_by_control.get(card["control_id"], card.get("docs", []))}
        for card in _all_cards(engine, stored)
    ]
    failing_cards = [c for c in cards if c["status"] == FindingStatus.FAIL.value]
    envelope = {**{k: v for k, v in answer.data.items() if k != "findings"}, **extras}
    envelope = shrink_to_fit(envelope, ctx.budget // 2, ("not_assessed", "action_plan", "top_risks"))
    docs = [d.model_dump() for d in answer.documentation]
    pages = paginate(failing_cards, list_budget(_wrapped(envelope, docs, answer.summary), ctx.budget))
    start, end = pages[0]
    data = {**envelope, "findings": failing_cards[start:end]}
    summary = answer.summary
    if len(pages) > 1:
        data["paging"] = {
            "page": 1,
            "pages": len(pages),
            "shown": f"{end} of {len(failing_cards)} failing findings, most urgent first",
            "next": f"GET /security/reports/{stored.assessment_id}?page=2",
        }
        summary += (
            f" {len(failing_cards) - end} more failing findings are in the stored report: ask for page 2 of "
            f"report {stored.assessment_id}."
        )
    passed = sum(1 for c in cards if c["status"] == FindingStatus.PASS.value)
    data["counts_by_status"] = {
        "FAIL": len(failing_cards),
        "PASS": passed,
        "other": len(cards) - len(failing_cards) - passed,
    }
    # the route fits the whole answer to the budget (`fit_answer`) once more before it leaves
    return answer.model_copy(update={"summary": summary, "data": data, "degraded": [*answer.degraded, *ctx.notes]})


async def _knowledge_docs(ctx: OperationContext, assessment: SecurityAssessment) -> dict[str, list[DocumentationLink]]:
    """Official documentation for the top failing controls, asked of the Knowledge server at once."""
    controls: list[Finding] = []
    seen: set[str] = set()
    for item in assessment.prioritized:
        if item.finding.control_id not in seen:
            seen.add(item.finding.control_id)
            controls.append(item.finding)
        if len(controls) == KNOWLEDGE_LOOKUPS:
            break
    searches = await asyncio.gather(*(_search(ctx, f"{f.control_id} {f.title}", 2) for f in controls))
    return {finding.control_id: links for finding, links in zip(controls, searches, strict=True)}


async def _search(ctx: OperationContext, phrase: str, limit: int) -> list[DocumentationLink]:
    return [hit.link for hit in await _search_hits(ctx, phrase, limit)]


async def _search_hits(ctx: OperationContext, phrase: str, limit: int) -> list[knowledge_server.SearchResult]:
    call = knowledge_server.search_call(phrase, limit)
    [result] = await ctx.orchestrator.execute_parallel_calls([call], ctx.deadline)
    if not result.ok:
        ctx.notes.append(
            DegradedSource(
                server=knowledge_server.SERVER,
                reason=f"documentation search failed ({result.error_message}); catalogue links are used instead",
                error_kind=result.error_kind,
            )
        )
        return []
    try:
        return knowledge_server.parse_search(result.payload, source=result.call.server)
    except ServerFailure as exc:
        ctx.notes.append(DegradedSource(server=knowledge_server.SERVER, reason=exc.message))
        return []


def _wrapped(data: dict[str, Any], documentation: list[Any] | None = None, summary: str = "") -> dict[str, Any]:
    """The answer around a list, as it will be serialised: summary (with room for the paging
    sentence), data, documentation and degraded notes all count against the budget."""
    return {"summary": summary + " " * 300, "data": data, "documentation": documentation or [], "degraded": []}


def _pct(value: float | None) -> str:
    return "n/a (no data)" if value is None else f"{value:.0f}%"
