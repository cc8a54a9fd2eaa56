"""The as-of reads' stored figures: running figures on `account_events`, and `account_days`.

Each `account_events` row gets the event's booking date and the account's running
balance, event count, postings and led postings after it; `account_days` holds
per (account, booking date) what was booked that day. The as-of reads
(store/asof.py) then seek rows instead of summing the log (5-13 s for a busy GL
account or the trial balance of a 10,000-member, 30-day store).

The figures of an existing store, and of its saved snapshots, are filled by
replaying each log through the projections (`store/rebuild.replay`, the code
`mock-core rebuild` runs): the same rows the write path would have written. That
imports the application's projections as they are when this migration runs.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

APP_ROLE = "turingcore_app"
# The new columns, each with the default that existing rows take until they are filled.
COLUMNS = (
    ("booking_date", sa.String(10), ""),
    ("balance_minor", sa.BigInteger(), "0"),
    ("event_count", sa.BigInteger(), "0"),
    ("postings", sa.BigInteger(), "0"),
    ("led_postings", sa.BigInteger(), "0"),
)
FILLED = ("account_events", "account_days")


def _day_columns(key: bool) -> list[sa.Column[object]]:
    return [
        sa.Column("tenant_id", sa.String(32), primary_key=key, nullable=False),
        sa.Column("account_id", sa.String(64), primary_key=key, nullable=False),
        sa.Column("booking_date", sa.String(10), primary_key=key, nullable=False),
        sa.Column("change_minor", sa.BigInteger(), nullable=False),
        sa.Column("event_count", sa.BigInteger(), nullable=False),
        sa.Column("postings", sa.BigInteger(), nullable=False),
        sa.Column("led_postings", sa.BigInteger(), nullable=False),
        sa.Column("last_sequence", sa.BigInteger(), nullable=False),
    ]


def upgrade() -> None:
    for table in ("account_events", "snapshot_account_events"):
        for name, kind, default in COLUMNS:
            op.add_column(
                table, sa.Column(name, kind, nullable=False, server_default=sa.text(f"'{default}'"))
            )
    op.create_table("account_days", *_day_columns(key=True))
    op.create_table(
        "snapshot_account_days",
        sa.Column("snapshot", sa.String(100), primary_key=True),
        *_day_columns(key=True),
    )
    if op.get_bind().dialect.name == "postgresql":
        # As migration 0002 does for every tenant table: the application role sees and
        # writes only its tenant's rows (an upsert: insert and update, never delete).
        op.execute(f"GRANT SELECT, INSERT, UPDATE ON account_days TO {APP_ROLE}")
        op.execute("ALTER TABLE account_days ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE account_days FORCE ROW LEVEL SECURITY")
        op.execute(
            "CREATE POLICY tenant_isolation ON account_days "
            "USING (tenant_id = current_setting('app.current_tenant', true)) "
            "WITH CHECK (tenant_id = current_setting('app.current_tenant', true))"
        )
    _fill()


def _fill() -> None:
    """Fill the figures of the live store and of each snapshot from their logs."""
    from mock_core.store import rebuild

    conn = op.get_bind()
    tables = {table.name: (table, key) for table, key in rebuild.PROJECTED}
    if conn.execute(sa.text("SELECT 1 FROM events LIMIT 1")).first() is not None:
        found = rebuild.replay(conn)
        try:
            for name in FILLED:
                table, key = tables[name]
                conn.execute(sa.delete(table))
                rows = list(rebuild.rows_of(found.fresh, table, key))
                if rows:
                    conn.execute(sa.insert(table), rows)
        finally:
            found.close()
    names = [row[0] for row in conn.execute(sa.text("SELECT name FROM snapshots ORDER BY name"))]
    meta = sa.MetaData()
    for snapshot in names:
        found = rebuild.replay(conn, snapshot=snapshot)
        try:
            for name in FILLED:
                table, key = tables[name]
                copy = sa.Table(f"snapshot_{name}", meta, autoload_with=conn)
                conn.execute(sa.delete(copy).where(copy.c.snapshot == snapshot))
                rows = [
                    {"snapshot": snapshot, **row}
                    for row in rebuild.rows_of(found.fresh, table, key)
                ]
                if rows:
                    conn.execute(sa.insert(copy), rows)
        finally:
            found.close()


def downgrade() -> None:
    op.drop_table("snapshot_account_days")
    op.drop_table("account_days")  # its policy and grants go with it
    for table in ("snapshot_account_events", "account_events"):
        for name, _, _ in reversed(COLUMNS):
            op.drop_column(table, name)
