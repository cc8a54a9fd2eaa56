"""The five invariants of the contract, checked through the public API only.

Each check is a small named function registered with `@check(name)`; it gets
an `Inspection` (the client, the tenant, lazily fetched snapshots of the
accounts and the customers, one pass over the tenant's stream, and the run log
when there is one) and returns a `CheckResult`: PASS, FAIL or SKIP, what it
counted, and the first failures in full.

  balance_derivability  every account's balance is the fold of its postings
  event_integrity       the tenant's hash chain recomputes, sequences 1..N
  tenant_isolation      a key scoped to another tenant sees and touches nothing
  idempotency           replays with new commandIds: same reply, nothing written
  audit_completeness    every accepted command has its events, every balance
                        change its posting, and the tenant's balances sum to zero

Read-only checks run first; isolation and idempotency send commands (which
must all be refused or replayed) and compare the tenant's lastSequence.

Cost: the checks read every event of the tenant once from its stream and once
more from the streams of the accounts it touches (2.4 M and ~3 M events for
10,000 members over 30 days), so the work per event is kept small. The tenant
stream is read in ONE pass (`Inspection.stream`) that verifies the chain and
keeps only what the other checks need (which events belong to which account and
to which command, each entry's net per account), page by page, never the whole
stream; pages are fetched ahead on a few threads (each with its own keep-alive
connection) while the main thread checks the previous ones, and so are the
account streams. Amounts are summed as integer cents where that is exact
(`_cents`), and the hash is recomputed through twin.digest's fast, exact JCS.
The cyclic garbage collector is paused during the checks: the snapshots hold
millions of small objects and no cycles.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import queue
import threading
import time
import uuid
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import orjson
from rich.console import Console
from rich.table import Table

from twin.client import PAGE_SIZE_MAX, ApiError, TuringCoreClient, now_rfc3339
from twin.digest import GENESIS_HASH, amount, event_hash, state_digest

PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"
FAILURES_KEPT = 20
POSTING_EVENTS = frozenset({"FundsPosted", "EntryPosted"})
BALANCE_EVENTS = POSTING_EVENTS | {"AccountBalanceUpdated"}
DEFAULT_PROBE_TENANT = "ISOLATION_PROBE_TWIN"
ENV_ISOLATION_KEY = "TURINGCORE_ISOLATION_API_KEY"
ENV_ISOLATION_TENANT = "TURINGCORE_ISOLATION_TENANT"
ZERO = Decimal(0)
# Threads that fetch pages and probe ids (at most; never more than --concurrency). The
# service answers a page much faster than the twin checks it, so a few suffice to keep
# the next pages ready; more only add GIL hand-offs. Chosen by measurement (docs/twin.md).
FETCH_THREADS = 4
PAGES_AHEAD = 4  # tenant-stream pages fetched ahead of the one being checked
_CENTS_EXACT_BELOW = 1e13  # below it, 2-decimal amounts are 0.01 apart, ulps < 0.002

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class CheckResult:
    """One invariant's verdict."""

    name: str
    status: str = PASS
    checked: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    failure_count: int = 0
    note: str | None = None
    seconds: float = 0.0

    def fail(self, message: str, *, headline: bool = False) -> None:
        """Record a failure; a `headline` one goes first, ahead of the details."""
        self.status = FAIL
        self.failure_count += 1
        if headline:
            self.failures.insert(0, message)
            del self.failures[FAILURES_KEPT:]
        elif len(self.failures) < FAILURES_KEPT:
            self.failures.append(message)

    def count(self, name: str, n: int = 1) -> None:
        self.checked[name] = self.checked.get(name, 0) + n

    def absorb(self, other: CheckResult) -> None:
        """Take over the counts and failures `other` gathered (in a shared pass)."""
        for name, n in other.checked.items():
            self.count(name, n)
        if other.status == FAIL:
            self.status = FAIL
        self.failure_count += other.failure_count
        room = FAILURES_KEPT - len(self.failures)
        self.failures.extend(other.failures[: max(0, room)])

    @property
    def passed(self) -> bool:
        return self.status != FAIL

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "checked": dict(self.checked),
            "failure_count": self.failure_count,
            "failures": list(self.failures),
            "note": self.note,
            "seconds": round(self.seconds, 3),
        }


# --------------------------------------------------------------------- amounts


def _cents(value: Any) -> int | Decimal:
    """A JSON amount in cents, exactly: an int when it has at most two decimals (the
    contract's AUD), else a Decimal (so a third decimal is never rounded away).

    For a float under 1e13, `round(value * 100)` is its cents exactly when dividing
    back gives the same float: two-decimal numbers there are 0.01 apart and the
    float spacing is under 0.002, so no other two-decimal number maps to it, and
    its shortest repr (what `amount` reads) is that number."""
    if type(value) is float:
        cents = round(value * 100)
        if cents / 100 == value and -_CENTS_EXACT_BELOW < value < _CENTS_EXACT_BELOW:
            return cents
    elif type(value) is int:
        return value * 100
    return amount(value) * 100


def _money(cents: int | Decimal) -> str:
    """Cents back as the amount, two decimals at least (`-12.30`, `0.001`)."""
    value = Decimal(cents) / 100
    exact = value.quantize(Decimal("0.01"))
    return f"{exact:.2f}" if exact == value else str(value)


