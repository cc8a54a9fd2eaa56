"""The parts the twin drives: `twin run steady-state` end to end against a fresh mock
(wall time, commands/s, latency drift, server RSS and CPU), and query latency on a
store the twin has seeded."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench import load, tenant_setup
from bench.load import BenchError, Server, median, percentile
from bench.measure import Context, measure, part_payload, summarise, write_json
from bench.options import QUERY_SCRIPTS


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
    command = load.twin_steady_state(
        customers,
        days,
        server.base_url,
        output,
        *("--seed", str(args.twin_seed), "--api-key", load.BENCH_KEY),
    )
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
        setup = tenant_setup.collect_ids(server.base_url, summary["tenant"], folder)
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
