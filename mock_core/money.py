"""Money at the edges: JSON numbers in, integer minor units inside, JSON numbers out.

Inside the mock an amount is always an integer count of hundredths of the
currency's unit, whatever the currency: a currency with fewer minor digits
(JPY has none) only narrows which amounts are accepted, so one scale serves
every table, sum and comparison.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

# Minor digits of the currencies the mock supports (ISO 4217). A tenant whose base
# currency is not here is refused with CURRENCY_MUST_BE_SUPPORTED.
CURRENCY_MINOR_DIGITS: dict[str, int] = {
    "AUD": 2,
    "NZD": 2,
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "CAD": 2,
    "SGD": 2,
    "HKD": 2,
    "CHF": 2,
    "JPY": 0,
}
DEFAULT_MINOR_DIGITS = 2


def minor_digits(currency: str) -> int:
    """Return the number of minor digits of `currency` (2 for unknown codes)."""
    return CURRENCY_MINOR_DIGITS.get(currency, DEFAULT_MINOR_DIGITS)


def to_minor(value: object, digits: int = DEFAULT_MINOR_DIGITS) -> int:
    """Convert a JSON number to integer minor units.

    Raises ValueError when the value is not a number or has more than `digits`
    decimal places. Floats are read through their shortest repr, which is the
    decimal text the client sent for every value with few enough digits.
    """
    kind = type(value)
    if kind is int:
        return value * 10**digits
    if kind is float and value == value and digits == DEFAULT_MINOR_DIGITS:  # not NaN
        # The common case without Decimal: the shortest repr, in plain notation.
        text = repr(value)
        whole, _, fraction = text.partition(".")
        if "e" not in text and "n" not in text and len(fraction) <= digits:
            sign = -1 if whole.startswith("-") else 1
            return sign * (abs(int(whole)) * 100 + int(fraction.ljust(digits, "0")))
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise ValueError("must be a number")
    try:
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation as exc:
        raise ValueError("must be a number") from exc
    if not amount.is_finite():
        raise ValueError("must be a finite number")
    scaled = amount.scaleb(digits)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"must have at most {digits} decimal places")
    return int(scaled)


def to_number(minor: int, digits: int = DEFAULT_MINOR_DIGITS) -> int | float:
    """Render integer minor units as a JSON number: an int when it is whole (3000, not 3000.0).

    Whole amounts as ints are what RFC 8785 writes anyway, so events holding them
    take the hash chain's fast path.
    """
    scale = 10**digits
    if minor % scale == 0:
        return minor // scale
    # Integer division by a power of ten is correctly rounded, and repr of the
    # result is the shortest decimal, so the number written is exactly minor/10^d.
    return minor / scale
