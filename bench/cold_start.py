"""Cold start: importing the Lambda handler module against a bare `import boto3`, in fresh processes.

Each measurement is a new interpreter (as a Lambda cold start is), alternating the two so that
machine noise hits both alike; medians of the runs are compared.
"""

from __future__ import annotations

import statistics
import subprocess
import sys

RUNS = 15
PROBE = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"


def _time_import(module: str) -> float:
    output = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module)], check=True, capture_output=True, text=True
    ).stdout
    return float(output.strip().splitlines()[-1])


def main() -> None:
    handler, boto3 = [], []
    for _ in range(RUNS):
        handler.append(_time_import("agent_config.enhanced_security_agent"))
        boto3.append(_time_import("boto3"))
    check = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, agent_config.enhanced_security_agent; print('mcp' in sys.modules)",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    h, b = statistics.median(handler) * 1000, statistics.median(boto3) * 1000
    print(f"Cold import, median of {RUNS} fresh interpreters each (alternating):")
    print(f"  import boto3                               {b:7.1f} ms")
    print(f"  import agent_config.enhanced_security_agent {h:7.1f} ms  ({h / b:.2f}x boto3)")
    print(f"  `mcp` imported on cold start: {check}")
