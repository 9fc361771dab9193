"""`sellertoken`: the operator CLI of the broker.

    sellertoken vend A1B2C3D4E5F6G7 --region na [--min-ttl N] [--json]   (or a vendor: amzn1.vg.2072811)
    sellertoken rdt A1B2C3D4E5F6G7 --region na --resource GET:/orders/v0/orders:buyerInfo [--json]
    sellertoken grantless --scope sellingpartnerapi::notifications [--region na] [--json]
    sellertoken grants list [--region na] [--status active|revoked]
    sellertoken grants show A1B2C3D4E5F6G7 --region na
    sellertoken grants restore A1B2C3D4E5F6G7 --region na   (the previous refresh token becomes current again)
    sellertoken grants revoke A1B2C3D4E5F6G7 --region na    (flag it revoked: nothing vends it any more)
    sellertoken sweep [--full] [--no-wait]
    sellertoken events [--wait SECONDS]        (local stack only)
    sellertoken app status [--json]            (the LWA client secret: age, expiry, overlap, rotation, queue)
    sellertoken app rotate                     (ask Amazon for a new client secret now)
    sellertoken app set-secret [--expires-at ISO] < secret.txt   (a secret rotated by hand in the portal)

By default it talks to the local stack (`make run`) through ./.devstack/endpoints.json (or --endpoints
PATH); --deployed or --function NAME_OR_ARN use the deployed function with the usual AWS credentials and
region chain. A token goes to stdout alone, its expiry to stderr, so `$(sellertoken vend …)` is the token.
Errors print `errorType: message` to stderr and exit with the code of their type (EXIT_CODES).

Each command is one `add_*` function (its options) and one `run_*` function (what it does). Token commands
share `connection_options()`; the operator commands share `operator_options()` (local stack, or
--deployed with the sweep function's name, from whose configuration the table and prefix are read).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sellertoken_client import admin, names
from sellertoken_client.broker import (
    DEFAULT_ENDPOINTS_FILE,
    DEFAULT_FUNCTION,
    ENV_FUNCTION,
    TokenBroker,
    checked_selling_partner_id,
)
from sellertoken_client.errors import SellerTokenError

DEFAULT_SWEEP_FUNCTION = names.function_name("sweep")
SWEEP_WAIT_SECONDS = 20 * 60

REGIONS = names.REGION_CODES
EXIT_FAILURE = 1  # BrokerError: anything not listed below
EXIT_USAGE = 2  # bad arguments (argparse) or no local stack to talk to
# One per errorType of the vend contract (lambdas/sellertoken/errors.py; tests/unit/test_contract.py).
EXIT_CODES = {
    "InvalidRequest": 3,
    "GrantNotFound": 4,
    "GrantRevoked": 5,
    "AppCredentialsRejected": 6,
    "UpstreamUnavailable": 7,
    "BrokerFault": 8,
}


class UsageError(Exception):
    """The command cannot run as asked (e.g. no local stack); exits with EXIT_USAGE."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except SellerTokenError as error:
        print(f"{error.error_type}: {error}", file=sys.stderr)
        return EXIT_CODES.get(type(error).__name__, EXIT_FAILURE)
    except UsageError as error:
        print(f"sellertoken: {error}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # `sellertoken vend … | head -c 20`: the reader left, nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILURE


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sellertoken",
        description="Vend SP-API tokens from the sellertoken broker (local stack by default).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    connection = connection_options()
    add_vend(commands, connection)
    add_rdt(commands, connection)
    add_grantless(commands, connection)
    operator_parent = operator_options()
    add_grants(commands, operator_parent)
    add_sweep(commands, operator_parent)
    add_events(commands, operator_parent)
    add_app(commands, operator_parent)
    return parser


def connection_options() -> argparse.ArgumentParser:
    """Where the broker is: a parent parser every command includes."""
    options = argparse.ArgumentParser(add_help=False)
    group = options.add_argument_group("broker")
    where = group.add_mutually_exclusive_group()
    where.add_argument(
        "--endpoints",
        metavar="PATH",
        type=Path,
        help=f"the local stack's endpoints file (default: ./{DEFAULT_ENDPOINTS_FILE})",
    )
    where.add_argument(
        "--function",
        metavar="NAME_OR_ARN",
        help="the deployed vend function (or its alias ARN), reached with the AWS credentials chain",
    )
    where.add_argument(
        "--deployed",
        action="store_true",
        help=f"the deployed function named by ${ENV_FUNCTION} (default {DEFAULT_FUNCTION})",
    )
    group.add_argument("--aws-region", metavar="REGION", help="AWS region of the deployed function")
    return options


def broker_from(args: argparse.Namespace) -> TokenBroker:
    if args.function or args.deployed:
        function = args.function or os.environ.get(ENV_FUNCTION) or DEFAULT_FUNCTION
        return TokenBroker(function, region_name=args.aws_region)
    path = args.endpoints or DEFAULT_ENDPOINTS_FILE
    if not path.is_file():
        raise UsageError(f"no local stack: {path} not found (start it with `make run`, or use --deployed)")
    try:
        return TokenBroker.for_local_stack(path)
    except ValueError as error:
        raise UsageError(f"{path}: {error}") from None


# -- vend ---------------------------------------------------------------------------------------------


def add_vend(commands: Any, connection: argparse.ArgumentParser) -> None:
    command = commands.add_parser("vend", parents=[connection], help="an access token for a seller")
    command.add_argument("selling_partner_id", help="the seller's (or vendor's) selling partner id")
    command.add_argument("--region", required=True, choices=REGIONS, help="the grant's region")
    command.add_argument("--min-ttl", type=int, default=0, metavar="SECONDS", help="least lifetime left")
    command.add_argument("--json", action="store_true", help="print the broker's whole answer as JSON")
    command.set_defaults(run=run_vend)


def run_vend(args: argparse.Namespace) -> int:
    payload: dict[str, Any] = {"selling_partner_id": checked_selling_partner_id(args.selling_partner_id),
                               "region": args.region}  # fmt: skip
    if args.min_ttl:
        payload["min_ttl_seconds"] = args.min_ttl
    return _print_answer(broker_from(args).vend(payload), args.json)


# -- rdt ----------------------------------------------------------------------------------------------


def add_rdt(commands: Any, connection: argparse.ArgumentParser) -> None:
    command = commands.add_parser("rdt", parents=[connection], help="a Restricted Data Token for a seller")
    command.add_argument("selling_partner_id")
    command.add_argument("--region", required=True, choices=REGIONS)
    command.add_argument(
        "--resource",
        action="append",
        required=True,
        type=_resource,
        metavar="METHOD:PATH[:ELEMENTS]",
        help="a restricted resource, e.g. GET:/orders/v0/orders:buyerInfo,shippingAddress (repeatable)",
    )
    command.add_argument("--target-application", metavar="APP_ID", help="delegate the token to this application")
    command.add_argument("--json", action="store_true", help="print the broker's whole answer as JSON")
    command.set_defaults(run=run_rdt)


def run_rdt(args: argparse.Namespace) -> int:
    payload: dict[str, Any] = {
        "selling_partner_id": checked_selling_partner_id(args.selling_partner_id),
        "region": args.region,
        "restricted_resources": args.resource,
    }
    if args.target_application:
        payload["target_application"] = args.target_application
    return _print_answer(broker_from(args).vend(payload), args.json)


def _resource(value: str) -> dict[str, Any]:
    method, _, rest = value.partition(":")
    path, _, elements = rest.partition(":")
    if not method or not path:
        raise argparse.ArgumentTypeError(f"{value!r} is not METHOD:PATH[:ELEMENTS]")
    resource: dict[str, Any] = {"method": method.upper(), "path": path}
    if elements:
        resource["dataElements"] = [e for e in elements.split(",") if e]
    return resource


# -- grantless ------------------------------------------------------------------------------------------


def add_grantless(commands: Any, connection: argparse.ArgumentParser) -> None:
    command = commands.add_parser("grantless", parents=[connection], help="a grantless token (no seller)")
    command.add_argument("--scope", required=True, help="e.g. sellingpartnerapi::notifications")
    command.add_argument("--region", choices=REGIONS, help="answer with this region's SP-API endpoint")
    command.add_argument("--json", action="store_true", help="print the broker's whole answer as JSON")
    command.set_defaults(run=run_grantless)


def run_grantless(args: argparse.Namespace) -> int:
    payload: dict[str, Any] = {"scope": args.scope}
    if args.region:
        payload["region"] = args.region
    return _print_answer(broker_from(args).vend(payload), args.json)


# -- operator commands: grants, sweep, events ----------------------------------------------------------


def operator_options() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False)
    group = options.add_argument_group("stack")
    where = group.add_mutually_exclusive_group()
    where.add_argument("--endpoints", metavar="PATH", type=Path, help="the local stack's endpoints file")
    where.add_argument("--deployed", action="store_true", help="the deployed stack (AWS credentials chain)")
    group.add_argument(
        "--sweep-function", default=DEFAULT_SWEEP_FUNCTION, metavar="NAME", help="deployed sweep function's name"
    )
    group.add_argument("--aws-region", metavar="REGION", help="AWS region of the deployed stack")
    return options


