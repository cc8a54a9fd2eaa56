"""The PostgreSQL store: a transaction per batch, under its tenants' advisory locks.

Several worker processes may write, so a writer trusts what it read only for the length
of a transaction, which holds its tenants' locks, or, for a batch applied ahead of its
reads (`AheadTransaction`), once a check under the lock finds the chain head it
remembers unmoved. A worker's group commit
(`gateway.GroupCommitter`) applies the commands it has read together in one
transaction: it takes the advisory lock of every tenant of the batch, in sorted order
(so two workers never wait on each other in a cycle), reads what every tenant's
commands need in one round trip (`WriteBatch.look_ahead`), scopes each command to its
own tenant (row-level security stays in force: `WriteBatch.tx`), and commits once.
Writes go out in pipeline mode, a flush as one statement with the BEGIN before it and
the COMMIT behind it; only reads wait for a round trip. The writer keeps its connection
between batches, and the queries keep one of their own (`PostgresStore.read`).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from mock_core.core.state import Reads
from mock_core.store import eventstore, totals
from mock_core.store.eventstore import Caches, Store, WriteTransaction, dialect_sql
from mock_core.store.projections import DAY_CONFLICT, Bulk, Row

# The coalesced writes as one statement each. A write's rows go as ONE parameter, a JSON
# array of the rows (each an array in the row's column order, `projections.Row`, as in
# the one-row statements), dumped by orjson and read back by `jsonb_array_elements`.
# psycopg dumps a list parameter element by element in Python (a batch of 16 PostEntry
# has 1,200 elements in 46 arrays): as JSON the flush's part of the mock's CPU was
# 0.40-0.49x, and the server's CPU a request moved by less than the noise
# (bench/results/pg-write-params-ab.md). No stored text holds U+0000, which JSON (jsonb)
# cannot carry: PostgreSQL's text cannot hold it either.


def _rows(*types: str) -> str:
    """The rows of a write's one parameter, column n cast to `types[n]`."""
    columns = ", ".join(f"(r->>{n})::{kind}" for n, kind in enumerate(types))
    return f"SELECT {columns} FROM jsonb_array_elements(%s::jsonb) AS r"


def _joined(*types: str) -> str:
    """`_rows` as a subquery to join a table by its key. OFFSET 0 keeps it from being
    pulled up into the join: pulled up, the join's condition compares the key with
    `value ->> n`, an operator not marked leakproof, which row-level security lets run
    only after its own filter, so the key's index serves only the tenant's part of the
    condition (measured: each account_events seek read all the tenant's rows, 244 ms for
    a batch of 16). A subquery's column is a plain value, compared with a leakproof
    `=`, and the key's index is used whole."""
    return f"({_rows(*types)} OFFSET 0)"


