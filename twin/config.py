"""Typed configuration of the digital twin: the tenant with its products, and the scenarios.

Both live as YAML under the repository's `config/` folder (`config/tenants/*.yaml`,
`config/scenarios/*.yaml`), in snake_case. They are loaded into pydantic models that
refuse unknown fields, so a typo is an error rather than a silently ignored setting.

Every problem in a file is raised as one `ConfigError` (a `ValueError`) whose message
names the file, the field path and what was expected, one line per problem:

    config/scenarios/x.yaml: transactions.salary_amount_ranges.low: expected [min, max]
    with min <= max, got [5, 2]

Money is `Decimal` with at most two decimal places; it becomes a JSON number only in the
`to_*_payload()` methods, which build the wire payloads of docs/contract.md.
"""

from __future__ import annotations

import datetime as dt
import importlib.resources
import json
import math
import os
import re
import types
import typing
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
)

__all__ = [
    "CONFIG_DIR_ENV",
    "ConfigError",
    "ProductConfig",
    "ScenarioConfig",
    "TenantConfig",
    "check_scenario_against_tenant",
    "default_config_dir",
    "load_scenario_and_tenant",
    "load_scenario_config",
    "load_tenant_config",
    "resolve_scenario",
    "resolve_tenant",
]

CONFIG_DIR_ENV = "TWIN_CONFIG_DIR"

# Limits, unit last. They mirror docs/contract.md where the contract sets one.
distribution_tolerance = 1e-6
customers_count_max = 999_999  # local ids are C000001..C999999
scenario_days_max = 3_660
money_minor_max = 10**13  # the contract's amount_minor_max
product_fees_max = 20
product_features_max = 50
bonus_conditions_max = 20
bonus_condition_key_chars_max = 50
bonus_condition_text_chars_max = 200
age_max = 150
term_months_max = 600
term_months_options_max = 20
shown_value_chars_max = 80

ProductType = Literal["DEPOSIT", "LOAN", "TERM_DEPOSIT", "CREDIT_CARD"]
EmploymentKey = Literal[
    "full_time", "part_time", "self_employed", "unemployed", "retired", "student"
]
CardPaymentKey = Literal["full_balance", "minimum", "partial"]
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAYS: tuple[Weekday, ...] = typing.get_args(Weekday)


class ConfigError(ValueError):
    """A configuration file is missing, unreadable or invalid.

    `path` is the file, `problems` the list of (field path, expectation) pairs; the
    message has one line per problem, `<file>: <field>: <expectation>`.
    """

    def __init__(self, path: str | os.PathLike[str], problems: Iterable[tuple[str, str]]):
        self.path = str(path)
        self.problems: list[tuple[str, str]] = list(problems)
        lines = [
            f"{self.path}: {field}: {expected}" if field else f"{self.path}: {expected}"
            for field, expected in self.problems
        ]
        super().__init__("\n".join(lines))


# ---------------------------------------------------------------------------
# Field types. Each validator says what it expected and what it got, in words a
# person editing the YAML understands; `_problems_from` keeps those messages.


def _show(value: Any) -> str:
    """Render an offending value for a message, JSON-like and short."""
    text = _json_like(value)
    if len(text) > shown_value_chars_max:
        text = text[: shown_value_chars_max - 3] + "..."
    return text


