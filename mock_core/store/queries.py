"""The read side: projections and event pages, as JSON-ready values.

Every list takes a limit. Event envelopes are served as the exact JSON that was
hashed (wrapped in `orjson.Fragment`), so a client recomputing the chain sees
the same bytes the store hashed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, func, select

from mock_core.money import to_number
from mock_core.store.schema import account_events, accounts, customers, events, products, tenants


def storable(*values: str | None) -> bool:
    """False when a value holds U+0000: no stored id can (PostgreSQL text cannot hold it),
    so such an id is simply not found, and must not reach the driver."""
    return not any(value is not None and "\x00" in value for value in values)


def get_tenant(conn: Connection, tenant_id: str) -> dict[str, Any] | None:
    if not storable(tenant_id):
        return None
    row = conn.execute(
        select(
            tenants.c.data, tenants.c.created_at, tenants.c.last_sequence, tenants.c.last_hash
        ).where(tenants.c.tenant_id == tenant_id)
    ).first()
    if row is None:
        return None
    data = orjson.loads(row[0])
    return {
        "tenantId": tenant_id,
        "tenantCode": data["tenantCode"],
        "displayName": data["displayName"],
        "region": data["region"],
        "baseCurrency": data["baseCurrency"],
        "timeZone": data["timeZone"],
        "regulatoryJurisdiction": data.get("regulatoryJurisdiction"),
        "businessType": data.get("businessType"),
        "status": "ACTIVE",
        "createdAt": row[1],
        "lastSequence": row[2],
        "lastHash": row[3],
    }


def tenant_exists(conn: Connection, tenant_id: str) -> bool:
    if not storable(tenant_id):
        return False
    return (
        conn.execute(select(tenants.c.tenant_id).where(tenants.c.tenant_id == tenant_id)).first()
        is not None
    )


def list_products(conn: Connection, tenant_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(products.c.data, products.c.created_at, products.c.updated_at)
        .where(products.c.tenant_id == tenant_id)
        .order_by(products.c.ordinal)
    )
    result = []
    for data, created_at, updated_at in rows:
        product = orjson.loads(data)
        product.update(
            tenantId=tenant_id,
            status="ACTIVE" if product.get("active", True) else "INACTIVE",
            createdAt=created_at,
            updatedAt=updated_at,
        )
        result.append(product)
    return result


def _customer_summary(tenant_id: str, data: dict[str, Any]) -> dict[str, Any]:
    person = data["person"]
    return {
        "customerId": data["customerId"],
        "tenantId": tenant_id,
        "externalRef": data.get("externalRef"),
        "firstName": person["firstName"],
        "lastName": person["lastName"],
        "email": person["email"],
        "mobile": person["mobile"],
        "status": "ACTIVE",
        "createdAt": data["createdAt"],
    }


def list_customers(conn: Connection, tenant_id: str, limit: int, offset: int) -> dict[str, Any]:
    where = customers.c.tenant_id == tenant_id
    total = conn.execute(select(func.count()).select_from(customers).where(where)).scalar_one()
    rows = conn.execute(
        select(customers.c.data)
        .where(where)
        .order_by(customers.c.ordinal)
        .limit(limit)
        .offset(offset)
    )
    return {
        "customers": [_customer_summary(tenant_id, orjson.loads(data)) for (data,) in rows],
        "total": total,
        "limit": limit,
        "offset": offset,
    }


def get_customer(conn: Connection, tenant_id: str, customer_id: str) -> dict[str, Any] | None:
    if not storable(customer_id):
        return None
    row = conn.execute(
        select(customers.c.data).where(
            customers.c.tenant_id == tenant_id, customers.c.customer_id == customer_id
        )
    ).first()
    if row is None:
        return None
    data = orjson.loads(row[0])
    return {
        **_customer_summary(tenant_id, data),
        "person": data["person"],
        "address": data["address"],
        "employment": data.get("employment"),
        "riskProfile": data.get("riskProfile"),
    }


_account_columns = (
    accounts.c.account_id,
    accounts.c.account_type,
    accounts.c.customer_id,
    accounts.c.product_code,
    accounts.c.product_type,
    accounts.c.currency,
    accounts.c.balance_minor,
    accounts.c.facility_limit_minor,
    accounts.c.alias,
    accounts.c.purpose,
    accounts.c.opened_at,
    accounts.c.last_sequence,
)


def _account_summary(tenant_id: str, row: Any) -> dict[str, Any]:
    return {
        "accountId": row[0],
        "tenantId": tenant_id,
        "accountType": row[1],
        "customerId": row[2],
        "productCode": row[3],
        "productType": row[4],
        "currency": row[5],
        "balance": to_number(row[6]),
        "facilityLimit": None if row[7] is None else to_number(row[7]),
        "accountAlias": row[8],
        "accountPurpose": row[9],
        "status": "ACTIVE",
        "openedAt": row[10],
        "lastSequence": row[11],
    }


def list_accounts(
    conn: Connection,
    tenant_id: str,
    limit: int,
    offset: int,
    customer_id: str | None = None,
    account_type: str | None = None,
) -> dict[str, Any]:
    if not storable(customer_id):
        return {"accounts": [], "total": 0, "limit": limit, "offset": offset}
    conditions = [accounts.c.tenant_id == tenant_id]
    if customer_id is not None:
        conditions.append(accounts.c.customer_id == customer_id)
    if account_type is not None:
        conditions.append(accounts.c.account_type == account_type)
    total = conn.execute(select(func.count()).select_from(accounts).where(*conditions)).scalar_one()
    rows = conn.execute(
        select(*_account_columns)
        .where(*conditions)
        .order_by(accounts.c.ordinal)
        .limit(limit)
        .offset(offset)
    )
    return {
        "accounts": [_account_summary(tenant_id, row) for row in rows],
        "total": total,
        "limit": limit,
        "offset": offset,
    }


def get_account(conn: Connection, tenant_id: str, account_id: str) -> dict[str, Any] | None:
    if not storable(account_id):
        return None
    row = conn.execute(
        select(*_account_columns).where(
            accounts.c.tenant_id == tenant_id, accounts.c.account_id == account_id
        )
    ).first()
    return None if row is None else _account_summary(tenant_id, row)


def _page(rows: Sequence[Any], limit: int) -> dict[str, Any]:
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "events": [orjson.Fragment(envelope) for _, envelope in rows],
        "nextCursor": rows[-1][0] if more and rows else None,
    }


def account_event_page(
    conn: Connection, tenant_id: str, account_id: str, after: int, limit: int
) -> dict[str, Any]:
    rows = conn.execute(
        select(events.c.sequence, events.c.envelope)
        .select_from(
            account_events.join(
                events,
                (events.c.tenant_id == account_events.c.tenant_id)
                & (events.c.sequence == account_events.c.sequence),
            )
        )
        .where(
            account_events.c.tenant_id == tenant_id,
            account_events.c.account_id == account_id,
            account_events.c.sequence > after,
        )
        .order_by(account_events.c.sequence)
        .limit(limit + 1)
    ).all()
    return _page(rows, limit)


def tenant_event_page(
    conn: Connection,
    tenant_id: str,
    after: int,
    limit: int,
    event_type: str | None = None,
    entity_id: str | None = None,
) -> dict[str, Any]:
    if not storable(entity_id):
        return {"events": [], "nextCursor": None}
    conditions = [events.c.tenant_id == tenant_id, events.c.sequence > after]
    if event_type is not None:
        conditions.append(events.c.event_type == event_type)
    if entity_id is not None:
        conditions.append(events.c.entity_id == entity_id)
    rows = conn.execute(
        select(events.c.sequence, events.c.envelope)
        .where(*conditions)
        .order_by(events.c.sequence)
        .limit(limit + 1)
    ).all()
    return _page(rows, limit)


def all_envelopes(conn: Connection, tenant_id: str) -> list[dict[str, Any]]:
    """Every envelope of a tenant, oldest first (for verification and tests)."""
    rows = conn.execute(
        select(events.c.envelope).where(events.c.tenant_id == tenant_id).order_by(events.c.sequence)
    )
    return [orjson.loads(envelope) for (envelope,) in rows]
