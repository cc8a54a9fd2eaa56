"""The errors a TuringCore client raises, and the one mapping from a reply to them.

Exceptions::

    TuringCoreError
     +-- ServiceUnreachableError   connection errors or timeouts after every retry
     +-- ApiError                  a non-2xx reply (status, error, message, details)
          +-- NotFoundError            404
          +-- InvariantViolationError  422, carries the invariant code
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from turingcore_client.replies import CommandReply


class TuringCoreError(Exception):
    """Base of every error this client raises."""


class ServiceUnreachableError(TuringCoreError):
    """The service could not be reached (connection error or timeout) after every retry."""


class ApiError(TuringCoreError):
    """A non-2xx reply: the contract's `Error` shape (`error`, `message`, `details`)."""

    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        details: Mapping[str, Any] | None = None,
        reply: CommandReply | None = None,
    ) -> None:
        super().__init__(f"{status} {error}: {message}")
        self.status = status
        self.error = error
        self.message = message
        self.details: dict[str, Any] = dict(details or {})
        self.reply = reply


class NotFoundError(ApiError):
    """404: unknown tenant, customer, account or path (or another tenant's id)."""


class InvariantViolationError(ApiError):
    """422: a named business invariant refused the command; `code` is its name."""

    def __init__(
        self,
        code: str,
        message: str,
        details: Mapping[str, Any] | None = None,
        reply: CommandReply | None = None,
    ) -> None:
        super().__init__(422, "INVARIANT_VIOLATION", message, details, reply)
        self.code = code
        self.args = (f"422 {code}: {message}",)


def names_parameter(error: ApiError, name: str) -> bool:
    """Whether a 400 refuses the query parameter `name` (details.parameter names it)."""
    return error.details.get("parameter") == name or (not error.details and name in error.message)


def api_error(status: int, body: Any, reply: CommandReply | None = None) -> ApiError:
    """The typed error for a non-2xx reply with the parsed `body`."""
    data = body if isinstance(body, dict) else {}
    error = str(data.get("error", "UNKNOWN"))
    message = str(data.get("message", ""))
    details = data.get("details") if isinstance(data.get("details"), dict) else {}
    if status == 422:
        return InvariantViolationError(
            str(data.get("invariant", "UNKNOWN")), message, details, reply=reply
        )
    cls = NotFoundError if status == 404 else ApiError
    return cls(status, error, message, details, reply=reply)
