"""`contract-test`'s arguments: the options, their types, and the exit codes; a usage
error raises `UsageError`, which `contract_tests.cli.main` prints in one line (exit 2).
"""

from __future__ import annotations

import argparse
import importlib.metadata
from collections.abc import Sequence
from typing import Any, NoReturn

from contract_tests import report
from contract_tests.results import INCOMPLETE
from turingcore_client.argtypes import seconds, whole_number

PROG = "contract-test"
DISTRIBUTION = "turingcore-kit"
EXIT_OK = 0
EXIT_NONCONFORMANCE = 1
EXIT_USAGE = 2
EXIT_INCOMPLETE = 3
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


def parse_scoped_keys(items: Sequence[str]) -> dict[str, str]:
    """TENANT=KEY items -> {tenant: key}."""
    scoped = {}
    for item in items:
        tenant, sep, key = item.partition("=")
        if not sep or not tenant.strip() or not key.strip():
            raise UsageError(f"--scoped-key takes TENANT=KEY, got {item!r}")
        scoped[tenant.strip()] = key.strip()
    return scoped


class ArgumentParser(argparse.ArgumentParser):
    """argparse whose usage errors raise UsageError: `main` prints them in one line on
    stderr (and as a JSON document with --format json) and exits 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"error: {one_line(message)} (see {self.prog} --help)")


def wants_json(argv: Sequence[str]) -> bool:
    pairs = zip(argv, [*argv[1:], ""], strict=True)
    return "--format=json" in argv or any(a == "--format" and b == "json" for a, b in pairs)


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
        type=whole_number(0, "a seed"),
        default=default_seed,
        help=f"seed (default {default_seed})",
    )
    parser.add_argument(
        "--timeout",
        type=seconds(),
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
    _report_options(parser)


def _report_options(parser: argparse.ArgumentParser) -> None:
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
        type=whole_number(1, "examples per operation and mode"),
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
    for option, what in (
        ("--ledger-examples", "state machine runs"),
        ("--ledger-steps", "steps per run"),
    ):
        run.add_argument(
            option,
            type=whole_number(1, what),
            default=None,
            help=f"ledger suite: {what} (default: the suite's)",
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
    commands = parser.add_subparsers(dest="command", metavar="{run,diff,proxy,replay}")
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
        "--customers", type=whole_number(1, "customers"), default=20, help="customers (default 20)"
    )
    diff.add_argument(
        "--days",
        type=whole_number(1, "simulated days"),
        default=5,
        help="simulated days (default 5)",
    )
    diff.add_argument("--left-app", default=None, help=argparse.SUPPRESS)
    diff.add_argument("--right-app", default=None, help=argparse.SUPPRESS)
    _common(diff, 42)
    _proxy_and_replay(commands)
    return parser


def _proxy_and_replay(commands: Any) -> None:
    """`contract-test proxy` and `contract-test replay` (docs/proxy.md)."""
    proxy = commands.add_parser(
        "proxy",
        help="pass traffic to a service and judge every exchange",
        description="Sit in front of a TuringCore v1 service, pass every request and reply "
        "through unchanged, and check each against the contract and the ledger rules. "
        "Findings are printed as they happen; SIGINT or SIGTERM writes the reports.",
        epilog="Exit codes: 0 no finding; 1 a finding; 2 usage error. See docs/proxy.md.",
    )
    proxy.add_argument(
        "--upstream", required=True, help="root URL of the service (its API under /v1)"
    )
    proxy.add_argument(
        "--listen", default="127.0.0.1:8081", help="HOST:PORT to listen on (default 127.0.0.1:8081)"
    )
    proxy.add_argument(
        "--record", default=None, metavar="FILE", help="write one JSON line per exchange"
    )
    proxy.add_argument("--spec", default=None, help="another copy of the contract (YAML or JSON)")
    _report_options(proxy)
    proxy.set_defaults(format="text")

    replay = commands.add_parser(
        "replay",
        help="send a recording's commands to a service and compare",
        description="Send the commands of a `proxy --record` file to --base-url and compare "
        "the replies and the tenants' final state with the recording's, or with --reference "
        "(replayed twice first, to learn which fields differ by nature: ids, timestamps).",
        epilog="Exit codes: 0 no difference; 1 differences; 2 usage error. See docs/proxy.md.",
    )
    replay.add_argument("file", help="a recording (contract-test proxy --record FILE)")
    replay.add_argument("--base-url", required=True, help="root URL of the service to replay on")
    replay.add_argument(
        "--api-key", default=None, help="its platform key (default TURINGCORE_API_KEY)"
    )
    replay.add_argument("--reference", default=None, help="root URL of a reference service")
    replay.add_argument("--reference-key", default=None, help="the reference's platform key")
    _report_options(replay)
    replay.add_argument("--format", choices=("text", "json"), default="text", help="as for a run")
