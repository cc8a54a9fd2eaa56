"""Money on the client side: JSON amounts in, integer minor units inside, text out.

The contract's amounts are JSON numbers with at most two decimals (AUD); a client
never does arithmetic on floats. `amount` reads any JSON number exactly (a float
through its shortest repr), `minor_units` turns an exact amount into cents,
`cents` is the fast reader of a served amount for hot loops, and `format_minor`
writes cents back as an amount.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

_HUNDRED = Decimal(100)
_CENT = Decimal("0.01")
# Below it, two-decimal amounts are 0.01 apart and float ulps under 0.002 (see `cents`).
cents_exact_below = 1e13


def amount(value: Any) -> Decimal:
    """A JSON number as an exact Decimal (floats go through their shortest repr)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or value is None:
        raise TypeError(f"not an amount: {value!r}")
    return Decimal(str(value))


def canonical_amount(value: Any) -> str:
    """`100`, `100.0` and `100.00` all become `100.00`: two decimals, always."""
    return f"{amount(value):.2f}"


def minor_units(value: Decimal) -> int:
    """Dollars and cents as an integer number of cents (half-even on a third decimal)."""
    return int((value * _HUNDRED).to_integral_value(rounding=ROUND_HALF_EVEN))


def cents(value: Any) -> int | Decimal:
    """A JSON amount in cents, exactly: an int when it has at most two decimals (the
    contract's AUD), else a Decimal (a third decimal is never rounded away).

    For a float under 1e13, `round(value * 100)` is its cents exactly when dividing
    back gives the same float: two-decimal numbers there are 0.01 apart and floats
    under 0.002, so no other two-decimal number maps to that float, and its shortest
    repr (what `amount` reads) is that number."""
    if type(value) is float:
        if -cents_exact_below < value < cents_exact_below:
            whole = round(value * 100)
            if whole / 100 == value:
                return whole
    elif type(value) is int:
        return value * 100
    return amount(value) * 100


def format_minor(minor: int | Decimal) -> str:
    """Cents back as the amount, with two decimals at least (`-12.30`, `0.001`)."""
    value = Decimal(minor) / 100
    exact = value.quantize(_CENT)
    return f"{exact:.2f}" if exact == value else str(value)
