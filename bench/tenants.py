"""Many tenants across workers: PostEntry under wrk on 1, 4 and 16 tenants at once.

    python -m bench.tenants [--tenants 1,4,16] [--workers 1,2,4] [--runs 3]
                            [--duration 10] [--connections 32] [--postgres-dsn DSN]

Each tenant has two deep accounts; every request picks a tenant at random and moves
money between its two (bench/wrk/post_entry_tenants.lua). Measured per run, in this
order, so that a noisy neighbour hits every configuration alike:

- SQLite, one process (its one writer serves every tenant), for each tenant count;
- PostgreSQL with each worker count (a fresh database each), for each tenant count.

Each figure is the median of --runs runs, and each is also a ratio to SQLite with one
tenant measured in the same run. Beside it, where the cores went during the run: the
mock's CPU a request (its process tree), PostgreSQL's (every process of the server),
and the machine's busy cores, wrk's included: a backend below one busy core while the
machine has one to spare is bound by latency, not CPU. Results:
bench/results/tenants.json and tenants.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

from bench import load, machine
from bench.load import BENCH_KEY, BenchError
from bench.tenant_setup import Api, member

RESULTS = Path(__file__).resolve().parent / "results"
SCRIPT = "post_entry_tenants"
# Where the cores went, per run: the mock's and PostgreSQL's CPU a request, and the
# machine's busy cores (wrk's included).
CPU_FIGURES = ("mock_cpu_us", "postgres_cpu_us", "busy_cores")


def setup_tenants(base_url: str, count: int) -> list[tuple[str, str, str]]:
    """`count` tenants, each with a product and two members' accounts of 10,000.00."""
    made = []
    for n in range(count):
        tenant = f"BENCH_T{n:02d}"
        api = Api(base_url, tenant=tenant)
        try:
            api.command("CreateTenant", {**load.tenant_payload(), "tenantCode": tenant})
            api.command(
                "UpsertProduct",
                {
                    "productCode": "TXN",
                    "name": "Bench",
                    "productType": "DEPOSIT",
                    "interest": {"rate": 0.0},
                },
            )
            accounts = []
            for m in range(2):
                details = member(f"bench.{n}.{m}", f"+6148{n:04d}{m:04d}")
                customer = api.command("CreateCustomer", details)["customerId"]
                opened = api.command(
                    "OpenAccount",
                    {
                        "customerId": customer,
                        "productCode": "TXN",
                        "currency": "AUD",
                        "initialDeposit": 1_000_000,
                    },
                )
                accounts.append(opened["accountId"])
        finally:
            api.close()
        made.append((tenant, accounts[0], accounts[1]))
    return made


@contextmanager
def mock(backend: str, workers: int, folder: Path, dsn: str) -> Iterator[load.Server]:
    """A served mock on SQLite (one process) or on a fresh PostgreSQL database."""
    folder.mkdir(parents=True, exist_ok=True)
    if backend == "sqlite":
        server = load.start_mock(f"sqlite:///{folder / 'mock.db'}", folder / "mock.log")
        with load.running(server):
            yield server
        return
    name, url = load.create_database(dsn)
    try:
        server = load.start_mock(url, folder / "mock.log", workers=workers, database=name)
        with load.running(server):
            yield server
    finally:
        load.drop_database(dsn, name)


def measure(
    wrk: str, server: load.Server, tenants: list[tuple[str, str, str]], args: Any, folder: Path
) -> dict[str, Any]:
    listing = folder / f"tenants-{len(tenants)}.txt"
    listing.write_text("".join(f"{t} {a} {b}\n" for t, a, b in tenants))
    env = {"BENCH_KEY": BENCH_KEY, "BENCH_TENANTS_FILE": str(listing)}
    load.run_wrk(wrk, server.base_url, SCRIPT, connections=args.connections, duration_s=1, env=env)
    before = cpu_split(server)
    result = load.run_wrk(
        wrk,
        server.base_url,
        SCRIPT,
        connections=args.connections,
        duration_s=args.duration,
        env=env,
    )
    after = cpu_split(server)
    if result.error_count:
        raise BenchError(f"{server.name}, {len(tenants)} tenants: wrk errors {result.errors}")
    requests = max(result.requests, 1)
    # A PostgreSQL process that ended during the run is left out (its CPU then is lost);
    # one that started during it counts from zero.
    database_s = sum(cpu - before.postgres_s.get(pid, 0.0) for pid, cpu in after.postgres_s.items())
    return {
        "rps": result.rps,
        "p50_ms": result.latency_ms("p50"),
        "p99_ms": result.latency_ms("p99"),
        "mock_cpu_us": round((after.mock_s - before.mock_s) * 1e6 / requests, 1),
        "postgres_cpu_us": round(database_s * 1e6 / requests, 1),
        "busy_cores": round((after.machine_s - before.machine_s) / result.duration_s, 2),
    }


def postgres_cpu() -> dict[int, float]:
    """CPU seconds so far of every process of the PostgreSQL server (backends, WAL
    writer, checkpointer...), by pid."""
    out = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() != "postgres":
                    continue
            except OSError:
                continue
            out[int(entry.name)] = load.cpu_seconds([int(entry.name)])
    return out