_TEXT, _INT = "text", "bigint"
_UNNEST: dict[str, str] = {
    "insert_event": "INSERT INTO events (tenant_id, sequence, event_id, event_type, entity_id, "
    "causation_id, envelope) " + _rows(_TEXT, _INT, _TEXT, _TEXT, _TEXT, _TEXT, _TEXT),
    # The running figures: the account's last stored row (LATERAL: one seek each) plus
    # the batch's own rows up to this one (a window, as the statement sees only the rows
    # stored before it). Always this statement, one row or many (store/projections.py
    # binds its one-row form by number).
    "insert_touch": "INSERT INTO account_events (tenant_id, account_id, sequence, booking_date, "
    "balance_minor, event_count, postings, led_postings) SELECT d.t, d.a, d.seq, d.day, "
    "coalesce(p.balance_minor, 0) + sum(d.change) OVER w, "
    "coalesce(p.event_count, 0) + row_number() OVER w, "
    "coalesce(p.postings, 0) + sum(d.posting) OVER w, "
    "coalesce(p.led_postings, 0) + sum(d.led) OVER w "
    f"FROM {_joined(_TEXT, _TEXT, _INT, _TEXT, _INT, _INT, _INT)} "
    "AS d(t, a, seq, day, change, posting, led) "
    "LEFT JOIN LATERAL (SELECT balance_minor, event_count, postings, led_postings "
    "FROM account_events e WHERE e.tenant_id = d.t AND e.account_id = d.a "
    "ORDER BY e.sequence DESC LIMIT 1) AS p ON true "
    "WINDOW w AS (PARTITION BY d.t, d.a ORDER BY d.seq)",
    "upsert_day": "INSERT INTO account_days (tenant_id, account_id, booking_date, change_minor, "
    "event_count, postings, led_postings, last_sequence) "
    + _rows(_TEXT, _TEXT, _TEXT, _INT, _INT, _INT, _INT, _INT)
    + " "
    + DAY_CONFLICT,
    "insert_command": "INSERT INTO command_log (tenant_id, dedup_key, command_id, command_type, "
    "payload_hash, reply, created_at) " + _rows(*[_TEXT] * 7),
    "update_balance": "UPDATE accounts SET balance_minor = accounts.balance_minor + d.delta, "
    f"last_sequence = d.seq FROM {_joined(_INT, _INT, _TEXT, _TEXT)} AS d(delta, seq, t, a) "
    "WHERE accounts.tenant_id = d.t AND accounts.account_id = d.a",
    "update_head": "UPDATE tenants SET last_sequence = d.seq, last_hash = d.h "
    f"FROM {_joined(_INT, _TEXT, _TEXT)} AS d(seq, h, t) WHERE tenants.tenant_id = d.t",
    # The trial balance's kept totals (store/totals.py).
    "insert_totals": "INSERT INTO tenant_totals (tenant_id, sequence, debits_minor, "
    "credits_minor, postings) " + _rows(_TEXT, _INT, _INT, _INT, _INT),
    "upsert_tenant_day": "INSERT INTO tenant_days (tenant_id, booking_date, debits_minor, "
    "credits_minor, postings) " + _rows(_TEXT, _TEXT, _INT, _INT, _INT) + " ON CONFLICT "
    "(tenant_id, booking_date) DO UPDATE SET "
    "debits_minor = tenant_days.debits_minor + excluded.debits_minor, "
    "credits_minor = tenant_days.credits_minor + excluded.credits_minor, "
    "postings = tenant_days.postings + excluded.postings",
}
# What the kept totals need before a flush's posting legs, read in one round trip (three
# statements, each on its own cursor, sent before the first result is waited for): each
# account's stored balance (its last account_events row), its booking days from its first
# leg's day on, and each tenant's totals at its head (its last tenant_totals row).
_TOTALS_READS = (
    "SELECT k.t, k.a, l.balance_minor FROM unnest(%b::text[], %b::text[]) AS k(t, a) "
    "CROSS JOIN LATERAL (SELECT balance_minor FROM account_events x WHERE x.tenant_id = k.t "
    "AND x.account_id = k.a ORDER BY x.sequence DESC LIMIT 1) AS l",
    "SELECT k.t, k.a, d.booking_date, d.change_minor FROM unnest(%b::text[], %b::text[], "
    "%b::text[]) AS k(t, a, day) JOIN account_days d ON d.tenant_id = k.t "
    "AND d.account_id = k.a AND d.booking_date >= k.day AND d.change_minor <> 0",
    "SELECT k.t, l.debits_minor, l.credits_minor, l.postings FROM unnest(%b::text[]) AS k(t) "
    "CROSS JOIN LATERAL (SELECT debits_minor, credits_minor, postings FROM tenant_totals x "
    "WHERE x.tenant_id = k.t ORDER BY x.sequence DESC LIMIT 1) AS l",
)


def _by_keys(table: str, key: str, columns: str) -> str:
    """A write-path read by a list of keys, as one probe of the table's primary key per
    key (a LATERAL subquery with a LIMIT is never flattened into a join).

    As `key IN (...)`, or as a plain join from the keys, PostgreSQL 15 reads all the
    tenant's rows and filters them wherever it underestimates how many the tenant has,
    as on a table not analysed yet (a fresh store, the first minute of a run): at 11,600
    idempotency records, each batch's lookup read all of them (4-6.5 ms, growing).
    """
    return (
        f"SELECT r.* FROM unnest(%(keys)s::text[]) AS k(key) CROSS JOIN LATERAL "
        f"(SELECT {columns} FROM {table} x WHERE x.tenant_id = %(t)s AND x.{key} = k.key "
        "LIMIT 1) AS r"
    )


