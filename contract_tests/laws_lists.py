"""The scripted laws on lists: `unique_ids`, `list_order`, `list_total`, `paging`
(see `contract_tests.laws`)."""

from __future__ import annotations

import uuid
from typing import Any

from contract_tests.law_context import (
    LawContext,
    causation_runs,
    duplicates,
    event_key,
    sequence_problem,
)

PAGE_SIZES = (1, 2, 3)
STREAM_PAGE_SIZES = (3,)


def unique_ids(c: LawContext) -> None:
    """Every eventId, customerId, accountId and entryId the service made is unique
    (across two tenants)."""
    problem, shown = None, None
    for name, made in sorted(c.m.made_ids.items()):
        twice = duplicates(made)
        if twice:
            problem = f"the service made the {name} {twice[0]} twice"
            break
    if problem is None:
        problem, shown = (_stream_ids if c.ext["tenant_stream"] else _account_event_ids)(c)
    checks_problem = problem and f"tenant {c.t}: {problem}"
    c.checks.check("unique_ids", checks_problem, shown and shown.curl())


def _stream_ids(c: LawContext) -> tuple[str | None, Any]:
    ids: list[str] = []
    shown = None
    for code in (c.t, c.other):
        events, shown = c.tenant_stream(code, "unique_ids")
        ids += [str(e.get("eventId")) for e in events]
    twice = duplicates(ids)
    if twice:
        return f"eventId {twice[0]} is used by two events (tenants {c.t} and {c.other})", shown
    return None, shown


def _account_event_ids(c: LawContext) -> tuple[str | None, Any]:
    """An event is in the stream of every account it touches: the same id must then be
    the same event."""
    by_id: dict[str, bytes] = {}
    shown = None
    for account_id in [*c.member_accounts, *c.gl_accounts]:
        events, shown = c.account_events(c.t, account_id, "unique_ids")
        for event in events:
            seen = by_id.setdefault(str(event.get("eventId")), event_key(event))
            if seen != event_key(event):
                return f"eventId {event.get('eventId')} is used by two events", shown
    return None, shown


def list_order(c: LawContext) -> None:
    """Customers and accounts in creation order (`accountType=ALL`: GL accounts first),
    products in creation order, events oldest first."""
    t, members = c.t, c.members

    def check(problem: str | None, sent: Any) -> None:
        c.checks.check("list_order", problem and f"tenant {t}: {problem}", sent.curl())

    items, _, sent = c.listing(c.customers_path, "customers", "list_order")
    got = [i.get("customerId") for i in items]
    check(sequence_problem("customers (creation order)", got, list(c.tenant.customers)), sent)
    for params, what, expected in (
        ({}, "accounts (creation order)", c.member_accounts),
        ({"customerId": members[1]}, f"accounts of {members[1]}", c.of(members[1])),
    ):
        items, _, sent = c.listing(c.accounts_path, "accounts", "list_order", **params)
        got = [i.get("accountId") for i in items]
        check(sequence_problem(what, got, expected), sent)
    if c.ext["account_type"]:
        check(*_gl_first(c))
    if c.ext["product_read"]:
        body, sent = c.read(f"/tenants/{t}/products", "list_order")
        got = [p.get("productCode") for p in body.get("products") or []]
        expected = [code for (code_t, code) in c.m.product_payloads if code_t == t]
        check(sequence_problem("products (creation order)", got, expected), sent)
    groups = [g for batch in c.m.views[t].batches for g in batch]
    check(*_busiest_events_in_order(c, groups))
    if c.ext["tenant_stream"]:
        events, sent = c.tenant_stream(t, "list_order")
        problem = sequence_problem(
            "the tenant stream (oldest first, by causationId)",
            causation_runs(events),
            [g.command_id for g in groups],
        )
        if problem is None and c.ext["sequence"]:
            problem = sequence_problem(
                "the tenant stream's sequence",
                [e.get("sequence") for e in events],
                list(range(1, len(events) + 1)),
            )
        check(problem, sent)


def _gl_first(c: LawContext) -> tuple[str | None, Any]:
    items, _, sent = c.listing(c.accounts_path, "accounts", "list_order", accountType="ALL")
    got = [a.get("accountId") for a in items]
    gl = c.gl_accounts
    if sorted(got[: len(gl)]) != sorted(gl):
        return f"accountType=ALL: the GL accounts do not come first ({got[:3]} ...)", sent
    rest = got[len(gl) :]
    what = "accountType=ALL, members' accounts"
    return sequence_problem(what, rest, c.member_accounts), sent


def _busiest_events_in_order(c: LawContext, groups: list[Any]) -> tuple[str | None, Any]:
    busiest = c.busiest
    events, sent = c.account_events(c.t, busiest, "list_order")
    expected_runs = [g.command_id for g in groups if g.touching(busiest) is not None]
    problem = sequence_problem(
        f"the events of account {busiest} (oldest first, by causationId)",
        causation_runs(events),
        expected_runs,
    )
    sequences = [int(e.get("sequence") or 0) for e in events]
    if problem is None and c.ext["sequence"] and sequences != sorted(sequences):
        problem = f"the events of account {busiest} are not in ascending sequence: {sequences}"
    return problem, sent


