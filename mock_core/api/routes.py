"""The public API under /v1: the read queries (the command gateway is in commands.py).

Routes parse, call a query, and render. No SQL and no business rule lives here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Path, Query, Response
from sqlalchemy import Connection

from mock_core import limits
from mock_core.api.deps import StoreDep, TenantDep
from mock_core.errors import RequestError
from mock_core.store import queries
from mock_core.store.eventstore import Store

router = APIRouter(prefix="/v1")

Limit = Annotated[int, Query(ge=1, le=limits.page_size_max)]
Offset = Annotated[int, Query(ge=0, le=limits.offset_max)]
AFTER_MAX = 2**62
ID_CHARS_MAX = 64
After = Annotated[int, Query(ge=0, le=AFTER_MAX)]
EntityId = Annotated[str, Query(min_length=1, max_length=ID_CHARS_MAX)]
PathId = Annotated[str, Path(min_length=1, max_length=ID_CHARS_MAX)]
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


def not_found(what: str, ident: str) -> RequestError:
    return RequestError("NOT_FOUND", f"{what} {ident} does not exist", {what: ident})


def read_json(
    store: Store,
    tenant_id: str,
    query: Callable[[Connection], object | None],
    entity: tuple[str, str] | None = None,
) -> bytes:
    """The JSON of what `query` reads in one read of the tenant; raises the 404 when it
    finds nothing: the tenant's, or (`entity`: what and id) the entity's, or its
    tenant's when that is missing too."""
    with store.read(tenant_id) as conn:
        found = query(conn)
        if found is None:
            if entity is not None and queries.tenant_exists(conn, tenant_id):
                raise not_found(*entity)
            raise not_found("tenant", tenant_id)
    return orjson.dumps(found)


def read_reply(
    store: Store,
    tenant_id: str,
    query: Callable[[Connection], object | None],
    entity: tuple[str, str] | None = None,
) -> Response:
    """200 with `read_json`'s reply (or its 404)."""
    return Response(read_json(store, tenant_id, query, entity), media_type="application/json")


def read_entity(
    store: Store,
    tenant_id: str,
    what: str,
    ident: str,
    query: Callable[[Connection, str, str], object | None],
) -> Response:
    """200 with the tenant's `what` `ident` as `query` reads it, else its 404."""
    return read_reply(store, tenant_id, lambda conn: query(conn, tenant_id, ident), (what, ident))


@router.get("/tenants/{tenant_id}")
async def get_tenant(tenant_id: TenantDep, store: StoreDep) -> Response:
    return read_reply(store, tenant_id, lambda conn: queries.get_tenant(conn, tenant_id))


def _products(conn: Connection, tenant_id: str) -> dict[str, object] | None:
    if not queries.tenant_exists(conn, tenant_id):
        return None
    return {"products": queries.list_products(conn, tenant_id)}


@router.get("/tenants/{tenant_id}/products")
async def list_products(tenant_id: TenantDep, store: StoreDep) -> Response:
    return read_reply(store, tenant_id, lambda conn: _products(conn, tenant_id))


@router.get("/tenants/{tenant_id}/customers")
async def list_customers(
    tenant_id: TenantDep,
    store: StoreDep,
    limit: Limit = limits.page_size_default,
    offset: Offset = 0,
) -> Response:
    return read_reply(
        store,
        tenant_id,
        lambda conn: queries.list_customers(conn, tenant_id, limit, offset, store.marks),
    )


@router.get("/tenants/{tenant_id}/customers/{customer_id}")
async def get_customer(tenant_id: TenantDep, customer_id: PathId, store: StoreDep) -> Response:
    return read_entity(store, tenant_id, "customer", customer_id, queries.get_customer)


@router.get("/tenants/{tenant_id}/accounts")
async def list_accounts(
    tenant_id: TenantDep,
    store: StoreDep,
    limit: Limit = limits.page_size_default,
    offset: Offset = 0,
    customerId: EntityId | None = None,
    accountType: Literal["CUSTOMER", "GL", "ALL"] = "CUSTOMER",
) -> Response:
    # Members' accounts by default: the published flow reads `accounts?limit=1` as a
    # member's account. GL accounts with accountType=GL, every account with ALL.
    kind = None if accountType == "ALL" else accountType
    return read_reply(
        store,
        tenant_id,
        lambda conn: queries.list_accounts(
            conn, tenant_id, limit, offset, customerId, kind, store.marks
        ),
    )


@router.get("/tenants/{tenant_id}/accounts/{account_id}")
async def get_account(tenant_id: TenantDep, account_id: PathId, store: StoreDep) -> Response:
    return read_entity(store, tenant_id, "account", account_id, queries.get_account)


@router.get("/tenants/{tenant_id}/accounts/{account_id}/events")
async def account_events(
    tenant_id: TenantDep,
    account_id: PathId,
    store: StoreDep,
    limit: Limit = limits.account_events_page_default,
    offset: Offset = 0,
    after: After = 0,
) -> Response:
    return read_reply(
        store,
        tenant_id,
        lambda conn: queries.account_event_page(conn, tenant_id, account_id, after, limit, offset),
        ("account", account_id),
    )


@router.get("/tenants/{tenant_id}/events")
async def tenant_events(
    tenant_id: TenantDep,
    store: StoreDep,
    limit: Limit = limits.page_size_default,
    after: After = 0,
    eventType: EventType | None = None,
    entityId: EntityId | None = None,
) -> Response:
    return read_reply(
        store,
        tenant_id,
        lambda conn: queries.tenant_event_page(conn, tenant_id, after, limit, eventType, entityId),
    )
