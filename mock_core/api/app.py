"""create_app(settings): the ASGI application."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import yaml
from fastapi import FastAPI

from mock_core import __version__
from mock_core.api import errors, ops, routes
from mock_core.api.auth import KeyRing
from mock_core.api.observability import AccessLogMiddleware, Metrics, configure_access_log
from mock_core.gateway import Gateway, GroupCommitter
from mock_core.settings import Settings
from mock_core.store.engine import make_engine, upgrade
from mock_core.store.eventstore import Store

log = logging.getLogger("mock_core")


def spec_path() -> Path:
    """The contract file served at /v1/openapi.yaml."""
    configured = os.environ.get("MOCK_CORE_SPEC_PATH")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2] / "openapi" / "turingcore.v1.yaml"


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the mock: open (and migrate) the store, wire routes, errors and metrics."""
    settings = settings or Settings()
    if settings.migrate_on_start:
        upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    store = Store(engine)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()  # close pooled connections when the server stops

    app = FastAPI(
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
    # SQLite: concurrent commands share one durable commit. PostgreSQL: a transaction
    # per command, each under its tenant's lock (a batch would take several locks).
    app.state.committer = (
        GroupCommitter(app.state.gateway) if store.sqlite and settings.group_commit else None
    )
    app.state.keys = KeyRing(settings.keys())
    app.state.metrics = Metrics()
    path = spec_path()
    if path.exists():
        app.state.spec_yaml = path.read_bytes()
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        app.state.spec_json = json.dumps(yaml.load(app.state.spec_yaml, Loader=loader)).encode()
    else:
        log.warning("contract file %s not found; /v1/openapi.* will be empty", path)
        app.state.spec_yaml = b""
        app.state.spec_json = b"{}"

    errors.install(app)
    app.router.routes.append(routes.gateway_route)
    app.include_router(routes.router)
    app.include_router(ops.router)
    configure_access_log(settings.access_log)
    app.add_middleware(AccessLogMiddleware, enabled=settings.access_log)
    return app
