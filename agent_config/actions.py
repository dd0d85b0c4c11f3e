"""One function per action-group operation: what the user asked, as a typed request, answered.

The handler has already validated the input; these functions plan the tool calls, run them through
the orchestrator under the request's deadline, and hand the results to the response layer. They
know nothing of Bedrock's event format. Each returns an `AgentAnswer` whose `data` fits the byte
budget; what does not fit is kept with the session's stored report and paged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from agent_config.assessment import normalise_security_server, run_assessment
from agent_config.checks.catalogue import load_framework
from agent_config.config import AgentConfig
from agent_config.integrations import knowledge_server, security_server
from agent_config.integrations.direct_api import DirectApi
from agent_config.interfaces import (
    ActionPlan,
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
from agent_config.orchestration.documentation import ScopeDocumentation, document_answer, look_up, search_notes
from agent_config.orchestration.planner import AssessmentRequest, parse_request
from agent_config.response.budget import list_budget, paginate, shrink_to_fit, size_of
from agent_config.response.engine import PLAN_NOTE, AnswerEngine
from agent_config.response.engine import _brief as brief_change  # the one wording of a change
from agent_config.response.neutralize import DATA_NOTICE
from agent_config.response.scoring import control_statuses
from agent_config.response.service_status import render_health, render_service_status
from agent_config.session.errors import (
    SESSION_STORE_SOURCE,
    SessionError,
    SessionStoreTimedOut,
    SessionStoreUnavailable,
    unavailable,
)
from agent_config.session.models import FindingChanges, FindingFingerprint
from agent_config.utils.error_handling import AgentError, DependencyFailed, InvalidInput, ServerFailure

SESSION_CALL_MAX_S = 5.0
"""Longest one session-store call may hold a turn up: history helps an answer, it must not stop it
(a dead endpoint costs botocore ~2 s per connect attempt, three attempts)."""
SESSION_CALL_RESERVE_S = 1.0
"""Kept back from the request's deadline for building the answer after a session-store call."""

T = TypeVar("T")


class AssessmentKeeper(Protocol):
    """Where a session's assessments are kept between turns (see `agent_config.session`)."""

    def save_assessment(
        self, session_id: str, assessment: SecurityAssessment, facts: Mapping[str, str] | None = None
    ) -> None: ...

    def load_assessment(self, session_id: str, assessment_id: str) -> SecurityAssessment | None: ...

    def latest_assessments(
        self,
        session_id: str,
        count: int,
        excluding: Collection[str] = (),
        on_unreadable: Callable[[str, SessionError], None] | None = None,
        *,
        every_service_only: bool = False,
    ) -> list[SecurityAssessment]: ...

    def changes_since_previous(
        self,
        session_id: str,
        current: SecurityAssessment,
        previous_filter: Callable[[FindingFingerprint], bool] | None = None,
    ) -> FindingChanges: ...

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
    facts_to_save: dict[str, str] = field(default_factory=dict)
    """Conversation facts this turn established, written with the assessment if one is saved."""
    session_failure: SessionError | None = None
    """The session store's first failure in this turn; once it is unavailable it is not asked again."""

    @property
    def budget(self) -> int:
        return self.config.max_response_bytes


# ---------------------------------------------------------------------------------------------
# Health and service status
# ---------------------------------------------------------------------------------------------


async def health(orchestrator: MCPOrchestrator, deadline: Deadline | None = None) -> AgentAnswer:
    """Every server's health, within the request's `deadline` when one is given.

    `/health` is asked when something is wrong, so a hanging server must cost its own entry (it is
    reported timed out), not the whole answer.
    """
    return render_health(await orchestrator.health_check_all(deadline))


async def security_services(
    orchestrator: MCPOrchestrator,
    deadline: Deadline,
    region: str,
    *,
    direct: DirectApi | None = None,
    use_direct_fallback: bool = True,
) -> AgentAnswer:
    """Status of GuardDuty, Inspector, Access Analyzer, Security Hub, Trusted Advisor and Macie.

    When the Security server gives no answer (disabled, as in the default deploy; unreachable; its
    breaker open), the same facts, and AWS Config recording, are read directly with the function's
    role (`direct_security`, with `direct`'s clients when given) and the answer says so. Raises
    `DependencyFailed` when the Security server gave no usable answer and that fallback is off.
    """
    call = security_server.check_security_services_call(region)
    [result] = await orchestrator.execute_parallel_calls([call], deadline)
    if not result.ok:
        if use_direct_fallback:
            from agent_config.integrations.direct_security import read_directly_note

            return await _services_read_directly(region, deadline, direct, read_directly_note(result))
        raise DependencyFailed(security_server.SERVER, result.error_message or "no answer", result.error_kind)
    try:
        statuses = security_server.parse_service_statuses(result.payload, region)
    except ServerFailure as exc:
        raise DependencyFailed(security_server.SERVER, exc.message) from exc
    degraded = [
        DegradedSource(server=security_server.SERVER, reason=f"{s.service}: {s.error}") for s in statuses if s.error
    ]
    return render_service_status(region, statuses, degraded)


