"""The five invariants of the contract, checked through the public API only.

Each check is a small named function registered with `@check(name)`; it gets
an `Inspection` (the client, the tenant, lazily fetched snapshots of the
accounts and the customers, one pass over the tenant's stream, and the run log
when there is one) and returns a `CheckResult`: PASS, FAIL or SKIP, what it
counted, and the first failures in full.

  balance_derivability  every account's balance is the fold of its postings
  event_integrity       the tenant's hash chain recomputes, sequences 1..N
  tenant_isolation      a key scoped to another tenant sees and touches nothing
  idempotency           replays with new commandIds: same reply, nothing written
  audit_completeness    every accepted command has its events, every balance
                        change its posting, and the tenant's balances sum to zero

Read-only checks run first; isolation and idempotency send commands (which
must all be refused or replayed) and compare the tenant's lastSequence.

How it stays fast (a 10,000-member month is 2.4 M events in the tenant stream,
~3 M more in the account streams, and ~60,000 isolation probes):

- The tenant stream is read in ONE pass (`read_stream`), a page at a time, never
  held whole: it checks the chain and the postings as it goes and keeps only
  which events belong to each account and to each command, as 64-bit keys and
  fingerprints (`compact`: a few bytes an event, not its id). The hash is
  recomputed through twin.digest's exact fast JCS.
- Every other request (the next stream pages, each account's event pages, the
  isolation probes) goes through a `Fetcher` that keeps several in flight on
  keep-alive connections while the main thread checks what came back: the
  service works on one core while the twin works on the other. Account pages
  are folded as they arrive, the probes answered as they come.
- Amounts are summed as integer cents where that is exact (`_cents`), and the
  cyclic garbage collector is paused during the checks (millions of small,
  acyclic objects it would only rescan).
"""

from twin.invariants import audit, derivability, idempotency, isolation, stream
from twin.invariants.checking import digest_of, inspect_tenant, run_checks
from twin.invariants.inspection import (
    DEFAULT_PROBE_TENANT,
    ENV_ISOLATION_KEY,
    ENV_ISOLATION_TENANT,
    FETCH_CONNECTIONS,
    Inspection,
)
from twin.invariants.registry import CHECKS, DISPLAY_ORDER, RUN_ORDER, check
from twin.invariants.results import FAIL, PASS, SKIP, CheckResult, outcome_counter, render_results
from twin.invariants.run_log import RunLog

__all__ = [
    "CHECKS",
    "DEFAULT_PROBE_TENANT",
    "DISPLAY_ORDER",
    "ENV_ISOLATION_KEY",
    "ENV_ISOLATION_TENANT",
    "FAIL",
    "FETCH_CONNECTIONS",
    "PASS",
    "RUN_ORDER",
    "SKIP",
    "CheckResult",
    "Inspection",
    "RunLog",
    "audit",
    "check",
    "derivability",
    "digest_of",
    "idempotency",
    "inspect_tenant",
    "isolation",
    "outcome_counter",
    "render_results",
    "run_checks",
    "stream",
]
