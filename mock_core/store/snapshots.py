"""Named snapshots (admin): save a tenant, or the whole store, under a name; restore it.

A snapshot is rows: `snapshot_<table>` holds each tenant table's rows under the
snapshot's name, so a save and a restore are one INSERT ... SELECT per table in
one admin transaction (`Store.admin`: the write lock, outside row-level
security, the writer's memory and the offset marks cleared). The log is copied
with its hashes, so a restored tenant's chain verifies and its projections are
those the log gives (`mock-core rebuild --check`). Saving under a name that
exists replaces that snapshot. On SQLite a save or a restore is durable when it
returns (the WAL fsynced at its commit) and leaves copying the WAL into the
database file to a thread (`engine.defer_checkpoint`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, text

from mock_core.errors import RequestError
from mock_core.store.engine import defer_checkpoint
from mock_core.store.schema import SNAPSHOT_TABLES, TENANT_TABLES

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
WHOLE_STORE = "*"


@dataclass(frozen=True, slots=True)
class Snapshot:
    name: str
    scope: str  # a tenantId, or "*" for the whole store
    tenants: int
    events: int
    created_at: str

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "tenantId": None if self.scope == WHOLE_STORE else self.scope,
            "tenants": self.tenants,
            "events": self.events,
            "createdAt": self.created_at,
        }


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise RequestError(
            "VALIDATION_ERROR",
            f"snapshot name {name!r} must be 1 to 100 letters, digits, '_', '.' or '-'",
            {"name": name},
        )
    return name


def _columns(table_name: str) -> str:
    table = next(t for t in TENANT_TABLES if t.name == table_name)
    return ", ".join(c.name for c in table.columns)


def _where(tenant_id: str | None, prefix: str = " WHERE") -> str:
    return "" if tenant_id is None else f"{prefix} tenant_id = :t"


# A tenant's log holds sequences 1 to its head, each once: the heads count its events
# (a count(*) of the log walks 100,000 rows: a third of a second on PostgreSQL).
_EVENTS = "coalesce(sum(last_sequence), 0)"


def _count(conn: Connection, sql: str, params: dict[str, Any]) -> int:
    return int(conn.execute(text(sql), params).scalar_one())


def find(conn: Connection, name: str) -> Snapshot | None:
    row = conn.execute(
        text("SELECT name, scope, tenants, events, created_at FROM snapshots WHERE name = :n"),
        {"n": name},
    ).first()
    return None if row is None else Snapshot(*row)


def listing(conn: Connection) -> list[Snapshot]:
    rows = conn.execute(
        text("SELECT name, scope, tenants, events, created_at FROM snapshots ORDER BY name")
    )
    return [Snapshot(*row) for row in rows]


def _drop(conn: Connection, name: str) -> None:
    for copy in SNAPSHOT_TABLES.values():
        conn.execute(text(f"DELETE FROM {copy.name} WHERE snapshot = :n"), {"n": name})
    conn.execute(text("DELETE FROM snapshots WHERE name = :n"), {"n": name})


def save(conn: Connection, name: str, tenant_id: str | None = None) -> Snapshot:
    """Save `tenant_id` (or every tenant) under `name`, replacing any snapshot of that name.

    Raises NOT_FOUND for a tenant that does not exist. The caller holds an admin
    transaction (`Store.admin`).
    """
    check_name(name)
    if tenant_id is not None and "\x00" in tenant_id:  # no tenant can hold it
        raise RequestError("NOT_FOUND", "no such tenant", {"tenant": tenant_id})
    params = {"n": name, "t": tenant_id}
    tenants = _count(conn, f"SELECT count(*) FROM tenants{_where(tenant_id)}", params)
    if tenant_id is not None and tenants == 0:
        raise RequestError("NOT_FOUND", f"tenant {tenant_id} does not exist", {"tenant": tenant_id})
    defer_checkpoint(conn)
    _drop(conn, name)
    for table in TENANT_TABLES:
        columns = _columns(table.name)
        conn.execute(
            text(
                f"INSERT INTO snapshot_{table.name} (snapshot, {columns}) "
                f"SELECT :n, {columns} FROM {table.name}{_where(tenant_id)}"
            ),
            params,
        )
    if conn.dialect.name == "postgresql":
        # Fresh statistics, or the planner takes a new copy for a few rows and a
        # restore's anti-join on the idempotency records walks it once per record.
        for copy in SNAPSHOT_TABLES.values():
            conn.execute(text(f"ANALYZE {copy.name}"))
    events = _count(conn, f"SELECT {_EVENTS} FROM tenants{_where(tenant_id)}", params)
    created = datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    snapshot = Snapshot(name, tenant_id or WHOLE_STORE, tenants, events, created)
    conn.execute(
        text(
            "INSERT INTO snapshots (name, scope, tenants, events, created_at) "
            "VALUES (:n, :scope, :tenants, :events, :created)"
        ),
        {
            "n": name,
            "scope": snapshot.scope,
            "tenants": tenants,
            "events": events,
            "created": created,
        },
    )
    return snapshot


def restore(conn: Connection, name: str, tenant_id: str | None = None) -> Snapshot:
    """Put back what `name` saved: its tenant, or the whole store; with `tenant_id`, only
    that tenant (which the snapshot must hold). Other tenants' rows are left alone; a
    whole-store restore drops the tenants the snapshot does not hold.

    Raises NOT_FOUND for an unknown snapshot, or a tenant the snapshot does not hold.
    The caller holds an admin transaction (`Store.admin`).
    """
    snapshot = find(conn, check_name(name))
    if snapshot is None:
        raise RequestError("NOT_FOUND", f"snapshot {name} does not exist", {"snapshot": name})
    defer_checkpoint(conn)
    if tenant_id is None and snapshot.scope != WHOLE_STORE:
        tenant_id = snapshot.scope
    held = _tenants(conn, "SELECT tenant_id FROM snapshot_tenants WHERE snapshot = :n", name)
    if tenant_id is not None:
        if tenant_id not in held:  # (an id holding U+0000 included: never stored)
            raise RequestError(
                "NOT_FOUND",
                f"snapshot {name} holds no tenant {tenant_id}",
                {"snapshot": name, "tenant": tenant_id},
            )
        events = _restore_tenant(conn, name, tenant_id)
        return Snapshot(name, tenant_id, 1, events, snapshot.created_at)
    for gone in _tenants(conn, "SELECT tenant_id FROM tenants", name) - held:
        for table in TENANT_TABLES:
            conn.execute(text(f"DELETE FROM {table.name} WHERE tenant_id = :t"), {"t": gone})
    for tenant in sorted(held):
        _restore_tenant(conn, name, tenant)
    return snapshot


def _tenants(conn: Connection, sql: str, name: str) -> set[str]:
    return {row[0] for row in conn.execute(text(sql), {"n": name})}


def _restore_tenant(conn: Connection, name: str, tenant_id: str) -> int:
    """Restore one tenant; its event count.

    The log is append-only and hash-chained, so the events the live tenant shares
    with the snapshot (the same envelope, hash included, at the last shared
    sequence, and therefore at every earlier one) stay as they are: only the
    events after the shared prefix are deleted and copied back, and likewise their
    `account_events` and `tenant_totals` (each row follows from the events up to its
    sequence). The idempotency records are compared row by row; the other
    projections (a few thousand rows) are replaced.
    """
    params: dict[str, Any] = {"n": name, "t": tenant_id, "p": _shared_prefix(conn, name, tenant_id)}
    for table in TENANT_TABLES:
        columns = _columns(table.name)
        keep = copy = conflict = ""
        if table.name in ("events", "account_events", "tenant_totals"):
            keep = copy = " AND sequence > :p"
        elif table.name == "command_log":
            keep = f" AND NOT EXISTS (SELECT 1 FROM snapshot_command_log s {_SAME_RECORD})"
        conn.execute(text(f"DELETE FROM {table.name} WHERE tenant_id = :t{keep}"), params)
        if table.name == "command_log" and _any_record(conn, tenant_id):
            # The records kept are the snapshot's own, so the copy skips their keys. Not an
            # anti-join against the live table: after a reset its statistics may say empty,
            # and PostgreSQL then scans it once per record copied while the copy fills it
            # (18 s for the twin's 39,000 records). With none kept (after a reset), a plain
            # copy: PostgreSQL's ON CONFLICT costs a third more per record.
            conflict = " ON CONFLICT (tenant_id, dedup_key) DO NOTHING"
        conn.execute(
            text(
                f"INSERT INTO {table.name} ({columns}) SELECT {columns} FROM snapshot_{table.name} "
                f"WHERE snapshot = :n AND tenant_id = :t{copy}{conflict}"
            ),
            params,
        )
    return _count(conn, f"SELECT {_EVENTS} FROM tenants WHERE tenant_id = :t", params)


def _any_record(conn: Connection, tenant_id: str) -> bool:
    """Whether the tenant has any idempotency record."""
    found = text("SELECT 1 FROM command_log WHERE tenant_id = :t LIMIT 1")
    return conn.execute(found, {"t": tenant_id}).first() is not None


# A live idempotency record the snapshot holds exactly (same key, same reply).
_SAME_RECORD = (
    "WHERE s.snapshot = :n AND s.tenant_id = :t AND s.dedup_key = command_log.dedup_key "
    "AND s.command_id = command_log.command_id AND s.command_type = command_log.command_type "
    "AND s.payload_hash = command_log.payload_hash AND s.reply = command_log.reply "
    "AND s.created_at = command_log.created_at"
)


def _shared_prefix(conn: Connection, name: str, tenant_id: str) -> int:
    """The last sequence up to which the live log and the snapshot's are the same."""
    params: dict[str, Any] = {"n": name, "t": tenant_id}

    def head(sql: str) -> int:
        row = conn.execute(text(sql), params).first()
        return 0 if row is None else int(row[0])

    def same(sequence: int) -> bool:
        at = {**params, "s": sequence}
        live = conn.execute(
            text("SELECT envelope FROM events WHERE tenant_id = :t AND sequence = :s"), at
        ).first()
        saved = conn.execute(
            text(
                "SELECT envelope FROM snapshot_events "
                "WHERE snapshot = :n AND tenant_id = :t AND sequence = :s"
            ),
            at,
        ).first()
        return live is not None and saved is not None and live[0] == saved[0]

    live_head = head("SELECT last_sequence FROM tenants WHERE tenant_id = :t")
    saved_head = head(
        "SELECT last_sequence FROM snapshot_tenants WHERE snapshot = :n AND tenant_id = :t"
    )
    low, high = 0, min(live_head, saved_head)
    if high and same(high):  # the usual case: the live log went on from the snapshot
        return high
    while low < high:  # the chain: same at a sequence means same at every earlier one
        middle = (low + high + 1) // 2
        if same(middle):
            low = middle
        else:
            high = middle - 1
    return low
