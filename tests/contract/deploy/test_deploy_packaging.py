"""The Lambda package: pip is asked for the runtime's platform with wheels only, from the
architecture's lock with hashes required; the lock covers requirements.txt (a stale one stops the
build in one sentence); and the zip is reproducible (sorted, fixed timestamps and permissions) and
leaves out what Lambda must not get."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from agent_config.deploy.errors import PackagingFailed
from agent_config.deploy.lock import check_lock, parse_lock, parse_requirements, pins_from_report, render_lock
from agent_config.deploy.packaging import (
    ZIP_EPOCH,
    build_package,
    dependency_cache_key,
    package_entries,
    pip_command,
    project_root,
    write_zip,
)
from agent_config.deploy.plan import REQUIREMENTS_FILE, Architecture, PackageSpec, lock_file

HASH_A, HASH_B = "a" * 64, "b" * 64


def spec(arch: Architecture = Architecture.ARM64) -> PackageSpec:
    return PackageSpec(
        requirements_sha256="ab" * 32,
        lock_file=lock_file(arch),
        lock_sha256="cd" * 32,
        platform=arch.pip_platform,
        architecture=arch,
    )


def test_pip_builds_for_the_lambda_platform_from_the_lock_with_hashes() -> None:
    command = pip_command(spec(), Path("agent_config/deploy/lambda-lock/arm64.txt"), Path("/tmp/t"))
    joined = " ".join(command)
    assert "--platform manylinux2014_aarch64" in joined
    assert "--only-binary=:all:" in command and "--require-hashes" in command
    assert "--python-version 3.12" in joined and "--implementation cp" in joined
    assert "--target /tmp/t" in joined and "-r agent_config/deploy/lambda-lock/arm64.txt" in joined
    assert spec(Architecture.X86_64).platform == "manylinux2014_x86_64"
    assert dependency_cache_key(spec()) == "cdcdcdcdcdcdcdcd-manylinux2014_aarch64-cp312"  # the lock's hash


# ---------------------------------------------------------------------------------------------
# The lock
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("arch", list(Architecture))
def test_the_committed_lock_pins_and_hashes_every_requirement(arch: Architecture) -> None:
    root = project_root()
    requirements = parse_requirements((root / REQUIREMENTS_FILE).read_text(encoding="utf-8"))
    text = (root / lock_file(arch)).read_text(encoding="utf-8")
    pins = check_lock((root / REQUIREMENTS_FILE).read_text(encoding="utf-8"), text, lock_file(arch))
    assert set(requirements) <= set(pins)
    for pin in pins.values():
        assert pin.version and pin.hashes and all(len(h) == 64 for h in pin.hashes), pin
    assert f"# The Lambda package's dependencies for {arch.pip_platform}" in text
    assert "make lambda-lock" in text


def test_both_architectures_lock_the_same_versions() -> None:
    root = project_root()
    x86, arm = (parse_lock((root / lock_file(a)).read_text(encoding="utf-8")) for a in Architecture)
    assert {n: p.version for n, p in x86.items()} == {n: p.version for n, p in arm.items()}


def test_a_lock_without_a_requirement_fails_in_one_sentence_naming_it_and_the_command() -> None:
    lock = render_lock(pins_from_report(report(("boto3", "1.44.8", HASH_A))), Architecture.X86_64)
    with pytest.raises(PackagingFailed) as failure:
        check_lock("boto3>=1.40,<2\nhttpx2>=2.16,<3\n", lock, "lambda-lock/x86_64.txt")
    assert failure.value.message == (
        "The Lambda lock lambda-lock/x86_64.txt is older than requirements.txt: it has no pin for httpx2."
    )
    assert "make lambda-lock" in failure.value.fix


def test_a_lock_pinning_a_version_outside_the_range_is_stale_too() -> None:
    lock = render_lock(pins_from_report(report(("boto3", "1.44.8", HASH_A))), Architecture.X86_64)
    with pytest.raises(PackagingFailed, match=r"it pins boto3 1\.44\.8, outside >=1\.45,<2"):
        check_lock("boto3>=1.45,<2\n", lock, "x86_64.txt")


@pytest.mark.parametrize(
    "entry",
    ["boto3>=1.44 \\\n    --hash=sha256:" + HASH_A, "boto3==1.44.8", "boto3==1.44.8 --hash=md5:abc"],
)
def test_a_lock_entry_not_pinned_or_not_hashed_is_refused(entry: str) -> None:
    with pytest.raises(PackagingFailed, match="not pinned with == and hashed"):
        parse_lock(entry + "\n")


def test_requirement_names_and_extras_are_matched_as_pip_matches_them() -> None:
    requirements = "# comment\naws-lambda-powertools[parser]>=3.37,<4  # why\nTyping_Extensions\n"
    assert parse_requirements(requirements) == {"aws-lambda-powertools": ">=3.37,<4", "typing-extensions": ""}
    lock = render_lock(
        pins_from_report(report(("aws_lambda_powertools", "3.37.0", HASH_A), ("typing-extensions", "4.15.0", HASH_B))),
        Architecture.ARM64,
    )
    pins = check_lock(requirements, lock, "arm64.txt")
    assert pins["aws-lambda-powertools"].hashes == (HASH_A,)


def report(*distributions: tuple[str, str, str]) -> dict[str, object]:
    """A `pip install --report` document (the fields the lock reads) for (name, version, sha256)."""
    return {
        "install": [
            {
                "metadata": {"name": name, "version": version},
                "download_info": {
                    "url": f"https://files.example/{name}.whl",
                    "archive_info": {"hashes": {"sha256": h}},
                },
            }
            for name, version, h in distributions
        ]
    }


def test_a_report_without_a_hash_cannot_be_locked() -> None:
    document = report(("boto3", "1.44.8", HASH_A))
    document["install"][0]["download_info"] = {"url": "file:///src/boto3", "dir_info": {}}  # type: ignore[index]
    with pytest.raises(PackagingFailed, match="no version or SHA-256 for boto3"):
        pins_from_report(document)


def test_a_stale_lock_stops_the_build_before_pip_and_before_the_cache(tmp_path: Path) -> None:
    # GIVEN a project whose requirements.txt gained a requirement after its lock was made,
    # and a dependency layer cached for that (old) lock
    deps, project = fake_tree(tmp_path)
    (project / "requirements.txt").write_text("nothing>=1\nsomething-new>=2\n")
    write_lock(project)
    cache = tmp_path / "cache"
    layer = cache / "lambda-deps" / dependency_cache_key(spec())
    layer.parent.mkdir(parents=True)
    deps.rename(layer)

    # WHEN the package is built, THEN it stops with the one sentence and the command
    with pytest.raises(PackagingFailed, match=r"older than requirements\.txt: it has no pin for something-new"):
        build_package(spec(), root=project, cache_dir=cache)


def test_a_missing_lock_stops_the_build_naming_the_command(tmp_path: Path) -> None:
    _, project = fake_tree(tmp_path)
    (project / "requirements.txt").write_text("nothing>=1\n")
    with pytest.raises(PackagingFailed, match=r"There is no Lambda lock for arm64") as failure:
        build_package(spec(), root=project, cache_dir=tmp_path / "cache")
    assert "make lambda-lock" in failure.value.fix


def write_lock(project: Path) -> None:
    path = project / lock_file(Architecture.ARM64)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_lock(pins_from_report(report(("nothing", "1.0", HASH_A))), Architecture.ARM64))


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
        "agent_config/deploy/lambda-lock/x86_64.txt",
    ):
        path = project / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(name)
    return deps, project


def test_the_zip_is_sorted_without_caches_scripts_the_sandbox_or_the_locks(tmp_path: Path) -> None:
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
    write_lock(project)
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
