"""Shared pieces of the fault tests: a served mock, a tiny HTTP client, chain checks.

Everything here talks to the mock over real HTTP (or reads its store for the
row counts of the bad-input test). Servers bind 127.0.0.1 on free ports and
every server a test starts is stopped in a fixture's finalizer, whatever happens.
`bench/faults.py` imports these helpers too.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import rfc8785

from tests import commands, serving

REPO = Path(__file__).resolve().parents[2]
PLATFORM_KEY = "faults-platform-key"
SCOPED_KEY = "faults-scoped-key"  # scope FAULT_OTHER only
SCOPED_TENANT = "FAULT_OTHER"
API_KEYS = f"{PLATFORM_KEY}=*;{SCOPED_KEY}={SCOPED_TENANT}"
GENESIS = "0" * 64

# The reference scenario of the crash and lost-reply tests: the twin's steady-state, at
# one size for both (so that one reference run serves both).
SCENARIO = "steady-state"
TEST_SIZE: dict[str, int] = {"customers": 20, "days": 5, "seed": 11}


def child_env() -> dict[str, str]:
    """The environment of a server or twin subprocess: no stray MOCK_CORE_/TURINGCORE_ settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MOCK_CORE_", "TURINGCORE_"))}
    env["PYTHONUNBUFFERED"] = "1"
    return env


# ----------------------------------------------------------------- the server


class Servers(serving.Servers):
    """The fault tests' servers (tests/serving.py): their keys, and an environment
    without MOCK_CORE_/TURINGCORE_ settings."""

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir, api_keys=API_KEYS, env=child_env())


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    yield from serving.serving(Servers(tmp_path))


# ------------------------------------------------------------------ a client


