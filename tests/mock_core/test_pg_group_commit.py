"""PostgreSQL group commit: a batch of several tenants' commands, one transaction.

Each worker applies the commands it has read together (`GroupCommitter`): it
takes every tenant's advisory lock in sorted order, scopes each command to its
own tenant (row-level security stays in force) and commits once. The risk is a
write that lands under another tenant's scope: row-level security refuses an
INSERT there, but an UPDATE (a balance, a chain head) silently matches nothing.
These tests interleave two tenants in one batch, in process and over HTTP with
several workers, and check every balance, chain and projection afterwards.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from mock_core.api.app import create_app
from mock_core.api.parse import parse_command
from mock_core.core.commands import Command
from mock_core.gateway import Gateway, Outcome
from mock_core.settings import Settings
from mock_core.store import eventstore
from mock_core.store.postgres import PostgresStore
from tests.commands import entry_payload, envelope, tenant_payload, transfer_legs
from tests.conftest import create_database, drop_database, require_postgres
from tests.mock_core.conftest import KEYS, PLATFORM_KEY, TXN_BASIC, Api, customer_payload
from tests.serving import served_mock

TENANTS = ("GC_ALPHA", "GC_BRAVO", "GC_CHARLIE")


@pytest.fixture
def pg_url(pg_database: tuple[str, str]) -> str:
    from tests.conftest import truncate

    truncate(pg_database[0])
    return pg_database[1]


def _fund(api: Api, tenant: str, members: int = 2, deposit: int = 100) -> list[str]:
    """`tenant` with one product and `members` accounts of `deposit` each."""
    assert api.create_tenant(tenant).status_code == 202
    assert api.upsert_product(tenant).status_code == 202
    accounts = []
    for n in range(1, members + 1):
        customer = api.create_customer(tenant, n=n).json()["result"]["customerId"]
        reply = api.open_account(customer, tenant=tenant, initialDeposit=deposit)
        assert reply.status_code == 202, reply.text
        accounts.append(reply.json()["result"]["accountId"])
    return accounts


def _transfer(tenant: str, src: str, dst: str, amount: int) -> Command:
    payload = entry_payload(transfer_legs(src, dst, amount), "group commit test")
    return parse_command(tenant, envelope(tenant, "PostEntry", payload))


def _problems(api: Api, tenant: str) -> list[Any]:
    """What the verify endpoint finds: the chain, and the projections against the log."""
    reply = api.client.get(f"/_mock/tenants/{tenant}/verify", headers=api.headers())
    assert reply.status_code == 200, reply.text
    problems: list[Any] = reply.json()["problems"]
    return problems


@pytest.fixture
def app_api(pg_url: str) -> Iterator[tuple[Api, Gateway]]:
    settings = Settings(database_url=pg_url, api_keys=KEYS, access_log=False)
    with TestClient(create_app(settings)) as client:
        gateway = client.app.state.gateway  # type: ignore[attr-defined]
        assert isinstance(gateway.store, PostgresStore)
        yield Api(client), gateway


def _interleaved_batch(api: Api, gateway: Gateway) -> tuple[dict[str, list[str]], list[Any]]:
    """Two tenants' transfers, interleaved, in one batch: (accounts, results)."""
    accounts = {tenant: _fund(api, tenant) for tenant in TENANTS[:2]}
    (a1, a2), (b1, b2) = accounts["GC_ALPHA"], accounts["GC_BRAVO"]
    batch = [
        _transfer("GC_ALPHA", a1, a2, 30),
        _transfer("GC_BRAVO", b1, b2, 10),
        # Reads the balance the batch's first command moved (under the other scope since).
        _transfer("GC_ALPHA", a1, a2, 60),
        _transfer("GC_BRAVO", b2, b1, 5),
        _transfer("GC_ALPHA", a1, a2, 20),  # 100 - 90 = 10 left: refused (overdraft)
        _transfer("GC_BRAVO", b1, b2, 1),
    ]
    return accounts, gateway.execute_batch([(command, None) for command in batch])


def _transactions(gateway: Gateway, results: list[Any]) -> int:
    """How many transactions wrote the accepted entries' events (their distinct `xmin`),
    seen as the owner, outside row-level security."""
    entries = [orjson.loads(r.body)["entryId"] for r in results if isinstance(r, Outcome)]
    with gateway.store.admin() as conn:
        found = conn.execute(
            text("SELECT count(DISTINCT xmin::text) FROM events WHERE entity_id = ANY(:ids)"),
            {"ids": entries},
        )
        return int(found.scalar_one())


