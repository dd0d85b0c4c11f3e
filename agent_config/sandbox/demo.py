"""`security-agent demo`: the sandbox up, real Bedrock events through the real handler, answers shown.

Everything it starts is stopped on the way out, on success, error or Ctrl-C: the MCP servers
(through the runtime's close) and the local AWS (through the sandbox's context manager).
"""

from __future__ import annotations

import json
import os
import time
from contextlib import ExitStack
from importlib import resources
from typing import Any, TextIO

from agent_config.cli import LocalLambdaContext
from agent_config.response.terminal import render_response
from agent_config.runtime import AgentRuntime, use_runtime
from agent_config.sandbox.servers import missing_server_environments
from agent_config.sandbox.world import sandbox
from agent_config.utils.console import progress
from agent_config.utils.logging_utils import configure_logging

DEMO_EVENTS = (
    "health.json",
    "security_services.json",
    "assessment.json",
    "s3_analysis.json",
    "well_architected.json",
    "summary.json",
)


def load_event(name: str) -> dict[str, Any]:
    """A Bedrock Agent event shipped with the package (the demo's and the tests' fixtures)."""
    text = resources.files("agent_config.sandbox").joinpath("events", name).read_text(encoding="utf-8")
    event: dict[str, Any] = json.loads(text)
    return event


def run_demo(out: TextIO) -> int:
    missing = missing_server_environments()
    if missing:
        out.write("The MCP servers' environments are missing: " + ", ".join(missing) + "\nRun `make setup`.\n")
        return 1
    from agent_config.enhanced_security_agent import lambda_handler

    with ExitStack() as stack:
        with progress("Starting local AWS (moto on loopback) and seeding the sample account", out):
            world = stack.enter_context(sandbox())
        if world.manifest is not None:
            planted = world.manifest.items
            failing = {item.control_id for item in planted if item.expected_status.value == "FAIL"}
            out.write(
                f"  the account holds {len(planted)} planted resources and settings: "
                f"{len(failing)} kinds of misconfiguration, each beside a correct twin, "
                f"in {', '.join(world.regions)}\n"
            )
        stack.callback(configure_logging, "WARNING")  # runs after the log file below is closed
        log_file = stack.enter_context((world.workdir / "agent.log").open("w", encoding="utf-8"))
        configure_logging("INFO", stream=log_file)
        # The agent's own boto3 path (the direct-API fallback) reaches the local AWS too.
        stack.callback(_restore_environment, dict(os.environ))
        os.environ.update({k: v for k, v in world.aws.env().items() if k != "HOME"})
        runtime = AgentRuntime(world.config())
        previous = use_runtime(runtime)
        stack.callback(use_runtime, previous)
        stack.callback(_close_runtime, runtime, out)
        with progress("Starting the MCP servers", out):
            runtime.run(runtime.orchestrator.initialize_connections, timeout_s=120)
        for name in DEMO_EVENTS:
            event = load_event(name)
            out.write(f"\n> {event['inputText']}\n  ({event['httpMethod']} {event['apiPath']})\n")
            started = time.perf_counter()
            response = lambda_handler(event, LocalLambdaContext())
            out.write(render_response(response) + f"\n  ({time.perf_counter() - started:.1f} s)\n")
    return 0


def _restore_environment(saved: dict[str, str]) -> None:
    os.environ.clear()
    os.environ.update(saved)


def _close_runtime(runtime: AgentRuntime, out: TextIO) -> None:
    with progress("\nStopping the MCP servers and local AWS", out):
        runtime.close()
