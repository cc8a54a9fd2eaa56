"""The read side: projections and event pages, as JSON-ready values.

Every list takes a limit. Event envelopes are served as the exact JSON that was
hashed (wrapped in `orjson.Fragment`), so a client recomputing the chain sees
the same bytes the store hashed.

Like the write path, the reads run fixed SQL text on the DBAPI cursor that the
SQLAlchemy connection wraps: building and compiling Core expressions cost more
per request than the database work. Each statement is one index range:

- event pages are keyset pages (`sequence > after`, in primary-key order), so a
  page costs the same wherever it starts;
- offset lists (customers, accounts) are read as of the tenant's chain head, so
  `total` and the page always describe one state, even on PostgreSQL's
  statement-level snapshots. Their rows are append-only and numbered by
  `ordinal` (the sequence of the event that created them), so the total and
  the ordinal at every 64th position are remembered per chain head
  (`OffsetMarks`) and brought up to date by reading only the rows created since:
  `offset` becomes a seek to the nearest mark instead of a walk from the start,
  and `total` is no longer a count over the whole tenant on every page.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection

from mock_core.core.events import EVENT_TYPES
from mock_core.money import to_number

# One mark every this many rows: an offset walks at most MARK_STEP - 1 index entries.
MARK_STEP = 64
# Offset marks kept per engine (one per tenant and filter), least recently used dropped.
MARKS_CACHED_MAX = 256

_ACCOUNT_COLUMNS = (
    "account_id, account_type, customer_id, product_code, product_type, currency, "
    "balance_minor, facility_limit_minor, alias, purpose, opened_at, last_sequence"
)
_ENVELOPES = "SELECT sequence, envelope FROM events WHERE tenant_id = :t AND sequence > :after"
# The page of touches first, then one primary-key lookup per event: with the LIMIT
# inside, PostgreSQL plans a nested loop, where the plain join could merge-join
# along the tenant's whole stream (70 ms for a busy GL account at 10,000 members).
_ACCOUNT_ENVELOPES = (
    "SELECT e.sequence, e.envelope FROM (SELECT sequence FROM account_events "
    "WHERE tenant_id = :t AND account_id = :a AND sequence > :after "
    "ORDER BY sequence LIMIT :n OFFSET :skip) AS touched "
    "JOIN events e ON e.tenant_id = :t AND e.sequence = touched.sequence "
    "ORDER BY e.sequence"
)


# An entity's events of any type: the first `n` after `after` of each event type, each
# one seek on ix_events_entity_type (index only), merged; then the page's envelopes by
# primary key. (The index leads with the type after the entity, so that a busy
# account's rare events are a short range too, not a walk of all its events.)
_ENTITY_SEQUENCES = " UNION ALL ".join(
    f"SELECT sequence FROM (SELECT sequence FROM events WHERE tenant_id = :t "
    f"AND entity_id = :entity AND event_type = '{event_type}' AND sequence > :after "
    f"ORDER BY sequence LIMIT :n) AS of_type{index}"
    for index, event_type in enumerate(sorted(EVENT_TYPES))
)
_ENTITY_ENVELOPES = (
    f"SELECT e.sequence, e.envelope FROM ({_ENTITY_SEQUENCES} ORDER BY sequence LIMIT :n) "
    "AS picked JOIN events e ON e.tenant_id = :t AND e.sequence = picked.sequence "
    "ORDER BY e.sequence"
)


@dataclass(frozen=True, slots=True)
class _Listing:
    """An offset list: its table, its filter (SQL after the tenant) and the columns served."""

    table: str
    where: str
    columns: str


# The offset lists, by (what, filter): customers; accounts, all or of one type; the
# accounts of one customer (few rows: counted and walked directly, never marked). With
# both filters the type is compared as an expression (`|| ''`), so that no index can
# serve it: SQLite, without statistics, otherwise chose ix_accounts_type for the count
# as often as ix_accounts_customer, and walked every member account (4.3 ms a count,
# 11 ms p95 a request at 10,000 members, the default accountType being CUSTOMER).
_LISTINGS = {
    "customers": _Listing("customers", "", "data"),
    "accounts": _Listing("accounts", "", _ACCOUNT_COLUMNS),
    "accounts_of_type": _Listing("accounts", " AND account_type = :type", _ACCOUNT_COLUMNS),
    "accounts_of_customer": _Listing("accounts", " AND customer_id = :c", _ACCOUNT_COLUMNS),
    "accounts_of_customer_and_type": _Listing(
        "accounts", " AND customer_id = :c AND account_type || '' = :type", _ACCOUNT_COLUMNS
    ),
}


def _listing_sql(name: str, listing: _Listing) -> dict[str, str]:
    rows = f"FROM {listing.table} WHERE tenant_id = :t{listing.where}"
    return {
        # Rows created after `lo` up to the head `hi`: counted, or their ordinals in order.
        f"{name}:count": f"SELECT count(*) {rows} AND ordinal > :lo AND ordinal <= :hi",
        f"{name}:ordinals": f"SELECT ordinal {rows} AND ordinal > :lo AND ordinal <= :hi "
        "ORDER BY ordinal",
        # A page: from the mark at or before the offset, skipping the rest of the way.
        f"{name}:page": f"SELECT {listing.columns} {rows} AND ordinal >= :lo AND ordinal <= :hi "
        "ORDER BY ordinal LIMIT :n OFFSET :skip",
    }


_SQL: dict[str, str] = {
    "head": "SELECT last_sequence, last_hash FROM tenants WHERE tenant_id = :t",
    "tenant": "SELECT data, created_at, last_sequence, last_hash FROM tenants WHERE tenant_id = :t",
    "event_at": "SELECT envelope FROM events WHERE tenant_id = :t AND sequence = :s",
    "products": "SELECT data, created_at, updated_at FROM products WHERE tenant_id = :t "
    "ORDER BY ordinal",
    "customer": "SELECT data FROM customers WHERE tenant_id = :t AND customer_id = :c",
    "account": f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE tenant_id = :t AND account_id = :a",
    "account_exists": "SELECT 1 FROM accounts WHERE tenant_id = :t AND account_id = :a",
    "account_events": _ACCOUNT_ENVELOPES,
    "events": f"{_ENVELOPES} ORDER BY sequence LIMIT :n",
    "events_of_type": f"{_ENVELOPES} AND event_type = :type ORDER BY sequence LIMIT :n",
    "events_of_entity": _ENTITY_ENVELOPES,
    "events_of_entity_and_type": f"{_ENVELOPES} AND entity_id = :entity AND event_type = :type "
    "ORDER BY sequence LIMIT :n",
}
for _name, _listing in _LISTINGS.items():
    _SQL.update(_listing_sql(_name, _listing))

_PYFORMAT = re.compile(r":(\w+)")
_SQL_PYFORMAT = {name: _PYFORMAT.sub(r"%(\1)s", sql) for name, sql in _SQL.items()}


def _run(conn: Connection, name: str, params: dict[str, Any]) -> Any:
    """Execute the statement `name` on the DBAPI cursor under `conn`; return the cursor.

    On PostgreSQL this runs inside the transaction `Store.read` opened, so
    row-level security scopes it to the tenant.
    """
    sql = _SQL[name] if conn.dialect.name == "sqlite" else _SQL_PYFORMAT[name]
    driver: Any = conn.connection.driver_connection
    cursor = driver.cursor()
    cursor.execute(sql, params)
    return cursor


def storable(*values: str | None) -> bool:
    """False when a value holds U+0000: no stored id can (PostgreSQL text cannot hold it),
    so such an id is simply not found, and must not reach the driver."""
    return not any(value is not None and "\x00" in value for value in values)


@dataclass(frozen=True, slots=True)
class Head:
    """A tenant's chain head: its last event's sequence and hash (the whole history's digest)."""

    sequence: int
    hash: str


def tenant_head(conn: Connection, tenant_id: str) -> Head | None:
    """The tenant's chain head, or None when there is no such tenant."""
    if not storable(tenant_id):
        return None
    row = _run(conn, "head", {"t": tenant_id}).fetchone()
    return None if row is None else Head(row[0], row[1])


def get_tenant(conn: Connection, tenant_id: str) -> dict[str, Any] | None:
    if not storable(tenant_id):
        return None
    row = _run(conn, "tenant", {"t": tenant_id}).fetchone()
    if row is None:
        return None
    data = orjson.loads(row[0])
    return {
        "tenantId": tenant_id,
        "tenantCode": data["tenantCode"],
        "displayName": data["displayName"],
        "region": data["region"],
        "baseCurrency": data["baseCurrency"],
        "timeZone": data["timeZone"],
        "regulatoryJurisdiction": data.get("regulatoryJurisdiction"),
        "businessType": data.get("businessType"),
        "status": "ACTIVE",
        "createdAt": row[1],
        "lastSequence": row[2],
        "lastHash": row[3],
    }


def tenant_exists(conn: Connection, tenant_id: str) -> bool:
    return tenant_head(conn, tenant_id) is not None


def list_products(conn: Connection, tenant_id: str) -> list[dict[str, Any]]:
    result = []
    for data, created_at, updated_at in _run(conn, "products", {"t": tenant_id}).fetchall():
        product = orjson.loads(data)
        product.update(
            tenantId=tenant_id,
            status="ACTIVE" if product.get("active", True) else "INACTIVE",
            createdAt=created_at,
            updatedAt=updated_at,
        )
        result.append(product)
    return result


# ------------------------------------------------------------------ offset lists


@dataclass(frozen=True, slots=True)
class OffsetMarks:
    """One offset list as of one chain head: how many rows, and every MARK_STEP-th ordinal.

    `marks[i]` is the ordinal of the row at position `i * MARK_STEP`. The rows of a
    list are never updated out of it nor deleted (a tenant reset starts a new
    chain, whose head differs), and a new row's ordinal is above every older
    one's, so the marks of a later head extend these.
    """

    head: Head
    total: int
    marks: tuple[int, ...]


class MarksCache:
    """OffsetMarks by (tenant, listing, filter values), least recently used dropped.

    A member of the store (`Store.marks`); None there when the cache is switched off,
    and the marks are then built from the start for every page.
    """

    def __init__(self) -> None:
        self.entries: OrderedDict[tuple[str, ...], OffsetMarks] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple[str, ...]) -> OffsetMarks | None:
        with self.lock:
            entry = self.entries.get(key)
            if entry is not None:
                self.entries.move_to_end(key)
            return entry

    def put(self, key: tuple[str, ...], entry: OffsetMarks) -> None:
        with self.lock:
            self.entries[key] = entry
            self.entries.move_to_end(key)
            while len(self.entries) > MARKS_CACHED_MAX:
                self.entries.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


