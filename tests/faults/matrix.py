"""The fault matrix: every outside dependency x its failure modes x every entry point, each cell with the
outcome docs/faults.md documents. tests/faults/test_fault_matrix.py runs every cell; the docs' table is
rendered from here (tests/doc_tables.py) and a test holds the two equal.

Outcomes:
- vend, rdt, grantless: `token`, or the contract's errorType the invocation failed with;
- callback: the HTTP status of the answer (200: the grant is stored);
- sweep: what the run recorded for the one grant (`healthy`, `failing`), `credentials rejected` (the run
  stopped and flagged nobody), or `fails: <error>` when the invocation itself failed (Lambda retries it);
- `not called`: the entry point never calls that dependency, whatever its failure (one test per entry
  point injects a failure of every such dependency at once and counts the calls).
"""

from __future__ import annotations

from dataclasses import dataclass, field

ENTRY_POINTS = ("callback", "vend", "rdt", "grantless", "sweep")
LWA, SP_API, SECRETS, DYNAMODB, EVENTS = "LWA", "SP-API Tokens", "Secrets Manager", "DynamoDB", "EventBridge"
TOKEN, HEALTHY, FAILING, REJECTED = "token", "healthy", "failing", "credentials rejected"
NOT_CALLED = "not called"
BROKER, UPSTREAM = "BrokerFault", "UpstreamUnavailable"


@dataclass(frozen=True)
class AwsFault:
    """What every call to one AWS service does while the fault lasts (tests/faults/conftest.py injects it)."""

    service: str  # botocore's service id: "secrets-manager", "dynamodb", "eventbridge"
    code: str | None = None  # an error answer with this code…
    status: int = 400  # …and this HTTP status
    latency: float = 0.0  # seconds added before the call is answered
    hang: bool = False  # the server never answers: the client's read timeout ends the attempt


@dataclass(frozen=True)
class Fault:
    dependency: str
    mode: str
    outcomes: dict[str, str]
    amazon: dict = field(default_factory=dict)  # AmazonSimulator.set_fault(**amazon)
    aws: AwsFault | None = None


def _row(callback: str, vend: str, rdt: str, grantless: str, sweep: str) -> dict[str, str]:
    return dict(zip(ENTRY_POINTS, (callback, vend, rdt, grantless, sweep), strict=True))


def _lwa(mode: str, outcomes: dict[str, str], **amazon) -> Fault:
    return Fault(LWA, mode, outcomes, amazon={"endpoint": "token", **amazon})


def _rdt(mode: str, rdt: str, **amazon) -> Fault:
    outcomes = _row(NOT_CALLED, NOT_CALLED, rdt, NOT_CALLED, NOT_CALLED)
    return Fault(SP_API, mode, outcomes, amazon={"endpoint": "rdt", **amazon})


def _aws(dependency: str, mode: str, outcomes: dict[str, str], **aws) -> Fault:
    service = {SECRETS: "secrets-manager", DYNAMODB: "dynamodb", EVENTS: "eventbridge"}[dependency]
    return Fault(dependency, mode, outcomes, aws=AwsFault(service, **aws))


LWA_REFUSED = _row("502", BROKER, BROKER, BROKER, FAILING)
LWA_DOWN = _row("502", UPSTREAM, UPSTREAM, UPSTREAM, FAILING)
FINE = _row("200", TOKEN, TOKEN, TOKEN, HEALTHY)
EVENTS_LOST = _row("200", NOT_CALLED, NOT_CALLED, NOT_CALLED, HEALTHY)


def _secrets(code: str, vend: str) -> dict[str, str]:
    return _row("500", vend, vend, vend, f"fails: {code}")


def _table(code: str) -> dict[str, str]:
    return _row("500", TOKEN, TOKEN, TOKEN, f"fails: {code}")


