"""Builders for the unit tests of the functional core: given events, when a command, then.

`given(*events)` folds (eventType, payload) facts into a TenantState, `when(...)`
builds a Command through the real envelope validation, and `then_events` /
`then_error` run `decide` with a fixed clock and a deterministic id factory. The
event builders write payloads the way docs/contract.md describes them, not by
calling `decide`, so a test's history does not depend on the code under test.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import pytest

from mock_core.api.parse import parse_command
from mock_core.core.commands import Command
from mock_core.core.decide import Context, Decision, decide
from mock_core.core.evolve import fold
from mock_core.core.state import TenantState
from mock_core.errors import InvariantViolation
from tests import commands
from tests.commands import ADDRESS, envelope
from turingcore_client.contract import gl_accounts

Event = tuple[str, dict[str, Any]]
Leg = tuple[str, str, float] | tuple[str, str, float, str]

TENANT = "CU_TEST"
NOW = datetime(2025, 1, 15, 9, 0, tzinfo=UTC)
TODAY = "2025-01-15"
# The chart of GL accounts, in the order the published spec lists them (read from the
# spec, the contract, not from mock_core).
GL_CHART = gl_accounts()


def new_id_factory() -> Any:
    """Return a callable giving uuid-like ids 00000000-0000-4000-8000-000000000001, ...2, ..."""
    counter = itertools.count(1)
    return lambda: f"00000000-0000-4000-8000-{next(counter):012d}"


def nth_id(n: int) -> str:
    """The n-th id (from 1) a fresh `new_id_factory` gives."""
    return f"00000000-0000-4000-8000-{n:012d}"


def context() -> Context:
    """A fixed clock and a fresh deterministic id factory."""
    return Context(now=NOW, new_id=new_id_factory())


# Given: facts as (eventType, payload) pairs.


def given(*events: Event | Iterable[Event]) -> TenantState:
    """Fold events (single pairs or lists of pairs) into a fresh TenantState."""
    flat: list[Event] = []
    for item in events:
        if isinstance(item, tuple):
            flat.append(item)
        else:
            flat.extend(item)
    return fold(flat)


def tenant_created(
    tenant: str = TENANT, currency: str = "AUD", time_zone: str = "Australia/Sydney"
) -> list[Event]:
    """TenantCreated and the AccountOpened of the eleven GL accounts."""
    events: list[Event] = [
        (
            "TenantCreated",
            {
                "tenantCode": tenant,
                "displayName": "Test CU",
                "region": "AU",
                "baseCurrency": currency,
                "timeZone": time_zone,
            },
        )
    ]
    for code in GL_CHART:
        events.append(account_opened(code, None, None, None, currency, account_type="GL"))
    return events


def product_created(
    code: str,
    product_type: str = "DEPOSIT",
    *,
    active: bool = True,
    event_type: str = "ProductCreated",
    **constraints: float | bool | list[int],
) -> Event:
    """A product as stored; constraints by their published names, money in major units
    (allowOverdraft=True, overdraftLimit=100, maxBalance=...)."""
    data: dict[str, Any] = {
        "productCode": code,
        "name": f"Product {code}",
        "productType": product_type,
        "active": active,
        "interest": {"rate": 0.01},
    }
    if constraints:
        data["constraints"] = dict(constraints)
    return (event_type, data)


def customer_created(
    customer_id: str,
    *,
    email: str | None = None,
    mobile: str = "+61400000001",
    external_ref: str | None = None,
    date_of_birth: str = "1990-04-12",
) -> Event:
    # Optional fields not given are omitted from payloads (docs/contract.md, Events).
    payload: dict[str, Any] = {
        "customerId": customer_id,
        "person": {
            "firstName": "Olivia",
            "lastName": "Nguyen",
            "dateOfBirth": date_of_birth,
            "email": email or f"{customer_id.lower()}@example.com.au",
            "mobile": mobile,
        },
        "address": ADDRESS,
    }
    if external_ref is not None:
        payload["externalRef"] = external_ref
    return ("CustomerCreated", payload)


def account_opened(
    account_id: str,
    customer_id: str | None,
    product_code: str | None,
    product_type: str | None,
    currency: str = "AUD",
    *,
    account_type: str = "CUSTOMER",
) -> Event:
    return (
        "AccountOpened",
        {
            "accountId": account_id,
            "accountType": account_type,
            "customerId": customer_id,
            "productCode": product_code,
            "productType": product_type,
            "currency": currency,
            "accountAlias": None,
            "accountPurpose": None,
        },
    )


def loan_facility_created(account_id: str, limit: float, currency: str = "AUD") -> Event:
    return (
        "LoanFacilityCreated",
        {"accountId": account_id, "facilityLimit": limit, "currency": currency},
    )


def entry_posted(entry_id: str, *legs: tuple[str, str, float], currency: str = "AUD") -> Event:
    return (
        "EntryPosted",
        {
            "entryId": entry_id,
            "bookingDate": TODAY,
            "valueDate": TODAY,
            "currency": currency,
            "legs": [{"accountId": a, "direction": d, "amount": m} for a, d, m in legs],
            "narrative": "given",
            "tags": {},
            "metadata": {},
        },
    )


def funds_posted(entry_id: str, account_id: str, amount: float, currency: str = "AUD") -> Event:
    return (
        "FundsPosted",
        {
            "entryId": entry_id,
            "accountId": account_id,
            "currency": currency,
            "amount": amount,
            "narrative": "Initial deposit",
            "legs": [
                {"accountId": account_id, "direction": "DEBIT", "amount": amount},
                {
                    "accountId": "GL_INITIAL_DEPOSIT_CLEARING",
                    "direction": "CREDIT",
                    "amount": amount,
                },
            ],
        },
    )


# A small ledger most tests start from. Ids are readable; any string of 1..64 chars is an id.
CUSTOMER = "CUS-1"
TXN = "ACC-TXN"  # DEPOSIT, no overdraft (floor minBalance 0)
OD = "ACC-OD"  # DEPOSIT, allowOverdraft, overdraftLimit 100.00
SAV = "ACC-SAV"  # DEPOSIT, maxBalance 1000.00
LOAN = "ACC-LOAN"  # LOAN, facility 5000.00
CARD = "ACC-CARD"  # CREDIT_CARD, facility 2000.00


def ledger_events() -> list[Event]:
    """A tenant with one customer and an account on each kind of product, all at zero."""
    return [
        *tenant_created(),
        product_created("TXN_BASIC", minBalance=0, overdraftLimit=0),
        product_created("OD_PLUS", allowOverdraft=True, overdraftLimit=100),
        product_created("SAVER", maxBalance=1000),
        product_created("HOME_LOAN", "LOAN", minAmount=1000, maxAmount=500000),
        product_created("CC_LOW", "CREDIT_CARD", minAmount=1000, maxAmount=25000),
        # Opens with 500..50,000, then holds up to 100,000.
        product_created(
            "TERM_12",
            "TERM_DEPOSIT",
            minAmount=500,
            maxAmount=50000,
            maxBalance=100000,
            termMonths=12,
        ),
        product_created("RETIRED", active=False),
        customer_created(
            CUSTOMER,
            email="Olivia.Nguyen@Example.com.au",
            mobile="+61400000001",
            external_ref="MEM-000001",
        ),
        account_opened(TXN, CUSTOMER, "TXN_BASIC", "DEPOSIT"),
        account_opened(OD, CUSTOMER, "OD_PLUS", "DEPOSIT"),
        account_opened(SAV, CUSTOMER, "SAVER", "DEPOSIT"),
        account_opened(LOAN, CUSTOMER, "HOME_LOAN", "LOAN"),
        loan_facility_created(LOAN, 5000),
        account_opened(CARD, CUSTOMER, "CC_LOW", "CREDIT_CARD"),
        loan_facility_created(CARD, 2000),
    ]


def ledger(*more: Event | Iterable[Event]) -> TenantState:
    """The small ledger, plus `more` events."""
    return given(ledger_events(), *more)


def balance(state: TenantState, account_id: str) -> int:
    """An account's balance in minor units."""
    return state.accounts[account_id].balance_minor


