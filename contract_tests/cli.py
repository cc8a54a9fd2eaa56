"""`contract-test`: run the contract suites against the mock or any TuringCore v1 service.

    contract-test [run] [--base-url URL] [--api-key KEY] [--scoped-key TENANT=KEY ...]
                  [--seed N] [--max-examples N] [--suite schema|ledger|all]
                  [--timeout SECONDS] [--format text|json]
                  [--report-dir DIR] [--junit FILE]
    contract-test diff --left URL --right URL [--left-key K] [--right-key K]
                  [--seed N] [--customers N] [--days D] [--timeout SECONDS] [--format ...]
    contract-test proxy --upstream URL [--listen HOST:PORT] [--record FILE] [--report-dir DIR]
    contract-test replay FILE --base-url URL [--reference URL] [--api-key K]
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
from typing import Any

import httpx
from rich.console import Console
from rich.markup import escape

from contract_tests import report
from contract_tests.cli_args import (
    EXIT_INCOMPLETE,
    EXIT_NONCONFORMANCE,
    EXIT_OK,
    EXIT_USAGE,
    PHASES,
    PROG,
    SUITES,
    TRACEBACK_ENV,
    UsageError,
    build_parser,
    one_line,
    parse_scoped_keys,
    version,
    wants_json,
)
from contract_tests.cli_output import finish, suite_summary
from contract_tests.results import (
    COULD_NOT_RUN,
    INCOMPLETE,
    SuiteResult,
)
from contract_tests.target import DEFAULT_PLATFORM_KEY, Target, in_process_target

__all__ = ["EXIT_INCOMPLETE", "EXIT_NONCONFORMANCE", "EXIT_OK", "EXIT_USAGE", "PHASES"]
__all__ += ["build_parser", "main", "parse_scoped_keys"]

PROBE_TENANT = "CONTRACT_PROBE_NO_SUCH_TENANT"
PROBE_PATH = f"/v1/tenants/{PROBE_TENANT}"


# --- targets -----------------------------------------------------------------------------


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
            console.print(f"{suite} suite: {suite_summary(result)} in {result.duration_s:.1f} s")
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


def cmd_proxy_or_replay(args: argparse.Namespace, console: Console) -> int:
    """`contract-test proxy` (contract_tests/proxy.py), `contract-test replay` (replay.py)."""
    prepare_reports(args)
    if args.command == "proxy":
        if args.spec and not Path(args.spec).is_file():
            raise UsageError(f"--spec {args.spec}: no such file")
        check_url(args.upstream, "--upstream")
        try:
            _load("proxy", "parse_listen")(args.listen)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        return int(_load("proxy", "cmd_proxy")(args))
    check_url(args.base_url, "--base-url")
    if args.reference:
        check_url(args.reference, "--reference")
    if not Path(args.file).is_file():
        raise UsageError(f"{args.file}: no such recording")
    try:
        replay = _load("replay", "cmd_replay")
    except (ImportError, AttributeError) as exc:
        raise UsageError(f"replay is not available: {one_line(exc)}") from None
    return int(replay(args, console))


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
        shown = argparse.Namespace(format="json" if wants_json(args_list) else "text")
        return _fail(str(exc), shown)
    if args.command in (None, "run") and args.max_examples is None:
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
        if args.command in ("proxy", "replay"):
            return cmd_proxy_or_replay(args, console)
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
