"""The real server, over real HTTP: state survives a restart (clean or kill -9).

Each test starts `python -m mock_core serve` as a subprocess on a free port and a
SQLite file of its own, and every server it starts is stopped in the fixture's
finalizer, whatever happens.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mock_core.store.hashchain import verify_chain
from tests.commands import entry_payload, envelope, transfer_legs
from tests.mock_core.conftest import CU_KEY, KEYS, PLATFORM_KEY, TENANT
from tests.mock_core.test_api import (
    EXAMPLE_BALANCES,
    Example,
    all_accounts,
    all_events,
    headers,
    minor,
    post,
    recompute_chain,
    run_example,
    small_spec_path,
)
from tests.serving import Servers, free_port, serving
from turingcore_client.serving import clean_env

REPO = Path(__file__).resolve().parents[2]


def child_env() -> dict[str, str]:
    env = clean_env()
    # Nothing here reads the served spec; the small one makes each start quicker.
    env["MOCK_CORE_SPEC_PATH"] = str(small_spec_path())
    return env


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    yield from serving(Servers(tmp_path, api_keys=KEYS, env=child_env()))


def capture(http: httpx.Client) -> dict[str, Any]:
    """Everything a client can read about CU_DIGITAL."""
    hdrs = headers(PLATFORM_KEY)
    accounts = all_accounts(http, TENANT)
    return {
        "tenant": http.get(f"/v1/tenants/{TENANT}", headers=hdrs).json(),
        "products": http.get(f"/v1/tenants/{TENANT}/products", headers=hdrs).json(),
        "customers": http.get(
            f"/v1/tenants/{TENANT}/customers", params={"limit": 1000}, headers=hdrs
        ).json(),
        "accounts": accounts,
        "events": all_events(http, TENANT),
        "accountEvents": {
            a["accountId"]: http.get(
                f"/v1/tenants/{TENANT}/accounts/{a['accountId']}/events",
                params={"limit": 1000},
                headers=hdrs,
            ).json()
            for a in accounts
        },
    }


def assert_example_balances(state: dict[str, Any], ex: Example) -> None:
    balances = {a["accountId"]: minor(a["balance"]) for a in state["accounts"]}
    for name, cents in EXAMPLE_BALANCES.items():
        assert balances[ex.ids.get(name, name)] == cents, name
    assert sum(balances.values()) == 0


def replay(http: httpx.Client, ex: Example, name: str) -> httpx.Response:
    """The same command under a new commandId and timestamp."""
    again = {
        **ex.command(name),
        "commandId": str(uuid.uuid4()),
        "timestamp": "2025-03-01T12:00:00+11:00",
    }
    return post(http, TENANT, again, CU_KEY)  # type: ignore[no-any-return]


def test_state_survives_a_clean_restart_and_a_kill_9(servers: Servers, tmp_path: Path) -> None:
    """Three servers, one after the other, on one file (a server start costs seconds):
    1. the example sequence, then SIGTERM; 2. everything identical, replays replay,
    one more entry gets its 202, then SIGKILL at once; 3. that entry is there."""
    db = tmp_path / "db.sqlite"
    first = servers.start(db)
    assert "3 API key(s) configured" in first.output()
    with httpx.Client(base_url=first.url, timeout=10.0) as http:
        ex = run_example(http)
        before = capture(http)
    assert_example_balances(before, ex)
    returncode = first.stop()
    assert returncode in (0, -signal.SIGTERM), first.output()

    # -- 2. a clean restart changes nothing
    second = servers.start(db)
    with httpx.Client(base_url=second.url, timeout=10.0) as http:
        after = capture(http)
        assert after == before  # tenant, balances, projections and the stream, identical
        assert verify_chain(after["events"]) == []
        recompute_chain(after["events"])
        assert after["tenant"]["lastHash"] == after["events"][-1]["hash"]
        for name in ("createCustomer", "salary", "transfer"):
            resp = replay(http, ex, name)
            assert resp.status_code == 202, resp.text
            assert resp.headers["idempotent-replayed"] == "true"
            assert resp.content == ex.reply(name).content
        assert capture(http) == before

        txn = ex.ids["txn"]
        fee = entry_payload(transfer_legs(txn, "GL_FEES", 4.5), "after the restart")
        command = envelope(TENANT, "PostEntry", fee, key="fee:after-restart")
        acknowledged = post(http, TENANT, command, CU_KEY)
    assert acknowledged.status_code == 202, acknowledged.text
    assert second.kill() == -signal.SIGKILL  # right after the 202

    # -- 3. after kill -9 the acknowledged command is there, and the chain goes on.
    # No keys this time: the development key, and the start-up line says so.
    third = servers.start(db, api_keys=None)
    assert "dev-platform-key" in third.output()
    with httpx.Client(base_url=third.url, timeout=10.0) as http:
        state = capture(http)
        reply = acknowledged.json()
        caused = [e for e in state["events"] if e["causationId"] == command["commandId"]]
        assert [e["eventId"] for e in caused] == reply["eventIds"]
        assert [e["eventType"] for e in caused] == [
            "EntryPosted",
            "AccountBalanceUpdated",
            "AccountBalanceUpdated",
        ]
        last = before["tenant"]["lastSequence"]
        assert [e["sequence"] for e in caused] == [last + 1, last + 2, last + 3]
        assert caused[0]["prevHash"] == before["tenant"]["lastHash"]
        assert state["tenant"]["lastSequence"] == last + 3
        assert state["events"][:last] == before["events"]
        assert verify_chain(state["events"]) == []
        recompute_chain(state["events"])
        balances = {a["accountId"]: minor(a["balance"]) for a in state["accounts"]}
        assert balances[txn] == EXAMPLE_BALANCES["txn"] - 450
        assert balances["GL_FEES"] == 450
        assert sum(balances.values()) == 0
        again = post(http, TENANT, {**command, "commandId": str(uuid.uuid4())})
        assert again.status_code == 202
        assert again.headers["idempotent-replayed"] == "true"
        assert again.content == acknowledged.content
        assert http.get(f"/v1/tenants/{TENANT}", headers=headers(CU_KEY)).status_code == 401


def test_several_workers_on_sqlite_are_refused(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "mock-core"
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "mock_core"]
    result = subprocess.run(
        [
            *argv,
            "serve",
            "--workers",
            "2",
            "--port",
            str(free_port()),
            "--database-url",
            f"sqlite:///{tmp_path}/db.sqlite",
        ],
        cwd=REPO,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    message = result.stderr.lower()
    assert "sqlite" in message and "worker" in message, result.stderr
    assert "postgres" in message  # says what to do instead
