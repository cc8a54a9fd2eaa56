"""Command payloads the contract defines, built one way for every client-side sender
(the client's typed commands, the twin, the contract suites).

Each returns the payload as sent, keys in the contract's order; an optional field
given as None is left out. Amounts are passed through as given (the caller decides
between a JSON number and a `{"$ref": ...}`-free value).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DEFAULT_REGION = "AU"
DEFAULT_CURRENCY = "AUD"
DEFAULT_TIME_ZONE = "Australia/Sydney"
# A product's constraints that come in (low, high) pairs: where both are given, low must
# be below high (the contract's MIN_MUST_BE_BELOW_MAX).
CONSTRAINT_RANGES: tuple[tuple[str, str], ...] = (
    ("minBalance", "maxBalance"),
    ("minAmount", "maxAmount"),
    ("minAge", "maxAge"),
)


def _with(payload: dict[str, Any], optional: Mapping[str, Any]) -> dict[str, Any]:
    payload.update((name, value) for name, value in optional.items() if value is not None)
    return payload


def tenant_payload(
    tenant_code: str,
    display_name: str,
    *,
    region: str = DEFAULT_REGION,
    base_currency: str = DEFAULT_CURRENCY,
    time_zone: str = DEFAULT_TIME_ZONE,
    regulatory_jurisdiction: str | None = None,
    business_type: str | None = None,
) -> dict[str, Any]:
    """CreateTenant's payload."""
    payload = {
        "tenantCode": tenant_code,
        "displayName": display_name,
        "region": region,
        "baseCurrency": base_currency,
        "timeZone": time_zone,
    }
    optional = {"regulatoryJurisdiction": regulatory_jurisdiction, "businessType": business_type}
    return _with(payload, optional)


def leg(account_id: Any, direction: str, amount: Any) -> dict[str, Any]:
    """One leg of an entry: an account (id or `{"$ref": ...}`), DEBIT or CREDIT, an amount."""
    return {"accountId": account_id, "direction": direction, "amount": amount}


def entry_payload(
    booking_date: str,
    legs: list[Any],
    narrative: str,
    *,
    value_date: str | None = None,
    currency: str = DEFAULT_CURRENCY,
    tags: Mapping[str, str] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """PostEntry's payload: value date the booking date unless given; `tags` an object
    of strings, `metadata` one of scalars (copied)."""
    payload = {
        "bookingDate": booking_date,
        "valueDate": value_date or booking_date,
        "currency": currency,
        "legs": legs,
        "narrative": narrative,
    }
    optional = {
        "tags": None if tags is None else dict(tags),
        "metadata": None if metadata is None else dict(metadata),
    }
    return _with(payload, optional)