def _legs_net(event: Mapping[str, Any], account_id: str) -> int | Decimal:
    """The signed change (in cents) a posting makes to one account: DEBIT +, CREDIT -."""
    net: int | Decimal = 0
    for leg in event.get("payload", {}).get("legs", []):
        if leg.get("accountId") == account_id:
            value = _cents(leg["amount"])
            net += value if leg.get("direction") == "DEBIT" else -value
    return net


# ------------------------------------------------------------------- fetching


def _threaded(
    jobs: Iterable[T],
    work: Callable[[T], Iterator[R]],
    workers: int,
    *,
    buffer: int = 64,
) -> Iterator[tuple[T, R]]:
    """(job, item) for every item `work(job)` yields, jobs spread over `workers`
    threads; one job's items come in their order, jobs interleave. At most `buffer`
    items wait to be taken, so a slow consumer holds the threads back. An exception
    in a thread is raised here; leaving early stops the threads."""
    if workers <= 1:
        for job in jobs:
            for item in work(job):
                yield job, item
        return
    source = iter(jobs)
    lock = threading.Lock()
    out: queue.Queue[Any] = queue.Queue(maxsize=buffer)
    stop = threading.Event()
    finished = object()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                out.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            while not stop.is_set():
                with lock:
                    job = next(source, finished)
                if job is finished:
                    return
                for item in work(job):  # type: ignore[arg-type]
                    if not put((job, item)):
                        return
        except BaseException as exc:  # raised again in the consumer
            put((None, _Raised(exc)))
        finally:
            put(finished)

    threads = [
        threading.Thread(target=run, name=f"twin-inspect-{i}", daemon=True) for i in range(workers)
    ]
    for thread in threads:
        thread.start()
    try:
        running = len(threads)
        while running:
            entry = out.get()
            if entry is finished:
                running -= 1
                continue
            job, item = entry
            if isinstance(item, _Raised):
                raise item.exc
            yield job, item
    finally:
        stop.set()
        for thread in threads:
            while thread.is_alive():
                with contextlib.suppress(queue.Empty):
                    out.get(timeout=0.05)
            thread.join()


@dataclass(frozen=True, slots=True)
class _Raised:
    exc: BaseException


def _pages(
    fetch: Callable[[int], dict[str, Any]], start: int, stuck: Callable[[str], None]
) -> Iterator[list[dict[str, Any]]]:
    """Follow `nextCursor` from `start`: each page's events. A cursor that does not
    advance is reported to `stuck` and ends the paging (instead of looping forever)."""
    after = start
    while True:
        page = fetch(after)
        events = page.get("events", [])
        yield events
        cursor = page.get("nextCursor")
        if cursor is None:
            return
        if int(cursor) <= after:
            stuck(f"nextCursor {cursor} after `after={after}` does not advance; paging stopped")
            return
        after = int(cursor)


