"""The write side shared by both backends: the writer protocol, and one command's writes.

`Store` is what the gateway writes through; `store/sqlite.py` and
`store/postgres.py` each implement it for one backend (transactions, locking,
reads). One `WriteTx` is the write side of one command inside a transaction
that a batch of commands may share: look the idempotency key up, load the slice
of state the command reads (`Reads`), append the events with their hashes,
project them (`projections.PROJECTIONS`), record the reply. Nothing is written
unless all of it is. The write path runs fixed SQL on the DBAPI cursor (no Core
expressions per command, no ORM); reads are in `queries`.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, delete

from mock_core.core import events as ev
from mock_core.core.commands import Command
from mock_core.core.evolve import evolve
from mock_core.core.state import Account, Reads, TenantState
from mock_core.store import projections
from mock_core.store.hashchain import GENESIS_HASH, canonical_event, chain_hash, with_hash
from mock_core.store.projections import At, Bulk, Pending, Rows
from mock_core.store.queries import MarksCache
from mock_core.store.schema import TENANT_TABLES


@dataclass(frozen=True, slots=True)
class CommandRecord:
    command_id: str
    command_type: str
    payload_hash: str
    reply: bytes


def _record(fields: Sequence[Any]) -> CommandRecord:
    """A stored idempotency record from its columns: commandId, type, payload hash, reply."""
    return CommandRecord(fields[0], fields[1], fields[2], fields[3].encode())


def _note_records(
    found: dict[tuple[str, str], Any], tenant_id: str, keys: list[str], rows: Iterable[Any]
) -> None:
    """What a read of `keys`' records (rows of key and `_record`'s columns) found: each
    key's record, or None where it has none."""
    for key in keys:
        found[(tenant_id, key)] = None
    for row in rows:
        found[(tenant_id, row[0])] = _record(row[1:])


def _tenant_memory(data: str, head: tuple[int, str]) -> TenantMemory:
    """A writer's memory of a tenant from its row's creation payload, at `head`."""
    created = ev.TenantCreated.from_payload(orjson.loads(data))
    return TenantMemory(head, evolve(TenantState(), created))


def _add_product(state: TenantState, data: str) -> None:
    evolve(state, ev.ProductCreated.from_payload(orjson.loads(data)))


def payload_hash(payload: Any) -> str:
    """A stable hash of a command's payload, for telling a replay from a key reuse."""
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()


_SQL = {
    "find_command": "SELECT command_id, command_type, payload_hash, reply FROM command_log "
    "WHERE tenant_id = :t AND dedup_key = :k",
    "find_commands": "SELECT dedup_key, command_id, command_type, payload_hash, reply "
    "FROM command_log WHERE tenant_id = :t AND dedup_key IN ({in_list})",
    "head": "SELECT data, last_sequence, last_hash FROM tenants WHERE tenant_id = :t",
    "products": "SELECT data FROM products WHERE tenant_id = :t AND product_code IN ({in_list})",
    "customers": "SELECT data FROM customers WHERE tenant_id = :t AND customer_id IN ({in_list})",
    # One lookup per unique key: written as `email = :e OR mobile = :m OR ...`, SQLite
    # (no statistics) searched the tenant's customers by ordinal and read them all, so
    # each CreateCustomer cost time in proportion to the customers (100,000 members:
    # 200 ms a batch and growing).
    "customers_sharing": "SELECT data FROM customers WHERE tenant_id = :t AND email = :e "
    "UNION SELECT data FROM customers WHERE tenant_id = :t AND mobile = :m "
    "UNION SELECT data FROM customers WHERE tenant_id = :t AND external_ref = :r",
    "accounts": "SELECT account_id, account_type, currency, balance_minor, customer_id, "
    "product_code, product_type, facility_limit_minor FROM accounts "
    "WHERE tenant_id = :t AND account_id IN ({in_list})",
    # (the coalesced writes take positional rows: see projections.SQL)
    "insert_event": "INSERT INTO events (tenant_id, sequence, event_id, event_type, entity_id, "
    "causation_id, envelope) VALUES (?, ?, ?, ?, ?, ?, ?)",
    # PostgreSQL: the transaction's tenant for row-level security, and a tenant's
    # write lock (one total order of its commands across worker processes).
    "pg_scope": "SELECT set_config('app.current_tenant', :t, true)",
    "pg_lock": "SELECT pg_advisory_xact_lock(hashtext(:t))",
    "insert_command": "INSERT INTO command_log (tenant_id, dedup_key, command_id, command_type, "
    "payload_hash, reply, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
    **projections.SQL,
}
_PYFORMAT = re.compile(r":(\w+)")


