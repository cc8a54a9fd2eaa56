"""The command envelope and the five payloads, as validated input.

Validation here is about shape: types, required fields, lengths, patterns and
money precision. A failure is a 400 `VALIDATION_ERROR`. Business rules (the
422 invariants) live in `decide`. Money fields are integer minor units once
validated and are written back out as JSON numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    model_validator,
)

from mock_core import limits
from mock_core.core.state import CustomerKeys, Reads
from mock_core.money import minor_digits, to_minor, to_number

COMMAND_TYPES = ("CreateTenant", "UpsertProduct", "CreateCustomer", "OpenAccount", "PostEntry")
CommandType = Literal["CreateTenant", "UpsertProduct", "CreateCustomer", "OpenAccount", "PostEntry"]


def _money_parser(allow_zero: bool) -> Any:
    def parse(value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("must be a JSON number")
        minor = to_minor(value)
        if minor < 0 or (minor == 0 and not allow_zero):
            raise ValueError("must be greater than 0" if not allow_zero else "must not be negative")
        if minor > limits.amount_minor_max:
            raise ValueError(f"must be at most {to_number(limits.amount_minor_max)}")
        return minor

    return parse


def _as_number(minor: int) -> int | float:
    return to_number(minor)


# Amounts: numbers with at most 2 decimals (checked again against the entry's
# currency), greater than zero; held as integer minor units.
Money = Annotated[int, BeforeValidator(_money_parser(False)), PlainSerializer(_as_number)]
# The same, zero allowed: fees, limits and balances in product configuration.
MoneyOrZero = Annotated[int, BeforeValidator(_money_parser(True)), PlainSerializer(_as_number)]


def _json_int(value: object) -> object:
    # JSON has one number type: 9.0 is an integer to JSON Schema, so it is one here.
    if type(value) is float and value.is_integer():
        return int(value)
    return value


def _parse_date(value: object) -> date:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("must be a date string YYYY-MM-DD")
    return date.fromisoformat(value)


_TIMESTAMP = re.compile(
    r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})"
)


def _parse_timestamp(value: object) -> datetime:
    match = _TIMESTAMP.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError("must be an RFC 3339 date-time with an offset")
    day, time_of_day, fraction, offset = match.groups()
    # RFC 3339 allows any number of fraction digits; Python keeps microseconds.
    micros = (fraction or "").ljust(6, "0")[:6]
    offset = "+00:00" if offset in ("Z", "z") else offset
    try:
        moment = datetime.fromisoformat(f"{day}T{time_of_day}.{micros}{offset}")
    except ValueError as exc:
        raise ValueError(f"is not a valid date-time: {exc}") from None
    assert moment.tzinfo is not None
    return moment


_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _parse_uuid(value: object) -> str:
    # uuid.UUID() alone is too lenient: it drops braces and hyphens wherever they are.
    if not isinstance(value, str) or _UUID.fullmatch(value) is None:
        raise ValueError("must be a UUID string (8-4-4-4-12 hex digits)")
    return value


IsoDate = Annotated[date, BeforeValidator(_parse_date), PlainSerializer(lambda d: d.isoformat())]
Timestamp = Annotated[datetime, BeforeValidator(_parse_timestamp)]
UuidStr = Annotated[str, BeforeValidator(_parse_uuid)]
Str16 = Annotated[str, StringConstraints(min_length=1, max_length=16)]
Str50 = Annotated[str, StringConstraints(min_length=1, max_length=50)]
Str64 = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Str128 = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Str200 = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Str256 = Annotated[str, StringConstraints(min_length=0, max_length=256)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=500)]
Id = Str64
TenantCode = Annotated[str, StringConstraints(min_length=2, max_length=32, pattern=r"^[A-Z0-9_]+$")]
ProductCode = Annotated[
    str, StringConstraints(min_length=2, max_length=50, pattern=r"^[A-Z0-9_]+$")
]
FeeName = Annotated[
    str, StringConstraints(min_length=1, max_length=50, pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
]
IdempotencyKey = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=limits.idempotency_key_chars_max, pattern=r"^[^\x00]*$"
    ),
]
# Strings the store keeps in columns of their own may not hold U+0000 (PostgreSQL text
# cannot); free text that lives only inside the JSON of an event may.
ColumnStr64 = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00]*$")]
ColumnName = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[^\x00]*$")]
CurrencyCode = Annotated[str, StringConstraints(min_length=3, max_length=3, pattern=r"^[A-Z]{3}$")]
CountryCode = Annotated[str, StringConstraints(min_length=2, max_length=2, pattern=r"^[A-Z]{2}$")]
Email = Annotated[
    str,
    StringConstraints(
        min_length=3, max_length=254, pattern=r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$"
    ),
]
Mobile = Annotated[
    str, StringConstraints(min_length=8, max_length=16, pattern=r"^\+[1-9][0-9]{6,14}$")
]


class Strict(BaseModel):
    """Base of all input models: unknown fields refused, no type coercion.

    An explicit `null` in an optional field means the field is absent, as the
    published contract's own examples send it (`"line2": null`,
    `"maxBalance": null`): the key is dropped before validation, so a `null` in a
    required field reads as the field missing. Values inside free-form maps
    (fees, tags, metadata) are not fields, and a `null` there is still refused.
    """

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _null_is_absent(cls, data: Any) -> Any:
        if isinstance(data, dict) and None in data.values():
            # Only a field's null is dropped: a null under a name the model does not
            # know is still an unknown field (a typo such as `minBalanse: null`).
            fields = cls.model_fields
            return {k: v for k, v in data.items() if v is not None or k not in fields}
        return data


class Actor(Strict):
    actorType: Literal["SYSTEM", "USER", "SERVICE"]
    actorId: Str128


class CreateTenant(Strict):
    command_type: ClassVar[CommandType] = "CreateTenant"
    tenantCode: TenantCode
    displayName: Str200
    region: CountryCode
    baseCurrency: CurrencyCode
    timeZone: Str64
    regulatoryJurisdiction: Name | None = None
    businessType: Name | None = None

    def reads(self) -> Reads:
        """Only whether the tenant exists."""
        return Reads()


# A scalar value of a free-form map (bonus conditions, entry metadata).
ScalarValue = (
    Annotated[str, StringConstraints(max_length=200)]
    | Annotated[int, Field(ge=-(10**12), le=10**12)]
    | Annotated[float, Field(ge=-1e12, le=1e12, allow_inf_nan=False)]
    | bool
)
CreditCriterionValue = (
    ScalarValue
    | Annotated[list[Annotated[str, StringConstraints(max_length=100)]], Field(max_length=50)]
)


class Interest(Strict):
    RATES: ClassVar[tuple[str, ...]] = (
        "rate",
        "baseRate",
        "bonusRate",
        "purchaseRate",
        "cashAdvanceRate",
    )
    rate: float | None = None
    baseRate: float | None = None
    bonusRate: float | None = None
    purchaseRate: float | None = None
    cashAdvanceRate: float | None = None
    calculationMethod: Str50 | None = None
    paymentFrequency: Str50 | None = None
    bonusConditions: (
        Annotated[dict[FeeName, ScalarValue], Field(max_length=limits.bonus_conditions_entries_max)]
        | None
    ) = None

    @model_validator(mode="before")
    @classmethod
    def _rates_are_numbers(cls, data: Any) -> Any:
        # Strict mode accepts ints for floats; bools and huge values are refused here.
        if isinstance(data, dict):
            for name in cls.RATES:
                value = data.get(name)
                if isinstance(value, bool) or (
                    isinstance(value, int | float) and not -1000 <= value <= 1000
                ):
                    raise ValueError(f"{name} must be a number between -1000 and 1000")
        return data

    def rates(self) -> dict[str, float]:
        return {n: getattr(self, n) for n in self.RATES if getattr(self, n) is not None}


Months = Annotated[int, BeforeValidator(_json_int), Field(ge=1, le=limits.term_months_max)]
Age = Annotated[int, BeforeValidator(_json_int), Field(ge=0, le=150)]


def _distinct(values: list[int]) -> list[int]:
    if len(set(values)) != len(values):
        raise ValueError("must not repeat a value")
    return values


class Constraints(Strict):
    """A product's limits, by the published names; what each means is in `decide`."""

    minBalance: MoneyOrZero | None = None
    maxBalance: MoneyOrZero | None = None
    allowOverdraft: bool | None = None
    overdraftLimit: MoneyOrZero | None = None
    minAmount: MoneyOrZero | None = None
    maxAmount: MoneyOrZero | None = None
    termMonthsDefault: Months | None = None
    termMonthsOptions: (
        Annotated[
            list[Months],
            Field(min_length=1, max_length=limits.term_options_max),
            AfterValidator(_distinct),
        ]
        | None
    ) = None
    termMonths: Months | None = None
    # Extensions of ours: kept and returned, min < max.
    minAge: Age | None = None
    maxAge: Age | None = None


