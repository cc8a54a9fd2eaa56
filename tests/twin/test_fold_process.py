"""balance_derivability with the account folds in a forked process (`ForkedFolds`).

The mock is served over HTTP (a thread of this process: the twin's raw sockets need a
port), behind an ASGI wrapper that tampers with its replies. Each breakage of an
account's stream is inspected twice, the folds in process (`TWIN_FOLD_PROCESS=0`) and
forked (`=1`): derivability must fail the same way both times, which also shows that
the fingerprints made in the child (`hash()` of the eventIds) match the parent's.
"""

from __future__ import annotations

import os
import signal
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.contract.asgi_threads import serve_in_thread
from tests.twin.conftest import ISOLATION_KEY, PLATFORM_KEY, PROBE_TENANT, make_plan, mock_app
from turingcore_client.client import TuringCoreClient
from twin.invariants import FAIL, PASS, CheckResult, derivability, inspect_tenant
from twin.invariants.derivability import ENV_FOLD_PROCESS, Folds, ForkedFolds
from twin.invariants.inspection import Inspection
from twin.runner import ScenarioRunner

TENANT = "T_FORK"
# (path, query, body) -> the body to send instead, or None to leave it
Edit = Callable[[str, dict[str, str], Any], Any]


class TamperApp:
    """The app, with `edit` applied to its JSON replies below 400, and `refuse` (path,
    query -> a status, or None) answering some requests itself, before the app."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.edit: Edit | None = None
        self.refuse: Callable[[str, dict[str, str]], int | None] | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or (self.edit is None and self.refuse is None):
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        query = dict(urllib.parse.parse_qsl(scope["query_string"].decode()))
        status = self.refuse(path, query) if self.refuse is not None else None
        if status is not None:
            body = orjson.dumps({"error": "UNAVAILABLE", "message": "refused by the test"})
            await _reply(send, status, [(b"content-type", b"application/json")], body)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: Any) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(chunks)
            if self.edit is not None and start["status"] < 400 and body:
                edited = self.edit(path, query, orjson.loads(body))
                if edited is not None:
                    body = orjson.dumps(edited)
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            await _reply(send, start["status"], headers, body)

        await self.app(scope, receive, capture)


async def _reply(send: Any, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TamperApp, str, Path]]:
    """A populated mock over HTTP: its tamperer, its base URL and the run log."""
    tmp = tmp_path_factory.mktemp("forked")
    app = TamperApp(mock_app(tmp))
    with serve_in_thread(app) as base_url:
        log = tmp / "commands.jsonl"
        with TuringCoreClient(base_url, PLATFORM_KEY) as client:
            plan = make_plan(TENANT, customers=3, days=2)
            run = ScenarioRunner(client, plan, concurrency=2, log_path=log).run()
        assert run.unexpected_count == 0, run.unexpected
        yield app, base_url, log


@pytest.fixture
def tamper(served: tuple[TamperApp, str, Path]) -> Iterator[TamperApp]:
    app = served[0]
    yield app
    app.edit = app.refuse = None


@pytest.fixture
def forks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The forks of the account folds made in this test (one entry each)."""
    made: list[int] = []
    original = ForkedFolds.__init__

    def counted(self: ForkedFolds, *args: Any) -> None:
        made.append(1)
        original(self, *args)

    monkeypatch.setattr(ForkedFolds, "__init__", counted)
    return made


def inspect(
    served: tuple[TamperApp, str, Path], mode: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, CheckResult], dict[str, int]]:
    """The five checks with the folds in process ("0") or forked ("1"); the results by
    name, and the client's retries by reason."""
    _, base_url, log = served
    monkeypatch.setenv(ENV_FOLD_PROCESS, mode)
    with TuringCoreClient(base_url, PLATFORM_KEY) as client:
        results, _ = inspect_tenant(
            client,
            TENANT,
            run_log=log,
            isolation_key=ISOLATION_KEY,
            probe_tenant=PROBE_TENANT,
            concurrency=4,
        )
        retries = client.policy.counts.snapshot()
    return {r.name: r for r in results}, retries


def both(
    served: tuple[TamperApp, str, Path], monkeypatch: pytest.MonkeyPatch, forks: list[int]
) -> CheckResult:
    """Derivability in process and forked, which must agree; the forked one."""
    in_process, _ = inspect(served, "0", monkeypatch)
    assert not forks
    forked, _ = inspect(served, "1", monkeypatch)
    assert len(forks) == 1
    a, b = in_process["balance_derivability"], forked["balance_derivability"]
    assert (b.status, b.failures, b.failure_count, b.checked) == (
        a.status,
        a.failures,
        a.failure_count,
        a.checked,
    )
    for name, result in forked.items():  # the other checks are the parent's alone
        assert result.status == in_process[name].status, name
    return b


