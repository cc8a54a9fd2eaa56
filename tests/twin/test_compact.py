"""What the checks keep per event and per command, compactly (`twin.invariants.compact`),
and the failures it still tells: each shown on a tampered reply of a healthy mock."""

from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path
from typing import Any, TypeVar

import httpx
import orjson
import pytest

from tests.twin.conftest import SyncASGITransport
from tests.twin.test_invariants import (  # noqa: F401 (healthy: the shared fixture)
    TENANT,
    _account_stream,
    _rechain,
    _tenant_stream,
    failures,
    healthy,
    inspect,
    on_replies,
    path_of,
)
from twin.invariants import PASS, run_log, stream
from twin.invariants.compact import (
    Fingerprints,
    IdSequence,
    KeySet,
    Sequences,
    fingerprint,
    key64,
)
from twin.invariants.inspection import ACCOUNT_FIELDS, _kept
from twin.invariants.run_log import RunLog

T = TypeVar("T")


def test_the_key_set_is_a_set() -> None:
    keys = KeySet()
    rng = random.Random(1)
    values = [rng.getrandbits(64) or 1 for _ in range(5000)]
    for value in values:
        assert keys.add(value)
    assert len(keys) == 5000 and len(keys.keys) >= 5000 * 4 // 3  # grown, at most 3/4 full
    assert all(value in keys for value in values)
    assert not any(keys.add(value) for value in values[::7])
    assert rng.getrandbits(64) not in keys


def test_fingerprints_follow_each_key_through_growth() -> None:
    table = Fingerprints()
    expected: dict[str, list[str]] = defaultdict(list)
    rng = random.Random(2)
    for n in range(6000):
        cause = f"cmd-{rng.randrange(2500)}"
        slot = table.slot(key64(cause))
        for i in range(rng.randrange(1, 4)):
            table.feed(slot, f"evt-{n}-{i}")
            expected[cause].append(f"evt-{n}-{i}")
    for cause, ids in expected.items():
        assert table.get(key64(cause)) == fingerprint(ids)
    assert table.get(key64("cmd-none")) == (0, 0)
    ids = expected["cmd-7"]
    assert fingerprint(ids[::-1]) != fingerprint(ids) or len(ids) == 1


def test_an_id_sequence_tells_order_from_content() -> None:
    def seq(ids: list[str]) -> IdSequence:
        s = IdSequence()
        for x in ids:
            s.add(x)
        return s

    a = seq(["e1", "e2", "e3"])
    assert a == seq(["e1", "e2", "e3"])
    reordered = seq(["e2", "e1", "e3"])
    assert reordered != a and reordered.unordered == a.unordered
    other = seq(["e1", "e2", "e4"])
    assert other != a and other.count == a.count and other.unordered != a.unordered


def test_sequences_are_id_sequences_through_growth() -> None:
    """Each key's figures as an IdSequence fed the same ids would hold them, across the
    table's growth; a key never fed is the empty sequence."""
    table = Sequences()
    expected: dict[str, IdSequence] = defaultdict(IdSequence)
    rng = random.Random(4)
    for n in range(9000):
        account = f"acc-{rng.randrange(3000)}"
        table.feed(table.slot(key64(account)), f"evt-{n}")
        expected[account].add(f"evt-{n}")
    assert len(table) == len(expected) and len(table.keys) >= len(expected) * 4 // 3
    for account, ids in expected.items():
        assert table.get(key64(account)) == ids
    assert table.get(key64("acc-none")) == IdSequence()


def test_kept_rows_read_as_the_dicts_they_replace() -> None:
    """A listed account kept as a row reads as the dict of its kept fields: a field the
    item lacked is absent, the others equal, shared values one string object."""
    items = [
        {
            "accountId": "a1",
            "accountType": "CUSTOMER",
            "customerId": "c1",
            "productCode": "TXN",
            "balance": 12.5,
            "currency": "AUD",
        },
        {
            "accountId": "GL_X",
            "customerId": None,
            "productCode": "".join(["T", "XN"]),
            "balance": -12.5,
        },
    ]
    rows = _kept(items, ACCOUNT_FIELDS, ("accountType", "productCode"))
    wanted = [{k: v for k, v in item.items() if k in ACCOUNT_FIELDS} for item in items]
    assert [dict(row) for row in rows] == wanted and rows == wanted
    gl = rows[1]
    assert "accountType" not in gl and gl.get("accountType") is None and len(gl) == 4
    assert gl["customerId"] is None and "customerId" in gl
    with pytest.raises(KeyError):
        gl["accountType"]
    with pytest.raises(KeyError):
        gl["currency"]  # not kept
    assert rows[0]["productCode"] is rows[1]["productCode"]