def deployment_from(args: argparse.Namespace) -> admin.Deployment:
    if args.deployed:
        return admin.Deployment.deployed(args.sweep_function, args.aws_region)
    path = args.endpoints or DEFAULT_ENDPOINTS_FILE
    if not path.is_file():
        raise UsageError(f"no local stack: {path} not found (start it with `make run`, or use --deployed)")
    try:
        return admin.Deployment.local(path)
    except (KeyError, ValueError) as error:
        raise UsageError(f"{path}: no {error} in it") from None


def add_grants(commands: Any, parent: argparse.ArgumentParser) -> None:
    grants = commands.add_parser("grants", help="list, show, restore or revoke stored grants")
    actions = grants.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", parents=[parent], help="a table of every grant")
    listing.add_argument("--region", choices=REGIONS)
    listing.add_argument("--status", choices=("active", "revoked"))
    listing.set_defaults(run=run_grants_list)
    show = actions.add_parser("show", parents=[parent], help="one grant in detail (never its refresh token)")
    show.add_argument("selling_partner_id")
    show.add_argument("--region", required=True, choices=REGIONS)
    show.set_defaults(run=run_grants_show)
    restore = actions.add_parser(
        "restore",
        parents=[parent],
        help="make the grant's previous refresh token current again (run it twice to undo)",
    )
    restore.add_argument("selling_partner_id")
    restore.add_argument("--region", required=True, choices=REGIONS)
    restore.set_defaults(run=run_grants_operation, operation="restore_previous")
    revoke = actions.add_parser("revoke", parents=[parent], help="flag the grant revoked: no container vends it")
    revoke.add_argument("selling_partner_id")
    revoke.add_argument("--region", required=True, choices=REGIONS)
    revoke.set_defaults(run=run_grants_operation, operation="revoke")