_DIALECTS = {
    "named": _SQL,
    "pyformat": {
        name: _PYFORMAT.sub(r"%(\1)s", sql).replace("?", "%s") for name, sql in _SQL.items()
    },
}
_NAMED = _DIALECTS["named"]


def dialect_sql(paramstyle: str) -> dict[str, str]:
    """The write path's statements in the driver's own parameter style (shared, not copied)."""
    return _DIALECTS[paramstyle]


@dataclass(frozen=True, slots=True)
class Caches:
    """The store's caches, each switchable (the bench turns them off to measure them).

    `writer_memory`: the writer remembers each tenant's chain head, accounts and
    products (`WriterMemory`): on SQLite across transactions (one writer process),
    on PostgreSQL within one transaction, which holds its tenants' locks (several
    writer processes), or across them for batches applied ahead, checked against
    each chain head under the lock (`Store.kept`).
    `offset_marks`: the offset lists remember their totals and marks per chain head
    (`queries.OffsetMarks`).
    """

    writer_memory: bool = True
    offset_marks: bool = True

    @classmethod
    def parse(cls, names: str) -> Caches:
        """`writer_memory,offset_marks`, a subset, or `none`."""
        wanted = {n.strip() for n in names.split(",") if n.strip()} - {"none"}
        unknown = wanted - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown cache {sorted(unknown)[0]!r}")
        return cls(**{name: name in wanted for name in cls.__dataclass_fields__})


@dataclass(slots=True)
class TenantMemory:
    """What a writer knows of one tenant: its chain head and the state `evolve` built."""

    head: tuple[int, str]  # the chain head: last sequence and hash
    state: TenantState


class NeedsRead(Exception):
    """A batch applied ahead of its reads (`Store.begin_ahead`) asked for a row its
    memory lacks: it is applied the usual way instead."""


