"""Each invariant check passes on the mock and fails on a service that breaks it.

The broken services are the real mock (in-process) behind a transport that
tampers with requests or replies: a balance off by one cent, a forged event,
a gap in the sequence, a key that reads another tenant, a replay that differs
or writes, a missing event re-chained so that only the audit can see it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import rfc8785

from tests.twin.conftest import (
    ISOLATION_KEY,
    PLATFORM_KEY,
    PROBE_TENANT,
    SyncASGITransport,
    make_plan,
    mock_app,
)
from turingcore_client.canonical import GENESIS_HASH, canonical_json, event_hash
from turingcore_client.client import TuringCoreClient
from twin.invariants import FAIL, PASS, SKIP, CheckResult, inspect_tenant
from twin.runner import ScenarioRunner

TENANT = "T_INV"
Editor = Callable[[httpx.Request, Any], Any]


class Tamper(httpx.BaseTransport):
    """Forward to `inner`; let `on_request` rewrite requests and `on_reply` rewrite
    JSON replies (return the new body, or None to keep it)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.on_request: Callable[[httpx.Request], httpx.Request] | None = None
        self.on_reply: Editor | None = None
        self.reply_headers: Callable[[httpx.Request, httpx.Response], dict[str, str]] | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.on_request is not None:
            request = self.on_request(request)
        response = self.inner.handle_request(request)
        body = response.read()
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        if self.reply_headers is not None:
            headers.update(self.reply_headers(request, response))
        if self.on_reply is not None and body and response.status_code < 400:
            edited = self.on_reply(request, orjson.loads(body))
            if edited is not None:
                body = orjson.dumps(edited)
        return httpx.Response(response.status_code, headers=headers, content=body)


def _populate(tmp: Path) -> tuple[SyncASGITransport, Path]:
    transport = SyncASGITransport(mock_app(tmp))
    client = TuringCoreClient("http://mock", PLATFORM_KEY, transport=transport)
    log = tmp / "commands.jsonl"
    run = ScenarioRunner(
        client, make_plan(TENANT, customers=3, days=2), concurrency=2, log_path=log
    ).run()
    assert run.unexpected_count == 0, run.unexpected
    return transport, log


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SyncASGITransport, Path]]:
    """A populated mock shared by the read-only breakages."""
    transport, log = _populate(tmp_path_factory.mktemp("healthy"))
    yield transport, log
    transport.close()


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[tuple[SyncASGITransport, Path]]:
    """A populated mock of its own, for breakages that write."""
    transport, log = _populate(tmp_path)
    yield transport, log
    transport.close()


def inspect(
    inner: httpx.BaseTransport, log: Path, tamper: Callable[[Tamper], None] | None = None
) -> dict[str, CheckResult]:
    transport = Tamper(inner)
    if tamper is not None:
        tamper(transport)
    client = TuringCoreClient("http://mock", PLATFORM_KEY, transport=transport)
    results, _ = inspect_tenant(
        client,
        TENANT,
        run_log=log,
        isolation_key=ISOLATION_KEY,
        probe_tenant=PROBE_TENANT,
        concurrency=2,
    )
    return {r.name: r for r in results}


def on_replies(edit: Callable[[httpx.Request, Any], Any]) -> Callable[[Tamper], None]:
    """Tamper with the replies: `edit(request, body)` returns the body to send instead, or
    None to leave it."""
    return lambda t: setattr(t, "on_reply", edit)


def on_requests(edit: Callable[[httpx.Request], httpx.Request]) -> Callable[[Tamper], None]:
    """Tamper with the requests: `edit(request)` returns the request to send."""
    return lambda t: setattr(t, "on_request", edit)


def failures(results: dict[str, CheckResult], check: str) -> list[str]:
    """The failures of `check`, which must have failed."""
    assert results[check].status == FAIL, results[check]
    return results[check].failures


def statuses(results: dict[str, CheckResult]) -> dict[str, str]:
    return {name: r.status for name, r in results.items()}


def path_of(request: httpx.Request) -> str:
    return request.url.path


# ----------------------------------------------------------------------- healthy


def test_all_five_pass_on_the_mock(healthy: tuple[SyncASGITransport, Path]) -> None:
    results = inspect(*healthy)
    assert statuses(results) == dict.fromkeys(results, PASS), {
        n: r.failures[:3] for n, r in results.items()
    }
    assert set(results) == {
        "balance_derivability",
        "event_integrity",
        "tenant_isolation",
        "idempotency",
        "audit_completeness",
    }
    assert results["balance_derivability"].checked["accounts"] == 3 + 11
    assert results["idempotency"].checked["replayed"] >= 1


