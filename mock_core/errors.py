"""Every error the mock can reply with, in one table.

    MockCoreError                 base; carries code, status, message, details
     +-- RequestError             4xx/5xx with the `Error` body {error, message, details}
     +-- InvariantViolation       422 with the `InvariantViolation` body
                                  {commandId, error: INVARIANT_VIOLATION, invariant, ...}

Routes never build error replies themselves: they raise one of these (or let
validation raise), and the single handler in `mock_core.api.errors` renders it.
The codes are the contract's (`mock_core.contract`, read from the spec). `INVARIANTS`
is in precedence order: `decide` checks a command's invariants in this order, so a
command that breaks several always reports the same one.
"""

from __future__ import annotations

from typing import Any, Final

from mock_core.contract import INVARIANT_VIOLATION, INVARIANTS, REQUEST_ERRORS

# Request errors (code -> HTTP status), `INVARIANT_VIOLATION` and the invariants in the
# order they are checked: the spec's data, read once (`mock_core.contract`).
INVARIANT_STATUS: Final = 422


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
