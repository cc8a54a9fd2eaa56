"""What every console and portal route shares: the app's state, the route's context
(`CtxDep`), `render`, and the reads both the operator pages and the portal make.

`render` and `CtxDep` read the app's state from `request.app.state` (`console`,
`templates`), which `console.app.create_app` sets.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from console import jobs as twin_jobs
from console.api import PAGE_MAX, CoreApi, NotFound, NotOffered
from console.chain import Activity, TenantWatch, Watchers
from console.search import CustomerIndexes
from console.sessions import COOKIE, Session, Sessions

PAGE_SIZE = 50
ACCOUNT_EVENTS_MAX = 500


class LoginRequired(Exception):
    """No session, or the API no longer accepts its key."""


class MemberRequired(Exception):
    """A portal page of `tenant` with no member signed in there (-> its sign-in page)."""

    def __init__(self, tenant: str) -> None:
        super().__init__(tenant)
        self.tenant = tenant


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


def pager(total: int, page: int, size: int = PAGE_SIZE) -> dict[str, int]:
    """Page numbers for a list of `total` items."""
    pages = max((total + size - 1) // size, 1)
    return {"page": page, "pages": pages, "total": total, "size": size}


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


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """The template `name` with `context`, and whether the visitor is signed in."""
    console: Console = request.app.state.console
    templates: Jinja2Templates = request.app.state.templates
    context.setdefault("signed_in", session_of(console, request) is not None)
    context.setdefault("fixed_key", console.api_key is not None)
    return templates.TemplateResponse(request, name, context, status_code=status)
