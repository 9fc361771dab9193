"""Which AWS calls each function makes, for the IAM check (tests/iam): a botocore hook notes the service,
operation and resource names of every call made while a function's handler runs.

moto enforces no IAM, so a missing permission would first show as AccessDenied after a deploy. The
recorded calls are evaluated offline against each function's synthesized policy.

A call belongs to the function named by `acting_as` (the local stack and the test fixtures run every
handler inside it, see lambda_context.invoke); calls made outside one (tests seeding or asserting, the
local stack's own seeding, its scheduler) are not recorded. Only resource names are kept, never a value:
items, secret strings and payloads can hold tokens.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TextIO

from botocore import handlers

from sellertoken import names

# Opt-in for the local stack (python -m devstack): a directory; the stack appends its calls to a file there.
ENV_RECORD_DIR = "SELLERTOKEN_RECORD_AWS_CALLS"

_function: ContextVar[str | None] = ContextVar("sellertoken_function", default=None)

# Request fields that name a resource, and the environment variable the function found that name in.
# A name equal to the variable's value is recorded as `${VARIABLE}`, so the check can look up what the
# same variable holds in the deployed template (the table, bus and key have other names there).
EXACT = {
    "TableName": names.ENV_TABLE_NAME,
    "EventBusName": names.ENV_EVENT_BUS_NAME,
    "KmsKeyId": names.ENV_KMS_KEY_ID,
    "KeyId": names.ENV_KMS_KEY_ID,
    "QueueUrl": names.ENV_NOTIFICATION_QUEUE_URL,
}
# Fields whose names start with the resource prefix: secrets `{prefix}/…`, functions `{prefix}-…`.
PREFIXED = ("SecretId", "Name", "FunctionName")
QUALIFIER = "Qualifier"


@contextmanager
def acting_as(function_name: str) -> Iterator[None]:
    """AWS calls made in this block (and in threads started with its context) are this function's."""
    token = _function.set(function_name)
    try:
        yield
    finally:
        _function.reset(token)


def resource_names(params: dict[str, Any], environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The resource-naming fields of a request, with configured names replaced by `${VARIABLE}`."""
    environ = os.environ if environ is None else environ
    found: dict[str, Any] = {}
    for field, variable in EXACT.items():
        if isinstance(params.get(field), str):
            found[field] = _symbolic(params[field], variable, environ)
    prefix = environ.get(names.ENV_PREFIX)
    for field in PREFIXED:
        value = params.get(field)
        if isinstance(value, str):
            found[field] = _prefixed(_name_of(value), prefix)
            qualifier = _qualifier_of(value)
            if qualifier:
                found[QUALIFIER] = qualifier
    if isinstance(params.get(QUALIFIER), str):
        found[QUALIFIER] = params[QUALIFIER]
    entries = params.get("Entries")
    if isinstance(entries, list):  # events:PutEvents names a bus per entry (none: the default bus)
        buses = [e.get("EventBusName", "default") for e in entries if isinstance(e, dict)]
        found["EventBusName"] = [_symbolic(b, names.ENV_EVENT_BUS_NAME, environ) for b in buses]
    return found


class Recorder:
    """Collects calls in memory (in-process tests) and, when given a file, appends them there as JSON lines."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._sink: TextIO | None = None
        self._installed = False

    def install(self) -> None:
        """Hook every botocore session created from now on (moto hooks its stubber the same way)."""
        if not self._installed:
            handlers.BUILTIN_HANDLERS.append(("before-parameter-build", self._seen))
            self._installed = True

    def write_to(self, directory: str) -> str:
        path = os.path.join(directory, f"aws-calls-{os.getpid()}.jsonl")
        self._sink = open(path, "a", encoding="utf-8")  # kept open for the process's life
        return path

    def _seen(self, params: dict[str, Any], model: Any, context: dict[str, Any] | None = None, **_: Any) -> None:
        function = _function.get()
        if function is None:
            return
        call = {
            "function": function,
            "service": model.service_model.service_name,
            "operation": model.name,
            "region": (context or {}).get("client_region"),
            "names": resource_names(params),
        }
        with self._lock:
            self.calls.append(call)
            if self._sink is not None:
                self._sink.write(json.dumps(call, sort_keys=True) + "\n")
                self._sink.flush()


RECORDER = Recorder()


def record_from_environment() -> str | None:
    """The local stack's opt-in: record to the directory the environment names, if it names one."""
    directory = os.environ.get(ENV_RECORD_DIR)
    if not directory:
        return None
    RECORDER.install()
    return RECORDER.write_to(directory)


def _symbolic(value: str, variable: str, environ: Mapping[str, str]) -> str:
    return f"${{{variable}}}" if environ.get(variable) == value else value


def _prefixed(name: str, prefix: str | None) -> str:
    for separator in ("/", "-"):
        if prefix and name.startswith(prefix + separator):
            return f"${{{names.ENV_PREFIX}}}{name[len(prefix) :]}"
    return name


def _name_of(value: str) -> str:
    """A secret's or function's name, also when given as an ARN."""
    if not value.startswith("arn:"):
        return value
    parts = value.split(":")
    if parts[2] == "secretsmanager" and len(parts) >= 7:
        return ":".join(parts[6:])[: -len("-abcdef")]  # the ARN ends in "-" and six random characters
    if parts[2] == "lambda" and len(parts) >= 7:
        return parts[6]
    return value


def _qualifier_of(value: str) -> str | None:
    parts = value.split(":")
    if value.startswith("arn:") and parts[2] == "lambda" and len(parts) == 8:
        return parts[7]
    return None
