"""Named snapshots of the twin's tenant: how long a save and a restore take.

    .venv/bin/python -m bench.snapshots                  # both backends, 500 x 30, 3 runs
    .venv/bin/python -m bench.snapshots --backend sqlite --customers 50 --days 5 --runs 1

For each backend: a mock served on a store of its own (`turingcore_client.serving`;
PostgreSQL: a fresh database, `--workers` workers), `twin run steady-state` against it
(CU_DIGITAL, seed 42), then through the admin endpoints, `--runs` times each:
- the save of the tenant (everything copied);
- a restore right after the save;
- a restore after `--more` further entries (posted untimed before each restore);
- a restore after the tenant was reset (every event copied back).
After each restore the tenant must hold the saved events and its chain must verify.
Then, with the mock stopped, one more reset and restore in this process, each
statement of the restore timed and its commit apart (the profile; `--no-profile`
skips it); at the end `mock-core rebuild --check` must find no drift. Writes the
medians and the profile to bench/results/snapshots.{json,md} (`--out`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import load
from bench.load import BenchError, transfer
from bench.tenant_setup import Api
from turingcore_client.serving import served_mock

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results"
TENANT = "CU_DIGITAL"
KEY = "dev-platform-key"
NAME = "bench-snapshot"
DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
# Settings of this machine, left out of the results.
LOCAL_SETTINGS = ("out", "dsn", "sqlite_url", "postgres_url")


class Admin(Api):
    """The set-up client on the twin's tenant, with the platform key."""

    def __init__(self, base_url: str) -> None:
        super().__init__(base_url, KEY, TENANT)
        self.conn.timeout = 600  # a save or a restore under load may take minutes

    def timed(self, path: str) -> float:
        started = time.perf_counter()
        status, body = self.request("POST", path)
        if status != 200:
            raise BenchError(f"POST {path}: {status} {body}")
        return time.perf_counter() - started

    def verified_events(self) -> int:
        verdict = self.get(f"/_mock/tenants/{TENANT}/verify")
        if not verdict["ok"]:
            raise BenchError(f"the restored chain does not verify: {verdict['problems'][:3]}")
        return int(verdict["events"])

    def entries(self, count: int) -> None:
        """`count` transfers of one cent back and forth between the two richest members'
        accounts (every balance stays where it was, give or take a cent)."""
        page = self.get(f"/v1/tenants/{TENANT}/accounts?accountType=CUSTOMER&limit=1000")
        rich = sorted(page["accounts"], key=lambda a: -a["balance"])[:2]
        a, b = (account["accountId"] for account in rich)
        for n in range(count):
            src, dst = (a, b) if n % 2 else (b, a)
            self.command("PostEntry", transfer(src, dst, 0.01, "bench snapshot"))


# What is timed: (case, its label, what is done untimed before it).
CASES: tuple[tuple[str, str, Callable[[Admin, int], object]], ...] = (
    ("save", "the save (everything copied)", lambda admin, more: None),
    ("after_save", "restore right after the save", lambda admin, more: None),
    ("after_more", "restore after {more:,} more entries", lambda admin, more: admin.entries(more)),
    (
        "after_reset",
        "restore after the tenant was reset (every event copied back)",
        lambda admin, more: admin.timed(f"/_mock/tenants/{TENANT}/reset"),
    ),
)


@contextmanager
def store_url(backend: str, folder: Path, args: argparse.Namespace) -> Iterator[str]:
    """The store given (--sqlite-url, --postgres-url), else an SQLite file in `folder`,
    or a PostgreSQL database created and dropped."""
    dsn = args.dsn
    given = args.sqlite_url if backend == "sqlite" else args.postgres_url
    if given:
        yield given
        return
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'mock.db'}"
        return
    import psycopg

    name = f"bench_snap_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_twin(base_url: str, args: argparse.Namespace, folder: Path) -> float:
    command = [sys.executable, "-m", "twin", "run", "steady-state"]
    command += ["--customers", str(args.customers), "--days", str(args.days), "--seed", "42"]
    command += ["--base-url", base_url, "--api-key", KEY, "--output", str(folder / "twin")]
    started = time.perf_counter()
    subprocess.run([*command, "--quiet", "--no-inspect"], cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - started


def rebuild_check(url: str) -> None:
    command = [sys.executable, "-m", "mock_core", "rebuild", "--check", "--database-url", url]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"rebuild --check: exit {run.returncode}\n{run.stdout}{run.stderr}")


