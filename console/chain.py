"""The hash chain verified by the console itself, from the tenant's event stream.

The contract has no "verify" endpoint: any client can recompute the chain from the
stream alone (each event's hash is SHA-256 of the previous hash followed by the
RFC 8785 JSON of the event without `hash`). A watcher per tenant does that in a
background thread, page by page, remembering how far it got and the last hash, so a
page only reads what the watcher knows and a tenant of two million events is
walked once, not per request. After the chain it refreshes the tenant's
trial-balance sum (an as-of read: one line and the totals, at most once a minute).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from console.api import ApiError, CoreApi, NotOffered
from turingcore_client.canonical import GENESIS_HASH, event_hash

PAGE_EVENTS = 1000
IDLE_POLL_S = 1.0
ERROR_RETRY_S = 5.0
TRIAL_BALANCE_EVERY_S = 60.0
GIVE_WAY_MAX_S = 1.0
YIELD_EVERY = 100
# While catching up, the thread rests as long as each page took, so it takes at most
# half of a core (the service it reads is often on the same machine), and it waits
# while the console serves a request (`Activity`): the pages must stay fast while a
# long stream is walked.


@dataclass(frozen=True)
class ChainProgress:
    """How far the chain recomputes: `verified` is the last good sequence, `last_hash`
    its hash; `broken_at` names the first bad sequence and `reason` says why."""

    verified: int = 0
    last_hash: str = GENESIS_HASH
    broken_at: int | None = None
    reason: str = ""


def verify_events(
    progress: ChainProgress,
    events: Sequence[Mapping[str, Any]],
    between: Callable[[], object] | None = None,
) -> ChainProgress:
    """Continue `progress` over the next events of the stream (ascending sequence);
    `between` is called every YIELD_EVERY events (the watcher gives way there)."""
    if progress.broken_at is not None:
        return progress
    verified, last_hash = progress.verified, progress.last_hash
    for index, event in enumerate(events):
        if between is not None and index and index % YIELD_EVERY == 0:
            between()
        sequence = event.get("sequence")
        expected = verified + 1
        if sequence != expected:
            reason = f"gap: sequence {sequence} where {expected} was due"
            return ChainProgress(verified, last_hash, expected, reason)
        if event.get("prevHash") != last_hash:
            reason = "its prevHash is not the hash of the event before it"
            return ChainProgress(verified, last_hash, expected, reason)
        if event_hash(event) != event.get("hash"):
            reason = "its hash does not recompute from its content"
            return ChainProgress(verified, last_hash, expected, reason)
        verified, last_hash = expected, str(event["hash"])
    return ChainProgress(verified, last_hash)


class Activity:
    """Whether the console is serving a request: the watchers give way to the pages
    (they share one process and its GIL) and walk in the gaps between requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._serving = 0
        self.idle = threading.Event()
        self.idle.set()

    def enter(self) -> None:
        with self._lock:
            self._serving += 1
            self.idle.clear()

    def leave(self) -> None:
        with self._lock:
            self._serving -= 1
            if self._serving == 0:
                self.idle.set()


@dataclass(frozen=True)
class TenantWatch:
    """What the watcher knows of one tenant, as a page reads it."""

    tenant: str
    chain: ChainProgress = ChainProgress()
    head: int | None = None
    unavailable: str | None = None
    error: str | None = None
    trial_balance: Mapping[str, Any] | None = None
    trial_balance_note: str | None = None

    @property
    def state(self) -> str:
        """The badge's state: ok, broken, pending (still walking) or unavailable."""
        if self.unavailable:
            return "unavailable"
        if self.chain.broken_at is not None:
            return "broken"
        if self.head is None or self.chain.verified < self.head:
            return "pending"
        return "ok"


class Watcher:
    """One tenant's background thread: the chain, then the trial balance."""

    def __init__(self, api: CoreApi, tenant: str, activity: Activity | None = None) -> None:
        self.api = api
        self.activity = activity or Activity()
        self._watch = TenantWatch(tenant)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._trial_balance_at = 0.0
        self._thread = threading.Thread(target=self._run, name=f"chain-{tenant}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    @property
    def watch(self) -> TenantWatch:
        with self._lock:
            return self._watch

    def _give_way(self) -> None:
        self.activity.idle.wait(GIVE_WAY_MAX_S)

    def _update(self, **changes: Any) -> None:
        with self._lock:
            self._watch = replace(self._watch, **changes)

    def _run(self) -> None:
        while not self._stop.is_set():
            # Under a steady stream of requests it still walks: each wait is bounded.
            self._give_way()
            started = time.monotonic()
            try:
                walked = self.step()
            except NotOffered:
                self._update(unavailable="Chain check not offered by this target")
                self._refresh_trial_balance()
                return
            except (ApiError, OSError, ValueError, KeyError) as exc:
                self._update(error=str(exc))
                self._stop.wait(ERROR_RETRY_S)
                continue
            if walked:
                self._stop.wait(time.monotonic() - started)
            else:
                self._refresh_trial_balance()
                self._stop.wait(IDLE_POLL_S)

    def step(self) -> int:
        """Verify the next page of the stream; return how many events it held."""
        watch = self.watch
        if watch.chain.broken_at is not None:
            return 0
        if watch.head is None or watch.chain.verified >= watch.head:
            try:
                tenant = self.api.tenant(watch.tenant)
            except NotOffered:
                pass  # the stream alone says how far it goes
            else:
                self._update(head=int(tenant.get("lastSequence") or 0), error=None)
        page = self.api.events(watch.tenant, after=watch.chain.verified, limit=PAGE_EVENTS)
        chain = verify_events(watch.chain, page.events, self._give_way)
        head = max(self.watch.head or 0, chain.verified)
        self._update(chain=chain, head=head, error=None)
        return len(page.events)

    def _refresh_trial_balance(self) -> None:
        watch = self.watch
        if watch.trial_balance_note or watch.chain.broken_at is not None:
            return
        at = watch.head if watch.unavailable else watch.chain.verified
        if at is None:
            self._update(trial_balance_note="not offered by this target")
            return
        now = time.monotonic()
        current = watch.trial_balance
        if current is not None and (
            current.get("asOfSequence") == at
            or now - self._trial_balance_at < TRIAL_BALANCE_EVERY_S
        ):
            return
        self._trial_balance_at = now
        try:
            balance = self.api.trial_balance(watch.tenant, at)
        except NotOffered:
            self._update(trial_balance_note="not offered by this target")
            return
        self._update(trial_balance=balance)


class Watchers:
    """The watchers of the tenants the console has looked at, one per tenant."""

    def __init__(self, api_for: Callable[[str], CoreApi], activity: Activity) -> None:
        self._api_for = api_for
        self.activity = activity
        self._watchers: dict[str, Watcher] = {}
        self._lock = threading.Lock()

    def get(self, tenant: str, api_key: str) -> TenantWatch:
        """The tenant's watch; the first caller's key starts its watcher (every page
        checks its own key's access to the tenant before it shows anything)."""
        with self._lock:
            watcher = self._watchers.get(tenant)
            if watcher is None:
                api = self._api_for(api_key)
                watcher = self._watchers[tenant] = Watcher(api, tenant, self.activity)
                watcher.start()
        return watcher.watch

    def stop(self) -> None:
        with self._lock:
            watchers, self._watchers = list(self._watchers.values()), {}
        for watcher in watchers:
            watcher.stop()