def run_grants_list(args: argparse.Namespace) -> int:
    deployment = deployment_from(args)
    sweep = admin.latest_sweep(deployment)
    rows = []
    for row in admin.grants(deployment):
        if (args.region and row.region != args.region) or (args.status and row.status != args.status):
            continue
        record = admin.health(deployment, row.region, row.selling_partner_id) if row.health != "ok" else None
        status = row.status if row.health == "ok" else f"{row.status} ({row.health})"
        rows.append(
            (row.selling_partner_id, row.region, row.account_type, status, row.authorized_at[:10],
             row.reauthorize_by[:10], admin.last_check(row, sweep, record))
        )  # fmt: skip
    header = ("SELLER", "REGION", "ACCOUNT", "STATUS", "AUTHORIZED", "REAUTHORIZE BY", "LAST CHECK")
    _table(header, sorted(rows, key=lambda r: (r[1], r[0])))
    print(f"{len(rows)} grant(s)", file=sys.stderr)
    return 0


def run_grants_show(args: argparse.Namespace) -> int:
    deployment = deployment_from(args)
    try:
        detail = admin.grant_detail(deployment, args.region, args.selling_partner_id)
    except deployment.client("secretsmanager").exceptions.ResourceNotFoundException:
        print(f"GrantNotFound: no grant for {args.selling_partner_id} in {args.region}", file=sys.stderr)
        return EXIT_CODES["GrantNotFound"]
    print(json.dumps(detail, indent=2, sort_keys=True))
    return 0


