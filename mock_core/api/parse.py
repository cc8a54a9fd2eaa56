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


def _validated(model: type[Any], data: Any, what: str, prefix: tuple[str, ...] = ()) -> Any:
    """`data` as `model`, or the 400 naming the first problem (`what` is invalid)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = validation_details(exc, prefix)
        message = _naming_first(f"{what} is invalid", details)
        raise RequestError("VALIDATION_ERROR", message, details) from None


def _same_tenant(path_tenant: str, field: str, value: str, message: str) -> None:
    if value != path_tenant:
        raise RequestError("TENANT_MISMATCH", message, {"pathTenantId": path_tenant, field: value})


def parse_command(path_tenant: str, body: Any) -> Command:
    """Validate a decoded request body against the envelope and its payload model."""
    if not isinstance(body, dict):
        raise RequestError("VALIDATION_ERROR", "the body must be a JSON object", {"errors": []})
    envelope: Envelope = _validated(Envelope, body, "the command envelope")
    kind = envelope.commandType
    payload = _validated(
        PAYLOAD_MODELS[kind], envelope.payload, f"the {kind} payload", ("payload",)
    )
    message = "the envelope's tenantId differs from the path's"
    _same_tenant(path_tenant, "tenantId", envelope.tenantId, message)
    if isinstance(payload, CreateTenant):
        message = "CreateTenant's tenantCode must equal the path's tenantId"
        _same_tenant(path_tenant, "tenantCode", payload.tenantCode, message)
    return Command(
        command_id=envelope.commandId,
        tenant_id=envelope.tenantId,
        actor=envelope.actor,
        timestamp=envelope.timestamp,
        idempotency_key=envelope.idempotencyKey,
        payload=payload,
    )
