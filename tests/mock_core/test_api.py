"""The mock's public API through the ASGI app: every endpoint and every status it can return.

One app per module and backend (SQLite, and PostgreSQL when it answers; building an
app costs about half a second); read-only tests share the contract's example
sequence on CU_DIGITAL and a second tenant OTHER_CU, and tests that write work on a
tenant of their own (`fresh`). Expectations come from docs/contract.md and
../shared/CONTRACT.md, not from the mock's code.
"""

from __future__ import annotations

import atexit
import copy
import hashlib
import itertools
import json
import os
import re
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from mock_core.api.app import create_app
from mock_core.settings import Settings
from mock_core.store.hashchain import verify_chain
from mock_core.store.schema import TENANT_TABLES
from tests.commands import CREDIT_UNION, Leg, entry_payload, envelope
from tests.conftest import create_database, drop_database, require_postgres
from tests.contract.published_only import CUSTOMER_FIELDS
from tests.mock_core.conftest import (
    CARD,
    CU_KEY,
    KEYS,
    OTHER_KEY,
    PLATFORM_KEY,
    SAVINGS,
    TENANT,
    TXN_BASIC,
    Api,
    customer_payload,
    tenant_payload,
)
from tests.mock_core.core_helpers import GL_CHART  # the published spec's chart, in its order

OTHER = "OTHER_CU"
GENESIS = "0" * 64
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
INSTANT_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
REPLY_KEYS = {"commandId", "status", "correlationId", "acceptedAt", "result", "eventIds"}
ENVELOPE_KEYS = {
    "eventId",
    "eventType",
    "tenantId",
    "entityId",
    "sequence",
    "payload",
    "occurredAt",
    "causationId",
    "correlationId",
    "prevHash",
    "hash",
}
TENANT_KEYS = {
    "tenantId",
    "tenantCode",
    "displayName",
    "region",
    "baseCurrency",
    "timeZone",
    "regulatoryJurisdiction",
    "businessType",
    "status",
    "createdAt",
    "lastSequence",
    "lastHash",
}
CUSTOMER_SUMMARY_KEYS = {
    *CUSTOMER_FIELDS,  # published
    # extensions
    "tenantId",
    "firstName",
    "lastName",
    "mobile",
    "status",
}
ACCOUNT_KEYS = {
    "accountId",
    "tenantId",
    "accountType",
    "customerId",
    "productCode",
    "productType",
    "currency",
    "balance",
    "facilityLimit",
    "accountAlias",
    "accountPurpose",
    "status",
    "openedAt",
    "lastSequence",
}


# --------------------------------------------------------------------------- helpers


def headers(key: str | None = PLATFORM_KEY, **extra: str) -> dict[str, str]:
    out = {"Authorization": f"Bearer {key}"} if key else {}
    out.update(extra)
    return out


def post(http: Any, tenant: str, body: Any, key: str | None = PLATFORM_KEY, **hdrs: str) -> Any:
    return http.post(f"/v1/tenants/{tenant}/commands", json=body, headers=headers(key, **hdrs))


def assert_error(resp: Any, status: int, code: str) -> dict[str, Any]:
    """The documented `Error` body: {error, message, details}."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert set(body) == {"error", "message", "details"}, body
    assert body["error"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["details"], dict)
    return body  # type: ignore[no-any-return]


def assert_violation(resp: Any, invariant: str, command_id: str) -> dict[str, Any]:
    """The documented `InvariantViolation` body."""
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert set(body) == {"commandId", "error", "invariant", "message", "details"}, body
    assert body["error"] == "INVARIANT_VIOLATION"
    assert body["invariant"] == invariant, body
    assert body["commandId"] == command_id
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["details"], dict)
    return body  # type: ignore[no-any-return]


def assert_accepted(resp: Any, command: dict[str, Any], result_keys: set[str]) -> dict[str, Any]:
    assert resp.status_code == 202, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    assert "idempotent-replayed" not in resp.headers
    body = resp.json()
    # The new entity's ids at the top level (as published), and again in `result`.
    assert set(body) == REPLY_KEYS | result_keys, body
    assert body["commandId"] == command["commandId"]
    assert body["status"] == "ACCEPTED"
    assert INSTANT_RE.match(body["acceptedAt"]), body["acceptedAt"]
    assert set(body["result"]) == result_keys, body["result"]
    assert {k: body[k] for k in result_keys} == body["result"]
    assert body["result"]["tenantId"] == command["tenantId"]
    assert body["eventIds"] and all(UUID_RE.match(e) for e in body["eventIds"])
    assert len(set(body["eventIds"])) == len(body["eventIds"])
    return body  # type: ignore[no-any-return]


BACKENDS = ["sqlite", "postgres"]
# A minimal contract file for apps whose tests do not look at the served spec: parsing
# the real one (100 kB of YAML) is most of the half second an app takes to build.
# test_ops checks the real file is served.
SMALL_SPEC = "openapi: 3.1.0\ninfo: {title: small, version: '0'}\npaths: {}\n"


# Tests of the HTTP layer alone (auth, media types, parameter validation): the store
# plays no part in them, so they run on SQLite only.
SQLITE_ONLY = pytest.mark.parametrize("mod_client", ["sqlite"], indirect=True)


def small_spec_path() -> Path:
    path = Path(tempfile.gettempdir()) / f"mock-core-small-spec-{os.getpid()}.yaml"
    if not path.exists():
        path.write_text(SMALL_SPEC)
        atexit.register(path.unlink, True)  # missing_ok
    return path


def quick_app(settings: Settings) -> Any:
    """create_app(settings), serving SMALL_SPEC instead of the contract file."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MOCK_CORE_SPEC_PATH", str(small_spec_path()))
        return create_app(settings)


@contextmanager
def backend_url(kind: str, tmp: Path) -> Iterator[str]:
    """A store of its own: a SQLite file, or a PostgreSQL database dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp}/mock.db"
        return
    require_postgres()  # skips (or fails with REQUIRE_POSTGRES=1) when it does not answer
    name, url = create_database("mock_core_api_test")
    try:
        yield url
    finally:
        drop_database(name)


@contextmanager
def owner_connection(client: TestClient) -> Iterator[Any]:
    """A transaction on the app's own engine that sees every tenant's rows.

    On PostgreSQL the app's role is bound by row-level security, so the transaction
    switches back to the connecting (owner) role first.
    """
    engine = client.app.state.store.engine  # type: ignore[attr-defined]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL ROLE NONE"))
        yield conn


def table_counts(client: TestClient) -> dict[str, int]:
    """Rows per table, read straight from the app's store."""
    with owner_connection(client) as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in TENANT_TABLES
        }


def all_events(http: Any, tenant: str, key: str = PLATFORM_KEY, **params: Any) -> list[Any]:
    """The tenant's whole stream, page by page (1000 a page)."""
    out: list[Any] = []
    after = 0
    while True:
        page = http.get(
            f"/v1/tenants/{tenant}/events",
            params={"after": after, "limit": 1000, **params},
            headers=headers(key),
        )
        assert page.status_code == 200, page.text
        body = page.json()
        out.extend(body["events"])
        if body["nextCursor"] is None:
            return out
        after = body["nextCursor"]


def all_accounts(http: Any, tenant: str, key: str = PLATFORM_KEY) -> list[dict[str, Any]]:
    """Every account of the tenant, GL accounts included (accountType=ALL)."""
    page = http.get(
        f"/v1/tenants/{tenant}/accounts",
        params={"limit": 1000, "accountType": "ALL"},
        headers=headers(key),
    ).json()
    assert page["total"] == len(page["accounts"])
    return page["accounts"]  # type: ignore[no-any-return]


def recompute_chain(events: list[dict[str, Any]]) -> None:
    """CONTRACT.md's recipe, written out: sha256(prevHash + JCS(envelope without hash))."""
    prev = GENESIS
    for n, event in enumerate(events, start=1):
        assert event["sequence"] == n, f"gap or disorder at {n}"
        assert event["prevHash"] == prev, f"sequence {n} does not link"
        unhashed = {k: v for k, v in event.items() if k != "hash"}
        digest = hashlib.sha256(prev.encode("utf-8") + rfc8785.dumps(unhashed)).hexdigest()
        assert event["hash"] == digest, f"sequence {n}: hash does not recompute"
        prev = digest


def minor(amount: float | int) -> int:
    """A balance as integer cents (exact for the 2-digit amounts the API writes)."""
    return int(Decimal(repr(amount)) * 100)


# ------------------------------------------------------------------ example sequence


@dataclass
class Example:
    """The contract's example sequence as sent, with the replies and the ids it made."""

    commands: list[tuple[str, dict[str, Any], Any]] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)

    def reply(self, name: str) -> Any:
        return next(r for n, _, r in self.commands if n == name)

    def command(self, name: str) -> dict[str, Any]:
        return next(c for n, c, _ in self.commands if n == name)


EXAMPLE_DEPOSIT = 250.0  # initial deposit of the member's transaction account
EXAMPLE_SAVINGS_DEPOSIT = 100.0
# Balances CONTRACT.md implies (debit adds, credit subtracts), in cents.
EXAMPLE_BALANCES = {
    "txn": 25000 + 300000 - 4550 - 50000,
    "savings": 10000 + 50000,
    "card": 0,
    "GL_SALARY_CLEARING": -300000,
    "GL_CARD_CLEARING": 4550,
    "GL_INITIAL_DEPOSIT_CLEARING": -(25000 + 10000),
}

TXN_PRODUCT = {
    **TXN_BASIC,
    "description": "No-fee everyday banking with unlimited transactions",
    "interest": {"rate": 0.0, "calculationMethod": "DAILY_BALANCE", "paymentFrequency": "MONTHLY"},
    "fees": {"monthlyFee": 0.0, "atmFeeOwn": 0.0, "atmFeeOther": 2.5, "overdraftFee": 15.0},
    "features": ["NPP_ENABLED", "BPAY_ENABLED", "CARD_ENABLED"],
}
CARD_PRODUCT = {
    **CARD,
    "constraints": {"minAmount": 1000.0, "maxAmount": 25000.0, "minAge": 18},
    "creditCriteria": {"minIncome": 25000, "minCreditScore": 600},
}
EXAMPLE_CUSTOMER = {
    "externalRef": "MEM-000001",
    "person": {
        "firstName": "Olivia",
        "lastName": "Nguyen",
        "dateOfBirth": "1991-06-23",
        "email": "olivia.nguyen@example.com.au",
        "mobile": "+61412345678",
    },
    "address": {
        "line1": "Level 5, 1 Martin Place",
        "suburb": "Sydney",
        "state": "NSW",
        "postcode": "2000",
        "country": "AU",
    },
    "employment": {
        "status": "FULL_TIME",
        "employer": "Harbour City Health",
        "occupation": "Registered Nurse",
        "annualIncome": 82000.0,
    },
    "riskProfile": {"segment": "RETAIL", "kycStatus": "SIMULATED_PASSED", "creditScore": 780},
}


def entry(legs: Iterable[Leg], narrative: str, **extra: Any) -> dict[str, Any]:
    """An entry of the example's day, 2025-01-14."""
    return entry_payload(legs, narrative, "2025-01-14", **extra)


