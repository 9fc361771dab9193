"""`python -m devstack` (what `make run` starts): the whole broker on loopback until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from devstack.awscalls import record_from_environment
from devstack.stack import LocalStack

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
    parser.add_argument("--api-port", type=int, default=8700, help="local API Gateway port (0: any free port)")
    parser.add_argument("--aws-port", type=int, default=8701, help="embedded AWS (moto) port")
    parser.add_argument("--amazon-port", type=int, default=8702, help="Amazon simulator port")
    parser.add_argument("--lambda-port", type=int, default=8703, help="local Lambda Invoke endpoint port")
    parser.add_argument(
        "--vendor-central-port", type=int, default=8704, help="the Amazon simulator's Vendor Central port"
    )
    parser.add_argument(
        "--sweep-every", type=float, default=300.0, metavar="SECONDS", help="run the grant sweep this often (0: never)"
    )
    parser.add_argument(
        "--rotation-check-every",
        type=float,
        default=3600.0,
        metavar="SECONDS",
        help="run the client-secret rotation check this often (0: never; Amazon's notices rotate it anyway)",
    )
    parser.add_argument(
        "--lwa-rate-limit",
        type=float,
        default=None,
        metavar="PER_SECOND",
        help="the simulated LWA answers 429 above this many token requests per second (default: no limit)",
    )
    parser.add_argument("--state-dir", default=str(ROOT / ".devstack"), help="where endpoints.json is written")
    parser.add_argument("--success-url", default=None, help="where /callback sends the browser after success")
    args = parser.parse_args(argv)
    record_from_environment()  # opt-in (the test suite's IAM check): each function's AWS calls to a file

    stack = LocalStack(
        api_port=args.api_port,
        aws_port=args.aws_port,
        amazon_port=args.amazon_port,
        vendor_central_port=args.vendor_central_port,
        lambda_port=args.lambda_port,
        state_dir=args.state_dir,
        success_url=args.success_url,
        sweep_every_seconds=args.sweep_every,
        rotation_check_every_seconds=args.rotation_check_every,
        lwa_rate_limit=args.lwa_rate_limit,
    )
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    endpoints = stack.start()
    print("sellertoken local stack is ready", flush=True)
    print(f"  Amazon simulator : {endpoints['amazon']}  (Vendor Central: {endpoints['vendor_central']})")
    print(f"  embedded AWS     : {endpoints['aws']}  (moto, region {endpoints['region']})")
    print(f"  API              : {endpoints['api']}")
    print(f"  Lambda (invoke)  : {endpoints['lambda']}  (functions: {', '.join(endpoints['functions'].values())})")
    sweep = f"every {args.sweep_every:g} s" if args.sweep_every > 0 else "off"
    print(f"  grant sweep      : {sweep}")
    print(f"  secret rotation  : Amazon's notices on {endpoints['notification_queue_url']} (registered)")
    limit = f"{args.lwa_rate_limit:g} requests/s, then 429" if args.lwa_rate_limit else "none"
    print(f"  LWA rate limit   : {limit}")
    print(f"  endpoints file   : {Path(args.state_dir) / 'endpoints.json'}")
    print()
    print(f"Open {endpoints['authorize']} in a browser and click Confirm.")
    print("Press Ctrl-C to stop.", flush=True)
    stopped.wait()
    stack.stop()
    print("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
