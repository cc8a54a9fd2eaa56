"""Running the checks: the background work first, read-only checks next, results in the
contract's order; and the state digest of the inspected tenant."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from turingcore_client.client import TuringCoreClient
from turingcore_client.errors import ApiError
from twin.digest import state_digest
from twin.invariants.inspection import DEFAULT_PROBE_TENANT, Inspection
from twin.invariants.registry import CHECKS, DISPLAY_ORDER, RUN_ORDER
from twin.invariants.results import CheckResult
from twin.invariants.run_log import RunLog


def run_checks(ctx: Inspection, names: Iterable[str] | None = None) -> list[CheckResult]:
    """Run the checks (all five by default), read-only ones first; results in
    the contract's order. The background work starts first (`Inspection.begin`);
    a check's `seconds` is the time it ran, including the waits for its part of
    that work, and the one pass over the tenant stream counts for the first check
    that needs it."""
    wanted = set(names) if names is not None else set(CHECKS)
    results: dict[str, CheckResult] = {}
    collecting = gc.isenabled()
    gc.disable()  # millions of small acyclic objects: collections would only rescan them
    try:
        ctx.begin(wanted)
        for name in RUN_ORDER:
            if name not in wanted:
                continue
            result = CheckResult(name)
            started = time.perf_counter()
            try:
                CHECKS[name](ctx, result)
            except ApiError as exc:
                result.fail(f"unexpected reply: {exc}")
            result.seconds = time.perf_counter() - started
            results[name] = result
    finally:
        ctx.close()
        if collecting:
            gc.enable()
    return [results[name] for name in DISPLAY_ORDER if name in results]


def inspect_tenant(
    client: TuringCoreClient,
    tenant_id: str,
    *,
    run_log: Path | Sequence[Mapping[str, Any]] | None = None,
    isolation_key: str | None = None,
    probe_tenant: str = DEFAULT_PROBE_TENANT,
    idempotency_sample: int = 200,
    concurrency: int = 4,
    names: Iterable[str] | None = None,
) -> tuple[list[CheckResult], Inspection]:
    """Check the five invariants of `tenant_id`; return the results and the context."""
    iso = client.with_api_key(isolation_key) if isolation_key else None
    ctx = Inspection(
        client,
        tenant_id,
        run_log=RunLog(run_log) if run_log is not None else None,
        isolation_client=iso,
        probe_tenant=probe_tenant,
        idempotency_sample=idempotency_sample,
        concurrency=concurrency,
    )
    try:
        return run_checks(ctx, names), ctx
    finally:
        if iso is not None:
            iso.close()


def digest_of(ctx: Inspection) -> tuple[str, int]:
    """The state digest of the inspected tenant (plan refs from the run log when given)."""
    refs = ctx.run_log.account_refs() if ctx.run_log is not None else {}
    return state_digest(ctx.accounts(), refs)