def _account_events(path: str, account: str = "") -> bool:
    """Whether `path` is an account's events (of an account whose id starts `account`)."""
    prefix = f"/v1/tenants/{TENANT}/accounts/{account}"
    return path.startswith(prefix) and path.endswith("/events")


def test_the_forked_folds_pass_the_mock_as_the_folds_in_process(
    served: tuple[TamperApp, str, Path], monkeypatch: pytest.MonkeyPatch, forks: list[int]
) -> None:
    result = both(served, monkeypatch, forks)
    assert result.status == PASS
    assert result.checked["accounts"] > 3
    assert result.checked["events_folded"] > 0


def _update_balance_off(path: str, query: dict[str, str], body: Any) -> Any:
    """An account's first AccountBalanceUpdated says a cent more."""
    if _account_events(path):
        for event in body["events"]:
            if event["eventType"] == "AccountBalanceUpdated":
                event["payload"]["balance"] += 1
                return body
    return None


def _posting_missing(path: str, query: dict[str, str], body: Any) -> Any:
    """A member account's stream lacks its first EntryPosted."""
    if _account_events(path) and "/GL_" not in path:
        events = body["events"]
        index = next((i for i, e in enumerate(events) if e["eventType"] == "EntryPosted"), None)
        if index is not None:
            del events[index]
            return body
    return None


def _update_twice(path: str, query: dict[str, str], body: Any) -> Any:
    """The same AccountBalanceUpdated twice (the fold is not disturbed)."""
    if _account_events(path, "GL_SALARY"):
        events = body["events"]
        update = next(e for e in events if e["eventType"] == "AccountBalanceUpdated")
        events.insert(events.index(update) + 1, dict(update))
        return body
    return None


def _postings_swapped(path: str, query: dict[str, str], body: Any) -> Any:
    """Two postings swapped, their sequences too: counts and sums agree, only the
    ordered fingerprint can tell."""
    if _account_events(path, "GL_SALARY"):
        events = body["events"]
        postings = [i for i, e in enumerate(events) if e["eventType"] == "EntryPosted"]
        if len(postings) >= 2:
            i, j = postings[:2]
            events[i], events[j] = events[j], events[i]
            events[i]["sequence"], events[j]["sequence"] = (
                events[j]["sequence"],
                events[i]["sequence"],
            )
            return body
    return None


def _cursor_stuck(path: str, query: dict[str, str], body: Any) -> Any:
    if _account_events(path, "GL_CARD_CLEARING") and query.get("after") == "0":
        body["nextCursor"] = 0
        return body
    return None


def _amount_missing(path: str, query: dict[str, str], body: Any) -> Any:
    """A page the fold cannot read: an EntryPosted's legs without amounts."""
    if _account_events(path, "GL_CARD_CLEARING"):
        for event in body["events"]:
            if event["eventType"] == "EntryPosted":
                for leg in event["payload"]["legs"]:
                    del leg["amount"]
                return body
    return None


@pytest.mark.parametrize(
    ("edit", "said"),
    [
        pytest.param(_update_balance_off, ["AccountBalanceUpdated"], id="update-balance"),
        pytest.param(_posting_missing, ["lacks 1 posting event(s)"], id="missing"),
        pytest.param(_update_twice, ["repeats or adds 1", "out of order"], id="twice"),
        pytest.param(_postings_swapped, ["reorders"], id="reordered"),
        pytest.param(_cursor_stuck, ["does not advance"], id="cursor-stuck"),
        pytest.param(
            _amount_missing, ["GL_CARD_CLEARING: unreadable events page"], id="unreadable"
        ),
    ],
)
def test_a_broken_account_stream_fails_the_same_forked(
    served: tuple[TamperApp, str, Path],
    tamper: TamperApp,
    monkeypatch: pytest.MonkeyPatch,
    forks: list[int],
    edit: Edit,
    said: list[str],
) -> None:
    tamper.edit = edit
    result = both(served, monkeypatch, forks)
    assert result.status == FAIL
    for words in said:
        assert any(words in failure for failure in result.failures), (words, result.failures)


def test_the_forked_folds_retries_count_in_the_client(
    served: tuple[TamperApp, str, Path],
    tamper: TamperApp,
    monkeypatch: pytest.MonkeyPatch,
    forks: list[int],
) -> None:
    """A 503 on an account's first page, once: retried in the child, counted in the
    parent's client (what `twin run --faults` reports as the checks' retries)."""
    refused: list[str] = []

    def refuse(path: str, query: dict[str, str]) -> int | None:
        if _account_events(path, "GL_SALARY") and not refused:
            refused.append(path)
            return 503
        return None

    tamper.refuse = refuse
    results, retries = inspect(served, "1", monkeypatch)
    assert len(forks) == 1 and refused
    assert results["balance_derivability"].status == PASS
    assert retries.get("503") == 1, retries