def list_total(c: LawContext) -> None:
    """`total` is what the filter selects (none, `customerId`, `accountType`)."""
    customers_path, accounts_path = c.customers_path, c.accounts_path
    members, member_accounts, gl = c.members, c.member_accounts, c.gl_accounts
    selections: list[tuple[str, str, dict[str, Any], list[Any]]] = [
        (customers_path, "customers", {}, list(c.tenant.customers)),
        (accounts_path, "accounts", {}, member_accounts),
        *(
            (accounts_path, "accounts", {"customerId": m}, c.of(m))
            for m in (members[0], members[1], members[3])
        ),
        (accounts_path, "accounts", {"customerId": str(uuid.uuid4())}, []),
    ]
    if c.ext["account_type"]:
        selections += [
            (accounts_path, "accounts", {"accountType": "GL"}, gl),
            (accounts_path, "accounts", {"accountType": "ALL"}, [*gl, *member_accounts]),
            (accounts_path, "accounts", {"accountType": "GL", "customerId": members[0]}, []),
        ]
    for path, key, params, expected in selections:
        items, total, sent = c.listing(path, key, "list_total", **params)
        problem = None
        if total != len(expected) or len(items) != len(expected):
            problem = (
                f"GET {path} {params or '(no filter)'}: total {total!r} and {len(items)} items, "
                f"the filter selects {len(expected)}"
            )
        c.checks.check("list_total", problem, sent.curl())


def paging(c: LawContext) -> None:
    """Pages of 1, 2 and 3 concatenate to the whole list: no gap, no repeat, no short
    page but the last, the same `total` on every page (and the tenant stream's pages
    of 3, by cursor)."""
    accounts_path = c.accounts_path
    lists: list[tuple[str, str, str, dict[str, Any]]] = [
        (c.customers_path, "customers", "customerId", {}),
        (accounts_path, "accounts", "accountId", {}),
        (accounts_path, "accounts", "accountId", {"customerId": c.members[0]}),
        (f"/tenants/{c.t}/accounts/{c.busiest}/events", "events", "", {}),
    ]
    if c.ext["account_type"]:
        lists.append((accounts_path, "accounts", "accountId", {"accountType": "ALL"}))
    for path, key, id_name, params in lists:
        whole, _, _ = c.listing(path, key, "paging", **params)
        for size in PAGE_SIZES:
            _offset_pages(c, path, key, id_name, params, whole, size)
    if c.ext["tenant_stream"]:
        whole_stream, _ = c.tenant_stream(c.t, "paging")
        for size in STREAM_PAGE_SIZES:
            _cursor_pages(c, whole_stream, size)


def _offset_pages(
    c: LawContext,
    path: str,
    key: str,
    id_name: str,
    params: dict[str, Any],
    whole: list[Any],
    size: int,
) -> None:
    """The list at `path` in pages of `size`, each checked against `whole`."""
    n = len(whole)

    def ident(item: Any) -> Any:
        return item.get(id_name) if id_name else event_key(item)

    collected: list[Any] = []
    for offset in range(0, n + 1, size):
        body, sent = c.read(path, "paging", limit=size, offset=offset, **params)
        page = body.get(key) or []
        want = min(size, n - offset)
        problem = None
        if len(page) != want:
            problem = f"{len(page)} items, expected {want} of {n}"
        elif "total" in body and body.get("total") != n:
            problem = f"total {body.get('total')!r} on this page, {n} on the first"
        elif body.get("offset", offset) != offset or body.get("limit", size) != size:
            problem = f"the page says offset {body.get('offset')}, limit {body.get('limit')}"
        if problem is None:
            collected.extend(page)
            expected_ids = [ident(i) for i in whole[: len(collected)]]
            if [ident(i) for i in collected] != expected_ids:
                problem = "the pages so far are not the start of the whole list"
        where = f"GET {path} {params or ''} limit={size} offset={offset}"
        c.checks.check("paging", problem and f"{where}: {problem}", sent.curl())


def _cursor_pages(c: LawContext, whole_stream: list[dict[str, Any]], size: int) -> None:
    """The tenant stream in pages of `size` after each page's `nextCursor`."""
    t = c.t
    collected: list[dict[str, Any]] = []
    cursor = 0
    for _ in range(len(whole_stream) + 2):
        body, sent = c.read(f"/tenants/{t}/events", "paging", after=cursor, limit=size)
        page = body.get("events") or []
        collected.extend(page)
        problem = None
        so_far = [event_key(e) for e in whole_stream[: len(collected)]]
        if [event_key(e) for e in collected] != so_far:
            problem = "the pages so far are not the start of the whole stream"
        elif len(page) < size and len(collected) != len(whole_stream):
            problem = f"a short page ({len(page)} events) before the end of the stream"
        where = f"GET /tenants/{t}/events after={cursor} limit={size}"
        c.checks.check("paging", problem and f"{where}: {problem}", sent.curl())
        if body.get("nextCursor") is None:
            break
        cursor = int(body["nextCursor"])
    if len(collected) != len(whole_stream):
        c.checks.fail(
            "paging",
            f"the tenant stream's pages of {size} hold {len(collected)} events, the "
            f"whole stream {len(whole_stream)}",
            sent.curl(),
        )
