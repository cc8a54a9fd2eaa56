"""Named snapshots: a `snapshots` table and a copy of each tenant table keyed by name.

`snapshot_<table>` holds the rows of `<table>` saved under a snapshot's name (its
first key column), so a save and a restore are each one INSERT ... SELECT per
table. On PostgreSQL the application role gets no privilege on them: only the
store's owner (the admin endpoints and the CLI) reads and writes snapshots, as
it does for the resets. Each copy takes its table's columns and key as the
database holds them when this migration runs (the schema of 0004), read back
from the database.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


# The tenant tables copied, in the order of mock_core/store/schema.py's TENANT_TABLES.
TABLES = ("tenants", "events", "account_events", "products", "customers", "accounts", "command_log")


def upgrade() -> None:
    op.create_table(
        "snapshots",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("scope", sa.String(32), nullable=False),
        sa.Column("tenants", sa.BigInteger(), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    inspector = sa.inspect(op.get_bind())
    for table in TABLES:
        key = set(inspector.get_pk_constraint(table)["constrained_columns"])
        copied = (
            sa.Column(
                column["name"],
                column["type"],
                primary_key=column["name"] in key,
                nullable=column["nullable"],
                autoincrement=False,
            )
            for column in inspector.get_columns(table)
        )
        op.create_table(
            f"snapshot_{table}",
            sa.Column("snapshot", sa.String(100), primary_key=True),
            *copied,
        )


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(f"snapshot_{table}")
    op.drop_table("snapshots")
