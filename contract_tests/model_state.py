"""The reference model's vocabulary: money in integer minor units (read strictly: a
served 0.30000000000000004 is a failure, never rounded to the cent), the outcome a
command must get, the events it must append, and a tenant's state (products,
customers, accounts and their bounds). `contract_tests.model.Ledger` decides and
folds with these.

The constants come from the contract (`turingcore_client.contract`); the logic is the
model's own, written from docs/contract.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from turingcore_client.canonical import canonical_json
from turingcore_client.contract import invariant_codes
from turingcore_client.money import amount

CREDIT_PRODUCT_TYPES = frozenset({"LOAN", "CREDIT_CARD"})
INVARIANT_VIOLATION = "INVARIANT_VIOLATION"

# The contract does not list the supported currencies; the suites only ever send
# these, whose support (or not) no real ledger would dispute.
SUPPORTED_CURRENCIES = frozenset({"AUD", "NZD", "USD"})
UNSUPPORTED_CURRENCIES = frozenset({"XXX"})  # ISO 4217 "no currency"

# Limits, unit last.
minor_digits = 2
amount_minor_max = 10**13
legs_per_entry_min = 2
legs_per_entry_max = 100
adult_age_years = 18


def to_minor(value: Any, *, allow_zero: bool = False) -> int | None:
    """Minor units of a JSON money number, or None when the contract refuses it (400)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    exact = amount(value)
    if not exact.is_finite():
        return None
    scaled = exact.scaleb(minor_digits)
    if scaled != scaled.to_integral_value():
        return None
    minor = int(scaled)
    if minor < 0 or (minor == 0 and not allow_zero) or minor > amount_minor_max:
        return None
    return minor


def to_number(minor: int) -> float:
    """Minor units as the JSON number the contract writes (exact for these magnitudes)."""
    return minor / 10**minor_digits


def number_to_minor(value: Any) -> int:
    """Minor units of a number the service wrote (a balance may be negative)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"not a JSON number: {value!r}")
    scaled = amount(value).scaleb(minor_digits)
    if not scaled.is_finite() or scaled != scaled.to_integral_value():
        # 0.30000000000000004 is what a service summing binary floats writes: never
        # rounded to the cent here, or the drift would pass.
        raise ValueError(f"{value!r} is not a whole number of cents")
    return int(scaled)


def given(mapping: Any, name: str) -> Any:
    """An optional field's value, None when absent: an explicit null means absent."""
    return mapping.get(name) if isinstance(mapping, dict) else None


def canonical(value: Any) -> str:
    """A payload as canonical JSON (RFC 8785): two payloads are the same when these are."""
    return canonical_json(value).decode("utf-8")


