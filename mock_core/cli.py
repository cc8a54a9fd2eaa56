"""`mock-core`: serve the mock, migrate its store, rebuild its projections from the log, or
save and restore named snapshots.

Exit codes: 0 done (or stopped; `rebuild --check`: no drift); 1 `rebuild --check`
found drift (one line per difference on stdout); 2 bad usage or settings, a port
that cannot be listened on, or a store that cannot be opened. Every refusal is
one line on stderr.
"""

from __future__ import annotations

import argparse
import errno
import os
import socket
import sys
import time
from collections.abc import Callable
from typing import Any, NoReturn

from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from mock_core import __version__
from mock_core.settings import DEV_PLATFORM_KEY, Settings, spec_path
from mock_core.store.engine import is_sqlite, make_engine, upgrade

DRIFT = 1
USAGE_ERROR = 2


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error said in one line (and the help pointed at)."""

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE_ERROR, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _whole_number(
    low: int, high: int | None = None, what: str | None = None
) -> Callable[[str], int]:
    """An argparse type: a whole number from `low` (to `high`), `what` naming it."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            wrong = (
                f"{what} {text!r} is not a number" if what else f"{text!r} is not a whole number"
            )
            raise argparse.ArgumentTypeError(wrong) from None
        if high is not None and not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"{what or ''} {value} is outside {low}..{high}".strip()
            )
        if value < low:
            raise argparse.ArgumentTypeError(f"{value} is below {low}")
        return value

    return parse


class _Refused(Exception):
    """A refusal: its message is one line on stderr, and the exit code is 2."""


def _one_line(exc: BaseException) -> str:
    """An exception as one line: pydantic's field errors joined, others' first line."""
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()))
            message = str(err.get("msg", "")).removeprefix("Value error, ")
            parts.append(f"{where}: {message}" if where else message)
        return "; ".join(parts)
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _fail(message: str) -> int:
    print(f"mock-core: {message}", file=sys.stderr)
    return USAGE_ERROR


def _open_store(url: str) -> None:
    """Create or upgrade the schema at `url`; `_Refused` when it cannot be opened."""
    try:
        upgrade(url)
    except (SQLAlchemyError, OSError) as exc:
        raise _Refused(f"cannot open the database {url}: {_one_line(exc)}") from None


