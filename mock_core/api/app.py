"""create_app(settings): the ASGI application."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import yaml
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from mock_core import __version__, contract
from mock_core.api import asof, errors, faults_admin, ops, routes, snapshots
from mock_core.api.auth import KeyRing
from mock_core.api.commands import PREFIX, CommandEndpoint, command_path_tenant, gateway_route
from mock_core.api.faults import FaultTable, parse_spec, wait
from mock_core.api.hot_reads import HotReads
from mock_core.api.observability import AccessLogMiddleware, Metrics, configure_access_log
from mock_core.gateway import Gateway, GroupCommitter
from mock_core.settings import Settings, spec_path
from mock_core.store.backends import open_store
from mock_core.store.engine import make_engine, upgrade
from mock_core.store.eventstore import Caches

log = logging.getLogger("mock_core")


class MockCoreApp(FastAPI):
    """FastAPI, with the command gateway's POSTs and the three reads asked once per
    customer or account served ahead of the framework's stack.

    See mock_core/api/commands.py and hot_reads.py: there Starlette's routing,
    middleware and request/response objects cost more than the command or the read
    itself. Everything else, and wrappers around the whole app (tests' broken
    variants), see no difference.
    """

    command_endpoint: CommandEndpoint | None = None
    hot_reads: HotReads | None = None
    faults: FaultTable | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and self.command_endpoint:
            tenant_id = command_path_tenant(scope["path"])
            if tenant_id is not None:
                await self.command_endpoint(scope, receive, send, tenant_id)
                return
        faults = self.faults
        if faults is not None and faults.active and scope["type"] == "http":
            await self._slow_read(faults, scope)
        if (
            scope["type"] == "http"
            and scope["method"] == "GET"
            and self.hot_reads is not None
            and await self.hot_reads(scope, send)
        ):
            return
        await super().__call__(scope, receive, send)

    @staticmethod
    async def _slow_read(faults: FaultTable, scope: Scope) -> None:
        """A slow-reader profile stalls its tenant's GET queries (docs/faults.md)."""
        path: str = scope["path"]
        if scope["method"] != "GET" or not path.startswith(PREFIX):
            return
        tenant_id = path[len(PREFIX) :].split("/", 1)[0]
        active = faults.for_tenant(tenant_id)
        if active is None:
            return
        target = path + "?" + scope.get("query_string", b"").decode("latin-1")
        fault = faults.note(active, active.read(target))
        if fault is not None:
            await wait(fault)


def create_app(settings: Settings | None = None) -> MockCoreApp:
    """Build the mock: open (and migrate) the store, wire routes, errors and metrics."""
    settings = settings or Settings()
    if settings.migrate_on_start:
        upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    store = open_store(engine, Caches.parse(settings.caches))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if app.state.committer is not None:
            app.state.committer.close()  # let a running batch finish and commit
        store.close()  # the checkpointer, then the pooled connections

    app = MockCoreApp(
        lifespan=lifespan,
        title="TuringCore v1 mock",
        version=__version__,
        openapi_url=None,  # the contract file is served instead of a generated schema
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.gateway = Gateway(store)
    app.state.keys = KeyRing(settings.keys())
    app.state.metrics = Metrics()
    # Concurrent commands share one durable commit (on PostgreSQL, per worker process).
    app.state.committer = (
        GroupCommitter(
            app.state.gateway,
            on_batch=app.state.metrics.observe_batch,
            on_ahead=app.state.metrics.observe_ahead,
        )
        if settings.group_commit
        else None
    )
    app.state.served_specs = {}
    path = spec_path()
    if path.exists():
        app.state.spec_yaml = path.read_bytes()
        # The shipped spec is parsed already (the mock reads its codes from it).
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        document = (
            contract.spec()
            if path == contract.shipped_path()
            else yaml.load(app.state.spec_yaml, Loader=loader)
        )
        app.state.spec_json = json.dumps(document).encode()
    else:
        # Only a wrong MOCK_CORE_SPEC_PATH gets here: the package carries the contract.
        raise FileNotFoundError(f"the contract file {path} does not exist (MOCK_CORE_SPEC_PATH)")

    # Fault profiles (docs/faults.md): the one in the settings for every tenant, and the
    # admin API's per tenant.
    app.faults = app.state.faults = FaultTable(
        parse_spec(settings.faults) if settings.faults else None
    )
    app.faults.on_fault = app.state.metrics.count_fault
    app.command_endpoint = CommandEndpoint(
        app.state.gateway,
        app.state.committer,
        app.state.keys,
        app.state.metrics,
        access_log=settings.access_log,
        faults=app.faults,
    )
    app.hot_reads = HotReads(store, app.state.keys, access_log=settings.access_log)
    errors.install(app)
    app.router.routes.append(gateway_route(app.command_endpoint))
    app.include_router(routes.router)
    app.include_router(asof.router)
    app.include_router(ops.router)
    app.include_router(snapshots.router)
    app.include_router(faults_admin.router)
    configure_access_log(settings.access_log)
    app.add_middleware(AccessLogMiddleware, enabled=settings.access_log)
    return app
