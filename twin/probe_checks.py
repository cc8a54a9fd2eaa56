"""Two probes of `twin run --probe` (twin/probe.py) kept apart from the rest:

- `bounds_problems`: what `account_bounds` checks first, the member balances the service
  serves against each account's bounds (a wrong service can serve a balance no entry
  could have made, and no entry past its bounds can be built from it);
- `probe_creation_order`: customers created one after another on the probe tenant, under
  names whose alphabetical order is the reverse of their creation order, then the probe
  tenant's customers list read back: they must come in creation order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from twin.generators.vocabulary import KYC_STATUS, RISK_SEGMENT, entry_amount_minor_max
from twin.model import LedgerAccount

if TYPE_CHECKING:
    from twin.probe import Prober, ProbeResult

# Created in this order; by first name, by last name, or by both, the reverse order.
ORDER_PEOPLE = (("Zoe", "Zimmerman"), ("Mia", "Morgan"), ("Adam", "Abbott"))
# An entry past the bounds adds up to 5000 minor units to the account's room (invalid_entry).
_SMALL_MAX = 5000


def _money(minor: int) -> str:
    return f"{minor / 100:.2f}"


def bounds_problems(accounts: list[tuple[str, LedgerAccount]]) -> list[str]:
    """Each served balance outside its account's bounds (below the floor, above the
    maximum), named with the account id: a FAIL, and no entry to build from it."""
    problems = []
    for account_id, model in accounts:
        if model.room_to_credit() < 0:
            problems.append(
                f"the service reports a balance below the account's floor: "
                f"{_money(model.balance)} on {account_id} (floor {_money(model.lower)})"
            )
        room = model.room_to_debit()
        if room is not None and room < 0:
            problems.append(
                f"the service reports a balance above the account's maximum: "
                f"{_money(model.balance)} on {account_id} (maximum {_money(model.upper or 0)})"
            )
    return problems


def too_large(model: LedgerAccount, invariant: str) -> str | None:
    """Why no entry past `model`'s bound for `invariant` fits the contract's largest
    amount (a served balance that far from its bound): None when one does."""
    room = model.room_to_debit() if invariant == "MAX_BALANCE_EXCEEDED" else None
    if room is None:
        room = model.room_to_credit()
    if room + _SMALL_MAX <= entry_amount_minor_max:
        return None
    return (
        f"{invariant}: {model.ref.removeprefix('probe:')} is {_money(room)} from its bound, "
        f"past the largest entry amount"
    )


def order_customer(seed: int, index: int, country: str) -> dict[str, Any]:
    """The `index`th (0-based) creation_order customer of run seed `seed`: the same
    payload on every run of that seed (so a repeat run replays), unique per index."""
    first, last = ORDER_PEOPLE[index]
    tag = f"{seed % 10**5:05d}"
    return {
        "externalRef": f"PROBE-ORDER-{seed}-{index + 1}",
        "person": {
            "firstName": first,
            "lastName": last,
            "dateOfBirth": "1990-01-01",
            "email": f"{first.lower()}.{last.lower()}.probe{seed}@example.com.au",
            "mobile": f"+61499{tag}{index + 1}",
        },
        "address": {
            "line1": "1 Probe Street",
            "suburb": "Sydney",
            "state": "NSW",
            "postcode": "2000",
            "country": country,
        },
        "employment": {"status": "FULL_TIME", "annualIncome": 80000.0},
        "riskProfile": {"segment": RISK_SEGMENT, "kycStatus": KYC_STATUS, "creditScore": 700},
    }


def probe_creation_order(prober: Prober, result: ProbeResult) -> None:
    """The ORDER_PEOPLE customers created on the probe tenant, each CreateCustomer sent
    only after the previous one's 202 came back; then the probe tenant's customers list
    (every page): ours in the order they were created."""
    from twin.probe import _said

    why = prober._probe_tenant_ready()
    if why is not None:
        result.skip(why)
        return
    tenant = prober.probe_tenant
    country = getattr(prober.planner, "country", "AU")
    created: list[str] = []
    for index in range(len(ORDER_PEOPLE)):
        payload = order_customer(prober.seed, index, country)
        reply = prober._send(
            "CreateCustomer", payload, tenant, idempotency_key=prober._key(f"order:{index + 1}")
        )
        customer_id = reply.body.get("customerId") if isinstance(reply.body, dict) else None
        if not reply.accepted or not customer_id:
            result.fail(
                f"CreateCustomer {payload['externalRef']} on {tenant}: {_said(reply)}, not 202"
            )
            return
        created.append(str(customer_id))
    names = " then ".join(" ".join(p) for p in ORDER_PEOPLE)
    result.detail = f"{names} on {tenant}, one after another; its customers list read back"
    served = [str(c.get("customerId")) for c in prober.client.iter_customers(tenant)]
    ours = [customer_id for customer_id in served if customer_id in created]
    missing = [c for c in created if c not in ours]
    if missing:
        result.fail(f"{tenant}'s customers list: {len(missing)} of the created never served")
    elif ours != created:
        by_id = dict(zip(created, (" ".join(p) for p in ORDER_PEOPLE), strict=True))
        result.fail(
            f"{tenant}'s customers list: {', '.join(by_id[c] for c in ours)}, not in "
            f"creation order ({names})"
        )
