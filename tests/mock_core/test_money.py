"""Money at the edges: the fast float path of `to_minor` must equal exact decimal arithmetic."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mock_core.money import to_minor, to_number


def exact_minor(value: float | int, digits: int = 2) -> int | None:
    """The reference: the shortest decimal text of the number, scaled exactly; None if refused."""
    amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not amount.is_finite():
        return None
    scaled = amount.scaleb(digits)
    return int(scaled) if scaled == scaled.to_integral_value() else None


def fast_minor(value: float | int, digits: int = 2) -> int | None:
    try:
        return to_minor(value, digits)
    except ValueError:
        return None


@settings(max_examples=2000)
@given(
    st.integers(-(10**15), 10**15).map(lambda cents: cents / 100)
    | st.floats(allow_nan=False)
    | st.integers(-(10**18), 10**18)
    | st.decimals(places=3, min_value=-(10**9), max_value=10**9, allow_nan=False).map(float)
)
def test_to_minor_equals_exact_decimal_arithmetic(value: float | int) -> None:
    assert fast_minor(value) == exact_minor(value)
    assert fast_minor(value, 0) == exact_minor(value, 0)


@pytest.mark.parametrize(
    ("value", "minor"),
    [(0.0, 0), (-0.0, 0), (12.34, 1234), (-7.05, -705), (3000, 300000), (1.5, 150), (1e15, 10**17)],
)
def test_to_minor_known_values(value: float, minor: int) -> None:
    assert to_minor(value) == minor


@pytest.mark.parametrize("value", [1.005, 0.001, 1e-7, float("inf"), float("nan"), True, None])
def test_to_minor_refuses(value: object) -> None:
    with pytest.raises(ValueError):
        to_minor(value)


def test_to_number_writes_whole_amounts_as_ints() -> None:
    assert to_number(300000) == 3000 and type(to_number(300000)) is int
    assert to_number(1234) == 12.34
    assert to_number(-5) == -0.05
