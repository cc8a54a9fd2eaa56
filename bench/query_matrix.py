"""Every read query with every filter combination, timed on a seeded store.

    python -m bench.query_matrix [--customers 2000] [--days 30] [--requests 40]
                                 [--store PATH] [--keep PATH]

Seeds a served mock (SQLite) with `twin run steady-state` at the given size, or serves
an existing store file (`--store`, e.g. one kept with `--keep` by an earlier run), then
sends each query `--requests` times, one at a time (after 3 unmeasured), and reports
p50, p95 and max in ms as the client sees them (HTTP on loopback included). The ids
are real ones: a member and its account, the busiest GL account, a rare and a common
event type, a sequence half way along the log, a booking date half way through.
The issue's target is p95 under 10 ms for every row on the 10,000 x 30 store.

The trial balance is paged (its lines in opening order, 50 to a page here) with its
totals kept as the log is appended; it is timed on a first page and a page after a
cursor, as of a sequence and as of a date, and with 1,000 lines. Then in process on
the same store (medians of 20): its kept totals alone, a page of 50 and one of 1,000,
and every line (the pages of 1,000 walked by their cursor and serialised), about what
the whole trial balance in one reply cost before it was paged.

Results: bench/results/query-matrix.md and .json.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import text

from bench import load
from bench.measure import write_results
from mock_core.store import asof
from mock_core.store.engine import make_engine

RESULTS = Path(__file__).resolve().parent / "results"
TENANT = "CU_DIGITAL"
BUSY_GL = "GL_CARD_CLEARING"
TARGET_MS = 10.0
LIMIT = "50"


def _seed(base_url: str, customers: int, days: int, output: Path) -> None:
    run = [
        sys.executable, "-m", "twin", "run", "steady-state", "--no-inspect", "--quiet",
        "--customers", str(customers), "--days", str(days),
        "--base-url", base_url, "--api-key", load.BENCH_KEY, "--output", str(output),
    ]  # fmt: skip
    subprocess.run(run, check=True, capture_output=True)


def _ids(client: httpx.Client) -> dict[str, Any]:
    """Real ids to query with."""
    t = f"/v1/tenants/{TENANT}"
    tenant = client.get(t).json()
    head = int(tenant["lastSequence"])
    customers = client.get(f"{t}/customers", params={"limit": "1"}).json()
    customer = customers["customers"][0]["customerId"]
    account = client.get(f"{t}/accounts", params={"customerId": customer}).json()["accounts"][0]
    every = client.get(f"{t}/accounts", params={"accountType": "ALL", "limit": "1"}).json()
    middle = client.get(f"{t}/events", params={"after": str(max(head // 2 - 1, 0)), "limit": "1"})
    booked = [e for e in middle.json()["events"] if e["eventType"] == "EntryPosted"]
    date = booked[0]["payload"]["bookingDate"] if booked else "2025-01-15"
    return {
        "head": head,
        "customer": customer,
        "customers_total": customers["total"],
        "account": account["accountId"],
        "accounts_total": every["total"],
        "middle": head // 2,
        "date": date,
    }


def queries(ids: dict[str, Any]) -> dict[str, tuple[str, dict[str, str]]]:
    """Each query and filter combination: its label, path and parameters."""
    t = f"/v1/tenants/{TENANT}"
    member, gl = f"{t}/accounts/{ids['account']}", f"{t}/accounts/{BUSY_GL}"
    deep_customers = str(max(ids["customers_total"] - 50, 0))
    deep_accounts = str(max(ids["accounts_total"] - 50, 0))
    mid, date = str(ids["middle"]), ids["date"]
    # A trial-balance cursor half way through the accounts opened by the middle (its
    # lines are in opening order, the cursor an opening event's sequence).
    cursor = str(ids["middle"] // 2)
    return {
        "tenant": (t, {}),
        "products": (f"{t}/products", {}),
        "customers, first page": (f"{t}/customers", {"limit": LIMIT}),
        "customers, last page (offset)": (
            f"{t}/customers",
            {"limit": LIMIT, "offset": deep_customers},
        ),
        "customer by id": (f"{t}/customers/{ids['customer']}", {}),
        "accounts (members'), first page": (f"{t}/accounts", {"limit": LIMIT}),
        "accounts ALL, last page (offset)": (
            f"{t}/accounts",
            {"accountType": "ALL", "limit": LIMIT, "offset": deep_accounts},
        ),
        "accounts GL": (f"{t}/accounts", {"accountType": "GL", "limit": LIMIT}),
        "accounts of a customer": (f"{t}/accounts", {"customerId": ids["customer"]}),
        "accounts of a customer and type": (
            f"{t}/accounts",
            {"customerId": ids["customer"], "accountType": "CUSTOMER"},
        ),
        "account by id": (member, {}),
        "member account's events": (f"{member}/events", {"limit": LIMIT}),
        "busy GL account's events, after the middle": (
            f"{gl}/events",
            {"limit": LIMIT, "after": mid},
        ),
        "busy GL account's events, offset 1,000": (
            f"{gl}/events",
            {"limit": LIMIT, "offset": "1000"},
        ),
        "stream, after the middle": (f"{t}/events", {"limit": LIMIT, "after": mid}),
        "stream of a rare type": (f"{t}/events", {"limit": LIMIT, "eventType": "ProductCreated"}),
        "stream of a common type, after the middle": (
            f"{t}/events",
            {"limit": LIMIT, "eventType": "EntryPosted", "after": mid},
        ),
        "stream of a member account": (
            f"{t}/events",
            {"limit": LIMIT, "entityId": ids["account"]},
        ),
        "stream of the busy GL account": (f"{t}/events", {"limit": LIMIT, "entityId": BUSY_GL}),
        "stream of the busy GL account, a rare type": (
            f"{t}/events",
            {"limit": LIMIT, "entityId": BUSY_GL, "eventType": "AccountOpened"},
        ),
        "stream of the busy GL account, a common type": (
            f"{t}/events",
            {"limit": LIMIT, "entityId": BUSY_GL, "eventType": "AccountBalanceUpdated"},
        ),
        "member balance as of the middle (sequence)": (
            f"{member}/balance",
            {"asOfSequence": mid},
        ),
        "busy GL balance as of the middle (sequence)": (f"{gl}/balance", {"asOfSequence": mid}),
        "member balance as of a date": (f"{member}/balance", {"asOfDate": date}),
        "busy GL balance as of a date": (f"{gl}/balance", {"asOfDate": date}),
        "trial balance as of the middle (sequence)": (
            f"{t}/trial-balance",
            {"asOfSequence": mid, "limit": LIMIT},
        ),
        "trial balance as of the middle (sequence), after a cursor": (
            f"{t}/trial-balance",
            {"asOfSequence": mid, "limit": LIMIT, "after": cursor},
        ),
        "trial balance as of a date": (f"{t}/trial-balance", {"asOfDate": date, "limit": LIMIT}),
        "trial balance as of a date, after a cursor": (
            f"{t}/trial-balance",
            {"asOfDate": date, "limit": LIMIT, "after": cursor},
        ),
        "trial balance as of a date, 1,000 lines": (
            f"{t}/trial-balance",
            {"asOfDate": date, "limit": "1000"},
        ),
    }


def _timed(client: httpx.Client, path: str, params: dict[str, str], requests: int) -> Any:
    for _ in range(3):
        client.get(path, params=params).raise_for_status()
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        reply = client.get(path, params=params)
        samples.append((time.perf_counter() - started) * 1000)
        reply.raise_for_status()
    cuts = statistics.quantiles(samples, n=20)
    return {
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(cuts[18], 2),
        "max_ms": round(max(samples), 2),
    }


def _median_ms(run: Any, times: int = 20) -> tuple[float, Any]:
    samples, found = [], None
    for _ in range(times):
        started = time.perf_counter()
        found = run()
        samples.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(samples), 2), found


def floor(store: Path, ids: dict[str, Any]) -> dict[str, Any]:
    """The trial balance in process (ms, medians): its kept totals alone, a page of 50
    lines and one of 1,000 (the read, totals included), and every line (the pages of
    1,000 walked by their cursor, with their serialisation as `json_response` does)."""
    engine = make_engine(f"sqlite:///{store}", app_role=None)
    out: dict[str, Any] = {}
    try:
        with engine.connect() as conn:
            points = {
                "as of the middle (sequence)": asof.AsOf(sequence=int(ids["middle"])),
                "as of a date": asof.AsOf(date=ids["date"]),
            }
            for label, at in points.items():
                sql = asof._TOTALS_AT if at.date is None else asof._TOTALS_BY
                bound = {"t": TENANT, "cut": at.sequence, "d": at.date}
                totals, _ = _median_ms(lambda: conn.execute(text(sql), bound).all())  # noqa: B023
                page, _ = _median_ms(lambda: asof.trial_balance(conn, TENANT, at, 0, 50))  # noqa: B023
                big, _ = _median_ms(lambda: asof.trial_balance(conn, TENANT, at, 0, 1000))  # noqa: B023
                every, lines = _median_ms(lambda: _every_line(conn, at), times=5)  # noqa: B023
                out[label] = {
                    "totals_ms": totals,
                    "page_50_ms": page,
                    "page_1000_ms": big,
                    "every_line_ms": every,
                    "lines": lines,
                }
    finally:
        engine.dispose()
    return out


def _every_line(conn: Any, at: asof.AsOf) -> int:
    """Walk every page of 1,000 lines, serialising each; the lines read."""
    lines, after = 0, 0
    while True:
        page = asof.trial_balance(conn, TENANT, at, after, 1000)
        assert page is not None
        orjson.dumps(page)
        lines += len(page["accounts"])
        if page["nextCursor"] is None:
            return lines
        after = page["nextCursor"]


def measure(store: Path, requests: int, seed: tuple[int, int] | None) -> dict[str, Any]:
    mock = load.start_mock(f"sqlite:///{store}", store.parent / "mock.log")
    with load.running(mock):
        if seed is not None:
            _seed(mock.base_url, *seed, store.parent / "seed")
        headers = {"Authorization": f"Bearer {load.BENCH_KEY}"}
        with httpx.Client(base_url=mock.base_url, headers=headers, timeout=120) as client:
            ids = _ids(client)
            rows = {
                label: _timed(client, path, params, requests)
                for label, (path, params) in queries(ids).items()
            }
    return {"ids": ids, "rows": rows, "floor": floor(store, ids)}


def render(result: dict[str, Any]) -> str:
    ids = result["ids"]
    lines = [
        "# Every query and filter combination",
        "",
        f"`{result['command']}` ({result['generated_at']}): {result['store']}, "
        f"{ids['head']:,} events, {ids['customers_total']:,} customers, "
        f"{ids['accounts_total']:,} accounts; {result['requests']} requests each, one at a "
        f"time, limit {LIMIT}; ms as the client sees them. Target: p95 under {TARGET_MS:g} ms "
        "on the 10,000 x 30 store.",
        "",
        "| query | p50 | p95 | max | p95 under the target |",
        "|---|---:|---:|---:|---|",
    ]
    for label, row in result["rows"].items():
        ok = "yes" if row["p95_ms"] < TARGET_MS else "**no**"
        lines.append(f"| {label} | {row['p50_ms']} | {row['p95_ms']} | {row['max_ms']} | {ok} |")
    lines += [
        "",
        "## The trial balance in process (ms, medians of 20; every line: of 5)",
        "",
        "| trial balance | kept totals alone | page of 50 | page of 1,000 | every line | lines |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, row in result.get("floor", {}).items():
        lines.append(
            f"| {label} | {row['totals_ms']} | {row['page_50_ms']} | {row['page_1000_ms']} "
            f"| {row['every_line_ms']} | {row['lines']:,} |"
        )
    return "\n".join(lines) + "\n"


def _copy(source: Path, target: Path) -> None:
    """Copy a SQLite store with what its WAL holds (a file copy would miss the commits
    not yet checkpointed: the kept 10,000 x 30 store once lacked its last 138 events)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.query_matrix", description=__doc__)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--store", type=Path, default=None, help="an existing SQLite store")
    parser.add_argument("--keep", type=Path, default=None, help="keep the seeded store here")
    parser.add_argument("--results-dir", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-query-matrix-") as tmp:
        store = Path(tmp) / "mock.db"
        if args.store is not None:
            _copy(args.store, store)
            seed, size = None, f"the store {args.store.name}"
        else:
            seed, size = (args.customers, args.days), f"{args.customers:,} x {args.days}"
        result = measure(store, args.requests, seed)
        if args.keep is not None:
            _copy(store, args.keep)
    result.update(
        command=" ".join(
            ["python -m bench.query_matrix", *(sys.argv[1:] if argv is None else argv)]
        ),
        generated_at=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        store=size,
        requests=args.requests,
    )
    write_results(args.results_dir, "query-matrix", result, render(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(load.main_of(main))
