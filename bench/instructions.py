"""PostEntry's CPU cost in instructions, this tree against another commit: noise-free.

    python -m bench.instructions [--base REV] [--commands 1000] [--concurrency 1]

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

The base is checked out with `git worktree` into a temporary directory, with its own
spec and scenario files on the path. Results: bench/results/instructions.md and .json.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.measure import write_results

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


def _shim(tree: Path, into: Path) -> Path:
    """A directory that puts `tree`'s spec and scenarios on the path under the installed
    packages' names (an editable install maps them to the main checkout)."""
    into.mkdir(parents=True, exist_ok=True)
    (into / "turingcore_contract").symlink_to(tree / "openapi")
    (into / "turingcore_scenarios").symlink_to(tree / "config")
    return into


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


def _revision(tree: Path) -> str:
    found = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=tree, capture_output=True, text=True
    )
    return found.stdout.strip()


def run(base: str, commands: int, concurrency: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-instructions-") as tmp:
        work = Path(tmp)
        base_tree = work / "base-tree"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(base_tree), base],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        try:
            figures: dict[str, dict[str, Any]] = {}
            for label, tree in (("base", base_tree), ("this tree", ROOT)):
                (work / label).mkdir()
                shim = _shim(tree, work / label / "shim")
                figures[label] = {
                    "revision": _revision(tree),
                    "instructions_per_command": per_command(
                        tree, shim, commands, concurrency, work / label
                    ),
                }
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(base_tree)],
                cwd=ROOT,
                capture_output=True,
            )
    ratio = (
        figures["this tree"]["instructions_per_command"]
        / figures["base"]["instructions_per_command"]
    )
    return {
        "generated_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "commands": commands,
        "concurrency": concurrency,
        "trees": figures,
        "ratio_this_to_base": round(ratio, 4),
    }


def render(result: dict[str, Any], command: str) -> str:
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__)
    parser.add_argument("--base", default="5e2ec3e", help="the commit to compare with")
    parser.add_argument("--commands", type=int, default=1200)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--results-dir", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.commands <= SHORT:
        parser.error(f"--commands must be above {SHORT}")
    result = run(args.base, args.commands, args.concurrency)
    command = " ".join(["python -m bench.instructions", *(sys.argv[1:] if argv is None else argv)])
    write_results(args.results_dir, "instructions", result, render(result, command))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
