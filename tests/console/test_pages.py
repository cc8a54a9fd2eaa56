"""The console and the member portal in headless Chromium, against a served mock.

A `mock-core serve` process gets a small twin run (`stack.TWIN_SIZE`) and a second
tenant; the console is served in front of it and signed in through its own form.
The tests are issue 16's "done when" list, each through the pages' `data-testid`
hooks (docs of the contract: /work/notes/console-contract.md, docs/console.md):
sign in and open CU_DIGITAL; an account's chart and postings; a green chain badge;
an entry posted through the API appearing on the live page; a portal transfer
submitted twice posting once; a 403 page for a scoped key on another tenant; a red
badge naming the sequence of an event changed in the store. Then every page, at
desktop and phone widths: no console error, no serious or critical axe violation, no
sideways scroll (tests/console/browser.py).

With CONSOLE_SCREENSHOTS=1 the page tour keeps a PNG of every page in docs/console/.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from tests.commands import entry_payload, transfer_legs
from tests.console.browser import (
    DESKTOP,
    WIDTHS,
    Tab,
    launched_chromium,
    page_problems,
    screenshot,
    watched_page,
)
from tests.console.stack import (
    OTHER,
    PLATFORM_KEY,
    SCOPED_KEY,
    TENANT,
    Stack,
    console_stack,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Locator, Page

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
except ImportError:  # launched_chromium skips (or fails) with the reason
    PlaywrightTimeout = TimeoutError  # type: ignore[misc,assignment]

pytestmark = pytest.mark.slow

LIVE_WITHIN_S = 2.0  # the issue asks for "within a second"; the margin is the browser's
BADGE_WITHIN_S = 15.0  # the console's watcher walks the chain in the background
CORRUPT_AFTER = 20  # the event changed is one of the twin's seed phase, not the last
SMALL_TWIN = ("--customers", "5", "--days", "1", "--seed", "7")
# The scenario started from the console's form: the twin seeds only an empty tenant or
# one it made, so this is the stack's own run again (it replays; nothing new is posted).
SCENARIO = {"size": "30", "days": "3", "seed": "42"}  # the stack's run again: replays
SCENARIO_WITHIN_S = 60
# The 403 and 404 pages are served with their status, which Chromium reports on the
# console as an error.
STATUS_ERROR = "the server responded with a status of {}"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with launched_chromium() as browser:
        yield browser


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with console_stack(tmp_path_factory.mktemp("console")) as served:
        yield served


def signed_in(chromium: Browser, stack: Stack, key: str, width: dict[str, Any]) -> BrowserContext:
    """A browser context whose session is signed in with `key` (through the login form's
    POST, which shares the context's cookies)."""
    context = chromium.new_context(base_url=stack.console_url, **width)
    reply = context.request.post("/login", form={"api_key": key}, max_redirects=0)
    assert reply.status == 303, f"sign-in with {key[:12]}...: {reply.status} {reply.text()[:300]}"
    return context


@pytest.fixture(scope="module")
def operator(chromium: Browser, stack: Stack) -> Iterator[BrowserContext]:
    context = signed_in(chromium, stack, PLATFORM_KEY, DESKTOP)
    yield context
    context.close()


@pytest.fixture
def tab(operator: BrowserContext) -> Iterator[Tab]:
    opened = watched_page(operator)
    yield opened
    opened.page.close()


def hook(page: Page, name: str) -> Locator:
    """The element(s) with `data-testid=name`."""
    return page.get_by_test_id(name)


def badge_state(
    page: Page, url: str, state: str, text: str = "", within_s: float = BADGE_WITHIN_S
) -> Locator:
    """The page's chain badge once it says `state` and `text` (the page reloaded until
    it does, or until `within_s` has passed)."""
    deadline = time.monotonic() + within_s
    while True:
        page.goto(url)
        badge = hook(page, "chain-badge").first
        said = re.search(re.escape(text) + r"\b", badge.inner_text())
        if badge.get_attribute("data-state") == state and said:
            return badge
        if time.monotonic() > deadline:
            return badge
        time.sleep(0.5)


def member_with_two_accounts(stack: Stack) -> tuple[str, str, str]:
    """A member of the twin run with a funded transaction account and another account:
    (customerId, the account to pay from, the one to pay into)."""
    accounts = stack.get(f"/tenants/{TENANT}/accounts", accountType="CUSTOMER", limit=200)
    by_member: dict[str, list[dict[str, Any]]] = {}
    for account in accounts["accounts"]:
        by_member.setdefault(account["customerId"], []).append(account)
    for member, owned in sorted(by_member.items()):
        funded = [a for a in owned if a["productType"] == "DEPOSIT" and a["balance"] >= 10]
        others = [a for a in owned if funded and a["accountId"] != funded[0]["accountId"]]
        deposits = [a for a in others if a["productType"] == "DEPOSIT"]
        if funded and deposits:
            return member, funded[0]["accountId"], deposits[0]["accountId"]
    raise AssertionError("the twin run made no member with two deposit accounts")


def portal_member(tab: Tab, stack: Stack, member: str, *, by_reference: bool = False) -> None:
    """Sign in to the portal as `member`: picked from the list, or by typing its
    externalRef into the sign-in form."""
    page = tab.page
    page.goto(f"/portal/{TENANT}")
    if by_reference:
        reference = stack.get(f"/tenants/{TENANT}/customers/{member}")["externalRef"]
        form = hook(page, "member-signin")
        form.get_by_label(re.compile("reference", re.I)).fill(reference)
        button = form.locator("[type=submit]")
    else:
        button = page.locator(f'[data-testid=member-pick][data-customer="{member}"]')
    with page.expect_navigation():
        button.click()
    assert page.url.endswith(f"/portal/{TENANT}/home"), page.url


def entries_after(stack: Stack, sequence: int) -> set[str]:
    """The entries posted on the tenant after `sequence` (by their entryId)."""
    return {
        str(e["payload"]["entryId"])
        for e in stack.events_after(sequence)
        if isinstance(e.get("payload"), dict) and "entryId" in e["payload"]
    }


# ------------------------------------------------------------------ the list


def test_sign_in_and_open_cu_digital(chromium: Browser, stack: Stack) -> None:
    context = chromium.new_context(base_url=stack.console_url, **DESKTOP)
    tab = watched_page(context)
    page = tab.page
    page.goto("/")
    assert "/login" in page.url, "the overview must ask for a key first"
    form = hook(page, "login-form")
    form.get_by_label(re.compile("key", re.I)).fill("not-a-key-of-this-service")
    form.locator("[type=submit]").click()
    assert hook(page, "login-error").is_visible()

    form = hook(page, "login-form")
    form.get_by_label(re.compile("key", re.I)).fill(PLATFORM_KEY)
    with page.expect_navigation():
        form.locator("[type=submit]").click()
    row = hook(page, "tenant-row").and_(page.locator(f"[data-tenant={TENANT}]"))
    row.wait_for()
    customers = stack.get(f"/tenants/{TENANT}/customers", limit=1)["total"]
    assert str(customers) in row.inner_text(), row.inner_text()
    with page.expect_navigation():
        row.get_by_role("link", name=re.compile(TENANT)).first.click()
    assert page.url.endswith(f"/tenants/{TENANT}"), page.url
    assert TENANT in page.locator("h1").inner_text()
    assert hook(page, "products").locator("tr, li").count() > 1
    assert "GL_" in hook(page, "gl-accounts").inner_text()
    cookie = next(c for c in context.cookies() if c["name"] == "tc_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax", cookie
    assert PLATFORM_KEY not in cookie["value"]
    context.close()


def test_an_account_shows_its_chart_and_postings(tab: Tab, stack: Stack) -> None:
    page = tab.page
    page.goto(f"/tenants/{TENANT}/accounts?type=CUSTOMER")
    row = hook(page, "account-row").first
    account = row.get_attribute("data-account")
    assert account, "an account row names its account"
    with page.expect_navigation():
        row.get_by_role("link").first.click()
    assert page.url.endswith(f"/tenants/{TENANT}/accounts/{account}"), page.url

    chart = hook(page, "balance-chart")
    assert chart.is_visible()
    svg = chart if chart.evaluate("e => e.tagName.toLowerCase()") == "svg" else chart.locator("svg")
    assert svg.locator("path, polyline, rect, circle").count() > 0, "an empty chart"
    served = stack.get(f"/tenants/{TENANT}/accounts/{account}/events", limit=1000)["events"]
    postings = hook(page, "postings").get_by_test_id("posting-row")
    assert postings.count() >= 1, "no posting rows"
    rows = hook(page, "events").get_by_test_id("event-row").count()
    assert rows == min(len(served), 100), f"{rows} event rows for {len(served)} served events"

    last = served[-1]
    event = page.locator(f'[data-testid=event-row][data-sequence="{last["sequence"]}"]')
    assert last["hash"] in event.inner_text()
    details = event.locator("details").first
    details.locator("summary").click()
    assert details.evaluate("e => e.open")
    assert f'"prevHash": "{last["prevHash"]}"' in details.inner_text()


def test_the_chain_badge_is_green(tab: Tab, stack: Stack) -> None:
    head = stack.last_sequence()
    for url in ("/", f"/tenants/{TENANT}"):
        badge = badge_state(tab.page, url, "ok", f"Chain verified up to {head}")
        assert badge.get_attribute("data-state") == "ok", badge.inner_text()
        assert re.search(rf"Chain verified up to {head}\b", badge.inner_text()), badge.inner_text()
        color = badge.evaluate("e => getComputedStyle(e).backgroundColor")
        red, green, blue = (int(x) for x in re.findall(r"\d+", color)[:3])
        assert green > red and green > blue, f"not green: {color}"
    # The assertion the corrupted store must pass fails here, on an intact chain.
    with pytest.raises(AssertionError):
        assert_red_badge(tab.page, f"/tenants/{TENANT}", head, within_s=0)


def seconds_to_appear_live(page: Page, stack: Stack) -> float | None:
    """Open the live page, post an entry through the API, and wait for its event on the
    page: the seconds it took, or None when it did not appear within LIVE_WITHIN_S."""
    page.goto(f"/tenants/{TENANT}/live")
    hook(page, "live-feed").wait_for()
    _, source, target = member_with_two_accounts(stack)
    page.wait_for_timeout(300)  # the page's stream or poll is up
    stack.command(TENANT, "PostEntry", entry_payload(transfer_legs(source, target, 0.25)))
    posted_at = time.monotonic()
    head = stack.last_sequence()
    item = page.locator(f'[data-testid=live-item][data-sequence="{head}"]')
    try:
        item.wait_for(timeout=LIVE_WITHIN_S * 1000)
    except PlaywrightTimeout:
        return None
    return time.monotonic() - posted_at


def outcome_count(page: Page, command_type: str, outcome: str) -> int:
    """The live page's count of commands of `command_type` with `outcome` (0: no row)."""
    rows = hook(page, "outcomes").locator("tbody tr")
    for i in range(rows.count()):
        cells = [c.strip() for c in rows.nth(i).locator("td").all_inner_texts()]
        if cells[:2] == [command_type, outcome]:
            return int(cells[2].replace(",", ""))
    return 0


def test_an_entry_posted_through_the_api_appears_live(tab: Tab, stack: Stack) -> None:
    seen_after = seconds_to_appear_live(tab.page, stack)
    assert seen_after is not None, f"not on the live page within {LIVE_WITHIN_S} s"
    assert seen_after < LIVE_WITHIN_S, f"seen after {seen_after:.2f} s"

    # A refused command is an outcome on the same page: one more LEGS_MUST_BALANCE.
    page = tab.page
    before = outcome_count(page, "PostEntry", "LEGS_MUST_BALANCE")
    _, source, target = member_with_two_accounts(stack)
    legs = [(source, "CREDIT", 1), (target, "DEBIT", 2)]
    refused = stack.send(TENANT, "PostEntry", entry_payload(legs))
    assert refused.status_code == 422 and "LEGS_MUST_BALANCE" in refused.text, refused.text
    deadline = time.monotonic() + LIVE_WITHIN_S
    while outcome_count(page, "PostEntry", "LEGS_MUST_BALANCE") != before + 1:
        assert time.monotonic() < deadline, f"the refusal not counted within {LIVE_WITHIN_S} s"
        page.wait_for_timeout(100)


def test_the_live_check_fails_on_a_page_that_does_not_update(
    chromium: Browser, stack: Stack
) -> None:
    # With scripts off the page is the one the server rendered, and stays so.
    context = signed_in(chromium, stack, PLATFORM_KEY, {**DESKTOP, "java_script_enabled": False})
    assert seconds_to_appear_live(watched_page(context).page, stack) is None
    context.close()


def test_the_page_checks_fail_on_a_console_page_broken_in_the_browser(
    chromium: Browser, stack: Stack
) -> None:
    context = signed_in(chromium, stack, PLATFORM_KEY, DESKTOP)
    context.add_init_script(
        "console.error('broken on purpose');"
        "addEventListener('DOMContentLoaded', () => { document.querySelector('h1').style.color ="
        " '#ccc'; });"
    )
    tab = watched_page(context)
    tab.page.goto(f"/tenants/{TENANT}")
    problems = page_problems(tab)
    assert any("console.error" in p and "broken on purpose" in p for p in problems), problems
    assert any("axe color-contrast (serious)" in p and "h1" in p for p in problems), problems
    assert structure_problems(tab.page) == []
    tab.page.evaluate("() => { document.querySelector('main').id = 'elsewhere'; }")
    assert structure_problems(tab.page) == [f"{tab.page.url} has no <main id=main>"]
    context.close()


# The filled form sent twice at once from the page, as two clicks before the first
# answer would (Chromium itself sends one request for a double click on a button).
SUBMIT_TWICE = """async (form) => {
    const send = () => fetch(form.action, {method: "POST", body: new FormData(form)})
        .then(async (reply) => [reply.status, await reply.text()]);
    return await Promise.all([send(), send()]);
}"""


def outcome_of(html: str) -> str | None:
    found = re.search(r'data-testid="transfer-result"[^>]*data-outcome="(\w+)"', html)
    return found.group(1) if found else None


def test_a_double_submitted_transfer_posts_once(tab: Tab, stack: Stack) -> None:
    member, source, target = member_with_two_accounts(stack)
    portal_member(tab, stack, member, by_reference=True)
    page = tab.page
    page.goto(f"/portal/{TENANT}/transfer")
    form = hook(page, "transfer-form")
    assert form.locator("[name=idempotency_key]").input_value(), "the form carries its key"
    form.locator("[name=from_account]").select_option(source)
    form.locator("[name=to_account]").select_option(target)
    form.locator("[name=amount]").fill("1.00")
    before = stack.last_sequence()

    # Twice at once: one is posted; the other a replay, or told the first is in flight.
    replies = form.evaluate(SUBMIT_TWICE)
    outcomes = sorted(str(outcome_of(html)) for _, html in replies)
    assert outcomes.count("posted") == 1, (outcomes, [html[:300] for _, html in replies])
    assert set(outcomes) <= {"posted", "replayed", "refused"}, outcomes
    # And a third time through the button: the page says it was already done.
    with page.expect_navigation():
        form.locator("[type=submit]").click()
    result = hook(page, "transfer-result")
    assert result.get_attribute("data-outcome") == "replayed", result.inner_text()
    assert "once" in result.inner_text()
    posted = entries_after(stack, before)
    assert len(posted) == 1, f"{len(posted)} entries posted by one form: {posted}"

    # The count can see two: the same transfer from two forms (two keys) is two payments.
    before = stack.last_sequence()
    fields: dict[str, str | float | bool] = {
        "from_account": source,
        "to_account": target,
        "amount": "1.00",
    }
    for _ in range(2):
        page.goto(f"/portal/{TENANT}/transfer")
        fields["idempotency_key"] = (
            hook(page, "transfer-form").locator("[name=idempotency_key]").input_value()
        )
        assert page.request.post(f"/portal/{TENANT}/transfer", form=fields).ok
    assert len(entries_after(stack, before)) == 2


def test_a_scoped_key_gets_403_on_another_tenant(chromium: Browser, stack: Stack) -> None:
    # The platform key sees the other tenant (so the console lists it from now on).
    platform = signed_in(chromium, stack, PLATFORM_KEY, DESKTOP)
    assert platform.request.get(f"/tenants/{OTHER}").status == 200
    platform.close()

    context = signed_in(chromium, stack, SCOPED_KEY, DESKTOP)
    tab = watched_page(context)
    page = tab.page
    reply = page.goto(f"/tenants/{OTHER}")
    assert reply is not None and reply.status == 403, reply and reply.status
    assert hook(page, "forbidden").is_visible()
    for path in (f"/tenants/{OTHER}/accounts", f"/portal/{OTHER}", f"/tenants/{OTHER}/live"):
        assert page.goto(path).status == 403, path  # type: ignore[union-attr]
    page.goto("/")
    rows = hook(page, "tenant-row")
    assert [rows.nth(i).get_attribute("data-tenant") for i in range(rows.count())] == [TENANT]
    assert OTHER not in page.content()
    context.close()


def assert_red_badge(page: Page, url: str, sequence: int, within_s: float) -> None:
    badge = badge_state(page, url, "broken", f"Chain broken at {sequence}", within_s)
    text = badge.inner_text()
    assert badge.get_attribute("data-state") == "broken", text
    assert re.search(rf"Chain broken at {sequence}\b", text), text


def test_a_corrupted_event_turns_the_badge_red(
    chromium: Browser, tmp_path_factory: pytest.TempPathFactory
) -> None:
    workdir = tmp_path_factory.mktemp("corrupt")
    with console_stack(workdir, size=SMALL_TWIN, corrupt_after=CORRUPT_AFTER) as broken:
        assert broken.corrupted is not None and broken.corrupted < broken.last_sequence()
        context = signed_in(chromium, broken, PLATFORM_KEY, DESKTOP)
        tab = watched_page(context)
        for url in ("/", f"/tenants/{TENANT}"):
            assert_red_badge(tab.page, url, broken.corrupted, BADGE_WITHIN_S)
        screenshot(tab.page, "chain-broken")
        context.close()


# ------------------------------------------------------------------ every page


# What the contract asks of every page: one main landmark the skip link leads to, one
# h1, a nav.
STRUCTURE = """() => {
    const missing = [];
    if (!document.querySelector("main#main")) missing.push("<main id=main>");
    if (document.querySelectorAll("h1").length !== 1) missing.push("exactly one <h1>");
    if (!document.querySelector("nav")) missing.push("a <nav>");
    const first = document.querySelector("body a[href]");
    if (!first || first.getAttribute("href") !== "#main") missing.push("a skip link first");
    return missing;
}"""


def structure_problems(page: Page) -> list[str]:
    missing: list[str] = page.evaluate(STRUCTURE)
    return [f"{page.url} has no {what}" for what in missing]


def test_the_skip_link_is_the_first_stop_shows_when_focused_and_leads_to_main(
    tab: Tab,
) -> None:
    page = tab.page
    page.goto(f"/tenants/{TENANT}")
    page.keyboard.press("Tab")
    focused = page.evaluate(
        """() => { const e = document.activeElement; const r = e.getBoundingClientRect();
        return {href: e.getAttribute("href"), left: r.left, top: r.top, width: r.width,
                outline: getComputedStyle(e).outlineStyle}; }"""
    )
    assert focused["href"] == "#main", focused
    assert focused["left"] >= 0 and focused["top"] >= 0 and focused["width"] > 0, focused
    assert focused["outline"] != "none", f"no visible focus: {focused}"
    page.keyboard.press("Enter")
    # The jump to the fragment lands after the key press returns (under load, later).
    page.wait_for_function("() => location.hash === '#main'", timeout=5000)
    assert page.url.endswith("#main")
    assert structure_problems(page) == []


def tour(stack: Stack) -> list[tuple[str, str, int]]:
    """Every page of the contract: (name, path, expected status), the member signed in
    first."""
    accounts = stack.get(f"/tenants/{TENANT}/accounts", accountType="CUSTOMER", limit=1)
    account_page = f"/tenants/{TENANT}/accounts/{accounts['accounts'][0]['accountId']}"
    customer = stack.get(f"/tenants/{TENANT}/customers", limit=1)["customers"][0]
    surname = str(customer.get("lastName") or customer.get("fullName", ""))[:4]
    return [
        ("overview", "/", 200),
        ("tenant", f"/tenants/{TENANT}", 200),
        ("customers", f"/tenants/{TENANT}/customers?q={surname}", 200),
        ("customer", f"/tenants/{TENANT}/customers/{customer['customerId']}", 200),
        ("accounts", f"/tenants/{TENANT}/accounts", 200),
        ("account", account_page, 200),
        ("events", f"/tenants/{TENANT}/events", 200),
        ("not-found", f"/tenants/{TENANT}/accounts/no-such-account", 404),
        ("live", f"/tenants/{TENANT}/live", 200),
        ("checks", f"/tenants/{TENANT}/checks", 200),
        ("scenarios", f"/tenants/{TENANT}/scenarios", 200),
        ("portal-signin", f"/portal/{TENANT}", 200),
        ("portal-home", f"/portal/{TENANT}/home", 200),
        ("portal-transfer", f"/portal/{TENANT}/transfer", 200),
        ("portal-bill", f"/portal/{TENANT}/bill", 200),
        ("portal-profile", f"/portal/{TENANT}/profile", 200),
    ]


# Pages whose phone-width screenshot docs/console.md shows beside the desktop one.
PHONE_SHOTS = ("overview", "account", "portal-home")


@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_every_page_is_clean(chromium: Browser, stack: Stack, width: str) -> None:
    """No console error, no serious or critical axe violation, no sideways scroll, on
    every page (each problem named; all pages visited before failing)."""
    problems: list[str] = []
    anonymous = chromium.new_context(base_url=stack.console_url, **WIDTHS[width])
    tab = watched_page(anonymous)
    tab.page.goto("/login")
    problems += page_problems(tab)
    if width == "desktop":
        screenshot(tab.page, "login")
    anonymous.close()

    member, _, _ = member_with_two_accounts(stack)
    context = signed_in(chromium, stack, PLATFORM_KEY, WIDTHS[width])
    tab = watched_page(context)
    portal_member(tab, stack, member)
    for name, path, status in tour(stack):
        tab.errors.clear()
        reply = tab.page.goto(path)
        if reply is None or reply.status != status:
            problems.append(f"{path}: status {reply and reply.status}, not {status}")
            continue
        problems += page_problems(tab, allowed_errors=(STATUS_ERROR.format(status),))
        problems += structure_problems(tab.page)
        if width == "desktop" or name in PHONE_SHOTS:
            screenshot(tab.page, name if width == "desktop" else f"{name}-phone")

    # The pages a form leads to: checks run, a transfer made, a bill paid, a scenario.
    problems += after_forms(tab, stack, width)
    if width == "desktop":
        problems += scenario_run(tab)
    context.close()

    scoped = signed_in(chromium, stack, SCOPED_KEY, WIDTHS[width])
    tab = watched_page(scoped)
    tab.page.goto(f"/tenants/{OTHER}")
    problems += page_problems(tab, allowed_errors=(STATUS_ERROR.format(403),))
    if width == "desktop":
        screenshot(tab.page, "forbidden")
    scoped.close()
    assert not problems, f"{len(problems)} problems at {width} width:\n  " + "\n  ".join(problems)


def scenario_run(tab: Tab) -> list[str]:
    """Start a small scenario from its form, watch its progress to the end; the
    problems of the page while it runs and once it is done."""
    page = tab.page
    page.goto(f"/tenants/{TENANT}/scenarios")
    tab.errors.clear()
    form = hook(page, "scenario-form")
    for field, value in SCENARIO.items():
        form.locator(f"[name={field}]").fill(value)
    with page.expect_navigation():
        form.locator("[type=submit]").click()
    progress = hook(page, "scenario-progress")
    progress.wait_for()
    problems = page_problems(tab)
    page.wait_for_selector(
        '[data-testid=scenario-progress][data-running="false"]', timeout=SCENARIO_WITHIN_S * 1000
    )
    done = hook(page, "scenario-progress")
    exit_code = done.get_attribute("data-exit-code")
    if exit_code != "0":
        output = done.locator("pre").first.text_content() or ""
        problems.append(f"the scenario ended with exit code {exit_code}: {output[-1500:]}")
    # The form again, as it was sent, and its button, disabled while the run lasted,
    # enabled once the progress said it ended (without a reload).
    for field, value in SCENARIO.items():
        shown = form.locator(f"[name={field}]").input_value()
        if shown != value:
            problems.append(f"after the run the form shows {field}={shown}, not {value}")
    if form.locator("[type=submit]").is_disabled():
        problems.append("the start button is still disabled after the run ended")
    problems += page_problems(tab)
    screenshot(page, "scenario-progress")
    return problems


def after_forms(tab: Tab, stack: Stack, width: str) -> list[str]:
    """Submit the checks button, a transfer and a bill; the problems of the pages that
    come back."""
    problems: list[str] = []
    page = tab.page
    _, source, target = member_with_two_accounts(stack)

    page.goto(f"/tenants/{TENANT}/checks")
    tab.errors.clear()
    with page.expect_navigation():
        hook(page, "run-checks").click()
    hook(page, "check-result").first.wait_for(timeout=30_000)
    problems += page_problems(tab)
    if width == "desktop":
        screenshot(page, "checks-results")

    for kind, fields in (
        ("transfer", {"from_account": source, "to_account": target, "amount": "0.50"}),
        ("bill", {"from_account": source, "biller": "Power Co", "reference": "123456"}),
    ):
        page.goto(f"/portal/{TENANT}/{kind}")
        tab.errors.clear()
        form = hook(page, f"{kind}-form")
        for field, value in fields.items():
            control = form.locator(f"[name={field}]")
            if control.evaluate("e => e.tagName") == "SELECT":
                control.select_option(value)
            else:
                control.fill(value)
        form.locator("[name=amount]").fill("0.50")
        with page.expect_navigation():
            form.locator("[type=submit]").click()
        hook(page, f"{kind}-result").wait_for()
        problems += page_problems(tab)
        if width == "desktop":
            screenshot(page, f"portal-{kind}-done")
    return problems