def _deposit_update(
    events: list[dict[str, Any]],
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """A deposit (FundsPosted) and an AccountBalanceUpdated after it, for tampering."""
    deposits = [e for e in events if e["eventType"] == "FundsPosted"]
    if not deposits:
        return None
    deposit = deposits[-1]
    update = next(
        e
        for e in events
        if e["eventType"] == "AccountBalanceUpdated" and e["sequence"] > deposit["sequence"]
    )
    return deposit, update


@pytest.mark.parametrize("kept", [stream.FINISHED_ENTRIES_KEPT, 0])
def test_an_update_naming_a_deposit_is_checked_against_it_while_kept(
    healthy: tuple[SyncASGITransport, Path],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    kept: int,
) -> None:
    """A deposit is followed by no update (the mock writes none), so it is kept only as a
    finished entry, for a while (not the whole pass: 210,000 deposits at 100,000
    members). An update that names a recent one is checked against its legs; once it is
    no longer kept, the update names an entry the pass does not know."""
    monkeypatch.setattr(stream, "FINISHED_ENTRIES_KEPT", kept)
    named: list[str] = []

    def edit(request: httpx.Request, body: Any) -> Any:
        if _tenant_stream(request):
            found = _deposit_update(body["events"])
            assert found is not None, "the healthy store has no deposit"
            deposit, update = found
            update["payload"]["entryId"] = deposit["payload"]["entryId"]
            named.append(deposit["payload"]["entryId"])
            _rechain(body["events"])
            return body
        if path_of(request) == f"/v1/tenants/{TENANT}":
            body["lastHash"] = None  # the chain was rebuilt
            return body
        return None

    found = failures(inspect(*healthy, on_replies(edit)), "audit_completeness")
    unknown = [f for f in found if "no EntryPosted (or FundsPosted)" in f and named[0] in f]
    checked = [f for f in found if f"entry {named[0]}" in f and "no EntryPosted" not in f]
    if kept:
        assert checked and not unknown
    else:
        assert unknown and not checked


def _old_sample(items: list[tuple[str, T]], size: int) -> list[T]:
    """The idempotency sample as it was taken from a list of every replayable command."""
    if len(items) <= size:
        return [item for _, item in items]
    by_type: dict[str, list[T]] = defaultdict(list)
    for command_type, item in items:
        by_type[command_type].append(item)
    quota = max(1, size // len(by_type))
    chosen: list[T] = []
    for group in by_type.values():
        if len(group) <= quota:
            chosen.extend(group)
        else:
            step = len(group) / quota
            chosen.extend(group[int(i * step)] for i in range(quota))
    return chosen


def _sample_records() -> list[dict[str, Any]]:
    rng = random.Random(3)
    types = ["PostEntry"] * 40 + ["OpenAccount"] * 5 + ["CreateCustomer"] * 3 + ["UpsertProduct"]
    records: list[dict[str, Any]] = []
    for n in range(7919):
        outcome = rng.choice(["accepted"] * 8 + ["replayed", "rejected-expected"])
        records.append(
            {"key": f"k{n}", "type": rng.choice(types), "outcome": outcome, "reply": {"n": n}}
        )
    records[5]["type"] = "CreateTenant"
    return records


def test_the_sample_is_the_one_taken_from_the_whole_list() -> None:
    records = _sample_records()
    replayable = [(r["type"], r) for r in records if r["outcome"] in ("accepted", "replayed")]
    log = RunLog(records)
    for size in (50, 200, 1000, 10_000):
        assert [r["key"] for r in log.sample(size)] == [
            r["key"] for r in _old_sample(replayable, size)
        ]


@pytest.mark.parametrize(("gap_max", "passes_expected"), [(run_log.GAP_MAX, 1), (1_000, 5)])
def test_a_logs_sample_is_read_where_its_one_pass_found_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gap_max: int, passes_expected: int
) -> None:
    """From a file, the same sample, each record read at the offset the full pass noted:
    the log is read once, however many samples are taken. A gap past what `Offsets`
    keeps (made small here) falls back to a second pass, with the same sample."""
    monkeypatch.setattr(run_log, "GAP_MAX", gap_max)
    records = _sample_records()
    records[300]["narrative"] = "x" * 2_000  # a gap of more than 1,000 bytes
    path = tmp_path / "commands.jsonl"
    lines = (orjson.dumps(r) + (b"\n\n" if n % 7 else b"\n") for n, r in enumerate(records))
    path.write_bytes(b"".join(lines))  # a blank line after most
    replayable = [(r["type"], r) for r in records if r["outcome"] in ("accepted", "replayed")]
    log = RunLog(path)
    passes = 0
    positioned = log._positioned

    def counted() -> Any:
        nonlocal passes
        passes += 1
        return positioned()

    monkeypatch.setattr(log, "_positioned", counted)
    for size in (50, 200, 1000, 10_000):
        assert log.sample(size) == _old_sample(replayable, size)
    assert passes == passes_expected


def test_an_event_id_served_twice_fails_integrity(
    healthy: tuple[SyncASGITransport, Path],  # noqa: F811
) -> None:
    def edit(request: httpx.Request, body: Any) -> Any:
        if _tenant_stream(request):
            events = body["events"]
            events[12]["eventId"] = events[11]["eventId"]
            _rechain(events)
            return body
        if path_of(request) == f"/v1/tenants/{TENANT}":
            body["lastHash"] = None  # the chain was rebuilt
            return body
        return None

    results = inspect(*healthy, on_replies(edit))
    assert any("appears twice" in f for f in failures(results, "event_integrity"))


def test_a_command_whose_events_come_in_another_order_fails_audit(
    healthy: tuple[SyncASGITransport, Path],  # noqa: F811
) -> None:
    """Two events of one command swapped (and the chain rebuilt): same events, same
    count, another order than the reply names."""

    def edit(request: httpx.Request, body: Any) -> Any:
        if _tenant_stream(request):
            events = body["events"]
            i = next(
                i
                for i in range(len(events) - 1)
                if events[i]["causationId"] == events[i + 1]["causationId"]
                and events[i]["eventType"] == "EntryPosted"
            )
            events[i], events[i + 1] = events[i + 1], events[i]
            _rechain(events)
            return body
        if path_of(request) == f"/v1/tenants/{TENANT}":
            body["lastHash"] = None  # the chain was rebuilt
            return body
        return None

    results = inspect(*healthy, on_replies(edit))
    assert results["event_integrity"].status == PASS
    found = failures(results, "audit_completeness")
    assert any("(other events, or another order)" in f for f in found)


def test_an_account_stream_in_another_order_fails_derivability(
    healthy: tuple[SyncASGITransport, Path],  # noqa: F811
) -> None:
    def edit(request: httpx.Request, body: Any) -> Any:
        if _account_stream(request) and "/GL_SALARY" in path_of(request):
            events = body["events"]
            postings = [i for i, e in enumerate(events) if e["eventType"] == "EntryPosted"]
            if len(postings) >= 2:
                a, b = postings[:2]
                events[a], events[b] = events[b], events[a]
                return body
        return None

    found = failures(inspect(*healthy, on_replies(edit)), "balance_derivability")
    assert any("reorders the tenant stream's postings" in f for f in found)


def test_an_account_stream_with_another_accounts_posting_fails_derivability(
    healthy: tuple[SyncASGITransport, Path],  # noqa: F811
) -> None:
    """A posting's eventId replaced by one the tenant stream does not tie to the account
    (the fold is not disturbed: same legs): the same count, other events."""

    def edit(request: httpx.Request, body: Any) -> Any:
        if _account_stream(request) and "/GL_SALARY" in path_of(request):
            events = body["events"]
            posting = next(e for e in events if e["eventType"] == "EntryPosted")
            posting["eventId"] = "00000000-0000-4000-8000-000000000000"
            return body
        return None

    found = failures(inspect(*healthy, on_replies(edit)), "balance_derivability")
    assert any("does not tie to it" in f for f in found)
