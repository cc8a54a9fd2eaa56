"""What an index buys a query and costs a write: ix_events_entity_type (migration 0006).

    python -m bench.indexes [--rounds 5] [--commands 3000] [--customers 500] [--days 30]

- The write: in-process PostEntry (bench.profile: the ASGI app, 32 in flight, group
  commit), CPU per command on a fresh SQLite store with the index and without it,
  alternated round by round; the median of the per-round ratios.
- The read: `GET /events?entityId=X&eventType=T` on a store the twin seeded (its
  steady-state scenario), for the busiest GL account and a rare and a common type,
  served with the index and without it; medians of 20 requests each.

Results: bench/results/indexes.json and indexes.md.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from bench import load, profile
from mock_core.store.engine import upgrade

RESULTS = Path(__file__).resolve().parent / "results"
INDEX = "ix_events_entity_type"
DROP = f"DROP INDEX {INDEX}"
TENANT = "CU_DIGITAL"
QUERIES = {
    "busy GL account, rare type": {"entityId": "GL_CARD_CLEARING", "eventType": "AccountOpened"},
    "busy GL account, common type": {
        "entityId": "GL_CARD_CLEARING",
        "eventType": "AccountBalanceUpdated",
    },
    "busy GL account, any type": {"entityId": "GL_CARD_CLEARING"},
}


def write_cost(rounds: int, commands: int) -> dict[str, Any]:
    with_index, without, ratios = [], [], []
    for _ in range(rounds):
        figures = {}
        for indexed in (True, False):
            with tempfile.TemporaryDirectory(prefix="bench-indexes-") as tmp:
                workdir = Path(tmp)
                upgrade(f"sqlite:///{workdir / 'profile.db'}")
                if not indexed:
                    with sqlite3.connect(workdir / "profile.db") as conn:
                        conn.execute(DROP)
                figures[indexed] = profile.run(commands, 32, workdir)["cpu_us_per_command"]
        with_index.append(figures[True])
        without.append(figures[False])
        ratios.append(figures[True] / figures[False])
    return {
        "cpu_us_with_index": with_index,
        "cpu_us_without_index": without,
        "median_ratio_with_to_without": round(statistics.median(ratios), 3),
    }


def _timed(client: httpx.Client, params: dict[str, str], times: int = 20) -> float:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        reply = client.get(f"/v1/tenants/{TENANT}/events", params={**params, "limit": "100"})
        samples.append((time.perf_counter() - started) * 1000)
        reply.raise_for_status()
    return round(statistics.median(samples), 2)


def read_gain(customers: int, days: int, workdir: Path) -> dict[str, Any]:
    database = workdir / "mock.db"
    mock = load.start_mock(f"sqlite:///{database}", workdir / "mock.log")
    out: dict[str, Any] = {}
    with load.running(mock):
        run = [
            sys.executable, "-m", "twin", "run", "steady-state", "--no-inspect",
            "--customers", str(customers), "--days", str(days),
            "--base-url", mock.base_url, "--api-key", load.BENCH_KEY,
            "--output", str(workdir / "twin"),
        ]  # fmt: skip
        subprocess.run(run, check=True, capture_output=True)
        headers = {"Authorization": f"Bearer {load.BENCH_KEY}"}
        with httpx.Client(base_url=mock.base_url, headers=headers, timeout=60) as client:
            for indexed in (True, False):
                if not indexed:
                    with sqlite3.connect(database) as conn:
                        conn.execute(DROP)
                for label, params in QUERIES.items():
                    key = "p50_ms_with_index" if indexed else "p50_ms_without_index"
                    out.setdefault(label, {})[key] = _timed(client, params)
    return out


def render(result: dict[str, Any]) -> str:
    write = result["write"]
    lines = [
        f"# {INDEX}: what it costs a write, what it buys a read",
        "",
        f"`{result['command']}`",
        "",
        "## The write: PostEntry in process, CPU per command (us), 32 in flight",
        "",
        f"- with the index: {write['cpu_us_with_index']}",
        f"- without it: {write['cpu_us_without_index']}",
        f"- median of the per-round ratios, with / without: "
        f"**{write['median_ratio_with_to_without']}**",
        "",
        f"## The read: GET /events on the {result['store']} store, median of 20 (ms)",
        "",
        "| query | with the index | without |",
        "|---|---:|---:|",
    ]
    for label, row in result["read"].items():
        lines.append(f"| {label} | {row['p50_ms_with_index']} | {row['p50_ms_without_index']} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.indexes", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--commands", type=int, default=3000)
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--results-dir", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-indexes-read-") as tmp:
        read = read_gain(args.customers, args.days, Path(tmp))
    result = {
        "command": " ".join(["python -m bench.indexes", *(sys.argv[1:] if argv is None else argv)]),
        "store": f"{args.customers} x {args.days}",
        "write": write_cost(args.rounds, args.commands),
        "read": read,
    }
    args.results_dir.mkdir(parents=True, exist_ok=True)
    (args.results_dir / "indexes.json").write_text(json.dumps(result, indent=2) + "\n")
    text = render(result)
    (args.results_dir / "indexes.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
