"""PostEntry's CPU cost in instructions, this tree against another commit: noise-free.

    python -m bench.instructions [--base REV] [--commands 1000] [--concurrency 1]
    python -m bench.instructions --twin 500x8 [--base REV]

wrk's figures on this shared 2-core machine swing by more than the differences a
change to the write path makes. `valgrind --tool=callgrind` counts the instructions
the server process executes, whatever else the machine does: the same code gives
the same count to within a few hundred per command.

Each tree runs the mock in process (bench.profile's driver: the ASGI app, no HTTP
server, a fresh SQLite store), sets up two accounts, warms up with 200 transfers,
then posts `--commands` more, `--concurrency` in flight. The count per command is
the difference between that run and one that posts 200, divided by the difference
in commands, so that start-up and set-up cancel out. Kernel time (the fsync) is not
counted: this measures the CPU work of the code, not the disk. The counts also move
with the process's environment (its memory layout under valgrind): compare the trees
of one run, not the figures of two.

With `--twin CUSTOMERSxDAYS` it counts a whole twin run instead: each tree's mock is
served as a user runs it (`mock-core serve`, default settings, the access log written
to a file) under callgrind, the counters are zeroed once it answers, and the same twin
(the base's: one client for both) runs `steady-state` against it (seed 42, 32 in flight,
no inspection); the count is the server's, from the zeroing to the end of the run, and
per command it is divided by the commands the twin sent. Every command type, the HTTP
server and the access log are in it. The state digests of the two runs must agree.

The base is checked out with `git worktree` into a temporary directory, with its own
spec and scenario files on the path. Results: bench/results/instructions.md and .json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import load
from bench.load import shim, twin_steady_state, worktree
from bench.measure import write_results
from turingcore_client.serving import start_mock, stop_mock

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SHORT = 200  # the commands of the run whose count is subtracted

# Run in each tree (its own bench.profile and mock_core): set up, warm up, post.
DRIVER = """
import asyncio, random, sys, tempfile
from bench.profile import Driver, set_up, transfers, drive
from bench.load import BENCH_KEY
from mock_core.api.app import create_app
from mock_core.settings import Settings
count, concurrency = int(sys.argv[1]), int(sys.argv[2])
with tempfile.TemporaryDirectory() as tmp:
    settings = Settings(database_url=f"sqlite:///{tmp}/p.db", api_keys=f"{BENCH_KEY}=*",
                        access_log=False)
    driver = Driver(create_app(settings))
    rng = random.Random(7)
    async def main():
        a, b = await set_up(driver)
        await drive(driver, transfers(a, b, 200, rng), concurrency)
        await drive(driver, transfers(a, b, count, rng), concurrency)
    asyncio.run(main())
