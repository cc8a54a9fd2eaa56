"""What a batch of commands costs the mock, by backend and batch size, and where it goes.

    python -m bench.batch_cost [--sizes 1,2,4,8,16,32] [--batches 200] [--rounds 2]
                               [--postgres-dsn DSN]

In process, no HTTP: the ASGI app sets up a tenant of two funded accounts (as
bench.profile does), then `Gateway.execute_batch` applies batches of B PostEntry
transfers between them, each prepared and committed on the calling thread. Per batch,
the thread's CPU time (the mock's work: the database's is in another process, and the
waits count nothing) and its wall time (with the round trips, the server's work and
the commit's fsync); the median over `--batches` batches of each size, on a fresh
SQLite store and on a fresh PostgreSQL database, the backends alternated round by
round. A straight line through the CPU medians of B = 2..32, CPU = fixed + B x per
command, says what a batch costs whatever its size and what each command adds.

On PostgreSQL also the CPU of each part of a batch of 16 (the thread's time inside
it, summed over the batches): `_begin` (the transaction, its locks), the look-ahead
(the batch's one round trip of reads), the commands applied, the flush's writes
(`UnnestBulk.write_all`, the kept totals' arithmetic counted apart) and the commit.
SQLite's parts are calls into the library and are not split.

Results: bench/results/batch-cost.json and batch-cost.md.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from bench import load, machine, profile
from bench.measure import write_results
from mock_core.api.app import create_app
from mock_core.api.parse import parse_command
from mock_core.gateway import Gateway
from mock_core.settings import Settings
from mock_core.store import eventstore, postgres

RESULTS = Path(__file__).resolve().parent / "results"
PHASE_SIZE = 16
# (label, owner, method name): the parts of a PostgreSQL batch, timed on the thread.
PHASES: list[tuple[str, Any, str]] = [
    ("begin: the transaction and its locks", postgres.PostgresStore, "_begin"),
    ("look-ahead: the batch's one round trip of reads", eventstore.WriteBatch, "look_ahead"),
    ("the commands applied (decide, events, projections)", Gateway, "_apply"),
    ("the flush's writes (one statement)", postgres.UnnestBulk, "write_all"),
    ("  of which the kept totals' arithmetic", postgres.UnnestBulk, "_totals"),
    (
        "commit (its CPU: the WAL flush's wait is not counted)",
        postgres.PostgresTransaction,
        "_commit",
    ),
]


@contextmanager
def timed_phases(spent: dict[str, float]) -> Iterator[None]:
    """Add each phase's thread CPU time to `spent` while the block runs."""
    originals = [(owner, name, getattr(owner, name)) for _, owner, name in PHASES]
    for (label, _, _), (owner, name, original) in zip(PHASES, originals, strict=True):
        setattr(owner, name, _timer(label, original, spent))
    try:
        yield
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)


def _timer(label: str, original: Callable[..., Any], spent: dict[str, float]) -> Any:
    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.thread_time()
        try:
            return original(*args, **kwargs)
        finally:
            spent[label] = spent.get(label, 0.0) + time.thread_time() - start

    return timed


def measure(url: str, sizes: list[int], batches: int, phases: bool) -> dict[str, Any]:
    """Per batch size, the medians of the thread's CPU and wall time a batch (us)."""
    settings = Settings(database_url=url, api_keys=f"{load.BENCH_KEY}=*", access_log=False)
    app = create_app(settings)
    rng = random.Random(7)
    a, b = asyncio.run(profile.set_up(profile.Driver(app)))
    gateway: Gateway = app.state.gateway

    def commands(count: int) -> list[Any]:
        bodies = profile.transfers(a, b, count, rng)
        return [(parse_command(load.TENANT, orjson.loads(body)), None) for body in bodies]

    def run(batch: list[Any]) -> tuple[float, float]:
        cpu, wall = time.thread_time(), time.perf_counter()
        results = gateway.execute_batch(batch)
        cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
        refused = [r for r in results if isinstance(r, Exception)]
        if refused:
            raise load.BenchError(f"a transfer was refused: {refused[0]!r}")
        return cpu * 1e6, wall * 1e6

    try:
        for batch in [commands(8) for _ in range(20)]:  # warm-up
            run(batch)
        found: dict[str, Any] = {"sizes": {}}
        for size in sizes:
            prepared = [commands(size) for _ in range(batches)]
            times = [run(batch) for batch in prepared]
            found["sizes"][str(size)] = {
                "cpu_us": round(statistics.median(t[0] for t in times), 1),
                "wall_us": round(statistics.median(t[1] for t in times), 1),
            }
        if phases:
            prepared = [commands(PHASE_SIZE) for _ in range(batches)]
            spent: dict[str, float] = {}
            with timed_phases(spent):
                whole = sum(run(batch)[0] for batch in prepared)
            found["phases"] = {
                "whole": round(whole / batches, 1),
                **{
                    label: round(spent.get(label, 0.0) * 1e6 / batches, 1) for label, _, _ in PHASES
                },
            }
        return found
    finally:
        gateway.store.close()


