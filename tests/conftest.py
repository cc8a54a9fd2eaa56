"""Fixtures shared by every suite: the two storage backends.

Tests that need PostgreSQL use the server on 127.0.0.1:5432 (user postgres,
trust auth), in a database of their own that is dropped afterwards. When the
server is unreachable they skip with the reason, unless REQUIRE_POSTGRES=1
(CI sets it), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

PG_ADMIN_DSN = os.environ.get(
    "TEST_POSTGRES_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
)
TENANT_TABLES = (
    "command_log",
    "account_events",
    "account_days",
    "tenant_totals",
    "tenant_days",
    "events",
    "accounts",
    "customers",
    "products",
    "tenants",
)
# The named snapshots (migration 0005): emptied with the tenant tables.
SNAPSHOT_TABLES = ("snapshots", *(f"snapshot_{table}" for table in TENANT_TABLES))


def postgres_problem() -> str | None:
    """None when the PostgreSQL server answers, else why not."""
    try:
        with psycopg.connect(PG_ADMIN_DSN, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"PostgreSQL at {PG_ADMIN_DSN!r} is unreachable: {exc}".strip()
    return None


def require_postgres() -> None:
    """Skip (or fail, with REQUIRE_POSTGRES=1) when PostgreSQL is unreachable."""
    problem = postgres_problem()
    if problem is None:
        return
    if os.environ.get("REQUIRE_POSTGRES") == "1":
        pytest.fail(f"REQUIRE_POSTGRES=1 but {problem}")
    pytest.skip(problem)


def create_database(prefix: str = "mock_core_test") -> tuple[str, str]:
    """Create a fresh database; return (its name, its SQLAlchemy URL)."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def drop_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def truncate(name: str) -> None:
    """Empty every tenant table and the snapshots (as the owner: row-level security does
    not apply)."""
    dsn = PG_ADMIN_DSN.replace("dbname=postgres", f"dbname={name}")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {', '.join((*TENANT_TABLES, *SNAPSHOT_TABLES))}")


@pytest.fixture(scope="session")
def pg_database() -> Iterator[tuple[str, str]]:
    """One migrated PostgreSQL database for the session: (name, URL)."""
    require_postgres()
    from mock_core.store.engine import upgrade

    name, url = create_database()
    try:
        upgrade(url)
        yield name, url
    finally:
        drop_database(name)


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store's URL, once per backend: a fresh SQLite file, or an emptied PostgreSQL DB."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/mock.db"
    name, url = request.getfixturevalue("pg_database")
    truncate(name)
    return url
