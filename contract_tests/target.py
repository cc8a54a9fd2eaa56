"""Which service the suites test: the in-process mock (default) or any base URL.

This module is the one bridge between the suites and `mock_core`: it builds the
mock's ASGI app for the default target. Every suite gets an `httpx.Client`
from a `Target` and never imports `mock_core` itself.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

DEFAULT_PLATFORM_KEY = "dev-platform-key"
# Keys the in-process mock is started with: the platform key and two tenant-scoped
# keys, used by the isolation checks (a key scoped to one tenant must not reach another).
IN_PROCESS_KEYS = {
    DEFAULT_PLATFORM_KEY: "*",
    "contract-tenant-a-key": "CT_TENANT_A",
    "contract-tenant-b-key": "CT_TENANT_B",
}


@dataclass
class Target:
    """A service under test.

    base_url: the server root (the API lives under `/v1`), e.g. http://127.0.0.1:8080.
    api_key: a platform key (scope `*`): the suites create their own tenants.
    scoped_keys: optional {tenantId: key} of tenant-scoped keys, for isolation checks.
    app: the ASGI app when the target is in-process (base_url is then http://testserver).
    """

    base_url: str
    api_key: str
    scoped_keys: dict[str, str] = field(default_factory=dict)
    app: Any = None
    name: str = ""
    # What the target offers beyond the published contract (contract_tests.extensions),
    # found out once per target.
    extensions: Any = None

    @property
    def in_process(self) -> bool:
        return self.app is not None

    def headers(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.api_key}"}

    @contextmanager
    def client(self, timeout: float = 30.0) -> Iterator[httpx.Client]:
        """A synchronous httpx client bound to the target, authenticated with api_key."""
        if self.app is not None:
            from starlette.testclient import TestClient

            with TestClient(
                self.app,
                base_url=self.base_url,
                headers=self.headers(),
                raise_server_exceptions=False,
            ) as client:
                yield client
        else:
            with httpx.Client(
                base_url=self.base_url, headers=self.headers(), timeout=timeout
            ) as client:
                yield client

    def describe(self) -> str:
        return self.name or ("in-process mock" if self.in_process else self.base_url)


def in_process_target(database_dir: Path | None = None, database_url: str | None = None) -> Target:
    """Build the mock in this process: on a fresh SQLite file (the default), or on
    `database_url` (e.g. a PostgreSQL database, to run the suites on that backend)."""
    from mock_core.api.app import create_app  # the one allowed import of mock_core
    from mock_core.settings import Settings

    directory = database_dir or Path(tempfile.mkdtemp(prefix="contract-test-"))
    keys = ";".join(f"{k}={scope}" for k, scope in IN_PROCESS_KEYS.items())
    settings = Settings(
        database_url=database_url or f"sqlite:///{directory}/mock.db",
        api_keys=keys,
        access_log=False,
    )
    app = create_app(settings)
    scoped = {scope: key for key, scope in IN_PROCESS_KEYS.items() if scope != "*"}
    return Target("http://testserver", DEFAULT_PLATFORM_KEY, scoped, app, "in-process mock")


def resolve_target(
    base_url: str | None = None,
    api_key: str | None = None,
    scoped_keys: dict[str, str] | None = None,
) -> Target:
    """The target from arguments, else TURINGCORE_BASE_URL / TURINGCORE_API_KEY, else in-process."""
    base_url = base_url or os.environ.get("TURINGCORE_BASE_URL")
    if not base_url:
        return in_process_target()
    key = api_key or os.environ.get("TURINGCORE_API_KEY") or DEFAULT_PLATFORM_KEY
    return Target(base_url.rstrip("/").removesuffix("/v1"), key, dict(scoped_keys or {}))
