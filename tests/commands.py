"""The commands the suites send, built one way: the envelope (the kit's), a tenant, a
customer's address, an entry, and a paged read.

    envelope(tenant, "PostEntry", entry_payload([(a, "CREDIT", 1), (b, "DEBIT", 1)]))

Tests pass what their own sender stands for (the actor, the timestamp) where it is not
the default; the payloads are written the way docs/contract.md shows them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from turingcore_client.envelope import build_envelope

TIMESTAMP = "2025-01-15T09:00:00+11:00"
TODAY = "2025-01-15"
ADDRESS: dict[str, Any] = {
    "line1": "1 George St",
    "suburb": "Sydney",
    "state": "NSW",
    "postcode": "2000",
    "country": "AU",
}
# The regulator's fields a credit union's CreateTenant may add (the example sends them).
CREDIT_UNION = {"regulatoryJurisdiction": "APRA", "businessType": "CREDIT_UNION"}

Leg = Sequence[Any]  # (accountId, direction, amount)


def envelope(
    tenant: str,
    command_type: str,
    payload: Any,
    *,
    actor_id: str = "tests",
    actor_type: str = "SYSTEM",
    timestamp: str = TIMESTAMP,
    key: str | None = None,
    command_id: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A command envelope (a fresh commandId unless given) with `extra` fields on top."""
    body = build_envelope(
        command_type,
        payload,
        tenant_id=tenant,
        command_id=command_id,
        idempotency_key=key,
        timestamp=timestamp,
        actor={"actorType": actor_type, "actorId": actor_id},
    )
    body.update(extra)
    return body


def tenant_payload(
    tenant: str,
    currency: str = "AUD",
    display_name: str = "CU Digital Twin",
    time_zone: str = "Australia/Sydney",
) -> dict[str, Any]:
    return {
        "tenantCode": tenant,
        "displayName": display_name,
        "region": "AU",
        "baseCurrency": currency,
        "timeZone": time_zone,
    }


def legs_payload(legs: Iterable[Leg]) -> list[dict[str, Any]]:
    return [{"accountId": a, "direction": d, "amount": m} for a, d, m in legs]


def entry_payload(
    legs: Iterable[Leg], narrative: str = "test entry", day: str = TODAY, **extra: Any
) -> dict[str, Any]:
    """A PostEntry payload in AUD booked and valued on `day`."""
    return {
        "bookingDate": day,
        "valueDate": day,
        "currency": "AUD",
        "legs": legs_payload(legs),
        "narrative": narrative,
        **extra,
    }


def transfer_legs(src: Any, dst: Any, amount: float) -> list[tuple[Any, str, float]]:
    """`amount` out of `src` (CREDIT) into `dst` (DEBIT)."""
    return [(src, "CREDIT", amount), (dst, "DEBIT", amount)]


def every_event(page: Callable[[int], dict[str, Any]]) -> list[dict[str, Any]]:
    """A whole event stream read page by page: `page(after)` is one page of it."""
    out: list[dict[str, Any]] = []
    after = 0
    while True:
        body = page(after)
        out.extend(body["events"])
        if body["nextCursor"] is None:
            return out
        after = int(body["nextCursor"])


# Every optional field a command takes, set to a valid value: the bad-input suites break
# one field at a time of these.
# Each is a fresh copy: the suites change the payloads they build in place.
def customer_details() -> dict[str, Any]:
    return {
        "employment": {"status": "FULL_TIME", "employer": "ACME", "annualIncome": 50000},
        "riskProfile": {"segment": "RETAIL", "kycStatus": "SIMULATED_PASSED", "creditScore": 700},
    }


def account_details() -> dict[str, Any]:
    return {"accountAlias": "Spare", "initialDeposit": 10, "accountPurpose": "Testing"}


def entry_details() -> dict[str, Any]:
    return {
        "tags": {"category": "INCOME"},
        "metadata": {"employer": "ACME", "payslip": 7, "verified": True},
    }


def full_product(code: str, name: str, description: str) -> dict[str, Any]:
    """A DEPOSIT (SAVINGS) product with every published field, each constraint of every
    product type among them (those of other types have no effect)."""
    return {
        "productCode": code,
        "name": name,
        "productType": "DEPOSIT",
        "category": "SAVINGS",
        "description": description,
        "active": True,
        "interest": {
            "rate": 0.01,
            "calculationMethod": "DAILY_BALANCE",
            "bonusConditions": {"minMonthlyDeposit": 200},
        },
        "fees": {"monthlyFee": 0},
        "constraints": {
            "minBalance": 0,
            "maxBalance": 1000,
            "allowOverdraft": False,
            "overdraftLimit": 0,
            "minAmount": 100,
            "maxAmount": 500,
            "termMonthsDefault": 12,
            "termMonthsOptions": [6, 12],
            "minAge": 18,
        },
        "features": ["NPP_ENABLED"],
        "creditCriteria": {"minIncome": 25000},
    }
