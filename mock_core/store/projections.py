"""The projections: one table from event type to the rows it writes.

The write path projects each event it appends, in the same transaction; a
rebuild (`store/rebuild.py`) projects the whole log through the same table into
fresh tables. Balance moves and the chain head are coalesced (`Pending`) and
written once before the commit. Each function receives the event, where it sits
in the log (`At`) and the `Rows` to write to.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import orjson

from mock_core.core import events as ev

# The per-day upsert's conflict clause (the same on SQLite and PostgreSQL).
DAY_CONFLICT = (
    "ON CONFLICT (tenant_id, account_id, booking_date) DO UPDATE SET "
    "change_minor = account_days.change_minor + excluded.change_minor, "
    "event_count = account_days.event_count + excluded.event_count, "
    "postings = account_days.postings + excluded.postings, "
    "led_postings = account_days.led_postings + excluded.led_postings, "
    "last_sequence = excluded.last_sequence"
)

# The projections' statements, in the named parameter style (see eventstore.dialect_sql);
# the coalesced writes (`Pending`) take positional rows (`?`): binding a row by name
# cost the driver a new string and a dict lookup per column, a third of the insert.
SQL = {
    # An account's event, with its running figures: the account's previous row's plus
    # this event's (one seek of the key just written; executemany runs the rows in
    # order, so each sees the one before it). Row: tenant, account, sequence, booking
    # date, change, posting (0/1), led (0/1); numbered, as the tenant and account are
    # bound twice. PostgreSQL has its own (store/postgres.py).
    "insert_touch": "INSERT INTO account_events (tenant_id, account_id, sequence, booking_date, "
    "balance_minor, event_count, postings, led_postings) SELECT ?1, ?2, ?3, ?4, "
    "coalesce(p.balance_minor, 0) + ?5, coalesce(p.event_count, 0) + 1, "
    "coalesce(p.postings, 0) + ?6, coalesce(p.led_postings, 0) + ?7 FROM (SELECT 1) AS one "
    "LEFT JOIN (SELECT balance_minor, event_count, postings, led_postings FROM account_events "
    "WHERE tenant_id = ?1 AND account_id = ?2 ORDER BY sequence DESC LIMIT 1) AS p ON 1 = 1",
    # An account's booking day: this transaction's figures added to the day's. The
    # last sequence is the new one: every appended event's is above the stored ones.
    "upsert_day": "INSERT INTO account_days (tenant_id, account_id, booking_date, change_minor, "
    "event_count, postings, led_postings, last_sequence) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
    + DAY_CONFLICT,
    "insert_account": "INSERT INTO accounts (tenant_id, account_id, account_type, customer_id, "
    "product_code, product_type, currency, balance_minor, facility_limit_minor, alias, purpose, "
    "opened_at, ordinal, last_sequence) VALUES (:tenant_id, :account_id, :account_type, "
    ":customer_id, :product_code, :product_type, :currency, 0, NULL, :alias, :purpose, "
    ":opened_at, :ordinal, :ordinal)",
    "update_balance": "UPDATE accounts SET balance_minor = balance_minor + ?, last_sequence = ? "
    "WHERE tenant_id = ? AND account_id = ?",
    "update_facility": "UPDATE accounts SET facility_limit_minor = :limit, last_sequence = :seq "
    "WHERE tenant_id = :t AND account_id = :a",
    "insert_customer": "INSERT INTO customers (tenant_id, customer_id, email, mobile, "
    "external_ref, data, ordinal) VALUES (:t, :c, :e, :m, :r, :data, :ordinal)",
    "insert_product": "INSERT INTO products (tenant_id, product_code, product_type, active, "
    "data, ordinal, created_at, updated_at) VALUES (:t, :code, :type, :active, :data, :ordinal, "
    ":at, :at)",
    "update_product": "UPDATE products SET product_type = :type, active = :active, data = :data, "
    "updated_at = :at WHERE tenant_id = :t AND product_code = :code",
    "insert_tenant": "INSERT INTO tenants (tenant_id, base_currency, time_zone, data, created_at, "
    "last_sequence, last_hash) VALUES (:t, :currency, :tz, :data, :at, :seq, :hash)",
    "update_head": "UPDATE tenants SET last_sequence = ?, last_hash = ? WHERE tenant_id = ?",
}


# A coalesced write's row: its statement's parameters, in order.
Row = tuple[Any, ...]


class Bulk:
    """How a transaction writes many rows of one statement: `executemany` (SQLite).

    PostgreSQL overrides it with one statement per batch of rows (`store.postgres`):
    there each statement costs a round of the driver's work, whatever it holds.
    """

    def __init__(self, cursor: Any, sql: dict[str, str]) -> None:
        self.cursor = cursor
        self.sql = sql

    def write(self, name: str, rows: list[Row]) -> None:
        self.cursor.executemany(self.sql[name], rows)

    def write_all(self, writes: list[tuple[str, list[Row]]]) -> None:
        """Several statements' rows, in order (a transaction's flush)."""
        executemany, sql = self.cursor.executemany, self.sql
        for name, rows in writes:
            executemany(sql[name], rows)


class Pending:
    """Writes of a transaction that are coalesced and issued once, before the commit.

    The chain head of each tenant and the balance of each account move with every
    posting; a group-commit batch writes each once instead of once per command.
    The rows nothing on the write path reads back (the events, the account-event
    index, the idempotency records: these are looked up here first) are inserted
    together, a statement per table.
    """

    def __init__(self, bulk: Bulk) -> None:
        self.bulk = bulk
        self.heads: dict[str, tuple[int, str]] = {}
        self.balances: dict[tuple[str, str], list[int]] = {}  # -> [delta, last sequence]
        # The rows, in their statement's column order (`SQL`, eventstore's `_SQL`).
        self.events: list[Row] = []
        self.touches: list[Row] = []  # account_events (see SQL["insert_touch"])
        # account_days: (tenant, account, booking date) -> [change, events, postings,
        # led postings, last sequence], coalesced as the balances are.
        self.days: dict[tuple[str, str, str], list[int]] = {}
        self.command_rows: list[Row] = []
        self.commands: dict[tuple[str, str], Row] = {}  # (tenant, key) -> its command_rows row
        # Idempotency records read ahead for a batch (`eventstore.CommandRecord`, or None:
        # no such key), by (tenant, key); `commands` is looked at first. Cleared with it.
        self.found: dict[tuple[str, str], Any] = {}
        # The appended rows, in the order they are written.
        self._inserts = (
            ("insert_event", self.events),
            ("insert_touch", self.touches),
            ("insert_command", self.command_rows),
        )

    def flush_balances(self) -> None:
        if self.balances:
            self.bulk.write("update_balance", self._moves())
            self.balances.clear()

    def _moves(self) -> list[Row]:
        return [(delta, seq, t, a) for (t, a), (delta, seq) in self.balances.items()]

    def _day_rows(self) -> list[Row]:
        return [(t, a, day, *figures) for (t, a, day), figures in self.days.items()]

    def flush_inserts(self) -> None:
        write = self.bulk.write
        for name, rows in self._inserts:
            if rows:
                write(name, rows)
                rows.clear()
        if self.days:
            write("upsert_day", self._day_rows())
            self.days.clear()
        self.commands.clear()
        self.found.clear()

    def flush(self) -> None:
        """Write everything coalesced so far: the inserts, the balance moves, the heads."""
        writes = [(name, rows) for name, rows in self._inserts if rows]
        if self.days:
            writes.append(("upsert_day", self._day_rows()))
        if self.balances:
            writes.append(("update_balance", self._moves()))
        if self.heads:
            heads = [(seq, h, t) for t, (seq, h) in self.heads.items()]
            writes.append(("update_head", heads))
        if writes:
            self.bulk.write_all(writes)
        self.clear()  # the records read ahead too: a transaction's, not the next one's

    def clear(self) -> None:
        """Forget what is pending and what was read ahead (after a flush, or the
        transaction rolled back)."""
        for _, rows in self._inserts:
            rows.clear()
        self.commands.clear()
        self.found.clear()
        self.balances.clear()
        self.days.clear()
        self.heads.clear()


class At(NamedTuple):
    """Where an event sits: its tenant, sequence and hash, and when it was appended.

    (A named tuple: one is made per appended event, and it costs half a frozen
    dataclass.)
    """

    tenant_id: str
    sequence: int
    hash: str
    occurred_at: str


class Rows:
    """Where projected rows go: statements on a DBAPI cursor, and the coalesced writes."""

    def __init__(self, cursor: Any, sql: dict[str, str], pending: Pending) -> None:
        self.cursor = cursor
        self.sql = sql
        self.pending = pending
        self.balances = pending.balances
        self.touches = pending.touches  # account_events rows, written in one go
        self.days = pending.days

    def run(self, name: str, params: dict[str, Any]) -> None:
        self.cursor.execute(self.sql[name], params)


def _tenant_created(e: ev.TenantCreated, at: At, out: Rows) -> None:
    out.run(
        "insert_tenant",
        _stamped(
            at, e.data, seq=at.sequence, hash=at.hash, currency=e.base_currency, tz=e.time_zone
        ),
    )


def _product_created(e: ev.ProductCreated, at: At, out: Rows) -> None:
    out.run("insert_product", {**_product_values(e, at), "ordinal": at.sequence})


def _product_updated(e: ev.ProductUpdated, at: At, out: Rows) -> None:
    out.run("update_product", _product_values(e, at))


def _product_values(e: ev.ProductCreated, at: At) -> dict[str, Any]:
    return _stamped(at, e.data, code=e.product_code, type=e.product_type, active=e.active)


def _stamped(at: At, data: Any, **values: Any) -> dict[str, Any]:
    """A row's values: the tenant, `data` as JSON text, the event's time, and `values`."""
    return {"t": at.tenant_id, "data": orjson.dumps(data).decode(), "at": at.occurred_at, **values}


def _customer_created(e: ev.CustomerCreated, at: At, out: Rows) -> None:
    out.run(
        "insert_customer",
        {
            "t": at.tenant_id,
            "c": e.customer_id,
            "e": e.email.lower(),
            "m": e.mobile,
            "r": e.external_ref,
            "data": orjson.dumps({**e.data, "createdAt": at.occurred_at}).decode(),
            "ordinal": at.sequence,
        },
    )


def _account_opened(e: ev.AccountOpened, at: At, out: Rows) -> None:
    out.run(
        "insert_account",
        {
            "tenant_id": at.tenant_id,
            "account_id": e.account_id,
            "account_type": e.account_type,
            "customer_id": e.customer_id,
            "product_code": e.product_code,
            "product_type": e.product_type,
            "currency": e.currency,
            "alias": e.alias,
            "purpose": e.purpose,
            "opened_at": at.occurred_at,
            "ordinal": at.sequence,
        },
    )


def _loan_facility_created(e: ev.LoanFacilityCreated, at: At, out: Rows) -> None:
    params = {"t": at.tenant_id, "a": e.account_id, "limit": e.facility_limit_minor}
    out.run("update_facility", {**params, "seq": at.sequence})


def _posted(e: ev.EntryPosted | ev.FundsPosted, at: At, out: Rows) -> None:
    balances, t, sequence = out.balances, at.tenant_id, at.sequence
    for account_id, delta in e.changes.items():  # (Rows.move, written out: the hot path)
        change = balances.get((t, account_id))
        if change is None:
            balances[(t, account_id)] = [delta, sequence]
        else:
            change[0] += delta
            change[1] = sequence


def _balance_updated(e: ev.AccountBalanceUpdated, at: At, out: Rows) -> None:
    # The balance moved with the entry; the account's last event is now this one.
    change = out.balances.get((at.tenant_id, e.account_id))
    if change is None:
        out.balances[(at.tenant_id, e.account_id)] = [0, at.sequence]
    else:
        change[1] = at.sequence


# Each function takes the event type it is listed under (checked below: every type has one).
PROJECTIONS: dict[type[ev.Event], Callable[[Any, At, Rows], None]] = {
    ev.TenantCreated: _tenant_created,
    ev.ProductCreated: _product_created,
    ev.ProductUpdated: _product_updated,
    ev.CustomerCreated: _customer_created,
    ev.AccountOpened: _account_opened,
    ev.LoanFacilityCreated: _loan_facility_created,
    ev.FundsPosted: _posted,
    ev.EntryPosted: _posted,
    ev.AccountBalanceUpdated: _balance_updated,
}
assert set(PROJECTIONS) == set(ev.EVENT_TYPES.values())


def project(event: ev.Event, at: At, out: Rows) -> None:
    """Write `event`'s rows: its projection, and which accounts it touched.

    Each touched account gets an `account_events` row (its running figures follow
    from the row before) and its booking day in `account_days`. The caller moves
    the tenant's chain head (`Pending.heads`) once its events are projected.
    """
    PROJECTIONS[type(event)](event, at, out)
    accounts = getattr(event, "touches", ())  # (ev.touches, without its call)
    if not accounts:
        return
    t, sequence, touches, days = at.tenant_id, at.sequence, out.touches, out.days
    changes: Any = getattr(event, "changes", None)
    if changes is None:  # not a posting: booked on the day it was appended
        day = at.occurred_at[:10]
        for account_id in accounts:
            touches.append((t, account_id, sequence, day, 0, 0, 0))
            figures = days.get((t, account_id, day))
            if figures is None:
                days[(t, account_id, day)] = [0, 1, 0, 0, sequence]
            else:
                figures[1] += 1
                figures[4] = sequence
        return
    # A posting: an entry on its booking date, an initial deposit on the day appended
    # (the booking date as-of reads use: asof.booking_date). It touches the accounts
    # it changes, the first of them leading it.
    day = event.booking_date if type(event) is ev.EntryPosted else at.occurred_at[:10]
    led = 1
    for account_id, change in changes.items():
        touches.append((t, account_id, sequence, day, change, 1, led))
        figures = days.get((t, account_id, day))
        if figures is None:
            days[(t, account_id, day)] = [change, 1, 1, led, sequence]
        else:
            figures[0] += change
            figures[1] += 1
            figures[2] += 1
            figures[3] += led
            figures[4] = sequence
        led = 0
