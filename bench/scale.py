"""The big credit union end to end (issue 14, item 5): `twin run steady-state` at scale
against a served mock, with the five checks, its memory and its latency drift.

    python -m bench.scale --customers 100000 --days 30 --backend sqlite
    python -m bench.scale --customers 10000 --days 30 --backend postgres

What it does, as a user would:

1. start `mock-core serve` on a free port with its default settings (access log
   included), on a fresh SQLite file or a fresh PostgreSQL database (created and
   dropped, `--postgres-dsn`), with a platform key and a key scoped to the twin's
   isolation probe tenant, so that none of the five checks is skipped;
2. run `python -m twin run steady-state --customers N --days D --seed 42` against it as
   a subprocess; the twin plans, sets up (bootstrap and seed), simulates, then runs
   the five invariant checks and writes summary.json;
3. every `--sample-every` second (1 s): the server's RSS (its process tree), the
   twin's RSS and PSS (its process tree: the checks fork one for the account folds;
   the PSS sum counts the pages they share once, and is the twin's memory target's
   figure), the CPU seconds of both (and, on PostgreSQL, of its backends), from /proc;
   the peaks also from the kernel: the server's VmHWM, and the largest VmHWM of the
   twin's processes (not wait4's ru_maxrss, which also holds the launcher's RSS at the
   fork that the twin's exec replaced). VmHWM only grows, so a sample holds every peak
   before it; one reached within the last interval before the twin exits is missed.

Phases, from the twin's summary.json: setup = bootstrap + seed, simulate, checks (the
five invariants); plan = the twin process's wall time less those (planning into its
spill files, with the interpreter's start-up and exit). The latency drift is the
twin's own: p50/p99 per tenth of the simulate phase by command index
(`latency_ms_simulate_deciles`, twin/latency.py), the last tenth's p99 over the
first's.

With `--keep` the work directory (the store, the run log) stays; `--inspect-kept DIR`
then serves that store again and runs only the checks on it, as `twin inspect` (the
run log given, both keys), to measure them alone: the twin's wall, peak RSS
(VmHWM) and verdicts, in `<results-dir>/scale-inspect-<backend>-<N>x<D>.md`
(SQLite stores only).

Results: `<results-dir>/scale-<backend>-<N>x<D>.json` (with the 1 s series) and `.md`.
Exit code: 0 when the twin exited 0 with all five checks PASS; 1 when it did not
(the results are written all the same); 2 when the harness could not run. A target
not met is reported in the results, not in the exit code.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from bench import load, machine
from bench.load import BenchError, Server
from bench.measure import write_results
from turingcore_client import serving

RESULTS = load.ROOT / "bench" / "results"
SEED = 42
CHECKS = (
    "balance_derivability",
    "event_integrity",
    "tenant_isolation",
    "idempotency",
    "audit_completeness",
)
MB = 2**20
# Issue 14's targets. The wall-time target is the 100,000 x 30 run's on SQLite; the
# twin's RSS ceiling is 300 MB up to 10,000 members and 500 MB up to 100,000.
WALL_TARGET_S = 45 * 60
WALL_TARGET_SIZE = (100_000, 30)
SERVER_RSS_MAX_MB = 1024
TWIN_RSS_MAX_MB = ((10_000, 300), (100_000, 500))
P99_DRIFT_MAX = 1.5
# Below this many members the fixed costs (start-up, the checks' set-up) outweigh the
# per-member ones, and a linear projection to 100,000 members says nothing.
PROJECTED_FROM_MIN = 1_000


SAMPLE_COLUMNS = (
    "t_s",
    "server_rss_mb",
    "twin_rss_mb",
    "server_cpu_s",
    "db_cpu_s",
    "twin_cpu_s",
    "machine_cpu_s",
    "commands_logged",
    "twin_pss_mb",
)
Sample = tuple[float, float, float, float, float, float, float, int, float]


@dataclass(eq=False)  # a thread is hashed by identity
class Sampler(threading.Thread):
    """Every `every_s`, a row of SAMPLE_COLUMNS: seconds since start, server and twin
    RSS (MB), CPU seconds of the server, its database backends (PostgreSQL; 0 on
    SQLite), the twin and the whole machine, and the lines in the twin's run log (its
    commands answered so far, in plan order)."""

    server: Server
    twin_pid: int
    run_log: Path
    every_s: float
    rows: list[Sample] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        super().__init__(daemon=True)
        self.started = time.perf_counter()
        self.logged = 0
        self._log: IO[bytes] | None = None
        # The largest VmHWM (peak RSS) of any of the twin's processes seen so far. The
        # kernel's figure of the process itself: wait4's ru_maxrss also holds the RSS of
        # the launcher's copy that its exec replaced (pytest's, when a test runs the
        # bench), so it is no measure of the twin.
        self.twin_hwm_bytes = 0

    def _count_logged(self) -> int:
        """Lines of the run log so far, reading only what was added since the last call."""
        if self._log is None:
            try:
                self._log = self.run_log.open("rb")
            except OSError:
                return 0  # still planning: the runner opens its log when it starts
        while chunk := self._log.read(1 << 20):
            self.logged += chunk.count(b"\n")
        return self.logged

    def sample(self) -> None:
        cpu, db_cpu = self.server.cpu()
        twin = load.process_tree(self.twin_pid)
        self.twin_hwm_bytes = max(self.twin_hwm_bytes, largest_hwm_bytes(twin))
        self.rows.append(
            (
                round(time.perf_counter() - self.started, 2),
                round(self.server.rss() / MB, 1),
                # The twin and the process its checks fork (the account folds), summed.
                round(load.rss_bytes(twin) / MB, 1),
                round(cpu, 2),
                round(db_cpu, 2),
                # Once the twin has exited (the last row), its last reading stands.
                round(
                    max(load.tree_cpu_seconds(self.twin_pid), self.rows[-1][5] if self.rows else 0),
                    2,
                ),
                round(load.machine_cpu_seconds(), 2),
                self._count_logged(),
                # The same, each page shared by the fork counted once.
                round(load.pss_bytes(twin) / MB, 1),
            )
        )

    def run(self) -> None:
        try:
            self.sample()
            while not self.done.wait(self.every_s):
                self.sample()
            self.sample()  # the end: the whole run log counted
        finally:
            if self._log is not None:
                self._log.close()


def largest_hwm_bytes(pids: Sequence[int]) -> int:
    """The largest VmHWM (peak RSS, kept by the kernel) of any of `pids` (0 for none)."""
    return max((load.proc_kb_sum([pid], "status", "VmHWM") for pid in pids), default=0)


class PeakWatch(threading.Thread):
    """Every `every_s` until `done`, the largest VmHWM of `pid`'s process tree so far
    (`hwm_bytes`), as the Sampler reads the twin's."""

    def __init__(self, pid: int, every_s: float) -> None:
        super().__init__(daemon=True)
        self.pid, self.every_s = pid, every_s
        self.hwm_bytes = 0
        self.done = threading.Event()

    def run(self) -> None:
        while True:
            tree = load.process_tree(self.pid)
            self.hwm_bytes = max(self.hwm_bytes, largest_hwm_bytes(tree))
            if self.done.wait(self.every_s):
                return


