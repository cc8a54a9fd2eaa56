"""The store's tables (SQLAlchemy Core). Alembic migrations create and upgrade them.

Every table is keyed by tenant first, so one tenant's rows are contiguous and
every query filters on the tenant (and, on PostgreSQL, row-level security
enforces it). Money columns hold integer minor units.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

tenants = Table(
    "tenants",
    metadata,
    Column("tenant_id", String(32), primary_key=True),
    Column("base_currency", String(3), nullable=False),
    Column("time_zone", String(64), nullable=False),
    Column("data", Text, nullable=False),
    Column("created_at", String(40), nullable=False),
    # The chain head: the last event's sequence and hash. Appends read and move it
    # under the tenant's write lock, so the chain is one line, never a fork.
    Column("last_sequence", BigInteger, nullable=False),
    Column("last_hash", String(64), nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("tenant_id", String(32), primary_key=True),
    Column("sequence", BigInteger, primary_key=True, autoincrement=False),
    Column("event_id", String(36), nullable=False),
    Column("event_type", String(40), nullable=False),
    Column("entity_id", String(64), nullable=False),
    Column("causation_id", String(36), nullable=False),
    # The envelope exactly as hashed and served, `hash` included.
    Column("envelope", Text, nullable=False),
    Index("ix_events_type", "tenant_id", "event_type", "sequence"),
    # An entity's events of one type; of any type, a merge of one range per type
    # (store/queries.py). Migration 0006 says why not a third index.
    Index("ix_events_entity_type", "tenant_id", "entity_id", "event_type", "sequence"),
)

account_events = Table(
    "account_events",
    metadata,
    Column("tenant_id", String(32), primary_key=True),
    Column("account_id", String(64), primary_key=True),
    Column("sequence", BigInteger, primary_key=True, autoincrement=False),
    # The event's booking date (an entry's bookingDate, else the UTC date it was
    # appended), and the account's running figures after it, in log order: its
    # balance, its events, its postings, and the postings it leads (is the first
    # account of; each posting has one, so the tenant's postings are their sum).
    # The as-of reads (store/asof.py) seek one row instead of summing the log.
    Column("booking_date", String(10), nullable=False),
    Column("balance_minor", BigInteger, nullable=False),
    Column("event_count", BigInteger, nullable=False),
    Column("postings", BigInteger, nullable=False),
    Column("led_postings", BigInteger, nullable=False),
)

# Each account's events by booking date: per (account, day) the net change, events,
# postings and led postings booked that day, and the last sequence among them. A
# booking date is not in log order (entries may be back-dated), so an as-of-date
# read sums an account's days up to the date.
account_days = Table(
    "account_days",
    metadata,
    Column("tenant_id", String(32), primary_key=True),
    Column("account_id", String(64), primary_key=True),
    Column("booking_date", String(10), primary_key=True),
    Column("change_minor", BigInteger, nullable=False),
    Column("event_count", BigInteger, nullable=False),
    Column("postings", BigInteger, nullable=False),
    Column("led_postings", BigInteger, nullable=False),
    Column("last_sequence", BigInteger, nullable=False),
)

# The tenant's trial-balance totals after each posting event (`EntryPosted`,
# `FundsPosted`): the sum of the positive account balances (debits), of the negative
# ones negated (credits), and the posting events so far. As of a sequence, the
# tenant's last row at or before it (store/asof.py, store/totals.py).
tenant_totals = Table(
    "tenant_totals",
    metadata,
    Column("tenant_id", String(32), primary_key=True),
    Column("sequence", BigInteger, primary_key=True, autoincrement=False),
    Column("debits_minor", BigInteger, nullable=False),
    Column("credits_minor", BigInteger, nullable=False),
    Column("postings", BigInteger, nullable=False),
)

# What each booking day adds to the tenant's trial-balance totals as of a date: as of
# date d, the sum of the rows booked on or before d (a difference array). A row for
# each day a posting event was booked on. A back-dated posting moves the totals of
# every later day, so it changes the rows of its account's later days too.
tenant_days = Table(
    "tenant_days",
    metadata,
    Column("tenant_id", String(32), primary_key=True),
    Column("booking_date", String(10), primary_key=True),
    Column("debits_minor", BigInteger, nullable=False),
    Column("credits_minor", BigInteger, nullable=False),
    Column("postings", BigInteger, nullable=False),
)

products = Table(
    "products",
    metadata,
    Column("tenant_id", String(32), primary_key=True),
    Column("product_code", String(50), primary_key=True),
    Column("product_type", String(20), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("data", Text, nullable=False),
    Column("ordinal", BigInteger, nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
)

customers = Table(
    "customers",
    metadata,
    Column("tenant_id", String(32), primary_key=True),
    Column("customer_id", String(64), primary_key=True),
    Column("email", String(254), nullable=False),
    Column("mobile", String(16), nullable=False),
    Column("external_ref", String(64), nullable=True),
    Column("data", Text, nullable=False),
    Column("ordinal", BigInteger, nullable=False),
    UniqueConstraint("tenant_id", "email", name="uq_customers_email"),
    UniqueConstraint("tenant_id", "mobile", name="uq_customers_mobile"),
    UniqueConstraint("tenant_id", "external_ref", name="uq_customers_external_ref"),
    Index("ix_customers_ordinal", "tenant_id", "ordinal"),
)

accounts = Table(
    "accounts",
    metadata,
    Column("tenant_id", String(32), primary_key=True),
    Column("account_id", String(64), primary_key=True),
    Column("account_type", String(10), nullable=False),
    Column("customer_id", String(64), nullable=True),
    Column("product_code", String(50), nullable=True),
    Column("product_type", String(20), nullable=True),
    Column("currency", String(3), nullable=False),
    Column("balance_minor", BigInteger, nullable=False),
    Column("facility_limit_minor", BigInteger, nullable=True),
    Column("alias", String(100), nullable=True),
    Column("purpose", String(100), nullable=True),
    Column("opened_at", String(40), nullable=False),
    Column("ordinal", BigInteger, nullable=False),
    Column("last_sequence", BigInteger, nullable=False),
    Index("ix_accounts_customer", "tenant_id", "customer_id", "ordinal"),
    Index("ix_accounts_ordinal", "tenant_id", "ordinal"),
    Index("ix_accounts_type", "tenant_id", "account_type", "ordinal"),
)

command_log = Table(
    "command_log",
    metadata,
    Column("tenant_id", String(32), primary_key=True),
    # The idempotency key, or the commandId when the command had none.
    Column("dedup_key", String(200), primary_key=True),
    Column("command_id", String(36), nullable=False),
    Column("command_type", String(20), nullable=False),
    Column("payload_hash", String(64), nullable=False),
    Column("reply", Text, nullable=False),
    Column("created_at", String(40), nullable=False),
)

TENANT_TABLES = (
    tenants,
    events,
    account_events,
    account_days,
    tenant_totals,
    tenant_days,
    products,
    customers,
    accounts,
    command_log,
)

# Named snapshots (admin): which snapshots exist, and a copy of every tenant table keyed
# by the snapshot's name first. Only the store's owner reads and writes them (on
# PostgreSQL the application role has no privilege on them).
snapshots = Table(
    "snapshots",
    metadata,
    Column("name", String(100), primary_key=True),
    # The tenant saved, or "*" for the whole store.
    Column("scope", String(32), nullable=False),
    Column("tenants", BigInteger, nullable=False),
    Column("events", BigInteger, nullable=False),
    Column("created_at", String(40), nullable=False),
)


def _snapshot_copy(table: Table) -> Table:
    """`snapshot_<table>`: the table's columns after `snapshot`, keyed by (snapshot, key)."""
    columns = [
        Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable, autoincrement=False)
        for c in table.columns
    ]
    return Table(
        f"snapshot_{table.name}",
        metadata,
        Column("snapshot", String(100), primary_key=True),
        *columns,
    )


SNAPSHOT_TABLES = {table.name: _snapshot_copy(table) for table in TENANT_TABLES}
