"""Rebuild the projections from the log, and name every way the live ones drift from it.

`replay` reads each tenant's events in order, checks its hash chain, folds the
events through `evolve` (which asserts each restated balance) and projects them
through the same table as the write path (`projections.PROJECTIONS`) into fresh
tables in an in-memory SQLite database. The trial-balance totals (`tenant_totals`,
`tenant_days`), which the write path keeps as it appends, are computed there
afterwards from scratch, by `fill_totals`, from the replayed running figures. `drift`
compares those rows with the live ones, one line per difference; `rebuild` replaces
the live rows with them.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, Table, create_engine, delete, insert, select, text

from mock_core.core.events import event_from_payload
from mock_core.core.evolve import evolve
from mock_core.core.state import TenantState
from mock_core.store.eventstore import dialect_sql
from mock_core.store.hashchain import verify_chain
from mock_core.store.projections import At, Bulk, Pending, Rows, project
from mock_core.store.schema import (
    account_days,
    account_events,
    accounts,
    customers,
    products,
    tenant_days,
    tenant_totals,
    tenants,
)

# The tables the log determines, with the columns that name a row.
PROJECTED: tuple[tuple[Table, tuple[str, ...]], ...] = (
    (tenants, ("tenant_id",)),
    (products, ("tenant_id", "product_code")),
    (customers, ("tenant_id", "customer_id")),
    (accounts, ("tenant_id", "account_id")),
    (account_events, ("tenant_id", "account_id", "sequence")),
    (account_days, ("tenant_id", "account_id", "booking_date")),
    (tenant_totals, ("tenant_id", "sequence")),
    (tenant_days, ("tenant_id", "booking_date")),
)
DIFFERENCES_MAX = 1000  # lines named before the rest are only counted


def _pos(x: str) -> str:
    """SQL for max(x, 0), written out: SQLite's max and PostgreSQL's greatest differ."""
    return f"CASE WHEN {x} > 0 THEN {x} ELSE 0 END"


def fill_statements(prefix: str = "") -> tuple[str, str]:
    """The two statements that fill the empty `tenant_totals` and `tenant_days` from
    `account_events` and `account_days`; with `prefix` "snapshot_", the snapshot copies
    from theirs, every snapshot's (its name is one more key column). Plain SQL, the same
    on SQLite and PostgreSQL."""
    keys = "snapshot, tenant_id" if prefix else "tenant_id"
    # An account's row before this one (none: zeros), and a tenant's rows up to this one.
    before = f"OVER (PARTITION BY {keys}, account_id ORDER BY sequence)"
    so_far = f"OVER (PARTITION BY {keys} ORDER BY sequence ROWS UNBOUNDED PRECEDING)"
    # The tenant's totals after each posting event: each account the event posted to
    # (its postings one more than in its row before) moves the debits by its positive
    # part's change and the credits by its negative part's; the event's moves and its one
    # led posting, summed over the tenant's posting events up to it.
    totals = f"""
WITH touched AS (
  SELECT {keys}, sequence, balance_minor, postings, led_postings,
    lag(balance_minor, 1, 0) {before} AS balance_before,
    lag(postings, 1, 0) {before} AS postings_before,
    lag(led_postings, 1, 0) {before} AS led_before
  FROM {prefix}account_events
), moved AS (
  SELECT {keys}, sequence,
    {_pos("balance_minor")} - {_pos("balance_before")} AS d,
    {_pos("-balance_minor")} - {_pos("-balance_before")} AS c,
    led_postings - led_before AS led
  FROM touched WHERE postings = postings_before + 1
), per_event AS (
  SELECT {keys}, sequence, sum(d) AS d, sum(c) AS c, sum(led) AS led
  FROM moved GROUP BY {keys}, sequence
)
INSERT INTO {prefix}tenant_totals ({keys}, sequence, debits_minor, credits_minor, postings)
SELECT {keys}, sequence, sum(d) {so_far}, sum(c) {so_far}, sum(led) {so_far}
FROM per_event
"""
    # What each booking day adds to the tenant's totals as of a date: each account's day
    # moves the debits by its positive part's change and the credits by its negative
    # part's, its balance through the day (its days up to it, in date order: entries may
    # be back-dated) against that less the day's change. A row for each day a posting
    # was booked on.
    through = (
        f"OVER (PARTITION BY {keys}, account_id ORDER BY booking_date ROWS UNBOUNDED PRECEDING)"
    )
    days = f"""
