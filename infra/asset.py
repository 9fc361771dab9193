"""Builds the one Lambda asset shared by every function, without Docker.

The third-party packages are installed once per requirements hash with pip's cross-platform flags
(arm64, CPython wheels of the functions' runtime only), compiled to that runtime's bytecode and cached
under build/lambda-asset/; each synth then assembles a bundle of those packages plus the two source
packages the handlers import, compiled likewise.

Lambda cannot write __pycache__ (/var/task is read-only), so an asset without bytecode compiles every
module it imports on every cold start. Bytecode is specific to a Python minor version, and this machine's
Python need not be the runtime's: the compiler is CPython built for WebAssembly (Pyodide, from npm, pinned
in infra/bytecode/), run by the Node.js that the CDK needs anyway.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# The functions' Python: infra/function.py takes the Lambda runtime from it, pip the wheels, Pyodide the
# bytecode (a version change needs the Pyodide release of that Python in infra/bytecode/package.json).
# Lambda supports python3.13 until 2029.
LAMBDA_PYTHON = "3.13"

REPO_ROOT = Path(__file__).resolve().parent.parent
LAMBDAS_DIR = REPO_ROOT / "lambdas"
REQUIREMENTS = LAMBDAS_DIR / "requirements.txt"
# Pins the transitive dependencies so that two machines build the same bytes.
CONSTRAINTS = Path(__file__).resolve().parent / "lambda-constraints.txt"
BUILD_DIR = REPO_ROOT / "build" / "lambda-asset"
COMPILER_DIR = Path(__file__).resolve().parent / "bytecode"
COMPILER_FILES = ("package.json", "package-lock.json", "compile.js")
# The only source packages shipped: nothing from tests/, devstack/ or infra/ can leak in.
SOURCE_PACKAGES = ("sellertoken", "handlers")
PIP_TARGET_ARGS = (
    "--platform=manylinux2014_aarch64",
    "--only-binary=:all:",
    "--implementation=cp",
    f"--python-version={LAMBDA_PYTHON}",
)
# The Lambda Python runtime ships these: a copy pulled in as someone's dependency (aws-xray-sdk
# needs botocore) would only shadow the runtime's matched boto3/botocore pair and add ~25 MB.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")
# Bump when the build recipe changes so that cached dependency trees are rebuilt.
RECIPE_VERSION = "3"
BUNDLES_KEPT = 3
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".*")


def _digest(*parts: bytes) -> str:
    sha = hashlib.sha256()
    for part in parts:
        sha.update(hashlib.sha256(part).digest())
    return sha.hexdigest()[:16]


def _source_files(package: Path) -> list[Path]:
    files = []
    for path in sorted(package.rglob("*")):
        rel = path.relative_to(package).parts
        if path.is_file() and not any(p == "__pycache__" or p.startswith(".") for p in rel):
            if path.suffix not in (".pyc", ".pyo"):
                files.append(path)
    return files


def _publish(tmp: Path, final: Path) -> None:
    """Renames a finished build into place; a concurrent build that won the race is kept."""
    try:
        tmp.rename(final)
    except OSError:
        if not final.is_dir():
            raise
        shutil.rmtree(tmp, ignore_errors=True)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"compiling the Lambda asset's bytecode needs Node.js and npm, as the CDK does: no {name}")
    return path


def _compiler() -> Path:
    """Pyodide installed from infra/bytecode/package-lock.json, once per lockfile and script."""
    key = _digest(*((COMPILER_DIR / name).read_bytes() for name in COMPILER_FILES))
    final = BUILD_DIR / f"compiler-{key}"
    if final.is_dir():
        return final
    npm = _tool("npm")
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="compiler-tmp-", dir=BUILD_DIR))
    for name in (*COMPILER_FILES, ".npmrc"):
        shutil.copy2(COMPILER_DIR / name, tmp / name)
    command = [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"]
    result = subprocess.run(command, cwd=tmp, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise RuntimeError(f"npm could not install the bytecode compiler (infra/bytecode):\n{result.stderr}")
    _publish(tmp, final)
    for stale in BUILD_DIR.glob("compiler-*"):
        if stale != final and not stale.name.startswith("compiler-tmp-"):
            shutil.rmtree(stale, ignore_errors=True)
    return final


def _compile(compiler: Path, root: Path, *paths: str) -> None:
    """Writes __pycache__/*.cpython-3XX.pyc (unchecked-hash) beside every .py under root/paths, or fails."""
    command = [_tool("node"), str(compiler / "compile.js"), LAMBDA_PYTHON, str(root), *paths]
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise RuntimeError(
            f"could not compile the Lambda asset to Python {LAMBDA_PYTHON} bytecode:\n{result.stdout}{result.stderr}"
        )


def _dependencies(compiler: Path) -> Path:
    key = _digest(
        RECIPE_VERSION.encode(),
        " ".join(PIP_TARGET_ARGS).encode(),
        REQUIREMENTS.read_bytes(),
        CONSTRAINTS.read_bytes(),
        compiler.name.encode(),
    )
    final = BUILD_DIR / f"deps-{key}"
    if final.is_dir():
        return final
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="deps-tmp-", dir=BUILD_DIR))
    quiet = "--quiet --disable-pip-version-check --no-compile --no-warn-script-location".split()
    command = [sys.executable, "-m", "pip", "install", *quiet, *PIP_TARGET_ARGS, "--target", str(tmp)]
    command += ["-r", str(REQUIREMENTS), "-c", str(CONSTRAINTS)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise RuntimeError(f"pip could not build the Lambda dependencies:\n{result.stderr}")
    # Console scripts carry this machine's interpreter path in their shebang: not deterministic,
    # and Lambda never runs them.
    shutil.rmtree(tmp / "bin", ignore_errors=True)
    for package in RUNTIME_PROVIDED:
        for path in [tmp / package, *tmp.glob(f"{package}-*.dist-info")]:
            shutil.rmtree(path, ignore_errors=True)
    for cache in tmp.rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)
    try:
        _compile(compiler, tmp)
    except RuntimeError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _publish(tmp, final)
    for stale in BUILD_DIR.glob("deps-*"):
        if stale != final and not stale.name.startswith("deps-tmp-"):
            shutil.rmtree(stale, ignore_errors=True)
    return final


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _normalize_modes(root: Path) -> None:
    """Lambda runs code as an unprivileged user: everything must be world-readable, whatever the umask."""
    root.chmod(0o755)
    for path in root.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)


def _prune_old_bundles(keep: Path) -> None:
    bundles = sorted(BUILD_DIR.glob("bundle-*"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in [b for b in bundles if b != keep][BUNDLES_KEPT - 1 :]:
        shutil.rmtree(old, ignore_errors=True)


def build_lambda_asset() -> Path:
    """Returns a directory holding the dependencies plus lambdas/sellertoken and lambdas/handlers, every module
    with its bytecode for the functions' runtime (LAMBDA_PYTHON)."""
    packages = [LAMBDAS_DIR / name for name in SOURCE_PACKAGES]
    missing = [str(p) for p in packages if not p.is_dir()]
    if missing:
        raise FileNotFoundError(f"Lambda source packages missing: {', '.join(missing)}")
    compiler = _compiler()
    deps = _dependencies(compiler)
    files = [f for package in packages for f in _source_files(package)]
    key = _digest(
        deps.name.encode(), *(str(f.relative_to(LAMBDAS_DIR)).encode() + b"\0" + f.read_bytes() for f in files)
    )
    final = BUILD_DIR / f"bundle-{key}"
    if not final.is_dir():
        tmp = Path(tempfile.mkdtemp(prefix="bundle-tmp-", dir=BUILD_DIR))
        shutil.copytree(deps, tmp, dirs_exist_ok=True, copy_function=_link_or_copy)
        for package in packages:
            shutil.copytree(package, tmp / package.name, ignore=IGNORED)
        try:
            _compile(compiler, tmp, *SOURCE_PACKAGES)
        except RuntimeError:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _normalize_modes(tmp)
        _publish(tmp, final)
    os.utime(final)  # marks it as recently used for pruning
    _prune_old_bundles(final)
    return final
