"""The operator console's pages: the tenants, a tenant, its customers, accounts and
events, the live feed, and the twin's checks and scenarios (`router`, which
`console.app.create_app` includes)."""

from __future__ import annotations

import contextlib
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from prometheus_client.parser import text_string_to_metric_families

from console import jobs as twin_jobs
from console.api import CoreApi, Forbidden, NotFound, NotOffered, Page
from console.chain import TenantWatch
from console.context import (
    PAGE_SIZE,
    Ctx,
    CtxDep,
    customer_by_id,
    pager,
    render,
    tenant_or_access,
    walk_account_events,
)
from console.ledger import balance_chart, daily_balances, money, opening_balance, postings, to_minor

EVENTS_SHOWN = 100
POSTINGS_SHOWN = 100
LIVE_INITIAL = 10
LIVE_BATCH = 200
# The mock's count of commands by type and outcome (ACCEPTED, REPLAYED or the refusal).
OUTCOMES_SAMPLE = "mock_core_commands_total"

router = APIRouter()


def _page_number(page: int) -> int:
    return max(page, 1)


def trial_balance_text(watch: TenantWatch) -> str:
    if watch.trial_balance_note:
        return watch.trial_balance_note
    tb = watch.trial_balance
    if tb is None:
        return "being computed"
    return (
        f"{money(to_minor(tb.get('sum', 0)))} at sequence {tb.get('throughSequence')} "
        f"(debits {money(to_minor(tb.get('totalDebits', 0)))} = credits "
        f"{money(to_minor(tb.get('totalCredits', 0)))})"
    )


def outcome_counts(metrics: str | None) -> list[dict[str, Any]] | None:
    """Commands by type and outcome from the target's Prometheus text, or None."""
    if metrics is None:
        return None
    rows: list[dict[str, Any]] = []
    for family in text_string_to_metric_families(metrics):
        for sample in family.samples:
            if sample.name == OUTCOMES_SAMPLE:
                rows.append(
                    {
                        "command_type": sample.labels.get("command_type", ""),
                        "outcome": sample.labels.get("outcome", ""),
                        "count": int(sample.value),
                    }
                )
    if not rows:
        return None
    return sorted(rows, key=lambda r: (r["outcome"] == "ACCEPTED", r["command_type"], r["outcome"]))


def scenario_progress(api: CoreApi, tenant: str) -> dict[str, Any] | None:
    """What the target holds of the tenant now (the twin prints nothing while it runs,
    so its progress is read from the target): customers and the last sequence."""
    try:
        customers = api.customers(tenant, limit=1).total
    except (NotFound, NotOffered):
        return None
    try:
        head = tenant_or_access(api, tenant).get("lastSequence")
    except NotFound:
        head = None
    return {"customers": customers, "events": head}


# -------------------------------------------------------------- overview


@router.get("/", response_class=HTMLResponse)
def overview(c: CtxDep) -> Response:
    rows = []
    for tenant in list(c.console.tenants):
        try:
            info = tenant_or_access(c.api, tenant)
        except (Forbidden, NotFound):
            continue  # nothing of a tenant the key may not see, or that is not there
        customers = c.api.customers(tenant, limit=1).total
        accounts = c.api.accounts(tenant, limit=1).total
        watch = c.watch(tenant)
        rows.append(
            {
                "tenant": tenant,
                "name": info.get("displayName", tenant),
                "customers": customers,
                "accounts": accounts,
                "last_sequence": info.get("lastSequence"),
                "trial_balance": trial_balance_text(watch),
                "watch": watch,
            }
        )
    return render(c.request, "overview.html", title="Tenants", rows=rows)


@router.get("/open")
def open_tenant(c: CtxDep, tenant: str = "") -> Response:
    code = tenant.strip().upper()
    if not code:
        return RedirectResponse("/", status_code=303)
    tenant_or_access(c.api, code)
    c.console.remember(code)
    return RedirectResponse(f"/tenants/{quote(code)}", status_code=303)


@router.get("/tenants/{tenant}/chain-badge", response_class=HTMLResponse)
def chain_badge(c: CtxDep, tenant: str) -> Response:
    tenant_or_access(c.api, tenant)
    return render(c.request, "_badge.html", tenant=tenant, watch=c.watch(tenant))


@router.get("/tenants/{tenant}", response_class=HTMLResponse)
def tenant_page(c: CtxDep, tenant: str) -> Response:
    info = tenant_or_access(c.api, tenant)
    c.console.remember(tenant)
    try:
        products: list[dict[str, Any]] | None = c.api.products(tenant)
    except NotOffered:
        products = None
    try:
        gl: list[dict[str, Any]] | None = c.api.accounts(tenant, account_type="GL", limit=100).items
    except NotOffered:
        gl = None
    watch = c.watch(tenant)
    return render(
        c.request,
        "tenant.html",
        title=f"Tenant {tenant}",
        tenant=tenant,
        info=info,
        products=products,
        gl=gl,
        customers=c.api.customers(tenant, limit=1).total,
        accounts=c.api.accounts(tenant, limit=1).total,
        watch=watch,
        trial_balance=trial_balance_text(watch),
    )


