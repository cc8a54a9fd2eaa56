"""The scripted laws on values and identities: `derived_fields`, `identifier_case`,
`idempotency_scope`, `exact_money`, and the extensions' `correlation_header` and
`canonical_json` (see `contract_tests.laws`)."""

from __future__ import annotations

import uuid
from typing import Any

from contract_tests import ledger_commands as L
from contract_tests.law_context import GL_COUNTERPART, LawContext, exact_minor
from contract_tests.ledger_replies import chain_problem

# Amounts binary floating point cannot hold: ten 0.10s sum to 0.9999999999999999, and
# 0.29, 1.15 and 4.35 times 100 are 28.999999999999996, 114.99999999999999 and
# 434.99999999999994 (a service truncating them loses a cent each).
DRIFT_AMOUNTS: tuple[float, ...] = (0.1,) * 10 + (0.29, 1.15, 4.35)
# Names an ASCII-only encoder escapes (\u00eb, a surrogate pair for the emoji), with the
# characters JSON must escape and those it must not (the slash, U+2028).
TRICKY_FIRST_NAME = 'Zoë "Ōtautahi" \\ </script>'
TRICKY_LAST_NAME = "Ñúñez-François\u2028😀"
# Numbers whose shortest form differs: 5e-05 (Python) / 0.00005 (ECMAScript), 5.0 / 5.
TRICKY_RATE = 0.00005
# Keys whose order differs by code point (U+E000 first) and by UTF-16 unit (the emoji's
# surrogate U+D83D first), as RFC 8785 sorts them.
TRICKY_METADATA: dict[str, Any] = {
    "\ue000": "private use",
    "😀": "astral",
    "é": 1.5,
    "whole": 5.0,
    "small": 0.00005,
    "escapes": 'tab\t "quoted" back\\slash \u001f',
}


def _net(legs: Any, account_id: str) -> int:
    """What `legs` move on `account_id`, in minor units (debits up); an amount that is
    not whole cents counts 0 (the balance check then names it)."""
    net = 0
    for posting in legs or []:
        if posting.get("accountId") == account_id:
            minor = exact_minor(posting.get("amount")) or 0
            net += minor if posting.get("direction") == "DEBIT" else -minor
    return net


def derived_fields(c: LawContext) -> None:
    """An account's balance is the fold of its own events, its `lastSequence` the
    sequence of its latest event; `getAccount` agrees with the list; the tenant's
    `lastSequence` and `lastHash` are its latest event's."""
    t = c.t
    items, _, _ = c.listing(c.accounts_path, "accounts", "derived_fields", **c.every_account)
    for item in items:
        account_id = str(item.get("accountId"))
        events, sent = c.account_events(t, account_id, "derived_fields")
        folded = sum(
            _net((e.get("payload") or {}).get("legs"), account_id)
            for e in events
            if e.get("eventType") in ("EntryPosted", "FundsPosted")
        )
        problem = None
        if exact_minor(item.get("balance")) != folded:
            problem = f"balance {item.get('balance')!r}, its events fold to {folded / 100:.2f}"
        last = item.get("lastSequence")
        if problem is None and c.ext["sequence"] and last is not None and events:
            latest = max(int(e.get("sequence") or 0) for e in events)
            if last != latest:
                problem = f"lastSequence {last!r}, its latest event has sequence {latest}"
        if problem is None and c.ext["account_read"]:
            single, sent = c.read(f"/tenants/{t}/accounts/{account_id}", "derived_fields")
            for name in ("balance", "lastSequence", "customerId", "productCode"):
                if name in item and single.get(name) != item.get(name):
                    problem = (
                        f"getAccount says {name} {single.get(name)!r}, the list {item.get(name)!r}"
                    )
                    break
        where = f"tenant {t}, account {account_id}"
        c.checks.check("derived_fields", problem and f"{where}: {problem}", sent.curl())
    if c.ext["tenant_read"] and c.ext["sequence"] and c.ext["tenant_stream"]:
        head, sent = c.read(f"/tenants/{t}", "derived_fields")
        events, _ = c.tenant_stream(t, "derived_fields")
        problem = None
        if events and head.get("lastSequence") != events[-1].get("sequence"):
            problem = (
                f"the tenant's lastSequence {head.get('lastSequence')!r}, its latest event "
                f"{events[-1].get('sequence')!r}"
            )
        elif events and c.ext["hash_chain"] and head.get("lastHash") != events[-1].get("hash"):
            problem = "the tenant's lastHash is not its latest event's hash"
        c.checks.check("derived_fields", problem and f"tenant {t}: {problem}", sent.curl())