_BY_KEYS = {
    "find_commands": _by_keys(
        "command_log", "dedup_key", "dedup_key, command_id, command_type, payload_hash, reply"
    ),
    "products": _by_keys("products", "product_code", "data"),
    # The products named, and those of the accounts of `keys` (`WriteBatch.look_ahead`).
    "ahead_products": "SELECT p.data FROM (SELECT unnest(%(codes)s::text[]) AS code UNION "
    "SELECT a.product_code FROM unnest(%(keys)s::text[]) AS k(key) CROSS JOIN LATERAL "
    "(SELECT product_code FROM accounts x WHERE x.tenant_id = %(t)s AND x.account_id = k.key "
    "LIMIT 1) AS a) AS c CROSS JOIN LATERAL (SELECT data FROM products x "
    "WHERE x.tenant_id = %(t)s AND x.product_code = c.code LIMIT 1) AS p",
    "customers": _by_keys("customers", "customer_id", "data"),
    # The tenant's chain head (as `head`) with the trial balance's kept totals at it and
    # its latest day with a posting (None where it has none yet); the booking days with
    # a net change of the accounts of `keys`: what the kept totals need of an account a
    # leg is back-dated on (`UnnestBulk`).
    "ahead_head": "SELECT t.data, t.last_sequence, t.last_hash, k.debits_minor, "
    "k.credits_minor, k.postings, (SELECT max(booking_date) FROM tenant_days "
    "WHERE tenant_id = %(t)s) FROM tenants t LEFT JOIN LATERAL (SELECT debits_minor, "
    "credits_minor, postings FROM tenant_totals x WHERE x.tenant_id = %(t)s "
    "ORDER BY x.sequence DESC LIMIT 1) AS k ON true WHERE t.tenant_id = %(t)s",
    "ahead_days": "SELECT d.account_id, d.booking_date, d.change_minor "
    "FROM unnest(%(keys)s::text[]) AS k(key) JOIN account_days d ON d.tenant_id = %(t)s "
    "AND d.account_id = k.key AND d.change_minor <> 0",
    "accounts": _by_keys(
        "accounts",
        "account_id",
        "account_id, account_type, currency, balance_minor, customer_id, product_code, "
        "product_type, facility_limit_minor",
    ),
}
# The reads are planned at each execution, never prepared: psycopg prepares a statement
# on its fifth run, and PostgreSQL may then keep for good a generic plan made while the
# table was a page or two (a sequential scan). Planning one costs tens of microseconds
# a batch.
_READ_OPTIONS = {"prepare": False}
# A writer's connection idle for longer goes back to the pool (`PostgresStore._begin`).
WRITER_IDLE_S = 1.0
# A batch of one tenant: its lock and its scope for the transaction (row-level security)
# in one statement, a round of the driver's work less (`pg_lock`, `pg_scope`). The two
# calls read no table: the lock is held before the batch's first read takes its snapshot.
_LOCK_AND_SCOPE = (
    "SELECT pg_advisory_xact_lock(hashtext(%(t)s)), set_config('app.current_tenant', %(t)s, true)"
)
# A batch applied ahead (`AheadTransaction`) fails, so that nothing of it is written, unless
# its tenant's chain head is the one it started from and none of the keys it took for new
# is used: a command it refused writes nothing, so no key of its would clash. The error
# is an integer cast of a text made of the counts, so that it happens only when it is
# evaluated (a constant would be cast when the statement is planned).
_CHECK_AHEAD = (
    "SELECT CASE WHEN h.n = 1 AND u.n = 0 THEN 0 ELSE concat('mock-core: a batch applied "
    "ahead found the chain head of ', %(t)s::text, ' moved (', h.n, ') or its keys used (', "
    "u.n, ')')::int END FROM (SELECT count(*) AS n FROM tenants WHERE tenant_id = %(t)s "
    "AND last_sequence = %(s)s AND last_hash = %(h)s) AS h, (SELECT count(*) AS n "
    "FROM unnest(%(keys)s::text[]) AS k(key) CROSS JOIN LATERAL (SELECT 1 FROM command_log x "
    "WHERE x.tenant_id = %(t)s AND x.dedup_key = k.key LIMIT 1) AS r) AS u"
)
# After a batch applied ahead failed, this many transactions begin with a memory of their
# own, and no batch is applied ahead meanwhile.
AHEAD_HOLDOFF = 16
# A kept memory with more accounts' booking days than this starts again empty: the days
# of every account a batch names are kept, and a large credit union has many.
KEPT_ACCOUNTS_MAX = 100_000
# The reads' connection's scope: for the session, set by a read whose tenant differs from
# the last read's, or after the connection sat idle (`PostgresStore.read`).
_SESSION_SCOPE = "SELECT set_config('app.current_tenant', %(t)s, false)"
# The reads' connection idle for longer has its scope set again even for the same tenant:
# that round trip finds a connection the server closed meanwhile (a restart), and the read
# goes through a pooled one. Within a burst, a closed connection fails the read it holds,
# as the writer's fails its batch (WRITER_IDLE_S).
READER_IDLE_S = 1.0
# The statements whose one-row form (projections.SQL) is SQLite's own.
_ALWAYS = ("insert_touch", "upsert_day", "insert_totals", "upsert_tenant_day")


