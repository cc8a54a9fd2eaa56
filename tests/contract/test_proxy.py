"""The validating proxy (`contract-test proxy`, docs/proxy.md), with the twin as its only
client: silent in front of the clean mock, and reporting each broken variant's defect
from the traffic alone.

Every variant of tests/contract/broken.py is run, the twin with its isolation check
(`--isolation-key`: a key scoped to a second tenant reads the main tenant and sends a
command there) and its probe phase (`--probe`: malformed and out-of-bounds entries, paged
walks, the tenant id in another case, X-Correlation-Id, a key reused on a second tenant,
customers created one after another). `CAUGHT` names the check that must report each
variant the twin's traffic shows; `NOT_IN_TRAFFIC` says, for each of the others (none
now), why the twin's traffic cannot show it, and the test asserts the proxy stays silent
there (so a variant that becomes visible must move to `CAUGHT`). The checks that the
twin's traffic never fails are shown failing below on a target or an exchange made for
it (`no_server_error`, `key_reuse_refused` on idempotency_ignored, `entry_balanced`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from contract_tests.proxy import ValidatingProxy, api_prefix_of, read_body, record_line
from contract_tests.proxy_checks import Exchange, Finding, Observer
from contract_tests.target import IN_PROCESS_KEYS
from tests.contract.asgi_threads import serve_in_thread
from tests.contract.broken import VARIANTS, broken_target
from tests.serving import REPO, free_port, served_mock
from turingcore_client.contract import spec
from turingcore_client.envelope import build_envelope
from turingcore_client.payloads import entry_payload, leg, tenant_payload
from turingcore_client.serving import clean_env

TWIN = ["steady-state", "--customers", "10", "--days", "2", "--seed", "42", "--quiet"]
# The twin's tenant_isolation check with a key scoped to a second tenant, one the served
# app knows (the in-process targets' IN_PROCESS_KEYS): it reads the main tenant with that
# key (403 expected) and sends a PostEntry there (403), which `key_scope` judges.
ISOLATION_TENANT = "CT_TENANT_B"
ISOLATION_KEY = next(k for k, scope in IN_PROCESS_KEYS.items() if scope == ISOLATION_TENANT)
ISOLATION = ["--isolation-key", ISOLATION_KEY, "--isolation-tenant", ISOLATION_TENANT]
# The same keys for a served mock (`mock-core serve --api-keys`).
API_KEYS = ";".join(f"{key}={scope}" for key, scope in IN_PROCESS_KEYS.items())

# variant -> the checks of which one at least must report it (from the twin's traffic,
# its probe phase included).
CAUGHT: dict[str, frozenset[str]] = {
    "flipped_sign": frozenset({"balance_follows"}),
    "idempotency_ignored": frozenset({"replay_same_reply", "key_reuse_refused"}),
    "replay_different_body": frozenset({"replay_same_reply"}),
    "hash_skips_field": frozenset({"hash_chain"}),
    "missing_field": frozenset({"spec_shape"}),
    "wrong_status": frozenset({"spec_status"}),
    "duplicate_event_id": frozenset({"event_ids_unique"}),
    "non_jcs_hash": frozenset({"hash_chain"}),
    "last_sequence_lags": frozenset({"last_sequence"}),
    "float_balances": frozenset({"balance_follows"}),
    # Shown by the probe phase (twin run --probe):
    "no_balance_check": frozenset({"balance_bounds"}),
    "server_error_on_bad_input": frozenset({"no_server_error"}),
    "page_skips_item": frozenset({"paging"}),
    "last_page_short": frozenset({"paging"}),
    "total_ignores_filter": frozenset({"filtered_total"}),
    "tenant_case_insensitive": frozenset({"tenant_id_case"}),
    "idempotency_per_service": frozenset({"idempotency_scope"}),
    "correlation_not_echoed": frozenset({"correlation_echo"}),
    # Shown by the isolation check (twin run --isolation-key):
    "cross_tenant_read": frozenset({"key_scope"}),
    # Shown by the probe phase's creation_order (customers created one after another):
    "customers_by_name": frozenset({"list_order"}),
}
# variant -> why the twin's traffic (steady-state, 10 members, 2 days, --probe,
# --isolation-key) cannot show it: none left.
NOT_IN_TRAFFIC: dict[str, str] = {}


def test_every_variant_is_in_one_table() -> None:
    assert set(CAUGHT) | set(NOT_IN_TRAFFIC) == set(VARIANTS)
    assert not set(CAUGHT) & set(NOT_IN_TRAFFIC)


def _run_twin(base_url: str, output: Path, probe: bool = True, isolation: bool = True) -> int:
    """The twin's run, its checks (`isolation`: tenant_isolation with a key scoped to
    ISOLATION_TENANT), then (`probe`) its probe phase: the requests at the contract's edges
    (twin/probe.py) that show the list, case, scope, correlation and bounds defects."""
    from twin.cli import main

    extra = (["--probe"] if probe else []) + (ISOLATION if isolation else [])
    return main(["run", *TWIN, *extra, "--base-url", base_url, "--output", str(output)])


@contextmanager
def proxied(upstream: str) -> Iterator[tuple[str, Observer]]:
    """The proxy in front of `upstream`, in a thread; (its base URL, its observer). The
    observer has judged every exchange once the block ends."""
    observer = Observer(spec(), api_prefix_of(upstream), target=upstream)
    with open(os.devnull, "w") as quiet:
        app = ValidatingProxy(upstream, observer, out=quiet)
        with serve_in_thread(app) as url:
            yield url, observer


def _through_proxy(
    upstream: str, output: Path, probe: bool = True, isolation: bool = True
) -> tuple[list[Finding], Observer]:
    with proxied(upstream) as (url, observer):
        _run_twin(url, output, probe, isolation)
    return observer.findings, observer


def _isolation_verdict(summary: dict[str, Any]) -> str:
    """The twin's tenant_isolation verdict in its summary.json."""
    return next(i["status"] for i in summary["invariants"] if i["name"] == "tenant_isolation")


