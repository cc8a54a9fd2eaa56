"""The public API under /v1: the command gateway and the read queries.

Routes parse, call the gateway or a query, and render. No SQL and no business
rule lives here.
"""

from __future__ import annotations

import time
from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Path, Query, Request, Response
from starlette.routing import Route

from mock_core import limits
from mock_core.api.auth import KeyRing
from mock_core.api.deps import StoreDep, TenantDep
from mock_core.api.errors import json_response
from mock_core.api.observability import Metrics
from mock_core.errors import MockCoreError, RequestError
from mock_core.gateway import Gateway, parse_command
from mock_core.store import queries

router = APIRouter(prefix="/v1")

Limit = Annotated[int, Query(ge=1, le=limits.page_size_max)]
Offset = Annotated[int, Query(ge=0, le=limits.offset_max)]
After = Annotated[int, Query(ge=0, le=2**62)]
EntityId = Annotated[str, Query(min_length=1, max_length=64)]
PathId = Annotated[str, Path(min_length=1, max_length=64)]
EventType = Literal[
    "TenantCreated",
    "ProductCreated",
    "ProductUpdated",
    "CustomerCreated",
    "AccountOpened",
    "LoanFacilityCreated",
    "FundsPosted",
    "EntryPosted",
    "AccountBalanceUpdated",
]


