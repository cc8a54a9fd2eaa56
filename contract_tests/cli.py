"""`contract-test`: run the contract suites against the mock or any TuringCore v1 service.

    contract-test [run] [--base-url URL] [--api-key KEY] [--scoped-key TENANT=KEY ...]
                  [--seed N] [--max-examples N] [--suite schema|ledger|all]
                  [--report-dir DIR] [--junit FILE]
    contract-test diff --left URL --right URL [--left-key K] [--right-key K]
                  [--seed N] [--customers N] [--days D]

Exit codes: 0 the target conforms; 1 non-conformance found; 2 usage error, or the
target (or a suite) could not be reached or run at all.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from contract_tests import report
from contract_tests.results import SuiteResult
from contract_tests.target import DEFAULT_PLATFORM_KEY, Target, in_process_target, resolve_target

EXIT_OK = 0
EXIT_NONCONFORMANCE = 1
EXIT_USAGE = 2
PROBE_TENANT = "CONTRACT_PROBE_NO_SUCH_TENANT"
SUITES = ("schema", "ledger")


class UsageError(Exception):
    """Bad arguments or an unreachable target: exit 2."""


# --- targets -----------------------------------------------------------------------------


def parse_scoped_keys(items: Sequence[str]) -> dict[str, str]:
    """TENANT=KEY items -> {tenant: key}."""
    scoped = {}
    for item in items:
        tenant, sep, key = item.partition("=")
        if not sep or not tenant or not key:
            raise UsageError(f"--scoped-key takes TENANT=KEY, got {item!r}")
        scoped[tenant.strip()] = key.strip()
    return scoped


def app_target(spec: str, api_key: str | None, scoped: dict[str, str]) -> Target:
    """A Target around an ASGI app named `module:attr` (or `module:factory()`)."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise UsageError(f"--target-app takes module:attr, got {spec!r}")
    call = attr.endswith("()")
    try:
        app: Any = getattr(importlib.import_module(module_name), attr.removesuffix("()"))
    except (ImportError, AttributeError) as exc:
        raise UsageError(f"cannot load the app {spec}: {exc}") from None
    if call:
        app = app()
    return Target("http://testserver", api_key or DEFAULT_PLATFORM_KEY, scoped, app, f"app {spec}")


def url_target(url: str, api_key: str | None, scoped: dict[str, str] | None = None) -> Target:
    key = api_key or os.environ.get("TURINGCORE_API_KEY") or DEFAULT_PLATFORM_KEY
    return Target(url.rstrip("/").removesuffix("/v1"), key, dict(scoped or {}))


def probe(target: Target) -> str | None:
    """Why the suites cannot run against the target, or None when it answers as a
    TuringCore API should to a platform key (a 404 for a tenant that does not exist)."""
    where = target.describe()
    try:
        with target.client(timeout=10.0) as client:
            reply = client.get(f"/v1/tenants/{PROBE_TENANT}")
    except httpx.HTTPError as exc:
        return f"cannot reach {where}: {exc.__class__.__name__}: {exc}"
    status = reply.status_code
    if status == 401:
        return f"{where} refused the API key (401); pass a platform key with --api-key"
    if status == 403:
        return (
            f"{where} answered 403: the API key is not a platform key (scope '*'); the "
            "suites create their own tenants and need one"
        )
    if status not in (200, 404):
        return (
            f"{where} answered {status} to GET /v1/tenants/{PROBE_TENANT}; "
            "is this the root of a TuringCore v1 service (the API under /v1)?"
        )
    return None


# --- suites ------------------------------------------------------------------------------


def _load(module: str, name: str) -> Callable[..., SuiteResult]:
    # Imported when used, so each suite works while the others are being built.
    run: Callable[..., SuiteResult] = getattr(
        importlib.import_module(f"contract_tests.{module}"), name
    )
    return run


def run_suites(args: argparse.Namespace, target: Target, console: Console) -> list[SuiteResult]:
    wanted = SUITES if args.suite == "all" else (args.suite,)
    results = []
    from contract_tests.extensions import detect_extensions

    try:
        extensions = detect_extensions(target)
    except httpx.HTTPError as exc:
        raise UsageError(f"cannot find out what {target.describe()} offers: {exc}") from None
    console.print(f"Judged: the published contract. Extensions {extensions.describe()}")
    for suite in wanted:
        started = time.perf_counter()
        with console.status(f"[bold]{suite}[/] suite against {target.describe()} ..."):
            try:
                if suite == "schema":
                    run = _load("schema_suite", "run_schema_suite")
                    result = run(
                        target,
                        seed=args.seed,
                        max_examples=args.max_examples,
                        operations=args.operations,
                        spec_from_target=args.spec_from_target,
                        spec_path=Path(args.spec) if args.spec else None,
                        phases=args.phases,
                        extensions=extensions,
                    )
                else:
                    run = _load("ledger", "run_ledger_suite")
                    kwargs: dict[str, Any] = {"seed": args.seed, "extensions": extensions}
                    if args.ledger_examples is not None:
                        kwargs["max_examples"] = args.ledger_examples
                    if args.ledger_steps is not None:
                        kwargs["steps"] = args.ledger_steps
                    result = run(target, **kwargs)
            except (ImportError, AttributeError) as exc:
                result = SuiteResult(suite, error=f"the {suite} suite is not available: {exc}")
        result.duration_s = result.duration_s or time.perf_counter() - started
        result.extensions = result.extensions or extensions.describe()
        console.print(f"{suite} suite: {_summary(result)} in {result.duration_s:.1f} s")
        results.append(result)
    return results


