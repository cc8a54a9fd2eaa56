"""The twin's peak memory (issue 14, item 3): peak RSS of the twin process at several sizes.

Two measurements, each in a child process whose peak RSS comes from `os.wait4` (the
kernel's ru_maxrss of that child alone, not of the mock):

- plan: plan the scenario as `twin run` does and digest it, sending nothing
  (`stream_scenario(...)`, or `plan_scenario` in code before it, then `stream_digest()`
  and the command count): what planning costs at 10,000 and 100,000 members without a
  service's minutes of CPU;
- run: `twin run steady-state --seed 42` against a fresh `mock-core serve` on SQLite,
  with the five checks (isolation key given, so none is skipped).

`--source DIR` measures another checkout (a git worktree of an older commit) with the
same harness: the child runs there, so `twin` is imported from that tree.

    python -m bench.twin_memory                              # the default sizes
    python -m bench.twin_memory --plan 10000,100000 --run 500,2000
    python -m bench.twin_memory --source /tmp/twin-before --label before --no-write

Results: bench/results/twin-memory.json (appended per label) and twin-memory.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import load
from bench.load import twin_steady_state
from turingcore_client.serving import start_mock, stop_mock

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PLATFORM_KEY = "dev-platform-key"
ISOLATION_KEY = "twin-isolation-key"
PROBE_TENANT = "ISOLATION_PROBE_TWIN"
DAYS = 30
SEED = 42

# The child of a plan measurement: the plan as `twin run` makes it (streamed where the
# code has `stream_scenario`, else the whole plan of `plan_scenario`), digested.
PLAN_CHILD = """
import sys
from twin.config import load_scenario_and_tenant
from twin import generators
make = getattr(generators, "stream_scenario", generators.plan_scenario)
scenario, tenant = load_scenario_and_tenant("steady-state", None)
plan = make(tenant, scenario, seed=int(sys.argv[1]), customers=int(sys.argv[2]),
            days=int(sys.argv[3]))