class Inspection:
    """What the checks share: the client, the tenant and cached snapshots."""

    def __init__(
        self,
        client: TuringCoreClient,
        tenant_id: str,
        *,
        run_log: RunLog | Path | Sequence[Mapping[str, Any]] | None = None,
        isolation_client: TuringCoreClient | None = None,
        probe_tenant: str = DEFAULT_PROBE_TENANT,
        idempotency_sample: int = 200,
        concurrency: int = 4,
    ) -> None:
        self.client = client
        self.tenant_id = tenant_id
        self.run_log = (
            run_log if isinstance(run_log, RunLog) or run_log is None else RunLog(run_log)
        )
        self.isolation_client = isolation_client
        self.probe_tenant = probe_tenant
        self.idempotency_sample = idempotency_sample
        self.concurrency = max(1, concurrency)
        self.fetch_threads = min(self.concurrency, FETCH_THREADS)
        self._stream: StreamFacts | None = None
        self._accounts: list[dict[str, Any]] | None = None
        self._customers: list[dict[str, Any]] | None = None

    def tenant(self) -> dict[str, Any]:
        return self.client.get_tenant(self.tenant_id)

    def last_sequence(self, tenant_id: str | None = None) -> int:
        return int(self.client.get_tenant(tenant_id or self.tenant_id).get("lastSequence", 0))

    def stream(self) -> StreamFacts:
        """The tenant's stream, read and checked once (see `read_stream`)."""
        if self._stream is None:
            self._stream = read_stream(self)
        return self._stream

    def accounts(self) -> list[dict[str, Any]]:
        """Every account, member and GL, fetched once."""
        if self._accounts is None:
            self._accounts = list(self.client.iter_accounts(self.tenant_id))
        return self._accounts

    def customers(self) -> list[dict[str, Any]]:
        if self._customers is None:
            self._customers = list(self.client.iter_customers(self.tenant_id))
        return self._customers

    def tenant_pages(
        self, last_sequence: int, stuck: Callable[[str], None]
    ) -> Iterator[list[dict[str, Any]]]:
        """The tenant stream's pages in order, following `nextCursor` exactly as one
        reader would. Pages are fetched ahead on a few threads at the cursors a stream
        without gaps will ask for (after=0, 1000, 2000, ... up to `last_sequence`);
        a page is used only when the cursor really asks for it, so a stream with gaps
        or short pages is read exactly as sequential paging reads it."""
        client, tenant = self.client, self.tenant_id

        def fetch(after: int) -> dict[str, Any]:
            return client.tenant_events(tenant, after=after, limit=PAGE_SIZE_MAX)

        if self.fetch_threads <= 1:
            yield from _pages(fetch, 0, stuck)
            return
        pool = ThreadPoolExecutor(self.fetch_threads, thread_name_prefix="twin-stream")
        ahead: deque[tuple[int, Future[dict[str, Any]]]] = deque()
        speculate = itertools.count(0, PAGE_SIZE_MAX)
        next_guess = next(speculate)

        def top_up() -> None:
            nonlocal next_guess
            while len(ahead) < PAGES_AHEAD and next_guess < last_sequence:
                ahead.append((next_guess, pool.submit(fetch, next_guess)))
                next_guess = next(speculate)

        def fetch_ahead(after: int) -> dict[str, Any]:
            nonlocal last_sequence
            if ahead and ahead[0][0] == after:
                page = ahead.popleft()[1].result()
            else:  # off the guessed cursors: stop guessing, page one by one
                last_sequence = -1
                for _, future in ahead:
                    future.cancel()
                ahead.clear()
                page = fetch(after)
            top_up()
            return page

        try:
            top_up()
            yield from _pages(fetch_ahead, 0, stuck)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def account_pages(
        self, account_ids: Sequence[str], stuck: Callable[[int, str], None]
    ) -> Iterator[tuple[int, list[dict[str, Any]] | None]]:
        """(i, a page of the events of account_ids[i]) for every page of every account,
        each account's pages in order and then (i, None); accounts interleave."""
        client, tenant = self.client, self.tenant_id

        def pages(index: int) -> Iterator[list[dict[str, Any]] | None]:
            account_id = account_ids[index]

            def fetch(after: int) -> dict[str, Any]:
                return client.account_events(tenant, account_id, after=after)

            yield from _pages(fetch, 0, lambda message: stuck(index, message))
            yield None

        return _threaded(range(len(account_ids)), pages, self.fetch_threads)

    def map_parallel(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """fn over items on the fetch threads, results in the items' order."""
        results: list[Any] = [None] * len(items)

        def one(index: int) -> Iterator[R]:
            yield fn(items[index])

        for index, value in _threaded(range(len(items)), one, self.fetch_threads):
            results[index] = value
        return results


CheckFn = Callable[[Inspection, CheckResult], None]
CHECKS: dict[str, CheckFn] = {}
# Display order is the contract's; run order puts the read-only checks first.
DISPLAY_ORDER = (
    "balance_derivability",
    "event_integrity",
    "tenant_isolation",
    "idempotency",
    "audit_completeness",
)
RUN_ORDER = (
    "event_integrity",
    "balance_derivability",
    "audit_completeness",
    "tenant_isolation",
    "idempotency",
)


def check(name: str) -> Callable[[CheckFn], CheckFn]:
    """Register an invariant check under `name`."""

    def register(fn: CheckFn) -> CheckFn:
        CHECKS[name] = fn
        return fn

    return register


# ------------------------------------------------------------- the one pass


@dataclass
class StreamFacts:
    """What one pass over the tenant stream found and kept for the other checks."""

    integrity: CheckResult  # event_integrity's verdict
    audit: CheckResult  # the stream part of audit_completeness
    events: int = 0
    # account id -> eventIds of its postings and balance updates, in stream order
    by_account: dict[str, list[str]] = field(default_factory=dict)
    # causationId (the commandId) -> eventIds, in stream order
    by_causation: dict[str, list[str]] = field(default_factory=dict)


def read_stream(ctx: Inspection) -> StreamFacts:
    """Page through the tenant stream once, checking as it goes:

    - the chain (event_integrity): sequences 1..N, tenantId, each prevHash the
      previous hash (64 zeros first), each hash recomputed, eventIds unique, and
      the tenant's lastSequence/lastHash (read first) at the end of the chain;
    - the postings (audit_completeness, stream part): each FundsPosted/EntryPosted
      balances; each AccountBalanceUpdated follows the posting of its entryId and
      its change is that posting's net for its account; every EntryPosted account
      gets its AccountBalanceUpdated;

    and keeping only which events belong to each account and to each command. A
    page's events are dropped as soon as they are checked."""
    tenant_id = ctx.tenant_id
    facts = StreamFacts(CheckResult("event_integrity"), CheckResult("audit_completeness"))
    integrity, audit = facts.integrity, facts.audit
    tenant = ctx.tenant()
    last_sequence = tenant.get("lastSequence")
    try:
        expected_end = int(last_sequence) if last_sequence is not None else 0
    except (TypeError, ValueError):
        expected_end = 0
    previous = GENESIS_HASH
    index = 0
    seen_ids: set[str] = set()
    by_account: defaultdict[str, list[str]] = defaultdict(list)
    by_causation: defaultdict[str, list[str]] = defaultdict(list)
    names: dict[str, str] = {}  # one string object per account id, for memory
    entries: dict[str, dict[str, int | Decimal]] = {}  # entryId -> net (cents) per account
    pending: dict[str, set[str]] = {}  # EntryPosted accounts still without their update
    postings = updates = 0

    for events in ctx.tenant_pages(expected_end, integrity.fail):
        for event in events:
            index += 1
            sequence = event.get("sequence")
            if sequence != index:
                integrity.fail(f"sequence {sequence} where {index} was due (gap or reorder)")
            if event.get("tenantId") != tenant_id:
                integrity.fail(f"sequence {sequence}: tenantId {event.get('tenantId')!r}")
            if event.get("prevHash") != previous:
                integrity.fail(f"sequence {sequence}: prevHash does not link to the previous hash")
            stated = event.get("hash")
            try:
                recomputed = event_hash(event)
            except Exception as exc:  # a value JCS refuses, e.g. an integer beyond 2^53
                recomputed = f"(no canonical form: {type(exc).__name__}: {exc})"
            if stated != recomputed:
                integrity.fail(
                    f"sequence {sequence}: hash {str(stated)[:16]}... recomputes as "
                    f"{recomputed[:16]}..."
                )
            previous = str(stated)
            event_id = str(event.get("eventId"))
            if event_id in seen_ids:
                integrity.fail(f"sequence {sequence}: eventId {event_id} appears twice")
            else:
                seen_ids.add(event_id)
            by_causation[str(event.get("causationId"))].append(event_id)

            kind = event.get("eventType")
            if kind == "AccountBalanceUpdated":
                updates += 1
                payload = event.get("payload") or {}
                account_id = str(payload.get("accountId"))
                account_id = names.setdefault(account_id, account_id)
                by_account[account_id].append(event_id)
                entry_id = str(payload.get("entryId"))
                nets = entries.get(entry_id)
                if nets is None:
                    audit.fail(
                        f"AccountBalanceUpdated seq {sequence} for {account_id}: "
                        f"no EntryPosted (or FundsPosted) {entry_id} before it"
                    )
                    continue
                waiting = pending.get(entry_id)
                if waiting is not None:
                    waiting.discard(account_id)
                    if not waiting:
                        del pending[entry_id]
                net = nets.get(account_id)
                if net is None:
                    audit.fail(
                        f"AccountBalanceUpdated for {account_id}: entry {entry_id} has no leg"
                    )
                elif net != _cents(payload.get("change")):
                    audit.fail(
                        f"AccountBalanceUpdated for {account_id}: change {payload.get('change')}, "
                        f"entry {entry_id} gives {_money(net)}"
                    )
            elif kind in POSTING_EVENTS:
                postings += 1
                payload = event.get("payload") or {}
                legs = payload.get("legs", [])
                debits: int | Decimal = 0
                credits: int | Decimal = 0
                nets = {}
                for leg in legs:
                    account_id = str(leg.get("accountId"))
                    value = _cents(leg["amount"])
                    direction = leg.get("direction")
                    if direction == "DEBIT":
                        debits += value
                    else:
                        value = -value
                        if direction == "CREDIT":
                            credits -= value
                    nets[account_id] = nets.get(account_id, 0) + value
                entry_id = str(payload.get("entryId"))
                if debits != credits or not legs:
                    audit.fail(
                        f"{kind} {payload.get('entryId')}: debits {_money(debits)} != "
                        f"credits {_money(credits)}"
                    )
                for account_id in nets:
                    by_account[names.setdefault(account_id, account_id)].append(event_id)
                entries[entry_id] = nets
                if kind == "EntryPosted":
                    if nets:
                        pending[entry_id] = set(nets)
                    else:
                        pending.pop(entry_id, None)

    integrity.count("events", index)
    audit.count("postings", postings)
    audit.count("balance_updates", updates)
    for entry_id, missing in pending.items():
        for account_id in sorted(missing):
            audit.fail(f"EntryPosted {entry_id}: no AccountBalanceUpdated for {account_id}")
    if last_sequence is not None and expected_end != index:
        integrity.fail(f"tenant lastSequence {last_sequence}, the stream has {index} events")
    last_hash = tenant.get("lastHash")
    if index and last_hash is not None and last_hash != previous:
        integrity.fail("tenant lastHash is not the hash of the last event")
    facts.events = index
    facts.by_account = dict(by_account)
    facts.by_causation = dict(by_causation)
    return facts


# ------------------------------------------------------------------ 1. balances


@dataclass(slots=True)
class _Fold:
    """One account's stream, folded page by page."""

    account_id: str
    running: int | Decimal = 0
    last_sequence: int = 0
    events: int = 0
    updates: int = 0
    seen: list[str] = field(default_factory=list)  # its postings and balance updates
    nets: dict[str, int | Decimal] = field(default_factory=dict)  # entryId -> net
    problems: list[str] = field(default_factory=list)

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
                seen.append(str(event.get("eventId")))
                payload = event.get("payload", {})
                if payload.get("accountId") != account_id:
                    continue
                self.updates += 1
                balance = _cents(payload.get("balance"))
                if balance != running:
                    problems.append(
                        f"{account_id}: AccountBalanceUpdated at sequence {sequence} says "
                        f"{_money(balance)}, the postings before it sum to {_money(running)}"
                    )
                entry_id = str(payload.get("entryId"))
                net = nets.get(entry_id)
                if net is not None:
                    change = _cents(payload.get("change"))
                    if net != change:
                        problems.append(
                            f"{account_id}: change {_money(change)} for entry {entry_id}, "
                            f"its legs give {_money(net)}"
                        )
            elif kind in POSTING_EVENTS:
                seen.append(str(event.get("eventId")))
                payload = event.get("payload", {})
                net = 0
                for leg in payload.get("legs", []):
                    if leg.get("accountId") == account_id:
                        value = _cents(leg["amount"])
                        net += value if leg.get("direction") == "DEBIT" else -value
                running += net
                entry_id = payload.get("entryId")
                if entry_id is not None:
                    nets[str(entry_id)] = net
        self.events += len(events)
        self.running = running
        self.last_sequence = last_sequence

    def finish(self, projected: Any, expected: list[str]) -> list[str]:
        account_id = self.account_id
        problems = self.problems
        balance = _cents(projected)
        if balance != self.running:
            problems.append(
                f"{account_id}: balance {_money(balance)}, its {self.events} events fold to "
                f"{_money(self.running)}"
            )
        if self.seen != expected:
            seen, wanted = set(self.seen), set(expected)
            missing, extra = wanted - seen, seen - wanted
            if missing:
                problems.append(
                    f"{account_id}: account stream lacks {len(missing)} posting event(s) of the "
                    f"tenant stream, e.g. {sorted(missing)[0]}"
                )
            if extra:
                problems.append(
                    f"{account_id}: account stream has {len(extra)} posting event(s) the tenant "
                    f"stream does not tie to it, e.g. {sorted(extra)[0]}"
                )
            if not missing and not extra:
                problems.append(
                    f"{account_id}: account stream repeats or reorders the tenant stream's "
                    "postings of the account"
                )
        return problems


@check("balance_derivability")
def balance_derivability(ctx: Inspection, result: CheckResult) -> None:
    """Fold each account's own event stream (FundsPosted and EntryPosted legs,
    DEBIT + and CREDIT -): every AccountBalanceUpdated must agree with the fold
    at its point, and the final fold must equal the projected balance. The
    account stream must also hold exactly the tenant stream's postings and
    balance updates for that account, in the same order."""
    by_account = ctx.stream().by_account
    accounts = ctx.accounts()
    folds = {i: _Fold(str(account["accountId"])) for i, account in enumerate(accounts)}
    found: list[tuple[int, list[str]]] = []

    def stuck(index: int, message: str) -> None:
        folds[index].problems.append(f"{folds[index].account_id}: {message}")

    ids = [fold.account_id for fold in folds.values()]
    for index, events in ctx.account_pages(ids, stuck):
        fold = folds[index]
        if events is not None:
            fold.feed(events, ctx.tenant_id)
            continue
        del folds[index]
        problems = fold.finish(accounts[index]["balance"], by_account.get(fold.account_id, []))
        result.count("accounts")
        result.count("events_folded", fold.events)
        result.count("balance_updates", fold.updates)
        if problems:
            found.append((index, problems))
    for _, problems in sorted(found):  # in the accounts' order, whatever the threads did
        for problem in problems:
            result.fail(problem)


# ---------------------------------------------------------------- 2. the chain


@check("event_integrity")
def event_integrity(ctx: Inspection, result: CheckResult) -> None:
    """Sequences 1..N without gaps, each prevHash the previous hash (64 zeros
    first), each hash recomputed from the envelope, no eventId twice, and the
    tenant's lastSequence/lastHash at the end of the chain (see `read_stream`)."""
    result.absorb(ctx.stream().integrity)


# ------------------------------------------------------------- 3. isolation


def _probe_tenant_ready(ctx: Inspection, iso: TuringCoreClient, result: CheckResult) -> bool:
    """Make sure the probe tenant exists (created with the main key when needed)."""
    probe = ctx.probe_tenant
    reply = iso.raw("GET", f"/v1/tenants/{probe}")
    if reply.status == 200:
        return True
    if reply.status == 404:
        created = ctx.client.create_tenant(
            probe,
            "Isolation probe (twin)",
            idempotency_key=f"twin:isolation-probe:{probe}",
            command_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"twin:isolation-probe:{probe}")),
            timestamp="2025-01-01T00:00:00+00:00",
            raise_on_error=False,
        )
        if created.accepted or created.invariant == "TENANT_CODE_UNIQUE":
            return iso.raw("GET", f"/v1/tenants/{probe}").status == 200
        result.status = SKIP
        result.note = (
            f"cannot create the probe tenant {probe} ({created.status} {created.error}): "
            "the main key must be a platform key, or create the tenant beforehand"
        )
        return False
    result.status = SKIP
    result.note = (
        f"the isolation key gets {reply.status} on its own tenant {probe}: give a key "
        f"scoped to {probe} only (or name its tenant with --isolation-tenant)"
    )
    return False


