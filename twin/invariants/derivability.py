"""balance_derivability: every account's balance is the fold of its own postings.

The folds fetch and read every account's own stream: as many events again as the
tenant stream, whose pass is the other half of the twin's work in the checks. Both are
the twin's CPU, so on a machine with a core to spare the folds run in a process of
their own (`ForkedFolds`), beside the stream pass, and hand back what `_Fold.finish`
compares: each account's fold, and the fingerprints of the postings its stream held."""

from __future__ import annotations

import itertools
import multiprocessing
import os
import pickle
import select
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from multiprocessing.connection import Connection
from typing import Any

from turingcore_client.client import TuringCoreClient
from turingcore_client.errors import api_error
from turingcore_client.money import cents, format_minor
from turingcore_client.paging import PAGE_SIZE_MAX, CursorStuck, cursor_query, next_after
from twin.invariants.compact import Sequences, key64
from twin.invariants.inspection import ACCOUNTS, FETCH_CONNECTIONS, QUEUED_AHEAD, Inspection
from twin.invariants.registry import check
from twin.invariants.results import CheckResult
from twin.invariants.stream import POSTING_EVENTS


class _Fold:
    """One account's own stream, folded page by page as its pages arrive. There is one
    for every account at once (258,000 at 100,000 members), so it keeps little: the
    postings and balance updates its stream held, in order, are a slot of the folds'
    `Sequences` (its `slot`), and its entries and problems a dict and a list only while
    it has any."""

    __slots__ = (
        "account_id",
        "done",
        "events",
        "last_sequence",
        "nets",
        "problems",
        "running",
        "slot",
        "updates",
    )

    def __init__(self, account_id: str, slot: int) -> None:
        self.account_id = account_id
        self.slot = slot
        self.running: int | Decimal = 0
        self.last_sequence = 0
        self.events = 0
        self.updates = 0
        # entryId -> this account's net (cents), until the entry's balance update
        self.nets: dict[str, int | Decimal] | None = None
        self.problems: list[str] | None = None
        self.done = False

    def problem(self, message: str) -> None:
        if self.problems is None:
            self.problems = []
        self.problems.append(message)

    def feed(self, events: list[dict[str, Any]], tenant_id: str, seen: Sequences) -> None:
        account_id = self.account_id
        problems = self.problems if self.problems is not None else []
        slot = self.slot
        nets = self.nets if self.nets is not None else {}
        running = self.running
        last_sequence = self.last_sequence
        try:
            for event in events:
                sequence = int(event.get("sequence", 0))
                if sequence <= last_sequence:
                    problems.append(f"{account_id}: events out of order at sequence {sequence}")
                last_sequence = sequence
                if event.get("tenantId") != tenant_id:
                    problems.append(f"{account_id}: event {event.get('eventId')} of another tenant")
                kind = event.get("eventType")
                if kind == "AccountBalanceUpdated":
                    seen.feed(slot, str(event.get("eventId")))
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
                    seen.feed(slot, str(event.get("eventId")))
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
        finally:
            self.nets = nets or None
            self.problems = problems or None

    def finish(self, projected: Any, seen: Sequences, expected: Sequences) -> list[str]:
        """The final fold against the projected balance, and the postings the account
        stream held (`seen`, under its slot) against the ones the tenant stream ties to
        the account (`expected`, under the account's key)."""
        account_id = self.account_id
        problems = self.problems or []
        balance = cents(projected)
        if balance != self.running:
            problems.append(
                f"{account_id}: balance {format_minor(balance)}, its {self.events} events fold to "
                f"{format_minor(self.running)}"
            )
        mine = seen.at(self.slot)
        theirs = expected.get(key64(account_id))
        if mine != theirs:
            if mine.count < theirs.count:
                problems.append(
                    f"{account_id}: account stream lacks {theirs.count - mine.count} posting "
                    f"event(s) of the tenant stream ({mine.count} of {theirs.count})"
                )
            elif mine.count > theirs.count:
                problems.append(
                    f"{account_id}: account stream repeats or adds {mine.count - theirs.count} "
                    f"posting event(s): {mine.count}, the tenant stream ties {theirs.count} "
                    "to it"
                )
            elif mine.unordered != theirs.unordered:
                problems.append(
                    f"{account_id}: account stream has posting event(s) the tenant stream does "
                    f"not tie to it, in place of some it does ({mine.count} events each)"
                )
            else:
                problems.append(
                    f"{account_id}: account stream reorders the tenant stream's postings of "
                    "the account"
                )
        self.nets = self.problems = None
        return problems