def test_silent_in_front_of_the_clean_mock(tmp_path: Path) -> None:
    """The twin's run, its isolation check and its probe phase: no finding, and every check
    runs."""
    db = f"sqlite:///{tmp_path}/mock.db"
    with served_mock(["--database-url", db, "--no-access-log", "--api-keys", API_KEYS]) as up:
        findings, observer = _through_proxy(up, tmp_path / "twin")
    assert findings == []
    summary = orjson.loads((tmp_path / "twin" / "summary.json").read_bytes())
    assert _isolation_verdict(summary) == "PASS"
    ran = {row.name: row.runs for row in observer.result.rows}
    # Every check the twin's traffic reaches ran (entry_balanced on each accepted entry).
    for name in ("spec_status", "spec_shape", "error_shape", "entry_balanced"):
        assert ran[name] > 0, name
    for name in ("balance_follows", "replay_same_reply", "key_reuse_refused", "hash_chain"):
        assert ran[name] > 0, name
    assert ran["event_ids_unique"] > 0 and ran["last_sequence"] > 0
    # The probe phase's traffic reaches the checks of proxy_lists.
    for name in ("paging", "filtered_total", "tenant_id_case", "idempotency_scope"):
        assert ran[name] > 0, name
    assert ran["correlation_echo"] > 0 and ran["balance_bounds"] > 0
    # B's key refused on the main tenant's gateway, its reads there refused too.
    assert ran["key_scope"] > 0


def test_silent_when_started_after_the_tenant(tmp_path: Path) -> None:
    """A proxy put in front of a service whose tenant it never saw made: the twin run again
    (every command a replay of one the proxy did not see) raises no false finding."""
    with served_mock(["--database-url", f"sqlite:///{tmp_path}/mock.db", "--no-access-log"]) as up:
        assert _run_twin(up, tmp_path / "direct", probe=False, isolation=False) == 0
        findings, observer = _through_proxy(up, tmp_path / "again", probe=False, isolation=False)
    assert findings == []
    assert observer.result.row("balance_follows").runs == 0  # nothing it could know
    assert observer.result.row("replay_same_reply").runs > 0


