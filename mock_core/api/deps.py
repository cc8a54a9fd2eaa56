"""What the query and admin routes depend on, as typed aliases: the store, the caller's tenant."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from mock_core.api.observability import Metrics
from mock_core.errors import RequestError
from mock_core.settings import Settings
from mock_core.store.eventstore import Store


async def _store(request: Request) -> Store:
    return request.app.state.store


async def _metrics(request: Request) -> Metrics:
    return request.app.state.metrics


async def _settings(request: Request) -> Settings:
    return request.app.state.settings


TENANT_CHARS_MAX = 200
TenantPath = Annotated[str, Path(min_length=1, max_length=TENANT_CHARS_MAX)]


async def _tenant(tenant_id: TenantPath, request: Request) -> str:
    """The path's tenant, once the caller's key is known to reach it (else 401/403) and
    the query names only parameters the operation defines (else 400)."""
    request.app.state.keys.check_tenant(request.headers.get("authorization"), tenant_id)
    if request.scope.get("query_string"):
        _refuse_unknown_parameters(request)
    return tenant_id


_QUERY_NAMES: dict[int, frozenset[str]] = {}  # by id(route): routes live as long as the app


def _query_names(route: APIRoute) -> frozenset[str]:
    names = _QUERY_NAMES.get(id(route))
    if names is None:

        def walk(dependant: Dependant) -> Iterator[str]:
            yield from (param.alias for param in dependant.query_params)
            for sub in dependant.dependencies:
                yield from walk(sub)

        names = _QUERY_NAMES[id(route)] = frozenset(walk(route.dependant))
    return names


def _refuse_unknown_parameters(request: Request) -> None:
    # A parameter the service does not know is never ignored: honouring it might have
    # changed the answer (a filter, a sort), so a silent default would mislead.
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    allowed = _query_names(route)
    for name in request.query_params:
        if name not in allowed:
            raise RequestError(
                "VALIDATION_ERROR",
                f"unknown query parameter {name!r}; this operation takes "
                + (", ".join(sorted(allowed)) or "none"),
                {"parameter": name, "allowed": sorted(allowed)},
            )


async def _platform(request: Request) -> None:
    keys = request.app.state.keys
    keys.check_platform(request.headers.get("authorization"), "use the admin endpoints")


StoreDep = Annotated[Store, Depends(_store)]
MetricsDep = Annotated[Metrics, Depends(_metrics)]
SettingsDep = Annotated[Settings, Depends(_settings)]
TenantDep = Annotated[str, Depends(_tenant)]
PlatformDep = Annotated[None, Depends(_platform)]
