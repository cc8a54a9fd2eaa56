"""`turingcore-console`: serve the console and portal for one TuringCore base URL."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

import uvicorn

from console.app import DEFAULT_TENANTS, create_app

ENV_BASE_URL = "TURINGCORE_BASE_URL"
ENV_API_KEY = "TURINGCORE_API_KEY"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="turingcore-console",
        description="The operator console and member portal over TuringCore's public API "
        "(docs/console.md).",
    )
    parser.add_argument(
        "--base-url",
        default=os.environ.get(ENV_BASE_URL, "http://127.0.0.1:8080"),
        help=f"service root or its /v1 (default ${ENV_BASE_URL}, else http://127.0.0.1:8080)",
    )
    parser.add_argument(
        "--api-key",
        default=os.environ.get(ENV_API_KEY),
        help=f"sign every visitor in with this key (default ${ENV_API_KEY}); without it "
        "the console asks for a key",
    )
    parser.add_argument(
        "--tenant",
        action="append",
        default=None,
        help="a tenant shown on the overview (repeatable; default CU_DIGITAL): the "
        "contract has no query that lists tenants",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8090, help="port (default 8090)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `turingcore-console`."""
    args = build_parser().parse_args(argv)
    tenants = tuple(t.strip().upper() for t in args.tenant) if args.tenant else DEFAULT_TENANTS
    app = create_app(args.base_url, args.api_key, tenants=tenants)
    print(f"turingcore-console: http://{args.host}:{args.port}/ for {args.base_url}", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
