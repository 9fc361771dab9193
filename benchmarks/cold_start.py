"""A5. The vend handler's import time (the part of a Lambda cold start that is ours) and the asset's size.

Three ways, each a fresh interpreter per run, median of several runs, `-X importtime`, summing the
cumulative time of the top-level imports that `import handlers.vend` adds to a bare interpreter:
- venv: `python -X importtime -c "import handlers.vend"` with this venv (Python 3.11, bytecode cached),
  the environment as devstack sets it (tracing and metrics disabled);
- as in Lambda: Python 3.13 (the functions' runtime) with only the built asset (infra/asset.py) and the
  runtime's boto3/botocore/s3transfer on the path, the deployed function's environment (LAMBDA_TASK_ROOT set,
  so Powertools' Tracer is on and patches), the runtime's own modules precompiled, and the asset compiled
  from source on every start as it is in Lambda (the asset ships no .pyc and /var/task is read-only);
- the same with the asset precompiled, which is what shipping .pyc files would give.
The asset's C extensions are built for arm64; on this x86_64 machine their pure-Python fallbacks load.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
import zipfile
from pathlib import Path

from benchmarks import LAMBDAS, ROOT
from benchmarks.report import Row, Section

NAME = "cold_start"
TITLE = "A5. Vend handler import time and the deployed asset's size"
AIM_SECONDS = 0.150
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
LAMBDA_PYTHON = ("/root/.pyenv/versions/3.13.0/bin/python3.13", "python3.13")
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")  # what the Lambda Python runtime brings
CONFIG = {
    "SELLERTOKEN_PREFIX": "sellertoken",
    "SELLERTOKEN_TABLE_NAME": "sellertoken",
    "SELLERTOKEN_KMS_KEY_ID": "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000",
    "SELLERTOKEN_EVENT_BUS_NAME": "sellertoken",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
}


def run(*, quick: bool = False, runs: int | None = None) -> Section:
    runs = runs or (2 if quick else 7)
    rows: list[Row] = []
    notes: list[str] = []
    venv_env = {
        **CONFIG,
        "PYTHONPATH": str(LAMBDAS),
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }
    venv = _import_time([str(VENV_PYTHON)], venv_env, runs)
    rows.append(
        Row(
            '`python -X importtime -c "import handlers.vend"`, this venv (Python 3.11, .pyc cached, tracing off)',
            _figure(venv),
            "≤ 150 ms",
            venv["median"] <= AIM_SECONDS,
        )
    )
    notes.append("Heaviest imports under `handlers.vend`, venv (cumulative ms): " + _heaviest(venv))
    notes += _xray(venv, "venv")

    asset, error = _asset()
    if asset is None:
        rows.append(Row("deployed asset (infra/asset.py)", f"not built here: {error}"))
        return Section(NAME, TITLE, rows, notes)
    size = _du(asset)
    zipped = _zipped_size(asset)
    rows.append(
        Row(
            f"deployed asset `{asset.relative_to(ROOT)}` (handlers, sellertoken, dependencies; boto3 is the runtime's)",
            f"{size / 1e6:.2f} MB unzipped ({size:,} bytes, `du -sb` of the bundle), {zipped / 1e6:.2f} MB zipped",
            "Lambda: ≤ 250 MB unzipped, ≤ 50 MB zipped",
            size <= 250e6 and zipped <= 50e6,
        )
    )
    python = next((p for p in LAMBDA_PYTHON if shutil.which(p)), None)
    if python is None:
        rows.append(Row("import time as in Lambda (Python 3.13)", "not measured: no python3.13 on this machine"))
        return Section(NAME, TITLE, rows, notes)
    cold, warm = _lambda_like(python, asset, runs)
    rows.append(
        Row(
            "as in Lambda: Python 3.13, the asset alone compiled from source (no .pyc shipped), tracer on",
            _figure(cold),
            "≤ 150 ms",
            cold["median"] <= AIM_SECONDS,
        )
    )
    rows.append(
        Row(
            "as in Lambda, the asset precompiled (if it shipped .pyc for 3.13)",
            _figure(warm),
            "≤ 150 ms",
            warm["median"] <= AIM_SECONDS,
        )
    )
    notes += _xray(cold, "as in Lambda, from source")
    notes.append(
        f"Shipping the asset's bytecode would save {(cold['median'] - warm['median']) * 1000:.0f} ms per cold start: "
        "infra/asset.py installs with --no-compile and leaves __pycache__ out, and Lambda cannot write it."
    )
    notes.append(
        "Heaviest imports under `handlers.vend`, as in Lambda, from source (cumulative ms): " + _heaviest(cold)
    )
    return Section(NAME, TITLE, rows, notes)


def _figure(result: dict) -> str:
    low, high = min(result["runs"]), max(result["runs"])
    return f"{result['median'] * 1000:.0f} ms median of {len(result['runs'])} runs ({low * 1000:.0f}-{high * 1000:.0f})"


def _xray(result: dict, where: str) -> list[str]:
    """How much of the import is the X-Ray SDK, which Powertools' Tracer pulls in at module load."""
    seconds = sum(c for name, c in result["all"] if name.split(".")[0] == "aws_xray_sdk")
    if not seconds:
        return []
    share = seconds / result["median"] * 100
    return [
        f"{where}: the X-Ray SDK (aws_xray_sdk, its recorder and its patches) takes {seconds * 1000:.0f} ms, "
        f"{share:.0f}% of the import; it comes from the `Tracer()` that sellertoken/observability.py creates at "
        "import (its recorder builds botocore clients for X-Ray sampling), and the vend handler never traces."
    ]


