"""Engines for the two backends, and the schema migrations.

SQLite: WAL journal with synchronous=FULL, so a commit is on disk before the
202 is sent; every write transaction starts with BEGIN IMMEDIATE, which takes
the database's write lock up front and so serialises appends across
connections and processes. PostgreSQL: a transaction-scoped advisory lock per
tenant does the same job there.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from alembic import command as alembic_command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
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

        return engine
    engine = create_engine(url, pool_size=5, max_overflow=5, pool_pre_ping=True)
    if app_role:

        @event.listens_for(engine, "connect")
        def _on_pg_connect(dbapi_connection: Any, _record: Any) -> None:
            with dbapi_connection.cursor() as cursor:
                cursor.execute(f'SET ROLE "{app_role}"')
            dbapi_connection.commit()

    return engine


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