def _chain_passes_through(conn: Connection, tenant_id: str, head: Head) -> bool:
    """True when the tenant's stream has `head.hash` at `head.sequence`.

    The hash chains every earlier event, so the stream then begins with exactly
    the history that `head` closed, and everything counted up to it still holds.
    """
    row = _run(conn, "event_at", {"t": tenant_id, "s": head.sequence}).fetchone()
    return row is not None and orjson.loads(row[0])["hash"] == head.hash


def offset_marks(
    conn: Connection,
    tenant_id: str,
    head: Head,
    listing: str,
    params: dict[str, Any],
    cache: MarksCache | None,
) -> OffsetMarks:
    """The marks of `listing` (with its filter `params`) as of `head`.

    A cached entry of the same head is served as is; one of an earlier head on
    the same chain is extended with the rows created since (one index range);
    otherwise (or with no cache) the marks are built from the start.
    """
    key = (tenant_id, listing, str(MARK_STEP), *(str(params[k]) for k in sorted(params)))
    cached = cache.get(key) if cache is not None else None
    if cached is not None and cached.head == head:
        return cached
    if (
        cached is not None
        and cached.head.sequence < head.sequence
        and _chain_passes_through(conn, tenant_id, cached.head)
    ):
        total, marks, since = cached.total, list(cached.marks), cached.head.sequence
    else:
        total, marks, since = 0, [], 0
    bounds = {"t": tenant_id, **params, "lo": since, "hi": head.sequence}
    for (ordinal,) in _run(conn, f"{listing}:ordinals", bounds).fetchall():
        if total % MARK_STEP == 0:
            marks.append(ordinal)
        total += 1
    entry = OffsetMarks(head, total, tuple(marks))
    if cache is not None:
        cache.put(key, entry)
    return entry