class Folds:
    """Every account's event pages, asked for QUEUED_AHEAD accounts at a time (the
    fetcher keeps a few in flight) and folded by the callbacks as they come back, each
    account's pages in order (its next page is asked for when one arrives, the next
    account's first page when an account ends)."""

    def __init__(self, ctx: Inspection, accounts: Sequence[Mapping[str, Any]]) -> None:
        self.tenant_id = ctx.tenant_id
        # Each fold's slot is its position: keys 1..n in a table sized for n, so a key's
        # slot is its own and never moves.
        self.seen = Sequences(len(accounts))
        self.folds = [
            _Fold(str(account["accountId"]), self.seen.slot(n + 1))
            for n, account in enumerate(accounts)
        ]
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
            error = api_error(status, body)
            fold.problem(f"{fold.account_id}: its events: unexpected reply: {error}")
        else:
            try:
                fold.feed(body.get("events", []), self.tenant_id, self.seen)
                cursor = next_after(body, after)
            except CursorStuck as exc:
                fold.problem(f"{fold.account_id}: {exc}; paging stopped")
            except Exception as exc:  # a malformed page: say so, stop this account
                fold.problem(
                    f"{fold.account_id}: unreadable events page after={after}: "
                    f"{type(exc).__name__}: {exc}"
                )
        if cursor is not None:
            self._ask(fold, cursor)
            return
        fold.done = True
        fold.nets = None  # the entries left without their update (deposits): no longer read
        self.open -= 1
        following = next(self._unstarted, None)
        if following is not None:
            self._ask(following, 0)

    def wait(self) -> Iterator[_Fold]:
        """The folds, in the accounts' order, once every account's stream is read."""
        self.ctx.mux.run_until(lambda: self.open == 0)
        return iter(self.folds)

    def close(self) -> None:
        """Nothing of its own to stop: its reads are the inspection's multiplexer's."""


# `TWIN_FOLD_PROCESS`: "0" keeps the folds in the twin's process; "1" forks them whenever
# the client speaks plain HTTP on its own sockets (tests, with threads about); unset,
# also only with a second CPU, no other thread in the twin (a fork copies one), and a
# tenant stream of at most FORK_EVENTS_MAX events. On two cores the fork took the checks
# to 0.84x at 500 x 30 (116,635 events) and 0.75x at 10,000 x 30 (2.4 M), and at
# 100,000 x 30 (24 M) gained nothing and took the twin's memory from 412 to 511 MB
# (docs/twin.md): the boundary is set between the last two.
ENV_FOLD_PROCESS = "TWIN_FOLD_PROCESS"
FORK_EVENTS_MAX = 1 << 23
_WAIT_S = 0.05  # between two looks at the folds' pipe when nothing else is in flight
_EXIT_WAIT_S = 10.0  # for the child to leave once it has sent its results


def fork_folds(ctx: Inspection) -> bool:
    """Whether the folds go to a process of their own (see `ENV_FOLD_PROCESS`). It must
    be a fork: the fingerprints are made of `hash()` of the eventIds (`compact.key64`),
    whose secret differs between two interpreters started apart."""
    wanted = os.environ.get(ENV_FOLD_PROCESS, "").strip()
    if wanted == "0":
        return False
    if ctx.client.raw_endpoint is None or not hasattr(select, "epoll"):
        return False  # an injected transport (in process) or https: no sockets of its own
    if "fork" not in multiprocessing.get_all_start_methods():
        return False
    if wanted == "1":
        return True
    if (os.cpu_count() or 1) < 2 or threading.active_count() > 1:
        return False
    stated = ctx.tenant().get("lastSequence")
    return isinstance(stated, int) and stated <= FORK_EVENTS_MAX


