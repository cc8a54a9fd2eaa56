"""Paging, the contract's two ways: offset pages (customers, accounts) and cursor pages
(event streams).

Offset lists reply `{<items>, total, limit, offset}`: pages of `limit` after skipping
`offset` concatenate to the whole list. Event reads reply `{events, nextCursor}`:
the next page is `after=nextCursor`, and a null cursor ends the stream.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

# The API's largest page (`Limit`'s maximum; tests/twin/test_kit.py keeps it equal to
# the spec's). A constant, so that it can be a default argument.
PAGE_SIZE_MAX = 1000

Page = Mapping[str, Any]


def offset_items(
    fetch: Callable[[int], Page],
    key: str,
    first: Page | None = None,
    pages_max: int | None = None,
) -> Iterator[dict[str, Any]]:
    """Every item under `key` of the pages `fetch(offset)` returns, from offset 0 (or
    from `first`, the page at offset 0 already read), until `total` is reached or a
    page comes back empty; after `pages_max` pages at most, when given (a bound on a
    service whose list never ends)."""
    offset = 0
    page = first
    pages = 0
    while True:
        if page is None:
            page = fetch(offset)
        pages += 1
        items = page.get(key, [])
        yield from items
        offset += len(items)
        if not items or offset >= int(page.get("total", 0)):
            return
        if pages_max is not None and pages >= pages_max:
            return
        page = None


def cursor_events(
    fetch: Callable[[int], Page], after: int = 0, pages_max: int | None = None
) -> Iterator[dict[str, Any]]:
    """Every event of the pages `fetch(after)` returns, following `nextCursor`; after
    `pages_max` pages at most, when given."""
    pages = 0
    while True:
        page = fetch(after)
        pages += 1
        yield from page.get("events", [])
        cursor = page.get("nextCursor")
        if cursor is None or (pages_max is not None and pages >= pages_max):
            return
        after = int(cursor)


class CursorStuck(ValueError):
    """A page's `nextCursor` does not move past the cursor it was read at."""

    def __init__(self, cursor: int, after: int) -> None:
        super().__init__(f"nextCursor {cursor} after `after={after}` does not advance")


def cursor_query(after: int, limit: int = PAGE_SIZE_MAX) -> dict[str, int]:
    """The query of the event page after `after`."""
    return {"after": after, "limit": limit}


def next_after(page: Page, after: int) -> int | None:
    """The cursor of the page after `page` (read at `after`), or None at the end of the
    stream; `CursorStuck` when the service's cursor would read the same page again,
    for a reader that follows the cursors one page at a time."""
    cursor = page.get("nextCursor")
    if cursor is None:
        return None
    following = int(cursor)
    if following <= after:
        raise CursorStuck(following, after)
    return following
