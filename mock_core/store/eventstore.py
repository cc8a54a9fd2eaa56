"""The append-only event store, its projections and the command log.

One `WriteTx` is one database transaction for one command: look the
idempotency key up, load the slice of state the command needs, append the
events with their hashes, update the projections, record the reply. Nothing
is written unless all of it is. SQLAlchemy Core only (no ORM): the statements
are compiled once and cached.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, bindparam, delete, insert, select, text, update

from mock_core.core.commands import Command
from mock_core.core.decide import NewEvent
from mock_core.core.evolve import product_from_data
from mock_core.core.state import Account, Customer, Tenant, TenantState
from mock_core.money import to_minor
from mock_core.store.engine import is_sqlite
from mock_core.store.hashchain import GENESIS_HASH, event_hash
from mock_core.store.schema import (
    TENANT_TABLES,
    account_events,
    accounts,
    command_log,
    customers,
    events,
    products,
    tenants,
)


@dataclass(frozen=True, slots=True)
class CommandRecord:
    command_id: str
    command_type: str
    payload_hash: str
    reply: bytes


@dataclass(frozen=True, slots=True)
class Appended:
    event_ids: list[str]
    last_sequence: int
    last_hash: str


def payload_hash(payload: Any) -> str:
    """A stable hash of a command's payload, for telling a replay from a key reuse."""
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()


_update_balance = (
    update(accounts)
    .where(accounts.c.tenant_id == bindparam("t"), accounts.c.account_id == bindparam("a"))
    .values(
        balance_minor=accounts.c.balance_minor + bindparam("delta"),
        last_sequence=bindparam("seq"),
    )
)
_update_facility = (
    update(accounts)
    .where(accounts.c.tenant_id == bindparam("t"), accounts.c.account_id == bindparam("a"))
    .values(facility_limit_minor=bindparam("limit"))
)