def test_without_isolation_key_or_run_log_the_checks_say_what_they_need(
    healthy: tuple[SyncASGITransport, Path],
) -> None:
    client = TuringCoreClient("http://mock", PLATFORM_KEY, transport=healthy[0])
    results = {r.name: r for r in inspect_tenant(client, TENANT)[0]}
    assert results["tenant_isolation"].status == SKIP
    assert "--isolation-key" in (results["tenant_isolation"].note or "")
    assert results["idempotency"].status == SKIP
    assert "--run-log" in (results["idempotency"].note or "")
    assert results["audit_completeness"].status == PASS
    assert "stream-only" in (results["audit_completeness"].note or "")


# ------------------------------------------------------------------- 1. balances


def test_balance_off_by_one_cent_fails_derivability(
    healthy: tuple[SyncASGITransport, Path],
) -> None:
    def edit(request: httpx.Request, body: Any) -> Any:
        if path_of(request) == f"/v1/tenants/{TENANT}/accounts":
            for account in body["accounts"]:
                if account["accountType"] == "CUSTOMER":
                    account["balance"] = round(account["balance"] + 0.01, 2)
                    break
            return body
        return None

    results = inspect(*healthy, on_replies(edit))
    assert "fold to" in failures(results, "balance_derivability")[0]
    assert results["audit_completeness"].status == FAIL  # and they no longer sum to zero
    assert results["event_integrity"].status == PASS


def test_wrong_balance_in_an_update_event_fails_derivability(
    healthy: tuple[SyncASGITransport, Path],
) -> None:
    def edit(request: httpx.Request, body: Any) -> Any:
        if path_of(request).endswith("/events") and "/accounts/" in path_of(request):
            for event in body["events"]:
                if event["eventType"] == "AccountBalanceUpdated":
                    event["payload"]["balance"] += 1
                    return body
        return None

    results = inspect(*healthy, on_replies(edit))
    assert "AccountBalanceUpdated" in failures(results, "balance_derivability")[0]


# ------------------------------------------------------------------ 2. the chain


def _tenant_stream(request: httpx.Request) -> bool:
    return path_of(request) == f"/v1/tenants/{TENANT}/events"


def test_a_forged_event_fails_integrity(healthy: tuple[SyncASGITransport, Path]) -> None:
    def edit(request: httpx.Request, body: Any) -> Any:
        if _tenant_stream(request) and len(body["events"]) > 20:
            body["events"][20]["payload"]["forged"] = True
            return body
        return None

    results = inspect(*healthy, on_replies(edit))
    assert "recomputes as" in failures(results, "event_integrity")[0]


def test_a_sequence_gap_fails_integrity(healthy: tuple[SyncASGITransport, Path]) -> None:
    def edit(request: httpx.Request, body: Any) -> Any:
        if _tenant_stream(request) and len(body["events"]) > 30:
            del body["events"][30]
            return body
        return None

    results = inspect(*healthy, on_replies(edit))
    assert any("gap" in f for f in failures(results, "event_integrity"))


# --------------------------------------------------------------- 3. isolation


def test_a_key_that_reads_another_tenant_fails_isolation(
    healthy: tuple[SyncASGITransport, Path],
) -> None:
    """The broken service treats the probe key as the platform key."""

    def widen(request: httpx.Request) -> httpx.Request:
        if request.headers.get("Authorization") == f"Bearer {ISOLATION_KEY}":
            request.headers["Authorization"] = f"Bearer {PLATFORM_KEY}"
        return request

    results = inspect(*healthy, on_requests(widen))
    found = failures(results, "tenant_isolation")
    assert "expected 403" in found[0]
    assert results["balance_derivability"].status == PASS


def test_ids_of_another_tenant_answered_fail_isolation(
    healthy: tuple[SyncASGITransport, Path],
) -> None:
    """The broken service looks accounts up by id alone, ignoring the path's tenant."""

    def leak(request: httpx.Request) -> httpx.Request:
        prefix = f"/v1/tenants/{PROBE_TENANT}/accounts/"
        if path_of(request).startswith(prefix) and not path_of(request).endswith("GL_SUSPENSE"):
            rest = path_of(request)[len(prefix) :]
            if not rest.startswith("GL_"):
                return httpx.Request(
                    "GET",
                    f"http://mock/v1/tenants/{TENANT}/accounts/{rest}",
                    headers={"Authorization": f"Bearer {PLATFORM_KEY}"},
                )
        return request

    results = inspect(*healthy, on_requests(leak))
    assert "not 404" in failures(results, "tenant_isolation")[0]


