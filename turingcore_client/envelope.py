"""The command envelope, built one way for every client-side sender.

    {"commandId", "tenantId", "commandType", "actor", "timestamp", "payload",
     "idempotencyKey" (when given)}

The key order is the order the contract shows; the service's hash does not depend
on it (the chain hashes canonical JSON), but replies and run logs read better so.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Required, TypedDict

DEFAULT_ACTOR: Mapping[str, str] = {"actorType": "SYSTEM", "actorId": "twin"}


def now_rfc3339() -> str:
    """The current time as RFC 3339 with an explicit UTC offset."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


class EnvelopeFields(TypedDict, total=False):
    """The envelope's optional fields (`build_envelope`'s keyword arguments)."""

    command_id: str | None
    idempotency_key: str | None
    timestamp: str | None
    actor: Mapping[str, str] | None


class CommandFields(EnvelopeFields, total=False):
    """A command's keyword arguments (the client's `command_request`, `send_command`):
    its tenant, the envelope's optional fields, its `X-Correlation-Id` header."""

    tenant_id: Required[str]
    correlation_id: str | None


def build_envelope(
    command_type: str,
    payload: Mapping[str, Any],
    *,
    tenant_id: str,
    command_id: str | None = None,
    idempotency_key: str | None = None,
    timestamp: str | None = None,
    actor: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The command envelope exactly as it is sent: a new UUIDv4 commandId, the current
    time and the SYSTEM actor unless given (the optional fields: `EnvelopeFields`)."""
    envelope: dict[str, Any] = {
        "commandId": command_id or str(uuid.uuid4()),
        "tenantId": tenant_id,
        "commandType": command_type,
        "actor": dict(actor or DEFAULT_ACTOR),
        "timestamp": timestamp or now_rfc3339(),
        "payload": payload,
    }
    if idempotency_key is not None:
        envelope["idempotencyKey"] = idempotency_key
    return envelope