def _port_problem(host: str, port: int) -> str | None:
    """None when (host, port) can be listened on now, else why not."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        return f"cannot listen on {host}:{port}: {exc.strerror or exc}"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            reason = "the port is in use" if exc.errno == errno.EADDRINUSE else exc.strerror
            return f"cannot listen on {host}:{port}: {reason}"
    return None


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
    if getattr(args, "faults", None):
        os.environ["MOCK_CORE_FAULTS"] = args.faults
    try:
        settings = Settings()
        if settings.faults is not None:
            from mock_core.api.faults import parse_spec

            parse_spec(settings.faults)
        return settings
    except (ValidationError, ValueError, OSError) as exc:
        raise _Refused(f"bad settings: {_one_line(exc)}") from None


def _opened(args: argparse.Namespace) -> Settings:
    """The settings, once their store is at the newest schema (else `_Refused`)."""
    settings = _settings_from(args)
    _open_store(settings.database_url)
    return settings


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = _settings_from(args)
    if args.workers > 1 and is_sqlite(settings.database_url):
        return _fail(
            "SQLite takes one worker (its writes are serialised by one lock); "
            "use --workers 1, or PostgreSQL (--database-url postgresql+psycopg://...) "
            "for several"
        )
    spec = spec_path()
    if not spec.is_file():
        return _fail(f"the contract file {spec} does not exist (check MOCK_CORE_SPEC_PATH)")
    problem = _port_problem(args.host, args.port)
    if problem is not None:
        return _fail(f"{problem}; pick another with --port")
    # Migrate once here, so that several workers do not race to create the schema.
    _open_store(settings.database_url)
    os.environ["MOCK_CORE_MIGRATE_ON_START"] = "false"
    key_note = (
        f"development key {DEV_PLATFORM_KEY!r} (scope *): set --api-keys for anything shared"
        if settings.using_dev_key
        else f"{len(settings.keys())} API key(s) configured"
    )
    print(
        f"mock-core: serving http://{args.host}:{args.port}/v1 on {settings.database_url} "
        f"with {args.workers} worker(s); {key_note}; admin endpoints "
        f"{'on' if settings.admin_enabled else 'off'}"
        + (f"; fault profile {settings.faults} for every tenant" if settings.faults else ""),
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
    settings = _opened(args)
    print(f"mock-core: {settings.database_url} is at the newest schema", file=sys.stderr)
    return 0


def rebuild(args: argparse.Namespace) -> int:
    from mock_core.store import rebuild as rebuilding

    settings = _opened(args)
    started = time.perf_counter()
    # The owner's connection: a rebuild reads and writes every tenant, outside
    # row-level security.
    engine = make_engine(settings.database_url, app_role=None)
    try:
        with engine.connect() as live:
            found = rebuilding.replay(live, args.tenant)
            try:
                if args.check:
                    lines = rebuilding.drift(live, found, args.tenant)
                else:
                    lines = found.chain_problems
                    rebuilding.replace(live, found, args.tenant)
                    live.commit()
            finally:
                found.close()
    finally:
        engine.dispose()
    for line in lines:
        print(line)
    seconds = time.perf_counter() - started
    what = f"{found.events} events of {found.tenants} tenant(s) replayed in {seconds:.1f} s"
    if args.check:
        verdict = f"{len(lines)} difference(s)" if lines else "no drift"
    else:
        verdict = "projections rebuilt" + (f"; {len(lines)} chain problem(s)" if lines else "")
    print(f"mock-core: {what}; {verdict}", file=sys.stderr)
    return DRIFT if args.check and lines else 0


def snapshot(args: argparse.Namespace) -> int:
    from mock_core.errors import RequestError
    from mock_core.store import snapshots
    from mock_core.store.backends import open_store

    settings = _settings_from(args)
    if args.action != "list" and not args.name:
        return _fail(f"snapshot {args.action} needs a NAME")
    _open_store(settings.database_url)
    started = time.perf_counter()
    store = open_store(make_engine(settings.database_url))
    try:
        with store.admin() as conn:
            if args.action == "list":
                for found in snapshots.listing(conn):
                    scope = "the whole store" if found.scope == "*" else found.scope
                    print(f"{found.name}\t{scope}\t{found.events} events\t{found.created_at}")
                return 0
            if args.action == "save":
                done = snapshots.save(conn, args.name, args.tenant)
            else:
                done = snapshots.restore(conn, args.name, args.tenant)
    except RequestError as exc:
        return _fail(exc.message)
    finally:
        store.close()
    seconds = time.perf_counter() - started
    scope = "the whole store" if done.scope == "*" else f"tenant {done.scope}"
    verb = "saved as" if args.action == "save" else "restored from"
    print(
        f"mock-core: {scope} ({done.events} events) {verb} snapshot {args.name} in {seconds:.2f} s",
        file=sys.stderr,
    )
    return 0


def _command(
    sub: argparse._SubParsersAction[_Parser],
    name: str,
    run: Callable[[argparse.Namespace], int],
    help: str,
    description: str | None = None,
) -> argparse.ArgumentParser:
    """A subcommand that runs `run`; every one works on a store (`--database-url`)."""
    command: argparse.ArgumentParser = sub.add_parser(name, help=help, description=description)
    command.add_argument(
        "--database-url",
        default=None,
        help="sqlite:///path or postgresql+psycopg://user@host/db "
        "(default: $MOCK_CORE_DATABASE_URL or sqlite:///./var/mock-core.db)",
    )
    command.set_defaults(func=run)
    return command


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="mock-core",
        description="An event-sourced mock of the TuringCore v1 core-banking API.",
        epilog="Exit codes: 0 done; 2 bad usage or settings, a port that cannot be "
        "listened on, or a store that cannot be opened (one line on stderr says which).",
    )
    parser.add_argument("--version", action="version", version=f"mock-core {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    p = _command(
        sub,
        "serve",
        serve,
        help="serve the API",
        description="Serve the mock. State lives in --database-url and survives restarts. "
        "With no --api-keys the development key 'dev-platform-key' (scope *) is accepted.",
    )
    serving: dict[str, dict[str, Any]] = {
        "--host": {"default": "127.0.0.1", "help": "address to bind (default 127.0.0.1)"},
        "--port": {
            "type": _whole_number(1, 65535, "port"),
            "default": 8080,
            "help": "port, 1..65535 (default 8080)",
        },
        "--api-keys": {
            "help": "KEY=SCOPE[,SCOPE];KEY=... where a scope is a tenantId or * "
            "(default: $MOCK_CORE_API_KEYS)"
        },
        "--api-keys-file": {"help": "a file of KEY=SCOPE lines"},
        "--workers": {
            "type": _whole_number(1),
            "default": 1,
            "help": "worker processes (PostgreSQL only)",
        },
        "--no-admin": {"action": "store_true", "help": "switch the /_mock/ endpoints off"},
        "--no-access-log": {"action": "store_true", "help": "no JSON line per request"},
        "--faults": {
            "metavar": "PROFILE[:SEED]",
            "help": "a fault profile for every tenant, NAME[:SEED][,PARAM=VALUE...] "
            "(drop-reply, error-after-commit, refuse, latency, outage, slow-reader; "
            "docs/faults.md; default: $MOCK_CORE_FAULTS, else none)",
        },
        "--log-level": {"default": "warning", "help": "uvicorn's log level"},
    }
    for flag, options in serving.items():
        p.add_argument(flag, **options)
    _command(sub, "migrate", migrate, help="create or upgrade the store's schema, then exit")
    r = _command(
        sub,
        "rebuild",
        rebuild,
        help="replay the event log into fresh projections (--check: compare, change nothing)",
        description="Replay every tenant's events (checking the hash chain) into fresh "
        "projections and replace the live ones; with --check, compare them with the live "
        "ones instead and print one line per difference. Stop the server first unless "
        "--check. Exit codes: 0 done or no drift; 1 drift found (--check); 2 bad usage.",
    )
    r.add_argument("--check", action="store_true", help="compare only; exit 1 on drift")
    s = _command(
        sub,
        "snapshot",
        snapshot,
        help="save, restore or list named snapshots of a tenant or the whole store",
        description="Save a tenant (--tenant) or the whole store under NAME (replacing a "
        "snapshot of that name), restore one (with --tenant, only that tenant of it), or "
        "list them. Exit codes: 0 done; 2 bad usage, an unknown snapshot or tenant, or a "
        "store that cannot be opened.",
    )
    s.add_argument("action", choices=("save", "restore", "list"))
    s.add_argument("name", nargs="?", default=None, help="the snapshot's name")
    for command in (r, s):
        command.add_argument("--tenant", default=None, help="only this tenant")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `mock-core` console script."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except _Refused as exc:
        return _fail(str(exc))


if __name__ == "__main__":
    sys.exit(main())
