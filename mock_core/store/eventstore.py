"""The append-only event store, its projections and the command log.

One `WriteTx` is the write side of one command, inside its own transaction
(or its own savepoint of a group-commit transaction): look the
idempotency key up, load the slice of state the command needs, append the
events with their hashes, update the projections, record the reply. Nothing
is written unless all of it is. The write path runs fixed SQL on the DBAPI
cursor (no Core expressions per command, no ORM); reads are in `queries`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, delete, text

from mock_core.core.commands import Command
from mock_core.core.decide import NewEvent
from mock_core.core.evolve import product_from_data
from mock_core.core.state import Account, Customer, Tenant, TenantState
from mock_core.money import to_minor
from mock_core.store.engine import is_sqlite
from mock_core.store.hashchain import GENESIS_HASH, event_hash
from mock_core.store.schema import (
    TENANT_TABLES,
)


@dataclass(frozen=True, slots=True)
class CommandRecord:
    command_id: str
    command_type: str
    payload_hash: str
    reply: bytes


def payload_hash(payload: Any) -> str:
    """A stable hash of a command's payload, for telling a replay from a key reuse."""
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()


_SQL = {
    "find_command": "SELECT command_id, command_type, payload_hash, reply FROM command_log "
    "WHERE tenant_id = :t AND dedup_key = :k",
    "head": "SELECT base_currency, time_zone, data, last_sequence, last_hash FROM tenants "
    "WHERE tenant_id = :t",
    "products": "SELECT data FROM products WHERE tenant_id = :t AND product_code IN ({in_list})",
    "customer": "SELECT customer_id, email, mobile, external_ref FROM customers "
    "WHERE tenant_id = :t AND customer_id = :c",
    "customer_matches": "SELECT customer_id, email, mobile, external_ref FROM customers "
    "WHERE tenant_id = :t AND (email = :e OR mobile = :m OR external_ref = :r)",
    "accounts": "SELECT account_id, account_type, currency, balance_minor, customer_id, "
    "product_code, product_type, facility_limit_minor FROM accounts "
    "WHERE tenant_id = :t AND account_id IN ({in_list})",
    "insert_event": "INSERT INTO events (tenant_id, sequence, event_id, event_type, entity_id, "
    "causation_id, envelope) VALUES (:tenant_id, :sequence, :event_id, :event_type, :entity_id, "
    ":causation_id, :envelope)",
    "insert_touch": "INSERT INTO account_events (tenant_id, account_id, sequence) "
    "VALUES (:tenant_id, :account_id, :sequence)",
    "insert_account": "INSERT INTO accounts (tenant_id, account_id, account_type, customer_id, "
    "product_code, product_type, currency, balance_minor, facility_limit_minor, alias, purpose, "
    "opened_at, ordinal, last_sequence) VALUES (:tenant_id, :account_id, :account_type, "
    ":customer_id, :product_code, :product_type, :currency, 0, NULL, :alias, :purpose, "
    ":opened_at, :ordinal, :ordinal)",
    "update_balance": "UPDATE accounts SET balance_minor = balance_minor + :delta, "
    "last_sequence = :seq WHERE tenant_id = :t AND account_id = :a",
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
    "update_head": "UPDATE tenants SET last_sequence = :seq, last_hash = :hash "
    "WHERE tenant_id = :t",
    "insert_command": "INSERT INTO command_log (tenant_id, dedup_key, command_id, command_type, "
    "payload_hash, reply, created_at) VALUES (:t, :k, :id, :type, :hash, :reply, :at)",
}
_PYFORMAT = re.compile(r":(\w+)")


def dialect_sql(paramstyle: str) -> dict[str, str]:
    """The write path's statements in the driver's own parameter style."""
    if paramstyle == "named":
        return dict(_SQL)
    assert paramstyle == "pyformat", paramstyle
    return {name: _PYFORMAT.sub(r"%(\1)s", sql) for name, sql in _SQL.items()}


