"""The trial-balance totals' reference (`rebuild.fill_totals`) over running figures written
by hand: an account whose balance crosses zero, back-dated days, a day with no posting,
events that post nothing, and a second tenant. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Connection, create_engine, insert, select

from mock_core.store.rebuild import fill_totals
from mock_core.store.schema import account_days, account_events, tenant_days, tenant_totals
from tests.conftest import create_database, drop_database, require_postgres

# Tenant T. Sequence 1 opens A (no posting). 2: A +100 (leads), B -100, booked 01-05.
# 3: A -150 (leads; 100 to -50), C +150, back-dated to 01-03. 4: B's event that posts
# nothing, on 01-06. 5: B +130 (leads; -100 to 30), C -130, back-dated to 01-04.
# Tenant U. Sequence 2: X +5 alone (unbalanced: debits and credits differ).
# Rows: tenant, account, sequence, booking date, balance, events, postings, led postings.
EVENTS = (
    ("T", "A", 1, "2025-01-05", 0, 1, 0, 0),
    ("T", "A", 2, "2025-01-05", 100, 2, 1, 1),
    ("T", "B", 2, "2025-01-05", -100, 1, 1, 0),
    ("T", "A", 3, "2025-01-03", -50, 3, 2, 2),
    ("T", "C", 3, "2025-01-03", 150, 1, 1, 0),
    ("T", "B", 4, "2025-01-06", -100, 2, 1, 0),
    ("T", "B", 5, "2025-01-04", 30, 3, 2, 1),
    ("T", "C", 5, "2025-01-04", 20, 2, 2, 0),
    ("U", "X", 2, "2025-01-01", 5, 1, 1, 1),
)
# Rows: tenant, account, booking date, change, events, postings, led postings, last sequence.
DAYS = (
    ("T", "A", "2025-01-03", -150, 1, 1, 1, 3),
    ("T", "A", "2025-01-05", 100, 2, 1, 1, 2),
    ("T", "B", "2025-01-04", 130, 1, 1, 1, 5),
    ("T", "B", "2025-01-05", -100, 1, 1, 0, 2),
    ("T", "B", "2025-01-06", 0, 1, 0, 0, 4),
    ("T", "C", "2025-01-03", 150, 1, 1, 0, 3),
    ("T", "C", "2025-01-04", -130, 1, 1, 0, 5),
    ("U", "X", "2025-01-01", 5, 1, 1, 1, 2),
)
# After 2: A 100, B -100. After 3: A -50, B -100, C 150. After 5: A -50, B 30, C 20.
TOTALS = [
    ("T", 2, 100, 100, 1),
    ("T", 3, 150, 150, 2),
    ("T", 5, 50, 50, 3),
    ("U", 2, 5, 0, 1),
]
# Through 01-03: A -150, C 150. Through 01-04: A -150, B 130, C 20 (the debits' parts
# moved +130 and -130). Through 01-05: A -50, B 30, C 20. 01-06 posted nothing.
TENANT_DAYS = [
    ("T", "2025-01-03", 150, 150, 1),
    ("T", "2025-01-04", 0, 0, 1),
    ("T", "2025-01-05", -100, -100, 1),
    ("U", "2025-01-01", 5, 0, 1),
]


def _rows(table: Any, values: tuple[tuple[Any, ...], ...]) -> list[dict[str, Any]]:
    return [dict(zip(table.c.keys(), row, strict=True)) for row in values]


@pytest.fixture(params=["sqlite", "postgres"])
def conn(request: pytest.FixtureRequest) -> Iterator[Connection]:
    """A connection, in a transaction, to an empty database holding the four tables."""
    name = None
    url = "sqlite://"
    if request.param == "postgres":
        require_postgres()
        name, url = create_database("mock_core_totals_test")
    engine = create_engine(url)
    try:
        tables = [account_events, account_days, tenant_totals, tenant_days]
        account_events.metadata.create_all(engine, tables=tables)
        with engine.begin() as connection:
            yield connection
    finally:
        engine.dispose()
        if name is not None:
            drop_database(name)


def test_the_reference_sums_the_balances_parts_by_sequence_and_by_day(conn: Connection) -> None:
    conn.execute(insert(account_events), _rows(account_events, EVENTS))
    conn.execute(insert(account_days), _rows(account_days, DAYS))
    driver: Any = conn.connection.driver_connection
    fill_totals(driver.cursor())  # in the connection's transaction
    totals = conn.execute(select(tenant_totals).order_by(*tenant_totals.primary_key)).all()
    days = conn.execute(select(tenant_days).order_by(*tenant_days.primary_key)).all()
    assert [tuple(row) for row in totals] == TOTALS
    assert [tuple(row) for row in days] == TENANT_DAYS
    # Every day summed is the last event's totals (the days are a difference array).
    for tenant in ("T", "U"):
        summed = tuple(sum(row[i] for row in days if row[0] == tenant) for i in (2, 3, 4))
        assert summed == [row[2:] for row in totals if row[0] == tenant][-1]
