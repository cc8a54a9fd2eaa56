"""`twin`: drive a synthetic credit union through the TuringCore v1 API and check it.

Exit codes (every subcommand):
  0  everything passed
  1  an invariant failed, a command was rejected (or accepted) unexpectedly, or a probe
     failed (run --probe)
  2  usage or configuration error, or the service is unreachable or refuses the key
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, NoReturn

from rich.console import Console
from rich.table import Table
from rich.text import Text

from turingcore_client.argtypes import matching, seconds, whole_number
from turingcore_client.client import ENV_API_KEY, ENV_BASE_URL, TuringCoreClient
from turingcore_client.errors import ServiceUnreachableError
from turingcore_client.refs import RefTable
from turingcore_client.serving import MockStartError, start_mock, stop_mock
from twin.digest import state_digest
from twin.faults import fault_spec, faults_in_force
from twin.invariants import (
    DEFAULT_PROBE_TENANT,
    ENV_ISOLATION_KEY,
    ENV_ISOLATION_TENANT,
    FAIL,
    FETCH_CONNECTIONS,
    CheckResult,
    digest_of,
    inspect_tenant,
    render_results,
)
from twin.latency import LatencyHistogram
from twin.probe import probe_phase
from twin.runner import DEFAULT_CONCURRENCY, RunnerError, RunResult, ScenarioRunner
from twin.service import Failed, UsageError, admin, client_for, preflight, refuse_foreign_data

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DEMO_ISOLATION_KEY = "twin-isolation-key"
CONSOLE_STOP_S = 10.0
SNAPSHOT_NAME = matching(
    r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}", "a snapshot name (1 to 100 of A-Z a-z 0-9 _ . -)"
)
TENANT_CODE = matching(r"[A-Z0-9_]{2,32}", "a tenant code (A-Z, 0-9, _; 2 to 32)")
EXIT_CODES_HELP = """exit codes:
  0  everything passed
  1  an invariant failed, a command was rejected (or accepted) unexpectedly, or a probe
     failed (run --probe)
  2  usage or configuration error, or the service is unreachable or refuses the key

environment:
  TURINGCORE_BASE_URL            service root, e.g. http://127.0.0.1:8080 (the client adds /v1)
  TURINGCORE_API_KEY             API key (CreateTenant needs a platform key)
  TURINGCORE_ISOLATION_API_KEY   a key scoped only to the isolation probe tenant
  TURINGCORE_ISOLATION_TENANT    that tenant's code (default ISOLATION_PROBE_TWIN)
