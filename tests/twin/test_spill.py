"""The stream pass spilled to disk (`twin.invariants.spill`) finds what the pass in memory
finds: each breakage is checked both ways, with a partition of 8 keys forced on the 58
events of the shared mock (8 partitions, buffers of a record or two), and the two
verdicts must be identical: status, counts, failure count and messages. And the spill's
files are gone after the check, also when the pass stops midway."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.twin.conftest import PLATFORM_KEY, SyncASGITransport
from tests.twin.test_invariants import (  # noqa: F401 (healthy: the shared fixture)
    TENANT,
    Tamper,
    _rechain,
    _tenant_stream,
    healthy,
    path_of,
)
from turingcore_client.client import TuringCoreClient
from twin.invariants import FAIL, PASS, inspect_tenant, spill, stream
from twin.invariants.spill import FirstFew, Partitions, Spill

NAMES = ("event_integrity", "audit_completeness")
Events = list[dict[str, Any]]
Verdicts = dict[str, dict[str, Any]]


class Recorded(Spill):
    """A Spill that remembers itself, what its directory held when the stream ended, and
    can stop the pass at an event."""

    made: list[Recorded] = []
    stop_at: tuple[int, BaseException] | None = None

    def __init__(self, parts: int, *, causes: bool) -> None:
        super().__init__(parts, causes=causes)
        self.held: list[str] = []
        Recorded.made.append(self)

    def add(
        self, index: int, sequence: object, event_id: str, event_key: int, cause_key: int
    ) -> None:
        super().add(index, sequence, event_id, event_key, cause_key)
        self.held = sorted(os.listdir(self.directory))
        if Recorded.stop_at is not None and index == Recorded.stop_at[0]:
            raise Recorded.stop_at[1]

    def finish(self) -> None:
        super().finish()
        self.held = sorted(os.listdir(self.directory))


@pytest.fixture
def spilled(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """A function that forces the spill, tiny: call it between the two runs. Yields the
    temp dir the spill's files go to."""
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(temp))
    Recorded.made = []
    Recorded.stop_at = None
    yield temp
    Recorded.made = []
    Recorded.stop_at = None


def force(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spill, "KEYS_PER_PART", 8)
    monkeypatch.setattr(spill, "BUFFERED_WORDS", 16)
    monkeypatch.setattr(spill, "BUFFER_WORDS_MIN", 2)
    monkeypatch.setattr(spill, "READ_WORDS", 6)
    monkeypatch.setattr(spill, "TEXT_LINES_BUFFERED", 5)
    monkeypatch.setattr(stream, "Spill", Recorded)


def verdicts(
    transport: httpx.BaseTransport,
    log: Path | None,
    edit: Callable[[Events], None] | None = None,
    on_request: Callable[[httpx.Request], httpx.Request] | None = None,
) -> Verdicts:
    """event_integrity and audit_completeness with the tenant stream edited by `edit`
    (rechained; the tenant's lastSequence follows the edited length)."""
    delta = 0
    if edit is not None:
        events = _all_events(transport)
        before = len(events)
        edit(events)
        delta = len(events) - before

    def reply(request: httpx.Request, body: Any) -> Any:
        if edit is not None and _tenant_stream(request):
            edit(body["events"])
            return body
        if edit is not None and path_of(request) == f"/v1/tenants/{TENANT}":
            body["lastSequence"] += delta
            body["lastHash"] = None  # the chain was rebuilt
            return body
        return None

    tamper = Tamper(transport)
    tamper.on_reply = reply
    tamper.on_request = on_request
    client = TuringCoreClient("http://mock", PLATFORM_KEY, transport=tamper)
    results, _ = inspect_tenant(client, TENANT, run_log=log, concurrency=2, names=NAMES)
    return {r.name: {k: v for k, v in r.as_dict().items() if k != "seconds"} for r in results}


def _all_events(transport: httpx.BaseTransport) -> Events:
    client = TuringCoreClient("http://mock", PLATFORM_KEY, transport=transport)
    events: Events = list(client.iter_tenant_events(TENANT))
    return events


def _runs(events: Events) -> list[list[int]]:
    """The positions of each run of events with one causationId, in order."""
    runs: list[list[int]] = []
    for i, event in enumerate(events):
        if runs and events[runs[-1][-1]]["causationId"] == event["causationId"]:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


def _long_run(events: Events) -> list[int]:
    return next(run for run in _runs(events) if len(run) >= 3)


def _rejected_command(log: Path) -> str:
    for line in log.read_bytes().splitlines():
        record = orjson.loads(line)
        if record["outcome"].startswith("rejected"):
            return str(record["commandId"])
    raise AssertionError("the plan has a rejected command")


# Each edit of the stream, and what the pass in memory says of it (a part of a message
# of each failing check; PASS for none).
def _nothing(events: Events) -> None:
    pass