def run_example(
    http: Any, tenant: str = TENANT, platform_key: str = PLATFORM_KEY, key: str = CU_KEY
) -> Example:
    """CreateTenant (platform key), then everything else with the tenant's own key.

    Works over a TestClient or an httpx.Client alike; every step must be a 202.
    """
    ex = Example()

    def send(name: str, command_type: str, payload: dict[str, Any], ts: str, k: str) -> Any:
        body = envelope(
            tenant,
            command_type,
            payload,
            timestamp=ts,
            idempotencyKey=f"examples:{name}:{tenant}",
        )
        resp = post(http, tenant, body, k)
        assert resp.status_code == 202, f"{name}: {resp.status_code} {resp.text}"
        ex.commands.append((name, body, resp))
        return resp.json()["result"]

    tenant_body = {**tenant_payload(tenant), **CREDIT_UNION}
    send("createTenant", "CreateTenant", tenant_body, "2025-01-14T09:00:00+11:00", platform_key)
    send("upsertTxn", "UpsertProduct", TXN_PRODUCT, "2025-01-14T09:01:00+11:00", key)
    send("upsertSavings", "UpsertProduct", SAVINGS, "2025-01-14T09:02:00+11:00", key)
    send("upsertCard", "UpsertProduct", CARD_PRODUCT, "2025-01-14T09:03:00+11:00", key)
    customer = send(
        "createCustomer", "CreateCustomer", EXAMPLE_CUSTOMER, "2025-01-14T09:05:00+11:00", key
    )["customerId"]
    account = {"customerId": customer, "currency": "AUD"}
    txn = send(
        "openTxn",
        "OpenAccount",
        {
            **account,
            "productCode": "TXN_ACCOUNT_BASIC",
            "accountAlias": "Everyday",
            "accountPurpose": "Day-to-day spending",
            "initialDeposit": EXAMPLE_DEPOSIT,
        },
        "2025-01-14T09:10:00+11:00",
        key,
    )["accountId"]
    savings = send(
        "openSavings",
        "OpenAccount",
        {
            **account,
            "productCode": "SAVINGS_STANDARD",
            "accountAlias": "Rainy day",
            "initialDeposit": EXAMPLE_SAVINGS_DEPOSIT,
        },
        "2025-01-14T09:11:00+11:00",
        key,
    )["accountId"]
    card = send(
        "openCard",
        "OpenAccount",
        {**account, "productCode": "CC_LOW_RATE", "facilityLimit": 5000.0},
        "2025-01-14T09:12:00+11:00",
        key,
    )["accountId"]
    send(
        "salary",
        "PostEntry",
        entry(
            [("GL_SALARY_CLEARING", "CREDIT", 3000.0), (txn, "DEBIT", 3000.0)],
            "Fortnightly salary",
            tags={"category": "INCOME", "source": "PAYROLL_SIM"},
            metadata={"employer": "Harbour City Health", "payPeriod": "2025-01-01/2025-01-14"},
        ),
        "2025-01-14T09:30:00+11:00",
        key,
    )
    send(
        "cardSpend",
        "PostEntry",
        entry(
            [(txn, "CREDIT", 45.5), ("GL_CARD_CLEARING", "DEBIT", 45.5)],
            "Card purchase HARRIS FARM MARKETS BONDI",
            tags={"category": "GROCERIES"},
            metadata={"mcc": "5411", "terminal": 77, "contactless": True},
        ),
        "2025-01-14T12:15:00+11:00",
        key,
    )
    send(
        "transfer",
        "PostEntry",
        entry([(txn, "CREDIT", 500.0), (savings, "DEBIT", 500.0)], "Transfer to Online Saver"),
        "2025-01-14T18:00:00+11:00",
        key,
    )
    ex.ids = {"customer": customer, "txn": txn, "savings": savings, "card": card}
    return ex


def expected_stream(ex: Example) -> list[tuple[str, str, str]]:
    """(command, eventType, entityId) for the whole example stream, in order."""
    i = ex.ids
    out = [("createTenant", "TenantCreated", TENANT)]
    out += [("createTenant", "AccountOpened", gl) for gl in GL_CHART]
    out += [
        ("upsertTxn", "ProductCreated", "TXN_ACCOUNT_BASIC"),
        ("upsertSavings", "ProductCreated", "SAVINGS_STANDARD"),
        ("upsertCard", "ProductCreated", "CC_LOW_RATE"),
        ("createCustomer", "CustomerCreated", i["customer"]),
        ("openTxn", "AccountOpened", i["txn"]),
        ("openTxn", "FundsPosted", i["txn"]),
        ("openSavings", "AccountOpened", i["savings"]),
        ("openSavings", "FundsPosted", i["savings"]),
        ("openCard", "AccountOpened", i["card"]),
        ("openCard", "LoanFacilityCreated", i["card"]),
    ]
    entry_ids = {
        n: ex.reply(n).json()["result"]["entryId"] for n in ("salary", "cardSpend", "transfer")
    }
    out += [
        ("salary", "EntryPosted", entry_ids["salary"]),
        ("salary", "AccountBalanceUpdated", "GL_SALARY_CLEARING"),
        ("salary", "AccountBalanceUpdated", i["txn"]),
        ("cardSpend", "EntryPosted", entry_ids["cardSpend"]),
        ("cardSpend", "AccountBalanceUpdated", i["txn"]),
        ("cardSpend", "AccountBalanceUpdated", "GL_CARD_CLEARING"),
        ("transfer", "EntryPosted", entry_ids["transfer"]),
        ("transfer", "AccountBalanceUpdated", i["txn"]),
        ("transfer", "AccountBalanceUpdated", i["savings"]),
    ]
    return out


# ------------------------------------------------------------------------- fixtures


def module_client(folder: str) -> Any:
    """A module-scoped `mod_client` fixture: one quick app a module, on each backend in
    turn, its SQLite file in a temporary folder named `folder`."""

    @pytest.fixture(scope="module", params=BACKENDS, name="mod_client")
    def fixture(
        request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
    ) -> Iterator[TestClient]:
        with backend_url(request.param, tmp_path_factory.mktemp(folder)) as url:
            settings = Settings(database_url=url, api_keys=KEYS, access_log=False)
            with TestClient(quick_app(settings), raise_server_exceptions=False) as client:
                yield client

    return fixture


mod_client = module_client("api")


@pytest.fixture(scope="module")
def example(mod_client: TestClient) -> Example:
    return run_example(mod_client)


@pytest.fixture(scope="module")
def other(mod_client: TestClient, example: Example) -> dict[str, Any]:
    """OTHER_CU: five customers (for paging), an inactive product, a term deposit opening
    with 5,000..1,000,000, a saver keeping at least 100 and a card without maxAmount."""
    api = Api(mod_client)
    assert api.create_tenant(OTHER).status_code == 202
    for product in (
        TXN_BASIC,
        {**SAVINGS, "productCode": "OLD_SAVER", "active": False},
        {
            **SAVINGS,
            "productCode": "TERM_12M",
            "productType": "TERM_DEPOSIT",
            "constraints": {"minAmount": 5000, "maxAmount": 1000000, "termMonths": 12},
        },
        {**SAVINGS, "productCode": "MIN_SAVER", "constraints": {"minBalance": 100}},
        {**CARD, "productCode": "CC_NO_MAX", "constraints": {"minAmount": 1000}},
    ):
        assert api.send(OTHER, "UpsertProduct", product).status_code == 202
    customers = [
        api.create_customer(OTHER, n=n).json()["result"]["customerId"] for n in range(1, 6)
    ]
    txn = api.open_account(customers[0], tenant=OTHER, initialDeposit=10).json()["result"]
    return {"customers": customers, "txn": txn["accountId"]}


_fresh_tenants = itertools.count(1)


@dataclass
class Fresh:
    """A tenant of a test's own, with TXN/SAVINGS/CARD products, a customer and 3 accounts."""

    api: Api
    tenant: str
    customer: str
    txn: str
    savings: str
    card: str

    def send(self, command_type: str, payload: dict[str, Any], **extra: Any) -> Any:
        return self.api.send(self.tenant, command_type, payload, **extra)

    def entry(self, legs: list[tuple[str, str, float]], **extra: Any) -> Any:
        return self.api.post_entry(legs, tenant=self.tenant, **extra)

    def last_sequence(self) -> int:
        return self.api.last_sequence(self.tenant)

    def balance(self, account: str) -> float:
        return self.api.balance(account, self.tenant)


@pytest.fixture
def fresh(mod_client: TestClient) -> Fresh:
    api = Api(mod_client)
    tenant = f"FRESH_{next(_fresh_tenants):03d}"
    return Fresh(api, tenant, **api.open_ledger(tenant))


# ----------------------------------------------------- the example sequence, end to end


RESULT_KEYS = {
    "CreateTenant": {"tenantId"},
    "UpsertProduct": {"tenantId", "productCode"},
    "CreateCustomer": {"tenantId", "customerId"},
    "OpenAccount": {"tenantId", "accountId"},
    "PostEntry": {"tenantId", "entryId"},
}


def test_example_sequence_replies_are_command_accepted(example: Example) -> None:
    for name, command, resp in example.commands:
        body = assert_accepted(resp, command, RESULT_KEYS[command["commandType"]])
        assert body["correlationId"] == command["commandId"], name  # default: the commandId
    assert example.reply("upsertTxn").json()["result"]["productCode"] == "TXN_ACCOUNT_BASIC"
    counts = [len(r.json()["eventIds"]) for _, _, r in example.commands]
    # CreateTenant: TenantCreated + 11 GL accounts; OpenAccount +1 per deposit/facility;
    # PostEntry: EntryPosted + one AccountBalanceUpdated per account.
    assert counts == [12, 1, 1, 1, 1, 2, 2, 2, 3, 3, 3]


def test_example_event_stream_in_order(mod_client: TestClient, example: Example) -> None:
    events = all_events(mod_client, TENANT)
    expected = expected_stream(example)
    assert [(e["eventType"], e["entityId"]) for e in events] == [(t, i) for _, t, i in expected]
    assert [e["sequence"] for e in events] == list(range(1, len(expected) + 1))
    for event in events:
        assert set(event) == ENVELOPE_KEYS
        assert event["tenantId"] == TENANT
        assert UUID_RE.match(event["eventId"])
        assert INSTANT_RE.match(event["occurredAt"])
    # eventIds in each reply are exactly the events caused by that command, in order,
    # and stamped with the command's accept time and correlation id.
    for name, command, resp in example.commands:
        reply = resp.json()
        caused = [e for e in events if e["causationId"] == command["commandId"]]
        assert [e["eventId"] for e in caused] == reply["eventIds"], name
        assert [t for n, t, _ in expected if n == name] == [e["eventType"] for e in caused]
        assert {e["occurredAt"] for e in caused} == {reply["acceptedAt"]}
        assert {e["correlationId"] for e in caused} == {reply["correlationId"]}
    tenant = mod_client.get(f"/v1/tenants/{TENANT}", headers=headers()).json()
    assert tenant["lastSequence"] == len(events)
    assert tenant["lastHash"] == events[-1]["hash"]


def test_example_event_payloads(mod_client: TestClient, example: Example) -> None:
    events = {e["eventId"]: e for e in all_events(mod_client, TENANT)}

    def caused(name: str) -> list[dict[str, Any]]:
        return [events[i]["payload"] for i in example.reply(name).json()["eventIds"]]

    ids = example.ids
    assert caused("createTenant")[0] == example.command("createTenant")["payload"]
    gl = caused("createTenant")[1]
    assert gl == {
        "accountId": "GL_SALARY_CLEARING",
        "accountType": "GL",
        "customerId": None,
        "productCode": None,
        "productType": None,
        "currency": "AUD",
        "accountAlias": None,
        "accountPurpose": None,
    }
    assert caused("upsertTxn")[0] == {**TXN_PRODUCT, "active": True}
    customer = caused("createCustomer")[0]
    assert customer["customerId"] == ids["customer"]
    for part in ("person", "employment", "riskProfile"):
        assert customer[part] == EXAMPLE_CUSTOMER[part]
    assert EXAMPLE_CUSTOMER["address"].items() <= customer["address"].items()
    opened, funds = caused("openTxn")
    assert opened == {
        "accountId": ids["txn"],
        "accountType": "CUSTOMER",
        "customerId": ids["customer"],
        "productCode": "TXN_ACCOUNT_BASIC",
        "productType": "DEPOSIT",
        "currency": "AUD",
        "accountAlias": "Everyday",
        "accountPurpose": "Day-to-day spending",
    }
    assert UUID_RE.match(funds.pop("entryId"))
    assert funds == {
        "accountId": ids["txn"],
        "currency": "AUD",
        "amount": EXAMPLE_DEPOSIT,
        "narrative": funds["narrative"],
        "legs": [
            {"accountId": ids["txn"], "direction": "DEBIT", "amount": EXAMPLE_DEPOSIT},
            {
                "accountId": "GL_INITIAL_DEPOSIT_CLEARING",
                "direction": "CREDIT",
                "amount": EXAMPLE_DEPOSIT,
            },
        ],
    }
    assert caused("openCard")[1] == {
        "accountId": ids["card"],
        "facilityLimit": 5000,
        "currency": "AUD",
    }
    posted, gl_update, member_update = caused("salary")
    salary = example.command("salary")["payload"]
    assert posted == {"entryId": example.reply("salary").json()["result"]["entryId"], **salary}
    assert gl_update == {
        "accountId": "GL_SALARY_CLEARING",
        "entryId": posted["entryId"],
        "change": -3000,
        "balance": -3000,
    }
    assert member_update["change"] == 3000 and member_update["balance"] == 3250
    transfer = caused("transfer")
    assert transfer[0]["tags"] == {} and transfer[0]["metadata"] == {}  # defaults
    card_spend = caused("cardSpend")[0]
    assert card_spend["tags"] == {"category": "GROCERIES"}  # kept as sent
    assert card_spend["metadata"] == {"mcc": "5411", "terminal": 77, "contactless": True}
    assert [(u["accountId"], u["change"], u["balance"]) for u in transfer[1:]] == [
        (ids["txn"], -500, 2704.5),
        (ids["savings"], 500, 600),
    ]


def test_example_balances(mod_client: TestClient, example: Example) -> None:
    accounts = {a["accountId"]: a for a in all_accounts(mod_client, TENANT)}
    assert len(accounts) == len(GL_CHART) + 3
    for name, cents in EXAMPLE_BALANCES.items():
        account = accounts[example.ids.get(name, name)]
        assert minor(account["balance"]) == cents, name
    for gl in set(GL_CHART) - set(EXAMPLE_BALANCES):
        assert accounts[gl]["balance"] == 0
    assert sum(minor(a["balance"]) for a in accounts.values()) == 0  # debits = credits
    txn = accounts[example.ids["txn"]]
    assert txn["balance"] == 2704.5  # deposit + 3000 - 45.50 - 500, as a plain JSON number


