"""`--validate`: prove the deployed agent answers, one line per check, each failure with its fix.

Checks, in the order a request travels:

    agent PREPARED · alias PREPARED · action group ENABLED -> our function · function configured
    · function resource policy (this agent, this account) · direct /health invocation answers 200
    · InvokeAgent through the alias calls our action group (read from the streamed trace)

The last one is the only end-to-end proof: a prepared agent whose model never picks our operations
is broken in a way no configuration check shows. Trace parsing (`action_group_calls`) is a pure
function over the event dicts botocore yields, so it is tested on recorded shapes.

For `--target agentcore-gateway`: gateway and target READY · function configured · a direct
`getHealth` invocation shaped as the gateway makes it (`gateway_health_invocation`), answered with an
MCP tool result that is not an error.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from agent_config.agentcore_gateway import TARGET_DELIMITER, TOOL_NAME_KEY
from agent_config.deploy.errors import DeployError, explain_client_error
from agent_config.deploy.function import policy_statements, statement_matches
from agent_config.deploy.plan import DeployPlan
from agent_config.deploy.progress import Reporter

HEALTH_TOOL: Final = "getHealth"
"""The operationId of `GET /health`, which is the gateway tool's name."""
SMOKE_QUESTION = (
    "Are the security agent's data sources healthy? Check them with your health operation and answer in one sentence."
)


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    detail: str = ""
    fix: str = ""

    def line(self) -> str:
        status = "PASS" if self.passed else "FAIL"
        text = f"{status}  {self.name}"
        if self.detail:
            text += f": {self.detail}"
        if not self.passed and self.fix:
            text += f"  Fix: {self.fix}"
        return text


@dataclass(frozen=True)
class ActionCall:
    action_group: str
    api_path: str
    verb: str


def health_event(plan: DeployPlan, agent_id: str = "validate") -> dict[str, Any]:
    """The event Bedrock sends for `GET /health`, as the agent would send it."""
    return {
        "messageVersion": "1.0",
        "agent": {"name": plan.settings.agent_name, "id": agent_id, "alias": "validate", "version": "DRAFT"},
        "inputText": "Are the data sources healthy?",
        "sessionId": f"validate-{uuid.uuid4().hex[:12]}",
        "actionGroup": plan.action_group.name if plan.action_group else "validate",
        "apiPath": "/health",
        "httpMethod": "GET",
        "parameters": [],
        "sessionAttributes": {},
        "promptSessionAttributes": {},
    }


def gateway_health_invocation(plan: DeployPlan) -> dict[str, str]:
    """Lambda `Invoke` arguments for a `getHealth` tool call, made the way AgentCore Gateway makes it.

    The gateway passes the tool's arguments as the whole event (`{}`: getHealth has none) and names
    the tool, prefixed with the target's name, in the invocation's client context; the Lambda
    runtime hands that context's `custom` map to the handler as `context.client_context.custom`.
    Invoking so is what exercises the deployed handler's gateway translation (the prefix stripped,
    the operationId mapped to `/health`, the answer turned into an MCP tool result): a Bedrock
    `/health` event would pass even if that translation were missing or broken. `ClientContext` is
    base64 JSON, at most 3,583 bytes (botocore's Invoke documentation); ours is about 80.
    """
    assert plan.gateway_target is not None
    custom = {TOOL_NAME_KEY: f"{plan.gateway_target.name}{TARGET_DELIMITER}{HEALTH_TOOL}"}
    client_context = json.dumps({"custom": custom}, separators=(",", ":"), sort_keys=True)
    return {
        "FunctionName": plan.function.name,
        "InvocationType": "RequestResponse",
        "ClientContext": base64.b64encode(client_context.encode()).decode("ascii"),
        "Payload": "{}",
    }


def action_group_calls(events: Iterable[Mapping[str, Any]]) -> list[ActionCall]:
    """Every action-group invocation in an InvokeAgent event stream's traces."""
    calls: list[ActionCall] = []
    for event in events:
        trace = (event.get("trace") or {}).get("trace") or {}
        for part in ("orchestrationTrace", "customOrchestrationTrace"):
            invocation = ((trace.get(part) or {}).get("invocationInput") or {}).get("actionGroupInvocationInput")
            if invocation:
                calls.append(
                    ActionCall(
                        action_group=str(invocation.get("actionGroupName", "")),
                        api_path=str(invocation.get("apiPath") or invocation.get("function") or ""),
                        verb=str(invocation.get("verb", "")),
                    )
                )
    return calls