def _offset_page(
    conn: Connection,
    tenant_id: str,
    listing: str,
    params: dict[str, Any],
    limit: int,
    offset: int,
    marked: bool,
    cache: MarksCache | None,
) -> tuple[int, list[Any]] | None:
    """(total, rows of the page) of an offset list as of the tenant's head; None: no tenant."""
    head = tenant_head(conn, tenant_id)
    if head is None:
        return None
    scope = {"t": tenant_id, **params, "hi": head.sequence}
    if marked:
        marks = offset_marks(conn, tenant_id, head, listing, params, cache)
        total = marks.total
        if offset >= total:
            return total, []
        start, skip = marks.marks[offset // MARK_STEP], offset % MARK_STEP
    else:
        # A short list (one customer's accounts): count it and walk to the offset.
        total = _run(conn, f"{listing}:count", {**scope, "lo": 0}).fetchone()[0]
        if offset >= total:
            return total, []
        start, skip = 0, offset
    page = {**scope, "lo": start, "n": limit, "skip": skip}
    return total, _run(conn, f"{listing}:page", page).fetchall()


def _listed(
    key: str,
    found: tuple[int, list[Any]] | None,
    summary: Callable[[Any], dict[str, Any]],
    limit: int,
    offset: int,
) -> dict[str, Any] | None:
    """An offset page as served: `key` lists each row's `summary`; None: no tenant."""
    if found is None:
        return None
    total, rows = found
    return {key: [summary(row) for row in rows], "total": total, "limit": limit, "offset": offset}


def _customer_summary(tenant_id: str, data: dict[str, Any]) -> dict[str, Any]:
    person = data["person"]
    risk = data.get("riskProfile") or {}
    return {
        # The published summary first ...
        "customerId": data["customerId"],
        "externalRef": data.get("externalRef"),
        "fullName": f"{person['firstName']} {person['lastName']}",
        "email": person["email"],
        "segment": risk.get("segment"),
        "kycStatus": risk.get("kycStatus"),
        "createdAt": data["createdAt"],
        # ... then our additions (extensions).
        "tenantId": tenant_id,
        "firstName": person["firstName"],
        "lastName": person["lastName"],
        "mobile": person["mobile"],
        "status": "ACTIVE",
    }


def list_customers(
    conn: Connection, tenant_id: str, limit: int, offset: int, marks: MarksCache | None = None
) -> dict[str, Any] | None:
    """A page of the tenant's customers in creation order; None when there is no such tenant."""
    found = _offset_page(conn, tenant_id, "customers", {}, limit, offset, True, marks)

    def summary(row: Any) -> dict[str, Any]:
        return _customer_summary(tenant_id, orjson.loads(row[0]))

    return _listed("customers", found, summary, limit, offset)


def get_customer(conn: Connection, tenant_id: str, customer_id: str) -> dict[str, Any] | None:
    if not storable(customer_id):
        return None
    row = _run(conn, "customer", {"t": tenant_id, "c": customer_id}).fetchone()
    if row is None:
        return None
    data = orjson.loads(row[0])
    return {
        **_customer_summary(tenant_id, data),
        "person": data["person"],
        "address": data["address"],
        "employment": data.get("employment"),
        "riskProfile": data.get("riskProfile"),
    }


def _account_summary(tenant_id: str, row: Any) -> dict[str, Any]:
    return {
        "accountId": row[0],
        "tenantId": tenant_id,
        "accountType": row[1],
        "customerId": row[2],
        "productCode": row[3],
        "productType": row[4],
        "currency": row[5],
        "balance": to_number(row[6]),
        "facilityLimit": None if row[7] is None else to_number(row[7]),
        "accountAlias": row[8],
        "accountPurpose": row[9],
        "status": "ACTIVE",
        "openedAt": row[10],
        "lastSequence": row[11],
    }


def list_accounts(
    conn: Connection,
    tenant_id: str,
    limit: int,
    offset: int,
    customer_id: str | None = None,
    account_type: str | None = None,
    marks: MarksCache | None = None,
) -> dict[str, Any] | None:
    """A page of the tenant's accounts in opening order, optionally of one customer and/or
    type; None when there is no such tenant."""
    params: dict[str, Any] = {}
    if customer_id is not None:
        params["c"] = customer_id
    if account_type is not None:
        params["type"] = account_type
    listing = {
        (False, False): "accounts",
        (False, True): "accounts_of_type",
        (True, False): "accounts_of_customer",
        (True, True): "accounts_of_customer_and_type",
    }[(customer_id is not None, account_type is not None)]
    if not storable(customer_id):
        # No stored id holds U+0000: such a customer has no accounts.
        if not tenant_exists(conn, tenant_id):
            return None
        found: tuple[int, list[Any]] | None = (0, [])
    else:
        found = _offset_page(
            conn, tenant_id, listing, params, limit, offset, customer_id is None, marks
        )
    return _listed("accounts", found, lambda row: _account_summary(tenant_id, row), limit, offset)


def get_account(conn: Connection, tenant_id: str, account_id: str) -> dict[str, Any] | None:
    if not storable(account_id):
        return None
    row = _run(conn, "account", {"t": tenant_id, "a": account_id}).fetchone()
    return None if row is None else _account_summary(tenant_id, row)


def account_exists(conn: Connection, tenant_id: str, account_id: str) -> bool:
    if not storable(account_id):
        return False
    return _run(conn, "account_exists", {"t": tenant_id, "a": account_id}).fetchone() is not None


# ------------------------------------------------------------------ event pages


def _page(rows: Sequence[Any], limit: int) -> dict[str, Any]:
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "events": [orjson.Fragment(envelope) for _, envelope in rows],
        "nextCursor": rows[-1][0] if more and rows else None,
    }


