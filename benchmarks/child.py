"""Workloads in fresh processes (spawn): the broker's environment is set before anything imports it.

A child's stdout goes to /dev/null: Powertools prints EMF metric blobs there (every 100 values even
with metrics disabled, and on every invocation with them enabled), which would drown the report.
Failures come back to the parent as exceptions with the child's traceback.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Sequence

CTX = multiprocessing.get_context("spawn")


class ChildFailed(RuntimeError):
    pass


def enter(env: dict[str, str]) -> None:
    """Make this process look like a Lambda container of the local stack (call before importing the broker)."""
    os.environ.update(env)  # spawn gives the child the parent's sys.path: the repository and the installed broker
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        os.environ.pop(name, None)
    sys.stdout = open(os.devnull, "w")  # lives as long as the process
    warnings.filterwarnings("ignore", message="No application metrics to publish")


def _trampoline(target: Callable, env: dict[str, str], args: tuple, results, index: int) -> None:
    try:
        enter(env)
        value = target(*args)
    except BaseException:  # noqa: BLE001 - every failure goes back to the parent
        results.put((index, False, traceback.format_exc()))
        return
    results.put((index, True, value))


class Lineup:
    """Lines up `parties` threads across processes: each calls wait(); the parent calls release(), which
    returns once every party is ready, runs `before` (say, reset counters) and lets them all go at once."""

    def __init__(self, parties: int) -> None:
        self.ready = CTX.Barrier(parties + 1)
        self.go = CTX.Event()

    def wait(self, timeout: float = 120.0) -> None:
        self.ready.wait(timeout)
        if not self.go.wait(timeout):
            raise TimeoutError("the parent never said go")

    def release(self, before: Callable[[], object] | None = None, timeout: float = 120.0) -> None:
        self.ready.wait(timeout)
        if before is not None:
            before()
        self.go.set()


class Group:
    """Processes running target(*args), one per args, started together; `collect` returns their results in order.

    Line them up with multiprocessing primitives from CTX passed in args. On any failure or timeout every
    process of the group is ended, by its own handle.
    """

    def __init__(self, target: Callable, env: dict[str, str], args_list: Sequence[tuple]) -> None:
        self.target = target
        self.results = CTX.Queue()
        self.processes = [
            CTX.Process(target=_trampoline, args=(target, env, args, self.results, i), daemon=True)
            for i, args in enumerate(args_list)
        ]

    def start(self) -> Group:
        for process in self.processes:
            process.start()
        return self

    def collect(self, *, timeout: float) -> list:
        values: dict[int, object] = {}
        failure: str | None = None
        deadline = time.monotonic() + timeout
        try:
            while len(values) < len(self.processes) and failure is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    failure = f"timed out after {timeout:.0f} s"
                    break
                try:
                    index, ok, value = self.results.get(timeout=min(left, 1.0))
                except queue.Empty:
                    if not any(p.is_alive() for p in self.processes) and self.results.empty():
                        failure = "a child process died without an answer"
                    continue
                if ok:
                    values[index] = value
                else:
                    failure = str(value)
        finally:
            self.stop(graceful=failure is None)
        if failure is not None:
            raise ChildFailed(f"{getattr(self.target, '__qualname__', self.target)}: {failure}")
        return [values[i] for i in range(len(self.processes))]

    def stop(self, *, graceful: bool = False) -> None:
        for process in self.processes:
            if graceful and process.pid is not None:
                process.join(timeout=10)
            if process.is_alive():
                process.terminate()
                process.join(timeout=10)
        self.results.close()


def run(target: Callable, env: dict[str, str], args_list: Sequence[tuple], *, timeout: float) -> list:
    """Run target(*args) in one spawned process per args, all at once; returns their results in order."""
    return Group(target, env, args_list).start().collect(timeout=timeout)


def run_one(target: Callable, env: dict[str, str], *args, timeout: float = 600.0):
    return run(target, env, [args], timeout=timeout)[0]