async def _services_read_directly(
    region: str, deadline: Deadline, direct: DirectApi | None, why: DegradedSource
) -> AgentAnswer:
    """`security_services` from boto3: the same statuses, rendered the same way, with `why` they were
    read directly and a note for each service that could not be read."""
    from agent_config.integrations.direct_security import DirectSecurity

    statuses = await DirectSecurity(direct.client if direct is not None else None).service_statuses(region, deadline)
    note = why.model_copy(update={"reason": f"{why.reason}; AWS Trusted Advisor is not read on this path"})
    degraded = [note, *(DegradedSource(server=security_server.SERVER, reason=s.error) for s in statuses if s.error)]
    return render_service_status(region, statuses, degraded)


# ---------------------------------------------------------------------------------------------
# Assessments
# ---------------------------------------------------------------------------------------------


async def assessment(ctx: OperationContext, regions: Sequence[str], services: Sequence[str] | None) -> AgentAnswer:
    """A comprehensive (or service-limited) assessment: prioritised findings, scores, plan, changes."""
    scope, scope_note = await _scope_regions(ctx, regions)
    request = parse_request(scope, list(services) if services else None)
    current, docs = await _assess_with_documentation(ctx, request)
    changes = await _changes(ctx, current)
    engine = AnswerEngine()
    answer = engine.transform_multi_source_response(current)
    answer = document_answer(engine, answer, docs, current)
    plan = engine.generate_action_plan(current.prioritized)
    extras = {"changes_since_previous": changes, **plan_extras(plan, "action_plan", MAX_PLAN_STEPS)}
    return _paged(ctx, *_with_scope_note(answer, extras, scope_note), current)


async def service_analysis(
    ctx: OperationContext, service: str, region: str | None, resource: str | None
) -> AgentAnswer:
    """One service's controls in one Region (or every resource of it): status per control and fixes."""
    regions, scope_note = await _scope_regions(ctx, [region] if region else [])
    request = parse_request(regions, [service])
    current, docs = await _assess_with_documentation(ctx, request)
    if resource:
        current = _only_resource(current, resource)
    changes = await _changes(ctx, current, resource)
    engine = AnswerEngine()
    answer = engine.transform_multi_source_response(current)
    answer = document_answer(engine, answer, docs, current)
    best_practices = docs.service_links(service, 3)
    statuses = control_statuses(current.findings)
    extras: dict[str, Any] = {
        "service": service,
        "changes_since_previous": changes,
        "controls": {control: status.value for control, status in sorted(statuses.items())},
        "best_practices": [link.model_dump() for link in best_practices],
        **plan_extras(
            engine.generate_action_plan(current.prioritized),
            "remediation_steps",
            MAX_SERVICE_STEPS,
            console_steps=4,
            cli_commands=3,
        ),
    }
    if resource and not current.findings:
        extras["resource_note"] = "no finding matched that resource name or id in this service and Region"
    return _paged(ctx, *_with_scope_note(answer, extras, scope_note), current, whole_report=not resource)


async def compliance(ctx: OperationContext, framework: str) -> AgentAnswer:
    """Alignment with a framework: requirements passed, failed, without data, not assessable."""
    definition = load_framework(framework)
    ctx.facts_to_save["framework"] = framework  # the last framework asked about, for later turns
    current = await _latest_comprehensive(ctx) or await _assess(
        ctx, parse_request(list(ctx.config.default_regions), None)
    )
    await _save_facts(ctx)  # already written if an assessment was saved: then this writes nothing
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
        "roadmap": [{**engine.step_card(s), "docs": [d.url for d in s.documentation]} for s in plan.steps],
        "plan_note": PLAN_NOTE,
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
    return AgentAnswer(summary=summary, data=body, documentation=docs, degraded=[*current.degraded, *ctx.notes])


async def remediation(ctx: OperationContext, finding_id: str) -> AgentAnswer:
    """The full remediation plan for one finding of the session's latest assessments."""
    for stored in await _recent(ctx, 5, answer_needs_it=True):
        for finding in stored.findings:
            if finding.finding_id == finding_id:
                return await _remediation_answer(ctx, finding, stored)
    _raise_if_history_missing(ctx)
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
        degraded=ctx.notes,
    )


