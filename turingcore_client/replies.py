"""What a client gets back: command replies, raw replies, latency statistics.

`CommandRequest` is one command encoded once (sent again, byte for byte, on a
retry); `CommandReply` its outcome; a `Lane` is a generator of requests that is
sent each reply before it yields the next (see `TuringCoreClient.run_lanes`).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from turingcore_client.errors import InvariantViolationError, api_error


def _percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted, non-empty list."""
    rank = max(1, math.ceil(fraction * len(ordered) - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


class LatencyStats:
    """Latencies (seconds) per command type; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._samples: dict[str, list[float]] = {}

    def record(self, name: str, seconds: float) -> None:
        with self._lock:
            samples = self._samples.get(name)
            if samples is None:
                self._samples[name] = [seconds]
            else:
                samples.append(seconds)

    def reset(self) -> None:
        with self._lock:
            self._samples.clear()

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._samples)

    def count(self, name: str) -> int:
        with self._lock:
            return len(self._samples.get(name, ()))

    def summary(self) -> dict[str, dict[str, float]]:
        """Per name: count, mean, p50, p95, p99 and max, in milliseconds."""
        with self._lock:
            snapshot = {name: sorted(values) for name, values in self._samples.items()}
        out: dict[str, dict[str, float]] = {}
        for name in sorted(snapshot):
            values = snapshot[name]
            if not values:
                continue
            out[name] = {
                "count": len(values),
                "mean_ms": round(1000 * sum(values) / len(values), 3),
                "p50_ms": round(1000 * _percentile(values, 0.50), 3),
                "p95_ms": round(1000 * _percentile(values, 0.95), 3),
                "p99_ms": round(1000 * _percentile(values, 0.99), 3),
                "max_ms": round(1000 * values[-1], 3),
            }
        return out


@dataclass(slots=True)
class CommandReply:
    """The outcome of one command: HTTP status, parsed body, replay flag, latency."""

    command_type: str
    command_id: str
    idempotency_key: str | None
    status: int
    body: dict[str, Any]
    replayed: bool
    latency_s: float
    attempts: int = 1

    @property
    def accepted(self) -> bool:
        return self.status == 202

    @property
    def result(self) -> dict[str, Any]:
        """The reply's `result` object (an extension of ours), {} when absent."""
        result = self.body.get("result")
        return result if isinstance(result, dict) else {}

    def new_id(self, name: str) -> str | None:
        """The id `name` ("customerId", "accountId", ...) of what the command made.

        Read where the published client reads it, at the top level of the 202
        (`reply["customerId"]`), else from `result`; None when neither has it.
        """
        value = self.body.get(name)
        if value is None:
            value = self.result.get(name)
        return None if value is None else str(value)

    @property
    def event_ids(self) -> list[str]:
        ids = self.body.get("eventIds")
        return list(ids) if isinstance(ids, list) else []

    @property
    def invariant(self) -> str | None:
        """The 422 invariant code, None for any other reply."""
        if self.status != 422:
            return None
        code = self.body.get("invariant")
        return str(code) if code is not None else None

    @property
    def error(self) -> str | None:
        if self.status < 400:
            return None
        return str(self.body.get("error", "UNKNOWN"))

    def raise_for_error(self) -> CommandReply:
        """Raise the typed error for a non-2xx reply; return self otherwise."""
        if self.status < 400:
            return self
        if self.status == 422:
            raise InvariantViolationError(
                self.invariant or "UNKNOWN",
                str(self.body.get("message", "")),
                self.body.get("details") or {},
                reply=self,
            )
        raise api_error(self.status, self.body, reply=self)


@dataclass(slots=True)
class CommandRequest:
    """One command ready to go: the envelope as bytes, and what the reply is filed under."""

    command_type: str
    tenant_id: str
    command_id: str
    idempotency_key: str | None
    body: bytes  # the JSON envelope, exactly as sent (and sent again on a retry)
    correlation_id: str | None = None


# A lane: a generator that yields the CommandRequests of one sequence of commands, in
# order, and is sent each one's CommandReply before it yields the next (see run_lanes).
Lane = Generator[CommandRequest, CommandReply, None]


@dataclass(slots=True)
class RawReply:
    """A reply as received, for probes that need the status rather than an exception."""

    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)


def parse_body(content: bytes) -> Any:
    """A reply body as JSON; a non-JSON reply becomes an error-shaped dict."""
    if not content:
        return {}
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return {"error": "NON_JSON_REPLY", "message": content[:200].decode("utf-8", "replace")}
