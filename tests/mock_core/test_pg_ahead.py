"""PostgreSQL: batches applied ahead of their reads, while the commit before them is in flight.

A worker's group commit applies the next batch from the memory the last one left
(`Gateway.apply_ahead`), reading nothing, and its commit checks under the tenant's lock
that what it assumed holds (`postgres.AheadTransaction`). The risks are a batch decided
on a memory another writer made stale, and a key it took for new. These tests make
both happen with a second writer on the same database (another worker, as far as the
first can tell), and check that such a batch is applied again the usual way; then many
clients over HTTP, on one worker, where most batches are applied ahead.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from mock_core.api.app import create_app
from mock_core.core.commands import Command
from mock_core.errors import InvariantViolation
from mock_core.gateway import Gateway, Outcome, PreparedBatch
from mock_core.settings import Settings
from mock_core.store.backends import open_store
from mock_core.store.engine import make_engine
from mock_core.store.postgres import PostgresStore
from tests.conftest import create_database, drop_database, require_postgres
from tests.mock_core.conftest import KEYS, PLATFORM_KEY, Api
from tests.mock_core.test_pg_group_commit import _fund, _problems, _race, _transfer
from tests.serving import served_mock

TENANT = "CU_DIGITAL"


@pytest.fixture
def two_writers(pg_database: tuple[str, str]) -> Iterator[tuple[Api, Gateway, Gateway]]:
    """The app's gateway, and a second writer on the same database (another worker)."""
    from tests.conftest import truncate

    truncate(pg_database[0])
    url = pg_database[1]
    settings = Settings(database_url=url, api_keys=KEYS, access_log=False)
    other = Gateway(open_store(make_engine(url)))
    try:
        with TestClient(create_app(settings)) as client:
            gateway = client.app.state.gateway  # type: ignore[attr-defined]
            assert isinstance(gateway.store, PostgresStore)
            yield Api(client), gateway, other
    finally:
        other.store.close()


def _kept(gateway: Gateway, command: Command) -> Outcome | Exception:
    """Apply `command` the usual way, keeping the memory for batches applied ahead."""
    batch = [(command, None)]
    result = gateway.commit_batch(gateway.prepare_batch(batch, keep=True), batch)[0]
    assert gateway.store.kept is not None
    return result


def _ahead(gateway: Gateway, command: Command) -> tuple[PreparedBatch, Outcome | Exception]:
    """Apply `command` ahead (it must be: the memory covers it), then commit it."""
    batch = [(command, None)]
    prepared = gateway.prepare_ahead(batch)
    assert prepared is not None and prepared.ahead, "not applied ahead"
    return prepared, gateway.commit_batch(prepared, batch)[0]


def test_a_batch_applied_ahead_on_a_head_another_writer_moved_is_applied_again(
    two_writers: tuple[Api, Gateway, Gateway],
) -> None:
    """The memory says `a` holds 0, so a debit of 30 is refused from it; another writer
    has paid 50 into `a` since. The head check finds the chain moved, and the batch,
    applied again the usual way, is accepted. Without the check the refusal would stand
    (it writes nothing, so no key or sequence would clash)."""
    api, gateway, other = two_writers
    a, b = _fund(api, TENANT)
    assert isinstance(_kept(gateway, _transfer(TENANT, a, b, 100)), Outcome)  # a: 0
    assert isinstance(other.execute_batch([(_transfer(TENANT, b, a, 50), None)])[0], Outcome)

    prepared, result = _ahead(gateway, _transfer(TENANT, a, b, 30))
    assert isinstance(prepared.results[0], InvariantViolation), "decided on the kept memory"
    assert prepared.again, "the stale batch was not applied again"
    assert isinstance(result, Outcome), result
    assert [api.balance(a), api.balance(b)] == [20, 180]
    assert gateway.store.kept is None  # dropped: the next batch reads
    assert _problems(api, TENANT) == []


