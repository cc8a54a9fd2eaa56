"""The member portal's entries and the words it answers with.

A transfer moves money from one of the member's accounts to another; a bill payment
pays from the member's account into `GL_BPAY_CLEARING`, the GL account the twin
pays bills into (twin/generators/days.py). Each is ONE PostEntry. Under the
contract's sign convention the paying account takes the CREDIT leg (its balance
goes down) and the receiving account the DEBIT leg.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

BILL_ACCOUNT = "GL_BPAY_CLEARING"
AMOUNT_MAX_MINOR = 10_000_000_00
NARRATIVE_MAX = 140

# Refusals in words a member understands, by the contract's invariant or error code.
MEMBER_WORDS = {
    "OVERDRAFT_LIMIT_EXCEEDED": "There is not enough money in the account you are paying from "
    "(this payment would take it past its limit). Nothing was paid.",
    "MAX_BALANCE_EXCEEDED": "The account you are paying into cannot hold that much: it would go "
    "over its maximum balance. Nothing was paid.",
    "ACCOUNT_MUST_EXIST": "One of the accounts is closed or no longer exists. Nothing was paid.",
    "IDEMPOTENCY_KEY_REUSED": "This form was already used for a different payment. Please "
    "open the form again. Nothing was paid.",
    "LEGS_MUST_BALANCE": "The payment could not be balanced. Nothing was paid.",
    "VALUE_DATE_BEFORE_BOOKING_DATE": "The payment date is not valid. Nothing was paid.",
    "ENTRY_CURRENCY_MUST_MATCH_ACCOUNT": "These accounts are in another currency. "
    "Nothing was paid.",
    "LEGS_MUST_SHARE_CURRENCY": "These accounts are in another currency. Nothing was paid.",
    "VALIDATION_ERROR": "Some details of the payment are not valid. Nothing was paid.",
    "COMMAND_IN_FLIGHT": "This payment is still being processed. Please wait a moment and "
    "check your transactions.",
}
FALLBACK_WORDS = "The payment could not be made ({code}). Nothing was paid."


def member_words(code: str | None) -> str:
    """A refusal code in words a member understands."""
    return MEMBER_WORDS.get(code or "", FALLBACK_WORDS.format(code=code or "unknown"))


class FormProblem(ValueError):
    """A field of the member's form is not valid; the message says which, in words."""


def parse_amount(text: str) -> int:
    """The amount typed by a member, in minor units (at most 2 decimals, above 0)."""
    try:
        value = Decimal(text.strip().replace(",", "").lstrip("$"))
    except InvalidOperation:
        raise FormProblem("Please enter the amount as a number, e.g. 25.50.") from None
    if not value.is_finite() or value <= 0:
        raise FormProblem("Please enter an amount above zero.")
    if value != value.quantize(Decimal("0.01")):
        raise FormProblem("Please enter the amount in dollars and cents (two decimals at most).")
    minor = int(value * 100)
    if minor > AMOUNT_MAX_MINOR:
        raise FormProblem("That amount is above what the portal can pay in one go.")
    return minor


def _number(minor: int) -> int | float:
    """Minor units as the JSON number the contract expects (2 decimals at most)."""
    whole, cents = divmod(minor, 100)
    return whole if cents == 0 else float(Decimal(minor) / 100)


def entry_payload(
    source: str, target: str, minor: int, narrative: str, currency: str, tags: dict[str, str]
) -> dict[str, Any]:
    """One PostEntry payload moving `minor` from `source` to `target` today (UTC)."""
    today = datetime.now(UTC).date().isoformat()
    amount = _number(minor)
    return {
        "bookingDate": today,
        "valueDate": today,
        "currency": currency,
        "legs": [
            {"accountId": source, "direction": "CREDIT", "amount": amount},
            {"accountId": target, "direction": "DEBIT", "amount": amount},
        ],
        "narrative": narrative[:NARRATIVE_MAX],
        "tags": tags,
    }
