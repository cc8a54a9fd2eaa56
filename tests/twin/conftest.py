"""Fixtures for the twin's tests: a tiny hand-made plan, the mock in-process behind a
synchronous transport, and the mock as a real server.

This conftest is the one place on the twin's side that imports `mock_core`
(tests/test_architecture.py allows it and nothing else).
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

PLATFORM_KEY = "dev-platform-key"
ISOLATION_KEY = "twin-isolation-key"
PROBE_TENANT = "ISOLATION_PROBE_TWIN"
API_KEYS = f"{PLATFORM_KEY}=*;{ISOLATION_KEY}={PROBE_TENANT}"


# ------------------------------------------------------------------ a fake plan


@dataclass(frozen=True, slots=True)
class FakeCommand:
    """Shaped like twin.generators.PlannedCommand."""

    phase: str
    day: int | None
    lane: str
    command_type: str
    idempotency_key: str
    command_id: str
    timestamp: str
    payload: dict[str, Any]
    produces: str | None
    expect_invariant: str | None
    kind: str


@dataclass(frozen=True)
class FakePlan:
    """Shaped like twin.generators.ScenarioPlan."""

    scenario_code: str
    tenant_code: str
    seed: int
    customers: int
    days: int
    bootstrap: list[FakeCommand]
    seed_phase: list[FakeCommand]
    simulate: list[list[FakeCommand]] = field(default_factory=list)

    def all_commands(self) -> Iterator[FakeCommand]:
        yield from self.bootstrap
        yield from self.seed_phase
        for day in self.simulate:
            yield from day

    def stream_digest(self) -> str:
        return "fake"


def make_plan(
    tenant: str = "T_FAKE", customers: int = 4, days: int = 2, *, invalid: bool = True
) -> FakePlan:
    """A small valid plan: a tenant, one product, customers with an account, salary and
    card spend each day, and (when `invalid`) one deliberately unbalanced entry."""

    def cmd(
        phase: str,
        day: int | None,
        lane: str,
        ctype: str,
        key: str,
        payload: dict[str, Any],
        *,
        produces: str | None = None,
        expect: str | None = None,
        kind: str = "",
    ) -> FakeCommand:
        full = f"fake:{tenant}:{key}"
        return FakeCommand(
            phase=phase,
            day=day,
            lane=lane,
            command_type=ctype,
            idempotency_key=full,
            command_id=str(uuid.uuid5(uuid.NAMESPACE_URL, full)),
            timestamp=f"2025-01-{(day or 0) + 1:02d}T09:00:00+11:00",
            payload=payload,
            produces=produces,
            expect_invariant=expect,
            kind=kind or ctype,
        )

    bootstrap = [
        cmd(
            "bootstrap",
            None,
            "tenant",
            "CreateTenant",
            "tenant",
            {
                "tenantCode": tenant,
                "displayName": "Fake CU",
                "region": "AU",
                "baseCurrency": "AUD",
                "timeZone": "Australia/Sydney",
            },
            produces=f"tenant:{tenant}",
        ),
        cmd(
            "bootstrap",
            None,
            "tenant",
            "UpsertProduct",
            "product:TXN",
            {
                "productCode": "TXN",
                "name": "Everyday",
                "productType": "DEPOSIT",
                "interest": {"rate": 0.0},
                "constraints": {"minBalance": 0, "allowOverdraft": False, "overdraftLimit": 0},
            },
            produces="product:TXN",
        ),
    ]
    seed: list[FakeCommand] = []
    for i in range(customers):
        local = f"C{i:06d}"
        seed.append(
            cmd(
                "seed",
                None,
                local,
                "CreateCustomer",
                f"customer:{local}",
                {
                    "externalRef": f"{tenant}-{local}",
                    "person": {
                        "firstName": "Ann",
                        "lastName": f"Lee{i}",
                        "dateOfBirth": "1990-05-01",
                        "email": f"ann{i}@{tenant.lower()}.example.com",
                        "mobile": f"+6140{i:07d}",
                    },
                    "address": {
                        "line1": "1 George St",
                        "suburb": "Sydney",
                        "state": "NSW",
                        "postcode": "2000",
                        "country": "AU",
                    },
                },
                produces=f"customer:{local}",
            )
        )
        seed.append(
            cmd(
                "seed",
                None,
                local,
                "OpenAccount",
                f"account:{local}:TXN",
                {
                    "customerId": {"$ref": f"customer:{local}"},
                    "productCode": "TXN",
                    "currency": "AUD",
                    "initialDeposit": 100 + i,
                },
                produces=f"account:{local}:TXN",
            )
        )
    simulate: list[list[FakeCommand]] = []
    for day in range(1, days + 1):
        commands: list[FakeCommand] = []
        date = f"2025-01-{day + 1:02d}"
        for i in range(customers):
            local = f"C{i:06d}"
            account = {"$ref": f"account:{local}:TXN"}
            for kind, gl, member_dir, amt, tags in (
                (
                    "salary",
                    "GL_SALARY_CLEARING",
                    "DEBIT",
                    1000.5,
                    {"category": "INCOME", "source": "PAYROLL_SIM"},
                ),
                (
                    "card_spend",
                    "GL_CARD_CLEARING",
                    "CREDIT",
                    12.25 + i,
                    {"category": "GROCERIES", "channel": "POS", "merchantMcc": "5411"},
                ),
            ):
                gl_dir = "CREDIT" if member_dir == "DEBIT" else "DEBIT"
                commands.append(
                    cmd(
                        "simulate",
                        day,
                        local,
                        "PostEntry",
                        f"{kind}:{local}:{day}",
                        {
                            "bookingDate": date,
                            "valueDate": date,
                            "currency": "AUD",
                            "legs": [
                                {"accountId": account, "direction": member_dir, "amount": amt},
                                {"accountId": gl, "direction": gl_dir, "amount": amt},
                            ],
                            "narrative": kind,
                            "tags": tags,
                        },
                        kind=kind,
                    )
                )
        if invalid and day == 1:
            local = "C000000"
            commands.append(
                cmd(
                    "simulate",
                    day,
                    local,
                    "PostEntry",
                    f"invalid:{local}:{day}",
                    {
                        "bookingDate": date,
                        "valueDate": date,
                        "currency": "AUD",
                        "legs": [
                            {
                                "accountId": {"$ref": f"account:{local}:TXN"},
                                "direction": "DEBIT",
                                "amount": 10,
                            },
                            {"accountId": "GL_SUSPENSE", "direction": "CREDIT", "amount": 9},
                        ],
                        "narrative": "deliberately unbalanced",
                    },
                    expect="LEGS_MUST_BALANCE",
                    kind="invalid_unbalanced",
                )
            )
        simulate.append(commands)
    return FakePlan("FAKE", tenant, 42, customers, days, bootstrap, seed, simulate)


# ------------------------------------------------- the mock in-process, synchronously


class SyncASGITransport(httpx.BaseTransport):
    """Serve a sync httpx.Client from an ASGI app: the app runs on an event loop in a
    background thread (httpx's ASGITransport is async-only)."""

    def __init__(self, app: Any) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        content = await response.aread()
        return httpx.Response(response.status_code, headers=response.headers, content=content)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        future = asyncio.run_coroutine_threadsafe(self._handle(request), self._loop)
        return future.result(timeout=30)

    def close(self) -> None:
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)


def mock_app(tmp_path: Path, api_keys: str = API_KEYS) -> Any:
    from mock_core.api.app import create_app
    from mock_core.settings import Settings

    return create_app(
        Settings(
            database_url=f"sqlite:///{tmp_path}/db.sqlite", api_keys=api_keys, access_log=False
        )
    )