def age_on(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def valid_time_zone(name: str) -> bool:
    if name.startswith(("/", ".")) or ".." in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


@dataclass(frozen=True)
class Record:
    """An accepted command, remembered under its idempotency key."""

    command_type: str
    payload: str  # canonical JSON
    reply: bytes  # the 202 body, replayed byte for byte
    command_id: str


@dataclass(frozen=True)
class Outcome:
    """What the service must reply to a command."""

    status: int  # 202, 400, 404 or 422
    error: str | None = None  # the `error` code of a non-202 reply
    invariant: str | None = None  # the `invariant` of a 422
    events: tuple[str, ...] = ()  # the event types a fresh 202 appends, in order
    replay_of: Record | None = None  # a replay returns this record's reply unchanged

    @property
    def fresh(self) -> bool:
        """True when the command is accepted and applied (not a replay, not refused)."""
        return self.status == 202 and self.replay_of is None

    def describe(self) -> str:
        if self.replay_of is not None:
            return "202 (replay of the first reply)"
        if self.status == 202:
            runs: list[list[Any]] = []
            for event in self.events:
                if runs and runs[-1][0] == event:
                    runs[-1][1] += 1
                else:
                    runs.append([event, 1])
            return "202 " + ", ".join(f"{n}x{e}" if n > 1 else e for e, n in runs)
        return f"{self.status} {self.invariant or self.error}"


def refused(invariant: str) -> Outcome:
    assert invariant in invariant_codes(), invariant
    return Outcome(422, INVARIANT_VIOLATION, invariant)


def bad_request(code: str = "VALIDATION_ERROR") -> Outcome:
    return Outcome(400, code)


@dataclass(frozen=True)
class ExpectedEvent:
    """An event the service must append: its type, entity and some payload fields."""

    event_type: str
    entity_id: str
    payload: dict[str, Any]


@dataclass
class Product:
    """A product's published constraints, money in minor units (None: not given)."""

    code: str
    product_type: str
    active: bool
    min_balance: int | None = None
    max_balance: int | None = None
    allow_overdraft: bool = False
    overdraft: int | None = None
    min_amount: int | None = None
    max_amount: int | None = None

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Product:
        k = given(payload, "constraints") or {}

        def money(name: str) -> int | None:
            value = given(k, name)
            return None if value is None else to_minor(value, allow_zero=True)

        active = given(payload, "active")
        return cls(
            payload["productCode"],
            payload["productType"],
            True if active is None else bool(active),
            money("minBalance"),
            money("maxBalance"),
            given(k, "allowOverdraft") is True,
            money("overdraftLimit"),
            money("minAmount"),
            money("maxAmount"),
        )

    def floor(self) -> int:
        """The lowest balance of a deposit account: -overdraftLimit with allowOverdraft,
        else minBalance (default 0)."""
        if self.allow_overdraft:
            return -(self.overdraft or 0)
        return self.min_balance or 0


@dataclass
class Customer:
    customer_id: str
    email: str  # lower-cased: emails compare case-insensitively
    mobile: str
    external_ref: str | None


@dataclass
class Account:
    account_id: str
    account_type: str  # CUSTOMER or GL
    currency: str
    customer_id: str | None = None
    product_code: str | None = None
    product_type: str | None = None
    facility: int | None = None
    balance: int = 0


@dataclass
class TenantLedger:
    """One tenant as the contract describes it."""

    code: str
    base_currency: str
    products: dict[str, Product] = field(default_factory=dict)
    customers: dict[str, Customer] = field(default_factory=dict)
    accounts: dict[str, Account] = field(default_factory=dict)  # creation order
    events: int = 0  # the tenant's lastSequence
    commands: dict[str, Record] = field(default_factory=dict)

    def bounds(self, account: Account) -> tuple[int | None, int | None]:
        """(min, max) balance of an account under its product now; None is unbounded."""
        if account.account_type == "GL":
            return None, None
        if account.product_type in CREDIT_PRODUCT_TYPES:
            return -(account.facility or 0), 0
        product = self.products.get(account.product_code or "")
        if product is None:
            return 0, None
        return product.floor(), product.max_balance

    def customer_accounts(self) -> list[Account]:
        return [a for a in self.accounts.values() if a.account_type == "CUSTOMER"]

    def total(self) -> int:
        return sum(a.balance for a in self.accounts.values())

    def bound_breach(self, changes: dict[str, int]) -> str | None:
        """The bound a set of per-account changes breaks, checking minimums first.

        An account already outside its bounds (its product was tightened) may move
        back towards them: only a change that moves it further out is refused.
        """
        moves = []
        for account_id, change in changes.items():
            account = self.accounts[account_id]
            low, high = self.bounds(account)
            moves.append((account.balance + change, change, low, high))
        for balance, change, low, _ in moves:
            if low is not None and balance < low and change < 0:
                return "OVERDRAFT_LIMIT_EXCEEDED"
        for balance, change, _, high in moves:
            if high is not None and balance > high and change > 0:
                return "MAX_BALANCE_EXCEEDED"
        return None


def entry_changes(legs: list[dict[str, Any]]) -> dict[str, int]:
    """Net change per account of an entry's legs, in first-leg order."""
    changes: dict[str, int] = {}
    for leg in legs:
        minor = to_minor(leg["amount"])
        assert minor is not None
        delta = minor if leg["direction"] == "DEBIT" else -minor
        changes[leg["accountId"]] = changes.get(leg["accountId"], 0) + delta
    return changes


class Exactly(dict[str, Any]):
    """An expected object that must have exactly these keys (not just at least them)."""


def exactly(value: dict[str, Any]) -> Exactly:
    return Exactly(value)
