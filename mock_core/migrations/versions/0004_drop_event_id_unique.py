"""Drop the unique index on events.event_id.

Event ids are version-4 UUIDs the mock draws itself, and no query looks an
event up by its id. The index was the costliest single write of a command:
a random key inserted into a B-tree for every event (about 30 us of a
PostEntry's 3 events on SQLite, more as the store grows). Sequence order per
tenant, the chain's real identity, stays the primary key.

SQLite cannot drop the index of an inline UNIQUE constraint, so the table is
rebuilt there; PostgreSQL drops the constraint.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_COLUMNS = "tenant_id, sequence, event_id, event_type, entity_id, causation_id, envelope"


def _rebuild_sqlite(event_id_clause: str) -> None:
    op.execute(
        "CREATE TABLE events_rebuilt ("
        "tenant_id VARCHAR(32) NOT NULL, sequence BIGINT NOT NULL, "
        f"event_id VARCHAR(36) NOT NULL{event_id_clause}, event_type VARCHAR(40) NOT NULL, "
        "entity_id VARCHAR(64) NOT NULL, causation_id VARCHAR(36) NOT NULL, "
        "envelope TEXT NOT NULL, PRIMARY KEY (tenant_id, sequence))"
    )
    op.execute(f"INSERT INTO events_rebuilt ({_COLUMNS}) SELECT {_COLUMNS} FROM events")
    op.execute("DROP TABLE events")
    op.execute("ALTER TABLE events_rebuilt RENAME TO events")
    op.create_index("ix_events_type", "events", ["tenant_id", "event_type", "sequence"])
    op.create_index("ix_events_entity", "events", ["tenant_id", "entity_id", "sequence"])


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite("")
    else:
        op.drop_constraint("events_event_id_key", "events", type_="unique")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(" UNIQUE")
    else:
        op.create_unique_constraint("events_event_id_key", "events", ["event_id"])