def _high_water_mb(pids: Sequence[int]) -> float:
    """The sum of VmHWM (each process's peak RSS, kept by the kernel) of `pids`, MB."""
    return round(load.proc_kb_sum(pids, "status", "VmHWM") / MB, 1)


@contextlib.contextmanager
def served_mock(args: argparse.Namespace, workdir: Path) -> Iterator[Server]:
    """`mock-core serve` (or `--mock-executable serve`) as a user starts it: default
    settings and access log, the bench's two keys, a store of its own."""
    database = None
    if args.backend == "sqlite":
        url = f"sqlite:///{workdir / 'mock.db'}"
    else:
        problem = load.postgres_problem(args.postgres_dsn)
        if problem:
            raise BenchError(problem)
        database, url = load.create_database(args.postgres_dsn)
    keys = f"{load.BENCH_KEY}=*;{load.ISOLATION_KEY}={load.ISOLATION_TENANT}"
    log_path = workdir / "mock.log"
    try:
        with log_path.open("w+b") as log:
            try:
                process, base_url = serving.start_mock(
                    ["--database-url", url, "--api-keys", keys],
                    log=log,
                    executable=args.mock_executable,
                    cwd=load.ROOT,
                    env=serving.clean_env(),
                    ready_path="/readyz",
                )
            except serving.MockStartError as exc:
                raise BenchError(f"mock-core serve: {exc}") from None
        port = int(base_url.rsplit(":", 1)[1])
        with load.running(Server("mock", process, port, log_path, database=database)) as server:
            yield server
    finally:
        if database is not None:
            load.drop_database(args.postgres_dsn, database)


