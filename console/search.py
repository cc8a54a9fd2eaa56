"""Customer search: the contract has no search query, so the console keeps its own
index of each tenant's customer list and searches that.

The list is in creation order and only grows, so the index catches up by reading
from `offset = what it holds` in pages of 1,000: the first search of a tenant of
10,000 members reads 10 pages, later ones only the new members (one short read).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from console.api import PAGE_MAX, CoreApi

FRESH_S = 2.0
FIELDS = ("fullName", "email", "externalRef", "customerId", "mobile")


class CustomerIndex:
    """One tenant's customers, as listed, with a lower-cased text per customer."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.texts: list[str] = []
        self.checked = 0.0
        self.lock = threading.Lock()

    def catch_up(self, api: CoreApi, tenant: str) -> None:
        """Read the customers added since the last catch-up (at most every FRESH_S)."""
        with self.lock:
            if time.monotonic() - self.checked < FRESH_S:
                return
            while True:
                page = api.customers(tenant, limit=PAGE_MAX, offset=len(self.items))
                self.items.extend(page.items)
                self.texts.extend(
                    " ".join(str(c.get(f) or "") for f in FIELDS).lower() for c in page.items
                )
                if len(page.items) < PAGE_MAX or len(self.items) >= page.total:
                    break
            self.checked = time.monotonic()

    def search(self, query: str) -> list[dict[str, Any]]:
        """Every customer whose name, email, externalRef, id or mobile holds each word."""
        words = query.lower().split()
        return [
            c for c, t in zip(self.items, self.texts, strict=True) if all(w in t for w in words)
        ]

    def by_external_ref(self, ref: str) -> dict[str, Any] | None:
        wanted = ref.strip()
        return next((c for c in self.items if c.get("externalRef") == wanted), None)


class CustomerIndexes:
    """The indexes of the tenants searched so far."""

    def __init__(self) -> None:
        self._indexes: dict[str, CustomerIndex] = {}
        self._lock = threading.Lock()

    def get(self, tenant: str, api: CoreApi) -> CustomerIndex:
        """The tenant's index, caught up through `api` (the caller's own key)."""
        with self._lock:
            index = self._indexes.setdefault(tenant, CustomerIndex())
        index.catch_up(api, tenant)
        return index