class Http:
    """One keep-alive HTTP/1.1 connection (not thread-safe: one per thread)."""

    def __init__(self, base_url: str, key: str = PLATFORM_KEY, timeout: float = 30.0) -> None:
        host, _, port = base_url.removeprefix("http://").rstrip("/").partition(":")
        self.host, self.port, self.key, self.timeout = host, int(port or 80), key, timeout
        self.conn: http.client.HTTPConnection | None = None

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        hdrs = {"Authorization": f"Bearer {self.key}"}
        if body is not None:
            hdrs["Content-Type"] = "application/json"
        hdrs.update(headers or {})
        for fresh in (False, True):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            reused = self.conn.sock is not None
            try:
                self.conn.request(method, path, body=body, headers=hdrs)
                resp = self.conn.getresponse()
                data = resp.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # The server closed the kept-alive connection while it was idle (uvicorn
                # does after 5 s): send once more on a new one. Every caller sends reads
                # or keyed commands, so a resend is at worst a replay.
                self.close()
                if fresh or not reused:
                    raise
            except (OSError, http.client.HTTPException):
                self.close()
                raise
        if resp.will_close:
            self.close()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data

    def get(self, path: str, **params: Any) -> Any:
        query = "&".join(f"{k}={v}" for k, v in params.items() if v is not None)
        status, _, data = self.request("GET", f"/v1{path}" + (f"?{query}" if query else ""))
        if status != 200:
            raise AssertionError(f"GET {path}: {status} {data[:300]!r}")
        return json.loads(data)

    def command(
        self, tenant: str, command_type: str, payload: dict[str, Any], **fields: str | None
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        """POST the command; `fields` are make_envelope's (key, command_id)."""
        envelope = make_envelope(tenant, command_type, payload, **fields)
        status, headers, data = self.request(
            "POST", f"/v1/tenants/{tenant}/commands", json.dumps(envelope).encode()
        )
        return status, headers, json.loads(data)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def make_envelope(
    tenant: str,
    command_type: str,
    payload: dict[str, Any],
    *,
    key: str | None = None,
    command_id: str | None = None,
) -> dict[str, Any]:
    return commands.envelope(
        tenant, command_type, payload, actor_id="fault-tests", key=key, command_id=command_id
    )


def accept(reply: tuple[int, dict[str, str], dict[str, Any]]) -> dict[str, Any]:
    status, _, body = reply
    assert status == 202, f"{status} {body}"
    return body


def tenant_payload(tenant: str) -> dict[str, Any]:
    return commands.tenant_payload(tenant, display_name=f"Fault tests {tenant}")


def customer_payload(n: int, tag: str = "f") -> dict[str, Any]:
    return {
        "externalRef": f"{tag.upper()}-{n:06d}",
        "person": {
            "firstName": "Ada",
            "lastName": f"Fault{n}",
            "dateOfBirth": "1980-02-29",
            "email": f"ada.{tag}.{n}@example.com.au",
            "mobile": f"+6149{n:07d}",
        },
        "address": dict(commands.ADDRESS),
    }


def all_events(http_: Http, tenant: str) -> list[dict[str, Any]]:
    """The tenant's whole stream, page by page."""
    return commands.every_event(
        lambda after: http_.get(f"/tenants/{tenant}/events", after=after, limit=1000)
    )


def all_accounts(http_: Http, tenant: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while True:
        page = http_.get(
            f"/tenants/{tenant}/accounts", limit=1000, offset=len(out), accountType="ALL"
        )
        out.extend(page["accounts"])
        if not page["accounts"] or len(out) >= page["total"]:
            return out


def account_events(http_: Http, tenant: str, account_id: str) -> list[dict[str, Any]]:
    path = f"/tenants/{tenant}/accounts/{account_id}/events"
    return commands.every_event(lambda after: http_.get(path, after=after, limit=1000))


def minor(amount: float | int) -> int:
    """A JSON amount (at most 2 decimals) as integer cents, exactly."""
    return int(Decimal(repr(amount)) * 100)


# ----------------------------------------------------------------- the chain


def chain_problems(events: Sequence[dict[str, Any]], limit: int = 10) -> list[str]:
    """CONTRACT.md's recipe, recomputed here: sequences 1..N, prevHash links,
    hash = sha256(prevHash UTF-8 + RFC 8785 JCS of the envelope without `hash`)."""
    problems: list[str] = []
    prev = GENESIS
    for n, event in enumerate(events, start=1):
        if event.get("sequence") != n:
            problems.append(f"position {n}: sequence {event.get('sequence')}")
        if event.get("prevHash") != prev:
            problems.append(f"sequence {n}: prevHash does not link")
        unhashed = {k: v for k, v in event.items() if k != "hash"}
        digest = hashlib.sha256(prev.encode("utf-8") + rfc8785.dumps(unhashed)).hexdigest()
        if event.get("hash") != digest:
            problems.append(f"sequence {n}: hash does not recompute")
        prev = str(event.get("hash"))
        if len(problems) >= limit:
            break
    return problems


def by_causation(events: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        out.setdefault(event["causationId"], []).append(event)
    return out


# ------------------------------------------------------------- the twin's plan


def load_plan(customers: int, days: int, seed: int) -> Any:
    """The twin's steady-state plan at this size (the same one `twin run` sends)."""
    from twin.config import load_scenario_and_tenant
    from twin.generators import plan_scenario

    scenario, tenant = load_scenario_and_tenant(SCENARIO)
    return plan_scenario(tenant, scenario, seed=seed, customers=customers, days=days)


def twin_run(
    base_url: str,
    output: Path,
    *,
    customers: int,
    days: int,
    seed: int,
    no_inspect: bool = False,
    timeout_s: float = 600.0,
) -> tuple[int, dict[str, Any], str]:
    """`python -m twin run steady-state ...` as a subprocess: (exit code, summary, output)."""
    argv = [
        sys.executable,
        "-m",
        "twin",
        "run",
        SCENARIO,
        "--customers",
        str(customers),
        "--days",
        str(days),
        "--seed",
        str(seed),
        "--base-url",
        base_url,
        "--api-key",
        PLATFORM_KEY,
        "--output",
        str(output),
        "--quiet",
    ]
    if no_inspect:
        argv.append("--no-inspect")
    done = subprocess.run(
        argv,
        cwd=REPO,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    summary_path = output / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    return done.returncode, summary, done.stdout[-4000:] + done.stderr[-4000:]


def reference_digest(workdir: Path, customers: int, days: int, seed: int) -> str:
    """The state digest of an uninterrupted, fault-free twin run on a fresh store."""
    server = Servers(workdir).new(workdir / "reference.db")
    try:
        server.start()
        code, summary, out = twin_run(
            server.url, workdir / "reference-run", customers=customers, days=days, seed=seed
        )
    finally:
        server.stop()
    assert code == 0 and summary.get("ok"), f"the reference run failed ({code}):\n{out}"
    return str(summary["state_digest"])


@pytest.fixture(scope="session")
def uninterrupted_digest() -> Iterator[Callable[[int, int, int], str]]:
    """digest(customers, days, seed) of a fault-free run, computed once per size."""
    cache: dict[tuple[int, int, int], str] = {}
    lock = threading.Lock()
    with tempfile.TemporaryDirectory(prefix="faults-reference-") as tmp:

        def digest(customers: int, days: int, seed: int) -> str:
            with lock:
                size = (customers, days, seed)
                if size not in cache:
                    workdir = Path(tmp) / f"{customers}x{days}s{seed}"
                    workdir.mkdir()
                    cache[size] = reference_digest(workdir, customers, days, seed)
                return cache[size]

        yield digest


@pytest.fixture
def test_size_digest(uninterrupted_digest: Callable[[int, int, int], str]) -> str:
    """The state digest of a fault-free run at TEST_SIZE."""
    return uninterrupted_digest(TEST_SIZE["customers"], TEST_SIZE["days"], TEST_SIZE["seed"])
