"""As-of reads (an extension): balances at a past point, as the log sums them.

A point is either a sequence number (every event with `sequence` <= N) or a
booking date (every event booked on or before the date: an `EntryPosted` by its
`bookingDate`, any other event by the UTC date of `occurredAt`). The balances
are the postings' net changes summed (`events.net_changes`, the same numbers
`evolve` folds), never the `accounts` projection's balances; the projection only
says which accounts existed by then (an account's `ordinal` is the sequence of
the event that opened it).

The sums are stored as the log is appended, by the projections
(`store/projections.project`), so a read seeks them instead of summing the log:
each `account_events` row holds the account's running figures after its event
(as of a sequence: the account's last row at or before it), and `account_days`
what each booking day added (as of a date: the account's days up to it; a
booking date is not in log order, as entries may be back-dated). The functions
`*_from_log` sum the log itself, as these reads did before: the reference the
tests compare the stored figures with.

The trial balance is paged: its lines are the accounts in opening order (by
`ordinal`: one account per opening event), a page at a time, each line its
account's figures as above; its totals are the writers' kept totals
(`store/totals.py`: the tenant's row at the cut, or its days summed up to the date),
so no read sums every account.

One difference from the reference: the trial balance lists the projection's
accounts, so a posting to an account the `accounts` projection lacks (a drifted
store, which `mock-core rebuild --check` names) is listed by the reference only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, text

from mock_core.core.events import EntryPosted, FundsPosted, event_from_payload
from mock_core.money import to_number

POSTINGS = ("EntryPosted", "FundsPosted")

_TENANT = "SELECT base_currency, last_sequence FROM tenants WHERE tenant_id = :t"
_ACCOUNT = (
    "SELECT currency, ordinal, opened_at FROM accounts WHERE tenant_id = :t AND account_id = :a"
)
_ACCOUNTS = (
    "SELECT account_id, account_type, currency, ordinal, opened_at FROM accounts "
    "WHERE tenant_id = :t ORDER BY ordinal, account_id"
)
_ACCOUNT_EVENTS = (
    "SELECT e.sequence, e.event_type, e.envelope FROM account_events a "
    "JOIN events e ON e.tenant_id = a.tenant_id AND e.sequence = a.sequence "
    "WHERE a.tenant_id = :t AND a.account_id = :a AND a.sequence <= :cut ORDER BY a.sequence"
)
# The account's last row at or before the cut: its running figures then.
_ACCOUNT_AT = (
    "SELECT sequence, balance_minor, event_count FROM account_events "
    "WHERE tenant_id = :t AND account_id = :a AND sequence <= :cut "
    "ORDER BY sequence DESC LIMIT 1"
)
# The account's booking days up to the date (no more rows than days it had events).
_ACCOUNT_BY = (
    "SELECT sum(change_minor), sum(event_count), max(last_sequence) FROM account_days "
    "WHERE tenant_id = :t AND account_id = :a AND booking_date <= :d"
)
# A page of the events counted: the touches first, then each envelope by primary key
# (as queries._ACCOUNT_ENVELOPES, and for the same reason). As of a date the range is
# bounded by the last event counted, and rows booked later are passed over.
_PAGE = (
    "SELECT e.sequence, e.envelope FROM (SELECT sequence FROM account_events "
    "WHERE tenant_id = :t AND account_id = :a AND sequence > :after AND sequence <= :cut"
    "{booked} ORDER BY sequence LIMIT :n) AS counted "
    "JOIN events e ON e.tenant_id = :t AND e.sequence = counted.sequence ORDER BY e.sequence"
)
# A page of the accounts opened by the cut, with their running figures then: one seek of
# each one's last row at or before it (PostgreSQL: a lateral join; SQLite has none, so
# the row's key is sought first, then the row).
_LAST_ROW = (
    "SELECT x.sequence FROM account_events x WHERE x.tenant_id = a.tenant_id "
    "AND x.account_id = a.account_id AND x.sequence <= :cut ORDER BY x.sequence DESC LIMIT 1"
)
# (An account's ordinal is the sequence of the event that opened it, one account to an
# event: unique in its tenant, so the cursor, and the order needs no second key.)
_PAGE_OF_ACCOUNTS = (
    "WHERE a.tenant_id = :t AND a.ordinal > :after AND a.ordinal <= :cut "
    "ORDER BY a.ordinal LIMIT :n"
)
_TRIAL_AT = {
    "sqlite": "SELECT a.account_id, a.account_type, a.currency, a.ordinal, "
    "f.balance_minor FROM accounts a LEFT JOIN account_events f "
    "ON f.tenant_id = a.tenant_id AND f.account_id = a.account_id "
    f"AND f.sequence = ({_LAST_ROW}) {_PAGE_OF_ACCOUNTS}",
    "postgresql": "SELECT a.account_id, a.account_type, a.currency, a.ordinal, "
    "f.balance_minor FROM accounts a LEFT JOIN LATERAL "
    "(SELECT balance_minor FROM account_events x "
    "WHERE x.tenant_id = a.tenant_id AND x.account_id = a.account_id AND x.sequence <= :cut "
    f"ORDER BY x.sequence DESC LIMIT 1) AS f ON true {_PAGE_OF_ACCOUNTS}",
}
# A page of the accounts opened by the date (its end, UTC) or posted to by then (entries
# may be back-dated before an account's opening), each with its days up to it summed:
# one range of each account's days (SQLite: a join grouped by the account's ordinal,
# which keeps the index's order; PostgreSQL: a lateral sum).
_OPENED_OR_POSTED = "substr(a.opened_at, 1, 10) <= :d OR "
_TRIAL_BY = {
    "sqlite": "SELECT a.account_id, a.account_type, a.currency, a.ordinal, "
    "sum(x.change_minor) FROM accounts a LEFT JOIN account_days x "
    "ON x.tenant_id = a.tenant_id AND x.account_id = a.account_id AND x.booking_date <= :d "
    "WHERE a.tenant_id = :t AND a.ordinal > :after GROUP BY a.ordinal "
    f"HAVING {_OPENED_OR_POSTED}sum(x.postings) > 0 ORDER BY a.ordinal LIMIT :n",
    "postgresql": "SELECT a.account_id, a.account_type, a.currency, a.ordinal, f.balance "
    "FROM accounts a LEFT JOIN LATERAL (SELECT sum(x.change_minor) AS balance, "
    "sum(x.postings) AS postings FROM account_days x WHERE x.tenant_id = a.tenant_id "
    "AND x.account_id = a.account_id AND x.booking_date <= :d) AS f ON true "
    f"WHERE a.tenant_id = :t AND a.ordinal > :after AND ({_OPENED_OR_POSTED}f.postings > 0) "
    "ORDER BY a.ordinal LIMIT :n",
}
# The kept totals: the tenant's last row at or before the cut; its days up to the date.
_TOTALS_AT = (
    "SELECT debits_minor, credits_minor, postings FROM tenant_totals "
    "WHERE tenant_id = :t AND sequence <= :cut ORDER BY sequence DESC LIMIT 1"
)
_TOTALS_BY = (
    "SELECT sum(debits_minor), sum(credits_minor), sum(postings) FROM tenant_days "
    "WHERE tenant_id = :t AND booking_date <= :d"
)
_POSTINGS = (
    "SELECT sequence, envelope FROM events WHERE tenant_id = :t AND sequence <= :cut "
    "AND event_type IN ('EntryPosted', 'FundsPosted') ORDER BY sequence"
)


@dataclass(frozen=True, slots=True)
class AsOf:
    """The point asked for: exactly one of a sequence number and a booking date."""

    sequence: int | None = None
    date: str | None = None  # YYYY-MM-DD

    def cut(self, head: int) -> int:
        """The last sequence that may be included."""
        return head if self.sequence is None else min(self.sequence, head)

    def includes(self, envelope: dict[str, Any]) -> bool:
        """Whether an event (already within `cut`) counts at this point."""
        if self.date is None:
            return True
        return booking_date(envelope) <= self.date

    def opened_by(self, ordinal: int, opened_at: str, cut: int) -> bool:
        if self.date is None:
            return ordinal <= cut
        return opened_at[:10] <= self.date

    def as_json(self, cut: int) -> dict[str, Any]:
        return {"asOfSequence": self.sequence, "asOfDate": self.date, "throughSequence": cut}


def booking_date(envelope: dict[str, Any]) -> str:
    """An event's booking date: an entry's `bookingDate`, else its `occurredAt` date (UTC)."""
    payload = envelope.get("payload") or {}
    if envelope.get("eventType") == "EntryPosted" and "bookingDate" in payload:
        return str(payload["bookingDate"])
    return str(envelope["occurredAt"])[:10]


def _changes(envelope: dict[str, Any]) -> dict[str, int]:
    event = event_from_payload(envelope["eventType"], envelope["payload"])
    assert isinstance(event, EntryPosted | FundsPosted)
    return dict(event.changes)


def account_balance_from_log(
    conn: Connection,
    tenant_id: str,
    account_id: str,
    at: AsOf,
    after: int = 0,
    limit: int = 100,
) -> dict[str, Any] | None:
    """`account_balance`, by summing the account's events in the log (the reference)."""
    found = _account(conn, tenant_id, account_id)
    if found is None:
        return None
    account, cut = found[0], at.cut(found[1])
    balance = count = 0
    page: list[orjson.Fragment] = []
    more = False
    last = page_last = None
    for sequence, event_type, stored in conn.execute(
        text(_ACCOUNT_EVENTS), {"t": tenant_id, "a": account_id, "cut": cut}
    ):
        envelope = orjson.loads(stored)
        if not at.includes(envelope):
            continue
        count += 1
        last = sequence
        if event_type in POSTINGS:
            balance += _changes(envelope).get(account_id, 0)
        if sequence > after:
            if len(page) < limit:
                page.append(orjson.Fragment(stored))
                page_last = sequence
            else:
                more = True
    figures = (balance, count, last)
    return _account_reply(tenant_id, account_id, account, at, cut, figures, page, page_last, more)


