"""The one retry policy of the client, its blocking sends and its multiplexer alike.

Retried: connection errors, timeouts, 429, 5xx (500, 502, 503, 504) and 409
COMMAND_IN_FLIGHT, up to `retries` times after the first attempt, with exponential
backoff from `backoff` seconds capped at `backoff_max` (a 429's Retry-After, in
whole seconds, replaces the backoff, under the same cap). A retried command is the
same bytes (same commandId and idempotency key), so a retry after a lost reply
replays instead of writing twice. Apart from the count: a kept-alive connection
that the server closed before any byte of a reply (its idle timeout) is replaced
and the request sent again at once, once.
"""

from __future__ import annotations

from dataclasses import dataclass

from turingcore_client.wire import WireReply

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    retries: int = 3
    backoff: float = 0.05
    backoff_max: float = 2.0

    def retryable(self, wire: WireReply) -> bool:
        """Whether a reply is worth sending the request again for."""
        return wire.status in RETRYABLE_STATUSES or (
            wire.status == 409 and b"COMMAND_IN_FLIGHT" in wire.content
        )

    def delay(self, attempt: int, wire: WireReply | None) -> float:
        """Seconds to wait before attempt `attempt + 1` (`wire`: the reply, None after a
        transport failure)."""
        delay = min(self.backoff_max, self.backoff * (2**attempt))
        if wire is not None and wire.status == 429:
            retry_after = str(wire.headers.get("Retry-After", ""))
            if retry_after.isdigit():
                delay = min(self.backoff_max, float(retry_after))
        return delay
