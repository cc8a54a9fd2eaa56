"""PostgreSQL: row-level security as a second wall, and many workers on one chain."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from mock_core.api.app import create_app
from mock_core.settings import Settings
from mock_core.store.engine import make_engine
from tests.commands import envelope, every_event
from tests.conftest import create_database, drop_database, require_postgres
from tests.mock_core.conftest import KEYS, PLATFORM_KEY, TXN_BASIC, Api
from tests.mock_core.test_api import recompute_chain
from tests.serving import served_mock

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pg_url(pg_database: tuple[str, str]) -> str:
    from tests.conftest import truncate

    truncate(pg_database[0])
    return pg_database[1]


def _two_tenants(url: str) -> dict[str, str]:
    settings = Settings(database_url=url, api_keys=KEYS, access_log=False)
    ids = {}
    with TestClient(create_app(settings)) as client:
        api = Api(client)
        for tenant in ("TENANT_A", "TENANT_B"):
            assert api.create_tenant(tenant).status_code == 202
            assert api.upsert_product(tenant).status_code == 202
            customer = api.create_customer(tenant).json()["result"]["customerId"]
            reply = api.open_account(customer, tenant=tenant, initialDeposit=50)
            ids[tenant] = reply.json()["result"]["accountId"]
    return ids


def test_row_level_security_hides_and_protects_other_tenants_rows(pg_url: str) -> None:
    ids = _two_tenants(pg_url)
    app_engine = make_engine(pg_url)  # the application's engine: SET ROLE turingcore_app
    owner_engine = make_engine(pg_url, app_role=None)
    try:
        unfiltered = "SELECT tenant_id, account_id FROM accounts"  # no tenant filter at all
        with owner_engine.connect() as conn:
            owner_sees = {row[0] for row in conn.execute(text(unfiltered))}
        assert owner_sees == {"TENANT_A", "TENANT_B"}, "the owner bypasses policies"

        with app_engine.connect() as conn:
            conn.execute(text("SELECT set_config('app.current_tenant', 'TENANT_B', true)"))
            rows = conn.execute(text(unfiltered)).all()
            assert rows and {row[0] for row in rows} == {"TENANT_B"}
            assert ids["TENANT_A"] not in {row[1] for row in rows}
            for table in (
                "events",
                "customers",
                "products",
                "command_log",
                "account_events",
                "account_days",
                "tenant_totals",
                "tenant_days",
            ):
                tenants = {r[0] for r in conn.execute(text(f"SELECT tenant_id FROM {table}"))}
                assert tenants == {"TENANT_B"}, table

        with app_engine.connect() as conn:  # nothing set: nothing visible
            assert conn.execute(text("SELECT count(*) FROM accounts")).scalar_one() == 0

        with app_engine.connect() as conn, pytest.raises(DBAPIError, match="row-level security"):
            conn.execute(text("SELECT set_config('app.current_tenant', 'TENANT_B', true)"))
            conn.execute(
                text(
                    "INSERT INTO accounts (tenant_id, account_id, account_type, currency, "
                    "balance_minor, opened_at, ordinal, last_sequence) "
                    "VALUES ('TENANT_A', 'SNEAKY', 'GL', 'AUD', 0, 'now', 1, 1)"
                )
            )

        with app_engine.connect() as conn:  # an update of A's balance from B touches nothing
            conn.execute(text("SELECT set_config('app.current_tenant', 'TENANT_B', true)"))
            changed = conn.execute(
                text("UPDATE accounts SET balance_minor = 0 WHERE account_id = :a"),
                {"a": ids["TENANT_A"]},
            ).rowcount
            assert changed == 0

        with app_engine.connect() as conn, pytest.raises(DBAPIError, match="permission denied"):
            conn.execute(text("SELECT set_config('app.current_tenant', 'TENANT_A', true)"))
            conn.execute(text("UPDATE events SET envelope = '{}'"))  # the log is append-only
    finally:
        app_engine.dispose()
        owner_engine.dispose()


@pytest.fixture
def four_workers() -> Iterator[tuple[str, str]]:
    """`mock-core serve --workers 4` on a database of its own: (base URL, db name)."""
    require_postgres()
    name, url = create_database("mock_core_workers")
    args = ["--workers", "4", "--database-url", url, "--api-keys", KEYS, "--no-access-log"]
    try:
        with served_mock(args, ready_path="/readyz") as base:
            yield base, name
    finally:
        drop_database(name)


def _envelope(kind: str, payload: dict[str, Any], key: str | None = None) -> dict[str, Any]:
    return envelope("RACE_CU", kind, payload, actor_id="race", key=key or None)


def test_four_workers_keep_one_chain_and_every_bound(four_workers: tuple[str, str]) -> None:
    base, _ = four_workers
    headers = {"Authorization": f"Bearer {PLATFORM_KEY}"}
    with httpx.Client(base_url=f"{base}/v1/tenants/RACE_CU", headers=headers) as client:

        def send(body: dict[str, Any]) -> httpx.Response:
            return client.post("/commands", json=body)

        assert send(_envelope("CreateTenant", {
            "tenantCode": "RACE_CU", "displayName": "Race", "region": "AU",
            "baseCurrency": "AUD", "timeZone": "Australia/Sydney"})).status_code == 202  # fmt: skip
        assert send(_envelope("UpsertProduct", TXN_BASIC)).status_code == 202
        accounts = []
        for n in range(3):
            person = {"firstName": "R", "lastName": "C", "dateOfBirth": "1990-01-01",
                      "email": f"race{n}@example.com", "mobile": f"+6141111111{n}"}  # fmt: skip
            address = {"line1": "1 St", "suburb": "Sydney", "state": "NSW", "postcode": "2000",
                       "country": "AU"}  # fmt: skip
            customer = send(_envelope("CreateCustomer", {"person": person, "address": address}))
            open_account = {
                "customerId": customer.json()["result"]["customerId"],
                "productCode": "TXN_ACCOUNT_BASIC",
                "currency": "AUD",
                "initialDeposit": 100,
            }
            reply = send(_envelope("OpenAccount", open_account))
            accounts.append(reply.json()["result"]["accountId"])

    # Hundreds of conflicting transfers among three accounts that each hold 100.00,
    # from 16 clients at once: many must be refused as overdrafts, none may slip by.
    rng = random.Random(7)
    transfers = []
    for _ in range(400):
        src, dst = rng.sample(accounts, 2)
        amount = rng.choice([5, 20, 45.5, 80])
        transfers.append(_envelope("PostEntry", {
            "bookingDate": "2025-01-15", "valueDate": "2025-01-15", "currency": "AUD",
            "legs": [{"accountId": src, "direction": "CREDIT", "amount": amount},
                     {"accountId": dst, "direction": "DEBIT", "amount": amount}],
            "narrative": "race"}, key=f"race-{uuid.uuid4()}"))  # fmt: skip
    # The same key sent twice at once, to two connections (likely two workers).
    duplicates = transfers[:40]
    work = [*transfers, *[{**d, "commandId": str(uuid.uuid4())} for d in duplicates]]
    rng.shuffle(work)
    replies: list[tuple[dict[str, Any], int, dict[str, Any], bool]] = []
    lock = threading.Lock()

    def worker(chunk: list[dict[str, Any]]) -> None:
        with httpx.Client(base_url=f"{base}/v1/tenants/RACE_CU", headers=headers,
                          timeout=60) as c:  # fmt: skip
            for body in chunk:
                r = c.post("/commands", json=body)
                with lock:
                    replies.append((body, r.status_code, r.json(),
                                    r.headers.get("Idempotent-Replayed") == "true"))  # fmt: skip

    threads = [threading.Thread(target=worker, args=(work[i::16],)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert {status for _, status, _, _ in replies} <= {202, 409, 422}, "no 5xx, nothing else"
    refused = [b for _, s, b, _ in replies if s == 422]
    assert refused and {b["invariant"] for b in refused} == {"OVERDRAFT_LIMIT_EXCEEDED"}
    applied = [(body, reply) for body, s, reply, replayed in replies if s == 202 and not replayed]
    keys = [body["idempotencyKey"] for body, _ in applied]
    assert len(keys) == len(set(keys)), "a command applied twice"
    by_key: dict[str, set[str]] = {}
    for body, status, reply, _ in replies:
        if status == 202:
            by_key.setdefault(body["idempotencyKey"], set()).add(reply["result"]["entryId"])
    assert all(len(entries) == 1 for entries in by_key.values()), "a replay differed"

    with httpx.Client(base_url=f"{base}/v1/tenants/RACE_CU", headers=headers) as client:
        page = client.get("/accounts", params={"limit": 1000, "accountType": "ALL"}).json()[
            "accounts"
        ]
        balances = {a["accountId"]: round(a["balance"] * 100) for a in page}
        assert sum(balances.values()) == 0
        assert all(balances[a] >= 0 for a in accounts), "an overdraft slipped through"
        events = every_event(
            lambda after: client.get("/events", params={"after": after, "limit": 1000}).json()
        )
    recompute_chain(events)  # no gap and no fork in the sequence; every hash recomputes
    posted = [e for e in events if e["eventType"] == "EntryPosted"]
    assert len(posted) == len(applied), "every applied command has exactly its entry"
    # Every account's balance is the fold of the entries that touched it.
    folded = dict.fromkeys(balances, 0)
    for e in events:
        if e["eventType"] in ("EntryPosted", "FundsPosted"):
            for leg in e["payload"]["legs"]:
                sign = 1 if leg["direction"] == "DEBIT" else -1
                folded[leg["accountId"]] += sign * round(leg["amount"] * 100)
    assert folded == balances


# (table, key column, the write path's statement, rows inserted as the owner)
_KEY_READS = {
    "find_commands": (
        "command_log",
        "dedup_key",
        "INSERT INTO command_log SELECT 'T_PLAN', 'key-' || n, 'c', 'PostEntry', 'h', '{}', 'at' "
        "FROM generate_series(1, 20000) AS n",
    ),
    "accounts": (
        "accounts",
        "account_id",
        "INSERT INTO accounts (tenant_id, account_id, account_type, currency, balance_minor, "
        "opened_at, ordinal, last_sequence) SELECT 'T_PLAN', 'key-' || n, 'GL', 'AUD', 0, "
        "'at', n, n FROM generate_series(1, 20000) AS n",
    ),
}


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


@contextmanager
def _scoped_batch_on_unanalysed(table: str, fill: str) -> Iterator[Any]:
    """A fresh store whose `table` holds the rows `fill` inserts as the owner, never
    analysed (autovacuum off): the write batch of a transaction scoped to T_PLAN, rolled
    back after the block."""
    from mock_core.store.backends import open_store
    from mock_core.store.engine import upgrade

    db, url = create_database()
    try:
        upgrade(url)
        owner = make_engine(url, app_role=None)
        with owner.begin() as conn:
            conn.execute(text(f"ALTER TABLE {table} SET (autovacuum_enabled = false)"))
            conn.execute(text(fill))
        owner.dispose()
        store = open_store(make_engine(url))
        try:
            txn = store.begin(["T_PLAN"])
            try:
                batch = txn.batch
                batch.tx("T_PLAN")  # the transaction is scoped to the tenant
                yield batch
            finally:
                txn.rollback()
        finally:
            store.close()
    finally:
        drop_database(db)


def _assert_probes_the_key(name: str, plan: dict[str, Any], table: str, key: str) -> None:
    """Every scan of `table` in `plan` has `key` in its index condition."""
    scans = [
        node
        for node in _nodes(plan)
        if node.get("Relation Name") == table and "Scan" in node["Node Type"]
    ]
    assert scans, plan
    for node in scans:
        assert key in node.get("Index Cond", ""), (
            f"{name}: {node['Node Type']} on {table} without {key} in its index condition "
            f"(index cond {node.get('Index Cond')!r}, filter {node.get('Filter')!r}, "
            f"join filter {node.get('Join Filter')!r})"
        )


@pytest.mark.parametrize("name", sorted(_KEY_READS))
def test_write_path_reads_by_keys_probe_the_key_on_a_table_never_analysed(name: str) -> None:
    """A batch's reads by a list of keys (its idempotency records, its accounts) search
    the primary key by tenant and key, even where the planner has no statistics (a fresh
    store: autovacuum has not analysed the table yet). Written as `key IN (...)`, the
    planner read all of the tenant's 20,000 rows and filtered the keys."""
    require_postgres()
    table, key, fill = _KEY_READS[name]
    with _scoped_batch_on_unanalysed(table, fill) as batch:
        statement = batch.sql[name]
        keys = [f"key-{n}" for n in range(100, 116)]
        params: dict[str, Any] = {"t": "T_PLAN", "keys": keys}
        if not batch.keys_as_array:  # the IN (...) form
            params = {"t": "T_PLAN", **{f"v{i}": k for i, k in enumerate(keys)}}
            statement = statement.format(in_list=", ".join(f"%(v{i})s" for i in range(len(keys))))
        batch.cursor.execute(f"EXPLAIN (FORMAT JSON) {statement}", params, prepare=False)
        plan = batch.cursor.fetchone()[0][0]["Plan"]
        batch.cursor.execute(statement, params, prepare=False)
        assert len(batch.cursor.fetchall()) == 16
    _assert_probes_the_key(name, plan, table, key)


