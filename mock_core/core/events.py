"""The events: what happened, as typed, frozen values.

`decide` returns them, `evolve` folds them, the store's projection table turns
them into rows and the hash chain encodes their `payload`, the JSON form that is
stored, hashed and served. `from_payload` reads that form back (a rebuild, the
tests' histories); `event_from_payload(t, p).payload == p` for every stored event.
Money is integer minor units here and a JSON number only in `payload`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from mock_core.core.state import INITIAL_DEPOSIT_ACCOUNT
from mock_core.money import to_minor, to_number

Direction = Literal["DEBIT", "CREDIT"]


class _OfOneAccount:
    """An event about one account: the account is its entity and all that it touches."""

    __slots__ = ()
    account_id: str

    @property
    def entity_id(self) -> str:
        return self.account_id

    @property
    def touches(self) -> tuple[str, ...]:
        return (self.account_id,)


@dataclass(frozen=True, slots=True)
class TenantCreated:
    """A tenant exists; `data` is its CreateTenant payload as given."""

    event_type: ClassVar[str] = "TenantCreated"
    tenant_code: str
    base_currency: str
    time_zone: str
    data: Mapping[str, Any]

    @property
    def entity_id(self) -> str:
        return self.tenant_code

    @property
    def payload(self) -> dict[str, Any]:
        return dict(self.data)

    @classmethod
    def from_payload(cls, p: Mapping[str, Any]) -> TenantCreated:
        return cls(p["tenantCode"], p["baseCurrency"], p["timeZone"], dict(p))


@dataclass(frozen=True, slots=True)
class ProductCreated:
    """A product is defined; `data` is its UpsertProduct payload (money as JSON numbers)."""

    event_type: ClassVar[str] = "ProductCreated"
    product_code: str
    product_type: str
    active: bool
    data: Mapping[str, Any]

    @property
    def entity_id(self) -> str:
        return self.product_code

    @property
    def payload(self) -> dict[str, Any]:
        return dict(self.data)

    @classmethod
    def from_payload(cls, p: Mapping[str, Any]) -> ProductCreated:
        return cls(p["productCode"], p["productType"], bool(p.get("active", True)), dict(p))


@dataclass(frozen=True, slots=True)
class ProductUpdated(ProductCreated):
    """A product's definition is replaced (same form as ProductCreated)."""

    event_type: ClassVar[str] = "ProductUpdated"


@dataclass(frozen=True, slots=True)
class CustomerCreated:
    """A customer exists; `data` is the CreateCustomer payload with its `customerId`."""

    event_type: ClassVar[str] = "CustomerCreated"
    customer_id: str
    email: str  # as given; uniqueness is on the lower-cased form
    mobile: str
    external_ref: str | None
    date_of_birth: str  # YYYY-MM-DD
    data: Mapping[str, Any]

    @property
    def entity_id(self) -> str:
        return self.customer_id

    @property
    def payload(self) -> dict[str, Any]:
        return dict(self.data)

    @classmethod
    def from_payload(cls, p: Mapping[str, Any]) -> CustomerCreated:
        person = p["person"]
        return cls(
            p["customerId"],
            person["email"],
            person["mobile"],
            p.get("externalRef"),
            person["dateOfBirth"],
            dict(p),
        )


@dataclass(frozen=True, slots=True)
class AccountOpened(_OfOneAccount):
    """An account exists, with a zero balance: a customer's, or one of the GL chart."""

    event_type: ClassVar[str] = "AccountOpened"
    account_id: str
    account_type: str  # CUSTOMER or GL
    customer_id: str | None
    product_code: str | None
    product_type: str | None
    currency: str
    alias: str | None = None
    purpose: str | None = None

    @property
    def payload(self) -> dict[str, Any]:
        return {
            "accountId": self.account_id,
            "accountType": self.account_type,
            "customerId": self.customer_id,
            "productCode": self.product_code,
            "productType": self.product_type,
            "currency": self.currency,
            "accountAlias": self.alias,
            "accountPurpose": self.purpose,
        }

    @classmethod
    def from_payload(cls, p: Mapping[str, Any]) -> AccountOpened:
        return cls(
            p["accountId"],
            p["accountType"],
            p["customerId"],
            p["productCode"],
            p["productType"],
            p["currency"],
            p["accountAlias"],
            p["accountPurpose"],
        )


@dataclass(frozen=True, slots=True)
class LoanFacilityCreated(_OfOneAccount):
    """A loan or card account gets its credit limit."""

    event_type: ClassVar[str] = "LoanFacilityCreated"
    account_id: str
    facility_limit_minor: int
    currency: str

    @property
    def payload(self) -> dict[str, Any]:
        return {
            "accountId": self.account_id,
            "facilityLimit": to_number(self.facility_limit_minor),
            "currency": self.currency,
        }

    @classmethod
    def from_payload(cls, p: Mapping[str, Any]) -> LoanFacilityCreated:
        return cls(p["accountId"], to_minor(p["facilityLimit"]), p["currency"])


@dataclass(frozen=True, slots=True)
class Leg:
    account_id: str
    direction: Direction
    amount_minor: int

    @property
    def change(self) -> int:
        """The leg's signed change to its account's balance (debits raise it)."""
        return self.amount_minor if self.direction == "DEBIT" else -self.amount_minor

    def as_json(self) -> dict[str, Any]:
        return {
            "accountId": self.account_id,
            "direction": self.direction,
            "amount": to_number(self.amount_minor),
        }


