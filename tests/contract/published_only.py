"""A variant of the mock that implements only the published TuringCore contract.

The real app, wrapped from outside in one ASGI middleware (never by editing mock_core),
with every extension of ours taken away, as a service built from the published
document alone would be:

- events lose `sequence`, `correlationId`, `prevHash` and `hash`; event lists lose
  `nextCursor`;
- a 202 loses `result` and `eventIds` (the ids stay at its top level) and a replay the
  `Idempotent-Replayed` header; no reply echoes `X-Correlation-Id`;
- the extension reads are 404s: GET /tenants/{t}, /products, /customers/{c},
  /accounts/{a}, the tenant stream /events and the as-of reads /accounts/{a}/balance
  and /trial-balance;
- an extension query parameter (accountType, after, eventType, entityId) is a 400, like
  any parameter the service does not know;
- an extension request field (facilityLimit, a leg's currency, active, description,
  purchaseRate, cashAdvanceRate, minAge, maxAge) is a 400 naming it, like any unknown
  field;
- summaries carry the published fields only;
- it serves the spec without the marked parts (`serve_spec=True`) or none at all, so
  `contract-test` finds out what it offers from the spec or by probing.

    contract-test --target-app 'tests.contract.published_only:app()'

`contract-test` must find it CONFORMS (tests/contract/test_published_only.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import yaml

from contract_tests.extensions_published import _walk, stripped_spec
from contract_tests.schema_suite import load_spec
from contract_tests.target import Target, in_process_target
from tests.contract.broken import (
    ASGIApp,
    Receive,
    Scope,
    Send,
    _call,
    _http_only,
    _send_reply,
)

EVENT_EXTENSIONS = ("sequence", "correlationId", "prevHash", "hash")
ACCEPTED_EXTENSIONS = ("result", "eventIds")
EXTENSION_PARAMETERS = frozenset({"accountType", "after", "eventType", "entityId"})
# The published fields of a listed account and customer (the published-only target keeps
# these; tests/test_published_spec.py checks the spec requires them).
ACCOUNT_FIELDS = (
    "accountId",
    "customerId",
    "productCode",
    "accountAlias",
    "balance",
    "currency",
    "status",
    "openedAt",
)
CUSTOMER_FIELDS = (
    "customerId",
    "externalRef",
    "fullName",
    "email",
    "segment",
    "kycStatus",
    "createdAt",
)
# The extension request fields: commandType -> (path to the object, field names).
REQUEST_EXTENSIONS: dict[str, tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]] = {
    "OpenAccount": (((), ("facilityLimit",)),),
    "PostEntry": ((("legs", "*"), ("currency",)),),
    "UpsertProduct": (
        ((), ("active", "description")),
        (("interest",), ("purchaseRate", "cashAdvanceRate")),
        (("constraints",), ("minAge", "maxAge")),
    ),
}
_T = r"/v1/tenants/[^/]+"
EXTENSION_READS = re.compile(
    rf"^{_T}(/products|/customers/[^/]+|/accounts/[^/]+(/balance)?|/events|/trial-balance)?/?$"
)


def _objects(node: Any, path: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    """The objects at `path` ("*" for every item of a list) below `node`."""
    return (found for found in _walk(node, path) if isinstance(found, dict))


def extension_field(command: Any) -> str | None:
    """The first extension field a command uses (`payload.legs[].currency`), or None."""
    if not isinstance(command, dict):
        return None
    payload = command.get("payload")
    for path, names in REQUEST_EXTENSIONS.get(str(command.get("commandType")), ()):
        for holder in _objects(payload, path):
            for name in names:
                if name in holder:
                    return ".".join(("payload", *(p if p != "*" else "[]" for p in path), name))
    return None


def _error(status: int, code: str, message: str, details: dict[str, Any]) -> bytes:
    return orjson.dumps({"error": code, "message": message, "details": details})


class PublishedOnly:
    """The ASGI middleware."""

    def __init__(self, app: ASGIApp, serve_spec: bool = True) -> None:
        self.app = app
        self.spec = stripped_spec(load_spec()) if serve_spec else None
        self.asgi = _http_only(app, self.handle)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.asgi(scope, receive, send)

    async def handle(self, scope: Scope, request: bytes, send: Send) -> None:
        early = self.refuse(scope, request)
        if early is not None:
            status, headers, body = early
        else:
            status, headers, body = await self.call(scope, request)
            status, headers, body = self.strip(scope, status, headers, body)
        await _send_reply(send, status, headers, body)

    async def call(self, scope: Scope, request: bytes) -> tuple[int, list[Any], bytes]:
        # X-Correlation-Id is an extension: the published service ignores it.
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"x-correlation-id"]
        start, body = await _call(self.app, {**scope, "headers": headers}, request)
        return start["status"], list(start.get("headers", [])), body

    def refuse(self, scope: Scope, request: bytes) -> tuple[int, list[Any], bytes] | None:
        """A reply of our own where the published service differs before the app runs."""
        json_headers = [(b"content-type", b"application/json")]
        path, method = scope["path"], scope["method"]
        if method == "GET" and path in ("/v1/openapi.json", "/v1/openapi.yaml"):
            if self.spec is None:
                return 404, json_headers, _error(404, "NOT_FOUND", "no such path", {})
            if path.endswith(".json"):
                return 200, json_headers, orjson.dumps(self.spec)
            text = yaml.safe_dump(self.spec, sort_keys=False).encode()
            return 200, [(b"content-type", b"application/yaml")], text
        if not path.startswith("/v1/tenants/"):
            return None
        if method == "GET" and EXTENSION_READS.match(path):
            return 404, json_headers, _error(404, "NOT_FOUND", f"no such path {path}", {})
        query = scope.get("query_string", b"").decode("latin-1")
        for part in query.split("&"):
            name = part.split("=", 1)[0]
            if name in EXTENSION_PARAMETERS:
                details = {"parameter": name, "allowed": ["limit", "offset", "customerId"]}
                message = f"unknown query parameter {name!r}"
                return 400, json_headers, _error(400, "VALIDATION_ERROR", message, details)
        if method == "POST" and path.endswith("/commands"):
            try:
                command = orjson.loads(request)
            except orjson.JSONDecodeError:
                return None
            field = extension_field(command)
            if field is not None:
                details = {
                    "errors": [
                        {
                            "loc": field.split("."),
                            "msg": "Extra inputs are not permitted",
                            "type": "extra_forbidden",
                        }
                    ]
                }
                return (
                    400,
                    json_headers,
                    _error(400, "VALIDATION_ERROR", f"{field}: unknown field", details),
                )
        return None

    def strip(
        self, scope: Scope, status: int, headers: list[Any], body: bytes
    ) -> tuple[int, list[Any], bytes]:
        """The reply without the extensions."""
        headers = [
            (k, v)
            for k, v in headers
            if k.lower() not in (b"idempotent-replayed", b"x-correlation-id")
        ]
        if not scope["path"].startswith("/v1/tenants/"):
            return status, headers, body
        try:
            reply = orjson.loads(body)
        except orjson.JSONDecodeError:
            return status, headers, body
        if not isinstance(reply, dict):
            return status, headers, body
        if scope["method"] == "POST" and status == 202:
            for name in ACCEPTED_EXTENSIONS:
                reply.pop(name, None)
        elif scope["method"] == "GET" and status == 200:
            if isinstance(reply.get("events"), list):
                for event in reply["events"]:
                    for name in EVENT_EXTENSIONS:
                        event.pop(name, None)
                reply.pop("nextCursor", None)
            if isinstance(reply.get("accounts"), list):
                reply["accounts"] = [
                    {k: a.get(k) for k in ACCOUNT_FIELDS} for a in reply["accounts"]
                ]
            if isinstance(reply.get("customers"), list):
                reply["customers"] = [
                    {k: c.get(k) for k in CUSTOMER_FIELDS} for c in reply["customers"]
                ]
        return status, headers, orjson.dumps(reply)


def app(serve_spec: bool = True) -> ASGIApp:
    """The published-only mock, for `contract-test --target-app`."""
    return PublishedOnly(in_process_target().app, serve_spec)


def app_without_spec() -> ASGIApp:
    return app(serve_spec=False)


@contextmanager
def published_only_target(serve_spec: bool = True) -> Iterator[Target]:
    """The in-process mock with every extension taken away, as a Target."""
    base = in_process_target()
    wrapped = PublishedOnly(base.app, serve_spec)
    name = "published-only mock" + ("" if serve_spec else " (no spec served)")
    yield Target(base.base_url, base.api_key, dict(base.scoped_keys), wrapped, name)