def twin_command(args: argparse.Namespace, base_url: str, output: Path) -> list[str]:
    """`twin run steady-state` at the bench's size, all five checks on."""
    return load.twin_steady_state(
        args.customers,
        args.days,
        base_url,
        output,
        *("--seed", str(SEED), "--api-key", load.BENCH_KEY),
        *("--isolation-key", load.ISOLATION_KEY),
    )


@dataclass
class TwinRun:
    exit_code: int
    wall_s: float
    cpu_s: float
    ru_maxrss_mb: float  # wait4's (see Sampler.twin_hwm_bytes)
    hwm_mb: float  # the largest VmHWM of the twin's processes, sampled
    server_cpu_s: float
    db_cpu_s: float
    server_hwm_mb: float
    samples: list[Sample]
    summary: dict[str, Any] | None


def run_twin(args: argparse.Namespace, server: Server, workdir: Path) -> TwinRun:
    """Run the twin against `server`, sampling both; return what it took."""
    output = workdir / "twin"
    output.mkdir(parents=True, exist_ok=True)
    cpu0, db0 = server.cpu()
    with (workdir / "twin.log").open("wb") as log:
        started = time.perf_counter()
        process = subprocess.Popen(
            twin_command(args, server.base_url, output),
            cwd=load.ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        sampler = Sampler(server, process.pid, output / "commands.jsonl", args.sample_every)
        sampler.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        except BaseException:  # interrupted: stop the twin we started
            process.kill()
            process.wait()
            raise
        finally:
            sampler.done.set()
            sampler.join()
        wall = time.perf_counter() - started
    cpu1, db1 = server.cpu()
    hwm = _high_water_mb(server.pids())
    summary_path = output / "summary.json"
    return TwinRun(
        exit_code=os.waitstatus_to_exitcode(status),
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        ru_maxrss_mb=round(usage.ru_maxrss / 1024, 1),
        hwm_mb=round(sampler.twin_hwm_bytes / MB, 1),
        server_cpu_s=cpu1 - cpu0,
        db_cpu_s=db1 - db0,
        server_hwm_mb=hwm,
        samples=sampler.rows,
        summary=json.loads(summary_path.read_text()) if summary_path.is_file() else None,
    )


def by_tenth(
    samples: Sequence[Sample], setup_commands: int, deciles: list[dict[str, Any]] | None
) -> list[dict[str, Any]]:
    """The twin's rows of simulate latency by tenth, each with what the machine did while
    that tenth ran (between the samples where the run log reached its first and its
    last command): its wall time, the server's CPU per command, and the CPU of every
    other process (the machine's busy time less the server's, its database's and the
    twin's) in cores. A latency that rises while the server's CPU per command stays
    flat and the others' CPU rises is the machine's load, not the store's growth."""
    out = []
    for row in deciles or []:
        start = setup_commands + row["first_index"]
        end = setup_commands + row["last_index"] + 1
        a = next((x for x in samples if x[7] >= start), None)
        b = next((x for x in samples if x[7] >= end), None)
        extra: dict[str, Any] = dict.fromkeys(
            ("wall_s", "server_cpu_us_per_command", "others_cpu_cores")
        )
        if a is not None and b is not None and b[0] > a[0] and b[7] > a[7]:
            wall, commands = b[0] - a[0], b[7] - a[7]
            server, db, twin, busy = (b[i] - a[i] for i in (3, 4, 5, 6))
            extra.update(
                wall_s=round(wall, 1),
                server_cpu_us_per_command=round(server / commands * 1e6, 1),
                others_cpu_cores=round(max(0.0, busy - server - db - twin) / wall, 2),
            )
        out.append({**row, **extra})
    return out


def _twin_rss_max_mb(customers: int) -> int | None:
    return next((mb for size, mb in TWIN_RSS_MAX_MB if customers <= size), None)


def _target(name: str, target: str, measured: Any, met: bool | None) -> dict[str, Any]:
    return {"name": name, "target": target, "measured": measured, "met": met}


def figures(args: argparse.Namespace, run: TwinRun) -> dict[str, Any]:
    """The results of one run: phases, rates, memory, drift, checks and targets."""
    summary = run.summary or {}
    phases = summary.get("phases", {})
    counts = summary.get("counts", {})
    invariants = {r["name"]: r["status"] for r in summary.get("invariants", [])}
    checks_ok = all(invariants.get(name) == "PASS" for name in CHECKS)
    ok = run.exit_code == 0 and bool(summary.get("ok")) and checks_ok

    def phase(name: str, *parts: str) -> dict[str, Any]:
        commands = sum(int(phases.get(p, {}).get("commands", 0)) for p in parts)
        wall = sum(float(phases.get(p, {}).get("wall_s", 0.0)) for p in parts)
        rate = round(commands / wall, 1) if commands and wall else None
        return {"name": name, "wall_s": round(wall, 1), "commands": commands, "per_s": rate}

    run_phases = [phase("setup", "bootstrap", "seed"), phase("simulate", "simulate")]
    checks = phase("checks", "inspect")
    accounted = sum(p["wall_s"] for p in run_phases) + checks["wall_s"]
    plan = {"name": "plan", "wall_s": round(run.wall_s - accounted, 1), "commands": 0}
    plan["per_s"] = None
    total = int(counts.get("total", 0))
    setup_commands = sum(int(phases.get(p, {}).get("commands", 0)) for p in ("bootstrap", "seed"))
    deciles = by_tenth(run.samples, setup_commands, summary.get("latency_ms_simulate_deciles"))
    first = deciles[0]["p99_ms"] if deciles else None
    last = deciles[-1]["p99_ms"] if deciles else None
    drift = round(last / first, 3) if first and last is not None else None
    server_peak = max([s[1] for s in run.samples] + [run.server_hwm_mb])
    twin_peak = max([s[2] for s in run.samples] + [run.hwm_mb])
    # The target's figure: the twin's processes' memory with the pages they share counted
    # once (PSS, summed), and never below the largest one's own peak RSS (its VmHWM).
    twin_memory = max([s[8] for s in run.samples] + [run.hwm_mb])
    size = (args.customers, args.days)
    applies = size == WALL_TARGET_SIZE and args.backend == "sqlite"
    simulate_rate = run_phases[1]["per_s"]
    twin_max = _twin_rss_max_mb(args.customers)
    targets = [
        _target(
            "five checks PASS",
            "all five",
            invariants,
            checks_ok,
        ),
        _target(
            "end to end, 100,000 x 30 on SQLite",
            f"< {WALL_TARGET_S} s",
            round(run.wall_s, 1),
            run.wall_s < WALL_TARGET_S and checks_ok if applies else None,
        ),
        _target("server RSS peak", f"< {SERVER_RSS_MAX_MB} MB", server_peak, server_peak < 1024),
        _target(
            f"twin memory peak at {args.customers:,} members (PSS of its processes, summed)",
            f"< {twin_max} MB" if twin_max else "none above 100,000 members",
            twin_memory,
            twin_memory < twin_max if twin_max else None,
        ),
        _target(
            "simulate p99, last tenth / first tenth",
            f"<= {P99_DRIFT_MAX}",
            drift,
            drift <= P99_DRIFT_MAX if drift is not None else False,
        ),
    ]
    return {
        "bench": "scale",
        "backend": args.backend,
        "customers": args.customers,
        "days": args.days,
        "seed": SEED,
        "ok": ok,
        "twin_exit_code": run.exit_code,
        "unexpected_outcomes": summary.get("unexpected_total"),
        "commands": total,
        "end_to_end_s": round(run.wall_s, 1),
        "commands_per_s": round(total / run.wall_s, 1) if run.wall_s else None,
        "phases": [plan, *run_phases, checks],
        "simulate_commands_per_s": simulate_rate,
        "invariants": invariants,
        "server": {
            "rss_peak_mb": server_peak,
            "rss_high_water_mb": run.server_hwm_mb,
            "cpu_s": round(run.server_cpu_s, 1),
            "cpu_us_per_command": round(run.server_cpu_s / total * 1e6, 1) if total else None,
            "db_cpu_s": round(run.db_cpu_s, 1),
        },
        "twin": {
            "rss_peak_mb": twin_peak,
            "pss_peak_mb": twin_memory,
            "hwm_mb": run.hwm_mb,
            "ru_maxrss_mb": run.ru_maxrss_mb,
            "cpu_s": round(run.cpu_s, 1),
            "cpu_us_per_command": round(run.cpu_s / total * 1e6, 1) if total else None,
        },
        "simulate_deciles": deciles,
        "p99_last_over_first": drift,
        "targets": targets,
        "plan_digest": summary.get("plan_digest"),
        "state_digest": summary.get("state_digest"),
        "samples": {
            "every_s": args.sample_every,
            "columns": list(SAMPLE_COLUMNS),
            "rows": run.samples,
        },
    }


def _cell(value: Any) -> str:
    return "-" if value is None else f"{value:,}"


def _verdict(met: bool | None) -> str:
    return {True: "met", False: "NOT met", None: "n/a"}[met]


def render(data: dict[str, Any]) -> str:
    """The results as Markdown."""
    size = f"{data['customers']:,} x {data['days']}"
    lines = [
        f"# The twin at {size} on {data['backend']}, end to end",
        "",
        f"`{data['command']}` at {data['generated_at']}, git {data['machine']['git_commit'][:10]}"
        f"{' (dirty tree)' if data['machine']['git_dirty'] else ''}; load average "
        f"{data['machine']['load_average_start']} at the start, {data['load_average_end']} at "
        f"the end, on {data['machine']['cpus_usable']} CPU(s) shared with other work.",
        "",
        f"**{'OK' if data['ok'] else 'FAILED'}**: twin exit code {data['twin_exit_code']}, "
        f"unexpected outcomes {data['unexpected_outcomes']}; {data['commands']:,} commands "
        f"in {data['end_to_end_s']:,.1f} s end to end ({data['commands_per_s']:,} commands/s).",
        "",
        "| phase | wall s | commands | commands/s |",
        "|---|---:|---:|---:|",
    ]
    for p in data["phases"]:
        rate = f"{p['per_s']:,}" if p["per_s"] else "-"
        lines.append(f"| {p['name']} | {p['wall_s']:,.1f} | {p['commands']:,} | {rate} |")
    server, twin = data["server"], data["twin"]
    lines += [
        "",
        "plan: the twin process's wall time less setup, simulate and checks (planning into "
        "its spill files, start-up and exit); checks: the five invariants.",
        "",
        f"Server: RSS peak {server['rss_peak_mb']:,} MB (sampled every "
        f"{data['samples']['every_s']} s, and VmHWM {server['rss_high_water_mb']:,} MB), CPU "
        f"{server['cpu_s']:,} s ({server['cpu_us_per_command']} us/command)"
        + (f", database backends {server['db_cpu_s']:,} s" if data["backend"] != "sqlite" else "")
        + f". Twin: RSS peak {twin['rss_peak_mb']:,} MB (its processes summed), PSS peak "
        f"{twin['pss_peak_mb']:,} MB (summed, a page they share counted once; VmHWM, the "
        f"largest one's peak, {twin['hwm_mb']:,} MB), "
        f"CPU {twin['cpu_s']:,} s ({twin['cpu_us_per_command']} us/command).",
        "",
        "Checks: " + ", ".join(f"{k} {v}" for k, v in data["invariants"].items()),
        "",
        "## Simulate-phase latency by tenth (by command index)",
        "",
        "The twin's p50/p99 per tenth of the simulate phase (by command index), and what "
        "the machine did while each tenth ran, from the 1 s samples: its wall time, the "
        "server's CPU per command, and the CPU of every other process on the machine (in "
        f"cores, of {data['machine']['cpus_usable']}).",
        "",
        "| tenth | commands | p50 ms | p99 ms | wall s | server CPU us/command "
        "| others' CPU, cores |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in data["simulate_deciles"]:
        lines.append(
            f"| {row['decile']} | {row['count']:,} | {row['p50_ms']} | {row['p99_ms']} "
            f"| {_cell(row['wall_s'])} | {_cell(row['server_cpu_us_per_command'])} "
            f"| {_cell(row['others_cpu_cores'])} |"
        )
    lines += [
        "",
        f"p99 last tenth / first tenth: **{data['p99_last_over_first']}**",
        "",
        "## Targets (issue 14)",
        "",
        "| target | limit | measured | verdict |",
        "|---|---|---|---|",
    ]
    for t in data["targets"]:
        measured = t["measured"]
        if isinstance(measured, dict):
            measured = "all PASS" if set(measured.values()) == {"PASS"} else json.dumps(measured)
        lines.append(f"| {t['name']} | {t['target']} | {measured} | {_verdict(t['met'])} |")
    if "projection" in data:
        lines += ["", data["projection"]]
    return "\n".join(lines) + "\n"


def _projection(data: dict[str, Any]) -> str:
    """What the run's rates say of 100,000 x 30 on the same machine, linearly: setup (the
    tenant and the members) by the members, every other phase by the members x days."""
    members = 100_000 / data["customers"]
    factor = members * 30 / data["days"]
    if factor <= 1 or data["customers"] < PROJECTED_FROM_MIN:
        return ""
    phases = {p["name"]: p["wall_s"] for p in data["phases"]}
    scaled = {
        name: wall * (members if name == "setup" else factor) for name, wall in phases.items()
    }
    parts = ", ".join(f"{name} {wall / 60:,.0f}" for name, wall in scaled.items())
    return (
        f"Linear projection to 100,000 x 30 on this machine (setup x {members:g} the "
        f"members, the other phases x {factor:g} the members x days): about "
        f"{sum(scaled.values()) / 60:,.0f} min end to end ({parts} min), against the "
        f"{WALL_TARGET_S // 60} min target."
    )


def inspect_kept(args: argparse.Namespace, workdir: Path, command_line: str) -> int:
    """`twin inspect` of a kept run's tenant against its own store, served again: the
    checks alone, with the run log and both keys, as the run made them."""
    summary = json.loads((workdir / "twin" / "summary.json").read_text())
    report = workdir / "inspect.json"
    with served_mock(args, workdir) as server, (workdir / "inspect.log").open("wb") as log:
        command = [
            *(sys.executable, "-m", "twin", "inspect", summary["tenant"]),
            *("--run-log", str(workdir / "twin" / "commands.jsonl")),
            *("--base-url", server.base_url, "--api-key", load.BENCH_KEY),
            *("--isolation-key", load.ISOLATION_KEY, "--json", str(report)),
        ]
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=load.ROOT, stdout=log, stderr=subprocess.STDOUT)
        peak = PeakWatch(process.pid, args.sample_every)
        peak.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            peak.done.set()
            peak.join()
        wall = time.perf_counter() - started
    found = json.loads(report.read_text()) if report.is_file() else {}
    verdicts = {r["name"]: r["status"] for r in found.get("invariants", [])}
    data = {
        "command": command_line,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine.machine_info("true"),
        "customers": summary["customers"],
        "days": summary["days"],
        "exit_code": os.waitstatus_to_exitcode(status),
        "wall_s": round(wall, 1),
        "twin_cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "twin_peak_rss_mb": round(peak.hwm_bytes / MB, 1),
        "verdicts": verdicts,
        "state_digest": found.get("state_digest"),
        "run_state_digest": summary.get("state_digest"),
    }
    data["machine"].pop("wrk", None)
    checks = ", ".join(f"{name} {verdict}" for name, verdict in verdicts.items())
    text = "\n".join(
        [
            f"# The checks alone at {data['customers']:,} x {data['days']} on {args.backend}",
            "",
            f"`{data['command']}` at {data['generated_at']}: `twin inspect` of the kept run's "
            "tenant, its run log and both keys, against its store served again.",
            "",
            f"- exit code {data['exit_code']}; {checks}",
            f"- wall {data['wall_s']} s, twin CPU {data['twin_cpu_s']} s",
            f"- twin peak RSS (VmHWM, its largest process): **{data['twin_peak_rss_mb']} MB**",
            f"- state digest {data['state_digest']} (the run's: {data['run_state_digest']})",
            "",
        ]
    )
    name = f"scale-inspect-{args.backend}-{data['customers']}x{data['days']}"
    write_results(args.results_dir, name, data, text)
    ok = data["exit_code"] == 0 and data["state_digest"] == data["run_state_digest"]
    return 0 if ok else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.scale",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--customers", type=int, default=100_000, help="members (100000)")
    parser.add_argument("--days", type=int, default=30, help="days simulated (30)")
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--results-dir", type=Path, default=RESULTS)
    parser.add_argument(
        "--postgres-dsn",
        default=os.environ.get("BENCH_POSTGRES_DSN", load.DEFAULT_PG_DSN),
        help="the PostgreSQL server in which a fresh database is made and dropped",
    )
    parser.add_argument("--sample-every", type=float, default=1.0, help="seconds (1)")
    parser.add_argument(
        "--mock-executable",
        type=Path,
        default=None,
        help="a `mock-core`-like program to serve (default: this Python's -m mock_core)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument(
        "--inspect-kept",
        type=Path,
        default=None,
        metavar="DIR",
        help="run only the checks on a work directory kept by --keep (SQLite)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the bench; write the results; return the exit code (module docstring)."""
    args = build_parser().parse_args(argv)
    if args.customers < 1 or args.days < 1 or args.sample_every <= 0:
        print("bench.scale: --customers, --days and --sample-every must be positive")
        return 2
    command = " ".join(["python -m bench.scale", *(sys.argv[1:] if argv is None else argv)])
    if args.inspect_kept is not None:
        if args.backend != "sqlite" or not (args.inspect_kept / "mock.db").is_file():
            print("bench.scale: --inspect-kept needs a SQLite work directory kept by --keep")
            return 2
        try:
            return inspect_kept(args, args.inspect_kept, command)
        except BenchError as exc:
            print(f"bench.scale: {exc}")
            return 2
    # This bench sends no wrk load: `true` stands in for wrk's version probe.
    info = machine.machine_info(shutil.which("wrk") or "true")
    info.pop("wrk", None)
    workdir = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    try:
        with served_mock(args, workdir) as server:
            run = run_twin(args, server, workdir)
        if run.summary is None or run.exit_code != 0:
            tail = (workdir / "twin.log").read_text(errors="replace")[-3000:]
            print(f"bench.scale: the twin exited {run.exit_code}; its output ends:\n{tail}")
    except BenchError as exc:
        print(f"bench.scale: {exc}")
        return 2
    finally:
        if args.keep:
            print(f"bench.scale: work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    data = {
        "command": command,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": info,
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        **figures(args, run),
    }
    projection = _projection(data)
    if projection:
        data["projection"] = projection
    name = f"scale-{args.backend}-{args.customers}x{args.days}"
    write_results(args.results_dir, name, data, render(data))
    return 0 if data["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(load.main_of(main))
