"""Tenant-scoped API keys: `Authorization: Bearer <key>`.

The one key check, used by the command endpoint and by the routes' dependencies
alike; each passes the Authorization header's value.
"""

from __future__ import annotations

import hmac

from mock_core.errors import RequestError
from mock_core.settings import PLATFORM_SCOPE


class KeyRing:
    """The API keys in force and what each may reach."""

    def __init__(self, keys: dict[str, frozenset[str]]) -> None:
        self._keys = dict(keys)

    def scopes(self, authorization: str | None) -> frozenset[str]:
        """The scopes of the key in an Authorization header's value (401 if none or unknown)."""
        if authorization is None:
            raise RequestError(
                "UNAUTHENTICATED", "an API key is required: Authorization: Bearer <key>"
            )
        scheme, _, key = authorization.partition(" ")
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

    def check_tenant(self, authorization: str | None, tenant_id: str) -> None:
        """Allow the request only if its key's scope includes `tenant_id` (else 401/403)."""
        scopes = self.scopes(authorization)
        if PLATFORM_SCOPE not in scopes and tenant_id not in scopes:
            raise RequestError("FORBIDDEN", f"this API key is not allowed on tenant {tenant_id}")

    def check_platform(self, authorization: str | None, what: str) -> None:
        """Allow the request only with a platform (`*`) key (else 401/403)."""
        if PLATFORM_SCOPE not in self.scopes(authorization):
            raise RequestError("FORBIDDEN", f"only a platform key may {what}")
