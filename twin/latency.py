"""Latencies per command type, kept as a histogram of whole microseconds.

A run records one latency per command (a million at 10,000 members); a list of them
would grow with the run. The summary rounds to the microsecond (3 decimals of a
millisecond), so counting whole microseconds keeps what it prints: the same count,
nearest-rank percentiles within a microsecond of the sorted list's, the exact mean
and maximum, in memory that grows with the spread of the latencies only.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from turingcore_client.replies import LatencyStats

MICROSECONDS_PER_S = 1_000_000


class LatencyHistogram(LatencyStats):
    """Latencies (seconds) per command type, summarised as `LatencyStats` does (count,
    mean, p50, p95, p99 and max in ms), without keeping each one; thread-safe. The
    twin gives one to its client too (`TuringCoreClient(stats=...)`), which records
    every command it sends."""

    def __init__(self) -> None:
        super().__init__()
        self._counts: dict[str, Counter[int]] = {}
        self._sums: dict[str, float] = {}
        self._max: dict[str, float] = {}

    def record(self, name: str, seconds: float) -> None:
        with self._lock:
            counts = self._counts.get(name)
            if counts is None:
                counts = self._counts[name] = Counter()
                self._max[name] = seconds
                self._sums[name] = 0.0
            counts[round(seconds * MICROSECONDS_PER_S)] += 1
            self._sums[name] += seconds
            if seconds > self._max[name]:
                self._max[name] = seconds

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
            self._sums.clear()
            self._max.clear()

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._counts)

    def count(self, name: str) -> int:
        with self._lock:
            return sum(self._counts.get(name, Counter()).values())

    def summary(self) -> dict[str, dict[str, float]]:
        """Per name: count, mean, p50, p95, p99 and max, in milliseconds."""
        out: dict[str, dict[str, float]] = {}
        with self._lock:
            for name in sorted(self._counts):
                buckets = sorted(self._counts[name].items())
                total = sum(n for _, n in buckets)
                if not total:
                    continue
                row = {"count": total, "mean_ms": round(1000 * self._sums[name] / total, 3)}
                for label, fraction in (("p50_ms", 0.50), ("p95_ms", 0.95), ("p99_ms", 0.99)):
                    row[label] = _percentile(buckets, total, fraction) / 1000
                row["max_ms"] = round(1000 * self._max[name], 3)
                out[name] = row
        return out


class DecileLatencies:
    """Latencies (seconds) of a phase's `total` commands by tenth of the phase, the
    tenth read from each command's index in the phase's plan (0 .. total-1), not from
    when its reply came: p50 and p99 of the first tenth against the last show whether
    the service slows as its store grows. Counted in whole microseconds as above.

    Recorded from the one thread that drives the lanes (`run_lanes`), so it takes no
    lock: it adds one list index and one counter increment to a command's cost."""

    def __init__(self, total: int) -> None:
        assert total > 0, "a phase with no commands has no tenths"
        self.total = total
        self._counts: list[Counter[int]] = [Counter() for _ in range(10)]

    def record(self, index: int, seconds: float) -> None:
        self._counts[index * 10 // self.total][round(seconds * MICROSECONDS_PER_S)] += 1

    def summary(self) -> list[dict[str, Any]]:
        """Per tenth, in order: `decile` (1..10), the plan indexes it spans
        (`first_index`, `last_index`), the `count` recorded (a command skipped for a
        missing ref has none), p50 and p99 in ms (None when the tenth recorded none)."""
        out: list[dict[str, Any]] = []
        for tenth, counts in enumerate(self._counts):
            buckets = sorted(counts.items())
            total = sum(n for _, n in buckets)
            row: dict[str, Any] = {
                "decile": tenth + 1,
                "first_index": -(-tenth * self.total // 10),
                "last_index": -(-(tenth + 1) * self.total // 10) - 1,
                "count": total,
            }
            for label, fraction in (("p50_ms", 0.50), ("p99_ms", 0.99)):
                row[label] = _percentile(buckets, total, fraction) / 1000 if total else None
            out.append(row)
        return out


def _percentile(buckets: list[tuple[int, int]], total: int, fraction: float) -> int:
    """Nearest-rank percentile (microseconds) of sorted (value, count) buckets."""
    rank = min(max(1, math.ceil(fraction * total - 1e-9)), total)
    seen = 0
    for value, count in buckets:
        seen += count
        if seen >= rank:
            return value
    return buckets[-1][0]