class UnnestBulk(Bulk):
    """Many rows in one statement: each statement costs the driver a round of Python
    work (about 50-100 us), whatever it holds, so a batch's events, index rows,
    idempotency records and balance moves go as four statements, not hundreds.

    The index rows' posting legs also move the trial balance's kept totals
    (`store.totals`): their rows go in the same statement. What the arithmetic needs
    comes from the transaction's memory where it holds it (read ahead with the batch:
    each tenant's totals and latest posting day, and the booking days of the accounts
    the commands name; each account's balance, which the commands read and moved),
    else from one more round trip (`_TOTALS_READS`): an account the memory lacks, and
    its days if a leg on it is booked before its tenant's latest posting day."""

    def __init__(
        self, cursor: Any, sql: dict[str, str], memory: eventstore.WriterMemory | None = None
    ) -> None:
        super().__init__(cursor, sql)
        self.memory = memory

    def write(self, name: str, rows: list[Row]) -> None:
        self.write_all([(name, rows)])

    def write_all(self, writes: list[tuple[str, list[Row]]]) -> None:
        """A flush's writes as one statement: each a data-modifying WITH query. None of
        them reads what another writes (the running figures read the rows of earlier
        statements; an account's row is inserted when its event is projected), so one
        snapshot for all is what the statements in turn would see; each still runs
        under the transaction's tenant scope. One statement instead of five or six:
        each costs the driver and the server a round of work, whatever its rows."""
        for name, rows in writes:
            if name == "insert_touch":
                writes = [*writes, *self._totals(rows)]
                break
        if len(writes) == 1:
            name, rows = writes[0]
            unnest = _UNNEST.get(name)
            if unnest is None or (len(rows) == 1 and name not in _ALWAYS):
                super().write(name, rows)
            else:
                self.cursor.execute(unnest, [orjson.dumps(rows).decode()])
            return
        parts: list[str] = []
        params: list[str] = []
        for name, rows in writes:
            parts.append(f"w{len(parts)} AS ({_UNNEST[name]})")
            params.append(orjson.dumps(rows).decode())
        self.cursor.execute(f"WITH {', '.join(parts)} SELECT 1", params)

    def _totals(self, touches: list[Row]) -> list[tuple[str, list[Row]]]:
        """The kept totals' writes for a flush's account_events rows (none without a
        posting leg)."""
        postings = [row for row in touches if row[5]]
        if not postings:
            return []
        memory = self.memory or eventstore.WriterMemory()
        first = {pair: span[0] for pair, span in totals.day_spans(postings).items()}
        # Each account's balance before the flush: the memory's (after the flush's legs,
        # which the commands applied) less the flush's changes.
        moved: dict[tuple[str, str], int] = {}
        for t, a, _, _, change, *_ in touches:
            moved[(t, a)] = moved.get((t, a), 0) + change
        balances: dict[tuple[str, str], int] = {}
        for t, a in first:
            known = memory.tenants.get(t)
            account = known.state.accounts.get(a) if known is not None else None
            if account is not None:
                balances[(t, a)] = account.balance_minor - moved[(t, a)]
        # Each account's days after its first leg's day (`keep`): those the memory holds
        # from a day on (every one, "", where read ahead), else none after the tenant's
        # latest posting day, else read; each kept with the day they start after.
        days: dict[tuple[str, str], dict[str, int]] = {}
        since: dict[tuple[str, str], str] = {}
        for (t, a), day in first.items():
            known_days = memory.days.get((t, a))
            if known_days is not None and known_days[0] <= day:
                since[(t, a)], days[(t, a)] = known_days
                continue
            since[(t, a)] = day
            latest = memory.latest_days.get(t)
            if latest is not None and day >= latest:
                days[(t, a)] = {}  # no day after it has a net change
        heads = memory.totals
        tenants = sorted({t for t, _ in first} - heads.keys())
        unknown = [pair for pair in first if pair not in balances]
        undated = [pair for pair in first if pair not in days]
        if tenants or unknown or undated:
            self._read_for_totals(tenants, unknown, undated, first, balances, days, heads)
        legs: list[totals.Leg] = []
        for t, a, sequence, day, change, posting, led in touches:
            balance = balances.get((t, a), 0)
            if posting:
                legs.append((t, a, sequence, day, change, led, balance))
            balances[(t, a)] = balance + change
        rows, added = totals.keep(legs, heads, days)
        for pair, found in days.items():  # (moved on by the legs)
            memory.days[pair] = (since[pair], found)
        latest_days = memory.latest_days
        for t, day in ((t, day) for t, _, _, day, *_ in legs):
            if day > latest_days.get(t, ""):
                latest_days[t] = day
        return [("insert_totals", rows), ("upsert_tenant_day", added)]

    def _read_for_totals(
        self,
        tenants: list[str],
        unknown: list[tuple[str, str]],
        undated: list[tuple[str, str]],
        first: dict[tuple[str, str], str],
        balances: dict[tuple[str, str], int],
        days: dict[tuple[str, str], dict[str, int]],
        heads: dict[str, list[int]],
    ) -> None:
        """Read what the memory lacks, in one round trip (`_TOTALS_READS`)."""
        reads = (
            [[t for t, _ in unknown], [a for _, a in unknown]],
            [[t for t, _ in undated], [a for _, a in undated], [first[p] for p in undated]],
            [tenants],
        )
        connection = self.cursor.connection
        cursors = []
        for sql, params in zip(_TOTALS_READS, reads, strict=True):
            cursor = connection.cursor()
            cursor.execute(sql, params, prepare=False)
            cursors.append(cursor)
        for pair in unknown:
            balances[pair] = 0  # no account_events row yet
        for t, a, balance in cursors[0].fetchall():
            balances[(t, a)] = int(balance)
        for pair in undated:
            days[pair] = {}
        for t, a, day, change in cursors[1].fetchall():
            days[(t, a)][day] = int(change)
        for t in tenants:
            heads[t] = [0, 0, 0]
        for t, *figures in cursors[2].fetchall():
            heads[t] = [int(f) for f in figures]


