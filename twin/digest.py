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
from typing import Any

from turingcore_client.money import canonical_amount


def is_gl(account: Mapping[str, Any]) -> bool:
    """Whether a listed account is a GL account: `accountType` GL (an extension), or,
    without that field, no customer (published: a GL account's customerId is null)."""
    kind = account.get("accountType")
    return kind == "GL" if kind is not None else account.get("customerId") is None


def account_label(account: Mapping[str, Any], ref_by_id: Mapping[str, str]) -> str:
    """The service-independent name of an account: its plan ref, GL code or server id."""
    account_id = str(account.get("accountId"))
    if is_gl(account):
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
