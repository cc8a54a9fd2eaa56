"""Ledger properties: random command sequences through the API against a reference model.

    run_ledger_suite(target) -> SuiteResult, one CheckRow per invariant code and per
    behaviour (accepted:<CommandType>, idempotent_replay, concurrency, balances, ...).

A Hypothesis `RuleBasedStateMachine` keeps bundles of tenants, products, customers
and accounts, and drives valid and invalid commands of all five types through the
command gateway: unbalanced entries, mixed currencies, other tenants' accounts,
overdrafts, maximum balances, facility limits, duplicate emails, mobiles and
external refs, under-age customers, inactive products, idempotent replays with new
commandIds and timestamps, key reuse with another payload, concurrent entries on
the same accounts, and reads across tenants. `contract_tests.model` (written from
docs/contract.md) predicts every reply; after every step the service must agree with
it on the reply, every balance and the events themselves.

The published contract is judged by default. The checks of our extensions run only
where the target offers them (`contract_tests.extensions`) and count in extension
rows: the tenant's event sequence and hash chain (recomputed here from the tenant
stream with the kit's RFC 8785 encoder, `turingcore_client.canonical`), `result` and
`eventIds` in a 202, the `Idempotent-Replayed` header, and the invariants only an
extension can reach (a leg's own currency, a facilityLimit asked for, an inactive
product). Without the tenant stream the events are read from each account's own
stream (published).

The machine's rules, its checks and its fixed sequence live in the `ledger_*` modules
(docs/contract-tests.md, "Where things are"); this one binds them to a run.

The suite creates its own tenants (`CT_<seed>_<random hex>_<n>`) with the platform
key, so it runs against any deployment and never needs the admin endpoints. The
first disagreement stops the machine; Hypothesis shrinks it (for a bounded time) and
the row of the check that failed gets the minimal example and a curl command.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from hypothesis import HealthCheck, Phase, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.errors import HypothesisException
from hypothesis.reporting import with_reporter
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test

from contract_tests.extensions import Extensions, detect_extensions
from contract_tests.laws import LAW_ROW_EXTENSIONS, LAW_ROWS
from contract_tests.ledger_commands import (
    COMMAND_TYPES,
    TEMPLATES,
    concurrent_commands_default,
    order_free,
    shrink_seconds_default,
)
from contract_tests.ledger_replies import event_hash
from contract_tests.ledger_rules_setup import product_rule
from contract_tests.ledger_sequence import ScriptedSequence
from contract_tests.ledger_wire import Checks, Unreachable, Violation, Wire
from contract_tests.results import SuiteResult
from contract_tests.target import Target
from turingcore_client.contract import invariant_codes

__all__ = ["ROWS", "ROW_EXTENSIONS", "Wire", "build_machine", "event_hash", "order_free"]
__all__ += ["run_ledger_suite"]

SUITE = "ledger"
# Every row of the report, in a stable order; a row with no runs was not exercised.
ROWS: tuple[str, ...] = (
    *(f"accepted:{name}" for name in COMMAND_TYPES),
    *invariant_codes(),
    "VALIDATION_ERROR",
    "TENANT_MISMATCH",
    "NOT_FOUND",
    "idempotent_replay",
    "concurrency",
    "concurrent_replay",
    "tenant_isolation",
    "balances",
    "events",
    "command_result",
    "event_ids",
    "replay_header",
    "sequence",
    "hash_chain",
    *LAW_ROWS,
)
# The rows that check an extension: row -> the extensions it needs (the first names it).
ROW_EXTENSIONS: dict[str, tuple[str, ...]] = {
    "LEGS_MUST_SHARE_CURRENCY": ("leg_currency",),
    "FACILITY_LIMIT_NOT_ALLOWED": ("facility_limit",),
    "FACILITY_LIMIT_OUT_OF_RANGE": ("facility_limit",),
    "PRODUCT_MUST_BE_ACTIVE": ("product_active",),
    "command_result": ("command_result",),
    "event_ids": ("event_ids",),
    "replay_header": ("replay_header",),
    "sequence": ("sequence", "tenant_stream", "tenant_read"),
    "hash_chain": ("hash_chain", "tenant_stream"),
    **LAW_ROW_EXTENSIONS,
}


def build_machine(
    target: Target,
    wire: Wire,
    checks: Checks,
    run_id: str,
    concurrency: int,
    offers: Extensions | None = None,
) -> type[RuleBasedStateMachine]:
    """The machine class, bound to one target, what it offers and one run's recorder."""
    ext = offers or Extensions.everything()
    templates = [t for t in TEMPLATES if TEMPLATES[t][2] or ext["product_active"]]
    bound = {
        "target": target,
        "wire": wire,
        "checks": checks,
        "ext": ext,
        "run_id": run_id,
        "concurrency": concurrency,
        "serial": iter(range(1, 10**9)),
        "templates": templates,
        "upsert_product": product_rule(templates),
    }
    return type("LedgerMachine", (ScriptedSequence,), bound)