class UpsertProduct(Strict):
    command_type: ClassVar[CommandType] = "UpsertProduct"
    productCode: ProductCode
    name: Str200
    productType: Literal["DEPOSIT", "LOAN", "TERM_DEPOSIT", "CREDIT_CARD"]
    category: Str50 | None = None
    description: Text | None = None
    active: bool = True
    interest: Interest
    fees: (
        Annotated[dict[FeeName, MoneyOrZero], Field(max_length=limits.fees_per_product_max)] | None
    ) = None
    constraints: Constraints | None = None
    features: Annotated[list[Str50], Field(max_length=limits.features_per_product_max)] | None = (
        None
    )
    creditCriteria: (
        Annotated[
            dict[FeeName, CreditCriterionValue],
            Field(max_length=limits.credit_criteria_entries_max),
        ]
        | None
    ) = None

    def reads(self) -> Reads:
        """The product, if it exists (create or update)."""
        return Reads(products=(self.productCode,))


class Person(Strict):
    firstName: Name
    lastName: Name
    dateOfBirth: IsoDate
    email: Email
    mobile: Mobile


class Address(Strict):
    line1: Str200
    line2: Str200 | None = None
    suburb: Name
    state: Str50
    postcode: Str16
    country: CountryCode


class Employment(Strict):
    status: Literal[
        "FULL_TIME",
        "PART_TIME",
        "CASUAL",
        "CONTRACT",
        "SELF_EMPLOYED",
        "UNEMPLOYED",
        "RETIRED",
        "STUDENT",
    ]
    employer: Name | None = None
    occupation: Name | None = None
    annualIncome: MoneyOrZero | None = None