def _heaviest(result: dict, count: int = 8) -> str:
    return ", ".join(f"{name} {seconds * 1000:.0f}" for name, seconds in result["heaviest"][:count])


# -- -X importtime --------------------------------------------------------------------------------


def _parse(stderr: str) -> list[tuple[int, str, float]]:
    """(depth, module, cumulative seconds) for each `import time:` line."""
    entries = []
    for raw in stderr.splitlines():
        if not raw.startswith("import time:") or "cumulative" in raw:
            continue
        _, cumulative, name = raw[len("import time:") :].split("|")
        depth = (len(name) - len(name.lstrip(" ")) - 1) // 2
        entries.append((depth, name.strip(), int(cumulative) / 1e6))
    return entries


def _once(command: list[str], env: dict[str, str], code: str) -> list[tuple[int, str, float]]:
    done = subprocess.run(
        [*command, "-X", "importtime", "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tempfile.gettempdir(),
    )
    if done.returncode != 0:
        raise RuntimeError(f"import failed ({' '.join(command)}):\n{done.stderr[-3000:]}")
    return _parse(done.stderr)


def _import_time(command: list[str], env: dict[str, str], runs: int) -> dict:
    env = {"PATH": os.environ.get("PATH", ""), **env}
    baseline = {name for depth, name, _ in _once(command, env, "pass") if depth == 0}
    totals, last = [], []
    for _ in range(runs):
        entries = _once(command, env, "import handlers.vend")
        totals.append(sum(c for depth, name, c in entries if depth == 0 and name not in baseline))
        last = entries
    children = [(name, c) for depth, name, c in last if depth in (1, 2)]
    heaviest = sorted(children, key=lambda item: item[1], reverse=True)
    # Outermost entries only, so that nested X-Ray modules are not counted twice.
    outermost, inside = [], None
    for depth, name, c in reversed(last):  # a parent's line follows its children's
        if inside is not None and depth > inside:
            continue
        inside = depth if name.split(".")[0] == "aws_xray_sdk" else None
        outermost.append((name, c))
    return {"median": statistics.median(totals), "runs": totals, "heaviest": heaviest, "all": outermost}


# -- the asset --------------------------------------------------------------------------------------


def _asset() -> tuple[Path | None, str]:
    try:
        from infra.asset import build_lambda_asset

        return build_lambda_asset(), ""
    except Exception as exc:  # noqa: BLE001 - reported instead of the figure
        return None, f"{type(exc).__name__}: {str(exc)[:200]}"


def _du(folder: Path) -> int:
    """`du -sb` (apparent size, directories included), or the files' sizes where du is missing."""
    du = shutil.which("du")
    if du:
        done = subprocess.run([du, "-sb", str(folder)], capture_output=True, text=True, check=False)
        if done.returncode == 0:
            return int(done.stdout.split()[0])
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _zipped_size(folder: Path) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "asset.zip"
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(folder))
        return target.stat().st_size


def _lambda_like(python: str, asset: Path, runs: int) -> tuple[dict, dict]:
    """Import times with sys.path = [asset, runtime packages], Lambda's environment, pyc in a private prefix."""
    site = next((ROOT / ".venv" / "lib").glob("python3*/site-packages"))
    with tempfile.TemporaryDirectory(prefix="sellertoken-bench-") as tmp:
        runtime = Path(tmp) / "runtime"
        runtime.mkdir()
        for name in RUNTIME_PROVIDED:
            (runtime / name).symlink_to(site / name)
        prefix = Path(tmp) / "pycache"
        env = {
            **CONFIG,
            "PYTHONPATH": f"{asset}{os.pathsep}{runtime}",
            "PYTHONPYCACHEPREFIX": str(prefix),
            "LAMBDA_TASK_ROOT": str(asset),
            "AWS_LAMBDA_FUNCTION_NAME": "sellertoken-vend",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
            "POWERTOOLS_SERVICE_NAME": "sellertoken",
            "POWERTOOLS_METRICS_NAMESPACE": "SellerToken",
            "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
        }
        command = [python, "-S"]
        _once(command, {"PATH": os.environ.get("PATH", ""), **env}, "import handlers.vend")  # fills the prefix
        warm = _import_time([*command, "-B"], env, runs)
        mirror = prefix / str(asset).lstrip(os.sep)
        shutil.rmtree(mirror, ignore_errors=True)  # the asset's bytecode goes; stdlib and boto3 keep theirs
        cold = _import_time([*command, "-B"], env, runs)
    return cold, warm