class WriterMemory:
    """The write side's memory of the state it read and wrote.

    It spares a command the chain-head, account and product reads: after each
    append, `evolve` applies the new events to it. PostgreSQL may have several
    writer processes, so there a memory lives for one transaction, which holds its
    tenants' advisory locks until it ends: nobody else can move their rows
    meanwhile; the one a worker's group commit keeps across transactions
    (`Store.kept`) is trusted only where a chain head it holds is found unmoved under
    the lock (the read ahead, or `postgres.AheadTransaction`'s check). SQLite has one
    writer, whose memory outlives its transactions. It is kept true by three rules:
    it changes only with writes of a transaction that then commits (a rolled-back
    transaction clears it); it is dropped when the database changed under it
    (`PRAGMA data_version` on the writing connection, read inside the write lock,
    moved since our last commit: another process or connection wrote); and the
    admin transactions (resets, snapshot restores: `Store.admin`) clear it.
    """

    def __init__(self) -> None:
        self.tenants: dict[str, TenantMemory] = {}
        self.token: int | None = None  # the writer connection's data_version at our last commit
        # (tenant, account) -> the running figures of its last account_events row:
        # balance, events, postings, led postings (SQLite's `sqlite.FiguresBulk`).
        self.figures: dict[tuple[str, str], list[int]] = {}
        # tenant -> its trial-balance totals at its head: debits, credits, postings
        # (`store.totals`).
        self.totals: dict[str, list[int]] = {}
        # (tenant, account) -> (a day, the account's booking days with a net change after
        # that day at least: day -> change; the trial balance's totals need an account's
        # days after a leg's): on SQLite from its last legs' latest day on, on PostgreSQL
        # all of them ("") for the accounts a batch's commands name.
        self.days: dict[tuple[str, str], tuple[str, dict[str, int]]] = {}
        # tenant -> its latest booking day with a posting ("": none), where known
        # (PostgreSQL: read ahead with its totals; an account has no day with a net
        # change after it).
        self.latest_days: dict[str, str] = {}

    def covers(self, tenant_id: str, reads: list[Reads]) -> bool:
        """Whether `reads` (the slices of a tenant's commands) need nothing but this memory:
        the tenant's head and totals, and each account named with its product and all its
        booking days (PostgreSQL's memory read ahead: `WriteBatch.look_ahead`). Customers
        are always read (their uniqueness is the table's)."""
        known = self.tenants.get(tenant_id)
        if known is None or tenant_id not in self.totals or tenant_id not in self.latest_days:
            return False
        accounts, products, days = known.state.accounts, known.state.products, self.days
        for slice_ in reads:
            if slice_.customers or slice_.customers_sharing is not None:
                return False
            for code in slice_.products:
                if code not in products:
                    return False
            for account_id in slice_.accounts:
                account = accounts.get(account_id)
                booked = days.get((tenant_id, account_id))
                if account is None or booked is None or booked[0] != "":
                    return False
                if account.product_code is not None and account.product_code not in products:
                    return False
        return True

    def clear(self) -> None:
        self.tenants.clear()
        self.figures.clear()
        self.totals.clear()
        self.days.clear()
        self.latest_days.clear()
        self.token = None


