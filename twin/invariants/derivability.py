"""balance_derivability: every account's balance is the fold of its own postings."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from turingcore_client.errors import api_error
from turingcore_client.money import cents, format_minor
from turingcore_client.paging import PAGE_SIZE_MAX, CursorStuck, cursor_query, next_after
from twin.invariants.compact import IdSequence
from twin.invariants.inspection import ACCOUNTS, QUEUED_AHEAD, Inspection
from twin.invariants.registry import check
from twin.invariants.results import CheckResult
from twin.invariants.stream import POSTING_EVENTS


class _Fold:
    """One account's own stream, folded page by page as its pages arrive."""

    __slots__ = (
        "account_id",
        "done",
        "events",
        "last_sequence",
        "nets",
        "problems",
        "running",
        "seen",
        "updates",
    )

    def __init__(self, account_id: str) -> None:
        self.account_id = account_id
        self.running: int | Decimal = 0
        self.last_sequence = 0
        self.events = 0
        self.updates = 0
        self.seen = IdSequence()  # its postings and balance updates, in its stream's order
        # entryId -> this account's net (cents), until the entry's balance update
        self.nets: dict[str, int | Decimal] = {}
        self.problems: list[str] = []
        self.done = False

    def feed(self, events: list[dict[str, Any]], tenant_id: str) -> None:
        account_id = self.account_id
        problems = self.problems
        seen = self.seen
        nets = self.nets
        running = self.running
        last_sequence = self.last_sequence
        for event in events:
            sequence = int(event.get("sequence", 0))
            if sequence <= last_sequence:
                problems.append(f"{account_id}: events out of order at sequence {sequence}")
            last_sequence = sequence
            if event.get("tenantId") != tenant_id:
                problems.append(f"{account_id}: event {event.get('eventId')} of another tenant")
            kind = event.get("eventType")
            if kind == "AccountBalanceUpdated":
                seen.add(str(event.get("eventId")))
                payload = event.get("payload", {})
                if payload.get("accountId") != account_id:
                    continue
                self.updates += 1
                balance = cents(payload.get("balance"))
                if balance != running:
                    problems.append(
                        f"{account_id}: AccountBalanceUpdated at sequence {sequence} says "
                        f"{format_minor(balance)}, the postings before it sum to "
                        f"{format_minor(running)}"
                    )
                # Popped: an entry's update follows it; what stays is the entries without.
                net = nets.pop(str(payload.get("entryId")), None)
                if net is not None:
                    change = cents(payload.get("change"))
                    if net != change:
                        problems.append(
                            f"{account_id}: change {format_minor(change)} for entry "
                            f"{payload.get('entryId')}, its legs give {format_minor(net)}"
                        )
            elif kind in POSTING_EVENTS:
                seen.add(str(event.get("eventId")))
                payload = event.get("payload", {})
                net = 0
                for leg in payload.get("legs", []):
                    if leg.get("accountId") == account_id:
                        value = cents(leg["amount"])
                        net += value if leg.get("direction") == "DEBIT" else -value
                running += net
                entry_id = payload.get("entryId")
                if entry_id is not None:
                    nets[str(entry_id)] = net
        self.events += len(events)
        self.running = running
        self.last_sequence = last_sequence

    def finish(self, projected: Any, expected: IdSequence) -> list[str]:
        """The final fold against the projected balance, and the postings the account
        stream held against the ones the tenant stream ties to the account."""
        account_id = self.account_id
        problems = self.problems
        balance = cents(projected)
        if balance != self.running:
            problems.append(
                f"{account_id}: balance {format_minor(balance)}, its {self.events} events fold to "
                f"{format_minor(self.running)}"
            )
        seen = self.seen
        if seen != expected:
            if seen.count < expected.count:
                problems.append(
                    f"{account_id}: account stream lacks {expected.count - seen.count} posting "
                    f"event(s) of the tenant stream ({seen.count} of {expected.count})"
                )
            elif seen.count > expected.count:
                problems.append(
                    f"{account_id}: account stream repeats or adds {seen.count - expected.count} "
                    f"posting event(s): {seen.count}, the tenant stream ties {expected.count} "
                    "to it"
                )
            elif seen.unordered != expected.unordered:
                problems.append(
                    f"{account_id}: account stream has posting event(s) the tenant stream does "
                    f"not tie to it, in place of some it does ({seen.count} events each)"
                )
            else:
                problems.append(
                    f"{account_id}: account stream reorders the tenant stream's postings of "
                    "the account"
                )
        self.nets = {}
        return problems


class Folds:
    """Every account's event pages, asked for QUEUED_AHEAD accounts at a time (the
    fetcher keeps a few in flight) and folded by the callbacks as they come back, each
    account's pages in order (its next page is asked for when one arrives, the next
    account's first page when an account ends)."""

    def __init__(self, ctx: Inspection, accounts: list[dict[str, Any]]) -> None:
        self.tenant_id = ctx.tenant_id
        self.folds = [_Fold(str(account["accountId"])) for account in accounts]
        self.open = len(self.folds)
        self.ctx = ctx
        self.client = ctx.client
        # A window of accounts at a time: the next one starts as one ends.
        self._unstarted = iter(self.folds)
        for fold in itertools.islice(self._unstarted, QUEUED_AHEAD):
            self._ask(fold, 0)

    def _ask(self, fold: _Fold, after: int) -> None:
        path = f"/v1/tenants/{self.tenant_id}/accounts/{fold.account_id}/events"

        def done(status: int, body: Any) -> None:
            self._page(fold, after, status, body)

        self.ctx.get(self.client, path, cursor_query(after, PAGE_SIZE_MAX), done, ACCOUNTS)

    def _page(self, fold: _Fold, after: int, status: int, body: Any) -> None:
        """A page came back (a callback: it runs inside some other check's pump, so a
        page it cannot read is this account's problem, never an exception)."""
        cursor: int | None = None
        if status >= 400:
            fold.problems.append(
                f"{fold.account_id}: its events: unexpected reply: {api_error(status, body)}"
            )
        else:
            try:
                fold.feed(body.get("events", []), self.tenant_id)
                cursor = next_after(body, after)
            except CursorStuck as exc:
                fold.problems.append(f"{fold.account_id}: {exc}; paging stopped")
            except Exception as exc:  # a malformed page: say so, stop this account
                fold.problems.append(
                    f"{fold.account_id}: unreadable events page after={after}: "
                    f"{type(exc).__name__}: {exc}"
                )
        if cursor is not None:
            self._ask(fold, cursor)
            return
        fold.done = True
        self.open -= 1
        following = next(self._unstarted, None)
        if following is not None:
            self._ask(following, 0)

    def wait(self) -> list[_Fold]:
        self.ctx.mux.run_until(lambda: self.open == 0)
        return self.folds


@check("balance_derivability")
def balance_derivability(ctx: Inspection, result: CheckResult) -> None:
    """Fold each account's own event stream (FundsPosted and EntryPosted legs,
    DEBIT + and CREDIT -): every AccountBalanceUpdated must agree with the fold
    at its point, and the final fold must equal the projected balance. The
    account stream must also hold exactly the tenant stream's postings and
    balance updates for that account, in the same order."""
    by_account = ctx.stream().by_account
    folds = ctx.folds().wait()
    for fold, account in zip(folds, ctx.accounts(), strict=True):
        expected = by_account.get(fold.account_id) or IdSequence()
        problems = fold.finish(account["balance"], expected)
        result.count("accounts")
        result.count("events_folded", fold.events)
        result.count("balance_updates", fold.updates)
        for problem in problems:
            result.fail(problem)
