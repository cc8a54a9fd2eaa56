"""The scripted laws: deterministic checks the ledger suite runs first, at every seed.

Real implementations get things wrong that a random exploration reaches only by luck:
a page that skips an item, a `total` that ignores a filter, customers in another order,
an eventId used twice, a projection field that lags its events, tenant codes matched
case-insensitively, idempotency keys shared between tenants, an `X-Correlation-Id`
that is not echoed, balances kept as binary floats, a hash encoder that is not
RFC 8785. Each law below sends the input that tells a right service from such a wrong
one (amounts that must drift in binary floating point, names with non-ASCII letters
and escapes, numbers whose shortest form differs between encoders, ids differing only
in case), on tenants of its own, through the same reference model and checks as the
exploration; each counts in a row of its own:

- `unique_ids`: every eventId, customerId, accountId and entryId the service made is
  unique (across two tenants);
- `list_order`: customers and accounts in creation order (`accountType=ALL`: GL
  accounts first), products in creation order, events oldest first;
- `list_total`: `total` is what the filter selects (none, `customerId`, `accountType`);
- `paging`: pages of 1, 2 and 3 concatenate to the whole list: no gap, no repeat, no
  short page but the last, the same `total` on every page;
- `derived_fields`: an account's balance is the fold of its own events, its
  `lastSequence` the sequence of its latest event; `getAccount` agrees with the list;
- `identifier_case`: tenant codes, account ids, customer ids and GL codes are
  case-sensitive;
- `idempotency_scope`: the same key in two tenants is two commands, never a replay of
  the other tenant's reply;
- `exact_money`: ten postings of 0.10, then 0.29, 1.15 and 4.35: every balance to the
  cent, written as a whole number of cents;
- `correlation_header` (extension): the `X-Correlation-Id` sent is the reply's and the
  events' `correlationId`;
- `canonical_json` (extension): the hash chain recomputes on events made from input
  that tells encoders apart.

A law first checks the general rule it builds on in that rule's own row (the balances
before money moves, the hash chain before the tricky input), so a defect is named by
the most specific law that shows it.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson

from contract_tests import ledger_commands as L
from contract_tests.ledger_replies import chain_problem
from contract_tests.model_state import number_to_minor
from turingcore_client.contract import gl_accounts
from turingcore_client.paging import cursor_events

LAW_ROWS: tuple[str, ...] = (
    "unique_ids",
    "list_order",
    "list_total",
    "paging",
    "derived_fields",
    "identifier_case",
    "idempotency_scope",
    "exact_money",
    "correlation_header",
    "canonical_json",
)
LAW_ROW_EXTENSIONS: dict[str, tuple[str, ...]] = {
    "correlation_header": ("correlation_header",),
    "canonical_json": ("hash_chain", "tenant_stream"),
}

# Amounts binary floating point cannot hold: ten 0.10s sum to 0.9999999999999999, and
# 0.29, 1.15 and 4.35 times 100 are 28.999999999999996, 114.99999999999999 and
# 434.99999999999994 (a service truncating them loses a cent each).
DRIFT_AMOUNTS: tuple[float, ...] = (0.1,) * 10 + (0.29, 1.15, 4.35)
PAGE_SIZES = (1, 2, 3)
# Names an ASCII-only encoder escapes (\u00eb, a surrogate pair for the emoji), with the
# characters JSON must escape and those it must not (the slash, U+2028).
TRICKY_FIRST_NAME = 'Zoë "Ōtautahi" \\ </script>'
TRICKY_LAST_NAME = "Ñúñez-François\u2028😀"
# Numbers whose shortest form differs: 5e-05 (Python) / 0.00005 (ECMAScript), 5.0 / 5.
TRICKY_RATE = 0.00005
# Keys whose order differs by code point (U+E000 first) and by UTF-16 unit (the emoji's
# surrogate U+D83D first), as RFC 8785 sorts them.
TRICKY_METADATA: dict[str, Any] = {
    "\ue000": "private use",
    "😀": "astral",
    "é": 1.5,
    "whole": 5.0,
    "small": 0.00005,
    "escapes": 'tab\t "quoted" back\\slash \u001f',
}
# The GL account the laws' entries post against: the spec's suspense account.
GL_COUNTERPART = next(code for code in gl_accounts() if code.endswith("_SUSPENSE"))


def exact_minor(value: Any) -> int | None:
    """Minor units of a served amount, or None when it is not a whole number of cents."""
    try:
        return number_to_minor(value)
    except ValueError:
        return None


def sequence_problem(what: str, got: list[Any], expected: list[Any]) -> str | None:
    """Where two id sequences first differ, or None."""
    if got == expected:
        return None
    for index, (a, b) in enumerate(zip(got, expected, strict=False)):
        if a != b:
            return f"{what}: position {index} holds {a}, expected {b} (of {len(expected)})"
    return f"{what}: {len(got)} items, expected {len(expected)}"


def duplicates(values: list[str]) -> list[str]:
    seen: set[str] = set()
    repeated: list[str] = []
    for value in values:
        if value in seen and value not in repeated:
            repeated.append(value)
        seen.add(value)
    return repeated


def causation_runs(events: list[dict[str, Any]]) -> list[Any]:
    """The causationIds of consecutive runs of events (one per command)."""
    runs: list[Any] = []
    for event in events:
        if not runs or runs[-1] != event.get("causationId"):
            runs.append(event.get("causationId"))
    return runs


def _key(event: dict[str, Any]) -> bytes:
    return orjson.dumps(event, option=orjson.OPT_SORT_KEYS)


def run_laws(m: Any, wire: Any, checks: Any, ext: Any) -> None:
    """Run every law on a fresh tenant of machine `m` (a LedgerMachine) and a second one."""

    def step(name: str) -> None:
        m.trail.append(name)

    def read(path: str, row: str, **params: Any) -> tuple[dict[str, Any], Any]:
        sent = wire.get(path, **params)
        body = sent.json()
        if sent.response.status_code != 200 or not isinstance(body, dict):
            checks.fail(row, f"GET {sent.url}: {sent.summary()}", sent.curl())
        return body, sent

    def account_events(code: str, account_id: str, row: str) -> tuple[list[dict[str, Any]], Any]:
        body, sent = read(f"/tenants/{code}/accounts/{account_id}/events", row, limit=1000)
        return list(body.get("events") or []), sent

    def tenant_stream(code: str, row: str) -> tuple[list[dict[str, Any]], Any]:
        pages: list[Any] = []

        def fetch(cursor: int) -> dict[str, Any]:
            body, sent = read(f"/tenants/{code}/events", row, after=cursor, limit=1000)
            pages.append(sent)
            return {"events": body.get("events") or [], "nextCursor": body.get("nextCursor")}

        events = list(cursor_events(fetch, pages_max=L.pages_per_read_max))
        return events, pages[-1]

    # -- the state the laws read: two tenants, seven members, nine accounts -----------
    step("setup")
    t = m.ensure_primary()
    m.ensure_catalogue()
    firsts = m.ensure_customers()
    m.ensure_accounts()
    members = [c.customer_id for c in firsts]
    for surname in ("Young", "Martin", "Adams"):  # not in alphabetical order
        member = L.customer_payload(m.serial_number())
        member["person"]["lastName"] = surname
        _, body = m.send(t, "CreateCustomer", member)
        members.append(body["customerId"])
    for customer, template, deposit in (
        (members[1], "TXN", 20),
        (members[1], "SAVER", 10),
        (members[2], "TXN", None),
    ):
        request: dict[str, Any] = {"customerId": customer, "productCode": template}
        request["currency"] = "AUD"
        if deposit is not None:
            request["initialDeposit"] = deposit
        m.send(t, "OpenAccount", request)
    other = m.new_tenant_code()
    m.send(other, "CreateTenant", L.tenant_payload(other))
    tenant = m.model.tenants[t]
    step("balances")
    m.verify_balances(tenant)

    def listing(path: str, key: str, row: str, **params: Any) -> tuple[list[Any], Any, Any]:
        body, sent = read(path, row, limit=1000, **params)
        items = body.get(key)
        if not isinstance(items, list):
            checks.fail(row, f"GET {sent.url}: no {key} list: {sent.summary()}", sent.curl())
        return list(items or []), body.get("total"), sent

    customers_path, accounts_path = f"/tenants/{t}/customers", f"/tenants/{t}/accounts"
    member_accounts = [a.account_id for a in tenant.customer_accounts()]
    gl_accounts = [a for a, acc in tenant.accounts.items() if acc.account_type == "GL"]

    def of(customer: str) -> list[str]:
        return [a.account_id for a in tenant.customer_accounts() if a.customer_id == customer]

    # -- unique_ids --------------------------------------------------------------------
    step("unique_ids")
    problem, shown = None, None
    for name, made in sorted(m.made_ids.items()):
        twice = duplicates(made)
        if twice:
            problem = f"the service made the {name} {twice[0]} twice"
            break
    if problem is None:
        if ext["tenant_stream"]:
            ids: list[str] = []
            for code in (t, other):
                events, shown = tenant_stream(code, "unique_ids")
                ids += [str(e.get("eventId")) for e in events]
            twice = duplicates(ids)
            if twice:
                problem = f"eventId {twice[0]} is used by two events (tenants {t} and {other})"
        else:
            # An event is in the stream of every account it touches: the same id must
            # then be the same event.
            by_id: dict[str, bytes] = {}
            for account_id in [*member_accounts, *gl_accounts]:
                events, shown = account_events(t, account_id, "unique_ids")
                for event in events:
                    seen = by_id.setdefault(str(event.get("eventId")), _key(event))
                    if seen != _key(event):
                        problem = f"eventId {event.get('eventId')} is used by two events"
                        break
                if problem:
                    break
    checks.check("unique_ids", problem and f"tenant {t}: {problem}", shown and shown.curl())

    # -- list_order ----------------------------------------------------------------------
    step("list_order")
    items, _, sent = listing(customers_path, "customers", "list_order")
    got = [c.get("customerId") for c in items]
    problem = sequence_problem("customers (creation order)", got, list(tenant.customers))
    checks.check("list_order", problem and f"tenant {t}: {problem}", sent.curl())
    items, _, sent = listing(accounts_path, "accounts", "list_order")
    got = [a.get("accountId") for a in items]
    problem = sequence_problem("accounts (creation order)", got, member_accounts)
    checks.check("list_order", problem and f"tenant {t}: {problem}", sent.curl())
    items, _, sent = listing(accounts_path, "accounts", "list_order", customerId=members[1])
    got = [a.get("accountId") for a in items]
    problem = sequence_problem(f"accounts of {members[1]}", got, of(members[1]))
    checks.check("list_order", problem and f"tenant {t}: {problem}", sent.curl())
    if ext["account_type"]:
        items, _, sent = listing(accounts_path, "accounts", "list_order", accountType="ALL")
        got = [a.get("accountId") for a in items]
        problem = None
        if sorted(got[: len(gl_accounts)]) != sorted(gl_accounts):
            problem = f"accountType=ALL: the GL accounts do not come first ({got[:3]} ...)"
        else:
            rest = got[len(gl_accounts) :]
            problem = sequence_problem("accountType=ALL, members' accounts", rest, member_accounts)
        checks.check("list_order", problem and f"tenant {t}: {problem}", sent.curl())
    if ext["product_read"]:
        body, sent = read(f"/tenants/{t}/products", "list_order")
        got = [p.get("productCode") for p in body.get("products") or []]
        expected = [code for (code_t, code) in m.product_payloads if code_t == t]
        problem = sequence_problem("products (creation order)", got, expected)
        checks.check("list_order", problem and f"tenant {t}: {problem}", sent.curl())
    busiest = member_accounts[0]
    groups = [g for batch in m.views[t].batches for g in batch]
    events, sent = account_events(t, busiest, "list_order")
    expected_runs = [g.command_id for g in groups if g.touching(busiest) is not None]
    problem = sequence_problem(
        f"the events of account {busiest} (oldest first, by causationId)",
        causation_runs(events),
        expected_runs,
    )
    sequences = [int(e.get("sequence") or 0) for e in events]
    if problem is None and ext["sequence"] and sequences != sorted(sequences):
        problem = f"the events of account {busiest} are not in ascending sequence: {sequences}"
    checks.check("list_order", problem and f"tenant {t}: {problem}", sent.curl())
    if ext["tenant_stream"]:
        events, sent = tenant_stream(t, "list_order")
        problem = sequence_problem(
            "the tenant stream (oldest first, by causationId)",
            causation_runs(events),
            [g.command_id for g in groups],
        )
        if problem is None and ext["sequence"]:
            problem = sequence_problem(
                "the tenant stream's sequence",
                [e.get("sequence") for e in events],
                list(range(1, len(events) + 1)),
            )
        checks.check("list_order", problem and f"tenant {t}: {problem}", sent.curl())

    # -- list_total ------------------------------------------------------------------------
    step("list_total")
    selections: list[tuple[str, str, dict[str, Any], list[Any]]] = [
        (customers_path, "customers", {}, list(tenant.customers)),
        (accounts_path, "accounts", {}, member_accounts),
        *(
            (accounts_path, "accounts", {"customerId": c}, of(c))
            for c in (members[0], members[1], members[3])
        ),
        (accounts_path, "accounts", {"customerId": str(uuid.uuid4())}, []),
    ]
    if ext["account_type"]:
        selections += [
            (accounts_path, "accounts", {"accountType": "GL"}, gl_accounts),
            (accounts_path, "accounts", {"accountType": "ALL"}, [*gl_accounts, *member_accounts]),
            (accounts_path, "accounts", {"accountType": "GL", "customerId": members[0]}, []),
        ]
    for path, key, params, expected in selections:
        items, total, sent = listing(path, key, "list_total", **params)
        problem = None
        if total != len(expected) or len(items) != len(expected):
            problem = (
                f"GET {path} {params or '(no filter)'}: total {total!r} and {len(items)} items, "
                f"the filter selects {len(expected)}"
            )
        checks.check("list_total", problem, sent.curl())

    # -- paging ------------------------------------------------------------------------------
    step("paging")
    lists: list[tuple[str, str, str, dict[str, Any]]] = [
        (customers_path, "customers", "customerId", {}),
        (accounts_path, "accounts", "accountId", {}),
        (accounts_path, "accounts", "accountId", {"customerId": members[0]}),
        (f"/tenants/{t}/accounts/{busiest}/events", "events", "", {}),
    ]
    if ext["account_type"]:
        lists.append((accounts_path, "accounts", "accountId", {"accountType": "ALL"}))
    for path, key, id_name, params in lists:
        whole, _, _ = listing(path, key, "paging", **params)
        n = len(whole)

        def ident(item: Any, id_name: str = id_name) -> Any:
            return item.get(id_name) if id_name else _key(item)

        for size in PAGE_SIZES:
            collected: list[Any] = []
            for offset in range(0, n + 1, size):
                body, sent = read(path, "paging", limit=size, offset=offset, **params)
                page = body.get(key) or []
                want = min(size, n - offset)
                problem = None
                if len(page) != want:
                    problem = f"{len(page)} items, expected {want} of {n}"
                elif "total" in body and body.get("total") != n:
                    problem = f"total {body.get('total')!r} on this page, {n} on the first"
                elif body.get("offset", offset) != offset or body.get("limit", size) != size:
                    problem = (
                        f"the page says offset {body.get('offset')}, limit {body.get('limit')}"
                    )
                if problem is None:
                    collected.extend(page)
                    expected_ids = [ident(i) for i in whole[: len(collected)]]
                    if [ident(i) for i in collected] != expected_ids:
                        problem = "the pages so far are not the start of the whole list"
                where = f"GET {path} {params or ''} limit={size} offset={offset}"
                checks.check("paging", problem and f"{where}: {problem}", sent.curl())
    if ext["tenant_stream"]:
        whole_stream, _ = tenant_stream(t, "paging")
        for size in (3,):
            collected, cursor = [], 0
            for _ in range(len(whole_stream) + 2):
                body, sent = read(f"/tenants/{t}/events", "paging", after=cursor, limit=size)
                page = body.get("events") or []
                collected.extend(page)
                problem = None
                if [_key(e) for e in collected] != [
                    _key(e) for e in whole_stream[: len(collected)]
                ]:
                    problem = "the pages so far are not the start of the whole stream"
                elif len(page) < size and len(collected) != len(whole_stream):
                    problem = f"a short page ({len(page)} events) before the end of the stream"
                where = f"GET /tenants/{t}/events after={cursor} limit={size}"
                checks.check("paging", problem and f"{where}: {problem}", sent.curl())
                if body.get("nextCursor") is None:
                    break
                cursor = int(body["nextCursor"])
            if len(collected) != len(whole_stream):
                checks.fail(
                    "paging",
                    f"the tenant stream's pages of {size} hold {len(collected)} events, the "
                    f"whole stream {len(whole_stream)}",
                    sent.curl(),
                )

    # -- derived_fields ---------------------------------------------------------------------
    step("derived_fields")
    params = {"accountType": "ALL"} if ext["account_type"] else {}
    items, _, _ = listing(accounts_path, "accounts", "derived_fields", **params)
    for item in items:
        account_id = str(item.get("accountId"))
        events, sent = account_events(t, account_id, "derived_fields")
        folded = 0
        for event in events:
            if event.get("eventType") in ("EntryPosted", "FundsPosted"):
                for posting in (event.get("payload") or {}).get("legs") or []:
                    if posting.get("accountId") == account_id:
                        minor = exact_minor(posting.get("amount")) or 0
                        folded += minor if posting.get("direction") == "DEBIT" else -minor
        problem = None
        if exact_minor(item.get("balance")) != folded:
            problem = f"balance {item.get('balance')!r}, its events fold to {folded / 100:.2f}"
        last = item.get("lastSequence")
        if problem is None and ext["sequence"] and last is not None and events:
            latest = max(int(e.get("sequence") or 0) for e in events)
            if last != latest:
                problem = f"lastSequence {last!r}, its latest event has sequence {latest}"
        if problem is None and ext["account_read"]:
            single, sent = read(f"/tenants/{t}/accounts/{account_id}", "derived_fields")
            for name in ("balance", "lastSequence", "customerId", "productCode"):
                if name in item and single.get(name) != item.get(name):
                    problem = (
                        f"getAccount says {name} {single.get(name)!r}, the list {item.get(name)!r}"
                    )
                    break
        where = f"tenant {t}, account {account_id}"
        checks.check("derived_fields", problem and f"{where}: {problem}", sent.curl())
    if ext["tenant_read"] and ext["sequence"] and ext["tenant_stream"]:
        head, sent = read(f"/tenants/{t}", "derived_fields")
        events, _ = tenant_stream(t, "derived_fields")
        problem = None
        if events and head.get("lastSequence") != events[-1].get("sequence"):
            problem = (
                f"the tenant's lastSequence {head.get('lastSequence')!r}, its latest event "
                f"{events[-1].get('sequence')!r}"
            )
        elif events and ext["hash_chain"] and head.get("lastHash") != events[-1].get("hash"):
            problem = "the tenant's lastHash is not its latest event's hash"
        checks.check("derived_fields", problem and f"tenant {t}: {problem}", sent.curl())

    # -- identifier_case --------------------------------------------------------------------
    step("identifier_case")
    lower = t.lower()
    reads = [f"/tenants/{lower}/accounts", f"/tenants/{lower}/customers"]
    if ext["tenant_read"]:
        reads.append(f"/tenants/{lower}")
    reads.append(f"/tenants/{t}/accounts/{GL_COUNTERPART.lower()}/events")
    if busiest.upper() != busiest:
        reads.append(f"/tenants/{t}/accounts/{busiest.upper()}/events")
    if ext["account_read"] and busiest.upper() != busiest:
        reads.append(f"/tenants/{t}/accounts/{busiest.upper()}")
    for path in reads:
        sent = wire.get(path)
        problem = None
        if sent.response.status_code not in (400, 404):
            problem = (
                f"GET {path} (ids are case-sensitive: {lower} is not {t}) answered "
                f"{sent.summary()}, expected 404 NOT_FOUND"
            )
        checks.check("identifier_case", problem, sent.curl())
    if members[0].upper() != members[0]:
        items, total, sent = listing(
            accounts_path, "accounts", "identifier_case", customerId=members[0].upper()
        )
        problem = None
        if items or total != 0:
            problem = f"customerId={members[0].upper()} selects {total} accounts, expected 0"
        checks.check("identifier_case", problem, sent.curl())
    legs = [L.leg(GL_COUNTERPART.lower(), "DEBIT", 1), L.leg("GL_FEES", "CREDIT", 1)]
    m.send(t, "PostEntry", L.entry_payload(legs), row="identifier_case")
    if members[0].upper() != members[0]:
        opening = {"customerId": members[0].upper(), "productCode": "TXN", "currency": "AUD"}
        m.send(t, "OpenAccount", opening, row="identifier_case")

    # -- idempotency_scope -------------------------------------------------------------------
    step("idempotency_scope")
    key = f"ct-scope-{uuid.uuid4().hex}"
    shared = L.product_payload(f"SCOPE_{m.serial_number()}", "TXN")
    m.send(t, "UpsertProduct", shared, key=key)
    m.send(other, "UpsertProduct", shared, key=key, row="idempotency_scope")
    entry = L.entry_payload([L.leg("GL_FEES", "DEBIT", 2), L.leg(GL_COUNTERPART, "CREDIT", 2)])
    m.send(other, "PostEntry", entry, key=key + "-2")
    m.send(t, "PostEntry", entry, key=key + "-2", row="idempotency_scope")
    for code in (t, other):  # each tenant's replay is its own first reply
        m.send(code, "UpsertProduct", shared, key=key, timestamp=L.REPLAY_TIMESTAMP)

    # -- exact_money -------------------------------------------------------------------------
    step("exact_money")
    m.verify_balances(tenant)  # the general rule first, in its own row
    opening = {"customerId": members[3], "productCode": "TXN", "currency": "AUD"}
    _, body = m.send(t, "OpenAccount", opening)
    drift = str(body["accountId"])
    for amount in DRIFT_AMOUNTS:
        legs = [L.leg(drift, "DEBIT", amount), L.leg(GL_COUNTERPART, "CREDIT", amount)]
        m.send(t, "PostEntry", L.entry_payload(legs))
    watched = [drift] + ([GL_COUNTERPART] if ext["account_type"] else [])
    items, _, sent = listing(accounts_path, "accounts", "exact_money", **params)
    served = {str(a.get("accountId")): a for a in items}
    problem = None
    for account_id in watched:
        want = tenant.accounts[account_id].balance
        value = (served.get(account_id) or {}).get("balance")
        if exact_minor(value) != want:
            problem = (
                f"account {account_id}: balance {value!r} after postings of "
                f"{', '.join(map(str, DRIFT_AMOUNTS))}; expected exactly {want / 100:.2f}"
            )
            break
    checks.check("exact_money", problem and f"tenant {t}: {problem}", sent.curl())
    if ext["account_read"]:
        single, sent = read(f"/tenants/{t}/accounts/{drift}", "exact_money")
        want = tenant.accounts[drift].balance
        problem = None
        if exact_minor(single.get("balance")) != want:
            problem = (
                f"getAccount {drift}: balance {single.get('balance')!r}, expected {want / 100:.2f}"
            )
        checks.check("exact_money", problem, sent.curl())
    events, sent = account_events(t, drift, "exact_money")
    running: int = 0
    problem = None
    for event in events:
        payload = event.get("payload") or {}
        for posting in payload.get("legs") or []:
            if posting.get("accountId") == drift:
                cents = exact_minor(posting.get("amount"))
                if cents is None:
                    problem = f"a leg amount {posting.get('amount')!r} is not whole cents"
                    break
                running += cents if posting.get("direction") == "DEBIT" else -minor
        balance_event = event.get("eventType") == "AccountBalanceUpdated"
        if problem is None and balance_event and exact_minor(payload.get("balance")) != running:
            problem = (
                f"AccountBalanceUpdated says {payload.get('balance')!r}, the postings "
                f"so far sum to {running / 100:.2f}"
            )
        if problem:
            break
    checks.check("exact_money", problem and f"account {drift}: {problem}", sent.curl())

    # -- correlation_header (extension) --------------------------------------------------------
    if ext["correlation_header"]:
        step("correlation_header")
        marker = f"ct-correlation-{uuid.uuid4().hex}"
        legs = [L.leg("GL_FEES", "DEBIT", 3), L.leg(GL_COUNTERPART, "CREDIT", 3)]
        m.send(t, "PostEntry", L.entry_payload(legs), correlation=marker, row="correlation_header")
        events, sent = account_events(t, GL_COUNTERPART, "correlation_header")
        command_events = [
            e for e in events if e.get("causationId") == events[-1].get("causationId")
        ]
        wrong = [
            e.get("eventType")
            for e in command_events
            if "correlationId" in e and e.get("correlationId") != marker
        ]
        problem = None
        if wrong:
            problem = (
                f"the events {wrong} of a command sent with X-Correlation-Id {marker} "
                "carry another correlationId"
            )
        checks.check("correlation_header", problem, sent.curl())

    # -- canonical_json (extension) -------------------------------------------------------------
    if ext["hash_chain"] and ext["tenant_stream"]:
        step("canonical_json")
        events, sent = tenant_stream(t, "hash_chain")
        problem, prev = chain_problem(L.GENESIS_HASH, events)  # the chain so far, in its own row
        checks.check("hash_chain", problem and f"tenant {t}: {problem}", sent.curl())
        chained = len(events)
        person = L.customer_payload(m.serial_number())
        person["person"].update(firstName=TRICKY_FIRST_NAME, lastName=TRICKY_LAST_NAME)
        person["address"]["line1"] = "1 Rue de l'Église, Ōtautahi"
        m.send(t, "CreateCustomer", person)
        product = L.product_payload(f"RATE_{m.serial_number()}", "TXN")
        product["interest"] = {"rate": TRICKY_RATE, "calculationMethod": "DAILY_BALANCE"}
        m.send(t, "UpsertProduct", product)
        legs = [L.leg("GL_FEES", "DEBIT", 1.15), L.leg(GL_COUNTERPART, "CREDIT", 1.15)]
        m.send(t, "PostEntry", L.entry_payload(legs, metadata=dict(TRICKY_METADATA)))
        events, sent = tenant_stream(t, "canonical_json")
        problem, _ = chain_problem(
            prev,
            events[chained:],
            ", made from input that tells JSON encoders apart (non-ASCII names, escapes, "
            "5e-05, 5.0, keys by UTF-16 order)",
        )
        checks.check("canonical_json", problem and f"tenant {t}: {problem}", sent.curl())
