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

How it stays fast (a 10,000-member month is 2.4 M events in the tenant stream,
~3 M more in the account streams, and ~60,000 isolation probes):

- The tenant stream is read in ONE pass (`read_stream`), a page at a time, never
  held whole: it checks the chain and the postings as it goes and keeps only
  which events belong to each account and to each command. The hash is
  recomputed through twin.digest's exact fast JCS.
- Every other request (the next stream pages, each account's event pages, the
  isolation probes) goes through a `Fetcher` that keeps several in flight on
  keep-alive connections while the main thread checks what came back: the
  service works on one core while the twin works on the other. Account pages
  are folded as they arrive, the probes answered as they come.
- Amounts are summed as integer cents where that is exact (`_cents`), and the
  cyclic garbage collector is paused during the checks (millions of small,
  acyclic objects it would only rescan).
"""

from __future__ import annotations

import contextlib
import gc
import operator
import select
import socket
import time
import uuid
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import orjson
from rich.console import Console
from rich.table import Table

from twin.client import (
    PAGE_SIZE_MAX,
    RETRYABLE_STATUSES,
    ApiError,
    NotFoundError,
    RawReply,
    TuringCoreClient,
    now_rfc3339,
    parse_body,
)
from twin.digest import GENESIS_HASH, amount, event_hash, is_gl, state_digest
from twin.wire import RECV_BYTES, IncompleteResponse, ProtocolError, ResponseParser

PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"
FAILURES_KEPT = 20
POSTING_EVENTS = frozenset({"FundsPosted", "EntryPosted"})
BALANCE_EVENTS = POSTING_EVENTS | {"AccountBalanceUpdated"}
DEFAULT_PROBE_TENANT = "ISOLATION_PROBE_TWIN"
ENV_ISOLATION_KEY = "TURINGCORE_ISOLATION_API_KEY"
ENV_ISOLATION_TENANT = "TURINGCORE_ISOLATION_TENANT"
ZERO = Decimal(0)
# Requests in flight at once (never more than --concurrency). The service answers one
# request at a time on its core; a few in flight keep it busy while the twin checks
# replies on the other. Chosen by measurement (docs/twin.md).
FETCH_CONNECTIONS = 8
PAGES_AHEAD = 3  # tenant-stream pages asked for ahead of the one being checked
PUMP_EVERY = 128  # events (or log records) checked between two looks at the replies
_CENTS_EXACT_BELOW = 1e13  # below it, 2-decimal amounts are 0.01 apart, ulps < 0.002

T = TypeVar("T")


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
        """Take over what `other` counted and found (in a pass shared by checks)."""
        for name, n in other.checked.items():
            self.count(name, n)
        if other.status == FAIL:
            self.status = FAIL
        self.failure_count += other.failure_count
        self.failures.extend(other.failures[: max(0, FAILURES_KEPT - len(self.failures))])

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
    contract's AUD), else a Decimal (a third decimal is never rounded away).

    For a float under 1e13, `round(value * 100)` is its cents exactly when dividing
    back gives the same float: two-decimal numbers there are 0.01 apart and floats
    under 0.002, so no other two-decimal number maps to that float, and its shortest
    repr (what `amount` reads) is that number."""
    if type(value) is float:
        if -_CENTS_EXACT_BELOW < value < _CENTS_EXACT_BELOW:
            cents = round(value * 100)
            if cents / 100 == value:
                return cents
    elif type(value) is int:
        return value * 100
    return amount(value) * 100


def _money(cents: int | Decimal) -> str:
    """Cents back as the amount, with two decimals at least (`-12.30`, `0.001`)."""
    value = Decimal(cents) / 100
    exact = value.quantize(Decimal("0.01"))
    return f"{exact:.2f}" if exact == value else str(value)


# ------------------------------------------------------------------- fetching

STREAM, ACCOUNTS, PROBES = range(3)  # request priorities: the tenant stream goes first
Callback = Callable[[int, Any], None]  # (status, parsed body), run on the main thread
_EPOLLIN: int = getattr(select, "EPOLLIN", 1)
_EPOLLOUT: int = getattr(select, "EPOLLOUT", 4)


