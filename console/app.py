"""The operator console and member portal: server-rendered pages over TuringCore's API.

Every read and write goes through `console.api.CoreApi` (the generated client); a
route parses its input, calls the API, and renders a template. API errors become
pages in one place (`_api_error`): 403 is the forbidden page, 404 the not-found
page, 401 sends the browser to the sign-in form.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import httpx
import orjson
from fastapi import Depends, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from prometheus_client.parser import text_string_to_metric_families

from console import jobs as twin_jobs
from console.api import (
    PAGE_MAX,
    ApiError,
    CoreApi,
    Forbidden,
    NotFound,
    NotOffered,
    Page,
    Unauthenticated,
)
from console.chain import Activity, TenantWatch, Watchers
from console.ledger import (
    balance_chart,
    daily_balances,
    money,
    opening_balance,
    postings,
    to_minor,
)
from console.portal import (
    BILL_ACCOUNT,
    FormProblem,
    entry_payload,
    member_words,
    parse_amount,
)
from console.search import CustomerIndexes
from console.sessions import COOKIE, Session, Sessions

HERE = Path(__file__).parent
PAGE_SIZE = 50
ACCOUNT_EVENTS_MAX = 500
EVENTS_SHOWN = 100
POSTINGS_SHOWN = 100
LIVE_INITIAL = 10
LIVE_BATCH = 200
RECENT_TRANSACTIONS = 20
DEFAULT_TENANTS = ("CU_DIGITAL",)
# The mock's count of commands by type and outcome (ACCEPTED, REPLAYED or the refusal).
OUTCOMES_SAMPLE = "mock_core_commands_total"


class LoginRequired(Exception):
    """No session, or the API no longer accepts its key."""


@dataclass
class Console:
    """The app's state: the target, the known tenants, sessions, watchers and jobs."""

    base_url: str
    api_key: str | None
    transport: httpx.BaseTransport | None
    tenants: list[str]
    sessions: Sessions = field(default_factory=Sessions)
    customer_indexes: CustomerIndexes = field(default_factory=CustomerIndexes)
    _apis: dict[str, CoreApi] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.activity = Activity()
        self.watchers = Watchers(self.api, self.activity)
        self.jobs = twin_jobs.Jobs(self.base_url)

    def api(self, api_key: str) -> CoreApi:
        """The API client for `api_key` (one per key, so its connections are reused)."""
        with self._lock:
            api = self._apis.get(api_key)
            if api is None:
                api = self._apis[api_key] = CoreApi(
                    self.base_url, api_key, transport=self.transport
                )
            return api

    def remember(self, tenant: str) -> None:
        with self._lock:
            if tenant not in self.tenants:
                self.tenants.append(tenant)

    def close(self) -> None:
        self.watchers.stop()
        self.jobs.stop()
        with self._lock:
            apis, self._apis = list(self._apis.values()), {}
        for api in apis:
            api.close()


@dataclass
class Ctx:
    """What a route gets: the console, the session and its API client."""

    console: Console
    session: Session
    api: CoreApi
    request: Request

    @property
    def key(self) -> str:
        return self.session.api_key

    def watch(self, tenant: str) -> TenantWatch:
        return self.console.watchers.get(tenant, self.key)


# ------------------------------------------------------------------ helpers


def tenant_or_access(api: CoreApi, tenant: str) -> dict[str, Any]:
    """The tenant (raises Forbidden/NotFound); where the tenant read is not offered,
    the access is checked with a one-row customer read instead."""
    try:
        return api.tenant(tenant)
    except NotOffered:
        api.customers(tenant, limit=1)
        return {"tenantId": tenant, "lastSequence": None, "baseCurrency": "AUD"}


def _page_number(page: int) -> int:
    return max(page, 1)


