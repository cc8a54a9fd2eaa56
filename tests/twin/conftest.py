"""Fixtures for the twin's tests: a tiny hand-made plan, the mock in-process behind a
synchronous transport, and the mock as a real server.

This conftest is the one place on the twin's side that imports `mock_core`
(tests/test_architecture.py allows it and nothing else).
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.commands import ADDRESS, entry_payload, tenant_payload
from twin.generators.plan import PlannedCommand, ScenarioPlan

PLATFORM_KEY = "dev-platform-key"
ISOLATION_KEY = "twin-isolation-key"
PROBE_TENANT = "ISOLATION_PROBE_TWIN"
API_KEYS = f"{PLATFORM_KEY}=*;{ISOLATION_KEY}={PROBE_TENANT}"


# ------------------------------------------------------------------ a fake plan
# The twin's own plan types (twin.generators.plan), filled by hand.


def make_plan(
    tenant: str = "T_FAKE", customers: int = 4, days: int = 2, *, invalid: bool = True
) -> ScenarioPlan:
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
    ) -> PlannedCommand:
        full = f"fake:{tenant}:{key}"
        return PlannedCommand(
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
            tenant_payload(tenant, display_name="Fake CU"),
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
    seed: list[PlannedCommand] = []
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
                    "address": dict(ADDRESS),
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

    def entry(day: int, local: str, key: str, payload: dict[str, Any], **options: Any) -> Any:
        return cmd("simulate", day, local, "PostEntry", f"{key}:{local}:{day}", payload, **options)

    simulate: list[list[PlannedCommand]] = []
    for day in range(1, days + 1):
        commands: list[PlannedCommand] = []
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
                legs = [(account, member_dir, amt), (gl, gl_dir, amt)]
                payload = entry_payload(legs, kind, date, tags=tags)
                commands.append(entry(day, local, kind, payload, kind=kind))
        if invalid and day == 1:
            local = "C000000"
            legs = [({"$ref": f"account:{local}:TXN"}, "DEBIT", 10), ("GL_SUSPENSE", "CREDIT", 9)]
            payload = entry_payload(legs, "deliberately unbalanced", date)
            commands.append(
                entry(
                    day,
                    local,
                    "invalid",
                    payload,
                    expect="LEGS_MUST_BALANCE",
                    kind="invalid_unbalanced",
                )
            )
        simulate.append(commands)
    return ScenarioPlan("FAKE", tenant, 42, customers, days, bootstrap, seed, simulate)


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
