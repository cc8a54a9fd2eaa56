"""The simulated days of one member: salaries, card spend, bills, transfers, payments,
repayments, and the deliberately invalid entries, kept within each account's bounds."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from twin.generators.draws import (
    _between,
)
from twin.generators.plan import (
    PlannedCommand,
    command_id_for,
)
from twin.generators.vocabulary import (
    _CARD_PAYMENT_TAGS,
    _NARRATIVE,
    _SPEND_NARRATIVE,
    _TAGS,
    GL_ATM_CLEARING,
    GL_BPAY_CLEARING,
    GL_CARD_CLEARING,
    GL_NPP_CLEARING,
    GL_SALARY_CLEARING,
    GL_UNKNOWN,
    _tag_value,
    days_per_block,
    entry_amount_minor_max,
    pay_hour_first,
)
from twin.model import Member

if TYPE_CHECKING:
    from twin.generators.planner import Planner


def simulate_member(planner: Planner, m: Member, out: list[list[PlannedCommand]]) -> None:
    """Plan one member's days into `out`, moving their local ledger as it goes.

    Everything a day needs is drawn on that day (or, for the "per month" counts, on
    the first day of the 30-day block), so a shorter run is a prefix of a longer one.
    """
    tx = planner.scenario.transactions
    rng = random.Random(f"{planner.seed}:{m.local_id}")
    rand = rng.random
    bad = random.Random(f"{planner.seed}:invalid:{m.local_id}") if planner.invalid_q else None
    lid = m.local_id
    card = m.accounts.get("CC")
    cycle = tx.salary_pay_cycle_days
    save_every = tx.savings_transfer_frequency_days
    on_time = tx.loan_repayment_on_time_probability
    late_lo, late_hi = tx.loan_repayment_late_days_range
    repay_dom = tx.loan_repayment_day_of_month
    monthly = [
        ("bpay", m.pays_bills, tx.bill_payments_per_month, (9, 17)),
        ("npp", m.uses_npp, tx.npp_payments_per_month, (8, 22)),
        ("atm", m.uses_atm, tx.atm_withdrawals_per_month, None),
        ("credit_card_purchase", card is not None, tx.credit_card_transactions_per_month, None),
    ]
    hour_pick, hour_spans = planner.hour_choice.pick, planner.hour_spans
    spend_trials, spend_p, n_days = planner.spend_trials, planner.spend_p, planner.days
    clock, prefix, skipped = planner.clock, planner.key_prefix, planner.skipped
    pending: dict[int, list[tuple[int, int, str, Any]]] = {}
    order = 0

    def when(hours: tuple[int, int] | None) -> int:
        if hours is None:
            lo, hi = hour_spans[hour_pick(rng)]
        else:
            lo, hi = hours[0] * 3600, hours[1] * 3600
        return lo + int(rand() * (hi - lo))

    for day in range(n_days):
        if day % days_per_block == 0:
            for kind, active, (lo_n, hi_n), hours in monthly:
                if not active:
                    continue
                for _ in range(_between(rand, lo_n, hi_n)):
                    target = day + int(rand() * days_per_block)
                    second = when(hours)
                    if target < n_days:
                        order += 1
                        pending.setdefault(target, []).append((second, order, kind, None))
        events = pending.pop(day, [])
        if m.pay_offset is not None and day >= m.pay_offset:
            since = day - m.pay_offset
            if since % cycle == 0:
                order += 1
                second = pay_hour_first * 3600 + int(rand() * 3600)
                events.append((second, order, "salary", None))
            if m.savings_fraction and since % save_every == 0:
                order += 1
                second = (pay_hour_first + 1) * 3600 + int(rand() * 1800)
                events.append((second, order, "savings_transfer", None))
        p = spend_p[day]
        for _ in range(spend_trials):
            if rand() < p:
                order += 1
                events.append((when(None), order, "card_spend", None))
        if planner.day_of_month[day] == repay_dom:
            for slot in m.repayments:
                order += 1
                event = (9 * 3600 + int(rand() * 3600), order, "loan_repayment", slot)
                if rand() < on_time:
                    events.append(event)
                else:
                    target = day + _between(rand, late_lo, late_hi)
                    if target < n_days:
                        pending.setdefault(target, []).append(event)
        if (
            card is not None
            and planner.day_of_month[day] == m.card_due_day
            and rand() < tx.credit_card_payment_probability
        ):
            order += 1
            mode = planner.card_payment_choice.pick(rng)
            events.append((10 * 3600 + int(rand() * 3600), order, "card_repayment", mode))
        events.sort()
        todays = out[day]
        date = clock.dates[day + 1]
        seq = bad_seq = 0
        for second, _, kind, arg in events:
            posting = _event(planner, rand, m, kind, arg)
            if posting is None:
                skipped[kind] += 1
                continue
            credit, debit, amount, narrative, tags = posting
            seq += 1
            at = clock.at(day, second)
            key = f"{prefix}{kind}:{lid}:{date}:{seq}"
            value = amount / 100
            payload = {
                "bookingDate": date,
                "valueDate": date,
                "currency": planner.currency,
                "legs": [
                    {"accountId": credit, "direction": "CREDIT", "amount": value},
                    {"accountId": debit, "direction": "DEBIT", "amount": value},
                ],
                "narrative": narrative,
                "tags": tags,
            }
            todays.append(
                PlannedCommand(
                    "simulate",
                    day,
                    lid,
                    "PostEntry",
                    key,
                    command_id_for(key),
                    at,
                    payload,
                    None,
                    None,
                    kind,
                )
            )
            if bad is not None and bad.random() < planner.invalid_q:
                # A count of its own keeps the valid commands' keys what they are
                # without invalid ones.
                bad_seq += 1
                todays.append(_invalid(planner, bad, m, day, bad_seq, at))


def _pay_out(
    account: Any, amount: int, gl: str, narrative: str, tags: dict[str, str]
) -> tuple[Any, Any, int, str, dict[str, str]] | None:
    """A payment of `amount` out of `account` to the GL account `gl`, as `_event` returns
    it; None (and the ledger unmoved) when the funds are short."""
    if amount > account.room_to_credit():
        return None
    account.credit(amount)
    return {"$ref": account.ref}, gl, amount, narrative, tags


def _event(
    planner: Planner, rand: Callable[[], float], m: Member, kind: str, arg: Any
) -> tuple[Any, Any, int, str, dict[str, str]] | None:
    """Draw one event's amount, check the bounds and move the ledger.

    Returns (CREDIT account, DEBIT account, minor units, narrative, tags), each account
    a GL code or a {"$ref": ...}; None when the event is skipped to keep within bounds.
    Payments are skipped when the funds are short; transfers and repayments shrink.
    """
    txn = m.accounts["TXN"]
    if kind == "card_spend":
        size = planner.spend_choice.pick_with(rand)
        amount = _between(rand, *planner.spend_ranges[size])
        return _pay_out(
            txn,
            amount,
            GL_CARD_CLEARING,
            f"Card purchase - {_SPEND_NARRATIVE.get(size, size)}",
            planner.spend_tags[size],
        )
    if kind == "salary":
        variation = planner.scenario.transactions.salary_variation
        amount = round(m.salary_minor * (1 + variation * (2 * rand() - 1)))
        room = txn.room_to_debit()
        amount = amount if room is None else min(amount, room)
        if amount <= 0:
            return None
        txn.debit(amount)
        m.last_salary_minor = amount
        return GL_SALARY_CLEARING, {"$ref": txn.ref}, amount, _NARRATIVE[kind], _TAGS[kind]
    if kind == "savings_transfer":
        sav = m.accounts["SAV"]
        amount = round(m.last_salary_minor * m.savings_fraction)
        room = sav.room_to_debit()
        amount = min(amount, txn.room_to_credit(), amount if room is None else room)
        if amount <= 0:
            return None
        txn.credit(amount)
        sav.debit(amount)
        return {"$ref": txn.ref}, {"$ref": sav.ref}, amount, _NARRATIVE[kind], _TAGS[kind]
    if kind == "bpay":
        categories = planner.bill_categories
        category = categories[int(rand() * len(categories))]
        amount = _between(rand, *planner.bill_ranges[category])
        return _pay_out(
            txn, amount, GL_BPAY_CLEARING, f"BPAY {category}", planner.bill_tags[category]
        )
    if kind == "npp":
        amount = _between(rand, *planner.npp_range)
        return _pay_out(txn, amount, GL_NPP_CLEARING, _NARRATIVE[kind], _TAGS[kind])
    if kind == "atm":
        lo, hi = planner.atm_range
        # Notes come in tens of dollars; a range without one falls back to cents.
        tens_lo, tens_hi = -(-lo // 1000), hi // 1000
        if tens_lo <= tens_hi:
            amount = _between(rand, tens_lo, tens_hi) * 1000
        else:
            amount = _between(rand, lo, hi)
        return _pay_out(txn, amount, GL_ATM_CLEARING, _NARRATIVE[kind], _TAGS[kind])
    if kind == "credit_card_purchase":
        card = m.accounts["CC"]
        amount = _between(rand, *planner.cc_range)
        return _pay_out(card, amount, GL_CARD_CLEARING, "Credit card purchase", _TAGS[kind])
    if kind == "loan_repayment":
        loan = m.accounts[arg]
        owed = loan.room_to_debit()
        assert owed is not None
        amount = min(m.repayments[arg], owed, txn.room_to_credit())
        if amount <= 0:
            return None
        txn.credit(amount)
        loan.debit(amount)
        narrative = f"Loan repayment {loan.product_code}"
        return {"$ref": txn.ref}, {"$ref": loan.ref}, amount, narrative, _TAGS[kind]
    if kind == "card_repayment":
        card = m.accounts["CC"]
        owed = -card.balance
        tx = planner.scenario.transactions
        if arg == "full_balance":
            amount = owed
        elif arg == "minimum":
            amount = max(
                round(owed * tx.credit_card_minimum_payment_rate), planner.min_payment_floor
            )
        else:
            lo_f, hi_f = tx.credit_card_partial_payment_range
            amount = round(owed * (lo_f + (hi_f - lo_f) * rand()))
        amount = min(amount, owed, txn.room_to_credit())
        if amount <= 0:
            return None
        txn.credit(amount)
        card.debit(amount)
        tags = _CARD_PAYMENT_TAGS.get(arg) or {
            "category": "CARD_REPAYMENT",
            "channel": "INTERNAL",
            "paymentType": _tag_value(str(arg)),
        }
        return {"$ref": txn.ref}, {"$ref": card.ref}, amount, _NARRATIVE[kind], tags
    raise AssertionError(f"unknown event kind {kind!r}")


def _invalid(
    planner: Planner, rng: random.Random, m: Member, day: int, seq: int, at: str
) -> PlannedCommand:
    """A PostEntry the service must refuse with the drawn invariant; the ledger stays."""
    assert planner.invalid_choice is not None
    invariant = planner.invalid_choice.pick(rng)
    return invalid_entry(planner, rng, m, day, seq, at, invariant)


def invalid_entry(
    planner: Planner,
    rng: random.Random,
    m: Member,
    day: int,
    seq: int,
    at: str,
    invariant: str,
) -> PlannedCommand:
    """A PostEntry on `m`'s accounts ("TXN", "SAV") the service must refuse with
    `invariant` (one of InvalidCommandsConfig's), from the model's balances: past the
    TXN account's floor (OVERDRAFT_LIMIT_EXCEEDED, also when SAV has no maximum),
    past the SAV account's maximum (MAX_BALANCE_EXCEEDED), ... (`twin run --probe`
    uses it too)."""
    txn, sav = m.accounts["TXN"], m.accounts["SAV"]
    small = rng.randint(100, 5000)
    value_day: int | None = None
    legs: list[tuple[Any, str, int]]
    sav_room = sav.room_to_debit()
    if invariant == "MAX_BALANCE_EXCEEDED" and sav_room is not None:
        amount = sav_room + small
        legs = [(GL_NPP_CLEARING, "CREDIT", amount), (sav, "DEBIT", amount)]
    elif invariant == "LEGS_MUST_BALANCE":
        legs = [
            (txn, "CREDIT", small),
            (GL_CARD_CLEARING, "DEBIT", small + rng.randint(1, 100)),
        ]
    elif invariant == "VALUE_DATE_BEFORE_BOOKING_DATE":
        legs = [(GL_NPP_CLEARING, "CREDIT", small), (txn, "DEBIT", small)]
        value_day = day - 1
    elif invariant == "ACCOUNT_MUST_EXIST":
        legs = [(GL_UNKNOWN, "CREDIT", small), (txn, "DEBIT", small)]
    else:
        # OVERDRAFT_LIMIT_EXCEEDED, also standing in for MAX_BALANCE_EXCEEDED when the
        # savings product has no maximum.
        invariant = "OVERDRAFT_LIMIT_EXCEEDED"
        amount = txn.room_to_credit() + small
        legs = [(txn, "CREDIT", amount), (GL_CARD_CLEARING, "DEBIT", amount)]
    assert all(0 < amount <= entry_amount_minor_max for _, _, amount in legs)
    tags = {"category": "INVALID_ENTRY", "expectedInvariant": invariant}
    payload = planner.entry(day, legs, f"Deliberately invalid: {invariant}", tags, value_day)
    return planner.command(
        "simulate",
        day,
        m.local_id,
        "PostEntry",
        f"invalid:{m.local_id}:{planner.clock.date(day)}:{seq}",
        at,
        payload,
        "invalid_entry",
        expect=invariant,
    )
