"""The benchmark harness: `make bench`, or `python -m bench.run [options]`.

Measures, in one run and against the same generator (wrk, one thread):
  floor              a trivial FastAPI endpoint (bench/floor_app.py) under the mock's
                     server settings: every other figure is also a ratio to it
  post_entry ...     the mock (SQLite) per command type at each --connections level:
                     requests/s, latency p50/p95/p99, server CPU per request, RSS
  postgres           the same on PostgreSQL with 1, 2 and 4 workers, each in a fresh
                     database the harness creates and drops
  twin               the twin end to end (steady-state, 500 members x 30 days; with
                     --full also 10,000 x 30): wall time, commands/s, latency at the
                     start and at the end of the run, server RSS
  queries            query latency on a store seeded by the twin (10,000 members)

Each figure is the median of --runs runs; the floor is measured interleaved with
the mock (floor, then each command, run after run), so that a noisy neighbour
hits both. Results: <results-dir>/<part>.json and <results-dir>/summary.md.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

from bench import load
from bench.load import BenchError

# The parts, in the order they run. `floor` always runs (every figure needs it).
COMMAND_PARTS = (
    "post_entry",
    "post_entry_replay",
    "create_customer",
    "open_account",
    "get_account",
    "list_customers",
)
EXTRA_PARTS = ("floor_post",)  # only when asked for with --only
PARTS = ("floor", *COMMAND_PARTS, "postgres", "twin", "queries")
QUERY_SCRIPTS = ("list_customers", "list_accounts", "account_events", "tenant_events")
COMMAND_LABELS = {
    "floor": "floor: GET trivial endpoint",
    "floor_post": "floor: POST, body read, constant 202",
    "post_entry": "PostEntry (fresh commandId)",
    "post_entry_replay": "PostEntry replayed (same key)",
    "create_customer": "CreateCustomer",
    "open_account": "OpenAccount",
    "get_account": "GET account",
    "list_customers": "GET customers page",
    "list_accounts": "GET accounts page",
    "account_events": "GET account events page",
    "tenant_events": "GET tenant stream page",
}
# wrk scripts per part; the POST floor reuses the PostEntry script on the floor app.
SCRIPT_OF = {"floor_post": "post_entry"}
TARGETS = {
    "post_entry_ratio_c32": 0.5,
    "steady_500x30_wall_s": 20.0,
    "full_10000x30_wall_s": 600.0,
    "full_rss_bytes": 1 << 30,
    "full_p99_growth": 2.0,
    "query_p95_ms": 10.0,
}
SEQ_STRIDE = 100_000_000  # BENCH_SEQ_BASE step: room for 10^8 requests per wrk run
# The twin's and the query timings' whole-number options: (flag, default, help).
TWIN_NUMBERS = (
    ("--twin-customers", None, "default 500"),
    ("--twin-days", None, "default 30"),
    ("--twin-concurrency", None, "the twin's --concurrency"),
    ("--twin-seed", 42, None),
    ("--twin-workers", 1, None),
    ("--query-members", None, "members the twin seeds before the query timings (default 10000)"),
    ("--query-days", 1, "simulated days of that seed (default 1)"),
    (
        "--query-connections",
        1,
        "wrk connections for the query latencies (default 1: unloaded latency)",
    ),
)


def _csv(kind: Callable[[str], Any]) -> Callable[[str], list[Any]]:
    def parse(text: str) -> list[Any]:
        try:
            return [kind(x.strip()) for x in text.split(",") if x.strip()]
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


# The module docstring above is the --help description.
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke check in about 3 minutes: 1 run of 2 s each, PostgreSQL with 1 and 4 "
        "workers, a 50 x 5 twin and a 500-member query store; results go to "
        "bench/results/quick/",
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help="also run the twin on 10,000 members x 30 days (the CU_DIGITAL tenant)",
    )
    parser.add_argument(
        "--only",
        type=_csv(str),
        default=None,
        metavar="PART,...",
        help=f"parts to run (default all): {', '.join((*PARTS, *EXTRA_PARTS))}; "
        "the floor is always measured",
    )
    parser.add_argument("--runs", type=int, default=None, help="runs per figure (default 3)")
    parser.add_argument(
        "--duration", type=int, default=None, help="seconds per wrk run (default 10)"
    )
    parser.add_argument(
        "--warmup", type=int, default=None, help="seconds of warm-up per script (default 2)"
    )
    parser.add_argument(
        "--connections",
        type=_csv(int),
        default=[1, 8, 32],
        metavar="N,...",
        help="wrk connection counts (default 1,8,32); wrk always runs one thread",
    )
    parser.add_argument(
        "--setup-customers",
        type=int,
        default=20,
        help="members the load set-up creates (default 20)",
    )
    pg = parser.add_argument_group("PostgreSQL")
    pg.add_argument(
        "--pg-workers",
        type=_csv(int),
        default=None,
        metavar="N,...",
        help="uvicorn worker counts on PostgreSQL (default 1,2,4; 1,4 with --quick)",
    )
    pg.add_argument(
        "--pg-commands",
        type=_csv(str),
        default=["post_entry"],
        metavar="PART,...",
        help=f"command parts measured on PostgreSQL (default post_entry; any of "
        f"{', '.join(COMMAND_PARTS)})",
    )
    pg.add_argument(
        "--postgres-dsn",
        default=os.environ.get("BENCH_POSTGRES_DSN", load.DEFAULT_PG_DSN),
        help="libpq DSN of a role that may CREATE/DROP DATABASE (default "
        f"$BENCH_POSTGRES_DSN or {load.DEFAULT_PG_DSN!r})",
    )
    twin = parser.add_argument_group("twin and queries")
    for flag, default, text in TWIN_NUMBERS:
        twin.add_argument(flag, type=int, default=default, help=text)
    twin.add_argument(
        "--twin-no-inspect",
        action="store_true",
        help="skip the twin's five invariant checks after each run (timed separately)",
    )
    twin.add_argument(
        "--twin-backend",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="the mock's store for the twin runs (default sqlite; postgresql with --twin-workers)",
    )
    out = parser.add_argument_group("output")
    out.add_argument(
        "--results-dir",
        default=None,
        help="where the JSON files and summary.md go (default bench/results, "
        "bench/results/quick with --quick)",
    )
    out.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument(
        "--mock-caches",
        default=None,
        help="the mock's store caches: writer_memory,offset_marks (default), a subset, or "
        "none; to measure what each buys (bench/results/ab-issue13.md)",
    )
    out.add_argument(
        "--no-install", action="store_true", help="fail instead of installing a missing wrk"
    )
    return parser


def resolve(args: argparse.Namespace) -> argparse.Namespace:
    """Fill the defaults that depend on --quick and check the choices."""
    quick = args.quick
    defaults = {
        "runs": 1 if quick else 3,
        "duration": 2 if quick else 10,
        "warmup": 1 if quick else 2,
        "twin_customers": 50 if quick else 500,
        "twin_days": 5 if quick else 30,
        "query_members": 500 if quick else 10_000,
        "pg_workers": [1, 4] if quick else [1, 2, 4],
    }
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.results_dir is None:
        args.results_dir = str(load.ROOT / "bench" / "results" / ("quick" if quick else ""))
    known = (*PARTS, *EXTRA_PARTS)
    selected = list(args.only) if args.only else list(PARTS)
    unknown = [p for p in selected if p not in known]
    if unknown:
        raise BenchError(f"--only: unknown part(s) {', '.join(unknown)}; known: {', '.join(known)}")
    if "floor" not in selected:
        selected.insert(0, "floor")
    args.parts = [p for p in known if p in selected]
    bad = [c for c in args.pg_commands if c not in COMMAND_PARTS]
    if bad:
        raise BenchError(f"--pg-commands: unknown {', '.join(bad)}")
    if args.runs < 1 or args.duration < 1 or args.warmup < 0:
        raise BenchError("--runs and --duration must be at least 1, --warmup at least 0")
    if any(c < 1 for c in args.connections) or any(w < 1 for w in args.pg_workers):
        raise BenchError("--connections and --pg-workers must be at least 1")
    return args