def test_example_balances_derive_from_each_account_stream(
    mod_client: TestClient, example: Example
) -> None:
    """Invariant 1: each balance is the sum of the postings in its own event stream."""
    for account in all_accounts(mod_client, TENANT):
        account_id = account["accountId"]
        page = mod_client.get(
            f"/v1/tenants/{TENANT}/accounts/{account_id}/events",
            params={"limit": 1000},
            headers=headers(),
        ).json()
        assert page["nextCursor"] is None
        total = 0
        last_update = None
        for event in page["events"]:
            if event["eventType"] in ("EntryPosted", "FundsPosted"):
                for leg in event["payload"]["legs"]:
                    if leg["accountId"] == account_id:
                        sign = 1 if leg["direction"] == "DEBIT" else -1
                        total += sign * minor(leg["amount"])
            if event["eventType"] == "AccountBalanceUpdated":
                assert event["payload"]["accountId"] == account_id
                last_update = event["payload"]["balance"]
        assert total == minor(account["balance"]), account_id
        if last_update is not None:
            assert minor(last_update) == total


def test_account_last_sequence_is_its_latest_event(
    mod_client: TestClient, example: Example
) -> None:
    """The spec: AccountSummary.lastSequence is the sequence of the latest event that
    touched the account (for a card, its LoanFacilityCreated)."""
    for account in all_accounts(mod_client, TENANT):
        account_id = account["accountId"]
        events = mod_client.get(
            f"/v1/tenants/{TENANT}/accounts/{account_id}/events",
            params={"limit": 1000},
            headers=headers(),
        ).json()["events"]
        assert account["lastSequence"] == events[-1]["sequence"], (
            account_id,
            events[-1]["eventType"],
        )


def test_hash_chain_recomputes(mod_client: TestClient, example: Example) -> None:
    events = all_events(mod_client, TENANT)
    assert events[0]["prevHash"] == GENESIS
    assert verify_chain(events) == []
    recompute_chain(events)  # independently: hashlib + rfc8785, as CONTRACT.md says
    # The check is not vacuous: any change to a hashed field breaks it.
    tampered = json.loads(json.dumps(events))
    tampered[22]["payload"]["legs"][0]["amount"] = 3000.01
    assert verify_chain(tampered)
    with pytest.raises(AssertionError):
        recompute_chain(tampered)


# ------------------------------------------------------------------- the gateway


def test_each_command_type_202_on_a_fresh_tenant(fresh: Fresh) -> None:
    # The fixture made one of each; here each result's ids must be readable.
    api, t = fresh.api, fresh.tenant
    assert api.get(f"/tenants/{t}").status_code == 200
    products = api.get(f"/tenants/{t}/products").json()["products"]
    assert [p["productCode"] for p in products] == [
        "TXN_ACCOUNT_BASIC",
        "SAVINGS_STANDARD",
        CARD["productCode"],
    ]
    assert api.get(f"/tenants/{t}/customers/{fresh.customer}").status_code == 200
    for account in (fresh.txn, fresh.savings, fresh.card):
        assert api.get(f"/tenants/{t}/accounts/{account}").status_code == 200
    command = envelope(
        t, "PostEntry", entry([(fresh.txn, "CREDIT", 1), ("GL_FEES", "DEBIT", 1)], "fee")
    )
    body = assert_accepted(post(api.client, t, command), command, {"tenantId", "entryId"})
    assert api.get(f"/tenants/{t}/events", entityId=body["result"]["entryId"]).json()["events"]


def test_correlation_id_header_is_echoed_and_stamped(fresh: Fresh) -> None:
    command = envelope(fresh.tenant, "CreateCustomer", customer_payload(2))
    resp = post(fresh.api.client, fresh.tenant, command, **{"X-Correlation-Id": "journey-42"})
    reply = assert_accepted(resp, command, {"tenantId", "customerId"})
    assert reply["correlationId"] == "journey-42"
    events = fresh.api.get(
        f"/tenants/{fresh.tenant}/events", entityId=reply["result"]["customerId"]
    ).json()["events"]
    assert [e["correlationId"] for e in events] == ["journey-42"]
    assert [e["causationId"] for e in events] == [command["commandId"]]
    # 128 characters is the limit; 129 is a 400 and writes nothing.
    ok = envelope(fresh.tenant, "CreateCustomer", customer_payload(3))
    resp = post(fresh.api.client, fresh.tenant, ok, **{"X-Correlation-Id": "c" * 128})
    assert resp.json()["correlationId"] == "c" * 128
    before = fresh.last_sequence()
    bad = envelope(fresh.tenant, "CreateCustomer", customer_payload(4))
    resp = post(fresh.api.client, fresh.tenant, bad, **{"X-Correlation-Id": "c" * 129})
    assert_error(resp, 400, "VALIDATION_ERROR")
    assert fresh.last_sequence() == before


@SQLITE_ONLY
def test_400_malformed_json(mod_client: TestClient, example: Example) -> None:
    resp = mod_client.post(
        f"/v1/tenants/{TENANT}/commands",
        content=b'{"commandId": ',
        headers=headers(**{"Content-Type": "application/json"}),
    )
    assert_error(resp, 400, "MALFORMED_JSON")


@SQLITE_ONLY
def test_400_validation_error_lists_the_problems(mod_client: TestClient, example: Example) -> None:
    payload = entry([("GL_FEES", "DEBIT", 1.001), ("GL_SUSPENSE", "CREDIT", 1.001)], "x")
    del payload["narrative"]
    resp = post(mod_client, TENANT, envelope(TENANT, "PostEntry", payload))
    body = assert_error(resp, 400, "VALIDATION_ERROR")
    errors = body["details"]["errors"]
    assert all(set(e) == {"loc", "msg", "type"} for e in errors)
    locs = {tuple(e["loc"]) for e in errors}
    assert ("payload", "narrative") in locs
    assert ("payload", "legs", 0, "amount") in locs


@SQLITE_ONLY
def test_400_tenant_mismatch(mod_client: TestClient, example: Example) -> None:
    resp = post(mod_client, TENANT, envelope(OTHER, "CreateCustomer", customer_payload(9)))
    assert_error(resp, 400, "TENANT_MISMATCH")
    # CreateTenant: the payload's tenantCode must equal the path.
    body = envelope("NEW_TENANT", "CreateTenant", tenant_payload("ANOTHER_ONE"))
    assert_error(post(mod_client, "NEW_TENANT", body), 400, "TENANT_MISMATCH")
    assert mod_client.get("/v1/tenants/NEW_TENANT", headers=headers()).status_code == 404
    assert mod_client.get("/v1/tenants/ANOTHER_ONE", headers=headers()).status_code == 404


GET_PATHS = [
    "/v1/tenants/{t}",
    "/v1/tenants/{t}/products",
    "/v1/tenants/{t}/customers",
    "/v1/tenants/{t}/customers/{customer}",
    "/v1/tenants/{t}/accounts",
    "/v1/tenants/{t}/accounts/{txn}",
    "/v1/tenants/{t}/accounts/{txn}/events",
    "/v1/tenants/{t}/events",
]


@pytest.mark.parametrize(
    "auth",
    [None, "Basic ZGV2OnBsYXRmb3Jt", "Bearer", "Bearer ", "Bearer not-a-known-key", "Token x"],
    ids=["no-header", "basic", "bearer-no-key", "bearer-blank", "unknown-key", "other-scheme"],
)
@SQLITE_ONLY
def test_401_on_every_endpoint(mod_client: TestClient, example: Example, auth: str | None) -> None:
    hdrs = {} if auth is None else {"Authorization": auth}
    ids = {"t": TENANT, **example.ids}
    for path in GET_PATHS:
        resp = mod_client.get(path.format(**ids), headers=hdrs)
        assert_error(resp, 401, "UNAUTHENTICATED")
        assert resp.headers["www-authenticate"].lower().startswith("bearer")
    before = table_counts(mod_client)
    command = envelope(TENANT, "CreateCustomer", customer_payload(50))
    resp = mod_client.post(f"/v1/tenants/{TENANT}/commands", json=command, headers=hdrs)
    assert_error(resp, 401, "UNAUTHENTICATED")
    assert resp.headers["www-authenticate"].lower().startswith("bearer")
    assert table_counts(mod_client) == before


@SQLITE_ONLY
def test_403_key_of_another_tenant(mod_client: TestClient, example: Example, other: Any) -> None:
    ids = {"t": TENANT, **example.ids}
    for path in GET_PATHS:
        assert_error(
            mod_client.get(path.format(**ids), headers=headers(OTHER_KEY)), 403, "FORBIDDEN"
        )
    before = table_counts(mod_client)
    # Writing to CU_DIGITAL with OTHER_CU's key, either way round.
    command = envelope(TENANT, "CreateCustomer", customer_payload(51))
    assert_error(post(mod_client, TENANT, command, OTHER_KEY), 403, "FORBIDDEN")
    command = envelope(OTHER, "CreateCustomer", customer_payload(51))
    assert_error(post(mod_client, OTHER, command, CU_KEY), 403, "FORBIDDEN")
    # A tenant key may read its own tenant.
    assert mod_client.get(f"/v1/tenants/{TENANT}", headers=headers(CU_KEY)).status_code == 200
    assert table_counts(mod_client) == before


@SQLITE_ONLY
def test_403_create_tenant_needs_the_platform_key(mod_client: TestClient, example: Example) -> None:
    before = table_counts(mod_client)
    # Even on the key's own tenant code (which exists: still 403, not 422).
    body = envelope(TENANT, "CreateTenant", tenant_payload(TENANT))
    assert_error(post(mod_client, TENANT, body, CU_KEY), 403, "FORBIDDEN")
    body = envelope("BRAND_NEW", "CreateTenant", tenant_payload("BRAND_NEW"))
    assert_error(post(mod_client, "BRAND_NEW", body, CU_KEY), 403, "FORBIDDEN")
    assert table_counts(mod_client) == before


@pytest.mark.parametrize(
    "command_type,payload",
    [
        ("UpsertProduct", TXN_BASIC),
        ("CreateCustomer", customer_payload(1)),
        (
            "OpenAccount",
            {"customerId": "c-1", "productCode": "TXN_ACCOUNT_BASIC", "currency": "AUD"},
        ),
        ("PostEntry", entry([("GL_FEES", "DEBIT", 1), ("GL_SUSPENSE", "CREDIT", 1)], "x")),
    ],
)
def test_404_command_on_unknown_tenant(
    mod_client: TestClient, command_type: str, payload: dict[str, Any]
) -> None:
    before = table_counts(mod_client)
    body = envelope("NO_SUCH_TENANT", command_type, payload)
    assert_error(post(mod_client, "NO_SUCH_TENANT", body), 404, "NOT_FOUND")
    assert table_counts(mod_client) == before


def test_404_queries_on_unknown_tenant(mod_client: TestClient, example: Example) -> None:
    ids = {"t": "NO_SUCH_TENANT", **example.ids}
    for path in GET_PATHS:
        assert_error(mod_client.get(path.format(**ids), headers=headers()), 404, "NOT_FOUND")


@SQLITE_ONLY
def test_404_unknown_path(mod_client: TestClient) -> None:
    assert_error(mod_client.get("/v1/nothing-here", headers=headers()), 404, "NOT_FOUND")


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
@SQLITE_ONLY
def test_405_on_the_gateway(mod_client: TestClient, example: Example, method: str) -> None:
    resp = mod_client.request(method, f"/v1/tenants/{TENANT}/commands", headers=headers())
    assert_error(resp, 405, "METHOD_NOT_ALLOWED")
    assert "POST" in resp.headers.get("allow", "")


@SQLITE_ONLY
def test_405_write_on_a_query_path(mod_client: TestClient, example: Example) -> None:
    resp = mod_client.post(f"/v1/tenants/{TENANT}/accounts", json={}, headers=headers())
    assert_error(resp, 405, "METHOD_NOT_ALLOWED")