@check("tenant_isolation")
def tenant_isolation(ctx: Inspection, result: CheckResult) -> None:
    """With a key scoped only to a probe tenant B: every read and the gateway of
    tenant A give 403; every A customer and account id under B's path gives 404;
    B's lists hold nothing of A; a PostEntry (and an OpenAccount) in B naming A's
    ids gives 422 ACCOUNT_MUST_EXIST (CUSTOMER_MUST_EXIST); nothing is written
    to A or B."""
    iso = ctx.isolation_client
    if iso is None:
        result.status = SKIP
        result.note = (
            f"needs a key scoped only to {ctx.probe_tenant}: --isolation-key or {ENV_ISOLATION_KEY}"
        )
        return
    if not _probe_tenant_ready(ctx, iso, result):
        return
    a, b = ctx.tenant_id, ctx.probe_tenant
    a_before, b_before = ctx.last_sequence(a), ctx.last_sequence(b)
    customers = ctx.customers()
    accounts = ctx.accounts()
    member_accounts = [acc for acc in accounts if acc.get("accountType") != "GL"]
    gl_accounts = [acc for acc in accounts if acc.get("accountType") == "GL"]

    def expect(status: int, method: str, path: str, body: Any = None) -> None:
        reply = iso.raw(method, path, json_body=body)
        result.count(f"expected_{status}")
        if reply.status != status:
            result.fail(f"{method} {path} with B's key: {reply.status}, expected {status}")

    # Tenant A's endpoints with B's key: all 403, whatever the id.
    sample_customers = [c["customerId"] for c in customers[:1] + customers[-1:]]
    sample_accounts = [acc["accountId"] for acc in member_accounts[:1] + member_accounts[-1:]]
    sample_accounts += [acc["accountId"] for acc in gl_accounts[:1]]
    paths = [
        f"/v1/tenants/{a}",
        f"/v1/tenants/{a}/products",
        f"/v1/tenants/{a}/customers",
        f"/v1/tenants/{a}/accounts",
        f"/v1/tenants/{a}/events",
    ]
    paths += [f"/v1/tenants/{a}/customers/{cid}" for cid in sample_customers]
    for aid in sample_accounts:
        paths += [f"/v1/tenants/{a}/accounts/{aid}", f"/v1/tenants/{a}/accounts/{aid}/events"]
    for path in paths:
        expect(403, "GET", path)
    legs = [
        {"accountId": "NO_SUCH_ACCOUNT_1", "direction": "DEBIT", "amount": 0.01},
        {"accountId": "NO_SUCH_ACCOUNT_2", "direction": "CREDIT", "amount": 0.01},
    ]
    entry = {
        "bookingDate": "2025-01-01",
        "valueDate": "2025-01-01",
        "currency": "AUD",
        "legs": legs,
        "narrative": "isolation probe",
    }
    expect(
        403,
        "POST",
        f"/v1/tenants/{a}/commands",
        iso.build_envelope("PostEntry", entry, tenant_id=a),
    )

    # A's ids under B's path: 404, as if they did not exist.
    def probe_ids(item: dict[str, Any]) -> list[str]:
        problems = []
        if "customerId" in item and "accountId" not in item:
            paths = [f"/v1/tenants/{b}/customers/{item['customerId']}"]
        else:
            aid = item["accountId"]
            paths = [f"/v1/tenants/{b}/accounts/{aid}", f"/v1/tenants/{b}/accounts/{aid}/events"]
        for path in paths:
            reply = iso.raw("GET", path)
            if reply.status != 404:
                problems.append(f"GET {path} (an id of {a}) with B's key: {reply.status}, not 404")
        return problems

    for problems in ctx.map_parallel(probe_ids, [*customers, *member_accounts]):
        for problem in problems:
            result.fail(problem)
    result.count("a_customer_ids_probed", len(customers))
    result.count("a_account_ids_probed", len(member_accounts))

    # GL codes are shared by design: under B's path they must be B's own accounts.
    for gl in gl_accounts:
        seen = iso.raw("GET", f"/v1/tenants/{b}/accounts/{gl['accountId']}")
        if seen.status == 200 and seen.body.get("tenantId") != b:
            result.fail(f"GL {gl['accountId']} under {b} belongs to {seen.body.get('tenantId')}")
    a_customer_ids = {c["customerId"] for c in customers}
    a_account_ids = {acc["accountId"] for acc in member_accounts}
    for item in iso.iter_customers(b):
        result.count("b_customers_listed")
        if item.get("customerId") in a_customer_ids or item.get("tenantId") != b:
            result.fail(f"{b}'s customer list shows {item.get('customerId')} of {a}")
    for item in iso.iter_accounts(b):
        result.count("b_accounts_listed")
        if item.get("accountId") in a_account_ids or item.get("tenantId") != b:
            result.fail(f"{b}'s account list shows {item.get('accountId')} of {a}")
    for event in iso.iter_tenant_events(b):
        result.count("b_events_listed")
        if event.get("tenantId") != b:
            result.fail(
                f"{b}'s stream shows event {event.get('eventId')} of {event.get('tenantId')}"
            )

    # Writes in B that name A's ids are refused and write nothing.
    if len(member_accounts) >= 2:
        entry["legs"] = [
            {"accountId": member_accounts[0]["accountId"], "direction": "DEBIT", "amount": 0.01},
            {"accountId": member_accounts[1]["accountId"], "direction": "CREDIT", "amount": 0.01},
        ]
        reply = iso.send_command("PostEntry", entry, tenant_id=b, raise_on_error=False)
        result.count("cross_tenant_writes")
        if reply.invariant != "ACCOUNT_MUST_EXIST":
            result.fail(
                f"PostEntry in {b} on {a}'s accounts: {reply.status} "
                f"{reply.invariant or reply.error}, expected 422 ACCOUNT_MUST_EXIST"
            )
    if customers:
        products = [acc.get("productCode") for acc in member_accounts if acc.get("productCode")]
        opening = {
            "customerId": customers[0]["customerId"],
            "productCode": products[0] if products else "NO_SUCH_PRODUCT",
            "currency": "AUD",
        }
        reply = iso.send_command("OpenAccount", opening, tenant_id=b, raise_on_error=False)
        result.count("cross_tenant_writes")
        if reply.invariant != "CUSTOMER_MUST_EXIST":
            result.fail(
                f"OpenAccount in {b} for {a}'s customer: {reply.status} "
                f"{reply.invariant or reply.error}, expected 422 CUSTOMER_MUST_EXIST"
            )
    a_after, b_after = ctx.last_sequence(a), ctx.last_sequence(b)
    if a_after != a_before:
        result.fail(
            f"{a}'s lastSequence moved from {a_before} to {a_after} during the probe",
            headline=True,
        )
    if b_after != b_before:
        result.fail(f"{b}'s lastSequence moved from {b_before} to {b_after} during the probe")


