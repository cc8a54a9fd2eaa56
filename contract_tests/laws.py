"""The scripted laws: deterministic checks the ledger suite runs first, at every seed.

Real implementations get things wrong that a random exploration reaches only by luck:
a page that skips an item, a `total` that ignores a filter, customers in another order,
an eventId used twice, a projection field that lags its events, tenant codes matched
case-insensitively, idempotency keys shared between tenants, an `X-Correlation-Id`
that is not echoed, balances kept as binary floats, a hash encoder that is not
RFC 8785. Each law below sends the input that tells a right service from such a wrong
one (amounts that must drift in binary floating point, names with non-ASCII letters
and escapes, numbers whose shortest form differs between encoders, ids differing only
in case), on tenants of its own, through the same reference model and checks as the
exploration; each counts in a row of its own:

- `unique_ids`: every eventId, customerId, accountId and entryId the service made is
  unique (across two tenants);
- `list_order`: customers and accounts in creation order (`accountType=ALL`: GL
  accounts first), products in creation order, events oldest first;
- `list_total`: `total` is what the filter selects (none, `customerId`, `accountType`);
- `paging`: pages of 1, 2 and 3 concatenate to the whole list: no gap, no repeat, no
  short page but the last, the same `total` on every page;
- `derived_fields`: an account's balance is the fold of its own events, its
  `lastSequence` the sequence of its latest event; `getAccount` agrees with the list;
- `identifier_case`: tenant codes, account ids, customer ids and GL codes are
  case-sensitive;
- `idempotency_scope`: the same key in two tenants is two commands, never a replay of
  the other tenant's reply;
- `exact_money`: ten postings of 0.10, then 0.29, 1.15 and 4.35: every balance to the
  cent, written as a whole number of cents;
- `correlation_header` (extension): the `X-Correlation-Id` sent is the reply's and the
  events' `correlationId`;
- `canonical_json` (extension): the hash chain recomputes on events made from input
  that tells encoders apart.

A law first checks the general rule it builds on in that rule's own row (the balances
before money moves, the hash chain before the tricky input), so a defect is named by
the most specific law that shows it.

Each law is a function of a `LawContext` (`contract_tests.law_context`: the machine,
the tenants and members the set-up made, the reads): the list laws are in
`contract_tests.laws_lists`, the others in `contract_tests.laws_values`; `LAWS` runs
them in this order, each as a step of the machine's trail.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from contract_tests import laws_lists, laws_values
from contract_tests.law_context import LawContext, set_up


@dataclass(frozen=True)
class Law:
    """One law: its row, the check, and the extensions it needs (the row's too)."""

    name: str
    check: Callable[[LawContext], None]
    needs: tuple[str, ...] = ()


LAWS: tuple[Law, ...] = (
    Law("unique_ids", laws_lists.unique_ids),
    Law("list_order", laws_lists.list_order),
    Law("list_total", laws_lists.list_total),
    Law("paging", laws_lists.paging),
    Law("derived_fields", laws_values.derived_fields),
    Law("identifier_case", laws_values.identifier_case),
    Law("idempotency_scope", laws_values.idempotency_scope),
    Law("exact_money", laws_values.exact_money),
    Law("correlation_header", laws_values.correlation_header, ("correlation_header",)),
    Law("canonical_json", laws_values.canonical_json, ("hash_chain", "tenant_stream")),
)
LAW_ROWS: tuple[str, ...] = tuple(law.name for law in LAWS)
LAW_ROW_EXTENSIONS: dict[str, tuple[str, ...]] = {law.name: law.needs for law in LAWS if law.needs}


def run_laws(m: Any, wire: Any, checks: Any, ext: Any) -> None:
    """Run every law on a fresh tenant of machine `m` (a LedgerMachine) and a second one."""
    context = set_up(m, wire, checks, ext)
    for law in LAWS:
        if all(ext[name] for name in law.needs):
            context.step(law.name)
            law.check(context)
