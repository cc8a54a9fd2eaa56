"""The operator console and member portal: server-rendered pages over TuringCore's API.

Every read and write goes through `console.api.CoreApi` (the generated client); a
route parses its input, calls the API, and renders a template. API errors become
pages in one place (`_api_error`): 403 is the forbidden page, 404 the not-found
page, 401 sends the browser to the sign-in form.

This module builds the app: its state, sign-in, the error pages and the templates.
The pages are in `console.operator` (the operator console) and `console.portal_routes`
(the member portal); what their routes share (`CtxDep`, `render`) in `console.context`.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import httpx
import orjson
from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from console.api import ApiError, Forbidden, NotFound, Unauthenticated
from console.context import Console, LoginRequired, MemberRequired, render
from console.ledger import money, to_minor
from console.operator import outcome_counts
from console.operator import router as operator_router
from console.portal_routes import router as portal_router
from console.sessions import COOKIE

__all__ = ["DEFAULT_TENANTS", "create_app", "outcome_counts"]

HERE = Path(__file__).parent
DEFAULT_TENANTS = ("CU_DIGITAL",)


def raw_json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()


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
    app.state.templates = templates

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, _: LoginRequired) -> Response:
        target = "/login?next=" + quote(request.url.path)
        if request.headers.get("HX-Request"):
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(MemberRequired)
    async def _member_required(_: Request, exc: MemberRequired) -> Response:
        return RedirectResponse(f"/portal/{quote(exc.tenant)}", status_code=303)

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

    app.include_router(operator_router)
    app.include_router(portal_router)
    return app
