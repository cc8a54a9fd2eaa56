"""`contract-test`: run the contract suites against the mock or any TuringCore v1 service.

    contract-test [run] [--base-url URL] [--api-key KEY] [--scoped-key TENANT=KEY ...]
                  [--seed N] [--max-examples N] [--suite schema|ledger|all]
                  [--timeout SECONDS] [--format text|json]
                  [--report-dir DIR] [--junit FILE]
    contract-test diff --left URL --right URL [--left-key K] [--right-key K]
                  [--seed N] [--customers N] [--days D] [--timeout SECONDS] [--format ...]
    contract-test --version

Exit codes (docs/contract-tests.md):
    0  CONFORMS: every suite ran to its end, nothing failed, every row that should run did
    1  DOES NOT CONFORM: a row failed
    2  usage error, or the target is unreachable, refused the key, is not a TuringCore
       service, or a suite could not run at all (COULD NOT RUN)
    3  INCOMPLETE: interrupted (Ctrl-C, SIGTERM), timed out (--timeout), or a row that
       should have run was not exercised

Every error is one line on stderr. With `--format json` stdout holds one JSON document
(the verdict and every row) and the human output goes to stderr.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

import httpx
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from contract_tests import report
from contract_tests.results import (
    CONFORMS,
    COULD_NOT_RUN,
    DOES_NOT_CONFORM,
    INCOMPLETE,
    NOT_EXERCISED,
    NOT_OFFERED,
    SuiteResult,
    judge,
)
from contract_tests.target import DEFAULT_PLATFORM_KEY, Target, in_process_target

PROG = "contract-test"
DISTRIBUTION = "turingcore-kit"
EXIT_OK = 0
EXIT_NONCONFORMANCE = 1
EXIT_USAGE = 2
EXIT_INCOMPLETE = 3
PROBE_TENANT = "CONTRACT_PROBE_NO_SUCH_TENANT"
PROBE_PATH = f"/v1/tenants/{PROBE_TENANT}"
SUITES = ("schema", "ledger")
PHASES = ("examples", "coverage", "fuzzing")
# Set CONTRACT_TEST_TRACEBACK=1 to see the traceback of an unexpected error.
TRACEBACK_ENV = "CONTRACT_TEST_TRACEBACK"


class UsageError(Exception):
    """Bad arguments, an unreachable target, or not a TuringCore service: exit 2."""


def version() -> str:
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"


def one_line(text: object) -> str:
    return " ".join(str(text).split())


# --- targets -----------------------------------------------------------------------------


def parse_scoped_keys(items: Sequence[str]) -> dict[str, str]:
    """TENANT=KEY items -> {tenant: key}."""
    scoped = {}
    for item in items:
        tenant, sep, key = item.partition("=")
        if not sep or not tenant.strip() or not key.strip():
            raise UsageError(f"--scoped-key takes TENANT=KEY, got {item!r}")
        scoped[tenant.strip()] = key.strip()
    return scoped


def check_url(url: str, option: str) -> str:
    """The URL if it is an absolute http(s) URL with a host, else a UsageError."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise UsageError(f"{option} {url!r} is not a URL: {one_line(exc)}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise UsageError(
            f"{option} {url!r} is not an http(s) URL with a host "
            "(e.g. http://127.0.0.1:8080, the root of the service)"
        )
    return url


