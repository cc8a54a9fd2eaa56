"""The append-only event store, its projections and the command log.

One `WriteTx` is the write side of one command, inside its own transaction
(or its own savepoint of a group-commit transaction): look the
idempotency key up, load the slice of state the command needs, append the
events with their hashes, update the projections, record the reply. Nothing
is written unless all of it is. The write path runs fixed SQL on the DBAPI
cursor (no Core expressions per command, no ORM); reads are in `queries`.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, delete, text

from mock_core.core.commands import Command
from mock_core.core.decide import NewEvent
from mock_core.core.evolve import product_from_data
from mock_core.core.state import Account, Customer, Product, Tenant, TenantState
from mock_core.money import to_minor
from mock_core.store.engine import is_sqlite
from mock_core.store.hashchain import GENESIS_HASH, canonical_json, chain_hash, with_hash
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
    "pg_read_start": "SELECT set_config('app.current_tenant', :t, true)",
    "pg_write_start": "SELECT pg_advisory_xact_lock(hashtext(:t)), "
    "set_config('app.current_tenant', :t, true)",
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


@dataclass(slots=True)
class TenantMemory:
    """What the single SQLite writer knows of one tenant without asking the database."""

    tenant: Tenant
    head: tuple[int, str]  # the chain head: last sequence and hash
    accounts: dict[str, Account] = field(default_factory=dict)
    products: dict[str, Product] = field(default_factory=dict)


class WriterMemory:
    """The write side's memory of the state it wrote (SQLite, one writer process).

    PostgreSQL may have several writer processes, so there the write path reads
    every command's state from the database. SQLite has one writer, and this
    memory spares a command the chain-head, account and product reads. It is
    kept true by three rules: it changes only with writes of a transaction that
    then commits (a rolled-back transaction clears it); it is dropped when the
    database changed under it (`PRAGMA data_version` on the writing connection,
    read inside the write lock, moved since our last commit: another process or
    connection wrote); and the admin resets clear it.
    """

    def __init__(self) -> None:
        self.tenants: dict[str, TenantMemory] = {}
        self.token: int | None = None  # the writer connection's data_version at our last commit

    def clear(self) -> None:
        self.tenants.clear()
        self.token = None


class Pending:
    """Writes of a transaction that are coalesced and issued once, before the commit.

    The chain head of each tenant and the balance of each account move with every
    posting; a group-commit batch writes each once instead of once per command.
    """

    def __init__(self) -> None:
        self.heads: dict[str, tuple[int, str]] = {}
        self.balances: dict[tuple[str, str], list[int]] = {}  # -> [delta, last sequence]

    def flush(self, cursor: Any, sql: dict[str, str]) -> None:
        if self.balances:
            cursor.executemany(
                sql["update_balance"],
                [
                    {"t": t, "a": a, "delta": delta, "seq": seq}
                    for (t, a), (delta, seq) in self.balances.items()
                ],
            )
            self.balances.clear()
        if self.heads:
            cursor.executemany(
                sql["update_head"],
                [{"t": t, "seq": seq, "hash": h} for t, (seq, h) in self.heads.items()],
            )
            self.heads.clear()


class WriteBatch:
    """One write transaction, shared by the commands of a group-commit batch."""

    def __init__(self, cursor: Any, sql: dict[str, str], memory: WriterMemory | None) -> None:
        self.cursor = cursor
        self.sql = sql
        self.memory = memory
        self.pending = Pending()

    def tx(self, tenant_id: str) -> WriteTx:
        """The write side of one command of this transaction."""
        return WriteTx(self.cursor, tenant_id, self.sql, self.pending, self.memory)


class WriteTx:
    """The write side of one command, inside one transaction.

    This is the hot path, so it talks to the DBAPI cursor SQLAlchemy's
    connection wraps, with fixed SQL text: building Core expressions per
    command cost more CPU than the database work itself.
    """

    def __init__(
        self,
        cursor: Any,
        tenant_id: str,
        sql: dict[str, str],
        pending: Pending,
        memory: WriterMemory | None,
    ) -> None:
        self.cursor = cursor
        self.sql = sql
        self.tenant_id = tenant_id
        self.pending = pending
        self.memory = memory
        self.wrote = False  # whether this command has written anything yet
        self._head: tuple[int, str] | None = None
        self._known: TenantMemory | None = None

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
        known = self.memory.tenants.get(self.tenant_id) if self.memory is not None else None
        if known is None:
            row = self._run("head", {"t": self.tenant_id}).fetchone()
            if row is None:
                return state
            tenant = Tenant(self.tenant_id, row[0], row[1], orjson.loads(row[2]))
            head = self.pending.heads.get(self.tenant_id, (row[3], row[4]))
            known = TenantMemory(tenant, head)
            if self.memory is not None:
                self.memory.tenants[self.tenant_id] = known
        self._known = known
        state.tenant = known.tenant
        self._head = known.head
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
        known = self._known
        assert known is not None
        missing = [code for code in codes if code not in known.products]
        if missing:
            params: dict[str, Any] = {"t": self.tenant_id}
            in_list = self._in_list(missing, params)
            for (data,) in self._run("products", params, in_list=in_list).fetchall():
                product = product_from_data(orjson.loads(data))
                known.products[product.code] = product
        for code in codes:
            found = known.products.get(code)
            if found is not None:
                state.products[code] = found

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
        known = self._known
        assert known is not None
        missing = [a for a in account_ids if a not in known.accounts]
        if missing:
            params: dict[str, Any] = {"t": self.tenant_id}
            in_list = self._in_list(missing, params)
            balances = self.pending.balances
            for row in self._run("accounts", params, in_list=in_list).fetchall():
                account = Account(*row)
                # Postings of this transaction not yet written to the row.
                change = balances.get((self.tenant_id, account.account_id))
                if change is not None:
                    account.balance_minor += change[0]
                known.accounts[account.account_id] = account
        codes = set()
        for account_id in account_ids:
            found = known.accounts.get(account_id)
            if found is not None:
                state.accounts[account_id] = found
                if found.product_code is not None:
                    codes.add(found.product_code)
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
        self.wrote = True
        sequence, prev_hash = self._head if self._head is not None else (0, GENESIS_HASH)
        first_sequence = sequence + 1
        event_rows: list[dict[str, Any]] = []
        touch_rows: list[dict[str, Any]] = []
        t = self.tenant_id
        for new, event_id in zip(new_events, event_ids, strict=True):
            sequence += 1
            envelope: dict[str, Any] = {
                "eventId": event_id,
                "eventType": new.event_type,
                "tenantId": t,
                "entityId": new.entity_id,
                "sequence": sequence,
                "payload": new.payload,
                "occurredAt": occurred_at,
                "causationId": causation_id,
                "correlationId": correlation_id,
                "prevHash": prev_hash,
            }
            canonical = (
                orjson.dumps(envelope, option=orjson.OPT_SORT_KEYS)
                if new.plain
                else canonical_json(envelope)
            )
            prev_hash = chain_hash(prev_hash, canonical)
            event_rows.append(
                {
                    "tenant_id": t,
                    "sequence": sequence,
                    "event_id": event_id,
                    "event_type": new.event_type,
                    "entity_id": new.entity_id,
                    "causation_id": causation_id,
                    "envelope": with_hash(canonical, prev_hash),
                }
            )
            touch_rows.extend(
                {"tenant_id": t, "account_id": a, "sequence": sequence} for a in new.accounts
            )
        self.cursor.executemany(self.sql["insert_event"], event_rows)
        if touch_rows:
            self.cursor.executemany(self.sql["insert_touch"], touch_rows)
        self._project(new_events, first_sequence, occurred_at)
        if self._head is None:
            tenant_payload = new_events[0].payload
            self._run(
                "insert_tenant",
                {
                    "t": t,
                    "seq": sequence,
                    "hash": prev_hash,
                    "currency": tenant_payload["baseCurrency"],
                    "tz": tenant_payload["timeZone"],
                    "data": orjson.dumps(tenant_payload).decode(),
                    "at": occurred_at,
                },
            )
            if self.memory is not None:
                tenant = Tenant(
                    t, tenant_payload["baseCurrency"], tenant_payload["timeZone"], tenant_payload
                )
                self.memory.tenants[t] = TenantMemory(tenant, (sequence, prev_hash))
        else:
            self.pending.heads[t] = (sequence, prev_hash)
            if self._known is not None:
                self._known.head = (sequence, prev_hash)
        self._head = (sequence, prev_hash)

    def _project(self, new_events: list[NewEvent], first_sequence: int, at: str) -> None:
        t = self.tenant_id
        balances = self.pending.balances
        known = self._known
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
                    change = balances.get((t, account_id))
                    if change is None:
                        balances[(t, account_id)] = [delta, seq]
                    else:
                        change[0] += delta
                        change[1] = seq
                    if known is not None and account_id in known.accounts:
                        known.accounts[account_id].balance_minor += delta
            elif kind == "AccountBalanceUpdated":
                balances[(t, p["accountId"])][1] = seq
            elif kind == "LoanFacilityCreated":
                limit = to_minor(p["facilityLimit"])
                self._run(
                    "update_facility",
                    {"t": t, "a": p["accountId"], "limit": limit, "seq": seq},
                )
                if known is not None and p["accountId"] in known.accounts:
                    known.accounts[p["accountId"]].facility_limit_minor = limit
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
                if known is not None:
                    known.products.pop(p["productCode"], None)  # read again when next needed
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

    def record_command(
        self, dedup_key: str, command: Command, payload_digest: str, reply: bytes, at: str
    ) -> None:
        self.wrote = True
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


class WriteTransaction:
    """An open write transaction (`Store.begin`): its commands' writes, then commit or rollback.

    The coalesced writes are issued before the commit. If anything fails, it all
    rolls back and the writer's memory is dropped with it. On SQLite it runs on
    the store's writer connection (`sqlite`); on PostgreSQL on a pooled
    SQLAlchemy connection (`conn`, `trans`) in pipeline mode.
    """

    def __init__(
        self,
        store: Store,
        batch: WriteBatch,
        *,
        sqlite: Any = None,
        token: int | None = None,
        conn: Connection | None = None,
        trans: Any = None,
        pipeline: contextlib.ExitStack | None = None,
    ) -> None:
        self.store = store
        self.batch = batch
        self.sqlite = sqlite
        self.token = token
        self.conn = conn
        self.trans = trans
        self.pipeline = pipeline

    def flush(self) -> None:
        """Issue the coalesced writes (the commit does it too; call it to keep that cheap)."""
        self.batch.pending.flush(self.batch.cursor, self.batch.sql)

    def commit(self) -> None:
        """Make the transaction durable (SQLite: synced to disk) and release the write lock."""
        try:
            self.flush()
            if self.sqlite is not None:
                self.sqlite.execute("COMMIT")
            else:
                if self.pipeline is not None:
                    pipeline, self.pipeline = self.pipeline, None
                    pipeline.close()  # send what is queued and wait: errors surface here
                self.trans.commit()
        except BaseException:
            self.rollback()
            raise
        if self.store.memory is not None:
            self.store.memory.token = self.token
        self._end()

    def rollback(self) -> None:
        try:
            if self.store.memory is not None:
                self.store.memory.clear()
            if self.sqlite is not None:
                if self.sqlite.in_transaction:
                    self.sqlite.execute("ROLLBACK")
                return
            if self.pipeline is not None:
                pipeline, self.pipeline = self.pipeline, None
                with contextlib.suppress(Exception):  # the transaction is abandoned anyway
                    pipeline.close()
            if self.trans.is_active:
                self.trans.rollback()
        finally:
            self._end()

    def _end(self) -> None:
        try:
            if self.conn is not None:
                self.conn.close()
        finally:
            self.store._write_lock.release()


class Store:
    """The database: write transactions per tenant, read connections, admin resets."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sqlite = is_sqlite(str(engine.url))
        self.sql = _NAMED if self.sqlite else dialect_sql("pyformat")
        # SQLite has one writer (this process), which may remember what it wrote.
        self.memory = WriterMemory() if self.sqlite else None
        # One write transaction at a time per process (in-process clients may use several
        # threads); a group commit's transaction may end on the writer thread.
        self._write_lock = threading.Lock()
        self._writer: Any = None  # SQLite: the writer's own DBAPI connection (pool fairy)

    def close(self) -> None:
        """Give the writer connection back and close the pooled connections."""
        with self._write_lock:
            writer, self._writer = self._writer, None
            if writer is not None:
                writer.close()
        self.engine.dispose()

    @contextmanager
    def write(self, tenant_id: str | None = None) -> Iterator[WriteBatch]:
        """One write transaction, committed when the block ends (see `begin`)."""
        txn = self.begin(tenant_id)
        try:
            yield txn.batch
        except BaseException:
            txn.rollback()
            raise
        txn.commit()

    def begin(self, tenant_id: str | None = None) -> WriteTransaction:
        """Open a write transaction: for `tenant_id`, or for a batch of commands (SQLite).

        On PostgreSQL the transaction holds `tenant_id`'s advisory lock. On SQLite,
        BEGIN IMMEDIATE takes the database's write lock, and a batch of commands
        may share the transaction (group commit). The caller must end it with
        `commit` or `rollback`, which may run on another thread.
        """
        self._write_lock.acquire()
        try:
            if self.memory is not None:
                return self._begin_sqlite()
            return self._begin_postgres(tenant_id)
        except BaseException:
            self._write_lock.release()
            raise

    def _begin_sqlite(self) -> WriteTransaction:
        # SQLite has one writer: this process, on one connection of its own (taken
        # from the pool once and kept), so a transaction costs no pool check-out.
        if self._writer is None:
            self._writer = self.engine.raw_connection()
        sqlite = self._writer.driver_connection
        cursor = sqlite.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        try:
            token = self._memory_token(cursor)
        except BaseException:
            sqlite.execute("ROLLBACK")
            raise
        batch = WriteBatch(cursor, self.sql, self.memory)
        return WriteTransaction(self, batch, sqlite=sqlite, token=token)

    def _begin_postgres(self, tenant_id: str | None) -> WriteTransaction:
        assert tenant_id is not None, "PostgreSQL writes one tenant at a time"
        conn = self.engine.connect().execution_options(write=True)
        try:
            trans = conn.begin()
            driver = conn.connection.driver_connection
            cursor = driver.cursor()  # type: ignore[union-attr]
            # One tenant's commands apply in one total order across processes, and
            # row-level security lets this transaction see only this tenant.
            cursor.execute(self.sql["pg_write_start"], {"t": tenant_id})
            # Pipeline mode: writes are queued and sent together; only reads (whose
            # rows the command needs) wait for a round trip.
            pipeline = contextlib.ExitStack()
            pipeline.enter_context(driver.pipeline())  # type: ignore[union-attr]
        except BaseException:
            conn.close()
            raise
        batch = WriteBatch(cursor, self.sql, None)
        return WriteTransaction(self, batch, conn=conn, trans=trans, pipeline=pipeline)

    def _memory_token(self, cursor: Any) -> int:
        """Drop the writer's memory if the database changed since its last commit.

        `PRAGMA data_version` moves when another connection (or process) commits;
        it is read inside BEGIN IMMEDIATE, so nobody can commit between this read
        and our own commit.
        """
        assert self.memory is not None
        version: int = cursor.execute("PRAGMA data_version").fetchone()[0]
        if self.memory.token != version:
            self.memory.clear()
        return version

    @contextmanager
    def read(self, tenant_id: str) -> Iterator[Connection]:
        """A read transaction scoped to `tenant_id` (row-level security on PostgreSQL)."""
        with self.engine.connect() as conn:
            if not self.sqlite:
                # An id holding U+0000 names no tenant; "" matches no row either.
                scope = tenant_id if "\x00" not in tenant_id else ""
                cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
                cursor.execute(self.sql["pg_read_start"], {"t": scope})
            yield conn

    def reset(self, tenant_id: str | None = None) -> None:
        """Delete one tenant's rows, or every tenant's (admin only)."""
        if tenant_id is not None and "\x00" in tenant_id:
            return  # no such tenant can exist
        with (
            self._write_lock,
            self.engine.connect().execution_options(write=True) as conn,
            conn.begin(),
        ):
            if self.memory is not None:
                self.memory.clear()
            if not self.sqlite:
                # Admin work runs as the connecting user, outside row-level security.
                conn.execute(text("SET LOCAL ROLE NONE"))
            for table in TENANT_TABLES:
                statement = delete(table)
                if tenant_id is not None:
                    statement = statement.where(table.c.tenant_id == tenant_id)
                conn.execute(statement)