async def report_page(ctx: OperationContext, assessment_id: str, page: int) -> AgentAnswer:
    """A page of a stored assessment's findings (every finding on exactly one page)."""
    stored = await _with_sessions(
        ctx, lambda sessions: sessions.load_assessment(ctx.session_id, assessment_id), None, answer_needs_it=True
    )
    if stored is None:
        _raise_if_history_missing(ctx)
        raise InvalidInput(
            f"No stored assessment {assessment_id} in this session (reports expire with the session). "
            "Run a new assessment."
        )
    report = _report_pages(stored, ctx.budget)
    if page > report.pages:
        raise InvalidInput(f"Report {assessment_id} has {report.pages} page(s); ask for page 1 to {report.pages}.")
    start, end = report.bounds[page - 1]
    total = len(report.cards)
    body = {
        **_page_envelope(assessment_id, page, report.pages),
        "findings": report.cards[start:end],
        "items": f"{start + 1}-{end} of {total}" if end > start else f"none of {total}",
    }
    if end > start:
        note = f"Page {page} of {report.pages}: findings {start + 1} to {end} of {total}."
    else:  # only a report without any finding has an empty page (its only one)
        note = f"Page {page} of {report.pages}: the report holds no finding."
    if page < report.pages:
        note += f" Ask for page {page + 1} for more."
    return AgentAnswer(summary=note, data=body)


async def executive_summary(ctx: OperationContext) -> AgentAnswer:
    """The session's posture for stakeholders, and what changed before it.

    Stakeholders ask about the account, not the last service someone looked at: the latest
    comprehensive assessment is summarised when the session has one (a later one-service analysis
    would otherwise speak for the whole account), else the latest assessment, and `scope` says which.
    """
    current = await _latest_comprehensive(ctx, answer_needs_it=True) or next(
        iter(await _recent(ctx, 1, answer_needs_it=True)), None
    )
    if current is None:
        _raise_if_history_missing(ctx)
        raise InvalidInput("This session has no assessment yet. Run one first (GET /security/assessment).")
    changes = await _changes(ctx, current)
    engine = AnswerEngine()
    summary = current.summary
    plan = engine.generate_action_plan(current.prioritized)
    body = {
        "assessment_id": current.assessment_id,
        "assessed_at": current.created_at.isoformat(),
        "regions": current.regions,
        "scope": "every service" if current.services is None else ", ".join(current.services),
        "posture": summary.posture if summary else "",
        "top_risks_in_business_terms": summary.top_risks if summary else [],
        "counts_by_severity": {k.value: v for k, v in summary.counts_by_severity.items()} if summary else {},
        "scores": {s.name: {"value": s.value, "formula": s.formula} for s in current.scores},
        "frameworks": {f.framework: f.score.value for f in current.frameworks},
        "changes_since_previous": changes,
        **plan_extras(plan, "next_steps", MAX_SUMMARY_STEPS),
        "not_assessed": (summary.not_assessed if summary else [])[:10],
    }
    body = shrink_to_fit(body, ctx.budget - 1000, ("not_assessed", "next_steps"))
    degraded = [*current.degraded, *ctx.notes]
    return AgentAnswer(summary=summary.posture if summary else "", data=body, degraded=degraded)


# ---------------------------------------------------------------------------------------------
# Findings from the security services, and documentation
# ---------------------------------------------------------------------------------------------


async def security_findings(ctx: OperationContext, source: str, min_severity: str | None, region: str) -> AgentAnswer:
    """One security service's current findings in one Region, most severe first.

    From the Security server; when it gives no answer (disabled, as in the default deploy;
    unreachable; its breaker open) and `features.direct_api_fallback` is on, read directly with the
    function's role (`direct_security`) and the answer says so.
    """
    call = ToolCall(
        server=security_server.SERVER,
        tool=security_server.GET_SECURITY_FINDINGS,
        arguments={"region": region, "service": source, "max_findings": 100},
        purpose=f"{source} findings in {region}",
    )
    results = await ctx.orchestrator.execute_parallel_calls([call], ctx.deadline)
    no_facts: dict[str, str] = {}
    facts = await _with_sessions(ctx, lambda sessions: sessions.facts(ctx.session_id), no_facts)
    account = facts.get("account_id") or "unknown"  # the findings' own account ids come first
    if not results[0].ok and ctx.config.features.direct_api_fallback:
        from agent_config.integrations.direct_security import read_directly_note

        why = read_directly_note(results[0])
        return await _findings_read_directly(ctx, source, min_severity, region, account, why)
    findings, degraded = normalise_security_server(results, account)
    if degraded and not findings:
        first = degraded[0]
        raise DependencyFailed(first.server, first.reason, first.error_kind)
    return _findings_answer(ctx, source, min_severity, region, findings, degraded)