@SQLITE_ONLY
def test_413_at_one_byte_over_one_mebibyte(mod_client: TestClient, fresh: Fresh) -> None:
    t = fresh.tenant
    command = envelope(t, "UpsertProduct", {**TXN_BASIC, "productCode": "PADDED_1MIB"})
    raw = json.dumps(command).encode()
    exactly = raw + b" " * (1024 * 1024 - len(raw))  # trailing whitespace is valid JSON
    json_headers = headers(**{"Content-Type": "application/json"})
    before = table_counts(mod_client)
    resp = mod_client.post(
        f"/v1/tenants/{t}/commands", content=exactly + b" ", headers=json_headers
    )
    body = assert_error(resp, 413, "PAYLOAD_TOO_LARGE")
    assert body["details"] == {"limitBytes": 1024 * 1024}
    assert table_counts(mod_client) == before
    resp = mod_client.post(f"/v1/tenants/{t}/commands", content=exactly, headers=json_headers)
    assert resp.status_code == 202, resp.text


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "application/xml", "text/json"],
)
@SQLITE_ONLY
def test_415_not_json(mod_client: TestClient, example: Example, content_type: str | None) -> None:
    raw = json.dumps(envelope(TENANT, "CreateCustomer", customer_payload(60))).encode()
    hdrs = headers() if content_type is None else headers(**{"Content-Type": content_type})
    before = table_counts(mod_client)
    resp = mod_client.post(f"/v1/tenants/{TENANT}/commands", content=raw, headers=hdrs)
    assert_error(resp, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert table_counts(mod_client) == before


@SQLITE_ONLY
def test_json_with_charset_is_json(fresh: Fresh) -> None:
    raw = json.dumps(envelope(fresh.tenant, "CreateCustomer", customer_payload(2))).encode()
    hdrs = headers(**{"Content-Type": "application/json; charset=utf-8"})
    resp = fresh.api.client.post(f"/v1/tenants/{fresh.tenant}/commands", content=raw, headers=hdrs)
    assert resp.status_code == 202, resp.text


# Every invariant, each through the API, each writing nothing. `ids` holds the example's
# ids (customer, txn, savings, card) and OTHER_CU's (other_txn, other_customer).
def _tenant_cmd(code: str, **overrides: Any) -> tuple[str, str, dict[str, Any], dict[str, Any]]:
    return code, "CreateTenant", {**tenant_payload(code), **overrides}, {}


def _entry(legs: Callable[[dict[str, str]], list[tuple[str, str, float]]], **extra: Any) -> Any:
    return lambda ids: (TENANT, "PostEntry", entry(legs(ids), "invariant test", **extra), {})


def _open(**payload: Any) -> Any:
    def build(ids: dict[str, str]) -> Any:
        body = {"customerId": ids["customer"], "currency": "AUD", **payload}
        tenant = body.pop("tenant", TENANT)
        if tenant == OTHER:
            body["customerId"] = ids["other_customer"]
        return tenant, "OpenAccount", body, {}

    return build


def _customer(**person: Any) -> Any:
    def build(ids: dict[str, str]) -> Any:
        body = customer_payload(77)  # builds are called once per backend: mutate nothing shared
        fields = dict(person)
        if "externalRef" in fields:
            body["externalRef"] = fields.pop("externalRef")
        body["person"] = {**body["person"], **fields}
        return TENANT, "CreateCustomer", body, {}

    return build


INVARIANT_CASES: list[Any] = [
    pytest.param(
        "IDEMPOTENCY_KEY_REUSED",
        lambda ids: (
            TENANT,
            "PostEntry",
            entry([("GL_SALARY_CLEARING", "CREDIT", 1), (ids["txn"], "DEBIT", 1)], "again"),
            {"idempotencyKey": f"examples:salary:{TENANT}"},
        ),
        id="idempotency-key-reused",
    ),
    pytest.param("TENANT_CODE_UNIQUE", lambda ids: _tenant_cmd(TENANT), id="tenant-code"),
    pytest.param(
        "CURRENCY_MUST_BE_SUPPORTED",
        lambda ids: _tenant_cmd("NEW_XXX", baseCurrency="XXX"),
        id="currency",
    ),
    pytest.param(
        "TIME_ZONE_MUST_BE_VALID",
        lambda ids: _tenant_cmd("NEW_TZ", timeZone="Mars/Olympus_Mons"),
        id="time-zone",
    ),
    pytest.param(
        "TIME_ZONE_MUST_BE_VALID",
        lambda ids: _tenant_cmd("NEW_TZ", timeZone="../../etc/passwd"),
        id="time-zone-path",
    ),
    pytest.param(
        "RATES_MUST_BE_NON_NEGATIVE",
        lambda ids: (TENANT, "UpsertProduct", {**TXN_BASIC, "interest": {"rate": -0.01}}, {}),
        id="rates",
    ),
    pytest.param(
        "MIN_MUST_BE_BELOW_MAX",
        lambda ids: (
            TENANT,
            "UpsertProduct",
            {**SAVINGS, "constraints": {"minBalance": 100, "maxBalance": 50}},
            {},
        ),
        id="min-max-balance",
    ),
    pytest.param(
        "MIN_MUST_BE_BELOW_MAX",
        lambda ids: (
            TENANT,
            "UpsertProduct",
            {**CARD, "constraints": {"minAmount": 1000, "maxAmount": 1000}},
            {},
        ),
        id="min-equals-max",
    ),
    pytest.param(
        "MIN_MUST_BE_BELOW_MAX",
        lambda ids: (
            TENANT,
            "UpsertProduct",
            {**CARD, "constraints": {"minAge": 70, "maxAge": 18}},
            {},
        ),
        id="min-max-age",
    ),
    pytest.param(
        "CONSTRAINTS_MUST_BE_CONSISTENT",
        lambda ids: (
            TENANT,
            "UpsertProduct",
            {**TXN_BASIC, "constraints": {"allowOverdraft": False, "overdraftLimit": 500}},
            {},
        ),
        id="overdraft-limit-without-allow-overdraft",
    ),
    pytest.param(
        "CONSTRAINTS_MUST_BE_CONSISTENT",
        lambda ids: (
            TENANT,
            "UpsertProduct",
            {**TXN_BASIC, "constraints": {"overdraftLimit": 0.01}},
            {},
        ),
        id="overdraft-limit-allow-overdraft-absent",
    ),
    pytest.param(
        "CONSTRAINTS_MUST_BE_CONSISTENT",
        lambda ids: (
            TENANT,
            "UpsertProduct",
            {
                **CARD,
                "productCode": "PERSONAL_LOAN",
                "productType": "LOAN",
                "constraints": {"termMonthsDefault": 48, "termMonthsOptions": [12, 24, 36, 60]},
            },
            {},
        ),
        id="term-default-not-an-option",
    ),
    pytest.param("CUSTOMER_MUST_BE_ADULT", _customer(dateOfBirth="2010-01-01"), id="adult"),
    pytest.param(
        "CUSTOMER_EMAIL_UNIQUE",
        _customer(email="OLIVIA.Nguyen@EXAMPLE.com.au"),
        id="email-case-insensitive",
    ),
    pytest.param("CUSTOMER_MOBILE_UNIQUE", _customer(mobile="+61412345678"), id="mobile"),
    pytest.param(
        "CUSTOMER_EXTERNAL_REF_UNIQUE", _customer(externalRef="MEM-000001"), id="external-ref"
    ),
    pytest.param(
        "CUSTOMER_MUST_EXIST",
        lambda ids: (
            TENANT,
            "OpenAccount",
            {
                "customerId": str(uuid.uuid4()),
                "productCode": "TXN_ACCOUNT_BASIC",
                "currency": "AUD",
            },
            {},
        ),
        id="customer-missing",
    ),
    pytest.param(
        "CUSTOMER_MUST_EXIST",
        lambda ids: (
            TENANT,
            "OpenAccount",
            {
                "customerId": ids["other_customer"],
                "productCode": "TXN_ACCOUNT_BASIC",
                "currency": "AUD",
            },
            {},
        ),
        id="customer-of-other-tenant",
    ),
    pytest.param("PRODUCT_MUST_EXIST", _open(productCode="NO_SUCH_PRODUCT"), id="product"),
    pytest.param(
        "PRODUCT_MUST_BE_ACTIVE", _open(productCode="OLD_SAVER", tenant=OTHER), id="inactive"
    ),
    pytest.param(
        "ACCOUNT_CURRENCY_MUST_MATCH_TENANT",
        _open(productCode="TXN_ACCOUNT_BASIC", currency="USD"),
        id="account-currency",
    ),
    pytest.param(
        # No facilityLimit and no maxAmount to default to.
        "FACILITY_LIMIT_REQUIRED",
        _open(productCode="CC_NO_MAX", tenant=OTHER),
        id="facility-required",
    ),
    pytest.param(
        "FACILITY_LIMIT_NOT_ALLOWED",
        _open(productCode="TXN_ACCOUNT_BASIC", facilityLimit=1000),
        id="facility-not-allowed",
    ),
    pytest.param(
        "FACILITY_LIMIT_OUT_OF_RANGE",
        _open(productCode="CC_LOW_RATE", facilityLimit=999.99),
        id="facility-below",
    ),
    pytest.param(
        "FACILITY_LIMIT_OUT_OF_RANGE",
        _open(productCode="CC_LOW_RATE", facilityLimit=25000.01),
        id="facility-above",
    ),
    pytest.param(
        "INITIAL_DEPOSIT_BELOW_MINIMUM",
        _open(productCode="TERM_12M", initialDeposit=4999.99, tenant=OTHER),
        id="deposit-below-minimum",
    ),
    pytest.param(
        "INITIAL_DEPOSIT_BELOW_MINIMUM",
        _open(productCode="TERM_12M", tenant=OTHER),
        id="no-deposit-below-minimum",
    ),
    pytest.param(
        "INITIAL_DEPOSIT_BELOW_MINIMUM",
        _open(productCode="MIN_SAVER", initialDeposit=99.99, tenant=OTHER),
        id="deposit-below-min-balance",
    ),
    pytest.param(
        "INITIAL_DEPOSIT_BELOW_MINIMUM",
        _open(productCode="MIN_SAVER", tenant=OTHER),
        id="no-deposit-below-min-balance",
    ),
    pytest.param(
        "INITIAL_DEPOSIT_ABOVE_MAXIMUM",
        _open(productCode="TERM_12M", initialDeposit=1000000.01, tenant=OTHER),
        id="deposit-above-max-amount",
    ),
    pytest.param(
        "MAX_BALANCE_EXCEEDED",
        _open(productCode="SAVINGS_STANDARD", initialDeposit=250000.01),
        id="deposit-above-max",
    ),
    pytest.param(
        "VALUE_DATE_BEFORE_BOOKING_DATE",
        lambda ids: (
            TENANT,
            "PostEntry",
            {
                **entry([("GL_FEES", "DEBIT", 1), ("GL_SUSPENSE", "CREDIT", 2)], "x"),
                "valueDate": "2025-01-13",
            },
            {},
        ),
        id="value-date-first-of-several",
    ),
    pytest.param(
        "LEGS_MUST_SHARE_CURRENCY",
        lambda ids: (
            TENANT,
            "PostEntry",
            {
                **entry([("GL_FEES", "DEBIT", 1), ("GL_SUSPENSE", "CREDIT", 1)], "x"),
                "legs": [
                    {"accountId": "GL_FEES", "direction": "DEBIT", "amount": 1, "currency": "USD"},
                    {"accountId": "GL_SUSPENSE", "direction": "CREDIT", "amount": 1},
                ],
            },
            {},
        ),
        id="leg-currency",
    ),
    pytest.param(
        "ACCOUNT_MUST_EXIST",
        _entry(lambda ids: [("NO_SUCH_ACCOUNT", "DEBIT", 1), ("GL_FEES", "CREDIT", 2)]),
        id="account-missing-before-balance",
    ),
    pytest.param(
        "ACCOUNT_MUST_EXIST",
        _entry(lambda ids: [(ids["other_txn"], "CREDIT", 1), ("GL_FEES", "DEBIT", 1)]),
        id="account-of-other-tenant",
    ),
    pytest.param(
        "ENTRY_CURRENCY_MUST_MATCH_ACCOUNT",
        lambda ids: (
            TENANT,
            "PostEntry",
            {
                **entry([("GL_FEES", "DEBIT", 1), ("GL_SUSPENSE", "CREDIT", 1)], "x"),
                "currency": "USD",
            },
            {},
        ),
        id="entry-currency",
    ),
    pytest.param(
        "LEGS_MUST_BALANCE",
        _entry(lambda ids: [("GL_FEES", "DEBIT", 10), ("GL_SUSPENSE", "CREDIT", 9.99)]),
        id="unbalanced",
    ),
    pytest.param(
        "LEGS_MUST_BALANCE",
        _entry(lambda ids: [("GL_FEES", "DEBIT", 10), ("GL_SUSPENSE", "DEBIT", 10)]),
        id="all-debits",
    ),
    pytest.param(
        "OVERDRAFT_LIMIT_EXCEEDED",
        _entry(lambda ids: [(ids["txn"], "CREDIT", 2704.51), ("GL_FEES", "DEBIT", 2704.51)]),
        id="overdraft-one-cent",
    ),
    pytest.param(
        "OVERDRAFT_LIMIT_EXCEEDED",
        _entry(lambda ids: [(ids["card"], "CREDIT", 5000.01), ("GL_FEES", "DEBIT", 5000.01)]),
        id="card-over-facility",
    ),
    pytest.param(
        "MAX_BALANCE_EXCEEDED",
        _entry(
            lambda ids: [(ids["savings"], "DEBIT", 249400.01), ("GL_FEES", "CREDIT", 249400.01)]
        ),
        id="savings-max-one-cent",
    ),
    pytest.param(
        "MAX_BALANCE_EXCEEDED",
        _entry(lambda ids: [(ids["card"], "DEBIT", 0.01), ("GL_FEES", "CREDIT", 0.01)]),
        id="card-in-credit",
    ),
]


@pytest.mark.parametrize("invariant,build", INVARIANT_CASES)
def test_422_invariant_violation_writes_nothing(
    mod_client: TestClient, example: Example, other: dict[str, Any], invariant: str, build: Any
) -> None:
    ids = {**example.ids, "other_txn": other["txn"], "other_customer": other["customers"][0]}
    tenant, command_type, payload, extra = build(ids)
    command = envelope(tenant, command_type, payload, **extra)
    before = table_counts(mod_client)
    heads = {
        t: mod_client.get(f"/v1/tenants/{t}", headers=headers()).json()["lastHash"]
        for t in (TENANT, OTHER)
    }
    resp = post(mod_client, tenant, command)
    assert_violation(resp, invariant, command["commandId"])
    assert table_counts(mod_client) == before
    for t, head in heads.items():
        assert mod_client.get(f"/v1/tenants/{t}", headers=headers()).json()["lastHash"] == head


def test_every_documented_invariant_is_exercised() -> None:
    from mock_core.errors import INVARIANTS

    covered = {p.values[0] for p in INVARIANT_CASES}
    assert covered == set(INVARIANTS)


def test_bounds_are_inclusive(fresh: Fresh) -> None:
    # txn: 100.00 with overdraft 0 -> exactly to 0 is fine; card: exactly the facility.
    assert fresh.entry([(fresh.txn, "CREDIT", 100), ("GL_FEES", "DEBIT", 100)]).status_code == 202
    assert fresh.balance(fresh.txn) == 0
    resp = fresh.entry([(fresh.card, "CREDIT", 5000), ("GL_FEES", "DEBIT", 5000)])
    assert resp.status_code == 202, resp.text
    assert fresh.balance(fresh.card) == -5000
    resp = fresh.entry([(fresh.savings, "DEBIT", 250000), ("GL_FEES", "CREDIT", 250000)])
    assert resp.status_code == 202, resp.text
    # An entry whose legs net to zero on one account touches it with a change of 0.
    resp = fresh.entry([(fresh.txn, "DEBIT", 7), (fresh.txn, "CREDIT", 7)])
    assert resp.status_code == 202, resp.text
    assert fresh.balance(fresh.txn) == 0


def test_customer_turns_18_on_the_command_date(fresh: Fresh) -> None:
    # The envelope's timestamp is 2025-01-15 (+11:00): born 2007-01-15 is 18 that day.
    adult = customer_payload(20)
    adult["person"]["dateOfBirth"] = "2007-01-15"
    assert fresh.send("CreateCustomer", adult).status_code == 202
    minor_ = customer_payload(21)
    minor_["person"]["dateOfBirth"] = "2007-01-16"
    resp = fresh.send("CreateCustomer", minor_)
    assert resp.json()["invariant"] == "CUSTOMER_MUST_BE_ADULT"


def test_upsert_product_updates_and_applies_to_existing_accounts(fresh: Fresh) -> None:
    t = fresh.tenant
    products = {
        p["productCode"]: p for p in fresh.api.get(f"/tenants/{t}/products").json()["products"]
    }
    first = products["TXN_ACCOUNT_BASIC"]
    assert first["status"] == "ACTIVE" and first["tenantId"] == t
    # Allow an overdraft of 50: the txn account (100.00) may now go to -50.00.
    overdraft = {"allowOverdraft": True, "overdraftLimit": 50}
    resp = fresh.send("UpsertProduct", {**TXN_BASIC, "constraints": overdraft})
    assert resp.status_code == 202
    event = fresh.api.get(f"/tenants/{t}/events", eventType="ProductUpdated").json()["events"]
    assert [e["entityId"] for e in event] == ["TXN_ACCOUNT_BASIC"]
    products = {
        p["productCode"]: p for p in fresh.api.get(f"/tenants/{t}/products").json()["products"]
    }
    updated = products["TXN_ACCOUNT_BASIC"]
    assert updated["createdAt"] == first["createdAt"]
    assert updated["updatedAt"] > first["updatedAt"]
    assert updated["constraints"] == overdraft
    assert list(products) == ["TXN_ACCOUNT_BASIC", "SAVINGS_STANDARD", "CC_LOW_RATE"]
    assert fresh.entry([(fresh.txn, "CREDIT", 150), ("GL_FEES", "DEBIT", 150)]).status_code == 202
    resp = fresh.entry([(fresh.txn, "CREDIT", 0.01), ("GL_FEES", "DEBIT", 0.01)])
    assert resp.json()["invariant"] == "OVERDRAFT_LIMIT_EXCEEDED"
    # Deactivate: status INACTIVE, and no new accounts on it.
    assert fresh.send("UpsertProduct", {**SAVINGS, "active": False}).status_code == 202
    products = {
        p["productCode"]: p for p in fresh.api.get(f"/tenants/{t}/products").json()["products"]
    }
    assert products["SAVINGS_STANDARD"]["status"] == "INACTIVE"
    resp = fresh.api.open_account(fresh.customer, "SAVINGS_STANDARD", tenant=t)
    assert resp.json()["invariant"] == "PRODUCT_MUST_BE_ACTIVE"


def test_min_balance_is_the_opening_minimum_and_the_floor_without_an_overdraft(
    fresh: Fresh,
) -> None:
    keep = {**SAVINGS, "productCode": "KEEP_100", "constraints": {"minBalance": 100}}
    assert fresh.send("UpsertProduct", keep).status_code == 202
    t = fresh.tenant
    short = fresh.api.open_account(fresh.customer, "KEEP_100", tenant=t, initialDeposit=99.99)
    assert short.json()["invariant"] == "INITIAL_DEPOSIT_BELOW_MINIMUM", short.text
    resp = fresh.api.open_account(fresh.customer, "KEEP_100", tenant=t, initialDeposit=150)
    assert resp.status_code == 202, resp.text
    account = resp.json()["accountId"]
    assert fresh.entry([(account, "CREDIT", 50), ("GL_FEES", "DEBIT", 50)]).status_code == 202
    under = fresh.entry([(account, "CREDIT", 0.01), ("GL_FEES", "DEBIT", 0.01)])
    assert under.json()["invariant"] == "OVERDRAFT_LIMIT_EXCEEDED", under.text
    assert fresh.balance(account) == 100
    # With allowOverdraft the floor is -overdraftLimit instead (accounts follow the product).
    overdraft = {"minBalance": 100, "allowOverdraft": True, "overdraftLimit": 20}
    assert fresh.send("UpsertProduct", {**keep, "constraints": overdraft}).status_code == 202
    assert fresh.entry([(account, "CREDIT", 120), ("GL_FEES", "DEBIT", 120)]).status_code == 202
    under = fresh.entry([(account, "CREDIT", 0.01), ("GL_FEES", "DEBIT", 0.01)])
    assert under.json()["invariant"] == "OVERDRAFT_LIMIT_EXCEEDED", under.text
    assert fresh.balance(account) == -20


def test_loan_product_and_100_leg_entry(fresh: Fresh) -> None:
    loan = {
        "productCode": "PERSONAL_LOAN",
        "name": "Personal Loan",
        "productType": "LOAN",
        "interest": {"rate": 0.0899},
        "constraints": {
            "minAmount": 5000,
            "maxAmount": 50000,
            "termMonthsDefault": 60,
            "termMonthsOptions": [12, 24, 36, 48, 60],
        },
    }
    assert fresh.send("UpsertProduct", loan).status_code == 202
    resp = fresh.api.open_account(
        fresh.customer, "PERSONAL_LOAN", tenant=fresh.tenant, facilityLimit=20000
    )
    assert resp.status_code == 202, resp.text
    loan_account = resp.json()["result"]["accountId"]
    types = [
        e["eventType"]
        for e in fresh.api.get(f"/tenants/{fresh.tenant}/events", entityId=loan_account).json()[
            "events"
        ]
    ]
    assert types == ["AccountOpened", "LoanFacilityCreated"]
    account = fresh.api.get(f"/tenants/{fresh.tenant}/accounts/{loan_account}").json()
    assert account["facilityLimit"] == 20000 and account["balance"] == 0
    # Without a facilityLimit (as published) the loan takes the product's maxAmount.
    resp = fresh.api.open_account(fresh.customer, "PERSONAL_LOAN", tenant=fresh.tenant)
    assert resp.status_code == 202, resp.text
    default_loan = resp.json()["accountId"]
    facility = fresh.api.get(
        f"/tenants/{fresh.tenant}/events", entityId=default_loan, eventType="LoanFacilityCreated"
    ).json()["events"]
    assert [e["payload"] for e in facility] == [
        {"accountId": default_loan, "facilityLimit": 50000, "currency": "AUD"}
    ]
    account = fresh.api.get(f"/tenants/{fresh.tenant}/accounts/{default_loan}").json()
    assert account["facilityLimit"] == 50000
    assert (
        fresh.entry([(default_loan, "CREDIT", 50000), ("GL_FEES", "DEBIT", 50000)]).status_code
        == 202
    )
    over = fresh.entry([(default_loan, "CREDIT", 0.01), ("GL_FEES", "DEBIT", 0.01)])
    assert over.json()["invariant"] == "OVERDRAFT_LIMIT_EXCEEDED", over.text
    # A limit outside minAmount..maxAmount is refused.
    for limit in (4999.99, 50000.01):
        resp = fresh.api.open_account(
            fresh.customer, "PERSONAL_LOAN", tenant=fresh.tenant, facilityLimit=limit
        )
        assert resp.json()["invariant"] == "FACILITY_LIMIT_OUT_OF_RANGE", resp.text
    # Draw down: the loan goes negative (owed), the member's account up.
    legs = [(loan_account, "CREDIT", 0.5)] * 50 + [(fresh.txn, "DEBIT", 0.5)] * 50
    resp = fresh.entry(legs)
    assert resp.status_code == 202, resp.text
    assert len(resp.json()["eventIds"]) == 3  # EntryPosted + 2 accounts
    assert fresh.balance(loan_account) == -25
    assert fresh.balance(fresh.txn) == 125
    # The largest amount there is, between GL accounts (no bounds).
    resp = fresh.entry(
        [("GL_LOAN_FUNDING", "DEBIT", 100_000_000_000), ("GL_SUSPENSE", "CREDIT", 100_000_000_000)]
    )
    assert resp.status_code == 202, resp.text
    assert fresh.balance("GL_LOAN_FUNDING") == 100_000_000_000


def test_every_balance_stays_within_ten_to_the_15_minor_units(fresh: Fresh) -> None:
    """docs/contract.md: GL accounts too stay within +-10^15 minor units, so a balance
    written as a JSON number keeps every cent."""
    biggest = 100_000_000_000  # the largest amount, 10^13 minor units
    legs = [("GL_LOAN_FUNDING", "DEBIT", biggest)] * 50 + [("GL_SUSPENSE", "CREDIT", biggest)] * 50
    for _ in range(2):  # 2 x 50 x 10^13 = 10^15: exactly at the bound
        resp = fresh.entry(legs)
        assert resp.status_code == 202, resp.text
    assert fresh.balance("GL_LOAN_FUNDING") == 10_000_000_000_000
    assert fresh.balance("GL_SUSPENSE") == -10_000_000_000_000
    before = fresh.last_sequence()
    # One cent more, either way round, is refused.
    over = fresh.entry([("GL_LOAN_FUNDING", "DEBIT", 0.01), ("GL_FEES", "CREDIT", 0.01)])
    assert over.json()["invariant"] == "MAX_BALANCE_EXCEEDED", over.text
    under = fresh.entry([("GL_SUSPENSE", "CREDIT", 0.01), ("GL_FEES", "DEBIT", 0.01)])
    assert under.json()["invariant"] == "OVERDRAFT_LIMIT_EXCEEDED", under.text
    assert fresh.last_sequence() == before
    # Back towards zero is always fine, to the cent.
    resp = fresh.entry([("GL_LOAN_FUNDING", "CREDIT", 0.01), ("GL_SUSPENSE", "DEBIT", 0.01)])
    assert resp.status_code == 202, resp.text
    assert fresh.balance("GL_LOAN_FUNDING") == 9_999_999_999_999.99
    assert fresh.balance("GL_SUSPENSE") == -9_999_999_999_999.99


# ------------------------------------------------------------------- idempotency


def test_replay_same_key_same_payload_new_command_id_and_timestamp(fresh: Fresh) -> None:
    client, t = fresh.api.client, fresh.tenant
    payload = entry([("GL_SALARY_CLEARING", "CREDIT", 3000), (fresh.txn, "DEBIT", 3000)], "salary")
    first_cmd = envelope(t, "PostEntry", payload, idempotencyKey="salary:2025-01-14")
    first = post(client, t, first_cmd)
    assert first.status_code == 202
    assert "idempotent-replayed" not in first.headers
    after_first = fresh.last_sequence()
    counts = table_counts(client)
    # Something else happens in between: the replay still returns the first reply.
    assert fresh.entry([(fresh.txn, "CREDIT", 1), ("GL_FEES", "DEBIT", 1)]).status_code == 202
    after_other = fresh.last_sequence()
    assert after_other > after_first
    counts = table_counts(client)
    again = envelope(
        t,
        "PostEntry",
        json.loads(json.dumps(payload)),
        idempotencyKey="salary:2025-01-14",
        timestamp="2025-01-16T10:00:00Z",
        actor_id="someone-else",
        actor_type="USER",
    )
    assert again["commandId"] != first_cmd["commandId"]
    replay = post(client, t, again, **{"X-Correlation-Id": "another-correlation"})
    assert replay.status_code == 202
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.content == first.content  # byte for byte
    assert replay.json()["commandId"] == first_cmd["commandId"]
    assert fresh.last_sequence() == after_other
    assert table_counts(client) == counts
    assert fresh.balance(fresh.txn) == 100 + 3000 - 1


def _with_nulls(value: Any, nulls: dict[str, Any]) -> Any:
    """`value` with the nulls of `nulls` (same shape) added: {"a": None, "b": {"c": None}}."""
    out = copy.deepcopy(value)
    for key, null in nulls.items():
        if isinstance(null, dict):
            out[key] = _with_nulls(out[key], null)
        else:
            assert key not in out, f"{key} is given: a null would not be the field left out"
            out[key] = None
    return out


NULL_CASES = [
    pytest.param(
        "UpsertProduct",
        lambda f: {
            **{k: v for k, v in SAVINGS.items() if k != "category"},
            "productCode": "NULL_SAVER",
            "interest": {**SAVINGS["interest"], "bonusConditions": {"minDeposit": 200}},
        },
        {
            "category": None,
            "description": None,
            "active": None,
            "fees": None,
            "features": None,
            "creditCriteria": None,
            "interest": {"rate": None, "purchaseRate": None, "calculationMethod": None},
            "constraints": {
                "maxAmount": None,
                "allowOverdraft": None,
                "overdraftLimit": None,
                "minAmount": None,
                "termMonthsOptions": None,
                "minAge": None,
            },
        },
        id="upsert-product",
    ),
    pytest.param(
        "CreateCustomer",
        lambda f: {
            **{k: v for k, v in customer_payload(40).items() if k != "externalRef"},
            "employment": {"status": "CASUAL"},
            "riskProfile": {"segment": "RETAIL"},
        },
        {
            "externalRef": None,
            "address": {"line2": None},
            "employment": {"employer": None, "occupation": None, "annualIncome": None},
            "riskProfile": {"kycStatus": None, "creditScore": None},
        },
        id="create-customer",
    ),
    pytest.param(
        "OpenAccount",
        lambda f: {"customerId": f.customer, "productCode": "TXN_ACCOUNT_BASIC", "currency": "AUD"},
        {
            "accountAlias": None,
            "initialDeposit": None,
            "accountPurpose": None,
            "facilityLimit": None,
        },
        id="open-account",
    ),
    pytest.param(
        "OpenAccount",
        lambda f: {"customerId": f.customer, "productCode": "CC_LOW_RATE", "currency": "AUD"},
        {"facilityLimit": None, "initialDeposit": None},
        id="open-card-default-facility",
    ),
    pytest.param(
        "PostEntry",
        lambda f: entry([(f.txn, "DEBIT", 5), ("GL_FEES", "CREDIT", 5)], "nulls"),
        {"tags": None, "metadata": None},
        id="post-entry",
    ),
    pytest.param(
        "PostEntry",
        lambda f: {
            **entry([(f.txn, "DEBIT", 5), ("GL_FEES", "CREDIT", 5)], "leg nulls"),
            "legs": [
                {"accountId": f.txn, "direction": "DEBIT", "amount": 5, "currency": None},
                {"accountId": "GL_FEES", "direction": "CREDIT", "amount": 5},
            ],
        },
        {},
        id="post-entry-leg-currency",
    ),
]


@pytest.mark.parametrize(("command_type", "payload", "nulls"), NULL_CASES)
def test_null_in_an_optional_field_is_the_field_left_out(
    fresh: Fresh, command_type: str, payload: Callable[[Fresh], dict[str, Any]], nulls: Any
) -> None:
    """An explicit null in an optional field (payload or envelope) is the field absent: the
    command is accepted, its events are those of the command without it, and it replays
    the command without it (and the other way round)."""
    t, client = fresh.tenant, fresh.api.client
    with_nulls = _with_nulls(payload(fresh), nulls)
    without = payload(fresh)
    if command_type == "PostEntry" and not nulls:
        without["legs"][0].pop("currency")
    first = envelope(t, command_type, with_nulls, idempotencyKey=f"nulls:{command_type}")
    resp = post(client, t, first)
    assert resp.status_code == 202, resp.text
    events = {e["eventId"]: e for e in all_events(client, t)}
    stored = [events[i]["payload"] for i in resp.json()["eventIds"]]
    counts = table_counts(client)
    # The same command without the nulls is the same command: a replay.
    replay = post(
        client, t, envelope(t, command_type, without, idempotencyKey=f"nulls:{command_type}")
    )
    assert replay.status_code == 202, replay.text
    assert replay.headers.get("idempotent-replayed") == "true"
    assert replay.content == resp.content
    assert table_counts(client) == counts
    # And the events are those of the command without the nulls: no field holds a null
    # that was sent, and nothing the command sent is lost.
    if command_type == "UpsertProduct":
        assert stored == [{**without, "active": True}]
    elif command_type == "CreateCustomer":
        assert stored[0] == {"customerId": resp.json()["customerId"], **without}
    elif command_type == "PostEntry":
        posted = {k: v for k, v in stored[0].items() if k != "entryId"}
        assert posted == {**without, "tags": {}, "metadata": {}}
    else:
        assert [events[i]["eventType"] for i in resp.json()["eventIds"]] == (
            ["AccountOpened", "LoanFacilityCreated"]
            if without["productCode"] == "CC_LOW_RATE"
            else ["AccountOpened"]
        )
        if without["productCode"] == "CC_LOW_RATE":
            assert stored[1]["facilityLimit"] == CARD["constraints"]["maxAmount"]
    # The other way round: without first, then with the nulls, is a replay too.
    key = f"nulls-reversed:{command_type}"
    if command_type in ("UpsertProduct", "CreateCustomer"):
        return  # a second product or customer would differ only by its code or email
    first = post(client, t, envelope(t, command_type, without, idempotencyKey=key))
    assert first.status_code == 202, first.text
    again = post(client, t, envelope(t, command_type, with_nulls, idempotencyKey=key))
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.content == first.content


def test_null_envelope_fields_are_left_out(fresh: Fresh) -> None:
    """A null idempotencyKey is no key: the commandId is the key."""
    t, client = fresh.tenant, fresh.api.client
    command = envelope(t, "CreateCustomer", customer_payload(41), idempotencyKey=None)
    resp = post(client, t, command)
    assert resp.status_code == 202, resp.text
    before = fresh.last_sequence()
    again = post(client, t, {**command, "idempotencyKey": None})
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.content == resp.content
    assert fresh.last_sequence() == before


def test_replay_key_order_does_not_matter(fresh: Fresh) -> None:
    payload = customer_payload(30)
    first = fresh.send("CreateCustomer", payload, idempotencyKey="onboard-30")
    reordered = {k: payload[k] for k in reversed(list(payload))}
    reordered["person"] = {k: payload["person"][k] for k in reversed(list(payload["person"]))}
    replay = fresh.send("CreateCustomer", reordered, idempotencyKey="onboard-30")
    assert replay.headers.get("idempotent-replayed") == "true"
    assert replay.content == first.content


def test_replay_with_equal_numbers_written_differently(fresh: Fresh) -> None:
    """3000, 3000.0 and 3000.00 are one JSON number: the same payload, so a replay."""
    t = fresh.tenant
    template = envelope(
        t,
        "PostEntry",
        entry([("GL_SALARY_CLEARING", "CREDIT", 12345), (fresh.txn, "DEBIT", 12345)], "salary"),
        idempotencyKey="salary-number-spelling",
    )
    raw = json.dumps(template)
    json_headers = headers(**{"Content-Type": "application/json"})
    first = fresh.api.client.post(f"/v1/tenants/{t}/commands", content=raw, headers=json_headers)
    assert first.status_code == 202
    before = fresh.last_sequence()
    respelled = raw.replace(": 12345", ": 12345.00").replace(
        template["commandId"], str(uuid.uuid4())
    )
    replay = fresh.api.client.post(
        f"/v1/tenants/{t}/commands", content=respelled, headers=json_headers
    )
    assert replay.status_code == 202, replay.text
    assert replay.headers.get("idempotent-replayed") == "true"
    assert replay.content == first.content
    assert fresh.last_sequence() == before


def test_same_key_other_payload_is_idempotency_key_reused(fresh: Fresh) -> None:
    client, t = fresh.api.client, fresh.tenant
    legs = [("GL_SALARY_CLEARING", "CREDIT", 10), (fresh.txn, "DEBIT", 10)]
    first = post(client, t, envelope(t, "PostEntry", entry(legs, "x"), idempotencyKey="k-1"))
    assert first.status_code == 202
    counts = table_counts(client)
    before = fresh.last_sequence()
    for payload, command_type in (
        (entry([("GL_SALARY_CLEARING", "CREDIT", 11), (fresh.txn, "DEBIT", 11)], "x"), "PostEntry"),
        (entry(legs, "another narrative"), "PostEntry"),
        (customer_payload(40), "CreateCustomer"),
    ):
        command = envelope(t, command_type, payload, idempotencyKey="k-1")
        body = assert_violation(
            post(client, t, command), "IDEMPOTENCY_KEY_REUSED", command["commandId"]
        )
        assert "idempotent-replayed" not in body
    assert fresh.last_sequence() == before
    assert table_counts(client) == counts


def test_without_a_key_the_command_id_is_the_key(fresh: Fresh) -> None:
    client, t = fresh.api.client, fresh.tenant
    payload = entry([("GL_SALARY_CLEARING", "CREDIT", 10), (fresh.txn, "DEBIT", 10)], "x")
    command = envelope(t, "PostEntry", payload)
    first = post(client, t, command)
    assert first.status_code == 202
    before = fresh.last_sequence()
    replay = post(client, t, {**command, "timestamp": "2025-02-01T00:00:00Z"})
    assert replay.headers.get("idempotent-replayed") == "true"
    assert replay.content == first.content
    assert fresh.last_sequence() == before
    other_legs = [("GL_SALARY_CLEARING", "CREDIT", 20), (fresh.txn, "DEBIT", 20)]
    changed = {**command, "payload": entry(other_legs, "x")}
    assert_violation(post(client, t, changed), "IDEMPOTENCY_KEY_REUSED", command["commandId"])
    # The same payload under a new commandId (and no key) is a new command.
    new = post(client, t, envelope(t, "PostEntry", payload))
    assert new.status_code == 202 and "idempotent-replayed" not in new.headers
    assert fresh.last_sequence() == before + 3
    assert fresh.balance(fresh.txn) == 120


def test_a_rejected_command_is_not_remembered(fresh: Fresh) -> None:
    t = fresh.tenant
    payload = {"customerId": fresh.customer, "productCode": "TERM_6M", "currency": "AUD"}
    command = envelope(t, "OpenAccount", payload, idempotencyKey="open-term")
    assert_violation(post(fresh.api.client, t, command), "PRODUCT_MUST_EXIST", command["commandId"])
    term = {**SAVINGS, "productCode": "TERM_6M", "productType": "TERM_DEPOSIT", "constraints": {}}
    assert fresh.send("UpsertProduct", term).status_code == 202
    retry = envelope(t, "OpenAccount", payload, idempotencyKey="open-term")
    resp = post(fresh.api.client, t, retry)
    assert resp.status_code == 202, resp.text
    assert "idempotent-replayed" not in resp.headers
    assert resp.json()["commandId"] == retry["commandId"]
    # A 400 is not remembered either: the same commandId, fixed, is accepted.
    bad = envelope(t, "CreateCustomer", {**customer_payload(5), "unexpected": 1})
    assert_error(post(fresh.api.client, t, bad), 400, "VALIDATION_ERROR")
    fixed = {**bad, "payload": customer_payload(5)}
    assert post(fresh.api.client, t, fixed).status_code == 202


def test_keys_are_per_tenant(mod_client: TestClient, fresh: Fresh, example: Example) -> None:
    # The example used key "examples:createCustomer:CU_DIGITAL" on CU_DIGITAL; on another
    # tenant the same key is unrelated.
    command = envelope(
        fresh.tenant,
        "CreateCustomer",
        {**EXAMPLE_CUSTOMER, "externalRef": "MEM-ELSEWHERE"},
        idempotencyKey=example.command("createCustomer")["idempotencyKey"],
    )
    resp = post(mod_client, fresh.tenant, command)
    assert resp.status_code == 202 and "idempotent-replayed" not in resp.headers


def test_create_tenant_replay_is_not_tenant_code_unique(
    mod_client: TestClient, example: Example
) -> None:
    first = example.command("createTenant")
    before = table_counts(mod_client)
    replay = post(mod_client, TENANT, {**first, "commandId": str(uuid.uuid4())})
    assert replay.status_code == 202
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.content == example.reply("createTenant").content
    assert table_counts(mod_client) == before


# ------------------------------------------------------------------------- queries


def test_get_tenant(mod_client: TestClient, example: Example) -> None:
    tenant = mod_client.get(f"/v1/tenants/{TENANT}", headers=headers(CU_KEY)).json()
    assert set(tenant) == TENANT_KEYS
    assert tenant == {
        **tenant,
        "tenantId": TENANT,
        **tenant_payload(TENANT),  # CU Digital Twin, AU, AUD, Australia/Sydney
        **CREDIT_UNION,
        "status": "ACTIVE",
        "createdAt": example.reply("createTenant").json()["acceptedAt"],
    }
    assert re.fullmatch(r"[0-9a-f]{64}", tenant["lastHash"])


def test_products(mod_client: TestClient, example: Example) -> None:
    products = mod_client.get(f"/v1/tenants/{TENANT}/products", headers=headers(CU_KEY)).json()
    assert list(products) == ["products"]
    listed = products["products"]
    assert [p["productCode"] for p in listed] == [
        "TXN_ACCOUNT_BASIC",
        "SAVINGS_STANDARD",
        "CC_LOW_RATE",
    ]
    for product, sent, name in zip(
        listed,
        (TXN_PRODUCT, SAVINGS, CARD_PRODUCT),
        ("upsertTxn", "upsertSavings", "upsertCard"),
        strict=True,
    ):
        accepted = example.reply(name).json()["acceptedAt"]
        assert product == {
            **sent,
            "active": True,
            "tenantId": TENANT,
            "status": "ACTIVE",
            "createdAt": accepted,
            "updatedAt": accepted,
        }


def test_customers_page_and_detail(mod_client: TestClient, example: Example) -> None:
    page = mod_client.get(f"/v1/tenants/{TENANT}/customers", headers=headers(CU_KEY)).json()
    assert set(page) == {"customers", "total", "limit", "offset"}
    assert (page["total"], page["limit"], page["offset"]) == (1, 50, 0)
    summary = page["customers"][0]
    person = EXAMPLE_CUSTOMER["person"]
    assert summary == {
        "customerId": example.ids["customer"],
        "externalRef": "MEM-000001",
        "fullName": "Olivia Nguyen",
        "email": person["email"],
        "segment": "RETAIL",
        "kycStatus": "SIMULATED_PASSED",
        "createdAt": example.reply("createCustomer").json()["acceptedAt"],
        "tenantId": TENANT,
        "firstName": person["firstName"],
        "lastName": person["lastName"],
        "mobile": person["mobile"],
        "status": "ACTIVE",
    }
    detail = mod_client.get(
        f"/v1/tenants/{TENANT}/customers/{example.ids['customer']}", headers=headers(CU_KEY)
    ).json()
    assert set(detail) == CUSTOMER_SUMMARY_KEYS | {"person", "address", "employment", "riskProfile"}
    assert {k: detail[k] for k in CUSTOMER_SUMMARY_KEYS} == summary
    assert detail["person"] == person
    assert EXAMPLE_CUSTOMER["address"].items() <= detail["address"].items()
    assert detail["employment"] == EXAMPLE_CUSTOMER["employment"]
    assert detail["riskProfile"] == EXAMPLE_CUSTOMER["riskProfile"]


def test_customers_paging(mod_client: TestClient, other: dict[str, Any]) -> None:
    def page(**params: Any) -> Any:
        return mod_client.get(
            f"/v1/tenants/{OTHER}/customers", params=params, headers=headers(OTHER_KEY)
        )

    everyone = page(limit=1000).json()
    assert everyone["total"] == 5 and everyone["limit"] == 1000
    # Customers without a riskProfile: the published segment and kycStatus are null.
    first = everyone["customers"][0]
    assert set(first) == CUSTOMER_SUMMARY_KEYS
    assert (first["segment"], first["kycStatus"], first["fullName"]) == (
        None,
        None,
        "Olivia Nguyen",
    )
    assert [c["customerId"] for c in everyone["customers"]] == other["customers"]  # creation order
    walked = [page(limit=1, offset=n).json() for n in range(5)]
    assert [p["customers"][0]["customerId"] for p in walked] == other["customers"]
    assert all((p["total"], p["limit"]) == (5, 1) for p in walked)
    assert [c["customerId"] for c in page(limit=2, offset=3).json()["customers"]] == other[
        "customers"
    ][3:]
    for offset in (5, 6, 1_000_000_000):
        past = page(offset=offset).json()
        assert past == {"customers": [], "total": 5, "limit": 50, "offset": offset}


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 1001},
        {"limit": -1},
        {"limit": "ten"},
        {"limit": "1.5"},
        {"offset": -1},
        {"offset": 1_000_000_001},
        {"offset": "x"},
    ],
    ids=lambda p: "-".join(f"{k}={v}" for k, v in p.items()),
)
@pytest.mark.parametrize("what", ["customers", "accounts"])
@SQLITE_ONLY
def test_paging_limits_out_of_range_are_400(
    mod_client: TestClient, example: Example, what: str, params: dict[str, Any]
) -> None:
    resp = mod_client.get(f"/v1/tenants/{TENANT}/{what}", params=params, headers=headers())
    body = assert_error(resp, 400, "VALIDATION_ERROR")
    assert body["details"]["errors"][0]["loc"][-1] in params