class WriteBatch:
    """One write transaction, shared by the commands of a batch."""

    def __init__(
        self,
        cursor: Any,
        sql: dict[str, str],
        memory: WriterMemory | None,
        scope: Callable[[str], None] | None = None,
        bulk: Bulk | None = None,
        read_options: dict[str, Any] | None = None,
        keys_as_array: bool = False,
        new_cursor: Callable[[], Any] | None = None,
        scoped: str | None = None,
    ) -> None:
        self.cursor = cursor
        # Keyword arguments of the cursor's `execute` for the reads (`WriteTx._run`), and
        # whether the reads by a list of keys bind it as one array (`%(keys)s`) rather
        # than as an IN (...) list.
        self.read_options = read_options or {}
        self.keys_as_array = keys_as_array
        # PostgreSQL (pipeline mode): more cursors on the connection, so that a batch's
        # reads all go out before the first result is waited for (`_read_all_ahead`).
        self._new_cursor = new_cursor
        self.sql = sql
        self.memory = memory
        self.pending = Pending(bulk or Bulk(cursor, sql))
        self.rows = Rows(cursor, sql, self.pending)
        # PostgreSQL: scopes the transaction to one tenant (row-level security); the
        # tenant it is scoped to (the store may have set it with the lock: `scoped`).
        self._scope = scope
        self._scoped = scoped
        # What the batch's commands will read, by tenant (`look_ahead`).
        self._ahead: dict[str, tuple[list[str], list[Reads]]] = {}
        # The keys taken for new without a read (`assume_new`), for the commit to check.
        self.assumed: list[str] = []

    @property
    def reads_ahead_in_one_trip(self) -> bool:
        """Whether `look_ahead` reads everything in one round trip (PostgreSQL, with the
        writer's memory): then even a command alone is cheaper read ahead, as one round
        trip instead of one per read (its head, its record, its accounts, their products).
        On SQLite a read is a call into the library, and reading ahead a command alone
        would read the same rows the same way."""
        return self._new_cursor is not None and self._scope is not None and self.memory is not None

    def look_ahead(self, ahead: dict[str, tuple[list[str], list[Reads]]]) -> None:
        """Tell the batch what its commands will read, by tenant: their idempotency keys
        and their slices (`Reads`). A tenant's first command then reads its records and
        its accounts for all of them, once: on PostgreSQL each read is a round trip."""
        if self._new_cursor is not None and self._scope is not None and self.memory is not None:
            ahead = self._read_all_ahead(ahead, self._new_cursor, self._scope, self.memory)
        self._ahead = ahead

    def _read_all_ahead(
        self,
        ahead: dict[str, tuple[list[str], list[Reads]]],
        new_cursor: Callable[[], Any],
        scope: Callable[[str], None],
        memory: WriterMemory,
    ) -> dict[str, tuple[list[str], list[Reads]]]:
        """Read what every tenant's commands will read in one round trip (PostgreSQL): for
        each tenant, under its scope, its chain head with its trial-balance totals and
        latest posting day, its idempotency records of `keys`, the accounts the commands
        name and their products (plus the products named), and the named accounts'
        booking days (`postgres.UnnestBulk` keeps the totals), each statement on its own cursor,
        all sent before the first result is waited for. Into the batch's records and the
        transaction's memory; returns what is left to read the usual way (tenants whose
        ids cannot be stored)."""
        sent: list[tuple[str, list[str], list[str], list[Any]]] = []
        left: dict[str, tuple[list[str], list[Reads]]] = {}
        options = self.read_options
        for tenant_id, (keys, reads) in ahead.items():
            if "\x00" in tenant_id:
                left[tenant_id] = (keys, reads)
                continue
            keys = [key for key in keys if "\x00" not in key]  # never stored
            accounts = sorted({a for r in reads for a in r.accounts if "\x00" not in a})
            codes = sorted({p for r in reads for p in r.products if "\x00" not in p})
            if tenant_id != self._scoped:
                scope(tenant_id)
                self._scoped = tenant_id
            cursors = []
            for name, params in (
                ("ahead_head", {"t": tenant_id}),
                ("find_commands", {"t": tenant_id, "keys": keys}),
                ("accounts", {"t": tenant_id, "keys": accounts}),
                ("ahead_products", {"t": tenant_id, "keys": accounts, "codes": codes}),
                ("ahead_days", {"t": tenant_id, "keys": accounts}),
            ):
                cursor = new_cursor()
                cursor.execute(self.sql[name], params, **options)
                cursors.append(cursor)
            sent.append((tenant_id, keys, accounts, cursors))
        found = self.pending.found
        results = []
        for tenant_id, keys, named, cursors in sent:
            head, records, accounts_found, products, booked = cursors
            _note_records(found, tenant_id, keys, records.fetchall())
            row = head.fetchone()
            rows = accounts_found.fetchall()
            results.append((tenant_id, named, row, rows, products.fetchall(), booked.fetchall()))
        # A memory kept from earlier transactions (`Store.begin`'s `keep`) is true only if no
        # tenant's chain moved since: every write moves its tenant's head. If one did, the
        # memory starts again from what this batch reads.
        tenants = memory.tenants
        for tenant_id, _, row, *_ in results:
            known = tenants.get(tenant_id)
            if known is not None and (row is None or known.head != (row[1], row[2])):
                memory.clear()
                break
        for tenant_id, named, row, rows, datas, days in results:
            if row is None:  # no such tenant (yet): nothing else to know
                continue
            memory.totals[tenant_id] = [int(figure or 0) for figure in row[3:6]]
            memory.latest_days[tenant_id] = row[6] or ""
            every: dict[tuple[str, str], tuple[str, dict[str, int]]] = {
                (tenant_id, a): ("", {}) for a in named
            }
            for account_id, day, change in days:
                every[(tenant_id, account_id)][1][day] = int(change)
            memory.days.update(every)
            known = tenants.get(tenant_id)
            if known is None:
                known = tenants[tenant_id] = _tenant_memory(row[0], (row[1], row[2]))
            for (data,) in datas:
                _add_product(known.state, data)
            state_accounts = known.state.accounts
            for account_row in rows:
                account = Account(*account_row)
                state_accounts[account.account_id] = account
        return left

    def assume_new(self, tenant_id: str, keys: list[str]) -> None:
        """Take `keys` as used by no stored command, unread (a batch applied ahead: a key
        that was used fails its commit on the records' primary key, and the batch is
        applied the usual way)."""
        found = self.pending.found
        for key in keys:
            found[(tenant_id, key)] = None
        self.assumed.extend(keys)

    def forget(self) -> None:
        """Drop what the transaction did not write, and what it was told to expect (it
        rolled back; on SQLite the batch serves the next transaction too)."""
        self.pending.clear()
        self._ahead = {}

    def tx(self, tenant_id: str) -> WriteTx:
        """The write side of one command of this transaction.

        Where the store scopes a transaction to a tenant (PostgreSQL's row-level
        security), a command of another tenant than the previous one first issues
        the previous tenant's coalesced writes, still under its scope (an UPDATE of
        another tenant's row would silently match nothing), then moves the scope.
        """
        if self._scope is not None and tenant_id != self._scoped:
            pending = self.pending
            # The records read ahead outlive the flush (other tenants' too), joined by
            # those this transaction wrote, which are now in the table.
            found = pending.found
            for key, row in pending.commands.items():
                found[key] = _record(row[2:])
            pending.found = {}
            pending.flush()
            pending.found = found
            self._scope(tenant_id)
            self._scoped = tenant_id
        tx = WriteTx(self, tenant_id)
        if self._ahead:
            ahead = self._ahead.pop(tenant_id, None)
            if ahead is not None:
                tx.read_ahead(*ahead)
        return tx


