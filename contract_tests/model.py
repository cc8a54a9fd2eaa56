"""A reference model of TuringCore ledgers, written from docs/contract.md alone.

For every command the model predicts the reply the service must give (status,
error code, invariant code, or a replay of an earlier reply) and the events it
must append, and it folds accepted commands into balances. It knows nothing of
`mock_core`: where the service and the model disagree, one of them (or the
contract) is wrong, and the ledger suite reports it.

Money is integer minor units throughout (every tenant the suites create is in
AUD, two minor digits). Balances follow the contract's sign convention: a DEBIT
leg adds to an account's balance and a CREDIT leg subtracts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# The chart of GL accounts CreateTenant opens, in the order the contract lists them.
GL_ACCOUNTS: tuple[str, ...] = (
    "GL_SALARY_CLEARING",
    "GL_CARD_CLEARING",
    "GL_BPAY_CLEARING",
    "GL_NPP_CLEARING",
    "GL_ATM_CLEARING",
    "GL_DIRECT_ENTRY_CLEARING",
    "GL_INITIAL_DEPOSIT_CLEARING",
    "GL_LOAN_FUNDING",
    "GL_INTEREST",
    "GL_FEES",
    "GL_SUSPENSE",
)
INITIAL_DEPOSIT_ACCOUNT = "GL_INITIAL_DEPOSIT_CLEARING"
CREDIT_PRODUCT_TYPES = frozenset({"LOAN", "CREDIT_CARD"})

# The 422 invariants in the order docs/contract.md says they are checked.
INVARIANTS: tuple[str, ...] = (
    "IDEMPOTENCY_KEY_REUSED",
    "TENANT_CODE_UNIQUE",
    "CURRENCY_MUST_BE_SUPPORTED",
    "TIME_ZONE_MUST_BE_VALID",
    "RATES_MUST_BE_NON_NEGATIVE",
    "MIN_MUST_BE_BELOW_MAX",
    "CONSTRAINTS_MUST_BE_CONSISTENT",
    "CUSTOMER_MUST_BE_ADULT",
    "CUSTOMER_EMAIL_UNIQUE",
    "CUSTOMER_MOBILE_UNIQUE",
    "CUSTOMER_EXTERNAL_REF_UNIQUE",
    "CUSTOMER_MUST_EXIST",
    "PRODUCT_MUST_EXIST",
    "PRODUCT_MUST_BE_ACTIVE",
    "ACCOUNT_CURRENCY_MUST_MATCH_TENANT",
    "FACILITY_LIMIT_REQUIRED",
    "FACILITY_LIMIT_NOT_ALLOWED",
    "FACILITY_LIMIT_OUT_OF_RANGE",
    "INITIAL_DEPOSIT_BELOW_MINIMUM",
    "INITIAL_DEPOSIT_ABOVE_MAXIMUM",
    "VALUE_DATE_BEFORE_BOOKING_DATE",
    "LEGS_MUST_SHARE_CURRENCY",
    "ACCOUNT_MUST_EXIST",
    "ENTRY_CURRENCY_MUST_MATCH_ACCOUNT",
    "LEGS_MUST_BALANCE",
    "OVERDRAFT_LIMIT_EXCEEDED",
    "MAX_BALANCE_EXCEEDED",
)
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
    try:
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        return None
    if not amount.is_finite():
        return None
    scaled = amount.scaleb(minor_digits)
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
    amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    scaled = amount.scaleb(minor_digits)
    if not scaled.is_finite() or scaled != scaled.to_integral_value():
        # 0.30000000000000004 is what a service summing binary floats writes: never
        # rounded to the cent here, or the drift would pass.
        raise ValueError(f"{value!r} is not a whole number of cents")
    return int(scaled)


def given(mapping: Any, name: str) -> Any:
    """An optional field's value, None when absent: an explicit null means absent."""
    return mapping.get(name) if isinstance(mapping, dict) else None


