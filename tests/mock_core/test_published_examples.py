"""TuringCore's published request examples, sent verbatim over real HTTP to a served mock.

`../shared/reference/published-examples.json` (copied beside this suite as
`tests/data/published-examples.json` so that a checkout without `shared/` still
runs it) holds every request payload example of the published contract. Each is
sent in file order, unchanged except for its placeholders (`cust_123456`,
`ACC_123_TXN`, `ACC_123_SAVINGS`), which become the ids the service made, read
from the top of each reply as the published client reads them
(`reply["customerId"]`). The published examples open only the transaction
account; the transfer needs `ACC_123_SAVINGS`, so the savings account is opened
from the same OpenAccount example with the savings product and no deposit.

The server is `python -m mock_core serve` on a free port, once on SQLite and
once on PostgreSQL, stopped when the test ends.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.commands import envelope
from tests.conftest import create_database, drop_database, require_postgres
from tests.mock_core.conftest import KEYS, PLATFORM_KEY
from tests.serving import served_mock

EXAMPLES_PATH = Path(__file__).resolve().parents[1] / "data" / "published-examples.json"
TENANT = "CU_DIGITAL"


def published_examples() -> list[dict[str, Any]]:
    return json.loads(EXAMPLES_PATH.read_text())


@pytest.fixture(params=["sqlite", "postgres"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A served mock: its base URL, on a fresh SQLite file or a fresh PostgreSQL database."""
    database = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/published.db"
    else:
        require_postgres()
        database, url = create_database("mock_core_published")
    try:
        with served_mock(["--database-url", url, "--api-keys", KEYS, "--no-access-log"]) as base:
            yield base
    finally:
        if database is not None:
            drop_database(database)


def send(client: httpx.Client, kind: str, payload: dict[str, Any]) -> httpx.Response:
    body = envelope(
        TENANT,
        kind,
        payload,
        actor_id="published-client",
        actor_type="USER",
        timestamp="2025-01-01T00:00:00Z",
    )
    return client.post(f"/v1/tenants/{TENANT}/commands", json=body)


def replace_placeholders(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return ids.get(value, value)
    if isinstance(value, list):
        return [replace_placeholders(item, ids) for item in value]
    if isinstance(value, dict):
        return {key: replace_placeholders(item, ids) for key, item in value.items()}
    return value


def test_every_published_example_is_accepted_verbatim(served: str) -> None:
    examples = published_examples()
    assert len(examples) == 10
    headers = {"Authorization": f"Bearer {PLATFORM_KEY}"}
    ids: dict[str, str] = {}
    with httpx.Client(base_url=served, headers=headers, timeout=30) as client:
        for example in examples:
            kind, payload = example["commandType"], example["payload"]
            reply = send(client, kind, replace_placeholders(payload, ids))
            assert reply.status_code == 202, (example["example"], reply.text)
            body = reply.json()
            assert body["status"] == "ACCEPTED"
            if kind == "CreateCustomer":
                ids["cust_123456"] = body["customerId"]  # the published client's reading
            if kind == "OpenAccount":
                ids["ACC_123_TXN"] = body["accountId"]
                savings = {
                    **replace_placeholders(payload, ids),
                    "productCode": "SAVINGS_STANDARD",
                    "accountAlias": "Online Saver",
                    "accountPurpose": "SAVINGS",
                }
                del savings["initialDeposit"]
                opened = send(client, "OpenAccount", savings)
                assert opened.status_code == 202, opened.text
                ids["ACC_123_SAVINGS"] = opened.json()["accountId"]

        txn = client.get(f"/v1/tenants/{TENANT}/accounts/{ids['ACC_123_TXN']}").json()
        savings_account = client.get(f"/v1/tenants/{TENANT}/accounts/{ids['ACC_123_SAVINGS']}")
        assert txn["balance"] == 3754.40  # 1000.00 + 3000.00 - 45.60 - 200.00
        assert savings_account.json()["balance"] == 200.00

        events = client.get(f"/v1/tenants/{TENANT}/accounts/{ids['ACC_123_TXN']}/events").json()
        entries = [e["payload"] for e in events["events"] if e["eventType"] == "EntryPosted"]
        salary = examples[7]["payload"]
        assert entries[0]["tags"] == salary["tags"]
        assert entries[0]["metadata"] == salary["metadata"]
        assert [e["tags"] for e in entries] == [x["payload"]["tags"] for x in examples[7:]]

        # The published acceptance flow reads `accounts?limit=1` as a member's account.
        first = client.get(f"/v1/tenants/{TENANT}/accounts", params={"limit": 1}).json()
        assert first["total"] == 2
        assert first["accounts"][0]["accountId"] == ids["ACC_123_TXN"]
        # The customer summary, as published.
        customers = client.get(f"/v1/tenants/{TENANT}/customers").json()
        summary = customers["customers"][0]
        assert {k: summary[k] for k in ("fullName", "segment", "kycStatus", "externalRef")} == {
            "fullName": "Jane Smith",
            "segment": "RETAIL",
            "kycStatus": "SIMULATED_PASSED",
            "externalRef": "CUST-000123",
        }
        # The loan product's facility limit defaults to its maxAmount (no limit field).
        loan_open = {
            "customerId": ids["cust_123456"],
            "productCode": "PL_CLASSIC",
            "currency": "AUD",
            "accountAlias": "Personal Loan",
        }
        loan = send(client, "OpenAccount", loan_open)
        assert loan.status_code == 202, loan.text
        facility = client.get(f"/v1/tenants/{TENANT}/accounts/{loan.json()['accountId']}/events")
        kinds = [e["eventType"] for e in facility.json()["events"]]
        assert kinds == ["AccountOpened", "LoanFacilityCreated"]
        assert facility.json()["events"][1]["payload"]["facilityLimit"] == 50000


def test_a_typo_in_a_published_field_is_a_400_that_names_it(served: str) -> None:
    examples = published_examples()
    headers = {"Authorization": f"Bearer {PLATFORM_KEY}"}
    with httpx.Client(base_url=served, headers=headers, timeout=30) as client:
        assert send(client, "CreateTenant", examples[0]["payload"]).status_code == 202
        before = client.get(f"/v1/tenants/{TENANT}/events").json()["events"]
        product = copy.deepcopy(examples[1]["payload"])
        product["constraints"]["minBalanse"] = product["constraints"].pop("minBalance")
        reply = send(client, "UpsertProduct", product)
        assert reply.status_code == 400, reply.text
        assert "minBalanse" in json.dumps(reply.json()["details"])
        after = client.get(f"/v1/tenants/{TENANT}/events").json()["events"]
        assert after == before
        assert client.get(f"/v1/tenants/{TENANT}/products").json()["products"] == []
