"""Replace ix_events_entity (tenant, entity, sequence) with (tenant, entity, type, sequence).

`GET /events?entityId=X&eventType=T` walked the entity's whole stream through
ix_events_entity to find a few rows: for a busy GL account and a rare type,
every event of the account (1-4 s on a 30-day store). With the type in the key
it is one seek and a short range. An entity's events of any type are then a
merge of one short range per event type (`store/queries.py`), so the store
keeps two indexes on the log, not three: a third cost every append 40-75 us on
SQLite. This one's longer key costs a PostEntry 0.8% more instructions than the old
index (callgrind, one command per commit: 1,360,826 -> 1,371,794); in CPU time the
difference is within the noise (bench/results/indexes.md).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_events_entity", table_name="events")
    op.create_index(
        "ix_events_entity_type", "events", ["tenant_id", "entity_id", "event_type", "sequence"]
    )


def downgrade() -> None:
    op.drop_index("ix_events_entity_type", table_name="events")
    op.create_index("ix_events_entity", "events", ["tenant_id", "entity_id", "sequence"])
