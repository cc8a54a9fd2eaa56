"""The SQLite writer's memory of what it wrote, and the batch without savepoints.

The write path remembers each tenant's chain head, accounts and products
(`WriterMemory`), and a group-commit batch shares one transaction with no
savepoints. These tests pin down the ways that could go wrong: the database
changing under the memory (another process, an admin reset), a batch failing
half-way, and a batch whose later commands read what earlier ones wrote.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mock_core.api.app import create_app
from mock_core.api.parse import parse_command
from mock_core.core.commands import Command
from mock_core.errors import InvariantViolation, RequestError
from mock_core.gateway import Gateway, Outcome
from mock_core.settings import Settings
from mock_core.store import eventstore
from mock_core.store.backends import open_store
from mock_core.store.engine import make_engine, upgrade
from mock_core.store.eventstore import Caches
from mock_core.store.rebuild import drift, replay
from mock_core.store.sqlite import SqliteStore, SqliteTransaction
from tests.commands import entry_payload, envelope, transfer_legs
from tests.mock_core.conftest import KEYS, SAVINGS, TENANT, TXN_BASIC, Api, customer_payload


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def two_apps(sqlite_url: str) -> Iterator[tuple[Api, Api]]:
    """Two mocks on one SQLite file: each sees the other's commits as foreign writes."""
    settings = Settings(database_url=sqlite_url, api_keys=KEYS, access_log=False)
    with (
        TestClient(create_app(settings), raise_server_exceptions=False) as first,
        TestClient(create_app(settings), raise_server_exceptions=False) as second,
    ):
        yield Api(first), Api(second)


def _funded_pair(api: Api) -> tuple[str, str]:
    assert api.create_tenant().status_code == 202
    assert api.send(TENANT, "UpsertProduct", TXN_BASIC).status_code == 202
    accounts = []
    for n in (1, 2):
        customer = api.create_customer(n=n).json()["result"]["customerId"]
        reply = api.open_account(customer, initialDeposit=1000)
        accounts.append(reply.json()["result"]["accountId"])
    return accounts[0], accounts[1]


def _chain_is_intact(api: Api) -> None:
    reply = api.client.get(f"/_mock/tenants/{TENANT}/verify", headers=api.headers())
    assert reply.status_code == 200, reply.text
    assert reply.json()["problems"] == [], reply.json()


def test_writes_by_another_process_are_seen(two_apps: tuple[Api, Api], sqlite_url: str) -> None:
    first, second = two_apps
    a, b = _funded_pair(first)
    assert first.post_entry([(a, "CREDIT", 10), (b, "DEBIT", 10)]).status_code == 202
    # The second mock moves the chain head and both balances behind the first one's back.
    assert second.post_entry([(a, "CREDIT", 100), (b, "DEBIT", 100)]).status_code == 202
    assert second.send(TENANT, "UpsertProduct", {**SAVINGS}).status_code == 202
    reply = first.post_entry([(a, "CREDIT", 1), (b, "DEBIT", 1)])
    assert reply.status_code == 202, reply.text  # a stale head would fork the chain: 500
    assert first.balance(a) == 1000 - 111
    assert first.balance(b) == 1000 + 111
    # A balance bound is checked against the real balance, not the remembered one.
    refused = first.post_entry([(a, "CREDIT", 900), (b, "DEBIT", 900)])
    assert refused.status_code == 422
    assert refused.json()["invariant"] == "OVERDRAFT_LIMIT_EXCEEDED"
    _chain_is_intact(first)
    # The running figures the writer sums (`sqlite.FiguresBulk`) follow the other's rows.
    assert _drift(make_engine(sqlite_url)) == []


