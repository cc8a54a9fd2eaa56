"""As-of reads (an extension): an account's balance and events, and the tenant's trial
balance, at a sequence number or a booking date, as the log sums them (store/asof.py)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Response

from mock_core import limits
from mock_core.api.deps import StoreDep, TenantDep
from mock_core.api.routes import After, Limit, PathId, read_reply
from mock_core.errors import RequestError
from mock_core.store import asof

router = APIRouter(prefix="/v1")

AsOfSequence = Annotated[int, Query(ge=0, le=2**62)]
# A calendar date as YYYY-MM-DD only (pydantic's date would take "0" as 1970-01-01).
AsOfDate = Annotated[str, Query(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
PARAMETERS = ["asOfSequence", "asOfDate"]


def _point(sequence: int | None, date: str | None) -> asof.AsOf:
    if (sequence is None) == (date is None):
        raise RequestError(
            "VALIDATION_ERROR",
            "give exactly one of asOfSequence and asOfDate",
            {"parameters": PARAMETERS},
        )
    if date is not None:
        try:
            dt.date.fromisoformat(date)
        except ValueError:
            raise RequestError(
                "VALIDATION_ERROR",
                f"asOfDate {date!r} is not a calendar date (YYYY-MM-DD)",
                {"parameter": "asOfDate"},
            ) from None
    return asof.AsOf(sequence, date)


@router.get("/tenants/{tenant_id}/accounts/{account_id}/balance")
async def account_balance(
    tenant_id: TenantDep,
    account_id: PathId,
    store: StoreDep,
    asOfSequence: AsOfSequence | None = None,
    asOfDate: AsOfDate | None = None,
    limit: Limit = limits.account_events_page_default,
    after: After = 0,
) -> Response:
    at = _point(asOfSequence, asOfDate)
    return read_reply(
        store,
        tenant_id,
        lambda conn: asof.account_balance(conn, tenant_id, account_id, at, after, limit),
        ("account", account_id),
    )


@router.get("/tenants/{tenant_id}/trial-balance")
async def trial_balance(
    tenant_id: TenantDep,
    store: StoreDep,
    asOfSequence: AsOfSequence | None = None,
    asOfDate: AsOfDate | None = None,
    limit: Limit = limits.page_size_default,
    after: After = 0,
) -> Response:
    at = _point(asOfSequence, asOfDate)
    return read_reply(
        store, tenant_id, lambda conn: asof.trial_balance(conn, tenant_id, at, after, limit)
    )
