"""Engines for the two backends, and the schema migrations.

SQLite: WAL journal with synchronous=FULL, so a commit is on disk before the
202 is sent; every write transaction starts with BEGIN IMMEDIATE, which takes
the database's write lock up front and so serialises appends across
connections and processes. PostgreSQL: a transaction-scoped advisory lock per
tenant does the same job there. An admin transaction that writes a great deal (a
snapshot's restore) may leave its checkpoint to a thread (`defer_checkpoint`).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import quote

from alembic import command as alembic_command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


APP_ROLE = "turingcore_app"


def make_engine(url: str, app_role: str | None = APP_ROLE) -> Engine:
    """Create the engine for `url`, with the backend's durability settings.

    On PostgreSQL every connection switches to `app_role` (see migration 0002),
    so row-level security applies to everything the application runs; pass
    None for an engine that runs migrations or admin work as the owner.
    """
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite would
            # otherwise defer it and start transactions in its own way).
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            mode = "IMMEDIATE" if conn.get_execution_options().get("write") else "DEFERRED"
            conn.exec_driver_sql(f"BEGIN {mode}")

        @event.listens_for(engine, "checkin")
        def _on_checkin(dbapi_connection: Any, record: Any) -> None:
            # Back in the pool, so committed (or rolled back): a connection that deferred
            # its checkpoint gets its threshold back, and a thread checkpoints.
            pages = record.info.pop(_AUTOCHECKPOINT_PAGES, None)
            if pages is not None and dbapi_connection is not None:
                dbapi_connection.execute(f"PRAGMA wal_autocheckpoint={int(pages)}")
                if database and database != ":memory:":
                    checkpoint_in_background(database)

        return engine
    engine = create_engine(url, pool_size=5, max_overflow=5, pool_pre_ping=True)
    if app_role:

        @event.listens_for(engine, "connect")
        def _on_pg_connect(dbapi_connection: Any, _record: Any) -> None:
            with dbapi_connection.cursor() as cursor:
                cursor.execute(f'SET ROLE "{app_role}"')
            dbapi_connection.commit()

    return engine


# The pool record's key for a connection's WAL auto-checkpoint threshold (pages), set
# aside while the connection's transaction defers its checkpoint.
_AUTOCHECKPOINT_PAGES = "wal_autocheckpoint_pages"


def defer_checkpoint(conn: Connection) -> None:
    """SQLite: this transaction's commit leaves the WAL as it is; once the connection is
    back in the pool, a thread copies the WAL into the database file. Elsewhere nothing.

    The commit is as durable either way: with synchronous=FULL it returns once the WAL
    holds the transaction, fsynced. The checkpoint only copies committed pages into the
    database file; after a restore of 100,000 events that is over 160 MB, a third of a
    second or more that the reply need not wait for.
    """
    if conn.dialect.name != "sqlite":
        return
    info = conn.connection.info
    if _AUTOCHECKPOINT_PAGES not in info:
        info[_AUTOCHECKPOINT_PAGES] = conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
        conn.exec_driver_sql("PRAGMA wal_autocheckpoint=0")


def checkpoint_in_background(database: str) -> threading.Thread:
    """Copy the WAL of the SQLite file `database` into it, on a thread of its own
    (a PASSIVE checkpoint: it takes no lock that readers or the writer wait for); the
    thread, started."""
    thread = threading.Thread(target=_checkpoint, args=(database,), name="sqlite-checkpoint")
    thread.start()
    return thread


def _checkpoint(database: str) -> None:
    try:
        # mode=rw: a file that is gone is not made anew.
        uri = f"file:{quote(database)}?mode=rw"
        with closing(sqlite3.connect(uri, uri=True, timeout=10, isolation_level=None)) as sqlite:
            sqlite.execute("PRAGMA synchronous=FULL")
            sqlite.execute("PRAGMA wal_checkpoint(PASSIVE)")
    except sqlite3.Error:
        pass  # (the store was closed or moved): the next commit's auto-checkpoint does it


def alembic_config(url: str) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str) -> None:
    """Create or upgrade the schema at `url` to the newest migration (as the owner)."""
    engine = make_engine(url, app_role=None)
    try:
        config = alembic_config(url)
        with engine.begin() as connection:
            if not is_sqlite(url):
                # Several workers may start at once: one migrates, the others wait.
                connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7215823)")
            config.attributes["connection"] = connection
            alembic_command.upgrade(config, "head")
    finally:
        engine.dispose()


def schema_is_current(engine: Engine) -> bool:
    """True when the database is at the newest migration."""
    script = ScriptDirectory.from_config(alembic_config(str(engine.url)))
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
    return set(current) == set(script.get_heads())


def default_database_url() -> str:
    return os.environ.get("MOCK_CORE_DATABASE_URL", "sqlite:///./var/mock-core.db")