def _duplicate_next(events: Events) -> None:
    events[12]["eventId"] = events[11]["eventId"]
    _rechain(events)


def _duplicates_far_apart(events: Events) -> None:
    events[-1]["eventId"] = events[0]["eventId"]
    events[40]["eventId"] = events[3]["eventId"]
    events[30]["eventId"] = events[31]["eventId"] = events[5]["eventId"]
    _rechain(events)


def _one_id_for_all(events: Events) -> None:
    """57 duplicates: more than the 20 failures kept."""
    for event in events:
        event["eventId"] = events[0]["eventId"]
    _rechain(events)


def _half_again(events: Events) -> None:
    """The eventIds of the first 29 events again on the last 29: duplicates in every
    partition, more than the 20 kept."""
    for i in range(29):
        events[29 + i]["eventId"] = events[i]["eventId"]
    _rechain(events)


def _duplicates_among_other_failures(events: Events) -> None:
    """Duplicates before, between and after other integrity failures, two at one event:
    the spilled pass must put its duplicates among them where the pass in memory says
    them."""
    events[10]["eventId"] = events[2]["eventId"]
    events[30]["eventId"] = events[7]["eventId"]
    events[44]["eventId"] = events[1]["eventId"]
    _rechain(events)
    events[20]["payload"]["forged"] = True  # its hash no longer recomputes
    events[30]["tenantId"] = "T_OTHER"  # and a duplicate, at one event
    events[50]["sequence"] = 77


def _split_in_order(events: Events) -> None:
    """A command's last event moved to the end: its events split, in their order."""
    run = _long_run(events)
    events.append(events.pop(run[-1]))
    _rechain(events)


def _every_command_split(events: Events) -> None:
    """The last event of every command of two or more moved to the end, in order: more
    such commands than partitions, so that two of one partition interleave there
    whatever the keys."""
    tails = [run[-1] for run in _runs(events) if len(run) >= 2]
    assert len(tails) > 8
    events[:] = [e for i, e in enumerate(events) if i not in tails] + [events[i] for i in tails]
    _rechain(events)


def _split_out_of_order(events: Events) -> None:
    run = _long_run(events)
    events.append(events.pop(run[0]))
    _rechain(events)


def _reordered(events: Events) -> None:
    run = _long_run(events)
    events[run[0]], events[run[1]] = events[run[1]], events[run[0]]
    _rechain(events)


def _missing(events: Events) -> None:
    run = _long_run(events)
    del events[run[1]]
    _rechain(events)


def _another_cause(events: Events) -> None:
    runs = [run for run in _runs(events) if len(run) >= 3]
    events[runs[0][1]]["causationId"] = events[runs[1][0]]["causationId"]
    _rechain(events)


