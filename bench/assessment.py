"""Full assessments: the sandbox account, and generated accounts of growing size (up to 2,400 resources).

Each run goes through the real path: the AWS API MCP server's `call_aws` (batches of 20 commands),
the Security MCP server, the checks, the synthesizer. Printed per account: wall time, AWS reads
made, findings, peak memory of this process (tracemalloc: Python allocations of the agent, not the
servers' processes), and time per resource, so growth with size is read off one run.
"""

from __future__ import annotations

import os
import time
import tracemalloc
from typing import Any

from agent_config.assessment import run_assessment
from agent_config.orchestration.deadline import Deadline
from agent_config.orchestration.planner import parse_request
from agent_config.runtime import AgentRuntime
from agent_config.sandbox.local_aws import LocalAws
from agent_config.sandbox.world import sandbox
from agent_config.utils.logging_utils import configure_logging

SIZES = (300, 1200, 2400)
"""Resources per generated account: a third buckets, a third security groups, a third IAM users."""


def _generate(aws: LocalAws, resources: int) -> None:
    s3, ec2, iam = aws.client("s3"), aws.client("ec2"), aws.client("iam")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    each = resources // 3
    for index in range(each):
        s3.create_bucket(Bucket=f"bench-bucket-{index:05d}")
        group = ec2.create_security_group(GroupName=f"bench-sg-{index:05d}", Description="bench", VpcId=vpc)
        if index % 10 == 0:  # every tenth group is open to the world on SSH
            ec2.authorize_security_group_ingress(
                GroupId=group["GroupId"],
                IpPermissions=[
                    {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
                ],
            )
        iam.create_user(UserName=f"bench-user-{index:05d}")


def _measure(world_regions: tuple[str, ...], runtime: AgentRuntime, max_resources: int) -> dict[str, Any]:
    request = parse_request(list(world_regions), None)
    tracemalloc.start()
    started = time.perf_counter()
    assessment = runtime.run(
        lambda: run_assessment(runtime.orchestrator, request, Deadline.after(900), max_resources=max_resources),
        timeout_s=1000,
    )
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "seconds": elapsed,
        "reads": assessment.stats.get("aws_api_reads", 0),
        "findings": len(assessment.findings),
        "peak_mb": peak / 1e6,
    }


def _run(label: str, resources: int | None, generate: int = 0, seed: bool = True) -> dict[str, Any]:
    """One assessment in a fresh sandbox: the seeded sample account (both Regions), or an empty
    account filled with `generate` resources (assessed in us-east-1 only)."""
    with sandbox(seed=seed) as world:
        if world.manifest is not None:
            label = label.format(planted=len(world.manifest.items))
        saved = dict(os.environ)
        os.environ.update({k: v for k, v in world.aws.env().items() if k != "HOME"})
        try:
            if generate:
                _generate(world.aws, generate)
            runtime = AgentRuntime(world.config())
            try:
                runtime.run(runtime.orchestrator.initialize_connections, timeout_s=120)
                result = _measure(world.regions if seed else ("us-east-1",), runtime, max_resources=5000)
                # max_resources above the largest size: every generated resource is read one by one
            finally:
                runtime.close()
        finally:
            os.environ.clear()
            os.environ.update(saved)
    result["label"] = label
    result["resources"] = resources
    return result


def main() -> None:
    configure_logging("ERROR")
    rows = [_run("sandbox account (2 Regions, {planted} planted items)", None)]
    rows += [_run(f"generated account, {size} resources", size, generate=size, seed=False) for size in SIZES]
    print(f"{'account':<48} {'seconds':>8} {'AWS reads':>10} {'findings':>9} {'peak MB':>8} {'ms/resource':>12}")
    for row in rows:
        per = f"{1000 * row['seconds'] / row['resources']:.1f}" if row["resources"] else "-"
        print(
            f"{row['label']:<48} {row['seconds']:>8.1f} {row['reads']:>10} {row['findings']:>9} "
            f"{row['peak_mb']:>8.1f} {per:>12}"
        )
    generated = [r for r in rows if r["resources"]]
    first, last = generated[0], generated[-1]
    growth = (last["seconds"] / first["seconds"]) / (last["resources"] / first["resources"])
    print(
        f"\n{last['resources'] / first['resources']:.0f}x the resources took "
        f"{last['seconds'] / first['seconds']:.1f}x the time (1.0 would be linear; {growth:.2f} of linear)"
    )