def test_a_key_used_before_fails_the_batch_applied_ahead_and_is_replayed(
    two_writers: tuple[Api, Gateway, Gateway],
) -> None:
    """A batch applied ahead takes its keys for new (it reads no record). A retry of a
    committed command is found at its commit (the key check; the records' primary key
    would refuse its writes too); applied again the usual way, it gets the first reply,
    and nothing is written twice."""
    api, gateway, _ = two_writers
    a, b = _fund(api, TENANT)
    first = _transfer(TENANT, a, b, 10)
    accepted = _kept(gateway, first)
    assert isinstance(accepted, Outcome) and not accepted.replayed

    prepared, result = _ahead(gateway, first)
    assert prepared.again, "the clash was not applied again"
    assert isinstance(result, Outcome), result
    assert result.replayed and result.body == accepted.body
    assert [api.balance(a), api.balance(b)] == [90, 110]
    events = api.get(f"/tenants/{TENANT}/events", eventType="EntryPosted", limit=100)
    assert len(events.json()["events"]) == 1
    assert _problems(api, TENANT) == []


def test_a_retry_the_memory_would_refuse_is_replayed(
    two_writers: tuple[Api, Gateway, Gateway],
) -> None:
    """A retry of an accepted transfer of 60, after which its account holds 40: from the
    memory it is an overdraft, refused, and a refusal writes nothing, so no key clashes.
    The key check at its commit finds the key used, and the retry gets its first reply
    (the replay found by the contract suite's replay on PostgreSQL, before the check)."""
    api, gateway, _ = two_writers
    a, b = _fund(api, TENANT)
    first = _transfer(TENANT, a, b, 60)
    accepted = _kept(gateway, first)
    assert isinstance(accepted, Outcome)

    prepared, result = _ahead(gateway, first)
    assert isinstance(prepared.results[0], InvariantViolation), "decided on the kept memory"
    assert prepared.again
    assert isinstance(result, Outcome), result
    assert result.replayed and result.body == accepted.body
    assert [api.balance(a), api.balance(b)] == [40, 160]
    assert _problems(api, TENANT) == []


def test_batches_applied_ahead_chain_on_each_other(
    two_writers: tuple[Api, Gateway, Gateway],
) -> None:
    """Several batches applied ahead in a row, each from the memory the one before left
    (not yet committed when it was applied, as under load), commit in order; a refusal
    decided from that memory (an overdraft) is the one a fold of the log gives."""
    api, gateway, _ = two_writers
    a, b = _fund(api, TENANT)
    assert isinstance(_kept(gateway, _transfer(TENANT, a, b, 1)), Outcome)  # 99 / 101
    batches = [
        [(_transfer(TENANT, a, b, 40), None), (_transfer(TENANT, b, a, 5), None)],
        [(_transfer(TENANT, a, b, 60), None)],  # 64 - 60 = 4
        [(_transfer(TENANT, a, b, 5), None), (_transfer(TENANT, b, a, 2), None)],  # refused
    ]
    prepared = [gateway.prepare_ahead(batch) for batch in batches]
    assert all(p is not None and p.ahead for p in prepared)
    results = [
        gateway.commit_batch(p, batch) for p, batch in zip(prepared, batches, strict=True) if p
    ]
    assert not any(p.again for p in prepared if p is not None)
    assert [[isinstance(r, Outcome) for r in rs] for rs in results] == [
        [True, True],
        [True],
        [False, True],
    ]
    assert getattr(results[2][0], "invariant", None) == "OVERDRAFT_LIMIT_EXCEEDED"
    assert [api.balance(a), api.balance(b)] == [6, 194]
    assert _problems(api, TENANT) == []