def test_silent_in_front_of_a_published_only_service(tmp_path: Path) -> None:
    """In front of a service with none of our extensions (no chain, no result, no
    accountType=ALL: tests/contract/published_only.py), as the real platform may be, the
    proxy still judges shapes and balances and finds nothing."""
    from tests.contract.published_only import app

    with serve_in_thread(app()) as up:
        findings, observer = _through_proxy(up, tmp_path / "twin")
    assert findings == []
    ran = {row.name: row.runs for row in observer.result.rows}
    assert ran["spec_shape"] > 0 and ran["balance_follows"] > 0 and ran["entry_balanced"] > 0
    assert ran["hash_chain"] == 0  # its events carry no hash
    assert ran["paging"] > 0 and ran["balance_bounds"] > 0 and ran["idempotency_scope"] > 0
    # key_scope is not reached here: the twin's isolation check reads the probe tenant
    # (`GET /v1/tenants/CT_TENANT_B`, an extension this service does not serve) to know it
    # is ready, gets 404, and sends none of its cross-tenant requests.
    # X-Correlation-Id is an extension its served spec does not document: not judged.
    assert ran["correlation_echo"] == 0


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_each_broken_variant(name: str, tmp_path: Path) -> None:
    with broken_target(name) as target, serve_in_thread(target.app) as upstream:
        findings, _ = _through_proxy(upstream, tmp_path / "twin")
    seen = {f.check for f in findings}
    if name == "cross_tenant_read":  # the twin's own isolation check fails there too
        summary = orjson.loads((tmp_path / "twin" / "summary.json").read_bytes())
        assert _isolation_verdict(summary) == "FAIL"
    if name in CAUGHT:
        assert seen & CAUGHT[name], f"{name}: expected {sorted(CAUGHT[name])}, saw {seen}"
    else:
        assert findings == [], f"{name} is listed as not visible, yet: {findings[:3]}"


def test_no_server_error_fails_on_a_500() -> None:
    with (
        broken_target("server_error_on_bad_input") as target,
        serve_in_thread(target.app) as up,
        proxied(up) as (url, observer),
    ):
        reply = httpx.post(
            f"{url}/v1/tenants/ANY/commands",
            json={"commandId": "not-a-uuid"},
            headers={"Authorization": "Bearer dev-platform-key"},
        )
    assert reply.status_code == 500
    assert {f.check for f in observer.findings} >= {"no_server_error", "spec_status"}


def _reuse_a_key(url: str) -> list[int]:
    """A tenant, an entry with key K, then K again with another narrative: the statuses."""
    headers = {"Authorization": "Bearer dev-platform-key"}
    legs = [leg("GL_SUSPENSE", "DEBIT", 1.5), leg("GL_FEES", "CREDIT", 1.5)]
    commands = [
        build_envelope("CreateTenant", tenant_payload("PROXY_REUSE", "P"), tenant_id="PROXY_REUSE"),
        *(
            build_envelope(
                "PostEntry",
                entry_payload("2025-01-02", legs, narrative),
                tenant_id="PROXY_REUSE",
                idempotency_key="K",
            )
            for narrative in ("first", "another")
        ),
    ]
    path = f"{url}/v1/tenants/PROXY_REUSE/commands"
    return [httpx.post(path, json=c, headers=headers).status_code for c in commands]


def test_key_reuse_refused_fails_when_a_reused_key_is_accepted() -> None:
    with (
        broken_target("idempotency_ignored") as target,
        serve_in_thread(target.app) as up,
        proxied(up) as (url, observer),
    ):
        assert _reuse_a_key(url) == [202, 202, 202]
    assert [f.check for f in observer.findings] == ["key_reuse_refused"]


def test_key_reuse_refused_passes_on_the_422(tmp_path: Path) -> None:
    args = ["--database-url", f"sqlite:///{tmp_path}/mock.db", "--no-access-log"]
    with served_mock(args) as up, proxied(up) as (url, observer):
        assert _reuse_a_key(url) == [202, 202, 422]
    assert observer.findings == []
    assert observer.result.row("key_reuse_refused").passed == 1