class PostgresTransaction(WriteTransaction):
    """A write transaction on the store's writer connection, in pipeline mode."""

    def __init__(
        self,
        store: PostgresStore,
        batch: eventstore.WriteBatch,
        conn: Connection,
        trans: Any,
        pipe: Any,
    ) -> None:
        super().__init__(store, batch)
        self.writer = store
        self.conn = conn
        self.trans = trans
        self.pipe = pipe  # the connection's psycopg Pipeline
        self.committed = False

    def _commit(self) -> None:
        # COMMIT queued behind the writes: one round trip for them all, and the errors of
        # any surface here.
        self.batch.cursor.execute("COMMIT")
        self.pipe.sync()
        self.trans.commit()  # (SQLAlchemy's side: in autocommit it sends nothing)
        self.committed = True

    def _rollback(self) -> None:
        # Our BEGIN's transaction may still be open; the connection is dropped (`_end`),
        # which ends it.
        if self.trans.is_active:
            with contextlib.suppress(Exception):
                self.trans.rollback()

    def _end(self) -> None:
        try:
            if self.committed:
                self.writer.writer_idle_since = time.monotonic()
            else:  # in an unknown state: the next transaction takes a new one
                self.writer.drop_writer()
        finally:
            super()._end()


class _Recorder:
    """The cursor of a batch applied ahead (`AheadTransaction`): it keeps the batch's
    statements for its commit, and refuses a read (`eventstore.NeedsRead`)."""

    def __init__(self) -> None:
        # (many rows?, statement, its parameters, the execute's options), in order.
        self.statements: list[tuple[bool, str, Any, dict[str, Any]]] = []

    def execute(self, sql: str, params: Any = None, **options: Any) -> _Recorder:
        self.statements.append((False, sql, params, options))
        return self

    def executemany(self, sql: str, rows: Any) -> None:
        self.statements.append((True, sql, rows, {}))

    def fetchone(self) -> Any:
        raise eventstore.NeedsRead

    def fetchall(self) -> Any:
        raise eventstore.NeedsRead

    @property
    def connection(self) -> Any:
        raise eventstore.NeedsRead


