"""The as-of reads' stored figures equal the log summed: the fast reads (`asof.account_balance`,
`asof.trial_balance`) against the reference (`*_from_log`) over random histories, with
back-dated entries, accounts opened along the way and rejected entries, at sequence and
date points, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import orjson
from alembic import command
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st
from sqlalchemy import text

from mock_core.settings import Settings
from mock_core.store import asof
from mock_core.store.engine import alembic_config, upgrade
from tests.mock_core.conftest import TENANT, Api, Rebuild
from tests.mock_core.test_rebuild import owner
from tests.mock_core.test_snapshots import admin

# Booking dates in any order: the past (back-dated entries, also before any account was
# opened) and today (the deposits, the openings).
TODAY = dt.datetime.now(dt.UTC).date().isoformat()
DAYS = ("2024-12-30", "2024-12-31", "2025-01-02", TODAY)
GL = ("GL_SALARY_CLEARING", "GL_CARD_CLEARING", "GL_FEES")
AMOUNTS = st.sampled_from((0.01, 1, 2.5, 10, 99.99))

entry = st.fixed_dictionaries(
    {
        "day": st.sampled_from(DAYS),
        "legs": st.lists(
            st.tuples(st.integers(0, 20), st.sampled_from(("DEBIT", "CREDIT")), AMOUNTS),
            min_size=1,
            max_size=3,
        ),
    }
)
# An action: an entry (its legs balanced by a last leg on a GL account), or a new account.
action = st.one_of(entry, st.just({"open": True}))


def _json(found: dict[str, Any] | None) -> Any:
    return orjson.loads(orjson.dumps(found))


def _post(api: Api, tenant: str, accounts: list[str], drawn: dict[str, Any]) -> None:
    legs = [(accounts[i % len(accounts)], way, amount) for i, way, amount in drawn["legs"]]
    net = round(sum(a if way == "DEBIT" else -a for _, way, a in legs), 2)
    if net:
        legs.append((GL[len(legs) % len(GL)], "CREDIT" if net > 0 else "DEBIT", abs(net)))
    else:
        legs.append((GL[0], "DEBIT", 1))
        legs.append((GL[1], "CREDIT", 1))
    # Rejected entries (an account out of its bounds) write nothing: part of the history.
    api.post_entry(legs, tenant=tenant, bookingDate=drawn["day"], valueDate=drawn["day"])


def _points(head: int, data: st.DataObject) -> list[asof.AsOf]:
    sequences = data.draw(st.lists(st.integers(0, head + 2), min_size=3, max_size=6))
    dates = ("2024-12-29", *DAYS, "2099-01-01")
    return [asof.AsOf(sequence=s) for s in {*sequences, head}] + [asof.AsOf(date=d) for d in dates]


def walk_trial_balance(conn: Any, tenant: str, at: asof.AsOf, limit: int) -> dict[str, Any]:
    """The trial balance's pages of `limit` lines, walked by their cursor into one reply;
    every page carries the same totals."""
    pages = []
    after: int | None = 0
    while after is not None:
        page = asof.trial_balance(conn, tenant, at, after, limit)
        assert page is not None and len(page["accounts"]) <= limit
        pages.append(page)
        after = page["nextCursor"]
    whole = {**pages[-1], "accounts": [line for page in pages for line in page["accounts"]]}
    for page in pages:
        assert {**page, "accounts": [], "nextCursor": None} == {**whole, "accounts": []}, at
    return whole


def check_against_the_log(
    settings_: Settings, tenant: str, accounts: list[str], data: st.DataObject
) -> int:
    """Compare the fast reads with the reference at drawn points; the points compared."""
    compared = 0
    with owner(settings_) as conn:
        head = int(
            conn.execute(
                text("SELECT last_sequence FROM tenants WHERE tenant_id = :t"), {"t": tenant}
            ).scalar_one()
        )
        for at in _points(head, data):
            limit = data.draw(st.sampled_from((1, 2, 50)))
            fast = walk_trial_balance(conn, tenant, at, limit)
            assert _json(fast) == _json(asof.trial_balance_from_log(conn, tenant, at)), at
            for account in accounts:
                after = data.draw(st.sampled_from((0, head // 3, head // 2)))
                limit = data.draw(st.sampled_from((1, 2, 100)))
                args = (conn, tenant, account, at, after, limit)
                fast = asof.account_balance(*args)
                reference = asof.account_balance_from_log(*args)
                assert _json(fast) == _json(reference), (at, account, after, limit)
                compared += 1
    return compared


@examples(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(actions=st.lists(action, min_size=1, max_size=8), data=st.data())
def test_the_stored_figures_are_the_log_summed(
    settings: Settings, api: Api, actions: list[dict[str, Any]], data: st.DataObject
) -> None:
    # Each example its own tenant: its history, and so what it draws, is its own.
    tenant = f"PROP_{next(_TENANTS)}"
    ledger = api.open_ledger(tenant)
    accounts = [ledger["txn"], ledger["savings"], ledger["card"], *GL]
    for drawn in actions:
        if "open" in drawn:
            reply = api.open_account(
                ledger["customer"], "SAVINGS_STANDARD", tenant=tenant, initialDeposit=5
            )
            assert reply.status_code == 202, reply.text
            accounts.append(reply.json()["result"]["accountId"])
        else:
            _post(api, tenant, accounts, drawn)
    accounts.append("GL_INITIAL_DEPOSIT_CLEARING")
    assert check_against_the_log(settings, tenant, accounts, data)
    # And the routes serve the fast reads.
    at = asof.AsOf(date=DAYS[1])
    served = api.get(f"/tenants/{tenant}/trial-balance", asOfDate=at.date).json()
    balance = api.get(f"/tenants/{tenant}/accounts/{accounts[0]}/balance", asOfDate=at.date)
    with owner(settings) as conn:
        assert served == _json(asof.trial_balance_from_log(conn, tenant, at))
        reference = asof.account_balance_from_log(conn, tenant, accounts[0], at)
        assert balance.json() == _json(reference)


_TENANTS = itertools.count()


# The stored figures of migration 0007 and the totals of 0008: each table with its key.
FIGURES = {
    "account_events": "tenant_id, account_id, sequence",
    "account_days": "tenant_id, account_id, booking_date",
}
TOTALS = {"tenant_totals": "tenant_id, sequence", "tenant_days": "tenant_id, booking_date"}


def _figures(
    settings_: Settings, tables: dict[str, str] = FIGURES
) -> dict[str, list[tuple[Any, ...]]]:
    """The rows of `tables` (the figures unless given), live and saved, in key order."""
    found = {}
    with owner(settings_) as conn:
        for table, key in tables.items():
            for name in (table, f"snapshot_{table}"):
                order = key if name == table else f"snapshot, {key}"
                rows = conn.execute(text(f"SELECT * FROM {name} ORDER BY {order}")).all()
                found[name] = [tuple(row) for row in rows]
    return found


def test_migration_0007_fills_the_figures_of_a_store_and_its_snapshots(
    settings: Settings, client: TestClient, api: Api, ledger: dict[str, str], rebuild: Rebuild
) -> None:
    """A store and a snapshot written before migration 0007 (the figures dropped by its
    downgrade) get the figures the write path writes."""
    txn, card = ledger["txn"], ledger["card"]
    for day in ("2025-01-03", "2024-12-30", TODAY):
        legs = [(txn, "DEBIT", 3.5), (card, "CREDIT", 3.5)]
        assert api.post_entry(legs, bookingDate=day, valueDate=day).status_code == 202
    assert admin(client, "POST", "/_mock/snapshots/s0", tenant=TENANT).status_code == 200
    assert api.post_entry([(card, "DEBIT", 1), (txn, "CREDIT", 1)]).status_code == 202
    written = _figures(settings)
    assert all(written.values()), {name: len(rows) for name, rows in written.items()}
    command.downgrade(alembic_config(settings.database_url), "0006")
    upgrade(settings.database_url)
    assert _figures(settings) == written
    code, lines, _ = rebuild("--check")
    assert (code, lines) == (0, [])


def test_migration_0008_fills_the_totals_of_a_store_and_its_snapshots(
    settings: Settings, client: TestClient, api: Api, ledger: dict[str, str], rebuild: Rebuild
) -> None:
    """A store and a snapshot written before migration 0008 (the totals dropped by its
    downgrade) get the totals the write path keeps, back-dated entries included."""
    txn, card = ledger["txn"], ledger["card"]
    # GL_FEES crosses zero: 2, then -3 after a back-dated entry (by booking date -5, -3, -1).
    fees: list[tuple[str, str, float]] = [
        ("GL_FEES", "DEBIT", 2),
        ("GL_CARD_CLEARING", "CREDIT", 2),
    ]
    back: list[tuple[str, str, float]] = [
        ("GL_CARD_CLEARING", "DEBIT", 5),
        ("GL_FEES", "CREDIT", 5),
    ]
    for legs, day in ((fees, "2024-12-31"), (back, "2024-12-30"), (fees, TODAY)):
        assert api.post_entry(legs, bookingDate=day, valueDate=day).status_code == 202
    assert admin(client, "POST", "/_mock/snapshots/s0", tenant=TENANT).status_code == 200
    for day in ("2025-01-03", "2024-12-29", TODAY):
        legs = [(txn, "DEBIT", 3.5), (card, "CREDIT", 3.5)]
        assert api.post_entry(legs, bookingDate=day, valueDate=day).status_code == 202
    written = _figures(settings, TOTALS)
    assert all(written.values()), {name: len(rows) for name, rows in written.items()}
    command.downgrade(alembic_config(settings.database_url), "0007")
    upgrade(settings.database_url)
    assert _figures(settings, TOTALS) == written
    code, lines, _ = rebuild("--check")
    assert (code, lines) == (0, [])
