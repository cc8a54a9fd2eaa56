"""The state digest: one hash over every account's balance, comparable across services.

Server ids differ from one service (or one fresh mock) to the next, so the
digest keys each account by its local reference from the plan
(`account:C000042:TXN`) and each GL account by its code (`gl:GL_CARD_CLEARING`),
never by its server id. Two runs of the same scenario and seed, on any two
services that honour the contract, give the same digest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import orjson
import rfc8785


def amount(value: Any) -> Decimal:
    """A JSON number as an exact Decimal (floats go through their shortest repr)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or value is None:
        raise TypeError(f"not an amount: {value!r}")
    return Decimal(str(value))


def canonical_amount(value: Any) -> str:
    """`100`, `100.0` and `100.00` all become `100.00`: two decimals, always."""
    return f"{amount(value):.2f}"


def account_label(account: Mapping[str, Any], ref_by_id: Mapping[str, str]) -> str:
    """The service-independent name of an account: its plan ref, GL code or server id."""
    account_id = str(account.get("accountId"))
    if account.get("accountType") == "GL":
        return f"gl:{account_id}"
    return ref_by_id.get(account_id) or f"id:{account_id}"


def state_digest(
    accounts: Iterable[Mapping[str, Any]], ref_by_id: Mapping[str, str]
) -> tuple[str, int]:
    """sha256 hex over sorted `label|productCode|balance` lines; also the number of
    accounts that had no plan ref (keyed by server id, so not comparable)."""
    lines: list[str] = []
    unmapped = 0
    for account in accounts:
        label = account_label(account, ref_by_id)
        if label.startswith("id:"):
            unmapped += 1
        lines.append(
            f"{label}|{account.get('productCode') or ''}|{canonical_amount(account['balance'])}"
        )
    lines.sort()
    digest = hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()
    return digest, unmapped


# ----------------------------------------------------------------- hash chain

GENESIS_HASH = "0" * 64
_SAFE_INT = 2**53


def _orjson_ready(value: Any) -> tuple[Any, bool]:
    """`value` with integral floats made ints, and whether orjson's sorted output
    is byte-identical to RFC 8785 for it.

    RFC 8785 writes numbers as ECMAScript does (3000.0 is `3000`) and sorts keys
    by UTF-16 code units. orjson agrees for ASCII keys, integers below 2^53 and
    floats whose Python repr has no exponent (both are shortest round-trip
    digits), and it escapes strings the same way. Anything else goes through the
    reference implementation.
    """
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not key.isascii():
                return value, False
            ready, ok = _orjson_ready(item)
            if not ok:
                return value, False
            out[key] = ready
        return out, True
    if isinstance(value, list):
        items: list[Any] = []
        for item in value:
            ready, ok = _orjson_ready(item)
            if not ok:
                return value, False
            items.append(ready)
        return items, True
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value, True
    if isinstance(value, int):
        return value, -_SAFE_INT < value < _SAFE_INT
    if isinstance(value, float):
        if value.is_integer() and abs(value) < _SAFE_INT:
            return int(value), True
        return value, "e" not in repr(value) and "n" not in repr(value)
    return value, False


def canonical_json(value: Any) -> bytes:
    """RFC 8785 (JCS) canonical JSON bytes; fast path through orjson when it is exact."""
    ready, ok = _orjson_ready(value)
    if ok:
        return orjson.dumps(ready, option=orjson.OPT_SORT_KEYS)
    return bytes(rfc8785.dumps(value))


def event_hash(envelope: Mapping[str, Any]) -> str:
    """sha256 hex of prevHash (UTF-8) followed by the JCS of the envelope without `hash`.

    The canonical form matters because the hash must be recomputable by any
    client from the JSON it receives: key order and number spelling must not
    depend on the service's serializer, which is what RFC 8785 pins down.
    """
    body = {k: v for k, v in envelope.items() if k != "hash"}
    prev = str(envelope.get("prevHash", ""))
    return hashlib.sha256(prev.encode("utf-8") + canonical_json(body)).hexdigest()
