"""What the log's entity index costs a write and buys a read (migration 0006), and what the
as-of reads' stored figures cost a write (migration 0007).

    python -m bench.indexes [--rounds 5] [--commands 3000] [--customers 500] [--days 30]
                            [--part all|entity-index|asof-figures] [--database-url URL]

Migration 0006 replaced ix_events_entity (tenant, entity, sequence) with
ix_events_entity_type (tenant, entity, type, sequence); an entity's events of any
type became a merge of one range per type. "before" is the old index with the old
statements, "after" the new ones.

- The write: in-process PostEntry (bench.profile: the ASGI app, no HTTP), CPU per
  command on a fresh SQLite store with each index, alternated round by round, at 1
  and at 32 in flight; the median of the per-round ratios after / before.
- The read: the three `GET /events?entityId=X[&eventType=T]` statements, run on one
  store the twin seeded (its steady-state scenario), for the busiest GL account and
  a rare and a common type: before and after on the same file (the index swapped),
  medians of 20 executions; then the endpoint itself, served on the new layout
  (p50 and p95 of 50 requests).

The as-of figures (`--part asof-figures`): the same in-process PostEntry, CPU and wall
time per command, with the running figures on each `account_events` row and the
`account_days` upserts ("with", the code as it is) and without them ("without": the
write path before migration 0007, its one-column-less touches and no days, patched in
for the round), alternated round by round, at 1 and at 32 in flight; on SQLite, or on
the (emptied) PostgreSQL database `--database-url` names.

Results: bench/results/indexes.json and indexes.md (a part run alone replaces only its
own section; the as-of figures have one per backend).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx

from bench import load, profile
from bench.measure import write_results
from mock_core.core import events as ev
from mock_core.store import eventstore, postgres, projections, sqlite
from mock_core.store.engine import upgrade
from mock_core.store.queries import _SQL

RESULTS = Path(__file__).resolve().parent / "results"
TENANT = "CU_DIGITAL"
ACCOUNT = "GL_CARD_CLEARING"  # the busiest account of the steady-state scenario
QUERIES = {
    "busy GL account, rare type": {"entity": ACCOUNT, "type": "AccountOpened"},
    "busy GL account, common type": {"entity": ACCOUNT, "type": "AccountBalanceUpdated"},
    "busy GL account, any type": {"entity": ACCOUNT},
}
# The layouts: the index each has, and the statements it served with.
_BEFORE_INDEX = "CREATE INDEX ix_events_entity ON events (tenant_id, entity_id, sequence)"
_AFTER_INDEX = (
    "CREATE INDEX ix_events_entity_type ON events (tenant_id, entity_id, event_type, sequence)"
)
_OLD_ENVELOPES = "SELECT sequence, envelope FROM events WHERE tenant_id = :t AND sequence > :after"
_BEFORE_SQL = {
    "entity": f"{_OLD_ENVELOPES} AND entity_id = :entity ORDER BY sequence LIMIT :n",
    "entity_and_type": f"{_OLD_ENVELOPES} AND entity_id = :entity AND event_type = :type "
    "ORDER BY sequence LIMIT :n",
}
_AFTER_SQL = {
    "entity": _SQL["events_of_entity"],
    "entity_and_type": _SQL["events_of_entity_and_type"],
}


def _layout(conn: sqlite3.Connection, after: bool) -> None:
    """Put the store's entity index in the `after` (or `before`) layout."""
    conn.execute("DROP INDEX IF EXISTS ix_events_entity")
    conn.execute("DROP INDEX IF EXISTS ix_events_entity_type")
    conn.execute(_AFTER_INDEX if after else _BEFORE_INDEX)
    conn.commit()


def write_cost(rounds: int, commands: int, concurrency: int) -> dict[str, Any]:
    figures: dict[str, list[float]] = {"before": [], "after": []}
    ratios = []
    for _ in range(rounds):
        cpu = {}
        for after in (False, True):
            with tempfile.TemporaryDirectory(prefix="bench-indexes-") as tmp:
                workdir = Path(tmp)
                upgrade(f"sqlite:///{workdir / 'profile.db'}")
                with sqlite3.connect(workdir / "profile.db") as conn:
                    _layout(conn, after)
                cpu[after] = profile.run(commands, concurrency, workdir)["cpu_us_per_command"]
        figures["before"].append(cpu[False])
        figures["after"].append(cpu[True])
        ratios.append(cpu[True] / cpu[False])
    return {
        "concurrency": concurrency,
        "cpu_us_before": figures["before"],
        "cpu_us_after": figures["after"],
        "median_ratio_after_to_before": round(statistics.median(ratios), 3),
    }


# The write path before migration 0007: an account_events row is its key only (the new
# columns take their defaults), and no account_days.
_TOUCH_WITHOUT = "INSERT INTO account_events (tenant_id, account_id, sequence) VALUES (?, ?, ?)"
_TOUCH_WITHOUT_PG = "INSERT INTO account_events (tenant_id, account_id, sequence) " + (
    postgres._rows("text", "text", "bigint")
)