def app_target(spec: str, api_key: str | None, scoped: dict[str, str]) -> Target:
    """A Target around an ASGI app named `module:attr` (or `module:factory()`)."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise UsageError(f"--target-app takes module:attr, got {spec!r}")
    call = attr.endswith("()")
    try:
        app: Any = getattr(importlib.import_module(module_name), attr.removesuffix("()"))
    except (ImportError, AttributeError) as exc:
        raise UsageError(f"cannot load the app {spec}: {one_line(exc)}") from None
    if call:
        app = app()
    return Target("http://testserver", api_key or DEFAULT_PLATFORM_KEY, scoped, app, f"app {spec}")


def url_target(
    url: str, api_key: str | None, scoped: dict[str, str] | None = None, option: str = "--base-url"
) -> Target:
    check_url(url, option)
    key = api_key or os.environ.get("TURINGCORE_API_KEY") or DEFAULT_PLATFORM_KEY
    return Target(url.rstrip("/").removesuffix("/v1"), key, dict(scoped or {}))


def _error_body(reply: httpx.Response) -> dict[str, Any] | None:
    """The reply's body when it has TuringCore's Error shape {error, message, details}."""
    try:
        body = reply.json()
    except ValueError:
        return None
    if (
        isinstance(body, dict)
        and isinstance(body.get("error"), str)
        and isinstance(body.get("message"), str)
        and "details" in body
    ):
        return body
    return None


def _seen(reply: httpx.Response) -> str:
    """'404 text/html "<!DOCTYPE HTML ..."': what a reply was, in a few words."""
    kind = reply.headers.get("content-type", "no content type").split(";")[0].strip()
    text = one_line(reply.text)
    text = text if len(text) <= 60 else text[:57] + "..."
    return f"{reply.status_code} {kind} {text!r}" if text else f"{reply.status_code} {kind}, empty"


def probe(target: Target) -> str | None:
    """Why the suites cannot run against the target, or None when it answers as a
    TuringCore API does: a request without a key gets an Error body {error, message,
    details} (a 401), and one with the platform key a 404 NOT_FOUND for a tenant that
    does not exist."""
    where = target.describe()
    try:
        with target.client(timeout=10.0) as client:
            request = client.build_request("GET", PROBE_PATH)
            request.headers.pop("Authorization", None)
            anonymous = client.send(request)
            keyed = client.get(PROBE_PATH)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        return f"cannot reach {where}: {exc.__class__.__name__}: {one_line(exc) or 'no detail'}"
    if _error_body(anonymous) is None:
        return (
            f"{where} is not a TuringCore service (GET {PROBE_PATH} without a key answered "
            f"{_seen(anonymous)}; a TuringCore v1 service answers 401 with an Error body "
            "{error, message, details})"
        )
    status = keyed.status_code
    if status == 401:
        return f"{where} refused the API key (401); pass a platform key with --api-key"
    if status == 403:
        return (
            f"{where} answered 403: the API key is not a platform key (scope '*'); the "
            "suites create their own tenants and need one"
        )
    shaped = _error_body(keyed)
    if status == 404 and shaped is not None:
        return None
    if status == 200 and isinstance(_json(keyed), dict):
        return None  # a tenant of that name exists: still a TuringCore answer
    if shaped is not None:
        return (
            f"{where} answered {status} {shaped['error']} to GET {PROBE_PATH} with the "
            f"platform key, not 404 NOT_FOUND: {one_line(shaped['message'])[:120]}"
        )
    return (
        f"{where} is not a TuringCore service (GET {PROBE_PATH} with the key answered "
        f"{_seen(keyed)}; a TuringCore v1 service answers 404 with an Error body "
        "{error, message, details}; is the URL the root of the service, the API under /v1?)"
    )


def _json(reply: httpx.Response) -> Any:
    try:
        return reply.json()
    except ValueError:
        return None


# --- interruption and the time budget ----------------------------------------------------


class RunControl:
    """Turns Ctrl-C, SIGTERM and the --timeout budget into a KeyboardInterrupt in the main
    thread, and remembers which it was (`reason`), so the run ends INCOMPLETE (exit 3)
    with the reports written, never CONFORMS.

    The suites catch the KeyboardInterrupt (Schemathesis and Hypothesis stop on one
    without shrinking) and keep what ran; the CLI marks them interrupted with `reason`.
    """

    def __init__(self, timeout: float | None) -> None:
        self.timeout = timeout
        self.reason: str | None = None
        self.started = time.monotonic()
        self._saved: dict[int, Any] = {}
        self._armed = False

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        if self.reason is None:
            elapsed = time.monotonic() - self.started
            if signum == signal.SIGALRM:
                self.reason = f"timed out after {elapsed:.1f} s (--timeout {self.timeout:g})"
            else:
                self.reason = f"interrupted by {signal.Signals(signum).name} after {elapsed:.1f} s"
        raise KeyboardInterrupt(self.reason)

    def arm(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signals reach the main thread only (a test calling main() elsewhere)
        wanted = [signal.SIGINT, signal.SIGTERM]
        if self.timeout is not None:
            wanted.append(signal.SIGALRM)
        for signum in wanted:
            self._saved[signum] = signal.signal(signum, self._stop)
        if self.timeout is not None:
            signal.setitimer(signal.ITIMER_REAL, self.timeout)
        self._armed = True

    def disarm(self) -> None:
        if not self._armed:
            return
        if self.timeout is not None:
            signal.setitimer(signal.ITIMER_REAL, 0)
        for signum, handler in self._saved.items():
            signal.signal(signum, handler)
        self._saved.clear()
        self._armed = False

    def interrupted(self) -> str:
        """Why the run stopped (after a KeyboardInterrupt)."""
        if self.reason is None:
            self.reason = "interrupted"
        return self.reason

    @contextmanager
    def armed(self) -> Iterator[RunControl]:
        self.arm()
        try:
            yield self
        finally:
            self.disarm()


# --- suites ------------------------------------------------------------------------------


def _load(module: str, name: str) -> Callable[..., Any]:
    # Imported when used, so each suite works while the others are being built.
    run: Callable[..., Any] = getattr(importlib.import_module(f"contract_tests.{module}"), name)
    return run


def run_suites(
    args: argparse.Namespace, target: Target, console: Console, control: RunControl
) -> list[SuiteResult]:
    """Every suite asked for, in order; after an interruption the rest are marked as not
    run. Returns what ran."""
    wanted = SUITES if args.suite == "all" else (args.suite,)
    results: list[SuiteResult] = []
    try:
        from contract_tests.extensions import detect_extensions

        try:
            extensions = detect_extensions(target)
        except httpx.HTTPError as exc:
            raise UsageError(
                f"cannot find out what {target.describe()} offers: {one_line(exc)}"
            ) from None
        console.print(f"Judged: the published contract. Extensions {escape(extensions.describe())}")
        for suite in wanted:
            started = time.perf_counter()
            result = SuiteResult(suite)
            try:
                with console.status(
                    f"[bold]{suite}[/] suite against {escape(target.describe())} ..."
                ):
                    result = _run_one(suite, args, target, extensions)
            except KeyboardInterrupt:
                result.interrupted = "interrupted"  # escaped the suite: its rows are lost
            finally:
                result.duration_s = result.duration_s or time.perf_counter() - started
            if control.reason is not None or result.interrupted:
                result.interrupted = control.interrupted()
            result.extensions = result.extensions or extensions.describe()
            results.append(result)
            console.print(f"{suite} suite: {_summary(result)} in {result.duration_s:.1f} s")
            if result.interrupted:
                break
    except KeyboardInterrupt:
        control.interrupted()  # before or between suites
    if control.reason is not None:
        done = {result.suite for result in results}
        for suite in wanted:
            if suite not in done:
                results.append(SuiteResult(suite, interrupted=f"not run ({control.reason})"))
    return results


def _run_one(suite: str, args: argparse.Namespace, target: Target, extensions: Any) -> SuiteResult:
    try:
        if suite == "schema":
            run = _load("schema_suite", "run_schema_suite")
            result: SuiteResult = run(
                target,
                seed=args.seed,
                max_examples=args.max_examples,
                operations=args.operations,
                spec_from_target=args.spec_from_target,
                spec_path=Path(args.spec) if args.spec else None,
                phases=args.phases,
                extensions=extensions,
            )
            return result
        run = _load("ledger", "run_ledger_suite")
        kwargs: dict[str, Any] = {"seed": args.seed, "extensions": extensions}
        if args.ledger_examples is not None:
            kwargs["max_examples"] = args.ledger_examples
        if args.ledger_steps is not None:
            kwargs["steps"] = args.ledger_steps
        result = run(target, **kwargs)
        return result
    except (ImportError, AttributeError) as exc:
        return SuiteResult(suite, error=f"the {suite} suite is not available: {one_line(exc)}")


def _summary(result: SuiteResult) -> str:
    if result.error:
        return f"[red]could not run[/]: {escape(one_line(result.error))}"
    rows = [row for row in result.rows if row.offered]
    failed = sum(1 for row in rows if row.failed)
    missing = len(result.not_exercised)
    checks = sum(row.runs for row in rows)
    passing = sum(1 for row in rows if row.status == "passed")
    colour = "red" if failed else ("yellow" if missing or result.interrupted else "green")
    extension = sum(1 for row in rows if row.extension)
    absent = len(result.rows) - len(rows)
    state = (
        f"; [bold yellow]{INCOMPLETE}: {escape(result.interrupted)}[/]"
        if result.interrupted
        else ""
    )
    return (
        f"[{colour}]{passing}/{len(rows)} rows pass, {failed} fail, {missing} not exercised[/] "
        f"({checks} checks; {extension} of the rows check extensions the target offers; "
        f"{absent} extension rows not offered){state}"
    )


# --- output ------------------------------------------------------------------------------

_STATUS_SHOWN = {
    "passed": "pass",
    "failed": "[red]FAIL[/]",
    NOT_EXERCISED: "[yellow]not exercised[/]",
    NOT_OFFERED: "[dim]not offered[/]",
}


def print_table(console: Console, results: Sequence[SuiteResult]) -> None:
    table = Table(title="Conformance", show_lines=False, expand=False)
    for column, justify in (
        ("Suite", "left"),
        ("Name", "left"),
        ("Kind", "left"),
        ("Result", "left"),
        ("Run", "right"),
        ("Passed", "right"),
        ("Failed", "right"),
        ("First failure", "left"),
    ):
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for result in results:
        if result.error:
            table.add_row(
                result.suite, "[red]suite[/]", "", "could not run", "-", "-", "-",
                escape(one_line(result.error)),
            )  # fmt: skip
        if result.interrupted:
            table.add_row(
                result.suite, "[yellow]suite[/]", "", f"[yellow]{INCOMPLETE}[/]", "-", "-", "-",
                escape(result.interrupted),
            )  # fmt: skip
        for row in result.rows:
            failed = f"[red]{row.failed}[/]" if row.failed else "0"
            first = escape(_short(row.first_failure, 90)) if row.failed else ""
            name = escape(row.name) if row.runs else f"[dim]{escape(row.name)}[/]"
            kind = "" if row.extension is None else f"[cyan]{escape(row.kind)}[/]"
            status = _STATUS_SHOWN.get(row.status, row.status)
            table.add_row(
                row.suite, name, kind, status, str(row.runs), str(row.passed), failed, first
            )
    console.print(table)


def _short(text: str | None, limit: int) -> str:
    text = one_line(text or "")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def finish(
    console: Console, results: list[SuiteResult], args: argparse.Namespace, target: str
) -> int:
    """Print the table, write the reports, print the verdict; the exit code."""
    print_table(console, results)
    for result in results:
        for note in result.notes:
            console.print(escape(note))
    junit = Path(args.junit) if args.junit else None
    paths = report.write_reports(results, Path(args.report_dir), junit=junit, target=target)
    for name, path in paths.items():
        console.print(f"{name:>8}: {path}")
    judged = judge(results)
    counts = judged.counts(results)
    why = "; ".join(judged.reasons)
    if judged.word == CONFORMS:
        console.print(
            f"[bold green]{escape(target)} CONFORMS[/] to TuringCore v1 as published"
            f" (and to every extension of ours it offers); {counts}"
        )
    elif judged.word == DOES_NOT_CONFORM:
        also = f" (also {INCOMPLETE}: {escape(why)})" if why else ""
        console.print(
            f"[bold red]{escape(target)} DOES NOT CONFORM[/]: {len(judged.failed)} failing "
            f"rows; {counts}{also}"
        )
    elif judged.word == COULD_NOT_RUN:
        console.print(f"[bold red]{escape(target)}: {COULD_NOT_RUN}[/]: {escape(why)}; {counts}")
    else:
        console.print(
            f"[bold yellow]{escape(target)}: {INCOMPLETE}[/] (exit {EXIT_INCOMPLETE}, never "
            f"a pass): {escape(why)}; {counts}"
        )
    if args.format == "json":
        document = report.json_report(results, target, reports=paths, version=version())
        sys.stdout.write(report.json_text(document))
        sys.stdout.flush()
    return judged.exit_code


# --- commands ----------------------------------------------------------------------------


def prepare_reports(args: argparse.Namespace) -> None:
    """Make the report folder (and the JUnit file's) now, so a folder that cannot be
    made stops the run before it starts, in one line."""
    folders = [Path(args.report_dir)]
    if args.junit:
        folders.append(Path(args.junit).parent)
    for folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            probe_file = folder / f".contract-test-{os.getpid()}"
            probe_file.write_bytes(b"")
            probe_file.unlink()
        except OSError as exc:
            raise UsageError(
                f"cannot write reports to {folder}: {exc.strerror or one_line(exc)}"
            ) from None


def cmd_run(args: argparse.Namespace, console: Console) -> int:
    scoped = parse_scoped_keys(args.scoped_key or [])
    base_url = args.base_url or os.environ.get("TURINGCORE_BASE_URL")
    if args.spec and not Path(args.spec).is_file():
        raise UsageError(f"--spec {args.spec}: no such file")
    prepare_reports(args)
    if args.target_app:
        target = app_target(args.target_app, args.api_key, scoped)
    elif base_url:
        option = "--base-url" if args.base_url else "TURINGCORE_BASE_URL"
        target = url_target(base_url, args.api_key, scoped, option)
    else:
        target = in_process_target()
        target.scoped_keys.update(scoped)
    control = RunControl(args.timeout)
    with control.armed():
        try:
            problem = probe(target)
        except KeyboardInterrupt:
            problem = None
            control.interrupted()
        if problem:
            raise UsageError(problem)
        results: list[SuiteResult] = []
        if control.reason is None:
            console.print(f"Target: [bold]{escape(target.describe())}[/]  seed {args.seed}")
            results = run_suites(args, target, console, control)
        else:
            wanted = SUITES if args.suite == "all" else (args.suite,)
            results = [SuiteResult(s, interrupted=f"not run ({control.reason})") for s in wanted]
    return finish(console, results, args, target.describe())


def cmd_diff(args: argparse.Namespace, console: Console) -> int:
    prepare_reports(args)
    left = app_target(args.left_app, args.left_key, {}) if args.left_app else None
    right = app_target(args.right_app, args.right_key, {}) if args.right_app else None
    if left is None:
        if not args.left:
            raise UsageError("diff needs --left URL")
        left = url_target(args.left, args.left_key, option="--left")
    if right is None:
        if not args.right:
            raise UsageError("diff needs --right URL")
        right = url_target(args.right, args.right_key, option="--right")
    for side in (left, right):
        problem = probe(side)
        if problem:
            raise UsageError(problem)
    try:
        diff_targets = _load("diff", "diff_targets")
    except (ImportError, AttributeError) as exc:
        raise UsageError(f"the differential mode is not available: {one_line(exc)}") from None
    description = f"{left.describe()} vs {right.describe()}"
    console.print(f"Diff: [bold]{escape(description)}[/]  seed {args.seed}")
    started = time.perf_counter()
    control = RunControl(args.timeout)
    with control.armed():
        try:
            with console.status("sending one command stream to both ..."):
                found = diff_targets(
                    left, right, seed=args.seed, customers=args.customers, days=args.days
                )
            result = found.result
        except KeyboardInterrupt:
            result = SuiteResult("diff")
        if control.reason is not None:
            result.interrupted = control.interrupted()
            result.notes = [
                f"the diff stopped ({result.interrupted}): the two services were not fully compared"
            ]
    result.duration_s = result.duration_s or time.perf_counter() - started
    return finish(console, [result], args, description)


# --- arguments ---------------------------------------------------------------------------


class ArgumentParser(argparse.ArgumentParser):
    """argparse whose usage errors raise UsageError: `main` prints them in one line on
    stderr (and as a JSON document with --format json) and exits 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"error: {one_line(message)} (see {self.prog} --help)")