def _account(conn: Connection, tenant_id: str, account_id: str) -> tuple[Any, int] | None:
    """The account's (currency, ordinal, opened_at) and its tenant's head, or None."""
    tenant = conn.execute(text(_TENANT), {"t": tenant_id}).first()
    account = conn.execute(text(_ACCOUNT), {"t": tenant_id, "a": account_id}).first()
    if tenant is None or account is None:
        return None
    return account, int(tenant[1])


def _account_reply(
    tenant_id: str,
    account_id: str,
    account: Any,
    at: AsOf,
    cut: int,
    figures: tuple[Any, Any, Any],
    page: list[orjson.Fragment],
    page_last: int | None,
    more: bool,
) -> dict[str, Any]:
    """The reply: the account, the point, its (balance, event count, last sequence), a page."""
    balance, count, last = figures
    return {
        "tenantId": tenant_id,
        "accountId": account_id,
        "currency": account[0],
        **at.as_json(cut),
        "opened": at.opened_by(int(account[1]), account[2], cut),
        "balance": to_number(int(balance or 0)),
        "eventCount": int(count or 0),
        "lastEventSequence": None if last is None else int(last),
        "events": page,
        "nextCursor": page_last if more else None,
    }


def trial_balance_from_log(conn: Connection, tenant_id: str, at: AsOf) -> dict[str, Any] | None:
    """`trial_balance`, by summing the postings in the log (the reference)."""
    tenant = conn.execute(text(_TENANT), {"t": tenant_id}).first()
    if tenant is None:
        return None
    cut = at.cut(int(tenant[1]))
    balances: dict[str, int] = {}
    postings = 0
    for _, stored in conn.execute(text(_POSTINGS), {"t": tenant_id, "cut": cut}):
        envelope = orjson.loads(stored)
        if not at.includes(envelope):
            continue
        postings += 1
        for account_id, change in _changes(envelope).items():
            balances[account_id] = balances.get(account_id, 0) + change
    lines = (
        (account_id, kind, currency, ordinal, opened_at, balances.pop(account_id, None))
        for account_id, kind, currency, ordinal, opened_at in conn.execute(
            text(_ACCOUNTS), {"t": tenant_id}
        )
    )
    return _trial(tenant_id, str(tenant[0]), at, cut, lines, balances, postings)


