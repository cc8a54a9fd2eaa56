"""An account's postings and balance over time, read from its events, and the chart.

The contract's sign convention: a DEBIT leg adds to an account's balance and a
CREDIT leg subtracts, so balance = sum(debits) - sum(credits). Amounts are JSON
numbers with the currency's minor digits; here they are integer minor units
(2 digits: the contract's currencies), and become text only when shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape
from typing import Any

MINOR_DIGITS = 2
POSTING_EVENTS = frozenset({"EntryPosted", "FundsPosted"})
CHART_WIDTH = 720
CHART_HEIGHT = 240
CHART_PAD = 48


def to_minor(amount: Any) -> int:
    """A JSON amount as integer minor units (exact: through its decimal text)."""
    return int((Decimal(str(amount)) * 10**MINOR_DIGITS).to_integral_value())


def money(minor: int) -> str:
    """Minor units as text with the currency's digits and thousands separators."""
    sign = "-" if minor < 0 else ""
    whole, cents = divmod(abs(minor), 10**MINOR_DIGITS)
    return f"{sign}{whole:,}.{cents:0{MINOR_DIGITS}d}"


@dataclass(frozen=True)
class Posting:
    """One leg on the account: its event, date, narrative and signed effect."""

    sequence: int
    event_type: str
    entry_id: str
    date: str
    narrative: str
    direction: str
    amount: int
    delta: int
    balance: int
    counterparties: tuple[str, ...]


def postings(
    account_id: str, events: Iterable[Mapping[str, Any]], opening: int = 0
) -> list[Posting]:
    """The account's legs in `events` (oldest first) with the running balance from
    `opening`."""
    out: list[Posting] = []
    balance = opening
    for event in events:
        if event.get("eventType") not in POSTING_EVENTS:
            continue
        payload = event.get("payload") or {}
        legs = payload.get("legs") or []
        others = tuple(
            sorted({str(leg["accountId"]) for leg in legs if leg["accountId"] != account_id})
        )
        date = str(payload.get("bookingDate") or str(event.get("occurredAt", ""))[:10])
        for leg in legs:
            if leg.get("accountId") != account_id:
                continue
            amount = to_minor(leg["amount"])
            delta = amount if leg["direction"] == "DEBIT" else -amount
            balance += delta
            out.append(
                Posting(
                    sequence=int(event.get("sequence") or 0),
                    event_type=str(event["eventType"]),
                    entry_id=str(payload.get("entryId", "")),
                    date=date,
                    narrative=str(payload.get("narrative", "")),
                    direction=str(leg["direction"]),
                    amount=amount,
                    delta=delta,
                    balance=balance,
                    counterparties=others,
                )
            )
    return out


def opening_balance(account_id: str, events: Sequence[Mapping[str, Any]]) -> int | None:
    """The account's balance just before `events` (a window of its stream that does not
    start at its opening), read from the window's first AccountBalanceUpdated: that
    balance holds every posting before it, so the opening is it less the window's
    postings before it. None when the window has no balance update."""
    before = 0
    for event in events:
        payload = event.get("payload") or {}
        if event.get("eventType") == "AccountBalanceUpdated" and (
            payload.get("accountId") == account_id
        ):
            return to_minor(payload["balance"]) - before
        if event.get("eventType") in POSTING_EVENTS:
            before += sum(
                to_minor(leg["amount"]) * (1 if leg["direction"] == "DEBIT" else -1)
                for leg in payload.get("legs") or []
                if leg.get("accountId") == account_id
            )
    return None


@dataclass(frozen=True)
class DayBalance:
    """The balance at the end of a booking date."""

    date: str
    balance: int


def daily_balances(items: Sequence[Posting]) -> list[DayBalance]:
    """The closing balance of each booking date that has a posting, in date order.

    Postings come in sequence order; an entry may be booked on an earlier date than
    one before it, so the closing balance of a date is the sum up to the last
    posting of the latest date seen so far (the ledger's order, not a re-sort)."""
    closing: dict[str, int] = {}
    for posting in items:
        closing[posting.date] = posting.balance
    return [DayBalance(date, closing[date]) for date in sorted(closing)]


def balance_chart(days: Sequence[DayBalance], *, title: str, currency: str) -> str:
    """An accessible SVG line chart of the daily balances (role="img", title, desc)."""
    if not days:
        desc = "No postings yet."
        points: list[tuple[float, float]] = []
        low = high = 0
    else:
        low = min(0, *(d.balance for d in days))
        high = max(0, *(d.balance for d in days))
        desc = (
            f"{len(days)} days from {days[0].date} to {days[-1].date}; lowest "
            f"{money(low)} {currency}, highest {money(high)} {currency}, last "
            f"{money(days[-1].balance)} {currency}."
        )
        span_y = (high - low) or 1
        span_x = max(len(days) - 1, 1)
        inner_w = CHART_WIDTH - 2 * CHART_PAD
        inner_h = CHART_HEIGHT - 2 * CHART_PAD
        points = [
            (
                CHART_PAD + inner_w * i / span_x,
                CHART_PAD + inner_h * (high - d.balance) / span_y,
            )
            for i, d in enumerate(days)
        ]
    zero_y = CHART_PAD + (CHART_HEIGHT - 2 * CHART_PAD) * (high / ((high - low) or 1))
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    parts = [
        f'<svg data-testid="balance-chart" role="img" aria-labelledby="chart-title chart-desc" '
        f'viewBox="0 0 {CHART_WIDTH} {CHART_HEIGHT}" class="chart" '
        f'preserveAspectRatio="xMidYMid meet">',
        f'<title id="chart-title">{escape(title)}</title>',
        f'<desc id="chart-desc">{escape(desc)}</desc>',
        f'<line class="axis" x1="{CHART_PAD}" x2="{CHART_WIDTH - CHART_PAD}" '
        f'y1="{zero_y:.1f}" y2="{zero_y:.1f}"/>',
        f'<text class="label" x="4" y="{CHART_PAD}">{escape(money(high))}</text>',
        f'<text class="label" x="4" y="{CHART_HEIGHT - CHART_PAD}">{escape(money(low))}</text>',
    ]
    if days:
        parts.append(
            f'<text class="label" x="{CHART_PAD}" y="{CHART_HEIGHT - 12}">'
            f"{escape(days[0].date)}</text>"
        )
        parts.append(
            f'<text class="label" text-anchor="end" x="{CHART_WIDTH - CHART_PAD}" '
            f'y="{CHART_HEIGHT - 12}">{escape(days[-1].date)}</text>'
        )
    if len(points) == 1:
        x, y = points[0]
        parts.append(f'<circle class="line" cx="{x:.1f}" cy="{y:.1f}" r="3"/>')
    elif points:
        parts.append(f'<polyline class="line" fill="none" points="{line}"/>')
    parts.append("</svg>")
    return "".join(parts)
