"""Fault profiles per tenant over HTTP (admin, platform key; off with the other admin
endpoints). See mock_core/api/faults.py and docs/faults.md.

    GET    /_mock/faults              the profile for every tenant, and each tenant's
    PUT    /_mock/faults/{tenantId}   {"profile": "NAME[:SEED][,PARAM=VALUE...]"}
    GET    /_mock/faults/{tenantId}   the tenant's profile and the faults it injected
    DELETE /_mock/faults/{tenantId}   back to the profile for every tenant (or none)
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request, Response

from mock_core.api.deps import PlatformDep, SettingsDep, TenantPath
from mock_core.api.errors import json_response
from mock_core.api.faults import ActiveProfile, FaultSpecError, FaultTable, parse_spec
from mock_core.api.ops import admin_enabled
from mock_core.errors import RequestError

router = APIRouter()
BODY_BYTES_MAX = 4096


def _table(request: Request, settings: SettingsDep) -> FaultTable:
    admin_enabled(settings)
    table: FaultTable = request.app.state.faults
    return table


def _described(tenant_id: str, active: ActiveProfile | None, scope: str) -> dict[str, Any]:
    body: dict[str, Any] = {"tenantId": tenant_id, "scope": scope}
    body.update(active.as_json() if active is not None else {"profile": None, "injected": {}})
    return body


def _scope(table: FaultTable, tenant_id: str) -> str:
    if tenant_id in table.tenants:
        return "tenant"
    return "every tenant" if table.default is not None else "none"


@router.get("/_mock/faults", include_in_schema=False)
async def list_faults(request: Request, _: PlatformDep, settings: SettingsDep) -> Response:
    """The profile in force for every tenant, and each tenant's own."""
    table = _table(request, settings)
    default = table.default.as_json() if table.default is not None else None
    tenants = {t: a.as_json() for t, a in sorted(table.tenants.items())}
    return json_response(200, {"everyTenant": default, "tenants": tenants})


async def _profile_from(request: Request) -> str:
    body = await request.body()
    if len(body) > BODY_BYTES_MAX:
        raise RequestError("PAYLOAD_TOO_LARGE", f"the body is over {BODY_BYTES_MAX} bytes")
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RequestError("MALFORMED_JSON", f"the body is not valid JSON: {exc}") from None
    spec = document.get("profile") if isinstance(document, dict) else None
    if not isinstance(spec, str) or (isinstance(document, dict) and set(document) - {"profile"}):
        raise RequestError(
            "VALIDATION_ERROR",
            'the body must be {"profile": "NAME[:SEED][,PARAM=VALUE...]"}',
            {"errors": [{"loc": ["body", "profile"], "msg": "a profile spec", "type": "string"}]},
        )
    return spec


@router.put("/_mock/faults/{tenant_id}", include_in_schema=False)
async def set_faults(
    tenant_id: TenantPath, request: Request, _: PlatformDep, settings: SettingsDep
) -> Response:
    """Put a profile in force for the tenant, afresh (attempts and counts from zero)."""
    table = _table(request, settings)
    spec = await _profile_from(request)
    try:
        profile = parse_spec(spec)
    except FaultSpecError as exc:
        raise RequestError(
            "VALIDATION_ERROR", str(exc), {"parameter": "profile", "value": spec[:100]}
        ) from None
    active = table.set(tenant_id, profile)
    return json_response(200, _described(tenant_id, active, "tenant"))


@router.get("/_mock/faults/{tenant_id}", include_in_schema=False)
async def get_faults(
    tenant_id: TenantPath, request: Request, _: PlatformDep, settings: SettingsDep
) -> Response:
    """The profile in force for the tenant (its own, or the one for every tenant) and the
    faults it injected since it was put in force."""
    table = _table(request, settings)
    scope = _scope(table, tenant_id)
    active = table.tenants.get(tenant_id, table.default)
    return json_response(200, _described(tenant_id, active, scope))


@router.delete("/_mock/faults/{tenant_id}", include_in_schema=False)
async def clear_faults(
    tenant_id: TenantPath, request: Request, _: PlatformDep, settings: SettingsDep
) -> Response:
    """Drop the tenant's own profile (the one for every tenant, if any, applies again);
    the reply is what it injected."""
    table = _table(request, settings)
    cleared = table.clear(tenant_id)
    body = _described(tenant_id, cleared, "tenant" if cleared is not None else "none")
    body["cleared"] = cleared is not None
    return json_response(200, body)