class WriteTx:
    """The write side of one command, inside one transaction.

    This is the hot path, so it talks to the DBAPI cursor SQLAlchemy's
    connection wraps, with fixed SQL text: building Core expressions per
    command cost more CPU than the database work itself.
    """

    def __init__(self, conn: Connection, tenant_id: str, sql: dict[str, str]) -> None:
        self.conn = conn
        self.cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        self.sql = sql
        self.tenant_id = tenant_id
        self._head: tuple[int, str] | None = None

    def _run(self, name: str, params: dict[str, Any], **fmt: str) -> Any:
        sql = self.sql[name].format(**fmt) if fmt else self.sql[name]
        self.cursor.execute(sql, params)
        return self.cursor

    def _in_list(self, values: list[str], params: dict[str, Any]) -> str:
        """Bind `values` as v0, v1, ... and return the placeholders for an IN (...)."""
        for index, value in enumerate(values):
            params[f"v{index}"] = value
        if self.sql is _NAMED:
            return ", ".join(f":v{i}" for i in range(len(values)))
        return ", ".join(f"%(v{i})s" for i in range(len(values)))

    def find_command(self, dedup_key: str) -> CommandRecord | None:
        row = self._run("find_command", {"t": self.tenant_id, "k": dedup_key}).fetchone()
        if row is None:
            return None
        return CommandRecord(row[0], row[1], row[2], row[3].encode())

    def load_state(self, command: Command) -> TenantState:
        """Load the slice of the tenant's state that `command` can read."""
        state = TenantState()
        row = self._run("head", {"t": self.tenant_id}).fetchone()
        if row is None:
            return state
        state.tenant = Tenant(self.tenant_id, row[0], row[1], orjson.loads(row[2]))
        self._head = (row[3], row[4])
        p = command.payload
        kind = command.command_type
        if kind == "UpsertProduct":
            self._load_products(state, [p.productCode])
        elif kind == "CreateCustomer":
            rows = self._run(
                "customer_matches",
                {
                    "t": self.tenant_id,
                    "e": p.person.email.lower(),
                    "m": p.person.mobile,
                    "r": p.externalRef,
                },
            ).fetchall()
            self._add_customers(state, rows)
        elif kind == "OpenAccount":
            self._load_products(state, [p.productCode])
            if "\x00" not in p.customerId:  # such an id cannot exist
                rows = self._run("customer", {"t": self.tenant_id, "c": p.customerId})
                self._add_customers(state, rows.fetchall())
        elif kind == "PostEntry":
            ids = dict.fromkeys(leg.accountId for leg in p.legs if "\x00" not in leg.accountId)
            self._load_accounts(state, list(ids))
        return state

    def _load_products(self, state: TenantState, codes: list[str]) -> None:
        params: dict[str, Any] = {"t": self.tenant_id}
        in_list = self._in_list(codes, params)
        for (data,) in self._run("products", params, in_list=in_list).fetchall():
            product = product_from_data(orjson.loads(data))
            state.products[product.code] = product

    @staticmethod
    def _add_customers(state: TenantState, rows: Any) -> None:
        for customer_id, email, mobile, external_ref in rows:
            # The date of birth is not needed by any rule about existing customers.
            customer = Customer(customer_id, email, mobile, external_ref, date.min)
            state.customers[customer_id] = customer
            state.emails[email] = customer_id
            state.mobiles[mobile] = customer_id
            if external_ref is not None:
                state.external_refs[external_ref] = customer_id

    def _load_accounts(self, state: TenantState, account_ids: list[str]) -> None:
        params: dict[str, Any] = {"t": self.tenant_id}
        in_list = self._in_list(account_ids, params)
        codes = set()
        for row in self._run("accounts", params, in_list=in_list).fetchall():
            account = Account(*row)
            state.accounts[account.account_id] = account
            if account.product_code is not None:
                codes.add(account.product_code)
        if codes:
            self._load_products(state, sorted(codes))

    def append(
        self,
        new_events: list[NewEvent],
        *,
        causation_id: str,
        correlation_id: str,
        occurred_at: str,
        event_ids: list[str],
    ) -> None:
        """Append `new_events` to the tenant's chain and update the projections."""
        sequence, prev_hash = self._head if self._head is not None else (0, GENESIS_HASH)
        first_sequence = sequence + 1
        event_rows: list[dict[str, Any]] = []
        touch_rows: list[dict[str, Any]] = []
        for new, event_id in zip(new_events, event_ids, strict=True):
            sequence += 1
            envelope: dict[str, Any] = {
                "eventId": event_id,
                "eventType": new.event_type,
                "tenantId": self.tenant_id,
                "entityId": new.entity_id,
                "sequence": sequence,
                "payload": new.payload,
                "occurredAt": occurred_at,
                "causationId": causation_id,
                "correlationId": correlation_id,
                "prevHash": prev_hash,
            }
            prev_hash = event_hash(prev_hash, envelope)
            envelope["hash"] = prev_hash
            event_rows.append(
                {
                    "tenant_id": self.tenant_id,
                    "sequence": sequence,
                    "event_id": event_id,
                    "event_type": new.event_type,
                    "entity_id": new.entity_id,
                    "causation_id": causation_id,
                    "envelope": orjson.dumps(envelope).decode(),
                }
            )
            touch_rows.extend(
                {"tenant_id": self.tenant_id, "account_id": a, "sequence": sequence}
                for a in new.accounts
            )
        self.cursor.executemany(self.sql["insert_event"], event_rows)
        if touch_rows:
            self.cursor.executemany(self.sql["insert_touch"], touch_rows)
        self._project(new_events, first_sequence, occurred_at)
        head = {"t": self.tenant_id, "seq": sequence, "hash": prev_hash}
        if self._head is None:
            tenant_payload = new_events[0].payload
            self._run(
                "insert_tenant",
                {
                    **head,
                    "currency": tenant_payload["baseCurrency"],
                    "tz": tenant_payload["timeZone"],
                    "data": orjson.dumps(tenant_payload).decode(),
                    "at": occurred_at,
                },
            )
        else:
            self._run("update_head", head)
        self._head = (sequence, prev_hash)

    def _project(self, new_events: list[NewEvent], first_sequence: int, at: str) -> None:
        t = self.tenant_id
        balance_changes: dict[str, list[int]] = {}  # account -> [delta, last sequence]
        for offset, new in enumerate(new_events):
            seq = first_sequence + offset
            p = new.payload
            kind = new.event_type
            if kind == "AccountOpened":
                self._run(
                    "insert_account",
                    {
                        "tenant_id": t,
                        "account_id": p["accountId"],
                        "account_type": p["accountType"],
                        "customer_id": p["customerId"],
                        "product_code": p["productCode"],
                        "product_type": p["productType"],
                        "currency": p["currency"],
                        "alias": p["accountAlias"],
                        "purpose": p["accountPurpose"],
                        "opened_at": at,
                        "ordinal": seq,
                    },
                )
            elif kind in ("EntryPosted", "FundsPosted"):
                assert new.deltas, f"{kind} without deltas"
                for account_id, delta in new.deltas:
                    change = balance_changes.setdefault(account_id, [0, seq])
                    change[0] += delta
                    change[1] = seq
            elif kind == "AccountBalanceUpdated":
                balance_changes[p["accountId"]][1] = seq
            elif kind == "LoanFacilityCreated":
                self._run(
                    "update_facility",
                    {
                        "t": t,
                        "a": p["accountId"],
                        "limit": to_minor(p["facilityLimit"]),
                        "seq": seq,
                    },
                )
            elif kind in ("ProductCreated", "ProductUpdated"):
                values = {
                    "t": t,
                    "code": p["productCode"],
                    "type": p["productType"],
                    "active": bool(p.get("active", True)),
                    "data": orjson.dumps(p).decode(),
                    "at": at,
                }
                if kind == "ProductCreated":
                    self._run("insert_product", {**values, "ordinal": seq})
                else:
                    self._run("update_product", values)
            elif kind == "CustomerCreated":
                person = p["person"]
                self._run(
                    "insert_customer",
                    {
                        "t": t,
                        "c": p["customerId"],
                        "e": person["email"].lower(),
                        "m": person["mobile"],
                        "r": p.get("externalRef"),
                        "data": orjson.dumps({**p, "createdAt": at}).decode(),
                        "ordinal": seq,
                    },
                )
        if balance_changes:
            self.cursor.executemany(
                self.sql["update_balance"],
                [
                    {"t": t, "a": account_id, "delta": delta, "seq": seq}
                    for account_id, (delta, seq) in balance_changes.items()
                ],
            )

    def record_command(
        self, dedup_key: str, command: Command, payload_digest: str, reply: bytes, at: str
    ) -> None:
        self._run(
            "insert_command",
            {
                "t": self.tenant_id,
                "k": dedup_key,
                "id": command.command_id,
                "type": command.command_type,
                "hash": payload_digest,
                "reply": reply.decode(),
                "at": at,
            },
        )


