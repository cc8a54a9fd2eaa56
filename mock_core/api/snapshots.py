"""Named snapshots over HTTP (admin, platform key; off with the other admin endpoints)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy import Connection

from mock_core.api.deps import PlatformDep, SettingsDep, StoreDep
from mock_core.api.errors import json_response
from mock_core.api.ops import admin_enabled
from mock_core.settings import Settings
from mock_core.store import snapshots
from mock_core.store.eventstore import Store

router = APIRouter()

Name = Annotated[str, Path(min_length=1, max_length=100)]
Tenant = Annotated[str | None, Query(min_length=1, max_length=32)]


def _admin(
    settings: Settings, store: Store, work: Callable[[Connection], Any], name: str | None = None
) -> Any:
    """`work` in an admin transaction, when the admin endpoints are on (and `name`, if
    given, is a snapshot's name)."""
    admin_enabled(settings)
    if name is not None:
        snapshots.check_name(name)
    with store.admin() as conn:
        return work(conn)


@router.get("/_mock/snapshots", include_in_schema=False)
async def list_snapshots(_: PlatformDep, settings: SettingsDep, store: StoreDep) -> Response:
    """Every saved snapshot, by name."""
    found = _admin(settings, store, snapshots.listing)
    return json_response(200, {"snapshots": [s.as_json() for s in found]})


@router.post("/_mock/snapshots/{name}", include_in_schema=False)
async def save_snapshot(
    name: Name, _: PlatformDep, settings: SettingsDep, store: StoreDep, tenant: Tenant = None
) -> Response:
    """Save one tenant (`?tenant=T`) or the whole store under `name`, replacing it."""
    saved = _admin(settings, store, lambda conn: snapshots.save(conn, name, tenant), name)
    return json_response(200, saved.as_json())


@router.post("/_mock/snapshots/{name}/restore", include_in_schema=False)
async def restore_snapshot(
    name: Name, _: PlatformDep, settings: SettingsDep, store: StoreDep, tenant: Tenant = None
) -> Response:
    """Put back what `name` saved (with `?tenant=T`, only that tenant of it)."""
    restored = _admin(settings, store, lambda conn: snapshots.restore(conn, name, tenant), name)
    return json_response(200, {"restored": restored.as_json()})