def _summary(result: SuiteResult) -> str:
    if result.error:
        return f"[red]could not run[/]: {result.error}"
    rows = [row for row in result.rows if row.offered]
    failed = sum(1 for row in rows if row.failed)
    checks = sum(row.runs for row in rows)
    colour = "green" if failed == 0 else "red"
    passing = len(rows) - failed
    extension = sum(1 for row in rows if row.extension)
    absent = len(result.rows) - len(rows)
    return (
        f"[{colour}]{passing}/{len(rows)} rows pass[/] ({checks} checks; {extension} of the "
        f"rows check extensions the target offers; {absent} extension rows not offered)"
    )


# --- output ------------------------------------------------------------------------------


def print_table(console: Console, results: Sequence[SuiteResult]) -> None:
    table = Table(title="Conformance", show_lines=False, expand=False)
    for column, justify in (
        ("Suite", "left"),
        ("Name", "left"),
        ("Kind", "left"),
        ("Run", "right"),
        ("Passed", "right"),
        ("Failed", "right"),
        ("First failure", "left"),
    ):
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for result in results:
        if result.error:
            table.add_row(result.suite, "[red]suite[/]", "", "-", "-", "-", result.error)
        for row in result.rows:
            failed = f"[red]{row.failed}[/]" if row.failed else "0"
            first = _short(row.first_failure, 90) if row.failed else ""
            name = row.name if row.runs else f"[dim]{row.name}[/]"
            kind = "" if row.extension is None else f"[cyan]{row.kind}[/]"
            table.add_row(row.suite, name, kind, str(row.runs), str(row.passed), failed, first)
    console.print(table)


