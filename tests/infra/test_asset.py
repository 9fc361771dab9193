"""The one Lambda asset: built without Docker, only the two source packages plus arm64 dependencies, every
module with bytecode for the runtime the stack declares."""

from __future__ import annotations

import _imp
import json
import shutil
from pathlib import Path

import pytest

from infra import asset as asset_builder
from infra.asset import BUILD_DIR, LAMBDAS_DIR, SOURCE_PACKAGES, build_lambda_asset

NEVER_SHIPPED = ("tests", "devstack", "infra", "bin", "benchmarks", "boto3", "botocore")
# CPython's MAGIC_NUMBER per runtime (Lib/importlib/_bootstrap_external.py: 3571 is "3.13 final"); a
# .pyc whose first two bytes differ is ignored by that interpreter, which then compiles the source.
MAGIC = {"python3.13": 3571}
UNCHECKED_HASH = 0b01  # PEP 552 flags: hash-based, source not checked


def _staged(synth) -> Path:
    (key,) = {f["Properties"]["Code"]["S3Key"] for f in synth.resources("AWS::Lambda::Function").values()}
    return synth.outdir / f"asset.{key.removesuffix('.zip')}"


def _declared_runtime(synth) -> str:
    (runtime,) = {f["Properties"]["Runtime"] for f in synth.resources("AWS::Lambda::Function").values()}
    return runtime


def _bytecode_of(source: Path, runtime: str) -> Path:
    tag = "cpython-" + runtime.removeprefix("python").replace(".", "")
    return source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc"


@pytest.fixture(scope="module")
def asset() -> Path:
    return build_lambda_asset()


def test_asset_holds_both_source_packages_and_the_runtime_dependencies(asset):
    for name in (*SOURCE_PACKAGES, "aws_lambda_powertools", "requests"):
        assert (asset / name).is_dir(), name


def test_source_packages_are_copied_whole_and_nothing_else_from_lambdas(asset):
    for package in SOURCE_PACKAGES:
        source = {
            p.relative_to(LAMBDAS_DIR) for p in (LAMBDAS_DIR / package).rglob("*.py") if "__pycache__" not in p.parts
        }
        shipped = {p.relative_to(asset) for p in (asset / package).rglob("*.py")}
        assert shipped == source
    assert not (asset / "requirements.txt").exists()
    # lambdas/ is installed editable for development: its project file and metadata stay out of the asset.
    assert not (asset / "pyproject.toml").exists()
    assert not list(asset.glob("sellertoken_broker*"))


def test_asset_holds_nothing_from_tests_devstack_or_infra(asset):
    for name in NEVER_SHIPPED:
        assert not (asset / name).exists(), name


def test_every_module_the_functions_deploy_has_bytecode_for_the_runtime_the_stack_declares(default):
    staged, runtime = _staged(default), _declared_runtime(default)
    sources = sorted(staged.rglob("*.py"))
    assert len(sources) > 100  # the dependencies are there too
    for source in sources:
        header = _bytecode_of(source, runtime).read_bytes()[:16]
        assert int.from_bytes(header[:2], "little") == MAGIC[runtime], source
        assert int.from_bytes(header[4:8], "little") == UNCHECKED_HASH, source  # Lambda cannot rewrite it


def test_only_the_runtimes_bytecode_is_shipped_never_this_machines(default):
    staged, runtime = _staged(default), _declared_runtime(default)
    expected = {_bytecode_of(source, runtime) for source in staged.rglob("*.py")}
    assert set(staged.rglob("*.pyc")) == expected
    assert not list(staged.rglob("*.pyo"))


def test_bytecode_was_compiled_from_the_source_shipped_beside_it(asset):
    # Unchecked-hash bytecode is run without looking at the source: a stale one would run old code.
    runtime = f"python{asset_builder.LAMBDA_PYTHON}"
    for source in asset.rglob("*.py"):
        header = _bytecode_of(source, runtime).read_bytes()[:16]
        assert header[8:16] == _imp.source_hash(int.from_bytes(header[:4], "little"), source.read_bytes()), source


def test_bytecode_names_the_lambda_task_root_never_this_machines_build_folder(asset):
    build_path = str(BUILD_DIR).encode()
    for package in SOURCE_PACKAGES:
        for pyc in (asset / package).rglob("*.pyc"):
            data = pyc.read_bytes()
            assert build_path not in data and b"/var/task/" + package.encode() in data, pyc


def test_a_module_that_does_not_compile_fails_the_build_naming_it(tmp_path):
    # Given a package with a syntax error, when it is compiled for the runtime, then the build stops.
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "ok.py").write_text("VALUE = 1\n")
    (tmp_path / "pkg" / "broken.py").write_text("def broken(:\n")
    with pytest.raises(RuntimeError, match=r"broken\.py"):
        asset_builder._compile(asset_builder._compiler(), tmp_path, "pkg")


def test_a_compiler_of_another_python_than_the_runtime_is_refused(tmp_path, monkeypatch):
    (tmp_path / "module.py").write_text("VALUE = 1\n")
    monkeypatch.setattr(asset_builder, "LAMBDA_PYTHON", "3.12")
    with pytest.raises(RuntimeError, match=r"Pyodide runs Python 3\.13, the functions' runtime is Python 3\.12"):
        asset_builder._compile(asset_builder._compiler(), tmp_path)
    assert not list(tmp_path.rglob("*.pyc"))


def test_a_machine_without_node_is_told_what_the_build_needs(tmp_path, monkeypatch):
    compiler = asset_builder._compiler()
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match=r"needs Node\.js and npm"):
        asset_builder._compile(compiler, tmp_path)


def test_compiled_dependencies_are_built_for_arm64_linux(asset):
    binaries = list(asset.rglob("*.so"))
    assert binaries, "expected at least one compiled wheel (charset_normalizer)"
    assert all("aarch64" in b.name for b in binaries), binaries


def test_repeated_builds_reuse_the_same_bundle(asset):
    assert build_lambda_asset() == asset


def test_all_three_functions_share_the_asset_synth_staged(default):
    staged = _staged(default)
    assert (staged / "handlers").is_dir() and (staged / "sellertoken").is_dir()
    assets = json.loads((default.outdir / f"{default.stack.artifact_id}.assets.json").read_text())
    assert all(not a.get("source", {}).get("executable") for a in assets["files"].values())  # no Docker
