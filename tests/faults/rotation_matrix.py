"""The rotation function's fault matrix: every outside dependency it calls x its failure modes x the two
notices it acts on, each cell with the outcome docs/faults.md documents (tests/faults/test_rotation_faults.py
runs every cell; tests/doc_tables.py renders the table and a test holds the two equal).

A notice is one SQS message of a batch (the event source mapping's event); its outcomes:
- `requested`: Amazon accepted the rotation; its new secret is on the way (the message is done);
- `refused`: Amazon refused it; nothing changed, the state says why, the hourly check and the next notice try
  again, and RotationFailed is counted for the alarm (the message is done);
- `unconfirmed`: Amazon did not say (5xx, no answer in time): the new secret is awaited, alarmed after an hour;
- `stored`: the new secret is the app secret's current version (the message is done);
- `retried`: the record is reported failed, so the message stays in the queue: SQS hands it out again after
  its visibility timeout and moves it to the dead-letter queue after names.NOTIFICATION_MAX_RECEIVES receives;
- `not called`: the notice's path never calls that dependency.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.faults.matrix import DYNAMODB, EVENTS, LWA, SECRETS, AwsFault

ENTRY_POINTS = ("expiry notice", "new-secret notice")
APPLICATIONS = "SP-API Applications"
REQUESTED, REFUSED, UNCONFIRMED, STORED, RETRIED = "requested", "refused", "unconfirmed", "stored", "retried"
NOT_CALLED = "not called"


@dataclass(frozen=True)
class RotationFault:
    dependency: str
    mode: str
    outcomes: dict[str, str]
    amazon: dict = field(default_factory=dict)  # AmazonSimulator.set_fault(**amazon)
    aws: AwsFault | None = None


def _row(expiry: str, new_secret: str) -> dict[str, str]:
    return dict(zip(ENTRY_POINTS, (expiry, new_secret), strict=True))


def _amazon(dependency: str, endpoint: str, mode: str, outcomes: dict[str, str], **amazon) -> RotationFault:
    return RotationFault(dependency, mode, outcomes, amazon={"endpoint": endpoint, **amazon})


def _aws(dependency: str, mode: str, outcomes: dict[str, str], **aws) -> RotationFault:
    service = {SECRETS: "secrets-manager", DYNAMODB: "dynamodb", EVENTS: "eventbridge"}[dependency]
    return RotationFault(dependency, mode, outcomes, aws=AwsFault(service, **aws))


LWA_FAILS = _row(RETRIED, NOT_CALLED)  # no grantless token: nothing reached Amazon's rotation
APP_REFUSES = _row(REFUSED, NOT_CALLED)
AWS_FAILS = _row(RETRIED, RETRIED)

FAULTS: tuple[RotationFault, ...] = (
    _amazon(LWA, "token", "401 invalid_client", LWA_FAILS, status=401, error="invalid_client"),
    _amazon(LWA, "token", "400 invalid_scope", LWA_FAILS, status=400, error="invalid_scope"),
    _amazon(LWA, "token", "503 temporarily_unavailable", LWA_FAILS, status=503),
    _amazon(LWA, "token", "429 throttled", LWA_FAILS, status=429),
    _amazon(LWA, "token", "slow (+500 ms)", _row(REQUESTED, NOT_CALLED), latency_ms=500),
    _amazon(LWA, "token", "hang", LWA_FAILS, hang=True),
    _amazon(APPLICATIONS, "applications", "400 InvalidInput (no queue registered)", APP_REFUSES, status=400),
    _amazon(APPLICATIONS, "applications", "429 throttled", APP_REFUSES, status=429),
    _amazon(
        APPLICATIONS,
        "applications",
        "403 LWA secret expired",
        APP_REFUSES,
        status=403,
        error="The LWA secret token you provided has expired.",
    ),
    _amazon(APPLICATIONS, "applications", "403 without details", APP_REFUSES, status=403),
    _amazon(APPLICATIONS, "applications", "503", _row(UNCONFIRMED, NOT_CALLED), status=503),
    _amazon(APPLICATIONS, "applications", "slow (+500 ms)", _row(REQUESTED, NOT_CALLED), latency_ms=500),
    _amazon(APPLICATIONS, "applications", "hang", _row(UNCONFIRMED, NOT_CALLED), hang=True),
    _aws(SECRETS, "AccessDeniedException", AWS_FAILS, code="AccessDeniedException"),
    _aws(SECRETS, "DecryptionFailure (KMS key disabled)", AWS_FAILS, code="DecryptionFailure"),
    _aws(SECRETS, "500 InternalServiceError", AWS_FAILS, code="InternalServiceError", status=500),
    _aws(SECRETS, "ThrottlingException", AWS_FAILS, code="ThrottlingException"),
    _aws(SECRETS, "slow (+100 ms a call)", _row(REQUESTED, STORED), latency=0.1),
    _aws(SECRETS, "hang", AWS_FAILS, hang=True),
    _aws(DYNAMODB, "AccessDeniedException", AWS_FAILS, code="AccessDeniedException"),
    _aws(DYNAMODB, "ResourceNotFoundException (no table)", AWS_FAILS, code="ResourceNotFoundException"),
    _aws(DYNAMODB, "500 InternalServerError", AWS_FAILS, code="InternalServerError", status=500),
    _aws(
        DYNAMODB,
        "ProvisionedThroughputExceededException",
        AWS_FAILS,
        code="ProvisionedThroughputExceededException",
    ),
    _aws(DYNAMODB, "slow (+100 ms a call)", _row(REQUESTED, STORED), latency=0.1),
    _aws(DYNAMODB, "hang", AWS_FAILS, hang=True),
    # The secret is stored before it is announced: a lost event loses nothing (EventPublishFailed is counted).
    _aws(EVENTS, "AccessDeniedException", _row(NOT_CALLED, STORED), code="AccessDeniedException"),
    _aws(EVENTS, "500 InternalException", _row(NOT_CALLED, STORED), code="InternalException", status=500),
    _aws(EVENTS, "hang", _row(NOT_CALLED, STORED), hang=True),
)

ALL_CELLS = tuple((fault, entry) for fault in FAULTS for entry in ENTRY_POINTS)
CELLS = tuple((fault, entry) for fault, entry in ALL_CELLS if fault.outcomes[entry] != NOT_CALLED)


def not_called(entry: str) -> tuple[RotationFault, ...]:
    found: dict[str, RotationFault] = {}
    for fault in FAULTS:
        if fault.outcomes[entry] == NOT_CALLED:
            found.setdefault(fault.dependency, fault)
    return tuple(found.values())


def cell_id(cell: tuple[RotationFault, str]) -> str:
    fault, entry = cell
    return f"{fault.dependency} {fault.mode} -> {entry}"


def render() -> str:
    """The rotation function's outcome table of docs/faults.md."""
    lines = ["| dependency | failure | expiry notice | new-secret notice |", "| --- | --- | --- | --- |"]
    for fault in FAULTS:
        lines.append(f"| {fault.dependency} | {fault.mode} | {' | '.join(fault.outcomes[e] for e in ENTRY_POINTS)} |")
    lines.append("")
    lines.append(
        f"{len(FAULTS)} faults x {len(ENTRY_POINTS)} notices = {len(ALL_CELLS)} cells: {len(CELLS)} run one by one, "
        f"{len(ALL_CELLS) - len(CELLS)} `not called`, checked per notice."
    )
    return "\n".join(lines)
