"""What the stream pass and the audit's run-log comparison keep (issue 14): the peak of
Python's allocations (tracemalloc) and the peak RSS of a child process, for a synthetic
tenant stream of N events fed to `read_stream` in process, in memory or spilled to disk
by hash partition (`twin.invariants.spill`).

No service: the pages come from a generator in place of `_stream_pages`, the events are
not postings (so that no account is kept: what is measured is the eventIds and the
commands' fingerprints), 5 events to every 2 commands as in steady-state, and their
hash is taken as stated (`event_hash` is replaced: the chain is not what is measured).
The run log is a commands.jsonl on disk naming each command's events, read by `RunLog`
as `twin run` reads it; the checks must pass.

    python -m bench.twin_inspect_memory                      # 1M and 4M events, both ways
    python -m bench.twin_inspect_memory --events 1000000 --keys-per-part 262144

Each figure is a child process of its own: `--trace` children give the tracemalloc
peak (slower), the others ru_maxrss.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from bench import load

TENANT = "T_BENCH"
PAGE = 1000
EVENTS_PER_COMMAND = (2, 3)  # alternately: 5 events to every 2 commands


def _commands(events: int) -> Iterator[tuple[str, list[str]]]:
    """(commandId, its eventIds) up to `events` events in all."""
    n = command = 0
    while n < events:
        size = min(EVENTS_PER_COMMAND[command % 2], events - n)
        command_id = f"cmd-{command:010d}-5b7a-970e-5a8031f1d939"
        yield command_id, [f"01a24e12-c597-7b1b-{n + i:017d}" for i in range(size)]
        n += size
        command += 1


def write_log(path: Path, events: int) -> None:
    with path.open("wb") as handle:
        for command_id, ids in _commands(events):
            record = {
                "key": f"bench:{command_id}",
                "type": "PostEntry",
                "commandId": command_id,
                "outcome": "accepted",
                "reply": {"commandId": command_id, "eventIds": ids},
            }
            handle.write(orjson.dumps(record) + b"\n")


class FakeInspection:
    """What `read_stream` and `audit_completeness` use of an `Inspection`."""

    def __init__(self, events: int, log: Path) -> None:
        from twin.invariants.run_log import RunLog

        self.tenant_id = TENANT
        self.run_log = RunLog(log)
        self.events = events
        self._stream: Any = None

    def tenant(self) -> dict[str, Any]:
        return {"tenantId": TENANT, "lastSequence": self.events, "lastHash": None}

    def pump(self) -> None:
        pass

    def accounts(self) -> list[dict[str, Any]]:
        return []

    def stream(self) -> Any:
        from twin.invariants.stream import read_stream

        if self._stream is None:
            self._stream = read_stream(self)  # type: ignore[arg-type]
        return self._stream


def _pages(events: int) -> Iterator[list[dict[str, Any]]]:
    page: list[dict[str, Any]] = []
    sequence = 0
    previous = "0" * 64
    for command_id, ids in _commands(events):
        for event_id in ids:
            sequence += 1
            stated = f"{sequence:064x}"
            page.append(
                {
                    "sequence": sequence,
                    "tenantId": TENANT,
                    "prevHash": previous,
                    "hash": stated,
                    "eventId": event_id,
                    "causationId": command_id,
                    "eventType": "CustomerUpdated",
                    "payload": {},
                }
            )
            previous = stated
            if len(page) == PAGE:
                yield page
                page = []
    if page:
        yield page


def child(events: int, keys_per_part: int, log: Path, trace: bool) -> dict[str, Any]:
    from twin.invariants import audit, spill, stream
    from twin.invariants.results import CheckResult

    spill.KEYS_PER_PART = keys_per_part
    stream._stream_pages = lambda ctx, last, stuck: _pages(events)  # type: ignore[assignment]
    stream.event_hash = lambda event: event["hash"]  # type: ignore[assignment]
    ctx = FakeInspection(events, log)
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    integrity = CheckResult("event_integrity")
    stream.event_integrity(ctx, integrity)  # type: ignore[arg-type]
    result = CheckResult("audit_completeness")
    audit.audit_completeness(ctx, result)  # type: ignore[arg-type]
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if trace else None
    assert integrity.passed and result.passed, (integrity, result)
    assert integrity.checked["events"] == events, integrity.checked
    return {
        "events": events,
        "commands": result.checked["commands"],
        "parts": spill.parts_for(events),
        "keys_per_part": keys_per_part,
        "tracemalloc_peak_mb": round(peak / 1e6, 1) if peak is not None else None,
        "maxrss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "seconds": round(seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", default="1000000,4000000")
    parser.add_argument(
        "--keys-per-part",
        default="0,262144",
        help="0: in memory (one partition, as before the spill); else spilled, this many "
        "keys a partition",
    )
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        events, keys, log, trace = args.child
        print(json.dumps(child(int(events), int(keys), Path(log), trace == "trace")))
        return
    rows = []
    with tempfile.TemporaryDirectory(prefix="twin-inspect-memory-") as directory:
        for events in (int(x) for x in args.events.split(",")):
            log = Path(directory) / f"commands-{events}.jsonl"
            write_log(log, events)
            for keys in (int(x) for x in args.keys_per_part.split(",")):
                row: dict[str, Any] = {}
                for trace in ("rss", "trace"):
                    keys_per_part = keys or 1 << 62
                    command = [sys.executable, "-m", "bench.twin_inspect_memory", "--child"]
                    out = subprocess.run(
                        [*command, str(events), str(keys_per_part), str(log), trace],
                        check=True,
                        capture_output=True,
                        text=True,
                        env={**os.environ, "PYTHONHASHSEED": "0"},
                    )
                    measured = json.loads(out.stdout)
                    if trace == "trace":
                        row["tracemalloc_peak_mb"] = measured["tracemalloc_peak_mb"]
                    else:
                        row = measured
                row["mode"] = (
                    f"spilled, {keys:,} keys a partition" if row["parts"] > 1 else "in memory"
                )
                print(json.dumps(row), flush=True)
                rows.append(row)
            log.unlink()
    print("| events | commands | mode | partitions | tracemalloc peak | peak RSS | seconds |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['events']:,} | {row['commands']:,} | {row['mode']} | {row['parts']} | "
            f"{row['tracemalloc_peak_mb']} MB | {row['maxrss_mb']} MB | {row['seconds']} |"
        )


if __name__ == "__main__":
    raise SystemExit(load.main_of(main))
