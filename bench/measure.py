"""One measurement and how they add up: the run's `Context`, one wrk run with the
server's CPU and RSS around it, medians and ratios to the floor, the floor and the
parts interleaved run by run (`load_section`), and the result files."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import load
from bench.load import Server, WrkResult, median
from bench.options import SCRIPT_OF, SEQ_STRIDE
from bench.tenant_setup import Setup


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


# ------------------------------------------------------------- result files


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


def write_results(results_dir: Path, name: str, data: dict[str, Any], text: str) -> None:
    """A stand-alone bench's results: `<name>.json` and `<name>.md` (`text`, also printed)."""
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n")
    (results_dir / f"{name}.md").write_text(text)
    print(text)


def write_json(ctx: Context, name: str, data: dict[str, Any]) -> None:
    ctx.results[name] = data
    path = ctx.results_dir / f"{name}.json"
    path.write_text(json.dumps(data, indent=2) + "\n")