def _wants_json(argv: Sequence[str]) -> bool:
    pairs = zip(argv, [*argv[1:], ""], strict=True)
    return "--format=json" in argv or any(a == "--format" and b == "json" for a, b in pairs)


def _whole(low: int, what: str) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
        if number < low:
            raise argparse.ArgumentTypeError(f"must be {low} or more ({what}), got {number}")
        return number

    parse.__name__ = "number"
    return parse


def _seconds(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds") from None
    if not number > 0 or number == float("inf"):
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, got {value}")
    return number


def _phases(text: str) -> tuple[str, ...]:
    phases = tuple(p.strip() for p in text.split(",") if p.strip())
    unknown = sorted(set(phases) - set(PHASES))
    if unknown or not phases:
        raise argparse.ArgumentTypeError(
            f"unknown phases {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(PHASES)}"
        )
    return phases


def _operations(text: str) -> list[str]:
    operations = [op.strip() for op in text.split(",") if op.strip()]
    if not operations:
        raise argparse.ArgumentTypeError("name at least one operationId")
    return operations


def _common(parser: argparse.ArgumentParser, default_seed: int) -> None:
    parser.add_argument(
        "--seed",
        type=_whole(0, "a seed"),
        default=default_seed,
        help=f"seed (default {default_seed})",
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="a budget for the whole run: when it is spent the run stops and ends "
        f"{INCOMPLETE} (exit {EXIT_INCOMPLETE}), reports written (default: none)",
    )
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="json: one JSON document (verdict and rows) on stdout, the rest on stderr",
    )
    parser.add_argument(
        "--report-dir",
        default=str(report.DEFAULT_REPORT_DIR),
        help=f"where report.md, report.html and junit.xml go (default {report.DEFAULT_REPORT_DIR})",
    )
    parser.add_argument(
        "--junit", default=None, help="JUnit XML file (default REPORT_DIR/junit.xml)"
    )