def test_a_probe_tenant_that_cannot_be_read_skips_isolation(
    healthy: tuple[SyncASGITransport, Path],
) -> None:
    """A service that does not serve the tenant read (a published-only one): the check
    cannot start, and says so; it must not pass having sent none of its requests."""

    def hide(request: httpx.Request) -> httpx.Request:
        if path_of(request) == f"/v1/tenants/{PROBE_TENANT}":
            return httpx.Request(
                "GET",
                f"http://mock/v1/tenants/{PROBE_TENANT}/no-such-read",
                headers=request.headers,
            )
        return request

    results = inspect(*healthy, on_requests(hide))
    assert results["tenant_isolation"].status == SKIP
    assert "answers 404" in (results["tenant_isolation"].note or "")


# ------------------------------------------------------------- 4. idempotency


def test_a_replay_that_differs_fails_idempotency(healthy: tuple[SyncASGITransport, Path]) -> None:
    def edit(request: httpx.Request, body: Any) -> Any:
        if request.method == "POST" and body.get("status") == "ACCEPTED":
            body["acceptedAt"] = "2000-01-01T00:00:00Z"
            return body
        return None

    results = inspect(*healthy, on_replies(edit))
    assert "acceptedAt" in failures(results, "idempotency")[0]


def test_a_replay_without_the_header_fails_idempotency(
    healthy: tuple[SyncASGITransport, Path],
) -> None:
    def headers(request: httpx.Request, response: httpx.Response) -> dict[str, str]:
        return {"Idempotent-Replayed": "false"} if request.method == "POST" else {}

    results = inspect(*healthy, lambda t: setattr(t, "reply_headers", headers))
    assert "Idempotent-Replayed" in failures(results, "idempotency")[0]


def test_a_replay_that_writes_fails_idempotency(fresh: tuple[SyncASGITransport, Path]) -> None:
    """The broken service forgets idempotency keys of PostEntry: replays post again."""

    def forget(request: httpx.Request) -> httpx.Request:
        if request.method != "POST" or not path_of(request).endswith("/commands"):
            return request
        envelope = orjson.loads(request.read())
        if envelope.get("commandType") != "PostEntry":
            return request
        envelope.pop("idempotencyKey", None)
        return httpx.Request(
            "POST",
            request.url,
            headers={k: v for k, v in request.headers.items() if k.lower() != "content-length"},
            content=orjson.dumps(envelope),
        )

    results = inspect(*fresh, on_requests(forget))
    found = failures(results, "idempotency")
    assert any("lastSequence moved" in f for f in found)


# ------------------------------------------------------------------- 5. audit


def _rechain(events: list[dict[str, Any]]) -> None:
    previous = GENESIS_HASH
    for sequence, event in enumerate(events, start=1):
        event["sequence"] = sequence
        event["prevHash"] = previous
        event["hash"] = event_hash(event)
        previous = event["hash"]


def test_a_missing_event_fails_audit(healthy: tuple[SyncASGITransport, Path]) -> None:
    """An EntryPosted vanishes and the chain is rebuilt around it, so integrity holds
    and only the audit (and the account streams) can tell."""

    def edit(request: httpx.Request, body: Any) -> Any:
        if _tenant_stream(request):
            events = body["events"]
            index = next(i for i, e in enumerate(events) if e["eventType"] == "EntryPosted")
            del events[index]
            _rechain(events)
            return body
        if path_of(request) == f"/v1/tenants/{TENANT}":
            body["lastSequence"] -= 1
            body["lastHash"] = None
            return body
        return None

    results = inspect(*healthy, on_replies(edit))
    assert results["event_integrity"].status == PASS
    audit = results["audit_completeness"]
    assert audit.status == FAIL
    assert any("no EntryPosted" in f for f in audit.failures)
    assert any("the stream has" in f for f in audit.failures)


def test_an_unbalanced_posting_fails_audit(healthy: tuple[SyncASGITransport, Path]) -> None:
    def edit(request: httpx.Request, body: Any) -> Any:
        if _tenant_stream(request):
            events = body["events"]
            entry = next(e for e in events if e["eventType"] == "EntryPosted")
            entry["payload"]["legs"][0]["amount"] += 1
            _rechain(events)
            return body
        if path_of(request) == f"/v1/tenants/{TENANT}":
            body["lastHash"] = None
            return body
        return None

    results = inspect(*healthy, on_replies(edit))
    assert results["event_integrity"].status == PASS
    assert any("debits" in f for f in failures(results, "audit_completeness"))