def canonical(value: Any) -> str:
    """A payload as sorted, compact JSON: two payloads are the same when these are."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


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
    assert invariant in INVARIANTS, invariant
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


class Ledger:
    """Every tenant the suite has created, and what each command must do to them."""

    def __init__(self) -> None:
        self.tenants: dict[str, TenantLedger] = {}

    # -- prediction ------------------------------------------------------------------

    def expect(
        self,
        tenant_id: str,
        command_type: str,
        payload: dict[str, Any],
        *,
        dedup_key: str,
        on: date,
    ) -> Outcome:
        """The reply `command_type` with `payload` must get on tenant `tenant_id`.

        `dedup_key` is the idempotencyKey, or the commandId when there is none; `on`
        is the date of the command's timestamp. Pure: nothing is changed.
        """
        invalid = self.validate(tenant_id, command_type, payload)
        if invalid is not None:
            return invalid
        tenant = self.tenants.get(tenant_id)
        if tenant is None and command_type != "CreateTenant":
            return Outcome(404, "NOT_FOUND")
        if tenant is not None:
            record = tenant.commands.get(dedup_key)
            if record is not None:
                if record.command_type == command_type and record.payload == canonical(payload):
                    return Outcome(202, replay_of=record)
                return refused("IDEMPOTENCY_KEY_REUSED")
        if command_type == "CreateTenant":
            return self._create_tenant(tenant, payload)
        assert tenant is not None
        handler = {
            "UpsertProduct": self._upsert_product,
            "CreateCustomer": self._create_customer,
            "OpenAccount": self._open_account,
            "PostEntry": self._post_entry,
        }[command_type]
        return handler(tenant, payload, on)

    def validate(
        self, tenant_id: str, command_type: str, payload: dict[str, Any]
    ) -> Outcome | None:
        """The 400 of a malformed command, for the shape errors the suites send."""
        if command_type == "CreateTenant" and payload.get("tenantCode") != tenant_id:
            return bad_request("TENANT_MISMATCH")
        if command_type == "OpenAccount":
            deposit = given(payload, "initialDeposit")
            if deposit is not None and to_minor(deposit, allow_zero=True) is None:
                return bad_request()
            facility = given(payload, "facilityLimit")
            if facility is not None and to_minor(facility) is None:
                return bad_request()
        if command_type == "PostEntry":
            legs = payload.get("legs", [])
            if not legs_per_entry_min <= len(legs) <= legs_per_entry_max:
                return bad_request()
            if any(to_minor(leg.get("amount")) is None for leg in legs):
                return bad_request()
        return None

    def _create_tenant(self, tenant: TenantLedger | None, p: dict[str, Any]) -> Outcome:
        if tenant is not None:
            return refused("TENANT_CODE_UNIQUE")
        assert p["baseCurrency"] in SUPPORTED_CURRENCIES | UNSUPPORTED_CURRENCIES
        if p["baseCurrency"] in UNSUPPORTED_CURRENCIES:
            return refused("CURRENCY_MUST_BE_SUPPORTED")
        if not valid_time_zone(p["timeZone"]):
            return refused("TIME_ZONE_MUST_BE_VALID")
        return Outcome(202, events=("TenantCreated",) + ("AccountOpened",) * len(GL_ACCOUNTS))

    def _upsert_product(self, tenant: TenantLedger, p: dict[str, Any], on: date) -> Outcome:
        rates = ("rate", "baseRate", "bonusRate", "purchaseRate", "cashAdvanceRate")
        interest = given(p, "interest") or {}
        if any(given(interest, name) is not None and interest[name] < 0 for name in rates):
            return refused("RATES_MUST_BE_NON_NEGATIVE")
        k = given(p, "constraints") or {}
        for low, high in (
            ("minBalance", "maxBalance"),
            ("minAmount", "maxAmount"),
            ("minAge", "maxAge"),
        ):
            lo, hi = given(k, low), given(k, high)
            if lo is not None and hi is not None and not lo < hi:
                return refused("MIN_MUST_BE_BELOW_MAX")
        if (given(k, "overdraftLimit") or 0) > 0 and given(k, "allowOverdraft") is not True:
            return refused("CONSTRAINTS_MUST_BE_CONSISTENT")
        default, options = given(k, "termMonthsDefault"), given(k, "termMonthsOptions")
        if default is not None and options is not None and default not in options:
            return refused("CONSTRAINTS_MUST_BE_CONSISTENT")
        created = p["productCode"] not in tenant.products
        return Outcome(202, events=("ProductCreated" if created else "ProductUpdated",))

    def _create_customer(self, tenant: TenantLedger, p: dict[str, Any], on: date) -> Outcome:
        person = p["person"]
        if age_on(date.fromisoformat(person["dateOfBirth"]), on) < adult_age_years:
            return refused("CUSTOMER_MUST_BE_ADULT")
        customers = tenant.customers.values()
        if any(c.email == person["email"].lower() for c in customers):
            return refused("CUSTOMER_EMAIL_UNIQUE")
        if any(c.mobile == person["mobile"] for c in customers):
            return refused("CUSTOMER_MOBILE_UNIQUE")
        ref = given(p, "externalRef")
        if ref is not None and any(c.external_ref == ref for c in customers):
            return refused("CUSTOMER_EXTERNAL_REF_UNIQUE")
        return Outcome(202, events=("CustomerCreated",))

    def _open_account(self, tenant: TenantLedger, p: dict[str, Any], on: date) -> Outcome:
        if p["customerId"] not in tenant.customers:
            return refused("CUSTOMER_MUST_EXIST")
        product = tenant.products.get(p["productCode"])
        if product is None:
            return refused("PRODUCT_MUST_EXIST")
        if not product.active:
            return refused("PRODUCT_MUST_BE_ACTIVE")
        if p["currency"] != tenant.base_currency:
            return refused("ACCOUNT_CURRENCY_MUST_MATCH_TENANT")
        credit = product.product_type in CREDIT_PRODUCT_TYPES
        facility = self.facility(product, p)
        if credit and facility is None:
            return refused("FACILITY_LIMIT_REQUIRED")
        if not credit and facility is not None:
            return refused("FACILITY_LIMIT_NOT_ALLOWED")
        if (
            credit
            and facility is not None
            and (
                (product.min_amount is not None and facility < product.min_amount)
                or (product.max_amount is not None and facility > product.max_amount)
            )
        ):
            return refused("FACILITY_LIMIT_OUT_OF_RANGE")
        deposit = to_minor(given(p, "initialDeposit") or 0, allow_zero=True) or 0
        if not credit:
            # The opening amount: at least minBalance for every deposit product, and
            # within minAmount..maxAmount for a term deposit.
            low = product.min_balance or 0
            high = None
            if product.product_type == "TERM_DEPOSIT":
                low = max(low, product.min_amount or 0)
                high = product.max_amount
            if deposit < low:
                return refused("INITIAL_DEPOSIT_BELOW_MINIMUM")
            if high is not None and deposit > high:
                return refused("INITIAL_DEPOSIT_ABOVE_MAXIMUM")
        if deposit > 0:
            # The new account's bounds hold from its first posting on.
            ceiling = 0 if credit else product.max_balance
            if ceiling is not None and deposit > ceiling:
                return refused("MAX_BALANCE_EXCEEDED")
        events = ["AccountOpened"]
        if credit:
            events.append("LoanFacilityCreated")
        if deposit > 0:
            events.append("FundsPosted")
        return Outcome(202, events=tuple(events))

    @staticmethod
    def facility(product: Product, p: dict[str, Any]) -> int | None:
        """A new account's facility limit: facilityLimit (an extension) if given, else,
        for a loan or card, the product's maxAmount."""
        asked = given(p, "facilityLimit")
        if asked is not None:
            return to_minor(asked)
        return product.max_amount if product.product_type in CREDIT_PRODUCT_TYPES else None

    def _post_entry(self, tenant: TenantLedger, p: dict[str, Any], on: date) -> Outcome:
        if p["valueDate"] < p["bookingDate"]:  # ISO dates order as strings
            return refused("VALUE_DATE_BEFORE_BOOKING_DATE")
        legs = p["legs"]
        if any((given(leg, "currency") or p["currency"]) != p["currency"] for leg in legs):
            return refused("LEGS_MUST_SHARE_CURRENCY")
        if any(leg["accountId"] not in tenant.accounts for leg in legs):
            return refused("ACCOUNT_MUST_EXIST")
        if any(tenant.accounts[leg["accountId"]].currency != p["currency"] for leg in legs):
            return refused("ENTRY_CURRENCY_MUST_MATCH_ACCOUNT")
        changes = entry_changes(legs)
        if sum(changes.values()) != 0:
            return refused("LEGS_MUST_BALANCE")
        breach = tenant.bound_breach(changes)
        if breach is not None:
            return refused(breach)
        return Outcome(202, events=("EntryPosted",) + ("AccountBalanceUpdated",) * len(changes))

    # -- application -----------------------------------------------------------------

    def apply(
        self,
        tenant_id: str,
        command_type: str,
        payload: dict[str, Any],
        *,
        dedup_key: str,
        command_id: str,
        reply: bytes,
        result: dict[str, Any],
    ) -> list[ExpectedEvent]:
        """Fold an accepted command in, with the ids the service made (`result`).

        Returns the events the service must have appended for it, in order.
        """
        if command_type == "CreateTenant":
            tenant = TenantLedger(tenant_id, payload["baseCurrency"])
            self.tenants[tenant_id] = tenant
            events = [ExpectedEvent("TenantCreated", tenant_id, dict(payload))]
            for code in GL_ACCOUNTS:
                tenant.accounts[code] = Account(code, "GL", payload["baseCurrency"])
                events.append(ExpectedEvent("AccountOpened", code, _opened(tenant.accounts[code])))
            tenant.events += len(events)
        else:
            tenant = self.tenants[tenant_id]
            apply = {
                "UpsertProduct": self._apply_product,
                "CreateCustomer": self._apply_customer,
                "OpenAccount": self._apply_account,
                "PostEntry": self._apply_entry,
            }[command_type]
            events = apply(tenant, payload, result)
            tenant.events += len(events)
        tenant.commands[dedup_key] = Record(command_type, canonical(payload), reply, command_id)
        return events

    def _apply_product(
        self, tenant: TenantLedger, p: dict[str, Any], result: dict[str, Any]
    ) -> list[ExpectedEvent]:
        created = p["productCode"] not in tenant.products
        tenant.products[p["productCode"]] = Product.from_payload(p)
        subset = {
            "productCode": p["productCode"],
            "productType": p["productType"],
            "name": p["name"],
        }
        event_type = "ProductCreated" if created else "ProductUpdated"
        return [ExpectedEvent(event_type, p["productCode"], subset)]

    def _apply_customer(
        self, tenant: TenantLedger, p: dict[str, Any], result: dict[str, Any]
    ) -> list[ExpectedEvent]:
        customer_id = result["customerId"]
        person = p["person"]
        tenant.customers[customer_id] = Customer(
            customer_id, person["email"].lower(), person["mobile"], given(p, "externalRef")
        )
        subset = {
            "customerId": customer_id,
            "externalRef": given(p, "externalRef"),
            "person": _without_nulls(person),
        }
        return [ExpectedEvent("CustomerCreated", customer_id, subset)]

    def _apply_account(
        self, tenant: TenantLedger, p: dict[str, Any], result: dict[str, Any]
    ) -> list[ExpectedEvent]:
        account_id = result["accountId"]
        product = tenant.products[p["productCode"]]
        facility = self.facility(product, p)
        deposit = to_minor(given(p, "initialDeposit") or 0, allow_zero=True) or 0
        account = Account(
            account_id,
            "CUSTOMER",
            p["currency"],
            p["customerId"],
            product.code,
            product.product_type,
            facility,
        )
        tenant.accounts[account_id] = account
        opened = _opened(account)
        opened.update(
            accountAlias=given(p, "accountAlias"), accountPurpose=given(p, "accountPurpose")
        )
        events = [ExpectedEvent("AccountOpened", account_id, opened)]
        if facility is not None:
            events.append(
                ExpectedEvent(
                    "LoanFacilityCreated",
                    account_id,
                    {
                        "accountId": account_id,
                        "facilityLimit": to_number(facility),
                        "currency": p["currency"],
                    },
                )
            )
        if deposit > 0:
            account.balance += deposit
            tenant.accounts[INITIAL_DEPOSIT_ACCOUNT].balance -= deposit
            amount = to_number(deposit)
            events.append(
                ExpectedEvent(
                    "FundsPosted",
                    account_id,
                    {
                        "accountId": account_id,
                        "currency": p["currency"],
                        "amount": amount,
                        "legs": [
                            {"accountId": account_id, "direction": "DEBIT", "amount": amount},
                            {
                                "accountId": INITIAL_DEPOSIT_ACCOUNT,
                                "direction": "CREDIT",
                                "amount": amount,
                            },
                        ],
                    },
                )
            )
        return events

    def _apply_entry(
        self, tenant: TenantLedger, p: dict[str, Any], result: dict[str, Any]
    ) -> list[ExpectedEvent]:
        entry_id = result["entryId"]
        changes = entry_changes(p["legs"])
        legs = [
            {
                "accountId": leg["accountId"],
                "direction": leg["direction"],
                "amount": to_number(to_minor(leg["amount"]) or 0),
            }
            for leg in p["legs"]
        ]
        events = [
            ExpectedEvent(
                "EntryPosted",
                entry_id,
                {
                    "entryId": entry_id,
                    "bookingDate": p["bookingDate"],
                    "valueDate": p["valueDate"],
                    "currency": p["currency"],
                    "legs": legs,
                    "narrative": p["narrative"],
                    "tags": exactly(given(p, "tags") or {}),
                    "metadata": exactly(given(p, "metadata") or {}),
                },
            )
        ]
        for account_id, change in changes.items():
            tenant.accounts[account_id].balance += change
            # The running balance depends on the order concurrent entries were applied
            # in, so it is checked against the fold of the stream, not predicted here.
            events.append(
                ExpectedEvent(
                    "AccountBalanceUpdated",
                    account_id,
                    {"accountId": account_id, "entryId": entry_id, "change": to_number(change)},
                )
            )
        return events


class Exactly(dict[str, Any]):
    """An expected object that must have exactly these keys (not just at least them)."""


def exactly(value: dict[str, Any]) -> Exactly:
    return Exactly(value)


def _without_nulls(value: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if v is not None}


def _opened(account: Account) -> dict[str, Any]:
    return {
        "accountId": account.account_id,
        "accountType": account.account_type,
        "customerId": account.customer_id,
        "productCode": account.product_code,
        "productType": account.product_type,
        "currency": account.currency,
    }
