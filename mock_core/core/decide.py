"""decide(state, command, context) -> Decision: the business rules, and nothing else.

Pure: no I/O, no clock, no random ids. The shell passes the time and an id
factory in `Context`, so the same inputs always give the same events. A refused
command raises `InvariantViolation`; the checks run in the order of
`mock_core.errors.INVARIANTS`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import available_timezones

from mock_core.core import commands as c
from mock_core.core import events as ev
from mock_core.core.state import (
    CREDIT_PRODUCT_TYPES,
    GL_ACCOUNTS,
    Account,
    TenantState,
    account_bounds,
)
from mock_core.errors import InvariantViolation
from mock_core.money import CURRENCY_MINOR_DIGITS, to_number


@dataclass(frozen=True, slots=True)
class Context:
    now: datetime
    new_id: Callable[[], str]


@dataclass(frozen=True, slots=True)
class Decision:
    events: list[ev.Event]
    result: dict[str, Any] = field(default_factory=dict)


def decide(state: TenantState, command: c.Command, ctx: Context) -> Decision:
    """Return the events `command` causes in `state`, or raise InvariantViolation."""
    match command.payload:
        case c.PostEntry() as p:
            return _post_entry(state, command, p, ctx)
        case c.OpenAccount() as p:
            return _open_account(state, command, p, ctx)
        case c.CreateCustomer() as p:
            return _create_customer(state, command, p, ctx)
        case c.UpsertProduct() as p:
            return _upsert_product(state, command, p, ctx)
        case c.CreateTenant() as p:
            return _create_tenant(state, command, p, ctx)


def _create_tenant(
    state: TenantState, command: c.Command, p: c.CreateTenant, ctx: Context
) -> Decision:
    if state.tenant is not None:
        raise InvariantViolation(
            "TENANT_CODE_UNIQUE",
            f"tenant {p.tenantCode} already exists",
            {"tenantCode": p.tenantCode},
        )
    if p.baseCurrency not in CURRENCY_MINOR_DIGITS:
        raise InvariantViolation(
            "CURRENCY_MUST_BE_SUPPORTED",
            f"currency {p.baseCurrency} is not supported",
            {"baseCurrency": p.baseCurrency, "supported": sorted(CURRENCY_MINOR_DIGITS)},
        )
    if not _valid_time_zone(p.timeZone):
        raise InvariantViolation(
            "TIME_ZONE_MUST_BE_VALID",
            f"{p.timeZone} is not an IANA time zone",
            {"timeZone": p.timeZone},
        )
    data = p.model_dump(mode="json", exclude_none=True)
    events: list[ev.Event] = [
        ev.TenantCreated(p.tenantCode, p.baseCurrency, p.timeZone, data),
    ]
    for code in GL_ACCOUNTS:
        events.append(ev.AccountOpened(code, "GL", None, None, None, p.baseCurrency))
    return Decision(events, {"tenantId": p.tenantCode})


def _upsert_product(
    state: TenantState, command: c.Command, p: c.UpsertProduct, ctx: Context
) -> Decision:
    negative = {name: rate for name, rate in p.interest.rates().items() if rate < 0}
    if negative:
        raise InvariantViolation(
            "RATES_MUST_BE_NON_NEGATIVE", "interest rates must not be negative", {"rates": negative}
        )
    k = p.constraints
    if k is not None:
        for low, high in (
            ("minBalance", "maxBalance"),
            ("minAmount", "maxAmount"),
            ("minAge", "maxAge"),
        ):
            lo, hi = getattr(k, low), getattr(k, high)
            if lo is not None and hi is not None and not lo < hi:
                raise InvariantViolation(
                    "MIN_MUST_BE_BELOW_MAX",
                    f"constraints.{low} must be below constraints.{high}",
                    {"min": low, "max": high},
                )
        if k.overdraftLimit and k.allowOverdraft is not True:
            raise InvariantViolation(
                "CONSTRAINTS_MUST_BE_CONSISTENT",
                "constraints.overdraftLimit is above 0 but constraints.allowOverdraft is not true",
                {"overdraftLimit": to_number(k.overdraftLimit), "allowOverdraft": k.allowOverdraft},
            )
        options = k.termMonthsOptions
        default = k.termMonthsDefault
        if default is not None and options is not None and default not in options:
            raise InvariantViolation(
                "CONSTRAINTS_MUST_BE_CONSISTENT",
                "constraints.termMonthsDefault is not one of constraints.termMonthsOptions",
                {"termMonthsDefault": default, "termMonthsOptions": list(options)},
            )
    existing = state.products.get(p.productCode)
    kind = ev.ProductUpdated if existing is not None else ev.ProductCreated
    data = p.model_dump(mode="json", exclude_none=True)
    return Decision(
        [kind(p.productCode, p.productType, p.active, data)],
        {"tenantId": command.tenant_id, "productCode": p.productCode},
    )


def _create_customer(
    state: TenantState, command: c.Command, p: c.CreateCustomer, ctx: Context
) -> Decision:
    on = command.timestamp.date()
    if _age_on(p.person.dateOfBirth, on) < 18:
        raise InvariantViolation(
            "CUSTOMER_MUST_BE_ADULT",
            f"the customer must be at least 18 on {on.isoformat()}",
            {"dateOfBirth": p.person.dateOfBirth.isoformat(), "on": on.isoformat()},
        )
    email = p.person.email.lower()
    for code, index, value in (
        ("CUSTOMER_EMAIL_UNIQUE", state.emails, email),
        ("CUSTOMER_MOBILE_UNIQUE", state.mobiles, p.person.mobile),
        ("CUSTOMER_EXTERNAL_REF_UNIQUE", state.external_refs, p.externalRef),
    ):
        if value is not None and value in index:
            raise InvariantViolation(
                code, "another customer of this tenant already has it", {"value": value}
            )
    customer_id = ctx.new_id()
    payload = {"customerId": customer_id, **p.model_dump(mode="json", exclude_none=True)}
    person = p.person
    created = ev.CustomerCreated(
        customer_id,
        person.email,
        person.mobile,
        p.externalRef,
        person.dateOfBirth.isoformat(),
        payload,
    )
    return Decision(
        [created],
        {"tenantId": command.tenant_id, "customerId": customer_id},
    )


def _open_account(
    state: TenantState, command: c.Command, p: c.OpenAccount, ctx: Context
) -> Decision:
    assert state.tenant is not None
    if p.customerId not in state.customers:
        raise InvariantViolation(
            "CUSTOMER_MUST_EXIST", "no such customer in this tenant", {"customerId": p.customerId}
        )
    product = state.products.get(p.productCode)
    if product is None:
        raise InvariantViolation(
            "PRODUCT_MUST_EXIST", "no such product in this tenant", {"productCode": p.productCode}
        )
    if not product.active:
        raise InvariantViolation(
            "PRODUCT_MUST_BE_ACTIVE", "the product is not active", {"productCode": p.productCode}
        )
    if p.currency != state.tenant.base_currency:
        raise InvariantViolation(
            "ACCOUNT_CURRENCY_MUST_MATCH_TENANT",
            f"accounts of this tenant are in {state.tenant.base_currency}",
            {"currency": p.currency, "baseCurrency": state.tenant.base_currency},
        )
    is_credit = product.product_type in CREDIT_PRODUCT_TYPES
    # A loan or card opens with the limit asked for (an extension) or, as published
    # ("OpenAccount (Personal Loan) -> LoanFacilityCreated", no limit in the request),
    # with the product's maxAmount.
    facility = p.facilityLimit
    if is_credit and facility is None:
        facility = product.max_amount_minor
        if facility is None:
            raise InvariantViolation(
                "FACILITY_LIMIT_REQUIRED",
                f"{product.product_type} accounts need a facilityLimit when the product "
                "has no constraints.maxAmount",
                {"productType": product.product_type},
            )
    if not is_credit and facility is not None:
        raise InvariantViolation(
            "FACILITY_LIMIT_NOT_ALLOWED",
            f"{product.product_type} accounts take no facilityLimit",
            {"productType": product.product_type},
        )
    if is_credit and facility is not None:
        lo, hi = product.min_amount_minor, product.max_amount_minor
        if (lo is not None and facility < lo) or (hi is not None and facility > hi):
            raise InvariantViolation(
                "FACILITY_LIMIT_OUT_OF_RANGE",
                "facilityLimit is outside the product's minAmount..maxAmount",
                {
                    "facilityLimit": to_number(facility),
                    "minAmount": None if lo is None else to_number(lo),
                    "maxAmount": None if hi is None else to_number(hi),
                },
            )
    deposit = p.initialDeposit or 0
    # The opening amount: at least minBalance for every deposit product, and within
    # minAmount..maxAmount for a term deposit.
    low_name, low = "minBalance", product.min_balance_minor
    high_name, high = "maxAmount", None
    if product.product_type == "TERM_DEPOSIT":
        if product.min_amount_minor is not None and (low is None or product.min_amount_minor > low):
            low_name, low = "minAmount", product.min_amount_minor
        high = product.max_amount_minor
    if not is_credit and low is not None and deposit < low:
        raise InvariantViolation(
            "INITIAL_DEPOSIT_BELOW_MINIMUM",
            f"initialDeposit is below the product's {low_name}",
            {"initialDeposit": to_number(deposit), low_name: to_number(low)},
        )
    if high is not None and deposit > high:
        raise InvariantViolation(
            "INITIAL_DEPOSIT_ABOVE_MAXIMUM",
            f"initialDeposit is above the product's {high_name}",
            {"initialDeposit": to_number(deposit), high_name: to_number(high)},
        )
    account_id = ctx.new_id()
    account = Account(
        account_id,
        "CUSTOMER",
        p.currency,
        0,
        p.customerId,
        product.code,
        product.product_type,
        facility,
    )
    if deposit > 0:
        _check_bounds(state, {account_id: deposit}, {account_id: account})
    events: list[ev.Event] = [
        ev.AccountOpened(
            account_id,
            "CUSTOMER",
            p.customerId,
            product.code,
            product.product_type,
            p.currency,
            p.accountAlias,
            p.accountPurpose,
        )
    ]
    if facility is not None:
        events.append(ev.LoanFacilityCreated(account_id, facility, p.currency))
    if deposit > 0:
        events.append(ev.FundsPosted(ctx.new_id(), account_id, p.currency, deposit))
    return Decision(events, {"tenantId": command.tenant_id, "accountId": account_id})


def _post_entry(state: TenantState, command: c.Command, p: c.PostEntry, ctx: Context) -> Decision:
    if p.valueDate < p.bookingDate:
        raise InvariantViolation(
            "VALUE_DATE_BEFORE_BOOKING_DATE",
            "valueDate must not be before bookingDate",
            {"bookingDate": p.bookingDate.isoformat(), "valueDate": p.valueDate.isoformat()},
        )
    for index, leg in enumerate(p.legs):
        if leg.currency is not None and leg.currency != p.currency:
            raise InvariantViolation(
                "LEGS_MUST_SHARE_CURRENCY",
                f"legs[{index}] is in {leg.currency}, the entry in {p.currency}",
                {"leg": index, "currency": leg.currency, "entryCurrency": p.currency},
            )
    for index, leg in enumerate(p.legs):
        if leg.accountId not in state.accounts:
            raise InvariantViolation(
                "ACCOUNT_MUST_EXIST",
                f"legs[{index}].accountId is not an account of this tenant",
                {"leg": index, "accountId": leg.accountId},
            )
    for index, leg in enumerate(p.legs):
        account = state.accounts[leg.accountId]
        if account.currency != p.currency:
            raise InvariantViolation(
                "ENTRY_CURRENCY_MUST_MATCH_ACCOUNT",
                f"account {leg.accountId} is in {account.currency}, the entry in {p.currency}",
                {"leg": index, "accountCurrency": account.currency, "entryCurrency": p.currency},
            )
    debits = sum(leg.amount for leg in p.legs if leg.direction == "DEBIT")
    credits = sum(leg.amount for leg in p.legs if leg.direction == "CREDIT")
    if debits != credits:
        raise InvariantViolation(
            "LEGS_MUST_BALANCE",
            "the debits must equal the credits",
            {"debits": to_number(debits), "credits": to_number(credits)},
        )
    entry = ev.EntryPosted(
        ctx.new_id(),  # (taken even if the bounds refuse it: an id, not a trace)
        p.bookingDate.isoformat(),
        p.valueDate.isoformat(),
        p.currency,
        tuple(ev.Leg(leg.accountId, leg.direction, leg.amount) for leg in p.legs),
        p.narrative,
        dict(p.tags or {}),
        dict(p.metadata or {}),
    )
    changes = entry.changes  # each account's net change, derived once
    _check_bounds(state, changes, state.accounts)
    entry_id = entry.entry_id
    events: list[ev.Event] = [entry]
    for account_id, change in changes.items():
        balance = state.accounts[account_id].balance_minor + change
        events.append(ev.AccountBalanceUpdated(account_id, entry_id, change, balance))
    return Decision(events, {"tenantId": command.tenant_id, "entryId": entry_id})


def _check_bounds(
    state: TenantState, changes: Mapping[str, int], accounts: dict[str, Account]
) -> None:
    """Refuse a change that takes an account out of its bounds, or further out.

    An account already outside its bounds (its product's limits were tightened)
    may still move back towards them, so a repayment is never refused.
    """
    checked = []
    for account_id, change in changes.items():
        account = accounts[account_id]
        low, high = account_bounds(account, state.products.get(account.product_code or ""))
        checked.append((account_id, account.balance_minor + change, change, low, high))
    for account_id, balance, change, low, _ in checked:
        if balance < low and change < 0:
            raise InvariantViolation(
                "OVERDRAFT_LIMIT_EXCEEDED",
                f"account {account_id} would go below its limit",
                {"accountId": account_id, "balance": to_number(balance), "min": to_number(low)},
            )
    for account_id, balance, change, _, high in checked:
        if balance > high and change > 0:
            raise InvariantViolation(
                "MAX_BALANCE_EXCEEDED",
                f"account {account_id} would go above its maximum balance",
                {"accountId": account_id, "balance": to_number(balance), "max": to_number(high)},
            )


def _age_on(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


@functools.cache
def _time_zones() -> frozenset[str]:
    # The IANA names from the system's zoneinfo or the tzdata package (a dependency),
    # without aliases of the host's own zone such as "localtime".
    return frozenset(available_timezones())


def _valid_time_zone(name: str) -> bool:
    return name in _time_zones()
