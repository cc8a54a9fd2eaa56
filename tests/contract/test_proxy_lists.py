"""The proxy's checks of lists, tenant-id case, idempotency scope, correlation ids and
bounds (contract_tests/proxy_lists.py), each shown passing and failing on exchanges made
by hand, and silent where the traffic does not make the verdict certain."""

from __future__ import annotations

from typing import Any

import orjson

from contract_tests.extensions_published import stripped_spec
from contract_tests.proxy_checks import Exchange, Observer
from contract_tests.proxy_lists import ROWS
from turingcore_client.contract import spec
from turingcore_client.envelope import build_envelope
from turingcore_client.payloads import entry_payload, leg, tenant_payload

JSON = [("content-type", "application/json")]
REPLAYED = [*JSON, ("idempotent-replayed", "true")]


class Traffic:
    """An Observer fed hand-made exchanges; a clock for the commands' times."""

    def __init__(self) -> None:
        self.observer = Observer(spec())
        self.clock = 1000.0
        self.made = 0

    def command(
        self,
        tenant: str,
        kind: str,
        payload: dict[str, Any],
        *,
        key: str | None = None,
        status: int = 202,
        reply: dict[str, Any] | None = None,
        headers: list[tuple[str, str]] | None = None,
        reply_headers: list[tuple[str, str]] | None = None,
        quiet: bool = True,
    ) -> list[str]:
        """Send one command (its reply made up when not given); the checks it failed."""
        self.made += 1
        body = build_envelope(kind, payload, tenant_id=tenant, idempotency_key=key)
        if reply is None:
            reply = {
                "commandId": body["commandId"],
                "status": "ACCEPTED",
                "correlationId": body["commandId"],
                "acceptedAt": "2026-01-01T00:00:00Z",
                "result": {"tenantId": tenant, **_made_id(kind, self.made)},
            }
        return self._observe(
            "POST",
            f"/v1/tenants/{tenant}/commands",
            "",
            body,
            status,
            reply,
            headers,
            reply_headers,
            quiet,
            0,
        )

    def get(
        self,
        path: str,
        query: str,
        reply: dict[str, Any],
        *,
        status: int = 200,
        quiet: bool = True,
        epoch: int = 0,
    ) -> list[str]:
        return self._observe("GET", path, query, None, status, reply, None, None, quiet, epoch)

    def _observe(
        self,
        method: str,
        path: str,
        query: str,
        body: Any,
        status: int,
        reply: Any,
        headers: Any,
        reply_headers: Any,
        quiet: bool,
        epoch: int,
    ) -> list[str]:
        self.clock += 1
        ex = Exchange(
            method,
            path,
            query,
            [*JSON, *(headers or [])],
            orjson.dumps(body) if body is not None else b"",
            status,
            reply_headers if reply_headers is not None else JSON,
            orjson.dumps(reply),
            self.clock,
            5.0,
            quiet,
            epoch,
        )
        # Only these checks' findings: the replies made here are not all whole bodies.
        return [f.check for f in self.observer.observe(ex) if f.check in ROWS]

    def runs(self, row: str) -> tuple[int, int]:
        found = self.observer.result.row(row)
        return found.runs, found.runs - found.passed


def _made_id(kind: str, n: int) -> dict[str, str]:
    name = {"CreateCustomer": "customerId", "OpenAccount": "accountId", "PostEntry": "entryId"}
    return {name[kind]: f"{kind[:4].lower()}-{n:04d}"} if kind in name else {}


def _tenant(t: Traffic, code: str = "T1") -> None:
    assert t.command(code, "CreateTenant", tenant_payload(code, "T")) == []


def _customers(ids: list[str], total: int, limit: int, offset: int) -> dict[str, Any]:
    return {
        "customers": [{"customerId": i} for i in ids],
        "total": total,
        "limit": limit,
        "offset": offset,
    }


# --- paging ---------------------------------------------------------------------------


def test_paging_page_length_and_a_whole_walk() -> None:
    t = Traffic()
    path = "/v1/tenants/T1/customers"
    items = [f"c{i}" for i in range(10)]
    assert t.get(path, "limit=4&offset=0", _customers(items[0:4], 10, 4, 0)) == []
    assert t.get(path, "limit=4&offset=4", _customers(items[4:8], 10, 4, 4)) == []
    assert t.runs("paging") == (2, 0)  # two pages; the walk is not whole yet
    assert t.get(path, "limit=4&offset=8", _customers(items[8:10], 10, 4, 8)) == []
    assert t.runs("paging") == (4, 0)  # three pages and the walk


