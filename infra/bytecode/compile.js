// Compiles a directory tree's .py files to __pycache__/*.cpython-3XX.pyc with Pyodide's CPython, so that the
// Lambda asset ships bytecode for the functions' runtime whatever Python this machine has (infra/asset.py).
//
//   node compile.js <expected "3.13"> <root> [<path under root> ...]
//
// Every .py under the given paths (the whole root when none) is compiled; the exit code is 0 only when all
// compiled. The bytecode is "unchecked-hash": Lambda's /var/task is read-only and its files carry the zip's
// timestamps, so timestamp-checked bytecode would be judged stale and recompiled on every cold start; a hash
// also keeps the output free of this machine's clock. Paths inside the bytecode name /var/task, where Lambda
// unpacks the asset, never this machine's build folder.
"use strict";

const { loadPyodide } = require("pyodide");

const MOUNT = "/asset";
const TASK_ROOT = "/var/task";

async function main([expected, root, ...paths]) {
  if (!expected || !root) {
    throw new Error("usage: node compile.js <python version, e.g. 3.13> <root> [<path under root> ...]");
  }
  const pyodide = await loadPyodide();
  const version = pyodide.runPython("import sys; f'{sys.version_info[0]}.{sys.version_info[1]}'");
  if (version !== expected) {
    console.error(`Pyodide runs Python ${version}, the functions' runtime is Python ${expected}: ` +
      "pin the pyodide release of that Python in infra/bytecode/package.json");
    return 2;
  }
  pyodide.FS.mkdir(MOUNT);
  pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root }, MOUNT);
  pyodide.globals.set("targets", pyodide.toPy(paths.length ? paths.map((p) => `${MOUNT}/${p}`) : [MOUNT]));
  const compiled = pyodide.runPython(`
import compileall, py_compile
all([
    compileall.compile_dir(
        target, quiet=1, stripdir="${MOUNT}", prependdir="${TASK_ROOT}", optimize=0, workers=1,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
    for target in targets
])
`);
  return compiled ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(error.stack || String(error));
    process.exit(1);
  },
);