class ForkedFolds:
    """`Folds` in a forked process: it reads the accounts' streams on connections of
    its own while this one reads the tenant stream, and sends back each account's fold
    (its running balance, counts and problems) with the fingerprints of the postings
    each stream held, the same `Sequences` the folds keep in process. `wait` gives the
    same `_Fold`s as `Folds.wait`, so the check compares them in the same way. A
    failure in the child (the service unreachable, say) is raised here, as in process;
    the child's retries are added to the client's counts."""

    def __init__(self, ctx: Inspection, accounts: Sequence[Mapping[str, Any]]) -> None:
        self.ctx = ctx
        self.account_ids = [str(account["accountId"]) for account in accounts]
        self.seen = Sequences(0)
        forking = multiprocessing.get_context("fork")
        self._receiver, sender = forking.Pipe(duplex=False)
        # The child leaves through multiprocessing, which flushes the standard streams:
        # what this process buffered would come out twice.
        sys.stdout.flush()
        sys.stderr.flush()
        self._process = forking.Process(
            target=_fold_in_child,
            args=(sender, ctx.client, ctx.tenant_id, self.account_ids, ctx.concurrency),
            name="twin-folds",
            daemon=True,
        )
        self._process.start()
        sender.close()
        self._states: list[tuple[int | Decimal, int, int, list[str] | None]] | None = None

    def wait(self) -> Iterator[_Fold]:
        """The folds, in the accounts' order, once the child has sent them (this
        process's own background reads go on meanwhile)."""
        if self._states is not None:
            return self._made()
        ctx, receiver = self.ctx, self._receiver
        while not receiver.poll(0.0 if ctx.busy else _WAIT_S):
            ctx.pump(0.002)
        try:
            data = receiver.recv_bytes()
        except EOFError:
            self.close()
            raise RuntimeError(
                f"the account folds' process ended (exit code {self._process.exitcode}) "
                "before it sent its results"
            ) from None
        self._process.join(_EXIT_WAIT_S)  # it has sent all it had: it is leaving
        self.close()
        outcome, value = pickle.loads(data)
        if outcome == "raise":
            raise value
        self.seen, self._states, retries = value
        ctx.client.policy.counts.merge(retries)
        return self._made()

    def _made(self) -> Iterator[_Fold]:
        """Each account's fold made again from what the child sent, one at a time (a
        list of them would take 60 MB at 100,000 members)."""
        slot, states = self.seen.slot, self._states
        assert states is not None
        for n, (account_id, state) in enumerate(zip(self.account_ids, states, strict=True)):
            fold = _Fold(account_id, slot(n + 1))
            fold.running, fold.events, fold.updates, fold.problems = state
            fold.done = True
            yield fold

    def close(self) -> None:
        """Stop the child if it still runs (the checks ended early), and its pipe."""
        if self._process.is_alive():
            self._process.kill()
        self._process.join()
        self._receiver.close()


def _fold_in_child(
    sender: Connection,
    parent: TuringCoreClient,
    tenant_id: str,
    account_ids: list[str],
    concurrency: int,
) -> None:
    """The forked child of `ForkedFolds`: fold every account with a client of its own
    (new connections, its own retry counts) and send the outcome, or the exception."""
    message: tuple[str, Any]
    try:
        client = parent.with_api_key(parent.api_key)
        ctx = Inspection(client, tenant_id, concurrency=min(concurrency, FETCH_CONNECTIONS))
        folds = Folds(ctx, [{"accountId": account_id} for account_id in account_ids])
        done = folds.wait()
        states = [(f.running, f.events, f.updates, f.problems) for f in done]
        message = ("ok", (folds.seen, states, client.policy.counts.snapshot()))
        ctx.close()
        client.close()
    except BaseException as exc:  # sent to the parent, raised there
        message = ("raise", exc)
    try:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        if message[0] == "raise":
            pickle.loads(data)  # some exceptions pickle, then cannot be made again
    except Exception:  # an exception that does not travel: its type and words
        error = message[1]
        data = pickle.dumps(
            (
                "raise",
                RuntimeError(f"in the account folds' process: {type(error).__name__}: {error}"),
            ),
            protocol=pickle.HIGHEST_PROTOCOL,
        )
    sender.send_bytes(data)
    sender.close()


@check("balance_derivability")
def balance_derivability(ctx: Inspection, result: CheckResult) -> None:
    """Fold each account's own event stream (FundsPosted and EntryPosted legs,
    DEBIT + and CREDIT -): every AccountBalanceUpdated must agree with the fold
    at its point, and the final fold must equal the projected balance. The
    account stream must also hold exactly the tenant stream's postings and
    balance updates for that account, in the same order."""
    by_account = ctx.stream().by_account
    folds = ctx.folds()
    for fold, account in zip(folds.wait(), ctx.accounts(), strict=True):
        problems = fold.finish(account["balance"], folds.seen, by_account)
        result.count("accounts")
        result.count("events_folded", fold.events)
        result.count("balance_updates", fold.updates)
        for problem in problems:
            result.fail(problem)