"""


def _version() -> str:
    try:
        return importlib.metadata.version("turingcore-kit")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error said in one line (and the help pointed at)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


# The isolation check's key (None: the check is skipped) and its probe tenant.
Isolation = tuple[str | None, str]


def _isolation(args: argparse.Namespace) -> Isolation:
    key = args.isolation_key or os.environ.get(ENV_ISOLATION_KEY) or None
    tenant = args.isolation_tenant or os.environ.get(ENV_ISOLATION_TENANT) or DEFAULT_PROBE_TENANT
    return key, tenant


def _inspect(
    client: TuringCoreClient,
    tenant_id: str,
    run_log: Path | None,
    isolation: Isolation,
    concurrency: int,
    **options: Any,
) -> tuple[list[CheckResult], Any]:
    """The five invariants of `tenant_id` (`twin.invariants.inspect_tenant`)."""
    key, probe = isolation
    return inspect_tenant(
        client,
        tenant_id,
        run_log=run_log,
        isolation_key=key,
        probe_tenant=probe,
        concurrency=concurrency,
        **options,
    )


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def _print_run(console: Console, run: RunResult) -> None:
    phases = Table(title=f"{run.scenario} on {run.tenant_id} (seed {run.seed})")
    for column in ("phase", "commands", "wall s", "commands/s"):
        phases.add_column(column, justify="right" if column != "phase" else "left")
    for name, stats in run.phases.items():
        row = stats.as_dict()
        phases.add_row(
            name, f"{row['commands']:,}", f"{row['wall_s']:.2f}", f"{row['commands_per_s']:,.0f}"
        )
    console.print(phases)
    outcomes = ", ".join(f"{k} {v:,}" for k, v in sorted(run.by_outcome.items()) if v)
    console.print(f"outcomes: {outcomes}")
    latency = Table(title="latency per command type (ms)")
    for column in ("command", "count", "p50", "p95", "p99", "max"):
        latency.add_column(column, justify="right" if column != "command" else "left")
    for name, row in run.latency.summary().items():
        latency.add_row(
            name,
            f"{int(row['count']):,}",
            f"{row['p50_ms']:.2f}",
            f"{row['p95_ms']:.2f}",
            f"{row['p99_ms']:.2f}",
            f"{row['max_ms']:.2f}",
        )
    console.print(latency)
    if run.unexpected_count:
        console.print(
            f"[bold red]{run.unexpected_count:,} unexpected outcome(s)[/] (a generator or "
            "service bug); the first:"
        )
        for item in run.unexpected[:5]:
            console.print(
                f"  {item['key']} {item['type']}: {item['outcome']} {item['status']} "
                f"{item['error']} {item['message'] or ''}"
            )


# -------------------------------------------------------------- subcommands


def _load_configs(args: argparse.Namespace) -> tuple[Any, Any]:
    """The scenario and tenant configuration of `args` (a usage error when invalid)."""
    from twin.config import ConfigError, load_scenario_and_tenant

    try:
        scenario, tenant = load_scenario_and_tenant(args.scenario, args.tenant_config)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    if getattr(args, "tenant_code", None):
        info = tenant.tenant.model_copy(update={"code": args.tenant_code})
        tenant = tenant.model_copy(update={"tenant": info})
        scenario = scenario.model_copy(update={"tenant": args.tenant_code})
    return scenario, tenant


def _load_plan(args: argparse.Namespace) -> Any:
    """The scenario's plan, streamed (`twin.generators.stream_scenario`): close it."""
    from twin.config import ConfigError
    from twin.generators import stream_scenario

    scenario, tenant = _load_configs(args)
    try:
        return stream_scenario(
            tenant, scenario, seed=args.seed, customers=args.customers, days=args.days
        )
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


def run_and_inspect(
    args: argparse.Namespace,
    client: TuringCoreClient,
    console: Console,
    isolation: Isolation,
) -> int:
    """Plan, run, inspect, write summary.json and commands.jsonl; return the exit code."""
    with _load_plan(args) as plan:
        return _run_and_inspect(args, client, console, isolation, plan)


