"""Fixtures for the mock's own tests: an app on a fresh SQLite file, and a tiny API driver."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mock_core import cli
from mock_core.api.app import create_app
from mock_core.settings import Settings
from tests.commands import ADDRESS, entry_payload, envelope, tenant_payload

PLATFORM_KEY = "dev-platform-key"
CU_KEY = "cu-digital-key"  # scope CU_DIGITAL
OTHER_KEY = "other-cu-key"  # scope OTHER_CU
KEYS = f"{PLATFORM_KEY}=*;{CU_KEY}=CU_DIGITAL;{OTHER_KEY}=OTHER_CU"
TENANT = "CU_DIGITAL"


class Api:
    """Sends commands and queries to the app with sensible defaults."""

    def __init__(self, client: TestClient, key: str = PLATFORM_KEY) -> None:
        self.client = client
        self.key = key

    def headers(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.key}"}

    def send(
        self,
        tenant: str,
        command_type: str,
        payload: dict[str, Any],
        *,
        key: str | None = None,
        **extra: Any,
    ) -> Any:
        return self.client.post(
            f"/v1/tenants/{tenant}/commands",
            json=envelope(tenant, command_type, payload, **extra),
            headers=self.headers(key),
        )

    def get(self, path: str, key: str | None = None, **params: Any) -> Any:
        return self.client.get(f"/v1{path}", headers=self.headers(key), params=params)

    # The contract's example sequence, as building blocks.
    def create_tenant(self, tenant: str = TENANT, currency: str = "AUD") -> Any:
        return self.send(tenant, "CreateTenant", tenant_payload(tenant, currency))

    def upsert_product(self, tenant: str = TENANT, **overrides: Any) -> Any:
        return self.send(tenant, "UpsertProduct", {**TXN_BASIC, **overrides})

    def create_customer(self, tenant: str = TENANT, n: int = 1, **overrides: Any) -> Any:
        return self.send(tenant, "CreateCustomer", {**customer_payload(n), **overrides})

    def open_account(
        self,
        customer_id: str,
        product: str = "TXN_ACCOUNT_BASIC",
        tenant: str = TENANT,
        **extra: Any,
    ) -> Any:
        payload = {"customerId": customer_id, "productCode": product, "currency": "AUD", **extra}
        return self.send(tenant, "OpenAccount", payload)

    def post_entry(
        self, legs: list[tuple[str, str, float]], tenant: str = TENANT, **extra: Any
    ) -> Any:
        return self.send(tenant, "PostEntry", entry_payload(legs, **extra))

    def open_ledger(self, tenant: str = TENANT, *, all_accounts: bool = True) -> dict[str, str]:
        """A tenant with the three products, one customer and a transaction account (100
        deposited), and unless `all_accounts` is false a savings and a card account (limit
        5000): their ids by name (customer, txn, savings, card)."""
        assert self.create_tenant(tenant).status_code == 202
        for product in (TXN_BASIC, SAVINGS, CARD):
            assert self.send(tenant, "UpsertProduct", product).status_code == 202
        customer = self.create_customer(tenant).json()["result"]["customerId"]

        def opened(product: str, **extra: Any) -> str:
            reply = self.open_account(customer, product, tenant=tenant, **extra)
            return reply.json()["result"]["accountId"]  # type: ignore[no-any-return]

        ids = {"customer": customer, "txn": opened("TXN_ACCOUNT_BASIC", initialDeposit=100)}
        if all_accounts:
            ids["savings"] = opened("SAVINGS_STANDARD")
            ids["card"] = opened("CC_LOW_RATE", facilityLimit=5000)
        return ids

    def balance(self, account_id: str, tenant: str = TENANT) -> float:
        return self.get(f"/tenants/{tenant}/accounts/{account_id}").json()["balance"]  # type: ignore[no-any-return]

    def last_sequence(self, tenant: str = TENANT) -> int:
        return self.get(f"/tenants/{tenant}").json()["lastSequence"]  # type: ignore[no-any-return]


TXN_BASIC: dict[str, Any] = {
    "productCode": "TXN_ACCOUNT_BASIC",
    "name": "Everyday Transaction Account",
    "productType": "DEPOSIT",
    "category": "TRANSACTION",
    "interest": {"rate": 0.0},
    "constraints": {"minBalance": 0, "allowOverdraft": False, "overdraftLimit": 0},
}
SAVINGS: dict[str, Any] = {
    "productCode": "SAVINGS_STANDARD",
    "name": "Online Saver",
    "productType": "DEPOSIT",
    "category": "SAVINGS",
    "interest": {"baseRate": 0.015, "bonusRate": 0.03},
    "constraints": {"minBalance": 0, "maxBalance": 250000},
}
CARD: dict[str, Any] = {
    "productCode": "CC_LOW_RATE",
    "name": "Low Rate Credit Card",
    "productType": "CREDIT_CARD",
    "interest": {"purchaseRate": 0.1299},
    "constraints": {"minAmount": 1000, "maxAmount": 25000},
}


def customer_payload(n: int = 1) -> dict[str, Any]:
    return {
        "externalRef": f"MEM-{n:06d}",
        "person": {
            "firstName": "Olivia",
            "lastName": "Nguyen",
            "dateOfBirth": "1990-04-12",
            "email": f"olivia.nguyen.{n}@example.com.au",
            "mobile": f"+614{n:08d}",
        },
        "address": dict(ADDRESS),
    }


@pytest.fixture
def settings(database_url: str) -> Settings:
    """The mock's settings, on each backend in turn (see tests/conftest.py)."""
    return Settings(database_url=database_url, api_keys=KEYS, access_log=False)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def api(client: TestClient) -> Api:
    return Api(client)


@pytest.fixture
def ledger(api: Api) -> dict[str, str]:
    """A tenant with three products, one customer, and a transaction, savings and card account."""
    return api.open_ledger()


Rebuild = Callable[..., tuple[int, list[str], str]]


@pytest.fixture
def rebuild(settings: Settings, capsys: pytest.CaptureFixture[str]) -> Rebuild:
    """`mock-core rebuild *args` on this test's store: (exit code, its output's lines, its
    error output)."""

    def run(*args: str) -> tuple[int, list[str], str]:
        code = cli.main(["rebuild", "--database-url", settings.database_url, *args])
        out, err = capsys.readouterr()
        return code, out.splitlines(), err

    return run