def _project_without_figures(event: ev.Event, at: projections.At, out: projections.Rows) -> None:
    """`projections.project` as it was before the as-of figures."""
    projections.PROJECTIONS[type(event)](event, at, out)
    touches = out.touches
    for account_id in getattr(event, "touches", ()):
        touches.append((at.tenant_id, account_id, at.sequence))


@contextlib.contextmanager
def _without_figures() -> Iterator[None]:
    """Patch the write path to the one before the as-of figures, for one round."""
    saved = (
        projections.project,
        eventstore._DIALECTS["named"]["insert_touch"],
        eventstore._DIALECTS["pyformat"]["insert_touch"],
        postgres._UNNEST["insert_touch"],
    )
    # SQLite's writer sums the figures in its bulk writer: the plain one, for the round.
    summing = sqlite.FiguresBulk.write
    sqlite.FiguresBulk.write = projections.Bulk.write  # type: ignore[method-assign]
    projections.project = _project_without_figures
    eventstore._DIALECTS["named"]["insert_touch"] = _TOUCH_WITHOUT
    eventstore._DIALECTS["pyformat"]["insert_touch"] = _TOUCH_WITHOUT.replace("?", "%s")
    postgres._UNNEST["insert_touch"] = _TOUCH_WITHOUT_PG
    try:
        yield
    finally:
        sqlite.FiguresBulk.write = summing  # type: ignore[method-assign]
        (
            projections.project,
            eventstore._DIALECTS["named"]["insert_touch"],
            eventstore._DIALECTS["pyformat"]["insert_touch"],
            postgres._UNNEST["insert_touch"],
        ) = saved


def _empty_postgres(url: str) -> None:
    from sqlalchemy import text

    from mock_core.store.engine import make_engine
    from mock_core.store.schema import TENANT_TABLES

    upgrade(url)
    engine = make_engine(url, app_role=None)
    try:
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {', '.join(t.name for t in TENANT_TABLES)}"))
    finally:
        engine.dispose()


def figures_cost(
    rounds: int, commands: int, concurrency: int, database_url: str | None
) -> dict[str, Any]:
    """PostEntry CPU and wall per command with and without the as-of figures."""
    cpu: dict[str, list[float]] = {"without": [], "with": []}
    wall: dict[str, list[float]] = {"without": [], "with": []}
    ratios = []
    for _ in range(rounds):
        for variant in ("without", "with"):
            with tempfile.TemporaryDirectory(prefix="bench-indexes-") as tmp:
                if database_url is not None:
                    _empty_postgres(database_url)
                patched = _without_figures() if variant == "without" else contextlib.nullcontext()
                with patched:
                    found = profile.run(commands, concurrency, Path(tmp), None, database_url)
            cpu[variant].append(found["cpu_us_per_command"])
            wall[variant].append(found["wall_us_per_command"])
        ratios.append(cpu["with"][-1] / cpu["without"][-1])
    return {
        "concurrency": concurrency,
        "cpu_us_without": cpu["without"],
        "cpu_us_with": cpu["with"],
        "wall_us_without": wall["without"],
        "wall_us_with": wall["with"],
        "commands_per_s_without": round(1e6 / statistics.median(wall["without"])),
        "commands_per_s_with": round(1e6 / statistics.median(wall["with"])),
        "median_ratio_with_to_without": round(statistics.median(ratios), 3),
    }


def _statement_ms(conn: sqlite3.Connection, sql: str, params: dict[str, Any]) -> float:
    samples = []
    for _ in range(20):
        started = time.perf_counter()
        conn.execute(sql, params).fetchall()
        samples.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(samples), 3)


def _endpoint_ms(client: httpx.Client, params: dict[str, str]) -> dict[str, float]:
    samples = []
    for _ in range(50):
        started = time.perf_counter()
        reply = client.get(f"/v1/tenants/{TENANT}/events", params={**params, "limit": "50"})
        samples.append((time.perf_counter() - started) * 1000)
        reply.raise_for_status()
    cuts = statistics.quantiles(samples, n=20)
    return {"p50_ms": round(statistics.median(samples), 2), "p95_ms": round(cuts[18], 2)}


