"""The reads asked once per customer or account, served ahead of the framework.

The twin's checks read every account's events and probe every customer and account
id under another tenant's path: at 100,000 members that is some 880,000 GETs of
three routes, and Starlette's routing, FastAPI's dependency resolution and the
middleware cost more CPU per request than the read itself. So these three, when
the request is one the route would take as it is, are answered here (as the
command gateway's POSTs are, `commands.py`):

    GET /v1/tenants/{tenantId}/accounts/{accountId}
    GET /v1/tenants/{tenantId}/accounts/{accountId}/events[?after=&limit=&offset=]
    GET /v1/tenants/{tenantId}/customers/{customerId}

"As it is" means: ids within the lengths the routes take, and no query parameter
but those the route defines, each once, as plain decimal digits within its bounds.
Anything else (a parameter to refuse, a value to coerce or reject) goes on to the
framework, whose validation writes the 400s. Served here, the request runs the
same key check, the same query (`routes.read_json`) and the same error replies,
and writes the same access log line; tests/mock_core/test_hot_reads.py holds each
reply to the framework's.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy import Connection
from starlette.types import Scope, Send

from mock_core import limits
from mock_core.api import routes
from mock_core.api.auth import KeyRing
from mock_core.api.deps import TENANT_CHARS_MAX
from mock_core.api.errors import INTERNAL_ERROR_BODY, error_reply
from mock_core.api.observability import log_access
from mock_core.errors import MockCoreError
from mock_core.store import queries
from mock_core.store.eventstore import Store

log = logging.getLogger("mock_core.errors")

PREFIX = "/v1/tenants/"
_JSON = (b"content-type", b"application/json")
# The routes' own bounds (deps.TenantPath; routes.PathId, Limit, Offset, After).
_EVENT_PARAMETERS = {
    "after": routes.AFTER_MAX,
    "limit": limits.page_size_max,
    "offset": limits.offset_max,
}
_EVENT_PARAMETERS_MIN = {"after": 0, "limit": 1, "offset": 0}

_Read = Callable[[Connection], object | None]  # what `routes.read_json` takes
_Query = Callable[[str, str, dict[str, int]], _Read]  # (tenant, id, parameters) -> that


def _account(tenant_id: str, account_id: str, _: dict[str, int]) -> _Read:
    return lambda conn: queries.get_account(conn, tenant_id, account_id)


def _account_events(tenant_id: str, account_id: str, params: dict[str, int]) -> _Read:
    after = params.get("after", 0)
    limit = params.get("limit", limits.account_events_page_default)
    offset = params.get("offset", 0)
    return lambda conn: queries.account_event_page(
        conn, tenant_id, account_id, after, limit, offset
    )


def _customer(tenant_id: str, customer_id: str, _: dict[str, int]) -> _Read:
    return lambda conn: queries.get_customer(conn, tenant_id, customer_id)


def _parameters(query_string: bytes, allowed: dict[str, int]) -> dict[str, int] | None:
    """The query's parameters, or None when the framework should see it (an unknown or
    repeated name, a value that is not plain digits within the bounds)."""
    params: dict[str, int] = {}
    if not query_string:
        return params
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        top = allowed.get(name)
        if (
            top is None
            or name in params
            or not (value.isascii() and value.isdigit())
            or len(value) > 20
            or (len(value) > 1 and value[0] == "0")
        ):
            return None
        number = int(value)
        if not _EVENT_PARAMETERS_MIN[name] <= number <= top:
            return None
        params[name] = number
    return params


def _route(path: str, query_string: bytes) -> tuple[_Query, str, str, str, dict[str, int]] | None:
    """(query, tenant, what, id, parameters) of a request served here, else None."""
    if not path.startswith(PREFIX):
        return None
    parts = path[len(PREFIX) :].split("/")
    query: _Query
    allowed: dict[str, int] | None
    if len(parts) == 3:
        tenant_id, kind, ident = parts
        if kind == "accounts":
            query, what, allowed = _account, "account", None
        elif kind == "customers":
            query, what, allowed = _customer, "customer", None
        else:
            return None
    elif len(parts) == 4 and parts[1] == "accounts" and parts[3] == "events":
        tenant_id, _, ident, _ = parts
        query, what, allowed = _account_events, "account", _EVENT_PARAMETERS
    else:
        return None
    if not (0 < len(tenant_id) <= TENANT_CHARS_MAX and 0 < len(ident) <= routes.ID_CHARS_MAX):
        return None
    params = _parameters(query_string, allowed or {})
    if params is None:
        return None
    return query, tenant_id, what, ident, params


@dataclass(frozen=True, slots=True)
class HotReads:
    """Serves the three reads above; `__call__` says whether it answered the request."""

    store: Store
    keys: KeyRing
    access_log: bool

    async def __call__(self, scope: Scope, send: Send) -> bool:
        started = time.perf_counter()
        route = _route(scope["path"], scope.get("query_string", b""))
        if route is None:
            return False
        query, tenant_id, what, ident, params = route
        facts: dict[str, Any] = {}
        extra: tuple[tuple[str, str], ...] = ()
        try:
            authorization = None
            for name, value in scope["headers"]:
                if name == b"authorization":
                    authorization = value.decode("latin-1")
                    break
            self.keys.check_tenant(authorization, tenant_id)
            status = 200
            body = routes.read_json(
                self.store, tenant_id, query(tenant_id, ident, params), (what, ident)
            )
        except MockCoreError as exc:
            facts["outcome"] = exc.code
            status, body, extra = error_reply(exc, None)
        except Exception:
            log.exception("unexpected error on GET %s", scope["path"])
            status, body = 500, INTERNAL_ERROR_BODY
        headers = [(b"content-length", str(len(body)).encode()), _JSON]
        headers.extend((name.encode(), value.encode()) for name, value in extra)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        if self.access_log:
            log_access(scope, status, started, tenant_id, facts)
        return True