async def _findings_read_directly(
    ctx: OperationContext, source: str, min_severity: str | None, region: str, account: str, why: DegradedSource
) -> AgentAnswer:
    """`security_findings` from boto3. A service that is off answers 200 (it has nothing to report,
    and the setup guide is linked); a read that got nothing at all (every call denied, say) is a
    failed dependency, as when the Security server answers nothing usable."""
    from agent_config.integrations.direct_security import LABELS, SETUP, DirectSecurity

    threshold = Severity.parse(min_severity) if min_severity else Severity.INFORMATIONAL
    reader = DirectSecurity(ctx.direct.client if ctx.direct is not None else None)
    read = await reader.findings(source, region, threshold, ctx.deadline, account)
    notes = [why, *(DegradedSource(server=why.server, reason=n.reason, error_kind=n.kind) for n in read.notes)]
    if read.not_enabled is not None:
        answer = _findings_answer(ctx, source, min_severity, region, [], notes)
        docs = [DocumentationLink(title=f"Set up {LABELS[source]}", url=SETUP[source])] if source in SETUP else []
        return answer.model_copy(
            update={
                "summary": f"{read.not_enabled}, so it has no findings to report.",
                "data": {**answer.data, "enabled": False},
                "documentation": docs,
            }
        )
    if not read.answered and not read.findings:
        cause = notes[1] if len(notes) > 1 else why
        raise DependencyFailed(why.server, f"{cause.reason} ({why.reason})", cause.error_kind)
    return _findings_answer(ctx, source, min_severity, region, read.findings, notes)


def _findings_answer(
    ctx: OperationContext,
    source: str,
    min_severity: str | None,
    region: str,
    findings: Sequence[Finding],
    degraded: list[DegradedSource],
) -> AgentAnswer:
    """The findings at `min_severity` or above as cards, most severe first, the first page in the answer."""
    threshold = Severity.parse(min_severity).rank if min_severity else Severity.INFORMATIONAL.rank
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


async def _assess_with_documentation(
    ctx: OperationContext, request: AssessmentRequest
) -> tuple[SecurityAssessment, ScopeDocumentation]:
    """The assessment, and the documentation for its scope searched at the same time.

    The searches depend on the scope only, so they run while the evidence is collected and the
    answer waits for the slower of the two, not for both in turn. Their notes (the Knowledge server
    failed, or its offline fallback answered) join the answer's `degraded`.
    """
    searches = asyncio.create_task(look_up(ctx.orchestrator, request, ctx.deadline))
    try:
        current = await _assess(ctx, request)
    except BaseException:
        searches.cancel()  # the answer is an error now: nothing will read the documentation
        raise
    docs = await searches
    ctx.notes.extend(note for note in docs.notes if note not in ctx.notes)
    return current, docs


async def _with_sessions(
    ctx: OperationContext, call: Callable[[AssessmentKeeper], T], default: T, *, answer_needs_it: bool = False
) -> T:
    """One call to the session store, off the event loop (boto3 is synchronous), or `default`.

    History helps an answer but must never stop or delay it, so the call is bounded by what is left
    of the request's deadline (less a reserve for building the answer, unless `answer_needs_it`:
    an answer that is nothing but history cannot be built without it anyway), and a failure
    becomes the answer's "answered without session history, because ..." note
    (`SessionError.as_degraded()`: the reason in plain words, never the store's message, which can
    carry the endpoint URL and the table name). The first failure is remembered: a store found
    unavailable is not asked again in the same turn, so a dead DynamoDB costs one timeout per
    turn, not one per call.
    """
    failure = ctx.session_failure
    if ctx.sessions is None or isinstance(failure, SessionStoreUnavailable):
        return default
    sessions = ctx.sessions
    reserve = 0.0 if answer_needs_it else SESSION_CALL_RESERVE_S
    budget = min(SESSION_CALL_MAX_S, ctx.deadline.remaining() - reserve)
    error: SessionError
    if budget <= 0:
        error = SessionStoreTimedOut("no time left in the request for the session store")
    else:
        try:
            return await asyncio.wait_for(asyncio.to_thread(call, sessions), budget)
        except TimeoutError:  # the worker thread finishes on its own; the answer does not wait for it
            error = SessionStoreTimedOut(f"session store call abandoned after {budget:.1f} s (request deadline)")
        except SessionError as exc:
            error = exc
        except AgentError as exc:  # e.g. an id the table cannot key: no history, but still an answer
            error = unavailable(exc, "session call")
    if failure is None:
        ctx.session_failure = error
    note = error.as_degraded()
    if note not in ctx.notes:
        ctx.notes.append(note)
    return default