def test_a_batch_of_two_tenants_keeps_each_ledger_whole(app_api: tuple[Api, Gateway]) -> None:
    api, gateway = app_api
    accounts, results = _interleaved_batch(api, gateway)
    assert _transactions(gateway, results) == 1, "not one transaction for the batch"
    assert [isinstance(r, Outcome) for r in results] == [True, True, True, True, False, True]
    assert len({orjson.loads(r.body)["entryId"] for r in results if isinstance(r, Outcome)}) == 5
    refused = results[4]
    assert getattr(refused, "invariant", None) == "OVERDRAFT_LIMIT_EXCEEDED", refused
    (a1, a2), (b1, b2) = accounts["GC_ALPHA"], accounts["GC_BRAVO"]
    assert [api.balance(a, "GC_ALPHA") for a in (a1, a2)] == [10, 190]
    assert [api.balance(b, "GC_BRAVO") for b in (b1, b2)] == [94, 106]
    for tenant in TENANTS[:2]:
        assert _problems(api, tenant) == [], tenant
    # Each entry is in its own tenant's log, and only there.
    for tenant, entries in (("GC_ALPHA", results[0:3:2]), ("GC_BRAVO", results[1:6:2])):
        events = api.get(f"/tenants/{tenant}/events", eventType="EntryPosted", limit=100)
        logged = {event["entityId"] for event in events.json()["events"]}
        ours = {orjson.loads(r.body)["entryId"] for r in entries if isinstance(r, Outcome)}
        assert len(ours) == (2 if tenant == "GC_ALPHA" else 3)
        assert ours <= logged, tenant


