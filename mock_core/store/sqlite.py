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

from mock_core.store.eventstore import (
    Caches,
    Store,
    WriteBatch,
    WriterMemory,
    WriteTransaction,
    dialect_sql,
)


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

    def _begin(self, tenant_ids: list[str]) -> WriteTransaction:
        # One connection of the writer's own (taken from the pool once and kept), and
        # one batch on its cursor, reused: a transaction costs no pool check-out and
        # builds nothing (its coalesced writes are empty after each commit or rollback).
        if self._writer is None or self._batch is None:
            self._writer = self.engine.raw_connection()
            self._batch = WriteBatch(self._writer.driver_connection.cursor(), self.sql, self.memory)
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
