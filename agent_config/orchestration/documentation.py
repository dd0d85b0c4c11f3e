"""Documentation for an assessment's scope: searched while the evidence is collected, matched after.

Why a module of its own: the Knowledge server's searches used to wait for the assessment (they
were phrased from its top findings), adding their latency to every answer. What to look up depends
only on the scope, though: the services in it (with their control ids) and the framework. So
`look_up` sends the planner's `documentation_calls` at the same time as the evidence collection,
under the same deadline, and `document_answer` matches the pages once both are in:

- a finding card gets the pages about its own control (`[S3.2] ...`), from any search, before the
  catalogue's links (the answer engine appends those and caps each card);
- the answer's documentation list gets, after the cards' links, the best guide of each service
  with failing findings (most urgent first) and the framework's page. A guide counts for a
  service only if its title names the service (`planner.SERVICE_DOCS`): search engines pad their
  answers with other services' best-practice pages.

Only links a Knowledge server really returned are used (the adapter keeps https links on AWS
documentation hosts). When the Knowledge server fails, every control keeps the catalogue's own
links, and the answer carries one note saying so, not one per search. When its fallback (the
offline server) answered instead, the answer says that too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from agent_config.checks import registry
from agent_config.integrations import knowledge_server
from agent_config.integrations.knowledge_server import SearchResult
from agent_config.interfaces import (
    AgentAnswer,
    DegradedSource,
    DocumentationLink,
    FindingStatus,
    MCPOrchestrator,
    SecurityAssessment,
    ToolResult,
)
from agent_config.orchestration.deadline import Deadline
from agent_config.orchestration.planner import SERVICE_DOCS, AssessmentRequest, documentation_calls, scope_services
from agent_config.response.engine import AnswerEngine
from agent_config.utils.error_handling import ServerFailure

DOCS_PER_CONTROL = 1
"""Knowledge pages matched to one control's card (its own page; the catalogue's links follow)."""
MAX_ANSWER_DOCS = 12
"""The answer's documentation list, as the answer engine caps it."""
SCOPE_DOCS = 3
"""Room kept in that list for the services' guides and the framework's page."""

_CONTROL_TITLE = re.compile(r"^\[([A-Za-z0-9]+\.[0-9]+)\]")
"""Security Hub control pages are titled `[S3.2] ...`."""


@dataclass(frozen=True)
class ScopeDocumentation:
    """The documentation searches of one request: hits per service, the framework's, and notes."""

    by_service: dict[str, list[SearchResult]] = field(default_factory=dict)
    framework: list[SearchResult] = field(default_factory=list)
    notes: list[DegradedSource] = field(default_factory=list)

    def service_links(self, service: str, limit: int) -> list[DocumentationLink]:
        """The best pages found for one service: its guides (pages whose title names it), then
        its control pages, in the search's order."""
        controls = [hit.link for hit in self.by_service.get(service, []) if _control_of(hit) is not None]
        return _distinct([*self._guides(service), *controls])[:limit]

    def for_controls(self, control_ids: Iterable[str]) -> dict[str, list[DocumentationLink]]:
        """Knowledge pages per control: the pages about that control itself, from any search."""
        own: dict[str, list[DocumentationLink]] = {}
        for hit in self._all_hits():
            control = _control_of(hit)
            if control is not None:
                own.setdefault(control, []).append(hit.link)
        return {c: _distinct(own[c])[:DOCS_PER_CONTROL] for c in dict.fromkeys(control_ids) if c in own}

    def scope_links(self, services: Iterable[str]) -> list[DocumentationLink]:
        """The best guide of each of `services` (in that order), then the framework's top page."""
        guides = [links[0] for service in dict.fromkeys(services) if (links := self._guides(service))]
        framework = [hit.link for hit in self.framework if _control_of(hit) is None][:1]
        return _distinct([*guides, *framework])

    def _guides(self, service: str) -> list[DocumentationLink]:
        hits = self.by_service.get(service, [])
        return [hit.link for hit in hits if _control_of(hit) is None and _about(service, hit)]

    def _all_hits(self) -> list[SearchResult]:
        return [hit for hits in self.by_service.values() for hit in hits] + self.framework


