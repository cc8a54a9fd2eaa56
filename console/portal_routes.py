"""The member portal's pages: sign-in as a member, their accounts and profile, and
transfers and bill payments (`router`, which `console.app.create_app` includes); the
entries and the words they answer with are in `console.portal`."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from console.context import (
    PAGE_SIZE,
    Ctx,
    CtxDep,
    MemberRequired,
    customer_by_id,
    pager,
    render,
    tenant_or_access,
    walk_account_events,
)
from console.ledger import money, postings
from console.portal import BILL_ACCOUNT, FormProblem, entry_payload, member_words, parse_amount

RECENT_TRANSACTIONS = 20

router = APIRouter()


def member_of(c: Ctx, tenant: str) -> dict[str, Any]:
    """The member signed in to the portal of `tenant` (else MemberRequired: its sign-in)."""
    customer_id = c.session.members.get(tenant)
    if customer_id is None:
        raise MemberRequired(tenant)
    return customer_by_id(c.console, c.api, tenant, customer_id)


@router.get("/portal/{tenant}", response_class=HTMLResponse)
def portal_signin(
    c: CtxDep, tenant: str, page: Annotated[int, Query(ge=1)] = 1, error: str = ""
) -> Response:
    tenant_or_access(c.api, tenant)
    listed = c.api.customers(tenant, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return render(
        c.request,
        "portal_signin.html",
        title="Member sign-in",
        tenant=tenant,
        customers=listed.items,
        pager=pager(listed.total, page),
        error=error,
    )


@router.post("/portal/{tenant}/signin")
def portal_signin_post(
    c: CtxDep,
    tenant: str,
    customer_id: Annotated[str, Form()] = "",
    external_ref: Annotated[str, Form()] = "",
) -> Response:
    tenant_or_access(c.api, tenant)
    chosen = customer_id.strip()
    if not chosen and external_ref.strip():
        found = c.console.customer_indexes.get(tenant, c.api).by_external_ref(external_ref)
        if found is None:
            message = quote("No member has that reference.")
            return RedirectResponse(f"/portal/{quote(tenant)}?error={message}", 303)
        chosen = str(found["customerId"])
    if not chosen:
        return RedirectResponse(f"/portal/{quote(tenant)}", status_code=303)
    customer_by_id(c.console, c.api, tenant, chosen)  # 404: not this tenant's member
    c.session.members[tenant] = chosen
    return RedirectResponse(f"/portal/{quote(tenant)}/home", status_code=303)


@router.post("/portal/{tenant}/signout")
def portal_signout(c: CtxDep, tenant: str) -> Response:
    c.session.members.pop(tenant, None)
    return RedirectResponse(f"/portal/{quote(tenant)}", status_code=303)


def _member_accounts(c: Ctx, tenant: str, member: dict[str, Any]) -> list[dict[str, Any]]:
    return c.api.accounts(tenant, customer_id=str(member["customerId"]), limit=100).items


@router.get("/portal/{tenant}/home", response_class=HTMLResponse)
def portal_home(c: CtxDep, tenant: str) -> Response:
    tenant_or_access(c.api, tenant)
    member = member_of(c, tenant)
    accounts = _member_accounts(c, tenant, member)
    recent: list[tuple[dict[str, Any], Any]] = []
    for account in accounts:
        events, _ = walk_account_events(c.api, tenant, str(account["accountId"]), 0)
        recent.extend((account, p) for p in postings(str(account["accountId"]), events))
    recent.sort(key=lambda pair: pair[1].sequence, reverse=True)
    return render(
        c.request,
        "portal_home.html",
        title="Your accounts",
        tenant=tenant,
        member=member,
        accounts=accounts,
        recent=recent[:RECENT_TRANSACTIONS],
    )


@router.get("/portal/{tenant}/profile", response_class=HTMLResponse)
def portal_profile(c: CtxDep, tenant: str) -> Response:
    tenant_or_access(c.api, tenant)
    member = member_of(c, tenant)
    return render(
        c.request, "portal_profile.html", title="Your profile", tenant=tenant, member=member
    )


def _payment_page(c: Ctx, tenant: str, kind: str, status: int = 200, **result: Any) -> Response:
    member = member_of(c, tenant)
    accounts = _member_accounts(c, tenant, member)
    return render(
        c.request,
        f"portal_{kind}.html",
        status,
        title="Transfer between your accounts" if kind == "transfer" else "Pay a bill",
        tenant=tenant,
        member=member,
        accounts=accounts,
        idempotency_key=str(uuid.uuid4()),
        **result,
    )


@router.get("/portal/{tenant}/transfer", response_class=HTMLResponse)
def transfer_form(c: CtxDep, tenant: str) -> Response:
    tenant_or_access(c.api, tenant)
    return _payment_page(c, tenant, "transfer")


@router.get("/portal/{tenant}/bill", response_class=HTMLResponse)
def bill_form(c: CtxDep, tenant: str) -> Response:
    tenant_or_access(c.api, tenant)
    return _payment_page(c, tenant, "bill")


def _pay(
    c: Ctx,
    tenant: str,
    kind: str,
    source: str,
    target: str,
    amount: str,
    narrative: str,
    idempotency_key: str,
    tags: dict[str, str],
) -> Response:
    info = tenant_or_access(c.api, tenant)
    member = member_of(c, tenant)
    owned = {str(a["accountId"]) for a in _member_accounts(c, tenant, member)}
    try:
        if source not in owned:
            raise FormProblem("Choose one of your accounts to pay from.")
        if kind == "transfer" and (target not in owned or target == source):
            raise FormProblem("Choose another of your accounts to pay into.")
        if not idempotency_key.strip():
            raise FormProblem("This form has expired: please open it again.")
        minor = parse_amount(amount)
    except FormProblem as problem:
        return _payment_page(
            c, tenant, kind, 400, outcome="invalid", message=str(problem), amount=amount
        )
    payload = entry_payload(
        source, target, minor, narrative, str(info.get("baseCurrency") or "AUD"), tags
    )
    outcome = c.api.post_entry(tenant, payload, idempotency_key=idempotency_key.strip())
    if outcome.outcome == "posted":
        message = f"Done: {money(minor)} paid."
    elif outcome.outcome == "replayed":
        message = f"Already done: this {money(minor)} payment was made once, not twice."
    else:
        message = member_words(outcome.code)
    return _payment_page(
        c,
        tenant,
        kind,
        200 if outcome.outcome != "refused" else 422,
        outcome=outcome.outcome,
        message=message,
        code=outcome.code,
    )


@router.post("/portal/{tenant}/transfer", response_class=HTMLResponse)
def transfer(
    c: CtxDep,
    tenant: str,
    from_account: Annotated[str, Form()] = "",
    to_account: Annotated[str, Form()] = "",
    amount: Annotated[str, Form()] = "",
    description: Annotated[str, Form(max_length=140)] = "",
    idempotency_key: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    narrative = description.strip() or "Transfer between own accounts"
    tags = {"channel": "PORTAL", "category": "TRANSFER"}
    return _pay(
        c, tenant, "transfer", from_account, to_account, amount, narrative,
        idempotency_key, tags,
    )  # fmt: skip


@router.post("/portal/{tenant}/bill", response_class=HTMLResponse)
def bill(
    c: CtxDep,
    tenant: str,
    from_account: Annotated[str, Form()] = "",
    biller: Annotated[str, Form(max_length=60)] = "",
    reference: Annotated[str, Form(max_length=40)] = "",
    amount: Annotated[str, Form()] = "",
    idempotency_key: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    narrative = f"BPAY {biller.strip() or 'bill'} {reference.strip()}".strip()
    tags = {"channel": "BPAY", "category": "BILLS"}
    return _pay(
        c, tenant, "bill", from_account, BILL_ACCOUNT, amount, narrative,
        idempotency_key, tags,
    )  # fmt: skip