@pytest.mark.parametrize(
    "path,params",
    [
        ("events", {"limit": 0}),
        ("events", {"limit": 1001}),
        ("events", {"after": -1}),
        ("events", {"after": "latest"}),
        ("events", {"eventType": "SomethingHappened"}),
        ("events", {"entityId": "x" * 65}),
        ("accounts", {"accountType": "SAVINGS"}),
        ("accounts", {"accountType": "all"}),
        ("accounts", {"accountType": ""}),
        ("accounts", {"customerId": "x" * 65}),
        ("accounts/GL_FEES/events", {"limit": 1001}),
        ("accounts/GL_FEES/events", {"limit": 0}),
        ("accounts/GL_FEES/events", {"after": -5}),
        ("accounts/GL_FEES/events", {"offset": -1}),
        ("accounts/GL_FEES/events", {"offset": 1_000_000_001}),
        ("accounts/GL_FEES/events", {"offset": "next"}),
    ],
)
@SQLITE_ONLY
def test_bad_query_parameters_are_400(
    mod_client: TestClient, example: Example, path: str, params: dict[str, Any]
) -> None:
    resp = mod_client.get(f"/v1/tenants/{TENANT}/{path}", params=params, headers=headers())
    body = assert_error(resp, 400, "VALIDATION_ERROR")
    assert body["details"]["errors"][0]["loc"][-1] in params