def test_paging_fails_on_a_short_page_and_on_a_walk_that_skips() -> None:
    t = Traffic()
    path = "/v1/tenants/T1/customers"
    items = [f"c{i}" for i in range(10)]
    # The last page lacks its last item.
    assert t.get(path, "limit=4&offset=8", _customers(items[8:9], 10, 4, 8)) == ["paging"]
    # A walk whose second page starts one late and repeats an item: every page full.
    skipped = Traffic()
    pages = [items[0:4], items[5:8] + items[0:1], items[8:10]]
    found = [
        skipped.get(path, f"limit=4&offset={o}", _customers(p, 10, 4, o), epoch=3)
        for o, p in zip((0, 4, 8), pages, strict=True)
    ]
    assert found == [[], [], ["paging"]]
    assert "twice" in next(f for f in skipped.observer.findings if f.check == "paging").message


def test_paging_is_not_judged_while_a_command_ran() -> None:
    t = Traffic()
    short = _customers(["c0"], 10, 4, 8)
    assert t.get("/v1/tenants/T1/customers", "limit=4&offset=8", short, quiet=False) == []
    assert t.runs("paging") == (0, 0)


def test_a_walk_spans_one_state_only() -> None:
    t = Traffic()
    path = "/v1/tenants/T1/customers"
    assert t.get(path, "limit=2&offset=0", _customers(["a", "b"], 3, 2, 0), epoch=1) == []
    # A command completed between the pages: the list moved, the pages are not one walk.
    assert t.get(path, "limit=2&offset=2", _customers(["c", "d"], 4, 2, 2), epoch=2) == []
    assert t.runs("paging") == (2, 0)


# --- filtered_total -------------------------------------------------------------------


def test_filtered_total() -> None:
    t = Traffic()
    path = "/v1/tenants/T1/accounts"
    page = {"accounts": [{"accountId": "a1"}, {"accountId": "a2"}], "total": 2}
    assert t.get(path, "customerId=c1", page) == []
    assert t.runs("filtered_total") == (1, 0)
    wrong = {**page, "total": 30}
    assert set(t.get(path, "customerId=c1", wrong)) == {"filtered_total", "paging"}
    assert t.runs("filtered_total") == (2, 1)


# --- list_order -----------------------------------------------------------------------


def test_list_order_in_creation_order_only_where_creations_did_not_overlap() -> None:
    t = Traffic()
    _tenant(t)
    person = {"person": {"firstName": "A"}}
    for _ in range(3):
        assert t.command("T1", "CreateCustomer", person) == []  # customers 2, 3, 4
    ids = ["crea-0002", "crea-0003", "crea-0004"]
    path = "/v1/tenants/T1/customers"
    assert t.get(path, "", _customers(ids, 3, 50, 0)) == []
    assert t.runs("list_order") == (1, 0)
    found = t.get(path, "", _customers([ids[1], ids[0], ids[2]], 3, 50, 0))
    assert found == ["list_order"]


# --- tenant_id_case -------------------------------------------------------------------


def test_tenant_id_case() -> None:
    t = Traffic()
    _tenant(t, "CU_X")
    tenant = {"tenantId": "CU_X"}
    assert t.get("/v1/tenants/cu_x", "", {"error": "NOT_FOUND"}, status=404) == []
    assert t.runs("tenant_id_case") == (1, 0)
    assert t.get("/v1/tenants/Cu_X", "", tenant) == ["tenant_id_case"]
    # Another tenant's code, or one the proxy never saw created: not judged.
    assert t.get("/v1/tenants/other", "", tenant) == []
    assert t.runs("tenant_id_case") == (2, 1)


# --- idempotency_scope ----------------------------------------------------------------


def _entry() -> dict[str, Any]:
    legs = [leg("GL_SUSPENSE", "DEBIT", 1.5), leg("GL_FEES", "CREDIT", 1.5)]
    return entry_payload("2026-01-02", legs, "n")


def test_idempotency_scope() -> None:
    t = Traffic()
    _tenant(t, "A")
    _tenant(t, "B")
    assert t.command("A", "PostEntry", _entry(), key="K") == []
    assert t.command("B", "PostEntry", _entry(), key="K2") == []  # fresh: passes
    assert t.runs("idempotency_scope")[1] == 0
    # K was accepted on A only: refused as reused on B is a finding, and so is a replay
    # (after which B's balances are no longer certain, so nothing more is judged there).
    refused = {
        "commandId": "x",
        "error": "INVARIANT_VIOLATION",
        "invariant": "IDEMPOTENCY_KEY_REUSED",
        "message": "m",
        "details": {},
    }
    found = t.command("B", "PostEntry", _entry(), key="K", status=422, reply=refused)
    assert found == ["idempotency_scope"]
    assert t.command("B", "PostEntry", _entry(), key="K", reply_headers=REPLAYED) == [
        "idempotency_scope"
    ]