def _trial(
    tenant_id: str,
    currency: str,
    at: AsOf,
    cut: int,
    lines: Iterable[tuple[str, str, str, int, str, int | None]],
    lacking: dict[str, int],
    postings: int,
) -> dict[str, Any]:
    """The trial balance: `lines` (each account of the projection, in opening order, with
    its balance if it was posted to by then, else None), then `lacking` (accounts posted
    to that the projection lacks: the log is the truth), and the totals."""
    rows = []
    debits = credits = 0
    for account_id, kind, account_currency, ordinal, opened_at, posted in lines:
        if posted is None and not at.opened_by(int(ordinal), opened_at, cut):
            continue
        minor = posted or 0
        debits += max(minor, 0)
        credits += max(-minor, 0)
        line: dict[str, Any] = {"accountId": account_id, "accountType": kind}
        rows.append({**line, "currency": account_currency, "balance": to_number(minor)})
    for account_id, minor in sorted(lacking.items()):
        debits += max(minor, 0)
        credits += max(-minor, 0)
        line = {"accountId": account_id, "accountType": None, "currency": currency}
        rows.append({**line, "balance": to_number(minor)})
    return _trial_reply(tenant_id, currency, at, cut, rows, (debits, credits, postings), None)


def _trial_reply(
    tenant_id: str,
    currency: str,
    at: AsOf,
    cut: int,
    rows: list[dict[str, Any]],
    totals: tuple[int, int, int],
    next_cursor: int | None,
) -> dict[str, Any]:
    debits, credits, postings = totals
    return {
        "tenantId": tenant_id,
        "currency": currency,
        **at.as_json(cut),
        "postings": postings,
        "accounts": rows,
        "totalDebits": to_number(debits),
        "totalCredits": to_number(credits),
        "sum": to_number(debits - credits),
        "nextCursor": next_cursor,
    }


