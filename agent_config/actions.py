"""One function per action-group operation: what the user asked, as a typed request, answered.

The handler has already validated the input; these functions plan the tool calls, run them
through the orchestrator under the request's deadline, and hand the results to the response
layer. They know nothing of Bedrock's event format.
"""

from __future__ import annotations

from agent_config.integrations import security_server
from agent_config.interfaces import AgentAnswer, DegradedSource, MCPOrchestrator
from agent_config.orchestration.deadline import Deadline
from agent_config.response.service_status import render_health, render_service_status
from agent_config.utils.error_handling import DependencyFailed, ServerFailure


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
        DegradedSource(server=security_server.SERVER, reason=f"{s.service}: {s.error}")
        for s in statuses
        if s.error
    ]
    return render_service_status(region, statuses, degraded)
