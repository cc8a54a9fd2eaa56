"""The benchmark harness's entry point: `make bench`, or `python -m bench.run [options]`.

`--help` says what each part measures (the docstring of `bench.options`). The harness
lives beside this module: `options` (the parts and the command line), `measure` (one
wrk run, medians, the interleaved load section, the result files), `command_load`
(floor, SQLite and PostgreSQL under wrk), `twin_parts` (the twin end to end, queries
on a twin-seeded store), `machine` (what it ran on), `report` (summary.md),
`tenant_setup` (the tenant over HTTP) and `load` (wrk, the servers, their CPU and RSS,
PostgreSQL databases, percentiles). Results: <results-dir>/<part>.json, run.json and
summary.md.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from bench import load
from bench.command_load import run_postgres, run_sqlite
from bench.load import BenchError
from bench.machine import machine_info
from bench.measure import Context
from bench.options import (
    COMMAND_LABELS,
    COMMAND_PARTS,
    EXTRA_PARTS,
    PARTS,
    QUERY_SCRIPTS,
    SCRIPT_OF,
    build_parser,
    resolve,
)
from bench.report import render_summary
from bench.twin_parts import run_queries, run_twin

# The options' names stay importable from here (tests/test_bench_smoke.py reads them).
__all__ = [
    "COMMAND_LABELS",
    "COMMAND_PARTS",
    "EXTRA_PARTS",
    "PARTS",
    "QUERY_SCRIPTS",
    "SCRIPT_OF",
    "build_parser",
    "main",
    "resolve",
]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    load.MOCK_CACHES = args.mock_caches
    try:
        resolve(args)
        wrk = load.ensure_wrk(install=not args.no_install)
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    results_dir = Path(args.results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    machine = machine_info(wrk)
    print(
        f"bench: parts {', '.join(args.parts)}; {args.runs} run(s) x {args.duration} s; "
        f"connections {args.connections}; work dir {workdir}; results {results_dir}",
        flush=True,
    )
    floor = None
    failed = False
    try:
        floor = load.start_floor(workdir / "floor.log")
        ctx = Context(args, wrk, workdir, results_dir, floor, machine)
        steps: list[tuple[str, Callable[[Context], None]]] = [("sqlite", run_sqlite)]
        if "postgres" in args.parts:
            steps.append(("postgres", run_postgres))
        if "twin" in args.parts:
            steps.append(("twin", run_twin))
        if "queries" in args.parts:
            steps.append(("queries", run_queries))
        for name, step in steps:
            try:
                step(ctx)
            except BenchError as exc:
                failed = True
                ctx.problems.append(f"{name} failed: {str(exc).splitlines()[0]}")
                ctx.say(f"{name}: FAILED: {exc}")
        machine["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
        machine["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        summary = render_summary(ctx)
        (results_dir / "summary.md").write_text(summary)
        (results_dir / "run.json").write_text(
            json.dumps(
                {
                    "argv": sys.argv[1:],
                    "parts": args.parts,
                    "machine": machine,
                    "problems": ctx.problems,
                },
                indent=2,
            )
            + "\n"
        )
        print()
        print(summary)
        print(f"bench: wrote {results_dir}/summary.md and {len(ctx.results)} JSON file(s)")
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
    finally:
        if floor is not None:
            load.stop_server(floor)
        if args.keep:
            print(f"bench: work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed or ctx.problems else 0


if __name__ == "__main__":
    raise SystemExit(load.main_of(main))
