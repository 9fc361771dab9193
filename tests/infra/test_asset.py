"""The one Lambda asset: built without Docker, only the two source packages plus arm64 dependencies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.asset import LAMBDAS_DIR, SOURCE_PACKAGES, build_lambda_asset

NEVER_SHIPPED = ("tests", "devstack", "infra", "bin", "benchmarks", "boto3", "botocore")


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


def test_asset_holds_nothing_from_tests_devstack_or_infra_and_no_bytecode(asset):
    for name in NEVER_SHIPPED:
        assert not (asset / name).exists(), name
    assert not list(asset.rglob("__pycache__"))
    assert not list(asset.rglob("*.pyc"))


def test_compiled_dependencies_are_built_for_arm64_linux(asset):
    binaries = list(asset.rglob("*.so"))
    assert binaries, "expected at least one compiled wheel (charset_normalizer)"
    assert all("aarch64" in b.name for b in binaries), binaries


def test_repeated_builds_reuse_the_same_bundle(asset):
    assert build_lambda_asset() == asset


def test_all_three_functions_share_the_asset_synth_staged(default):
    keys = {f["Properties"]["Code"]["S3Key"] for f in default.resources("AWS::Lambda::Function").values()}
    assert len(keys) == 1
    (key,) = keys
    staged = default.outdir / f"asset.{key.removesuffix('.zip')}"
    assert (staged / "handlers").is_dir() and (staged / "sellertoken").is_dir()
    assets = json.loads((default.outdir / f"{default.stack.artifact_id}.assets.json").read_text())
    assert all(not a.get("source", {}).get("executable") for a in assets["files"].values())  # no Docker