def test_a_batch_that_flushes_under_the_wrong_tenant_is_caught(
    app_api: tuple[Api, Gateway], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control: without the flush on a tenant switch, the first tenant's rows are
    written under the second tenant's scope. Row-level security refuses the inserts
    (an UPDATE there would silently match nothing), so the batch cannot go through
    as one transaction: it falls back to one per command, and the ledgers stay whole."""
    api, gateway = app_api

    def tx_without_flush(self: eventstore.WriteBatch, tenant_id: str) -> eventstore.WriteTx:
        if self._scope is not None and tenant_id != self._scoped:
            self._scope(tenant_id)
            self._scoped = tenant_id
        return eventstore.WriteTx(self, tenant_id)

    monkeypatch.setattr(eventstore.WriteBatch, "tx", tx_without_flush)
    _, results = _interleaved_batch(api, gateway)
    assert _transactions(gateway, results) == 5
    assert [isinstance(r, Outcome) for r in results] == [True, True, True, True, False, True]
    assert _problems(api, "GC_ALPHA") == _problems(api, "GC_BRAVO") == []


# ------------------------------------------------------------- over HTTP, two workers


@pytest.fixture
def two_workers() -> Iterator[str]:
    """`mock-core serve --workers 2` on a database of its own."""
    require_postgres()
    name, url = create_database("mock_core_gc")
    args = ["--workers", "2", "--database-url", url, "--api-keys", KEYS, "--no-access-log"]
    try:
        with served_mock(args, ready_path="/readyz") as base:
            yield base
    finally:
        drop_database(name)


def _race(
    base: str,
    accounts: dict[str, list[str]],
    expected: dict[str, dict[str, int]],
    clients: int,
    narrative: str,
) -> list[str]:
    """`clients` threads send 40 transfers each between random accounts of random tenants
    of `accounts`, many refused (no overdraft); `expected` (cents by tenant and account)
    follows the accepted ones. Returns the replies neither accepted nor refused."""
    headers = {"Authorization": f"Bearer {PLATFORM_KEY}"}
    tenants = sorted(accounts)
    lock = threading.Lock()
    errors: list[str] = []

    def client_thread(seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
            for _ in range(40):
                tenant = rng.choice(tenants)
                src, dst = rng.sample(accounts[tenant], 2)
                amount = rng.randint(1, 3000)  # cents; many are refused (no overdraft)
                # The amount as an exact decimal (orjson writes the fragment as it is).
                money = orjson.Fragment(f"{amount // 100}.{amount % 100:02d}".encode())
                payload = entry_payload(transfer_legs(src, dst, money), narrative)
                body = envelope(tenant, "PostEntry", payload)
                reply = http.post(
                    f"/v1/tenants/{tenant}/commands",
                    content=orjson.dumps(body),
                    headers={"Content-Type": "application/json"},
                )
                if reply.status_code == 202:
                    with lock:
                        expected[tenant][src] -= amount
                        expected[tenant][dst] += amount
                elif reply.status_code != 422:
                    errors.append(f"{reply.status_code} {reply.text}")

    threads = [threading.Thread(target=client_thread, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_many_clients_on_three_tenants_over_two_workers(two_workers: str) -> None:
    """12 threads send transfers to three tenants at once, so each worker's batches mix
    tenants; then every tenant's chain and projections verify and its balances are
    the fold of its accepted entries."""
    headers = {"Authorization": f"Bearer {PLATFORM_KEY}"}
    with httpx.Client(base_url=two_workers, headers=headers, timeout=30) as client:
        api = Api(client)  # type: ignore[arg-type]  # httpx.Client speaks the same calls
        accounts = {tenant: _fund(api, tenant, members=3, deposit=50) for tenant in TENANTS}
    expected = {t: dict.fromkeys(accounts[t], 5000) for t in TENANTS}
    errors = _race(two_workers, accounts, expected, clients=12, narrative="group commit race")
    assert errors == []
    with httpx.Client(base_url=two_workers, headers=headers, timeout=30) as client:
        api = Api(client)  # type: ignore[arg-type]
        for tenant in TENANTS:
            assert _problems(api, tenant) == [], tenant
            for account, cents in expected[tenant].items():
                assert round(api.balance(account, tenant) * 100) == cents, (tenant, account)
                assert cents >= 0, "no overdraft"


# ------------------------------------------------- a batch's reads, against SQLite's


def _cmd(tenant: str, command_type: str, payload: dict[str, Any], key: str | None = None) -> Any:
    return parse_command(tenant, envelope(tenant, command_type, payload, key=key))


def _outcome(result: Outcome | Exception) -> tuple[Any, ...]:
    if isinstance(result, Outcome):
        return ("ok", result.status, result.replayed)
    return (type(result).__name__, getattr(result, "code", None))


def _mixed_batch(gateway: Gateway) -> tuple[list[Any], list[Any], list[Any], int]:
    """Two funded tenants, then one batch of what a batch's read-ahead must get right:
    replays and reused keys of committed commands, a key twice in the batch, accounts
    that do not exist, an account opened (its product read) and used in the batch, a
    tenant that does not exist, and one created in the batch. Returns the outcomes, the
    balances, the reads the batch's commands made themselves, and its transactions."""
    accounts: dict[str, list[str]] = {}
    customers: dict[str, str] = {}
    for tenant in TENANTS[:2]:
        gateway.execute(_cmd(tenant, "CreateTenant", tenant_payload(tenant)), None)
        gateway.execute(_cmd(tenant, "UpsertProduct", TXN_BASIC), None)
        for n in (1, 2):
            made = gateway.execute(_cmd(tenant, "CreateCustomer", customer_payload(n)), None)
            assert isinstance(made, Outcome), made
            customers[tenant] = orjson.loads(made.body)["result"]["customerId"]
            opened = gateway.execute(
                _cmd(tenant, "OpenAccount", _opening(customers[tenant], 100)), None
            )
            assert isinstance(opened, Outcome), opened
            accounts.setdefault(tenant, []).append(orjson.loads(opened.body)["result"]["accountId"])
    (a1, a2), (b1, b2) = accounts["GC_ALPHA"], accounts["GC_BRAVO"]

    def move(tenant: str, src: str, dst: str, amount: int, key: str | None = None) -> Any:
        payload = entry_payload(transfer_legs(src, dst, amount), "read-ahead test")
        return _cmd(tenant, "PostEntry", payload, key)

    committed = move("GC_ALPHA", a1, a2, 7, key="k-committed")
    assert isinstance(gateway.execute(committed, None), Outcome)
    batch = [
        move("GC_ALPHA", a1, a2, 7, key="k-committed"),  # a replay
        move("GC_ALPHA", a1, a2, 8, key="k-committed"),  # the key reused: refused
        move("GC_BRAVO", b1, "NO-SUCH-ACCOUNT", 5),
        _cmd("GC_BRAVO", "OpenAccount", _opening(customers["GC_BRAVO"], 40), key="k-open"),
        move("GC_BRAVO", b1, b2, 30, key="k-twice"),
        move("GC_BRAVO", b1, b2, 30, key="k-twice"),  # the same key again in the batch
        move("GC_NOWHERE", a1, a2, 1),  # no such tenant
        _cmd("GC_CHARLIE", "CreateTenant", tenant_payload("GC_CHARLIE")),
        _cmd("GC_CHARLIE", "UpsertProduct", TXN_BASIC),
        move("GC_ALPHA", a1, a2, 90),  # 100 - 7 = 93: allowed
        move("GC_ALPHA", a1, a2, 5),  # 3 left: refused
    ]
    reads: list[tuple[str, str]] = []
    run = eventstore.WriteTx._run

    def counted(self: eventstore.WriteTx, name: str, *args: Any, **kwargs: Any) -> Any:
        reads.append((name, self.tenant_id))
        return run(self, name, *args, **kwargs)

    begun = []
    begin = gateway.store.begin
    gateway.store.begin = lambda tenants, keep=False: begun.append(tenants) or begin(tenants, keep)  # type: ignore[method-assign]
    eventstore.WriteTx._run = counted  # type: ignore[method-assign]
    try:
        results = gateway.execute_batch([(command, None) for command in batch])
    finally:
        eventstore.WriteTx._run = run  # type: ignore[method-assign]
        gateway.store.begin = begin  # type: ignore[method-assign]
    assert isinstance(results[3], Outcome), results[3]
    c = orjson.loads(results[3].body)["result"]["accountId"]
    with_new = gateway.execute_batch(
        [(move("GC_BRAVO", c, b1, 15), None), (move("GC_BRAVO", c, b1, 30), None)]
    )
    outcomes = [_outcome(r) for r in [*results, *with_new]]
    balances = []
    for tenant, account in ((t, a) for t in TENANTS[:2] for a in accounts[t]):
        balances.append(_balance(gateway, tenant, account))
    balances.append(_balance(gateway, "GC_BRAVO", c))
    return outcomes, balances, reads, len(begun)


def _opening(customer: str, deposit: int) -> dict[str, Any]:
    return {
        "customerId": customer,
        "productCode": TXN_BASIC["productCode"],
        "currency": "AUD",
        "initialDeposit": deposit,
    }


def _balance(gateway: Gateway, tenant: str, account: str) -> Any:
    from mock_core.store import queries

    with gateway.store.read(tenant) as conn:
        found = queries.get_account(conn, tenant, account)
    assert found is not None, account
    return found["balance"]


def test_a_mixed_batch_reads_ahead_as_on_sqlite(pg_url: str, tmp_path: Any) -> None:
    """PostgreSQL reads a batch's records, heads, accounts and products in one round trip
    (`WriteBatch._read_all_ahead`); SQLite reads them command by command. The same batch
    must give the same outcomes and balances on both."""
    from mock_core.store.backends import open_store
    from mock_core.store.engine import make_engine, upgrade

    sqlite_url = f"sqlite:///{tmp_path / 'store.db'}"
    upgrade(sqlite_url)
    found = {}
    for name, url in (("sqlite", sqlite_url), ("postgresql", pg_url)):
        store = open_store(make_engine(url))
        try:
            found[name] = _mixed_batch(Gateway(store))
        finally:
            store.close()
    outcomes, balances, _, transactions = found["sqlite"]
    assert found["postgresql"][:2] == (outcomes, balances)
    assert outcomes[0] == ("ok", 202, True) and outcomes[1][0] != "ok", outcomes
    assert outcomes[5] == ("ok", 202, True) and outcomes[6][0] != "ok", outcomes
    assert outcomes[9][0] == "ok" and outcomes[10][0] != "ok", outcomes
    assert outcomes[11][0] == "ok" and outcomes[12][0] != "ok", outcomes
    assert balances == [3, 197, 85, 130, 25], balances
    assert transactions == found["postgresql"][3] == 1, "the batch fell back to one per command"
    # What PostgreSQL's commands still read themselves: only what the round trip could
    # not know (an account that does not exist, a customer, tenants that do not exist
    # when the batch starts, and the product of the tenant created in the batch).
    assert sorted(found["postgresql"][2]) == [
        ("accounts", "GC_BRAVO"),
        ("customers", "GC_BRAVO"),
        ("head", "GC_CHARLIE"),
        ("head", "GC_NOWHERE"),
        ("products", "GC_CHARLIE"),
    ]


def test_a_command_alone_reads_ahead_in_one_round_trip(app_api: tuple[Api, Gateway]) -> None:
    """A batch of one (a sequential client) reads its record, its tenant's head, its
    accounts and their products with the batch's one round trip, as a batch of several
    does (`WriteBatch.reads_ahead_in_one_trip`), not with a round trip each: a PostEntry
    then makes no read of its own. The outcomes are those of the usual path: a replay,
    a reused key refused, an overdraft refused, the balances moved once."""
    api, gateway = app_api
    a1, a2 = _fund(api, "GC_ALPHA")
    reads: list[tuple[str, str]] = []
    run = eventstore.WriteTx._run

    def counted(self: eventstore.WriteTx, name: str, *args: Any, **kwargs: Any) -> Any:
        reads.append((name, self.tenant_id))
        return run(self, name, *args, **kwargs)

    def alone(command: Command) -> tuple[Any, list[tuple[str, str]]]:
        reads.clear()
        eventstore.WriteTx._run = counted  # type: ignore[method-assign]
        try:
            result = gateway.execute_batch([(command, None)])[0]
        finally:
            eventstore.WriteTx._run = run  # type: ignore[method-assign]
        return _outcome(result), list(reads)

    def move(amount: int, key: str | None = None) -> Any:
        payload = entry_payload(transfer_legs(a1, a2, amount), "alone test")
        return _cmd("GC_ALPHA", "PostEntry", payload, key)

    assert alone(move(30, key="k-alone")) == (("ok", 202, False), [])
    assert alone(move(30, key="k-alone")) == (("ok", 202, True), [])  # the replay
    assert alone(move(31, key="k-alone"))[0] == ("InvariantViolation", "IDEMPOTENCY_KEY_REUSED")
    assert alone(move(71)) == (("InvariantViolation", "OVERDRAFT_LIMIT_EXCEEDED"), [])  # 70 left
    assert alone(move(70)) == (("ok", 202, False), [])
    assert (_balance(gateway, "GC_ALPHA", a1), _balance(gateway, "GC_ALPHA", a2)) == (0, 200)
    # What the round trip cannot know, the command still reads itself: a customer.
    customer = api.create_customer("GC_ALPHA", n=3).json()["result"]["customerId"]
    opened = alone(_cmd("GC_ALPHA", "OpenAccount", _opening(customer, 5)))
    assert opened == (("ok", 202, False), [("customers", "GC_ALPHA")])
    assert _problems(api, "GC_ALPHA") == []


def _booked(tenant: str, src: str, dst: str, amount: int, day: str) -> Command:
    payload = entry_payload(transfer_legs(src, dst, amount), "group commit test", day=day)
    return parse_command(tenant, envelope(tenant, "PostEntry", payload))


def test_a_batch_back_dating_an_account_keeps_the_trial_balance_totals(
    app_api: tuple[Api, Gateway],
) -> None:
    """The kept totals of a batch that posts to an account on its tenant's latest posting
    day and back-dated before a day the account already has, beside another tenant's
    command: the back-dated leg moves the account's later days, which the batch read
    ahead (PostgreSQL reads them with its one round trip, `WriteBatch._read_all_ahead`).
    `verify` computes the totals from scratch and names any difference."""
    api, gateway = app_api
    accounts = {tenant: _fund(api, tenant) for tenant in TENANTS[:2]}  # deposits today
    (a1, a2), (b1, b2) = accounts["GC_ALPHA"], accounts["GC_BRAVO"]
    today = dt.datetime.now(dt.UTC).date().isoformat()
    alone = gateway.execute_batch([(_booked("GC_ALPHA", a1, a2, 10, "2025-01-10"), None)])
    assert isinstance(alone[0], Outcome), alone
    batch = [
        _booked("GC_ALPHA", a1, a2, 5, today),
        _booked("GC_BRAVO", b1, b2, 1, today),
        _booked("GC_ALPHA", a2, a1, 7, "2025-01-05"),
    ]
    results = gateway.execute_batch([(command, None) for command in batch])
    assert all(isinstance(r, Outcome) for r in results), results
    assert _transactions(gateway, results) == 1, "not one transaction for the batch"
    for tenant in TENANTS[:2]:
        assert _problems(api, tenant) == [], tenant
    # As of 2025-01-10: a1 -10 + 7, a2 +10 - 7 (the deposits are booked today); as of
    # 2025-01-05: a1 +7, a2 -7.
    for day, expected in (("2025-01-10", (3, 3, 2)), ("2025-01-05", (7, 7, 1))):
        trial = api.get("/tenants/GC_ALPHA/trial-balance", asOfDate=day, limit=1).json()
        assert (trial["totalDebits"], trial["totalCredits"], trial["postings"]) == expected
