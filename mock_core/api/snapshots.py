"""Named snapshots over HTTP (admin, platform key; off with the other admin endpoints)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from mock_core.api.deps import PlatformDep, SettingsDep, StoreDep
from mock_core.api.errors import json_response
from mock_core.api.ops import admin_enabled
from mock_core.store import snapshots

router = APIRouter()

Name = Annotated[str, Path(min_length=1, max_length=100)]
Tenant = Annotated[str | None, Query(min_length=1, max_length=32)]


@router.get("/_mock/snapshots", include_in_schema=False)
async def list_snapshots(_: PlatformDep, settings: SettingsDep, store: StoreDep) -> Response:
    """Every saved snapshot, by name."""
    admin_enabled(settings)
    with store.admin() as conn:
        found = snapshots.listing(conn)
    return json_response(200, {"snapshots": [s.as_json() for s in found]})


@router.post("/_mock/snapshots/{name}", include_in_schema=False)
async def save_snapshot(
    name: Name, _: PlatformDep, settings: SettingsDep, store: StoreDep, tenant: Tenant = None
) -> Response:
    """Save one tenant (`?tenant=T`) or the whole store under `name`, replacing it."""
    admin_enabled(settings)
    snapshots.check_name(name)
    with store.admin() as conn:
        saved = snapshots.save(conn, name, tenant)
    return json_response(200, saved.as_json())


@router.post("/_mock/snapshots/{name}/restore", include_in_schema=False)
async def restore_snapshot(
    name: Name, _: PlatformDep, settings: SettingsDep, store: StoreDep, tenant: Tenant = None
) -> Response:
    """Put back what `name` saved (with `?tenant=T`, only that tenant of it)."""
    admin_enabled(settings)
    snapshots.check_name(name)
    with store.admin() as conn:
        restored = snapshots.restore(conn, name, tenant)
    return json_response(200, {"restored": restored.as_json()})