Token = Annotated[str, StringConstraints(min_length=1, max_length=50, pattern=r"^[A-Z][A-Z0-9_]*$")]


class RiskProfile(Strict):
    segment: Token | None = None
    kycStatus: Token | None = None
    creditScore: Annotated[int, BeforeValidator(_json_int), Field(ge=0, le=1200)] | None = None


class CreateCustomer(Strict):
    command_type: ClassVar[CommandType] = "CreateCustomer"
    externalRef: ColumnStr64 | None = None
    person: Person
    address: Address
    employment: Employment | None = None
    riskProfile: RiskProfile | None = None

    def reads(self) -> Reads:
        """The customers sharing the new one's email, mobile or external reference."""
        keys = CustomerKeys(self.person.email.lower(), self.person.mobile, self.externalRef)
        return Reads(customers_sharing=keys)


class OpenAccount(Strict):
    command_type: ClassVar[CommandType] = "OpenAccount"
    customerId: Id
    productCode: ProductCode
    currency: CurrencyCode
    accountAlias: ColumnName | None = None
    initialDeposit: MoneyOrZero | None = None
    accountPurpose: ColumnName | None = None
    facilityLimit: Money | None = None

    @model_validator(mode="after")
    def _amounts_fit_currency(self) -> OpenAccount:
        for name in ("initialDeposit", "facilityLimit"):
            _check_digits(getattr(self, name), self.currency, name)
        return self

    def reads(self) -> Reads:
        """The customer and the product."""
        return Reads(products=(self.productCode,), customers=(self.customerId,))


TagValue = Annotated[str, StringConstraints(min_length=1, max_length=100)]
MetadataValue = (
    Str256
    | Annotated[int, Field(ge=-(10**12), le=10**12)]
    | Annotated[float, Field(ge=-1e12, le=1e12, allow_inf_nan=False)]
    | bool
)


class Leg(Strict):
    accountId: Id
    direction: Literal["DEBIT", "CREDIT"]
    amount: Money
    currency: CurrencyCode | None = None


class PostEntry(Strict):
    command_type: ClassVar[CommandType] = "PostEntry"
    bookingDate: IsoDate
    valueDate: IsoDate
    currency: CurrencyCode
    legs: Annotated[
        list[Leg],
        Field(min_length=limits.legs_per_entry_min, max_length=limits.legs_per_entry_max),
    ]
    narrative: Text
    tags: Annotated[dict[FeeName, TagValue], Field(max_length=limits.tags_per_entry_max)] | None = (
        None
    )
    metadata: (
        Annotated[dict[Str64, MetadataValue], Field(max_length=limits.metadata_entries_max)] | None
    ) = None

    @model_validator(mode="after")
    def _amounts_fit_currency(self) -> PostEntry:
        for index, leg in enumerate(self.legs):
            _check_digits(leg.amount, self.currency, f"legs[{index}].amount")
        return self

    def reads(self) -> Reads:
        """The accounts of the legs, each with its product."""
        return Reads(accounts=tuple(dict.fromkeys(leg.accountId for leg in self.legs)))


def _check_digits(minor: int | None, currency: str, name: str) -> None:
    """Refuse an amount with more decimals than `currency` has (minor units are 1/100)."""
    digits = minor_digits(currency)
    if minor is not None and digits < 2 and minor % 10 ** (2 - digits):
        raise ValueError(f"{name} has more than {digits} decimal places for {currency}")


Payload = CreateTenant | UpsertProduct | CreateCustomer | OpenAccount | PostEntry

PAYLOAD_MODELS: dict[str, type[Payload]] = {
    model.command_type: model
    for model in (CreateTenant, UpsertProduct, CreateCustomer, OpenAccount, PostEntry)
}


class Envelope(Strict):
    """The envelope, with the payload still raw; `Command` adds the typed payload."""

    commandId: UuidStr
    tenantId: TenantCode
    commandType: CommandType
    actor: Actor
    timestamp: Timestamp
    idempotencyKey: IdempotencyKey | None = None
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Command:
    """A validated command: the envelope plus its typed payload, whose class is its type."""

    command_id: str
    tenant_id: str
    actor: Actor
    timestamp: datetime
    idempotency_key: str | None
    payload: Payload

    @property
    def command_type(self) -> CommandType:
        return self.payload.command_type

    @property
    def dedup_key(self) -> str:
        """The idempotency key: the given key, or the commandId when none is given."""
        return self.idempotency_key if self.idempotency_key is not None else self.command_id