async def look_up(orchestrator: MCPOrchestrator, request: AssessmentRequest, deadline: Deadline) -> ScopeDocumentation:
    """Run the scope's documentation searches at once; failures become one degraded note."""
    calls = documentation_calls(request)
    results = await orchestrator.execute_parallel_calls(calls, deadline)
    services = scope_services(request)
    parsed: list[list[SearchResult]] = []
    failures: list[ToolResult] = []
    fallbacks: list[ToolResult] = []
    notes: list[DegradedSource] = []
    for result in results:
        hits, problem = _parse(result)
        parsed.append(hits)
        if problem is not None:
            notes.append(problem)
        elif not result.ok:
            failures.append(result)
        elif result.call.server != knowledge_server.SERVER:
            fallbacks.append(result)
    if failures:
        notes.append(_failure_note(failures, len(results)))
    if fallbacks:
        notes.append(fallback_note(fallbacks[0]))
    return ScopeDocumentation(
        by_service=dict(zip(services, parsed[: len(services)], strict=True)),
        framework=parsed[len(services)] if len(parsed) > len(services) else [],
        notes=_unique(notes),
    )


def document_answer(
    engine: AnswerEngine, answer: AgentAnswer, docs: ScopeDocumentation, assessment: SecurityAssessment
) -> AgentAnswer:
    """`answer` with its cards and its documentation list linked to what the searches found.

    Cards: each control's own page first, then the catalogue's links (`format_with_documentation_links`).
    The list: the cards' links, then the guides of the services with failing findings (most urgent
    first) and the framework's page, within `MAX_ANSWER_DOCS`.
    """
    linked = engine.format_with_documentation_links(
        answer, docs.for_controls(f.control_id for f in assessment.findings)
    )
    failing = [
        owner.SERVICE
        for item in assessment.prioritized
        if item.finding.status is FindingStatus.FAIL and (owner := registry.CONTROL_OWNERS.get(item.finding.control_id))
    ]
    shown = {link.url for link in linked.documentation}
    scope = [link for link in docs.scope_links(failing) if link.url not in shown][:SCOPE_DOCS]
    if not scope:
        return linked
    kept = linked.documentation[: MAX_ANSWER_DOCS - len(scope)]
    return linked.model_copy(update={"documentation": [*kept, *scope]})


def search_notes(result: ToolResult) -> list[DegradedSource]:
    """What one documentation search adds to an answer's `degraded`: its failure (catalogue links
    are used instead) or that the offline fallback answered it; nothing when the server answered."""
    if not result.ok:
        return [_failure_note([result], 1)]
    if result.call.server != knowledge_server.SERVER:
        return [fallback_note(result)]
    return []


def fallback_note(result: ToolResult) -> DegradedSource:
    """The Knowledge server failed and its fallback answered: say so, with the first one's reason."""
    why = result.error_message or f"{knowledge_server.SERVER} did not answer"
    return DegradedSource(
        server=knowledge_server.SERVER,
        reason=f"documentation came from the offline corpus instead of the AWS Knowledge server ({why})",
    )


def _parse(result: ToolResult) -> tuple[list[SearchResult], DegradedSource | None]:
    if not result.ok:
        return [], None
    try:
        return knowledge_server.parse_search(result.payload, source=result.call.server), None
    except ServerFailure as exc:
        return [], DegradedSource(server=knowledge_server.SERVER, reason=exc.message, error_kind=exc.kind)


def _failure_note(failures: Sequence[ToolResult], total: int) -> DegradedSource:
    first = failures[0]
    count = "documentation search failed" if total == 1 else f"{len(failures)} of {total} documentation searches failed"
    return DegradedSource(
        server=knowledge_server.SERVER,
        reason=f"{count} ({first.error_message}); catalogue links are used instead",
        error_kind=first.error_kind,
    )


def _control_of(hit: SearchResult) -> str | None:
    """The control a page is about (`[S3.2] ...`), or None for a general page."""
    match = _CONTROL_TITLE.match(hit.link.title)
    return match.group(1) if match else None


def _about(service: str, hit: SearchResult) -> bool:
    """Whether a page's title names `service` (see `planner.SERVICE_DOCS`)."""
    pattern = SERVICE_DOCS.get(service, (service, re.escape(service)))[1]
    return re.search(pattern, hit.link.title, re.IGNORECASE) is not None


def _distinct(links: Sequence[DocumentationLink]) -> list[DocumentationLink]:
    return list({link.url: link for link in links}.values())


def _unique(notes: Sequence[DegradedSource]) -> list[DegradedSource]:
    return list({(n.server, n.reason): n for n in notes}.values())