def fit(points: dict[str, Any]) -> tuple[float, float]:
    """Least squares CPU = fixed + size x per command over the sizes from 2 on (a batch of
    one takes another path: its commit flushes)."""
    pairs = [(int(size), figures["cpu_us"]) for size, figures in points.items() if int(size) >= 2]
    if len(pairs) < 2:
        return float("nan"), float("nan")
    slope, intercept = statistics.linear_regression([p[0] for p in pairs], [p[1] for p in pairs])
    return intercept, slope


def render(result: dict[str, Any]) -> str:
    lines = [
        "# What a batch costs the mock, by backend and size",
        "",
        f"`{result['command']}` at {result['generated_at']}, git {result['git']}; "
        f"{result['batches']} batches a size, each backend {result['rounds']} round(s) "
        "(alternated), medians of the rounds' medians.",
        "",
        "In process, no HTTP: `Gateway.execute_batch` of B PostEntry transfers between two "
        "accounts, prepared and committed on the calling thread. CPU: the thread's time "
        "(the mock's work); wall: with the round trips, the server's work and the fsync.",
        "",
        "| B | SQLite CPU us/batch | us/command | wall us | PostgreSQL CPU us/batch "
        "| us/command | wall us |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    sqlite, pg = result["sqlite"], result["postgresql"]
    for size in result["sizes"]:
        s, p = sqlite[str(size)], pg[str(size)]
        lines.append(
            f"| {size} | {s['cpu_us']:,.0f} | {s['cpu_us'] / size:,.0f} | {s['wall_us']:,.0f} "
            f"| {p['cpu_us']:,.0f} | {p['cpu_us'] / size:,.0f} | {p['wall_us']:,.0f} |"
        )
    lines += ["", "A line through B = 2..32 (CPU = fixed + B x per command):", ""]
    for name in ("sqlite", "postgresql"):
        fixed, each = result["fit"][name]
        lines.append(f"- {name}: {fixed:,.0f} us a batch, {each:,.0f} us a command")
    phases = result.get("phases")
    if phases:
        lines += [
            "",
            f"PostgreSQL, a batch of {PHASE_SIZE}: the thread's CPU in each part "
            "(mean a batch, us; the profile's wrappers add a little):",
            "",
            "| part | us a batch | share |",
            "|---|---:|---:|",
        ]
        whole = phases["whole"]
        for label, _, _ in PHASES:
            lines.append(f"| {label} | {phases[label]:,.0f} | {phases[label] / whole:.0%} |")
        lines.append(f"| the whole batch | {whole:,.0f} | 100% |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.batch_cost", description=__doc__)
    parser.add_argument("--sizes", default="1,2,4,8,16,32")
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--postgres-dsn", default=load.DEFAULT_PG_DSN)
    parser.add_argument("--results-dir", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    problem = load.postgres_problem(args.postgres_dsn)
    if problem:
        print(f"bench.batch_cost: {problem}", file=sys.stderr)
        return 1
    runs: dict[str, list[dict[str, Any]]] = {"sqlite": [], "postgresql": []}
    phases: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-batch-cost-") as tmp:
        for n in range(args.rounds):
            order = ("sqlite", "postgresql") if n % 2 == 0 else ("postgresql", "sqlite")
            for backend in order:
                if backend == "sqlite":
                    url = f"sqlite:///{Path(tmp) / f'store-{n}.db'}"
                    runs[backend].append(measure(url, sizes, args.batches, False))
                    continue
                name, url = load.create_database(args.postgres_dsn)
                try:
                    found = measure(url, sizes, args.batches, True)
                finally:
                    load.drop_database(args.postgres_dsn, name)
                runs[backend].append(found)
                phases.append(found["phases"])
    result: dict[str, Any] = {
        "command": " ".join(
            ["python -m bench.batch_cost", *(sys.argv[1:] if argv is None else argv)]
        ),
        "generated_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "git": machine._git("rev-parse", "--short", "HEAD")
        + ("-dirty" if machine._git("status", "--porcelain", "--untracked-files=no") else ""),
        "batches": args.batches,
        "rounds": args.rounds,
        "sizes": sizes,
        "runs": runs,
    }
    for backend, backend_runs in runs.items():
        result[backend] = {
            str(size): {
                figure: round(
                    statistics.median(r["sizes"][str(size)][figure] for r in backend_runs), 1
                )
                for figure in ("cpu_us", "wall_us")
            }
            for size in sizes
        }
    result["fit"] = {backend: fit(result[backend]) for backend in runs}
    result["phases"] = {
        key: round(statistics.median(p[key] for p in phases), 1) for key in phases[0]
    }
    write_results(args.results_dir, "batch-cost", result, render(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(load.main_of(main))
