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
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from bench import load
from bench.load import BenchError, Server, Setup, WrkResult, median, percentile

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


def _csv(kind: Callable[[str], Any]) -> Callable[[str], list[Any]]:
    def parse(text: str) -> list[Any]:
        try:
            return [kind(x.strip()) for x in text.split(",") if x.strip()]
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


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
    twin.add_argument("--twin-customers", type=int, default=None, help="default 500")
    twin.add_argument("--twin-days", type=int, default=None, help="default 30")
    twin.add_argument("--twin-concurrency", type=int, default=None, help="the twin's --concurrency")
    twin.add_argument("--twin-seed", type=int, default=42)
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
    twin.add_argument("--twin-workers", type=int, default=1)
    twin.add_argument(
        "--query-members",
        type=int,
        default=None,
        help="members the twin seeds before the query timings (default 10000)",
    )
    twin.add_argument(
        "--query-days", type=int, default=1, help="simulated days of that seed (default 1)"
    )
    twin.add_argument(
        "--query-connections",
        type=int,
        default=1,
        help="wrk connections for the query latencies (default 1: unloaded latency)",
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


# ------------------------------------------------------------------ context


@dataclass
class Context:
    args: argparse.Namespace
    wrk: str
    workdir: Path
    results_dir: Path
    floor: Server
    machine: dict[str, Any]
    seq: int = 0
    results: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def next_seq(self) -> str:
        self.seq += 1
        return str(self.seq * SEQ_STRIDE)

    def say(self, text: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


@dataclass
class Measurement:
    """One wrk run against one server, with the server's CPU and RSS around it."""

    result: WrkResult
    cpu_s: float
    db_cpu_s: float
    rss_bytes: int

    def as_dict(self) -> dict[str, Any]:
        r = self.result
        per_request = 1e6 / r.requests if r.requests else float("nan")
        return {
            "requests": r.requests,
            "duration_s": round(r.duration_s, 3),
            "rps": round(r.rps, 1),
            "p50_ms": round(r.latency_ms("p50"), 3),
            "p95_ms": round(r.latency_ms("p95"), 3),
            "p99_ms": round(r.latency_ms("p99"), 3),
            "max_ms": round(r.latency_ms("max"), 3),
            "errors": r.errors,
            "server_cpu_s": round(self.cpu_s, 3),
            "cpu_us_per_request": round(self.cpu_s * per_request, 1),
            "db_cpu_us_per_request": round(self.db_cpu_s * per_request, 1),
            "rss_mb": round(self.rss_bytes / 2**20, 1),
        }


def measure(
    ctx: Context,
    server: Server,
    script: str,
    setup_env: dict[str, str],
    connections: int,
    duration_s: int,
) -> Measurement:
    env = {**setup_env, "BENCH_SEQ_BASE": ctx.next_seq()}
    if server is ctx.floor and script == "post_entry":
        env["BENCH_PATH"] = "/floor/commands"
    cpu0, db0 = server.cpu()
    result = load.run_wrk(
        ctx.wrk,
        server.base_url,
        script,
        connections=connections,
        duration_s=duration_s,
        env=env,
    )
    cpu1, db1 = server.cpu()
    return Measurement(result, cpu1 - cpu0, db1 - db0, server.rss())


def summarise(
    runs: list[dict[str, Any]], floor_runs: list[dict[str, Any]] | None
) -> dict[str, Any]:
    """Medians over runs; ratio to the floor run measured next to each run."""
    out: dict[str, Any] = {
        key: round(median([r[key] for r in runs]), 3)
        for key in (
            "rps",
            "p50_ms",
            "p95_ms",
            "p99_ms",
            "cpu_us_per_request",
            "db_cpu_us_per_request",
        )
    }
    out["rss_mb_end"] = runs[-1]["rss_mb"]
    out["errors"] = sum(sum(r["errors"].values()) for r in runs)
    if floor_runs:
        paired = [r["rps"] / f["rps"] for r, f in zip(runs, floor_runs, strict=False) if f["rps"]]
        out["ratio_to_floor"] = round(median(paired), 3) if paired else None
        floor_median = median([f["rps"] for f in floor_runs])
        out["ratio_of_medians"] = round(out["rps"] / floor_median, 3) if floor_median else None
        out["floor_rps"] = round(floor_median, 1)
    return out


def load_section(
    ctx: Context, mock: Server | None, setup: Setup | None, parts: Sequence[str], label: str
) -> dict[str, dict[str, Any]]:
    """Floor and each part at every connection level, interleaved run by run."""
    args = ctx.args
    floor_env = {"BENCH_PATH": "/floor"}

    def target(part: str) -> tuple[Server, str, dict[str, str]]:
        if part == "floor":
            return ctx.floor, "floor", floor_env
        if part == "floor_post":
            assert setup is not None
            return ctx.floor, "post_entry", setup.env
        assert mock is not None and setup is not None
        return mock, SCRIPT_OF.get(part, part), setup.env

    order = ["floor", *parts]
    if args.warmup:
        for part in order:
            server, script, env = target(part)
            measure(ctx, server, script, env, 8, args.warmup)
    rows: dict[str, dict[str, Any]] = {p: {} for p in order}
    for connections in args.connections:
        for run in range(args.runs):
            for part in order:
                server, script, env = target(part)
                m = measure(ctx, server, script, env, connections, args.duration)
                rows[part].setdefault(str(connections), []).append(m.as_dict())
                note = f" ERRORS {m.result.errors}" if m.result.error_count else ""
                ctx.say(
                    f"{label} {part:<18} c{connections:<3} run {run + 1}/{args.runs}: "
                    f"{m.result.rps:>8,.0f} req/s  p50 {m.result.latency_ms('p50'):6.2f} ms  "
                    f"p99 {m.result.latency_ms('p99'):7.2f} ms{note}"
                )
    out: dict[str, dict[str, Any]] = {}
    for part in order:
        out[part] = {}
        for connections, runs in rows[part].items():
            floor_runs = rows["floor"][connections] if part != "floor" else None
            out[part][connections] = {"runs": runs, "median": summarise(runs, floor_runs)}
            if out[part][connections]["median"]["errors"]:
                ctx.problems.append(f"{label} {part} c{connections}: non-2xx or socket errors")
    return out


# -------------------------------------------------------------------- parts


def part_payload(ctx: Context, name: str, **data: Any) -> dict[str, Any]:
    args = ctx.args
    return {
        "part": name,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": ctx.machine,
        "options": {
            "runs": args.runs,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "connections": args.connections,
            "wrk_threads": 1,
            "quick": args.quick,
        },
        **data,
    }


def write_json(ctx: Context, name: str, data: dict[str, Any]) -> None:
    ctx.results[name] = data
    path = ctx.results_dir / f"{name}.json"
    path.write_text(json.dumps(data, indent=2) + "\n")


def run_sqlite(ctx: Context) -> None:
    parts = [p for p in ctx.args.parts if p in (*COMMAND_PARTS, *EXTRA_PARTS)]
    needs_mock = any(p in COMMAND_PARTS for p in parts)
    if not needs_mock and "floor_post" not in parts:
        section = load_section(ctx, None, None, [], "floor ")
        write_json(
            ctx,
            "floor",
            part_payload(ctx, "floor", server="bench.floor_app", rows=section["floor"]),
        )
        return
    folder = ctx.workdir / "sqlite"
    database = folder / "mock.db"
    folder.mkdir(parents=True, exist_ok=True)
    mock = load.start_mock(f"sqlite:///{database}", folder / "mock.log")
    with load.running(mock):
        ctx.say(f"SQLite mock up at {mock.base_url} ({database}); setting up the tenant")
        setup = load.setup_tenant(mock.base_url, folder, ctx.args.setup_customers)
        rss_start = mock.rss()
        section = load_section(ctx, mock, setup, parts, "sqlite")
    write_json(
        ctx, "floor", part_payload(ctx, "floor", server="bench.floor_app", rows=section["floor"])
    )
    for part in parts:
        write_json(
            ctx,
            part,
            part_payload(
                ctx,
                part,
                backend="sqlite",
                workers=1,
                command=COMMAND_LABELS[part],
                rss_mb_after_setup=round(rss_start / 2**20, 1),
                rows=section[part],
            ),
        )


def run_postgres(ctx: Context) -> None:
    args = ctx.args
    problem = load.postgres_problem(args.postgres_dsn)
    if problem:
        ctx.say(f"postgres: skipped ({problem})")
        write_json(ctx, "postgres", part_payload(ctx, "postgres", skipped=problem))
        return
    by_workers: dict[str, Any] = {}
    for workers in args.pg_workers:
        name, url = load.create_database(args.postgres_dsn)
        folder = ctx.workdir / f"postgres-{workers}"
        try:
            mock = load.start_mock(url, folder / "mock.log", workers=workers, database=name)
            with load.running(mock):
                ctx.say(f"PostgreSQL mock ({workers} worker(s)) up on database {name}")
                setup = load.setup_tenant(mock.base_url, folder, args.setup_customers)
                section = load_section(ctx, mock, setup, args.pg_commands, f"pg w{workers}")
            by_workers[str(workers)] = section
        finally:
            load.drop_database(args.postgres_dsn, name)
    write_json(
        ctx,
        "postgres",
        part_payload(
            ctx,
            "postgres",
            backend="postgresql",
            commands=args.pg_commands,
            note="server CPU = uvicorn master + workers; db CPU = PostgreSQL backends of "
            "the bench database",
            workers=by_workers,
        ),
    )


@contextlib.contextmanager
def fresh_mock(ctx: Context, folder: Path, backend: str, workers: int) -> Iterator[Server]:
    """A mock on a store of its own: an SQLite file, or a database created and dropped."""
    folder.mkdir(parents=True, exist_ok=True)
    if backend == "sqlite":
        with load.running(
            load.start_mock(f"sqlite:///{folder / 'mock.db'}", folder / "mock.log")
        ) as m:
            yield m
        return
    name, url = load.create_database(ctx.args.postgres_dsn)
    try:
        mock = load.start_mock(url, folder / "mock.log", workers=workers, database=name)
        with load.running(mock) as m:
            yield m
    finally:
        load.drop_database(ctx.args.postgres_dsn, name)


class RssSampler(threading.Thread):
    """The server's peak RSS, sampled every half second."""

    def __init__(self, server: Server) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.peak = server.rss()
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.5):
            self.peak = max(self.peak, self.server.rss())


def run_twin_process(
    ctx: Context, server: Server, customers: int, days: int, output: Path
) -> tuple[int, float, float]:
    """Run `python -m twin run steady-state ...`, invariants included unless --twin-no-inspect.

    Returns (exit code, wall s, client CPU s).
    """
    args = ctx.args
    command = [
        sys.executable,
        "-m",
        "twin",
        "run",
        "steady-state",
        "--customers",
        str(customers),
        "--days",
        str(days),
        "--seed",
        str(args.twin_seed),
        "--base-url",
        server.base_url,
        "--api-key",
        load.BENCH_KEY,
        "--output",
        str(output),
        "--quiet",
    ]
    if args.twin_no_inspect:
        command.append("--no-inspect")
    else:
        command += ["--isolation-key", load.ISOLATION_KEY]
    if args.twin_concurrency:
        command += ["--concurrency", str(args.twin_concurrency)]
    output.mkdir(parents=True, exist_ok=True)
    with (output / "twin.log").open("wb") as log:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=load.ROOT, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, wall, usage.ru_utime + usage.ru_stime


def latency_drift(log_path: Path) -> dict[str, Any]:
    """p50/p99 of the first and the last 10% of the commands (all, and simulate only)."""
    import orjson

    every: list[float] = []
    simulate: list[float] = []
    with log_path.open("rb") as handle:
        for line in handle:
            record = orjson.loads(line)
            if record.get("outcome") == "skipped" or record.get("latency_ms") is None:
                continue
            every.append(float(record["latency_ms"]))
            if record.get("phase") == "simulate":
                simulate.append(float(record["latency_ms"]))

    def edges(values: list[float]) -> dict[str, Any]:
        tenth = max(1, len(values) // 10)
        first, last = sorted(values[:tenth]), sorted(values[-tenth:])
        out: dict[str, Any] = {"commands": len(values), "window": tenth}
        for name, part in (("start", first), ("end", last)):
            out[f"{name}_p50_ms"] = round(percentile(part, 50), 3)
            out[f"{name}_p99_ms"] = round(percentile(part, 99), 3)
        out["p99_end_over_start"] = (
            round(out["end_p99_ms"] / out["start_p99_ms"], 3) if out["start_p99_ms"] else None
        )
        return out

    return {
        "all": edges(every) if every else None,
        "simulate": edges(simulate) if simulate else None,
    }


def twin_scenario(ctx: Context, customers: int, days: int, label: str) -> dict[str, Any]:
    args = ctx.args
    runs: list[dict[str, Any]] = []
    for run in range(args.runs):
        folder = ctx.workdir / f"twin-{customers}x{days}-{run}"
        with fresh_mock(ctx, folder, args.twin_backend, args.twin_workers) as server:
            rss_start = server.rss()
            cpu0, db0 = server.cpu()
            sampler = RssSampler(server)
            sampler.start()
            code, wall, client_cpu = run_twin_process(ctx, server, customers, days, folder / "out")
            sampler.stop.set()
            sampler.join()
            cpu1, db1 = server.cpu()
            rss_end = server.rss()
        summary_path = folder / "out" / "summary.json"
        if not summary_path.is_file():
            tail = (folder / "out" / "twin.log").read_text(errors="replace")[-2000:]
            raise BenchError(f"the twin wrote no summary.json (exit {code}):\n{tail}")
        summary = json.loads(summary_path.read_text())
        total = int(summary["counts"]["total"])
        record = {
            "exit_code": code,
            "ok": bool(summary.get("ok")) and code == 0,
            "unexpected": summary.get("unexpected_total"),
            "commands": total,
            "run_wall_s": summary["wall_s"],
            "inspect_wall_s": (summary["phases"].get("inspect") or {}).get("wall_s"),
            "process_wall_s": round(wall, 3),
            "commands_per_s": summary["commands_per_s"],
            "phases": summary["phases"],
            "concurrency": summary.get("concurrency"),
            "latency_ms_by_type": summary.get("latency_ms"),
            "drift": latency_drift(folder / "out" / "commands.jsonl"),
            "server_rss_mb_start": round(rss_start / 2**20, 1),
            "server_rss_mb_end": round(rss_end / 2**20, 1),
            "server_rss_mb_peak": round(max(sampler.peak, rss_end) / 2**20, 1),
            "server_cpu_us_per_command": round((cpu1 - cpu0) / total * 1e6, 1) if total else None,
            "db_cpu_us_per_command": round((db1 - db0) / total * 1e6, 1) if total else None,
            "client_cpu_us_per_command": round(client_cpu / total * 1e6, 1) if total else None,
        }
        runs.append(record)
        drift = record["drift"]["all"] or {}
        ctx.say(
            f"twin {label} run {run + 1}/{args.runs}: {total:,} commands in "
            f"{record['run_wall_s']:.1f} s ({record['commands_per_s']:,.0f}/s), p99 start "
            f"{drift.get('start_p99_ms')} ms end {drift.get('end_p99_ms')} ms, RSS "
            f"{record['server_rss_mb_start']} -> {record['server_rss_mb_end']} MB"
            + ("" if record["ok"] else f"  NOT OK (exit {code})")
        )
        if not record["ok"]:
            ctx.problems.append(f"twin {label} run {run + 1}: exit {code}, not ok")
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)

    def med(get: Callable[[dict[str, Any]], Any]) -> float | None:
        values = [v for v in (get(r) for r in runs) if v is not None]
        return round(median(values), 3) if values else None

    return {
        "customers": customers,
        "days": days,
        "backend": args.twin_backend,
        "workers": args.twin_workers,
        "runs": runs,
        "median": {
            "run_wall_s": med(lambda r: r["run_wall_s"]),
            "inspect_wall_s": med(lambda r: r["inspect_wall_s"]),
            "process_wall_s": med(lambda r: r["process_wall_s"]),
            "commands_per_s": med(lambda r: r["commands_per_s"]),
            "commands": med(lambda r: r["commands"]),
            "start_p50_ms": med(lambda r: (r["drift"]["all"] or {}).get("start_p50_ms")),
            "start_p99_ms": med(lambda r: (r["drift"]["all"] or {}).get("start_p99_ms")),
            "end_p50_ms": med(lambda r: (r["drift"]["all"] or {}).get("end_p50_ms")),
            "end_p99_ms": med(lambda r: (r["drift"]["all"] or {}).get("end_p99_ms")),
            "p99_end_over_start": med(
                lambda r: (r["drift"]["all"] or {}).get("p99_end_over_start")
            ),
            "simulate_p99_end_over_start": med(
                lambda r: (r["drift"]["simulate"] or {}).get("p99_end_over_start")
            ),
            "server_rss_mb_start": med(lambda r: r["server_rss_mb_start"]),
            "server_rss_mb_end": med(lambda r: r["server_rss_mb_end"]),
            "server_rss_mb_peak": med(lambda r: r["server_rss_mb_peak"]),
            "server_cpu_us_per_command": med(lambda r: r["server_cpu_us_per_command"]),
            "client_cpu_us_per_command": med(lambda r: r["client_cpu_us_per_command"]),
        },
    }


def run_twin(ctx: Context) -> None:
    args = ctx.args
    scenarios = [(args.twin_customers, args.twin_days, "steady")]
    if args.full:
        scenarios.append((10_000, 30, "full"))
    out = {}
    for customers, days, label in scenarios:
        ctx.say(f"twin: steady-state {customers:,} x {days} days, {args.runs} run(s)")
        out[label] = twin_scenario(ctx, customers, days, f"{customers}x{days}")
    write_json(ctx, "twin", part_payload(ctx, "twin", scenarios=out))


def run_queries(ctx: Context) -> None:
    args = ctx.args
    folder = ctx.workdir / "queries"
    members = args.query_members
    with fresh_mock(ctx, folder, "sqlite", 1) as server:
        ctx.say(f"queries: seeding {members:,} members x {args.query_days} day(s) with the twin")
        code, wall, _ = run_twin_process(ctx, server, members, args.query_days, folder / "seed")
        summary_path = folder / "seed" / "summary.json"
        if not summary_path.is_file():
            raise BenchError(f"the twin's seed run failed (exit {code}); see {folder / 'seed'}")
        summary = json.loads(summary_path.read_text())
        setup = load.collect_ids(server.base_url, summary["tenant"], folder)
        ctx.say(
            f"queries: store has {len(setup.customers):,} customers, "
            f"{setup.env['BENCH_ACCOUNTS_TOTAL']} accounts, {setup.env['BENCH_EVENTS_TOTAL']} "
            f"events (seeded in {wall:.0f} s)"
        )
        rows: dict[str, Any] = {}
        for script in QUERY_SCRIPTS:
            if args.warmup:
                measure(ctx, server, script, setup.env, 1, args.warmup)
            runs = []
            for run in range(args.runs):
                m = measure(ctx, server, script, setup.env, args.query_connections, args.duration)
                runs.append(m.as_dict())
                ctx.say(
                    f"queries {script:<16} run {run + 1}/{args.runs}: p50 "
                    f"{m.result.latency_ms('p50'):.2f} ms  p95 {m.result.latency_ms('p95'):.2f} ms"
                    f"  p99 {m.result.latency_ms('p99'):.2f} ms ({m.result.rps:,.0f} req/s)"
                )
            rows[script] = {"runs": runs, "median": summarise(runs, None)}
            if rows[script]["median"]["errors"]:
                ctx.problems.append(f"queries {script}: non-2xx or socket errors")
        rss = server.rss()
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    write_json(
        ctx,
        "queries",
        part_payload(
            ctx,
            "queries",
            members=members,
            days=args.query_days,
            connections=args.query_connections,
            seed={
                "exit_code": code,
                "wall_s": round(wall, 1),
                "commands": summary["counts"]["total"],
            },
            store={
                "customers": len(setup.customers),
                "accounts": int(setup.env["BENCH_ACCOUNTS_TOTAL"]),
                "events": int(setup.env["BENCH_EVENTS_TOTAL"]),
            },
            server_rss_mb=round(rss / 2**20, 1),
            page_limit=50,
            rows=rows,
        ),
    )


# ------------------------------------------------------------------ machine


def _git(*args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=load.ROOT, capture_output=True, text=True, timeout=10
        )
    except OSError:
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def machine_info(wrk: str) -> dict[str, Any]:
    cpu_model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    mem_total = ""
    with contextlib.suppress(OSError):
        mem_total = Path("/proc/meminfo").read_text().splitlines()[0].split(":", 1)[1].strip()
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "nproc": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "cpu_model": cpu_model,
        "memory": mem_total,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "packages": {
            name: _version(name)
            for name in ("fastapi", "starlette", "uvicorn", "uvloop", "httptools", "pydantic")
        },
        "wrk": load.wrk_version(wrk),
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": bool(dirty),
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


# ------------------------------------------------------------------- report


def _fmt(value: Any, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    if isinstance(value, (int, float)):
        return f"{value:,.{digits}f}"
    return str(value)


def _runs(runs: list[dict[str, Any]], key: str, digits: int = 0) -> str:
    return " / ".join(_fmt(r[key], digits) for r in runs)


def _load_table(rows: dict[str, dict[str, Any]], order: Sequence[str]) -> list[str]:
    lines = [
        "| command | conns | req/s (median) | runs | x floor | p50 ms | p95 ms | p99 ms "
        "| server CPU us/req | db CPU us/req | RSS MB | errors |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for part in order:
        for connections, row in rows.get(part, {}).items():
            m = row["median"]
            lines.append(
                f"| {COMMAND_LABELS.get(part, part)} | {connections} | {_fmt(m['rps'])} | "
                f"{_runs(row['runs'], 'rps')} | {_fmt(m.get('ratio_to_floor'), 2)} | "
                f"{_fmt(m['p50_ms'], 2)} | {_fmt(m['p95_ms'], 2)} | {_fmt(m['p99_ms'], 2)} | "
                f"{_fmt(m['cpu_us_per_request'])} | {_fmt(m['db_cpu_us_per_request'])} | "
                f"{_fmt(m['rss_mb_end'], 1)} | {m['errors']} |"
            )
    return lines


def _rps_cell(row: dict[str, Any] | None) -> str:
    if not row:
        return "-"
    m = row["median"]
    return f"{_fmt(m['rps'])} ({_fmt(m.get('ratio_to_floor'), 2)})"


def _target(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "**not met**")


def render_summary(ctx: Context) -> str:
    args, res, mach = ctx.args, ctx.results, ctx.machine
    dirty = " (with uncommitted changes)" if mach["git_dirty"] else ""
    lines = [
        "# Benchmark results",
        "",
        f"`python -m bench.run {' '.join(sys.argv[1:])}`",
        "",
        f"- commit `{mach['git_commit'][:12]}`{dirty}, started {mach['started_at']}, "
        f"finished {mach.get('finished_at', '-')}",
        f"- machine: {mach['nproc']} CPUs ({mach['cpu_model']}), {mach['memory']}, kernel "
        f"{mach['kernel']}, Python {mach['python']}; load average at start "
        f"{mach['load_average_start']}, at end {mach.get('load_average_end', '-')}",
        f"- server: uvicorn {mach['packages']['uvicorn']} (uvloop "
        f"{mach['packages']['uvloop'] or 'absent'}, httptools "
        f"{mach['packages']['httptools'] or 'absent'}), FastAPI {mach['packages']['fastapi']}, "
        f"one worker unless stated, no access log",
        f"- load: {mach['wrk']}, 1 thread, {args.duration} s per run, {args.runs} run(s) "
        f"per figure (medians), warm-up {args.warmup} s; `x floor` is the median of "
        "the per-run ratios to the floor run measured just before",
        "- server CPU: utime+stime of the server's processes over the run / requests; "
        "RSS: VmRSS of those processes at the end of the run",
        "",
    ]
    if ctx.problems:
        lines += ["**Problems:** " + "; ".join(ctx.problems), ""]
    sqlite_parts = [p for p in (*COMMAND_PARTS, *EXTRA_PARTS) if p in res]
    if "floor" in res:
        rows = {"floor": res["floor"]["rows"]}
        rows.update({p: res[p]["rows"] for p in sqlite_parts})
        lines += ["## Mock on SQLite, per command type", ""]
        lines += _load_table(
            rows,
            [
                "floor",
                *(p for p in EXTRA_PARTS if p in res),
                *(p for p in COMMAND_PARTS if p in res),
            ],
        )
        lines.append("")
    pg = res.get("postgres")
    if pg:
        lines += ["## Mock on PostgreSQL", ""]
        if pg.get("skipped"):
            lines += [f"Skipped: {pg['skipped']}", ""]
        else:
            for workers, section in pg["workers"].items():
                lines += [f"### {workers} worker(s)", ""]
                lines += _load_table(section, ["floor", *pg["commands"]])
                lines.append("")
            for part in pg["commands"]:
                lines += [
                    f"Side by side, {COMMAND_LABELS[part]}: req/s (median) and x floor:",
                    "",
                    "| conns | SQLite | "
                    + " | ".join(f"PostgreSQL {w} worker(s)" for w in pg["workers"])
                    + " |",
                    "|---:|---:|" + "---:|" * len(pg["workers"]),
                ]
                for connections in args.connections:
                    key = str(connections)
                    cells = [_rps_cell(res.get(part, {}).get("rows", {}).get(key))]
                    cells += [_rps_cell(s.get(part, {}).get(key)) for s in pg["workers"].values()]
                    lines.append(f"| {connections} | " + " | ".join(cells) + " |")
                lines.append("")
    floor_rows = res.get("floor", {}).get("rows", {})
    floor_c1 = floor_rows.get("1", {}).get("median", {})
    floor_top = floor_rows.get(str(max(args.connections)), {}).get("median", {})
    twin = res.get("twin")
    if twin:
        lines += [
            "## The twin end to end (`twin run steady-state`"
            + (", no inspect)" if args.twin_no_inspect else ", then its five invariant checks)"),
            "",
            "| members x days | store | runs | commands | run wall s (median) | runs wall s | "
            "checks s | whole process s | "
            "commands/s | x floor | p50/p99 ms first 10% | p50/p99 ms last 10% | p99 end/start "
            "| server RSS MB start/end/peak | server / client CPU us/cmd | ok |",
            "|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for scenario in twin["scenarios"].values():
            m = scenario["median"]
            ratio = (
                m["commands_per_s"] / floor_top["rps"]
                if floor_top.get("rps") and m["commands_per_s"]
                else None
            )
            ok = all(r["ok"] for r in scenario["runs"])
            lines.append(
                f"| {scenario['customers']:,} x {scenario['days']} | {scenario['backend']} "
                f"({scenario['workers']}w) | {len(scenario['runs'])} | {_fmt(m['commands'])} | "
                f"{_fmt(m['run_wall_s'], 1)} | {_runs(scenario['runs'], 'run_wall_s', 1)} | "
                f"{_fmt(m['inspect_wall_s'], 1)} | {_fmt(m['process_wall_s'], 1)} | "
                f"{_fmt(m['commands_per_s'])} | {_fmt(ratio, 3)} | "
                f"{_fmt(m['start_p50_ms'], 2)} / {_fmt(m['start_p99_ms'], 2)} | "
                f"{_fmt(m['end_p50_ms'], 2)} / {_fmt(m['end_p99_ms'], 2)} | "
                f"{_fmt(m['p99_end_over_start'], 2)} | {_fmt(m['server_rss_mb_start'])} / "
                f"{_fmt(m['server_rss_mb_end'])} / {_fmt(m['server_rss_mb_peak'])} | "
                f"{_fmt(m['server_cpu_us_per_command'])} / {_fmt(m['client_cpu_us_per_command'])}"
                f" | {'yes' if ok else 'NO'} |"
            )
        lines += [
            "",
            f"x floor: commands/s over the floor's req/s at {max(args.connections)} "
            "connections. First/last 10%: of all commands in log order (the first 10% "
            "are mostly the seed phase). Run wall: the twin's run phases (bootstrap, seed, "
            "simulate); checks: the five invariants over every account, through the API; "
            "whole process: both, plus planning and start-up.",
            "",
        ]
    queries = res.get("queries")
    if queries:
        store = queries["store"]
        lines += [
            f"## Query latency at {store['customers']:,} members ({store['accounts']:,} "
            f"accounts, {store['events']:,} events; seeded by the twin, {queries['days']} "
            f"day(s)), {queries['connections']} connection(s)",
            "",
            "| query | runs | p50 ms | p95 ms | p99 ms | p50 x floor p50 | req/s | errors |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for script, row in queries["rows"].items():
            m = row["median"]
            ratio = m["p50_ms"] / floor_c1["p50_ms"] if floor_c1.get("p50_ms") else None
            lines.append(
                f"| {COMMAND_LABELS[script]} (limit 50) | {len(row['runs'])} | "
                f"{_fmt(m['p50_ms'], 2)} | {_fmt(m['p95_ms'], 2)} | {_fmt(m['p99_ms'], 2)} | "
                f"{_fmt(ratio, 1)} | {_fmt(m['rps'])} | {m['errors']} |"
            )
        lines.append("")
    lines += render_targets(ctx)
    return "\n".join(lines) + "\n"


def render_targets(ctx: Context) -> list[str]:
    res = ctx.results
    rows: list[tuple[str, str, str]] = []
    pe = res.get("post_entry", {}).get("rows", {}).get("32", {}).get("median")
    if pe:
        ratio = pe.get("ratio_to_floor")
        rows.append(
            (
                "PostEntry >= 50% of the floor (wrk, 32 connections, SQLite)",
                f"{_fmt(pe['rps'])} req/s = {_fmt(ratio, 2)} x floor",
                _target(ratio is not None and ratio >= TARGETS["post_entry_ratio_c32"]),
            )
        )
    twin = res.get("twin", {}).get("scenarios", {})
    steady = twin.get("steady")
    if steady:
        wall = steady["median"]["run_wall_s"]
        checks = steady["median"].get("inspect_wall_s")
        whole = steady["median"].get("process_wall_s")
        is_target = steady["customers"] == 500 and steady["days"] == 30
        rows.append(
            (
                "steady-state 500 x 30 end to end < 20 s",
                f"{_fmt(wall, 1)} s run ({steady['customers']} x {steady['days']})"
                + (f"; with the checks {_fmt(whole, 1)} s" if checks is not None else ""),
                _target(wall is not None and wall < TARGETS["steady_500x30_wall_s"])
                if is_target
                else "n/a (other size)",
            )
        )
    full = twin.get("full")
    if full:
        m = full["median"]
        rows.append(
            (
                "10,000 x 30 < 10 min",
                f"{_fmt(m['run_wall_s'], 0)} s run"
                + (
                    f"; with the checks {_fmt(m['process_wall_s'], 0)} s"
                    if m.get("inspect_wall_s") is not None
                    else ""
                ),
                _target(m["run_wall_s"] is not None and m["run_wall_s"] < 600),
            )
        )
        peak = m["server_rss_mb_peak"]
        rows.append(
            (
                "10,000 x 30 server RSS < 1 GiB",
                f"{_fmt(peak)} MB peak",
                _target(peak is not None and peak * 2**20 < TARGETS["full_rss_bytes"]),
            )
        )
        growth = m["p99_end_over_start"]
        sim = m["simulate_p99_end_over_start"]
        rows.append(
            (
                "10,000 x 30 p99 at the end within 2x of the start",
                f"{_fmt(growth, 2)}x (simulate phase only: {_fmt(sim, 2)}x)",
                _target(growth is not None and growth <= TARGETS["full_p99_growth"]),
            )
        )
    queries = res.get("queries")
    if queries:
        worst = max((r["median"]["p95_ms"] for r in queries["rows"].values()), default=None)
        at_size = queries["store"]["customers"] >= 10_000
        rows.append(
            (
                "query p95 < 10 ms at 10,000 members",
                f"worst p95 {_fmt(worst, 2)} ms at {queries['store']['customers']:,} members",
                _target(worst is not None and worst < TARGETS["query_p95_ms"])
                if at_size
                else "n/a (smaller store)",
            )
        )
    if not rows:
        return []
    out = ["## Targets (issue 6)", "", "| target | measured | |", "|---|---|---|"]
    out += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return [*out, ""]


# --------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    load.MOCK_CACHES = args.mock_caches
    try:
        resolve(args)
        wrk = load.ensure_wrk(install=not args.no_install)
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    results_dir = Path(args.results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    machine = machine_info(wrk)
    print(
        f"bench: parts {', '.join(args.parts)}; {args.runs} run(s) x {args.duration} s; "
        f"connections {args.connections}; work dir {workdir}; results {results_dir}",
        flush=True,
    )
    floor = None
    failed = False
    try:
        floor = load.start_floor(workdir / "floor.log")
        ctx = Context(args, wrk, workdir, results_dir, floor, machine)
        steps: list[tuple[str, Callable[[Context], None]]] = [("sqlite", run_sqlite)]
        if "postgres" in args.parts:
            steps.append(("postgres", run_postgres))
        if "twin" in args.parts:
            steps.append(("twin", run_twin))
        if "queries" in args.parts:
            steps.append(("queries", run_queries))
        for name, step in steps:
            try:
                step(ctx)
            except BenchError as exc:
                failed = True
                ctx.problems.append(f"{name} failed: {str(exc).splitlines()[0]}")
                ctx.say(f"{name}: FAILED: {exc}")
        machine["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
        machine["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        summary = render_summary(ctx)
        (results_dir / "summary.md").write_text(summary)
        (results_dir / "run.json").write_text(
            json.dumps(
                {
                    "argv": sys.argv[1:],
                    "parts": args.parts,
                    "machine": machine,
                    "problems": ctx.problems,
                },
                indent=2,
            )
            + "\n"
        )
        print()
        print(summary)
        print(f"bench: wrote {results_dir}/summary.md and {len(ctx.results)} JSON file(s)")
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
    finally:
        if floor is not None:
            load.stop_server(floor)
        if args.keep:
            print(f"bench: work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed or ctx.problems else 0


if __name__ == "__main__":
    sys.exit(main())
