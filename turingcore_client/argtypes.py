"""argparse types shared by the kit's command lines (`twin`, `contract-test`).

Each turns one option's text into its value or raises `argparse.ArgumentTypeError`
with a one-line reason, which argparse prints after the option's name.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable


def whole_number(low: int, what: str | None = None) -> Callable[[str], int]:
    """A whole number at least `low`. Below it: "V is below LOW", or with `what` (what
    the number counts) "must be LOW or more (WHAT), got V"."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low:
            reason = f"{value} is below {low}" if what is None else None
            raise argparse.ArgumentTypeError(
                reason or f"must be {low} or more ({what}), got {value}"
            )
        return value

    parse.__name__ = "number"
    return parse


def seconds(high: float = math.inf) -> Callable[[str], float]:
    """A number of seconds more than 0 (and at most `high`, when given)."""
    bound = "" if math.isinf(high) else f" and at most {high:g}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
        if not 0 < value <= high or math.isinf(value):
            raise argparse.ArgumentTypeError(f"must be more than 0 seconds{bound}, got {text}")
        return value

    parse.__name__ = "seconds"
    return parse


def matching(pattern: str, what: str) -> Callable[[str], str]:
    """Text that matches `pattern` whole; else "'TEXT' is not WHAT"."""
    compiled = re.compile(pattern)

    def parse(text: str) -> str:
        if not compiled.fullmatch(text):
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
        return text

    parse.__name__ = "text"
    return parse
