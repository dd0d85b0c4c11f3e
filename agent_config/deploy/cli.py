"""The command line of `deploy_enhanced_security_agent.py`: parse, build the plan, run one mode.

Modes: deploy (default), `--dry-run`, `--validate`, `--destroy`. Exit status 0 when everything
succeeded (or every validation check passed), 1 when a step or a check failed, 2 for bad usage.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from botocore.exceptions import BotoCoreError
from pydantic import ValidationError

from agent_config.config import AuthKind, Environment
from agent_config.deploy.aws import AwsClients
from agent_config.deploy.errors import DeployError
from agent_config.deploy.packaging import BuiltPackage, build_package, project_root
from agent_config.deploy.plan import (
    DEFAULT_AGENT_NAME,
    DEFAULT_MODEL,
    IDLE_SESSION_TTL_S,
    ROLE_OPTION,
    Architecture,
    DeployPlan,
    DeploySettings,
    PackageSpec,
    ServerSetting,
    Target,
    build_plan,
    default_servers_note,
)
from agent_config.deploy.progress import Reporter

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="deploy_enhanced_security_agent.py",
        description="Deploy, validate or destroy the Enhanced Security Agent (Lambda, IAM, DynamoDB, SSM, "
        "Secrets Manager, CloudWatch Logs, and a Bedrock agent or an AgentCore gateway).",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="print the plan (JSON) and change nothing")
    mode.add_argument("--validate", action="store_true", help="check a deployed agent, one line per check")
    mode.add_argument("--destroy", action="store_true", help="delete what deploy created (tagged resources only)")
    p.add_argument("--region", default=None, help="AWS Region (default: your AWS configuration, else us-east-1)")
    p.add_argument("--environment", choices=[e.value for e in Environment], default=Environment.PRODUCTION.value)
    p.add_argument("--agent-name", default=DEFAULT_AGENT_NAME, help="names every resource (default: %(default)s)")
    p.add_argument("--model", default=DEFAULT_MODEL, help="inference profile or model id (default: %(default)s)")
    p.add_argument("--architecture", choices=[a.value for a in Architecture], default=Architecture.X86_64.value)
    p.add_argument(
        "--target",
        choices=[t.value for t in Target],
        default=Target.AGENT.value,
        help="agent: a Bedrock Agents Classic agent; agentcore-gateway: an AgentCore Gateway Lambda target",
    )
    for role, option in ROLE_OPTION.items():
        p.add_argument(f"--{option}-url", default=None, help=f"https URL of the remote {role.value} MCP server")
        p.add_argument(
            f"--{option}-auth",
            choices=[k.value for k in AuthKind],
            default=AuthKind.NONE.value,
            help=f"authentication to the {role.value} server (bearer: a secret is created for the token)",
        )
    p.add_argument("--log-retention-days", type=int, default=30)
    p.add_argument(
        "--idle-session-ttl",
        type=int,
        default=IDLE_SESSION_TTL_S,
        help="seconds a conversation may idle before Bedrock ends it, 60-5400; session history in "
        "DynamoDB expires with it (default: %(default)s)",
    )
    p.add_argument("--account-id", default=None, help="the 12-digit account id (skips the STS call; for --dry-run)")
    p.add_argument("--agent-id", default=None, help="for --validate (default: the id the deploy stored in SSM)")
    p.add_argument("--alias-id", default=None, help="for --validate (default: the stored alias, else TSTALIASID)")
    p.add_argument("--no-smoke", action="store_true", help="--validate without the InvokeAgent question")
    p.add_argument("--yes", action="store_true", help="--destroy without asking")
    p.add_argument("--endpoint-url", default=os.environ.get("SECURITY_AGENT_DEPLOY_ENDPOINT"), help=argparse.SUPPRESS)
    p.add_argument("--cache-dir", type=Path, default=None, help="where the package is built (default: ./.cache)")
    p.epilog = default_servers_note()
    return p


def settings_from(args: argparse.Namespace, account_id: str, region: str, partition: str) -> DeploySettings:
    servers = tuple(
        ServerSetting(
            role=role,
            url=getattr(args, f"{option}_url"),
            auth=AuthKind(getattr(args, f"{option}_auth")),
        )
        for role, option in ROLE_OPTION.items()
    )
    return DeploySettings(
        region=region,
        account_id=account_id,
        partition=partition,
        environment=Environment(args.environment),
        agent_name=args.agent_name,
        model=args.model,
        architecture=Architecture(args.architecture),
        target=Target(args.target),
        servers=servers,
        log_retention_days=args.log_retention_days,
        idle_session_ttl_s=args.idle_session_ttl,
    )


def make_plan(settings: DeploySettings, root: Path | None = None, *, check_model: bool = True) -> DeployPlan:
    """The plan; `check_model=False` for the modes that only need its names (see `build_plan`)."""
    from agent_config.checks.catalogue import load_catalogue
    from agent_config.schema import openapi_schema

    return build_plan(
        settings,
        openapi_schema(),
        load_catalogue().required_iam_actions(),
        root or project_root(),
        check_model=check_model,
    )


def _default_region() -> str:
    import boto3

    return boto3.session.Session().region_name or "us-east-1"


def _confirm(plan: DeployPlan, stdin: TextIO, out: TextIO) -> bool:
    name = plan.settings.agent_name
    out.write(
        f"This deletes every resource tagged enhanced-security-agent:stack={name} in {plan.settings.region} "
        f"(account {plan.settings.account_id}): the agent or gateway, the function, its logs, the sessions "
        "table and its data, the parameters, the MCP token secrets (no recovery window) and the roles.\n"
        f"Type the agent name ({name}) to confirm: "
    )
    out.flush()
    if not stdin.isatty():
        out.write("\nRefusing: no terminal to confirm on; pass --yes to destroy without asking.\n")
        return False
    return stdin.readline().strip() == name


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stdin: TextIO | None = None,
    clients: AwsClients | None = None,
    build: Callable[[PackageSpec], BuiltPackage] | None = None,
    reporter: Reporter | None = None,
) -> int:
    """Run one mode; the keyword arguments let tests inject clients, a package builder and a clock."""
    out = stdout or sys.stdout
    args = parser().parse_args(argv)
    try:
        return _run(args, out, stdin or sys.stdin, clients, build, reporter)
    except DeployError as exc:
        out.write(f"\nError: {exc}\n")
        return EXIT_FAILED
    except BotoCoreError as exc:  # no credentials, no network, an endpoint that does not exist
        out.write(
            f"\nError: cannot reach AWS ({exc}). Configure credentials (aws configure, AWS_PROFILE) and "
            "check the --region, then run the same command again.\n"
        )
        return EXIT_FAILED
    except KeyboardInterrupt:
        out.write("\nInterrupted. Running the same command again resumes where this one stopped.\n")
        return EXIT_FAILED
    except ValidationError as exc:
        problems = "; ".join(
            f"--{'.'.join(str(x) for x in e['loc']).replace('_', '-')}: {e['msg']}" for e in exc.errors()
        )
        out.write(f"Error: invalid option: {problems}\n")
        return EXIT_USAGE


def _run(
    args: argparse.Namespace,
    out: TextIO,
    stdin: TextIO,
    clients: AwsClients | None,
    build: Callable[[PackageSpec], BuiltPackage] | None,
    reporter: Reporter | None,
) -> int:
    region = args.region or (clients.region if clients else _default_region())
    clients = clients or AwsClients(region=region, endpoint_url=args.endpoint_url)
    account_id = args.account_id or clients.account_id()
    partition = clients.partition()
    settings = settings_from(args, account_id, region, partition)
    plan = make_plan(settings, check_model=not (args.validate or args.destroy))
    reporter = reporter or Reporter(stream=out)

    if args.dry_run:
        out.write(plan.to_json())
        return EXIT_OK
    if args.validate:
        return _validate(args, plan, clients, reporter)
    if args.destroy:
        if not args.yes and not _confirm(plan, stdin, out):
            out.write("Nothing was deleted.\n")
            return EXIT_FAILED
        from agent_config.deploy.runner import run_destroy

        other = Target.AGENTCORE_GATEWAY if settings.target is Target.AGENT else Target.AGENT
        other_plan = make_plan(settings.model_copy(update={"target": other}), check_model=False)
        agent_plan, gateway_plan = (plan, other_plan) if settings.target is Target.AGENT else (other_plan, plan)
        run_destroy(agent_plan, gateway_plan, clients, reporter)
        out.write("Destroyed.\n")
        return EXIT_OK

    from agent_config.deploy.runner import run_deploy, summary_lines

    cache_dir = args.cache_dir

    def default_build(spec: PackageSpec) -> BuiltPackage:
        return build_package(spec, cache_dir=cache_dir)

    result = run_deploy(plan, clients, reporter, build or default_build)
    for line in summary_lines(plan, result, reporter):
        out.write(line + "\n")
    return EXIT_OK


def _validate(args: argparse.Namespace, plan: DeployPlan, clients: Any, reporter: Reporter) -> int:
    from agent_config.deploy.bedrock_agent import find_alias
    from agent_config.deploy.runner import read_outputs
    from agent_config.deploy.validate import Validator

    stored = read_outputs(clients.client("ssm"), plan)
    if plan.gateway is not None:
        resource_id = args.agent_id or stored.get("gateway_id")
        alias_id = None
    else:
        resource_id = args.agent_id or stored.get("agent_id")
        alias_id = args.alias_id or (stored.get("alias_id") if stored.get("agent_id") == resource_id else None)
        if resource_id and alias_id is None and plan.alias is not None:
            found = find_alias(clients.client("bedrock-agent"), resource_id, plan.alias.name)
            alias_id = str(found["agentAliasId"]) if found else None
    if not resource_id:
        raise DeployError(
            f"No deployment of {plan.settings.agent_name} was found in {plan.settings.region}.",
            "Pass --agent-id (and --alias-id), or the --agent-name and --region you deployed with.",
        )
    reporter.line(f"Validating {plan.settings.agent_name} ({resource_id}) in {plan.settings.region}")
    results = Validator(plan, clients, reporter).run(resource_id, alias_id, smoke=not args.no_smoke)
    failed = [r for r in results if not r.passed]
    reporter.line(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    return EXIT_FAILED if failed else EXIT_OK