def _api_error(status: int, body: Any) -> ApiError:
    data = body if isinstance(body, dict) else {}
    details = data.get("details")
    cls = NotFoundError if status == 404 else ApiError
    return cls(
        status,
        str(data.get("error", "UNKNOWN")),
        str(data.get("message", "")),
        details if isinstance(details, dict) else {},
    )


@dataclass(slots=True)
class _Job:
    client: TuringCoreClient  # whose key the request carries
    path: str  # from the service root, e.g. /v1/tenants/T/events
    params: dict[str, Any] | None
    callback: Callback
    resent: bool = False


class _Conn:
    __slots__ = ("deadline", "fd", "job", "parser", "pending", "reused", "sock")

    def __init__(self) -> None:
        self.sock: socket.socket | None = None
        self.fd = -1
        self.parser = ResponseParser()
        self.job: _Job | None = None
        self.pending = b""
        self.deadline = 0.0
        self.reused = False


class Fetcher:
    """Keeps up to N GET requests in flight in the background of the main thread's work.

    The checks queue requests (`get`, with a priority and a callback) and call
    `pump()` between pieces of their own work; `pump` sends what is queued on idle
    connections, reads the replies that are ready and runs their callbacks, all on
    the calling thread. So the service (on another core) answers the next requests
    while the twin checks the previous replies, without threads handing the GIL
    back and forth. Over plain http this is N non-blocking keep-alive connections
    under epoll; with an injected transport (tests), over https or without epoll,
    N worker threads send through `client.raw` instead, and `pump` runs the
    callbacks of the requests they finished.

    A failed request (connection error, timeout, 429 or 5xx) is sent again through
    `client.raw`, which retries with the client's backoff; a kept-alive connection
    the server closed before any byte of a reply is replaced and the request sent
    again at once."""

    def __init__(self, client: TuringCoreClient, connections: int) -> None:
        self.connections = max(1, connections)
        self.timeout = client.timeout
        self.queues: tuple[deque[_Job], ...] = (deque(), deque(), deque())
        self.queued = 0
        self.running = 0
        endpoint = client.raw_endpoint
        self.endpoint = endpoint if hasattr(select, "epoll") else None
        self.free: list[_Conn] = []
        self.by_fd: dict[int, _Conn] = {}
        self.poller: Any = None
        self.pool: ThreadPoolExecutor | None = None
        self.futures: dict[Future[RawReply], _Job] = {}
        if self.endpoint is not None:
            self.poller = select.epoll()
            self.free = [_Conn() for _ in range(self.connections)]
            self.conns = list(self.free)
        else:
            self.pool = ThreadPoolExecutor(self.connections, thread_name_prefix="twin-inspect")

    def get(
        self,
        client: TuringCoreClient,
        path: str,
        params: dict[str, Any] | None,
        callback: Callback,
        priority: int,
    ) -> None:
        """Queue a GET of `path` (from the service root) with `client`'s key."""
        self.queues[priority].append(_Job(client, path, params, callback))
        self.queued += 1

    @property
    def busy(self) -> bool:
        return bool(self.queued or self.running)

    def pump(self, wait: float = 0.0) -> None:
        """Start what is queued, handle the replies that are ready (waiting up to
        `wait` seconds for one when none is), run their callbacks."""
        if self.pool is not None:
            self._pump_threads(wait)
            return
        if self.queued:
            self._start()
        if not self.running:
            return
        for fd, events in self.poller.poll(wait):
            conn = self.by_fd.get(fd)
            if conn is None:
                continue
            if events & _EPOLLOUT and conn.pending:
                self._flush(conn)
            if events & ~_EPOLLOUT:
                self._readable(conn)
        now = time.perf_counter()
        for conn in self.conns:
            if conn.job is not None and 0.0 < conn.deadline < now:
                self._failed(conn, resend=False)
        if self.queued:
            self._start()

    def run_until(self, done: Callable[[], bool]) -> None:
        """Pump until `done()`; it must become true through the queued requests."""
        while not done():
            if not self.busy:
                raise RuntimeError("waiting for a reply nobody asked for")
            self.pump(0.05)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            return
        for conn in self.conns:
            self._close(conn)
        self.poller.close()

    # ---------------------------------------------------------------- internals

    def _next(self) -> _Job | None:
        for jobs in self.queues:
            if jobs:
                self.queued -= 1
                return jobs.popleft()
        return None

    def _pump_threads(self, wait: float) -> None:
        assert self.pool is not None
        while self.queued and len(self.futures) < self.connections:
            job = self._next()
            assert job is not None
            future = self.pool.submit(job.client.raw, "GET", job.path, params=job.params)
            self.futures[future] = job
        self.running = len(self.futures)
        if not self.futures:
            return
        done, _ = futures_wait(self.futures, timeout=wait, return_when=FIRST_COMPLETED)
        for future in done:
            job = self.futures.pop(future)
            reply = future.result()
            job.callback(reply.status, reply.body)
        self.running = len(self.futures)

    def _start(self) -> None:
        while self.free and self.queued:
            job = self._next()
            assert job is not None
            conn = self.free.pop()
            self.running += 1
            self._send(conn, job)

    def _send(self, conn: _Conn, job: _Job) -> None:
        conn.job = job
        conn.reused = conn.sock is not None
        if conn.sock is None:
            assert self.endpoint is not None
            try:
                sock = self.endpoint.connect(self.timeout)
            except OSError:
                self._failed(conn, resend=False)
                return
            sock.setblocking(False)
            conn.sock = sock
            conn.fd = sock.fileno()
            self.by_fd[conn.fd] = conn
            self.poller.register(conn.fd, _EPOLLIN)
        conn.parser.reset()
        conn.deadline = time.perf_counter() + self.timeout
        data = job.client.get_request_bytes(job.path, job.params)
        try:
            sent = conn.sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError:
            self._failed(conn)
            return
        if sent < len(data):
            conn.pending = data[sent:]
            self.poller.modify(conn.fd, _EPOLLIN | _EPOLLOUT)

    def _flush(self, conn: _Conn) -> None:
        assert conn.sock is not None
        try:
            sent = conn.sock.send(conn.pending)
        except BlockingIOError:
            return
        except OSError:
            self._failed(conn)
            return
        conn.pending = conn.pending[sent:]
        if not conn.pending:
            self.poller.modify(conn.fd, _EPOLLIN)

    def _readable(self, conn: _Conn) -> None:
        assert conn.sock is not None
        try:
            data = conn.sock.recv(RECV_BYTES)
        except BlockingIOError:
            return
        except OSError:
            if conn.job is None:
                self._close(conn)
            else:
                self._failed(conn)
            return
        if conn.job is None:  # an idle connection the server closed (or spoke on)
            self._close(conn)
            return
        parser = conn.parser
        try:
            wire = parser.feed(data) if data else parser.feed_eof()
        except (IncompleteResponse, ProtocolError):
            self._failed(conn)
            return
        if wire is None:
            return
        if parser.will_close or not data:
            self._close(conn)
        job = conn.job
        self._release(conn)
        if wire.status in RETRYABLE_STATUSES:
            self._again(job)
        else:
            job.callback(wire.status, parse_body(wire.content))

    def _failed(self, conn: _Conn, *, resend: bool = True) -> None:
        job = conn.job
        assert job is not None
        received = conn.parser.received
        self._close(conn)
        if resend and conn.reused and not received and not job.resent:
            job.resent = True  # a kept-alive connection closed under us: a new one, at once
            self._send(conn, job)
            return
        self._release(conn)
        self._again(job)

    def _again(self, job: _Job) -> None:
        """The slow, sure way: the client's own retries and backoff."""
        reply = job.client.raw("GET", job.path, params=job.params)
        job.callback(reply.status, reply.body)

    def _release(self, conn: _Conn) -> None:
        conn.job = None
        conn.deadline = 0.0
        self.running -= 1
        self.free.append(conn)

    def _close(self, conn: _Conn) -> None:
        sock = conn.sock
        if sock is None:
            return
        self.by_fd.pop(conn.fd, None)
        with contextlib.suppress(OSError, ValueError):
            self.poller.unregister(conn.fd)
        sock.close()
        conn.sock = None
        conn.fd = -1
        conn.pending = b""


