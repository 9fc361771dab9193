"""`sellertoken`: the operator CLI of the broker.

    sellertoken vend A1B2C3D4E5F6G7 --region na [--min-ttl N] [--json]
    sellertoken rdt A1B2C3D4E5F6G7 --region na --resource GET:/orders/v0/orders:buyerInfo [--json]
    sellertoken grantless --scope sellingpartnerapi::notifications [--region na] [--json]

By default it talks to the local stack (`make run`) through ./.devstack/endpoints.json (or --endpoints
PATH); --deployed or --function NAME_OR_ARN use the deployed function with the usual AWS credentials and
region chain. A token goes to stdout alone, its expiry to stderr, so `$(sellertoken vend …)` is the token.
Errors print `errorType: message` to stderr and exit with the code of their type (EXIT_CODES).

Each command is one `add_*` function (its options) and one `run_*` function (what it does); a new command
(`grants list`, `sweep`, …) adds its own pair and reuses `connection_options()`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sellertoken_client.broker import DEFAULT_ENDPOINTS_FILE, DEFAULT_FUNCTION, ENV_FUNCTION, TokenBroker
from sellertoken_client.errors import SellerTokenError

REGIONS = ("na", "eu", "fe")
EXIT_FAILURE = 1  # BrokerError: anything not listed below
EXIT_USAGE = 2  # bad arguments (argparse) or no local stack to talk to
EXIT_CODES = {
    "InvalidRequest": 3,
    "GrantNotFound": 4,
    "GrantRevoked": 5,
    "AppCredentialsRejected": 6,
    "UpstreamUnavailable": 7,
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
    payload: dict[str, Any] = {"selling_partner_id": args.selling_partner_id, "region": args.region}
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
        "selling_partner_id": args.selling_partner_id,
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
