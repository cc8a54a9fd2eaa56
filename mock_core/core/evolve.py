"""evolve(state, event) -> state: the one way a tenant's state changes.

The store's writer memory applies it after each append, a rebuild applies it
to the whole log, and the tests fold their histories through it. It updates the
state it is given and returns it (a copy per event would make a long fold
quadratic); callers that need the old state keep their own copy.

The state may be a slice (the accounts and products one command reads): an
event about an account the slice does not hold changes nothing in it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Any

from mock_core.core import events as ev
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


def _tenant_created(state: TenantState, e: ev.TenantCreated) -> None:
    state.tenant = Tenant(e.tenant_code, e.base_currency, e.time_zone, dict(e.data))


def _product_saved(state: TenantState, e: ev.ProductCreated) -> None:
    state.products[e.product_code] = product_from_data(e.data)


def _customer_created(state: TenantState, e: ev.CustomerCreated) -> None:
    customer = Customer(
        e.customer_id,
        e.email.lower(),
        e.mobile,
        e.external_ref,
        date.fromisoformat(e.date_of_birth),
    )
    state.customers[customer.customer_id] = customer
    state.emails[customer.email] = customer.customer_id
    state.mobiles[customer.mobile] = customer.customer_id
    if customer.external_ref is not None:
        state.external_refs[customer.external_ref] = customer.customer_id


def _account_opened(state: TenantState, e: ev.AccountOpened) -> None:
    state.accounts[e.account_id] = Account(
        e.account_id, e.account_type, e.currency, 0, e.customer_id, e.product_code, e.product_type
    )


def _loan_facility_created(state: TenantState, e: ev.LoanFacilityCreated) -> None:
    account = state.accounts.get(e.account_id)
    if account is not None:
        account.facility_limit_minor = e.facility_limit_minor


def _posted(state: TenantState, e: ev.EntryPosted | ev.FundsPosted) -> None:
    accounts = state.accounts
    for account_id, change in e.changes.items():
        account = accounts.get(account_id)
        if account is not None:
            account.balance_minor += change


def _balance_updated(state: TenantState, e: ev.AccountBalanceUpdated) -> None:
    # The balance follows from the entry's legs; this event restates it.
    account = state.accounts.get(e.account_id)
    assert account is None or account.balance_minor == e.balance_minor, e


# Each function takes the event type it is listed under (checked below: every type has one).
# A table on the exact type, not a `match` of class patterns: the write path applies
# every event it appends, and a chain of isinstance checks cost it a third more.
_EVOLVE: dict[type[ev.Event], Callable[[TenantState, Any], None]] = {
    ev.EntryPosted: _posted,
    ev.FundsPosted: _posted,
    ev.AccountBalanceUpdated: _balance_updated,
    ev.AccountOpened: _account_opened,
    ev.CustomerCreated: _customer_created,
    ev.ProductCreated: _product_saved,
    ev.ProductUpdated: _product_saved,
    ev.LoanFacilityCreated: _loan_facility_created,
    ev.TenantCreated: _tenant_created,
}
assert set(_EVOLVE) == set(ev.EVENT_TYPES.values())


def evolve(state: TenantState, event: ev.Event) -> TenantState:
    """Apply one event to `state` and return it."""
    _EVOLVE[type(event)](state, event)
    return state


def fold(
    history: Iterable[tuple[str, Mapping[str, Any]]], state: TenantState | None = None
) -> TenantState:
    """Replay stored (eventType, payload) pairs from an empty (or the given) state."""
    state = state if state is not None else TenantState()
    for event_type, payload in history:
        evolve(state, ev.event_from_payload(event_type, payload))
    return state