class Inspection:
    """What the checks share: the client, the tenant, cached snapshots, the fetcher,
    and the work started ahead (account folds, isolation probes)."""

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
        self.run_log = run_log if isinstance(run_log, RunLog | None) else RunLog(run_log)
        self.isolation_client = isolation_client
        self.probe_tenant = probe_tenant
        self.idempotency_sample = idempotency_sample
        self.concurrency = max(1, concurrency)
        self._fetcher: Fetcher | None = None
        self._stream: StreamFacts | None = None
        self._accounts: list[dict[str, Any]] | None = None
        self._customers: list[dict[str, Any]] | None = None
        self._folds: _Folds | None = None
        self._isolation: _IsolationStart | None = None
        self._pump_due = PUMP_EVERY

    def tenant(self) -> dict[str, Any]:
        return self.client.get_tenant(self.tenant_id)

    def last_sequence(self, tenant_id: str | None = None) -> int:
        return int(self.client.get_tenant(tenant_id or self.tenant_id).get("lastSequence", 0))

    def accounts(self) -> list[dict[str, Any]]:
        """Every account, member and GL, fetched once."""
        if self._accounts is None:
            self._accounts = list(self.client.iter_ledger_accounts(self.tenant_id))
        return self._accounts

    def customers(self) -> list[dict[str, Any]]:
        if self._customers is None:
            self._customers = list(self.client.iter_customers(self.tenant_id))
        return self._customers

    def stream(self) -> StreamFacts:
        """The tenant's stream, read and checked once (see `read_stream`)."""
        if self._stream is None:
            self._stream = read_stream(self)
        return self._stream

    @property
    def fetcher(self) -> Fetcher:
        if self._fetcher is None:
            self._fetcher = Fetcher(self.client, min(self.concurrency, FETCH_CONNECTIONS))
        return self._fetcher

    def pump(self) -> None:
        """Between two pieces of CPU work: handle the replies that came back."""
        if self._fetcher is not None and self._fetcher.busy:
            self._fetcher.pump(0.0)

    def begin(self, names: Iterable[str]) -> None:
        """Start the background work of the checks in `names` (account streams, the
        isolation probes) so that the service answers it while the twin reads the
        tenant stream. A reply that fails here is met again, and reported, by its
        check."""
        wanted = set(names)
        with contextlib.suppress(ApiError):
            if "balance_derivability" in wanted:
                self.folds()
            if "tenant_isolation" in wanted and self.isolation_client is not None:
                self.isolation_start()

    def folds(self) -> _Folds:
        """Every account's event stream, fetched page by page and folded as it arrives."""
        if self._folds is None:
            self._folds = _Folds(self, self.accounts())
        return self._folds

    def isolation_start(self) -> _IsolationStart:
        if self._isolation is None:
            assert self.isolation_client is not None
            self._isolation = _IsolationStart(self, self.isolation_client)
        return self._isolation

    def close(self) -> None:
        if self._fetcher is not None:
            self._fetcher.close()
            self._fetcher = None


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