def _json_like(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_json_like(item) for item in value) + "]"
    if isinstance(value, dict):
        items = (f"{_json_like(str(k))}: {_json_like(v)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    try:
        return json.dumps(value, default=str)
    except (TypeError, ValueError):
        return repr(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


_CENT = Decimal("0.01")


def _money(value: Any) -> Decimal:
    expected = "expected an amount >= 0 with at most 2 decimal places"
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError(f"{expected}, got {_show(value)}")
    try:
        # repr() of a float is its shortest round-trip text: 2.5 -> '2.5', 0.1 -> '0.1'.
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{expected}, got {_show(value)}") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"{expected}, got {_show(value)}")
    if amount * 100 > money_minor_max:
        raise ValueError(f"expected an amount <= {money_minor_max // 100}, got {_show(value)}")
    cents = amount.quantize(_CENT)
    if cents != amount:
        raise ValueError(f"{expected}, got {_show(value)}")
    return cents


def _rate(value: Any) -> float:
    if not _is_number(value) or not math.isfinite(float(value)) or float(value) < 0:
        raise ValueError(f"expected a non-negative rate (0.05 is 5 %), got {_show(value)}")
    return float(value)


def _probability(value: Any) -> float:
    if not _is_number(value) or not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"expected a probability in [0, 1], got {_show(value)}")
    return float(value)


def _weight(value: Any) -> float:
    if not _is_number(value) or not math.isfinite(float(value)) or float(value) < 0:
        raise ValueError(f"expected a non-negative weight, got {_show(value)}")
    return float(value)


def _pair(value: Any, kind: str) -> tuple[Any, Any]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ValueError(f"expected [min, max] ({kind}), got {_show(value)}")
    return value[0], value[1]


def _ordered(lo: Any, hi: Any, raw: Any) -> None:
    if lo > hi:
        raise ValueError(f"expected [min, max] with min <= max, got {_show(raw)}")


def _money_range(value: Any) -> tuple[Decimal, Decimal]:
    lo, hi = _pair(value, "money amounts")
    lo_m, hi_m = _money(lo), _money(hi)
    _ordered(lo_m, hi_m, value)
    return lo_m, hi_m


def _count_range(value: Any) -> tuple[int, int]:
    lo, hi = _pair(value, "whole numbers >= 0")
    for item in (lo, hi):
        if isinstance(item, bool) or not isinstance(item, int) or item < 0:
            raise ValueError(f"expected [min, max] of whole numbers >= 0, got {_show(value)}")
    _ordered(lo, hi, value)
    return lo, hi


def _fraction_range(value: Any) -> tuple[float, float]:
    lo, hi = _pair(value, "fractions in [0, 1]")
    for item in (lo, hi):
        if not _is_number(item) or not 0.0 <= float(item) <= 1.0:
            raise ValueError(f"expected [min, max] of fractions in [0, 1], got {_show(value)}")
    _ordered(lo, hi, value)
    return float(lo), float(hi)


def _sums_to_one(shares: dict[Any, float]) -> dict[Any, float]:
    if not shares:
        raise ValueError("expected at least one share, got an empty mapping")
    total = math.fsum(shares.values())
    if abs(total - 1.0) > distribution_tolerance:
        raise ValueError(
            f"expected shares summing to 1 (within {distribution_tolerance:g}), "
            f"got {total:.6g} from {_show(shares)}"
        )
    return shares


Money = Annotated[Decimal, BeforeValidator(_money)]
Rate = Annotated[float, BeforeValidator(_rate)]
Probability = Annotated[float, BeforeValidator(_probability)]
Weight = Annotated[float, BeforeValidator(_weight)]
MoneyRange = Annotated[tuple[Decimal, Decimal], BeforeValidator(_money_range)]
CountRange = Annotated[tuple[int, int], BeforeValidator(_count_range)]
FractionRange = Annotated[tuple[float, float], BeforeValidator(_fraction_range)]
Distribution = Annotated[dict[str, Probability], AfterValidator(_sums_to_one)]
EmploymentDistribution = Annotated[dict[EmploymentKey, Probability], AfterValidator(_sums_to_one)]
CardPaymentDistribution = Annotated[dict[CardPaymentKey, Probability], AfterValidator(_sums_to_one)]
BandRanges = dict[str, MoneyRange]
Code = Annotated[str, Field(pattern=r"^[A-Z0-9_]{2,50}$")]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(min_length=1, max_length=500)]
Short = Annotated[str, Field(min_length=1, max_length=50)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------------------
# The tenant and its products.


class TenantInfo(_Strict):
    code: Annotated[str, Field(pattern=r"^[A-Z0-9_]{2,32}$")]
    display_name: Name
    region: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
    base_currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    time_zone: Annotated[str, Field(min_length=1, max_length=64)]
    regulatory_jurisdiction: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    business_type: Annotated[str, Field(min_length=1, max_length=100)] | None = None


class TenantDemographics(_Strict):
    """The tenant's member profile; informational, scenarios carry their own."""

    member_count: Annotated[int, Field(ge=1)]
    age_distribution: Distribution
    income_distribution: Distribution
    employment_types: EmploymentDistribution


_BONUS_KEY = re.compile(r"^[a-z][a-z0-9_]*$")


def _bonus_conditions(value: Any) -> dict[str, str | int | float | bool]:
    """`interest.bonus_conditions`: snake_case keys (camelCase on the wire), each value a
    string of at most 200 characters, a finite number or a boolean."""
    if not isinstance(value, dict):
        raise ValueError(f"expected a mapping of conditions, got {_show(value)}")
    if len(value) > bonus_conditions_max:
        raise ValueError(f"expected at most {bonus_conditions_max} conditions, got {len(value)}")
    out: dict[str, str | int | float | bool] = {}
    for key, item in value.items():
        if (
            not isinstance(key, str)
            or not _BONUS_KEY.match(key)
            or len(_camel(key)) > bonus_condition_key_chars_max
        ):
            raise ValueError(
                "expected snake_case condition names (a letter first, at most "
                f"{bonus_condition_key_chars_max} characters on the wire), got {_show(key)}"
            )
        text = isinstance(item, str) and 1 <= len(item) <= bonus_condition_text_chars_max
        number = _is_number(item) and math.isfinite(float(item))
        if isinstance(item, bool) or text or number:
            out[key] = item
        else:
            raise ValueError(
                f"expected {key} to be a string of at most {bonus_condition_text_chars_max} "
                f"characters, a finite number or a boolean, got {_show(item)}"
            )
    return out


BonusConditions = Annotated[dict[str, str | int | float | bool], BeforeValidator(_bonus_conditions)]


class InterestConfig(_Strict):
    """The published `interest` object; a card's `rate` is its purchase rate."""

    rate: Rate | None = None
    base_rate: Rate | None = None
    bonus_rate: Rate | None = None
    # Kept verbatim and returned with the product (the published `bonusConditions`).
    bonus_conditions: BonusConditions | None = None
    # For the record only, not sent: the published contract has no field for it (the
    # spec's cashAdvanceRate is an extension, which a service built from the published
    # document refuses).
    cash_advance_rate: Rate | None = None
    calculation_method: Short | None = None
    payment_frequency: Short | None = None


TermMonths = Annotated[int, Field(ge=1, le=term_months_max)]


def _unique_terms(value: list[int]) -> list[int]:
    if len(set(value)) != len(value):
        raise ValueError(f"expected terms without duplicates, got {_show(value)}")
    return value


class ConstraintsConfig(_Strict):
    """A product's constraints, with the published names (docs/contract.md).

    DEPOSIT and TERM_DEPOSIT: the opening deposit and every later balance stay at or
    above `min_balance` (default 0) unless `allow_overdraft`, then at or above
    `-overdraft_limit`; no balance above `max_balance`. TERM_DEPOSIT: the opening
    amount lies in [min_amount, max_amount], the term is `term_months`. LOAN and
    CREDIT_CARD: the facility limit lies in [min_amount, max_amount] (a loan opened
    without one gets max_amount); LOAN terms are `term_months_options`, by default
    `term_months_default`.

    `min_age`/`max_age` are the twin's own eligibility rule (it opens the product only
    for members of those ages) and are not sent: the spec's minAge/maxAge are an
    extension, which a service built from the published document refuses.
    """

    min_balance: Money | None = None
    max_balance: Money | None = None
    allow_overdraft: bool | None = None
    overdraft_limit: Money | None = None
    min_amount: Money | None = None
    max_amount: Money | None = None
    term_months_default: TermMonths | None = None
    term_months_options: (
        Annotated[
            list[TermMonths],
            Field(min_length=1, max_length=term_months_options_max),
            AfterValidator(_unique_terms),
        ]
        | None
    ) = None
    term_months: TermMonths | None = None
    min_age: Annotated[int, Field(ge=0, le=age_max)] | None = None
    max_age: Annotated[int, Field(ge=0, le=age_max)] | None = None

    def floor(self) -> Decimal:
        """The lowest balance a DEPOSIT or TERM_DEPOSIT account may hold (negative with
        an overdraft)."""
        if self.allow_overdraft:
            return -(self.overdraft_limit or Decimal(0))
        return self.min_balance or Decimal(0)


class CreditCriteriaConfig(_Strict):
    """The lending criteria, sent as the free-form `creditCriteria` object."""

    min_income: Money | None = None
    min_credit_score: Annotated[int, Field(ge=0, le=1200)] | None = None
    max_dti_ratio: Probability | None = None
    max_lvr: Probability | None = None
    eligible_purposes: list[Short] | None = None


_INTEREST_WIRE = {
    "rate": "rate",
    "base_rate": "baseRate",
    "bonus_rate": "bonusRate",
    "bonus_conditions": "bonusConditions",
    "calculation_method": "calculationMethod",
    "payment_frequency": "paymentFrequency",
}
_CONSTRAINTS_WIRE = {
    "min_balance": "minBalance",
    "max_balance": "maxBalance",
    "allow_overdraft": "allowOverdraft",
    "overdraft_limit": "overdraftLimit",
    "min_amount": "minAmount",
    "max_amount": "maxAmount",
    "term_months_default": "termMonthsDefault",
    "term_months_options": "termMonthsOptions",
    "term_months": "termMonths",
}
# The constraints that mean something for each product type (docs/contract.md); the
# service keeps the others without effect, the twin's files refuse them as a mistake.
CONSTRAINTS_BY_TYPE: dict[str, frozenset[str]] = {
    "DEPOSIT": frozenset(
        {"min_balance", "max_balance", "allow_overdraft", "overdraft_limit", "min_age", "max_age"}
    ),
    "TERM_DEPOSIT": frozenset(
        {"min_balance", "max_balance", "min_amount", "max_amount", "term_months"}
        | {"min_age", "max_age"}
    ),
    "LOAN": frozenset(
        {"min_amount", "max_amount", "term_months_default", "term_months_options"}
        | {"min_age", "max_age"}
    ),
    "CREDIT_CARD": frozenset({"min_amount", "max_amount", "min_age", "max_age"}),
}


def _wire(value: Any) -> Any:
    """Money leaves as a JSON number here, at the edge, and nowhere else."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return {_camel(key): item for key, item in value.items()}
    return value


def _criterion(value: Any) -> Any:
    """A credit criterion as a JSON scalar: a list goes as one comma-separated string.

    The spec calls `creditCriteria` free-form, but the mock accepts only scalar values
    there, so a healthy run keeps to scalars.
    """
    return ",".join(value) if isinstance(value, list) else _wire(value)


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(part.capitalize() for part in rest)


class ProductConfig(_Strict):
    code: Code
    name: Name
    type: ProductType
    category: Short | None = None
    description: Text | None = None
    active: bool = True
    interest: InterestConfig
    fees: dict[Annotated[str, Field(min_length=1, max_length=50)], Money] = {}
    # Percentage fees (a penalty of 1 % of principal, a 3 % cash advance fee) are not
    # money amounts and the contract's `fees` map holds only money, so they stay here,
    # for the record, and are not sent.
    fee_rates: dict[str, Rate] = {}
    constraints: ConstraintsConfig
    features: list[Short] = []
    credit_criteria: CreditCriteriaConfig | None = None

    def to_upsert_payload(self) -> dict[str, Any]:
        """Return the UpsertProduct payload of docs/contract.md (camelCase, money as floats)."""
        payload: dict[str, Any] = {
            "productCode": self.code,
            "name": self.name,
            "productType": self.type,
        }
        if self.category is not None:
            payload["category"] = self.category
        # Published fields only, so that a service built from the published document
        # takes the payload: `description`, like the age limits and the cash advance
        # rate, stays in the file. `active` (an extension) goes only to switch a product
        # off; a product is active by default.
        if not self.active:
            payload["active"] = False
        payload["interest"] = {
            wire: _wire(getattr(self.interest, field))
            for field, wire in _INTEREST_WIRE.items()
            if getattr(self.interest, field) is not None
        }
        if self.fees:
            payload["fees"] = {_camel(name): _wire(amount) for name, amount in self.fees.items()}
        payload["constraints"] = {
            wire: _wire(getattr(self.constraints, field))
            for field, wire in _CONSTRAINTS_WIRE.items()
            if getattr(self.constraints, field) is not None
        }
        if self.features:
            payload["features"] = list(self.features)
        if self.credit_criteria is not None:
            payload["creditCriteria"] = {
                _camel(field): _criterion(value)
                for field, value in self.credit_criteria
                if value is not None
            }
        return payload

    @property
    def is_facility(self) -> bool:
        """LOAN and CREDIT_CARD accounts have a facility limit (and no deposit)."""
        return self.type in ("LOAN", "CREDIT_CARD")


class TenantConfig(_Strict):
    tenant: TenantInfo
    description: Text | None = None
    demographics: TenantDemographics
    products: Annotated[list[ProductConfig], Field(min_length=1)]

    _source: str = PrivateAttr(default="<memory>")

    @property
    def code(self) -> str:
        return self.tenant.code

    @property
    def source(self) -> str:
        """The file this configuration was loaded from."""
        return self._source

    def product(self, code: str) -> ProductConfig:
        """Return the product with this code; KeyError when there is none."""
        for product in self.products:
            if product.code == code:
                return product
        raise KeyError(code)

    def to_create_payload(self) -> dict[str, Any]:
        """Return the CreateTenant payload of docs/contract.md."""
        info = self.tenant
        payload: dict[str, Any] = {
            "tenantCode": info.code,
            "displayName": info.display_name,
            "region": info.region,
            "baseCurrency": info.base_currency,
            "timeZone": info.time_zone,
        }
        if info.regulatory_jurisdiction is not None:
            payload["regulatoryJurisdiction"] = info.regulatory_jurisdiction
        if info.business_type is not None:
            payload["businessType"] = info.business_type
        return payload


# ---------------------------------------------------------------------------
# The scenario.

_AGE_BUCKET = re.compile(r"^(\d{1,3})(?:-(\d{1,3})|\+)$")
_HOUR_BAND = re.compile(r"^(\d{2})-(\d{2})$")


class CustomerDemographics(_Strict):
    age_buckets: Distribution
    # The open bucket ("60+") reaches up to this age.
    max_age: Annotated[int, Field(ge=18, le=age_max)] = 90
    income_distribution: Distribution
    annual_income_ranges: BandRanges
    employment_types: EmploymentDistribution
    location_distribution: Annotated[
        dict[Literal["metro", "regional", "rural"], Probability], AfterValidator(_sums_to_one)
    ]

    def age_ranges(self) -> dict[str, tuple[int, int]]:
        """Each age bucket as inclusive (lo, hi) years; valid once the file has loaded."""
        ranges: dict[str, tuple[int, int]] = {}
        for label in self.age_buckets:
            match = _AGE_BUCKET.match(label)
            assert match is not None, label  # checked when the file was loaded
            lo = int(match.group(1))
            ranges[label] = (lo, int(match.group(2)) if match.group(2) else self.max_age)
        return ranges


class CustomersConfig(_Strict):
    count: Annotated[int, Field(ge=1, le=customers_count_max)]
    demographics: CustomerDemographics


class AccountsConfig(_Strict):
    txn_product: Code
    txn_premium_product: Code
    txn_premium_probability: Probability
    savings_product: Code
    savings_youth_product: Code
    # The share of members young enough for the youth product who get it.
    savings_youth_probability: Probability
    term_deposit_probability: Probability
    term_deposit_distribution: Distribution
    term_deposit_amount_ranges: BandRanges
    personal_loan_probability: Probability
    personal_loan_distribution: Distribution
    personal_loan_amount_ranges: BandRanges
    home_loan_probability: Probability
    home_loan_distribution: Distribution
    home_loan_amount_ranges: BandRanges
    credit_card_probability: Probability
    credit_card_distribution: Distribution
    credit_card_limit_ranges: BandRanges
    # Loan amounts and card limits are drawn in whole multiples of this.
    facility_rounding: Money = Decimal(500)


class InitialBalancesConfig(_Strict):
    txn_account_ranges: BandRanges
    savings_account_ranges: BandRanges


class TimelineConfig(_Strict):
    days: Annotated[int, Field(ge=1, le=scenario_days_max)]
    start_date: dt.date
    # Weekend volume is weekday volume times (1 - reduction).
    weekend_transaction_reduction: Probability


class DailyDebitsConfig(_Strict):
    min: Annotated[int, Field(ge=0, le=50)]
    max: Annotated[int, Field(ge=1, le=50)]
    mean: Annotated[float, Field(ge=0, le=50)]


class TransactionsConfig(_Strict):
    salary_pay_cycle_days: Annotated[int, Field(ge=1, le=62)]
    salary_amount_ranges: BandRanges
    salary_variation: Probability
    daily_debits_per_customer: DailyDebitsConfig
    debit_amount_distribution: Distribution
    debit_amount_ranges: dict[str, MoneyRange]
    savings_transfer_probability: Probability
    savings_transfer_frequency_days: Annotated[int, Field(ge=1, le=62)]
    savings_transfer_fraction_range: FractionRange
    bill_payment_probability: Probability
    bill_payments_per_month: CountRange
    bill_amount_ranges: Annotated[dict[str, MoneyRange], Field(min_length=1)]
    npp_payment_probability: Probability
    npp_payments_per_month: CountRange
    npp_amount_range: MoneyRange
    atm_withdrawal_probability: Probability
    atm_withdrawals_per_month: CountRange
    atm_amount_range: MoneyRange
    loan_repayment_day_of_month: Annotated[int, Field(ge=1, le=28)]
    loan_repayment_on_time_probability: Probability
    loan_repayment_late_days_range: CountRange
    credit_card_transactions_per_month: CountRange
    credit_card_amount_range: MoneyRange
    credit_card_payment_probability: Probability
    credit_card_payment_fraction: CardPaymentDistribution
    credit_card_minimum_payment_rate: Probability = 0.02
    credit_card_minimum_payment_floor: Money = Decimal(25)
    credit_card_partial_payment_range: FractionRange = (0.25, 0.75)


class SpendingByDay(_Strict):
    monday: Weight
    tuesday: Weight
    wednesday: Weight
    thursday: Weight
    friday: Weight
    saturday: Weight
    sunday: Weight

    def factors(self) -> tuple[float, ...]:
        """The seven factors, Monday first (the order of `date.weekday()`)."""
        return tuple(getattr(self, day) for day in WEEKDAYS)


class BehaviorsConfig(_Strict):
    spending_by_day: SpendingByDay
    spending_by_hour: Annotated[dict[str, Weight], Field(min_length=1)]

    def hour_bands(self) -> list[tuple[int, int, float]]:
        """The hour bands as (start hour, end hour, weight); valid once loaded."""
        bands = []
        for label, weight in self.spending_by_hour.items():
            match = _HOUR_BAND.match(label)
            assert match is not None, label  # checked when the file was loaded
            bands.append((int(match.group(1)), int(match.group(2)), weight))
        return bands


class EconomicConditionsConfig(_Strict):
    credit_score_distribution: Distribution
    credit_score_ranges: dict[str, CountRange]


class InvalidCommandsConfig(_Strict):
    """Deliberately invalid PostEntry commands, each expecting a named 422."""

    # The share of all simulated PostEntry commands that are invalid; at most a half.
    rate: Annotated[Probability, Field(le=0.5)] = 0.0
    invariants: Annotated[
        dict[
            Literal[
                "OVERDRAFT_LIMIT_EXCEEDED",
                "MAX_BALANCE_EXCEEDED",
                "LEGS_MUST_BALANCE",
                "VALUE_DATE_BEFORE_BOOKING_DATE",
                "ACCOUNT_MUST_EXIST",
            ],
            Probability,
        ],
        AfterValidator(_sums_to_one),
    ] = {
        "OVERDRAFT_LIMIT_EXCEEDED": 0.4,
        "LEGS_MUST_BALANCE": 0.3,
        "VALUE_DATE_BEFORE_BOOKING_DATE": 0.2,
        "ACCOUNT_MUST_EXIST": 0.1,
    }


class ScenarioConfig(_Strict):
    scenario_code: Code
    scenario_name: Name
    description: Text | None = None
    version: Short | None = None
    tenant: Annotated[str, Field(pattern=r"^[A-Z0-9_]{2,32}$")]
    customers: CustomersConfig
    accounts: AccountsConfig
    initial_balances: InitialBalancesConfig
    timeline: TimelineConfig
    transactions: TransactionsConfig
    behaviors: BehaviorsConfig
    economic_conditions: EconomicConditionsConfig
    invalid_commands: InvalidCommandsConfig = InvalidCommandsConfig()

    _source: str = PrivateAttr(default="<memory>")

    @property
    def source(self) -> str:
        """The file this configuration was loaded from."""
        return self._source


# ---------------------------------------------------------------------------
# Checks that span several fields. Each yields (field path, expectation).

Problems = Iterable[tuple[str, str]]


def _check_keys(field: str, mapping: Mapping[str, Any], expected: Iterable[str]) -> Problems:
    want, have = list(expected), set(mapping)
    if have != set(want):
        missing = [key for key in want if key not in have]
        extra = sorted(have - set(want))
        detail = ", ".join(
            part
            for part in (
                f"missing {', '.join(missing)}" if missing else "",
                f"unexpected {', '.join(extra)}" if extra else "",
            )
            if part
        )
        yield field, f"expected exactly the keys {', '.join(want)}, got {detail}"


def _tenant_problems(cfg: TenantConfig) -> Problems:
    seen: set[str] = set()
    for i, product in enumerate(cfg.products):
        where = f"products[{i}]"
        if product.code in seen:
            yield (
                f"{where}.code",
                f"expected a product code unique in the file, got {product.code!r} again",
            )
        seen.add(product.code)
        c = product.constraints
        for lo_name, hi_name in (
            ("min_balance", "max_balance"),
            ("min_amount", "max_amount"),
            ("min_age", "max_age"),
        ):
            lo, hi = getattr(c, lo_name), getattr(c, hi_name)
            if lo is not None and hi is not None and not lo < hi:
                yield (
                    f"{where}.constraints",
                    f"expected {lo_name} < {hi_name} (the contract's MIN_MUST_BE_BELOW_MAX), "
                    f"got {_show(lo)} and {_show(hi)}",
                )
        if (
            c.overdraft_limit is not None
            and c.overdraft_limit > 0
            and c.allow_overdraft is not True
        ):
            yield (
                f"{where}.constraints.allow_overdraft",
                "expected allow_overdraft: true with an overdraft_limit above 0 (the "
                f"contract's CONSTRAINTS_MUST_BE_CONSISTENT), got {_show(c.allow_overdraft)} "
                f"with overdraft_limit {_show(c.overdraft_limit)}",
            )
        if (
            c.term_months_default is not None
            and c.term_months_options is not None
            and c.term_months_default not in c.term_months_options
        ):
            yield (
                f"{where}.constraints.term_months_default",
                "expected one of term_months_options (the contract's "
                f"CONSTRAINTS_MUST_BE_CONSISTENT), got {c.term_months_default} with "
                f"{_show(c.term_months_options)}",
            )
        applicable = CONSTRAINTS_BY_TYPE[product.type]
        for name in ConstraintsConfig.model_fields:
            if name not in applicable and getattr(c, name) is not None:
                yield (
                    f"{where}.constraints.{name}",
                    f"expected no {name} on a {product.type} product (it has no effect "
                    f"there), got {_show(getattr(c, name))}",
                )
        if product.is_facility:
            for name in ("min_amount", "max_amount"):
                if getattr(c, name) is None:
                    yield (
                        f"{where}.constraints.{name}",
                        f"expected the facility-limit range (min_amount, max_amount) of a "
                        f"{product.type} product, got nothing",
                    )
        if len(product.fees) > product_fees_max:
            yield (
                f"{where}.fees",
                f"expected at most {product_fees_max} fees, got {len(product.fees)}",
            )
        if len(product.features) > product_features_max:
            yield (
                f"{where}.features",
                f"expected at most {product_features_max} features, got {len(product.features)}",
            )


def _scenario_problems(cfg: ScenarioConfig) -> Problems:
    demo = cfg.customers.demographics
    for label in demo.age_buckets:
        match = _AGE_BUCKET.match(label)
        lo = int(match.group(1)) if match else -1
        hi = int(match.group(2)) if match and match.group(2) else demo.max_age
        if match is None or not 18 <= lo <= hi <= demo.max_age:
            yield (
                f"customers.demographics.age_buckets.{label}",
                f"expected a bucket 'lo-hi' or 'lo+' with 18 <= lo <= hi <= max_age "
                f"({demo.max_age}), got {label!r}",
            )
    bands = list(demo.income_distribution)
    band_maps = {
        "customers.demographics.annual_income_ranges": demo.annual_income_ranges,
        "accounts.term_deposit_amount_ranges": cfg.accounts.term_deposit_amount_ranges,
        "accounts.personal_loan_amount_ranges": cfg.accounts.personal_loan_amount_ranges,
        "accounts.home_loan_amount_ranges": cfg.accounts.home_loan_amount_ranges,
        "accounts.credit_card_limit_ranges": cfg.accounts.credit_card_limit_ranges,
        "initial_balances.txn_account_ranges": cfg.initial_balances.txn_account_ranges,
        "initial_balances.savings_account_ranges": cfg.initial_balances.savings_account_ranges,
        "transactions.salary_amount_ranges": cfg.transactions.salary_amount_ranges,
    }
    for field, mapping in band_maps.items():
        yield from _check_keys(field, mapping, bands)
    tx = cfg.transactions
    yield from _check_keys(
        "transactions.debit_amount_ranges", tx.debit_amount_ranges, tx.debit_amount_distribution
    )
    econ = cfg.economic_conditions
    yield from _check_keys(
        "economic_conditions.credit_score_ranges",
        econ.credit_score_ranges,
        econ.credit_score_distribution,
    )
    for band, (score_lo, score_hi) in econ.credit_score_ranges.items():
        if score_hi > 1200:
            yield (
                f"economic_conditions.credit_score_ranges.{band}",
                f"expected scores within [0, 1200], got [{score_lo}, {score_hi}]",
            )
    amount_ranges: list[tuple[str, tuple[Decimal, Decimal]]] = [
        ("transactions.npp_amount_range", tx.npp_amount_range),
        ("transactions.atm_amount_range", tx.atm_amount_range),
        ("transactions.credit_card_amount_range", tx.credit_card_amount_range),
        *((f"transactions.debit_amount_ranges.{k}", v) for k, v in tx.debit_amount_ranges.items()),
        *((f"transactions.bill_amount_ranges.{k}", v) for k, v in tx.bill_amount_ranges.items()),
    ]
    for field, (amount_lo, _) in amount_ranges:
        if amount_lo <= 0:
            yield (
                field,
                "expected amounts > 0 (the contract refuses a zero amount), "
                f"got min {_show(amount_lo)}",
            )
    debits = tx.daily_debits_per_customer
    if not debits.min <= debits.mean <= debits.max:
        yield (
            "transactions.daily_debits_per_customer",
            f"expected min <= mean <= max, "
            f"got min {debits.min}, mean {debits.mean}, max {debits.max}",
        )
    covered = [False] * 24
    for label in cfg.behaviors.spending_by_hour:
        match = _HOUR_BAND.match(label)
        start, end = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
        if match is None or not 0 <= start < end <= 24:
            yield (
                f"behaviors.spending_by_hour.{label}",
                f"expected a band 'HH-HH' with 00 <= start < end <= 24, got {label!r}",
            )
            continue
        for hour in range(start, end):
            if covered[hour]:
                yield (
                    f"behaviors.spending_by_hour.{label}",
                    f"expected bands that do not overlap, got hour {hour:02d} twice",
                )
            covered[hour] = True
    if not any(weight > 0 for weight in cfg.behaviors.spending_by_hour.values()):
        yield "behaviors.spending_by_hour", "expected at least one weight > 0, got all zero"


def check_scenario_against_tenant(scenario: ScenarioConfig, tenant: TenantConfig) -> None:
    """Check that the scenario names the tenant and products it can use.

    Raises ConfigError, naming the scenario's file, when the scenario targets another
    tenant or refers to a product the tenant lacks or of the wrong type.
    """
    problems: list[tuple[str, str]] = []
    if scenario.tenant != tenant.code:
        problems.append(
            (
                "tenant",
                f"expected the tenant code {tenant.code!r} of {tenant.source}, "
                f"got {scenario.tenant!r}",
            )
        )
    types_of = {p.code: p.type for p in tenant.products}
    acc = scenario.accounts

    def want(field: str, codes: Iterable[str], product_type: str) -> None:
        for code in codes:
            if code not in types_of:
                problems.append((field, f"expected a product of {tenant.source}, got {code!r}"))
            elif types_of[code] != product_type:
                problems.append(
                    (field, f"expected a {product_type} product, got {code!r} ({types_of[code]})")
                )

    want("accounts.txn_product", [acc.txn_product], "DEPOSIT")
    want("accounts.txn_premium_product", [acc.txn_premium_product], "DEPOSIT")
    want("accounts.savings_product", [acc.savings_product], "DEPOSIT")
    want("accounts.savings_youth_product", [acc.savings_youth_product], "DEPOSIT")
    want("accounts.term_deposit_distribution", acc.term_deposit_distribution, "TERM_DEPOSIT")
    want("accounts.personal_loan_distribution", acc.personal_loan_distribution, "LOAN")
    want("accounts.home_loan_distribution", acc.home_loan_distribution, "LOAN")
    want("accounts.credit_card_distribution", acc.credit_card_distribution, "CREDIT_CARD")
    if problems:
        raise ConfigError(scenario.source, problems)


# ---------------------------------------------------------------------------
# Loading.

_M = TypeVar("_M", bound=BaseModel)


def _unwrap(annotation: Any) -> Any:
    """Strip Annotated and Optional from a type annotation."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            options = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(options) != 1:
                return annotation
            annotation = options[0]
        else:
            return annotation


def _allowed_fields(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The field names allowed at `loc` (the location of an unknown field) in `model`."""
    current: Any = model
    for part in loc[:-1]:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return []
            current = field.annotation
        elif typing.get_origin(current) in (dict, list, tuple):
            current = typing.get_args(current)[-1]
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _field_path(loc: Iterable[Any]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


_SHOULD = re.compile(r"^[\w ]*?\bshould (?:be |have )?(.*)$", re.IGNORECASE)


def _problems_from(error: ValidationError, model: type[BaseModel]) -> list[tuple[str, str]]:
    problems = []
    for err in error.errors():
        loc, kind, msg = tuple(err["loc"]), err["type"], err["msg"]
        is_key = loc[-1:] == ("[key]",)  # pydantic's mark for a bad mapping key
        field = _field_path(loc[:-1] if is_key else loc)
        if kind == "missing":
            text = "expected a value (required), got nothing"
        elif kind == "extra_forbidden":
            allowed = _allowed_fields(model, loc)
            text = (
                f"unknown field, expected one of: {', '.join(allowed)}"
                if allowed
                else "unknown field"
            )
        else:
            msg = msg.removeprefix("Value error, ")
            if not msg.startswith("expected"):
                match = _SHOULD.match(msg)
                msg = f"expected {match.group(1)}" if match else f"expected: {msg}"
            if is_key:
                msg = msg.replace("expected ", "expected a key ", 1)
            text = msg if ", got " in msg else f"{msg}, got {_show(err.get('input'))}"
        problems.append((field, text))
    return problems


def _load(path: str | os.PathLike[str], model: type[_M]) -> _M:
    shown = os.fspath(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            shown, [("", "expected an existing file, got nothing at this path")]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(shown, [("", f"expected a readable UTF-8 file, got {exc}")]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(
            shown, [(where, f"expected valid YAML, got a syntax error ({problem})")]
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(
            shown, [("", f"expected a mapping at the top level, got {type(data).__name__}")]
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(shown, _problems_from(exc, model)) from None


def load_tenant_config(path: str | os.PathLike[str]) -> TenantConfig:
    """Load and check a tenant file; raise ConfigError when it is missing or invalid."""
    cfg = _load(path, TenantConfig)
    problems = list(_tenant_problems(cfg))
    if problems:
        raise ConfigError(path, problems)
    cfg._source = os.fspath(path)
    return cfg


def load_scenario_config(path: str | os.PathLike[str]) -> ScenarioConfig:
    """Load and check a scenario file; raise ConfigError when it is missing or invalid."""
    cfg = _load(path, ScenarioConfig)
    problems = list(_scenario_problems(cfg))
    if problems:
        raise ConfigError(path, problems)
    cfg._source = os.fspath(path)
    return cfg


def default_config_dir() -> Path:
    """The configuration folder: $TWIN_CONFIG_DIR if set, else the shipped tenants and
    scenarios (the repository's `config/`, installed in the package as
    `turingcore_scenarios`)."""
    override = os.environ.get(CONFIG_DIR_ENV)
    if override:
        return Path(override)
    return Path(str(importlib.resources.files("turingcore_scenarios")))


def _resolve(name_or_path: str | os.PathLike[str], folder: str, stem: str) -> Path:
    text = os.fspath(name_or_path)
    candidate = Path(text)
    if (
        candidate.suffix in (".yaml", ".yml")
        or os.sep in text
        or "/" in text
        or candidate.is_file()
    ):
        return candidate
    directory = default_config_dir() / folder
    path = directory / f"{stem}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in directory.glob("*.yaml")) if directory.is_dir() else []
        raise ConfigError(
            path,
            [
                (
                    "",
                    f"expected one of the {folder} in {directory} "
                    f"({', '.join(known) or 'none'}), got {text!r}",
                )
            ],
        )
    return path


def resolve_scenario(name_or_path: str | os.PathLike[str]) -> Path:
    """Turn "steady-state" into `<config dir>/scenarios/steady-state.yaml`; a path is kept.

    Raises ConfigError when a bare name matches no file.
    """
    return _resolve(name_or_path, "scenarios", os.fspath(name_or_path))


def resolve_tenant(name_or_path: str | os.PathLike[str]) -> Path:
    """Turn "cu-digital" or "CU_DIGITAL" into `<config dir>/tenants/cu-digital.yaml`.

    A path is kept. Raises ConfigError when a bare name matches no file.
    """
    text = os.fspath(name_or_path)
    return _resolve(name_or_path, "tenants", text.lower().replace("_", "-"))


def load_scenario_and_tenant(
    name_or_path: str | os.PathLike[str],
    tenant_path: str | os.PathLike[str] | None = None,
) -> tuple[ScenarioConfig, TenantConfig]:
    """Load a scenario and its tenant (from the scenario's `tenant` code unless given).

    Raises ConfigError when either file is invalid or they do not fit together.
    """
    scenario = load_scenario_config(resolve_scenario(name_or_path))
    tenant = load_tenant_config(
        resolve_tenant(tenant_path if tenant_path is not None else scenario.tenant)
    )
    check_scenario_against_tenant(scenario, tenant)
    return scenario, tenant
