"""parse_command(path tenant, decoded body) -> Command: request parsing, for the command endpoint.

Validation here is of shape (the envelope and its payload model, 400) and of
the envelope against the path (409 `TENANT_MISMATCH`); the business rules are
`decide`'s.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from mock_core.core.commands import PAYLOAD_MODELS, Command, CreateTenant, Envelope
from mock_core.errors import RequestError


def validation_details(exc: ValidationError, prefix: tuple[str | int, ...] = ()) -> dict[str, Any]:
    """The `details` of a 400: where each problem is and what was expected."""
    return {
        "errors": [
            {"loc": [*prefix, *err["loc"]], "msg": err["msg"], "type": err["type"]}
            for err in exc.errors(include_url=False, include_context=False, include_input=False)
        ]
    }


def _naming_first(message: str, details: dict[str, Any]) -> str:
    """`message`, followed by where the first problem is and what it is."""
    problems = details["errors"]
    if not problems:
        return message
    first = problems[0]
    where = ".".join(str(part) for part in first["loc"])
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{message}: {where}: {first['msg']}{more}"


def parse_command(path_tenant: str, body: Any) -> Command:
    """Validate a decoded request body against the envelope and its payload model."""
    if not isinstance(body, dict):
        raise RequestError("VALIDATION_ERROR", "the body must be a JSON object", {"errors": []})
    try:
        envelope = Envelope.model_validate(body)
    except ValidationError as exc:
        details = validation_details(exc)
        raise RequestError(
            "VALIDATION_ERROR", _naming_first("the command envelope is invalid", details), details
        ) from None
    try:
        payload = PAYLOAD_MODELS[envelope.commandType].model_validate(envelope.payload)
    except ValidationError as exc:
        details = validation_details(exc, ("payload",))
        message = _naming_first(f"the {envelope.commandType} payload is invalid", details)
        raise RequestError("VALIDATION_ERROR", message, details) from None
    if envelope.tenantId != path_tenant:
        raise RequestError(
            "TENANT_MISMATCH",
            "the envelope's tenantId differs from the path's",
            {"pathTenantId": path_tenant, "tenantId": envelope.tenantId},
        )
    if isinstance(payload, CreateTenant) and payload.tenantCode != path_tenant:
        raise RequestError(
            "TENANT_MISMATCH",
            "CreateTenant's tenantCode must equal the path's tenantId",
            {"pathTenantId": path_tenant, "tenantCode": payload.tenantCode},
        )
    return Command(
        command_id=envelope.commandId,
        tenant_id=envelope.tenantId,
        actor=envelope.actor,
        timestamp=envelope.timestamp,
        idempotency_key=envelope.idempotencyKey,
        payload=payload,
    )