# ------------------------------------------------------------ 4. idempotency


def _sample(items: Sequence[tuple[str, T]], size: int) -> list[T]:
    """An evenly spread, deterministic sample of (command type, item) with every
    command type represented."""
    if len(items) <= size:
        return [item for _, item in items]
    by_type: dict[str, list[T]] = defaultdict(list)
    for command_type, item in items:
        by_type[command_type].append(item)
    quota = max(1, size // len(by_type))
    chosen: list[T] = []
    for group in by_type.values():
        if len(group) <= quota:
            chosen.extend(group)
        else:
            step = len(group) / quota
            chosen.extend(group[int(i * step)] for i in range(quota))
    return chosen


NEEDS_RUN_LOG = (
    "needs --run-log output/commands.jsonl: the replies to compare against and the "
    "idempotency keys are only in the run log (events do not carry the keys, so "
    "commands rebuilt from them would be new commands, not replays)"
)


@check("idempotency")
def idempotency(ctx: Inspection, result: CheckResult) -> None:
    """Replay a sample of the run's accepted commands (at least 50, or all) with
    new commandIds and timestamps: each must come back 202 with
    `Idempotent-Replayed: true` and the recorded reply unchanged; one PostEntry
    with a changed payload under the same key must be refused with
    IDEMPOTENCY_KEY_REUSED; the tenant's lastSequence must not move."""
    if ctx.run_log is None:
        result.status = SKIP
        result.note = NEEDS_RUN_LOG
        return
    replayable = ctx.run_log.replayable()
    if not replayable:
        result.status = SKIP
        result.note = "the run log holds no accepted command to replay"
        return
    sample = ctx.run_log.load(_sample(replayable, max(50, ctx.idempotency_sample)))
    before = ctx.last_sequence()
    for record in sample:
        command_type = str(record["type"])
        payload = record["payload"]
        tenant = payload["tenantCode"] if command_type == "CreateTenant" else ctx.tenant_id
        reply = ctx.client.send_command(
            command_type,
            payload,
            tenant_id=tenant,
            command_id=str(uuid.uuid4()),
            idempotency_key=str(record["key"]),
            timestamp=now_rfc3339(),
            raise_on_error=False,
        )
        result.count("replayed")
        if reply.status != 202:
            result.fail(
                f"{record['key']}: replay got {reply.status} {reply.invariant or reply.error}"
            )
            continue
        if not reply.replayed:
            result.fail(f"{record['key']}: replay lacks `Idempotent-Replayed: true`")
        if reply.body != record["reply"]:
            changed = sorted(
                k
                for k in set(reply.body) | set(record["reply"])
                if reply.body.get(k) != record["reply"].get(k)
            )
            result.fail(
                f"{record['key']}: replayed reply differs from the recorded one in {changed}"
            )
    entries = [r for r in sample if r.get("type") == "PostEntry"]
    if entries:
        record = entries[0]
        changed_payload = dict(record["payload"])
        changed_payload["narrative"] = str(changed_payload.get("narrative", "")) + " (changed)"
        reply = ctx.client.send_command(
            "PostEntry",
            changed_payload,
            tenant_id=ctx.tenant_id,
            idempotency_key=str(record["key"]),
            raise_on_error=False,
        )
        result.count("reused_key_probes")
        if reply.invariant != "IDEMPOTENCY_KEY_REUSED":
            result.fail(
                f"{record['key']} with another payload: {reply.status} "
                f"{reply.invariant or reply.error}, expected 422 IDEMPOTENCY_KEY_REUSED"
            )
    after = ctx.last_sequence()
    if after != before:
        result.fail(
            f"lastSequence moved from {before} to {after} during the replays", headline=True
        )


# ------------------------------------------------------------------- 5. audit


@check("audit_completeness")
def audit_completeness(ctx: Inspection, result: CheckResult) -> None:
    """Every accepted command of the run log has exactly the events its reply
    names (causationId = commandId) and every rejected one none; every
    AccountBalanceUpdated follows the EntryPosted of its entryId and matches its
    legs; every entry and deposit balances; every account an entry touches gets
    its AccountBalanceUpdated; the tenant's balances sum to zero."""
    facts = ctx.stream()
    result.absorb(facts.audit)

    accounts = ctx.accounts()
    total = sum((_cents(acc["balance"]) for acc in accounts), 0)
    result.count("accounts_summed", len(accounts))
    if total != 0:
        result.fail(f"the tenant's balances sum to {_money(total)}, not 0")

    if ctx.run_log is None:
        result.note = (
            "stream-only: commands vs events not checked; it " + NEEDS_RUN_LOG.split(": ", 1)[0]
        )
        return
    by_causation = facts.by_causation
    for record in ctx.run_log.records():
        outcome = record.get("outcome")
        if (
            record.get("type") == "CreateTenant"
            and record.get("payload", {}).get("tenantCode") != ctx.tenant_id
        ):
            continue
        if outcome in ("accepted", "replayed"):
            reply = record.get("reply") or {}
            command_id = str(reply.get("commandId", record.get("commandId")))
            expected = [str(x) for x in reply.get("eventIds", [])]
            actual = by_causation.get(command_id, [])
            result.count("commands")
            if not expected:
                result.fail(f"{record.get('key')}: accepted with no eventIds")
            elif actual != expected:
                result.fail(
                    f"{record.get('key')}: reply names {len(expected)} event(s), the stream has "
                    f"{len(actual)} with causationId {command_id}"
                    + ("" if set(actual) != set(expected) else " (order differs)")
                )
        elif outcome in ("rejected-expected", "rejected-unexpected"):
            result.count("rejected_commands")
            if by_causation.get(str(record.get("commandId"))):
                result.fail(f"{record.get('key')}: rejected, yet it has events")


# ------------------------------------------------------------------- run log


class RunLog:
    """A run's `commands.jsonl`, read a line at a time (a 10,000-member run's log is
    most of a gigabyte, never held whole), or records already in memory.

    A full pass (`records`) also notes where the replayable commands are, for the
    idempotency sample, and the plan refs of the ids the run produced, for the
    state digest; `replayable`, `refs` and `load` make that pass when none ran."""

    def __init__(self, source: Path | Sequence[Mapping[str, Any]]) -> None:
        self.path = source if isinstance(source, Path) else None
        self._records = None if isinstance(source, Path) else list(source)
        self._replayable: list[tuple[str, int]] | None = None  # (type, position)
        self._refs: dict[str, str] | None = None

    def _positioned(self) -> Iterator[tuple[int, Mapping[str, Any]]]:
        if self._records is not None:
            yield from enumerate(self._records)
            return
        assert self.path is not None
        offset = 0
        with self.path.open("rb") as handle:
            for line in handle:
                if line.strip():
                    yield offset, orjson.loads(line)
                offset += len(line)

    def records(self) -> Iterator[Mapping[str, Any]]:
        """Every record, in plan order."""
        replayable: list[tuple[str, int]] = []
        refs: dict[str, str] = {}
        for position, record in self._positioned():
            if (
                record.get("outcome") in ("accepted", "replayed")
                and record.get("key")
                and record.get("reply")
            ):
                replayable.append((str(record.get("type")), position))
            produced, ref = record.get("producedId"), record.get("produces")
            if produced and ref:
                refs[str(produced)] = str(ref)
            yield record
        self._replayable, self._refs = replayable, refs

    def _indexed(self) -> None:
        if self._replayable is None:
            for _ in self.records():
                pass

    def replayable(self) -> list[tuple[str, int]]:
        """(command type, position) of every accepted command with a key and a reply."""
        self._indexed()
        assert self._replayable is not None
        return self._replayable

    def refs(self) -> dict[str, str]:
        """Server id -> plan ref, for every id the run produced."""
        self._indexed()
        assert self._refs is not None
        return self._refs

    def load(self, positions: Iterable[int]) -> list[Mapping[str, Any]]:
        """The records at `positions` (from `replayable`)."""
        if self._records is not None:
            return [self._records[p] for p in positions]
        assert self.path is not None
        out: list[Mapping[str, Any]] = []
        with self.path.open("rb") as handle:
            for position in positions:
                handle.seek(position)
                out.append(orjson.loads(handle.readline()))
        return out


# ---------------------------------------------------------------- entry points


def run_checks(ctx: Inspection, names: Iterable[str] | None = None) -> list[CheckResult]:
    """Run the checks (all five by default), read-only ones first; results in
    the contract's order. The pass over the tenant stream is timed with the first
    check that needs it."""
    wanted = set(names) if names is not None else set(CHECKS)
    results: dict[str, CheckResult] = {}
    collecting = gc.isenabled()
    gc.disable()  # millions of small acyclic objects: collections would only rescan them
    try:
        for name in RUN_ORDER:
            if name not in wanted:
                continue
            result = CheckResult(name)
            started = time.perf_counter()
            try:
                CHECKS[name](ctx, result)
            except ApiError as exc:
                result.fail(f"unexpected reply: {exc}")
            result.seconds = time.perf_counter() - started
            results[name] = result
    finally:
        if collecting:
            gc.enable()
    return [results[name] for name in DISPLAY_ORDER if name in results]


def inspect_tenant(
    client: TuringCoreClient,
    tenant_id: str,
    *,
    run_log: Path | Sequence[Mapping[str, Any]] | None = None,
    isolation_key: str | None = None,
    probe_tenant: str = DEFAULT_PROBE_TENANT,
    idempotency_sample: int = 200,
    concurrency: int = 4,
    names: Iterable[str] | None = None,
) -> tuple[list[CheckResult], Inspection]:
    """Check the five invariants of `tenant_id`; return the results and the context."""
    iso = client.with_api_key(isolation_key) if isolation_key else None
    ctx = Inspection(
        client,
        tenant_id,
        run_log=RunLog(run_log) if run_log is not None else None,
        isolation_client=iso,
        probe_tenant=probe_tenant,
        idempotency_sample=idempotency_sample,
        concurrency=concurrency,
    )
    try:
        return run_checks(ctx, names), ctx
    finally:
        if iso is not None:
            iso.close()


def digest_of(ctx: Inspection) -> tuple[str, int]:
    """The state digest of the inspected tenant (plan refs from the run log when given)."""
    refs = ctx.run_log.refs() if ctx.run_log is not None else {}
    return state_digest(ctx.accounts(), refs)


def render_results(results: Sequence[CheckResult], console: Console) -> None:
    """A table: invariant, verdict, what was checked, the first failure or note."""
    table = Table(title="Invariants", show_lines=False)
    table.add_column("invariant")
    table.add_column("result")
    table.add_column("checked")
    table.add_column("first failure / note", overflow="fold")
    styles = {PASS: "bold green", FAIL: "bold red", SKIP: "yellow"}
    for result in results:
        checked = ", ".join(f"{k}={v:,}" for k, v in result.checked.items())
        detail = result.failures[0] if result.failures else (result.note or "")
        if result.failure_count > 1:
            detail += f" (+{result.failure_count - 1} more)"
        table.add_row(
            result.name,
            f"[{styles[result.status]}]{result.status}[/]",
            checked,
            detail,
        )
    console.print(table)


def outcome_counter(results: Sequence[CheckResult]) -> Counter[str]:
    return Counter(r.status for r in results)
