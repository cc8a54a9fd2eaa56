"""Drop ix_events_causation: no query reads events by causation, and every index
is paid for on each append (profiling showed the event inserts as the costliest
statement of a command).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_events_causation", table_name="events")


def downgrade() -> None:
    op.create_index("ix_events_causation", "events", ["tenant_id", "causation_id"])