"""


def _collected(tree: Path, shim: Path, count: int, concurrency: int, out: Path) -> int:
    command = [
        "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
        sys.executable, "-c", DRIVER, str(count), str(concurrency),
    ]  # fmt: skip
    # The caller's environment, as given: the counts move with it (by up to a third
    # between an empty one and a shell's, the same code: the process's memory layout
    # under valgrind), so the trees are only compared within one run.
    env = {**os.environ, "PYTHONPATH": f"{tree}:{shim}", "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"callgrind failed in {tree}:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def per_command(tree: Path, shim: Path, commands: int, concurrency: int, work: Path) -> int:
    short = _collected(tree, shim, SHORT, concurrency, work / "short.out")
    long = _collected(tree, shim, commands, concurrency, work / "long.out")
    return round((long - short) / (commands - SHORT))


def twin_run(
    tree: Path, shim: Path, twin: tuple[Path, Path], size: str, work: Path
) -> dict[str, Any]:
    """The instructions `tree`'s served mock executes while `twin` (a tree and its shim)
    runs steady-state at `size` (CUSTOMERSxDAYS) against it."""
    customers, days = size.lower().split("x")
    out = work / "served.out"
    wrapper = work / "mock-core"
    wrapper.write_text(
        "#!/bin/sh\n"
        f"exec valgrind --tool=callgrind --callgrind-out-file={shlex.quote(str(out))} "
        f'{shlex.quote(sys.executable)} -m mock_core "$@"\n'
    )
    wrapper.chmod(0o755)
    env = {**os.environ, "PYTHONPATH": f"{tree}:{shim}", "PYTHONHASHSEED": "0"}
    env = {k: v for k, v in env.items() if not k.startswith("MOCK_CORE_")}
    store = f"sqlite:///{work / 'mock.db'}"
    with (work / "server.log").open("w+b") as log:
        process, base_url = start_mock(
            ["--database-url", store], log=log, executable=wrapper, cwd=tree, env=env, wait_s=300
        )
        try:
            subprocess.run(
                ["callgrind_control", "-z", str(process.pid)], check=True, capture_output=True
            )
            output = work / "twin"
            command = twin_steady_state(
                customers, days, base_url, output, "--timeout", "300", "--no-inspect"
            )
            twin_env = {**env, "PYTHONPATH": f"{twin[0]}:{twin[1]}"}
            subprocess.run(command, cwd=twin[0], env=twin_env, check=True, capture_output=True)
            subprocess.run(
                ["callgrind_control", "-d", str(process.pid)], check=True, capture_output=True
            )
        finally:
            stop_mock(process)
    dumped = (work / "served.out.1").read_text(errors="replace")
    found = re.search(r"^(?:summary|totals): (\d+)", dumped, re.MULTILINE)
    if found is None:
        raise SystemExit(f"no callgrind dump of the run in {work}")
    summary = json.loads((output / "summary.json").read_text())
    commands = sum(phase["commands"] for phase in summary["phases"].values())
    return {
        "instructions": int(found.group(1)),
        "commands": commands,
        "instructions_per_command": round(int(found.group(1)) / commands),
        "state_digest": summary["state_digest"],
    }


def _revision(tree: Path) -> str:
    found = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=tree, capture_output=True, text=True
    )
    return found.stdout.strip()


def run(base: str, commands: int, concurrency: int, twin: str | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-instructions-") as tmp:
        work = Path(tmp)
        with worktree(base, work / "base-tree") as base_tree:
            figures: dict[str, dict[str, Any]] = {}
            base_shim = shim(base_tree, work / "base-shim")
            for label, tree in (("base", base_tree), ("this tree", ROOT)):
                (work / label).mkdir()
                tree_shim = shim(tree, work / label / "shim")
                if twin is not None:
                    counted = twin_run(tree, tree_shim, (base_tree, base_shim), twin, work / label)
                else:
                    counted = {
                        "instructions_per_command": per_command(
                            tree, tree_shim, commands, concurrency, work / label
                        )
                    }
                figures[label] = {"revision": _revision(tree), **counted}
    ratio = (
        figures["this tree"]["instructions_per_command"]
        / figures["base"]["instructions_per_command"]
    )
    if twin is not None and len({f["state_digest"] for f in figures.values()}) != 1:
        raise SystemExit(f"the two runs ended in different states: {figures}")
    return {
        "generated_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "twin": twin,
        "commands": commands,
        "concurrency": concurrency,
        "trees": figures,
        "ratio_this_to_base": round(ratio, 4),
    }


def render(result: dict[str, Any], command: str) -> str:
    if result.get("twin"):
        return _render_twin(result, command)
    lines = [
        "# PostEntry in instructions (callgrind), this tree against a base",
        "",
        f"`{command}` ({result['generated_at']}): the mock in process, a fresh SQLite store,",
        f"{result['commands'] - SHORT} PostEntry transfers counted, {result['concurrency']} in "
        "flight; instructions per command of the server process (kernel time not counted).",
        "",
        "| tree | revision | instructions per PostEntry |",
        "|---|---|---:|",
    ]
    for label, tree in result["trees"].items():
        lines.append(f"| {label} | `{tree['revision']}` | {tree['instructions_per_command']:,} |")
    lines += ["", f"Ratio this tree / base: **{result['ratio_this_to_base']}**"]
    return "\n".join(lines) + "\n"


def _render_twin(result: dict[str, Any], command: str) -> str:
    trees = result["trees"].values()
    lines = [
        "# A whole twin run in instructions (callgrind), this tree's served mock against a base's",
        "",
        f"`{command}` ({result['generated_at']}): each tree's mock served with its default",
        f"settings (access log to a file), the base's twin running steady-state {result['twin']}",
        "(seed 42, 32 in flight, no inspection) against it; the server's instructions from",
        "its start-up's end to the run's (kernel time not counted). Both runs ended in state",
        f"`{next(iter(trees))['state_digest']}`.",
        "",
        "| tree | revision | commands | instructions | per command |",
        "|---|---|---:|---:|---:|",
    ]
    for label, tree in result["trees"].items():
        lines.append(
            f"| {label} | `{tree['revision']}` | {tree['commands']:,} | {tree['instructions']:,} "
            f"| {tree['instructions_per_command']:,} |"
        )
    lines += ["", f"Ratio this tree / base: **{result['ratio_this_to_base']}**"]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__)
    parser.add_argument("--base", default="5e2ec3e", help="the commit to compare with")
    parser.add_argument("--commands", type=int, default=1200)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument(
        "--twin",
        metavar="CUSTOMERSxDAYS",
        help="count a served twin run of this size instead (e.g. 500x8); results to "
        "instructions-twin.{json,md}",
    )
    parser.add_argument("--results-dir", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.commands <= SHORT:
        parser.error(f"--commands must be above {SHORT}")
    if args.twin is not None and not re.fullmatch(r"\d+x\d+", args.twin.lower()):
        parser.error("--twin takes CUSTOMERSxDAYS, e.g. 500x8")
    result = run(args.base, args.commands, args.concurrency, args.twin)
    command = " ".join(["python -m bench.instructions", *(sys.argv[1:] if argv is None else argv)])
    name = "instructions-twin" if args.twin else "instructions"
    write_results(args.results_dir, name, result, render(result, command))
    return 0


if __name__ == "__main__":
    raise SystemExit(load.main_of(main))
