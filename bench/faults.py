"""The fault tests at bench size: crash, concurrency, lost replies, bad input at volume.

The same scenario functions as tests/faults/ (which run them small in `make test`),
with bigger numbers. Each scenario reports what it measured and its failures;
everything goes to bench/results/faults.json, and a Markdown summary is printed.

    .venv/bin/python bench/faults.py                  # everything, bench size
    .venv/bin/python bench/faults.py --only crash race
    .venv/bin/python bench/faults.py --quick          # the test sizes, for a smoke run

Exit code 1 when any scenario found a failure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import load  # noqa: E402
from tests.faults.conftest import Servers, reference_digest  # noqa: E402
from tests.faults.test_bad_input_volume import run_fuzz  # noqa: E402
from tests.faults.test_concurrency import run_race  # noqa: E402
from tests.faults.test_crash import run_crash  # noqa: E402
from tests.faults.test_lost_replies import run_lost_replies  # noqa: E402

SCENARIOS = ("crash", "race", "lost_replies", "bad_input")
BENCH: dict[str, dict[str, Any]] = {
    "crash": {"customers": 100, "days": 10, "seed": 11, "kills": 30},
    "race": {"clients": 32, "transfers": 2000, "accounts": 4},
    "lost_replies": {"customers": 100, "days": 10, "seed": 11},
    "bad_input": {"requests": 100_000, "seed": 6},
}
QUICK: dict[str, dict[str, Any]] = {
    "crash": {"customers": 20, "days": 5, "seed": 11, "kills": 10},
    "race": {"clients": 32, "transfers": 40, "accounts": 4},
    "lost_replies": {"customers": 20, "days": 5, "seed": 11},
    "bad_input": {"requests": 10_000, "seed": 6},
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--only", nargs="+", choices=SCENARIOS, default=list(SCENARIOS))
    parser.add_argument("--quick", action="store_true", help="the test sizes")
    parser.add_argument("--output", default=str(REPO / "bench" / "results" / "faults.json"))
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else BENCH
    results: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "sizes": {name: sizes[name] for name in args.only},
        "scenarios": {},
    }
    references: dict[tuple[int, int, int], str] = {}
    with tempfile.TemporaryDirectory(prefix="bench-faults-") as tmp:
        workdir = Path(tmp)
        servers = Servers(workdir)

        def reference(customers: int, days: int, seed: int) -> str:
            size = (customers, days, seed)
            if size not in references:
                where = workdir / f"reference-{customers}x{days}s{seed}"
                where.mkdir()
                started = time.perf_counter()
                references[size] = reference_digest(where, customers, days, seed)
                results.setdefault("reference_runs_s", {})[f"{customers}x{days}"] = round(
                    time.perf_counter() - started, 2
                )
            return references[size]

        try:
            for name in args.only:
                size = sizes[name]
                print(f"== {name} {size}", flush=True)
                started = time.perf_counter()
                try:
                    if name == "crash":
                        ref = reference(size["customers"], size["days"], size["seed"])
                        report = run_crash(
                            servers.new(workdir / "crash.db"),
                            rng_seed=20250115,
                            reference=ref,
                            log=lambda line: print("  " + line, flush=True),
                            **size,
                        )
                    elif name == "race":
                        server = servers.start(workdir / "race.db")
                        report = run_race(server.url, **size)
                        server.stop()
                    elif name == "lost_replies":
                        ref = reference(size["customers"], size["days"], size["seed"])
                        server = servers.start(workdir / "lossy.db")
                        report = run_lost_replies(
                            server, workdir / "lossy-run", reference=ref, **size
                        )
                        server.stop()
                    else:
                        where = workdir / "fuzz"
                        where.mkdir()
                        report = run_fuzz(where, **size)
                except Exception as exc:  # a crashed scenario is a failed one, not a lost run
                    report = {"failures": [f"{type(exc).__name__}: {exc}"]}
                    traceback.print_exc()
                report["scenario_wall_s"] = round(time.perf_counter() - started, 2)
                report["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
                results["scenarios"][name] = report
                print(json.dumps(_brief(report)), flush=True)
        finally:
            servers.stop_all()
    output = Path(args.output)
    if set(args.only) != set(SCENARIOS) and output.exists():
        # A partial run keeps the other scenarios' last results (each says when it ran).
        previous = json.loads(output.read_text())
        for name, report in previous.get("scenarios", {}).items():
            if name not in results["scenarios"]:
                results["scenarios"][name] = report
                results["sizes"][name] = previous.get("sizes", {}).get(name, {})
        results["scenarios"] = {
            n: results["scenarios"][n] for n in SCENARIOS if n in results["scenarios"]
        }
    results["ok"] = all(not r.get("failures") for r in results["scenarios"].values())
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2) + "\n")
    print(markdown(results))
    print(f"results: {output}")
    return 0 if results["ok"] else 1


def _brief(report: dict[str, Any]) -> dict[str, Any]:
    skip = {"kill_points", "mutations", "codes", "rows"}
    return {k: v for k, v in report.items() if k not in skip}


def markdown(results: dict[str, Any]) -> str:
    """One row per scenario: what it did, how fast, and whether it held."""
    rows = ["| scenario | size | measured | wall s | result |", "|---|---|---|---|---|"]
    for name, r in results["scenarios"].items():
        size = ", ".join(f"{k}={v}" for k, v in results["sizes"][name].items())
        if name == "crash":
            measured = (
                f"{r.get('kills')} kills, {r.get('commands')} commands, "
                f"{r.get('acknowledged_before_kills')} acks checked, "
                f"{r.get('committed_reply_lost')} committed with the reply lost"
            )
        elif name == "race":
            measured = (
                f"{r.get('requests')} requests at {r.get('requests_per_s')}/s, "
                f"statuses {r.get('statuses')}, {r.get('replayed')} replays"
            )
        elif name == "lost_replies":
            measured = (
                f"{r.get('replies_lost')} replies lost ({r.get('replies_lost_by_mode')}), "
                f"{r.get('replays_seen_by_twin')} replays seen"
            )
        else:
            measured = (
                f"{r.get('requests')} requests at {r.get('requests_per_s')}/s, "
                f"statuses {r.get('statuses')}"
            )
        failures = r.get("failures") or []
        verdict = "pass" if not failures else f"FAIL ({len(failures)}): {failures[0][:120]}"
        rows.append(f"| {name} | {size} | {measured} | {r.get('scenario_wall_s')} | {verdict} |")
    return "\n".join(rows)


if __name__ == "__main__":
    raise SystemExit(load.main_of(main))
