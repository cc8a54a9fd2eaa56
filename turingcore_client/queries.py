"""The read endpoints of the TuringCore v1 API, one method each, and their pagers.

`Queries` is the read half of `TuringCoreClient`: every method goes through the
client's `_get` (retries, error mapping). Queries send only the parameters the
operation defines (an unknown one is a 400).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from turingcore_client.errors import ApiError, names_parameter
from turingcore_client.paging import PAGE_SIZE_MAX, Page, cursor_events, offset_items


class Queries:
    """The read endpoints, over `_get` (defined by the client)."""

    def _get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        raise NotImplementedError

    def _read(self, path: str, **params: Any) -> dict[str, Any]:
        """GET `path` with the parameters given (those that are None are left out)."""
        query = {name: value for name, value in params.items() if value is not None}
        body: dict[str, Any] = self._get(path, query or None)
        return body

    def get_tenant(self, tenant_id: str) -> dict[str, Any]:
        """The tenant (with lastSequence and lastHash)."""
        return self._read(f"/tenants/{tenant_id}")

    def list_products(self, tenant_id: str) -> list[dict[str, Any]]:
        body = self._get(f"/tenants/{tenant_id}/products")
        return list(body.get("products", []))

    def list_customers(self, tenant_id: str, *, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        """One page: {customers, total, limit, offset}."""
        return self._read(f"/tenants/{tenant_id}/customers", limit=limit, offset=offset)

    def iter_customers(
        self, tenant_id: str, *, page_size: int = PAGE_SIZE_MAX
    ) -> Iterator[dict[str, Any]]:
        """Every customer, in creation order."""
        fetch = self._pager(f"/tenants/{tenant_id}/customers", "offset", {"limit": page_size})
        return offset_items(fetch, "customers")

    def get_customer(self, tenant_id: str, customer_id: str) -> dict[str, Any]:
        return self._read(f"/tenants/{tenant_id}/customers/{customer_id}")

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
        query = {"limit": limit, "offset": offset, "customerId": customer_id}
        return self._read(f"/tenants/{tenant_id}/accounts", **query, accountType=account_type)

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
        query = {"limit": page_size, "customerId": customer_id, "accountType": account_type}
        fetch = self._pager(f"/tenants/{tenant_id}/accounts", "offset", query)
        return offset_items(fetch, "accounts", first)

    def _pager(self, path: str, where: str, query: dict[str, Any]) -> Callable[[int], Page]:
        """What the kit's paging calls: the page of `path` at `where` (offset or after)."""

        def fetch(position: int) -> Page:
            return self._read(path, **{where: position}, **query)

        return fetch

    def get_account(self, tenant_id: str, account_id: str) -> dict[str, Any]:
        return self._read(f"/tenants/{tenant_id}/accounts/{account_id}")

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
        path = f"/tenants/{tenant_id}/accounts/{account_id}/events"
        return self._read(path, after=after, limit=limit, offset=offset)

    def iter_account_events(
        self, tenant_id: str, account_id: str, *, page_size: int = PAGE_SIZE_MAX
    ) -> Iterator[dict[str, Any]]:
        """Every event that touched the account, page by page."""
        path = f"/tenants/{tenant_id}/accounts/{account_id}/events"
        return cursor_events(self._pager(path, "after", {"limit": page_size}))

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
        query = {"after": after, "limit": limit, "eventType": event_type, "entityId": entity_id}
        return self._read(f"/tenants/{tenant_id}/events", **query)

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
        query = {"limit": page_size, "eventType": event_type, "entityId": entity_id}
        return cursor_events(self._pager(f"/tenants/{tenant_id}/events", "after", query), after)