def run_grants_operation(args: argparse.Namespace) -> int:
    answer = admin.run_operation(deployment_from(args), args.operation, args.region, args.selling_partner_id)
    print(json.dumps(answer, indent=2, sort_keys=True))
    return 0


def add_sweep(commands: Any, parent: argparse.ArgumentParser) -> None:
    command = commands.add_parser("sweep", parents=[parent], help="run a grant sweep now and show its progress")
    command.add_argument(
        "--full",
        action="store_true",
        help="refresh every grant at LWA, even those a recent refresh vouches for (the default counts a refresh "
        "within the sweep's proof window, or one the latest complete sweep relied on, as the grant's check)",
    )
    command.add_argument("--no-wait", action="store_true", help="start it and print its run id")
    command.set_defaults(run=run_sweep)


def run_sweep(args: argparse.Namespace) -> int:
    deployment = deployment_from(args)
    total = sum(1 for row in admin.grants(deployment) if row.status == "active")
    run_id = admin.start_sweep(deployment, full=args.full)
    print(f"sweep {run_id} started ({total} active grant(s))", file=sys.stderr)
    if args.no_wait:
        print(run_id)
        return 0
    deadline = time.monotonic() + SWEEP_WAIT_SECONDS
    while time.monotonic() < deadline:
        counts, summary = admin.sweep_progress(deployment, run_id)
        _progress_bar(counts, total)
        if summary is not None:
            print(file=sys.stderr)
            print(json.dumps(summary, indent=2, sort_keys=True))
            return 0 if summary.get("outcome") == "completed" else EXIT_FAILURE
        time.sleep(0.3)
    print(f"\nsweep {run_id} has not finished after {SWEEP_WAIT_SECONDS} s", file=sys.stderr)
    return EXIT_FAILURE


def add_events(commands: Any, parent: argparse.ArgumentParser) -> None:
    command = commands.add_parser("events", parents=[parent], help="print the events the local bus recorded")
    command.add_argument("--wait", type=int, default=0, metavar="SECONDS", help="keep reading this long")
    command.set_defaults(run=run_events)


def run_events(args: argparse.Namespace) -> int:
    try:
        found = admin.recorded_events(deployment_from(args), args.wait)
    except ValueError as error:
        raise UsageError(str(error)) from None
    for event in found:
        print(json.dumps({k: event.get(k) for k in ("time", "detail-type", "detail")}, sort_keys=True))
    return 0


def add_app(commands: Any, parent: argparse.ArgumentParser) -> None:
    app = commands.add_parser("app", help="the application's LWA client secret: status, rotate, set-secret")
    actions = app.add_subparsers(dest="action", required=True, metavar="ACTION")
    status = actions.add_parser("status", parents=[parent], help="the secret's age and expiry, overlap, rotation")
    status.add_argument("--json", action="store_true", help="print the broker's whole answer as JSON")
    status.set_defaults(run=run_app_status)
    rotate = actions.add_parser("rotate", parents=[parent], help="ask Amazon for a new client secret now")
    rotate.set_defaults(run=run_app_rotate)
    secret = actions.add_parser(
        "set-secret",
        parents=[parent],
        help="store a client secret rotated by hand in the Solution Provider Portal, read from standard input",
        description="Reads the new client secret from standard input (a prompt that does not echo on a "
        "terminal), never from the command line. LWA must accept it before it is stored; the replaced secret "
        "stays usable for Amazon's 7-day overlap.",
    )
    secret.add_argument("--expires-at", metavar="ISO", help="when Amazon says the new secret expires (UTC)")
    secret.set_defaults(run=run_app_set_secret)