class WriteTx:
    """The write side of one command, inside one transaction.

    This is the hot path, so it talks to the DBAPI cursor SQLAlchemy's
    connection wraps, with fixed SQL text: building Core expressions per
    command cost more CPU than the database work itself.
    """

    def __init__(self, batch: WriteBatch, tenant_id: str) -> None:
        self.batch = batch
        self.cursor = batch.cursor
        self.sql = batch.sql
        self.tenant_id = tenant_id
        self.wrote = False  # whether this command has written anything yet
        self._known: TenantMemory | None = None

    def _run(self, name: str, params: dict[str, Any], **fmt: str) -> Any:
        sql = self.sql[name].format(**fmt) if fmt else self.sql[name]
        self.cursor.execute(sql, params, **self.batch.read_options)
        return self.cursor

    def _in_list(self, values: list[str], params: dict[str, Any]) -> str:
        """Bind `values` as v0, v1, ... and return the placeholders for an IN (...)."""
        for index, value in enumerate(values):
            params[f"v{index}"] = value
        if self.sql is _NAMED:
            return ", ".join(f":v{i}" for i in range(len(values)))
        return ", ".join(f"%(v{i})s" for i in range(len(values)))

    def _rows_in(self, name: str, values: list[str]) -> list[Any]:
        params: dict[str, Any] = {"t": self.tenant_id}
        if self.batch.keys_as_array:  # the store's statement takes them as one array
            params["keys"] = values
            rows: list[Any] = self._run(name, params).fetchall()
            return rows
        in_list = self._in_list(values, params)
        rows = self._run(name, params, in_list=in_list).fetchall()
        return rows

    def read_ahead(self, keys: list[str], reads: list[Reads]) -> None:
        """Read the idempotency records of `keys` and the accounts `reads` name, in one
        statement each (see `WriteBatch.look_ahead`)."""
        found = self.batch.pending.found
        keys = [key for key in keys if "\x00" not in key]  # never stored
        if keys:
            _note_records(found, self.tenant_id, keys, self._rows_in("find_commands", keys))
        accounts = sorted({a for slice_ in reads for a in slice_.accounts if "\x00" not in a})
        if accounts and self.batch.memory is not None and self._tenant() is not None:
            self._load_accounts(TenantState(), accounts)  # into the writer's memory

    def find_command(self, dedup_key: str) -> CommandRecord | None:
        pending = self.batch.pending
        mine = pending.commands.get((self.tenant_id, dedup_key))
        if mine is not None:  # recorded by an earlier command of this transaction
            return _record(mine[2:])
        if pending.found:
            key = (self.tenant_id, dedup_key)
            if key in pending.found:  # read ahead (and not recorded since: see above)
                return pending.found[key]
        row = self._run("find_command", {"t": self.tenant_id, "k": dedup_key}).fetchone()
        if row is None:
            return None
        return _record(row)

    def load(self, reads: Reads) -> TenantState:
        """Load the slice of the tenant's state that `reads` names (no tenant: empty).

        The tenant, products and customers are built by `evolve` from their stored
        creation events' payloads (what the projection rows keep), so `decide`
        sees what a fold of the log would give it; accounts come from their rows.
        """
        state = TenantState()
        known = self._tenant()
        if known is None:
            return state
        state.tenant = known.state.tenant
        if reads.products:
            self._load_products(state, list(reads.products))
        # An id holding U+0000 cannot be stored, so it names nothing.
        customers = [c for c in reads.customers if "\x00" not in c]
        if customers:
            self._load_customers(state, self._rows_in("customers", customers))
        keys = reads.customers_sharing
        if keys is not None:
            params = {
                "t": self.tenant_id,
                "e": keys.email,
                "m": keys.mobile,
                "r": keys.external_ref,
            }
            self._load_customers(state, self._run("customers_sharing", params).fetchall())
        accounts = [a for a in reads.accounts if "\x00" not in a]
        if accounts:
            self._load_accounts(state, accounts)
        return state

    def _tenant(self) -> TenantMemory | None:
        """The tenant's memory entry, read from the tenants row if the writer has none."""
        memory = self.batch.memory
        known = memory.tenants.get(self.tenant_id) if memory is not None else None
        if known is None:
            row = self._run("head", {"t": self.tenant_id}).fetchone()
            if row is None:
                return None
            # The head this transaction moved, if it did, is not written yet.
            head = self.batch.pending.heads.get(self.tenant_id, (row[1], row[2]))
            known = _tenant_memory(row[0], head)
            if memory is not None:
                memory.tenants[self.tenant_id] = known
        self._known = known
        return known

    def _known_and_missing(self, kind: str, keys: list[str]) -> tuple[TenantState, list[str]]:
        """The state the writer knows, and which of `keys` its `kind` (products or
        accounts) lacks."""
        known = self._known
        assert known is not None
        found: dict[str, Any] = getattr(known.state, kind)
        return known.state, [key for key in keys if key not in found]

    def _load_products(self, state: TenantState, codes: list[str]) -> None:
        known, missing = self._known_and_missing("products", codes)
        products = known.products
        if missing:
            for (data,) in self._rows_in("products", missing):
                _add_product(known, data)
        for code in codes:
            found = products.get(code)
            if found is not None:
                state.products[code] = found

    @staticmethod
    def _load_customers(state: TenantState, rows: list[Any]) -> None:
        for (data,) in rows:
            evolve(state, ev.CustomerCreated.from_payload(orjson.loads(data)))

    def _load_accounts(self, state: TenantState, account_ids: list[str]) -> None:
        known, missing = self._known_and_missing("accounts", account_ids)
        accounts = known.accounts
        if missing:
            # Balance moves of this transaction are written before their accounts are read.
            pending = self.batch.pending
            if any((self.tenant_id, a) in pending.balances for a in missing):
                pending.flush_balances()
            for row in self._rows_in("accounts", missing):
                account = Account(*row)
                accounts[account.account_id] = account
        codes = set()
        for account_id in account_ids:
            found = accounts.get(account_id)
            if found is not None:
                state.accounts[account_id] = found
                if found.product_code is not None:
                    codes.add(found.product_code)
        if codes:
            self._load_products(state, sorted(codes))

    def append(
        self,
        new_events: list[ev.Event],
        *,
        causation_id: str,
        correlation_id: str,
        occurred_at: str,
        event_ids: list[str],
    ) -> None:
        """Append `new_events` to the tenant's chain, project them, and let the writer's
        memory (if any) evolve with them."""
        self.wrote = True
        t = self.tenant_id
        memory = self.batch.memory
        known = self._known
        if known is None:  # a new tenant
            known = self._known = TenantMemory((0, GENESIS_HASH), TenantState())
            if memory is not None:
                memory.tenants[t] = known
        state = known.state if memory is not None else None
        sequence, prev_hash = known.head
        pending = self.batch.pending
        event_rows = pending.events
        rows = self.batch.rows
        project = projections.project
        for new, event_id in zip(new_events, event_ids, strict=True):
            sequence += 1
            event_type = new.event_type
            entity_id = new.entity_id
            envelope: dict[str, Any] = {
                "eventId": event_id,
                "eventType": event_type,
                "tenantId": t,
                "entityId": entity_id,
                "sequence": sequence,
                "payload": new.payload,
                "occurredAt": occurred_at,
                "causationId": causation_id,
                "correlationId": correlation_id,
                "prevHash": prev_hash,
            }
            canonical = canonical_event(envelope, new)
            prev_hash = chain_hash(prev_hash, canonical)
            envelope_text = with_hash(canonical, prev_hash)
            event_rows.append(
                (t, sequence, event_id, event_type, entity_id, causation_id, envelope_text)
            )
            project(new, At(t, sequence, prev_hash, occurred_at), rows)
            if state is not None:
                evolve(state, new)
        known.head = pending.heads[t] = (sequence, prev_hash)

    def record_command(
        self, dedup_key: str, command: Command, payload_digest: str, reply: bytes, at: str
    ) -> None:
        self.wrote = True
        row = (
            self.tenant_id,
            dedup_key,
            command.command_id,
            command.command_type,
            payload_digest,
            reply.decode(),
            at,
        )
        pending = self.batch.pending
        pending.command_rows.append(row)
        pending.commands[(self.tenant_id, dedup_key)] = row


