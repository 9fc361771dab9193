"""A5. Each function's init as Lambda runs it (`import handlers.<fn>`), with and without shipped bytecode.

As in Lambda: a fresh interpreter of the functions' runtime (Python LAMBDA_PYTHON, infra/asset.py) per run,
nothing on sys.path but the built asset (infra/asset.py, what CDK zips) and the runtime's own boto3/botocore/
s3transfer (copied from this venv and compiled by that interpreter, as the Lambda runtime ships them), the
deployed function's environment (LAMBDA_TASK_ROOT set, so Powertools' Tracer is on where a function makes one),
and no bytecode written (`-B`, as on Lambda's read-only /var/task).
- before: the same asset with every __pycache__ removed, which is what the asset was until it shipped bytecode:
  every module of ours and of our dependencies is compiled from source on every cold start;
- after: the asset as built, each module with its unchecked-hash .pyc for the runtime.
Init = wall time of `importlib.import_module("handlers.<fn>")` inside the process (interpreter start-up not
counted), p50 over fresh processes; CPU time of the same import beside it, less disturbed by other work on
the machine. Runs alternate between functions and variants so that load falls on all alike. Lambda's own
bootstrap imports a few standard modules (json, logging, traceback) before the handler: they are counted here.
A note splits what remains by library (-X importtime), for deciding what else could be left for later.
The asset's C extensions are built for arm64; on an x86_64 machine their pure-Python fallbacks load.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import tempfile
import zipfile
from pathlib import Path

from benchmarks import ROOT
from benchmarks.report import Row, Section
from infra.asset import LAMBDA_PYTHON

NAME = "cold_start"
TITLE = "A5. Init time per function as Lambda runs it, and the deployed asset's size"
AIM_SECONDS = 0.150
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")  # what the Lambda Python runtime brings
CACHE = ROOT / "build" / "cold-start"
CONFIG = {
    "SELLERTOKEN_PREFIX": "sellertoken",
    "SELLERTOKEN_TABLE_NAME": "sellertoken",
    "SELLERTOKEN_KMS_KEY_ID": "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000",
    "SELLERTOKEN_EVENT_BUS_NAME": "sellertoken",
    "SELLERTOKEN_REDIRECT_URI": "https://sellertoken.example.com/callback",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_EXECUTION_ENV": "AWS_Lambda_python{version}",
    "POWERTOOLS_SERVICE_NAME": "sellertoken",
    "POWERTOOLS_METRICS_NAMESPACE": "SellerToken",
    "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
}
# Top-level modules by library, for the split of what remains once bytecode ships; a standard module is charged
# to the library whose import loaded it.
GROUPS = {
    "boto3/botocore and what they load": (
        "boto3",
        "botocore",
        "s3transfer",
        "urllib3",
        "dateutil",
        "jmespath",
        "six",
        "certifi",
    ),
    "Powertools": ("aws_lambda_powertools", "typing_extensions"),
    "X-Ray SDK": ("aws_xray_sdk", "wrapt"),
    "requests": ("requests", "charset_normalizer", "idna"),
    "sellertoken and handlers": ("sellertoken", "handlers"),
}
OTHER = "before the handler (encodings, site)"
# Runs in the measured process: the import alone, timed from inside.
TIMED_IMPORT = """
import importlib, json, sys, time
wall, cpu = time.perf_counter(), time.process_time()
importlib.import_module(sys.argv[1])
print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}))
"""
# Runs once per function and variant, untimed: which of the asset's modules were compiled from source.
COUNT_COMPILED = """
import importlib, importlib.machinery, json, sys
compiled = set()
original = importlib.machinery.SourceFileLoader.source_to_code
def source_to_code(self, data, path, **kwargs):
    compiled.add(path)
    return original(self, data, path, **kwargs)
