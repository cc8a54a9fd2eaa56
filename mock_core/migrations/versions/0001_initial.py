"""The initial schema: events, chain heads, projections and the command log.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("tenant_id", sa.String(32), primary_key=True),
        sa.Column("base_currency", sa.String(3), nullable=False),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("last_sequence", sa.BigInteger, nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "events",
        sa.Column("tenant_id", sa.String(32), primary_key=True),
        sa.Column("sequence", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("event_type", sa.String(40), nullable=False),
        sa.Column("entity_id", sa.String(64), nullable=False),
        sa.Column("causation_id", sa.String(36), nullable=False),
        sa.Column("envelope", sa.Text, nullable=False),
    )
    op.create_index("ix_events_type", "events", ["tenant_id", "event_type", "sequence"])
    op.create_index("ix_events_entity", "events", ["tenant_id", "entity_id", "sequence"])
    op.create_index("ix_events_causation", "events", ["tenant_id", "causation_id"])
    op.create_table(
        "account_events",
        sa.Column("tenant_id", sa.String(32), primary_key=True),
        sa.Column("account_id", sa.String(64), primary_key=True),
        sa.Column("sequence", sa.BigInteger, primary_key=True, autoincrement=False),
    )
    op.create_table(
        "products",
        sa.Column("tenant_id", sa.String(32), primary_key=True),
        sa.Column("product_code", sa.String(50), primary_key=True),
        sa.Column("product_type", sa.String(20), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("ordinal", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "customers",
        sa.Column("tenant_id", sa.String(32), primary_key=True),
        sa.Column("customer_id", sa.String(64), primary_key=True),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("mobile", sa.String(16), nullable=False),
        sa.Column("external_ref", sa.String(64), nullable=True),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("ordinal", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("tenant_id", "email", name="uq_customers_email"),
        sa.UniqueConstraint("tenant_id", "mobile", name="uq_customers_mobile"),
        sa.UniqueConstraint("tenant_id", "external_ref", name="uq_customers_external_ref"),
    )
    op.create_index("ix_customers_ordinal", "customers", ["tenant_id", "ordinal"])
    op.create_table(
        "accounts",
        sa.Column("tenant_id", sa.String(32), primary_key=True),
        sa.Column("account_id", sa.String(64), primary_key=True),
        sa.Column("account_type", sa.String(10), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=True),
        sa.Column("product_code", sa.String(50), nullable=True),
        sa.Column("product_type", sa.String(20), nullable=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("balance_minor", sa.BigInteger, nullable=False),
        sa.Column("facility_limit_minor", sa.BigInteger, nullable=True),
        sa.Column("alias", sa.String(100), nullable=True),
        sa.Column("purpose", sa.String(100), nullable=True),
        sa.Column("opened_at", sa.String(40), nullable=False),
        sa.Column("ordinal", sa.BigInteger, nullable=False),
        sa.Column("last_sequence", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_accounts_customer", "accounts", ["tenant_id", "customer_id", "ordinal"])
    op.create_index("ix_accounts_ordinal", "accounts", ["tenant_id", "ordinal"])
    op.create_index("ix_accounts_type", "accounts", ["tenant_id", "account_type", "ordinal"])
    op.create_table(
        "command_log",
        sa.Column("tenant_id", sa.String(32), primary_key=True),
        sa.Column("dedup_key", sa.String(200), primary_key=True),
        sa.Column("command_id", sa.String(36), nullable=False),
        sa.Column("command_type", sa.String(20), nullable=False),
        sa.Column("payload_hash", sa.String(64), nullable=False),
        sa.Column("reply", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "command_log",
        "accounts",
        "customers",
        "products",
        "account_events",
        "events",
        "tenants",
    ):
        op.drop_table(table)