# ------------------------------------------------------------ canonical JSON


def test_canonical_json_matches_rfc8785() -> None:
    rng = random.Random(7)

    def value(depth: int) -> Any:
        kind = rng.randrange(8 if depth < 3 else 6)
        if kind == 0:
            return rng.choice([0.1, 3000.0, 12.5, 1e-7, 1e21, 123456789.01, -0.0, 2.0**60])
        if kind == 1:
            return rng.randrange(-(2**60), 2**60)
        if kind == 2:
            return "".join(rng.choice('aZ\n\t\x01é€😀"\\/') for _ in range(rng.randrange(6)))
        if kind == 3:
            return rng.choice([True, False, None])
        if kind == 4:
            return round(rng.uniform(0, 1e6), 2)
        if kind == 5:
            return rng.randrange(1000)
        if kind == 6:
            return [value(depth + 1) for _ in range(rng.randrange(4))]
        keys = ["b", "a", "é", "€", "aa", "B", "😀", "\u00e9x"]
        return {rng.choice(keys): value(depth + 1) for _ in range(rng.randrange(5))}

    for _ in range(2000):
        sample = {"payload": value(0), "n": value(2)}
        try:
            expected = bytes(rfc8785.dumps(sample))
        except Exception:  # values JCS refuses (ints over 2^53) are out of scope
            continue
        assert canonical_json(sample) == expected, sample


# ------------------------------------------------------- paging and the fast paths


def _account_stream(request: httpx.Request) -> bool:
    return "/accounts/" in path_of(request) and path_of(request).endswith("/events")