async def _echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """An upstream that answers 503 with what it was asked, Retry-After and Location."""
    if scope["type"] != "http":
        return
    body = await read_body(receive)
    seen = {
        "path": scope["path"],
        "query": scope["query_string"].decode(),
        "headers": {k.decode(): v.decode() for k, v in scope["headers"]},
        "body": body.decode(),
    }
    reply = orjson.dumps(seen)
    headers = [
        (b"content-type", b"application/json"),
        (b"retry-after", b"7"),
        (b"location", b"/core/v1/somewhere"),
        (b"x-upstream", b"echo"),
        (b"content-length", str(len(reply)).encode()),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": reply})


def test_the_prefix_headers_and_body_pass_unchanged() -> None:
    with serve_in_thread(_echo, lifespan="off") as up, proxied(f"{up}/core") as (url, observer):
        reply = httpx.post(
            f"{url}/core/v1/tenants/T/commands?x=1&y=%2F",
            content=b'{"commandId": "c"}',
            headers={
                "Authorization": "Bearer k",
                "X-Thing": "a b",
                "Content-Type": "text/x",
                "User-Agent": "the-client",
            },
        )
    seen = reply.json()
    assert (seen["path"], seen["query"], seen["body"]) == (
        "/core/v1/tenants/T/commands",
        "x=1&y=%2F",
        '{"commandId": "c"}',
    )
    assert seen["headers"]["authorization"] == "Bearer k"
    assert seen["headers"]["x-thing"] == "a b"
    assert seen["headers"]["content-type"] == "text/x"
    assert seen["headers"]["host"] == up.removeprefix("http://")
    assert seen["headers"]["user-agent"] == "the-client"  # not the proxy's own client's
    assert reply.status_code == 503
    assert reply.headers["retry-after"] == "7"
    assert reply.headers["location"] == "/core/v1/somewhere"
    assert reply.headers["x-upstream"] == "echo"
    # The 503 is judged under the prefix: a server error, and not an Error body.
    assert {f.check for f in observer.findings} >= {"no_server_error", "error_shape"}


# Replies framed three ways, as raw bytes: chunked, delimited by the close, and a HEAD's.
RAW_REPLIES = {
    b"/chunked": b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nx-a: 1\r\n\r\n"
    b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    b"/close": b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nuntil the end",
    b"/head": b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nx-b: 2\r\n\r\n",
}


@contextmanager
def raw_server() -> Iterator[str]:
    """A TCP server that answers each request with RAW_REPLIES[its path], then closes."""
    import asyncio
    import threading

    loop = asyncio.new_event_loop()
    port = free_port()

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        writer.write(RAW_REPLIES[head.split(b" ")[1]])
        await writer.drain()
        writer.close()

    server = loop.run_until_complete(asyncio.start_server(answer, "127.0.0.1", port))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        loop.call_soon_threadsafe(server.close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def test_replies_framed_any_way_pass_whole() -> None:
    with raw_server() as up, proxied(up) as (url, _):
        chunked = httpx.get(f"{url}/chunked")
        closed = httpx.get(f"{url}/close")
        head = httpx.head(f"{url}/head")
    assert (chunked.status_code, chunked.content, chunked.headers["x-a"]) == (
        200,
        b"hello world",
        "1",
    )
    assert closed.content == b"until the end"
    assert (head.status_code, head.headers["x-b"], head.content) == (200, "2", b"")
    assert head.headers["content-length"] == "5"  # the length of the body it describes


def test_an_upstream_that_does_not_answer_gets_a_502() -> None:
    with proxied(f"http://127.0.0.1:{free_port()}") as (url, observer):
        reply = httpx.post(f"{url}/v1/tenants/T/commands", json={"commandId": "c"})
    assert reply.status_code == 502
    assert reply.json()["error"] == "UPSTREAM_UNAVAILABLE"
    assert observer.findings == []  # the proxy's own 502 is not the upstream's finding


def _exchange(body: dict[str, object], reply: dict[str, object]) -> Exchange:
    return Exchange(
        "POST",
        "/v1/tenants/T/commands",
        "",
        [("content-type", "application/json")],
        orjson.dumps(body),
        202,
        [("content-type", "application/json")],
        orjson.dumps(reply),
    )


def test_entry_balanced_fails_on_an_unbalanced_accepted_entry() -> None:
    observer = Observer(spec())
    legs = [
        {"accountId": "GL_SUSPENSE", "direction": "DEBIT", "amount": 10.0},
        {"accountId": "GL_FEES", "direction": "CREDIT", "amount": 9.99},
    ]
    command: dict[str, object] = {
        "commandId": "c1",
        "commandType": "PostEntry",
        "payload": {"legs": legs},
    }
    found = observer.observe(_exchange(command, {"commandId": "c1", "status": "ACCEPTED"}))
    assert [f.check for f in found if f.check == "entry_balanced"] == ["entry_balanced"]
    assert "10" in found[-1].message and "9.99" in found[-1].message


def test_a_recorded_line_hides_credentials() -> None:
    ex = _exchange({"commandId": "c1"}, {"ok": True})
    ex.request_headers += [("Authorization", "Bearer secret-key"), ("X-Api-Key", "k2")]
    line = record_line(ex)
    assert b"secret-key" not in line and b"k2" not in line
    assert orjson.loads(line)["request"]["body"] == {"commandId": "c1"}


def _proxy_process(upstream: str, port: int, tmp: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "contract_tests",
            "proxy",
            "--upstream",
            upstream,
            "--listen",
            f"127.0.0.1:{port}",
            "--record",
            str(tmp / "traffic.jsonl"),
            "--report-dir",
            str(tmp / "report"),
        ],
        cwd=REPO,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        try:
            if httpx.get(f"{url}/healthz").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError("the proxy did not start")


def test_the_command_reports_and_exits_1_on_sigterm(tmp_path: Path) -> None:
    """End to end: the console command in front of a variant, the twin through it; SIGTERM
    writes the reports with the finding and exits 1. The path prefix and the headers go
    through unchanged (a replay's Idempotent-Replayed)."""
    with broken_target("replay_different_body") as target, serve_in_thread(target.app) as up:
        port = free_port()
        process = _proxy_process(up, port, tmp_path)
        try:
            _wait_healthy(f"http://127.0.0.1:{port}", process)
            _run_twin(f"http://127.0.0.1:{port}", tmp_path / "twin", probe=False, isolation=False)
        finally:
            process.send_signal(signal.SIGTERM)
            out, _ = process.communicate(timeout=60)
    text = out.decode()
    assert process.returncode == 1, text
    assert "FINDING replay_same_reply: POST /v1/tenants/CU_DIGITAL/commands key=" in text
    report = (tmp_path / "report" / "report.md").read_text()
    assert "| proxy | replay_same_reply | published | failed |" in report
    assert (tmp_path / "report" / "junit.xml").is_file()
    assert (tmp_path / "report" / "report.html").is_file()
    lines = [orjson.loads(line) for line in (tmp_path / "traffic.jsonl").read_bytes().splitlines()]
    replayed = [
        line for line in lines if ["idempotent-replayed", "true"] in line["reply"]["headers"]
    ]
    assert replayed and all(line["request"]["path"].startswith("/v1/") for line in lines)
    assert all(
        value == "REDACTED"
        for line in lines
        for name, value in line["request"]["headers"]
        if name.lower() == "authorization"
    )


def test_the_command_exits_0_when_silent(tmp_path: Path) -> None:
    with served_mock(["--database-url", f"sqlite:///{tmp_path}/mock.db", "--no-access-log"]) as up:
        port = free_port()
        process = _proxy_process(up, port, tmp_path)
        try:
            _wait_healthy(f"http://127.0.0.1:{port}", process)
            health = httpx.get(f"http://127.0.0.1:{port}/healthz").json()
            assert health["status"] == "ok"
            direct = httpx.get(f"{up}/v1/tenants/NOPE", headers={"Authorization": "Bearer x"})
            proxied_reply = httpx.get(
                f"http://127.0.0.1:{port}/v1/tenants/NOPE", headers={"Authorization": "Bearer x"}
            )
        finally:
            process.send_signal(signal.SIGINT)
            out, _ = process.communicate(timeout=60)
    assert process.returncode == 0, out.decode()
    assert "exchanges passed: 1; findings: none" in out.decode()
    assert (proxied_reply.status_code, proxied_reply.content) == (
        direct.status_code,
        direct.content,
    )
    same = ("content-type", "www-authenticate")
    assert {k: proxied_reply.headers.get(k) for k in same} == {
        k: direct.headers.get(k) for k in same
    }
