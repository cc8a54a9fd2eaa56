"""`mock-core rebuild [--check]` and the verify endpoint: the log rebuilds the projections,
and every way the live projections or the chain drift from it is named."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, text

from mock_core import cli
from mock_core.settings import Settings
from mock_core.store.engine import make_engine
from tests.mock_core.conftest import PLATFORM_KEY, TENANT, Api, Rebuild


@contextmanager
def owner(settings: Settings) -> Iterator[Connection]:
    """A connection as the store's owner (outside row-level security), committed at the end."""
    engine = make_engine(settings.database_url, app_role=None)
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


def _busy_ledger(api: Api, ledger: dict[str, str]) -> None:
    for amount in (10, 20.5, 3):
        legs = [(ledger["txn"], "CREDIT", amount), (ledger["savings"], "DEBIT", amount)]
        assert api.post_entry(legs).status_code == 202


def test_a_fresh_store_rebuilds_without_drift(
    api: Api, ledger: dict[str, str], rebuild: Rebuild
) -> None:
    _busy_ledger(api, ledger)
    code, lines, err = rebuild("--check")
    assert (code, lines) == (0, []), lines
    assert "no drift" in err and f"{api.last_sequence()} events" in err


def test_a_corrupted_row_and_a_corrupted_event_are_each_named(
    settings: Settings, client: TestClient, api: Api, ledger: dict[str, str], rebuild: Rebuild
) -> None:
    _busy_ledger(api, ledger)
    txn = ledger["txn"]
    with owner(settings) as conn:
        conn.execute(
            text("UPDATE accounts SET balance_minor = balance_minor + 1 WHERE account_id = :a"),
            {"a": txn},
        )
        conn.execute(
            text(
                "UPDATE events SET envelope = replace(envelope, 'test entry', 'test entrx') "
                "WHERE tenant_id = :t AND sequence = :s"
            ),
            {"t": TENANT, "s": api.last_sequence() - 2},  # the last EntryPosted
        )
    code, lines, _ = rebuild("--check")
    assert code == 1
    sequence = api.last_sequence() - 2
    assert f"{TENANT}: events: sequence {sequence}: hash does not recompute" in lines
    assert any(
        line.startswith(f"{TENANT}: accounts[{txn}]: balance_minor is ") for line in lines
    ), lines
    assert len(lines) == 2, lines

    verified = client.get(
        f"/_mock/tenants/{TENANT}/verify", headers={"Authorization": f"Bearer {PLATFORM_KEY}"}
    ).json()
    assert verified["ok"] is False
    assert sorted(verified["problems"]) == sorted(lines)

    # A rebuild repairs the projection from the log; the event stays corrupted.
    code, lines, err = rebuild()
    assert code == 0 and "projections rebuilt; 1 chain problem(s)" in err
    code, lines, _ = rebuild("--check")
    assert (code, [line.split(": ")[1] for line in lines]) == (1, ["events"])


def test_missing_and_extra_rows_are_named(
    settings: Settings, api: Api, ledger: dict[str, str], rebuild: Rebuild
) -> None:
    with owner(settings) as conn:
        conn.execute(
            text("DELETE FROM customers WHERE customer_id = :c"), {"c": ledger["customer"]}
        )
        conn.execute(
            text(
                "INSERT INTO account_events (tenant_id, account_id, sequence) "
                "VALUES (:t, 'ghost', 1)"
            ),
            {"t": TENANT},
        )
    code, lines, _ = rebuild("--check", "--tenant", TENANT)
    assert code == 1
    assert lines == [
        f"{TENANT}: customers[{ledger['customer']}]: in the log, missing from the live projection",
        f"{TENANT}: account_events[ghost/1]: in the live projection, not in the log",
    ]


@pytest.mark.parametrize("args", [["--bogus"], ["--check", "extra"]])
def test_rebuild_usage_errors_exit_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["rebuild", *args])
    assert exited.value.code == 2
    assert "--help" in capsys.readouterr().err