def read_gain(customers: int, days: int, workdir: Path) -> dict[str, Any]:
    database = workdir / "mock.db"
    mock = load.start_mock(f"sqlite:///{database}", workdir / "mock.log")
    out: dict[str, Any] = {}
    with load.running(mock):
        run = [
            sys.executable, "-m", "twin", "run", "steady-state", "--no-inspect",
            "--customers", str(customers), "--days", str(days),
            "--base-url", mock.base_url, "--api-key", load.BENCH_KEY,
            "--output", str(workdir / "twin"),
        ]  # fmt: skip
        subprocess.run(run, check=True, capture_output=True)
        headers = {"Authorization": f"Bearer {load.BENCH_KEY}"}
        with httpx.Client(base_url=mock.base_url, headers=headers, timeout=60) as client:
            for label, query in QUERIES.items():
                params = {"entityId": query["entity"]}
                if "type" in query:
                    params["eventType"] = query["type"]
                out[label] = {"endpoint_after": _endpoint_ms(client, params)}
    with sqlite3.connect(database) as conn:
        for after in (False, True):
            _layout(conn, after)
            statements = _AFTER_SQL if after else _BEFORE_SQL
            for label, query in QUERIES.items():
                bound: dict[str, Any] = {"t": TENANT, "after": 0, "n": 51, **query}
                sql = statements["entity_and_type" if "type" in query else "entity"]
                key = "statement_ms_after" if after else "statement_ms_before"
                out[label][key] = _statement_ms(conn, sql, bound)
    return out


def _render_figures(part: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "## The as-of figures (migration 0007): PostEntry in process, per command",
        "",
        f"`{part['command']}` ({part['generated_at']}), {part['backend']}, "
        f"{part['commands']} commands a round.",
        "",
        "with: the running figures on each account_events row and the account_days upserts;",
        "without: the write path before them (patched in for the round). CPU and wall in us",
        "per command, each round's; throughput from the median wall.",
        "",
        "| in flight | CPU without | CPU with | wall without | wall with | PostEntry/s "
        "without / with | median of the per-round CPU ratios, with / without |",
        "|---:|---|---|---|---|---:|---:|",
    ]
    for row in part["write"]:
        lines.append(
            f"| {row['concurrency']} | {row['cpu_us_without']} | {row['cpu_us_with']} "
            f"| {row['wall_us_without']} | {row['wall_us_with']} "
            f"| {row['commands_per_s_without']:,} / {row['commands_per_s_with']:,} "
            f"| **{row['median_ratio_with_to_without']}** |"
        )
    return lines


def render(result: dict[str, Any]) -> str:
    lines = [
        "# The log's entity index: what it costs a write, what it buys a read",
        "",
        f"`{result['command']}` ({result['generated_at']})",
        "",
        "before: ix_events_entity (tenant, entity, sequence) and its statements; after:",
        "ix_events_entity_type (tenant, entity, type, sequence), an entity's events of any",
        "type merged from one range per type (migration 0006). The store keeps two indexes",
        "on the log either way.",
        "",
        "## The write: PostEntry in process, CPU per command (us)",
        "",
        "| in flight | before | after | median of the per-round ratios, after / before |",
        "|---:|---|---|---:|",
    ]
    for write in result["write"]:
        lines.append(
            f"| {write['concurrency']} | {write['cpu_us_before']} | {write['cpu_us_after']} "
            f"| **{write['median_ratio_after_to_before']}** |"
        )
    lines += [
        "",
        f"## The read on the {result['store']} store (limit 50)",
        "",
        "| query | statement before (ms, median of 20) | after | endpoint after: p50 / p95 "
        "(ms, 50 requests) |",
        "|---|---:|---:|---:|",
    ]
    for label, row in result["read"].items():
        endpoint = row["endpoint_after"]
        lines.append(
            f"| {label} | {row['statement_ms_before']} | {row['statement_ms_after']} "
            f"| {endpoint['p50_ms']} / {endpoint['p95_ms']} |"
        )
    for key in ("asof_figures", "asof_figures_postgresql"):
        if key in result:
            lines += _render_figures(result[key])
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.indexes", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--commands", type=int, default=3000)
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--results-dir", type=Path, default=RESULTS)
    parser.add_argument("--part", choices=("all", "entity-index", "asof-figures"), default="all")
    parser.add_argument(
        "--database-url", default=None, help="the as-of figures on this PostgreSQL database"
    )
    args = parser.parse_args(argv)
    command = " ".join(["python -m bench.indexes", *(sys.argv[1:] if argv is None else argv)])
    generated_at = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    previous = args.results_dir / "indexes.json"
    result: dict[str, Any] = json.loads(previous.read_text()) if previous.exists() else {}
    if args.part in ("all", "entity-index"):
        with tempfile.TemporaryDirectory(prefix="bench-indexes-read-") as tmp:
            read = read_gain(args.customers, args.days, Path(tmp))
        result.update(
            command=command,
            generated_at=generated_at,
            store=f"{args.customers} x {args.days}",
            write=[write_cost(args.rounds, args.commands, n) for n in (1, 32)],
            read=read,
        )
    if args.part in ("all", "asof-figures"):
        key = "asof_figures_postgresql" if args.database_url else "asof_figures"
        result[key] = {
            "command": command,
            "generated_at": generated_at,
            "backend": "PostgreSQL" if args.database_url else "SQLite",
            "commands": args.commands,
            "write": [
                figures_cost(args.rounds, args.commands, n, args.database_url) for n in (1, 32)
            ],
        }
    write_results(args.results_dir, "indexes", result, render(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(load.main_of(main))