def _run_and_inspect(
    args: argparse.Namespace,
    client: TuringCoreClient,
    console: Console,
    isolation: Isolation,
    plan: Any,
) -> int:
    if preflight(client, plan.tenant_code, must_exist=False):
        refuse_foreign_data(client, plan)
    snapshot = getattr(args, "publish_snapshot", None)
    if snapshot is not None:  # before the run: a target without snapshots fails at once
        admin(client, "GET /_mock/snapshots", client.admin_list_snapshots)
    output = Path(args.output)
    log_path = output / "commands.jsonl"
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    runner = ScenarioRunner(
        client,
        plan,
        concurrency=args.concurrency,
        log_path=log_path,
        console=Console(stderr=True, quiet=args.quiet),
        show_progress=(not args.quiet) and sys.stderr.isatty(),
    )
    results: list[CheckResult] = []
    inspect_wall = 0.0
    # A fault profile (--faults) is in force from before the first command to the end of
    # the checks: the client's retries are what it cost (twin/faults.py).
    with faults_in_force(client, plan.tenant_code, getattr(args, "faults", None)) as faults:
        before = client.policy.counts.snapshot()
        try:
            run = runner.run()
        except RunnerError as exc:
            raise UsageError(str(exc)) from None
        except ServiceUnreachableError as exc:
            raise UsageError(f"service unreachable during the run: {exc}") from None
        after_run = client.policy.counts.snapshot()
        _print_run(console, run)
        if args.no_inspect:
            digest, unmapped = state_digest(
                client.iter_ledger_accounts(plan.tenant_code), run.refs.by_server_id()
            )
        else:
            # The digest reads the plan refs from the run log: the run's own table of them
            # (358,000 customers and accounts at 100,000 members) goes first.
            del runner
            run.refs = RefTable()
            inspect_started = time.perf_counter()
            results, ctx = _inspect(client, plan.tenant_code, log_path, isolation, args.concurrency)
            inspect_wall = time.perf_counter() - inspect_started
            digest, unmapped = digest_of(ctx)
            render_results(results, console)
        if faults is not None:
            faults.retries_run = _minus(after_run, before)
            faults.retries_checks = _minus(client.policy.counts.snapshot(), after_run)
            faults.commands_retried = run.commands_retried
    summary = run.as_dict()
    if faults is not None:
        summary["faults"] = faults.as_dict()
        for line in faults.lines():
            console.print(line)
    if not args.no_inspect:
        summary["phases"]["inspect"] = {"wall_s": round(inspect_wall, 3)}
    summary.update(
        started_at=started_at,
        base_url=client.base_url,
        state_digest=digest,
        state_digest_unmapped_accounts=unmapped,
        invariants=[r.as_dict() for r in results],
    )
    failed = [r.name for r in results if r.status == FAIL]
    ok = not failed and run.unexpected_count == 0
    if getattr(args, "probe", False):  # after the digest: the probes never move it
        scenario, tenant = _load_configs(args)
        probes = probe_phase(client, console, plan, log_path, tenant, scenario)
        summary["probe"] = [p.as_dict() for p in probes]
        probes_ok = all(p.status != FAIL for p in probes)
        ok = ok and probes_ok
    summary["ok"] = ok
    if snapshot is not None and ok:
        route = f"POST /_mock/snapshots/{snapshot}?tenant={plan.tenant_code}"
        saved = admin(
            client, route, partial(client.admin_save_snapshot, snapshot, plan.tenant_code)
        )
        summary["snapshot"] = saved.body
    _write_json(output / "summary.json", summary)
    console.print(
        f"{run.total:,} commands in {run.wall_s:.1f} s ({run.commands_per_s:,.0f} commands/s)"
        f" at concurrency {run.concurrency}"
    )
    console.print(f"state digest: [bold]{digest}[/]")
    console.print(f"outputs: {output / 'summary.json'}, {log_path}")
    if failed:
        console.print(f"[bold red]invariants failed: {', '.join(failed)}[/]")
    if run.unexpected_count:
        console.print(f"[bold red]unexpected outcomes: {run.unexpected_count:,}[/]")
    if snapshot is not None:
        published = f"published as snapshot {snapshot}" if ok else "not published: the run failed"
        console.print(f"tenant {plan.tenant_code} {published}")
    if ok:
        console.print("[bold green]OK[/]")
    return EXIT_OK if ok else EXIT_FAILED