def _legs(raw: list[Mapping[str, Any]]) -> tuple[Leg, ...]:
    return tuple(Leg(leg["accountId"], leg["direction"], to_minor(leg["amount"])) for leg in raw)


def net_changes(legs: tuple[Leg, ...]) -> dict[str, int]:
    """Each account's net change over `legs`."""
    changes: dict[str, int] = {}  # insertion order is first-leg order
    for leg in legs:
        changes[leg.account_id] = changes.get(leg.account_id, 0) + leg.change
    return changes


@dataclass(frozen=True, slots=True)
class FundsPosted:
    """An account's initial deposit, against the initial-deposit clearing account."""

    event_type: ClassVar[str] = "FundsPosted"
    entry_id: str
    account_id: str
    currency: str
    amount_minor: int
    # Each account's net change; derived once (the store and evolve read it per event).
    changes: Mapping[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        changes = {self.account_id: self.amount_minor, INITIAL_DEPOSIT_ACCOUNT: -self.amount_minor}
        object.__setattr__(self, "changes", changes)

    @property
    def entity_id(self) -> str:
        return self.account_id

    @property
    def legs(self) -> tuple[Leg, ...]:
        return (
            Leg(self.account_id, "DEBIT", self.amount_minor),
            Leg(INITIAL_DEPOSIT_ACCOUNT, "CREDIT", self.amount_minor),
        )

    @property
    def touches(self) -> tuple[str, ...]:
        return (self.account_id, INITIAL_DEPOSIT_ACCOUNT)

    @property
    def payload(self) -> dict[str, Any]:
        amount = to_number(self.amount_minor)
        return {
            "entryId": self.entry_id,
            "accountId": self.account_id,
            "currency": self.currency,
            "amount": amount,
            "narrative": "Initial deposit",
            "legs": [leg.as_json() for leg in self.legs],
        }

    @classmethod
    def from_payload(cls, p: Mapping[str, Any]) -> FundsPosted:
        return cls(p["entryId"], p["accountId"], p["currency"], to_minor(p["amount"]))


@dataclass(frozen=True, slots=True)
class EntryPosted:
    """A balanced journal entry; `tags` and `metadata` are the client's, as given."""

    event_type: ClassVar[str] = "EntryPosted"
    entry_id: str
    booking_date: str  # YYYY-MM-DD
    value_date: str
    currency: str
    legs: tuple[Leg, ...]
    narrative: str
    tags: Mapping[str, str]
    metadata: Mapping[str, Any]
    # Each account's net change, in first-leg order; derived once (the store and
    # evolve read it per event).
    changes: Mapping[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "changes", net_changes(self.legs))

    @property
    def entity_id(self) -> str:
        return self.entry_id

    @property
    def touches(self) -> tuple[str, ...]:
        return tuple(self.changes)

    @property
    def payload(self) -> dict[str, Any]:
        return {
            "entryId": self.entry_id,
            "bookingDate": self.booking_date,
            "valueDate": self.value_date,
            "currency": self.currency,
            "legs": [leg.as_json() for leg in self.legs],
            "narrative": self.narrative,
            "tags": dict(self.tags),
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_payload(cls, p: Mapping[str, Any]) -> EntryPosted:
        return cls(
            p["entryId"],
            p["bookingDate"],
            p["valueDate"],
            p["currency"],
            _legs(p["legs"]),
            p["narrative"],
            dict(p["tags"]),
            dict(p["metadata"]),
        )


@dataclass(frozen=True, slots=True)
class AccountBalanceUpdated(_OfOneAccount):
    """An account's balance after an entry: restates what the entry's legs imply."""

    event_type: ClassVar[str] = "AccountBalanceUpdated"
    account_id: str
    entry_id: str
    change_minor: int
    balance_minor: int

    @property
    def payload(self) -> dict[str, Any]:
        return {
            "accountId": self.account_id,
            "entryId": self.entry_id,
            "change": to_number(self.change_minor),
            "balance": to_number(self.balance_minor),
        }

    @classmethod
    def from_payload(cls, p: Mapping[str, Any]) -> AccountBalanceUpdated:
        return cls(p["accountId"], p["entryId"], to_minor(p["change"]), to_minor(p["balance"]))


Event = (
    TenantCreated
    | ProductCreated
    | ProductUpdated
    | CustomerCreated
    | AccountOpened
    | LoanFacilityCreated
    | FundsPosted
    | EntryPosted
    | AccountBalanceUpdated
)
EVENT_TYPES: dict[str, type[Event]] = {
    cls.event_type: cls
    for cls in (
        TenantCreated,
        ProductCreated,
        ProductUpdated,
        CustomerCreated,
        AccountOpened,
        LoanFacilityCreated,
        FundsPosted,
        EntryPosted,
        AccountBalanceUpdated,
    )
}


def event_from_payload(event_type: str, payload: Mapping[str, Any]) -> Event:
    """The typed event of a stored (eventType, payload) pair; AssertionError if unknown."""
    cls = EVENT_TYPES.get(event_type)
    if cls is None:
        raise AssertionError(f"unknown event type {event_type}")
    return cls.from_payload(payload)


def touches(event: Event) -> tuple[str, ...]:
    """The accounts `event` touches (for per-account reads); none for the others."""
    found: tuple[str, ...] = getattr(event, "touches", ())
    return found