def completion_text(events: Iterable[Mapping[str, Any]]) -> str:
    parts = []
    for event in events:
        chunk = event.get("chunk")
        if chunk and "bytes" in chunk:
            raw = chunk["bytes"]
            parts.append(raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw))
    return "".join(parts)


def failure_traces(events: Iterable[Mapping[str, Any]]) -> list[str]:
    reasons = []
    for event in events:
        failure = ((event.get("trace") or {}).get("trace") or {}).get("failureTrace")
        if failure:
            reasons.append(str(failure.get("failureReason", "unknown failure")))
    return reasons


def _check(name: str, run: Callable[[], CheckResult]) -> CheckResult:
    """Run one check; an AWS error becomes a failed check with its explanation, not a crash."""
    try:
        return run()
    except ClientError as exc:
        explained = explain_client_error(exc, "aws", str(getattr(exc, "operation_name", "call")))
        return CheckResult(name, False, explained.message, explained.fix)
    except DeployError as exc:
        return CheckResult(name, False, exc.message, exc.fix)
    except BotoCoreError as exc:
        return CheckResult(name, False, str(exc), "Check your network and credentials, then validate again.")


REDEPLOY = "Run the same deploy command again; it repairs what differs."


class Validator:
    def __init__(self, plan: DeployPlan, clients: Any, reporter: Reporter) -> None:
        self.plan = plan
        self.clients = clients
        self.reporter = reporter

    # -- the agent ---------------------------------------------------------------------------

    def agent_prepared(self, agent_id: str) -> CheckResult:
        agent = self.clients.client("bedrock-agent").get_agent(agentId=agent_id)["agent"]
        status = str(agent["agentStatus"])
        if status == "PREPARED":
            return CheckResult("agent PREPARED", True, f"{agent['agentName']} ({agent_id})")
        reasons = "; ".join(agent.get("failureReasons") or [])
        return CheckResult("agent PREPARED", False, f"it is {status}{f': {reasons}' if reasons else ''}", REDEPLOY)

    def alias_prepared(self, agent_id: str, alias_id: str) -> tuple[CheckResult, str | None]:
        alias = self.clients.client("bedrock-agent").get_agent_alias(agentId=agent_id, agentAliasId=alias_id)[
            "agentAlias"
        ]
        status = str(alias["agentAliasStatus"])
        versions = [str(r["agentVersion"]) for r in alias.get("routingConfiguration") or [] if r.get("agentVersion")]
        version = versions[0] if versions else None
        if status == "PREPARED":
            return CheckResult("alias PREPARED", True, f"{alias['agentAliasName']} -> version {version}"), version
        reasons = "; ".join(alias.get("failureReasons") or [])
        detail = f"it is {status}{f': {reasons}' if reasons else ''}"
        return CheckResult("alias PREPARED", False, detail, REDEPLOY), version

    def action_group(self, agent_id: str, version: str) -> CheckResult:
        assert self.plan.action_group is not None
        client = self.clients.client("bedrock-agent")
        name = self.plan.action_group.name
        summaries = client.list_agent_action_groups(agentId=agent_id, agentVersion=version).get(
            "actionGroupSummaries", []
        )
        found = next((s for s in summaries if s.get("actionGroupName") == name), None)
        if found is None:
            return CheckResult(f"action group {name}", False, f"not found in version {version}", REDEPLOY)
        group = client.get_agent_action_group(
            agentId=agent_id, agentVersion=version, actionGroupId=found["actionGroupId"]
        )["agentActionGroup"]
        executor = (group.get("actionGroupExecutor") or {}).get("lambda")
        problems = []
        if group.get("actionGroupState") != "ENABLED":
            problems.append(f"state {group.get('actionGroupState')}")
        if executor != self.plan.function.arn:
            problems.append(f"executor {executor}, expected {self.plan.function.arn}")
        if problems:
            return CheckResult(f"action group {name}", False, "; ".join(problems), REDEPLOY)
        return CheckResult(f"action group {name}", True, f"ENABLED -> {self.plan.function.name} (version {version})")

    # -- the function ------------------------------------------------------------------------

    def function_configuration(self) -> CheckResult:
        spec = self.plan.function
        config = self.clients.client("lambda").get_function_configuration(FunctionName=spec.name)
        expected = {
            "Runtime": spec.runtime,
            "Handler": spec.handler,
            "Timeout": spec.timeout_s,
            "MemorySize": spec.memory_mb,
            "Role": self.plan.lambda_role.arn,
            "State": "Active",
        }
        problems = [f"{k} is {config.get(k)!r}, expected {v!r}" for k, v in expected.items() if config.get(k) != v]
        variables = (config.get("Environment") or {}).get("Variables") or {}
        for key, value in spec.environment.items():
            if variables.get(key) != value:
                problems.append(f"environment {key} is {variables.get(key)!r}, expected {value!r}")
        if problems:
            return CheckResult(f"function {spec.name} configuration", False, "; ".join(problems), REDEPLOY)
        return CheckResult(
            f"function {spec.name} configuration",
            True,
            f"{spec.runtime}, {spec.memory_mb} MB, {spec.timeout_s} s",
        )

    def resource_policy(self, agent_arn: str) -> CheckResult:
        assert self.plan.permission is not None
        spec = self.plan.permission
        statements = policy_statements(self.clients.client("lambda"), spec.function_name)
        if any(statement_matches(s, spec, agent_arn) for s in statements):
            return CheckResult("function resource policy", True, f"bedrock.amazonaws.com for {agent_arn} only")
        return CheckResult(
            "function resource policy",
            False,
            f"no statement lets bedrock.amazonaws.com invoke it for {agent_arn} in account {spec.source_account}",
            REDEPLOY,
        )

    def direct_health(self, agent_id: str) -> CheckResult:
        name = self.plan.function.name
        response = self.clients.client("lambda-invoke").invoke(
            FunctionName=name,
            InvocationType="RequestResponse",
            Payload=json.dumps(health_event(self.plan, agent_id)),
        )
        payload = response["Payload"].read()
        if response.get("FunctionError"):
            excerpt = payload.decode("utf-8", "replace")[:300]
            return CheckResult(
                "direct /health invocation",
                False,
                f"the function raised: {excerpt}",
                f"Read the log group {self.plan.log_group.name}.",
            )
        try:
            answer = json.loads(payload)
            status = int(answer["response"]["httpStatusCode"])
        except (ValueError, KeyError, TypeError):
            return CheckResult("direct /health invocation", False, "the answer is not a Bedrock response", REDEPLOY)
        if status != 200:
            body = json.dumps(answer["response"].get("responseBody", {}))[:300]
            return CheckResult(
                "direct /health invocation",
                False,
                f"status {status}: {body}",
                f"Read {self.plan.log_group.name}.",
            )
        return CheckResult("direct /health invocation", True, "200")

    def gateway_health(self) -> CheckResult:
        """`getHealth` through the function's gateway front door; passes on an MCP result without isError."""
        assert self.plan.gateway_target is not None
        name = f"gateway {HEALTH_TOOL} invocation"
        tool = f"{self.plan.gateway_target.name}{TARGET_DELIMITER}{HEALTH_TOOL}"
        if HEALTH_TOOL not in {str(t.get("name")) for t in self.plan.gateway_target.tools}:
            return CheckResult(name, False, f"the target's tool schema has no {HEALTH_TOOL} tool", REDEPLOY)
        response = self.clients.client("lambda-invoke").invoke(**gateway_health_invocation(self.plan))
        payload = response["Payload"].read()
        excerpt = payload.decode("utf-8", "replace")[:300]
        if response.get("FunctionError"):
            return CheckResult(
                name, False, f"the function raised: {excerpt}", f"Read the log group {self.plan.log_group.name}."
            )
        try:
            answer = json.loads(payload)
        except ValueError:
            answer = None
        if isinstance(answer, dict) and "response" in answer and "content" not in answer:
            return CheckResult(
                name,
                False,
                f"the function answered {tool} with a Bedrock action-group response, so it did not read the "
                "gateway's client context",
                "Deploy the current code (run the same deploy command again); its handler serves both front doors.",
            )
        content = answer.get("content") if isinstance(answer, dict) else None
        if not isinstance(answer, dict) or not isinstance(content, list) or not isinstance(answer.get("isError"), bool):
            return CheckResult(name, False, f"the answer is not an MCP tool result: {excerpt}", REDEPLOY)
        text = " ".join(str(c.get("text", "")) for c in content if isinstance(c, dict))
        if answer["isError"]:
            return CheckResult(
                name, False, f"the tool returned an error: {text[:300]}", f"Read {self.plan.log_group.name}."
            )
        return CheckResult(name, True, f"{tool} answered without error")

    # -- end to end --------------------------------------------------------------------------

    def invoke_agent(self, agent_id: str, alias_id: str) -> CheckResult:
        assert self.plan.action_group is not None
        name = self.plan.action_group.name
        runtime = self.clients.client("bedrock-agent-runtime")
        response = runtime.invoke_agent(
            agentId=agent_id,
            agentAliasId=alias_id,
            sessionId=f"validate-{uuid.uuid4().hex}",
            inputText=SMOKE_QUESTION,
            enableTrace=True,
            endSession=False,
        )
        events = [dict(e) for e in response["completion"]]
        calls = [c for c in action_group_calls(events) if c.action_group == name]
        answer = " ".join(completion_text(events).split())[:160]
        if calls:
            called = ", ".join(sorted({f"{c.verb.upper()} {c.api_path}".strip() for c in calls}))
            return CheckResult("InvokeAgent smoke question", True, f"the agent called {called}; answered: {answer!r}")
        failures = failure_traces(events)
        detail = f"the agent did not call {name}" + (f" ({'; '.join(failures)})" if failures else "")
        return CheckResult(
            "InvokeAgent smoke question",
            False,
            f"{detail}; answered: {answer!r}",
            "Check the model access and the instruction; run the deploy again to re-prepare the agent.",
        )

    # -- the gateway -------------------------------------------------------------------------

    def gateway_ready(self, gateway_id: str) -> CheckResult:
        client = self.clients.client("bedrock-agentcore-control")
        gateway = client.get_gateway(gatewayIdentifier=gateway_id)
        if gateway["status"] != "READY":
            return CheckResult("gateway READY", False, f"it is {gateway['status']}", REDEPLOY)
        assert self.plan.gateway_target is not None
        targets = client.list_gateway_targets(gatewayIdentifier=gateway_id).get("items", [])
        found = next((t for t in targets if t.get("name") == self.plan.gateway_target.name), None)
        if found is None or found.get("status") != "READY":
            status = found.get("status") if found else "missing"
            return CheckResult("gateway READY", False, f"target {self.plan.gateway_target.name} is {status}", REDEPLOY)
        return CheckResult("gateway READY", True, f"{gateway.get('gatewayUrl', gateway_id)}")

    # -- all ---------------------------------------------------------------------------------

    def run(self, agent_id: str, alias_id: str | None, *, smoke: bool = True) -> list[CheckResult]:
        results: list[CheckResult] = []

        def add(result: CheckResult) -> CheckResult:
            results.append(result)
            self.reporter.line(result.line())
            return result

        if self.plan.gateway is not None:
            add(_check("gateway READY", lambda: self.gateway_ready(agent_id)))
            add(_check("function configuration", self.function_configuration))
            add(_check(f"gateway {HEALTH_TOOL} invocation", self.gateway_health))
            return results
        add(_check("agent PREPARED", lambda: self.agent_prepared(agent_id)))
        version = "DRAFT"
        if alias_id:
            holder: list[str | None] = []

            def alias_check() -> CheckResult:
                result, found_version = self.alias_prepared(agent_id, alias_id)
                holder.append(found_version)
                return result

            add(_check("alias PREPARED", alias_check))
            version = (holder[0] if holder else None) or "DRAFT"
        add(_check("action group", lambda: self.action_group(agent_id, version)))
        add(_check("function configuration", self.function_configuration))
        agent_arn = self.plan.agent.arn_pattern.replace("${AgentId}", agent_id) if self.plan.agent else ""
        add(_check("function resource policy", lambda: self.resource_policy(agent_arn)))
        add(_check("direct /health invocation", lambda: self.direct_health(agent_id)))
        if smoke:
            add(
                _check(
                    "InvokeAgent smoke question",
                    lambda: self.invoke_agent(agent_id, alias_id or "TSTALIASID"),
                )
            )
        return results
