"""summary.md: the tables of every part and the targets, met or not."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from bench.measure import Context
from bench.options import COMMAND_LABELS, COMMAND_PARTS, EXTRA_PARTS, TARGETS


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
