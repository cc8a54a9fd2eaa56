"""The events: what happened, as typed, frozen values.

`decide` returns them, `evolve` folds them, the store's projection table turns
them into rows and the hash chain encodes their `payload`, the JSON form that is
stored, hashed and served. `from_payload` reads that form back (a rebuild, the
tests' histories); `event_from_payload(t, p).payload == p` for every stored event.
Money is integer minor units here and a JSON number only in `payload`.

Both directions are written once: an event created by a command carries that
command's payload as `data` (`_OfItsData`), the others map their fields to the
payload by name (`_Wired`, a table computed once per class, so the write path
pays no lookup of the dataclass fields).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self, TypeVar, cast

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

from mock_core.contract import INITIAL_DEPOSIT_ACCOUNT
from mock_core.money import to_minor, to_number

Direction = Literal["DEBIT", "CREDIT"]


class _OfItsData:
    """An event whose payload is its command's `data` as given; `_read` reads its other
    fields, in order, from that payload."""

    __slots__ = ()
    data: Mapping[str, Any]

    if TYPE_CHECKING:  # each subclass's dataclass __init__: its `_read` fields, then `data`

        def __init__(self, *fields_then_data: Any) -> None: ...

    @staticmethod
    def _read(p: Mapping[str, Any]) -> tuple[Any, ...]:
        raise NotImplementedError  # each event's own

    @property
    def payload(self) -> dict[str, Any]:
        return dict(self.data)

    @classmethod
    def from_payload(cls, p: Mapping[str, Any]) -> Self:
        return cls(*cls._read(p), dict(p))


@dataclass(frozen=True, slots=True)
class TenantCreated(_OfItsData):
    """A tenant exists; `data` is its CreateTenant payload as given."""

    event_type: ClassVar[str] = "TenantCreated"
    tenant_code: str
    base_currency: str
    time_zone: str
    data: Mapping[str, Any]

    @property
    def entity_id(self) -> str:
        return self.tenant_code

    @staticmethod
    def _read(p: Mapping[str, Any]) -> tuple[Any, ...]:
        return p["tenantCode"], p["baseCurrency"], p["timeZone"]


@dataclass(frozen=True, slots=True)
class ProductCreated(_OfItsData):
    """A product is defined; `data` is its UpsertProduct payload (money as JSON numbers)."""

    event_type: ClassVar[str] = "ProductCreated"
    product_code: str
    product_type: str
    active: bool
    data: Mapping[str, Any]

    @property
    def entity_id(self) -> str:
        return self.product_code

    @staticmethod
    def _read(p: Mapping[str, Any]) -> tuple[Any, ...]:
        return p["productCode"], p["productType"], bool(p.get("active", True))


@dataclass(frozen=True, slots=True)
class ProductUpdated(ProductCreated):
    """A product's definition is replaced (same form as ProductCreated)."""

    event_type: ClassVar[str] = "ProductUpdated"


@dataclass(frozen=True, slots=True)
class CustomerCreated(_OfItsData):
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

    @staticmethod
    def _read(p: Mapping[str, Any]) -> tuple[Any, ...]:
        person = p["person"]
        return (
            p["customerId"],
            person["email"],
            person["mobile"],
            p.get("externalRef"),
            person["dateOfBirth"],
        )


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


def _legs_json(legs: tuple[Leg, ...]) -> list[dict[str, Any]]:
    return [leg.as_json() for leg in legs]


def net_changes(legs: tuple[Leg, ...]) -> dict[str, int]:
    """Each account's net change over `legs`."""
    changes: dict[str, int] = {}  # insertion order is first-leg order
    for leg in legs:  # (Leg.change, written out: this runs twice per entry)
        amount = leg.amount_minor if leg.direction == "DEBIT" else -leg.amount_minor
        changes[leg.account_id] = changes.get(leg.account_id, 0) + amount
    return changes


# How a field's value goes into the payload and comes back out of it (the names of two
# functions of `_CODECS`), by the field's name: money (`*_minor`) is integer minor units
# here and a JSON number in the payload; a field not named here is the same in both
# (no name: the value is written as it is, `(self.currency)`).
_MONEY = ("to_number", "to_minor")
_CONVERTERS = {
    "legs": ("_legs_json", "_legs"),
    "tags": ("dict", "dict"),
    "metadata": ("dict", "dict"),
}
_CODECS: dict[str, Any] = {
    "to_number": to_number,
    "to_minor": to_minor,
    "_legs_json": _legs_json,
    "_legs": _legs,
    "dict": dict,
}


