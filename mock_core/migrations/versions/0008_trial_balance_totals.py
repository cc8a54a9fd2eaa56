"""The trial balance's stored totals: `tenant_totals` and `tenant_days`.

`tenant_totals` holds a tenant's totals after each posting event (the positive
account balances summed, the negative ones negated and summed, the posting events
so far); `tenant_days` what each booking day adds to the totals as of a date. The
trial-balance read (store/asof.py) then seeks one row, or sums a row per day,
instead of visiting every account.

The totals of an existing store, and of its saved snapshots, are filled as 0007
fills its figures: by replaying each log (`store/rebuild.replay`, the code
`mock-core rebuild` runs), which computes them from the replayed running figures
(`rebuild.fill_totals`). That imports the application's code as it is when this
migration runs.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

APP_ROLE = "turingcore_app"
FILLED = ("tenant_totals", "tenant_days")


def _totals_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("tenant_id", sa.String(32), primary_key=True, nullable=False),
        sa.Column("sequence", sa.BigInteger(), primary_key=True, nullable=False),
        *_figures(),
    ]


def _days_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("tenant_id", sa.String(32), primary_key=True, nullable=False),
        sa.Column("booking_date", sa.String(10), primary_key=True, nullable=False),
        *_figures(),
    ]


def _figures() -> list[sa.Column[object]]:
    return [
        sa.Column("debits_minor", sa.BigInteger(), nullable=False),
        sa.Column("credits_minor", sa.BigInteger(), nullable=False),
        sa.Column("postings", sa.BigInteger(), nullable=False),
    ]


def upgrade() -> None:
    for name, columns in (("tenant_totals", _totals_columns), ("tenant_days", _days_columns)):
        op.create_table(name, *columns())
        op.create_table(
            f"snapshot_{name}", sa.Column("snapshot", sa.String(100), primary_key=True), *columns()
        )
        if op.get_bind().dialect.name == "postgresql":
            # As migration 0002 does for every tenant table: the application role sees and
            # writes only its tenant's rows (inserts and updates, never deletes).
            op.execute(f"GRANT SELECT, INSERT, UPDATE ON {name} TO {APP_ROLE}")
            op.execute(f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {name} FORCE ROW LEVEL SECURITY")
            op.execute(
                f"CREATE POLICY tenant_isolation ON {name} "
                "USING (tenant_id = current_setting('app.current_tenant', true)) "
                "WITH CHECK (tenant_id = current_setting('app.current_tenant', true))"
            )
    _fill()


def _fill() -> None:
    """Fill the totals of the live store and of each snapshot from their logs (as 0007)."""
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
    for name in reversed(FILLED):
        op.drop_table(f"snapshot_{name}")
        op.drop_table(name)  # its policy and grants go with it
