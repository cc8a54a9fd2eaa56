"""The trial balance's totals, kept as the log is appended (`tenant_totals`, `tenant_days`).

The trial balance (store/asof.py) sums every account's balance at a point into
`totalDebits` (the positive balances) and `totalCredits` (the negative ones,
negated). Summing them at read time means reading every account; these totals are
kept instead, by the writers, from each posting leg and the balance it moves:

- as of a sequence: a row per posting event with the tenant's totals after it
  (`tenant_totals`);
- as of a date: a row per booking day with what that day adds to the totals
  (`tenant_days`, summed up to the date). A leg booked on day d moves its account's
  balance as of every date from d on, so it moves the tenant's totals of each later
  date by an amount that depends on the account's balance then: it needs the
  account's booking days after d (`account_days`, as stored before the leg).

`keep` does the arithmetic for both writers (SQLite's `sqlite.FiguresBulk`,
PostgreSQL's `postgres.UnnestBulk`), which read what it needs first. A rebuild
computes the same rows from the projections in SQL (`rebuild.fill_statements`): the
reference they are checked against.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# (tenant, account, sequence, booking day, change, leads (0/1), balance before): one leg
# of a posting event, in log order.
Leg = tuple[str, str, int, str, int, int, int]
# The tenant's totals at its head: debits, credits, posting events.
Figures = list[int]

SQL = {
    "insert_totals": "INSERT INTO tenant_totals (tenant_id, sequence, debits_minor, "
    "credits_minor, postings) VALUES (?, ?, ?, ?, ?)",
    "upsert_tenant_day": "INSERT INTO tenant_days (tenant_id, booking_date, debits_minor, "
    "credits_minor, postings) VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant_id, booking_date) "
    "DO UPDATE SET debits_minor = tenant_days.debits_minor + excluded.debits_minor, "
    "credits_minor = tenant_days.credits_minor + excluded.credits_minor, "
    "postings = tenant_days.postings + excluded.postings",
}
# The tenant's totals at its head (its last row), and an account's booking days from a day on
# (`keep` needs those after it; the day's own is harmless).
LAST_TOTALS = (
    "SELECT debits_minor, credits_minor, postings FROM tenant_totals WHERE tenant_id = ? "
    "ORDER BY sequence DESC LIMIT 1"
)
# (A day that booked no net change, an opening's say, moves nothing: left out.)
DAYS_FROM = (
    "SELECT booking_date, change_minor FROM account_days WHERE tenant_id = ? AND account_id = ? "
    "AND booking_date >= ? AND change_minor <> 0"
)


def _moved(balance: int, change: int) -> tuple[int, int]:
    """What moving one account's balance by `change` does to (debits, credits)."""
    after = balance + change
    debits = (after if after > 0 else 0) - (balance if balance > 0 else 0)
    credits = (-after if after < 0 else 0) - (-balance if balance < 0 else 0)
    return debits, credits


def day_spans(rows: Iterable[tuple[Any, ...]]) -> dict[tuple[str, str], list[str]]:
    """Each account's earliest and latest booking day among `rows` (legs, or account_events
    rows: tenant, account, sequence, day first): `keep` needs its days after the earliest."""
    spans: dict[tuple[str, str], list[str]] = {}
    for t, a, _, day, *_ in rows:
        span = spans.get((t, a))
        if span is None:
            spans[(t, a)] = [day, day]
        elif day < span[0]:
            span[0] = day
        elif day > span[1]:
            span[1] = day
    return spans


def keep(
    legs: list[Leg],
    totals: dict[str, Figures],
    days: dict[tuple[str, str], dict[str, int]],
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The `tenant_totals` rows and the `tenant_days` additions of `legs`.

    `totals` holds each tenant's totals at its head and `days` each account's booking
    days with a net change (day -> change), at least those after its first day in
    `legs`, as stored before them; both move on with the legs. Returns (tenant,
    sequence, debits, credits, postings) rows, one per posting event, and (tenant, day,
    debits, credits, postings) rows to add.
    """
    rows: list[tuple[Any, ...]] = []
    added: dict[tuple[str, str], list[int]] = {}
    last = len(legs) - 1
    for i, (t, a, sequence, day, change, led, balance) in enumerate(legs):
        # (`_moved`, written out: this runs for every leg of every posting.)
        after = balance + change
        debits = (after if after > 0 else 0) - (balance if balance > 0 else 0)
        credits = (-after if after < 0 else 0) - (-balance if balance < 0 else 0)
        figures = totals[t]
        figures[0] += debits
        figures[1] += credits
        figures[2] += led
        if i == last or legs[i + 1][2] != sequence or legs[i + 1][0] != t:
            rows.append((t, sequence, *figures))
        # As of a date: the account's balance as of `day` is its balance less what its
        # later days booked; each later day where what the leg moves changes is a step.
        account = days[(t, a)]
        later = [d for d in account if d > day]
        if later:
            later.sort()
            as_of = balance
            for d in later:
                as_of -= account[d]
            debits, credits = step = _moved(as_of, change)
        _add(added, t, day, debits, credits, led)
        for d in later:
            as_of += account[d]
            moved = _moved(as_of, change)
            if moved != step:
                _add(added, t, d, moved[0] - step[0], moved[1] - step[1], 0)
                step = moved
        account[day] = account.get(day, 0) + change
    return rows, [(t, d, *figures) for (t, d), figures in added.items()]


def _add(
    added: dict[tuple[str, str], list[int]], t: str, day: str, debits: int, credits: int, led: int
) -> None:
    figures = added.get((t, day))
    if figures is None:
        added[(t, day)] = [debits, credits, led]
    else:
        figures[0] += debits
        figures[1] += credits
        figures[2] += led