def pager(total: int, page: int, size: int = PAGE_SIZE) -> dict[str, int]:
    """Page numbers for a list of `total` items."""
    pages = max((total + size - 1) // size, 1)
    return {"page": page, "pages": pages, "total": total, "size": size}


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


def walk_account_events(
    api: CoreApi, tenant: str, account: str, after: int, cap: int = ACCOUNT_EVENTS_MAX
) -> tuple[list[dict[str, Any]], int | None]:
    """The account's events after `after`, up to `cap` (paged by offset, which the
    published contract has); the sequence to continue after when there are more, or
    None (also where the target serves no sequences)."""
    events: list[dict[str, Any]] = []
    while len(events) < cap:
        size = min(PAGE_MAX, cap - len(events))
        page = api.account_events(tenant, account, after=after, offset=len(events), limit=size)
        events.extend(page.events)
        if len(page.events) < size:
            return events, None
    last = events[-1].get("sequence")
    return events, int(last) if last is not None else None


def customer_by_id(console: Console, api: CoreApi, tenant: str, customer: str) -> dict[str, Any]:
    """One customer; where the target does not offer the customer read, its entry in
    the console's copy of the list (NotFound when it is not there)."""
    try:
        return api.customer(tenant, customer)
    except NotOffered:
        index = console.customer_indexes.get(tenant, api)
        found = next((c for c in index.items if c.get("customerId") == customer), None)
        if found is None:
            raise NotFound(404, {"error": "NOT_FOUND", "message": f"customer {customer}"}) from None
        return found


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


def raw_json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()


def session_of(console: Console, request: Request) -> Session | None:
    """The request's session; with the console's own key, a session for it."""
    sid = getattr(request.state, "new_session", None) or request.cookies.get(COOKIE)
    session = console.sessions.get(sid)
    if session is None and console.api_key is not None:
        # Signed in by the console's own key: a session of its own all the same, for
        # the portal's member (the middleware sends its cookie).
        request.state.new_session = sid = console.sessions.create(console.api_key)
        session = console.sessions.get(sid)
    return session


def _ctx(request: Request) -> Ctx:
    console: Console = request.app.state.console
    session = session_of(console, request)
    if session is None:
        raise LoginRequired
    return Ctx(console, session, console.api(session.api_key), request)


CtxDep = Annotated[Ctx, Depends(_ctx)]


# ------------------------------------------------------------------ the app


def create_app(
    base_url: str,
    api_key: str | None = None,
    *,
    transport: httpx.BaseTransport | None = None,
    tenants: Sequence[str] = DEFAULT_TENANTS,
) -> FastAPI:
    """The console for the TuringCore at `base_url` (the service root or its /v1).
    With `api_key` every visitor is signed in with it; `transport` lets tests point
    the API client at an in-process service."""
    console = Console(base_url, api_key, transport, list(tenants))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> Any:
        yield
        console.close()

    app = FastAPI(title="TuringCore console", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.console = console

    @app.middleware("http")
    async def _around_each_request(request: Request, call_next: Any) -> Response:
        """The chain threads give way while a request is served; a session made for the
        console's own key gets its cookie."""
        console.activity.enter()
        try:
            response: Response = await call_next(request)
        finally:
            console.activity.leave()
        sid = getattr(request.state, "new_session", None)
        if sid is not None:
            response.set_cookie(COOKIE, sid, httponly=True, samesite="lax", path="/")
        return response

    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.globals.update(money=money, raw_json=raw_json, quote=quote)
    templates.env.filters["amount"] = lambda value: money(to_minor(value or 0))

    def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("signed_in", session_of(console, request) is not None)
        context.setdefault("fixed_key", console.api_key is not None)
        return templates.TemplateResponse(request, name, context, status_code=status)

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, _: LoginRequired) -> Response:
        target = "/login?next=" + quote(request.url.path)
        if request.headers.get("HX-Request"):
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        if isinstance(exc, Unauthenticated):
            console.sessions.drop(request.cookies.get(COOKIE))
            response = RedirectResponse("/login?expired=1", status_code=303)
            response.delete_cookie(COOKIE)
            return response
        if isinstance(exc, Forbidden):
            return render(request, "forbidden.html", 403, title="Not allowed", error=exc)
        if isinstance(exc, NotFound):
            return render(request, "not_found.html", 404, title="Not found", error=exc)
        return render(request, "error.html", 502, title="The service refused", error=exc)

    @app.exception_handler(httpx.HTTPError)
    async def _unreachable(request: Request, exc: httpx.HTTPError) -> Response:
        return render(request, "error.html", 502, title="The service is unreachable", error=exc)

    # -------------------------------------------------------------- sign-in

    @app.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, next: str = "/", expired: int = 0) -> Response:
        return render(
            request, "login.html", title="Sign in", next=next, expired=bool(expired), error=None
        )

    @app.post("/login", response_class=HTMLResponse)
    def login(
        request: Request, api_key: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/"
    ) -> Response:
        key = api_key.strip()
        error = None
        if not key:
            error = "Enter an API key."
        else:
            try:
                console.api(key).customers(console.tenants[0], limit=1)
            except Unauthenticated:
                error = "The service does not accept this key."
            except (Forbidden, NotFound):
                pass  # a key scoped to other tenants, or no such tenant yet: still a key
            except httpx.HTTPError as exc:
                error = f"The service is unreachable: {exc}"
        if error is not None:
            return render(
                request, "login.html", 401, title="Sign in", next=next, expired=False, error=error
            )
        sid = console.sessions.create(key)
        target = next if next.startswith("/") and not next.startswith("//") else "/"
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(COOKIE, sid, httponly=True, samesite="lax", path="/")
        return response

    @app.post("/logout")
    def logout(request: Request) -> Response:
        console.sessions.drop(request.cookies.get(COOKIE))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    # -------------------------------------------------------------- overview

    @app.get("/", response_class=HTMLResponse)
    def overview(c: CtxDep) -> Response:
        rows = []
        for tenant in list(console.tenants):
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

    @app.get("/open")
    def open_tenant(c: CtxDep, tenant: str = "") -> Response:
        code = tenant.strip().upper()
        if not code:
            return RedirectResponse("/", status_code=303)
        tenant_or_access(c.api, code)
        console.remember(code)
        return RedirectResponse(f"/tenants/{quote(code)}", status_code=303)

    @app.get("/tenants/{tenant}/chain-badge", response_class=HTMLResponse)
    def chain_badge(c: CtxDep, tenant: str) -> Response:
        tenant_or_access(c.api, tenant)
        return render(c.request, "_badge.html", tenant=tenant, watch=c.watch(tenant))

    @app.get("/tenants/{tenant}", response_class=HTMLResponse)
    def tenant_page(c: CtxDep, tenant: str) -> Response:
        info = tenant_or_access(c.api, tenant)
        console.remember(tenant)
        try:
            products: list[dict[str, Any]] | None = c.api.products(tenant)
        except NotOffered:
            products = None
        try:
            gl: list[dict[str, Any]] | None = c.api.accounts(
                tenant, account_type="GL", limit=100
            ).items
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

    @app.get("/tenants/{tenant}/customers", response_class=HTMLResponse)
    def customers_page(
        c: CtxDep, tenant: str, q: str = "", page: Annotated[int, Query(ge=1)] = 1
    ) -> Response:
        tenant_or_access(c.api, tenant)
        page = _page_number(page)
        query = q.strip()
        if query:
            found = console.customer_indexes.get(tenant, c.api).search(query)
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

    @app.get("/tenants/{tenant}/customers/{customer}", response_class=HTMLResponse)
    def customer_page(c: CtxDep, tenant: str, customer: str) -> Response:
        tenant_or_access(c.api, tenant)
        person = customer_by_id(console, c.api, tenant, customer)
        accounts = c.api.accounts(tenant, customer_id=customer, limit=100)
        return render(
            c.request,
            "customer.html",
            title=f"Customer {person.get('fullName') or customer}",
            tenant=tenant,
            person=person,
            accounts=accounts.items,
        )

    @app.get("/tenants/{tenant}/accounts", response_class=HTMLResponse)
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

    @app.get("/tenants/{tenant}/accounts/{account}", response_class=HTMLResponse)
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

    @app.get("/tenants/{tenant}/events", response_class=HTMLResponse)
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

    @app.get("/tenants/{tenant}/live", response_class=HTMLResponse)
    def live_page(c: CtxDep, tenant: str) -> Response:
        info = tenant_or_access(c.api, tenant)
        head = int(info.get("lastSequence") or 0)
        context = _live_context(c, tenant, max(head - LIVE_INITIAL, 0))
        return render(c.request, "live.html", title=f"Live: {tenant}", **context)

    @app.get("/tenants/{tenant}/live/feed", response_class=HTMLResponse)
    def live_feed(c: CtxDep, tenant: str, after: Annotated[int, Query(ge=0)] = 0) -> Response:
        tenant_or_access(c.api, tenant)
        return render(c.request, "_live_feed.html", **_live_context(c, tenant, after))

    # -------------------------------------------------------------- checks and scenarios

    @app.get("/tenants/{tenant}/checks", response_class=HTMLResponse)
    def checks_page(c: CtxDep, tenant: str) -> Response:
        tenant_or_access(c.api, tenant)
        job = console.jobs.latest("checks", tenant)
        results = twin_jobs.read_results(job) if job is not None and not job.running else None
        return render(
            c.request,
            "checks.html",
            title=f"Invariant checks: {tenant}",
            tenant=tenant,
            job=job,
            results=results,
        )

    @app.post("/tenants/{tenant}/checks")
    def run_checks(c: CtxDep, tenant: str) -> Response:
        tenant_or_access(c.api, tenant)
        run_log = console.jobs.last_run_log(tenant)
        console.jobs.start(
            "checks",
            tenant,
            lambda workdir: twin_jobs.checks_argv(
                console.base_url, c.key, tenant, workdir / "checks.json", run_log
            ),
        )
        return RedirectResponse(f"/tenants/{quote(tenant)}/checks", status_code=303)

    @app.get("/tenants/{tenant}/scenarios", response_class=HTMLResponse)
    def scenarios_page(c: CtxDep, tenant: str) -> Response:
        tenant_or_access(c.api, tenant)
        job = console.jobs.latest("scenario", tenant)
        return render(
            c.request,
            "scenarios.html",
            title=f"Scenarios: {tenant}",
            tenant=tenant,
            job=job,
            progress=scenario_progress(c.api, tenant),
            limits={"customers": twin_jobs.CUSTOMERS_MAX, "days": twin_jobs.DAYS_MAX},
        )

    @app.post("/tenants/{tenant}/scenarios", response_class=HTMLResponse)
    def start_scenario(
        c: CtxDep,
        tenant: str,
        size: Annotated[int, Form(ge=1, le=twin_jobs.CUSTOMERS_MAX)] = 100,
        days: Annotated[int, Form(ge=1, le=twin_jobs.DAYS_MAX)] = 3,
        seed: Annotated[int, Form()] = 42,
    ) -> Response:
        with contextlib.suppress(NotFound):  # the scenario's bootstrap creates the tenant
            tenant_or_access(c.api, tenant)
        console.remember(tenant)
        console.jobs.start(
            "scenario",
            tenant,
            lambda workdir: twin_jobs.scenario_argv(
                console.base_url, c.key, tenant, size, days, seed, workdir / "output"
            ),
        )
        return RedirectResponse(f"/tenants/{quote(tenant)}/scenarios", status_code=303)

    @app.get("/tenants/{tenant}/jobs/{kind}", response_class=HTMLResponse)
    def job_progress(c: CtxDep, tenant: str, kind: str) -> Response:
        try:
            tenant_or_access(c.api, tenant)
        except NotFound:
            if kind != "scenario":  # a scenario's tenant may not be there yet
                raise
        job = console.jobs.latest(kind, tenant) if kind in ("checks", "scenario") else None
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

    # -------------------------------------------------------------- member portal

    def member_of(c: Ctx, tenant: str) -> dict[str, Any] | None:
        customer_id = c.session.members.get(tenant)
        if customer_id is None:
            return None
        return customer_by_id(console, c.api, tenant, customer_id)

    @app.get("/portal/{tenant}", response_class=HTMLResponse)
    def portal_signin(
        c: CtxDep, tenant: str, page: Annotated[int, Query(ge=1)] = 1, error: str = ""
    ) -> Response:
        tenant_or_access(c.api, tenant)
        listed = c.api.customers(tenant, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        return render(
            c.request,
            "portal_signin.html",
            title="Member sign-in",
            tenant=tenant,
            customers=listed.items,
            pager=pager(listed.total, page),
            error=error,
        )

    @app.post("/portal/{tenant}/signin")
    def portal_signin_post(
        c: CtxDep,
        tenant: str,
        customer_id: Annotated[str, Form()] = "",
        external_ref: Annotated[str, Form()] = "",
    ) -> Response:
        tenant_or_access(c.api, tenant)
        chosen = customer_id.strip()
        if not chosen and external_ref.strip():
            found = console.customer_indexes.get(tenant, c.api).by_external_ref(external_ref)
            if found is None:
                message = quote("No member has that reference.")
                return RedirectResponse(f"/portal/{quote(tenant)}?error={message}", 303)
            chosen = str(found["customerId"])
        if not chosen:
            return RedirectResponse(f"/portal/{quote(tenant)}", status_code=303)
        customer_by_id(console, c.api, tenant, chosen)  # 404: not this tenant's member
        c.session.members[tenant] = chosen
        return RedirectResponse(f"/portal/{quote(tenant)}/home", status_code=303)

    @app.post("/portal/{tenant}/signout")
    def portal_signout(c: CtxDep, tenant: str) -> Response:
        c.session.members.pop(tenant, None)
        return RedirectResponse(f"/portal/{quote(tenant)}", status_code=303)

    def _member_accounts(c: Ctx, tenant: str, member: dict[str, Any]) -> list[dict[str, Any]]:
        return c.api.accounts(tenant, customer_id=str(member["customerId"]), limit=100).items

    @app.get("/portal/{tenant}/home", response_class=HTMLResponse)
    def portal_home(c: CtxDep, tenant: str) -> Response:
        tenant_or_access(c.api, tenant)
        member = member_of(c, tenant)
        if member is None:
            return RedirectResponse(f"/portal/{quote(tenant)}", status_code=303)
        accounts = _member_accounts(c, tenant, member)
        recent: list[tuple[dict[str, Any], Any]] = []
        for account in accounts:
            events, _ = walk_account_events(c.api, tenant, str(account["accountId"]), 0)
            recent.extend((account, p) for p in postings(str(account["accountId"]), events))
        recent.sort(key=lambda pair: pair[1].sequence, reverse=True)
        return render(
            c.request,
            "portal_home.html",
            title="Your accounts",
            tenant=tenant,
            member=member,
            accounts=accounts,
            recent=recent[:RECENT_TRANSACTIONS],
        )

    @app.get("/portal/{tenant}/profile", response_class=HTMLResponse)
    def portal_profile(c: CtxDep, tenant: str) -> Response:
        tenant_or_access(c.api, tenant)
        member = member_of(c, tenant)
        if member is None:
            return RedirectResponse(f"/portal/{quote(tenant)}", status_code=303)
        return render(
            c.request, "portal_profile.html", title="Your profile", tenant=tenant, member=member
        )

    def _payment_page(c: Ctx, tenant: str, kind: str, status: int = 200, **result: Any) -> Response:
        member = member_of(c, tenant)
        if member is None:
            return RedirectResponse(f"/portal/{quote(tenant)}", status_code=303)
        accounts = _member_accounts(c, tenant, member)
        return render(
            c.request,
            f"portal_{kind}.html",
            status,
            title="Transfer between your accounts" if kind == "transfer" else "Pay a bill",
            tenant=tenant,
            member=member,
            accounts=accounts,
            idempotency_key=str(uuid.uuid4()),
            **result,
        )

    @app.get("/portal/{tenant}/transfer", response_class=HTMLResponse)
    def transfer_form(c: CtxDep, tenant: str) -> Response:
        tenant_or_access(c.api, tenant)
        return _payment_page(c, tenant, "transfer")

    @app.get("/portal/{tenant}/bill", response_class=HTMLResponse)
    def bill_form(c: CtxDep, tenant: str) -> Response:
        tenant_or_access(c.api, tenant)
        return _payment_page(c, tenant, "bill")

    def _pay(
        c: Ctx,
        tenant: str,
        kind: str,
        source: str,
        target: str,
        amount: str,
        narrative: str,
        idempotency_key: str,
        tags: dict[str, str],
    ) -> Response:
        info = tenant_or_access(c.api, tenant)
        member = member_of(c, tenant)
        if member is None:
            return RedirectResponse(f"/portal/{quote(tenant)}", status_code=303)
        owned = {str(a["accountId"]) for a in _member_accounts(c, tenant, member)}
        try:
            if source not in owned:
                raise FormProblem("Choose one of your accounts to pay from.")
            if kind == "transfer" and (target not in owned or target == source):
                raise FormProblem("Choose another of your accounts to pay into.")
            if not idempotency_key.strip():
                raise FormProblem("This form has expired: please open it again.")
            minor = parse_amount(amount)
        except FormProblem as problem:
            return _payment_page(
                c, tenant, kind, 400, outcome="invalid", message=str(problem), amount=amount
            )
        payload = entry_payload(
            source, target, minor, narrative, str(info.get("baseCurrency") or "AUD"), tags
        )
        outcome = c.api.post_entry(tenant, payload, idempotency_key=idempotency_key.strip())
        if outcome.outcome == "posted":
            message = f"Done: {money(minor)} paid."
        elif outcome.outcome == "replayed":
            message = f"Already done: this {money(minor)} payment was made once, not twice."
        else:
            message = member_words(outcome.code)
        return _payment_page(
            c,
            tenant,
            kind,
            200 if outcome.outcome != "refused" else 422,
            outcome=outcome.outcome,
            message=message,
            code=outcome.code,
        )

    @app.post("/portal/{tenant}/transfer", response_class=HTMLResponse)
    def transfer(
        c: CtxDep,
        tenant: str,
        from_account: Annotated[str, Form()] = "",
        to_account: Annotated[str, Form()] = "",
        amount: Annotated[str, Form()] = "",
        description: Annotated[str, Form(max_length=140)] = "",
        idempotency_key: Annotated[str, Form(max_length=128)] = "",
    ) -> Response:
        narrative = description.strip() or "Transfer between own accounts"
        tags = {"channel": "PORTAL", "category": "TRANSFER"}
        return _pay(
            c, tenant, "transfer", from_account, to_account, amount, narrative,
            idempotency_key, tags,
        )  # fmt: skip

    @app.post("/portal/{tenant}/bill", response_class=HTMLResponse)
    def bill(
        c: CtxDep,
        tenant: str,
        from_account: Annotated[str, Form()] = "",
        biller: Annotated[str, Form(max_length=60)] = "",
        reference: Annotated[str, Form(max_length=40)] = "",
        amount: Annotated[str, Form()] = "",
        idempotency_key: Annotated[str, Form(max_length=128)] = "",
    ) -> Response:
        narrative = f"BPAY {biller.strip() or 'bill'} {reference.strip()}".strip()
        tags = {"channel": "BPAY", "category": "BILLS"}
        return _pay(
            c, tenant, "bill", from_account, BILL_ACCOUNT, amount, narrative,
            idempotency_key, tags,
        )  # fmt: skip

    return app