def _minus(now: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    """Counts by reason since `before` (the reasons that grew)."""
    return {k: v - before.get(k, 0) for k, v in now.items() if v > before.get(k, 0)}


def cmd_run(args: argparse.Namespace, console: Console) -> int:
    with client_for(args) as client:
        return run_and_inspect(args, client, console, _isolation(args))


def cmd_inspect(args: argparse.Namespace, console: Console) -> int:
    run_log = Path(args.run_log) if args.run_log else None
    if run_log is not None and not run_log.is_file():
        raise UsageError(f"--run-log {run_log}: no such file")
    with client_for(args) as client:
        preflight(client, args.tenant, must_exist=True)
        isolation = _isolation(args)
        results, ctx = _inspect(
            client,
            args.tenant,
            run_log,
            isolation,
            args.concurrency,
            idempotency_sample=args.sample,
        )
        digest, unmapped = digest_of(ctx)
    render_results(results, console)
    keyed = "plan refs" if run_log and not unmapped else f"server ids for {unmapped} account(s)"
    console.print(f"state digest: [bold]{digest}[/] (keyed by {keyed})")
    if args.json:
        _write_json(
            Path(args.json),
            {
                "tenant": args.tenant,
                "state_digest": digest,
                "invariants": [r.as_dict() for r in results],
            },
        )
    failed = [r.name for r in results if r.status == FAIL]
    if failed:
        console.print(f"[bold red]invariants failed: {', '.join(failed)}[/]")
        return EXIT_FAILED
    console.print("[bold green]OK[/]")
    return EXIT_OK


def cmd_reset(args: argparse.Namespace, console: Console) -> int:
    with client_for(args) as client:
        preflight(client, args.tenant, must_exist=True)
        route = f"POST /_mock/tenants/{args.tenant}/reset"
        reply = admin(client, route, partial(client.admin_reset_tenant, args.tenant))
    console.print(f"tenant {args.tenant} reset ({reply.status})")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace, console: Console) -> int:
    platform_key = "dev-platform-key"
    probe_tenant = DEFAULT_PROBE_TENANT
    api_keys = f"{platform_key}=*;{DEMO_ISOLATION_KEY}={probe_tenant}"
    with tempfile.TemporaryDirectory(prefix="twin-demo-") as tmp:
        workdir = Path(tmp)
        database = workdir / "mock-core.db"
        server_log = workdir / "mock-core.log"
        console.print(f"starting the mock on a temporary SQLite file ({database})")
        args_mock = ["--database-url", f"sqlite:///{database}", "--api-keys", api_keys]
        with server_log.open("w+b") as log:
            try:
                process, base_url = start_mock([*args_mock, "--no-access-log"], log=log)
            except MockStartError as exc:
                raise UsageError(str(exc)) from None
        try:
            console.print(f"mock up at {base_url}/v1")
            client = TuringCoreClient(
                base_url, platform_key, timeout=args.timeout, stats=LatencyHistogram()
            )
            with client:
                isolation = (DEMO_ISOLATION_KEY, probe_tenant)
                code = run_and_inspect(args, client, console, isolation)
            if args.console is None:
                console.print(
                    "to look at the run in the console: make demo CONSOLE=8090 (or twin demo "
                    "--console 8090): the mock keeps serving and turingcore-console runs "
                    "beside it until Ctrl-C"
                )
            else:
                _serve_console(base_url, platform_key, args.console, workdir, console)
            return code
        finally:
            stop_mock(process)
            console.print("mock stopped")


def _serve_console(base_url: str, api_key: str, port: int, workdir: Path, console: Console) -> None:
    """`turingcore-console` against the demo's mock until Ctrl-C (a process of its own:
    the console is a client of the API like the twin, not a part of it)."""
    argv = [sys.executable, "-m", "console.cli", "--base-url", base_url, "--api-key", api_key]
    argv += ["--port", str(port)]
    with (workdir / "console.log").open("wb") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    console.print(f"console on http://127.0.0.1:{port}/ (its log: {workdir / 'console.log'})")
    console.print("press Ctrl-C to stop the console and the mock")

    def interrupt(signum: int, frame: Any) -> NoReturn:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)  # a TERM stops both, as Ctrl-C does
    try:
        process.wait()
        console.print(f"the console stopped (exit code {process.returncode})")
    except KeyboardInterrupt:
        console.print("stopping")
    finally:
        signal.signal(signal.SIGTERM, previous)
        if process.poll() is None:
            process.terminate()
            process.wait(CONSOLE_STOP_S)


# ------------------------------------------------------------------- parser


def _add_options(parser: argparse.ArgumentParser, title: str, options: dict[str, str]) -> Any:
    """A group `title` of options that default to None (their defaults are read later,
    from the environment), each with its help; returns the group."""
    group = parser.add_argument_group(title)
    for option, help_text in options.items():
        group.add_argument(option, default=None, help=help_text)
    return group


