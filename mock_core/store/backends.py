"""open_store(engine): the store for the engine's backend."""

from __future__ import annotations

from sqlalchemy import Engine

from mock_core.store.engine import is_sqlite
from mock_core.store.eventstore import Caches, Store
from mock_core.store.postgres import PostgresStore
from mock_core.store.sqlite import SqliteStore


def open_store(engine: Engine, caches: Caches | None = None) -> Store:
    """A SqliteStore or a PostgresStore on `engine`, with `caches` (default: all on)."""
    caches = caches if caches is not None else Caches()
    if is_sqlite(str(engine.url)):
        return SqliteStore(engine, caches)
    return PostgresStore(engine, caches)
