"""The Lambda deployment package: the locked dependencies built for the Lambda runtime, plus `agent_config`.

Three properties matter:

- **Built for Lambda, not for this machine.** pip installs wheels only (`--only-binary=:all:`) for
  the runtime's platform and Python (`manylinux2014_<arch>`, CPython 3.12), so a compiled
  dependency (pydantic-core, cryptography) is the one Lambda can load, whatever machine deploys.
- **Reproducible.** Files go into the zip in sorted order with a fixed timestamp and fixed
  permissions, so the same sources give the same bytes and the same SHA-256. That hash is what
  Lambda reports as `CodeSha256`, so "is the deployed code current?" is one comparison, and a
  second deploy with the same sources uploads nothing.
- **The same sources on every machine.** pip installs from the architecture's lock
  (`agent_config/deploy/lambda-lock/<arch>.txt`, see `agent_config.deploy.lock`) with
  `--require-hashes`, not from `requirements.txt`'s ranges, so a new machine or an empty cache
  gets the very same wheels, not the newest ones. A lock older than `requirements.txt` stops the
  build before pip runs.

The dependency layer (pip's output) is cached under `.cache/lambda-deps/<key>/`, keyed by the
hash of the lock, the platform and the Python version; building it from a warm pip cache takes a
few seconds, from a cold one about a minute.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from agent_config.deploy.errors import PackagingFailed
from agent_config.deploy.lock import LOCK_COMMAND, check_lock
from agent_config.deploy.plan import LOCK_DIR, PackageSpec

ZIP_EPOCH: Final = (1980, 1, 1, 0, 0, 0)
"""The earliest timestamp a zip entry can hold: fixed, so builds are byte-identical."""
FILE_MODE: Final = 0o644 << 16
PACKAGE_DIR: Final = "agent_config"
EXCLUDED_PARTS: Final = frozenset({"__pycache__", "sandbox", "tests", Path(LOCK_DIR).name})
"""`agent_config/sandbox` is the local AWS world of the tests and demo, never used by the Lambda;
the locks are build inputs, not code."""
EXCLUDED_TOP: Final = frozenset({"bin"})
"""pip's console scripts carry this machine's interpreter path and are useless in Lambda."""
EXCLUDED_SUFFIXES: Final = (".pyc", ".pyo")
MAX_DIRECT_UPLOAD_BYTES: Final = 50 * 1024 * 1024
"""Lambda's limit for a zip uploaded in the API call itself (larger packages need S3)."""


@dataclass(frozen=True)
class BuiltPackage:
    """A built zip: its bytes, and the hashes Lambda and people compare."""

    path: Path
    size: int
    sha256_hex: str
    sha256_b64: str
    """Lambda's `CodeSha256` format."""
    files: int
    dependencies_cached: bool
    build_seconds: float

    def read(self) -> bytes:
        return self.path.read_bytes()


def project_root() -> Path:
    return Path(__file__).resolve().parents[2]


def dependency_cache_key(spec: PackageSpec) -> str:
    """The lock decides the layer's contents, so its hash (with the platform and Python) names the cache."""
    return (spec.lock_sha256 or "no-lock")[:16] + f"-{spec.platform}-cp{spec.python_version.replace('.', '')}"


def pip_command(spec: PackageSpec, lock: Path, target: Path) -> list[str]:
    """pip's options for a Lambda-compatible dependency layer: the lock's exact wheels, hashes checked,
    for the runtime's platform only (pip also refuses a dependency the lock does not pin)."""
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--platform",
        spec.platform,
        "--only-binary=:all:",
        "--python-version",
        spec.python_version,
        "--implementation",
        "cp",
        "--target",
        str(target),
        "--no-compile",
        "--disable-pip-version-check",
        "--quiet",
        "--require-hashes",
        "-r",
        str(lock),
    ]


def checked_lock(spec: PackageSpec, root: Path) -> Path:
    """The lock file, after making sure it exists and covers `requirements.txt` (else one sentence)."""
    lock = root / spec.lock_file
    if not lock.is_file():
        raise PackagingFailed(
            f"There is no Lambda lock for {spec.architecture.value} ({spec.lock_file}).",
            f"Run `{LOCK_COMMAND}` (it needs PyPI) and keep the lock with {spec.requirements_file}.",
        )
    check_lock(
        (root / spec.requirements_file).read_text(encoding="utf-8"), lock.read_text(encoding="utf-8"), spec.lock_file
    )
    return lock


