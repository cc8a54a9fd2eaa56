"""`twin run --faults PROFILE`: every fault profile of the mock, with the twin as the client.

One `mock-core serve` process (a free 127.0.0.1 port); a clean run of the scenario on
one tenant, then a run under each profile on a tenant of its own (the profile set for
that tenant through the admin API by the twin itself). Each must end with the clean
run's state digest and pass its checks; where the profile spoils replies the client
must have retried, and the retries tell where the fault sat:
- after the commit (a dropped reply, a 503 or a stall after it): every fault is
  followed by a replay (`Idempotent-Replayed: true`), one each;
- before the commit (a refusal, an outage): no replay at all, nothing was written.

The same checks are run against deliberately broken fault wrappers, served from a
thread of this process, and must fail: one that drops the reply before the commit,
one that commits a retried command twice, one that refuses after committing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from contract_tests.proxy import read_body
from mock_core.api.app import create_app
from mock_core.api.faults import ActiveProfile, drop_connection, parse_spec
from mock_core.settings import Settings
from tests.contract.asgi_threads import serve_in_thread
from tests.twin.conftest import API_KEYS, PLATFORM_KEY
from turingcore_client.serving import served_mock
from twin.cli import main

SIZE = ["--customers", "20", "--days", "3", "--seed", "42"]
AFTER, BEFORE, NEITHER = "after the commit", "before the commit", "neither"
# name: (spec, where the fault sits, whether the client must retry, extra twin options)
PROFILES: dict[str, tuple[str, str, bool, list[str]]] = {
    "drop-reply": ("drop-reply:7", AFTER, True, []),
    "error-after-commit": ("error-after-commit:5", AFTER, True, []),
    "stall-after-commit": (
        "error-after-commit:5,mode=stall,stall_s=1.5,p=0.02",
        AFTER,
        True,
        ["--timeout", "1"],
    ),
    "refuse": ("refuse:3,status=mixed,retry_after=0", BEFORE, True, []),
    "outage": ("outage:1,seconds=2,after=60", BEFORE, True, []),
    "latency": ("latency:2,dist=fixed,ms=1,PostEntry.ms=12", NEITHER, False, []),
    "slow-reader": ("slow-reader:1,ms=20,p=0.5", NEITHER, False, []),
}

pytestmark = pytest.mark.slow


def twin_run(base_url: str, tenant: str, output: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    argv = ["run", "steady-state", *SIZE, "--tenant-code", tenant, "--output", str(output)]
    code = main([*argv, "--quiet", *extra, "--base-url", base_url, "--api-key", PLATFORM_KEY])
    path = output / "summary.json"
    return code, json.loads(path.read_text()) if path.exists() else {}


def run_log(output: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in (output / "commands.jsonl").read_bytes().splitlines()]


def fault_problems(
    summary: dict[str, Any], clean: str, injected: dict[str, int], where: str, retried: bool
) -> list[str]:
    """What is wrong with a run under faults (empty: nothing): the checks of this file."""
    problems = []
    if not summary.get("ok"):
        outcomes = summary.get("counts", {}).get("by_outcome")
        problems.append(f"the run failed: {outcomes}, {summary.get('unexpected', [])[:2]}")
    if summary.get("state_digest") != clean:
        problems.append(f"state digest {summary.get('state_digest')} != the clean run's {clean}")
    faults = sum(injected.values())
    if faults == 0:
        problems.append("no fault was injected")
    retries = summary.get("faults", {}).get("retries", {}).get("total", 0)
    if retried and retries < faults:
        problems.append(f"{faults} faults but {retries} retries counted")
    replayed = summary.get("counts", {}).get("by_outcome", {}).get("replayed", 0)
    if where == AFTER and replayed != faults:
        problems.append(f"{faults} replies spoiled after the commit, {replayed} replays")
    if where == BEFORE and replayed != 0:
        problems.append(f"{replayed} replays after refusals that should have written nothing")
    return problems


@pytest.fixture(scope="module")
def mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = tmp_path_factory.mktemp("faults") / "mock.db"
    args = ["--database-url", f"sqlite:///{db}", "--api-keys", API_KEYS, "--no-access-log"]
    with served_mock(args) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def clean_digest(mock: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    code, summary = twin_run(mock, "CU_CLEAN", tmp_path_factory.mktemp("clean"))
    assert code == 0 and summary["ok"]
    assert "faults" not in summary
    return str(summary["state_digest"])


def fault_counts(base_url: str) -> dict[tuple[str, str], float]:
    import httpx

    text = httpx.get(f"{base_url}/metrics").text
    return {
        (s.labels["profile"], s.labels["kind"]): s.value
        for family in text_string_to_metric_families(text)
        if family.name == "mock_core_faults"
        for s in family.samples
        if s.name.endswith("_total")
    }


@pytest.mark.parametrize("name", list(PROFILES))
def test_a_run_under_each_profile_ends_with_the_clean_digest(
    name: str, mock: str, clean_digest: str, tmp_path: Path
) -> None:
    spec, where, retried, extra = PROFILES[name]
    tenant = "CU_" + name.upper().replace("-", "_")
    code, summary = twin_run(mock, tenant, tmp_path, "--faults", spec, *extra)
    faults = summary["faults"]
    assert faults["profile"] == spec and faults["cleared"] is True
    injected = faults["injected_by_the_mock"]
    assert fault_problems(summary, clean_digest, injected, where, retried) == []
    assert code == 0
    if name == "latency":  # the PostEntry override: at least 12 ms each
        assert summary["latency_ms"]["PostEntry"]["p50_ms"] >= 12
    if name == "slow-reader":  # the checks' reads were stalled, the commands not
        assert injected["slow-read"] > 0 and faults["retries"]["total"] == 0
    # The profile is gone: the tenant answers at once, and is not faulted any more.
    admin = httpx_admin(mock, "GET", f"/_mock/faults/{tenant}")
    assert admin["scope"] == "none"


def httpx_admin(base_url: str, method: str, path: str, body: Any = None) -> Any:
    import httpx

    headers = {"Authorization": f"Bearer {PLATFORM_KEY}"}
    return httpx.request(method, base_url + path, json=body, headers=headers).json()


def test_a_profile_for_every_tenant_from_the_command_line(
    clean_digest: str, tmp_path: Path
) -> None:
    args = ["--database-url", f"sqlite:///{tmp_path}/every.db", "--api-keys", API_KEYS]
    with served_mock([*args, "--no-access-log", "--faults", "drop-reply:7"]) as base_url:
        code, summary = twin_run(base_url, "CU_EVERY", tmp_path / "run", "--no-inspect")
        listed = httpx_admin(base_url, "GET", "/_mock/faults")
        counted = fault_counts(base_url)
    assert listed["everyTenant"]["profile"]["spec"] == "drop-reply:7"
    drops = listed["everyTenant"]["injected"]["drop"]
    assert counted == {("drop-reply", "drop"): drops}
    assert fault_problems(summary, clean_digest, {"drop": drops}, AFTER, False) == []
    assert code == 0


def test_a_dropped_reply_is_not_one_byte_and_follows_the_commit(mock: str) -> None:
    import socket

    from tests.commands import envelope, tenant_payload

    tenant = "CU_DROPPED"
    httpx_admin(mock, "PUT", f"/_mock/faults/{tenant}", {"profile": "drop-reply:1,p=1"})
    body = orjson.dumps(envelope(tenant, "CreateTenant", tenant_payload(tenant), key="t-1"))
    head = (
        f"POST /v1/tenants/{tenant}/commands HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {PLATFORM_KEY}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    host, port = mock.removeprefix("http://").split(":")
    for attempt in range(2):
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(head + body)
            received = b""
            while chunk := sock.recv(65536):
                received += chunk
                if attempt == 1 and b"\r\n\r\n" in received:
                    break
        if attempt == 0:
            assert received == b""  # closed without a byte of the reply ...
            tenant_reply = httpx_admin(mock, "GET", f"/v1/tenants/{tenant}")
            assert tenant_reply["tenantId"] == tenant  # ... after the commit
        else:
            assert received.startswith(b"HTTP/1.1 202")
            assert b"idempotent-replayed: true" in received.lower()
    cleared = httpx_admin(mock, "DELETE", f"/_mock/faults/{tenant}")
    assert cleared["injected"] == {"drop": 1}


def test_the_same_seed_gives_the_same_faults_at_the_same_commands(
    mock: str, clean_digest: str, tmp_path: Path
) -> None:
    spec = "refuse:11,status=mixed,retry_after=0"
    runs = []
    for n in (1, 2):
        before = fault_counts(mock)
        code, summary = twin_run(mock, f"CU_SAME_{n}", tmp_path / str(n), "--faults", spec)
        assert code == 0 and summary["state_digest"] == clean_digest
        after = fault_counts(mock)
        grown = {k[1]: v - before.get(k, 0) for k, v in after.items() if v > before.get(k, 0)}
        injected = summary["faults"]["injected_by_the_mock"]
        assert grown == injected  # /metrics counts what the tenant's profile says
        retried = {
            r["key"].split(":", 1)[1] for r in run_log(tmp_path / str(n)) if r["attempts"] > 1
        }
        runs.append((injected, retried))
    assert runs[0] == runs[1]
    assert set(runs[0][0]) == {"refuse-429", "refuse-503"}
    # Another seed hits other commands.
    code, summary = twin_run(
        mock, "CU_SAME_3", tmp_path / "3", "--faults", "refuse:12,retry_after=0"
    )
    other = {r["key"].split(":", 1)[1] for r in run_log(tmp_path / "3") if r["attempts"] > 1}
    assert code == 0 and other != runs[0][1]


def test_a_bad_profile_or_a_target_without_the_admin_api_is_refused_before_the_run(
    mock: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = twin_run(mock, "CU_BAD", tmp_path / "bad", "--faults", "drop-reply:1,p=9")
    out = capsys.readouterr().out
    assert code == 2 and "p must be at most 1.0" in out and "Traceback" not in out
    app = create_app(_settings(tmp_path, admin_enabled=False))
    with serve_in_thread(app) as base_url:
        code, _ = twin_run(base_url, "CU_BAD", tmp_path / "off", "--faults", "drop-reply:1")
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1
    assert "PUT /_mock/faults/CU_BAD gave 404" in lines[0]
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "steady-state", "--faults", "Not A Profile"])
    assert exit_info.value.code == 2


# -------------------------------------------------- broken fault wrappers must fail


def _settings(tmp_path: Path, **options: Any) -> Settings:
    url = f"sqlite:///{tmp_path}/broken.db"
    return Settings(database_url=url, api_keys=API_KEYS, access_log=False, **options)


class BrokenWrapper:
    """A fault wrapper in front of the mock that gets one thing wrong (`how`), on the
    commands `drop-reply:7` would hit; it counts its faults as the mock's would be."""

    def __init__(self, app: Any, how: str) -> None:
        self.app = app
        self.how = how
        self.profile = ActiveProfile(parse_spec("drop-reply:7"))
        self.injected: dict[str, int] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].endswith("/commands"):
            await self.app(scope, receive, send)
            return
        body = await read_body(receive)
        envelope = orjson.loads(body)
        key = envelope.get("idempotencyKey") or envelope["commandId"]
        if self.profile.after(key, scope["path"]) is None:
            await self.app(scope, _once(body), send)
            return
        self.injected[self.how] = self.injected.get(self.how, 0) + 1
        if self.how == "drop-before-commit":
            await drop_connection(send)  # the app never sees it: nothing committed
            return
        if self.how == "commit-twice":  # the retry's key forgotten: applied again
            again = {**envelope, "idempotencyKey": key + "-again", "commandId": _other(key)}
            await self.app(scope, _once(orjson.dumps(again)), _discard)
            await self.app(scope, _once(body), send)
            return
        # "refuse-after-commit": the command is applied, then refused as if it was not
        await self.app(scope, _once(body), _discard)
        reply = b'{"error":"SERVICE_UNAVAILABLE","message":"broken","details":{}}'
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(reply)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": reply})