def _stream_pages(
    ctx: Inspection, last_sequence: int, stuck: Callable[[str], None]
) -> Iterator[list[dict[str, Any]]]:
    """The tenant stream's pages in order, following `nextCursor` exactly as a single
    reader does. The pages a stream without gaps will ask for next (after=0, 1000,
    2000, ... up to `last_sequence`) are asked for ahead; one is used only when the
    cursor really names it, so a stream with gaps or short pages is read exactly as
    sequential paging reads it (the guesses stop at the first miss)."""
    fetcher = ctx.fetcher
    path = f"/v1/tenants/{ctx.tenant_id}/events"
    arrived: dict[int, tuple[int, Any]] = {}
    asked: set[int] = set()
    guesses: deque[int] = deque()
    next_guess = 0

    def ask(after: int) -> None:
        def done(status: int, body: Any) -> None:
            if after in asked:
                arrived[after] = (status, body)

        asked.add(after)
        fetcher.get(ctx.client, path, {"after": after, "limit": PAGE_SIZE_MAX}, done, STREAM)

    after = 0
    while True:
        if guesses and guesses[0] == after:
            guesses.popleft()
        elif guesses:  # off the guessed cursors: stop guessing
            for guess in guesses:
                asked.discard(guess)
                arrived.pop(guess, None)
            guesses.clear()
            next_guess = last_sequence
        if after not in asked:
            ask(after)
        while len(guesses) < PAGES_AHEAD and next_guess < last_sequence:
            next_guess += PAGE_SIZE_MAX
            if next_guess < last_sequence:
                guesses.append(next_guess)
                ask(next_guess)
        fetcher.run_until(partial(operator.contains, arrived, after))
        status, body = arrived.pop(after)
        asked.discard(after)
        if status >= 400:
            raise _api_error(status, body)
        yield body.get("events", [])
        cursor = body.get("nextCursor")
        if cursor is None:
            return
        if int(cursor) <= after:
            stuck(f"nextCursor {cursor} after `after={after}` does not advance; paging stopped")
            return
        after = int(cursor)


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
    page's events are dropped once checked."""
    tenant_id = ctx.tenant_id
    facts = StreamFacts(CheckResult("event_integrity"), CheckResult("audit_completeness"))
    integrity, audit = facts.integrity, facts.audit
    tenant = ctx.tenant()
    last_sequence = tenant.get("lastSequence")
    try:
        stated_end = int(last_sequence) if last_sequence is not None else 0
    except (TypeError, ValueError):
        stated_end = 0
    previous = GENESIS_HASH
    index = 0
    seen_ids: set[str] = set()
    by_account: defaultdict[str, list[str]] = defaultdict(list)
    by_causation: defaultdict[str, list[str]] = defaultdict(list)
    names: dict[str, str] = {}  # one string object per account id, for memory
    entries: dict[str, dict[str, int | Decimal]] = {}  # entryId -> net (cents) per account
    pending: dict[str, set[str]] = {}  # EntryPosted accounts still without their update
    postings = updates = 0
    pump = ctx.pump
    pump_at = PUMP_EVERY
    last_cause: Any = object()
    of_cause: list[str] = []

    for events in _stream_pages(ctx, stated_end, integrity.fail):
        for event in events:
            index += 1
            if index >= pump_at:
                pump()
                pump_at = index + PUMP_EVERY
            get = event.get
            sequence = get("sequence")
            if sequence != index:
                integrity.fail(f"sequence {sequence} where {index} was due (gap or reorder)")
            if get("tenantId") != tenant_id:
                integrity.fail(f"sequence {sequence}: tenantId {get('tenantId')!r}")
            if get("prevHash") != previous:
                integrity.fail(f"sequence {sequence}: prevHash does not link to the previous hash")
            stated = get("hash")
            try:
                recomputed = event_hash(event)
            except Exception as exc:  # a value JCS refuses, e.g. an integer beyond 2^53
                recomputed = f"(none: {type(exc).__name__}: {exc})"
            if stated != recomputed:
                integrity.fail(
                    f"sequence {sequence}: hash {str(stated)[:16]}... recomputes as "
                    f"{recomputed[:16]}..."
                )
            previous = str(stated)
            event_id = str(get("eventId"))
            if event_id in seen_ids:
                integrity.fail(f"sequence {sequence}: eventId {event_id} appears twice")
            else:
                seen_ids.add(event_id)
            cause = get("causationId")
            if cause != last_cause:  # a command's events mostly come together
                last_cause = cause
                of_cause = by_causation[str(cause)]
            of_cause.append(event_id)

            kind = get("eventType")
            if kind == "AccountBalanceUpdated":
                updates += 1
                payload = get("payload") or {}
                account_id = str(payload.get("accountId"))
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
                payload = get("payload") or {}
                legs = payload.get("legs", [])
                debits: int | Decimal = 0
                credits: int | Decimal = 0
                nets = {}
                for leg in legs:
                    account_id = str(leg.get("accountId"))
                    account_id = names.setdefault(account_id, account_id)  # kept: one copy
                    value = _cents(leg["amount"])
                    direction = leg.get("direction")
                    if direction == "DEBIT":
                        debits += value
                    else:
                        if direction == "CREDIT":
                            credits += value
                        value = -value
                    nets[account_id] = nets.get(account_id, 0) + value
                entry_id = str(payload.get("entryId"))
                if debits != credits or not legs:
                    audit.fail(
                        f"{kind} {payload.get('entryId')}: debits {_money(debits)} != "
                        f"credits {_money(credits)}"
                    )
                for account_id in nets:
                    by_account[account_id].append(event_id)
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
    if last_sequence is not None and stated_end != index:
        integrity.fail(f"tenant lastSequence {last_sequence}, the stream has {index} events")
    last_hash = tenant.get("lastHash")
    if index and last_hash is not None and last_hash != previous:
        integrity.fail("tenant lastHash is not the hash of the last event")
    facts.events = index
    facts.by_account = dict(by_account)
    facts.by_causation = dict(by_causation)
    return facts