def test_an_exception_in_the_child_is_raised_in_the_parent(
    served: tuple[TamperApp, str, Path], monkeypatch: pytest.MonkeyPatch, forks: list[int]
) -> None:
    def fails(self: Folds) -> Any:
        raise RuntimeError("the child's own failure")

    monkeypatch.setattr(Folds, "wait", fails)  # the child is a fork: it has this too
    with pytest.raises(RuntimeError, match="the child's own failure"):
        inspect(served, "1", monkeypatch)
    assert len(forks) == 1


def test_a_child_that_dies_is_an_error_not_a_hang(
    served: tuple[TamperApp, str, Path], monkeypatch: pytest.MonkeyPatch, forks: list[int]
) -> None:
    def dies(self: Folds) -> Any:
        os._exit(3)

    monkeypatch.setattr(Folds, "wait", dies)
    with pytest.raises(RuntimeError, match=r"exit code 3\) before it sent its results"):
        inspect(served, "1", monkeypatch)


def test_closing_the_inspection_stops_the_child(
    served: tuple[TamperApp, str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checks that end before derivability waits (an error in between) must not leave
    the child running: `Inspection.close` kills it."""
    _, base_url, _ = served

    def slow(self: Folds) -> Any:
        time.sleep(60)

    monkeypatch.setattr(Folds, "wait", slow)
    monkeypatch.setenv(ENV_FOLD_PROCESS, "1")
    with TuringCoreClient(base_url, PLATFORM_KEY) as client:
        ctx = Inspection(client, TENANT, concurrency=4)
        folds = ctx.folds()
        assert isinstance(folds, ForkedFolds)
        process = folds._process
        started = time.perf_counter()
        ctx.close()
    assert not process.is_alive()
    assert process.exitcode == -signal.SIGKILL
    assert time.perf_counter() - started < 10


def test_a_fork_refused_keeps_the_folds_in_process(
    served: tuple[TamperApp, str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No fork to be had (out of memory, a process limit): the checks run all the same,
    the folds in the twin's process."""

    def refused() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", refused)
    results, _ = inspect(served, "1", monkeypatch)
    assert {r.status for r in results.values()} == {PASS}
    assert results["balance_derivability"].checked["events_folded"] > 0


def test_the_folds_stay_in_process_without_sockets_of_their_own(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An injected transport (in process) cannot be reached from a fork, whatever the
    setting; "0" keeps the folds at home over HTTP too."""
    from tests.twin.conftest import SyncASGITransport

    transport = SyncASGITransport(mock_app(tmp_path))
    try:
        client = TuringCoreClient("http://mock", PLATFORM_KEY, transport=transport)
        monkeypatch.setenv(ENV_FOLD_PROCESS, "1")
        assert not derivability.fork_folds(Inspection(client, TENANT))
    finally:
        transport.close()
    with TuringCoreClient("http://127.0.0.1:9", PLATFORM_KEY) as client:
        assert derivability.fork_folds(Inspection(client, TENANT))
        monkeypatch.setenv(ENV_FOLD_PROCESS, "0")
        assert not derivability.fork_folds(Inspection(client, TENANT))


def test_by_default_only_a_stream_up_to_a_size_is_forked(
    served: tuple[TamperApp, str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unset, the folds are forked on a machine with a second CPU and no other thread,
    and only for a tenant stream of at most FORK_EVENTS_MAX events: past that, on two
    cores, the fork gained nothing and cost memory."""
    _, base_url, _ = served
    monkeypatch.delenv(ENV_FOLD_PROCESS, raising=False)
    monkeypatch.setattr(derivability.threading, "active_count", lambda: 1)
    monkeypatch.setattr(derivability.os, "cpu_count", lambda: 2)
    with TuringCoreClient(base_url, PLATFORM_KEY) as client:
        ctx = Inspection(client, TENANT)
        assert derivability.fork_folds(ctx)
        monkeypatch.setattr(derivability, "FORK_EVENTS_MAX", 8)  # the stream is longer
        assert not derivability.fork_folds(ctx)
        monkeypatch.undo()
        monkeypatch.delenv(ENV_FOLD_PROCESS, raising=False)
        monkeypatch.setattr(derivability.threading, "active_count", lambda: 1)
        monkeypatch.setattr(derivability.os, "cpu_count", lambda: 1)
        assert not derivability.fork_folds(ctx)
        monkeypatch.setattr(derivability.os, "cpu_count", lambda: 2)
        monkeypatch.setattr(derivability.threading, "active_count", lambda: 2)
        assert not derivability.fork_folds(ctx)
