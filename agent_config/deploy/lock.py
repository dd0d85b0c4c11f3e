"""The Lambda dependency lock: exact versions and archive hashes, one file per architecture.

Why: `requirements.txt` holds ranges (those the tests ran against). Built from ranges, the package
is whatever PyPI's newest matching wheels are on the day: a new machine (or an empty `.cache/`)
resolves newer wheels, the zip's bytes and Lambda's `CodeSha256` change, and "a second run with
the same settings changes nothing" breaks without a line of ours changing. So the package is built
from a lock instead: every distribution pinned with `==` and the SHA-256 of the exact wheel, which
pip enforces with `--require-hashes` (a wheel re-uploaded or swapped on the index fails the build
rather than shipping).

One lock per architecture (`lambda-lock/x86_64.txt`, `lambda-lock/arm64.txt`) because compiled
dependencies (pydantic-core, rpds-py, cryptography) have a different wheel, so a different hash,
per platform. Each is resolved by pip itself, for the Lambda platform and Python, from
`requirements.txt`:

    make lambda-lock            # = .venv/bin/python -m agent_config.deploy.lock

which runs, per architecture, `pip install --dry-run --report <json> --target <tmp> --platform
manylinux2014_<arch> --python-version 3.12 --implementation cp --only-binary=:all: -r
requirements.txt` and writes the versions and archive hashes of the report. Run it after changing
`requirements.txt`; a build with a lock that lacks one of the requirements, or pins one outside its
range, stops with one sentence saying so (`check_lock`).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from agent_config.deploy.errors import PackagingFailed
from agent_config.deploy.plan import LAMBDA_PYTHON_VERSION, LOCK_DIR, REQUIREMENTS_FILE, Architecture, lock_file

LOCK_COMMAND: Final = "make lambda-lock"
_REQUIREMENT = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(?P<spec>[^;]*)")
_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==(?P<version>[^\s;]+)$")
_HASH = re.compile(r"^--hash=sha256:(?P<digest>[0-9a-f]{64})$")


@dataclass(frozen=True)
class Pin:
    """One locked distribution: its exact version and the SHA-256 of the wheel(s) pip may install."""

    name: str
    version: str
    hashes: tuple[str, ...]

    def line(self) -> str:
        return " \\\n".join([f"{self.name}=={self.version}", *(f"    --hash=sha256:{h}" for h in self.hashes)])


def normalize(name: str) -> str:
    """PEP 503 name normalisation: `aws_lambda_powertools` and `AWS-Lambda-Powertools` are one project."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _logical_lines(text: str) -> Iterable[str]:
    """Lines without comments, with backslash continuations joined (pip's requirement-file syntax)."""
    pending = ""
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = (pending + line).strip()
        pending = ""
        if line:
            yield line
    if pending.strip():
        yield pending.strip()


def parse_requirements(text: str) -> dict[str, str]:
    """`requirements.txt` as {normalised name: version specifier}; options lines (`-r`, `--...`) are refused."""
    requirements: dict[str, str] = {}
    for line in _logical_lines(text):
        found = _REQUIREMENT.match(line)
        if line.startswith("-") or found is None:
            raise PackagingFailed(
                f"{REQUIREMENTS_FILE} has a line the Lambda lock cannot follow: {line!r}.",
                "Keep it to one requirement per line (name, extras, version range).",
            )
        requirements[normalize(found["name"])] = found["spec"].strip()
    return requirements


def parse_lock(text: str, source: str = "the lock") -> dict[str, Pin]:
    """A lock file as {normalised name: Pin}; every entry must be pinned with `==` and hashed."""
    pins: dict[str, Pin] = {}
    for line in _logical_lines(text):
        first, *options = line.split()
        pin = _PIN.match(first)
        hashes = [m["digest"] for m in (_HASH.match(o) for o in options) if m]
        if pin is None or not hashes or len(hashes) != len(options):
            raise PackagingFailed(
                f"{source} has an entry that is not pinned with == and hashed with --hash=sha256: {line[:120]!r}.",
                f"Regenerate it with `{LOCK_COMMAND}` rather than editing it.",
            )
        name = normalize(pin["name"])
        pins[name] = Pin(name=name, version=pin["version"], hashes=tuple(hashes))
    return pins