def run_app_status(args: argparse.Namespace) -> int:
    answer = admin.app_operation(deployment_from(args), "status")
    if args.json:
        print(json.dumps(answer, indent=2, sort_keys=True))
        return 0
    secret, previous, rotation, queue = answer["secret"], answer["previous_secret"], answer["rotation"], answer["queue"]
    rows = [
        ("client id", answer["client_id"]),
        ("secret expires", f"{secret['expires_at']} ({secret['expiry']}), in {secret['days_left']} day(s)"),
        ("secret age", f"{secret['age_days']} day(s); rotated at {secret['rotated_at'] or 'never (by the broker)'}"),
        ("previous secret", f"valid until {previous['until']}" if previous["valid"] else "none valid"),
        ("rotation", _rotation_line(rotation)),
        ("queue", f"{queue['registration']}" + (f" ({queue['url']})" if queue["url"] else "")),
    ]
    if answer.get("unreadable_fields"):
        rows.append(("unreadable", ", ".join(answer["unreadable_fields"]) + " in the app secret (ignored)"))
    _table(("", ""), rows)
    return 0


def _rotation_line(rotation: dict[str, Any]) -> str:
    line = rotation["state"].replace("_", " ")
    if rotation.get("last_attempt_at"):
        line += f", last asked {rotation['last_attempt_at']}"
    if rotation.get("last_result"):
        line += f" ({rotation['last_result']})"
    if rotation.get("next_attempt_at"):
        line += f", next try after {rotation['next_attempt_at']}"
    return line


def run_app_rotate(args: argparse.Namespace) -> int:
    answer = admin.app_operation(deployment_from(args), "rotate")
    print(json.dumps(answer, indent=2, sort_keys=True))
    return 0 if answer.get("outcome") == "requested" else EXIT_FAILURE


def run_app_set_secret(args: argparse.Namespace) -> int:
    deployment = deployment_from(args)
    secret = _secret_from_stdin()
    fields = {"client_secret": secret}
    if args.expires_at:
        fields["expires_at"] = args.expires_at
    answer = admin.app_operation(deployment, "set_secret", **fields)
    print(json.dumps(answer, indent=2, sort_keys=True))
    return 0


def _secret_from_stdin() -> str:
    if sys.stdin.isatty():
        secret = getpass.getpass("New LWA client secret (not shown): ")
    else:
        secret = sys.stdin.read()
    secret = secret.strip()
    if not secret:
        raise UsageError("no client secret on standard input")
    return secret


def _progress_bar(counts: dict[str, int], total: int) -> None:
    done = sum(counts.get(k, 0) for k in names.SWEEP_CHECKED)
    width = 30
    filled = width if not total else min(width, width * done // total)
    parts = ", ".join(f"{k} {counts[k]}" for k in names.SWEEP_CHECKED if counts.get(k))
    print(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} checked {parts}   ", end="", file=sys.stderr)


def _table(header: Sequence[str], rows: list[Sequence[str]]) -> None:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=False)]
    for line in (header, *rows):
        print("  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())


# -- output ---------------------------------------------------------------------------------------------


def _print_answer(answer: dict[str, Any], as_json: bool) -> int:
    if as_json:
        print(json.dumps(answer, indent=2))
        return 0
    print(answer.get("access_token", ""))
    expiry = f"expires {answer.get('expires_at')} (in {answer.get('expires_in')} s)"
    print(f"{answer.get('kind', 'token')} token, {expiry}, endpoint {answer.get('endpoint')}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
