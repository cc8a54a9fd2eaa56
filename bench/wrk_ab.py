"""This tree's served mock against a base commit's, under wrk, in alternated rounds.

    python -m bench.wrk_ab BASE_REV [--script post_entry_tenants] [--rounds 8]
                           [--duration 6] [--connections 32] [--tenants 1]
                           [--postgres] [--postgres-dsn DSN]

Each round serves each tree's mock (`mock-core serve` on a fresh SQLite store, or with
`--postgres` on a fresh PostgreSQL database, one worker; no access log, the bench's
keys; the base from a git worktree of BASE_REV, each tree with its own spec and
scenarios under the installed packages' names), sets up `--tenants` tenants of two
accounts each (bench/tenants.py), warms up for a second, then runs a script of
bench/wrk for `--duration` seconds: PostEntry across the tenants by default, or
`get_account` (one of the first tenant's accounts by id). The order flips every
round. Per run: requests a second, the server's user plus system CPU a request
(/proc/PID/stat), its write system calls a request (/proc/PID/io `syscw`, which the
machine's load does not move) and, on PostgreSQL, the database server's CPU a
request (every process of it: `bench.tenants.postgres_cpu`). Prints a line per run,
then the median per-round ratio new/base of each figure. The machine is shared:
single runs move by +-25%, so read the medians, and the write counts.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import load
from bench.load import BENCH_KEY, BenchError
from bench.tenants import postgres_cpu, setup_tenants
from turingcore_client import serving

FIGURES = ("rps", "cpu_us", "writes")
POSTGRES_FIGURES = (*FIGURES, "pg_cpu_us")


def proc_figures(pid: int) -> tuple[float, int]:
    """The process's CPU seconds (user + system) and its write system calls so far."""
    cpu = load.cpu_seconds([pid])
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("syscw:"):
            return cpu, int(line.split()[1])
    raise BenchError(f"no syscw in /proc/{pid}/io")


def shimmed_env(tree: Path, workdir: Path, name: str) -> dict[str, str]:
    """The environment that serves `tree`'s code with its own spec and scenarios."""
    env = serving.clean_env()
    env["PYTHONPATH"] = f"{tree}:{load.shim(tree, workdir / f'{name}-shim')}"
    return env


def one_run(tree: Path, env: dict[str, str], args: Any, workdir: Path, wrk: str) -> dict[str, Any]:
    """One tree's figures on a fresh store: SQLite, or a PostgreSQL database (`--postgres`)."""
    if not args.postgres:
        store = workdir / "store.db"
        for suffix in ("", "-wal", "-shm"):
            (workdir / f"store.db{suffix}").unlink(missing_ok=True)
        return served_run(f"sqlite:///{store}", tree, env, args, workdir, wrk)
    name, url = load.create_database(args.postgres_dsn)
    try:
        return served_run(url, tree, env, args, workdir, wrk)
    finally:
        load.drop_database(args.postgres_dsn, name)


def served_run(
    url: str, tree: Path, env: dict[str, str], args: Any, workdir: Path, wrk: str
) -> dict[str, Any]:
    keys = ["--api-keys", f"{BENCH_KEY}=*", "--no-access-log"]
    with (workdir / "mock.log").open("w+b") as log:
        process, base_url = serving.start_mock(
            ["--database-url", url, *keys],
            log=log,
            cwd=tree,
            env=env,
            ready_path="/readyz",
        )
    try:
        tenants = setup_tenants(base_url, args.tenants)
        listing = workdir / "tenants.txt"
        listing.write_text("".join(f"{t} {a} {b}\n" for t, a, b in tenants))
        accounts = workdir / "accounts.txt"
        accounts.write_text(f"{tenants[0][1]}\n{tenants[0][2]}\n")
        wrk_env = {
            "BENCH_KEY": BENCH_KEY,
            "BENCH_TENANTS_FILE": str(listing),
            "BENCH_TENANT": tenants[0][0],
            "BENCH_ACCOUNTS_FILE": str(accounts),
        }

        def run(seconds: int) -> load.WrkResult:
            return load.run_wrk(
                wrk,
                base_url,
                args.script,
                connections=args.connections,
                duration_s=seconds,
                env=wrk_env,
            )

        run(1)
        cpu0, writes0 = proc_figures(process.pid)
        server0 = postgres_cpu() if args.postgres else {}
        result = run(args.duration)
        cpu1, writes1 = proc_figures(process.pid)
        server1 = postgres_cpu() if args.postgres else {}
    finally:
        serving.stop_mock(process)
    if result.error_count:
        raise BenchError(f"wrk errors {result.errors}")
    requests = max(result.requests, 1)
    figures = {
        "rps": round(result.rps, 1),
        "cpu_us": round((cpu1 - cpu0) * 1e6 / requests, 1),
        "writes": round((writes1 - writes0) / requests, 3),
        "p99_ms": result.latency_ms("p99"),
    }
    if args.postgres:  # (a server process that ended during the run is left out)
        server_s = sum(cpu - server0.get(pid, 0.0) for pid, cpu in server1.items())
        figures["pg_cpu_us"] = round(server_s * 1e6 / requests, 1)
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.wrk_ab", description=__doc__)
    parser.add_argument("base", help="the base commit")
    parser.add_argument("--script", default="post_entry_tenants", help="a script of bench/wrk")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--duration", type=int, default=6)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--tenants", type=int, default=1)
    parser.add_argument("--postgres", action="store_true", help="serve on PostgreSQL")
    parser.add_argument("--postgres-dsn", default=load.DEFAULT_PG_DSN)
    args = parser.parse_args(argv)
    if args.postgres and (problem := load.postgres_problem(args.postgres_dsn)):
        print(f"bench.wrk_ab: {problem}", file=sys.stderr)
        return 1
    try:
        wrk = load.ensure_wrk(install=False)
        with tempfile.TemporaryDirectory(prefix="wrk-ab.") as tmp:
            workdir = Path(tmp)
            with load.worktree(args.base, workdir / "base") as base_tree:
                trees = {
                    "base": (base_tree, shimmed_env(base_tree, workdir, "base")),
                    "new": (load.ROOT, shimmed_env(load.ROOT, workdir, "new")),
                }
                runs: dict[str, list[dict[str, Any]]] = {"base": [], "new": []}
                for n in range(args.rounds):
                    for name in ("base", "new") if n % 2 == 0 else ("new", "base"):
                        tree, env = trees[name]
                        figures = one_run(tree, env, args, workdir, wrk)
                        runs[name].append(figures)
                        print(json.dumps({"round": n + 1, "tree": name, **figures}), flush=True)
    except (BenchError, serving.MockStartError, subprocess.CalledProcessError) as exc:
        print(f"bench.wrk_ab: {exc}", file=sys.stderr)
        return 1
    for figure in POSTGRES_FIGURES if args.postgres else FIGURES:
        ratios = [b[figure] / a[figure] for a, b in zip(runs["base"], runs["new"], strict=True)]
        higher = sum(r > 1 for r in ratios)
        print(
            f"{figure}: median new/base {statistics.median(ratios):.3f} (range "
            f"{min(ratios):.3f} to {max(ratios):.3f}; new higher in {higher} of {len(ratios)})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(load.main_of(main))