@contextmanager
def shrink_budget(seconds: float) -> Iterator[None]:
    """Bound Hypothesis's shrinking time (its documented, monkeypatchable constant)."""
    from hypothesis.internal.conjecture import engine

    before = engine.MAX_SHRINKING_SECONDS
    engine.MAX_SHRINKING_SECONDS = seconds  # type: ignore[assignment]
    try:
        yield
    finally:
        engine.MAX_SHRINKING_SECONDS = before


def _violation_in(exc: BaseException) -> Violation | None:
    if isinstance(exc, Violation):
        return exc
    for inner in getattr(exc, "exceptions", ()) or ():
        found = _violation_in(inner)
        if found is not None:
            return found
    cause = exc.__cause__ or exc.__context__
    return _violation_in(cause) if cause is not None else None


def run_ledger_suite(
    target: Target,
    *,
    seed: int = 1,
    max_examples: int = 30,
    steps: int = 30,
    shrink: bool = True,
    shrink_seconds: float = shrink_seconds_default,
    concurrency: int = concurrent_commands_default,
    extensions: Extensions | None = None,
) -> SuiteResult:
    """Run the ledger properties against `target`: the Hypothesis exploration, then the
    scripted sequence that exercises every row once whatever the seed.

    `extensions`: what the target offers beyond the published contract (default: found
    out from the target, see contract_tests.extensions); the rows of extensions it does
    not offer do not run. Returns one CheckRow per invariant code and per behaviour. The
    first disagreement
    with the reference model stops the run; it is shrunk for at most `shrink_seconds`
    (not at all with shrink=False) and recorded in its row with the minimal example's
    steps and a curl command of the request that showed it. Same seed, same commands.
    `result.error` is set when the target could not be reached.
    """
    started = time.perf_counter()
    result = SuiteResult(SUITE)
    for name in ROWS:
        result.row(name)
    try:
        ext = extensions or detect_extensions(target)
    except httpx.HTTPError as exc:
        result.error = f"the target {target.describe()} could not be reached: {exc}"
        return result
    result.extensions = ext.describe()
    for name, needs in ROW_EXTENSIONS.items():
        result.mark_extension(name, needs[0], ext.has(*needs))
    checks = Checks(result)
    run_id = f"{seed % 10**6}_{secrets.token_hex(4).upper()}"
    stage = "exploration"
    try:
        with target.client() as client:
            machine = build_machine(target, Wire(client, target), checks, run_id, concurrency, ext)
            scripted = machine
            machine = hypothesis_seed(seed)(machine)
            phases = [Phase.explicit, Phase.generate] + ([Phase.shrink] if shrink else [])
            config = settings(
                max_examples=max_examples,
                stateful_step_count=steps,
                deadline=None,
                database=None,
                phases=phases,
                report_multiple_bugs=False,
                suppress_health_check=list(HealthCheck),
                print_blob=False,
            )
            stage = "laws"
            laws: Any = scripted()  # a fresh machine, outside Hypothesis
            laws.laws()
            stage = "exploration"
            with with_reporter(lambda _: None), shrink_budget(shrink_seconds):
                run_state_machine_as_test(machine, settings=config)
            stage = "scripted"
            sequence: Any = scripted()  # a fresh machine, outside Hypothesis
            sequence.scripted()
    except KeyboardInterrupt:
        # Ctrl-C, SIGTERM or the CLI's --timeout: what ran is kept, the suite is incomplete.
        result.interrupted = "interrupted"
    except Unreachable as exc:
        result.error = f"the target {target.describe()} could not be reached: {exc}"
    except Exception as exc:  # everything lands in the report
        found = _violation_in(exc)
        if found is None:
            unreachable = next(
                (e for e in getattr(exc, "exceptions", ()) if isinstance(e, Unreachable)), None
            )
            if unreachable is not None:
                result.error = f"the target {target.describe()} could not be reached: {unreachable}"
            elif isinstance(exc, HypothesisException):
                result.error = f"Hypothesis stopped the ledger suite: {exc}"
            else:
                result.error = f"the ledger suite crashed: {exc!r}"
        else:
            row = result.row(found.row)
            if row.failed == 0:
                row.runs += 1
                row.failed += 1
            trail = ", ".join(found.trail)
            example = "minimal example" if shrink else "example"
            if stage == "scripted":
                example = "scripted sequence"
            elif stage == "laws":
                example = "scripted laws"
            row.first_failure = (
                f"{found.message} ({example}, seed {seed}: {len(found.trail)} steps: {trail})"
            )
            row.reproduce = found.reproduce
    result.duration_s = time.perf_counter() - started
    return result