def test_a_batch_applied_ahead_after_one_that_failed_is_applied_again(
    two_writers: tuple[Api, Gateway, Gateway],
) -> None:
    """The batch before fails its commit after the next one was applied on the memory
    it left: the next one's head check finds the chain where the failed one found it,
    and it is applied again on what was committed."""
    api, gateway, _ = two_writers
    a, b = _fund(api, TENANT)
    assert isinstance(_kept(gateway, _transfer(TENANT, a, b, 1)), Outcome)  # 99 / 101
    first = [(_transfer(TENANT, a, b, 90), None)]
    second = [(_transfer(TENANT, a, b, 9), None)]  # 9 left after the first: all of it
    failing = gateway.prepare_ahead(first)
    after = gateway.prepare_ahead(second)
    assert failing is not None and failing.txn is not None and after is not None
    failing.txn.rollback()  # its commit failed: nothing of it is written
    result = gateway.commit_batch(after, second)[0]
    assert after.again
    assert isinstance(result, Outcome), result
    assert [api.balance(a), api.balance(b)] == [90, 110]
    assert _problems(api, TENANT) == []


def test_a_batch_applied_ahead_commits_in_one_round_trip(
    two_writers: tuple[Api, Gateway, Gateway], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch applied ahead sends its BEGIN, lock, head check, writes and COMMIT
    together, and syncs the pipeline (waits for the server) once; so does the commit of
    one applied the usual way (its reads wait by a flush request, not a sync). psycopg's
    own BEGIN, or leaving pipeline mode after each transaction, would each add a sync
    (counted at psycopg's `_enqueue_sync`, which is private: should it go, this test
    fails on the patch, not silently)."""
    from psycopg._pipeline_base import BasePipeline

    api, gateway, _ = two_writers
    a, b = _fund(api, TENANT)
    assert isinstance(_kept(gateway, _transfer(TENANT, a, b, 1)), Outcome)
    syncs: list[int] = []
    enqueue_sync = BasePipeline._enqueue_sync

    def counted(pipeline: BasePipeline) -> None:
        syncs.append(1)
        enqueue_sync(pipeline)

    monkeypatch.setattr(BasePipeline, "_enqueue_sync", counted)
    prepared, result = _ahead(gateway, _transfer(TENANT, a, b, 2))
    assert isinstance(result, Outcome) and not prepared.again
    assert len(syncs) == 1, "a batch applied ahead waited more than once"
    syncs.clear()
    usual = gateway.execute_batch([(_transfer(TENANT, a, b, 3), None)])[0]
    assert isinstance(usual, Outcome)
    assert len(syncs) == 1
    monkeypatch.undo()
    assert [api.balance(a), api.balance(b)] == [94, 106]


# ------------------------------------------------------------- over HTTP, one worker


@pytest.fixture
def one_worker() -> Iterator[str]:
    """`mock-core serve` (one worker) on a database of its own."""
    require_postgres()
    name, url = create_database("mock_core_ahead")
    args = ["--database-url", url, "--api-keys", KEYS, "--no-access-log"]
    try:
        with served_mock(args, ready_path="/readyz") as base:
            yield base
    finally:
        drop_database(name)


def test_many_clients_on_one_tenant_commit_batches_applied_ahead(one_worker: str) -> None:
    """16 threads send transfers to one tenant: batches are applied while the one before
    commits (the metrics count them), and the ledger is the fold of the accepted ones."""
    headers = {"Authorization": f"Bearer {PLATFORM_KEY}"}
    with httpx.Client(base_url=one_worker, headers=headers, timeout=30) as client:
        api = Api(client)  # type: ignore[arg-type]  # httpx.Client speaks the same calls
        accounts = _fund(api, TENANT, members=3, deposit=50)
    expected = {TENANT: dict.fromkeys(accounts, 5000)}
    errors = _race(one_worker, {TENANT: accounts}, expected, clients=16, narrative="ahead")
    assert errors == []
    with httpx.Client(base_url=one_worker, headers=headers, timeout=30) as client:
        api = Api(client)  # type: ignore[arg-type]
        assert _problems(api, TENANT) == []
        for account, cents in expected[TENANT].items():
            assert round(api.balance(account) * 100) == cents, account
        metrics = client.get("/metrics").text
    ahead = [
        line for line in metrics.splitlines() if line.startswith("mock_core_commits_ahead_total")
    ]
    committed = [line for line in ahead if 'outcome="COMMITTED"' in line]
    assert committed and float(committed[0].split()[-1]) > 0, ahead