def test_a_mock_that_trusts_its_memory_blindly_would_fork_the_chain(
    two_apps: tuple[Api, Api], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = two_apps
    a, b = _funded_pair(first)
    assert first.post_entry([(a, "CREDIT", 10), (b, "DEBIT", 10)]).status_code == 202
    monkeypatch.setattr(SqliteStore, "_memory_token", lambda self, cursor: None)
    assert second.post_entry([(a, "CREDIT", 100), (b, "DEBIT", 100)]).status_code == 202
    assert first.post_entry([(a, "CREDIT", 1), (b, "DEBIT", 1)]).status_code == 500


def test_an_admin_reset_forgets_the_tenant(sqlite_url: str) -> None:
    settings = Settings(database_url=sqlite_url, api_keys=KEYS, access_log=False)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        api = Api(client)
        a, b = _funded_pair(api)
        assert api.post_entry([(a, "CREDIT", 10), (b, "DEBIT", 10)]).status_code == 202
        reset = client.post(f"/_mock/tenants/{TENANT}/reset", headers=api.headers())
        assert reset.status_code == 200
        assert api.post_entry([(a, "CREDIT", 1), (b, "DEBIT", 1)]).status_code == 404
        a2, b2 = _funded_pair(api)
        assert api.last_sequence() > 0
        assert api.post_entry([(a2, "CREDIT", 5), (b2, "DEBIT", 5)]).status_code == 202
        assert api.balance(a2) == 995
        _chain_is_intact(api)


# ------------------------------------------------------------- the batch itself


def _command(command_type: str, payload: dict[str, Any], key: str | None = None) -> Command:
    return parse_command(TENANT, envelope(TENANT, command_type, payload, key=key))


def _transfer(src: str, dst: str, amount: float, key: str | None = None) -> Command:
    return _command("PostEntry", entry_payload(transfer_legs(src, dst, amount), "batch test"), key)


def _result(outcome: Outcome | Exception) -> Any:
    assert isinstance(outcome, Outcome), outcome
    import orjson

    return orjson.loads(outcome.body)["result"]


@pytest.fixture(params=[True, False], ids=["memory", "no-memory"])
def gateway(sqlite_url: str, request: pytest.FixtureRequest) -> Gateway:
    """The gateway on SQLite, with the writer's memory and without it (the batch must
    see its own writes either way)."""
    upgrade(sqlite_url)
    caches = Caches(writer_memory=request.param)
    return Gateway(open_store(make_engine(sqlite_url), caches))


def _balances(gateway: Gateway, *accounts: str) -> list[int]:
    with gateway.store.engine.connect() as conn:
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        return [
            cursor.execute(
                "SELECT balance_minor FROM accounts WHERE account_id = ?", (a,)
            ).fetchone()[0]
            for a in accounts
        ]


def _setup(gateway: Gateway) -> tuple[str, str]:
    tenant = {
        "tenantCode": TENANT,
        "displayName": "Batch CU",
        "region": "AU",
        "baseCurrency": "AUD",
        "timeZone": "Australia/Sydney",
    }
    gateway.execute(_command("CreateTenant", tenant), None)
    gateway.execute(_command("UpsertProduct", TXN_BASIC), None)
    ids = []
    for n in (1, 2):
        customer = _result(gateway.execute(_command("CreateCustomer", customer_payload(n)), None))[
            "customerId"
        ]
        opened = gateway.execute(
            _command(
                "OpenAccount",
                {
                    "customerId": customer,
                    "productCode": TXN_BASIC["productCode"],
                    "currency": "AUD",
                    "initialDeposit": 100,
                },
            ),
            None,
        )
        ids.append(_result(opened)["accountId"])
    return ids[0], ids[1]


def test_a_batch_sees_its_own_writes_and_refusals_leave_no_trace(gateway: Gateway) -> None:
    a, b = _setup(gateway)
    customer = _result(gateway.execute(_command("CreateCustomer", customer_payload(3)), None))
    open_c = _command(
        "OpenAccount",
        {
            "customerId": customer["customerId"],
            "productCode": TXN_BASIC["productCode"],
            "currency": "AUD",
            "initialDeposit": 50,
        },
    )
    batch = [
        _transfer(a, b, 60),  # a: 40
        _transfer(a, b, 60),  # refused: a would be -20
        open_c,  # c opened with 50 in the same transaction
        _transfer(b, a, 10, key="k1"),  # a: 50
        _transfer(b, a, 10, key="k1"),  # the same key again: a replay of the reply
        _transfer(a, b, 50),  # a: 0, allowed only if the refusal left no trace
    ]
    results = gateway.execute_batch([(command, None) for command in batch])
    assert isinstance(results[1], InvariantViolation)
    assert results[1].code == "OVERDRAFT_LIMIT_EXCEEDED"
    first_reply, replay = results[3], results[4]
    assert isinstance(first_reply, Outcome) and isinstance(replay, Outcome)
    assert replay.replayed and replay.body == first_reply.body
    c = _result(results[2])["accountId"]
    # The new account, read by a later batch, has its opening deposit.
    later = gateway.execute_batch([(_transfer(c, a, 50), None), (_transfer(c, a, 1), None)])
    assert isinstance(later[0], Outcome)
    assert isinstance(later[1], InvariantViolation)
    assert _balances(gateway, a, b, c) == [5_000, 20_000, 0]


@pytest.mark.parametrize(
    "failure",
    [
        sqlite3.OperationalError("disk I/O error (simulated)"),
        # A refusal raised after the command has written must not leave those writes.
        RequestError("VALIDATION_ERROR", "refused after writing (simulated)"),
    ],
    ids=["database-error", "late-refusal"],
)
def test_a_batch_failing_half_way_is_applied_command_by_command(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch, failure: Exception
) -> None:
    a, b = _setup(gateway)
    doomed = _transfer(a, b, 1)
    real = eventstore.WriteTx.record_command

    def flaky(self: eventstore.WriteTx, key: str, command: Command, *args: Any) -> None:
        if command.command_id == doomed.command_id:
            raise failure
        real(self, key, command, *args)

    monkeypatch.setattr(eventstore.WriteTx, "record_command", flaky)
    batch = [_transfer(a, b, 10), doomed, _transfer(b, a, 3)]
    results = gateway.execute_batch([(command, None) for command in batch])
    assert isinstance(results[0], Outcome) and isinstance(results[2], Outcome)
    assert results[1] is failure
    # The doomed command's events were rolled back with it; the others hold once.
    assert _balances(gateway, a, b) == [9_300, 10_700]
    monkeypatch.setattr(eventstore.WriteTx, "record_command", real)
    retried = gateway.execute_batch([(doomed, None), (_transfer(a, b, 2), None)])
    assert all(isinstance(r, Outcome) for r in retried)
    assert _balances(gateway, a, b) == [9_000, 11_000]
    with gateway.store.engine.connect() as conn:
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        sequences = [s for (s,) in cursor.execute("SELECT sequence FROM events ORDER BY 1")]
        head = cursor.execute("SELECT last_sequence FROM tenants").fetchone()[0]
    assert sequences == list(range(1, len(sequences) + 1))
    assert head == sequences[-1]


def test_a_batch_whose_commit_fails_is_applied_command_by_command(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = _setup(gateway)
    real = eventstore.WriteTransaction.commit
    failures = []

    def fails_once(self: eventstore.WriteTransaction) -> None:
        if not failures:
            failures.append(True)
            self.rollback()
            raise sqlite3.OperationalError("disk I/O error at commit (simulated)")
        real(self)

    monkeypatch.setattr(eventstore.WriteTransaction, "commit", fails_once)
    batch = [_transfer(a, b, 10), _transfer(b, a, 3), _transfer(a, b, 1)]
    results = gateway.execute_batch([(command, None) for command in batch])
    assert failures and all(isinstance(r, Outcome) and not r.replayed for r in results)
    assert _balances(gateway, a, b) == [9_200, 10_800]  # each applied once, nothing lost


def _drift(engine: Any) -> list[str]:
    """What `mock-core rebuild --check` would report: projection rows, the as-of running
    figures among them, that differ from a replay of the log."""
    with engine.connect() as conn:
        return drift(conn, replay(conn))


def test_running_figures_survive_a_commit_that_fails_after_the_flush(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer sums each account_events row's figures as the batch is flushed, so a
    commit failing after that must drop them with the rest of its memory."""
    a, b = _setup(gateway)
    real = SqliteTransaction._commit
    failures = []

    def fails_once(self: SqliteTransaction) -> None:
        if not failures:
            failures.append(True)
            raise sqlite3.OperationalError("disk I/O error at commit (simulated)")
        real(self)

    monkeypatch.setattr(SqliteTransaction, "_commit", fails_once)
    batch = [_transfer(a, b, 10), _transfer(b, a, 3), _transfer(a, b, 1)]
    results = gateway.execute_batch([(command, None) for command in batch])
    assert failures and all(isinstance(r, Outcome) and not r.replayed for r in results)
    gateway.execute_batch([(_transfer(a, b, 2), None), (_transfer(b, a, 5), None)])
    assert _balances(gateway, a, b) == [9_500, 10_500]
    assert _drift(gateway.store.engine) == []


def test_a_batch_reads_its_keys_and_accounts_ahead_and_still_sees_each_record(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch reads its idempotency records (and accounts) once per tenant, before its
    first command (`WriteBatch.look_ahead`): a key committed by an earlier batch is a
    replay or a reuse, a key recorded earlier in the batch is one too, and a new key is
    applied once. Each command still gets its own answer."""
    a, b = _setup(gateway)
    first = gateway.execute(_transfer(a, b, 5, key="earlier"), None)
    statements: list[str] = []
    real = eventstore.WriteTx._run

    def counted(self: eventstore.WriteTx, name: str, params: dict[str, Any], **fmt: str) -> Any:
        statements.append(name)
        return real(self, name, params, **fmt)

    monkeypatch.setattr(eventstore.WriteTx, "_run", counted)
    batch = [
        _transfer(a, b, 5, key="earlier"),  # committed before: a replay
        _transfer(a, b, 7, key="earlier"),  # the same key, another payload: refused
        _transfer(a, b, 1, key="new"),  # applied
        _transfer(a, b, 1, key="new"),  # recorded earlier in this batch: a replay
        _transfer(a, b, 2, key="new"),  # and reused with another payload: refused
        _transfer(b, a, 3),  # applied
    ]
    results = gateway.execute_batch([(command, None) for command in batch])
    replay, reused, applied, again, misused, other = results
    assert isinstance(replay, Outcome) and replay.replayed
    assert isinstance(first, Outcome) and replay.body == first.body
    assert isinstance(reused, InvariantViolation) and reused.code == "IDEMPOTENCY_KEY_REUSED"
    assert isinstance(applied, Outcome) and not applied.replayed
    assert isinstance(again, Outcome) and again.replayed and again.body == applied.body
    assert isinstance(misused, InvariantViolation) and misused.code == "IDEMPOTENCY_KEY_REUSED"
    assert isinstance(other, Outcome) and not other.replayed
    assert _balances(gateway, a, b) == [10_000 - 500 - 100 + 300, 10_000 + 500 + 100 - 300]
    # One read of the batch's records, none per command.
    assert statements.count("find_commands") == 1 and "find_command" not in statements


def test_records_read_ahead_do_not_outlive_their_transaction(gateway: Gateway) -> None:
    """A batch that writes nothing (a replay and a refusal) still drops the records it
    read ahead when it ends: after a reset, the key's record is gone, and so is the
    tenant."""
    a, b = _setup(gateway)
    once = _transfer(a, b, 5, key="once")
    assert isinstance(gateway.execute(once, None), Outcome)
    replay, refused = gateway.execute_batch([(once, None), (_transfer(a, b, 10**6), None)])
    assert isinstance(replay, Outcome) and replay.replayed
    assert isinstance(refused, InvariantViolation)
    gateway.store.reset(TENANT)
    with pytest.raises(RequestError) as info:
        gateway.execute(once, None)
    assert info.value.code == "NOT_FOUND"