# The query parameters each query defines (docs: any other is a 400 naming it).
QUERY_PARAMETERS: dict[str, list[str]] = {
    "/v1/tenants/{t}": [],
    "/v1/tenants/{t}/products": [],
    "/v1/tenants/{t}/customers": ["limit", "offset"],
    "/v1/tenants/{t}/customers/{customer}": [],
    "/v1/tenants/{t}/accounts": ["accountType", "customerId", "limit", "offset"],
    "/v1/tenants/{t}/accounts/{txn}": [],
    "/v1/tenants/{t}/accounts/{txn}/events": ["after", "limit", "offset"],
    "/v1/tenants/{t}/events": ["after", "entityId", "eventType", "limit"],
}


@pytest.mark.parametrize("path", GET_PATHS)
@SQLITE_ONLY
def test_an_unknown_query_parameter_is_a_400_naming_it(
    mod_client: TestClient, example: Example, path: str
) -> None:
    """A parameter the query does not define is never ignored: a filter or sort silently
    dropped would change the answer. Misspellings and wrong case are unknown too."""
    url = path.format(t=TENANT, **example.ids)
    allowed = QUERY_PARAMETERS[path]
    assert mod_client.get(url, headers=headers()).status_code == 200
    for name, params in (
        ("bogus", {"bogus": "1"}),
        ("sort", {"sort": "balance"}),
        ("Limit", {"Limit": "5"}),
        ("limt", {"limt": "5"}),
        ("accountTyp", {"accountTyp": "GL"}),
        ("page", {"page": "2"}),
        ("bogus", {**{a: "1" for a in allowed if a in ("limit", "offset")}, "bogus": "1"}),
    ):
        resp = mod_client.get(url, params=params, headers=headers())
        body = assert_error(resp, 400, "VALIDATION_ERROR")
        assert body["details"] == {"parameter": name, "allowed": allowed}, body
        assert name in body["message"], body["message"]
    # An empty query string, or a known parameter, is fine.
    for name in allowed:
        if name in ("limit", "offset"):
            assert mod_client.get(url, params={name: 1}, headers=headers()).status_code == 200


