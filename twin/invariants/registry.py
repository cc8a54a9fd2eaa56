"""The checks, registered by name with `@check(name)`, and the two orders they go in."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from twin.invariants.inspection import Inspection
    from twin.invariants.results import CheckResult

CheckFn = Callable[["Inspection", "CheckResult"], None]
CHECKS: dict[str, CheckFn] = {}
# Display order is the contract's; run order puts the read-only checks first.
DISPLAY_ORDER = (
    "balance_derivability",
    "event_integrity",
    "tenant_isolation",
    "idempotency",
    "audit_completeness",
)
RUN_ORDER = (
    "event_integrity",
    "balance_derivability",
    "audit_completeness",
    "tenant_isolation",
    "idempotency",
)


def check(name: str) -> Callable[[CheckFn], CheckFn]:
    """Register an invariant check under `name`."""

    def register(fn: CheckFn) -> CheckFn:
        CHECKS[name] = fn
        return fn

    return register