def _raise_if_history_missing(ctx: OperationContext) -> None:
    """For answers that are nothing but history: say the store failed, not "no assessment yet".

    Raised with the failure's plain reason only, for the same reason as the degraded note.
    """
    failure = ctx.session_failure
    if failure is not None:
        raise type(failure)(f"The session history could not be read, because {failure.reason}.", reason=failure.reason)


async def _save(ctx: OperationContext, assessment: SecurityAssessment, request: AssessmentRequest) -> None:
    """Keep the assessment with the session, with the facts it establishes, in one write."""
    ctx.session_updates["last_assessment_id"] = assessment.assessment_id
    facts = {
        "regions": ",".join(request.regions),
        "services": ",".join(request.services or ()),
        **({"account_id": assessment.account_id} if assessment.account_id != "unknown" else {}),
        **ctx.facts_to_save,
    }

    def save(sessions: AssessmentKeeper) -> bool:
        sessions.save_assessment(ctx.session_id, assessment, facts)
        return True

    if await _with_sessions(ctx, save, False):
        ctx.facts_to_save.clear()


async def _save_facts(ctx: OperationContext) -> None:
    """Write the facts of this turn not yet written with an assessment (a turn that only read)."""
    facts = dict(ctx.facts_to_save)
    if not facts:
        return

    def update(sessions: AssessmentKeeper) -> bool:
        sessions.update_facts(ctx.session_id, facts)
        return True

    if await _with_sessions(ctx, update, False):
        ctx.facts_to_save.clear()


async def _recent(
    ctx: OperationContext,
    count: int,
    excluding: Collection[str] = (),
    *,
    answer_needs_it: bool = False,
    every_service_only: bool = False,
) -> list[SecurityAssessment]:
    """The session's newest assessments (of every service only, when asked: chosen from the
    summaries, so no other report is read); one whose stored report is unreadable is skipped and noted."""
    unreadable: list[DegradedSource] = []

    def skipped(assessment_id: str, error: SessionError) -> None:
        reason = f"stored assessment {assessment_id} was left out of the history, because {error.reason}"
        unreadable.append(DegradedSource(server=SESSION_STORE_SOURCE, reason=reason, error_kind=error.kind))

    none: list[SecurityAssessment] = []
    recent = await _with_sessions(
        ctx,
        lambda sessions: sessions.latest_assessments(
            ctx.session_id, count, excluding, skipped, every_service_only=every_service_only
        ),
        none,
        answer_needs_it=answer_needs_it,
    )
    ctx.notes.extend(note for note in unreadable if note not in ctx.notes)
    return recent


async def _latest_comprehensive(ctx: OperationContext, *, answer_needs_it: bool = False) -> SecurityAssessment | None:
    """The session's latest assessment of every service (a framework needs them all)."""
    return next(iter(await _recent(ctx, 1, answer_needs_it=answer_needs_it, every_service_only=True)), None)


async def _scope_regions(ctx: OperationContext, asked: Sequence[str]) -> tuple[list[str], str | None]:
    """The Regions to assess, and a note when they come from the conversation rather than the request.

    Regions asked for win; without them the Regions this conversation last assessed are used
    ("and now check S3" after assessing eu-west-1 means eu-west-1), and only then the configured
    defaults. The note says so in the answer, so the user knows how to change it.
    """
    if asked:
        return list(asked), None
    no_facts: dict[str, str] = {}
    facts = await _with_sessions(ctx, lambda sessions: sessions.facts(ctx.session_id), no_facts)
    earlier = [region for region in facts.get("regions", "").split(",") if region]
    defaults = list(ctx.config.default_regions)
    if not earlier or earlier == defaults:  # nothing the conversation chose: no note to make
        return defaults, None
    note = f"Regions {', '.join(earlier)} were taken from earlier in this conversation; name Regions to change them."
    return earlier, note


def _with_scope_note(
    answer: AgentAnswer, extras: dict[str, Any], note: str | None
) -> tuple[AgentAnswer, dict[str, Any]]:
    if note is None:
        return answer, extras
    return answer.model_copy(update={"summary": f"{answer.summary} {note}"}), {**extras, "scope_note": note}


