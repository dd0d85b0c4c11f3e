"""Collects the evidence the checks need, in rounds, through the AWS API MCP server or boto3.

Each round asks the check modules what they still need (`plan_all`): first the listings, then the
per-resource reads their answers make possible. Every call passes the read-only guard, then goes
to the AWS API MCP server's `call_aws` in batches of up to 20 commands, all batches at once (the
orchestrator bounds the concurrency per server). Rounds continue until nothing new is needed, the
round limit is reached or the deadline is near.

When the API server cannot be used at all (not configured, down, circuit open), the same calls go
directly through boto3 under the function's own role, and the report says so. A single command the
server could not deliver (it could not reach that endpoint) is read directly too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from agent_config.checks import registry
from agent_config.checks.evidence import ApiCall, Evidence, EvidenceItem
from agent_config.integrations import aws_api_server
from agent_config.integrations.direct_api import DirectApi
from agent_config.integrations.read_only_guard import check_call
from agent_config.interfaces import DegradedSource, MCPOrchestrator
from agent_config.orchestration.deadline import Deadline
from agent_config.utils.error_handling import InvalidInput
from agent_config.utils.logging_utils import get_logger

log = get_logger(__name__)

MAX_ROUNDS = 6
RESERVE_S = 1.0
"""Time kept back from the deadline for evaluation, synthesis and the response."""
_RETRY_DIRECTLY = ("Could not connect to the endpoint URL", "EndpointConnectionError")
UNKNOWN_ACCOUNT = "unknown"
"""The account id when `sts get-caller-identity` failed: no usable credentials, or no AWS reachable."""


@dataclass
class CollectionReport:
    evidence: Evidence
    degraded: list[DegradedSource] = field(default_factory=list)
    rounds: int = 0
    calls: int = 0
    via_server: int = 0
    via_boto3: int = 0
    refused: int = 0
    incomplete: bool = False

    @property
    def reads_ok(self) -> int:
        """Reads that returned a response document (not an error): zero means nothing was read."""
        return sum(1 for item in self.evidence.items if item.ok)


class EvidenceCollector:
    def __init__(
        self,
        orchestrator: MCPOrchestrator,
        *,
        direct: DirectApi | None = None,
        use_direct_fallback: bool = True,
        server: str = aws_api_server.SERVER,
        max_resources: int | None = None,
    ) -> None:
        self._orchestrator = orchestrator
        self._direct = direct or DirectApi()
        self._use_direct = use_direct_fallback
        self._server = server
        self._max_resources = max_resources

    async def collect(
        self,
        account_id: str,
        regions: Sequence[str],
        deadline: Deadline,
        services: Sequence[str] | None = None,
    ) -> CollectionReport:
        report = CollectionReport(evidence=Evidence(account_id=account_id))
        server_usable = True
        for _ in range(MAX_ROUNDS):
            if deadline.remaining() <= RESERVE_S:
                report.incomplete = True
                report.degraded.append(
                    DegradedSource(server=self._server, reason="the deadline came before every resource was read")
                )
                break
            calls = self._plan(regions, report, services)
            if not calls:
                break
            report.rounds += 1
            report.calls += len(calls)
            calls = self._guard(calls, report)
            items: list[EvidenceItem] = []
            if server_usable:
                items, server_usable = await self._via_server(calls, regions[0], deadline, report)
            if not server_usable:
                items = await self._via_boto3(calls, regions[0], report)
            report.evidence.extend(items)
        if report.calls and not report.reads_ok:
            # Every check will be MANUAL; say why once, instead of leaving it to one note per check.
            errors = [item for item in report.evidence.items if item.error_code]
            # an AWS error says more than the guard refusing a call built on what could not be read
            first = next((item for item in errors if item.error_code != "RefusedByGuard"), None) or next(
                iter(errors), None
            )
            detail = f" (first error: {first.error_code}: {(first.error_message or '')[:200]})" if first else ""
            report.degraded.append(
                DegradedSource(
                    server=self._server,
                    reason=f"no AWS API read succeeded out of {report.calls}{detail}; check the credentials, "
                    "Region and endpoint the agent runs with",
                )
            )
        return report

    def _plan(
        self, regions: Sequence[str], report: CollectionReport, services: Sequence[str] | None = None
    ) -> list[ApiCall]:
        """The calls still needed. Check modules plan only calls absent from the evidence; the filter
        is kept as a guard against a module that breaks that contract (it would loop forever), and
        costs one dictionary lookup per call (`Evidence.get` is indexed)."""
        kwargs = {"max_resources": self._max_resources} if self._max_resources is not None else {}
        planned = registry.plan_all(regions, report.evidence, services=services, **kwargs)
        return [call for call in planned if report.evidence.get(call) is None]

    @staticmethod
    def _guard(calls: list[ApiCall], report: CollectionReport) -> list[ApiCall]:
        allowed = []
        for call in calls:
            try:
                allowed.append(check_call(call))
            except InvalidInput as exc:
                report.refused += 1
                log.error("read_only_guard_refused", call=call.label, reason=exc.message)
                report.evidence.add(EvidenceItem(call=call, error_code="RefusedByGuard", error_message=exc.message))
        return allowed

    async def _via_server(
        self, calls: list[ApiCall], home_region: str, deadline: Deadline, report: CollectionReport
    ) -> tuple[list[EvidenceItem], bool]:
        """Evidence from `call_aws`; (items, False) when the server could not be used at all."""
        batches = aws_api_server.batch_calls(calls, home_region)
        results = await self._orchestrator.execute_parallel_calls([tool for tool, _ in batches], deadline)
        items: list[EvidenceItem] = []
        failed_batches: list[list[ApiCall]] = []
        reason = ""
        for (_, batch), result in zip(batches, results, strict=True):
            if result.ok:
                items.extend(aws_api_server.parse_call_aws(result.payload, batch))
            else:
                failed_batches.append(batch)
                reason = result.error_message or "no answer"
        if failed_batches and not items:
            if not self._use_direct:
                report.degraded.append(
                    DegradedSource(server=self._server, reason=f"resource evidence missing: {reason}")
                )
                return [_unavailable(call, reason) for batch in failed_batches for call in batch], True
            report.degraded.append(
                DegradedSource(
                    server=self._server,
                    reason=f"the AWS API MCP server was unavailable ({reason}); evidence was collected directly "
                    "with boto3 under the agent's own IAM role",
                )
            )
            return [], False
        for batch in failed_batches:  # some batches failed: read those calls directly
            items.extend(await self._via_boto3(batch, home_region, report) if self._use_direct else [])
        report.via_server += sum(1 for item in items if item.source == aws_api_server.SOURCE)
        retry = [item.call for item in items if _server_could_not_reach(item)]
        if retry and self._use_direct:
            direct = {item.call: item for item in await self._via_boto3(retry, home_region, report)}
            items = [direct.get(item.call, item) for item in items]
        return items, True

    async def _via_boto3(self, calls: list[ApiCall], home_region: str, report: CollectionReport) -> list[EvidenceItem]:
        items = await self._direct.collect(calls, home_region)
        report.via_boto3 += len(items)
        for item in items:
            log.info(
                "audit",
                action="aws_api_read",
                path="boto3",
                call=item.call.label,
                region=item.call.region or home_region,
                result="ok" if item.ok else item.error_code,
            )
        return items


def _server_could_not_reach(item: EvidenceItem) -> bool:
    """The server could not reach this command's endpoint (a transport problem, not an AWS answer)."""
    return item.error_message is not None and any(marker in item.error_message for marker in _RETRY_DIRECTLY)


def _unavailable(call: ApiCall, reason: str) -> EvidenceItem:
    return EvidenceItem(call=call, error_code="SourceUnavailable", error_message=reason[:500])


async def account_id_of(orchestrator: MCPOrchestrator, direct: DirectApi, region: str, deadline: Deadline) -> str:
    """The account being assessed (`sts get-caller-identity`), through the server or boto3;
    `UNKNOWN_ACCOUNT` when neither could say (callers such as `security-agent assess` treat that as
    a failed assessment: nothing of the account could have been read)."""
    call = ApiCall.of("sts", "get-caller-identity")
    [batch] = aws_api_server.batch_calls([call], region)
    [result] = await orchestrator.execute_parallel_calls([batch[0]], deadline)
    item = aws_api_server.parse_call_aws(result.payload, [call])[0] if result.ok else None
    if item is None or not item.ok:
        item = (await direct.collect([call], region))[0]
    if item.ok and item.response is not None:
        return str(item.response.get("Account", UNKNOWN_ACCOUNT))
    return UNKNOWN_ACCOUNT
