"""The check itself: every recorded AWS call is allowed by its function's synthesized policy, and every
permission a function is granted is used by some recorded call (or is listed below with the reason no
test can use it)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sellertoken import names
from tests.iam.calls import Call, Environment, Request, requests
from tests.iam.policy import ACCOUNT, PARTITION, Statement, Template, Unsupported, evaluate, wildcard_match

# Granted actions that no test can exercise, with the reason. Each is checked to be granted, so the
# list cannot outlive the grant it excuses.
_LOGS = "the Lambda service writes a function's logs with its role; no handler calls CloudWatch Logs"
_XRAY = "active tracing: the Lambda runtime's X-Ray daemon sends segments with the role; no handler calls X-Ray"
NOT_EXERCISABLE = {
    "logs:CreateLogStream": _LOGS,
    "logs:PutLogEvents": _LOGS,
    "xray:PutTraceSegments": _XRAY,
    "xray:PutTelemetryRecords": _XRAY,
}


@dataclass(frozen=True)
class Function:
    key: str  # names.FUNCTION_HANDLERS key
    statements: tuple[Statement, ...]
    environment: Environment


@dataclass
class Report:
    distinct: int = 0  # distinct calls (function, action, resource names)
    recorded: int = 0  # calls recorded in all, repeats included
    requests: int = 0  # distinct (function, action, resource) requests evaluated, implied KMS use included
    denied: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    per_function: Counter = field(default_factory=Counter)
    grants_used: int = 0  # (function, statement, action, resource) grants some request used
    grants: int = 0  # all of them, the excused ones included

    @property
    def failed(self) -> bool:
        return bool(self.denied or self.unused or self.errors)

    def lines(self) -> list[str]:
        functions = ", ".join(f"{k} {v}" for k, v in sorted(self.per_function.items()))
        out = [
            f"{self.recorded} AWS calls recorded; {self.distinct} distinct calls ({functions}) "
            f"make {self.requests} IAM requests (implied KMS use included), each checked against its "
            f"function's synthesized policy; they use {self.grants_used} of the {self.grants} grants "
            f"(function, action, resource) the roles hold"
        ]
        out += [f"NOT ALLOWED: {d}" for d in self.denied]
        out += [f"GRANTED, NEVER USED: {u}" for u in self.unused]
        out += [f"CANNOT CHECK: {e}" for e in self.errors]
        return out


def functions(template_json: Mapping[str, Any]) -> dict[str, Function]:
    """Each function of names.FUNCTION_HANDLERS with its role's statements, found by its handler."""
    template = Template(template_json)
    found = {}
    for key, handler in names.FUNCTION_HANDLERS.items():
        matches = [
            r["Properties"]
            for r in template.of_type("AWS::Lambda::Function").values()
            if r["Properties"].get("Handler") == handler
        ]
        if len(matches) != 1:
            raise Unsupported(f"{len(matches)} functions in the template have the handler {handler}")
        properties = matches[0]
        role_id = properties["Role"]["Fn::GetAtt"][0]
        found[key] = Function(
            key,
            tuple(_role_statements(template, role_id)),
            Environment(template, properties.get("Environment", {}).get("Variables", {})),
        )
    return found


def check(records: Iterable[Mapping[str, Any]], template_json: Mapping[str, Any], *, coverage: bool) -> Report:
    """Evaluate every recorded call; with `coverage`, also report what each function is granted and never used."""
    report = Report()
    counted: Counter[Call] = Counter(Call.from_record(r) for r in records)
    report.recorded, report.distinct = sum(counted.values()), len(counted)
    try:
        by_key = functions(template_json)
    except Unsupported as error:
        report.errors.append(str(error))
        return report
    used: dict[str, set[tuple[int, str, str]]] = {key: set() for key in by_key}
    evaluated: set[tuple[str, Request]] = set()
    for call in sorted(counted, key=str):
        key = _key(call.function)
        if key not in by_key:
            report.errors.append(f"{call}: no function {call.function!r} in names.FUNCTION_HANDLERS")
            continue
        report.per_function[key] += 1
        function = by_key[key]
        try:
            asked = requests(call, function.environment)
        except Unsupported as error:
            report.errors.append(str(error))
            continue
        for request in asked:
            evaluated.add((key, request))
            decision = evaluate(function.statements, request.action, request.resource)
            if not decision.allowed:
                why = f" (implied by {request.because})" if request.because else f" ({call})"
                report.denied.append(f"{key} may not {request.action} on {request.resource}{why}")
            used[key] |= _grants_used(function.statements, decision.allowed_by, request)
            if request.action.startswith("kms:") and not _key_policy_defers_to_iam(function, request):
                report.denied.append(f"the key policy of {request.resource} does not let IAM grant {request.action}")
    report.requests = len(evaluated)
    report.grants = sum(len(granted(f.statements)) for f in by_key.values())
    report.grants_used = sum(len(u) for u in used.values())
    if coverage:
        for key, function in by_key.items():
            report.unused += _unused(key, function, used[key])
    return report