async def _changes(ctx: OperationContext, current: SecurityAssessment, resource: str | None = None) -> dict[str, Any]:
    """What changed since the session's previous assessment, for the answer.

    Computed from the fingerprints stored with the previous assessment, so a turn never reads its
    report (possibly megabytes). With `resource`, `current` is already narrowed to it and only the
    previous fingerprints of that resource are compared.
    """
    keep = _previous_of_resource(current, resource) if resource else None
    changes = await _with_sessions(
        ctx, lambda sessions: sessions.changes_since_previous(ctx.session_id, current, keep), None
    )
    if changes is None or changes.previous_assessment_id is None:
        return {"first_assessment_in_session": True}
    return {
        "previous_assessment_id": changes.previous_assessment_id,
        "previous_at": changes.previous_created_at.isoformat() if changes.previous_created_at else None,
        "new": [brief_change(f) for f in changes.new],
        "resolved": [brief_change(f) for f in changes.resolved],
        "persisting": len(changes.persisting),
        "not_reassessed": [brief_change(f) for f in changes.not_reassessed],
    }


def _previous_of_resource(current: SecurityAssessment, resource: str) -> Callable[[FindingFingerprint], bool]:
    """Which previous fingerprints are about `resource`, matched as `_only_resource` matches findings.

    A fingerprint keeps only the ARN (else the id), so it matches when that resource is among the
    current findings for `resource`, or (a resource deleted since) is the resource itself or an ARN
    whose last component it is.
    """
    seen_now = {finding.key[1] for finding in current.findings}

    def keep(fingerprint: FindingFingerprint) -> bool:
        name = fingerprint.resource
        return name in seen_now or resource in (name, _arn_name(name) if name.startswith("arn:") else None)

    return keep


def _only_resource(assessment: SecurityAssessment, resource: str) -> SecurityAssessment:
    """The findings of one resource, named by its id, its ARN or the ARN's last component.

    Matched exactly: a suffix match made `resource=db` select every ARN ending in "db".
    """

    def matches(finding: Finding) -> bool:
        arn = finding.resource_arn
        return resource in (finding.resource_id, arn) or (arn is not None and _arn_name(arn) == resource)

    return assessment.model_copy(
        update={
            "findings": [f for f in assessment.findings if matches(f)],
            "prioritized": [p for p in assessment.prioritized if matches(p.finding)],
        }
    )


def _arn_name(arn: str) -> str:
    """An ARN's last path component: `arn:aws:rds:...:db:acme-db` -> `acme-db`, `...:user/ops/ana` -> `ana`."""
    return arn.replace("/", ":").rsplit(":", 1)[-1]


def _in_framework(finding: Finding, controls: frozenset[str]) -> bool:
    return finding.control_id in controls


MAX_PLAN_STEPS = 10
"""Plan steps a comprehensive assessment shows (most urgent first); the rest are counted in `omitted`."""
MAX_SERVICE_STEPS = 6
"""Remediation steps a service analysis shows, each with up to 4 console steps and 3 CLI commands."""
MAX_SUMMARY_STEPS = 5
"""Next steps an executive summary shows."""


def plan_extras(
    plan: ActionPlan, key: str, shown: int, *, console_steps: int = 0, cli_commands: int = 0
) -> dict[str, Any]:
    """The plan's first `shown` steps under `key`, each whole (`AnswerEngine.step_card`), with
    `PLAN_NOTE` once; the steps left out are counted in `omitted[key]`, never dropped silently.

    Budget trimming later cuts the list by whole steps from its tail and adds to the same count.
    """
    cards = [
        AnswerEngine.step_card(step, console_steps=console_steps, cli_commands=cli_commands)
        for step in plan.steps[:shown]
    ]
    extras: dict[str, Any] = {key: cards, "plan_note": PLAN_NOTE}
    if len(plan.steps) > shown:
        extras["omitted"] = {key: len(plan.steps) - shown}
    return extras


def _all_cards(engine: AnswerEngine, assessment: SecurityAssessment) -> list[dict[str, Any]]:
    ranked = [engine.finding_card(p.finding, p.priority, p.reasons) for p in assessment.prioritized]
    ranked_ids = {card["finding_id"] for card in ranked}
    rest = [engine.finding_card(f) for f in assessment.findings if f.finding_id not in ranked_ids]
    return ranked + rest