def check_lock(requirements_text: str, lock_text: str, source: str) -> dict[str, Pin]:
    """The lock's pins, after making sure it still covers every requirement within its range.

    The lock is older than `requirements.txt` when a requirement has no pin, or a pin outside the
    requirement's range: building from it would ship something other than what the file asks for.
    (A lock that pins more than the requirements need is caught by pip, which resolves from the
    lock with `--require-hashes`, and by the test that re-resolves `requirements.txt`.)
    """
    pins = parse_lock(lock_text, source)
    requirements = parse_requirements(requirements_text)
    missing = sorted(name for name in requirements if name not in pins)
    fix = f"Run `{LOCK_COMMAND}` and keep the lock with {REQUIREMENTS_FILE}."
    if missing:
        raise PackagingFailed(
            f"The Lambda lock {source} is older than {REQUIREMENTS_FILE}: it has no pin for {', '.join(missing)}.",
            fix,
        )
    for name, spec in sorted(requirements.items()):
        try:
            allowed = SpecifierSet(spec)
        except InvalidSpecifier as exc:
            raise PackagingFailed(f"{REQUIREMENTS_FILE} has an invalid version range for {name}: {spec!r}.") from exc
        if pins[name].version not in allowed:
            raise PackagingFailed(
                f"The Lambda lock {source} is older than {REQUIREMENTS_FILE}: it pins {name} "
                f"{pins[name].version}, outside {spec}.",
                fix,
            )
    return pins


# ---------------------------------------------------------------------------------------------
# Generating the lock (`make lambda-lock`)
# ---------------------------------------------------------------------------------------------


def resolve_command(requirements: Path, architecture: Architecture, report: Path, target: Path) -> list[str]:
    """pip's resolution for the Lambda platform, without installing: the report names every wheel."""
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--dry-run",
        "--quiet",
        "--disable-pip-version-check",
        "--report",
        str(report),
        "--target",
        str(target),  # with --target pip ignores what this venv has installed: every dependency is reported
        "--platform",
        architecture.pip_platform,
        "--python-version",
        LAMBDA_PYTHON_VERSION,
        "--implementation",
        "cp",
        "--only-binary=:all:",
        "-r",
        str(requirements),
    ]


def pins_from_report(report: dict[str, Any]) -> list[Pin]:
    """The pins of a `pip install --report` document, sorted by name."""
    pins = []
    for item in report.get("install", []):
        metadata = item.get("metadata") or {}
        name, version = normalize(str(metadata.get("name", ""))), str(metadata.get("version", ""))
        digest = ((item.get("download_info") or {}).get("archive_info") or {}).get("hashes", {}).get("sha256")
        if not name or not version or not digest:
            raise PackagingFailed(
                f"pip's report has no version or SHA-256 for {name or 'a distribution'}, so it cannot be locked."
            )
        pins.append(Pin(name=name, version=version, hashes=(str(digest),)))
    return sorted(pins, key=lambda p: p.name)


def render_lock(pins: Sequence[Pin], architecture: Architecture) -> str:
    header = [
        f"# The Lambda package's dependencies for {architecture.pip_platform}, CPython {LAMBDA_PYTHON_VERSION}:",
        f"# {REQUIREMENTS_FILE} resolved by pip, every wheel pinned and hashed (installed with --require-hashes).",
        f"# Generated by `{LOCK_COMMAND}`; do not edit. Regenerate after changing {REQUIREMENTS_FILE}.",
    ]
    return "\n".join([*header, *(p.line() for p in pins)]) + "\n"


def resolve(root: Path, architecture: Architecture) -> list[Pin]:
    """What pip resolves `requirements.txt` to today for the Lambda platform (needs the index)."""
    with tempfile.TemporaryDirectory(prefix="lambda-lock-") as tmp:
        report = Path(tmp) / "report.json"
        result = subprocess.run(
            resolve_command(root / REQUIREMENTS_FILE, architecture, report, Path(tmp) / "target"),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            tail = "\n".join(line for line in result.stderr.splitlines()[-15:] if "is ignored" not in line)
            raise PackagingFailed(f"pip could not resolve {REQUIREMENTS_FILE} for {architecture.pip_platform}: {tail}")
        return pins_from_report(json.loads(report.read_text(encoding="utf-8")))


def generate(root: Path, architecture: Architecture) -> Path:
    """Resolve `requirements.txt` for `architecture` with pip and write its lock; returns the path."""
    pins = resolve(root, architecture)
    path = root / lock_file(architecture)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_lock(pins, architecture), encoding="utf-8")
    check_lock((root / REQUIREMENTS_FILE).read_text(encoding="utf-8"), path.read_text(encoding="utf-8"), str(path))
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m agent_config.deploy.lock",
        description=f"Write {LOCK_DIR}/<arch>.txt: {REQUIREMENTS_FILE} resolved by pip for the Lambda platform.",
    )
    parser.add_argument("--architecture", choices=[a.value for a in Architecture], action="append")
    args = parser.parse_args(argv)
    root = Path(__file__).resolve().parents[2]  # the project (packaging.project_root, without the import cycle)
    for value in args.architecture or [a.value for a in Architecture]:
        try:
            path = generate(root, Architecture(value))
        except PackagingFailed as exc:
            print(str(exc), file=sys.stderr)
            return 1
        pins = parse_lock(path.read_text(encoding="utf-8"))
        print(f"{path.relative_to(root)}: {len(pins)} distributions pinned and hashed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
