"""The one retry policy of the client, its blocking sends and its multiplexer alike.

Retried: connection errors, timeouts, 429, 5xx (500, 502, 503, 504) and 409
COMMAND_IN_FLIGHT, up to `retries` times after the first attempt, with exponential
backoff from `backoff` seconds capped at `backoff_max`. A 429's or a 503's
Retry-After, in whole seconds, replaces the backoff, capped at `retry_after_max`
(so that a service that says "come back in 3 s" during an outage is believed, while
one that says an hour does not stall a run). A retried command is the same bytes
(same commandId and idempotency key), so a retry after a lost reply replays instead
of writing twice. Apart from the count: a kept-alive connection that the server
closed before any byte of a reply (its idle timeout, or a reply dropped on purpose)
is replaced and the request sent again at once, once.

Every retry, and every such resend, is counted by its reason in `RetryPolicy.counts`
(`RetryCounts`): the status (`"503"`, `"429"`, `"409"`), the transport failure
(`"ReadTimeout"`, `"RemoteProtocolError"`, ...), or `"resend"`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from turingcore_client.wire import WireReply

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
RETRY_AFTER_STATUSES = frozenset({429, 503})
RESEND = "resend"  # the reason of a resend on a new connection after an idle one closed


class RetryCounts:
    """Retries by reason; thread-safe (the client's blocking sends run on many threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}

    def add(self, reason: str) -> None:
        with self._lock:
            self._counts[reason] = self._counts.get(reason, 0) + 1

    def merge(self, counts: dict[str, int]) -> None:
        """Add counts made elsewhere (another process's, by reason)."""
        with self._lock:
            for reason, n in counts.items():
                self._counts[reason] = self._counts.get(reason, 0) + n

    def snapshot(self) -> dict[str, int]:
        """The counts so far, by reason, sorted."""
        with self._lock:
            return dict(sorted(self._counts.items()))

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self._counts.values())


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    retries: int = 3
    backoff: float = 0.05
    backoff_max: float = 2.0
    retry_after_max: float = 10.0
    counts: RetryCounts = field(default_factory=RetryCounts, compare=False, repr=False)

    def retryable(self, wire: WireReply) -> bool:
        """Whether a reply is worth sending the request again for."""
        return wire.status in RETRYABLE_STATUSES or (
            wire.status == 409 and b"COMMAND_IN_FLIGHT" in wire.content
        )

    def delay(self, attempt: int, wire: WireReply | None) -> float:
        """Seconds to wait before attempt `attempt + 1` (`wire`: the reply, None after a
        transport failure)."""
        delay = min(self.backoff_max, self.backoff * (2**attempt))
        if wire is not None and wire.status in RETRY_AFTER_STATUSES:
            retry_after = str(wire.headers.get("Retry-After", ""))
            if retry_after.isdigit():
                delay = min(self.retry_after_max, float(retry_after))
        return delay

    def count(self, wire: WireReply | None, failure: str = "") -> None:
        """Count one retry: of the reply `wire`, else of the transport failure named."""
        self.counts.add(str(wire.status) if wire is not None else failure or "transport")