@router.get("/tenants/{tenant}/customers", response_class=HTMLResponse)
def customers_page(
    c: CtxDep, tenant: str, q: str = "", page: Annotated[int, Query(ge=1)] = 1
) -> Response:
    tenant_or_access(c.api, tenant)
    page = _page_number(page)
    query = q.strip()
    if query:
        found = c.console.customer_indexes.get(tenant, c.api).search(query)
        items = found[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        total = len(found)
    else:
        listed = c.api.customers(tenant, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        items, total = listed.items, listed.total
    return render(
        c.request,
        "customers.html",
        title=f"Customers of {tenant}",
        tenant=tenant,
        q=query,
        customers=items,
        pager=pager(total, page),
    )


@router.get("/tenants/{tenant}/customers/{customer}", response_class=HTMLResponse)
def customer_page(c: CtxDep, tenant: str, customer: str) -> Response:
    tenant_or_access(c.api, tenant)
    person = customer_by_id(c.console, c.api, tenant, customer)
    accounts = c.api.accounts(tenant, customer_id=customer, limit=100)
    return render(
        c.request,
        "customer.html",
        title=f"Customer {person.get('fullName') or customer}",
        tenant=tenant,
        person=person,
        accounts=accounts.items,
    )


@router.get("/tenants/{tenant}/accounts", response_class=HTMLResponse)
def accounts_page(
    c: CtxDep,
    tenant: str,
    type: str = "CUSTOMER",
    customer: str = "",
    page: Annotated[int, Query(ge=1)] = 1,
) -> Response:
    tenant_or_access(c.api, tenant)
    kind = type.upper() if type.upper() in ("CUSTOMER", "GL", "ALL") else "CUSTOMER"
    page = _page_number(page)
    try:
        listed = c.api.accounts(
            tenant,
            customer_id=customer.strip() or None,
            account_type=None if kind == "CUSTOMER" else kind,
            limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
        )
    except NotOffered:
        listed, offered = Page([], 0, PAGE_SIZE, 0), False
    else:
        offered = True
    return render(
        c.request,
        "accounts.html",
        title=f"Accounts of {tenant}",
        tenant=tenant,
        kind=kind,
        customer=customer.strip(),
        accounts=listed.items,
        offered=offered,
        pager=pager(listed.total, page),
    )


@router.get("/tenants/{tenant}/accounts/{account}", response_class=HTMLResponse)
def account_page(
    c: CtxDep, tenant: str, account: str, after: Annotated[int, Query(ge=0)] = 0
) -> Response:
    info = tenant_or_access(c.api, tenant)
    events, more = walk_account_events(c.api, tenant, account, after)
    try:
        details = c.api.account(tenant, account)
        balance_note = None
    except NotOffered:
        details = {"accountId": account, "balance": None}
        balance_note = "this target does not offer the account read"
    opening, opening_note = 0, None
    if after > 0:
        found = opening_balance(account, events)
        if found is None:
            opening_note = f"the chart shows the change since sequence {after}"
        else:
            opening = found
    items = postings(account, events, opening)
    days = daily_balances(items)
    currency = str(details.get("currency") or info.get("baseCurrency") or "")
    chart = balance_chart(
        days, title=f"Balance of account {account} by booking date", currency=currency
    )
    return render(
        c.request,
        "account.html",
        title=f"Account {details.get('accountAlias') or account}",
        tenant=tenant,
        account=details,
        chart=chart,
        days=days,
        postings=list(reversed(items))[:POSTINGS_SHOWN],
        posting_count=len(items),
        events=list(reversed(events))[:EVENTS_SHOWN],
        event_count=len(events),
        after=after,
        more=more,
        opening_note=opening_note,
        balance_note=balance_note,
        currency=currency,
    )


@router.get("/tenants/{tenant}/events", response_class=HTMLResponse)
def events_page(c: CtxDep, tenant: str, after: Annotated[int, Query(ge=0)] = 0) -> Response:
    tenant_or_access(c.api, tenant)
    try:
        page = c.api.events(tenant, after=after, limit=PAGE_SIZE)
        events, offered = page.events, True
    except NotOffered:
        events, offered = [], False
    return render(
        c.request,
        "events.html",
        title=f"Events of {tenant}",
        tenant=tenant,
        events=events,
        after=after,
        offered=offered,
        next_after=events[-1]["sequence"] if len(events) == PAGE_SIZE else None,
    )


# -------------------------------------------------------------- live


def _live_context(c: Ctx, tenant: str, after: int) -> dict[str, Any]:
    try:
        page = c.api.events(tenant, after=after, limit=LIVE_BATCH)
        events, offered = page.events, True
    except NotOffered:
        events, offered = [], False
    last = int(events[-1]["sequence"]) if events else after
    return {
        "tenant": tenant,
        "events": list(reversed(events)),
        "after": last,
        "offered": offered,
        "outcomes": outcome_counts(c.api.metrics_text()),
    }


@router.get("/tenants/{tenant}/live", response_class=HTMLResponse)
def live_page(c: CtxDep, tenant: str) -> Response:
    info = tenant_or_access(c.api, tenant)
    head = int(info.get("lastSequence") or 0)
    context = _live_context(c, tenant, max(head - LIVE_INITIAL, 0))
    return render(c.request, "live.html", title=f"Live: {tenant}", **context)


@router.get("/tenants/{tenant}/live/feed", response_class=HTMLResponse)
def live_feed(c: CtxDep, tenant: str, after: Annotated[int, Query(ge=0)] = 0) -> Response:
    tenant_or_access(c.api, tenant)
    return render(c.request, "_live_feed.html", **_live_context(c, tenant, after))


# -------------------------------------------------------------- checks and scenarios


@router.get("/tenants/{tenant}/checks", response_class=HTMLResponse)
def checks_page(c: CtxDep, tenant: str) -> Response:
    tenant_or_access(c.api, tenant)
    job = c.console.jobs.latest("checks", tenant)
    results = twin_jobs.read_results(job) if job is not None and not job.running else None
    return render(
        c.request,
        "checks.html",
        title=f"Invariant checks: {tenant}",
        tenant=tenant,
        job=job,
        results=results,
    )


@router.post("/tenants/{tenant}/checks")
def run_checks(c: CtxDep, tenant: str) -> Response:
    tenant_or_access(c.api, tenant)
    run_log = c.console.jobs.last_run_log(tenant)
    c.console.jobs.start(
        "checks",
        tenant,
        lambda workdir: twin_jobs.checks_argv(
            c.console.base_url, c.key, tenant, workdir / "checks.json", run_log
        ),
    )
    return RedirectResponse(f"/tenants/{quote(tenant)}/checks", status_code=303)


@router.get("/tenants/{tenant}/scenarios", response_class=HTMLResponse)
def scenarios_page(c: CtxDep, tenant: str) -> Response:
    tenant_or_access(c.api, tenant)
    job = c.console.jobs.latest("scenario", tenant)
    return render(
        c.request,
        "scenarios.html",
        title=f"Scenarios: {tenant}",
        tenant=tenant,
        job=job,
        progress=scenario_progress(c.api, tenant),
        limits={"customers": twin_jobs.CUSTOMERS_MAX, "days": twin_jobs.DAYS_MAX},
    )


@router.post("/tenants/{tenant}/scenarios", response_class=HTMLResponse)
def start_scenario(
    c: CtxDep,
    tenant: str,
    size: Annotated[int, Form(ge=1, le=twin_jobs.CUSTOMERS_MAX)] = 100,
    days: Annotated[int, Form(ge=1, le=twin_jobs.DAYS_MAX)] = 3,
    seed: Annotated[int, Form()] = 42,
) -> Response:
    with contextlib.suppress(NotFound):  # the scenario's bootstrap creates the tenant
        tenant_or_access(c.api, tenant)
    c.console.remember(tenant)
    c.console.jobs.start(
        "scenario",
        tenant,
        lambda workdir: twin_jobs.scenario_argv(
            c.console.base_url, c.key, tenant, size, days, seed, workdir / "output"
        ),
        {"size": size, "days": days, "seed": seed},
    )
    return RedirectResponse(f"/tenants/{quote(tenant)}/scenarios", status_code=303)


@router.get("/tenants/{tenant}/jobs/{kind}", response_class=HTMLResponse)
def job_progress(c: CtxDep, tenant: str, kind: str) -> Response:
    try:
        tenant_or_access(c.api, tenant)
    except NotFound:
        if kind != "scenario":  # a scenario's tenant may not be there yet
            raise
    job = c.console.jobs.latest(kind, tenant) if kind in ("checks", "scenario") else None
    response = render(
        c.request,
        "_job.html",
        tenant=tenant,
        job=job,
        kind=kind,
        progress=scenario_progress(c.api, tenant) if kind == "scenario" else None,
    )
    if job is not None and not job.running and kind == "checks":
        response.headers["HX-Refresh"] = "true"
    return response