@SQLITE_ONLY
def test_the_command_gateway_takes_no_query_parameters(fresh: Fresh) -> None:
    client, t = fresh.api.client, fresh.tenant
    before = table_counts(client)
    for query in ("dryRun=true", "idempotencyKey=k", "x", "async=1&x=2"):
        command = envelope(t, "CreateCustomer", customer_payload(42))
        resp = client.post(f"/v1/tenants/{t}/commands?{query}", json=command, headers=headers())
        body = assert_error(resp, 400, "VALIDATION_ERROR")
        name = query.split("&")[0].split("=")[0]
        assert body["details"] == {"parameter": name, "allowed": []}, body
        assert name in body["message"]
    assert table_counts(client) == before
    resp = post(client, t, envelope(t, "CreateCustomer", customer_payload(42)))
    assert resp.status_code == 202, resp.text


def test_an_unknown_query_parameter_is_refused_on_each_backend(
    mod_client: TestClient, example: Example
) -> None:
    resp = mod_client.get(
        f"/v1/tenants/{TENANT}/accounts", params={"type": "GL"}, headers=headers(CU_KEY)
    )
    assert_error(resp, 400, "VALIDATION_ERROR")
    assert resp.json()["details"]["parameter"] == "type"
    # Authentication still comes first: without a key it is a 401, not a 400.
    resp = mod_client.get(f"/v1/tenants/{TENANT}/accounts", params={"type": "GL"})
    assert_error(resp, 401, "UNAUTHENTICATED")


def test_accounts_page_filters_and_detail(mod_client: TestClient, example: Example) -> None:
    def page(**params: Any) -> Any:
        resp = mod_client.get(
            f"/v1/tenants/{TENANT}/accounts", params=params, headers=headers(CU_KEY)
        )
        assert resp.status_code == 200, resp.text
        return resp.json()

    ids = example.ids
    members_ids = [ids["txn"], ids["savings"], ids["card"]]
    # By default the members' accounts only (the published flow reads accounts?limit=1
    # as a member's account); total counts what the filter selects.
    members = page()
    assert set(members) == {"accounts", "total", "limit", "offset"}
    assert (members["total"], members["limit"], members["offset"]) == (3, 50, 0)
    assert [a["accountId"] for a in members["accounts"]] == members_ids
    assert page(accountType="CUSTOMER") == members
    first = page(limit=1)
    assert (first["total"], [a["accountId"] for a in first["accounts"]]) == (3, [ids["txn"]])
    gl = page(accountType="GL")
    assert gl["total"] == 11 and [a["accountId"] for a in gl["accounts"]] == list(GL_CHART)
    assert all(a["customerId"] is None and a["productCode"] is None for a in gl["accounts"])
    assert {a["accountType"] for a in gl["accounts"]} == {"GL"}
    everything = page(accountType="ALL")
    assert (everything["total"], everything["limit"], everything["offset"]) == (14, 50, 0)
    assert [a["accountId"] for a in everything["accounts"]] == [*GL_CHART, *members_ids]
    gl_page = page(accountType="GL", limit=5, offset=10)
    assert (gl_page["total"], [a["accountId"] for a in gl_page["accounts"]]) == (
        11,
        [GL_CHART[10]],
    )
    all_page = page(accountType="ALL", limit=2, offset=11)
    assert (all_page["total"], [a["accountId"] for a in all_page["accounts"]]) == (
        14,
        members_ids[:2],
    )
    mine = page(customerId=ids["customer"])
    assert mine["total"] == 3
    assert page(customerId=ids["customer"], accountType="ALL")["total"] == 3
    assert page(customerId=ids["customer"], accountType="GL")["total"] == 0
    assert page(customerId="nobody")["total"] == 0
    assert page(customerId="nobody", accountType="ALL")["total"] == 0
    one = page(customerId=ids["customer"], limit=1, offset=2)
    assert (one["total"], [a["accountId"] for a in one["accounts"]]) == (3, [ids["card"]])
    past = page(offset=3)
    assert (past["accounts"], past["total"], past["offset"]) == ([], 3, 3)
    past = page(offset=14, accountType="ALL")
    assert (past["accounts"], past["total"], past["offset"]) == ([], 14, 14)
    assert len(page(limit=1000, accountType="ALL")["accounts"]) == 14

    card = mod_client.get(
        f"/v1/tenants/{TENANT}/accounts/{ids['card']}", headers=headers(CU_KEY)
    ).json()
    assert set(card) == ACCOUNT_KEYS
    assert card == {
        **card,
        "accountId": ids["card"],
        "tenantId": TENANT,
        "accountType": "CUSTOMER",
        "customerId": ids["customer"],
        "productCode": "CC_LOW_RATE",
        "productType": "CREDIT_CARD",
        "currency": "AUD",
        "balance": 0,
        "facilityLimit": 5000,
        "accountAlias": None,
        "accountPurpose": None,
        "status": "ACTIVE",
        "openedAt": example.reply("openCard").json()["acceptedAt"],
    }
    assert members["accounts"][2] == card
    txn = mod_client.get(f"/v1/tenants/{TENANT}/accounts/{ids['txn']}", headers=headers()).json()
    assert (txn["accountAlias"], txn["accountPurpose"], txn["facilityLimit"]) == (
        "Everyday",
        "Day-to-day spending",
        None,
    )


