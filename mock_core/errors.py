"""Every error the mock can reply with, in one table.

    MockCoreError                 base; carries code, status, message, details
     +-- RequestError             4xx/5xx with the `Error` body {error, message, details}
     +-- InvariantViolation       422 with the `InvariantViolation` body
                                  {commandId, error: INVARIANT_VIOLATION, invariant, ...}

Routes never build error replies themselves: they raise one of these (or let
validation raise), and the single handler in `mock_core.api.errors` renders it.
`INVARIANTS` is in precedence order: `decide` checks a command's invariants in
this order, so a command that breaks several always reports the same one.
"""

from __future__ import annotations

from typing import Any, Final

# Request errors: code -> HTTP status.
REQUEST_ERRORS: Final[dict[str, int]] = {
    "MALFORMED_JSON": 400,
    "VALIDATION_ERROR": 400,
    "TENANT_MISMATCH": 400,
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "METHOD_NOT_ALLOWED": 405,
    "COMMAND_IN_FLIGHT": 409,
    "PAYLOAD_TOO_LARGE": 413,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "INTERNAL_ERROR": 500,
    "NOT_READY": 503,
}

INVARIANT_VIOLATION: Final = "INVARIANT_VIOLATION"
INVARIANT_STATUS: Final = 422

# Invariants, in the order they are checked.
INVARIANTS: Final[tuple[str, ...]] = (
    "IDEMPOTENCY_KEY_REUSED",
    "TENANT_CODE_UNIQUE",
    "CURRENCY_MUST_BE_SUPPORTED",
    "TIME_ZONE_MUST_BE_VALID",
    "RATES_MUST_BE_NON_NEGATIVE",
    "MIN_MUST_BE_BELOW_MAX",
    "CONSTRAINTS_MUST_BE_CONSISTENT",
    "CUSTOMER_MUST_BE_ADULT",
    "CUSTOMER_EMAIL_UNIQUE",
    "CUSTOMER_MOBILE_UNIQUE",
    "CUSTOMER_EXTERNAL_REF_UNIQUE",
    "CUSTOMER_MUST_EXIST",
    "PRODUCT_MUST_EXIST",
    "PRODUCT_MUST_BE_ACTIVE",
    "ACCOUNT_CURRENCY_MUST_MATCH_TENANT",
    "FACILITY_LIMIT_REQUIRED",
    "FACILITY_LIMIT_NOT_ALLOWED",
    "FACILITY_LIMIT_OUT_OF_RANGE",
    "INITIAL_DEPOSIT_BELOW_MINIMUM",
    "INITIAL_DEPOSIT_ABOVE_MAXIMUM",
    "VALUE_DATE_BEFORE_BOOKING_DATE",
    "LEGS_MUST_SHARE_CURRENCY",
    "ACCOUNT_MUST_EXIST",
    "ENTRY_CURRENCY_MUST_MATCH_ACCOUNT",
    "LEGS_MUST_BALANCE",
    "OVERDRAFT_LIMIT_EXCEEDED",
    "MAX_BALANCE_EXCEEDED",
)


class MockCoreError(Exception):
    """Base of every error the mock replies with."""

    status: int
    code: str

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details or {}


class RequestError(MockCoreError):
    """A refused request (bad input, auth, not found), rendered as `Error`."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        assert code in REQUEST_ERRORS, f"unknown request error code {code}"
        super().__init__(code, message, details)
        self.status = REQUEST_ERRORS[code]


class InvariantViolation(MockCoreError):
    """A well-formed command refused by a business rule (422); nothing is written."""

    status = INVARIANT_STATUS

    def __init__(self, invariant: str, message: str, details: dict[str, Any] | None = None) -> None:
        assert invariant in INVARIANTS, f"unknown invariant {invariant}"
        super().__init__(invariant, message, details)
        self.invariant = invariant


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return the documented `Error` body."""
    return {"error": code, "message": message, "details": details or {}}


def invariant_body(command_id: str | None, exc: InvariantViolation) -> dict[str, Any]:
    """Return the documented `InvariantViolation` body."""
    return {
        "commandId": command_id,
        "error": INVARIANT_VIOLATION,
        "invariant": exc.invariant,
        "message": exc.message,
        "details": exc.details,
    }