def identifier_case(c: LawContext) -> None:
    """Tenant codes, account ids, customer ids and GL codes are case-sensitive."""
    t, busiest, first = c.t, c.busiest, c.members[0]
    lower = t.lower()
    reads = [f"/tenants/{lower}/accounts", f"/tenants/{lower}/customers"]
    if c.ext["tenant_read"]:
        reads.append(f"/tenants/{lower}")
    reads.append(f"/tenants/{t}/accounts/{GL_COUNTERPART.lower()}/events")
    if busiest.upper() != busiest:
        reads.append(f"/tenants/{t}/accounts/{busiest.upper()}/events")
    if c.ext["account_read"] and busiest.upper() != busiest:
        reads.append(f"/tenants/{t}/accounts/{busiest.upper()}")
    for path in reads:
        sent = c.wire.get(path)
        problem = None
        if sent.response.status_code not in (400, 404):
            problem = (
                f"GET {path} (ids are case-sensitive: {lower} is not {t}) answered "
                f"{sent.summary()}, expected 404 NOT_FOUND"
            )
        c.checks.check("identifier_case", problem, sent.curl())
    if first.upper() != first:
        items, total, sent = c.listing(
            c.accounts_path, "accounts", "identifier_case", customerId=first.upper()
        )
        problem = None
        if items or total != 0:
            problem = f"customerId={first.upper()} selects {total} accounts, expected 0"
        c.checks.check("identifier_case", problem, sent.curl())
    legs = [L.leg(GL_COUNTERPART.lower(), "DEBIT", 1), L.leg("GL_FEES", "CREDIT", 1)]
    c.m.send(t, "PostEntry", L.entry_payload(legs), row="identifier_case")
    if first.upper() != first:
        opening = {"customerId": first.upper(), "productCode": "TXN", "currency": "AUD"}
        c.m.send(t, "OpenAccount", opening, row="identifier_case")


def idempotency_scope(c: LawContext) -> None:
    """The same key in two tenants is two commands, never a replay of the other
    tenant's reply."""
    m, t, other = c.m, c.t, c.other
    key = f"ct-scope-{uuid.uuid4().hex}"
    shared = L.product_payload(f"SCOPE_{m.serial_number()}", "TXN")
    m.send(t, "UpsertProduct", shared, key=key)
    m.send(other, "UpsertProduct", shared, key=key, row="idempotency_scope")
    entry = L.entry_payload([L.leg("GL_FEES", "DEBIT", 2), L.leg(GL_COUNTERPART, "CREDIT", 2)])
    m.send(other, "PostEntry", entry, key=key + "-2")
    m.send(t, "PostEntry", entry, key=key + "-2", row="idempotency_scope")
    for code in (t, other):  # each tenant's replay is its own first reply
        m.send(code, "UpsertProduct", shared, key=key, timestamp=L.REPLAY_TIMESTAMP)


def exact_money(c: LawContext) -> None:
    """Ten postings of 0.10, then 0.29, 1.15 and 4.35: every balance to the cent,
    written as a whole number of cents."""
    m, t, tenant = c.m, c.t, c.tenant
    m.verify_balances(tenant)  # the general rule first, in its own row
    opening = {"customerId": c.members[3], "productCode": "TXN", "currency": "AUD"}
    _, body = m.send(t, "OpenAccount", opening)
    drift = str(body["accountId"])
    for amount in DRIFT_AMOUNTS:
        legs = [L.leg(drift, "DEBIT", amount), L.leg(GL_COUNTERPART, "CREDIT", amount)]
        m.send(t, "PostEntry", L.entry_payload(legs))
    watched = [drift] + ([GL_COUNTERPART] if c.ext["account_type"] else [])
    items, _, sent = c.listing(c.accounts_path, "accounts", "exact_money", **c.every_account)
    served = {str(a.get("accountId")): a for a in items}
    problem = None
    for account_id in watched:
        want = tenant.accounts[account_id].balance
        value = (served.get(account_id) or {}).get("balance")
        if exact_minor(value) != want:
            problem = (
                f"account {account_id}: balance {value!r} after postings of "
                f"{', '.join(map(str, DRIFT_AMOUNTS))}; expected exactly {want / 100:.2f}"
            )
            break
    c.checks.check("exact_money", problem and f"tenant {t}: {problem}", sent.curl())
    if c.ext["account_read"]:
        single, sent = c.read(f"/tenants/{t}/accounts/{drift}", "exact_money")
        want = tenant.accounts[drift].balance
        problem = None
        if exact_minor(single.get("balance")) != want:
            problem = (
                f"getAccount {drift}: balance {single.get('balance')!r}, expected {want / 100:.2f}"
            )
        c.checks.check("exact_money", problem, sent.curl())
    problem, sent = _running_balance_problem(c, drift)
    c.checks.check("exact_money", problem and f"account {drift}: {problem}", sent.curl())