class AheadTransaction(WriteTransaction):
    """A batch of one tenant's commands applied from the kept memory alone, while the
    commit before it is in flight (`PostgresStore.begin_ahead`, `gateway.GroupCommitter`).

    It read nothing, assuming that the commit in flight lands and that its commands'
    idempotency keys are new. Its statements are kept (`_Recorder`) and its commit, on
    the writer thread after the one in flight, sends them in one round trip behind the
    tenant's lock and a check (`_CHECK_AHEAD`) that the tenant's chain head is the one
    its memory started from (every write moves a tenant's head, so if it is, every row
    the memory holds is as the batch assumed) and that none of its keys is used (a
    retry: its first reply is the answer, even where the memory would refuse it now).
    Should the check fail (the commit before it failed, another worker wrote the tenant,
    a client retried), nothing of it is written, the kept memory is dropped, and the
    gateway applies the batch again the usual way (`Gateway.commit_batch`)."""

    def __init__(
        self,
        store: PostgresStore,
        batch: eventstore.WriteBatch,
        recorder: _Recorder,
        tenant_id: str,
        head: tuple[int, str],
    ) -> None:
        super().__init__(store, batch)
        self.writer = store
        self.recorder = recorder
        self.tenant_id = tenant_id
        self.head = head

    def takes(self, tenant_id: str, reads: list[Reads]) -> bool:
        memory = self.batch.memory
        return (
            tenant_id == self.tenant_id
            and memory is not None
            and self.writer.kept is memory
            and memory.covers(tenant_id, reads)
        )

    def commit(self) -> None:
        try:
            txn = self.writer.begin([self.tenant_id])
            cursor = txn.batch.cursor
            try:
                sequence, last_hash = self.head
                expected = {"t": self.tenant_id, "s": sequence, "h": last_hash}
                cursor.execute(_CHECK_AHEAD, {**expected, "keys": self.batch.assumed})
                for many, sql, params, options in self.recorder.statements:
                    if many:
                        cursor.executemany(sql, params)
                    else:
                        cursor.execute(sql, params, **options)
            except BaseException:
                txn.rollback()
                raise
            txn.commit()
        except BaseException:
            self.writer.holdoff = AHEAD_HOLDOFF
            self.writer.drop_kept(self.batch.memory)
            raise

    def rollback(self) -> None:
        """(Before its commit: nothing of it was sent.)"""
        self.batch.forget()
        self.writer.drop_kept(self.batch.memory)