def test_idempotency_scope_is_not_judged_on_a_racing_or_unseen_tenant() -> None:
    t = Traffic()
    _tenant(t, "A")
    # Another command of A overlapped (the first of two racing with one key): not judged.
    assert t.command("A", "PostEntry", _entry(), key="K", reply_headers=REPLAYED, quiet=False) == []
    # A tenant the proxy did not see created.
    assert t.command("C", "PostEntry", _entry(), key="K", reply_headers=REPLAYED) == []
    assert t.runs("idempotency_scope")[1] == 0


# --- correlation_echo -----------------------------------------------------------------


def _correlated(t: Traffic, echoed: bool) -> list[str]:
    body = _entry()
    reply = {
        "commandId": "c",
        "status": "ACCEPTED",
        "acceptedAt": "2026-01-01T00:00:00Z",
        "correlationId": "twin-probe-42" if echoed else "c",
    }
    return t.command(
        "T1", "PostEntry", body, reply=reply, headers=[("X-Correlation-Id", "twin-probe-42")]
    )


def test_correlation_echo_where_the_upstream_offers_the_header() -> None:
    t = Traffic()
    _tenant(t)
    t.observer.lists.learn_spec(spec())  # its served spec documents the header
    assert _correlated(t, echoed=True) == []
    assert _correlated(t, echoed=False) == ["correlation_echo"]


def test_correlation_echo_is_not_judged_on_a_published_only_service() -> None:
    t = Traffic()
    _tenant(t)
    t.observer.lists.learn_spec(stripped_spec(spec()))  # no X-Correlation-Id there
    assert _correlated(t, echoed=False) == []
    unknown = Traffic()  # no spec served: not judged until a reply has echoed one
    _tenant(unknown)
    assert _correlated(unknown, echoed=False) == []
    assert unknown.runs("correlation_echo") == (0, 0)
    assert _correlated(unknown, echoed=True) == []
    assert _correlated(unknown, echoed=False) == ["correlation_echo"]


# --- balance_bounds -------------------------------------------------------------------


def _bounded_account(t: Traffic) -> str:
    _tenant(t)
    product = {
        "productCode": "SAVE",
        "name": "Save",
        "productType": "DEPOSIT",
        "interest": {"rate": 0.01},
        "constraints": {"minBalance": 0, "maxBalance": 1000},
    }
    customer = {
        "person": {
            "firstName": "A",
            "lastName": "B",
            "dateOfBirth": "1990-01-01",
            "email": "a@example.com",
            "mobile": "+61400000001",
        }
    }
    assert t.command("T1", "UpsertProduct", product) == []
    assert t.command("T1", "CreateCustomer", customer) == []
    opening = {
        "customerId": "crea-0003",
        "productCode": "SAVE",
        "currency": "AUD",
        "initialDeposit": 100,
    }
    assert t.command("T1", "OpenAccount", opening) == []
    return "open-0004"


def _move(t: Traffic, account: str, direction: str, amount: float, quiet: bool = True) -> list[str]:
    other = "CREDIT" if direction == "DEBIT" else "DEBIT"
    legs = [leg(account, direction, amount), leg("GL_SUSPENSE", other, amount)]
    return t.command("T1", "PostEntry", entry_payload("2026-01-02", legs, "m"), quiet=quiet)


def test_balance_bounds() -> None:
    t = Traffic()
    account = _bounded_account(t)
    runs = t.runs("balance_bounds")[0]
    assert _move(t, account, "CREDIT", 100) == []  # to 0: within bounds
    assert t.runs("balance_bounds") == (runs + 1, 0)
    assert _move(t, account, "CREDIT", 0.01) == ["balance_bounds"]  # to -0.01: overdrawn
    assert "OVERDRAFT_LIMIT_EXCEEDED" in t.observer.findings[-1].message
    t2 = Traffic()
    account = _bounded_account(t2)
    assert _move(t2, account, "DEBIT", 900) == []  # to 1000: the maximum
    assert _move(t2, account, "DEBIT", 5000) == ["balance_bounds"]


def test_balance_bounds_is_not_judged_while_another_command_ran() -> None:
    t = Traffic()
    account = _bounded_account(t)
    runs = t.runs("balance_bounds")[0]
    assert _move(t, account, "CREDIT", 10_000, quiet=False) == []
    assert t.runs("balance_bounds")[0] == runs
    # Nor after a command whose outcome was not seen.
    t2 = Traffic()
    account = _bounded_account(t2)
    t2.observer.tenants["T1"].certain = False
    assert _move(t2, account, "CREDIT", 10_000) == []
