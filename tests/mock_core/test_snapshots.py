"""Named snapshots (admin): save and restore a tenant or the whole store, from the admin
API and the CLI; a restore clears the writer's memory and the offset marks, and leaves a
chain that verifies and projections that `mock-core rebuild --check` finds no drift in."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, event, text

from mock_core import cli
from mock_core.api.app import create_app
from mock_core.settings import Settings
from mock_core.store import engine, snapshots
from mock_core.store.eventstore import Store
from mock_core.store.schema import TENANT_TABLES
from tests.mock_core.conftest import CU_KEY, KEYS, PLATFORM_KEY, TENANT, Api, Rebuild

OTHER = "OTHER_CU"


def admin(
    client: TestClient, method: str, path: str, key: str = PLATFORM_KEY, **params: Any
) -> Any:
    headers = {"Authorization": f"Bearer {key}"}
    return client.request(method, path, headers=headers, params=params)


def picture(api: Api, tenant: str = TENANT) -> dict[str, Any]:
    """What a client sees of a tenant: its head, its accounts (all of them) and customers."""
    accounts = api.get(f"/tenants/{tenant}/accounts", accountType="ALL", limit=1000).json()
    customers = api.get(f"/tenants/{tenant}/customers", limit=1000).json()
    return {
        "head": api.get(f"/tenants/{tenant}").json()["lastHash"],
        "accounts": accounts,
        "customers": customers,
    }


def _spend(api: Api, ledger: dict[str, str], amount: float, tenant: str = TENANT) -> None:
    legs = [(ledger["txn"], "CREDIT", amount), (ledger["savings"], "DEBIT", amount)]
    assert api.post_entry(legs, tenant=tenant).status_code == 202


def _verified(client: TestClient, tenant: str = TENANT) -> None:
    verdict = admin(client, "GET", f"/_mock/tenants/{tenant}/verify").json()
    assert verdict["ok"], verdict["problems"]


def test_a_tenant_restored_is_the_tenant_saved(
    client: TestClient, api: Api, ledger: dict[str, str], rebuild: Rebuild
) -> None:
    _spend(api, ledger, 10)
    saved = admin(client, "POST", "/_mock/snapshots/after-setup", tenant=TENANT)
    assert saved.status_code == 200, saved.text
    assert saved.json()["tenantId"] == TENANT and saved.json()["events"] == api.last_sequence()
    before = picture(api)
    # Move on: more entries, a new customer and account (the lists' offset marks move too).
    _spend(api, ledger, 20)
    customer = api.create_customer(n=2).json()["result"]["customerId"]
    assert api.open_account(customer).status_code == 202
    assert picture(api) != before
    restored = admin(client, "POST", "/_mock/snapshots/after-setup/restore")
    assert restored.status_code == 200, restored.text
    assert restored.json()["restored"]["tenantId"] == TENANT
    assert picture(api) == before
    # The writer picks up from the restored head: the chain goes on from it.
    _spend(api, ledger, 5)
    assert api.balance(ledger["txn"]) == 100 - 10 - 5
    _verified(client)
    code, lines, _ = rebuild("--check")
    assert (code, lines) == (0, [])


def test_a_restore_clears_the_writers_memory_and_the_offset_marks(
    client: TestClient, api: Api, ledger: dict[str, str]
) -> None:
    store: Store = client.app.state.store  # type: ignore[attr-defined]
    assert admin(client, "POST", "/_mock/snapshots/s1").status_code == 200
    _spend(api, ledger, 1)
    picture(api)  # fills the offset marks
    assert store.marks is not None and store.marks.entries
    if store.memory is not None:  # SQLite: the writer remembers the tenant it wrote
        assert TENANT in store.memory.tenants
    assert admin(client, "POST", "/_mock/snapshots/s1/restore").status_code == 200
    assert not store.marks.entries
    if store.memory is not None:
        assert store.memory.tenants == {} and store.memory.token is None


def test_the_whole_store_is_saved_and_restored(
    client: TestClient, api: Api, ledger: dict[str, str], rebuild: Rebuild
) -> None:
    assert api.create_tenant(OTHER).status_code == 202
    saved = admin(client, "POST", "/_mock/snapshots/everything").json()
    assert (saved["tenantId"], saved["tenants"]) == (None, 2)
    before = {TENANT: picture(api), OTHER: picture(api, OTHER)}
    assert admin(client, "POST", "/_mock/reset").status_code == 200
    assert api.get(f"/tenants/{TENANT}").status_code == 404
    assert admin(client, "POST", "/_mock/snapshots/everything/restore").status_code == 200
    assert {TENANT: picture(api), OTHER: picture(api, OTHER)} == before
    # One tenant of a whole-store snapshot: the other is left as it is.
    _spend(api, ledger, 3)
    assert api.send(OTHER, "UpsertProduct", _product()).status_code == 202
    other_now = picture(api, OTHER)
    one = admin(client, "POST", "/_mock/snapshots/everything/restore", tenant=TENANT)
    assert one.status_code == 200, one.text
    assert picture(api) == before[TENANT] and picture(api, OTHER) == other_now
    for tenant in (TENANT, OTHER):
        _verified(client, tenant)
    assert rebuild("--check")[:2] == (0, [])


def _product() -> dict[str, Any]:
    from tests.mock_core.conftest import TXN_BASIC

    return dict(TXN_BASIC)


def test_the_snapshot_list_names_each_once(client: TestClient, api: Api) -> None:
    assert api.create_tenant().status_code == 202
    for name in ("b", "a", "b"):  # saving under a name again replaces it
        assert admin(client, "POST", f"/_mock/snapshots/{name}", tenant=TENANT).status_code == 200
    listed = admin(client, "GET", "/_mock/snapshots").json()["snapshots"]
    assert [s["name"] for s in listed] == ["a", "b"]
    assert {s["tenantId"] for s in listed} == {TENANT}


def test_bad_requests_are_refused(client: TestClient, api: Api) -> None:
    assert api.create_tenant().status_code == 202
    unknown = admin(client, "POST", "/_mock/snapshots/nope/restore")
    assert (unknown.status_code, unknown.json()["error"]) == (404, "NOT_FOUND")
    bad_name = admin(client, "POST", "/_mock/snapshots/-bad name")
    assert (bad_name.status_code, bad_name.json()["error"]) == (400, "VALIDATION_ERROR")
    for tenant in ("NOPE", "CU\x00X"):
        no_tenant = admin(client, "POST", "/_mock/snapshots/x", tenant=tenant)
        assert no_tenant.status_code == 404, no_tenant.text
    assert admin(client, "POST", "/_mock/snapshots/mine", tenant=TENANT).status_code == 200
    elsewhere = admin(client, "POST", "/_mock/snapshots/mine/restore", tenant=OTHER)
    assert elsewhere.status_code == 404 and elsewhere.json()["details"]["tenant"] == OTHER
    # The platform key only, even for the key's own tenant.
    for method, path in (
        ("GET", "/_mock/snapshots"),
        ("POST", "/_mock/snapshots/x"),
        ("POST", "/_mock/snapshots/mine/restore"),
    ):
        assert admin(client, method, path, key=CU_KEY).status_code == 403
    assert [s["name"] for s in admin(client, "GET", "/_mock/snapshots").json()["snapshots"]] == [
        "mine"
    ]


def test_snapshots_are_off_with_the_other_admin_endpoints(database_url: str) -> None:
    from mock_core.api.app import create_app

    settings = Settings(
        database_url=database_url, api_keys=KEYS, access_log=False, admin_enabled=False
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        for method, path in (
            ("GET", "/_mock/snapshots"),
            ("POST", "/_mock/snapshots/x"),
            ("POST", "/_mock/snapshots/x/restore"),
        ):
            reply = admin(client, method, path)
            assert (reply.status_code, reply.json()["error"]) == (404, "NOT_FOUND")


def test_the_cli_saves_lists_and_restores(
    settings: Settings,
    client: TestClient,
    api: Api,
    ledger: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = ["--database-url", settings.database_url]
    assert cli.main(["snapshot", "save", "day0", "--tenant", TENANT, *url]) == 0
    assert "saved as snapshot day0" in capsys.readouterr().err
    before = picture(api)
    _spend(api, ledger, 7)
    assert cli.main(["snapshot", "list", *url]) == 0
    assert capsys.readouterr().out.startswith(f"day0\t{TENANT}\t")
    assert cli.main(["snapshot", "restore", "day0", *url]) == 0
    assert "restored from snapshot day0" in capsys.readouterr().err
    # Another process restored: this app's writer sees it (PRAGMA data_version on SQLite,
    # no memory on PostgreSQL) and goes on from the restored head.
    assert picture(api) == before
    _spend(api, ledger, 1)
    _verified(client)
    assert cli.main(["snapshot", "restore", "nope", *url]) == 2
    assert "snapshot nope does not exist" in capsys.readouterr().err
    assert cli.main(["snapshot", "save", *url]) == 2
    assert "needs a NAME" in capsys.readouterr().err


def test_a_restore_that_skips_a_table_is_caught_by_the_checks(
    client: TestClient,
    api: Api,
    ledger: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    rebuild: Rebuild,
) -> None:
    """The deliberately broken input: a restore that leaves `accounts` as it was."""
    assert admin(client, "POST", "/_mock/snapshots/base", tenant=TENANT).status_code == 200
    customer = api.create_customer(n=2).json()["result"]["customerId"]
    late = api.open_account(customer).json()["result"]["accountId"]
    broken = tuple(t for t in TENANT_TABLES if t.name != "accounts")
    monkeypatch.setattr(snapshots, "TENANT_TABLES", broken)
    assert admin(client, "POST", "/_mock/snapshots/base/restore").status_code == 200
    code, lines, _ = rebuild("--check")
    assert code == 1
    assert f"{TENANT}: accounts[{late}]: in the live projection, not in the log" in lines
    verdict = admin(client, "GET", f"/_mock/tenants/{TENANT}/verify").json()
    assert not verdict["ok"]


@pytest.mark.parametrize("broken", [False, True], ids=["prefix-found", "prefix-assumed"])
def test_a_diverged_log_is_restored_from_the_last_shared_event(
    client: TestClient,
    api: Api,
    ledger: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    broken: bool,
    rebuild: Rebuild,
) -> None:
    """A restore keeps only the events the live log shares with the snapshot. The broken
    input: a restore that assumes the logs agree up to the shorter head."""
    assert admin(client, "POST", "/_mock/snapshots/early", tenant=TENANT).status_code == 200
    for amount in (1, 2, 3):
        _spend(api, ledger, amount)
    assert admin(client, "POST", "/_mock/snapshots/late", tenant=TENANT).status_code == 200
    late = picture(api)
    assert admin(client, "POST", "/_mock/snapshots/early/restore").status_code == 200
    for amount in (4, 5, 6, 7):  # another history over the same sequence numbers, and on
        _spend(api, ledger, amount)
    if broken:
        monkeypatch.setattr(
            snapshots,
            "_shared_prefix",
            lambda conn, name, tenant: conn.execute(
                text("SELECT min(last_sequence) FROM snapshot_tenants WHERE snapshot = :n"),
                {"n": name},
            ).scalar_one(),
        )
    assert admin(client, "POST", "/_mock/snapshots/late/restore").status_code == 200
    verdict = admin(client, "GET", f"/_mock/tenants/{TENANT}/verify").json()
    drifted = rebuild("--check")[0]
    if broken:
        assert not verdict["ok"] and drifted == 1
        return
    assert picture(api) == late
    assert verdict["ok"] and drifted == 0, verdict["problems"]


def _tenant_events(database: Path, tenant: str = TENANT) -> int:
    """The tenant's events in the SQLite file `database` as a reader opening it sees them
    (with the WAL beside it, if one is)."""
    with closing(sqlite3.connect(database)) as sqlite:
        found = sqlite.execute("SELECT count(*) FROM events WHERE tenant_id = ?", (tenant,))
        return int(found.fetchone()[0])


def _copy(database: Path, folder: Path, *suffixes: str) -> Path:
    """The SQLite file `database` (and its files with `suffixes`) copied into `folder`."""
    folder.mkdir()
    for suffix in ("", *suffixes):
        shutil.copyfile(f"{database}{suffix}", folder / f"{database.name}{suffix}")
    return folder / database.name


@pytest.mark.parametrize("deferred", [True, False], ids=["deferred", "at-commit"])
def test_a_sqlite_restore_leaves_its_checkpoint_to_a_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, deferred: bool
) -> None:
    """A restore's reply waits for its commit (the WAL, fsynced), not for the checkpoint
    that copies the WAL into the database file: that is a thread's, once the connection
    is back in the pool with its auto-checkpoint threshold. Every connection here
    checkpoints at each commit (threshold 1 page), so the database file alone shows
    where the checkpoint ran. The broken input: a restore that does not defer it."""
    database = tmp_path / "store.db"
    settings = Settings(database_url=f"sqlite:///{database}", api_keys=KEYS, access_log=False)
    started: list[str] = []
    monkeypatch.setattr(engine, "checkpoint_in_background", started.append)
    if not deferred:
        monkeypatch.setattr(snapshots, "defer_checkpoint", lambda conn: None)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        api = Api(client)
        _spend(api, api.open_ledger(), 10)
        saved = admin(client, "POST", "/_mock/snapshots/s", tenant=TENANT).json()["events"]
        assert started == ([str(database)] if deferred else [])  # a save defers it too
        started.clear()
        assert admin(client, "POST", f"/_mock/tenants/{TENANT}/reset").status_code == 200
        pool = client.app.state.store.engine  # type: ignore[attr-defined]
        thresholds: list[int] = []
        event.listen(pool, "connect", lambda dbapi, _: dbapi.execute("PRAGMA wal_autocheckpoint=1"))
        event.listen(
            pool,
            "checkin",
            lambda dbapi, _: thresholds.append(
                dbapi.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
            ),
        )
        pool.dispose()
        engine._checkpoint(str(database))
        assert _tenant_events(_copy(database, tmp_path / "before")) == 0
        assert admin(client, "POST", "/_mock/snapshots/s/restore").status_code == 200
        # A crash now: the files as they are. The restore is there (the WAL holds it).
        assert _tenant_events(_copy(database, tmp_path / "crash", "-wal")) == saved
        alone = _tenant_events(_copy(database, tmp_path / "alone"))
        if not deferred:
            assert (alone, started) == (saved, [])
            return
        assert (alone, started) == (0, [str(database)])
        assert thresholds and set(thresholds) == {1}  # every connection, its own back
        engine._checkpoint(started[0])
        assert _tenant_events(_copy(database, tmp_path / "after")) == saved
        _verified(client)


RECORDS = 50_000  # idempotency records added to the snapshot below


def test_a_restore_after_a_reset_copies_the_idempotency_records_in_one_pass(
    settings: Settings, client: TestClient, api: Api, ledger: dict[str, str]
) -> None:
    """After a reset, fresh statistics say the live idempotency records are none. A copy
    that skips the live keys by an anti-join then scans the live table once per record
    (PostgreSQL: a nested loop over a table the copy fills), 18 s for the twin's
    tenant; the copy must take one pass. The broken input: that anti-join, which runs
    into the statement timeout here."""
    _spend(api, ledger, 1)
    store: Store = client.app.state.store  # type: ignore[attr-defined]
    with store.admin() as conn:
        live = _count_records(conn)
    assert admin(client, "POST", "/_mock/snapshots/base", tenant=TENANT).status_code == 200
    with store.admin() as conn:
        conn.execute(
            text(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :r) "
                "INSERT INTO snapshot_command_log (snapshot, tenant_id, dedup_key, command_id, "
                "command_type, payload_hash, reply, created_at) SELECT 'base', :t, "
                "'key-' || i, 'cmd', 'PostEntry', 'hash', '{}', '2025-01-01T00:00:00Z' FROM n"
            ),
            {"r": RECORDS, "t": TENANT},
        )
        conn.execute(text("ANALYZE snapshot_command_log"))  # as a save leaves it
    assert admin(client, "POST", f"/_mock/tenants/{TENANT}/reset").status_code == 200
    if store.engine.dialect.name == "postgresql":
        # What autovacuum does soon after the reset: the emptied table cut to no pages,
        # and statistics that say so.
        owner = settings.database_url.replace("+psycopg", "")
        with psycopg.connect(owner, autocommit=True) as pg:
            pg.execute("VACUUM ANALYZE command_log")
    with store.admin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL statement_timeout = '3s'"))
        snapshots.restore(conn, "base")
    with store.admin() as conn:
        assert _count_records(conn) == live + RECORDS


def _count_records(conn: Connection) -> int:
    records = text("SELECT count(*) FROM command_log WHERE tenant_id = :t")
    return int(conn.execute(records, {"t": TENANT}).scalar_one())