class WriteTransaction:
    """An open write transaction (`Store.begin`): its commands' writes, then commit or rollback.

    The coalesced writes are issued before the commit. If anything fails, it all
    rolls back and the writer's memory is dropped with it. Each backend supplies
    how to commit and roll back (`_commit`, `_rollback`) and what to release.
    """

    def __init__(self, store: Store, batch: WriteBatch) -> None:
        self.store = store
        self.batch = batch

    def takes(self, tenant_id: str, reads: list[Reads]) -> bool:
        """Whether more commands of `tenant_id` reading `reads` can be applied in this
        transaction from memory alone (a batch applied ahead: `Store.begin_ahead`)."""
        return False

    def flush(self) -> None:
        """Issue the coalesced writes (the commit does it too; call it to keep that cheap)."""
        self.batch.pending.flush()

    def commit(self) -> None:
        """Make the transaction durable (SQLite: synced to disk) and release the write lock."""
        try:
            self.flush()
            self._commit()
        except BaseException:
            self.rollback()
            raise
        self._committed()
        self._end()

    def rollback(self) -> None:
        try:
            self.batch.forget()
            memory = self.store.memory
            if memory is not None:
                memory.clear()
            self.store.drop_kept(self.batch.memory)
            self._rollback()
        finally:
            self._end()

    def _commit(self) -> None:
        raise NotImplementedError

    def _rollback(self) -> None:
        raise NotImplementedError

    def _committed(self) -> None:
        """After a commit: what the backend must remember of it."""

    def _end(self) -> None:
        self.store._write_lock.release()


