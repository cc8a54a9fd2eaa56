"""The checks with the account folds forked, against the folds in the twin's process.

    .venv/bin/python -m bench.fold_ab                          # 500 x 30, 5 rounds of each
    .venv/bin/python -m bench.fold_ab --customers 10000 --days 30 --rounds 1 --runs 0

`twin` forks the account folds of balance_derivability into a process of their own
when the machine has a second core and the tenant's stream is not longer than
`FORK_EVENTS_MAX` (`twin.invariants.derivability.ForkedFolds`, `fork_folds`). Here the mode is
set (`TWIN_FOLD_PROCESS=1` forked, `=0` in the twin's process), at any size; both
modes run the same code otherwise, so alternating them measures the fork alone:

1. **The checks alone** (`--rounds`): a mock served as a user starts it (`mock-core
   serve`, default settings, its access log to a file, a fresh SQLite store) is
   populated once by `twin run steady-state --no-inspect` (seed 42); then `twin
   inspect` of that tenant, with the run log and both keys, is run `--rounds` times in
   each mode, the order flipping every round. Per run: wall, the twin's CPU (the fold
   process's included: `wait4` counts the reaped child), the server's CPU, verdicts.
2. **`twin run` end to end** (`--runs`): each run on a fresh served mock, planning,
   start-up, the commands and the five checks, as a user runs it; the mode alternates
   the same way. Per run: wall, the checks phase, the state digest.

Reported: medians per mode and the median of the per-round ratios forked / in process.
Writes `<results-dir>/fold-process-ab.{json,md}` at 500 x 30, else
`fold-process-ab-<N>x<D>.{json,md}` (bench/results by default). Exit 1 when a run did
not exit 0 (a check failed), 0 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import load, machine
from bench.measure import write_results
from turingcore_client.serving import served_mock

MODES = {"in_process": "0", "forked": "1"}
SEED = "42"
KEYS = f"{load.BENCH_KEY}=*;{load.ISOLATION_KEY}={load.ISOLATION_TENANT}"


def server_pid(base_url: str) -> int:
    """The pid of the process listening on `base_url`'s port (the served mock)."""
    port = int(base_url.rsplit(":", 1)[1])
    out = subprocess.run(
        ["ss", "-Htlnp", f"sport = :{port}"], capture_output=True, text=True, check=True
    ).stdout
    return int(out.split("pid=", 1)[1].split(",", 1)[0])


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float, float, int]:
    """Run `command`; (wall s, its CPU s with its reaped children's, its largest process's
    peak RSS MB, exit code)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=load.ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        assert process.stderr is not None
        raise SystemExit(
            f"{command[:5]}... exited {code}: {process.stderr.read().decode()[-2000:]}"
        )
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, code


def env_for(mode: str) -> dict[str, str]:
    env = {**os.environ, "TWIN_FOLD_PROCESS": MODES[mode]}
    env.pop("TURINGCORE_BASE_URL", None)
    return env


def checks_alone(args: argparse.Namespace, work: Path) -> list[dict[str, Any]]:
    db = work / "checks.db"
    rows = []
    with served_mock(["--database-url", f"sqlite:///{db}", "--api-keys", KEYS]) as base_url:
        out = work / "populate"
        populate = load.twin_steady_state(
            args.customers,
            args.days,
            base_url,
            out,
            "--seed",
            SEED,
            "--api-key",
            load.BENCH_KEY,
            "--no-inspect",
        )
        subprocess.run(populate, cwd=load.ROOT, env=env_for("in_process"), check=True)
        summary = json.loads((out / "summary.json").read_text())
        pid = server_pid(base_url)
        inspect = [
            sys.executable, "-m", "twin", "inspect", summary["tenant"], "--base-url", base_url,
            "--api-key", load.BENCH_KEY, "--isolation-key", load.ISOLATION_KEY,
            "--run-log", str(out / "commands.jsonl"), "--json", str(work / "inspect.json"),
        ]  # fmt: skip
        for round_ in range(1, args.rounds + 1):
            order = list(MODES) if round_ % 2 else list(reversed(MODES))
            for mode in order:
                server0 = load.cpu_seconds([pid])
                wall, cpu, rss, code = timed(inspect, env_for(mode))
                verdicts = json.loads((work / "inspect.json").read_text())
                row = {
                    "round": round_,
                    "mode": mode,
                    "wall_s": round(wall, 2),
                    "twin_cpu_s": round(cpu, 2),
                    "server_cpu_s": round(load.cpu_seconds([pid]) - server0, 2),
                    "twin_largest_rss_mb": round(rss, 1),
                    "exit_code": code,
                    "verdicts": {c["name"]: c["status"] for c in verdicts.get("invariants", [])},
                    "check_s": {c["name"]: c["seconds"] for c in verdicts.get("invariants", [])},
                    "state_digest": verdicts.get("state_digest"),
                }
                print(json.dumps(row), flush=True)
                rows.append(row)
    return rows


def end_to_end(args: argparse.Namespace, work: Path) -> list[dict[str, Any]]:
    rows = []
    for round_ in range(1, args.runs + 1):
        order = list(MODES) if round_ % 2 else list(reversed(MODES))
        for mode in order:
            db = work / f"e2e-{round_}-{mode}.db"
            with served_mock(["--database-url", f"sqlite:///{db}", "--api-keys", KEYS]) as url:
                out = work / f"e2e-{round_}-{mode}"
                command = load.twin_steady_state(
                    args.customers, args.days, url, out, "--seed", SEED,
                    "--api-key", load.BENCH_KEY, "--isolation-key", load.ISOLATION_KEY,
                )  # fmt: skip
                wall, cpu, _, code = timed(command, env_for(mode))
            summary = json.loads((out / "summary.json").read_text())
            phases = summary.get("phases", {})
            row = {
                "round": round_,
                "mode": mode,
                "wall_s": round(wall, 2),
                "simulate_s": phases.get("simulate", {}).get("wall_s"),
                "checks_s": phases.get("inspect", {}).get("wall_s"),
                "check_s": {c["name"]: c["seconds"] for c in summary.get("invariants", [])},
                "twin_cpu_s": round(cpu, 2),
                "exit_code": code,
                "state_digest": summary.get("state_digest"),
            }
            print(json.dumps(row), flush=True)
            rows.append(row)
            db.unlink(missing_ok=True)
    return rows


def summarize(rows: list[dict[str, Any]], keys: list[str]) -> dict[str, Any]:
    """Medians per mode, and the median of the per-round ratios forked / in process."""
    out: dict[str, Any] = {}
    for key in keys:
        per_mode = {
            mode: statistics.median(r[key] for r in rows if r["mode"] == mode and r[key])
            for mode in MODES
            if any(r["mode"] == mode and r[key] for r in rows)
        }
        rounds: dict[int, dict[str, float]] = {}
        for r in rows:
            rounds.setdefault(r["round"], {})[r["mode"]] = r[key]
        ratios = [
            d["forked"] / d["in_process"]
            for d in rounds.values()
            if len(d) == 2 and all(d.values())
        ]
        out[key] = {**per_mode, "ratio": round(statistics.median(ratios), 3) if ratios else None}
    return out


def report(data: dict[str, Any]) -> str:
    info = data["machine"]
    lines = [
        f"# The account folds forked, against in process: {data['customers']:,} x {data['days']}",
        "",
        f"`{data['command']}` at {data['generated_at']} on commit {info.get('git_commit')}; "
        f"{info.get('cpus_usable')} CPUs, load {info.get('load_average_start')} at the start, "
        f"{[round(x, 2) for x in data['loadavg_end']]} at the end.",
        "",
        "Same code both ways; `TWIN_FOLD_PROCESS=0` keeps the folds in the twin's process. "
        "Medians, and the median of each round's ratio forked / in process.",
        "",
    ]
    for title, key in (
        ("The checks alone (`twin inspect`)", "checks"),
        ("`twin run` end to end", "e2e"),
    ):
        part = data.get(key)
        if not part or not part["rows"]:
            continue
        lines += [
            f"## {title}: {len(part['rows']) // 2} rounds",
            "",
            "| figure | in process | forked | ratio |",
            "|---|---:|---:|---:|",
        ]
        for name, figures in part["medians"].items():
            lines.append(
                f"| {name} | {figures.get('in_process', '-')} | {figures.get('forked', '-')} "
                f"| {figures['ratio'] if figures['ratio'] is not None else '-'} |"
            )
        digests = {r["state_digest"] for r in part["rows"]}
        codes = {r["exit_code"] for r in part["rows"]}
        lines += [
            "",
            f"Exit codes {sorted(codes)}; state digests "
            f"{sorted(d[:12] + '...' for d in digests if d)}.",
            "",
        ]
        verdicts = [r.get("verdicts") for r in part["rows"] if r.get("verdicts")]
        if verdicts:
            lines += [f"Verdicts: {sorted({v for one in verdicts for v in one.values()})}.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=5, help="rounds of the checks alone (5)")
    parser.add_argument("--runs", type=int, default=3, help="rounds of `twin run` end to end (3)")
    parser.add_argument("--results-dir", type=Path, default=load.ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    started_machine = machine.machine_info("true")
    with tempfile.TemporaryDirectory(prefix="fold-ab-") as tmp:
        work = Path(tmp)
        checks = checks_alone(args, work) if args.rounds else []
        e2e = end_to_end(args, work) if args.runs else []
    started_machine.pop("wrk", None)
    data = {
        "command": "python -m bench.fold_ab " + " ".join(sys.argv[1:] if argv is None else argv),
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": started_machine,
        "loadavg_end": os.getloadavg(),
        "customers": args.customers,
        "days": args.days,
        "checks": {
            "rows": checks,
            "medians": summarize(
                checks, ["wall_s", "twin_cpu_s", "server_cpu_s", "twin_largest_rss_mb"]
            ),
        },
        "e2e": {
            "rows": e2e,
            "medians": summarize(e2e, ["wall_s", "simulate_s", "checks_s", "twin_cpu_s"]),
        },
    }
    bad = [r for r in checks + e2e if r["exit_code"] != 0]
    name = "fold-process-ab"
    if (args.customers, args.days) != (500, 30):
        name += f"-{args.customers}x{args.days}"
    write_results(args.results_dir, name, data, report(data))
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(load.main_of(main))