# ------------------------------------------------------------------ 1. balances


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
        self.seen: list[str] = []  # its postings and balance updates, in its stream's order
        self.nets: dict[str, int | Decimal] = {}  # entryId -> this account's net (cents)
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
                net = nets.get(str(payload.get("entryId")))
                if net is not None:
                    change = _cents(payload.get("change"))
                    if net != change:
                        problems.append(
                            f"{account_id}: change {_money(change)} for entry "
                            f"{payload.get('entryId')}, its legs give {_money(net)}"
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
        """The final fold against the projected balance, and the postings the account
        stream held against the ones the tenant stream ties to the account."""
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
        self.nets = {}
        return problems


class _Folds:
    """Every account's event pages, asked for at once (the fetcher keeps a few in
    flight) and folded by the callbacks as they come back, each account's pages in
    order (its next page is asked for when one arrives)."""

    def __init__(self, ctx: Inspection, accounts: list[dict[str, Any]]) -> None:
        self.tenant_id = ctx.tenant_id
        self.folds = [_Fold(str(account["accountId"])) for account in accounts]
        self.open = len(self.folds)
        self.fetcher = ctx.fetcher
        self.client = ctx.client
        for fold in self.folds:
            self._ask(fold, 0)

    def _ask(self, fold: _Fold, after: int) -> None:
        path = f"/v1/tenants/{self.tenant_id}/accounts/{fold.account_id}/events"

        def done(status: int, body: Any) -> None:
            self._page(fold, after, status, body)

        self.fetcher.get(
            self.client, path, {"after": after, "limit": PAGE_SIZE_MAX}, done, ACCOUNTS
        )

    def _page(self, fold: _Fold, after: int, status: int, body: Any) -> None:
        """A page came back (a callback: it runs inside some other check's pump, so a
        page it cannot read is this account's problem, never an exception)."""
        cursor: Any = None
        if status >= 400:
            fold.problems.append(
                f"{fold.account_id}: its events: unexpected reply: {_api_error(status, body)}"
            )
        else:
            try:
                fold.feed(body.get("events", []), self.tenant_id)
                cursor = body.get("nextCursor")
                cursor = None if cursor is None else int(cursor)
            except Exception as exc:  # a malformed page: say so, stop this account
                fold.problems.append(
                    f"{fold.account_id}: unreadable events page after={after}: "
                    f"{type(exc).__name__}: {exc}"
                )
                cursor = None
        if cursor is not None and cursor > after:
            self._ask(fold, cursor)
            return
        if cursor is not None:
            fold.problems.append(
                f"{fold.account_id}: nextCursor {cursor} after `after={after}` does not "
                "advance; paging stopped"
            )
        fold.done = True
        self.open -= 1

    def wait(self) -> list[_Fold]:
        self.fetcher.run_until(lambda: self.open == 0)
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
        problems = fold.finish(account["balance"], by_account.get(fold.account_id, []))
        result.count("accounts")
        result.count("events_folded", fold.events)
        result.count("balance_updates", fold.updates)
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


class _IsolationStart:
    """The first half of the isolation check, started ahead of the read-only checks:
    the probe tenant made ready, both tenants' lastSequence noted, and every A id
    asked for under B's path (the probes, answered in the background)."""

    def __init__(self, ctx: Inspection, iso: TuringCoreClient) -> None:
        self.result = CheckResult("tenant_isolation")  # a SKIP verdict, if any
        self.ready = _probe_tenant_ready(ctx, iso, self.result)
        self.problems: list[tuple[int, int, str]] = []  # (item, path, message)
        self.open = 0
        if not self.ready:
            return
        a, b = ctx.tenant_id, ctx.probe_tenant
        self.a_before, self.b_before = ctx.last_sequence(a), ctx.last_sequence(b)
        self.customers = ctx.customers()
        accounts = ctx.accounts()
        self.member_accounts = [acc for acc in accounts if not is_gl(acc)]
        self.gl_accounts = [acc for acc in accounts if is_gl(acc)]
        self.fetcher = ctx.fetcher

        # A's ids under B's path: 404, as if they did not exist.
        items: list[dict[str, Any]] = [*self.customers, *self.member_accounts]
        for item_index, item in enumerate(items):
            if "customerId" in item and "accountId" not in item:
                paths = [f"/v1/tenants/{b}/customers/{item['customerId']}"]
            else:
                aid = item["accountId"]
                paths = [
                    f"/v1/tenants/{b}/accounts/{aid}",
                    f"/v1/tenants/{b}/accounts/{aid}/events",
                ]
            for path_index, path in enumerate(paths):
                self._probe(iso, a, item_index, path_index, path)

    def _probe(self, iso: TuringCoreClient, a: str, item: int, index: int, path: str) -> None:
        def done(status: int, body: Any) -> None:
            self.open -= 1
            if status != 404:
                message = f"GET {path} (an id of {a}) with B's key: {status}, not 404"
                self.problems.append((item, index, message))

        self.open += 1
        self.fetcher.get(iso, path, None, done, PROBES)

    def wait(self) -> list[str]:
        """The probes' failures, in the order of the ids."""
        self.fetcher.run_until(lambda: self.open == 0)
        return [message for _, _, message in sorted(self.problems)]


@check("tenant_isolation")
def tenant_isolation(ctx: Inspection, result: CheckResult) -> None:
    """With a key scoped only to a probe tenant B: every read and the gateway of
    tenant A give 403; every A customer and account id under B's path gives 404;
    B's lists hold nothing of A; a PostEntry (and an OpenAccount) in B naming A's
    ids gives 422 ACCOUNT_MUST_EXIST (CUSTOMER_MUST_EXIST); nothing is written
    to A or B (from before the read-only checks to the end of this one)."""
    iso = ctx.isolation_client
    if iso is None:
        result.status = SKIP
        result.note = (
            f"needs a key scoped only to {ctx.probe_tenant}: --isolation-key or {ENV_ISOLATION_KEY}"
        )
        return
    start = ctx.isolation_start()
    if not start.ready:
        result.status, result.note = start.result.status, start.result.note
        return
    a, b = ctx.tenant_id, ctx.probe_tenant
    customers, member_accounts, gl_accounts = (
        start.customers,
        start.member_accounts,
        start.gl_accounts,
    )

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

    # A's ids under B's path: 404 (the probes started ahead, see _IsolationStart).
    for problem in start.wait():
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
    for item in iso.iter_ledger_accounts(b):
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
    if a_after != start.a_before:
        result.fail(
            f"{a}'s lastSequence moved from {start.a_before} to {a_after} during the probe",
            headline=True,
        )
    if b_after != start.b_before:
        result.fail(f"{b}'s lastSequence moved from {start.b_before} to {b_after} during the probe")


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
    pump = ctx.pump
    for number, record in enumerate(ctx.run_log.records(), start=1):
        if not number % PUMP_EVERY:
            pump()
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
                if not line.isspace():
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
    the contract's order. The background work starts first (`Inspection.begin`);
    a check's `seconds` is the time it ran, including the waits for its part of
    that work, and the one pass over the tenant stream counts for the first check
    that needs it."""
    wanted = set(names) if names is not None else set(CHECKS)
    results: dict[str, CheckResult] = {}
    collecting = gc.isenabled()
    gc.disable()  # millions of small acyclic objects: collections would only rescan them
    try:
        ctx.begin(wanted)
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
        ctx.close()
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