class Store:
    """The writer protocol: write transactions per tenant (or per batch), reads, resets.

    One implementation per backend: `store.sqlite.SqliteStore` and
    `store.postgres.PostgresStore` (`store.backends.open_store` picks one). Its
    caches are members, each with a switch (`Caches`).
    """

    backend: str = ""
    # Whether a group commit may apply batches ahead of their reads (`begin_ahead`).
    applies_ahead = False

    def __init__(self, engine: Engine, caches: Caches, sql: dict[str, str]) -> None:
        self.engine = engine
        self.caches = caches
        self.sql = sql
        self.memory: WriterMemory | None = None
        self.marks: MarksCache | None = MarksCache() if caches.offset_marks else None
        # One write transaction at a time per process (in-process clients may use several
        # threads); a group commit's transaction may end on the writer thread.
        self._write_lock = threading.Lock()
        # PostgreSQL: the memory a transaction begun with `keep` leaves behind, true at the
        # chain heads its commit writes (None: none, or it was found stale), for the
        # batches applied ahead (`begin_ahead`); held by one group commit at a time
        # (`ahead`), which alone begins with `keep`.
        self.kept: WriterMemory | None = None
        self.ahead = threading.Lock()

    def drop_kept(self, memory: WriterMemory | None) -> None:
        """Forget the kept memory if it is `memory` (its transaction did not commit)."""
        if memory is not None and self.kept is memory:
            self.kept = None

    def begin_ahead(self, tenant_id: str, reads: list[Reads]) -> WriteTransaction | None:
        """A transaction for a batch of one tenant's commands applied from the kept memory
        alone (`reads` are their slices), before the commit in flight is through; None if
        the store cannot (SQLite: its one writer's batches follow each other) or the memory
        does not cover them."""
        return None

    def close(self) -> None:
        """Close the pooled connections."""
        self.engine.dispose()

    @contextmanager
    def write(self, tenant_id: str) -> Iterator[WriteBatch]:
        """One write transaction, committed when the block ends (see `begin`)."""
        txn = self.begin([tenant_id])
        try:
            yield txn.batch
        except BaseException:
            txn.rollback()
            raise
        txn.commit()

    def begin(self, tenant_ids: Collection[str], keep: bool = False) -> WriteTransaction:
        """Open a write transaction for the commands of `tenant_ids` (a group commit's batch
        may hold several tenants); with `keep`, its memory is the kept one (`kept`), and
        is kept after it.

        The caller must end it with `commit` or `rollback`, which may run on
        another thread.
        """
        self._write_lock.acquire()
        try:
            return self._begin(
                list(tenant_ids) if len(tenant_ids) == 1 else sorted(set(tenant_ids)), keep
            )
        except BaseException:
            self._write_lock.release()
            raise

    def _begin(self, tenant_ids: list[str], keep: bool) -> WriteTransaction:
        raise NotImplementedError

    def read(self, tenant_id: str) -> AbstractContextManager[Connection]:
        """A read transaction scoped to `tenant_id`."""
        raise NotImplementedError

    def _admin_start(self, conn: Connection) -> None:
        """Start an admin transaction's work (PostgreSQL: outside row-level security)."""

    @contextmanager
    def admin(self) -> Iterator[Connection]:
        """An admin transaction (resets, snapshots): under the write lock, outside row-level
        security, committed when the block ends. The caches are cleared at its start and,
        as the tables may have changed under them, again at its end."""
        with self._write_lock:
            try:
                self._clear_caches()
                with (
                    self.engine.connect().execution_options(write=True) as conn,
                    conn.begin(),
                ):
                    self._admin_start(conn)
                    yield conn
            finally:
                self._clear_caches()

    def _clear_caches(self) -> None:
        self.kept = None
        if self.memory is not None:
            self.memory.clear()
        if self.marks is not None:
            self.marks.clear()

    def reset(self, tenant_id: str | None = None) -> None:
        """Delete one tenant's rows, or every tenant's (admin only)."""
        if tenant_id is not None and "\x00" in tenant_id:
            return  # no such tenant can exist
        with self.admin() as conn:
            for table in TENANT_TABLES:
                statement = delete(table)
                if tenant_id is not None:
                    statement = statement.where(table.c.tenant_id == tenant_id)
                conn.execute(statement)
