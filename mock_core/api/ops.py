"""The mock's own endpoints, outside the contract: health, metrics, the spec, admin."""

from __future__ import annotations

import functools
import importlib.resources
import logging
import re

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from mock_core.api.deps import MetricsDep, PlatformDep, SettingsDep, StoreDep, TenantPath
from mock_core.api.errors import json_response
from mock_core.errors import RequestError
from mock_core.store import queries
from mock_core.store.engine import schema_is_current
from mock_core.store.rebuild import drift, replay

log = logging.getLogger("mock_core")
router = APIRouter()


@router.get("/healthz", include_in_schema=False)
async def healthz() -> Response:
    return json_response(200, {"status": "ok"})


@router.get("/readyz", include_in_schema=False)
async def readyz(store: StoreDep) -> Response:
    try:
        current = schema_is_current(store.engine)
    except Exception as exc:  # the store is down: say so, do not crash
        log.warning("readyz: store unreachable: %s", exc)
        raise RequestError("NOT_READY", "the store is not reachable") from None
    if not current:
        raise RequestError("NOT_READY", "the store's schema is not at the newest migration")
    return json_response(200, {"status": "ready"})


@router.get("/metrics", include_in_schema=False)
async def metrics(m: MetricsDep) -> Response:
    return Response(generate_latest(m.registry), media_type=CONTENT_TYPE_LATEST)


# The spec is served with a `servers` entry of the address it was asked for, so that
# Swagger UI's "Try it out" reaches this mock on whatever host and port it runs.
_SERVERS_LINE = re.compile(rb"(?m)^(servers:\r?\n\s*- url: ).*$")
_SERVED_SPECS_MAX = 16  # (format, base URL) pairs kept; a proxy may present several


def _served_spec(request: Request, form: str) -> bytes:
    state = request.app.state
    base = str(request.base_url).rstrip("/") + "/v1"
    cache: dict[tuple[str, str], bytes] = state.served_specs
    body = cache.get((form, base))
    if body is None:
        if form == "yaml":
            body = _SERVERS_LINE.sub(lambda m: m.group(1) + base.encode(), state.spec_yaml, 1)
        else:
            spec = orjson.loads(state.spec_json)
            if spec:
                spec["servers"] = [{"url": base, "description": "this mock-core"}]
            body = orjson.dumps(spec)
        if len(cache) >= _SERVED_SPECS_MAX:
            cache.clear()
        cache[(form, base)] = body
    return body


@router.get("/v1/openapi.yaml", include_in_schema=False)
async def spec_yaml(request: Request) -> Response:
    return Response(_served_spec(request, "yaml"), media_type="application/yaml")


@router.get("/v1/openapi.json", include_in_schema=False)
async def spec_json(request: Request) -> Response:
    return Response(_served_spec(request, "json"), media_type="application/json")


# Swagger UI's script and styles ship with the kit (the fastapi-offline package carries
# them): /docs works with no network, as the rest of the mock does.
SWAGGER_UI_FILES = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon.png": "image/png",
}


@functools.cache
def _swagger_ui_file(name: str) -> bytes:
    return (importlib.resources.files("fastapi_offline") / "static" / name).read_bytes()


@router.get("/docs", include_in_schema=False)
async def docs() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/v1/openapi.json",
        title="TuringCore v1 (mock)",
        swagger_js_url="/docs/static/swagger-ui-bundle.js",
        swagger_css_url="/docs/static/swagger-ui.css",
        swagger_favicon_url="/docs/static/favicon.png",
    )


@router.get("/docs/static/{name}", include_in_schema=False)
async def docs_static(name: str) -> Response:
    media_type = SWAGGER_UI_FILES.get(name)
    if media_type is None:
        raise RequestError("NOT_FOUND", f"no file {name} here", {"file": name})
    return Response(
        _swagger_ui_file(name),
        media_type=media_type,
        headers={"Cache-Control": "public, max-age=86400"},
    )


def admin_enabled(settings: SettingsDep) -> None:
    if not settings.admin_enabled:
        raise RequestError("NOT_FOUND", "the admin endpoints are switched off")


@router.post("/_mock/reset", include_in_schema=False)
async def reset_all(_: PlatformDep, settings: SettingsDep, store: StoreDep) -> Response:
    """Delete every tenant (development only)."""
    admin_enabled(settings)
    store.reset()
    return json_response(200, {"reset": "*"})


@router.post("/_mock/tenants/{tenant_id}/reset", include_in_schema=False)
async def reset_tenant(
    tenant_id: TenantPath, _: PlatformDep, settings: SettingsDep, store: StoreDep
) -> Response:
    """Delete one tenant and everything in it (development only)."""
    admin_enabled(settings)
    store.reset(tenant_id)
    return json_response(200, {"reset": tenant_id})


@router.get("/_mock/tenants/{tenant_id}/verify", include_in_schema=False)
async def verify_tenant(
    tenant_id: TenantPath, _: PlatformDep, settings: SettingsDep, store: StoreDep
) -> Response:
    """Recompute the tenant's hash chain and its projections from the stored events."""
    admin_enabled(settings)
    with store.read(tenant_id) as conn:
        if not queries.tenant_exists(conn, tenant_id):
            raise RequestError("NOT_FOUND", f"tenant {tenant_id} does not exist")
        found = replay(conn, tenant_id)
        try:
            problems = drift(conn, found, tenant_id)
        finally:
            found.close()
    body = {
        "tenantId": tenant_id,
        "events": found.events,
        "ok": not problems,
        "problems": problems[:100],
    }
    return Response(orjson.dumps(body), 200, media_type="application/json")
