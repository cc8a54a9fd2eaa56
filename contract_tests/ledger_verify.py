"""After every step of the ledger machine: the service agrees with the model on every
balance and on the events (their order, ids, sequence and hash chain where offered),
with a sweep of replays, key reuse, isolation and bad input at fixed steps."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis.stateful import invariant

from contract_tests.ledger_commands import (
    entry_payload,
    leg,
    page_size,
    pages_per_read_max,
    sweep_at_step,
    sweep_every_steps,
)
from contract_tests.ledger_replies import (
    EVENT_IDS_DIFFER,
    Group,
    TenantView,
    balances_problem,
    chain_problem,
    events_problem,
    status_problem,
    touched_accounts,
)
from contract_tests.ledger_rules_money import MoneyRules
from contract_tests.ledger_wire import Sent
from contract_tests.model import TenantLedger
from turingcore_client.paging import Page, cursor_events, offset_items


class Verification(MoneyRules):
    """The invariant the machine checks after every step, and its reads."""

    # -- after every step -----------------------------------------------------------

    @invariant()
    def service_agrees_with_model(self) -> None:
        self.checked += 1
        if self.checked % sweep_every_steps == sweep_at_step:
            self.trail.append("sweep")
            self.sweep()
        for tenant, money in list(self.dirty.items()):
            self.verify(tenant, money)
        self.dirty.clear()

    def sweep(self) -> None:
        """Replay the latest command, reuse its key; once, read across tenants and
        send a malformed command.

        Hypothesis draws rules unevenly over a few dozen examples; these self.checks
        change nothing when the service is right, so they run at fixed steps of
        every example to be sure each run exercises them.
        """
        keyed = [c for c in self.accepted if c.key is not None]
        if self.accepted:
            self.replay_command(self.accepted[-1])
        if keyed:
            self.reuse(keyed[-1], other_type=self.checked % 2 == 0)
        first_sweep = self.checked == sweep_at_step
        if first_sweep and self.first_accounts and self.first_customers:
            self.isolate(self.first_accounts[0], self.first_customers[0])
            # Bad input is a 400, never a 5xx, and writes nothing.
            legs = [leg(self.first_accounts[0].account_id, "DEBIT", 1.005)]
            legs.append(leg("GL_SUSPENSE", "CREDIT", 1.005))
            self.send(self.first_accounts[0].tenant, "PostEntry", entry_payload(legs))
            self.published_reads(self.first_accounts[0].tenant)

    def published_reads(self, code: str) -> None:
        """A query parameter the service does not know is a 400 naming it, and the
        account list is the members' accounts unless asked otherwise."""
        sent = self.wire.get(f"/tenants/{code}/accounts", limit=5, acountType="GL")
        problem = status_problem(sent, 400, "VALIDATION_ERROR", "an unknown parameter")
        if problem is None and "acountType" not in orjson.dumps(sent.json()).decode():
            problem = f"the 400 does not name the parameter: {sent.summary()}"
        self.checks.check("VALIDATION_ERROR", problem, sent.curl())
        sent = self.wire.get(f"/tenants/{code}/accounts", limit=page_size)
        page = sent.json()
        listed = page.get("accounts") if isinstance(page, dict) else None
        members = {a.account_id for a in self.model.tenants[code].customer_accounts()}
        problem = None
        if sent.response.status_code != 200 or not isinstance(listed, list):
            problem = f"listing accounts: {sent.summary()}"
        else:
            others = [a.get("accountId") for a in listed if a.get("accountId") not in members]
            if others:
                problem = f"the default account list holds non-member accounts {others[:3]}"
            elif page.get("total") != len(members):
                total = page.get("total")
                problem = f"total is {total}, the tenant has {len(members)} members' accounts"
        self.checks.check("balances", problem and f"tenant {code}: {problem}", sent.curl())

    def verify(self, code: str, money: bool = True) -> None:
        """The service agrees with the model on `code`: balances (when money may have
        moved) and the events; where the target offers them, the event sequence and
        the hash chain (from the tenant stream), else the events of each account's
        own stream."""
        tenant = self.model.tenants.get(code)
        if tenant is None:
            sent = self.wire.get(f"/tenants/{code}/accounts")
            problem = status_problem(sent, 404, "NOT_FOUND", "a tenant never created")
            self.checks.check(
                "events", problem and f"refused commands wrote: {problem}", sent.curl()
            )
            return
        if money:
            self.verify_balances(tenant)
        view = self.views[code]
        if not self.ext["tenant_stream"]:
            self.verify_account_streams(tenant, view)
            view.batches.clear()
            return
        events, last = self.read_events(code, view.cursor)
        if self.ext["tenant_read"]:
            head = self.wire.get(f"/tenants/{code}")
            if self.ext["sequence"]:
                self.verify_sequence(tenant, view, head, events, last)
        else:
            head = last
        self.verify_events(tenant, view, events, last)
        if self.ext["hash_chain"]:
            self.verify_chain(view, head if self.ext["tenant_read"] else None, events, last)
        view.cursor = tenant.events
        view.batches.clear()

    def verify_account_streams(self, tenant: TenantLedger, view: TenantView) -> None:
        """The new events of every account an accepted command touched (or a refused
        one named), from each account's own stream (published)."""
        batches: dict[str, list[list[Group]]] = {name: [] for name in sorted(view.suspects)}
        for batch in view.batches:
            per: dict[str, list[Group]] = {}
            for group in batch:
                for account_id in touched_accounts(group):
                    part = group.touching(account_id)
                    if part is not None:
                        per.setdefault(account_id, []).append(part)
            for account_id, groups in per.items():
                batches.setdefault(account_id, []).append(groups)
        view.suspects.clear()
        for account_id, expected in batches.items():
            stream = view.accounts.setdefault(account_id, TenantView())
            stream.batches = expected
            events, last = self.read_account_events(tenant.code, account_id, stream.cursor)
            problem = events_problem(stream, events)
            stream.cursor += len(events)
            stream.batches = []
            row = "event_ids" if problem == EVENT_IDS_DIFFER else "events"
            where = f"tenant {tenant.code}, the stream of account {account_id}"
            self.checks.check(row, problem and f"{where}: {problem}", last.curl())

    def read_account_events(
        self, code: str, account_id: str, offset: int
    ) -> tuple[list[dict[str, Any]], Sent]:
        """An account's events after the first `offset`, by offset paging (published)."""
        events: list[dict[str, Any]] = []
        for _ in range(pages_per_read_max):
            sent = self.wire.get(
                f"/tenants/{code}/accounts/{account_id}/events",
                limit=page_size,
                offset=offset + len(events),
            )
            page = sent.json()
            if sent.response.status_code != 200 or not isinstance(page, dict):
                self.checks.fail("events", f"reading the events: {sent.summary()}", sent.curl())
            got = page.get("events") or []
            events.extend(got)
            if len(got) < page_size:
                break
        return events, sent

    def verify_balances(self, tenant: TenantLedger) -> None:
        every = self.ext["account_type"]  # GL accounts too, with accountType=ALL
        kind = {"accountType": "ALL"} if every else {}
        read: list[Sent] = []

        def fetch(offset: int) -> Page:
            sent = self.wire.get(
                f"/tenants/{tenant.code}/accounts", limit=page_size, offset=offset, **kind
            )
            read.append(sent)
            page = sent.json()
            if sent.response.status_code != 200 or not isinstance(page, dict):
                self.checks.fail("balances", f"listing accounts: {sent.summary()}", sent.curl())
            return {"accounts": page.get("accounts") or [], "total": page.get("total") or 0}

        items = offset_items(fetch, "accounts", pages_max=pages_per_read_max)
        found = {str(item.get("accountId")): item for item in items}
        problem = balances_problem(tenant, found, every)
        where = read[-1].curl()
        self.checks.check("balances", problem and f"tenant {tenant.code}: {problem}", where)

    def read_events(self, code: str, after: int) -> tuple[list[dict[str, Any]], Sent]:
        """The tenant's events after sequence `after`, following `nextCursor`, and the
        last page's request."""
        read: list[Sent] = []

        def fetch(cursor: int) -> Page:
            sent = self.wire.get(f"/tenants/{code}/events", after=cursor, limit=page_size)
            read.append(sent)
            page = sent.json()
            if sent.response.status_code != 200 or not isinstance(page, dict):
                self.checks.fail("events", f"reading the events: {sent.summary()}", sent.curl())
            return {"events": page.get("events") or [], "nextCursor": page.get("nextCursor")}

        events = list(cursor_events(fetch, after, pages_max=pages_per_read_max))
        return events, read[-1]

    def verify_sequence(
        self,
        tenant: TenantLedger,
        view: TenantView,
        head: Sent,
        events: list[dict[str, Any]],
        last: Sent,
    ) -> None:
        body = head.json()
        if head.response.status_code != 200 or not isinstance(body, dict):
            self.checks.fail("sequence", f"reading the tenant: {head.summary()}", head.curl())
        problem = None
        if body.get("lastSequence") != tenant.events:
            problem = (
                f"lastSequence is {body.get('lastSequence')}, the model expects "
                f"{tenant.events} events"
            )
        else:
            for index, event in enumerate(events):
                if event.get("sequence") != view.cursor + index + 1:
                    problem = (
                        f"event {index + 1} after {view.cursor} has sequence "
                        f"{event.get('sequence')}, expected {view.cursor + index + 1}"
                    )
                    break
            else:
                if view.cursor + len(events) != tenant.events:
                    problem = (
                        f"the stream has {view.cursor + len(events)} events, the model "
                        f"expects {tenant.events}"
                    )
        self.checks.check(
            "sequence",
            problem and f"tenant {tenant.code}: {problem}",
            head.curl() if problem and "lastSequence" in problem else last.curl(),
        )

    def verify_events(
        self, tenant: TenantLedger, view: TenantView, events: list[dict[str, Any]], last: Sent
    ) -> None:
        problem = events_problem(view, events)
        row = "event_ids" if problem == EVENT_IDS_DIFFER else "events"
        self.checks.check(row, problem and f"tenant {tenant.code}: {problem}", last.curl())

    def verify_chain(
        self, view: TenantView, head: Sent | None, events: list[dict[str, Any]], last: Sent
    ) -> None:
        problem, prev = chain_problem(view.prev_hash, events)
        if (
            problem is None
            and head is not None
            and (head.json() or {}).get("lastHash") != prev
            and events
        ):
            problem = "the tenant's lastHash is not the hash of its last event"
        self.checks.check("hash_chain", problem, last.curl())
        view.prev_hash = prev