importlib.machinery.SourceFileLoader.source_to_code = source_to_code
importlib.import_module(sys.argv[1])
asset = sys.argv[2]
print(json.dumps({"compiled": sum(p.startswith(asset) for p in compiled)}))
"""


def run(*, quick: bool = False, runs: int | None = None) -> Section:
    runs = runs or (3 if quick else 15)
    asset, error = _asset()
    if asset is None:
        return Section(NAME, TITLE, [Row("deployed asset (infra/asset.py)", f"not built here: {error}")])
    python = _interpreter(LAMBDA_PYTHON)
    with tempfile.TemporaryDirectory(prefix="sellertoken-cold-") as tmp:
        before = Path(tmp) / "asset-without-bytecode"
        shutil.copytree(asset, before, ignore=shutil.ignore_patterns("__pycache__"))
        rows = _size_rows(before, asset)
        if python is None:
            missing = f"not measured: no python{LAMBDA_PYTHON} on this machine"
            return Section(NAME, TITLE, [*rows, Row(f"init as in Lambda (Python {LAMBDA_PYTHON})", missing)])
        runtime = _runtime_packages(python)
        functions = sorted(p.stem for p in (asset / "handlers").glob("*.py") if p.stem != "__init__")
        variants = {"before": before, "after": asset}
        load_before = os.getloadavg()
        samples: dict[tuple[str, str], list[dict]] = {(fn, v): [] for fn in functions for v in variants}
        for _ in range(runs):
            for fn in functions:
                for variant, root in variants.items():
                    samples[(fn, variant)].append(_child(python, root, runtime, fn, TIMED_IMPORT, f"handlers.{fn}"))
        load_after = os.getloadavg()
        notes = []
        for fn in functions:
            for variant, root in variants.items():
                compiled = _child(python, root, runtime, fn, COUNT_COMPILED, f"handlers.{fn}", str(root))["compiled"]
                rows.append(_init_row(fn, variant, samples[(fn, variant)], compiled))
            saved = _p50(samples[(fn, "before")], "wall") - _p50(samples[(fn, "after")], "wall")
            notes.append(f"`handlers.{fn}`: shipping bytecode saves {saved * 1000:.0f} ms of wall p50 per cold start.")
        notes.append(
            f"Interpreter: `{python}`; load average (1, 5, 15 min) {_load(load_before)} before the runs, "
            f"{_load(load_after)} after, on {os.cpu_count()} cores shared with other work."
        )
        for fn in functions:
            split = _split(python, asset, runtime, fn)
            notes.append(f"`handlers.{fn}` with bytecode, where the import goes (-X importtime self ms): {split}")
    return Section(NAME, TITLE, rows, notes)


def _init_row(fn: str, variant: str, samples: list[dict], compiled: int) -> Row:
    after = variant == "after"
    label = "after: the asset as built, with bytecode" if after else "before: the asset without bytecode"
    wall = sorted(s["wall"] for s in samples)
    return Row(
        f"init `import handlers.{fn}`, Python {LAMBDA_PYTHON} as in Lambda, {label}",
        f"wall p50 {_p50(samples, 'wall') * 1000:.0f} ms (best {wall[0] * 1000:.0f}, worst {wall[-1] * 1000:.0f}), "
        f"CPU p50 {_p50(samples, 'cpu') * 1000:.0f} ms; {compiled} of the asset's files compiled from source per "
        f"start; {len(samples)} fresh processes",
        "≤ 150 ms wall p50" if after else "—",
        _p50(samples, "wall") <= AIM_SECONDS if after else None,
    )


def _p50(samples: list[dict], key: str) -> float:
    return statistics.median(s[key] for s in samples)


def _load(load: tuple[float, float, float]) -> str:
    return ", ".join(f"{x:.1f}" for x in load)


# -- the processes ---------------------------------------------------------------------------------


def _interpreter(version: str) -> str | None:
    """A CPython of the runtime's version that runs: pyenv's, or one on PATH (a pyenv shim may not run)."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates = [str(p) for p in sorted(pyenv.glob(f"{version}.*/bin/python{version}"), reverse=True)]
    candidates += [found for found in [shutil.which(f"python{version}")] if found]
    for candidate in candidates:
        probe = [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2], sys.implementation.name)"]
        done = subprocess.run(probe, capture_output=True, text=True, check=False)
        if done.returncode == 0 and done.stdout.split() == [version, "cpython"]:
            return candidate
    return None


