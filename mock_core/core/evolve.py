"""evolve(state, event) -> state: how each event changes a tenant's state.

`fold` replays a history. `evolve` updates the state it is given and returns
it (a copy per event would make a long fold quadratic); callers that need the
old state keep their own copy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from mock_core.core.state import Account, Customer, Product, Tenant, TenantState
from mock_core.money import to_minor


def product_from_data(data: Mapping[str, Any]) -> Product:
    """Build a Product from its stored form (the UpsertProduct payload as events carry it)."""
    k = data.get("constraints") or {}

    def minor(name: str) -> int | None:
        value = k.get(name)
        return None if value is None else to_minor(value)

    return Product(
        code=data["productCode"],
        product_type=data["productType"],
        active=bool(data.get("active", True)),
        data=dict(data),
        min_balance_minor=minor("minBalance"),
        max_balance_minor=minor("maxBalance"),
        allow_overdraft=k.get("allowOverdraft") is True,
        overdraft_minor=minor("overdraftLimit"),
        min_amount_minor=minor("minAmount"),
        max_amount_minor=minor("maxAmount"),
    )


def evolve(state: TenantState, event_type: str, payload: Mapping[str, Any]) -> TenantState:
    """Apply one event to `state` and return it."""
    if event_type == "TenantCreated":
        state.tenant = Tenant(
            payload["tenantCode"], payload["baseCurrency"], payload["timeZone"], dict(payload)
        )
    elif event_type in ("ProductCreated", "ProductUpdated"):
        state.products[payload["productCode"]] = product_from_data(payload)
    elif event_type == "CustomerCreated":
        person = payload["person"]
        customer = Customer(
            payload["customerId"],
            person["email"].lower(),
            person["mobile"],
            payload.get("externalRef"),
            date.fromisoformat(person["dateOfBirth"]),
        )
        state.customers[customer.customer_id] = customer
        state.emails[customer.email] = customer.customer_id
        state.mobiles[customer.mobile] = customer.customer_id
        if customer.external_ref is not None:
            state.external_refs[customer.external_ref] = customer.customer_id
    elif event_type == "AccountOpened":
        state.accounts[payload["accountId"]] = Account(
            payload["accountId"],
            payload["accountType"],
            payload["currency"],
            0,
            payload.get("customerId"),
            payload.get("productCode"),
            payload.get("productType"),
        )
    elif event_type == "LoanFacilityCreated":
        state.accounts[payload["accountId"]].facility_limit_minor = to_minor(
            payload["facilityLimit"]
        )
    elif event_type in ("FundsPosted", "EntryPosted"):
        for leg in payload["legs"]:
            amount = to_minor(leg["amount"])
            account = state.accounts[leg["accountId"]]
            account.balance_minor += amount if leg["direction"] == "DEBIT" else -amount
    elif event_type == "AccountBalanceUpdated":
        # The balance follows from the EntryPosted legs; this event restates it.
        assert state.accounts[payload["accountId"]].balance_minor == to_minor(payload["balance"])
    else:
        raise AssertionError(f"unknown event type {event_type}")
    return state


def fold(
    events: Iterable[tuple[str, Mapping[str, Any]]], state: TenantState | None = None
) -> TenantState:
    """Replay (eventType, payload) pairs from an empty (or the given) state."""
    state = state if state is not None else TenantState()
    for event_type, payload in events:
        evolve(state, event_type, payload)
    return state