def test_account_events_paging(mod_client: TestClient, example: Example) -> None:
    txn = example.ids["txn"]
    url = f"/v1/tenants/{TENANT}/accounts/{txn}/events"
    full = mod_client.get(url, headers=headers(CU_KEY)).json()
    assert set(full) == {"events", "nextCursor"}
    assert full["nextCursor"] is None
    types = [e["eventType"] for e in full["events"]]
    assert types == [
        "AccountOpened",
        "FundsPosted",
        "EntryPosted",
        "AccountBalanceUpdated",
        "EntryPosted",
        "AccountBalanceUpdated",
        "EntryPosted",
        "AccountBalanceUpdated",
    ]
    sequences = [e["sequence"] for e in full["events"]]
    assert sequences == sorted(sequences)
    walked: list[dict[str, Any]] = []
    after = 0
    pages = 0
    while True:
        page = mod_client.get(url, params={"after": after, "limit": 3}, headers=headers()).json()
        pages += 1
        walked.extend(page["events"])
        if page["nextCursor"] is None:
            break
        assert page["nextCursor"] == page["events"][-1]["sequence"]
        after = page["nextCursor"]
    assert walked == full["events"] and pages == 3
    one = mod_client.get(url, params={"limit": 1}, headers=headers()).json()
    assert one["events"] == full["events"][:1] and one["nextCursor"] == sequences[0]
    last = mod_client.get(url, params={"after": sequences[-1]}, headers=headers()).json()
    assert last == {"events": [], "nextCursor": None}
    # offset skips that many events; with `after`, it skips them after the cursor.
    for params, expected in (
        ({"offset": 0}, full["events"]),
        ({"offset": 3}, full["events"][3:]),
        ({"offset": 2, "limit": 3}, full["events"][2:5]),
        ({"offset": 7}, full["events"][7:]),
        ({"offset": 8}, []),
        ({"offset": 1_000_000_000}, []),
        ({"after": sequences[1], "offset": 1}, full["events"][3:]),
        ({"after": sequences[1], "offset": 1, "limit": 2}, full["events"][3:5]),
        ({"after": sequences[5], "offset": 2}, []),
    ):
        page = mod_client.get(url, params=params, headers=headers()).json()
        assert page["events"] == expected, params
        more = [e for e in full["events"] if e["sequence"] > params.get("after", 0)]
        more = more[params["offset"] + params.get("limit", 100) :]
        # The cursor is the last event given while more follow, so walking on from it
        # (after=nextCursor, no offset) reads the rest.
        assert page["nextCursor"] == (expected[-1]["sequence"] if more else None), params
    # Walking by offset alone reads the same events as walking by cursor.
    walked = []
    for offset in range(0, len(sequences), 3):
        walked += mod_client.get(
            url, params={"offset": offset, "limit": 3}, headers=headers()
        ).json()["events"]
    assert walked == full["events"]
    # GL_INITIAL_DEPOSIT_CLEARING is touched by both FundsPosted events.
    gl = mod_client.get(
        f"/v1/tenants/{TENANT}/accounts/GL_INITIAL_DEPOSIT_CLEARING/events", headers=headers()
    ).json()
    assert [e["eventType"] for e in gl["events"]] == ["AccountOpened", "FundsPosted", "FundsPosted"]


def test_account_events_come_100_to_a_page_by_default(fresh: Fresh) -> None:
    # AccountOpened, FundsPosted, then two events (EntryPosted, AccountBalanceUpdated)
    # for each entry: 51 entries make 104 events.
    for _ in range(51):
        assert fresh.entry([(fresh.txn, "DEBIT", 1), ("GL_FEES", "CREDIT", 1)]).status_code == 202
    url = f"/tenants/{fresh.tenant}/accounts/{fresh.txn}/events"
    first = fresh.api.get(url).json()
    assert len(first["events"]) == 100
    assert first["nextCursor"] == first["events"][-1]["sequence"]
    rest = fresh.api.get(url, after=first["nextCursor"]).json()
    assert len(rest["events"]) == 4 and rest["nextCursor"] is None
    by_offset = fresh.api.get(url, offset=100).json()
    assert by_offset == rest
    everything = fresh.api.get(url, limit=1000).json()
    assert everything["events"] == first["events"] + rest["events"]
    # Other pages keep their default of 50.
    assert len(fresh.api.get(f"/tenants/{fresh.tenant}/events").json()["events"]) == 50


def test_tenant_events_paging_and_filters(mod_client: TestClient, example: Example) -> None:
    url = f"/v1/tenants/{TENANT}/events"

    def page(**params: Any) -> Any:
        resp = mod_client.get(url, params=params, headers=headers(CU_KEY))
        assert resp.status_code == 200, resp.text
        return resp.json()

    default = page()
    assert [e["sequence"] for e in default["events"]] == list(range(1, 32))
    assert default["nextCursor"] is None
    first = page(limit=1)
    assert [e["sequence"] for e in first["events"]] == [1] and first["nextCursor"] == 1
    middle = page(after=20, limit=5)
    assert [e["sequence"] for e in middle["events"]] == [21, 22, 23, 24, 25]
    assert middle["nextCursor"] == 25
    tail = page(after=25, limit=6)
    assert [e["sequence"] for e in tail["events"]] == [26, 27, 28, 29, 30, 31]
    assert tail["nextCursor"] is None
    assert page(after=31) == {"events": [], "nextCursor": None}
    assert page(after=10**12) == {"events": [], "nextCursor": None}
    assert len(page(limit=1000)["events"]) == 31

    entries = page(eventType="EntryPosted")
    assert [e["payload"]["narrative"] for e in entries["events"]] == [
        "Fortnightly salary",
        "Card purchase HARRIS FARM MARKETS BONDI",
        "Transfer to Online Saver",
    ]
    # A filtered page's cursor is a sequence; passing it on continues the filtered stream.
    one = page(eventType="EntryPosted", limit=1)
    two = page(eventType="EntryPosted", limit=1, after=one["nextCursor"])
    assert two["events"] == entries["events"][1:2]
    txn = example.ids["txn"]
    by_entity = page(entityId=txn)
    assert {e["entityId"] for e in by_entity["events"]} == {txn}
    assert [e["eventType"] for e in by_entity["events"]] == [
        "AccountOpened",
        "FundsPosted",
        "AccountBalanceUpdated",
        "AccountBalanceUpdated",
        "AccountBalanceUpdated",
    ]
    both = page(
        entityId=txn, eventType="AccountBalanceUpdated", after=by_entity["events"][2]["sequence"]
    )
    assert [e["payload"]["balance"] for e in both["events"]] == [3204.5, 2704.5]
    assert page(entityId="nothing-by-that-id")["events"] == []
    assert [e["eventType"] for e in page(eventType="TenantCreated")["events"]] == ["TenantCreated"]


def _without(resp: Any, ident: str) -> str:
    return resp.text.replace(ident, "<id>")


@pytest.mark.parametrize("what", ["customers/{id}", "accounts/{id}", "accounts/{id}/events"])
def test_another_tenants_id_is_a_404_like_a_missing_one(
    mod_client: TestClient, example: Example, other: dict[str, Any], what: str
) -> None:
    theirs = other["customers"][0] if what.startswith("customers") else other["txn"]
    # Their ids exist under their tenant...
    ok = mod_client.get(f"/v1/tenants/{OTHER}/{what.format(id=theirs)}", headers=headers(OTHER_KEY))
    assert ok.status_code == 200
    # ...and under ours look exactly like an id that exists nowhere.
    missing = str(uuid.uuid4())
    for key in (CU_KEY, PLATFORM_KEY):
        a = mod_client.get(f"/v1/tenants/{TENANT}/{what.format(id=theirs)}", headers=headers(key))
        b = mod_client.get(f"/v1/tenants/{TENANT}/{what.format(id=missing)}", headers=headers(key))
        assert_error(a, 404, "NOT_FOUND")
        assert_error(b, 404, "NOT_FOUND")
        assert _without(a, theirs) == _without(b, missing)
        assert a.headers.keys() == b.headers.keys()


def test_another_tenants_ids_do_not_show_in_lists(
    mod_client: TestClient, example: Example, other: dict[str, Any]
) -> None:
    theirs = other["customers"][0]
    accounts = mod_client.get(
        f"/v1/tenants/{TENANT}/accounts", params={"customerId": theirs}, headers=headers(CU_KEY)
    ).json()
    assert (accounts["accounts"], accounts["total"]) == ([], 0)
    events = mod_client.get(
        f"/v1/tenants/{TENANT}/events", params={"entityId": other["txn"]}, headers=headers(CU_KEY)
    ).json()
    assert events == {"events": [], "nextCursor": None}
    ours = mod_client.get(f"/v1/tenants/{TENANT}/customers", headers=headers(CU_KEY)).json()
    assert theirs not in {c["customerId"] for c in ours["customers"]}
    # And the GL accounts have the same ids in both tenants, but separate balances.
    gl = mod_client.get(
        f"/v1/tenants/{OTHER}/accounts/GL_INITIAL_DEPOSIT_CLEARING", headers=headers()
    ).json()
    assert (gl["tenantId"], gl["balance"]) == (OTHER, -10)


# ------------------------------------------------------------------ money and time


@SQLITE_ONLY
def test_timestamps_with_any_fraction_length_are_rfc3339(fresh: Fresh) -> None:
    """RFC 3339 allows any number of fractional-second digits, with any offset."""
    for n, stamp in enumerate(
        [
            "2025-01-15T09:00:00Z",
            "2025-01-15T09:00:00.5+11:00",
            "2025-01-15T09:00:00.123456-03:30",
            "2025-01-15T09:00:00.1234567+05:45",
            "2025-01-15T09:00:00.12345678+05:45",
            "2025-01-15T09:00:00.123456789+05:45",
            "2025-01-15t09:00:00z",
        ],
        start=100,
    ):
        resp = fresh.send("CreateCustomer", customer_payload(n), timestamp=stamp)
        assert resp.status_code == 202, f"{stamp}: {resp.text}"


def test_zero_digit_currency_balances(mod_client: TestClient) -> None:
    """JPY has no minor digits: a deposit of 100 is a balance of 100, and 100.5 is a 400."""
    api = Api(mod_client)
    assert api.create_tenant("JP_BANK", "JPY").status_code == 202
    assert api.upsert_product("JP_BANK").status_code == 202
    customer = api.create_customer("JP_BANK").json()["result"]["customerId"]
    resp = api.open_account(customer, tenant="JP_BANK", currency="JPY", initialDeposit=100)
    assert resp.status_code == 202, resp.text
    account = resp.json()["result"]["accountId"]
    assert api.balance(account, "JP_BANK") == 100
    assert api.balance("GL_INITIAL_DEPOSIT_CLEARING", "JP_BANK") == -100
    resp = api.post_entry(
        [(account, "DEBIT", 7), ("GL_SALARY_CLEARING", "CREDIT", 7)],
        tenant="JP_BANK",
        currency="JPY",
    )
    assert resp.status_code == 202, resp.text
    assert api.balance(account, "JP_BANK") == 107
    events = api.get(f"/tenants/JP_BANK/accounts/{account}/events").json()["events"]
    assert events[-1]["payload"]["balance"] == 107
    before = api.last_sequence("JP_BANK")
    resp = api.open_account(customer, tenant="JP_BANK", currency="JPY", initialDeposit=100.5)
    assert_error(resp, 400, "VALIDATION_ERROR")
    resp = api.post_entry(
        [(account, "DEBIT", 0.5), ("GL_SALARY_CLEARING", "CREDIT", 0.5)],
        tenant="JP_BANK",
        currency="JPY",
    )
    assert_error(resp, 400, "VALIDATION_ERROR")
    assert api.last_sequence("JP_BANK") == before


def test_amounts_come_back_as_plain_numbers(mod_client: TestClient, example: Example) -> None:
    raw = mod_client.get(
        f"/v1/tenants/{TENANT}/accounts/{example.ids['txn']}", headers=headers()
    ).text
    assert '"balance":2704.5' in raw.replace(" ", "")