WITH booked AS (
  SELECT {keys}, booking_date, change_minor, postings, led_postings,
    sum(change_minor) {through} AS through_minor
  FROM {prefix}account_days
), moved AS (
  SELECT {keys}, booking_date, postings, led_postings,
    {_pos("through_minor")} - {_pos("through_minor - change_minor")} AS d,
    {_pos("-through_minor")} - {_pos("-(through_minor - change_minor)")} AS c
  FROM booked
)
INSERT INTO {prefix}tenant_days ({keys}, booking_date, debits_minor, credits_minor, postings)
SELECT {keys}, booking_date, sum(d), sum(c), sum(led_postings)
FROM moved GROUP BY {keys}, booking_date HAVING sum(postings) > 0
"""
    return totals, days


def fill_totals(cursor: Any) -> None:
    """Fill the empty `tenant_totals` and `tenant_days` from `account_events` and
    `account_days`, through a DBAPI `cursor` (SQLite or PostgreSQL; the caller commits).

    Computed from scratch, with no code of the write path's: the reference that the
    totals the write path keeps are checked against (`replay`, then `drift`).
    """
    for statement in fill_statements():
        cursor.execute(statement)


@dataclass
class Replay:
    """The fresh projections (an in-memory SQLite database) and what the replay found."""

    fresh: Connection
    tenants: int = 0
    events: int = 0
    chain_problems: list[str] = field(default_factory=list)
    states: dict[str, TenantState] = field(default_factory=dict)

    def close(self) -> None:
        self.fresh.close()


def _events(
    conn: Connection, tenant_id: str | None, snapshot: str | None
) -> Iterable[tuple[str, str]]:
    where = [] if tenant_id is None else ["tenant_id = :t"]
    table = "events"
    if snapshot is not None:
        table, where = "snapshot_events", ["snapshot = :n", *where]
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    sql = f"SELECT tenant_id, envelope FROM {table}{clause} ORDER BY tenant_id, sequence"
    yield from conn.execute(text(sql), {"t": tenant_id, "n": snapshot})


def replay(live: Connection, tenant_id: str | None = None, snapshot: str | None = None) -> Replay:
    """Replay the log of `tenant_id` (or every tenant) from `live` into fresh projections,
    the totals filled from them (`fill_totals`); with `snapshot`, the log saved under that
    name (`snapshot_events`)."""
    engine = create_engine("sqlite://")
    fresh = engine.connect()
    for table, _ in PROJECTED:
        table.create(fresh)
    fresh.commit()
    driver: Any = fresh.connection.driver_connection
    assert isinstance(driver, sqlite3.Connection)
    cursor = driver.cursor()
    pending = Pending(Bulk(cursor, dialect_sql("named")))
    rows = Rows(cursor, dialect_sql("named"), pending)
    found = Replay(fresh)
    for tenant, stream in itertools.groupby(_events(live, tenant_id, snapshot), key=lambda r: r[0]):
        envelopes = [orjson.loads(envelope) for _, envelope in stream]
        found.tenants += 1
        found.events += len(envelopes)
        found.chain_problems += [f"{tenant}: events: {p}" for p in verify_chain(envelopes)]
        state = found.states[tenant] = TenantState()
        for envelope in envelopes:
            try:
                event = event_from_payload(envelope["eventType"], envelope["payload"])
                at = At(tenant, envelope["sequence"], envelope["hash"], envelope["occurredAt"])
                project(event, at, rows)
                pending.heads[tenant] = (at.sequence, at.hash)
                evolve(state, event)
            except Exception as exc:  # a corrupted event: name it, replay the rest
                where = f"sequence {envelope.get('sequence')}"
                found.chain_problems.append(f"{tenant}: events: {where}: cannot replay: {exc!r}")
        pending.flush_inserts()
    pending.flush()
    fill_totals(cursor)
    driver.commit()
    return found


def _rows(
    conn: Connection,
    table: Table,
    key: tuple[str, ...],
    tenant_id: str | None,
    as_json: bool = False,
) -> dict[tuple[Any, ...], dict[str, Any]]:
    """The rows of `table` by key; with `as_json`, the `data` column decoded."""
    query = select(table).order_by(*(table.c[k] for k in key))
    if tenant_id is not None:
        query = query.where(table.c.tenant_id == tenant_id)
    by_key = {}
    for row in conn.execute(query).mappings():
        values = dict(row)
        if as_json and "data" in values:
            # The log keeps payloads canonical (keys sorted), the write path as given:
            # the same JSON, in another key order.
            values["data"] = orjson.loads(values["data"])
        by_key[tuple(values[k] for k in key)] = values
    return by_key


def rows_of(
    conn: Connection, table: Table, key: tuple[str, ...], tenant_id: str | None = None
) -> list[dict[str, Any]]:
    """The rows of `table` (of `tenant_id`, or every tenant's), in key order."""
    return list(_rows(conn, table, key, tenant_id).values())


def drift(live: Connection, found: Replay, tenant_id: str | None = None) -> list[str]:
    """Every difference between the live projections and the replayed ones, one line each."""
    lines = list(found.chain_problems)
    for table, key in PROJECTED:
        have = _rows(live, table, key, tenant_id, as_json=True)
        want = _rows(found.fresh, table, key, tenant_id, as_json=True)
        for row_key in sorted(have.keys() | want.keys(), key=str):
            name = f"{row_key[0]}: {table.name}[{'/'.join(str(k) for k in row_key[1:])}]"
            live_row, log_row = have.get(row_key), want.get(row_key)
            if log_row is None:
                lines.append(f"{name}: in the live projection, not in the log")
            elif live_row is None:
                lines.append(f"{name}: in the log, missing from the live projection")
            else:
                for column, value in log_row.items():
                    if live_row[column] != value:
                        lines.append(
                            f"{name}: {column} is {live_row[column]!r} live, {value!r} from the log"
                        )
    if len(lines) > DIFFERENCES_MAX:
        rest = len(lines) - DIFFERENCES_MAX
        lines = [*lines[:DIFFERENCES_MAX], f"... and {rest} more differences"]
    return lines


def replace(live: Connection, found: Replay, tenant_id: str | None = None) -> None:
    """Replace the live projections of `tenant_id` (or every tenant) with the replayed ones.

    The caller holds the transaction on `live` and commits it.
    """
    for table, key in PROJECTED:
        statement = delete(table)
        if tenant_id is not None:
            statement = statement.where(table.c.tenant_id == tenant_id)
        live.execute(statement)
        values = rows_of(found.fresh, table, key, tenant_id)
        if values:
            live.execute(insert(table), values)