async def _read_body(request: Request) -> bytes:
    """Read the body, refusing (413) anything over the limit without reading it all."""
    declared = request.headers.get("content-length")
    if (
        declared is not None
        and declared.isdigit()
        and int(declared) > limits.request_body_bytes_max
    ):
        raise RequestError(
            "PAYLOAD_TOO_LARGE",
            f"the body is over {limits.request_body_bytes_max} bytes",
            {"limitBytes": limits.request_body_bytes_max},
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limits.request_body_bytes_max:
            raise RequestError(
                "PAYLOAD_TOO_LARGE",
                f"the body is over {limits.request_body_bytes_max} bytes",
                {"limitBytes": limits.request_body_bytes_max},
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _require_json(request: Request) -> None:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not (
        media_type.startswith("application/") and media_type.endswith("+json")
    ):
        raise RequestError(
            "UNSUPPORTED_MEDIA_TYPE",
            "commands must be sent as application/json",
            {"contentType": media_type or None},
        )


async def post_command(request: Request) -> Response:
    """The command gateway: the one write path.

    A plain Starlette route (see `gateway_route`), taking its collaborators from
    app.state: FastAPI's per-request dependency solving and response handling
    cost more per command than the whole ledger decision.
    """
    tenant_id: str = request.path_params["tenant_id"]
    state = request.app.state
    gateway: Gateway = state.gateway
    keys: KeyRing = state.keys
    metrics: Metrics = state.metrics
    keys.require_tenant(request, tenant_id)
    _require_json(request)
    body = await _read_body(request)
    try:
        raw = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RequestError("MALFORMED_JSON", f"the body is not valid JSON: {exc}") from None
    command = parse_command(tenant_id, raw)
    request.state.command_id = command.command_id
    request.state.command_type = command.command_type
    if command.command_type == "CreateTenant":
        keys.require_platform(request, "create tenants")
    correlation_id = request.headers.get("x-correlation-id")
    if (
        correlation_id is not None
        and not 1 <= len(correlation_id) <= limits.correlation_id_chars_max
    ):
        raise RequestError(
            "VALIDATION_ERROR",
            f"X-Correlation-Id must be 1 to {limits.correlation_id_chars_max} characters",
        )
    started = time.perf_counter()
    try:
        committer = request.app.state.committer
        if committer is not None:
            outcome = await committer.submit(command, correlation_id)
        else:
            outcome = gateway.execute(command, correlation_id)
    except MockCoreError as exc:
        metrics.count(command.command_type, exc.code)
        raise
    metrics.observe_command(command.command_type, time.perf_counter() - started, outcome)
    if outcome.replayed:
        request.state.outcome = "REPLAYED"
        headers = {"Idempotent-Replayed": "true"}
    else:
        request.state.outcome = "ACCEPTED"
        headers = {}
    return Response(outcome.body, 202, headers=headers, media_type="application/json")


# Registered ahead of the FastAPI routes (app.py); errors still go through the one
# exception handler, and other methods on this path get 405 METHOD_NOT_ALLOWED.
gateway_route = Route("/v1/tenants/{tenant_id}/commands", post_command, methods=["POST"])


def _not_found(what: str, ident: str) -> RequestError:
    return RequestError("NOT_FOUND", f"{what} {ident} does not exist", {what: ident})


@router.get("/tenants/{tenant_id}")
async def get_tenant(tenant_id: TenantDep, store: StoreDep) -> Response:
    with store.read(tenant_id) as conn:
        tenant = queries.get_tenant(conn, tenant_id)
    if tenant is None:
        raise _not_found("tenant", tenant_id)
    return json_response(200, tenant)


@router.get("/tenants/{tenant_id}/products")
async def list_products(tenant_id: TenantDep, store: StoreDep) -> Response:
    with store.read(tenant_id) as conn:
        if not queries.tenant_exists(conn, tenant_id):
            raise _not_found("tenant", tenant_id)
        return json_response(200, {"products": queries.list_products(conn, tenant_id)})


@router.get("/tenants/{tenant_id}/customers")
async def list_customers(
    tenant_id: TenantDep,
    store: StoreDep,
    limit: Limit = limits.page_size_default,
    offset: Offset = 0,
) -> Response:
    with store.read(tenant_id) as conn:
        if not queries.tenant_exists(conn, tenant_id):
            raise _not_found("tenant", tenant_id)
        return json_response(200, queries.list_customers(conn, tenant_id, limit, offset))


@router.get("/tenants/{tenant_id}/customers/{customer_id}")
async def get_customer(tenant_id: TenantDep, customer_id: PathId, store: StoreDep) -> Response:
    with store.read(tenant_id) as conn:
        customer = queries.get_customer(conn, tenant_id, customer_id)
        if customer is None:
            if not queries.tenant_exists(conn, tenant_id):
                raise _not_found("tenant", tenant_id)
            raise _not_found("customer", customer_id)
    return json_response(200, customer)


@router.get("/tenants/{tenant_id}/accounts")
async def list_accounts(
    tenant_id: TenantDep,
    store: StoreDep,
    limit: Limit = limits.page_size_default,
    offset: Offset = 0,
    customerId: EntityId | None = None,
    accountType: Literal["CUSTOMER", "GL"] | None = None,
) -> Response:
    with store.read(tenant_id) as conn:
        if not queries.tenant_exists(conn, tenant_id):
            raise _not_found("tenant", tenant_id)
        page = queries.list_accounts(conn, tenant_id, limit, offset, customerId, accountType)
    return json_response(200, page)


@router.get("/tenants/{tenant_id}/accounts/{account_id}")
async def get_account(tenant_id: TenantDep, account_id: PathId, store: StoreDep) -> Response:
    with store.read(tenant_id) as conn:
        account = queries.get_account(conn, tenant_id, account_id)
        if account is None:
            if not queries.tenant_exists(conn, tenant_id):
                raise _not_found("tenant", tenant_id)
            raise _not_found("account", account_id)
    return json_response(200, account)


@router.get("/tenants/{tenant_id}/accounts/{account_id}/events")
async def account_events(
    tenant_id: TenantDep,
    account_id: PathId,
    store: StoreDep,
    limit: Limit = limits.page_size_default,
    after: After = 0,
) -> Response:
    with store.read(tenant_id) as conn:
        if queries.get_account(conn, tenant_id, account_id) is None:
            if not queries.tenant_exists(conn, tenant_id):
                raise _not_found("tenant", tenant_id)
            raise _not_found("account", account_id)
        page = queries.account_event_page(conn, tenant_id, account_id, after, limit)
    return json_response(200, page)


@router.get("/tenants/{tenant_id}/events")
async def tenant_events(
    tenant_id: TenantDep,
    store: StoreDep,
    limit: Limit = limits.page_size_default,
    after: After = 0,
    eventType: EventType | None = None,
    entityId: EntityId | None = None,
) -> Response:
    with store.read(tenant_id) as conn:
        if not queries.tenant_exists(conn, tenant_id):
            raise _not_found("tenant", tenant_id)
        page = queries.tenant_event_page(conn, tenant_id, after, limit, eventType, entityId)
    return json_response(200, page)
