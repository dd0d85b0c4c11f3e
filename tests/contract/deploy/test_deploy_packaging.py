"""The Lambda package: pip is asked for the runtime's platform with wheels only, and the zip is
reproducible (sorted, fixed timestamps and permissions) and leaves out what Lambda must not get."""

from __future__ import annotations

import zipfile
from pathlib import Path

from agent_config.deploy.packaging import (
    ZIP_EPOCH,
    build_package,
    dependency_cache_key,
    package_entries,
    pip_command,
    write_zip,
)
from agent_config.deploy.plan import Architecture, PackageSpec


def spec(arch: Architecture = Architecture.ARM64) -> PackageSpec:
    return PackageSpec(requirements_sha256="ab" * 32, platform=arch.pip_platform, architecture=arch)


def test_pip_builds_for_the_lambda_platform_from_wheels_only() -> None:
    command = pip_command(spec(), Path("requirements.txt"), Path("/tmp/t"))
    joined = " ".join(command)
    assert "--platform manylinux2014_aarch64" in joined
    assert "--only-binary=:all:" in command
    assert "--python-version 3.12" in joined and "--implementation cp" in joined
    assert "--target /tmp/t" in joined and "-r requirements.txt" in joined
    assert spec(Architecture.X86_64).platform == "manylinux2014_x86_64"
    assert dependency_cache_key(spec()) == "abababababababab-manylinux2014_aarch64-cp312"


def fake_tree(root: Path) -> tuple[Path, Path]:
    deps = root / "deps"
    for name in ("pkg/__init__.py", "pkg/mod.py", "pkg/__pycache__/mod.cpython-312.pyc", "bin/tool", "z.py"):
        path = deps / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(name)
    (deps / ".complete").write_text("done")
    project = root / "project"
    for name in (
        "agent_config/__init__.py",
        "agent_config/sandbox/world.py",
        "agent_config/data.json",
        "agent_config/deploy/agentcore_events.py",
    ):
        path = project / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(name)
    return deps, project


def test_the_zip_is_sorted_without_caches_scripts_or_the_sandbox(tmp_path: Path) -> None:
    deps, project = fake_tree(tmp_path)
    names = [name for name, _ in package_entries(deps, project)]
    assert names == sorted(names)
    assert names == [
        "agent_config/__init__.py",
        "agent_config/data.json",
        "agent_config/deploy/agentcore_events.py",
        "pkg/__init__.py",
        "pkg/mod.py",
        "z.py",
    ]


def test_the_same_sources_give_the_same_bytes(tmp_path: Path) -> None:
    deps, project = fake_tree(tmp_path)
    first, second = tmp_path / "a.zip", tmp_path / "b.zip"
    write_zip(package_entries(deps, project), first)
    (deps / "z.py").touch()  # a newer mtime must not change the archive
    write_zip(package_entries(deps, project), second)
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as archive:
        assert {info.date_time for info in archive.infolist()} == {ZIP_EPOCH}
        assert {info.external_attr >> 16 for info in archive.infolist()} == {0o644}


def test_a_cached_dependency_layer_is_reused_and_the_result_reported(tmp_path: Path) -> None:
    deps, project = fake_tree(tmp_path)
    (project / "requirements.txt").write_text("nothing\n")
    cache = tmp_path / "cache"
    layer = cache / "lambda-deps" / dependency_cache_key(spec())
    layer.parent.mkdir(parents=True)
    deps.rename(layer)  # a layer pip built earlier (marked complete)
    built = build_package(spec(), root=project, cache_dir=cache)
    again = build_package(spec(), root=project, cache_dir=cache)
    assert built.dependencies_cached and again.dependencies_cached
    assert built.sha256_hex == again.sha256_hex and built.path == again.path
    assert built.files == 6 and built.size == built.path.stat().st_size
    assert (cache / ".gitignore").read_text().endswith("*\n")