def _environment(root: Path, runtime: Path, fn: str) -> dict[str, str]:
    env = {key: value.format(version=LAMBDA_PYTHON) for key, value in CONFIG.items()}
    return {
        **env,
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": f"{root}{os.pathsep}{runtime}",
        "LAMBDA_TASK_ROOT": str(root),
        "AWS_LAMBDA_FUNCTION_NAME": f"sellertoken-{fn}",
    }


def _child(python: str, root: Path, runtime: Path, fn: str, code: str, *args: str) -> dict:
    done = subprocess.run(
        [python, "-S", "-B", "-c", code, *args],
        env=_environment(root, runtime, fn),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tempfile.gettempdir(),
    )
    if done.returncode != 0:
        raise RuntimeError(f"import of handlers.{fn} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _split(python: str, root: Path, runtime: Path, fn: str, runs: int = 3) -> str:
    """Where the import's time goes: -X importtime self times, each standard module's charged to the library
    whose import loaded it, median of a few runs."""
    totals: dict[str, list[float]] = {group: [] for group in (*GROUPS, OTHER)}
    for _ in range(runs):
        done = subprocess.run(
            [python, "-S", "-B", "-X", "importtime", "-c", f"import handlers.{fn}"],
            env=_environment(root, runtime, fn),
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
            cwd=tempfile.gettempdir(),
        )
        sums = dict.fromkeys(totals, 0.0)
        charged: dict[int, str] = {}  # depth -> group of the nearest enclosing import
        lines = [r for r in done.stderr.splitlines() if r.startswith("import time:") and "cumulative" not in r]
        for raw in reversed(lines):  # a parent's line follows its children's
            own, _, name = raw[len("import time:") :].split("|")
            depth = (len(name) - len(name.lstrip(" ")) - 1) // 2
            top = name.strip().split(".")[0]
            group = next((g for g, tops in GROUPS.items() if top in tops), charged.get(depth - 1, OTHER))
            charged[depth] = group
            sums[group] += int(own) / 1000
        for group, ms in sums.items():
            totals[group].append(ms)
    return ", ".join(f"{group} {statistics.median(ms):.0f}" for group, ms in totals.items() if statistics.median(ms))


# -- the asset and the runtime's packages ---------------------------------------------------------------


def _asset() -> tuple[Path | None, str]:
    try:
        from infra.asset import build_lambda_asset

        return build_lambda_asset(), ""
    except Exception as exc:  # noqa: BLE001 - reported instead of the figure
        return None, f"{type(exc).__name__}: {str(exc)[:200]}"


def _runtime_packages(python: str) -> Path:
    """boto3, botocore and s3transfer of this venv, compiled by `python` once (cached in build/cold-start/)."""
    import boto3

    site = Path(boto3.__file__).resolve().parent.parent
    version = subprocess.run(
        [python, "-c", "import sys; print(sys.implementation.cache_tag)"], capture_output=True, text=True, check=True
    ).stdout.strip()
    final = CACHE / f"runtime-{version}-boto3-{boto3.__version__}"
    if final.is_dir():
        return final
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="runtime-tmp-", dir=CACHE))
    for name in RUNTIME_PROVIDED:
        shutil.copytree(site / name, tmp / name, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([python, "-m", "compileall", "-q", "-j", "0", str(tmp)], check=True, capture_output=True)
    tmp.rename(final)
    return final


def _size_rows(before: Path, after: Path) -> list[Row]:
    rows = []
    for label, folder in (("without bytecode (before)", before), ("with bytecode (as built)", after)):
        size, zipped = _du(folder), _zipped_size(folder)
        rows.append(
            Row(
                f"deployed asset {label}: handlers, sellertoken, dependencies (boto3 is the runtime's)",
                f"{size / 1e6:.2f} MB unzipped (`du -sb`), {zipped / 1e6:.2f} MB zipped",
                "Lambda: ≤ 250 MB unzipped, ≤ 50 MB zipped",
                size <= 250e6 and zipped <= 50e6,
            )
        )
    return rows


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
