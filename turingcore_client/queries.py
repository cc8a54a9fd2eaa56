"""The read endpoints of the TuringCore v1 API, one method each, and their pagers.

`Queries` is the read half of `TuringCoreClient`: every method goes through the
client's `_get` (retries, error mapping). Queries send only the parameters the
operation defines (an unknown one is a 400).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import partial
from typing import Any

from turingcore_client.errors import ApiError, names_parameter
from turingcore_client.paging import PAGE_SIZE_MAX, cursor_events, offset_items


class Queries:
    """The read endpoints, over `_get` (defined by the client)."""

    def _get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        raise NotImplementedError

    def get_tenant(self, tenant_id: str) -> dict[str, Any]:
        """The tenant (with lastSequence and lastHash)."""
        body: dict[str, Any] = self._get(f"/tenants/{tenant_id}")
        return body

    def list_products(self, tenant_id: str) -> list[dict[str, Any]]:
        body = self._get(f"/tenants/{tenant_id}/products")
        return list(body.get("products", []))

    def list_customers(self, tenant_id: str, *, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        """One page: {customers, total, limit, offset}."""
        body: dict[str, Any] = self._get(
            f"/tenants/{tenant_id}/customers", {"limit": limit, "offset": offset}
        )
        return body

    def iter_customers(
        self, tenant_id: str, *, page_size: int = PAGE_SIZE_MAX
    ) -> Iterator[dict[str, Any]]:
        """Every customer, in creation order."""
        fetch = partial(self._customers_at, tenant_id, page_size)
        return offset_items(fetch, "customers")

    def _customers_at(self, tenant_id: str, limit: int, offset: int) -> dict[str, Any]:
        return self.list_customers(tenant_id, limit=limit, offset=offset)

    def get_customer(self, tenant_id: str, customer_id: str) -> dict[str, Any]:
        body: dict[str, Any] = self._get(f"/tenants/{tenant_id}/customers/{customer_id}")
        return body

    def list_accounts(
        self,
        tenant_id: str,
        *,
        customer_id: str | None = None,
        account_type: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> dict[str, Any]:
        """One page: {accounts, total, limit, offset}.

        `account_type` (an extension): CUSTOMER, the members' accounts, which is what
        the service lists without it; GL; or ALL.
        """
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if customer_id is not None:
            params["customerId"] = customer_id
        if account_type is not None:
            params["accountType"] = account_type
        body: dict[str, Any] = self._get(f"/tenants/{tenant_id}/accounts", params)
        return body

    def iter_accounts(
        self,
        tenant_id: str,
        *,
        customer_id: str | None = None,
        account_type: str | None = None,
        page_size: int = PAGE_SIZE_MAX,
    ) -> Iterator[dict[str, Any]]:
        """Every account `list_accounts` selects (members' only by default), in creation
        order."""
        return self._account_pages(tenant_id, customer_id, account_type, page_size, None)

    def iter_ledger_accounts(
        self, tenant_id: str, *, page_size: int = PAGE_SIZE_MAX
    ) -> Iterator[dict[str, Any]]:
        """Every account of the ledger, members' and GL (`accountType=ALL`), in creation
        order. A service without the accountType extension (a 400 naming it) gives
        what it lists by default instead."""
        try:
            first = self.list_accounts(tenant_id, account_type="ALL", limit=page_size)
        except ApiError as exc:
            if exc.status != 400 or not names_parameter(exc, "accountType"):
                raise
            yield from self.iter_accounts(tenant_id, page_size=page_size)
            return
        yield from self._account_pages(tenant_id, None, "ALL", page_size, first)

    def _account_pages(
        self,
        tenant_id: str,
        customer_id: str | None,
        account_type: str | None,
        page_size: int,
        first: dict[str, Any] | None,
    ) -> Iterator[dict[str, Any]]:
        def fetch(offset: int) -> dict[str, Any]:
            return self.list_accounts(
                tenant_id,
                customer_id=customer_id,
                account_type=account_type,
                limit=page_size,
                offset=offset,
            )

        return offset_items(fetch, "accounts", first)

    def get_account(self, tenant_id: str, account_id: str) -> dict[str, Any]:
        body: dict[str, Any] = self._get(f"/tenants/{tenant_id}/accounts/{account_id}")
        return body

    def account_events(
        self,
        tenant_id: str,
        account_id: str,
        *,
        after: int = 0,
        limit: int = PAGE_SIZE_MAX,
        offset: int | None = None,
    ) -> dict[str, Any]:
        """One page of the events that touched the account, oldest first: {events,
        nextCursor}. `after` (the cursor, an extension) and `offset` combine: events
        with sequence > after, skipping `offset` of them."""
        params: dict[str, Any] = {"after": after, "limit": limit}
        if offset is not None:
            params["offset"] = offset
        body: dict[str, Any] = self._get(
            f"/tenants/{tenant_id}/accounts/{account_id}/events", params
        )
        return body

    def iter_account_events(
        self, tenant_id: str, account_id: str, *, page_size: int = PAGE_SIZE_MAX
    ) -> Iterator[dict[str, Any]]:
        """Every event that touched the account, page by page."""

        def fetch(after: int) -> dict[str, Any]:
            return self.account_events(tenant_id, account_id, after=after, limit=page_size)

        return cursor_events(fetch)

    def tenant_events(
        self,
        tenant_id: str,
        *,
        after: int = 0,
        limit: int = PAGE_SIZE_MAX,
        event_type: str | None = None,
        entity_id: str | None = None,
    ) -> dict[str, Any]:
        """One page of the tenant's stream, in sequence order: {events, nextCursor}."""
        params: dict[str, Any] = {"after": after, "limit": limit}
        if event_type is not None:
            params["eventType"] = event_type
        if entity_id is not None:
            params["entityId"] = entity_id
        body: dict[str, Any] = self._get(f"/tenants/{tenant_id}/events", params)
        return body

    def iter_tenant_events(
        self,
        tenant_id: str,
        *,
        after: int = 0,
        event_type: str | None = None,
        entity_id: str | None = None,
        page_size: int = PAGE_SIZE_MAX,
    ) -> Iterator[dict[str, Any]]:
        """The tenant's whole stream from `after`, page by page."""

        def fetch(cursor: int) -> dict[str, Any]:
            return self.tenant_events(
                tenant_id,
                after=cursor,
                limit=page_size,
                event_type=event_type,
                entity_id=entity_id,
            )

        return cursor_events(fetch, after)
