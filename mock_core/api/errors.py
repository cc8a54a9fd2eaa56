"""The one place where errors become replies, for the routes and the command endpoint.

`error_reply` renders a MockCoreError (status, body, headers); the command
endpoint sends it as plain ASGI, the exception handlers installed here as a
Response. A failure nobody expected is `INTERNAL_ERROR_BODY`, a 500.
"""

from __future__ import annotations

import logging

import orjson
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from mock_core.errors import InvariantViolation, MockCoreError, error_body, invariant_body

log = logging.getLogger("mock_core.errors")

_STATUS_CODES = {
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
}


def json_response(status: int, body: object, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/json", headers=headers
    )


INTERNAL_ERROR_BODY = orjson.dumps(
    error_body("INTERNAL_ERROR", "the mock failed; this is a bug, please report it")
)
_CHALLENGE = (("www-authenticate", "Bearer"),)


def error_reply(
    exc: MockCoreError, command_id: str | None
) -> tuple[int, bytes, tuple[tuple[str, str], ...]]:
    """A MockCoreError as (status, its documented JSON body, extra headers)."""
    if isinstance(exc, InvariantViolation):
        return exc.status, orjson.dumps(invariant_body(command_id, exc)), ()
    body = orjson.dumps(error_body(exc.code, exc.message, exc.details))
    return exc.status, body, _CHALLENGE if exc.status == 401 else ()


def render(request: Request, exc: MockCoreError) -> Response:
    """Render a MockCoreError as its documented reply."""
    status, body, headers = error_reply(exc, getattr(request.state, "command_id", None))
    return Response(body, status, dict(headers) or None, media_type="application/json")


def install(app: FastAPI) -> None:
    """Register the handlers that turn every exception into the documented shape."""

    @app.exception_handler(MockCoreError)
    async def _mock_core_error(request: Request, exc: MockCoreError) -> Response:
        request.state.outcome = exc.code
        return render(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {
                "loc": list(err.get("loc", ())),
                "msg": err.get("msg", ""),
                "type": err.get("type", ""),
            }
            for err in exc.errors()
        ]
        message = "the request is invalid"
        if errors:
            where = ".".join(str(part) for part in errors[0]["loc"])
            message = f"{message}: {where}: {errors[0]['msg']}"
        return json_response(400, error_body("VALIDATION_ERROR", message, {"errors": errors}))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = _STATUS_CODES.get(exc.status_code, "NOT_FOUND")
        status = exc.status_code if exc.status_code in _STATUS_CODES else 404
        headers = dict(exc.headers or {})
        return json_response(status, error_body(code, str(exc.detail)), headers or None)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return Response(INTERNAL_ERROR_BODY, 500, media_type="application/json")
