"""The Alembic migrations and the table definitions in mock_core/store/schema.py agree."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from mock_core.store.engine import upgrade
from mock_core.store.schema import metadata


def test_migrated_schema_equals_the_table_definitions(database_url: str) -> None:
    upgrade(database_url)
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        engine.dispose()
    assert diff == [], diff


def test_downgrade_to_nothing_and_up_again(tmp_path: object) -> None:
    from alembic import command

    from mock_core.store.engine import alembic_config

    url = f"sqlite:///{tmp_path}/m.db"
    upgrade(url)
    config = alembic_config(url)
    command.downgrade(config, "base")
    upgrade(url)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    finally:
        engine.dispose()