def account_balance(
    conn: Connection,
    tenant_id: str,
    account_id: str,
    at: AsOf,
    after: int = 0,
    limit: int = 100,
) -> dict[str, Any] | None:
    """The account's balance and its events at `at`; None for an unknown tenant or account."""
    found = _account(conn, tenant_id, account_id)
    if found is None:
        return None
    account, cut = found[0], at.cut(found[1])
    params: dict[str, Any] = {"t": tenant_id, "a": account_id, "cut": cut, "d": at.date}
    if at.date is None:
        row = conn.execute(text(_ACCOUNT_AT), params).first()
        last, balance, count = (None, 0, 0) if row is None else (int(row[0]), *row[1:])
        booked = ""
    else:
        balance, count, last = conn.execute(text(_ACCOUNT_BY), params).one()
        booked = " AND booking_date <= :d"
    page: list[orjson.Fragment] = []
    more = False
    page_last = None
    if last is not None and last > after:
        # The page's range ends at the last event counted; one more row says there is more.
        params.update(cut=last, after=after, n=limit + 1)
        for sequence, stored in conn.execute(text(_PAGE.format(booked=booked)), params):
            if len(page) == limit:
                more = True
                break
            page.append(orjson.Fragment(stored))
            page_last = sequence
    figures = (balance, count, last)
    return _account_reply(tenant_id, account_id, account, at, cut, figures, page, page_last, more)


def trial_balance(
    conn: Connection, tenant_id: str, at: AsOf, after: int = 0, limit: int = 50
) -> dict[str, Any] | None:
    """A page of the tenant's trial balance at `at`: up to `limit` lines of the accounts
    opened by then (or posted to), in opening order after the cursor `after`, and the
    totals of every account, summing to zero; None for an unknown tenant."""
    tenant = conn.execute(text(_TENANT), {"t": tenant_id}).first()
    if tenant is None:
        return None
    cut = at.cut(int(tenant[1]))
    params = {"t": tenant_id, "cut": cut, "d": at.date, "after": after, "n": limit + 1}
    if at.date is None:
        found = conn.execute(text(_TRIAL_AT[conn.dialect.name]), params).all()
        kept = conn.execute(text(_TOTALS_AT), params).first()
    else:
        found = conn.execute(text(_TRIAL_BY[conn.dialect.name]), params).all()
        kept = conn.execute(text(_TOTALS_BY), params).one()
    more = len(found) > limit
    rows = [
        {
            "accountId": account_id,
            "accountType": kind,
            "currency": currency,
            "balance": to_number(int(balance or 0)),
        }
        for account_id, kind, currency, _, balance in found[:limit]
    ]
    debits, credits, postings = (int(f or 0) for f in kept) if kept is not None else (0, 0, 0)
    next_cursor = int(found[limit - 1][3]) if more else None
    figures = (debits, credits, postings)
    return _trial_reply(tenant_id, str(tenant[0]), at, cut, rows, figures, next_cursor)