FAULTS: tuple[Fault, ...] = (
    _lwa("400 invalid_request", LWA_REFUSED, status=400, error="invalid_request"),
    _lwa(
        "400 invalid_scope",
        _row("502", BROKER, BROKER, "InvalidRequest", FAILING),
        status=400,
        error="invalid_scope",
    ),
    _lwa("400 unsupported_grant_type", LWA_REFUSED, status=400, error="unsupported_grant_type"),
    _lwa("400 access_denied", LWA_REFUSED, status=400, error="access_denied"),
    _lwa("400 unknown error code", LWA_REFUSED, status=400, error="something_new"),
    _lwa(
        "401 invalid_client",
        _row("502", *["AppCredentialsRejected"] * 3, REJECTED),
        status=401,
        error="invalid_client",
    ),
    _lwa(
        "400 unauthorized_client (the application's, grantless calls too)",
        _row("502", *["AppCredentialsRejected"] * 3, REJECTED),
        status=400,
        error="unauthorized_client",
    ),
    _lwa("503 temporarily_unavailable", LWA_DOWN, status=503),
    _lwa("429 throttled", LWA_DOWN, status=429),
    _lwa("slow (+500 ms)", FINE, latency_ms=500),
    _lwa("hang", LWA_DOWN, hang=True),
    _rdt(
        "400 InvalidInput (a data element without the role)",
        "InvalidRequest",
        status=400,
        error="Application does not have access to one or more requested data elements: [buyerInfo]",
    ),
    _rdt("403 without details (no role, or another region)", "InvalidRequest", status=403),
    _rdt("403 access token missing", BROKER, status=403, error="Access token is missing in the request header."),
    _rdt(
        "403 LWA secret expired",
        "AppCredentialsRejected",
        status=403,
        error="The LWA secret token you provided has expired.",
    ),
    _rdt("404", BROKER, status=404),
    _rdt("503", UPSTREAM, status=503),
    _rdt("429 throttled", UPSTREAM, status=429),
    _rdt("429 once, Retry-After 1 s", TOKEN, status=429, count=1, retry_after=1),
    _rdt("429, Retry-After past the deadline", UPSTREAM, status=429, retry_after=60),
    _rdt("slow (+500 ms)", TOKEN, latency_ms=500),
    _rdt("hang", UPSTREAM, hang=True),
    _aws(SECRETS, "AccessDeniedException", _secrets("AccessDeniedException", BROKER), code="AccessDeniedException"),
    _aws(
        SECRETS,
        "DecryptionFailure (KMS key disabled)",
        _secrets("DecryptionFailure", BROKER),
        code="DecryptionFailure",
    ),
    _aws(
        SECRETS,
        "500 InternalServiceError",
        _secrets("InternalServiceError", UPSTREAM),
        code="InternalServiceError",
        status=500,
    ),
    _aws(SECRETS, "ThrottlingException", _secrets("ThrottlingException", UPSTREAM), code="ThrottlingException"),
    _aws(SECRETS, "slow (+100 ms a call)", FINE, latency=0.1),
    _aws(SECRETS, "hang", _row("500", UPSTREAM, UPSTREAM, UPSTREAM, "fails: ReadTimeoutError"), hang=True),
    _aws(DYNAMODB, "AccessDeniedException", _table("AccessDeniedException"), code="AccessDeniedException"),
    _aws(
        DYNAMODB,
        "ResourceNotFoundException (no table)",
        _table("ResourceNotFoundException"),
        code="ResourceNotFoundException",
    ),
    _aws(DYNAMODB, "500 InternalServerError", _table("InternalServerError"), code="InternalServerError", status=500),
    _aws(
        DYNAMODB,
        "ProvisionedThroughputExceededException",
        _table("ProvisionedThroughputExceededException"),
        code="ProvisionedThroughputExceededException",
    ),
    _aws(DYNAMODB, "slow (+100 ms a call)", FINE, latency=0.1),
    _aws(DYNAMODB, "hang", _row("500", TOKEN, TOKEN, TOKEN, "fails: ReadTimeoutError"), hang=True),
    _aws(EVENTS, "AccessDeniedException", EVENTS_LOST, code="AccessDeniedException"),
    _aws(EVENTS, "500 InternalException", EVENTS_LOST, code="InternalException", status=500),
    _aws(EVENTS, "ThrottlingException", EVENTS_LOST, code="ThrottlingException"),
    _aws(EVENTS, "slow (+100 ms a call)", EVENTS_LOST, latency=0.1),
    _aws(EVENTS, "hang", EVENTS_LOST, hang=True),
)

ALL_CELLS: tuple[tuple[Fault, str], ...] = tuple((fault, entry) for fault in FAULTS for entry in ENTRY_POINTS)
CELLS = tuple((fault, entry) for fault, entry in ALL_CELLS if fault.outcomes[entry] != NOT_CALLED)  # run one by one


def not_called(entry: str) -> tuple[Fault, ...]:
    """A failure of each dependency `entry` never calls (any will do: a call, whatever it got, would count)."""
    found: dict[str, Fault] = {}
    for fault in FAULTS:
        if fault.outcomes[entry] == NOT_CALLED:
            found.setdefault(fault.dependency, fault)
    return tuple(found.values())


def cell_id(cell: tuple[Fault, str]) -> str:
    fault, entry = cell
    return f"{fault.dependency} {fault.mode} -> {entry}"


def render() -> str:
    """The outcome table of docs/faults.md."""
    lines = [
        "| dependency | failure | callback | vend | RDT | grantless | sweep |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for fault in FAULTS:
        cells = " | ".join(fault.outcomes[entry] for entry in ENTRY_POINTS)
        lines.append(f"| {fault.dependency} | {fault.mode} | {cells} |")
    lines.append("")
    lines.append(
        f"{len(FAULTS)} faults x {len(ENTRY_POINTS)} entry points = {len(ALL_CELLS)} cells: {len(CELLS)} run one "
        f"by one, {len(ALL_CELLS) - len(CELLS)} `not called`, checked per entry point."
    )
    return "\n".join(lines)
