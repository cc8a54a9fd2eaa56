"""`mock-core`: serve the mock, or migrate its store."""

from __future__ import annotations

import argparse
import os
import sys

from pydantic import ValidationError

from mock_core.settings import DEV_PLATFORM_KEY, Settings
from mock_core.store.engine import is_sqlite, upgrade


def _settings_from(args: argparse.Namespace) -> Settings:
    # The workers uvicorn starts rebuild the settings from the environment, so the
    # command line is passed on through MOCK_CORE_* variables.
    if args.database_url:
        os.environ["MOCK_CORE_DATABASE_URL"] = args.database_url
    if getattr(args, "api_keys", None):
        os.environ["MOCK_CORE_API_KEYS"] = args.api_keys
    if getattr(args, "api_keys_file", None):
        os.environ["MOCK_CORE_API_KEYS_FILE"] = args.api_keys_file
    if getattr(args, "no_admin", False):
        os.environ["MOCK_CORE_ADMIN_ENABLED"] = "false"
    if getattr(args, "no_access_log", False):
        os.environ["MOCK_CORE_ACCESS_LOG"] = "false"
    return Settings()


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    try:
        settings = _settings_from(args)
    except (ValidationError, ValueError, OSError) as exc:
        print(f"mock-core: bad settings: {exc}", file=sys.stderr)
        return 2
    if args.workers > 1 and is_sqlite(settings.database_url):
        print(
            "mock-core: SQLite takes one worker (its writes are serialised by one lock); "
            "use --workers 1, or PostgreSQL (--database-url postgresql+psycopg://...) "
            "for several",
            file=sys.stderr,
        )
        return 2
    # Migrate once here, so that several workers do not race to create the schema.
    upgrade(settings.database_url)
    os.environ["MOCK_CORE_MIGRATE_ON_START"] = "false"
    key_note = (
        f"development key {DEV_PLATFORM_KEY!r} (scope *): set --api-keys for anything shared"
        if settings.using_dev_key
        else f"{len(settings.keys())} API key(s) configured"
    )
    print(
        f"mock-core: serving http://{args.host}:{args.port}/v1 on {settings.database_url} "
        f"with {args.workers} worker(s); {key_note}; admin endpoints "
        f"{'on' if settings.admin_enabled else 'off'}",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(
        "mock_core.api.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop="auto",
        http="auto",
        access_log=False,
        log_level=args.log_level,
    )
    return 0


def migrate(args: argparse.Namespace) -> int:
    settings = _settings_from(args)
    upgrade(settings.database_url)
    print(f"mock-core: {settings.database_url} is at the newest schema", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mock-core",
        description="An event-sourced mock of the TuringCore v1 core-banking API.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser(
        "serve",
        help="serve the API",
        description="Serve the mock. State lives in --database-url and survives restarts. "
        "With no --api-keys the development key 'dev-platform-key' (scope *) is accepted.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    p.add_argument(
        "--database-url",
        default=None,
        help="sqlite:///path or postgresql+psycopg://user@host/db "
        "(default: $MOCK_CORE_DATABASE_URL or sqlite:///./var/mock-core.db)",
    )
    p.add_argument(
        "--api-keys",
        default=None,
        help="KEY=SCOPE[,SCOPE];KEY=... where a scope is a tenantId or * "
        "(default: $MOCK_CORE_API_KEYS)",
    )
    p.add_argument("--api-keys-file", default=None, help="a file of KEY=SCOPE lines")
    p.add_argument("--workers", type=int, default=1, help="worker processes (PostgreSQL only)")
    p.add_argument("--no-admin", action="store_true", help="switch the /_mock/ endpoints off")
    p.add_argument("--no-access-log", action="store_true", help="no JSON line per request")
    p.add_argument("--log-level", default="warning", help="uvicorn's log level")
    p.set_defaults(func=serve)
    m = sub.add_parser("migrate", help="create or upgrade the store's schema, then exit")
    m.add_argument("--database-url", default=None)
    m.set_defaults(func=migrate)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `mock-core` console script."""
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
