"""The configuration's vocabulary: limits (unit last), `ConfigError`, and the field
types whose validators say what they expected and what they got."""

from __future__ import annotations

import json
import math
import os
import typing
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr

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


def show_value(value: Any) -> str:
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


def is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


_CENT = Decimal("0.01")


def _money(value: Any) -> Decimal:
    expected = "expected an amount >= 0 with at most 2 decimal places"
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError(f"{expected}, got {show_value(value)}")
    try:
        # repr() of a float is its shortest round-trip text: 2.5 -> '2.5', 0.1 -> '0.1'.
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{expected}, got {show_value(value)}") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"{expected}, got {show_value(value)}")
    if amount * 100 > money_minor_max:
        raise ValueError(f"expected an amount <= {money_minor_max // 100}, got {show_value(value)}")
    cents = amount.quantize(_CENT)
    if cents != amount:
        raise ValueError(f"{expected}, got {show_value(value)}")
    return cents


def _rate(value: Any) -> float:
    if not is_number(value) or not math.isfinite(float(value)) or float(value) < 0:
        raise ValueError(f"expected a non-negative rate (0.05 is 5 %), got {show_value(value)}")
    return float(value)


def _probability(value: Any) -> float:
    if not is_number(value) or not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"expected a probability in [0, 1], got {show_value(value)}")
    return float(value)


def _weight(value: Any) -> float:
    if not is_number(value) or not math.isfinite(float(value)) or float(value) < 0:
        raise ValueError(f"expected a non-negative weight, got {show_value(value)}")
    return float(value)


def _pair(value: Any, kind: str) -> tuple[Any, Any]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ValueError(f"expected [min, max] ({kind}), got {show_value(value)}")
    return value[0], value[1]


def _ordered(lo: Any, hi: Any, raw: Any) -> None:
    if lo > hi:
        raise ValueError(f"expected [min, max] with min <= max, got {show_value(raw)}")


def _money_range(value: Any) -> tuple[Decimal, Decimal]:
    lo, hi = _pair(value, "money amounts")
    lo_m, hi_m = _money(lo), _money(hi)
    _ordered(lo_m, hi_m, value)
    return lo_m, hi_m


def _count_range(value: Any) -> tuple[int, int]:
    lo, hi = _pair(value, "whole numbers >= 0")
    for item in (lo, hi):
        if isinstance(item, bool) or not isinstance(item, int) or item < 0:
            raise ValueError(f"expected [min, max] of whole numbers >= 0, got {show_value(value)}")
    _ordered(lo, hi, value)
    return lo, hi


def _fraction_range(value: Any) -> tuple[float, float]:
    lo, hi = _pair(value, "fractions in [0, 1]")
    for item in (lo, hi):
        if not is_number(item) or not 0.0 <= float(item) <= 1.0:
            raise ValueError(f"expected [min, max] of fractions in [0, 1], got {show_value(value)}")
    _ordered(lo, hi, value)
    return float(lo), float(hi)


def sums_to_one(shares: dict[Any, float]) -> dict[Any, float]:
    if not shares:
        raise ValueError("expected at least one share, got an empty mapping")
    total = math.fsum(shares.values())
    if abs(total - 1.0) > distribution_tolerance:
        raise ValueError(
            f"expected shares summing to 1 (within {distribution_tolerance:g}), "
            f"got {total:.6g} from {show_value(shares)}"
        )
    return shares


Money = Annotated[Decimal, BeforeValidator(_money)]
Rate = Annotated[float, BeforeValidator(_rate)]
Probability = Annotated[float, BeforeValidator(_probability)]
Weight = Annotated[float, BeforeValidator(_weight)]
MoneyRange = Annotated[tuple[Decimal, Decimal], BeforeValidator(_money_range)]
CountRange = Annotated[tuple[int, int], BeforeValidator(_count_range)]
FractionRange = Annotated[tuple[float, float], BeforeValidator(_fraction_range)]
Distribution = Annotated[dict[str, Probability], AfterValidator(sums_to_one)]
EmploymentDistribution = Annotated[dict[EmploymentKey, Probability], AfterValidator(sums_to_one)]
CardPaymentDistribution = Annotated[dict[CardPaymentKey, Probability], AfterValidator(sums_to_one)]
BandRanges = dict[str, MoneyRange]
Code = Annotated[str, Field(pattern=r"^[A-Z0-9_]{2,50}$")]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(min_length=1, max_length=500)]
Short = Annotated[str, Field(min_length=1, max_length=50)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FileModel(StrictModel):
    """A whole configuration file: it remembers where it was loaded from."""

    _source: str = PrivateAttr(default="<memory>")

    @property
    def source(self) -> str:
        """The file this configuration was loaded from."""
        return self._source