def _run_options(run: argparse.ArgumentParser) -> None:
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
        type=_whole(1, "examples per operation and mode"),
        default=None,
        help="Schemathesis examples per operation and mode (default 50)",
    )
    run.add_argument(
        "--operations",
        type=_operations,
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
        type=_phases,
        default=PHASES,
        help="schema suite: Schemathesis phases (default examples,coverage,fuzzing)",
    )
    run.add_argument(
        "--ledger-examples",
        type=_whole(1, "state machine runs"),
        default=None,
        help="ledger suite: state machine runs (default: the suite's)",
    )
    run.add_argument(
        "--ledger-steps",
        type=_whole(1, "steps per run"),
        default=None,
        help="ledger suite: steps per run (default: the suite's)",
    )
    # Tests point the CLI at a wrapped (deliberately broken) app: module:attr or module:factory().
    run.add_argument("--target-app", default=None, help=argparse.SUPPRESS)
    _common(run, 1)


EXIT_CODES_HELP = (
    f"Exit codes: {EXIT_OK} conforms; {EXIT_NONCONFORMANCE} does not conform; {EXIT_USAGE} "
    "usage error, target unreachable, key refused, not a TuringCore service, or a suite "
    f"could not run; {EXIT_INCOMPLETE} incomplete (interrupted, timed out, or rows not "
    "exercised). See docs/contract-tests.md."
)


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog=PROG,
        description="Prove that a service implements TuringCore v1 (default: the mock, "
        "in-process). The options below run the suites (the same as `contract-test run`); "
        "`contract-test diff --help` compares two services.",
        epilog=EXIT_CODES_HELP,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {version()}")
    _run_options(parser)
    commands = parser.add_subparsers(dest="command", metavar="{run,diff}")
    run = commands.add_parser(
        "run",
        help="run the suites against one target (the default)",
        description="Run the schema and ledger suites against one target.",
        epilog=EXIT_CODES_HELP,
    )
    _run_options(run)

    diff = commands.add_parser(
        "diff",
        help="send one command stream to two services and compare",
        description="Send one seeded command stream to two services and compare every "
        "reply and the final projections.",
        epilog=EXIT_CODES_HELP,
    )
    diff.add_argument("--left", default=None, help="root URL of the first service")
    diff.add_argument("--right", default=None, help="root URL of the second service")
    diff.add_argument("--left-key", default=None, help="platform key of the first service")
    diff.add_argument("--right-key", default=None, help="platform key of the second service")
    diff.add_argument(
        "--customers", type=_whole(1, "customers"), default=20, help="customers (default 20)"
    )
    diff.add_argument(
        "--days", type=_whole(1, "simulated days"), default=5, help="simulated days (default 5)"
    )
    diff.add_argument("--left-app", default=None, help=argparse.SUPPRESS)
    diff.add_argument("--right-app", default=None, help=argparse.SUPPRESS)
    _common(diff, 42)
    return parser