# (table, key column, rows inserted as the owner, the flush's rows of the statement)
_FLUSH_JOINS = {
    "insert_touch": (
        "account_events",
        "account_id",
        "INSERT INTO account_events (tenant_id, account_id, sequence, booking_date, "
        "balance_minor, event_count, postings, led_postings) SELECT 'T_PLAN', 'key-' || "
        "(n % 200), n, '2025-01-01', 0, 1, 0, 0 FROM generate_series(1, 20000) AS n",
        [("T_PLAN", f"key-{n}", 20000 + n, "2025-01-02", 5, 1, 1) for n in range(16)],
    ),
    "update_balance": (
        "accounts",
        "account_id",
        _KEY_READS["accounts"][2],
        [(5, 20000 + n, "T_PLAN", f"key-{n}") for n in range(100, 116)],
    ),
}


@pytest.mark.parametrize("name", sorted(_FLUSH_JOINS))
def test_the_flush_joins_its_rows_to_a_table_by_the_key(name: str) -> None:
    """The flush's statements that join its rows to a table (an account's last running
    figures, its balance) probe the table's primary key by tenant AND key, under
    row-level security, on a table never analysed. The rows are one JSON parameter: where
    their `value ->> n` (not leakproof) reached the join, row-level security kept it out
    of the index condition, and each seek read all of the tenant's rows (a batch of 16
    took 244 ms)."""
    require_postgres()
    from mock_core.store import postgres

    table, key, fill, rows = _FLUSH_JOINS[name]
    with _scoped_batch_on_unanalysed(table, fill) as batch:
        params = [orjson.dumps(rows).decode()]
        statement = f"EXPLAIN (FORMAT JSON) {postgres._UNNEST[name]}"
        batch.cursor.execute(statement, params, prepare=False)
        plan = batch.cursor.fetchone()[0][0]["Plan"]
    _assert_probes_the_key(name, plan, table, key)


