"""As-of reads (an extension): balances computed from the log at a past point.

A point is either a sequence number (every event with `sequence` <= N) or a
booking date (every posting booked on or before the date: an `EntryPosted` by
its `bookingDate`, a `FundsPosted` by the UTC date of `occurredAt`). The balances
are the postings' net changes summed (`events.net_changes`, the same numbers
`evolve` folds), read from the log, never from the `accounts` projection; the
projection only says which accounts existed by then (an account's `ordinal` is
the sequence of the event that opened it).
"""

from __future__ import annotations

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


def account_balance(
    conn: Connection,
    tenant_id: str,
    account_id: str,
    at: AsOf,
    after: int = 0,
    limit: int = 100,
) -> dict[str, Any] | None:
    """The account's balance and its events at `at`; None for an unknown tenant or account."""
    tenant = conn.execute(text(_TENANT), {"t": tenant_id}).first()
    account = conn.execute(text(_ACCOUNT), {"t": tenant_id, "a": account_id}).first()
    if tenant is None or account is None:
        return None
    cut = at.cut(int(tenant[1]))
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
    return {
        "tenantId": tenant_id,
        "accountId": account_id,
        "currency": account[0],
        **at.as_json(cut),
        "opened": at.opened_by(int(account[1]), account[2], cut),
        "balance": to_number(balance),
        "eventCount": count,
        "lastEventSequence": last,
        "events": page,
        "nextCursor": page_last if more else None,
    }


def trial_balance(conn: Connection, tenant_id: str, at: AsOf) -> dict[str, Any] | None:
    """Every account's balance at `at` (those opened by then, or posted to), summing to zero."""
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
    rows = []
    debits = credits = 0
    for account_id, kind, currency, ordinal, opened_at in conn.execute(
        text(_ACCOUNTS), {"t": tenant_id}
    ):
        minor = balances.pop(account_id, None)
        if minor is None and not at.opened_by(int(ordinal), opened_at, cut):
            continue
        minor = minor or 0
        debits += max(minor, 0)
        credits += max(-minor, 0)
        row = {"accountId": account_id, "accountType": kind, "currency": currency}
        rows.append({**row, "balance": to_number(minor)})
    # A posting to an account the projection lacks is still counted (the log is the truth).
    for account_id, minor in sorted(balances.items()):
        debits += max(minor, 0)
        credits += max(-minor, 0)
        row = {"accountId": account_id, "accountType": None, "currency": tenant[0]}
        rows.append({**row, "balance": to_number(minor)})
    return {
        "tenantId": tenant_id,
        "currency": tenant[0],
        **at.as_json(cut),
        "postings": postings,
        "accounts": rows,
        "totalDebits": to_number(debits),
        "totalCredits": to_number(credits),
        "sum": to_number(debits - credits),
    }
