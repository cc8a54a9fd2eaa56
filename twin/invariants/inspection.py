"""What the checks share: the client, the tenant, snapshots fetched once, the run log,
and one multiplexer for every read made in the background of the checks' own work."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from turingcore_client.client import TuringCoreClient
from turingcore_client.errors import ApiError
from turingcore_client.mux import Multiplexer
from turingcore_client.replies import parse_body
from turingcore_client.wire import WireReply
from twin.invariants.run_log import RunLog

if TYPE_CHECKING:
    from twin.invariants.derivability import Folds, ForkedFolds
    from twin.invariants.isolation import IsolationStart
    from twin.invariants.stream import StreamFacts

DEFAULT_PROBE_TENANT = "ISOLATION_PROBE_TWIN"
ENV_ISOLATION_KEY = "TURINGCORE_ISOLATION_API_KEY"
ENV_ISOLATION_TENANT = "TURINGCORE_ISOLATION_TENANT"
# Requests in flight at once (never more than --concurrency). The service answers one
# request at a time on its core; a few in flight keep it busy while the twin checks
# replies on the other. Chosen by measurement (docs/twin.md).
FETCH_CONNECTIONS = 8
PAGES_AHEAD = 3  # tenant-stream pages asked for ahead of the one being checked
PUMP_EVERY = 128  # events (or log records) checked between two looks at the replies
# Background reads queued ahead per kind (account streams, isolation probes): enough to
# keep the FETCH_CONNECTIONS busy, and not one queued request per account or id (about
# 1 kB each: 100 MB at 10,000 members).
QUEUED_AHEAD = 64
STREAM, ACCOUNTS, PROBES = range(3)  # request priorities: the tenant stream goes first
# The fields of a listed account and customer the checks read (balances, the state
# digest, GL or member, the isolation probes); the rest of each is dropped as it comes.
ACCOUNT_FIELDS = ("accountId", "accountType", "customerId", "productCode", "balance")
CUSTOMER_FIELDS = ("customerId",)
# Values repeated across accounts, kept as one string object each.
_SHARED_FIELDS = ("accountType", "productCode")
Callback = Callable[[int, Any], None]  # (status, parsed body), run on the main thread


class Inspection:
    """What the checks share: the client, the tenant, cached snapshots, the multiplexer
    of the background reads, and the work started ahead (account folds, isolation
    probes). The checks' modules import this one; it reaches theirs only inside the
    methods that start their work, so that neither import needs the other first."""

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
        self._mux: Multiplexer | None = None
        self._stream: StreamFacts | None = None
        self._accounts: list[Mapping[str, Any]] | None = None
        self._customers: list[Mapping[str, Any]] | None = None
        self._folds: Folds | ForkedFolds | None = None
        self._isolation: IsolationStart | None = None

    def tenant(self) -> dict[str, Any]:
        return self.client.get_tenant(self.tenant_id)

    def last_sequence(self, tenant_id: str | None = None) -> int:
        return int(self.client.get_tenant(tenant_id or self.tenant_id).get("lastSequence", 0))

    def accounts(self) -> list[Mapping[str, Any]]:
        """Every account, member and GL, fetched once, with the fields the checks read
        (`ACCOUNT_FIELDS`): whole, the listing took ~2 kB an account, 720 MB at 100,000
        members."""
        if self._accounts is None:
            self._accounts = _kept(
                self.client.iter_ledger_accounts(self.tenant_id), ACCOUNT_FIELDS, _SHARED_FIELDS
            )
        return self._accounts

    def customers(self) -> list[Mapping[str, Any]]:
        """Every customer, fetched once, with the fields the checks read."""
        if self._customers is None:
            self._customers = _kept(self.client.iter_customers(self.tenant_id), CUSTOMER_FIELDS, ())
        return self._customers

    def stream(self) -> StreamFacts:
        """The tenant's stream, read and checked once (see `read_stream`)."""
        if self._stream is None:
            from twin.invariants.stream import read_stream

            self._stream = read_stream(self)
        return self._stream

    @property
    def mux(self) -> Multiplexer:
        """The one multiplexer of every background read (up to FETCH_CONNECTIONS)."""
        if self._mux is None:
            self._mux = self.client.multiplexer(min(self.concurrency, FETCH_CONNECTIONS))
        return self._mux

    def get(
        self,
        client: TuringCoreClient,
        path: str,
        params: dict[str, Any] | None,
        callback: Callback,
        priority: int,
    ) -> None:
        """Queue a GET of `path` (from the service root) with `client`'s key; `callback`
        gets the final status and parsed body, on this thread, inside a pump."""

        def done(wire: WireReply, attempts: int) -> None:
            callback(wire.status, parse_body(wire.content))

        self.mux.submit(client.get_request(path, params, done, priority))

    def pump(self, wait: float = 0.0) -> None:
        """Between two pieces of CPU work: handle the replies that came back (waiting up
        to `wait` seconds for one)."""
        if self._mux is not None and self._mux.busy:
            self._mux.pump(wait)

    @property
    def busy(self) -> bool:
        """Whether background reads are in flight or queued."""
        return self._mux is not None and self._mux.busy

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

    def folds(self) -> Folds | ForkedFolds:
        """Every account's event stream, fetched page by page and folded as it arrives:
        in a forked process when the machine has a core for it (`fork_folds`)."""
        if self._folds is None:
            from twin.invariants.derivability import Folds, ForkedFolds, fork_folds

            accounts = self.accounts()
            if fork_folds(self):
                try:
                    self._folds = ForkedFolds(self, accounts)
                except OSError:  # no fork to be had (memory, a process limit): at home
                    self._folds = Folds(self, accounts)
            else:
                self._folds = Folds(self, accounts)
        return self._folds

    def isolation_start(self) -> IsolationStart:
        if self._isolation is None:
            from twin.invariants.isolation import IsolationStart

            assert self.isolation_client is not None
            self._isolation = IsolationStart(self, self.isolation_client)
        return self._isolation

    def close(self) -> None:
        """The checks are over: stop the background reads, and let go of what the checks
        kept per account and per customer (the folds, the stream's facts, the isolation
        probes' lists) before the digest is made. The accounts stay, for the digest."""
        if self._folds is not None:
            self._folds.close()
        if self._mux is not None:
            self._mux.close()
            self._mux = None
        self._folds = self._stream = self._isolation = self._customers = None


