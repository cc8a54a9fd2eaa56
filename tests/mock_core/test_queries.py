"""The read path's paging, on each backend.

Offset lists (customers, accounts) are served through cached offset marks (see
mock_core/store/queries.py): every page is compared here with an oracle built
from the ids the commands returned, at every offset, as the tenant grows, after
a reset, from a second app on the same store, with rows the head does not cover,
and with the cache overflowing. The marks are taken every STEP rows so that a
handful of rows crosses several of them. Then the 404s of the event pages, and
the plan of every read statement (an index range, never a scan of the tenant).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from mock_core.api.app import create_app
from mock_core.settings import Settings
from mock_core.store import queries
from mock_core.store.engine import make_engine, upgrade
from tests.conftest import create_database, drop_database, require_postgres
from tests.mock_core.conftest import KEYS, SAVINGS, TXN_BASIC, Api
from tests.mock_core.core_helpers import GL_CHART  # CONTRACT.md's chart, in its order

STEP = 4
LIMITS = (1, STEP + 1, 50)  # one row at each offset, a page across a mark, all of it


@contextmanager
def backend_url(kind: str, folder: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{folder}/mock.db"
        return
    require_postgres()
    name, url = create_database("mock_core_queries_test")
    try:
        yield url
    finally:
        drop_database(name)


def make_client(url: str) -> TestClient:
    return TestClient(
        create_app(Settings(database_url=url, api_keys=KEYS, access_log=False)),
        raise_server_exceptions=False,
    )


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with (
        pytest.MonkeyPatch.context() as patch,
        backend_url(request.param, tmp_path_factory.mktemp("queries")) as url,
    ):
        patch.setattr(queries, "MARK_STEP", STEP)
        yield url


@pytest.fixture(scope="module")
def client(url: str) -> Iterator[TestClient]:
    with make_client(url) as test_client:
        yield test_client


@pytest.fixture
def api(client: TestClient) -> Api:
    return Api(client)


class Ledger:
    """One tenant of its own, grown through the API, with its ids in creation order."""

    def __init__(self, api: Api, tenant: str | None = None) -> None:
        self.api = api
        self.tenant = tenant or f"Q_{uuid.uuid4().hex[:12].upper()}"
        self.customers: list[str] = []
        self.accounts: list[tuple[str, str, str]] = []  # (accountId, accountType, customerId)
        self.n = 0
        self.create()

    def seen_through(self, api: Api) -> Ledger:
        """The same tenant and oracle, read through another app."""
        view = Ledger.__new__(Ledger)
        view.__dict__.update(self.__dict__, api=api)
        return view

    def create(self) -> None:
        assert self.api.create_tenant(self.tenant).status_code == 202
        for product in (TXN_BASIC, SAVINGS):
            assert self.api.send(self.tenant, "UpsertProduct", product).status_code == 202
        self.customers = []
        self.accounts = [(gl, "GL", "") for gl in GL_CHART]

    def reset(self) -> None:
        resp = self.api.client.post(
            f"/_mock/tenants/{self.tenant}/reset", headers=self.api.headers()
        )
        assert resp.status_code == 200, resp.text
        self.create()

    def add_customers(self, count: int, accounts_each: int = 0) -> None:
        for _ in range(count):
            self.n += 1
            reply = self.api.create_customer(self.tenant, n=self.n)
            assert reply.status_code == 202, reply.text
            customer = reply.json()["result"]["customerId"]
            self.customers.append(customer)
            for i in range(accounts_each):
                self.open_account(customer, "SAVINGS_STANDARD" if i % 2 else "TXN_ACCOUNT_BASIC")

    def open_account(self, customer: str, product: str = "TXN_ACCOUNT_BASIC") -> str:
        reply = self.api.open_account(customer, product, tenant=self.tenant)
        assert reply.status_code == 202, reply.text
        account: str = reply.json()["result"]["accountId"]
        self.accounts.append((account, "CUSTOMER", customer))
        return account

    def page(self, what: str, **params: Any) -> dict[str, Any]:
        resp = self.api.get(f"/tenants/{self.tenant}/{what}", **params)
        assert resp.status_code == 200, resp.text
        return resp.json()  # type: ignore[no-any-return]

    def listings(self) -> dict[str, tuple[dict[str, Any], list[str]]]:
        """Each offset list: (its filter, the ids it must hold, in order)."""
        some = self.customers[len(self.customers) // 2] if self.customers else "nobody"
        return {
            "customers": ({}, self.customers),
            # By default the members' accounts only; GL or ALL on asking.
            "accounts": ({}, [a for a, kind, _ in self.accounts if kind == "CUSTOMER"]),
            "accounts ALL": ({"accountType": "ALL"}, [a for a, _, _ in self.accounts]),
            "accounts GL": ({"accountType": "GL"}, list(GL_CHART)),
            "accounts CUSTOMER": (
                {"accountType": "CUSTOMER"},
                [a for a, kind, _ in self.accounts if kind == "CUSTOMER"],
            ),
            "accounts of a customer": (
                {"customerId": some},
                [a for a, _, c in self.accounts if c == some],
            ),
        }

    def check_every_page(self) -> None:
        """Every offset (and one past the end) at several limits matches the oracle."""
        for name, (params, ids) in self.listings().items():
            what = name.split()[0]
            key = "customerId" if what == "customers" else "accountId"
            for limit in LIMITS:
                for offset in range(len(ids) + 2):
                    page = self.page(what, limit=limit, offset=offset, **params)
                    got = [item[key] for item in page[what]]
                    want = ids[offset : offset + limit]
                    assert got == want, (name, limit, offset)
                    assert (page["total"], page["limit"], page["offset"]) == (
                        len(ids),
                        limit,
                        offset,
                    ), (name, limit, offset)


def test_every_offset_page_matches_the_creation_order(api: Api) -> None:
    ledger = Ledger(api)
    ledger.check_every_page()  # no customers yet: 11 GL accounts
    ledger.add_customers(7, accounts_each=2)
    ledger.check_every_page()


def test_pages_follow_the_writes_that_come_after_them(api: Api) -> None:
    """Marks taken at one head are extended by the rows created since, including
    from a total that is not a multiple of the step."""
    ledger = Ledger(api)
    ledger.add_customers(5, accounts_each=1)
    ledger.check_every_page()
    ledger.add_customers(6, accounts_each=2)
    ledger.check_every_page()
    ledger.open_account(ledger.customers[0], "SAVINGS_STANDARD")  # an old customer's new account
    ledger.add_customers(1)
    ledger.check_every_page()
    # Events that create nothing listed move the head too.
    entry = [
        (ledger.accounts[-2][0], "DEBIT", 1.0),
        ("GL_SALARY_CLEARING", "CREDIT", 1.0),
    ]
    assert api.post_entry(entry, tenant=ledger.tenant).status_code == 202
    ledger.check_every_page()


def test_a_tenant_reset_and_made_again_is_counted_afresh(api: Api) -> None:
    """A new chain under the same tenant id: the cached marks of the old chain must not
    be extended, even when the new head is past the old one."""
    ledger = Ledger(api)
    ledger.add_customers(2)
    ledger.check_every_page()
    ledger.reset()
    # Shaped so that extending the old marks would give a wrong total: one customer,
    # then accounts, then more customers (the old chain had two customers in a row).
    ledger.add_customers(1, accounts_each=3)
    ledger.add_customers(8)
    ledger.check_every_page()
    ledger.reset()  # and a new chain shorter than the last
    ledger.add_customers(1)
    ledger.check_every_page()


def test_a_second_app_on_the_same_store_sees_the_first_ones_writes(url: str, api: Api) -> None:
    ledger = Ledger(api)
    ledger.add_customers(3, accounts_each=1)
    with make_client(url) as second:
        ledger.seen_through(Api(second)).check_every_page()  # the second app's marks...
        ledger.add_customers(4, accounts_each=1)  # ...the first app writes...
        ledger.seen_through(Api(second)).check_every_page()  # ...and they are extended


def test_each_store_has_marks_of_its_own(tmp_path: Path) -> None:
    """Two databases holding the same tenant id, served in one process."""
    with (
        make_client(f"sqlite:///{tmp_path}/a.db") as a,
        make_client(f"sqlite:///{tmp_path}/b.db") as b,
    ):
        first = Ledger(Api(a))
        second = Ledger(Api(b), tenant=first.tenant)
        first.add_customers(3)
        second.add_customers(6)
        first.check_every_page()
        second.check_every_page()


def test_rows_past_the_chain_head_are_not_listed(client: TestClient, api: Api) -> None:
    """A list is read as of the tenant's head, so `total` and the page describe one state
    even when a write lands between the statements. A row planted with an ordinal past
    the head stands for such a write."""
    ledger = Ledger(api)
    ledger.add_customers(3)
    ledger.check_every_page()
    head = api.last_sequence(ledger.tenant)
    person = {"firstName": "P", "lastName": "Q", "email": "planted@example.com"}
    planted = {"customerId": "planted", "person": {**person, "mobile": "+61400000000"}}
    planted["createdAt"] = "2025-01-15T00:00:00.000000Z"
    engine = client.app.state.store.engine  # type: ignore[attr-defined]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL ROLE NONE"))  # the owner, outside row-level security
        conn.execute(
            text(
                "INSERT INTO customers (tenant_id, customer_id, email, mobile, external_ref, "
                "data, ordinal) VALUES (:t, 'planted', 'planted@example.com', '+61400000000', "
                "NULL, :data, :ordinal)"
            ),
            {"t": ledger.tenant, "ordinal": head + 100, "data": json.dumps(planted)},
        )
    ledger.check_every_page()  # not counted, not listed
    ledger.add_customers(2)  # the head moves, still short of the planted ordinal
    ledger.check_every_page()


def test_the_marks_cache_is_bounded(
    client: TestClient, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queries, "MARKS_CACHED_MAX", 2)
    ledgers = [Ledger(api) for _ in range(3)]
    for n, ledger in enumerate(ledgers):
        ledger.add_customers(n + 1)
    for _ in range(2):  # the second round finds each tenant's marks evicted
        for ledger in ledgers:
            ledger.check_every_page()
    marks = client.app.state.store.marks  # type: ignore[attr-defined]
    assert len(marks.entries) <= 2


def test_event_pages_tell_a_missing_account_from_a_missing_tenant(api: Api) -> None:
    ledger = Ledger(api)
    ledger.add_customers(1, accounts_each=1)
    account = ledger.accounts[-1][0]
    url = f"/tenants/{ledger.tenant}/accounts/{account}/events"
    events = api.get(url).json()["events"]
    assert [e["eventType"] for e in events] == ["AccountOpened"]
    past = api.get(url, after=events[-1]["sequence"])
    assert (past.status_code, past.json()) == (200, {"events": [], "nextCursor": None})
    missing = api.get(f"/tenants/{ledger.tenant}/accounts/nobody/events", after=10**9)
    assert (missing.status_code, missing.json()["details"]) == (404, {"account": "nobody"})
    for path, params in (
        ("accounts/nobody/events", {"offset": 1}),
        ("events", {"eventType": "EntryPosted"}),
        ("customers", {"limit": 1}),
        ("accounts", {"accountType": "ALL"}),
    ):
        resp = api.get(f"/tenants/NO_SUCH_TENANT/{path}", **params)
        assert (resp.status_code, resp.json()["details"]) == (404, {"tenant": "NO_SUCH_TENANT"})
    stream = api.get(f"/tenants/{ledger.tenant}/events", after=10**9, entityId="nothing")
    assert (stream.status_code, stream.json()) == (200, {"events": [], "nextCursor": None})


# ------------------------------------------------------------------ plans


def _dummy_params(sql: str) -> dict[str, Any]:
    ints = {"lo", "hi", "n", "skip", "after", "s"}
    return {name: 1 if name in ints else "x" for name in re.findall(r":(\w+)", sql)}


def test_every_read_statement_is_an_index_range_on_sqlite(tmp_path: Path) -> None:
    """No read statement scans a table, and only three sort: products (a few rows), an
    account's events (at most a page, after the index range has picked them) and an
    entity's events (the merge of at most a page per event type, each an index range).
    The only scans are of those picked rows (`touched`, `of_type<n>`, `picked`)."""
    url = f"sqlite:///{tmp_path}/plans.db"
    upgrade(url)
    engine = make_engine(url)
    sorting = {"products", "account_events", "events_of_entity"}
    picked = ("SCAN touched", "SCAN of_type", "SCAN picked")
    try:
        with engine.connect() as conn:
            for name, sql in queries._SQL.items():
                plan = [
                    row[3]
                    for row in conn.exec_driver_sql(
                        f"EXPLAIN QUERY PLAN {sql}", _dummy_params(sql)
                    ).fetchall()
                ]
                scans = [
                    step for step in plan if step.startswith("SCAN") and not step.startswith(picked)
                ]
                assert scans == [], (name, plan)
                if "customer_id = :c" in sql and "FROM accounts" in sql:
                    # One customer's accounts: its index, never a walk of a whole type.
                    assert any("ix_accounts_customer" in step for step in plan), (name, plan)
                if name not in sorting:
                    assert not any("TEMP B-TREE" in step for step in plan), (name, plan)
    finally:
        engine.dispose()


# The write path's reads (`store.eventstore`), each by a key of its table.
WRITE_READS = (
    "find_command",
    "find_commands",
    "head",
    "products",
    "customers",
    "customers_sharing",
    "accounts",
)


def test_every_write_path_read_searches_a_whole_key_on_sqlite(tmp_path: Path) -> None:
    """Each read a command makes on the write path is one search per key, by the tenant
    and the whole key (a primary key or a unique constraint): a search by the tenant
    alone reads all its rows for every command (CreateCustomer's duplicate check, as
    `email OR mobile OR external_ref`, searched the tenant's customers by ordinal and
    took 200 ms a batch at 100,000 members)."""
    from mock_core.store import eventstore

    url = f"sqlite:///{tmp_path}/plans.db"
    upgrade(url)
    engine = make_engine(url)
    sql_of = eventstore.dialect_sql("named")
    try:
        with engine.connect() as conn:
            for name in WRITE_READS:
                sql = sql_of[name].replace("{in_list}", ":v0, :v1")
                plan = [
                    row[3]
                    for row in conn.exec_driver_sql(
                        f"EXPLAIN QUERY PLAN {sql}", _dummy_params(sql)
                    ).fetchall()
                ]
                searches = [step for step in plan if step.startswith(("SEARCH", "SCAN"))]
                assert searches, (name, plan)
                for step in searches:
                    whole = step.startswith("SEARCH tenants ") or " AND " in step
                    assert whole and ("PRIMARY KEY" in step or "autoindex" in step), (name, plan)
    finally:
        engine.dispose()


@pytest.mark.parametrize("url", ["postgres"], indirect=True)
def test_the_account_event_page_is_a_nested_loop_on_postgres(url: str) -> None:
    """With a busy account in the statistics, a plain join of account_events to events
    is planned as a merge join along the tenant's whole stream (70 ms for a GL account
    at 10,000 members); the statement takes the page of touches first, then one key
    lookup per event."""
    tenant = f"Q_{uuid.uuid4().hex[:12].upper()}"
    upgrade(url)
    owner = make_engine(url, app_role=None)
    app = make_engine(url)
    try:
        with owner.begin() as conn:  # 50,000 events, every other one touching GL_BUSY
            conn.execute(
                text(
                    "INSERT INTO events (tenant_id, sequence, event_id, event_type, entity_id, "
                    "causation_id, envelope) SELECT :t, g, md5(g::text), 'AccountBalanceUpdated', "
                    "'GL_BUSY', md5(g::text), '{}' FROM generate_series(1, 50000) g"
                ),
                {"t": tenant},
            )
            conn.execute(
                text(
                    "INSERT INTO account_events (tenant_id, account_id, sequence) SELECT :t, "
                    "CASE WHEN g % 2 = 0 THEN 'GL_BUSY' ELSE 'A' || (g % 5000) END, g "
                    "FROM generate_series(1, 50000) g"
                ),
                {"t": tenant},
            )
        with owner.connect() as conn:
            conn.exec_driver_sql("ANALYZE events")
            conn.exec_driver_sql("ANALYZE account_events")
            conn.commit()
        with app.connect() as conn:
            conn.execute(text("SELECT set_config('app.current_tenant', :t, true)"), {"t": tenant})
            params = {"t": tenant, "a": "GL_BUSY", "after": 0, "n": 51, "skip": 0}
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            cursor.execute("EXPLAIN " + queries._SQL_PYFORMAT["account_events"], params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
    finally:
        owner.dispose()
        app.dispose()
    assert "Nested Loop" in plan and "Merge Join" not in plan, plan
