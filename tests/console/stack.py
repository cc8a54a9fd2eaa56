"""What the console's browser tests look at: a served mock with a small twin run in it,
and the console served in front of it.

    with console_stack(workdir) as stack:
        stack.console_url, stack.mock.url, stack.api (httpx, the platform key)

The mock is a `mock-core serve` process on a SQLite file of its own, with two keys:
the platform key and a key scoped to CU_DIGITAL only. The twin runs `steady-state`
into it (`TWIN_SIZE`), and a second tenant (`OTHER`) is created for the scoped key
to be refused on. The console (`console.app.create_app`, signed in through its own
login form) is served by uvicorn in a thread of the test. Everything stops at the end.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.commands import CREDIT_UNION, envelope, tenant_payload
from tests.contract.asgi_threads import serve_in_thread
from tests.serving import MockServer
from twin.cli import main as twin_main

TENANT = "CU_DIGITAL"
OTHER = "CU_ELSEWHERE"
PLATFORM_KEY = "console-test-platform-key"
SCOPED_KEY = "console-test-cu-digital-key"
API_KEYS = f"{PLATFORM_KEY}=*;{SCOPED_KEY}={TENANT}"
TWIN_SIZE = ("--customers", "30", "--days", "3", "--seed", "42")
REQUEST_TIMEOUT_S = 10.0


@dataclass
class Stack:
    """A served mock with data in it and the console in front of it."""

    mock: MockServer
    console_url: str
    api: httpx.Client  # the mock's /v1 with the platform key
    corrupted: int | None = None  # the sequence of the event changed in the store

    def last_sequence(self, tenant: str = TENANT) -> int:
        """The tenant's chain head, read through the API."""
        return int(self.get(f"/tenants/{tenant}")["lastSequence"])

    def get(self, path: str, **params: Any) -> Any:
        reply = self.api.get(path, params=params)
        reply.raise_for_status()
        return reply.json()

    def send(self, tenant: str, command_type: str, payload: Any) -> httpx.Response:
        """Send a command with the platform key; the reply, whatever it is."""
        body = envelope(tenant, command_type, payload, actor_id="console-tests")
        return self.api.post(f"/tenants/{tenant}/commands", json=body)

    def command(self, tenant: str, command_type: str, payload: Any) -> Any:
        """Send a command with the platform key; its reply's body (2xx, or fail)."""
        reply = self.send(tenant, command_type, payload)
        assert reply.status_code < 300, reply.text
        return reply.json()

    def events_after(self, sequence: int, tenant: str = TENANT) -> list[dict[str, Any]]:
        """The tenant's events after `sequence` (one page: the tests add a few)."""
        events: list[dict[str, Any]] = self.get(
            f"/tenants/{tenant}/events", after=sequence, limit=1000
        )["events"]
        return events


def run_twin(base_url: str, output: Path, size: Sequence[str] = TWIN_SIZE) -> None:
    """`twin run steady-state` of `size` into the service at `base_url`; it must pass."""
    argv = ["run", "steady-state", *size, "--quiet", "--output", str(output)]
    code = twin_main([*argv, "--base-url", base_url, "--api-key", PLATFORM_KEY])
    assert code == 0, f"the twin run failed ({code}): see {output / 'summary.json'}"


def corrupt_event(db: Path, after: int, tenant: str = TENANT) -> int:
    """Change the currency in the payload of the first event after `after` that has one,
    leaving its hash as it was (the mock must be stopped): the chain breaks there.
    Returns that event's sequence."""
    with sqlite3.connect(db) as conn:
        sequence, text = conn.execute(
            "SELECT sequence, envelope FROM events WHERE tenant_id = ? AND sequence > ? "
            'AND envelope LIKE \'%"currency":"AUD"%\' ORDER BY sequence LIMIT 1',
            (tenant, after),
        ).fetchone()
        changed = text.replace('"currency":"AUD"', '"currency":"NZD"', 1)
        conn.execute(
            "UPDATE events SET envelope = ? WHERE tenant_id = ? AND sequence = ?",
            (changed, tenant, sequence),
        )
    return int(sequence)


@contextmanager
def served_console(base_url: str) -> Iterator[str]:
    """The console in front of `base_url`, with no key of its own (sign in to use it)."""
    from console.app import create_app

    with serve_in_thread(create_app(base_url, None)) as url:
        yield url


@contextmanager
def console_stack(
    workdir: Path, *, size: Sequence[str] = TWIN_SIZE, corrupt_after: int | None = None
) -> Iterator[Stack]:
    """A mock on `workdir`/store.db with a twin run of `size` and the tenant `OTHER` in
    it (with an event after `corrupt_after` changed, when given: `Stack.corrupted`), and
    the console before it."""
    mock = MockServer(workdir / "store.db", workdir / "mock.log", api_keys=API_KEYS)
    api = httpx.Client(
        base_url=f"{mock.url}/v1",
        headers={"Authorization": f"Bearer {PLATFORM_KEY}"},
        timeout=REQUEST_TIMEOUT_S,
    )
    try:
        mock.start()
        stack = Stack(mock, "", api)
        run_twin(mock.url, workdir / "twin", size)
        other = {**tenant_payload(OTHER, display_name="Elsewhere"), **CREDIT_UNION}
        stack.command(OTHER, "CreateTenant", other)
        if corrupt_after is not None:
            mock.stop()
            stack.corrupted = corrupt_event(workdir / "store.db", corrupt_after)
            mock.start()
        with served_console(mock.url) as console_url:
            stack.console_url = console_url
            yield stack
    finally:
        api.close()
        mock.stop()
