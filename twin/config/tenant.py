"""The tenant file's models: the tenant, its demographics and its products, with the
wire payloads (`to_create_payload`, `to_upsert_payload`) of docs/contract.md."""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

from turingcore_client.payloads import tenant_payload
from twin.config.values import (
    Code,
    Distribution,
    EmploymentDistribution,
    FileModel,
    Money,
    Name,
    Probability,
    ProductType,
    Rate,
    Short,
    StrictModel,
    Text,
    age_max,
    bonus_condition_key_chars_max,
    bonus_condition_text_chars_max,
    bonus_conditions_max,
    is_number,
    show_value,
    term_months_max,
    term_months_options_max,
)

# ---------------------------------------------------------------------------
# The tenant and its products.


class TenantInfo(StrictModel):
    code: Annotated[str, Field(pattern=r"^[A-Z0-9_]{2,32}$")]
    display_name: Name
    region: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
    base_currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    time_zone: Annotated[str, Field(min_length=1, max_length=64)]
    regulatory_jurisdiction: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    business_type: Annotated[str, Field(min_length=1, max_length=100)] | None = None


class TenantDemographics(StrictModel):
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
        raise ValueError(f"expected a mapping of conditions, got {show_value(value)}")
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
                f"{bonus_condition_key_chars_max} characters on the wire), got {show_value(key)}"
            )
        text = isinstance(item, str) and 1 <= len(item) <= bonus_condition_text_chars_max
        number = is_number(item) and math.isfinite(float(item))
        if isinstance(item, bool) or text or number:
            out[key] = item
        else:
            raise ValueError(
                f"expected {key} to be a string of at most {bonus_condition_text_chars_max} "
                f"characters, a finite number or a boolean, got {show_value(item)}"
            )
    return out


BonusConditions = Annotated[dict[str, str | int | float | bool], BeforeValidator(_bonus_conditions)]


class InterestConfig(StrictModel):
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
        raise ValueError(f"expected terms without duplicates, got {show_value(value)}")
    return value


class ConstraintsConfig(StrictModel):
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


class CreditCriteriaConfig(StrictModel):
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


class ProductConfig(StrictModel):
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


class TenantConfig(FileModel):
    tenant: TenantInfo
    description: Text | None = None
    demographics: TenantDemographics
    products: Annotated[list[ProductConfig], Field(min_length=1)]

    @property
    def code(self) -> str:
        return self.tenant.code

    def product(self, code: str) -> ProductConfig:
        """Return the product with this code; KeyError when there is none."""
        for product in self.products:
            if product.code == code:
                return product
        raise KeyError(code)

    def to_create_payload(self) -> dict[str, Any]:
        """Return the CreateTenant payload of docs/contract.md."""
        info = self.tenant
        return tenant_payload(
            info.code,
            info.display_name,
            region=info.region,
            base_currency=info.base_currency,
            time_zone=info.time_zone,
            regulatory_jurisdiction=info.regulatory_jurisdiction,
            business_type=info.business_type,
        )
