"""The console and portal in-process: the app (FastAPI TestClient) in front of the mock
(in-process, behind a synchronous transport), with a small twin plan run into it.

Browser tests (headless Chromium, axe-core) are tests/console/test_browser*.py; these
check what each page holds through its `data-testid` hooks (the page contract in
docs/console.md), the sign-in and the key's scope, the portal's idempotency and
refusal wording, and the chain badge on a store with a corrupted event.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from console.api import CoreApi
from console.app import create_app, outcome_counts
from console.chain import ChainProgress, verify_events
from console.jobs import link_failure
from console.ledger import daily_balances, opening_balance, postings
from tests.commands import CREDIT_UNION, envelope, tenant_payload
from tests.twin.conftest import SyncASGITransport, make_plan, mock_app
from turingcore_client.canonical import GENESIS_HASH, event_hash
from turingcore_client.client import TuringCoreClient
from twin.runner import ScenarioRunner

TENANT = "T_CONSOLE"
OTHER = "T_OTHER"
PLATFORM_KEY = "console-platform-key"
SCOPED_KEY = "console-scoped-key"
API_KEYS = f"{PLATFORM_KEY}=*;{SCOPED_KEY}={TENANT}"
BADGE_WAIT_S = 20.0


@dataclass
class Target:
    transport: SyncASGITransport
    db: Path
    http: httpx.Client

    def command(self, tenant: str, command_type: str, payload: Any, key: str | None = None) -> Any:
        body = envelope(tenant, command_type, payload, key=key)
        reply = self.http.post(f"/tenants/{tenant}/commands", json=body)
        assert reply.status_code == 202, reply.text
        return reply.json()

    def get(self, path: str, **params: Any) -> Any:
        reply = self.http.get(path, params=params)
        assert reply.status_code == 200, reply.text
        return reply.json()


def _populate(tmp: Path) -> Target:
    transport = SyncASGITransport(mock_app(tmp, API_KEYS))
    client = TuringCoreClient("http://mock", PLATFORM_KEY, transport=transport)
    run = ScenarioRunner(client, make_plan(TENANT, customers=4, days=2), concurrency=2).run()
    assert run.unexpected_count == 0, run.unexpected
    http = httpx.Client(
        base_url="http://mock/v1",
        transport=transport,
        headers={"Authorization": f"Bearer {PLATFORM_KEY}"},
    )
    target = Target(transport, tmp / "db.sqlite", http)
    target.command(OTHER, "CreateTenant", {**tenant_payload(OTHER), **CREDIT_UNION})
    # A second account for the first member, so the portal can transfer between two.
    member = target.get(f"/tenants/{TENANT}/customers", limit=1)["customers"][0]
    target.command(
        TENANT,
        "OpenAccount",
        {"customerId": member["customerId"], "productCode": "TXN", "currency": "AUD"},
    )
    return target


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    target = _populate(tmp_path_factory.mktemp("console"))
    yield target
    target.http.close()
    target.transport.close()


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Target]:
    target = _populate(tmp_path)
    yield target
    target.http.close()
    target.transport.close()


def console(target: Target, key: str | None = PLATFORM_KEY, **options: Any) -> TestClient:
    options.setdefault("tenants", (TENANT,))
    app = create_app("http://mock", key, transport=target.transport, **options)
    return TestClient(app, follow_redirects=False)


def hooks(html: str, name: str) -> int:
    return len(re.findall(rf'data-testid="{name}"', html))


def badge(html: str) -> tuple[str, str]:
    found = re.search(r'data-testid="chain-badge" data-state="(\w+)"[^>]*>([^<]*)<', html)
    assert found, html
    return found.group(1), found.group(2).strip()


def wait_badge(client: TestClient, tenant: str, state: str) -> str:
    deadline = time.monotonic() + BADGE_WAIT_S
    while True:
        seen, text = badge(client.get(f"/tenants/{tenant}/chain-badge").text)
        if seen == state or time.monotonic() > deadline:
            assert seen == state, text
            return text
        time.sleep(0.05)


# ------------------------------------------------------------------ sign-in and scope


def test_sign_in_keeps_the_key_on_the_server(target: Target) -> None:
    with console(target, key=None) as client:
        assert client.get("/").headers["location"].startswith("/login")
        form = client.get("/login")
        assert hooks(form.text, "login-form") == 1
        refused = client.post("/login", data={"api_key": "not-a-key"})
        assert refused.status_code == 401 and hooks(refused.text, "login-error") == 1
        signed = client.post("/login", data={"api_key": PLATFORM_KEY, "next": "/"})
        assert signed.status_code == 303
        cookie = signed.headers["set-cookie"]
        assert cookie.startswith("tc_session=") and PLATFORM_KEY not in cookie
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie
        page = client.get("/")
        assert page.status_code == 200 and PLATFORM_KEY not in page.text
        assert f'data-tenant="{TENANT}"' in page.text
        client.post("/logout")
        assert client.get("/").status_code == 303


def test_a_scoped_key_gets_403_on_another_tenant_and_sees_none_of_it(target: Target) -> None:
    with console(target, key=SCOPED_KEY, tenants=(TENANT, OTHER)) as client:
        overview = client.get("/")
        assert f'data-tenant="{TENANT}"' in overview.text
        assert OTHER not in overview.text
        for path in (f"/tenants/{OTHER}", f"/tenants/{OTHER}/accounts", f"/portal/{OTHER}"):
            page = client.get(path)
            assert page.status_code == 403, path
            assert hooks(page.text, "forbidden") == 1
    with console(target, tenants=(TENANT, OTHER)) as client:
        assert f'data-tenant="{OTHER}"' in client.get("/").text  # the platform key sees it


# ------------------------------------------------------------------ operator pages


def test_tenant_pages_show_the_ledger(target: Target) -> None:
    accounts = target.get(f"/tenants/{TENANT}/accounts", limit=10)["accounts"]
    with console(target) as client:
        page = client.get(f"/tenants/{TENANT}")
        assert page.status_code == 200
        assert hooks(page.text, "products") == 1 and hooks(page.text, "gl-accounts") == 1
        assert "GL_SALARY_CLEARING" in page.text

        listed = client.get(f"/tenants/{TENANT}/accounts")
        assert hooks(listed.text, "account-row") == len(accounts)
        gl = client.get(f"/tenants/{TENANT}/accounts?type=GL")
        assert 'data-account="GL_SUSPENSE"' in gl.text and accounts[0]["accountId"] not in gl.text

        customers = client.get(f"/tenants/{TENANT}/customers")
        assert hooks(customers.text, "customer-row") == 4
        found = client.get(f"/tenants/{TENANT}/customers?q=lee2")
        assert hooks(found.text, "customer-row") == 1 and "Lee2" in found.text

        account = accounts[0]["accountId"]
        page = client.get(f"/tenants/{TENANT}/accounts/{account}")
        assert page.status_code == 200
        assert '<svg data-testid="balance-chart" role="img"' in page.text
        assert "<title" in page.text and "<desc" in page.text
        assert hooks(page.text, "posting-row") >= 5  # deposit, 2 salaries, 2 card spends
        events = target.get(f"/tenants/{TENANT}/accounts/{account}/events", limit=1000)["events"]
        for event in events:
            assert f'data-sequence="{event["sequence"]}"' in page.text
            assert event["hash"] in page.text


def test_the_account_chart_follows_the_sign_convention() -> None:
    events = [
        {
            "sequence": 5,
            "eventType": "FundsPosted",
            "payload": {
                "bookingDate": "2025-01-01",
                "legs": [
                    {"accountId": "A", "direction": "DEBIT", "amount": 100.5},
                    {"accountId": "GL", "direction": "CREDIT", "amount": 100.5},
                ],
            },
        },
        {"sequence": 6, "eventType": "AccountBalanceUpdated", "payload": {}},
        {
            "sequence": 9,
            "eventType": "EntryPosted",
            "payload": {
                "bookingDate": "2025-01-02",
                "legs": [
                    {"accountId": "A", "direction": "CREDIT", "amount": 0.75},
                    {"accountId": "GL", "direction": "DEBIT", "amount": 0.75},
                ],
            },
        },
    ]
    items = postings("A", events)
    assert [(p.delta, p.balance) for p in items] == [(10050, 10050), (-75, 9975)]
    assert [(d.date, d.balance) for d in daily_balances(items)] == [
        ("2025-01-01", 10050),
        ("2025-01-02", 9975),
    ]


def test_a_later_window_opens_at_the_balance_before_it() -> None:
    def entry(sequence: int, direction: str, amount: float) -> dict[str, Any]:
        leg = {"accountId": "A", "direction": direction, "amount": amount}
        return {"sequence": sequence, "eventType": "EntryPosted", "payload": {"legs": [leg]}}

    def update(sequence: int, balance: float) -> dict[str, Any]:
        payload = {"accountId": "A", "balance": balance}
        return {"sequence": sequence, "eventType": "AccountBalanceUpdated", "payload": payload}

    # The account held 100.00; the window holds +20 (balance 120), then -5 (115).
    window = [entry(10, "DEBIT", 20), update(11, 120), entry(14, "CREDIT", 5), update(15, 115)]
    assert opening_balance("A", window) == 10000
    # A window that starts between an entry and its balance update: the update's
    # balance already holds that entry, which is before the window.
    assert opening_balance("A", window[1:]) == 12000
    assert opening_balance("A", [entry(10, "DEBIT", 20)]) is None
    items = postings("A", window, opening_balance("A", window) or 0)
    assert [p.balance for p in items] == [12000, 11500]


def test_new_events_reach_the_live_feed(target: Target) -> None:
    account = target.get(f"/tenants/{TENANT}/accounts", limit=1)["accounts"][0]["accountId"]
    with console(target) as client:
        page = client.get(f"/tenants/{TENANT}/live")
        assert hooks(page.text, "live-feed") == 1
        after = int(re.search(r"live/feed\?after=(\d+)", page.text).group(1))  # type: ignore[union-attr]
        quiet = client.get(f"/tenants/{TENANT}/live/feed?after={after}")
        assert hooks(quiet.text, "live-item") == 0
        legs = [
            {"accountId": "GL_SALARY_CLEARING", "direction": "CREDIT", "amount": 5},
            {"accountId": account, "direction": "DEBIT", "amount": 5},
        ]
        payload = {
            "bookingDate": "2025-01-20",
            "valueDate": "2025-01-20",
            "currency": "AUD",
            "legs": legs,
            "narrative": "live test",
        }
        target.command(TENANT, "PostEntry", payload)
        feed = client.get(f"/tenants/{TENANT}/live/feed?after={after}")
        assert f'data-sequence="{after + 1}"' in feed.text and "EntryPosted" in feed.text
        assert f"live/feed?after={after + 1}" not in feed.text  # the poller moves on
        assert "mock_core_commands" not in feed.text and "ACCEPTED" in feed.text


# ------------------------------------------------------------------ the chain


def test_the_badge_is_green_when_the_chain_recomputes(target: Target) -> None:
    with console(target) as client:
        head = target.get(f"/tenants/{TENANT}")["lastSequence"]
        text = wait_badge(client, TENANT, "ok")
        assert text == f"Chain verified up to {head}" or text.startswith("Chain verified up to ")


def test_the_badge_turns_red_naming_a_corrupted_event(fresh: Target) -> None:
    events = fresh.get(f"/tenants/{TENANT}/events", limit=1000, eventType="EntryPosted")["events"]
    sequence = events[2]["sequence"]
    with sqlite3.connect(fresh.db) as conn:
        (text,) = conn.execute(
            "SELECT envelope FROM events WHERE tenant_id = ? AND sequence = ?", (TENANT, sequence)
        ).fetchone()
        changed = text.replace('"currency":"AUD"', '"currency":"NZD"', 1)
        assert changed != text
        conn.execute(
            "UPDATE events SET envelope = ? WHERE tenant_id = ? AND sequence = ?",
            (changed, TENANT, sequence),
        )
    with console(fresh) as client:
        assert wait_badge(client, TENANT, "broken") == f"Chain broken at {sequence}"
        overview = client.get("/").text
        assert badge(overview) == ("broken", f"Chain broken at {sequence}")


def test_verify_events_names_the_first_bad_sequence() -> None:
    chain: list[dict[str, Any]] = []
    prev = GENESIS_HASH
    for sequence in range(1, 6):
        event = {"sequence": sequence, "eventType": "X", "payload": {"n": sequence}}
        event["prevHash"] = prev
        event["hash"] = prev = event_hash(event)
        chain.append(event)
    assert verify_events(ChainProgress(), chain) == ChainProgress(5, prev)
    # Incremental: two pages give what one gives.
    first = verify_events(ChainProgress(), chain[:2])
    assert verify_events(first, chain[2:]) == ChainProgress(5, prev)
    edited = [dict(e) for e in chain]
    edited[3]["payload"] = {"n": 99}
    assert verify_events(ChainProgress(), edited).broken_at == 4
    assert verify_events(ChainProgress(), chain[:2] + chain[3:]).broken_at == 3  # a gap
    long: list[dict[str, Any]] = []
    prev = GENESIS_HASH
    for sequence in range(1, 251):
        event = {"sequence": sequence, "eventType": "X", "payload": {}, "prevHash": prev}
        event["hash"] = prev = event_hash(event)
        long.append(event)
    pauses: list[int] = []
    assert verify_events(ChainProgress(), long, lambda: pauses.append(1)).verified == 250
    assert len(pauses) == 2  # the watcher gives way every 100 events
    relinked = [dict(e) for e in chain]
    relinked[2]["prevHash"] = GENESIS_HASH
    assert verify_events(ChainProgress(), relinked).broken_at == 3


# ------------------------------------------------------------------ the member portal


def _sign_in_member(
    client: TestClient, target: Target, *, profile: bool = True
) -> list[dict[str, Any]]:
    member = target.get(f"/tenants/{TENANT}/customers", limit=1)["customers"][0]
    signin = client.get(f"/portal/{TENANT}")
    assert hooks(signin.text, "member-signin") == 1
    reply = client.post(f"/portal/{TENANT}/signin", data={"external_ref": member["externalRef"]})
    assert reply.headers["location"] == f"/portal/{TENANT}/home"
    home = client.get(f"/portal/{TENANT}/home")
    assert hooks(home.text, "member-accounts") == 1
    assert hooks(home.text, "recent-transactions") == 1
    if profile:
        assert hooks(client.get(f"/portal/{TENANT}/profile").text, "profile") == 1
    accounts: list[dict[str, Any]] = target.get(
        f"/tenants/{TENANT}/accounts", customerId=member["customerId"]
    )["accounts"]
    assert len(accounts) == 2
    return accounts


def test_portal_pages_without_a_member_lead_to_the_member_sign_in(target: Target) -> None:
    client = console(target)
    signin = f"/portal/{TENANT}"
    for path in ("home", "profile", "transfer", "bill"):
        reply = client.get(f"{signin}/{path}", follow_redirects=False)
        assert (reply.status_code, reply.headers.get("location")) == (303, signin), path
    posted = client.post(f"{signin}/transfer", data={"amount": "1"}, follow_redirects=False)
    assert (posted.status_code, posted.headers.get("location")) == (303, signin)


def _form_key(html: str) -> str:
    found = re.search(r'name="idempotency_key" value="([^"]+)"', html)
    assert found
    return found.group(1)


def test_a_double_submitted_transfer_posts_once(fresh: Target) -> None:
    with console(fresh) as client:
        source, target_account = _sign_in_member(client, fresh)
        form = client.get(f"/portal/{TENANT}/transfer")
        assert hooks(form.text, "transfer-form") == 1
        data = {
            "from_account": source["accountId"],
            "to_account": target_account["accountId"],
            "amount": "12.34",
            "idempotency_key": _form_key(form.text),
        }
        head = fresh.get(f"/tenants/{TENANT}")["lastSequence"]
        first = client.post(f"/portal/{TENANT}/transfer", data=data)
        second = client.post(f"/portal/{TENANT}/transfer", data=data)
        assert 'data-outcome="posted"' in first.text
        assert 'data-outcome="replayed"' in second.text and "Already done" in second.text
        entries = fresh.get(
            f"/tenants/{TENANT}/events", after=head, limit=100, eventType="EntryPosted"
        )["events"]
        assert len(entries) == 1
        legs = {leg["accountId"]: leg["direction"] for leg in entries[0]["payload"]["legs"]}
        assert legs == {source["accountId"]: "CREDIT", target_account["accountId"]: "DEBIT"}
        assert _form_key(second.text) != data["idempotency_key"]  # a new form, a new key


def test_a_refusal_is_told_in_a_members_words(target: Target) -> None:
    with console(target) as client:
        source, _ = _sign_in_member(client, target)
        form = client.get(f"/portal/{TENANT}/bill")
        assert hooks(form.text, "bill-form") == 1
        data = {
            "from_account": source["accountId"],
            "biller": "Power Co",
            "amount": "999999.99",
            "idempotency_key": _form_key(form.text),
        }
        refused = client.post(f"/portal/{TENANT}/bill", data=data)
        assert refused.status_code == 422
        assert 'data-testid="bill-result" data-outcome="refused"' in refused.text
        assert "not enough money" in refused.text and "Nothing was paid" in refused.text
        assert "OVERDRAFT_LIMIT_EXCEEDED" not in refused.text
        data["amount"] = "1.5"
        data["idempotency_key"] = _form_key(refused.text)
        paid = client.post(f"/portal/{TENANT}/bill", data=data)
        assert 'data-outcome="posted"' in paid.text
        data["amount"] = "abc"
        invalid = client.post(f"/portal/{TENANT}/bill", data=data)
        assert invalid.status_code == 400 and "as a number" in invalid.text


def test_the_portal_pays_only_from_the_members_own_accounts(target: Target) -> None:
    with console(target) as client:
        source, _ = _sign_in_member(client, target)
        listed = target.get(f"/tenants/{TENANT}/accounts", limit=10)["accounts"]
        other = next(a for a in listed if a["customerId"] != source["customerId"])
        form = client.get(f"/portal/{TENANT}/transfer")
        data = {
            "from_account": other["accountId"],
            "to_account": source["accountId"],
            "amount": "1",
            "idempotency_key": _form_key(form.text),
        }
        reply = client.post(f"/portal/{TENANT}/transfer", data=data)
        assert reply.status_code == 400 and "Choose one of your accounts" in reply.text


# ------------------------------------------------------------------ pieces


def test_check_failures_link_to_the_account_and_the_event() -> None:
    pieces = link_failure(
        "T", "3f2a0c1e-1111-4222-8333-444455556666: AccountBalanceUpdated at sequence 42 says"
    )
    hrefs = [p.href for p in pieces if p.href]
    assert hrefs == [
        "/tenants/T/accounts/3f2a0c1e-1111-4222-8333-444455556666",
        "/tenants/T/events?after=41#seq-42",
    ]
    assert "".join(p.text for p in pieces).endswith("says")


def test_command_outcomes_are_read_from_the_metrics() -> None:
    text = (
        "# HELP mock_core_commands_total Commands received\n"
        "# TYPE mock_core_commands_total counter\n"
        'mock_core_commands_total{command_type="PostEntry",outcome="ACCEPTED"} 7.0\n'
        'mock_core_commands_total{command_type="PostEntry",outcome="REPLAYED"} 2.0\n'
        'mock_core_commands_total{command_type="PostEntry",outcome="LEGS_MUST_BALANCE"} 1.0\n'
    )
    rows = outcome_counts(text)
    assert rows is not None
    assert {(r["outcome"], r["count"]) for r in rows} == {
        ("ACCEPTED", 7),
        ("REPLAYED", 2),
        ("LEGS_MUST_BALANCE", 1),
    }
    assert outcome_counts(None) is None
    assert outcome_counts("# nothing here\n") is None


# ------------------------------------------------------------------ a published-only target


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """The same kind of ledger, then served by a mock with every extension taken away
    (tests/contract/published_only.py) on the same store."""
    from tests.contract.published_only import PublishedOnly

    tmp = tmp_path_factory.mktemp("published")
    full = _populate(tmp)
    full.http.close()
    full.transport.close()
    transport = SyncASGITransport(PublishedOnly(mock_app(tmp, API_KEYS), serve_spec=False))
    http = httpx.Client(
        base_url="http://mock/v1",
        transport=transport,
        headers={"Authorization": f"Bearer {PLATFORM_KEY}"},
    )
    yield Target(transport, tmp / "db.sqlite", http)
    http.close()
    transport.close()


def test_a_published_only_target_is_shown_with_what_it_does_not_offer(published: Target) -> None:
    with console(published) as client:
        overview = client.get("/")
        assert overview.status_code == 200 and f'data-tenant="{TENANT}"' in overview.text
        text = wait_badge(client, TENANT, "unavailable")
        assert text == "Chain check not offered by this target"
        tenant = client.get(f"/tenants/{TENANT}").text
        assert "does not offer the product list" in tenant
        assert "does not offer the list of GL accounts" in tenant
        assert (
            "does not offer the tenant event stream" in client.get(f"/tenants/{TENANT}/live").text
        )
        deadline = time.monotonic() + BADGE_WAIT_S  # the trial balance, read after the chain
        while "<td>not offered by this target</td>" not in client.get("/").text:
            assert time.monotonic() < deadline, "the trial balance is not said to be not offered"
            time.sleep(0.05)
        listed = published.get(f"/tenants/{TENANT}/accounts", limit=1)["accounts"][0]
        account = client.get(f"/tenants/{TENANT}/accounts/{listed['accountId']}")
        assert account.status_code == 200 and hooks(account.text, "posting-row") >= 5
        assert "does not offer the account read" in account.text
        customer = client.get(f"/tenants/{TENANT}/customers/{listed['customerId']}")
        assert customer.status_code == 200 and listed["accountId"] in customer.text


def test_a_double_submit_is_a_replay_on_a_published_only_target(published: Target) -> None:
    with console(published) as client:
        source, target_account = _sign_in_member(client, published, profile=False)
        form = client.get(f"/portal/{TENANT}/transfer")
        data = {
            "from_account": source["accountId"],
            "to_account": target_account["accountId"],
            "amount": "2",
            "idempotency_key": _form_key(form.text),
        }
        first = client.post(f"/portal/{TENANT}/transfer", data=data)
        second = client.post(f"/portal/{TENANT}/transfer", data=data)
        assert 'data-outcome="posted"' in first.text
        assert 'data-outcome="replayed"' in second.text  # no Idempotent-Replayed header here


def test_a_command_still_in_flight_is_waited_for_then_told_as_a_replay() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            body = {"error": "COMMAND_IN_FLIGHT", "message": "being applied", "details": {}}
            return httpx.Response(409, json=body)
        accepted = {
            "commandId": "5b0c1f2e-0000-4000-8000-000000000001",
            "status": "ACCEPTED",
            "correlationId": "5b0c1f2e-0000-4000-8000-000000000001",
            "acceptedAt": "2025-01-15T00:00:00Z",
        }
        return httpx.Response(202, json=accepted)

    api = CoreApi("http://core", "key-123456", transport=httpx.MockTransport(handler))
    legs = [
        {"accountId": "A", "direction": "CREDIT", "amount": 1},
        {"accountId": "B", "direction": "DEBIT", "amount": 1},
    ]
    payload = {
        "bookingDate": "2025-01-15",
        "valueDate": "2025-01-15",
        "currency": "AUD",
        "legs": legs,
        "narrative": "x",
    }
    outcome = api.post_entry("T", payload, idempotency_key="k-1")
    assert (outcome.outcome, len(calls)) == ("replayed", 2)


# ------------------------------------------------------------------ the twin, run by the console

JOB_WAIT_S = 120.0


def _wait_job(client: TestClient, path: str, hook: str) -> str:
    deadline = time.monotonic() + JOB_WAIT_S
    while True:
        html = client.get(path).text
        if f'data-testid="{hook}" data-running="false"' in html:
            return html
        assert time.monotonic() < deadline, html[-2000:]
        time.sleep(0.25)


def test_a_scenario_then_the_checks_run_from_the_console(tmp_path: Path) -> None:
    from tests.contract.asgi_threads import serve_in_thread

    with serve_in_thread(mock_app(tmp_path, API_KEYS)) as base_url:
        app = create_app(base_url, PLATFORM_KEY, tenants=("CU_DIGITAL",))
        with TestClient(app, follow_redirects=False) as client:
            form = {"size": "5", "days": "1", "seed": "7"}
            started = client.post("/tenants/CU_DIGITAL/scenarios", data=form)
            assert started.status_code == 303
            page = _wait_job(client, "/tenants/CU_DIGITAL/scenarios", "scenario-progress")
            assert 'data-exit-code="0"' in page and "customers of CU_DIGITAL" in page
            assert hooks(page, "scenario-form") == 1

            client.post("/tenants/CU_DIGITAL/checks")
            page = _wait_job(client, "/tenants/CU_DIGITAL/checks", "checks-progress")
            verdicts = dict(re.findall(r'data-check="(\w+)" data-status="(\w+)"', page))
            assert len(verdicts) == 5 and set(verdicts.values()) == {"pass"}, verdicts

            # An event changed in the store: event integrity fails, linked to it.
            entry = httpx.get(
                f"{base_url}/v1/tenants/CU_DIGITAL/events",
                params={"eventType": "EntryPosted", "limit": 1},
                headers={"Authorization": f"Bearer {PLATFORM_KEY}"},
            ).json()["events"][0]
            sequence = entry["sequence"]
            with sqlite3.connect(tmp_path / "db.sqlite") as conn:
                conn.execute(
                    """UPDATE events SET envelope = replace(envelope, '"AUD"', '"NZD"') """
                    "WHERE tenant_id = 'CU_DIGITAL' AND sequence = ?",
                    (sequence,),
                )
            client.post("/tenants/CU_DIGITAL/checks")
            page = _wait_job(client, "/tenants/CU_DIGITAL/checks", "checks-progress")
            assert 'data-check="event_integrity" data-status="fail"' in page
            assert f'href="/tenants/CU_DIGITAL/events?after={sequence - 1}#seq-{sequence}"' in page


def test_the_wheel_carries_every_template_and_asset() -> None:
    """The console's pages need its templates and static files at run time: each one
    must match the package-data globs in pyproject.toml (a new kind of file would
    otherwise work from the source tree and be missing from the wheel)."""
    import tomllib
    from pathlib import PurePosixPath

    root = Path(__file__).resolve().parents[2]
    config = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "console" in config["packages"]
    globs = config["package-data"]["console"]
    files = [
        path.relative_to(root / "console").as_posix()
        for folder in ("templates", "static")
        for path in (root / "console" / folder).rglob("*")
        if path.is_file()
    ]
    assert "static/htmx.min.js" in files and "templates/base.html" in files

    # setuptools' `*` does not cross a folder: a file in a subfolder needs a glob of its own.
    def shipped(name: str) -> bool:
        path = PurePosixPath(name)
        return any(len(path.parts) == len(PurePosixPath(g).parts) and path.match(g) for g in globs)

    missing = [f for f in files if not shipped(f)]
    assert missing == []