def _running_balance_problem(c: LawContext, account_id: str) -> tuple[str | None, Any]:
    """Every leg on `account_id` in whole cents, and each AccountBalanceUpdated the sum
    of its postings so far."""
    events, sent = c.account_events(c.t, account_id, "exact_money")
    running = 0
    for event in events:
        payload = event.get("payload") or {}
        for posting in payload.get("legs") or []:
            if posting.get("accountId") == account_id:
                cents = exact_minor(posting.get("amount"))
                if cents is None:
                    return f"a leg amount {posting.get('amount')!r} is not whole cents", sent
                running += cents if posting.get("direction") == "DEBIT" else -cents
        balance = payload.get("balance")
        if event.get("eventType") == "AccountBalanceUpdated" and exact_minor(balance) != running:
            return (
                f"AccountBalanceUpdated says {balance!r}, the postings so far sum to "
                f"{running / 100:.2f}"
            ), sent
    return None, sent


def correlation_header(c: LawContext) -> None:
    """(extension) The `X-Correlation-Id` sent is the reply's and the events'
    `correlationId`."""
    marker = f"ct-correlation-{uuid.uuid4().hex}"
    legs = [L.leg("GL_FEES", "DEBIT", 3), L.leg(GL_COUNTERPART, "CREDIT", 3)]
    c.m.send(c.t, "PostEntry", L.entry_payload(legs), correlation=marker, row="correlation_header")
    events, sent = c.account_events(c.t, GL_COUNTERPART, "correlation_header")
    command_events = [e for e in events if e.get("causationId") == events[-1].get("causationId")]
    wrong = [
        e.get("eventType")
        for e in command_events
        if "correlationId" in e and e.get("correlationId") != marker
    ]
    problem = None
    if wrong:
        problem = (
            f"the events {wrong} of a command sent with X-Correlation-Id {marker} "
            "carry another correlationId"
        )
    c.checks.check("correlation_header", problem, sent.curl())


def canonical_json(c: LawContext) -> None:
    """(extension) The hash chain recomputes on events made from input that tells
    encoders apart; the chain so far is checked first, in the hash_chain row."""
    m, t = c.m, c.t
    events, sent = c.tenant_stream(t, "hash_chain")
    problem, prev = chain_problem(L.GENESIS_HASH, events)
    c.checks.check("hash_chain", problem and f"tenant {t}: {problem}", sent.curl())
    chained = len(events)
    person = L.customer_payload(m.serial_number())
    person["person"].update(firstName=TRICKY_FIRST_NAME, lastName=TRICKY_LAST_NAME)
    person["address"]["line1"] = "1 Rue de l'Église, Ōtautahi"
    m.send(t, "CreateCustomer", person)
    product = L.product_payload(f"RATE_{m.serial_number()}", "TXN")
    product["interest"] = {"rate": TRICKY_RATE, "calculationMethod": "DAILY_BALANCE"}
    m.send(t, "UpsertProduct", product)
    legs = [L.leg("GL_FEES", "DEBIT", 1.15), L.leg(GL_COUNTERPART, "CREDIT", 1.15)]
    m.send(t, "PostEntry", L.entry_payload(legs, metadata=dict(TRICKY_METADATA)))
    events, sent = c.tenant_stream(t, "canonical_json")
    problem, _ = chain_problem(
        prev,
        events[chained:],
        ", made from input that tells JSON encoders apart (non-ASCII names, escapes, "
        "5e-05, 5.0, keys by UTF-16 order)",
    )
    c.checks.check("canonical_json", problem and f"tenant {t}: {problem}", sent.curl())