FIRST_PAGE_SHARE = 0.45
"""Share of `max_response_bytes` that page 1 of a report (the most urgent findings, which the first
answer carries) may take; the rest of that answer is the posture, scores, plan and documentation."""
ANSWER_SLACK_BYTES = 1_000
"""Kept free under the budget by a paged answer, so the route's final `fit_answer` (which keeps 200
bytes back for Bedrock's envelope) never trims it: a page-1 finding it cut would be counted in the
answer but on no page."""
MAX_DEGRADED_NOTES = 5
"""Degraded notes a paged answer keeps (as `fit_answer` would); the others are counted in `omitted`."""
TRIM_AROUND_FINDINGS: tuple[tuple[str, ...], ...] = (
    ("data", "not_assessed"),
    ("documentation",),
    ("data", "changes_since_previous", "not_reassessed"),
    ("data", "action_plan"),
    ("data", "remediation_steps"),
    ("data", "top_risks"),
    ("data", "best_practices"),
    ("data", "changes_since_previous", "new"),
    ("data", "changes_since_previous", "resolved"),
)
"""What gives way, least useful first, when a first answer does not fit with page 1 whole. The
answer's documentation list repeats the findings' own links, with titles; plans are cut from their
least urgent steps; new findings also stand in the findings themselves; what was resolved since
the last assessment is said nowhere else, so it goes last."""


@dataclass(frozen=True)
class _ReportPages:
    """A stored report's findings as cards, cut into pages from the report alone.

    The first answer and `report_page` both derive the pages here, so "ask for page 2" continues
    exactly where the first answer stopped, and a page asked for twice holds the same findings.
    Cards run in priority order (failing findings by rank, then passing, not applicable and not
    assessed); page 1 is the first of them that fit `FIRST_PAGE_SHARE` of the budget (what the
    first answer shows), pages 2.. the rest, each filling a report page.
    """

    cards: list[dict[str, Any]]
    bounds: list[tuple[int, int]]
    failing: int

    @property
    def pages(self) -> int:
        return len(self.bounds)


def _report_pages(stored: SecurityAssessment, budget: int) -> _ReportPages:
    cards = _all_cards(AnswerEngine(), stored)
    failing = next((i for i, card in enumerate(cards) if card["status"] != FindingStatus.FAIL.value), len(cards))
    first_end = _first_page_end(cards, int(budget * FIRST_PAGE_SHARE))
    bounds = [(0, first_end)]
    if first_end < len(cards):
        rest = paginate(cards[first_end:], list_budget(_wrapped(_page_envelope(stored.assessment_id)), budget))
        bounds += [(first_end + start, first_end + end) for start, end in rest]
    return _ReportPages(cards=cards, bounds=bounds, failing=failing)


def _first_page_end(cards: Sequence[dict[str, Any]], budget: int) -> int:
    """Where `paginate(cards, budget)`'s first page ends, without measuring the cards after it
    (every report page recomputes this: thousands of cards would be serialised for nothing)."""
    end, used = 0, 1  # as `paginate`: the list's brackets, then each card and its comma
    for card in cards:
        used += size_of(card) + 1
        if end and used > budget:
            break
        end += 1
    return end


def _page_envelope(assessment_id: str, page: int = 0, pages: int = 0) -> dict[str, Any]:
    """A report page's body around its findings (measured with page 0 so boundaries never depend
    on the page asked for)."""
    return {"assessment_id": assessment_id, "page": page, "pages": pages, "findings": [], "data_notice": DATA_NOTICE}


def _paged(
    ctx: OperationContext,
    answer: AgentAnswer,
    extras: dict[str, Any],
    stored: SecurityAssessment,
    *,
    whole_report: bool = True,
) -> AgentAnswer:
    """Put page 1 of the report's findings in the answer, whole; pages 2.. stay with the stored report.

    Everything around the findings (lists, changes, documentation) gives way first, so the findings
    shown are exactly page 1 and the paging pointer is exact. When not even that leaves room, the
    answer shows no finding and points at page 1. `whole_report` is False for a view narrowed to one
    resource: its cards are not the stored report's, so the pointer leads to the complete report.
    """
    report = _report_pages(stored, ctx.budget)
    knowledge_docs = {card["control_id"]: card["docs"] for card in answer.data.get("findings", []) if card.get("docs")}
    start, end = report.bounds[0]
    page_one = [
        {**card, "docs": knowledge_docs.get(card["control_id"], card.get("docs", []))}
        for card in report.cards[start:end]
    ]
    envelope = {**{k: v for k, v in answer.data.items() if k != "findings"}, **extras}
    statuses = [card["status"] for card in report.cards]
    failed, passed = statuses.count(FindingStatus.FAIL.value), statuses.count(FindingStatus.PASS.value)
    envelope["counts_by_status"] = {"FAIL": failed, "PASS": passed, "other": len(statuses) - failed - passed}
    answer = answer.model_copy(update={"degraded": [*answer.degraded, *ctx.notes]})
    limit = ctx.budget - ANSWER_SLACK_BYTES
    first = _with_findings(answer, envelope, page_one, report, stored.assessment_id, whole_report)
    fitted = _fit_around_findings(first, limit)
    if fitted is None:  # not even a bare answer leaves room for page 1: show none, point at page 1
        bare = _with_findings(answer, envelope, [], report, stored.assessment_id, whole_report)
        fitted = _fit_around_findings(bare, limit) or bare
    # The route fits the answer to the budget once more (`fit_answer`); under `limit` it changes nothing.
    return fitted


