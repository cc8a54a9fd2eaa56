"""End to end at small size: `twin run` against a real `mock-core serve` process.

A first run passes the five invariants with no unexpected rejection; a second
run against the same mock only replays and leaves the state digest unchanged;
after a reset of the whole store (a fresh mock) the same seed gives the same
digest. The server's access log shows that every write went to the command
gateway.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.twin.conftest import API_KEYS, ISOLATION_KEY, PLATFORM_KEY, make_plan
from turingcore_client.client import TuringCoreClient
from turingcore_client.serving import free_port, start_mock, stop_mock
from twin.cli import main
from twin.runner import RunnerError, ScenarioRunner, read_run_log

SIZE = ["--customers", "20", "--days", "5", "--seed", "42"]
GATEWAY = re.compile(r"^/v1/tenants/[A-Z0-9_]+/commands$")


def mock_args(database: Path) -> list[str]:
    return ["--database-url", f"sqlite:///{database}", "--api-keys", API_KEYS]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    pytest.importorskip("mock_core.cli")
    tmp = tmp_path_factory.mktemp("mock")
    log = tmp / "server.log"
    with log.open("w+b") as out:
        process, base_url = start_mock(mock_args(tmp / "db.sqlite"), log=out)
    try:
        yield base_url, log
    finally:
        stop_mock(process)


def twin_run(base_url: str, output: Path) -> tuple[int, dict[str, Any]]:
    code = main(
        [
            "run",
            "steady-state",
            *SIZE,
            "--base-url",
            base_url,
            "--api-key",
            PLATFORM_KEY,
            "--isolation-key",
            ISOLATION_KEY,
            "--output",
            str(output),
            "--quiet",
        ]
    )
    summary = json.loads((output / "summary.json").read_text())
    return code, summary


@pytest.fixture(scope="module")
def runs(server: tuple[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """First run, second run (same mock), third run after a full reset."""
    base_url, log = server
    out = tmp_path_factory.mktemp("out")
    first = twin_run(base_url, out / "first")
    second = twin_run(base_url, out / "second")
    writes = [
        json.loads(line)
        for line in log.read_text().splitlines()
        if line.startswith("{") and '"method"' in line
    ]
    with TuringCoreClient(base_url, PLATFORM_KEY) as client:
        assert client.admin_reset_all().status < 300
    third = twin_run(base_url, out / "third")
    return {
        "first": first,
        "second": second,
        "third": third,
        "access_log": writes,
        "second_log": read_run_log(out / "second" / "commands.jsonl"),
    }


@pytest.mark.slow
def test_first_run_passes_all_five_invariants(runs: dict[str, Any]) -> None:
    code, summary = runs["first"]
    assert summary["unexpected_total"] == 0, summary["unexpected"][:3]
    statuses = {i["name"]: i["status"] for i in summary["invariants"]}
    assert statuses == {
        "balance_derivability": "PASS",
        "event_integrity": "PASS",
        "tenant_isolation": "PASS",
        "idempotency": "PASS",
        "audit_completeness": "PASS",
    }, [i["failures"][:2] for i in summary["invariants"]]
    assert code == 0
    counts = summary["counts"]
    assert counts["by_outcome"]["accepted"] > 100
    assert counts["by_outcome"]["replayed"] == 0
    assert set(summary["latency_ms"]) >= {"CreateTenant", "CreateCustomer", "PostEntry"}
    assert len(summary["state_digest"]) == 64
    assert summary["state_digest_unmapped_accounts"] == 0


@pytest.mark.slow
def test_second_run_only_replays_and_changes_nothing(runs: dict[str, Any]) -> None:
    code, first = runs["first"]
    code2, second = runs["second"]
    assert code2 == code
    outcomes = second["counts"]["by_outcome"]
    assert outcomes["accepted"] == 0
    assert outcomes["replayed"] == first["counts"]["by_outcome"]["accepted"]
    assert {r["outcome"] for r in runs["second_log"]} <= {"replayed", "rejected-expected"}
    assert second["state_digest"] == first["state_digest"]


@pytest.mark.slow
def test_same_seed_same_digest_on_a_fresh_mock(runs: dict[str, Any]) -> None:
    _, first = runs["first"]
    _, third = runs["third"]
    assert third["counts"]["by_outcome"]["accepted"] == first["counts"]["by_outcome"]["accepted"]
    assert third["state_digest"] == first["state_digest"]
    assert third["plan_digest"] == first["plan_digest"]


@pytest.mark.slow
def test_every_write_goes_to_the_command_gateway(runs: dict[str, Any]) -> None:
    lines = runs["access_log"]
    assert lines, "the mock wrote no access log"
    writes = [line for line in lines if line["method"] not in ("GET", "HEAD")]
    assert len(writes) >= runs["first"][1]["counts"]["total"]
    strays = [f"{w['method']} {w['path']}" for w in writes if not GATEWAY.match(w["path"])]
    assert strays == []


@pytest.mark.slow
def test_reset_is_refused_by_a_service_without_the_admin_endpoint(tmp_path: Path) -> None:
    with (tmp_path / "log").open("w+b") as out:
        args = [*mock_args(tmp_path / "db.sqlite"), "--no-admin", "--no-access-log"]
        process, base_url = start_mock(args, log=out)
    try:
        with TuringCoreClient(base_url, PLATFORM_KEY) as client:
            client.create_tenant("T_NOADMIN", "No admin")
        assert main(["reset", "T_NOADMIN", "--base-url", base_url]) == 2
    finally:
        stop_mock(process)


def test_unreachable_service_and_bad_scenario_exit_2(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assert main(["inspect", "CU_DIGITAL", "--base-url", url]) == 2
    assert main(["run", "no-such-scenario", "--base-url", url, "--output", str(tmp_path)]) == 2


# ------------------------------------------------ the runner alone, on a fake service


def _fake_service(
    reject: Callable[[dict[str, Any]], dict[str, Any] | None] | None = None,
) -> tuple[TuringCoreClient, list[dict[str, Any]]]:
    """Accept every command (ids from the key), or reject those `reject` names. The
    202 is the published one: the new id at the top level, no `result`, no eventIds."""
    seen: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        envelope = json.loads(request.content)
        seen.append(envelope)
        refused = reject(envelope) if reject is not None else None
        if refused is not None:
            return httpx.Response(422, json=refused)
        key = envelope.get("idempotencyKey", "")
        body = {
            "commandId": envelope["commandId"],
            "status": "ACCEPTED",
            "correlationId": envelope["commandId"],
            "acceptedAt": "2025-01-01T00:00:00Z",
            "tenantId": envelope["tenantId"],
        }
        if envelope["commandType"] == "CreateCustomer":
            body["customerId"] = "CUS-" + key.rsplit(":", 1)[-1]
        if envelope["commandType"] == "OpenAccount":
            body["accountId"] = "ACC-" + key.split(":")[-2]
        return httpx.Response(202, json=body)

    transport = httpx.MockTransport(handler)
    return TuringCoreClient("http://fake", "key-123456", transport=transport, backoff=0), seen


def test_refs_are_resolved_lanes_keep_order_and_days_are_barriers(tmp_path: Path) -> None:
    client, seen = _fake_service()
    plan = make_plan("T_RUN", customers=6, days=3, invalid=False)
    run = ScenarioRunner(client, plan, concurrency=4, log_path=tmp_path / "log.jsonl").run()
    assert run.unexpected_count == 0
    assert run.by_outcome["accepted"] == len(list(plan.all_commands()))
    opened = [e for e in seen if e["commandType"] == "OpenAccount"]
    assert {e["payload"]["customerId"] for e in opened} == {f"CUS-C{i:06d}" for i in range(6)}
    entries = [e for e in seen if e["commandType"] == "PostEntry"]
    assert all(e["payload"]["legs"][0]["accountId"].startswith("ACC-C") for e in entries)
    days = [e["payload"]["bookingDate"] for e in entries]
    assert days == sorted(days), "a day started before the previous one ended"
    order = [e["idempotencyKey"] for e in seen]
    for i in range(6):
        mine = [k for k in order if f":C{i:06d}" in k]
        assert mine == [c.idempotency_key for c in plan.all_commands() if c.lane == f"C{i:06d}"]
    log = read_run_log(tmp_path / "log.jsonl")
    assert [r["key"] for r in log] == [c.idempotency_key for c in plan.all_commands()]


def test_a_refused_producer_skips_its_dependents_and_counts_them(tmp_path: Path) -> None:
    def reject(envelope: dict[str, Any]) -> dict[str, Any] | None:
        if envelope.get("idempotencyKey", "").endswith("customer:C000001"):
            return {
                "commandId": envelope["commandId"],
                "error": "INVARIANT_VIOLATION",
                "invariant": "CUSTOMER_EMAIL_UNIQUE",
                "message": "taken",
                "details": {},
            }
        return None

    client, _ = _fake_service(reject)
    plan = make_plan("T_RUN", customers=3, days=2)
    run = ScenarioRunner(client, plan, concurrency=2).run()
    assert run.by_outcome["rejected-unexpected"] == 1
    # the account and the four entries of C000001 were never sent
    assert run.by_outcome["skipped"] == 1 + 2 * 2
    # the deliberately unbalanced entry was "accepted" by this lax fake service
    assert run.by_outcome["accepted-unexpected"] == 1
    assert run.unexpected[0]["error"] == "CUSTOMER_EMAIL_UNIQUE"


def test_a_ref_no_command_produces_is_a_plan_error() -> None:
    client, _ = _fake_service()
    plan = make_plan("T_RUN", customers=1, days=1, invalid=False)
    broken = plan.simulate[0][0]
    legs = [{"accountId": {"$ref": "account:NOBODY:TXN"}, "direction": "DEBIT", "amount": 1}]
    bad = dataclasses.replace(broken, payload={**broken.payload, "legs": legs})
    plan.simulate[0][0] = bad
    with pytest.raises(RunnerError, match="account:NOBODY:TXN"):
        ScenarioRunner(client, plan, concurrency=1).run()