def _once(body: bytes) -> Callable[[], Any]:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _discard(message: Any) -> None:
    pass


def _other(key: str) -> str:
    import uuid

    return str(uuid.uuid5(uuid.NAMESPACE_URL, "again:" + key))


@pytest.mark.parametrize(
    ("how", "where"),
    [("drop-before-commit", AFTER), ("commit-twice", AFTER), ("refuse-after-commit", BEFORE)],
)
def test_the_checks_fail_on_a_broken_fault_wrapper(
    how: str, where: str, clean_digest: str, tmp_path: Path
) -> None:
    wrapper = BrokenWrapper(create_app(_settings(tmp_path)), how)
    with serve_in_thread(wrapper) as base_url:
        _, summary = twin_run(base_url, "CU_BROKEN", tmp_path / "run", "--no-inspect")
    assert sum(wrapper.injected.values()) > 10
    summary.setdefault("faults", {"retries": {"total": summary_retries(tmp_path / "run")}})
    problems = fault_problems(summary, clean_digest, wrapper.injected, where, True)
    expected = {
        "drop-before-commit": "replies spoiled after the commit",
        "commit-twice": "state digest",
        "refuse-after-commit": "replays after refusals",
    }[how]
    assert any(expected in p for p in problems), problems


def summary_retries(output: Path) -> int:
    return sum(int(r.get("attempts") or 1) - 1 for r in run_log(output))