def _floats(value: Any) -> Any:
    """Every integer in `value` written as a float (100 -> 100.0)."""
    if isinstance(value, dict):
        return {k: _floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_floats(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def test_amounts_written_as_integral_floats_still_verify(
    healthy: tuple[SyncASGITransport, Path],
) -> None:
    """A service that writes 100 as `100.0` serves the same JSON values, so the same
    JCS and the same hashes: every check must still pass (a hash recomputed from
    orjson's `100.0` without the JCS number rules would fail the chain)."""
    rewritten = 0

    def edit(request: httpx.Request, body: Any) -> Any:
        nonlocal rewritten
        if _tenant_stream(request) or _account_stream(request):
            for event in body["events"]:
                before = orjson.dumps(event["payload"])
                event["payload"] = _floats(event["payload"])
                rewritten += before != orjson.dumps(event["payload"])
            return body
        return None

    results = inspect(*healthy, on_replies(edit))
    assert rewritten > 0
    assert statuses(results) == dict.fromkeys(results, PASS), {
        n: r.failures[:3] for n, r in results.items()
    }


def test_small_pages_are_read_exactly(
    healthy: tuple[SyncASGITransport, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages of 10: the pages after=10, 20, ... are asked for ahead and used."""
    monkeypatch.setattr("twin.invariants.stream.PAGE_SIZE_MAX", 10)
    monkeypatch.setattr("twin.invariants.derivability.PAGE_SIZE_MAX", 10)
    asked: list[str] = []

    def note(request: httpx.Request) -> httpx.Request:
        if _tenant_stream(request) and "after" in request.url.params:
            asked.append(request.url.params["after"])
        return request

    results = inspect(*healthy, on_requests(note))
    assert statuses(results) == dict.fromkeys(results, PASS)
    assert results["event_integrity"].checked["events"] == 58
    assert sorted(asked, key=int) == [str(n) for n in range(0, 60, 10)]


def test_pages_shorter_than_asked_are_followed_by_their_cursor(
    healthy: tuple[SyncASGITransport, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A service that caps pages at 7: the guessed pages (after=10, 20...) are not the
    ones the cursor names, so they are dropped and the stream is paged as one reader
    would page it, every event once."""
    monkeypatch.setattr("twin.invariants.stream.PAGE_SIZE_MAX", 10)
    monkeypatch.setattr("twin.invariants.derivability.PAGE_SIZE_MAX", 10)

    def cap(request: httpx.Request) -> httpx.Request:
        if _tenant_stream(request) or _account_stream(request):
            return httpx.Request(
                "GET", request.url.copy_set_param("limit", "7"), headers=request.headers
            )
        return request

    results = inspect(*healthy, on_requests(cap))
    assert statuses(results) == dict.fromkeys(results, PASS), {
        n: r.failures[:3] for n, r in results.items()
    }
    assert results["event_integrity"].checked["events"] == 58


def test_an_account_stream_missing_a_posting_fails_derivability(
    healthy: tuple[SyncASGITransport, Path],
) -> None:
    def edit(request: httpx.Request, body: Any) -> Any:
        if _account_stream(request) and "/GL_" not in path_of(request):
            events = body["events"]
            index = next((i for i, e in enumerate(events) if e["eventType"] == "EntryPosted"), None)
            if index is not None:
                del events[index]
                return body
        return None

    results = inspect(*healthy, on_replies(edit))
    found = failures(results, "balance_derivability")
    assert any("lacks 1 posting event(s)" in f for f in found)
    assert results["event_integrity"].status == PASS


def test_an_account_stream_serving_an_event_twice_fails_derivability(
    healthy: tuple[SyncASGITransport, Path],
) -> None:
    """The same AccountBalanceUpdated twice (so the fold is not disturbed): only the
    comparison with the tenant stream, and the order, can tell."""

    def edit(request: httpx.Request, body: Any) -> Any:
        if _account_stream(request) and "/GL_SALARY" in path_of(request):
            events = body["events"]
            update = next(e for e in events if e["eventType"] == "AccountBalanceUpdated")
            events.insert(events.index(update) + 1, dict(update))
            return body
        return None

    results = inspect(*healthy, on_replies(edit))
    found = failures(results, "balance_derivability")
    assert any("repeats or adds 1 posting event(s)" in f for f in found)
    assert any("out of order" in f for f in found)


def test_a_cursor_that_does_not_advance_is_a_failure_not_a_hang(
    healthy: tuple[SyncASGITransport, Path],
) -> None:
    def edit(request: httpx.Request, body: Any) -> Any:
        stream = _tenant_stream(request) or (
            _account_stream(request) and "/GL_CARD" in path_of(request)
        )
        if stream and request.url.params.get("after") == "0":
            body["nextCursor"] = 0
            return body
        return None

    results = inspect(*healthy, on_replies(edit))
    assert any("does not advance" in f for f in failures(results, "event_integrity"))
    assert any("does not advance" in f for f in results["balance_derivability"].failures)


def test_an_unreadable_account_page_is_that_accounts_failure(
    healthy: tuple[SyncASGITransport, Path],
) -> None:
    """Account pages are folded as they arrive, inside whichever check is pumping
    replies: a page the fold cannot read must fail derivability, not the inspection."""

    def edit(request: httpx.Request, body: Any) -> Any:
        if _account_stream(request) and "/GL_CARD" in path_of(request):
            for event in body["events"]:
                if event["eventType"] == "EntryPosted":
                    for leg in event["payload"]["legs"]:
                        if leg["accountId"] == "GL_CARD_CLEARING":
                            del leg["amount"]
                    return body
        return None

    results = inspect(*healthy, on_replies(edit))
    found = failures(results, "balance_derivability")
    assert any("GL_CARD_CLEARING: unreadable events page" in f for f in found)
    assert results["event_integrity"].status == PASS


# ------------------------------------------- the broken mocks of the contract suites


@pytest.mark.parametrize(
    ("variant", "caught_by"),
    [("hash_skips_field", "event_integrity"), ("cross_tenant_read", "tenant_isolation")],
)
def test_broken_variants_are_caught(variant: str, caught_by: str) -> None:
    """tests/contract/broken.py's defects, behind the twin's own checks: the one the
    defect breaks fails, the others pass."""
    from contract_tests.target import IN_PROCESS_KEYS
    from tests.contract.broken import broken_target

    probe_key = next(key for key, scope in IN_PROCESS_KEYS.items() if scope != "*")
    with broken_target(variant) as target:
        transport = SyncASGITransport(target.app)
        try:
            client = TuringCoreClient("http://mock", target.api_key, transport=transport)
            run = ScenarioRunner(client, make_plan(TENANT, customers=2, days=1), concurrency=2)
            assert run.run().unexpected_count == 0
            results, _ = inspect_tenant(
                client,
                TENANT,
                isolation_key=probe_key,
                probe_tenant=IN_PROCESS_KEYS[probe_key],
                concurrency=2,
            )
        finally:
            transport.close()
    verdicts = {r.name: r.status for r in results}
    assert verdicts.pop(caught_by) == FAIL
    assert set(verdicts.values()) <= {PASS, SKIP}, verdicts
