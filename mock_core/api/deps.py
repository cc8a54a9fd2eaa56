"""What the query and admin routes depend on, as typed aliases: the store, the caller's tenant."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from mock_core.api.observability import Metrics
from mock_core.settings import Settings
from mock_core.store.eventstore import Store


async def _store(request: Request) -> Store:
    return request.app.state.store


async def _metrics(request: Request) -> Metrics:
    return request.app.state.metrics


async def _settings(request: Request) -> Settings:
    return request.app.state.settings


TenantPath = Annotated[str, Path(min_length=1, max_length=200)]


async def _tenant(tenant_id: TenantPath, request: Request) -> str:
    """The path's tenant, once the caller's key is known to reach it (else 401/403)."""
    request.app.state.keys.require_tenant(request, tenant_id)
    return tenant_id


async def _platform(request: Request) -> None:
    request.app.state.keys.require_platform(request, "use the admin endpoints")


StoreDep = Annotated[Store, Depends(_store)]
MetricsDep = Annotated[Metrics, Depends(_metrics)]
SettingsDep = Annotated[Settings, Depends(_settings)]
TenantDep = Annotated[str, Depends(_tenant)]
PlatformDep = Annotated[None, Depends(_platform)]
