"""The trial balance's kept totals (store/totals.py) and its pages, on SQLite and
PostgreSQL: figures worked out by hand for back-dated postings that move the totals of
later days, every page carrying the totals of every account, and the pages walked by
their cursor giving the lines the log sums to."""

from __future__ import annotations

from typing import Any

from mock_core.settings import Settings
from mock_core.store import asof
from tests.mock_core.conftest import TENANT, Api
from tests.mock_core.test_asof_figures import TODAY, _json
from tests.mock_core.test_rebuild import owner

SALARY, CARD = "GL_SALARY_CLEARING", "GL_CARD_CLEARING"
EARLY, LATE, LATER = "2024-12-30", "2025-01-02", "2025-01-03"


def _trial(api: Api, **params: Any) -> dict[str, Any]:
    reply = api.get(f"/tenants/{TENANT}/trial-balance", **params)
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def _totals(body: dict[str, Any]) -> tuple[Any, ...]:
    return body["totalDebits"], body["totalCredits"], body["sum"], body["postings"]


def test_a_back_dated_posting_moves_the_totals_of_every_later_day(
    settings: Settings, api: Api
) -> None:
    """Two GL accounts, whose balances may have either sign. Booked on LATE first: salary
    +50, card -50; on LATER salary +10, card -10. Then back-dated to EARLY: salary -80,
    card +80. As of EARLY the balances are -80 and +80 (debits 80); as of LATE -30 and
    +30 (debits 30); as of LATER -20 and +20: the back-dated legs cross zero on the
    later days, which the kept totals must follow. (SQLite's writer keeps an account's
    days from its latest leg's on: the back-dated leg must read LATE's again.)"""
    api.open_ledger(all_accounts=False)
    for day, amount in ((LATE, 50), (LATER, 10), (EARLY, -80)):
        way = "DEBIT" if amount > 0 else "CREDIT"
        back = "CREDIT" if amount > 0 else "DEBIT"
        legs = [(SALARY, way, abs(amount)), (CARD, back, abs(amount))]
        reply = api.post_entry(legs, bookingDate=day, valueDate=day)
        assert reply.status_code == 202, reply.text
    head = api.last_sequence()
    assert _totals(_trial(api, asOfDate="2024-12-29")) == (0, 0, 0, 0)
    assert _totals(_trial(api, asOfDate=EARLY)) == (80, 80, 0, 1)
    assert _totals(_trial(api, asOfDate=LATE)) == (30, 30, 0, 2)
    assert _totals(_trial(api, asOfDate=LATER)) == (20, 20, 0, 3)
    # As of the head's sequence: the same two accounts, and the deposits the ledger's
    # accounts were opened with (booked today).
    with owner(settings) as conn:
        for point in (
            asof.AsOf(date=EARLY),
            asof.AsOf(date=LATE),
            asof.AsOf(date=LATER),
            asof.AsOf(date=TODAY),
            asof.AsOf(sequence=head),
            asof.AsOf(sequence=head - 1),
        ):
            reference = _json(asof.trial_balance_from_log(conn, TENANT, point))
            params = {"asOfDate": point.date} if point.date else {"asOfSequence": point.sequence}
            assert _trial(api, limit=1000, **params) == reference, point
    lines = {line["accountId"]: line["balance"] for line in _trial(api, asOfDate=LATE)["accounts"]}
    assert (lines[SALARY], lines[CARD]) == (-30, 30)
    assert _totals(_trial(api, asOfSequence=head)) == (120, 120, 0, 4)  # 100 deposited


def test_the_pages_walked_by_their_cursor_are_the_whole_trial_balance(
    settings: Settings, api: Api, ledger: dict[str, str]
) -> None:
    for n in range(3):
        api.open_account(ledger["customer"], "SAVINGS_STANDARD", initialDeposit=5 + n)
    legs = [(ledger["txn"], "DEBIT", 12.5), (ledger["card"], "CREDIT", 12.5)]
    assert api.post_entry(legs, bookingDate=EARLY, valueDate=EARLY).status_code == 202
    for point in ({"asOfSequence": api.last_sequence()}, {"asOfDate": TODAY}, {"asOfDate": EARLY}):
        whole = _trial(api, limit=1000, **point)
        assert whole["nextCursor"] is None and len(whole["accounts"]) >= 2
        walked: list[dict[str, Any]] = []
        after = 0
        while True:
            page = _trial(api, limit=2, after=after, **point)
            assert len(page["accounts"]) <= 2
            assert _totals(page) == _totals(whole), point
            walked += page["accounts"]
            if page["nextCursor"] is None:
                break
            assert page["nextCursor"] > after
            after = page["nextCursor"]
        assert walked == whole["accounts"], point
    # As of a date, the accounts opened later but posted to by then are listed; those
    # opened later and not posted to are not.
    early = {line["accountId"] for line in _trial(api, limit=1000, asOfDate=EARLY)["accounts"]}
    assert early == {ledger["txn"], ledger["card"]}


def test_bad_pages_are_refused(api: Api, ledger: dict[str, str]) -> None:
    for params in ({"limit": 0}, {"limit": 1001}, {"after": -1}, {"limit": "x"}):
        reply = api.get(f"/tenants/{TENANT}/trial-balance", asOfSequence=1, **params)
        assert reply.status_code == 400, params
        assert reply.json()["error"] == "VALIDATION_ERROR"
