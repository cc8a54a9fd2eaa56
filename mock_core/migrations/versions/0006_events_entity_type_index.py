"""Add ix_events_entity_type: an entity's events of one type, in sequence order.

`GET /events?entityId=X&eventType=T` (and the account-events reads that filter by
type) walked the entity's whole stream through ix_events_entity, or the type's
whole stream through ix_events_type, to find a few rows: for a busy GL account
and a rare type, every event of the account. With (tenant, entity, type,
sequence) it is one seek and a short range. What the index costs each append is
measured in bench/results/indexes.md.

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
    op.create_index(
        "ix_events_entity_type", "events", ["tenant_id", "entity_id", "event_type", "sequence"]
    )


def downgrade() -> None:
    op.drop_index("ix_events_entity_type", table_name="events")