def _add_service(parser: argparse.ArgumentParser) -> None:
    service = {
        "--base-url": f"service root, e.g. http://127.0.0.1:8080 (default ${ENV_BASE_URL}, "
        "else http://127.0.0.1:8080); /v1 is added",
        "--api-key": f"API key (default ${ENV_API_KEY}, else the mock's dev-platform-key)",
    }
    group = _add_options(parser, "service", service)
    group.add_argument("--timeout", type=seconds(3600), default=10.0, help="seconds per request")


def _add_isolation(parser: argparse.ArgumentParser) -> None:
    isolation = {
        "--isolation-key": f"a key scoped only to the probe tenant (default ${ENV_ISOLATION_KEY}); "
        "without it the isolation check is skipped",
        "--isolation-tenant": f"the probe tenant's code (default ${ENV_ISOLATION_TENANT}, else "
        f"{DEFAULT_PROBE_TENANT}); created with --api-key when missing",
    }
    _add_options(parser, "tenant isolation check", isolation)


def _add_scenario(parser: argparse.ArgumentParser, *, default: str | None) -> None:
    if default is None:
        parser.add_argument("scenario", help="scenario name (e.g. steady-state) or YAML path")
    else:
        parser.add_argument("--scenario", default=default, help=f"scenario (default {default})")
    parser.add_argument("--tenant-config", default=None, help="tenant YAML (default: by code)")
    parser.add_argument(
        "--tenant-code",
        type=TENANT_CODE,
        default=None,
        help="run on this tenant instead of the configuration's (e.g. CU_DIGITAL_2)",
    )
    parser.add_argument(
        "--customers", type=whole_number(1), default=None, help="override customer count"
    )
    parser.add_argument(
        "--days", type=whole_number(1), default=None, help="override the number of days"
    )
    parser.add_argument("--seed", type=int, default=42, help="generator seed (default 42)")
    parser.add_argument(
        "--concurrency",
        type=whole_number(1),
        default=DEFAULT_CONCURRENCY,
        help="commands in flight, each on its own keep-alive connection, one lane (customer) "
        f"each at a time (default {DEFAULT_CONCURRENCY}); the inspection keeps up to "
        f"{FETCH_CONNECTIONS} of its reads in flight",
    )
    parser.add_argument("--output", default="output", help="output folder (default output/)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument(
        "--no-inspect", action="store_true", help="skip the invariants after the run"
    )