def _short(text: str | None, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def finish(
    console: Console, results: list[SuiteResult], args: argparse.Namespace, target: str
) -> int:
    print_table(console, results)
    junit = Path(args.junit) if args.junit else None
    paths = report.write_reports(results, Path(args.report_dir), junit=junit, target=target)
    for name, path in paths.items():
        console.print(f"{name:>8}: {path}")
    verdict = report.verdict(results)
    if any(result.error for result in results):
        console.print(f"[bold red]{verdict}[/]: a suite could not run (exit {EXIT_USAGE})")
        return EXIT_USAGE
    if verdict == "CONFORMS":
        console.print(
            f"[bold green]{target} CONFORMS[/] to TuringCore v1 as published"
            " (and to every extension of ours it offers)"
        )
        return EXIT_OK
    failing = sum(1 for result in results for row in result.rows if row.failed)
    console.print(f"[bold red]{target} DOES NOT CONFORM[/]: {failing} failing rows")
    return EXIT_NONCONFORMANCE


# --- commands ----------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace, console: Console) -> int:
    scoped = parse_scoped_keys(args.scoped_key or [])
    if args.target_app:
        target = app_target(args.target_app, args.api_key, scoped)
    elif args.base_url or os.environ.get("TURINGCORE_BASE_URL"):
        target = resolve_target(args.base_url, args.api_key, scoped)
    else:
        target = in_process_target()
        target.scoped_keys.update(scoped)
    problem = probe(target)
    if problem:
        raise UsageError(problem)
    console.print(f"Target: [bold]{target.describe()}[/]  seed {args.seed}")
    results = run_suites(args, target, console)
    return finish(console, results, args, target.describe())


def cmd_diff(args: argparse.Namespace, console: Console) -> int:
    left = app_target(args.left_app, args.left_key, {}) if args.left_app else None
    right = app_target(args.right_app, args.right_key, {}) if args.right_app else None
    if left is None:
        if not args.left:
            raise UsageError("diff needs --left URL")
        left = url_target(args.left, args.left_key)
    if right is None:
        if not args.right:
            raise UsageError("diff needs --right URL")
        right = url_target(args.right, args.right_key)
    for side in (left, right):
        problem = probe(side)
        if problem:
            raise UsageError(problem)
    try:
        run_diff = _load("diff", "run_diff")
    except (ImportError, AttributeError) as exc:
        raise UsageError(f"the differential mode is not available: {exc}") from None
    description = f"{left.describe()} vs {right.describe()}"
    console.print(f"Diff: [bold]{description}[/]  seed {args.seed}")
    started = time.perf_counter()
    with console.status("sending one command stream to both ..."):
        result = run_diff(left, right, seed=args.seed, customers=args.customers, days=args.days)
    result.duration_s = result.duration_s or time.perf_counter() - started
    return finish(console, [result], args, description)


# --- arguments ---------------------------------------------------------------------------


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return number


def _common(parser: argparse.ArgumentParser, default_seed: int) -> None:
    parser.add_argument(
        "--seed", type=int, default=default_seed, help=f"seed (default {default_seed})"
    )
    parser.add_argument(
        "--report-dir",
        default=str(report.DEFAULT_REPORT_DIR),
        help=f"where report.md, report.html and junit.xml go (default {report.DEFAULT_REPORT_DIR})",
    )
    parser.add_argument(
        "--junit", default=None, help="JUnit XML file (default REPORT_DIR/junit.xml)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="contract-test",
        description="Prove that a service implements TuringCore v1 "
        "(default: the mock, in-process).",
        epilog="Exit codes: 0 conforms, 1 non-conformance found, "
        "2 usage error or target unreachable.",
    )
    commands = parser.add_subparsers(dest="command")

    run = commands.add_parser("run", help="run the suites against one target (the default)")
    run.add_argument(
        "--base-url",
        default=None,
        help="root of the service (the API is under /v1); default TURINGCORE_BASE_URL, "
        "else the mock in-process",
    )
    run.add_argument("--api-key", default=None, help="a platform key (default TURINGCORE_API_KEY)")
    run.add_argument(
        "--scoped-key",
        action="append",
        metavar="TENANT=KEY",
        help="a key scoped to one tenant, for the isolation checks (repeatable)",
    )
    run.add_argument(
        "--suite", choices=("schema", "ledger", "all"), default="all", help="default all"
    )
    run.add_argument(
        "--max-examples",
        type=_positive,
        default=None,
        help="Schemathesis examples per operation and mode (default 50)",
    )
    run.add_argument(
        "--operations",
        type=lambda text: [op.strip() for op in text.split(",") if op.strip()],
        default=None,
        help="schema suite: only these operationIds (comma-separated)",
    )
    run.add_argument(
        "--spec-from-target",
        action="store_true",
        help="schema suite: test against the spec the target serves at /v1/openapi.json",
    )
    run.add_argument(
        "--spec", default=None, help="schema suite: another copy of the contract (YAML or JSON)"
    )
    run.add_argument(
        "--phases",
        type=lambda text: tuple(p.strip() for p in text.split(",") if p.strip()),
        default=("examples", "coverage", "fuzzing"),
        help="schema suite: Schemathesis phases (default examples,coverage,fuzzing)",
    )
    run.add_argument(
        "--ledger-examples",
        type=_positive,
        default=None,
        help="ledger suite: state machine runs (default: the suite's)",
    )
    run.add_argument(
        "--ledger-steps",
        type=_positive,
        default=None,
        help="ledger suite: steps per run (default: the suite's)",
    )
    # Tests point the CLI at a wrapped (deliberately broken) app: module:attr or module:factory().
    run.add_argument("--target-app", default=None, help=argparse.SUPPRESS)
    _common(run, 1)

    diff = commands.add_parser("diff", help="send one command stream to two services and compare")
    diff.add_argument("--left", default=None, help="root URL of the first service")
    diff.add_argument("--right", default=None, help="root URL of the second service")
    diff.add_argument("--left-key", default=None, help="platform key of the first service")
    diff.add_argument("--right-key", default=None, help="platform key of the second service")
    diff.add_argument("--customers", type=_positive, default=20, help="customers (default 20)")
    diff.add_argument("--days", type=_positive, default=5, help="simulated days (default 5)")
    diff.add_argument("--left-app", default=None, help=argparse.SUPPRESS)
    diff.add_argument("--right-app", default=None, help=argparse.SUPPRESS)
    _common(diff, 42)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list or args_list[0] not in {"run", "diff", "-h", "--help"}:
        args_list.insert(0, "run")
    parser = build_parser()
    args = parser.parse_args(args_list)  # exits 2 on a usage error
    if args.command == "run" and args.max_examples is None:
        from contract_tests.schema_suite import DEFAULT_MAX_EXAMPLES

        args.max_examples = DEFAULT_MAX_EXAMPLES
    # Wide enough for the failure column in CI logs, where there is no terminal to measure.
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    # The in-process target uses Starlette's TestClient, which warns about httpx on every run.
    warnings.filterwarnings("ignore", message=".*httpx2.*")
    try:
        if args.command == "diff":
            return cmd_diff(args, console)
        return cmd_run(args, console)
    except UsageError as exc:
        console.print(f"[bold red]contract-test: {exc}[/]")
        return EXIT_USAGE
    except KeyboardInterrupt:
        console.print("[red]interrupted[/]")
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
