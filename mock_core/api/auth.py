"""Tenant-scoped API keys: `Authorization: Bearer <key>`."""

from __future__ import annotations

import hmac

from starlette.requests import HTTPConnection

from mock_core.errors import RequestError
from mock_core.settings import PLATFORM_SCOPE


class KeyRing:
    """The API keys in force and what each may reach."""

    def __init__(self, keys: dict[str, frozenset[str]]) -> None:
        self._keys = dict(keys)

    def scopes(self, request: HTTPConnection) -> frozenset[str]:
        """Return the scopes of the request's key; raise 401 when there is none or it is unknown."""
        return self.scopes_of(request.headers.get("authorization"))

    def scopes_of(self, header: str | None) -> frozenset[str]:
        """The scopes of the key in an Authorization header's value (401 if none or unknown)."""
        if header is None:
            raise RequestError(
                "UNAUTHENTICATED", "an API key is required: Authorization: Bearer <key>"
            )
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise RequestError("UNAUTHENTICATED", "use Authorization: Bearer <key>")
        key = key.strip()
        scopes = self._keys.get(key)
        if scopes is None:
            # Compare against every key in constant time so the reply time does not
            # leak how much of a key was right.
            for known in self._keys:
                hmac.compare_digest(known.encode(), key.encode())
            raise RequestError("UNAUTHENTICATED", "unknown API key")
        return scopes

    def require_tenant(self, request: HTTPConnection, tenant_id: str) -> None:
        """Allow the request only if its key's scope includes `tenant_id`."""
        self.check_tenant(request.headers.get("authorization"), tenant_id)

    def require_platform(self, request: HTTPConnection, what: str) -> None:
        """Allow the request only with a platform (`*`) key."""
        self.check_platform(request.headers.get("authorization"), what)

    def check_tenant(self, authorization: str | None, tenant_id: str) -> None:
        """`require_tenant`, given the Authorization header's value."""
        scopes = self.scopes_of(authorization)
        if PLATFORM_SCOPE not in scopes and tenant_id not in scopes:
            raise RequestError("FORBIDDEN", f"this API key is not allowed on tenant {tenant_id}")

    def check_platform(self, authorization: str | None, what: str) -> None:
        """`require_platform`, given the Authorization header's value."""
        if PLATFORM_SCOPE not in self.scopes_of(authorization):
            raise RequestError("FORBIDDEN", f"only a platform key may {what}")