# When: commands, validated the way the gateway validates them.


def when(
    command_type: str,
    payload: dict[str, Any],
    timestamp: str = "2025-01-15T09:00:00Z",
    tenant: str | None = None,
) -> Command:
    """Validate an envelope for `command_type` and return the Command."""
    if tenant is None:
        tenant = payload.get("tenantCode", TENANT) if command_type == "CreateTenant" else TENANT
    body = envelope(
        tenant,
        command_type,
        payload,
        actor_id="unit-tests",
        timestamp=timestamp,
        command_id="6f1c2b1e-0c3a-4d43-9a55-3b1d2b8f0a11",
    )
    return parse_command(tenant, body)


def tenant_payload(
    tenant: str = TENANT, currency: str = "AUD", time_zone: str = "Australia/Sydney"
) -> dict[str, Any]:
    return commands.tenant_payload(tenant, currency, "Test CU", time_zone)


def product_payload(
    code: str = "NEW_PRODUCT",
    product_type: str = "DEPOSIT",
    interest: dict[str, Any] | None = None,
    **constraints: float | bool | list[int] | None,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "productCode": code,
        "name": f"Product {code}",
        "productType": product_type,
        "interest": interest if interest is not None else {"rate": 0.02},
    }
    if constraints:
        payload["constraints"] = dict(constraints)
    return payload