class CpuSplit(NamedTuple):
    """CPU seconds so far: of the mock (its process tree), of each PostgreSQL server
    process (by pid), and of the whole machine (every process, wrk's too)."""

    mock_s: float
    postgres_s: dict[int, float]
    machine_s: float


def cpu_split(server: load.Server) -> CpuSplit:
    return CpuSplit(
        load.tree_cpu_seconds(server.process.pid), postgres_cpu(), load.machine_cpu_seconds()
    )


def one_run(wrk: str, args: Any, workdir: Path) -> dict[str, dict[str, Any]]:
    """Every configuration once: {"sqlite/1w/4t": figures, ...}."""
    figures: dict[str, dict[str, Any]] = {}
    configs = [("sqlite", 1)] + [("postgresql", w) for w in args.workers]
    for backend, workers in configs:
        folder = workdir / f"{backend}-{workers}"
        with mock(backend, workers, folder, args.postgres_dsn) as server:
            tenants = setup_tenants(server.base_url, max(args.tenants))
            for count in args.tenants:
                key = f"{backend}/{workers}w/{count}t"
                figures[key] = measure(wrk, server, tenants[:count], args, folder)
                print(f"bench.tenants: {key}: {figures[key]['rps']:,.0f} req/s", flush=True)
    return figures


def summarise(runs: list[dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    baseline = "sqlite/1w/1t"
    out: dict[str, dict[str, Any]] = {}
    for key in runs[0]:
        rps = [run[key]["rps"] for run in runs]
        ratios = [run[key]["rps"] / run[baseline]["rps"] for run in runs if baseline in run]
        out[key] = {
            "rps_runs": [round(x, 1) for x in rps],
            "rps_median": round(load.median(rps), 1),
            "ratio_to_sqlite_1t_median": round(load.median(ratios), 3) if ratios else None,
            "p99_ms_median": round(load.median([run[key]["p99_ms"] for run in runs]), 2),
            **{
                f"{figure}_median": round(load.median([run[key][figure] for run in runs]), 2)
                for figure in CPU_FIGURES
            },
        }
    return out


def render(summary: dict[str, dict[str, Any]], meta: dict[str, Any]) -> str:
    lines = [
        "# PostEntry across tenants and workers",
        "",
        f"`{meta['command']}`",
        "",
        f"- {meta['started']} to {meta['finished']}; machine: "
        f"{meta['machine']['nproc']} CPUs ({meta['machine']['cpu_model']}), commit "
        f"{meta['machine']['git_commit'][:12]}, load average at start "
        f"{meta['machine']['load_average_start']}",
        f"- wrk, 1 thread, {meta['connections']} connections, {meta['duration']} s per run, "
        f"{meta['runs']} run(s) per figure (medians); each run measures every row once",
        "- ratio: to SQLite (one process) with one tenant, measured in the same run",
        "- CPU a request: the mock's process tree, and every PostgreSQL server process; "
        f"busy cores: the whole machine's, wrk's included, of {meta['machine']['nproc']}",
        "",
        "| backend | workers | tenants | req/s (median) | runs | x SQLite 1 tenant | p99 ms "
        "| mock CPU us/req | PostgreSQL CPU us/req | busy cores |",
        "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for key, row in summary.items():
        backend, workers, tenants = key.split("/")
        runs = ", ".join(f"{x:,.0f}" for x in row["rps_runs"])
        ratio = row["ratio_to_sqlite_1t_median"]
        database = "-" if backend == "sqlite" else f"{row['postgres_cpu_us_median']:,.0f}"
        lines.append(
            f"| {backend} | {workers[:-1]} | {tenants[:-1]} | {row['rps_median']:,.0f} | {runs} "
            f"| {ratio:.2f} | {row['p99_ms_median']:.1f} | {row['mock_cpu_us_median']:,.0f} "
            f"| {database} | {row['busy_cores_median']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def _numbers(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tenants", description=__doc__)
    parser.add_argument("--tenants", type=_numbers, default=[1, 4, 16])
    parser.add_argument("--workers", type=_numbers, default=[1, 2, 4])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--postgres-dsn", default=load.DEFAULT_PG_DSN)
    parser.add_argument("--results-dir", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    try:
        wrk = load.ensure_wrk(install=False)
        problem = load.postgres_problem(args.postgres_dsn)
        if problem:
            raise BenchError(problem)
        started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        runs = []
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory(prefix="bench-tenants-") as tmp:
                runs.append(one_run(wrk, args, Path(tmp)))
    except BenchError as exc:
        print(f"bench.tenants: {exc}")
        return 2
    meta = {
        "command": " ".join(["python -m bench.tenants", *(sys.argv[1:] if argv is None else argv)]),
        "started": started,
        "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine.machine_info(wrk),
        "connections": args.connections,
        "duration": args.duration,
        "runs": args.runs,
    }
    summary = summarise(runs)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    (args.results_dir / "tenants.json").write_text(
        json.dumps({"meta": meta, "summary": summary, "runs": runs}, indent=2) + "\n"
    )
    text = render(summary, meta)
    (args.results_dir / "tenants.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(load.main_of(main))