def _with_findings(
    answer: AgentAnswer,
    envelope: dict[str, Any],
    shown: list[dict[str, Any]],
    report: _ReportPages,
    assessment_id: str,
    whole_report: bool,
) -> AgentAnswer:
    """The answer showing `shown` (page 1 or nothing), pointing at the page that follows it."""
    data = {**envelope, "findings": shown}
    summary = answer.summary
    failing_shown = min(len(shown), report.failing)  # failing cards come first
    more = report.failing - failing_shown
    if len(shown) < len(report.cards) and not whole_report:
        data["paging"] = {
            "shown": f"{len(shown)} of {len(report.cards)} results for this resource, most urgent first",
            "next": f"GET /security/reports/{assessment_id}?page=1",
            "note": "the stored report holds every resource of this assessment, not only this one",
        }
        if more > 0:
            summary += (
                f" {more} more failing findings for this resource did not fit; report {assessment_id} lists "
                "every resource's findings from page 1."
            )
    elif len(shown) < len(report.cards):
        next_page = 2 if shown else 1
        data["paging"] = {
            "page": 1 if shown else None,
            "pages": report.pages,
            "shown": f"{failing_shown} of {report.failing} failing findings, most urgent first",
            "in_report": len(report.cards),
            "next": f"GET /security/reports/{assessment_id}?page={next_page}",
        }
        if more > 0:
            summary += (
                f" {more} more failing findings are in the stored report: ask for page {next_page} of report "
                f"{assessment_id}."
            )
        else:
            summary += (
                f" The other {len(report.cards) - len(shown)} results (passing, not applicable, not assessed) "
                f"are in the stored report from page {next_page} of report {assessment_id}."
            )
    return answer.model_copy(update={"summary": summary, "data": data})


def _fit_around_findings(answer: AgentAnswer, limit: int) -> AgentAnswer | None:
    """`answer` under `limit` bytes with its findings untouched, trimming `TRIM_AROUND_FINDINGS` from
    their tails (each cut counted in `data.omitted`, as `fit_answer` does); None if that is not enough."""
    body = answer.model_dump(mode="json")  # fresh containers: trimmed in place below
    data = body["data"]
    omitted: dict[str, int] = dict(data.pop("omitted", None) or {})
    if len(body["degraded"]) > MAX_DEGRADED_NOTES:
        omitted["degraded"] = omitted.get("degraded", 0) + len(body["degraded"]) - MAX_DEGRADED_NOTES
        body["degraded"] = body["degraded"][:MAX_DEGRADED_NOTES]

    def size() -> int:
        return size_of({**body, "data": {**data, "omitted": omitted} if omitted else data})

    for path in TRIM_AROUND_FINDINGS:
        container: Any = body
        for key in path[:-1]:
            container = container.get(key) if isinstance(container, dict) else None
        values = container.get(path[-1]) if isinstance(container, dict) else None
        if not isinstance(values, list):
            continue
        excess = size() - limit
        while excess > 0 and values:
            freed, cut = 0, 0  # cut until 64 bytes more than the excess are freed: the `omitted` entry
            while cut < len(values) and freed < excess + 64:
                cut += 1
                freed += size_of(values[-cut]) + 1
            values = values[: len(values) - cut]
            container[path[-1]] = values
            label = ".".join(path[1:]) if path[0] == "data" else path[0]
            omitted[label] = omitted.get(label, 0) + cut
            excess = size() - limit
        if excess <= 0:
            break
    if size() > limit:
        return None
    body["data"] = {**data, "omitted": omitted} if omitted else data
    return AgentAnswer.model_validate(body)


async def _search(ctx: OperationContext, phrase: str, limit: int) -> list[DocumentationLink]:
    return [hit.link for hit in await _search_hits(ctx, phrase, limit)]


async def _search_hits(ctx: OperationContext, phrase: str, limit: int) -> list[knowledge_server.SearchResult]:
    call = knowledge_server.search_call(phrase, limit)
    [result] = await ctx.orchestrator.execute_parallel_calls([call], ctx.deadline)
    ctx.notes.extend(note for note in search_notes(result) if note not in ctx.notes)  # failed, or the fallback answered
    if not result.ok:
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