class PostgresStore(Store):
    backend = "postgresql"
    applies_ahead = True

    def __init__(self, engine: Engine, caches: Caches) -> None:
        super().__init__(engine, caches, {**dialect_sql("pyformat"), **_BY_KEYS})
        # The writer's connection, kept from one write transaction to the next (they run
        # one at a time: `Store.begin`): a pooled checkout costs each batch a round trip
        # (the pool's ping) and SQLAlchemy's bookkeeping. Dropped after any failure, and
        # given back to the pool when it sat idle, so that a connection the server
        # closed meanwhile (a restart) is found by the pool's ping, not by a command.
        self._writer: Connection | None = None
        self.writer_idle_since = 0.0  # when its last transaction ended
        # The writer's connection stays in pipeline mode while it is kept (`_begin`): the
        # mode's exit syncs, a round trip of its own. psycopg's Pipeline, and what exits it.
        self._pipe: Any = None
        self._pipe_exit = contextlib.ExitStack()
        # The reads' connection, kept as the writer's is (`read`), in autocommit: a read
        # through a pooled checkout cost seven round trips (the pool's ping and its
        # transaction, BEGIN, the scope, the query, the ROLLBACK of the return), 600 us
        # or more. Reads run on the event loop one after another; one from elsewhere
        # meanwhile (another thread's loop) takes a pooled connection.
        self._reader: Connection | None = None
        self._reader_lock = threading.Lock()
        # The tenant the reads' connection is scoped to (None: not known), and when its
        # last read ended. Only the reads run on it, and each sets its own tenant unless
        # it is this one, so the session's setting is this one.
        self._reader_scope: str | None = None
        self._reader_idle_since = 0.0
        # How many more transactions begin without keeping their memory, after a batch
        # applied ahead failed its commit (`AheadTransaction`): several workers writing
        # one tenant would move its head under every batch applied ahead.
        self.holdoff = 0

    def drop_writer(self, failed: bool = True) -> None:
        """Close the writer's connection: after a failure (`failed`) for good, else (idle,
        or with the store) back to the pool.

        After a failure it is in an unknown state, and so is psycopg's memory of the
        statements it prepared on it: a pipeline a statement aborted skips the PREPARE
        psycopg queued with a later one, which then fails wherever the connection is
        used next ("prepared statement _pg3_2 does not exist")."""
        writer, self._writer, self._pipe = self._writer, None, None
        if writer is not None:
            with contextlib.suppress(Exception):  # a broken connection is dropped anyway
                self._pipe_exit.close()
            with contextlib.suppress(Exception):
                if failed:
                    writer.invalidate()
                writer.close()

    def drop_reader(self) -> None:
        """Close the reads' connection for good: it holds a session-wide tenant scope, so
        it never goes back to the pool for other work."""
        reader, self._reader, self._reader_scope = self._reader, None, None
        if reader is not None:
            with contextlib.suppress(Exception):
                reader.invalidate()
                reader.close()

    def close(self) -> None:
        self.drop_writer(failed=False)
        with self._reader_lock:
            self.drop_reader()
        super().close()

    def _memory(self, keep: bool) -> eventstore.WriterMemory | None:
        """A new transaction's memory (see `_begin`)."""
        if not self.caches.writer_memory:
            return None
        if keep and self.holdoff:
            self.holdoff -= 1
            keep = False
        if not keep:
            return eventstore.WriterMemory()
        kept = self.kept
        if kept is None or len(kept.days) > KEPT_ACCOUNTS_MAX:
            kept = self.kept = eventstore.WriterMemory()
        return kept

    def begin_ahead(self, tenant_id: str, reads: list[Reads]) -> WriteTransaction | None:
        memory = self.kept
        if memory is None or not memory.covers(tenant_id, reads):
            return None
        recorder = _Recorder()
        batch = eventstore.WriteBatch(
            recorder,
            self.sql,
            memory,
            bulk=UnnestBulk(recorder, self.sql, memory),
            read_options=_READ_OPTIONS,
            keys_as_array=True,
            scoped=tenant_id,
        )
        return AheadTransaction(self, batch, recorder, tenant_id, memory.tenants[tenant_id].head)

    def _begin(self, tenant_ids: list[str], keep: bool) -> WriteTransaction:
        conn = self._writer
        if conn is not None and time.monotonic() - self.writer_idle_since > WRITER_IDLE_S:
            self.drop_writer(failed=False)
            conn = None
        try:
            if conn is None:
                # In autocommit, so that the transaction's BEGIN is ours (below): psycopg's
                # own syncs the pipeline after it, a round trip of its own for every
                # transaction (py-spy: a sixth of the writer thread's time). In pipeline
                # mode for as long as it is kept: writes are queued and sent together; only
                # reads (whose rows the command needs) wait for a round trip.
                conn = self._writer = self.engine.connect().execution_options(
                    write=True, isolation_level="AUTOCOMMIT"
                )
                self._pipe_exit = contextlib.ExitStack()
                fresh: Any = conn.connection.driver_connection
                self._pipe = self._pipe_exit.enter_context(fresh.pipeline())
            trans = conn.begin()  # (SQLAlchemy's side: in autocommit it sends nothing)
            driver: Any = conn.connection.driver_connection
            cursor = driver.cursor()
            # The BEGIN goes with the batch's first statements, the COMMIT with its writes.
            cursor.execute("BEGIN")
            # Each tenant's commands apply in one total order across processes. The
            # locks are taken in sorted order (`Store.begin` sorts), so no cycle. A batch
            # of one tenant is scoped to it by the same statement.
            scoped = tenant_ids[0] if len(tenant_ids) == 1 else None
            if scoped is not None:
                cursor.execute(_LOCK_AND_SCOPE, {"t": scoped})
            else:
                lock = self.sql["pg_lock"]
                for tenant_id in tenant_ids:
                    cursor.execute(lock, {"t": tenant_id})
        except BaseException:
            self.drop_writer()
            raise

        def scope(tenant_id: str) -> None:
            # Row-level security lets each command see and write only its tenant.
            cursor.execute(self.sql["pg_scope"], {"t": tenant_id})

        # The transaction's memory of what it read and wrote: it holds the locks of its
        # tenants until it ends, so nobody else can move their rows meanwhile, and a batch
        # reads each chain head, account and product once, not once per command. With
        # `keep`, the memory kept from the last such transaction (`kept`: the read ahead
        # checks it against each tenant's head), kept again after this one.
        memory = self._memory(keep)
        batch = eventstore.WriteBatch(
            cursor,
            self.sql,
            memory,
            scope,
            UnnestBulk(cursor, self.sql, memory),
            read_options=_READ_OPTIONS,
            keys_as_array=True,
            new_cursor=driver.cursor,
            scoped=scoped,
        )
        return PostgresTransaction(self, batch, conn, trans, self._pipe)

    @contextmanager
    def read(self, tenant_id: str) -> Iterator[Connection]:
        # An id holding U+0000 names no tenant; "" matches no row either.
        scope = tenant_id if "\x00" not in tenant_id else ""
        conn = self._scoped_reader(scope) if self._reader_lock.acquire(blocking=False) else None
        if conn is None:  # busy elsewhere, or its connection failed: a pooled one
            with self.engine.connect() as pooled:
                driver: Any = pooled.connection.driver_connection
                driver.cursor().execute(self.sql["pg_scope"], {"t": scope})
                yield pooled
            return
        try:
            yield conn
        except DBAPIError:
            self.drop_reader()  # in an unknown state
            raise
        finally:
            try:
                if self._reader is not None:
                    conn.rollback()  # (SQLAlchemy's side: in autocommit nothing is sent)
                    self._reader_idle_since = time.monotonic()
            except Exception:
                self.drop_reader()
            finally:
                self._reader_lock.release()

    def _scoped_reader(self, scope: str) -> Connection | None:
        """The reads' connection, scoped to `scope` for the session (under READ
        COMMITTED a transaction gives a read's statements no common snapshot either, so
        autocommit reads the same); None, the lock released, when it cannot be had (the
        server closed it: the pooled path's ping finds out).

        The scope statement is a round trip of its own, a third of a read's time. It is
        skipped when the connection is already scoped to `scope` (the last read's tenant:
        a tenant's reads mostly come in a row) and its last read ended within
        READER_IDLE_S."""
        try:
            if self._reader is None:
                self._reader = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            elif (
                scope == self._reader_scope
                and time.monotonic() - self._reader_idle_since <= READER_IDLE_S
            ):
                return self._reader
            self._reader_scope = None  # until the statement is through
            driver: Any = self._reader.connection.driver_connection
            driver.cursor().execute(_SESSION_SCOPE, {"t": scope})
            self._reader_scope = scope
            return self._reader
        except Exception:
            self.drop_reader()
            self._reader_lock.release()
            return None

    def _admin_start(self, conn: Connection) -> None:
        # Admin work runs as the connecting user, outside row-level security.
        conn.execute(text("SET LOCAL ROLE NONE"))
