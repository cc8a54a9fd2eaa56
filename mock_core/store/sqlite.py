"""The SQLite store: one writer (this process), on one connection of its own.

BEGIN IMMEDIATE takes the database's write lock up front, so appends are
serialised across connections and processes, and commands of several tenants
may share one transaction (group commit). The writer remembers what it wrote
(`WriterMemory`, switchable), dropped when another connection committed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine

from mock_core.store import totals
from mock_core.store.eventstore import (
    Caches,
    Store,
    WriteBatch,
    WriterMemory,
    WriteTransaction,
    dialect_sql,
)
from mock_core.store.projections import Bulk, Row

# An account_events row with its running figures already summed (`FiguresBulk`).
_INSERT_FIGURES = (
    "INSERT INTO account_events (tenant_id, account_id, sequence, booking_date, balance_minor, "
    "event_count, postings, led_postings) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_LAST_FIGURES = (
    "SELECT balance_minor, event_count, postings, led_postings FROM account_events "
    "WHERE tenant_id = ? AND account_id = ? ORDER BY sequence DESC LIMIT 1"
)


class FiguresBulk(Bulk):
    """The writer's coalesced writes, with each account_events row's running figures
    summed here rather than by the insert.

    `projections.SQL["insert_touch"]` reads the account's previous row in the insert
    itself (what a rebuild uses); on the write path that seek made a PostEntry cost
    23% more instructions. Here the figures of each account's last row are read once
    (or known: the writer's memory keeps them, cleared with it, so a rolled-back
    transaction or another connection's write drops them) and the rows are inserted
    with their sums, in order.

    It keeps the trial balance's totals too (`store.totals`): each posting leg moves
    them by the balance it moves, known here.
    """

    def __init__(self, cursor: Any, sql: dict[str, str], memory: WriterMemory | None) -> None:
        super().__init__(cursor, sql)
        self.memory = memory

    def write(self, name: str, rows: list[Row]) -> None:
        if name == "insert_touch":
            legs: list[totals.Leg] = []
            self.cursor.executemany(_INSERT_FIGURES, self._summed(rows, legs))
            if legs:
                self._keep_totals(legs)
        else:
            super().write(name, rows)

    def write_all(self, writes: list[tuple[str, list[Row]]]) -> None:
        for name, rows in writes:
            self.write(name, rows)

    def _summed(self, rows: list[Row], legs: list[totals.Leg]) -> list[Row]:
        """Rows of (tenant, account, sequence, day, change, posting, led) -> rows of
        (tenant, account, sequence, day, balance, events, postings, led postings); the
        posting legs, with the balance each moves from, into `legs`."""
        known = self.memory.figures if self.memory is not None else {}
        execute = self.cursor.execute
        summed = []
        for t, a, sequence, day, change, posting, led in rows:
            figures = known.get((t, a))
            if figures is None:
                last = execute(_LAST_FIGURES, (t, a)).fetchone()
                figures = known[(t, a)] = list(last) if last is not None else [0, 0, 0, 0]
            if posting:
                legs.append((t, a, sequence, day, change, led, figures[0]))
            figures[0] += change
            figures[1] += 1
            figures[2] += posting
            figures[3] += led
            summed.append((t, a, sequence, day, *figures))
        return summed

    def _keep_totals(self, legs: list[totals.Leg]) -> None:
        """Write what `legs` add to the trial balance's totals: the tenants' totals at
        their head from the writer's memory (else their last row), each account's
        booking days from its first leg's day on from the memory where it holds them
        (else read: as stored, for this flush's days are upserted after its index rows).

        The memory keeps an account's days from its latest leg's day on: the twin books
        a member's entries in date order, so the next leg's day is seldom earlier (that
        one reads them again), and an account's days take a few entries, not a month."""
        execute = self.cursor.execute
        memory = self.memory
        heads = memory.totals if memory is not None else {}
        kept = memory.days if memory is not None else {}
        for t in {leg[0] for leg in legs} - heads.keys():
            last = execute(totals.LAST_TOTALS, (t,)).fetchone()
            heads[t] = list(last) if last is not None else [0, 0, 0]
        days = {}
        spans = totals.day_spans(legs)
        for key, (first, _) in spans.items():
            known = kept.get(key)
            if known is not None and known[0] <= first:
                days[key] = known[1]
            else:
                days[key] = dict(execute(totals.DAYS_FROM, (*key, first)).fetchall())
        rows, added = totals.keep(legs, heads, days)
        self.cursor.executemany(totals.SQL["insert_totals"], rows)
        self.cursor.executemany(totals.SQL["upsert_tenant_day"], added)
        if memory is not None:
            for key, (_, latest) in spans.items():
                account = days[key]
                kept[key] = (latest, {d: c for d, c in account.items() if d >= latest})


class SqliteTransaction(WriteTransaction):
    """A write transaction on the store's writer connection."""

    def __init__(self, store: SqliteStore, batch: WriteBatch, sqlite: Any, token: int) -> None:
        super().__init__(store, batch)
        self.sqlite = sqlite
        self.token = token

    def _commit(self) -> None:
        self.sqlite.execute("COMMIT")

    def _committed(self) -> None:
        if self.store.memory is not None:
            self.store.memory.token = self.token

    def _rollback(self) -> None:
        if self.sqlite.in_transaction:
            self.sqlite.execute("ROLLBACK")


class SqliteStore(Store):
    backend = "sqlite"

    def __init__(self, engine: Engine, caches: Caches) -> None:
        super().__init__(engine, caches, dialect_sql("named"))
        # SQLite has one writer (this process), which may remember what it wrote.
        self.memory = WriterMemory() if caches.writer_memory else None
        self._writer: Any = None  # the writer's own DBAPI connection (pool fairy)
        self._batch: WriteBatch | None = None  # on the writer's cursor

    def close(self) -> None:
        """Give the writer connection back and close the pooled connections."""
        with self._write_lock:
            writer, self._writer, self._batch = self._writer, None, None
            if writer is not None:
                writer.close()
        super().close()

    def _begin(self, tenant_ids: list[str], keep: bool) -> WriteTransaction:
        # (`keep`: the writer's memory is always kept, as it is the one writer.)
        # One connection of the writer's own (taken from the pool once and kept), and
        # one batch on its cursor, reused: a transaction costs no pool check-out and
        # builds nothing (its coalesced writes are empty after each commit or rollback).
        if self._writer is None or self._batch is None:
            self._writer = self.engine.raw_connection()
            cursor = self._writer.driver_connection.cursor()
            bulk = FiguresBulk(cursor, self.sql, self.memory)
            self._batch = WriteBatch(cursor, self.sql, self.memory, bulk=bulk)
        sqlite = self._writer.driver_connection
        cursor = self._batch.cursor
        cursor.execute("BEGIN IMMEDIATE")
        try:
            token = self._memory_token(cursor)
        except BaseException:
            sqlite.execute("ROLLBACK")
            raise
        return SqliteTransaction(self, self._batch, sqlite, token)

    def _memory_token(self, cursor: Any) -> int:
        """Drop the writer's memory if the database changed since its last commit.

        `PRAGMA data_version` moves when another connection (or process) commits;
        it is read inside BEGIN IMMEDIATE, so nobody can commit between this read
        and our own commit.
        """
        version: int = cursor.execute("PRAGMA data_version").fetchone()[0]
        if self.memory is not None and self.memory.token != version:
            self.memory.clear()
        return version

    @contextmanager
    def read(self, tenant_id: str) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn
