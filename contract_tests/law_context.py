"""What the scripted laws (`contract_tests.laws`) share: the machine and its wire,
checks and extensions, the state the set-up makes (two tenants, seven members, nine
accounts), the reads every law uses, and the small comparisons they report with."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from contract_tests import ledger_commands as L
from contract_tests.model_state import number_to_minor
from turingcore_client.contract import gl_accounts
from turingcore_client.paging import cursor_events

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


def event_key(event: dict[str, Any]) -> bytes:
    """An event as comparable bytes (its keys sorted)."""
    return orjson.dumps(event, option=orjson.OPT_SORT_KEYS)


@dataclass
class LawContext:
    """One run of the laws: machine `m` (a LedgerMachine), its wire, checks and the
    extensions the target offers; then what `set_up` made: the primary tenant `t`,
    the `other` one, the members (customer ids, creation order), the members'
    accounts and the GL accounts (account ids, creation order)."""

    m: Any
    wire: Any
    checks: Any
    ext: Any
    t: str = ""
    other: str = ""
    members: list[str] = field(default_factory=list)
    member_accounts: list[str] = field(default_factory=list)
    gl_accounts: list[str] = field(default_factory=list)

    @property
    def tenant(self) -> Any:
        """The reference model's primary tenant."""
        return self.m.model.tenants[self.t]

    @property
    def customers_path(self) -> str:
        return f"/tenants/{self.t}/customers"

    @property
    def accounts_path(self) -> str:
        return f"/tenants/{self.t}/accounts"

    @property
    def busiest(self) -> str:
        """The first member's first account: the one most commands touch."""
        return self.member_accounts[0]

    @property
    def every_account(self) -> dict[str, Any]:
        """The query that lists every account, GL ones included, where it can."""
        return {"accountType": "ALL"} if self.ext["account_type"] else {}

    def step(self, name: str) -> None:
        self.m.trail.append(name)

    def of(self, customer: str) -> list[str]:
        """The accounts of `customer`, in creation order."""
        accounts = self.tenant.customer_accounts()
        return [a.account_id for a in accounts if a.customer_id == customer]

    def read(self, path: str, row: str, **params: Any) -> tuple[dict[str, Any], Any]:
        """GET `path`; a reply other than a 200 object fails `row`."""
        sent = self.wire.get(path, **params)
        body = sent.json()
        if sent.response.status_code != 200 or not isinstance(body, dict):
            self.checks.fail(row, f"GET {sent.url}: {sent.summary()}", sent.curl())
        return body, sent

    def listing(self, path: str, key: str, row: str, **params: Any) -> tuple[list[Any], Any, Any]:
        """One page of 1000 of a list: its items under `key`, its total, the request."""
        body, sent = self.read(path, row, limit=1000, **params)
        items = body.get(key)
        if not isinstance(items, list):
            self.checks.fail(row, f"GET {sent.url}: no {key} list: {sent.summary()}", sent.curl())
        return list(items or []), body.get("total"), sent

    def account_events(
        self, code: str, account_id: str, row: str
    ) -> tuple[list[dict[str, Any]], Any]:
        path = f"/tenants/{code}/accounts/{account_id}/events"
        body, sent = self.read(path, row, limit=1000)
        return list(body.get("events") or []), sent

    def tenant_stream(self, code: str, row: str) -> tuple[list[dict[str, Any]], Any]:
        """The tenant's whole stream, and the request of its last page."""
        pages: list[Any] = []

        def fetch(cursor: int) -> dict[str, Any]:
            body, sent = self.read(f"/tenants/{code}/events", row, after=cursor, limit=1000)
            pages.append(sent)
            return {"events": body.get("events") or [], "nextCursor": body.get("nextCursor")}

        events = list(cursor_events(fetch, pages_max=L.pages_per_read_max))
        return events, pages[-1]


def set_up(m: Any, wire: Any, checks: Any, ext: Any) -> LawContext:
    """The state the laws read: the machine's primary tenant with its catalogue, first
    customers and accounts, three more members (surnames not in alphabetical order),
    three more accounts, and a second tenant; the balances checked first."""
    c = LawContext(m, wire, checks, ext)
    c.step("setup")
    t = c.t = m.ensure_primary()
    m.ensure_catalogue()
    firsts = m.ensure_customers()
    m.ensure_accounts()
    c.members = [customer.customer_id for customer in firsts]
    for surname in ("Young", "Martin", "Adams"):  # not in alphabetical order
        member = L.customer_payload(m.serial_number())
        member["person"]["lastName"] = surname
        _, body = m.send(t, "CreateCustomer", member)
        c.members.append(body["customerId"])
    for customer, template, deposit in (
        (c.members[1], "TXN", 20),
        (c.members[1], "SAVER", 10),
        (c.members[2], "TXN", None),
    ):
        request: dict[str, Any] = {"customerId": customer, "productCode": template}
        request["currency"] = "AUD"
        if deposit is not None:
            request["initialDeposit"] = deposit
        m.send(t, "OpenAccount", request)
    c.other = m.new_tenant_code()
    m.send(c.other, "CreateTenant", L.tenant_payload(c.other))
    tenant = c.tenant
    c.step("balances")
    m.verify_balances(tenant)
    c.member_accounts = [a.account_id for a in tenant.customer_accounts()]
    c.gl_accounts = [a for a, acc in tenant.accounts.items() if acc.account_type == "GL"]
    return c