def _terminate_writer(gateway: Any, url: str) -> None:
    """Kill the writer connection's server process, as a restart or a proxy would."""
    pid = gateway.store._writer.connection.driver_connection.info.backend_pid
    owner = make_engine(url, app_role=None)
    try:
        with owner.begin() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
    finally:
        owner.dispose()


def test_a_writer_connection_closed_by_the_server_is_replaced(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer keeps its connection from one batch to the next. One the server closed
    while it sat idle goes back to the pool, whose ping finds it dead, before a command
    uses it; one closed under load fails the commit that finds it, nothing of it written:
    a batch applied ahead of its reads is then applied again the usual way, on a new
    connection, and one applied the usual way gets an error reply."""
    from mock_core.store import postgres

    monkeypatch.setattr(postgres, "WRITER_IDLE_S", 0.2)
    settings = Settings(database_url=pg_url, api_keys=KEYS, access_log=False)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        api = Api(client)
        gateway = client.app.state.gateway  # type: ignore[attr-defined]
        assert api.create_tenant().status_code == 202
        assert api.upsert_product().status_code == 202
        accounts = []
        for n in (1, 2):
            customer = api.create_customer(n=n).json()["result"]["customerId"]
            opened = api.open_account(customer, initialDeposit=100)
            accounts.append(opened.json()["result"]["accountId"])
        a, b = accounts

        _terminate_writer(gateway, pg_url)
        time.sleep(0.3)  # idle: the pool replaces it
        assert api.post_entry([(a, "CREDIT", 10), (b, "DEBIT", 10)]).status_code == 202

        monkeypatch.setattr(postgres, "WRITER_IDLE_S", 3600.0)  # never idle
        store = gateway.store
        assert store.kept is not None  # so the next command is applied ahead
        _terminate_writer(gateway, pg_url)
        again = api.post_entry([(a, "CREDIT", 2), (b, "DEBIT", 2)])
        assert again.status_code == 202, again.text
        assert store.holdoff == postgres.AHEAD_HOLDOFF  # its first commit failed

        _terminate_writer(gateway, pg_url)  # (the holdoff: the usual way)
        refused = api.post_entry([(a, "CREDIT", 1), (b, "DEBIT", 1)])
        assert refused.status_code >= 500, refused.text
        assert api.post_entry([(a, "CREDIT", 20), (b, "DEBIT", 20)]).status_code == 202
        assert [api.balance(a), api.balance(b)] == [68, 132]


def _backend_pid(conn: Any) -> int:
    return int(conn.connection.driver_connection.info.backend_pid)


def _backends(url: str) -> set[int]:
    owner = make_engine(url, app_role=None)
    try:
        with owner.connect() as conn:
            rows = conn.execute(
                text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            )
            return {row[0] for row in rows}
    finally:
        owner.dispose()


def _terminate(url: str, pid: int) -> None:
    """End the backend `pid` and wait until it is gone."""
    owner = make_engine(url, app_role=None)
    try:
        with owner.begin() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
    finally:
        owner.dispose()
    deadline = time.monotonic() + 10
    while pid in _backends(url):
        assert time.monotonic() < deadline
        time.sleep(0.01)


# The reads' scope statement, counting itself in the session (app.scopes).
_COUNTING_SCOPE = (
    "SELECT set_config('app.current_tenant', %(t)s, false), set_config('app.scopes', "
    "(coalesce(nullif(current_setting('app.scopes', true), ''), '0')::int + 1)::text, false)"
)


def test_the_reads_connection_sets_its_scope_only_when_the_tenant_changes(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scope statement (a round trip) is sent by a read whose tenant differs from the
    last read's, or after the connection sat idle READER_IDLE_S; each read sees its own
    tenant's rows either way. A connection the server closed is found by that statement
    after an idle spell (the read goes through); within a burst it fails the read it
    holds, and the next goes through."""
    from mock_core.store import postgres
    from mock_core.store.backends import open_store

    _two_tenants(pg_url)
    monkeypatch.setattr(postgres, "_SESSION_SCOPE", _COUNTING_SCOPE)
    monkeypatch.setattr(postgres, "READER_IDLE_S", 3600.0)
    store = open_store(make_engine(pg_url))
    assert isinstance(store, postgres.PostgresStore)
    visible = "SELECT DISTINCT tenant_id FROM accounts"  # no tenant filter at all

    def read(tenant: str) -> tuple[set[str], int]:
        with store.read(tenant) as conn:
            seen = {row[0] for row in conn.execute(text(visible))}
            scopes = conn.execute(text("SELECT current_setting('app.scopes', true)")).scalar()
        return seen, int(scopes or 0)

    try:
        order = ["TENANT_A"] * 3 + ["TENANT_B"] * 2 + ["TENANT_A", "NO_SUCH", "NO_SUCH", "A\x00B"]
        got = [read(tenant) for tenant in order]
        assert [seen for seen, _ in got] == (
            [{"TENANT_A"}] * 3 + [{"TENANT_B"}] * 2 + [{"TENANT_A"}] + [set()] * 3
        )
        # NO_SUCH and A\x00B are scoped alike ("" for the second): no statement between.
        assert [scopes for _, scopes in got] == [1, 1, 1, 2, 2, 3, 4, 4, 5]

        # Within a burst, a closed connection fails the read that holds it, then is replaced.
        assert store._reader is not None
        _terminate(pg_url, _backend_pid(store._reader))
        with pytest.raises(DBAPIError):
            read("A\x00B")
        assert read("TENANT_B") == ({"TENANT_B"}, 1)  # a new connection, scoped afresh
        assert read("TENANT_B") == ({"TENANT_B"}, 1)

        # After an idle spell, the same tenant's read sends the statement again: it finds
        # the closed connection, and the read goes through.
        monkeypatch.setattr(postgres, "READER_IDLE_S", 0.0)
        time.sleep(0.01)
        assert read("TENANT_B") == ({"TENANT_B"}, 2)
        assert store._reader is not None
        _terminate(pg_url, _backend_pid(store._reader))
        time.sleep(0.01)
        assert read("TENANT_B") == ({"TENANT_B"}, 0)  # a pooled connection (its own scope)
        assert read("TENANT_B") == ({"TENANT_B"}, 1)  # a new kept connection
    finally:
        store.close()


def test_the_reads_connection_is_kept_scoped_per_read_and_never_pooled(pg_url: str) -> None:
    """Reads share one kept connection (autocommit, the tenant set for the session); a
    read from another thread meanwhile takes a pooled one; one the server
    closed is replaced by the next read; dropped, it is closed, not handed to the pool
    with a tenant still set."""
    from mock_core.store.backends import open_store

    _two_tenants(pg_url)
    store = open_store(make_engine(pg_url))
    visible = "SELECT DISTINCT tenant_id FROM accounts"  # no tenant filter at all
    try:
        seen = {}
        for tenant in ("TENANT_A", "TENANT_B", "TENANT_A", "NO_SUCH", "A\x00B"):
            with store.read(tenant) as conn:
                seen[tenant] = {row[0] for row in conn.execute(text(visible))}
                pid = _backend_pid(conn)
            assert store._reader is not None and _backend_pid(store._reader) == pid
        assert seen == {
            "TENANT_A": {"TENANT_A"},
            "TENANT_B": {"TENANT_B"},
            "NO_SUCH": set(),
            "A\x00B": set(),
        }

        # Held by one read, the kept connection is not lent to another thread's.
        with store.read("TENANT_A") as held:
            other: dict[str, Any] = {}

            def read_b() -> None:
                with store.read("TENANT_B") as conn:
                    other["seen"] = {row[0] for row in conn.execute(text(visible))}
                    other["pid"] = _backend_pid(conn)

            thread = threading.Thread(target=read_b)
            thread.start()
            thread.join()
            assert {row[0] for row in held.execute(text(visible))} == {"TENANT_A"}
        assert other["seen"] == {"TENANT_B"} and other["pid"] != pid

        # Closed by the server: the next read goes through (a pooled connection, then a
        # new kept one).
        _terminate(pg_url, pid)
        for _ in range(2):
            with store.read("TENANT_B") as conn:
                assert {row[0] for row in conn.execute(text(visible))} == {"TENANT_B"}
        assert store._reader is not None
        pid = _backend_pid(store._reader)
        assert pid in _backends(pg_url)
        store.drop_reader()
        assert pid not in _backends(pg_url)  # closed, not back in the pool with its scope
    finally:
        store.close()