def _json_name(field_name: str) -> str:
    """A field's name in the payload: camelCase, money without its unit (`amount_minor`:
    `amount`)."""
    head, *rest = field_name.removesuffix("_minor").split("_")
    return head + "".join(word.title() for word in rest)


class _Wired:
    """An event whose payload is its init fields, in order, under their JSON names
    (`_NAMES` where `_json_name` does not give it). `@_wired` writes `fields_json`,
    `payload` (unless the class has its own) and `from_payload` for each class."""

    __slots__ = ()
    _NAMES: ClassVar[Mapping[str, str]] = {}

    if TYPE_CHECKING:  # written by @_wired

        def fields_json(self) -> dict[str, Any]: ...

        @property
        def payload(self) -> dict[str, Any]: ...

        @classmethod
        def from_payload(cls, p: Mapping[str, Any]) -> Self: ...


W = TypeVar("W", bound=type[_Wired])


def _wired(cls: W) -> W:
    """Class decorator (over `@dataclass`): write the class's payload methods from its
    fields, once, as `dataclass` writes `__init__`: as plain code, so that the write
    path runs what a hand-written method would (a table walked per event is twice as
    slow)."""
    to_json, from_json = [], []
    for f in fields(cast("type[DataclassInstance]", cls)):
        if f.init:
            key = cls._NAMES.get(f.name) or _json_name(f.name)
            out, back = _MONEY if f.name.endswith("_minor") else _CONVERTERS.get(f.name, ("", ""))
            to_json.append(f"{key!r}: {out}(self.{f.name})")
            from_json.append(f"{back}(p[{key!r}])")
    namespace = dict(_CODECS)
    # The source is built from the class's own field names and the codecs' names only.
    exec(
        f"def fields_json(self):\n    return {{{', '.join(to_json)}}}\n"
        f"def from_payload(cls, p):\n    return cls({', '.join(from_json)})\n",
        namespace,
    )
    made = {
        "fields_json": namespace["fields_json"],
        "from_payload": classmethod(namespace["from_payload"]),
    }
    if "payload" not in cls.__dict__:
        made["payload"] = property(namespace["fields_json"])
    for name, method in made.items():
        setattr(cls, name, method)
    return cls


class _OfOneAccount(_Wired):
    """An event about one account: the account is its entity and all that it touches."""

    __slots__ = ()
    account_id: str

    @property
    def entity_id(self) -> str:
        return self.account_id

    @property
    def touches(self) -> tuple[str, ...]:
        return (self.account_id,)


@_wired
@dataclass(frozen=True, slots=True)
class AccountOpened(_OfOneAccount):
    """An account exists, with a zero balance: a customer's, or one of the GL chart."""

    event_type: ClassVar[str] = "AccountOpened"
    _NAMES = {"alias": "accountAlias", "purpose": "accountPurpose"}
    account_id: str
    account_type: str  # CUSTOMER or GL
    customer_id: str | None
    product_code: str | None
    product_type: str | None
    currency: str
    alias: str | None = None
    purpose: str | None = None


@_wired
@dataclass(frozen=True, slots=True)
class LoanFacilityCreated(_OfOneAccount):
    """A loan or card account gets its credit limit."""

    event_type: ClassVar[str] = "LoanFacilityCreated"
    account_id: str
    facility_limit_minor: int
    currency: str


@_wired
@dataclass(frozen=True, slots=True)
class FundsPosted(_Wired):
    """An account's initial deposit, against the initial-deposit clearing account.
    Its payload is its fields, then the narrative and the two legs."""

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
        payload = self.fields_json()
        payload["narrative"] = "Initial deposit"
        payload["legs"] = _legs_json(self.legs)
        return payload


@_wired
@dataclass(frozen=True, slots=True)
class EntryPosted(_Wired):
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


@_wired
@dataclass(frozen=True, slots=True)
class AccountBalanceUpdated(_OfOneAccount):
    """An account's balance after an entry: restates what the entry's legs imply."""

    event_type: ClassVar[str] = "AccountBalanceUpdated"
    account_id: str
    entry_id: str
    change_minor: int
    balance_minor: int


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
