"""What the ledger suite sends: the command date, product templates, amounts, the
accounts every example starts with, the payload builders, the references the state
machine keeps in its bundles, and the suite's limits.

Nothing here talks to a target: it is the vocabulary of `contract_tests.ledger_rules_*`
and of the scripted laws (`contract_tests.laws`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from contract_tests.model import TenantLedger, entry_changes
from turingcore_client import payloads
from turingcore_client.contract import gl_accounts

GENESIS_HASH = "0" * 64
COMMAND_TYPES = ("CreateTenant", "UpsertProduct", "CreateCustomer", "OpenAccount", "PostEntry")
# Noon UTC falls on the same calendar date from UTC-11 to UTC+11, so "the command's
# date" is 2025-01-15 whether a service reads it in UTC or in the tenant's zone.
TIMESTAMP = "2025-01-15T12:00:00Z"
COMMAND_DATE = date(2025, 1, 15)
REPLAY_TIMESTAMP = "2025-02-01T12:00:00Z"

# Limits, unit last.
tenant_attempts_per_example_max = 2  # so at most 3 tenants with the first one
products_per_example_max = 3  # besides the catalogue every example starts with
customers_per_example_max = 5
accounts_per_example_max = 6
concurrent_commands_default = 4
page_size = 1000
pages_per_read_max = 100
shrink_seconds_default = 20.0
concurrent_wait_seconds = 60
sweep_every_steps = 10  # a replay and a key reuse after setup and every 10 steps
sweep_at_step = 1  # right after the setup: isolation and bad input too

# The GL accounts the entries draw their other legs from: four of the spec's chart.
GL_LEGS = tuple(
    code
    for code in gl_accounts()
    if code in ("GL_SALARY_CLEARING", "GL_CARD_CLEARING", "GL_NPP_CLEARING", "GL_SUSPENSE")
)
AMOUNTS = {
    "small": (0.01, 1, 9.99, 25, 45.5),
    "medium": (100, 250, 499.99, 1000),
    "large": (2500, 5000.01, 20000),
}
# Product templates: (productType, constraints, active), with the published constraint
# names. Money in dollars; None is an explicit null (absent).
TEMPLATES: dict[str, tuple[str, dict[str, Any], bool]] = {
    "TXN": (
        "DEPOSIT",
        {"minBalance": 0, "maxBalance": None, "allowOverdraft": False, "overdraftLimit": 0},
        True,
    ),
    "OD": ("DEPOSIT", {"allowOverdraft": True, "overdraftLimit": 100}, True),
    "SAVER": ("DEPOSIT", {"minBalance": 10, "maxBalance": 1000}, True),
    "TERM": (
        "TERM_DEPOSIT",
        {"minAmount": 500, "maxAmount": 4000, "maxBalance": 5000, "termMonths": 12},
        True,
    ),
    "LOAN": (
        "LOAN",
        {
            "minAmount": 1000,
            "maxAmount": 20000,
            "termMonthsDefault": 36,
            "termMonthsOptions": [12, 24, 36],
        },
        True,
    ),
    "CARD": ("CREDIT_CARD", {"minAmount": 500, "maxAmount": 5000}, True),
    # No maxAmount: an account needs a facilityLimit (FACILITY_LIMIT_REQUIRED without one).
    "LINE": ("CREDIT_CARD", {"minAmount": 500}, True),
    "OLD": ("DEPOSIT", {}, False),  # inactive: only where `active` is offered
}
ENTRY_VARIANTS = ("ok", "ok", "explicit_leg_currency", "tags", "nulls")
INVALID_ENTRIES = (
    "unbalanced",
    "leg_currency",
    "entry_currency",
    "value_date",
    "foreign_account",
    "unknown_account",
    "three_decimals",
    "zero_amount",
    "one_leg",
    "too_large",
)
# The accounts every example starts with: (template, initialDeposit, facilityLimit).
# A facilityLimit is only sent where the target offers it; the loan opens as published,
# with no limit field (its limit is the product's maxAmount).
FIRST_ACCOUNTS = (
    ("TXN", 500, None),
    ("OD", 50, None),
    ("SAVER", 100, None),
    ("CARD", None, 2000),
    ("LOAN", None, None),
)
# The ids a 202 carries at its top level, per command (the published client reads them).
REPLY_IDS: dict[str, tuple[str, ...]] = {
    "CreateTenant": ("tenantId",),
    "UpsertProduct": ("tenantId", "productCode"),
    "CreateCustomer": ("tenantId", "customerId"),
    "OpenAccount": ("tenantId", "accountId"),
    "PostEntry": ("tenantId", "entryId"),
}
REPLY_ID_NAMES = frozenset(name for names in REPLY_IDS.values() for name in names)


@dataclass(frozen=True)
class TenantRef:
    code: str


@dataclass(frozen=True)
class ProductRef:
    tenant: str
    code: str


@dataclass(frozen=True)
class CustomerRef:
    tenant: str
    customer_id: str


@dataclass(frozen=True)
class AccountRef:
    tenant: str
    account_id: str


def tenant_payload(code: str) -> dict[str, Any]:
    return payloads.tenant_payload(code, f"Contract tests {code}")


def product_payload(code: str, template: str) -> dict[str, Any]:
    product_type, constraints, active = TEMPLATES[template]
    credit = product_type in ("LOAN", "CREDIT_CARD")
    payload: dict[str, Any] = {
        "productCode": code,
        "name": f"Product {code}",
        "productType": product_type,
        "category": "CONTRACT_TEST",
        "interest": {"rate": 0.1299 if credit else 0.01, "calculationMethod": "DAILY_BALANCE"},
    }
    if constraints:
        payload["constraints"] = dict(constraints)
    if not active:
        payload["active"] = False
    return payload


def customer_payload(n: int, dob: str = "1990-04-12", ref: str | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "person": {
            "firstName": "Olivia",
            "lastName": f"Tester{n}",
            "dateOfBirth": dob,
            "email": f"olivia.tester.{n}@example.com.au",
            "mobile": f"+614{n:08d}",
        },
        "address": {
            "line1": "1 George St",
            "line2": None,
            "suburb": "Sydney",
            "state": "NSW",
            "postcode": "2000",
            "country": "AU",
        },
    }
    if ref is not None:
        payload["externalRef"] = ref
    if n % 2:
        payload["riskProfile"] = {"segment": "RETAIL", "kycStatus": "SIMULATED_PASSED"}
        payload["employment"] = {"status": "FULL_TIME", "annualIncome": 85000}
    return payload


def reply_ids(body: Any, command_type: str) -> dict[str, Any]:
    """The ids a 202 names at its top level (where the published client reads them)."""
    if not isinstance(body, dict):
        return {}
    return {name: body.get(name) for name in REPLY_IDS[command_type]}


def entry_payload(legs: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """An entry booked on the suites' date; `extra` fields added as they are."""
    return {**payloads.entry_payload("2025-01-15", legs, "contract test entry"), **extra}


leg = payloads.leg


def flip(direction: str) -> str:
    return "CREDIT" if direction == "DEBIT" else "DEBIT"


def order_free(tenant: TenantLedger, payloads: list[dict[str, Any]]) -> bool:
    """True when every entry is accepted whatever order the service applies them in.

    Each entry is refused only when it moves an account out of (or further out of) its
    bounds; the worst case for a decrease is all other decreases first, and for an
    increase all other increases first.
    """
    down: dict[str, int] = {}
    up: dict[str, int] = {}
    for payload in payloads:
        for account_id, change in entry_changes(payload["legs"]).items():
            side = down if change < 0 else up
            side[account_id] = side.get(account_id, 0) + change
    for account_id in set(down) | set(up):
        account = tenant.accounts[account_id]
        low, high = tenant.bounds(account)
        if low is not None and account_id in down and account.balance + down[account_id] < low:
            return False
        if high is not None and account_id in up and account.balance + up[account_id] > high:
            return False
    return True
