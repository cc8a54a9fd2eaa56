"""As-of reads (an extension): an account's balance and events, and the tenant's trial
balance, at a sequence number or a booking date, computed from the log."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from mock_core.settings import Settings
from mock_core.store import asof
from tests.mock_core.conftest import OTHER_KEY, TENANT, Api, Rebuild
from tests.mock_core.test_rebuild import owner


def balance_at(api: Api, account: str, **point: Any) -> Any:
    return api.get(f"/tenants/{TENANT}/accounts/{account}/balance", **point)


def trial_at(api: Api, **point: Any) -> Any:
    return api.get(f"/tenants/{TENANT}/trial-balance", **point)


def _history(api: Api, ledger: dict[str, str]) -> list[tuple[int, dict[str, float]]]:
    """Entries on three booking dates; after each, the chain head and the live balances."""
    seen = []
    days = ("2025-01-10", "2025-01-11", "2025-01-11", "2025-01-12")
    for n, day in enumerate(days, start=1):
        legs = [(ledger["txn"], "DEBIT", 10.5 * n), (ledger["card"], "CREDIT", 10.5 * n)]
        reply = api.post_entry(legs, bookingDate=day, valueDate=day)
        assert reply.status_code == 202, reply.text
        live = {name: api.balance(ledger[name]) for name in ("txn", "savings", "card")}
        seen.append((api.last_sequence(), live))
    return seen


def test_the_balance_as_of_each_sequence_is_the_one_served_then(
    api: Api, ledger: dict[str, str]
) -> None:
    before = api.last_sequence()
    for head, live in _history(api, ledger):
        for name, balance in live.items():
            reply = balance_at(api, ledger[name], asOfSequence=head)
            assert reply.status_code == 200, reply.text
            body = reply.json()
            assert (body["balance"], body["throughSequence"]) == (balance, head)
    # Before the entries: the initial deposit only.
    body = balance_at(api, ledger["txn"], asOfSequence=before).json()
    assert body["balance"] == 100
    assert [e["eventType"] for e in body["events"]] == ["AccountOpened", "FundsPosted"]
    assert body["eventCount"] == 2 and body["nextCursor"] is None
    # Before the account was opened: not opened, nothing counted.
    opened = body["events"][0]["sequence"]
    early = balance_at(api, ledger["txn"], asOfSequence=opened - 1).json()
    assert (early["opened"], early["balance"], early["eventCount"]) == (False, 0, 0)


def test_the_balance_as_of_a_booking_date_counts_entries_booked_by_then(
    api: Api, ledger: dict[str, str]
) -> None:
    _history(api, ledger)
    # The initial deposit is booked on the day it happened (today); the entries in 2025.
    expected = {"2025-01-09": 0, "2025-01-10": 10.5, "2025-01-11": 63, "2025-01-12": 105}
    for day, balance in expected.items():
        body = balance_at(api, ledger["txn"], asOfDate=day).json()
        assert body["balance"] == balance, (day, body)
        assert body["asOfDate"] == day and body["asOfSequence"] is None
    today = balance_at(api, ledger["txn"], asOfSequence=10**9).json()["events"][1]
    assert today["eventType"] == "FundsPosted"
    body = balance_at(api, ledger["txn"], asOfDate=today["occurredAt"][:10]).json()
    assert body["balance"] == api.balance(ledger["txn"]) == 205


def test_the_events_as_of_a_point_page_with_after_and_limit(
    api: Api, ledger: dict[str, str]
) -> None:
    seen = _history(api, ledger)
    head = seen[2][0]
    every = balance_at(api, ledger["txn"], asOfSequence=head, limit=1000).json()["events"]
    # Opened and its deposit, then per entry its EntryPosted and AccountBalanceUpdated.
    assert every[-1]["sequence"] <= head and len(every) == 8
    walked: list[dict[str, Any]] = []
    after = 0
    while True:
        page = balance_at(api, ledger["txn"], asOfSequence=head, limit=2, after=after).json()
        walked += page["events"]
        if page["nextCursor"] is None:
            break
        after = page["nextCursor"]
    assert walked == every


def test_the_trial_balance_sums_to_zero_at_every_point(api: Api, ledger: dict[str, str]) -> None:
    for head, live in _history(api, ledger):
        body = trial_at(api, asOfSequence=head).json()
        assert body["sum"] == 0 and body["totalDebits"] == body["totalCredits"] > 0
        lines = {line["accountId"]: line["balance"] for line in body["accounts"]}
        assert {name: lines[ledger[name]] for name in live} == live
        assert "GL_INITIAL_DEPOSIT_CLEARING" in lines
    # At the head, every account's line is its live balance.
    everything = api.get(f"/tenants/{TENANT}/accounts", accountType="ALL", limit=1000).json()
    lines = {
        line["accountId"]: line["balance"]
        for line in trial_at(api, asOfSequence=10**9).json()["accounts"]
    }
    assert lines == {a["accountId"]: a["balance"] for a in everything["accounts"]}
    early = trial_at(api, asOfDate="2025-01-10").json()
    assert early["sum"] == 0 and early["postings"] == 1  # the first entry (not today's deposit)


@pytest.mark.parametrize(
    "point", [{}, {"asOfSequence": 3, "asOfDate": "2025-01-10"}], ids=["neither", "both"]
)
def test_exactly_one_point_is_required(
    api: Api, ledger: dict[str, str], point: dict[str, Any]
) -> None:
    for reply in (balance_at(api, ledger["txn"], **point), trial_at(api, **point)):
        assert reply.status_code == 400
        body = reply.json()
        assert body["error"] == "VALIDATION_ERROR"
        assert body["details"]["parameters"] == ["asOfSequence", "asOfDate"]
        assert "asOfSequence" in body["message"] and "asOfDate" in body["message"]


def test_bad_points_unknown_ids_and_other_tenants_are_refused(
    api: Api, ledger: dict[str, str]
) -> None:
    for bad in ("2025-13-01", "0", "20250115", "2025-1-15"):  # pydantic's date took "0"
        assert balance_at(api, ledger["txn"], asOfDate=bad).status_code == 400, bad
        assert trial_at(api, asOfDate=bad).status_code == 400, bad
    assert balance_at(api, ledger["txn"], asOfSequence=-1).status_code == 400
    unknown = balance_at(api, "no-such-account", asOfSequence=5)
    assert unknown.status_code == 404 and unknown.json()["details"] == {
        "account": "no-such-account"
    }
    for reply in (
        api.get("/tenants/NOPE/accounts/x/balance", asOfSequence=5),
        api.get("/tenants/NOPE/trial-balance", asOfSequence=5),
    ):
        assert reply.status_code == 404 and reply.json()["details"] == {"tenant": "NOPE"}
    assert trial_at(api, key=OTHER_KEY, asOfSequence=5).status_code == 403


def test_the_balances_are_the_logs_not_the_projections(
    settings: Settings, api: Api, ledger: dict[str, str], rebuild: Rebuild
) -> None:
    """Broken inputs: a projection row moved, then an event's leg changed. The as-of read
    ignores the first (its figures are the log's, not the `accounts` balances); the
    second is the log drifting from the figures stored when it was appended: the
    reference (summing the log) shows it, `rebuild --check` names it, and a rebuild
    makes the served figures the log's again."""
    seen = _history(api, ledger)
    head, live = seen[-1]
    with owner(settings) as conn:
        conn.execute(
            text("UPDATE accounts SET balance_minor = balance_minor + 7 WHERE account_id = :a"),
            {"a": ledger["txn"]},
        )
    assert api.balance(ledger["txn"]) != live["txn"]  # the projection is broken...
    assert balance_at(api, ledger["txn"], asOfSequence=head).json()["balance"] == live["txn"]
    assert trial_at(api, asOfSequence=head).json()["sum"] == 0  # ...the log is not
    rebuild()  # the projection repaired
    leg = f'"accountId":"{ledger["txn"]}","amount":42'
    with owner(settings) as conn:  # the last entry's debit leg: 42 becomes 43
        conn.execute(
            text(
                "UPDATE events SET envelope = replace(envelope, :old, :new) "
                "WHERE tenant_id = :t AND sequence = :s"
            ),
            {"t": TENANT, "s": head - 2, "old": leg, "new": leg.removesuffix("42") + "43"},
        )
        reference = asof.trial_balance_from_log(conn, TENANT, asof.AsOf(sequence=head))
    assert reference is not None and reference["sum"] == 1, reference
    assert trial_at(api, asOfSequence=head).json()["sum"] == 0  # the figures stored
    code, lines, _ = rebuild("--check")
    assert code == 1
    assert any(
        line.startswith(f"{TENANT}: account_events[{ledger['txn']}/{head - 2}]: balance_minor is ")
        for line in lines
    ), lines
    rebuild()
    broken = trial_at(api, asOfSequence=head).json()
    assert broken == {**reference, "accounts": broken["accounts"]} and broken["sum"] == 1
    assert balance_at(api, ledger["txn"], asOfSequence=head).json()["balance"] == live["txn"] + 1
    # Before the broken entry, everything still balances.
    assert trial_at(api, asOfSequence=head - 3).json()["sum"] == 0