def granted(statements: Iterable[Statement]) -> set[tuple[int, str, str]]:
    """(statement index, action, resource pattern) for every Allow: the unit a test must use."""
    return {
        (i, action, resource)
        for i, s in enumerate(statements)
        if s.effect == "Allow"
        for action in s.actions
        for resource in s.resources
    }


def _grants_used(statements: tuple[Statement, ...], allowed_by: tuple[Statement, ...], request: Request) -> set:
    return {
        (i, action, resource)
        for i, s in enumerate(statements)
        if s in allowed_by
        for action in s.actions
        if wildcard_match(action, request.action, case_sensitive=False)
        for resource in s.resources
        if wildcard_match(resource, request.resource)
    }


def _unused(key: str, function: Function, used: set[tuple[int, str, str]]) -> list[str]:
    missing = []
    for index, action, resource in sorted(granted(function.statements) - used):
        if action in NOT_EXERCISABLE:
            continue
        missing.append(f"{key} is granted {action} on {resource} (statement {index}), and no test used it")
    return missing


def _key_policy_defers_to_iam(function: Function, request: Request) -> bool:
    """A key's policy must let the account's IAM policies grant the action (principal: the account root),
    or no identity policy can; a key this template does not define is the operator's to configure."""
    template = function.environment.template
    for logical_id, key in template.of_type("AWS::KMS::Key").items():
        if template.resolve({"Fn::GetAtt": [logical_id, "Arn"]}) != request.resource:
            continue
        root = f"arn:{PARTITION}:iam::{ACCOUNT}:root"
        for raw in _as_list(key["Properties"]["KeyPolicy"]["Statement"]):
            principals = _as_list(template.resolve(raw.get("Principal", {}).get("AWS", [])))
            if raw["Effect"] == "Allow" and root in principals and "Condition" not in raw:
                if any(wildcard_match(a, request.action, case_sensitive=False) for a in _as_list(raw["Action"])):
                    return True
        return False
    return True


def _key(function_name: str) -> str:
    """The names.FUNCTION_HANDLERS key of a function as the local stack and the fixtures name it."""
    return {names.function_name(key): key for key in names.FUNCTION_HANDLERS}.get(function_name, function_name)


def _role_statements(template: Template, role_id: str) -> list[Statement]:
    role = template.resources[role_id]["Properties"]
    if role.get("ManagedPolicyArns"):
        raise Unsupported(f"{role_id} has managed policies, which this check cannot read offline")
    documents = [(f"{role_id} inline {p['PolicyName']}", p["PolicyDocument"]) for p in role.get("Policies", [])]
    for logical_id, policy in template.of_type("AWS::IAM::Policy").items():
        if {"Ref": role_id} in policy["Properties"].get("Roles", []):
            documents.append((logical_id, policy["Properties"]["PolicyDocument"]))
    for logical_id, policy in template.of_type("AWS::IAM::ManagedPolicy").items():
        if {"Ref": role_id} in policy["Properties"].get("Roles", []):
            documents.append((logical_id, policy["Properties"]["PolicyDocument"]))
    return [
        Statement.parse(raw, template, source=f"{source} #{i}")
        for source, document in documents
        for i, raw in enumerate(_as_list(document["Statement"]))
    ]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