def _fail(message: str, args: argparse.Namespace | None) -> int:
    """One line on stderr (and, with --format json, the same as a JSON document)."""
    line = f"{PROG}: {one_line(message)}"
    print(line, file=sys.stderr, flush=True)
    if args is not None and getattr(args, "format", "text") == "json":
        document = {
            "tool": PROG,
            "version": version(),
            "verdict": COULD_NOT_RUN,
            "exit_code": EXIT_USAGE,
            "error": one_line(message),
        }
        sys.stdout.write(report.json_text(document))
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(args_list)  # --help and --version exit 0 here
    except UsageError as exc:
        shown = argparse.Namespace(format="json" if _wants_json(args_list) else "text")
        return _fail(str(exc), shown)
    if args.command != "diff" and args.max_examples is None:
        from contract_tests.schema_suite import DEFAULT_MAX_EXAMPLES

        args.max_examples = DEFAULT_MAX_EXAMPLES
    # With --format json, stdout is the JSON document's alone.
    out = sys.stderr if args.format == "json" else sys.stdout
    # Wide enough for the failure column in CI logs, where there is no terminal to measure.
    console = Console(file=out, highlight=False, width=None if out.isatty() else 160)
    # The in-process target uses Starlette's TestClient, which warns about httpx on every run.
    warnings.filterwarnings("ignore", message=".*httpx2.*")
    try:
        if args.command == "diff":
            return cmd_diff(args, console)
        return cmd_run(args, console)
    except UsageError as exc:
        return _fail(str(exc), args)
    except KeyboardInterrupt:
        # A second Ctrl-C while the reports were being written.
        print(f"{PROG}: {INCOMPLETE}: interrupted", file=sys.stderr, flush=True)
        return EXIT_INCOMPLETE
    except Exception as exc:  # one line, never a traceback (unless asked for)
        if os.environ.get(TRACEBACK_ENV):
            raise
        return _fail(
            f"unexpected error: {exc.__class__.__name__}: {exc} "
            f"(set {TRACEBACK_ENV}=1 for the traceback)",
            args,
        )


if __name__ == "__main__":
    sys.exit(main())
