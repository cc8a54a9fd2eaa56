"""What the offset-marks cache buys: list pages at random offsets, cache on vs off.

    python -m bench.marks_ab sqlite:////tmp/store.db [--pages 200] [--rounds 5]

In-process (no HTTP): two stores on the same database, one with the cache
(`Caches(offset_marks=True)`), one without; each round times `--pages` random
pages of every offset list of every tenant on each, alternately, and the
medians of the per-page times are printed with their ratio. The writer's
memory is measured end to end instead (`bench.run --mock-caches offset_marks`).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import text

from bench import load
from mock_core.store import queries
from mock_core.store.backends import open_store
from mock_core.store.engine import make_engine
from mock_core.store.eventstore import Caches, Store

PAGE = 50


def _lists(store: Store, tenant: str) -> list[tuple[str, Callable[[Any, int], Any], int]]:
    with store.read(tenant) as conn:
        customers = conn.execute(
            text("SELECT count(*) FROM customers WHERE tenant_id = :t"), {"t": tenant}
        ).scalar_one()
        accounts = conn.execute(
            text("SELECT count(*) FROM accounts WHERE tenant_id = :t"), {"t": tenant}
        ).scalar_one()

    def customers_page(conn: Any, offset: int) -> Any:
        return queries.list_customers(conn, tenant, PAGE, offset, store.marks)

    def accounts_page(conn: Any, offset: int) -> Any:
        return queries.list_accounts(conn, tenant, PAGE, offset, marks=store.marks)

    return [("customers", customers_page, customers), ("accounts", accounts_page, accounts)]


def _time_pages(store: Store, tenant: str, pages: int, seed: int) -> dict[str, list[float]]:
    rng = random.Random(seed)
    times: dict[str, list[float]] = {}
    for name, page, total in _lists(store, tenant):
        spent = times.setdefault(name, [])
        for _ in range(pages):
            offset = rng.randrange(max(total, 1))
            with store.read(tenant) as conn:
                started = time.perf_counter()
                page(conn, offset)
                spent.append(time.perf_counter() - started)
    return times


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.marks_ab", description=__doc__)
    parser.add_argument("database_url")
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    on = open_store(make_engine(args.database_url), Caches(offset_marks=True))
    off = open_store(make_engine(args.database_url), Caches(offset_marks=False))
    with on.engine.connect() as conn:
        tenants = [t for (t,) in conn.execute(text("SELECT tenant_id FROM tenants"))]
    results: dict[tuple[str, str], list[float]] = {}
    for round_ in range(args.rounds):
        for label, store in (("on", on), ("off", off)):
            for tenant in tenants:
                for name, spent in _time_pages(store, tenant, args.pages, round_).items():
                    results.setdefault((name, label), []).extend(spent)
    for name in ("customers", "accounts"):
        with_cache = statistics.median(results[(name, "on")]) * 1000
        without = statistics.median(results[(name, "off")]) * 1000
        print(
            f"{name}: median page {with_cache:.3f} ms with the cache, {without:.3f} ms "
            f"without ({without / with_cache:.2f}x)"
        )
    on.close()
    off.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(load.main_of(main))
