"""The bench's tenant, set up over HTTP: the tenant, its product and members for the
wrk scripts (`setup_tenant`), or the ids of a store the twin has seeded (`collect_ids`),
handed to wrk as environment variables (`Setup.env`)."""

from __future__ import annotations

import http.client
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.load import BENCH_KEY, PRODUCT, TENANT, BenchError, command, tenant_payload


class Api:
    """A minimal keep-alive client for the set-up steps (http.client, no retries)."""

    def __init__(self, base_url: str, key: str = BENCH_KEY, tenant: str = TENANT) -> None:
        host, _, port = base_url.removeprefix("http://").partition(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=60)
        self.headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        self.tenant = tenant

    def close(self) -> None:
        self.conn.close()

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, Any]:
        self.conn.request(method, path, body, self.headers)
        reply = self.conn.getresponse()
        data = reply.read()
        return reply.status, json.loads(data) if data else None

    def get(self, path: str) -> Any:
        status, body = self.request("GET", path)
        if status != 200:
            raise BenchError(f"GET {path}: {status} {body}")
        return body

    def command(self, command_type: str, payload: dict[str, Any]) -> dict[str, Any]:
        envelope = command(command_type, payload, "bench-setup", self.tenant)
        path = f"/v1/tenants/{self.tenant}/commands"
        status, body = self.request("POST", path, json.dumps(envelope).encode())
        if status != 202:
            raise BenchError(f"{command_type}: {status} {body}")
        result: dict[str, Any] = body["result"]
        return result


@dataclass
class Setup:
    """What the set-up made, handed to the wrk scripts through BENCH_* variables."""

    tenant: str
    product: str
    customers: list[str]
    accounts: list[str]
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)


def member(name: str, mobile: str) -> dict[str, Any]:
    """A CreateCustomer payload; `name` makes the last name and email unique."""
    return {
        "person": {
            "firstName": "Bench",
            "lastName": name.replace(".", " "),
            "dateOfBirth": "1980-01-01",
            "email": f"{name}@example.com",
            "mobile": mobile,
        },
        "address": {
            "line1": "1 Bench St",
            "suburb": "Sydney",
            "state": "NSW",
            "postcode": "2000",
            "country": "AU",
        },
    }


def setup_tenant(base_url: str, workdir: Path, customers: int = 20) -> Setup:
    """A tenant, a deposit product, `customers` members with one funded account each."""
    api = Api(base_url)
    try:
        api.command("CreateTenant", tenant_payload())
        api.command(
            "UpsertProduct",
            {
                "productCode": PRODUCT,
                "name": "Bench transaction account",
                "productType": "DEPOSIT",
                "interest": {"rate": 0.0},
            },
        )
        customer_ids, account_ids = [], []
        for n in range(max(customers, 2)):
            customer = api.command("CreateCustomer", member(f"setup.{n}", f"+6149{n:08d}"))
            customer_ids.append(customer["customerId"])
            account = api.command(
                "OpenAccount",
                {
                    "customerId": customer["customerId"],
                    "productCode": PRODUCT,
                    "currency": "AUD",
                    # The two transfer accounts: deep enough never to hit a bound.
                    "initialDeposit": 1_000_000 if n < 2 else 100,
                },
            )
            account_ids.append(account["accountId"])
    finally:
        api.close()
    return make_setup(TENANT, PRODUCT, customer_ids, account_ids, workdir)


def make_setup(
    tenant: str,
    product: str,
    customers: list[str],
    accounts: list[str],
    workdir: Path,
    **totals: int,
) -> Setup:
    workdir.mkdir(parents=True, exist_ok=True)
    customers_file = workdir / "customers.txt"
    accounts_file = workdir / "accounts.txt"
    customers_file.write_text("\n".join(customers) + "\n")
    accounts_file.write_text("\n".join(accounts) + "\n")
    env = {
        "BENCH_TENANT": tenant,
        "BENCH_KEY": BENCH_KEY,
        "BENCH_PRODUCT": product,
        "BENCH_ACCOUNT_A": accounts[0],
        "BENCH_ACCOUNT_B": accounts[1],
        "BENCH_CUSTOMERS_FILE": str(customers_file),
        "BENCH_ACCOUNTS_FILE": str(accounts_file),
        "BENCH_REPLAY_ID": str(uuid.uuid4()),
        "BENCH_CUSTOMERS_TOTAL": str(totals.get("customers_total", len(customers))),
        "BENCH_ACCOUNTS_TOTAL": str(totals.get("accounts_total", len(accounts))),
        "BENCH_EVENTS_TOTAL": str(totals.get("events_total", 1)),
    }
    return Setup(tenant, product, customers, accounts, workdir, env)


def collect_ids(base_url: str, tenant: str, workdir: Path) -> Setup:
    """Ids and totals of an existing tenant (after a twin run), for the query scripts."""
    api = Api(base_url, tenant=tenant)
    try:
        customers: list[str] = []
        accounts: list[str] = []
        offset = 0
        while True:
            page = api.get(f"/v1/tenants/{tenant}/customers?limit=1000&offset={offset}")
            customers.extend(c["customerId"] for c in page["customers"])
            offset += len(page["customers"])
            if not page["customers"] or offset >= page["total"]:
                break
        offset = 0
        while True:
            page = api.get(
                f"/v1/tenants/{tenant}/accounts?accountType=CUSTOMER&limit=1000&offset={offset}"
            )
            accounts.extend(a["accountId"] for a in page["accounts"])
            offset += len(page["accounts"])
            if not page["accounts"] or offset >= page["total"]:
                break
        # The members' accounts: what GET accounts lists by default (list_accounts.lua
        # pages through them), GL accounts apart.
        accounts_total = api.get(f"/v1/tenants/{tenant}/accounts?accountType=CUSTOMER&limit=1")[
            "total"
        ]
        events_total = api.get(f"/_mock/tenants/{tenant}/verify")["events"]
        products = api.get(f"/v1/tenants/{tenant}/products")["products"]
    finally:
        api.close()
    return make_setup(
        tenant,
        str(products[0]["productCode"]) if products else PRODUCT,
        customers,
        accounts,
        workdir,
        customers_total=len(customers),
        accounts_total=int(accounts_total),
        events_total=int(events_total),
    )
