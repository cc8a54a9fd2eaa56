"""The proxy's `key_scope` check: a key refused on a tenant is not served that tenant.

The proxy cannot know which tenants a key is scoped to, but the traffic can tell it
which tenants a key is *not* scoped to: the contract answers a command sent with a key
outside its scope with 403 `FORBIDDEN`, and a `CreateTenant` sent with any key but the
platform key with the same 403 (so a tenant key's 403 there says nothing of its scope,
and is not counted). A key refused on tenant T's gateway for any other command is not
scoped to T; a 2xx reply to a read of T (`GET` or `HEAD` under `/tenants/T`) with the
same key is then a finding, whether the read came before the refusal or after it.

Keys are told apart by a fingerprint (a SHA-256 of the request's credential headers),
never kept themselves. Per fingerprint and tenant the check keeps the first 2xx read and
how many there were, how many reads were refused, and the first refusal; it judges when
both a refusal and a read exist. A key's scope is taken not to change while the proxy
runs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from contract_tests.proxy_checks import Exchange

Check = Callable[[str, str | None], None]

ROWS: dict[str, str] = {
    "key_scope": "a key refused on a tenant's gateway (403) is not served that tenant's reads",
}
# The headers that carry a key: their values make the fingerprint.
CREDENTIAL_HEADERS = frozenset({"authorization", "x-api-key", "api-key"})
PAIRS_KEPT_MAX = 100_000  # (key fingerprint, tenant) pairs; beyond it new pairs are not kept
READS = frozenset({"GET", "HEAD"})


def fingerprint(headers: list[tuple[str, str]]) -> str | None:
    """A SHA-256 (hex, 16 digits) of the credential headers; None when there is none."""
    values = sorted(f"{k.lower()}:{v}" for k, v in headers if k.lower() in CREDENTIAL_HEADERS)
    if not values:
        return None
    return hashlib.sha256("\n".join(values).encode("utf-8")).hexdigest()[:16]


@dataclass
class _Pair:
    """What one key met on one tenant."""

    served: int = 0  # reads answered 2xx
    first_served: str = ""  # "GET /v1/tenants/T/... 200"
    denied: int = 0  # reads not answered 2xx
    refusal: str = ""  # the first command refused 403 FORBIDDEN: "PostEntry"
    reported: bool = False


class KeyScope:
    """The `key_scope` check, with what it keeps of the traffic."""

    def __init__(self) -> None:
        self.pairs: dict[tuple[str, str], _Pair] = {}

    def _pair(self, key: str, tenant_id: str) -> _Pair | None:
        found = self.pairs.get((key, tenant_id))
        if found is None and len(self.pairs) < PAIRS_KEPT_MAX:
            found = self.pairs[(key, tenant_id)] = _Pair()
        return found

    def exchange(
        self, tenant_id: str, rel: str, ex: Exchange, request: Any, reply: Any, check: Check
    ) -> None:
        """One exchange on tenant `tenant_id` (`rel`: its path under the API prefix)."""
        parts = rel.strip("/").split("/")
        is_read = ex.method in READS
        refused = _refused_command(parts, ex, request, reply)
        if not is_read and refused is None:
            return
        key = fingerprint(ex.request_headers)
        pair = self._pair(key, tenant_id) if key is not None else None
        if key is None or pair is None:
            return
        if refused is not None:
            first = not pair.refusal
            pair.refusal = pair.refusal or refused
            if pair.served and not pair.reported:
                pair.reported = True
                check("key_scope", _problem(key, tenant_id, pair))
            elif first and pair.denied and not pair.served:
                check("key_scope", None)
            return
        served = 200 <= ex.status < 300
        if served:
            pair.served += 1
            pair.first_served = pair.first_served or f"{ex.method} {ex.path} {ex.status}"
        else:
            pair.denied += 1
        if pair.refusal:
            pair.reported = pair.reported or served
            check("key_scope", _problem(key, tenant_id, pair) if served else None)


def _refused_command(parts: list[str], ex: Exchange, request: Any, reply: Any) -> str | None:
    """The type of a command refused 403 FORBIDDEN for its tenant (not a CreateTenant,
    which only the platform key may send), else None."""
    if ex.method != "POST" or len(parts) != 3 or parts[2] != "commands" or ex.status != 403:
        return None
    if not isinstance(reply, dict) or reply.get("error") != "FORBIDDEN":
        return None
    kind = request.get("commandType") if isinstance(request, dict) else None
    if not isinstance(kind, str) or kind == "CreateTenant":
        return None
    return kind


def _problem(key: str, tenant_id: str, pair: _Pair) -> str:
    return (
        f"key sha256:{key} was refused on {tenant_id}'s gateway ({pair.refusal}: 403 "
        f"FORBIDDEN), so it is not scoped to {tenant_id}; yet {pair.served} read(s) of "
        f"{tenant_id} with it were answered 2xx (first: {pair.first_served})"
    )