def _kept(
    items: Iterable[Mapping[str, Any]], fields: tuple[str, ...], shared: tuple[str, ...]
) -> list[Mapping[str, Any]]:
    """`items` with only `fields` (those present), the `shared` ones' strings one object
    per value, each as a `Kept` row."""
    seen: dict[Any, Any] = {}
    row = _row_class(fields)
    kept: list[Mapping[str, Any]] = []
    for item in items:
        small = row()
        for name in fields:
            if name in item:
                value = item[name]
                if name in shared and isinstance(value, str):
                    value = seen.setdefault(value, value)
                setattr(small, name, value)
        kept.append(small)
    return kept


class Kept(Mapping[str, Any]):
    """A listed item with a few of its fields, read as a mapping: a slot a field (72
    bytes for an account's five, a dict of them takes 184), a field the item lacked
    unset (absent from the mapping). One class per tuple of fields (`_row_class`)."""

    __slots__ = ()
    FIELDS: tuple[str, ...] = ()

    def __getitem__(self, name: str) -> Any:
        if name in self.FIELDS:
            try:
                return getattr(self, name)
            except AttributeError:
                pass
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return (name for name in self.FIELDS if hasattr(self, name))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"Kept({dict(self)!r})"


@functools.cache
def _row_class(fields: tuple[str, ...]) -> type[Kept]:
    clash = [name for name in fields if hasattr(Kept, name)]
    assert not clash, f"fields named like a mapping's methods: {clash}"
    return type("Kept", (Kept,), {"__slots__": fields, "FIELDS": fields})