_NAMED = dialect_sql("named")


_PG_WRITE_START = text(
    "SELECT pg_advisory_xact_lock(hashtext(:t)), set_config('app.current_tenant', :t, true)"
)
_PG_READ_START = text("SELECT set_config('app.current_tenant', :t, true)")


class Store:
    """The database: write transactions per tenant, read connections, admin resets."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sqlite = is_sqlite(str(engine.url))
        self.sql = _NAMED if self.sqlite else dialect_sql("pyformat")

    @contextmanager
    def write(self, tenant_id: str) -> Iterator[WriteTx]:
        """One write transaction for `tenant_id`, holding the tenant's write lock."""
        with self.engine.connect().execution_options(write=True) as conn, conn.begin():
            if not self.sqlite:
                # One tenant's commands apply in one total order across processes,
                # and row-level security lets this transaction see only this tenant.
                conn.execute(_PG_WRITE_START, {"t": tenant_id})
            yield WriteTx(conn, tenant_id, self.sql)

    @contextmanager
    def write_batch(self) -> Iterator[Connection]:
        """One write transaction for a batch of commands (SQLite group commit)."""
        assert self.sqlite, "batches share one transaction; PostgreSQL locks per tenant"
        with self.engine.connect().execution_options(write=True) as conn, conn.begin():
            yield conn

    def tx(self, conn: Connection, tenant_id: str) -> WriteTx:
        """The write side of one command inside the batch transaction `conn`."""
        return WriteTx(conn, tenant_id, self.sql)

    @contextmanager
    def read(self, tenant_id: str) -> Iterator[Connection]:
        """A read transaction scoped to `tenant_id` (row-level security on PostgreSQL)."""
        with self.engine.connect() as conn:
            if not self.sqlite:
                # An id holding U+0000 names no tenant; "" matches no row either.
                scope = tenant_id if "\x00" not in tenant_id else ""
                conn.execute(_PG_READ_START, {"t": scope})
            yield conn

    def reset(self, tenant_id: str | None = None) -> None:
        """Delete one tenant's rows, or every tenant's (admin only)."""
        if tenant_id is not None and "\x00" in tenant_id:
            return  # no such tenant can exist
        with self.engine.connect().execution_options(write=True) as conn, conn.begin():
            if not self.sqlite:
                # Admin work runs as the connecting user, outside row-level security.
                conn.execute(text("SET LOCAL ROLE NONE"))
            for table in TENANT_TABLES:
                statement = delete(table)
                if tenant_id is not None:
                    statement = statement.where(table.c.tenant_id == tenant_id)
                conn.execute(statement)