print(plan.stream_digest(), len(plan))
getattr(plan, "close", lambda: None)()
"""


def _measured(command: list[str], cwd: Path, log: Path) -> tuple[int, float, float, float]:
    """Run `command`; return its exit code, peak RSS (MB), wall and CPU seconds."""
    started = time.perf_counter()
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    return (
        process.returncode,
        usage.ru_maxrss / 1024,
        wall,
        usage.ru_utime + usage.ru_stime,
    )


def measure_plan(source: Path, customers: int, work: Path) -> dict[str, Any]:
    """Peak RSS of planning and digesting `customers` x DAYS, nothing sent."""
    log = work / f"plan-{customers}.log"
    command = [sys.executable, "-c", PLAN_CHILD, str(SEED), str(customers), str(DAYS)]
    code, rss, wall, cpu = _measured(command, source, log)
    out = log.read_text().split()
    if code != 0 or len(out) < 2:
        raise SystemExit(f"plan {customers}: exit {code}\n{log.read_text()[-2000:]}")
    return {
        "mode": "plan",
        "customers": customers,
        "days": DAYS,
        "peak_rss_mb": round(rss, 1),
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "commands": int(out[-1]),
        "plan_digest": out[-2],
    }


def measure_run(source: Path, customers: int, work: Path) -> dict[str, Any]:
    """Peak RSS of the twin over a whole run with its checks, against a fresh mock."""
    folder = work / f"run-{customers}"
    folder.mkdir(parents=True, exist_ok=True)
    keys = f"{PLATFORM_KEY}=*;{ISOLATION_KEY}={PROBE_TENANT}"
    mock_args = ["--database-url", f"sqlite:///{folder / 'mock.db'}", "--api-keys", keys]
    with (folder / "mock.log").open("w+b") as mock_log:
        process, base_url = start_mock([*mock_args, "--no-access-log"], log=mock_log, cwd=source)
        try:
            command = twin_steady_state(
                customers,
                DAYS,
                base_url,
                folder / "output",
                *("--seed", str(SEED), "--api-key", PLATFORM_KEY),
                *("--isolation-key", ISOLATION_KEY),
            )
            code, rss, wall, cpu = _measured(command, source, folder / "twin.log")
        finally:
            stop_mock(process)
    summary_path = folder / "output" / "summary.json"
    if not summary_path.is_file():
        raise SystemExit(f"run {customers}: exit {code}\n{(folder / 'twin.log').read_text()}")
    summary = json.loads(summary_path.read_text())
    return {
        "mode": "run",
        "customers": customers,
        "days": DAYS,
        "peak_rss_mb": round(rss, 1),
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "commands": summary["counts"]["total"],
        "exit_code": code,
        "ok": summary["ok"],
        "plan_digest": summary["plan_digest"],
        "state_digest": summary["state_digest"],
        "invariants": {r["name"]: r["status"] for r in summary["invariants"]},
    }


def _sizes(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def _render(results: dict[str, Any]) -> str:
    lines = [
        "# The twin's peak memory",
        "",
        "Peak RSS of the twin process alone (`os.wait4` of the child: ru_maxrss), "
        f"steady-state, {DAYS} days, seed {SEED}. `plan`: plan and digest the scenario, "
        "nothing sent; `run`: `twin run` with the five checks against a fresh "
        "`mock-core serve` on SQLite.",
        "",
        "```sh",
        "python -m bench.twin_memory --plan 10000,100000 --run 500,2000 --label after",
        "git worktree add --detach /tmp/twin-before <commit>   # the code before",
        "python -m bench.twin_memory --source /tmp/twin-before --label before ...",
        "```",
        "",
    ]
    for label, entry in results.items():
        lines += [
            f"## {label}",
            "",
            f"{entry.get('note', '')} (last measured {entry.get('measured_at', '?')}; the "
            "last column: the last commit that changed twin/ or turingcore_client/ when "
            "the row was measured)",
            "",
            "| mode | members x days | commands | peak RSS MB | wall s | CPU s | plan digest"
            " | state digest | checks | twin code at |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for row in entry["rows"]:
            checks = row.get("invariants")
            verdict = (
                "-"
                if checks is None
                else ("all PASS" if set(checks.values()) == {"PASS"} else json.dumps(checks))
            )
            lines.append(
                f"| {row['mode']} | {row['customers']:,} x {row['days']} | {row['commands']:,}"
                f" | {row['peak_rss_mb']:,.0f} | {row['wall_s']} | {row['cpu_s']}"
                f" | `{row['plan_digest'][:16]}` | `{str(row.get('state_digest', '-'))[:16]}`"
                f" | {verdict} | {row.get('twin_commit', '?')} |"
            )
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure, print each row as it comes, and write the results; returns 0."""
    parser = argparse.ArgumentParser(prog="python -m bench.twin_memory", description=__doc__)
    parser.add_argument("--plan", default="2000,10000,100000", help="plan-only sizes")
    parser.add_argument("--run", default="500,2000", help="full-run sizes")
    parser.add_argument("--source", default=str(ROOT), help="the checkout to measure")
    parser.add_argument("--label", default="after", help="the results' label")
    parser.add_argument("--note", default="", help="a line about what was measured")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--render", action="store_true", help="only rewrite the .md")
    args = parser.parse_args(argv)
    path = RESULTS / "twin-memory.json"
    if args.render:
        (RESULTS / "twin-memory.md").write_text(_render(json.loads(path.read_text())))
        return 0
    source = Path(args.source).resolve()
    twin_commit = subprocess.run(
        ["git", "log", "-1", "--format=%h", "--", "twin", "turingcore_client"],
        cwd=source,
        capture_output=True,
        text=True,
    ).stdout.strip()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="twin-memory-") as tmp:
        work = Path(tmp)
        for customers in _sizes(args.plan):
            rows.append({**measure_plan(source, customers, work), "twin_commit": twin_commit})
            print(json.dumps(rows[-1]), flush=True)
        for customers in _sizes(args.run):
            rows.append({**measure_run(source, customers, work), "twin_commit": twin_commit})
            print(json.dumps(rows[-1]), flush=True)
    if args.no_write:
        return 0
    results = json.loads(path.read_text()) if path.is_file() else {}
    entry = results.setdefault(args.label, {"rows": []})
    kept = {(r["mode"], r["customers"]) for r in rows}
    entry["rows"] = [r for r in entry["rows"] if (r["mode"], r["customers"]) not in kept] + rows
    entry["rows"].sort(key=lambda r: (r["mode"] != "plan", r["customers"]))
    entry.pop("commit", None)
    entry.update(
        note=args.note or entry.get("note", ""),
        measured_at=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        load_average=[round(x, 2) for x in os.getloadavg()],
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "twin-memory.md").write_text(_render(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(load.main_of(main))
