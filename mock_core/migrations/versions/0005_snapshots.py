"""Named snapshots: a `snapshots` table and a copy of each tenant table keyed by name.

`snapshot_<table>` holds the rows of `<table>` saved under a snapshot's name (its
first key column), so a save and a restore are each one INSERT ... SELECT per
table. On PostgreSQL the application role gets no privilege on them: only the
store's owner (the admin endpoints and the CLI) reads and writes snapshots, as
it does for the resets. The columns are written out here, as the tables were on
the day of this migration.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _s(n: int) -> sa.String:
    return sa.String(n)


# (name, type, part of the key, nullable), per tenant table.
COPIES: dict[str, list[tuple[str, Any, bool, bool]]] = {
    "tenants": [
        ("tenant_id", _s(32), True, False),
        ("base_currency", _s(3), False, False),
        ("time_zone", _s(64), False, False),
        ("data", sa.Text(), False, False),
        ("created_at", _s(40), False, False),
        ("last_sequence", sa.BigInteger(), False, False),
        ("last_hash", _s(64), False, False),
    ],
    "events": [
        ("tenant_id", _s(32), True, False),
        ("sequence", sa.BigInteger(), True, False),
        ("event_id", _s(36), False, False),
        ("event_type", _s(40), False, False),
        ("entity_id", _s(64), False, False),
        ("causation_id", _s(36), False, False),
        ("envelope", sa.Text(), False, False),
    ],
    "account_events": [
        ("tenant_id", _s(32), True, False),
        ("account_id", _s(64), True, False),
        ("sequence", sa.BigInteger(), True, False),
    ],
    "products": [
        ("tenant_id", _s(32), True, False),
        ("product_code", _s(50), True, False),
        ("product_type", _s(20), False, False),
        ("active", sa.Boolean(), False, False),
        ("data", sa.Text(), False, False),
        ("ordinal", sa.BigInteger(), False, False),
        ("created_at", _s(40), False, False),
        ("updated_at", _s(40), False, False),
    ],
    "customers": [
        ("tenant_id", _s(32), True, False),
        ("customer_id", _s(64), True, False),
        ("email", _s(254), False, False),
        ("mobile", _s(16), False, False),
        ("external_ref", _s(64), False, True),
        ("data", sa.Text(), False, False),
        ("ordinal", sa.BigInteger(), False, False),
    ],
    "accounts": [
        ("tenant_id", _s(32), True, False),
        ("account_id", _s(64), True, False),
        ("account_type", _s(10), False, False),
        ("customer_id", _s(64), False, True),
        ("product_code", _s(50), False, True),
        ("product_type", _s(20), False, True),
        ("currency", _s(3), False, False),
        ("balance_minor", sa.BigInteger(), False, False),
        ("facility_limit_minor", sa.BigInteger(), False, True),
        ("alias", _s(100), False, True),
        ("purpose", _s(100), False, True),
        ("opened_at", _s(40), False, False),
        ("ordinal", sa.BigInteger(), False, False),
        ("last_sequence", sa.BigInteger(), False, False),
    ],
    "command_log": [
        ("tenant_id", _s(32), True, False),
        ("dedup_key", _s(200), True, False),
        ("command_id", _s(36), False, False),
        ("command_type", _s(20), False, False),
        ("payload_hash", _s(64), False, False),
        ("reply", sa.Text(), False, False),
        ("created_at", _s(40), False, False),
    ],
}


def upgrade() -> None:
    op.create_table(
        "snapshots",
        sa.Column("name", _s(100), primary_key=True),
        sa.Column("scope", _s(32), nullable=False),
        sa.Column("tenants", sa.BigInteger(), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("created_at", _s(40), nullable=False),
    )
    for table, columns in COPIES.items():
        op.create_table(
            f"snapshot_{table}",
            sa.Column("snapshot", _s(100), primary_key=True),
            *(
                sa.Column(name, kind, primary_key=key, nullable=nullable, autoincrement=False)
                for name, kind, key, nullable in columns
            ),
        )


def downgrade() -> None:
    for table in reversed(list(COPIES)):
        op.drop_table(f"snapshot_{table}")
    op.drop_table("snapshots")