def _command(
    sub: Any, name: str, func: Callable[[argparse.Namespace, Console], int], **text: str
) -> argparse.ArgumentParser:
    """The subcommand `name` (its `help` and `description` in `text`), run by `func`."""
    formatter = argparse.RawDescriptionHelpFormatter
    parser: argparse.ArgumentParser = sub.add_parser(
        name, epilog=EXIT_CODES_HELP, formatter_class=formatter, **text
    )
    parser.set_defaults(func=func)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="twin",
        description="The digital twin: a seeded synthetic credit union driven through the "
        "TuringCore v1 API, then checked against the contract's five invariants.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"twin {_version()}")
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Parser
    )

    demo = _command(
        sub,
        "demo",
        cmd_demo,
        help="start the mock, run steady-state, inspect, stop",
        description="Start the mock (python -m mock_core serve) on a temporary SQLite file on "
        "a free 127.0.0.1 port, with an isolation key; run the scenario (steady-state: 500 "
        "customers, 30 days); check the five invariants; stop the mock. Writes "
        "summary.json and commands.jsonl to --output.",
    )
    _add_scenario(demo, default="steady-state")
    demo.add_argument("--timeout", type=seconds(3600), default=10.0, help="seconds per request")
    demo.add_argument(
        "--console",
        type=whole_number(1),
        default=None,
        metavar="PORT",
        help="after the checks, keep the mock serving and run turingcore-console against it "
        "on 127.0.0.1:PORT until Ctrl-C (docs/console.md)",
    )

    run = _command(
        sub,
        "run",
        cmd_run,
        help="run a scenario against a service, then inspect",
        description="Run SCENARIO's phases (bootstrap: tenant and products; seed: customers "
        "and accounts; simulate: day by day) against --base-url, then check the five "
        "invariants. Every command has a deterministic idempotency key: running the same "
        "scenario and seed again creates nothing and shows replays only. Writes "
        "summary.json (counts, timings, latency percentiles, state digest, invariants) and "
        "commands.jsonl (one line per command) to --output.",
    )
    _add_scenario(run, default=None)
    _add_service(run)
    _add_isolation(run)
    run.add_argument(
        "--publish-snapshot",
        type=SNAPSHOT_NAME,
        default=None,
        metavar="NAME",
        help="when the run and its checks pass, save the tenant as the mock's named snapshot "
        "NAME (POST /_mock/snapshots/NAME?tenant=T, with --api-key as the platform key); "
        "a target without that admin endpoint is refused before the run (exit code 2)",
    )

    run.add_argument(
        "--probe",
        action="store_true",
        help="after the run and its checks, send a short fixed set of requests at the "
        "contract's edges (malformed and out-of-bounds entries, paged reads, the tenant id's "
        "case, X-Correlation-Id, idempotency across tenants on <TENANT>_PROBE) and check "
        "each reply (docs/twin.md); summary.json `probe`; exit 1 if one fails",
    )
    run.add_argument(
        "--faults",
        type=fault_spec,
        default=None,
        metavar="PROFILE[:SEED]",
        help="run under the mock's fault profile NAME[:SEED][,PARAM=VALUE...] for the "
        "tenant (PUT /_mock/faults/TENANT with --api-key as the platform key, before the "
        "first command; DELETE after the checks), and report the retries it took; a "
        "target without that admin endpoint is refused before the run (exit code 2). "
        "Profiles: drop-reply, error-after-commit, refuse, latency, outage, slow-reader "
        "(docs/faults.md)",
    )

    inspect = _command(
        sub,
        "inspect",
        cmd_inspect,
        help="check the five invariants of a tenant",
        description="Check TENANT through the API only, over every account: balance "
        "derivability, event integrity (hash chain), tenant isolation (needs "
        "--isolation-key), idempotency (needs --run-log: it replays recorded commands and "
        "compares their replies) and audit completeness (commands vs events needs "
        "--run-log; the stream-only part always runs).",
    )
    inspect.add_argument("tenant", help="tenant id, e.g. CU_DIGITAL")
    inspect.add_argument("--run-log", default=None, help="commands.jsonl of the run to check")
    inspect.add_argument(
        "--sample", type=whole_number(50), default=200, help="commands to replay (min 50)"
    )
    inspect.add_argument(
        "--concurrency",
        type=whole_number(1),
        default=DEFAULT_CONCURRENCY,
        help=f"reads in flight at once, at most {FETCH_CONNECTIONS} (stream pages, account "
        f"streams, isolation probes; default {DEFAULT_CONCURRENCY}, so {FETCH_CONNECTIONS})",
    )
    inspect.add_argument("--json", default=None, help="also write the results to this file")
    _add_service(inspect)
    _add_isolation(inspect)

    reset = _command(
        sub,
        "reset",
        cmd_reset,
        help="delete a tenant's data (the mock's admin endpoint)",
        description="POST /_mock/tenants/TENANT/reset with the platform key. Only the mock "
        "has it; against a service without it the twin refuses (exit code 2).",
    )
    reset.add_argument("tenant", help="tenant id, e.g. CU_DIGITAL")
    _add_service(reset)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `twin` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    console = Console()
    if not console.is_terminal:
        console = Console(width=max(console.width, 140))  # logs and CI: keep tables readable
    try:
        code: int = args.func(args, console)
        return code
    except (UsageError, Failed) as exc:
        console.print(Text("twin: ", style="bold red") + Text(str(exc)), soft_wrap=True)
        return EXIT_USAGE if isinstance(exc, UsageError) else EXIT_FAILED
    except ServiceUnreachableError as exc:
        console.print(
            Text("twin: service unreachable: ", style="bold red") + Text(str(exc)), soft_wrap=True
        )
        return EXIT_USAGE
    except KeyboardInterrupt:
        console.print("[bold red]interrupted[/]")
        return 130