# An eventId said twice is also another event for the command that had it.
TWICE = {"event_integrity": "appears twice", "audit_completeness": "another order"}
CASES: dict[str, tuple[Callable[[Events], None], dict[str, str]]] = {
    "healthy": (_nothing, {}),
    "duplicate next to its first": (_duplicate_next, TWICE),
    "duplicates far apart": (_duplicates_far_apart, TWICE),
    "one eventId for all": (_one_id_for_all, TWICE),
    "half the eventIds again": (_half_again, TWICE),
    "duplicates among other failures": (_duplicates_among_other_failures, TWICE),
    "a command split, in order": (_split_in_order, {}),
    "every command split, in order": (_every_command_split, {}),
    "a command split, out of order": (
        _split_out_of_order,
        {"audit_completeness": "(other events, or another order)"},
    ),
    "a command reordered": (_reordered, {"audit_completeness": "another order"}),
    "a command missing an event": (_missing, {"audit_completeness": "the stream has"}),
    "an event of another command": (_another_cause, {"audit_completeness": "the stream has"}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_spilled_pass_finds_what_the_pass_in_memory_finds(
    case: str,
    healthy: tuple[SyncASGITransport, Path],  # noqa: F811
    spilled: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    edit, says = CASES[case]
    in_memory = verdicts(*healthy, edit)
    assert not Recorded.made
    for name, result in in_memory.items():
        if name in says:
            assert result["status"] == FAIL
            assert any(says[name] in f for f in result["failures"]), result["failures"]
        else:
            assert result["status"] == PASS, result["failures"]

    force(monkeypatch)
    assert verdicts(*healthy, edit) == in_memory
    (made,) = Recorded.made
    assert made.parts == 8
    assert {name.split("-")[0] for name in made.held} == {"ids", "causes", "texts"}
    assert not os.listdir(spilled)


def test_without_a_run_log_only_the_eventids_are_spilled(
    healthy: tuple[SyncASGITransport, Path],  # noqa: F811
    spilled: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    in_memory = verdicts(healthy[0], None, _half_again)
    assert in_memory["event_integrity"]["failure_count"] == 29
    assert "stream-only" in in_memory["audit_completeness"]["note"]
    force(monkeypatch)
    assert verdicts(healthy[0], None, _half_again) == in_memory
    (made,) = Recorded.made
    assert {name.split("-")[0] for name in made.held} == {"ids", "texts"}
    assert not os.listdir(spilled)


def test_one_eventid_for_all_keeps_the_first_twenty_and_counts_the_rest(
    healthy: tuple[SyncASGITransport, Path],  # noqa: F811
    spilled: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    force(monkeypatch)
    integrity = verdicts(*healthy, _one_id_for_all)["event_integrity"]
    assert integrity["failure_count"] == 57
    assert integrity["failures"][0].startswith("sequence 2: eventId ")
    assert integrity["failures"][-1].startswith("sequence 21: eventId ")


def test_a_rejected_command_with_events_is_caught_both_ways(
    healthy: tuple[SyncASGITransport, Path],  # noqa: F811
    spilled: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rejected = _rejected_command(healthy[1])

    def edit(events: Events) -> None:
        events[_long_run(events)[0]]["causationId"] = rejected
        _rechain(events)

    in_memory = verdicts(*healthy, edit)
    audit = in_memory["audit_completeness"]
    assert any("rejected, yet it has events" in f for f in audit["failures"]), audit
    assert audit["failure_count"] == 2  # and the command it was taken from
    force(monkeypatch)
    assert verdicts(*healthy, edit) == in_memory
    assert Recorded.made


@pytest.mark.parametrize("error", [RuntimeError("stopped"), KeyboardInterrupt()])
def test_the_files_go_when_the_pass_stops_midway(
    error: BaseException,
    healthy: tuple[SyncASGITransport, Path],  # noqa: F811
    spilled: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    force(monkeypatch)
    Recorded.stop_at = (40, error)
    with pytest.raises(type(error)):
        verdicts(*healthy)
    (made,) = Recorded.made
    assert "ids-0" in made.held and "texts" in made.held  # written before it stopped
    assert not made.directory.exists()
    assert not os.listdir(spilled)


def test_the_files_go_when_a_page_of_the_stream_cannot_be_read(
    healthy: tuple[SyncASGITransport, Path],  # noqa: F811
    spilled: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Pages of 10, the one after 30 refused: both checks say so, no file is left."""
    force(monkeypatch)
    monkeypatch.setattr("twin.invariants.stream.PAGE_SIZE_MAX", 10)

    def refuse(request: httpx.Request) -> httpx.Request:
        if _tenant_stream(request) and request.url.params.get("after") == "30":
            return httpx.Request(
                "GET", request.url.copy_set_param("limit", "-1"), headers=request.headers
            )
        return request

    found = verdicts(*healthy, on_request=refuse)
    for name in NAMES:
        assert found[name]["status"] == FAIL
        assert "unexpected reply" in found[name]["failures"][0]
    assert Recorded.made and all(made.held for made in Recorded.made)
    assert not any(made.directory.exists() for made in Recorded.made)
    assert not os.listdir(spilled)


def test_a_partition_keeps_each_key_in_the_order_appended(tmp_path: Path) -> None:
    parts = Partitions(tmp_path, "p", 4, 2)
    appended = [((n * 0x9E3779B97F4A7C15) & ((1 << 64) - 1) or 1, n) for n in range(5000)]
    for key, n in appended:
        parts.append(key, n)
    parts.flush()
    assert sum(parts.records) == 5000 and all(parts.records)
    back: list[tuple[int, int]] = []
    for p in range(4):
        words = [w for chunk in parts.read(p) for w in chunk]
        pairs = list(zip(words[::2], words[1::2], strict=True))
        assert all(key >> 62 == p for key, _ in pairs)
        assert [n for _, n in pairs] == sorted(n for _, n in pairs)
        back += pairs
    assert sorted(back, key=lambda x: x[1]) == appended
    assert not list(tmp_path.iterdir())  # read once, then gone


def test_first_few_are_the_lowest_and_all_are_counted() -> None:
    few = FirstFew(3)
    for order in [9, 4, 7, 1, 8, 3, 6]:
        few.add(order, order * 10)
    assert few.items() == [(1, 10), (3, 30), (4, 40)] and few.total == 7


def test_the_partitions_follow_the_stated_length(monkeypatch: pytest.MonkeyPatch) -> None:
    assert spill.parts_for(0) == spill.parts_for(spill.KEYS_PER_PART) == 1
    assert spill.parts_for(spill.KEYS_PER_PART + 1) == 2
    assert spill.parts_for(19_000_000) == 32  # 100,000 members x 30 days
    monkeypatch.setattr(spill, "KEYS_PER_PART", 8)
    assert spill.parts_for(58) == 8