def build_dependencies(spec: PackageSpec, root: Path, cache_dir: Path) -> tuple[Path, bool]:
    """The cached dependency folder for `spec`, built with pip on a cache miss; (folder, was_cached).

    The lock is checked against `requirements.txt` first, even on a cache hit: the cache is keyed
    by the lock, so a stale lock would otherwise be reused silently.
    """
    lock = checked_lock(spec, root)
    target = cache_dir / "lambda-deps" / dependency_cache_key(spec)
    if (target / ".complete").exists():
        return target, True
    work = Path(tempfile.mkdtemp(prefix="deps-", dir=cache_dir))
    try:
        result = subprocess.run(
            pip_command(spec, lock, work),
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "PIP_NO_INPUT": "1"},
        )
        if result.returncode != 0:
            tail = "\n".join(line for line in result.stderr.splitlines()[-15:] if "is ignored" not in line)
            raise PackagingFailed(
                f"pip could not build the Lambda dependencies for {spec.platform} / Python "
                f"{spec.python_version}: {tail.strip() or 'see pip output'}",
                f"Every pin of {spec.lock_file} needs its wheel with that hash; check your access to PyPI, "
                f"or run `{LOCK_COMMAND}` if a wheel was withdrawn.",
            )
        (work / ".complete").write_text(f"{spec.lock_sha256}\n", encoding="utf-8")
        shutil.rmtree(target, ignore_errors=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        work.rename(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target, False


def _walk(base: Path, prefix: str, top_level: bool) -> Iterator[tuple[str, Path]]:
    for path in base.rglob("*"):
        if not path.is_file():
            continue
        relative = path.relative_to(base)
        if relative.name == ".complete" and len(relative.parts) == 1:
            continue
        if top_level and relative.parts[0] in EXCLUDED_TOP:
            continue
        if EXCLUDED_PARTS.intersection(relative.parts) or relative.suffix in EXCLUDED_SUFFIXES:
            continue
        yield f"{prefix}{relative.as_posix()}", path


def package_entries(dependencies: Path, root: Path) -> list[tuple[str, Path]]:
    """Every (archive name, source file) in the zip, sorted by archive name (the reproducible order)."""
    entries = dict(_walk(dependencies, "", top_level=True))
    entries.update(_walk(root / PACKAGE_DIR, f"{PACKAGE_DIR}/", top_level=False))
    return sorted(entries.items())


def write_zip(entries: list[tuple[str, Path]], destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_suffix(".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, source in entries:
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            info.external_attr = FILE_MODE
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, whatever machine builds it
            archive.writestr(info, source.read_bytes(), compresslevel=9)
    partial.replace(destination)


def contents_digest(entries: list[tuple[str, Path]]) -> str:
    """A hash of every archive name and file content: equal digests give byte-identical zips."""
    digest = hashlib.sha256()
    for name, source in entries:
        digest.update(name.encode() + b"\0" + hashlib.sha256(source.read_bytes()).digest())
    return digest.hexdigest()


def build_package(spec: PackageSpec, root: Path | None = None, cache_dir: Path | None = None) -> BuiltPackage:
    """Build (or reuse) the dependency layer and write the reproducible zip under the cache folder.

    The zip itself is reused when nothing in it changed (same contents digest): compressing 70 MB
    of dependencies is most of the build time once pip's output is cached.
    """
    started = time.perf_counter()
    root = root or project_root()
    cache_dir = cache_dir or root / ".cache"
    cache_dir.mkdir(parents=True, exist_ok=True)
    ignore = cache_dir / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# build cache of deploy_enhanced_security_agent.py\n*\n", encoding="utf-8")
    dependencies, cached = build_dependencies(spec, root, cache_dir)
    entries = package_entries(dependencies, root)
    destination = cache_dir / "packages" / f"{dependency_cache_key(spec)}-{contents_digest(entries)[:16]}.zip"
    if not destination.exists():
        for stale in destination.parent.glob(f"{dependency_cache_key(spec)}-*.zip"):
            stale.unlink()
        write_zip(entries, destination)
    data = destination.read_bytes()
    digest = hashlib.sha256(data).digest()
    return BuiltPackage(
        path=destination,
        size=len(data),
        sha256_hex=digest.hex(),
        sha256_b64=base64.b64encode(digest).decode("ascii"),
        files=len(entries),
        dependencies_cached=cached,
        build_seconds=time.perf_counter() - started,
    )
