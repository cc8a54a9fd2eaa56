"""The state `decide` reads and `evolve` builds: one tenant's ledger, or a slice of it.

Each command declares the slice it reads (`Reads`, from its payload's `reads()`):
the store loads exactly that, building products, customers and the tenant from
their stored creation events through `evolve`; the unit tests fold whole event
histories with `evolve`. Both give the same `TenantState`, and `decide` only
ever looks keys up in it, so it cannot tell the two apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from mock_core import contract, limits

# The GL chart and the initial-deposit account are the contract's (read from the spec).
GL_ACCOUNTS = contract.GL_ACCOUNTS
INITIAL_DEPOSIT_ACCOUNT = contract.INITIAL_DEPOSIT_ACCOUNT
CREDIT_PRODUCT_TYPES = frozenset({"LOAN", "CREDIT_CARD"})


@dataclass(slots=True)
class Tenant:
    tenant_id: str
    base_currency: str
    time_zone: str
    data: dict[str, Any]


@dataclass(slots=True)
class Product:
    code: str
    product_type: str
    active: bool
    data: dict[str, Any]
    # The published constraints, money in minor units (None: not given).
    min_balance_minor: int | None = None
    max_balance_minor: int | None = None
    allow_overdraft: bool = False
    overdraft_minor: int | None = None
    min_amount_minor: int | None = None
    max_amount_minor: int | None = None


@dataclass(slots=True)
class Customer:
    customer_id: str
    email: str
    mobile: str
    external_ref: str | None
    date_of_birth: date


@dataclass(slots=True)
class Account:
    account_id: str
    account_type: str  # CUSTOMER or GL
    currency: str
    balance_minor: int = 0
    customer_id: str | None = None
    product_code: str | None = None
    product_type: str | None = None
    facility_limit_minor: int | None = None


@dataclass(frozen=True, slots=True)
class CustomerKeys:
    """The keys a new customer must not share with another: email (lower-cased), mobile, ref."""

    email: str
    mobile: str
    external_ref: str | None


@dataclass(frozen=True, slots=True)
class Reads:
    """The slice of a tenant's state a command reads: always the tenant (and the store's
    chain head), and these. An account comes with its product."""

    products: tuple[str, ...] = ()
    customers: tuple[str, ...] = ()
    customers_sharing: CustomerKeys | None = None
    accounts: tuple[str, ...] = ()


@dataclass(slots=True)
class TenantState:
    """One tenant's state, whole (folded from events) or a slice (loaded for a command)."""

    tenant: Tenant | None = None
    products: dict[str, Product] = field(default_factory=dict)
    customers: dict[str, Customer] = field(default_factory=dict)
    emails: dict[str, str] = field(default_factory=dict)  # lower-cased email -> customerId
    mobiles: dict[str, str] = field(default_factory=dict)
    external_refs: dict[str, str] = field(default_factory=dict)
    accounts: dict[str, Account] = field(default_factory=dict)


def account_bounds(account: Account, product: Product | None) -> tuple[int, int]:
    """Return the (min, max) balance in minor units that `account` must stay within.

    Deposits and term deposits: the floor is `-overdraftLimit` when the product
    has `allowOverdraft`, else `minBalance` (default 0); the ceiling is
    `maxBalance` when given. Loans and cards: -facilityLimit <= balance <= 0. GL
    accounts have no business bounds. Every account, GL included, stays within
    +-limits.balance_minor_max.
    """
    ceiling = limits.balance_minor_max
    if account.account_type == "GL":
        return -ceiling, ceiling
    if account.product_type in CREDIT_PRODUCT_TYPES:
        return max(-(account.facility_limit_minor or 0), -ceiling), 0
    if product is None:
        return 0, ceiling
    if product.allow_overdraft:
        low = -(product.overdraft_minor or 0)
    else:
        low = product.min_balance_minor or 0
    high = product.max_balance_minor
    return max(low, -ceiling), ceiling if high is None else min(high, ceiling)