def account_event_page(
    conn: Connection, tenant_id: str, account_id: str, after: int, limit: int, offset: int = 0
) -> dict[str, Any] | None:
    """The events that touched the account, after `after` and then `offset` more, oldest
    first; None when the account does not exist (in this tenant)."""
    if not storable(account_id):
        return None
    rows = _run(
        conn,
        "account_events",
        {"t": tenant_id, "a": account_id, "after": after, "n": limit + 1, "skip": offset},
    ).fetchall()
    # Only an existing account has touches, so rows prove it exists; no rows may
    # also be a page past its last event.
    if not rows and not account_exists(conn, tenant_id, account_id):
        return None
    return _page(rows, limit)


def tenant_event_page(
    conn: Connection,
    tenant_id: str,
    after: int,
    limit: int,
    event_type: str | None = None,
    entity_id: str | None = None,
) -> dict[str, Any] | None:
    """The tenant's stream after `after`, optionally of one type and/or entity; None when
    there is no such tenant."""
    if not storable(tenant_id):
        return None
    if not storable(entity_id):
        return {"events": [], "nextCursor": None} if tenant_exists(conn, tenant_id) else None
    params: dict[str, Any] = {"t": tenant_id, "after": after, "n": limit + 1}
    name = "events"
    if entity_id is not None:
        params["entity"] = entity_id
        name = "events_of_entity"
    if event_type is not None:
        params["type"] = event_type
        name = "events_of_entity_and_type" if entity_id is not None else "events_of_type"
    rows = _run(conn, name, params).fetchall()
    if not rows and not tenant_exists(conn, tenant_id):
        return None
    return _page(rows, limit)
