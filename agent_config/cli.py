"""The `security-agent` command: the agent's front door for people and CI.

  security-agent lambda-invoke --event FILE   run the Lambda handler on a Bedrock event file
  security-agent schema                       print the OpenAPI schema Bedrock is given
  security-agent sandbox up                   run the local AWS world until Ctrl-C
  security-agent assess [--region R]... [--service S]... [--format markdown|json] [--output FILE]
                        [--fail-on SEVERITY] [--config FILE]
                                              a full assessment of whatever AWS the environment
                                              points at (profile, role, AWS_ENDPOINT_URL...)
  security-agent demo                         start the sandbox and ask the agent real questions

Exit codes: 0 success (an assessment that completed, whatever it found), 1 failure (including an
assessment that could read nothing: unknown account, every check MANUAL), 2 bad usage (an unknown
service, a malformed Region code), 3 `--fail-on` threshold reached (a FAIL at or above that severity).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
import uuid
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent_config.config import CONFIG_FILE_ENV
from agent_config.utils.console import progress
from agent_config.utils.error_handling import AgentError
from agent_config.utils.logging_utils import configure_logging

if TYPE_CHECKING:
    from agent_config.interfaces import SecurityAssessment

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_THRESHOLD = 0, 1, 2, 3
SEVERITIES = ("critical", "high", "medium", "low", "informational")


class LocalLambdaContext:
    """Enough of the Lambda context object for the handler: a request id and a time budget."""

    def __init__(self, timeout_s: float = 120.0) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self.function_name = "enhanced-security-agent-local"
        self.memory_limit_in_mb = 1024
        self.invoked_function_arn = "arn:aws:lambda:local:000000000000:function:enhanced-security-agent-local"
        self._ends_at = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._ends_at - time.monotonic()) * 1000))


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        code: int = args.run(args)
    except AgentError as exc:
        print(f"error: {exc.message}\n{exc.guidance}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="security-agent", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(title="commands")

    invoke = commands.add_parser("lambda-invoke", help="run the Lambda handler on a Bedrock event file")
    invoke.add_argument("--event", required=True, type=Path, help="Bedrock Agent event JSON ('-' for stdin)")
    invoke.add_argument("--config", type=Path, help="configuration file (JSON or TOML)")
    invoke.add_argument("--timeout", type=float, default=120.0, help="simulated Lambda timeout in seconds")
    invoke.set_defaults(run=_lambda_invoke)

    schema = commands.add_parser("schema", help="print the OpenAPI schema for the action group")
    schema.add_argument("--output", type=Path, help="write to this file instead of stdout")
    schema.add_argument(
        "--function-details", action="store_true", help="the function schema for function-details action groups"
    )
    schema.set_defaults(run=_schema)

    sandbox = commands.add_parser("sandbox", help="the local AWS world")
    sandbox_commands = sandbox.add_subparsers(title="sandbox commands")
    up = sandbox_commands.add_parser("up", help="start local AWS and print the environment to use; Ctrl-C stops")
    up.set_defaults(run=_sandbox_up)

    assess = commands.add_parser("assess", help="run a full security assessment")
    assess.add_argument("--region", action="append", dest="regions", help="repeatable; default: configured")
    assess.add_argument("--service", action="append", dest="services", help="repeatable, e.g. s3, iam, ec2")
    assess.add_argument("--format", choices=("markdown", "json"), default="markdown")
    assess.add_argument("--output", type=Path, help="write the report here instead of stdout")
    assess.add_argument("--fail-on", choices=SEVERITIES, type=str.lower, help="exit 3 on a FAIL this severe")
    assess.add_argument("--config", type=Path, help="configuration file (JSON or TOML)")
    assess.add_argument("--timeout", type=float, default=600.0, help="overall time budget in seconds")
    assess.set_defaults(run=_assess)

    demo = commands.add_parser("demo", help="start the sandbox and ask the agent real questions")
    demo.set_defaults(run=_demo)
    return parser


def _lambda_invoke(args: argparse.Namespace) -> int:
    try:
        text = sys.stdin.read() if str(args.event) == "-" else args.event.read_text(encoding="utf-8")
    except OSError as exc:
        print(f"error: cannot read {args.event}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    try:
        event = json.loads(text)
    except json.JSONDecodeError as exc:
        print(f"error: {args.event} is not JSON: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.config is not None:
        os.environ[CONFIG_FILE_ENV] = str(args.config)
    from agent_config.enhanced_security_agent import lambda_handler

    # Like `sam local invoke`: the response on stdout, the function's logs on stderr.
    configure_logging(os.environ.get("LOG_LEVEL", "WARNING"), to_stderr=True)
    response = lambda_handler(event, LocalLambdaContext(args.timeout))
    print(json.dumps(response, indent=2))
    return EXIT_OK


def _schema(args: argparse.Namespace) -> int:
    from agent_config.schema import openapi_schema_json

    if args.function_details:
        from agent_config.function_routes import function_schema

        text = json.dumps(function_schema(), indent=2)
    else:
        text = openapi_schema_json()
    if args.output:
        args.output.write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    return EXIT_OK


def _sandbox_up(_args: argparse.Namespace) -> int:
    from agent_config.sandbox.world import sandbox

    with ExitStack() as stack:
        with progress("Starting the sandbox (local AWS on loopback)"):
            world = stack.enter_context(sandbox())
        print("\nThe sandbox is up. In another shell:\n")
        for key, value in world.environment().items():
            print(f"  export {key}={value}")
        print("\n  security-agent lambda-invoke --event <event.json>\n\nCtrl-C stops it.")
        _wait_for_interrupt()
    return EXIT_OK


def _wait_for_interrupt() -> None:
    stop = {"now": False}

    def _stop(_signum: int, _frame: Any) -> None:
        stop["now"] = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)  # also when started in the background, where SIGINT is ignored
    try:
        while not stop["now"]:
            time.sleep(0.5)
    except KeyboardInterrupt:
        return


def _assess(args: argparse.Namespace) -> int:
    from agent_config.assessment import run_assessment
    from agent_config.config import load_config
    from agent_config.interfaces import FindingStatus, Severity, is_region_code
    from agent_config.orchestration.deadline import Deadline
    from agent_config.orchestration.planner import parse_request
    from agent_config.response.reports import assessment_json, assessment_markdown
    from agent_config.runtime import AgentRuntime

    configure_logging(os.environ.get("LOG_LEVEL", "WARNING"), to_stderr=True)
    config = load_config(args.config)
    regions = args.regions or list(config.default_regions)
    bad = [region for region in regions if not is_region_code(region)]
    if bad:
        where = "--region" if args.regions else "default_regions in the configuration"
        print(
            f"error: {where}: {', '.join(repr(r) for r in bad)} is not an AWS Region code "
            "(for example us-east-1, eu-west-1, us-gov-west-1, cn-north-1)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        request = parse_request(regions, args.services)
    except AgentError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    runtime = AgentRuntime(config)
    try:
        with progress(f"Assessing {', '.join(request.regions)}", sys.stderr):
            assessment = runtime.run(
                lambda: run_assessment(
                    runtime.orchestrator,
                    request,
                    Deadline.after(args.timeout),
                    use_direct_fallback=config.features.direct_api_fallback,
                ),
                timeout_s=args.timeout + 30,
            )
    finally:
        runtime.close()
    text = (
        json.dumps(assessment_json(assessment), indent=2) if args.format == "json" else assessment_markdown(assessment)
    )
    if args.output:
        args.output.write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    unread = _nothing_read(assessment)
    if unread:
        # Checked before --fail-on: an assessment that read nothing has no FAIL, and CI must not
        # take "no finding" for "no problem".
        print(f"error: the assessment read nothing from AWS: {unread}", file=sys.stderr)
        for note in assessment.degraded[:3]:
            print(f"  {note.server}: {note.reason}", file=sys.stderr)
        print(
            "Check the credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID..., the role), the Region and "
            "AWS_ENDPOINT_URL, then run it again.",
            file=sys.stderr,
        )
        return EXIT_FAILED
    if args.fail_on:
        threshold = Severity.parse(args.fail_on).rank
        if any(f.status is FindingStatus.FAIL and f.severity.rank >= threshold for f in assessment.findings):
            return EXIT_THRESHOLD
    return EXIT_OK


def _nothing_read(assessment: SecurityAssessment) -> str | None:
    """Why an assessment evaluated nothing of the account, or None if it read something.

    Without usable credentials `sts get-caller-identity` fails (the account is unknown) and every
    check ends MANUAL: such a report has no FAIL, so on its own it would pass any `--fail-on`.
    """
    from agent_config.interfaces import FindingStatus
    from agent_config.orchestration.evidence_collector import UNKNOWN_ACCOUNT

    if assessment.account_id in (None, "", UNKNOWN_ACCOUNT):
        return "the account could not be identified (sts get-caller-identity failed)"
    if assessment.findings and all(f.status is FindingStatus.MANUAL for f in assessment.findings):
        return f"all {len(assessment.findings)} checks are MANUAL (no evidence could be read)"
    return None


def _demo(_args: argparse.Namespace) -> int:
    from agent_config.sandbox.demo import run_demo

    return run_demo(sys.stdout)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