class WriteTx:
    """The write side of one command, inside one transaction."""

    def __init__(self, conn: Connection, tenant_id: str) -> None:
        self.conn = conn
        self.tenant_id = tenant_id
        self._head: tuple[int, str] | None = None

    def find_command(self, dedup_key: str) -> CommandRecord | None:
        row = self.conn.execute(
            select(
                command_log.c.command_id,
                command_log.c.command_type,
                command_log.c.payload_hash,
                command_log.c.reply,
            ).where(command_log.c.tenant_id == self.tenant_id, command_log.c.dedup_key == dedup_key)
        ).first()
        if row is None:
            return None
        return CommandRecord(row[0], row[1], row[2], row[3].encode())

    def load_state(self, command: Command) -> TenantState:
        """Load the slice of the tenant's state that `command` can read."""
        state = TenantState()
        row = self.conn.execute(
            select(
                tenants.c.base_currency,
                tenants.c.time_zone,
                tenants.c.data,
                tenants.c.last_sequence,
                tenants.c.last_hash,
            ).where(tenants.c.tenant_id == self.tenant_id)
        ).first()
        if row is None:
            return state
        state.tenant = Tenant(self.tenant_id, row[0], row[1], orjson.loads(row[2]))
        self._head = (row[3], row[4])
        p = command.payload
        kind = command.command_type
        if kind == "UpsertProduct":
            self._load_products(state, [p.productCode])
        elif kind == "CreateCustomer":
            self._load_customer_matches(
                state, p.person.email.lower(), p.person.mobile, p.externalRef
            )
        elif kind == "OpenAccount":
            self._load_products(state, [p.productCode])
            self._load_customer(state, p.customerId)
        elif kind == "PostEntry":
            self._load_accounts(state, list({leg.accountId for leg in p.legs}))
        return state

    def _load_products(self, state: TenantState, codes: list[str]) -> None:
        rows = self.conn.execute(
            select(products.c.data).where(
                products.c.tenant_id == self.tenant_id, products.c.product_code.in_(codes)
            )
        )
        for (data,) in rows:
            product = product_from_data(orjson.loads(data))
            state.products[product.code] = product

    def _load_customer(self, state: TenantState, customer_id: str) -> None:
        rows = self.conn.execute(
            select(
                customers.c.customer_id,
                customers.c.email,
                customers.c.mobile,
                customers.c.external_ref,
            ).where(customers.c.tenant_id == self.tenant_id, customers.c.customer_id == customer_id)
        )
        self._add_customers(state, rows)

    def _load_customer_matches(
        self, state: TenantState, email: str, mobile: str, external_ref: str | None
    ) -> None:
        match = (customers.c.email == email) | (customers.c.mobile == mobile)
        if external_ref is not None:
            match = match | (customers.c.external_ref == external_ref)
        rows = self.conn.execute(
            select(
                customers.c.customer_id,
                customers.c.email,
                customers.c.mobile,
                customers.c.external_ref,
            ).where(customers.c.tenant_id == self.tenant_id, match)
        )
        self._add_customers(state, rows)

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
        rows = self.conn.execute(
            select(
                accounts.c.account_id,
                accounts.c.account_type,
                accounts.c.currency,
                accounts.c.balance_minor,
                accounts.c.customer_id,
                accounts.c.product_code,
                accounts.c.product_type,
                accounts.c.facility_limit_minor,
            ).where(accounts.c.tenant_id == self.tenant_id, accounts.c.account_id.in_(account_ids))
        ).all()
        codes = set()
        for row in rows:
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
    ) -> Appended:
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
        self.conn.execute(insert(events), event_rows)
        if touch_rows:
            self.conn.execute(insert(account_events), touch_rows)
        self._project(new_events, first_sequence, occurred_at)
        if self._head is None:
            tenant_payload = new_events[0].payload
            self.conn.execute(
                insert(tenants),
                {
                    "tenant_id": self.tenant_id,
                    "base_currency": tenant_payload["baseCurrency"],
                    "time_zone": tenant_payload["timeZone"],
                    "data": orjson.dumps(tenant_payload).decode(),
                    "created_at": occurred_at,
                    "last_sequence": sequence,
                    "last_hash": prev_hash,
                },
            )
        else:
            self.conn.execute(
                update(tenants)
                .where(tenants.c.tenant_id == self.tenant_id)
                .values(last_sequence=sequence, last_hash=prev_hash)
            )
        self._head = (sequence, prev_hash)
        return Appended(event_ids, sequence, prev_hash)

    def _project(self, new_events: list[NewEvent], first_sequence: int, at: str) -> None:
        t = self.tenant_id
        balance_changes: dict[str, list[int]] = {}  # account -> [delta, last sequence]
        for offset, new in enumerate(new_events):
            seq = first_sequence + offset
            p = new.payload
            kind = new.event_type
            if kind == "AccountOpened":
                self.conn.execute(
                    insert(accounts),
                    {
                        "tenant_id": t,
                        "account_id": p["accountId"],
                        "account_type": p["accountType"],
                        "customer_id": p["customerId"],
                        "product_code": p["productCode"],
                        "product_type": p["productType"],
                        "currency": p["currency"],
                        "balance_minor": 0,
                        "facility_limit_minor": None,
                        "alias": p["accountAlias"],
                        "purpose": p["accountPurpose"],
                        "opened_at": at,
                        "ordinal": seq,
                        "last_sequence": seq,
                    },
                )
            elif kind in ("EntryPosted", "FundsPosted"):
                for leg in p["legs"]:
                    minor = to_minor(leg["amount"])
                    delta = minor if leg["direction"] == "DEBIT" else -minor
                    change = balance_changes.setdefault(leg["accountId"], [0, seq])
                    change[0] += delta
                    change[1] = seq
            elif kind == "AccountBalanceUpdated":
                balance_changes[p["accountId"]][1] = seq
            elif kind == "LoanFacilityCreated":
                self.conn.execute(
                    _update_facility,
                    {"t": t, "a": p["accountId"], "limit": to_minor(p["facilityLimit"])},
                )
            elif kind in ("ProductCreated", "ProductUpdated"):
                self._project_product(kind, p, seq, at)
            elif kind == "CustomerCreated":
                person = p["person"]
                self.conn.execute(
                    insert(customers),
                    {
                        "tenant_id": t,
                        "customer_id": p["customerId"],
                        "email": person["email"].lower(),
                        "mobile": person["mobile"],
                        "external_ref": p.get("externalRef"),
                        "data": orjson.dumps({**p, "createdAt": at}).decode(),
                        "ordinal": seq,
                    },
                )
        if balance_changes:
            self.conn.execute(
                _update_balance,
                [
                    {"t": t, "a": account_id, "delta": delta, "seq": seq}
                    for account_id, (delta, seq) in balance_changes.items()
                ],
            )

    def _project_product(self, kind: str, p: dict[str, Any], seq: int, at: str) -> None:
        values = {
            "product_type": p["productType"],
            "active": bool(p.get("active", True)),
            "data": orjson.dumps(p).decode(),
            "updated_at": at,
        }
        if kind == "ProductCreated":
            self.conn.execute(
                insert(products),
                {
                    "tenant_id": self.tenant_id,
                    "product_code": p["productCode"],
                    "ordinal": seq,
                    "created_at": at,
                    **values,
                },
            )
        else:
            self.conn.execute(
                update(products)
                .where(
                    products.c.tenant_id == self.tenant_id,
                    products.c.product_code == p["productCode"],
                )
                .values(**values)
            )

    def record_command(
        self, dedup_key: str, command: Command, payload_digest: str, reply: bytes, at: str
    ) -> None:
        self.conn.execute(
            insert(command_log),
            {
                "tenant_id": self.tenant_id,
                "dedup_key": dedup_key,
                "command_id": command.command_id,
                "command_type": command.command_type,
                "payload_hash": payload_digest,
                "reply": reply.decode(),
                "created_at": at,
            },
        )


class Store:
    """The database: write transactions per tenant, read connections, admin resets."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sqlite = is_sqlite(str(engine.url))

    @contextmanager
    def write(self, tenant_id: str) -> Iterator[WriteTx]:
        """One write transaction for `tenant_id`, holding the tenant's write lock."""
        with self.engine.connect().execution_options(write=True) as conn, conn.begin():
            if not self.sqlite:
                # One tenant's commands apply in one total order across processes.
                conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:t))"), {"t": tenant_id})
            yield WriteTx(conn, tenant_id)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    def reset(self, tenant_id: str | None = None) -> None:
        """Delete one tenant's rows, or every tenant's (admin only)."""
        with self.engine.connect().execution_options(write=True) as conn, conn.begin():
            for table in TENANT_TABLES:
                statement = delete(table)
                if tenant_id is not None:
                    statement = statement.where(table.c.tenant_id == tenant_id)
                conn.execute(statement)