def customer_payload(
    n: int = 2,
    *,
    email: str | None = None,
    mobile: str | None = None,
    external_ref: str | None = None,
    date_of_birth: str = "1990-04-12",
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "person": {
            "firstName": "Jack",
            "lastName": "Smith",
            "dateOfBirth": date_of_birth,
            "email": email or f"jack.smith.{n}@example.com.au",
            "mobile": mobile or f"+614{n:08d}",
        },
        "address": dict(ADDRESS),
    }
    if external_ref is not None:
        payload["externalRef"] = external_ref
    return payload


def account_payload(
    product_code: str = "TXN_BASIC", customer_id: str = CUSTOMER, **extra: Any
) -> dict[str, Any]:
    return {"customerId": customer_id, "productCode": product_code, "currency": "AUD", **extra}


def entry_payload(
    *legs: Leg,
    booking_date: str = TODAY,
    value_date: str | None = None,
    currency: str = "AUD",
    **extra: Any,
) -> dict[str, Any]:
    """A PostEntry payload; a leg is (accountId, DEBIT|CREDIT, amount[, currency])."""
    out_legs = []
    for leg in legs:
        item: dict[str, Any] = {"accountId": leg[0], "direction": leg[1], "amount": leg[2]}
        if len(leg) == 4:
            item["currency"] = leg[3]
        out_legs.append(item)
    return {
        "bookingDate": booking_date,
        "valueDate": value_date or booking_date,
        "currency": currency,
        "legs": out_legs,
        "narrative": "unit test entry",
        **extra,
    }


def post(*legs: Leg, **extra: Any) -> Command:
    """A PostEntry command with these legs."""
    return when("PostEntry", entry_payload(*legs, **extra))


# Then: the events, or the error.


def then_events(decision: Decision, expected: list[tuple[str, dict[str, Any]]]) -> None:
    """Assert the exact event types in order, and that each payload contains the given fields."""
    assert [e.event_type for e in decision.events] == [t for t, _ in expected]
    for index, (event, (_, subset)) in enumerate(zip(decision.events, expected, strict=True)):
        picked = {k: event.payload.get(k, "<missing>") for k in subset}
        assert picked == subset, f"event {index} ({event.event_type})"


def then_error(state: TenantState, command: Command, code: str) -> InvariantViolation:
    """Assert that `decide` refuses `command` in `state` with invariant `code`."""
    with pytest.raises(InvariantViolation) as info:
        decide(state, command, context())
    assert info.value.invariant == code, info.value.message
    return info.value


def run(state: TenantState, command: Command, ctx: Context | None = None) -> Decision:
    """Decide `command`, fold its events into `state` (in place) and return the decision.

    Pass one `ctx` to a series of runs so that their ids do not collide.
    """
    decision = decide(state, command, ctx or context())
    fold(((e.event_type, e.payload) for e in decision.events), state)
    return decision
