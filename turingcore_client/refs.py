"""Refs: a payload names what an earlier command made, the client fills in its server id.

A payload may hold `{"$ref": "account:C000042:TXN"}` where a server id goes. The
command that `produces` that ref gets the id back in its 202, read where the
published client reads it (`produced_id`); a `RefTable` keeps ref -> id and
replaces every ref of a payload (`RefTable.resolve`), raising `Unresolved` for a
ref nobody has produced yet.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

# The reply field that carries the id a ref's kind names ("customer:..." -> customerId).
RESULT_FIELD_BY_PREFIX = {
    "tenant": "tenantId",
    "product": "productCode",
    "customer": "customerId",
    "account": "accountId",
    "entry": "entryId",
}


class Unresolved(Exception):
    """A payload names a ref no command has produced (yet)."""

    def __init__(self, ref: str) -> None:
        super().__init__(ref)
        self.ref = ref


class RefTable:
    """Local refs -> server ids, filled from replies; thread-safe.

    `resolve` raises `Unresolved` for a ref nobody has produced, or with `missing`
    puts `missing(ref)` in its place (a caller that sends the command anyway, to see
    what the service says).
    """

    def __init__(
        self, ids: Mapping[str, str] | None = None, missing: Callable[[str], str] | None = None
    ) -> None:
        self._lock = threading.Lock()
        self._ids: dict[str, str] = dict(ids or {})
        self._failed: set[str] = set()
        self._missing = missing

    def set(self, ref: str, server_id: str) -> None:
        with self._lock:
            self._ids[ref] = server_id

    def fail(self, ref: str) -> None:
        with self._lock:
            self._failed.add(ref)

    def get(self, ref: str) -> str | None:
        return self._ids.get(ref)

    def failed(self, ref: str) -> bool:
        return ref in self._failed

    def as_dict(self) -> dict[str, str]:
        with self._lock:
            return dict(self._ids)

    def by_server_id(self) -> dict[str, str]:
        """Server id -> ref, for the state digest."""
        with self._lock:
            return {server_id: ref for ref, server_id in self._ids.items()}

    def resolve(self, value: Any) -> Any:
        """`value` with every `{"$ref": ...}` replaced by its server id.

        Copy on write: the dicts and lists on the way to a ref are copied (in their
        key order), everything else is shared, and a value without refs comes back as
        it is. Treat the result as read-only, like the plan's payloads.
        """
        return self._resolve_item(value)

    def _resolve_item(self, item: Any) -> Any:
        if isinstance(item, dict):
            if "$ref" in item and len(item) == 1:
                return self._lookup(item["$ref"])
            return self._resolve_items(item, item.items())
        if isinstance(item, list):
            return self._resolve_items(item, enumerate(item))
        return item

    def _resolve_items(self, value: Any, items: Iterable[tuple[Any, Any]]) -> Any:
        """`value` (a dict or a list, `items` its keys or indexes with their values),
        copied on the first item that resolves to something else."""
        copy: Any = None
        for key, item in items:
            resolved = self._resolve_item(item)
            if resolved is not item:
                if copy is None:
                    copy = value.copy()
                copy[key] = resolved
        return value if copy is None else copy

    def _lookup(self, ref: str) -> str:
        server_id = self._ids.get(ref)
        if server_id is None:
            if self._missing is None:
                raise Unresolved(ref)
            return self._missing(ref)
        return server_id


def produced_id(produces: str, reply: Mapping[str, Any]) -> str | None:
    """The server id a 202 reply gives for the ref `produces`.

    Read as the published client reads it, at the top level (`reply["customerId"]`),
    else from the `result` extension; failing both, the one id in `result` besides
    the tenant's.
    """
    prefix = produces.split(":", 1)[0]
    name = RESULT_FIELD_BY_PREFIX.get(prefix, f"{prefix}Id")
    value = reply.get(name)
    result = reply.get("result")
    result = result if isinstance(result, Mapping) else {}
    if value is None:
        value = result.get(name)
    if value is None:
        others = [v for k, v in result.items() if k != "tenantId"]
        value = others[0] if len(others) == 1 else None
    return str(value) if value is not None else None