def profile(url: str) -> dict[str, Any]:
    """The tenant reset (untimed), then a restore of the snapshot in an admin transaction,
    in this process: the seconds in each table's statements (a DELETE and an INSERT per
    table), in the other statements, and in the commit (the end of the admin block)."""
    from sqlalchemy import event

    from mock_core.store import snapshots
    from mock_core.store.backends import open_store
    from mock_core.store.engine import make_engine
    from mock_core.store.schema import TENANT_TABLES

    tables = {table.name for table in TENANT_TABLES}
    engine = make_engine(url)
    store = open_store(engine)
    spent: dict[str, float] = {}

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn: Any, *_: Any) -> None:
        conn.info["started"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        words = statement.split()
        table = words[2] if words[:2] in (["INSERT", "INTO"], ["DELETE", "FROM"]) else ""
        key = table if table in tables else "other statements"
        spent[key] = spent.get(key, 0.0) + time.perf_counter() - conn.info["started"]

    try:
        store.reset(TENANT)
        spent.clear()
        started = time.perf_counter()
        with store.admin() as conn:
            snapshots.restore(conn, NAME)
            executed = time.perf_counter()
        done = time.perf_counter()
    finally:
        store.close()
        engine.dispose()
    statements = {k: round(v, 3) for k, v in sorted(spent.items(), key=lambda kv: -kv[1])}
    return {
        "statements_s": statements,
        "all_statements_s": round(executed - started, 3),
        "commit_s": round(done - executed, 3),
        "total_s": round(done - started, 3),
    }


def measure_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, store_url(backend, Path(tmp), args) as url:
        workers = ["--workers", str(args.workers)] if backend == "postgresql" else []
        with served_mock(["--database-url", url, "--no-access-log", *workers]) as base_url:
            probe = Admin(base_url)
            fresh = probe.request("GET", f"/v1/tenants/{TENANT}")[0] == 404
            probe.close()
            twin_s = 0.0
            if fresh:
                say(f"{backend}: twin steady-state {args.customers} x {args.days} days")
                twin_s = run_twin(base_url, args, Path(tmp))
            admin = Admin(base_url)  # (a connection idle through the twin run is closed)
            save, restore = (
                f"/_mock/snapshots/{NAME}?tenant={TENANT}",
                f"/_mock/snapshots/{NAME}/restore",
            )
            saved = admin.verified_events()
            load = [os.getloadavg()[0]]  # the machine's 1-minute load, before and after
            times: dict[str, list[float]] = {case: [] for case, _, _ in CASES}
            for run in range(args.runs):
                for case, _, prepare in CASES:
                    prepare(admin, args.more)
                    times[case].append(admin.timed(save if case == "save" else restore))
                    if admin.verified_events() != saved:
                        raise RuntimeError(f"{case}: the tenant does not hold the saved events")
                say(
                    f"{backend}: run {run + 1}: "
                    + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items())
                )
            admin.close()
            load.append(os.getloadavg()[0])
        profiled = None if args.no_profile else profile(url)
        if profiled is not None:
            say(f"{backend}: profile of a restore after a reset: {profiled}")
        rebuild_check(url)
    return {
        "backend": backend,
        "workers": args.workers if backend == "postgresql" else 1,
        "events": saved,
        "twin_s": round(twin_s, 1),
        "load_1min": [round(x, 2) for x in load],
        "median_s": {case: round(statistics.median(v), 3) for case, v in times.items()},
        "runs_s": {case: [round(t, 3) for t in v] for case, v in times.items()},
        "profile": profiled,
    }


def markdown(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    heads = [f"{r['backend']} ({r['workers']} worker(s))" for r in results]
    lines = [
        f"# Named snapshots: the {args.customers} x {args.days} tenant",
        "",
        f"`python -m bench.snapshots` ({stamp()}): `twin run steady-state` (seed 42) against a",
        "served mock, then save and restore through the admin endpoints; medians of "
        f"{args.runs} run(s) (every run in the .json). Events: "
        + ", ".join(f"{r['backend']} {r['events']:,}" for r in results)
        + ". Each restore verified (chain, event count); `rebuild --check` clean at the end. "
        "The machine's 1-minute load average before and after the timed runs ("
        + str(os.cpu_count())
        + " cores): "
        + ", ".join(
            f"{r['backend']} {r['load_1min'][0]:.1f} to {r['load_1min'][1]:.1f}" for r in results
        )
        + "."
        + "".join(
            f" {r['backend']}: on a store given (--sqlite-url, --postgres-url), the twin not run."
            for r in results
            if not r["twin_s"]
        ),
        "",
        f"| {args.customers} x {args.days} tenant | " + " | ".join(heads) + " |",
        "|---" * (len(results) + 1) + "|",
    ]
    for case, label, _ in CASES:
        cells = [f"{r['median_s'][case]:.2f} s" for r in results]
        lines.append(f"| {label.format(more=args.more)} | " + " | ".join(cells) + " |")
    profiled = [r for r in results if r["profile"]]
    if profiled:
        lines += [
            "",
            "Profile: one more reset and restore in process, the mock stopped (one run): "
            "seconds per table's statements (its DELETE and INSERT), the others, the commit.",
            "",
            "| restore after a reset | " + " | ".join(r["backend"] for r in profiled) + " |",
            "|---" * (len(profiled) + 1) + "|",
        ]
        rows = list(dict.fromkeys(k for r in profiled for k in r["profile"]["statements_s"]))
        for row in rows:
            cells = [_seconds(r["profile"]["statements_s"].get(row)) for r in profiled]
            lines.append(f"| {row} | " + " | ".join(cells) + " |")
        for key, label in (
            ("all_statements_s", "all statements"),
            ("commit_s", "commit"),
            ("total_s", "total"),
        ):
            cells = [_seconds(r["profile"][key]) for r in profiled]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.3f} s"


def stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.snapshots", description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--more", type=int, default=2000, help="entries posted before a restore")
    parser.add_argument("--workers", type=int, default=4, help="PostgreSQL workers")
    parser.add_argument("--dsn", default=DSN, help="PostgreSQL server (a database is created)")
    for backend in ("sqlite", "postgres"):
        parser.add_argument(
            f"--{backend}-url",
            help=f"measure {backend} on this store (left as it ends), not a fresh one; the "
            f"twin runs only if it holds no {TENANT}",
        )
    parser.add_argument(
        "--no-profile", action="store_true", help="skip the in-process profile of a restore"
    )
    parser.add_argument("--out", type=Path, default=OUT, help="folder for snapshots.{json,md}")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results = [measure_backend(backend, args) for backend in backends]
    args.out.mkdir(parents=True, exist_ok=True)
    settings = {k: v for k, v in vars(args).items() if k not in LOCAL_SETTINGS}
    report = {"when": stamp(), "settings": settings, "results": results}
    (args.out / "snapshots.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / "snapshots.md").write_text(markdown(results, args))
    print(markdown(results, args))
    return 0


if __name__ == "__main__":
    raise SystemExit(load.main_of(main))
