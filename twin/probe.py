"""`twin run ... --probe`: requests at the contract's edges, after the run and its checks.

The steady-state run sends only valid traffic, read in one page from offset 0, on one
tenant: a service can be wrong at the edges and never show it there. The probe phase
sends a short fixed set of requests, each with the reply the published contract
requires (docs/twin.md, *The probe phase*):

  malformed_entry     PostEntry with a string amount, and with no legs: 400
                      VALIDATION_ERROR (never a 5xx), nothing written
  account_bounds      an entry past a member account's floor (OVERDRAFT_LIMIT_EXCEEDED) and
                      one past a product's maximum (MAX_BALANCE_EXCEEDED), drawn by the
                      planner's own invalid-entry logic (`invalid_entry`): 422, nothing written
  paging              customers and accounts walked with limit 7 (page lengths, totals, no
                      item twice or missing, creation order); one customer's accounts read
                      with the customerId filter (total equal to its items)
  tenant_id_case      the tenant read with its code lower-cased: 404
  correlation_echo    a command with X-Correlation-Id: the 202 echoes it (an extension:
                      checked when the target answers with our `result` extension)
  idempotency_scope   a key the main tenant used, sent on the probe tenant: a fresh 202,
                      not the main tenant's reply replayed
  creation_order      three customers created one after another on the probe tenant, named
                      in reverse alphabetical order: its customers list serves them in
                      creation order (twin/probe_checks.py)

Writes that are accepted go to the probe tenant (`<TENANT>_PROBE`) only, so the main
tenant's state digest (computed before the probes anyway) is the same with or without.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from turingcore_client.client import API_PREFIX, TuringCoreClient
from turingcore_client.errors import ApiError
from turingcore_client.money import amount, minor_units
from turingcore_client.refs import RefTable
from turingcore_client.replies import CommandReply
from twin.model import LedgerAccount, Member
from twin.probe_checks import bounds_problems, probe_creation_order, too_large

PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"
PROBE_PAGE_LIMIT = 7
PROBE_TENANT_SUFFIX = "_PROBE"
PROBES = (
    "malformed_entry",
    "account_bounds",
    "paging",
    "tenant_id_case",
    "correlation_echo",
    "idempotency_scope",
    "creation_order",
)


@dataclass
class ProbeResult:
    """One probe: PASS, FAIL or SKIP, what it sent and saw, and its failures."""

    name: str
    status: str = PASS
    detail: str = ""
    failures: list[str] = field(default_factory=list)

    def fail(self, message: str) -> None:
        self.status = FAIL
        self.failures.append(message)

    def skip(self, reason: str) -> None:
        self.status = SKIP
        self.detail = reason

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "detail": self.detail,
            "failures": self.failures[:20],
        }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _written_mark(client: TuringCoreClient, tenant_id: str) -> tuple[str, Any]:
    """What shows a write to the tenant: its lastSequence (an extension, as the tenant read
    is), else, on a target without it, every member account's balance."""
    reply = client.raw("GET", f"{API_PREFIX}/tenants/{tenant_id}")
    if reply.status == 200 and reply.body.get("lastSequence") is not None:
        return "lastSequence", reply.body["lastSequence"]
    balances = {a["accountId"]: a.get("balance") for a in client.iter_accounts(tenant_id)}
    return "the members' balances", balances


def _unmoved(result: ProbeResult, before: tuple[str, Any], after: tuple[str, Any]) -> None:
    """Nothing written: the tenant's mark (`_written_mark`) the same before and after."""
    what = before[0]
    if before == after:
        return
    if isinstance(before[1], dict) and isinstance(after[1], dict):
        moved = sorted(
            k for k in before[1].keys() | after[1].keys() if before[1].get(k) != after[1].get(k)
        )
        result.fail(f"{what} moved: {', '.join(moved[:3])}: a write")
    else:
        result.fail(f"the tenant's {what} moved from {before[1]} to {after[1]}: a write")


def _said(reply: CommandReply) -> str:
    body = reply.body if isinstance(reply.body, dict) else {}
    code = body.get("invariant") or body.get("error")
    return f"{reply.status} {code or ''}".rstrip()


class Prober:
    """Runs the probes on `tenant_id` (after a run of the twin's plan on it)."""

    def __init__(
        self,
        client: TuringCoreClient,
        tenant_id: str,
        *,
        seed: int,
        planner: Any,
        run_log: Path | None,
    ) -> None:
        self.client = client
        self.tenant_id = tenant_id
        self.seed = seed
        self.planner = planner
        self.run_log = run_log
        self.probe_tenant = tenant_id + PROBE_TENANT_SUFFIX
        self.currency = planner.currency if planner is not None else "AUD"
        self.accounts: list[dict[str, Any]] = []  # the members' accounts, from the walk
        self.booking = date.today().isoformat()
        self._probe_tenant_why: str | None = None  # "" once the probe tenant is there

    def _key(self, name: str) -> str:
        return f"twin-probe:{self.seed}:{name}"

    def _send(self, command_type: str, payload: Any, tenant_id: str, **fields: Any) -> CommandReply:
        return self.client.send_command(
            command_type, payload, tenant_id=tenant_id, raise_on_error=False, **fields
        )

    def run(self) -> list[ProbeResult]:
        """Every probe, in PROBES order; a probe that raised is a FAIL naming the error (a
        wrong service never stops the others)."""
        results = []
        for name in PROBES:
            result = ProbeResult(name)
            probe: Callable[[ProbeResult], None] = getattr(self, f"probe_{name}")
            try:
                probe(result)
            except ApiError as exc:
                result.fail(f"unexpected {exc.status} {exc}")
            except Exception as exc:  # a reply the probe could not use: its verdict, not a crash
                result.fail(f"the probe stopped on {type(exc).__name__}: {exc}")
            results.append(result)
        return results

    # ------------------------------------------------------------------ 1. malformed

    def _gl_entry(self, amount: Any, legs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        if legs is None:
            legs = [
                {"accountId": "GL_SUSPENSE", "direction": "DEBIT", "amount": amount},
                {"accountId": "GL_FEES", "direction": "CREDIT", "amount": amount},
            ]
        return {
            "bookingDate": self.booking,
            "valueDate": self.booking,
            "currency": self.currency,
            "legs": legs,
            "narrative": "twin probe",
            "tags": {"category": "PROBE"},
        }

    def probe_malformed_entry(self, result: ProbeResult) -> None:
        before = _written_mark(self.client, self.tenant_id)
        cases = {
            "a leg amount that is a string": self._gl_entry("1.00"),
            "no legs": self._gl_entry(None, legs=[]),
        }
        for what, payload in cases.items():
            reply = self._send(
                "PostEntry", payload, self.tenant_id, idempotency_key=self._key(f"bad:{what}")
            )
            if reply.status != 400 or reply.error != "VALIDATION_ERROR":
                result.fail(f"PostEntry with {what}: {_said(reply)}, not 400 VALIDATION_ERROR")
        result.detail = f"{len(cases)} malformed PostEntry"
        _unmoved(result, before, _written_mark(self.client, self.tenant_id))

    # --------------------------------------------------------------- 2. bounds

    def _bounded_accounts(self) -> tuple[LedgerAccount | None, LedgerAccount | None]:
        """A member account with a floor (any deposit account) and one with a maximum,
        as the planner's model sees them, with the balances the service serves."""
        floor = top = None
        for model in self._deposit_models():
            if floor is None:
                floor = model
            if top is None and model.upper is not None:
                top = model
        return floor, top

    def _deposit_models(self) -> list[LedgerAccount]:
        """Every member deposit account (no facility) as the planner's model sees it, with
        the balance the service serves."""
        products = self.planner.products
        models = []
        for account in self.accounts:
            product = products.get(account.get("productCode"))
            if product is None or product.is_facility or product.type != "DEPOSIT":
                continue
            model = LedgerAccount.open(f"probe:{account['accountId']}", product)
            model.balance = minor_units(amount(account["balance"]))
            models.append(model)
        return models

    def probe_account_bounds(self, result: ProbeResult) -> None:
        from twin.generators.days import invalid_entry

        if self.planner is None:
            result.skip("no plan configuration")
            return
        if not self.accounts:
            self._walk_accounts(ProbeResult("paging"))
        # Entries past the bounds are built from the served balances: a balance already
        # outside its bounds is the service's fault, and no such entry can be built from it.
        problems = bounds_problems(
            [(m.ref.removeprefix("probe:"), m) for m in self._deposit_models()]
        )
        if problems:
            result.detail = "no entry sent: the served balances are outside their bounds"
            for problem in problems:
                result.fail(problem)
            return
        floor, top = self._bounded_accounts()
        if floor is None:
            result.skip("no member deposit account to overdraw")
            return
        far = too_large(floor, "OVERDRAFT_LIMIT_EXCEEDED")
        if far is not None:
            result.skip(far)
            return
        if top is not None and too_large(top, "MAX_BALANCE_EXCEEDED") is not None:
            top = None
        member = Member(0, "PROBE", date(1990, 1, 1), 35, "", "")
        member.accounts["TXN"] = floor
        member.accounts["SAV"] = top or floor
        refs = RefTable()
        for account in (floor, top):
            if account is not None:
                refs.set(account.ref, account.ref.removeprefix("probe:"))
        rng = random.Random(f"probe:{self.seed}")
        wanted = ["OVERDRAFT_LIMIT_EXCEEDED"]
        if top is not None:
            wanted.append("MAX_BALANCE_EXCEEDED")
        else:
            result.detail = "no member account has a maximum balance; "
        before = _written_mark(self.client, self.tenant_id)
        day = max(0, self.planner.days - 1)
        for seq, invariant in enumerate(wanted, 1):
            planned = invalid_entry(self.planner, rng, member, day, seq, _now(), invariant)
            payload = refs.resolve(planned.payload)
            reply = self._send(
                "PostEntry",
                payload,
                self.tenant_id,
                idempotency_key=self._key(f"bounds:{invariant}"),
            )
            legs = ", ".join(f"{leg['direction']} {leg['amount']}" for leg in payload["legs"])
            if reply.status != 422 or reply.invariant != planned.expect_invariant:
                result.fail(
                    f"PostEntry past the bounds ({legs}): {_said(reply)}, not 422 "
                    f"{planned.expect_invariant}"
                )
        result.detail += f"{', '.join(wanted)} on a member account"
        _unmoved(result, before, _written_mark(self.client, self.tenant_id))

    # ---------------------------------------------------------------- 3. paging

    def _walk(
        self, result: ProbeResult, what: str, fetch: Callable[[int], dict[str, Any]], kind: str
    ) -> list[dict[str, Any]]:
        """Every item of a list read `PROBE_PAGE_LIMIT` at a time from offset 0 to its
        total, each page's length checked against offset/limit/total; the items."""
        id_key = "customerId" if kind == "customers" else "accountId"
        limit = PROBE_PAGE_LIMIT
        items: list[dict[str, Any]] = []
        offset, total = 0, None
        while True:
            page = fetch(offset)
            got = list(page.get(kind) or [])
            page_total = page.get("total")
            if not isinstance(page_total, int):
                result.fail(f"{what} at offset {offset}: no total")
                return items
            if total is None:
                total = page_total
            elif page_total != total:
                result.fail(f"{what}: total {total} then {page_total} at offset {offset}")
            want = max(0, min(limit, total - offset))
            if len(got) != want:
                result.fail(
                    f"{what} at offset {offset}: {len(got)} items, offset/limit/total "
                    f"({offset}/{limit}/{total}) make {want}"
                )
            items.extend(got)
            offset += limit
            if offset >= total or offset > 10 * (total + limit):
                break
        # Lists are in creation order (the spec): the creation stamps never go back.
        stamp = "createdAt" if kind == "customers" else "openedAt"
        stamps = [str(item.get(stamp)) for item in items if item.get(stamp) is not None]
        back = next((i for i in range(1, len(stamps)) if stamps[i] < stamps[i - 1]), None)
        if back is not None:
            result.fail(
                f"{what}: not in creation order ({stamp} {stamps[back - 1]} then {stamps[back]})"
            )
        ids = [item.get(id_key) for item in items]
        unique = set(ids)
        if len(unique) != len(ids):
            result.fail(f"{what}: {len(ids) - len(unique)} item(s) served twice")
        if len(unique) < (total or 0):
            result.fail(f"{what}: {total - len(unique)} of {total} item(s) never served")
        return items

    def _walk_accounts(self, result: ProbeResult) -> None:
        def fetch(offset: int) -> dict[str, Any]:
            return self.client.list_accounts(self.tenant_id, limit=PROBE_PAGE_LIMIT, offset=offset)

        self.accounts = self._walk(result, "accounts", fetch, "accounts")

    def probe_paging(self, result: ProbeResult) -> None:
        def customers(offset: int) -> dict[str, Any]:
            return self.client.list_customers(self.tenant_id, limit=PROBE_PAGE_LIMIT, offset=offset)

        walked = self._walk(result, "customers", customers, "customers")
        self._walk_accounts(result)
        owners = [a.get("customerId") for a in self.accounts if a.get("customerId")]
        if not owners:
            result.fail("no member account to filter by customerId")
            return
        owner = owners[0]
        mine = [a["accountId"] for a in self.accounts if a.get("customerId") == owner]
        page = self.client.list_accounts(self.tenant_id, customer_id=owner, limit=1000)
        served = list(page.get("accounts") or [])
        if page.get("total") != len(served):
            result.fail(
                f"accounts?customerId={owner}: total {page.get('total')} on a one-page "
                f"result of {len(served)} item(s)"
            )
        others = [a.get("accountId") for a in served if a.get("customerId") != owner]
        if others:
            result.fail(f"accounts?customerId={owner}: {len(others)} other customer's account(s)")
        if sorted(a.get("accountId") for a in served) != sorted(mine):
            result.fail(
                f"accounts?customerId={owner}: {len(served)} account(s), the walk has "
                f"{len(mine)} of that customer"
            )
        result.detail = (
            f"{len(walked)} customers, {len(self.accounts)} accounts by {PROBE_PAGE_LIMIT}; "
            f"one customer's {len(served)}"
        )

    # ------------------------------------------------------------ 4. id case

    def probe_tenant_id_case(self, result: ProbeResult) -> None:
        other = self.tenant_id.lower()
        if other == self.tenant_id:
            result.skip(f"{self.tenant_id} has no letter to lower-case")
            return
        # The tenant read (an extension), and the customers list (published): each one the
        # target serves under the tenant's own code must be a 404 under the other case.
        reads = [("", None), ("/customers", {"limit": 1})]
        checked = []
        for suffix, params in reads:
            own = self.client.raw(
                "GET", f"{API_PREFIX}/tenants/{self.tenant_id}{suffix}", params=params
            )
            if own.status != 200:
                continue
            path = f"{API_PREFIX}/tenants/{other}{suffix}"
            reply = self.client.raw("GET", path, params=params)
            checked.append(f"GET {path}: {reply.status}")
            if reply.status != 404:
                result.fail(f"GET {path}: {reply.status}, not 404 (ids are case-sensitive)")
        if not checked:
            result.fail(f"neither the tenant nor its customers read as {self.tenant_id}")
        result.detail = "; ".join(checked)

    # ------------------------------------------------- the probe tenant (5, 6)

    def _probe_tenant_ready(self) -> str | None:
        """CreateTenant of the probe tenant (the main tenant's configuration under another
        code; a replay or TENANT_CODE_UNIQUE when it exists): None, or why it cannot be."""
        if self._probe_tenant_why is not None:
            return self._probe_tenant_why or None
        payload = dict(self.planner.tenant.to_create_payload())
        payload["tenantCode"] = self.probe_tenant
        payload["displayName"] = f"{payload['displayName']} (twin probe)"[:100]
        created = self._send(
            "CreateTenant",
            payload,
            self.probe_tenant,
            idempotency_key=f"twin-probe:tenant:{self.probe_tenant}",
        )
        if created.accepted or created.invariant == "TENANT_CODE_UNIQUE":
            self._probe_tenant_why = ""
            return None
        self._probe_tenant_why = (
            f"the key may not create the probe tenant {self.probe_tenant} ({_said(created)})"
        )
        return self._probe_tenant_why

    # ------------------------------------------------------------ 5. correlation

    def probe_correlation_echo(self, result: ProbeResult) -> None:
        why = self._probe_tenant_ready()
        if why is not None:
            result.skip(why)
            return
        correlation = f"twin-probe-{self.seed}"
        reply = self._send(
            "PostEntry",
            self._gl_entry(0.01),
            self.probe_tenant,
            idempotency_key=f"twin-probe:correlation:{uuid.uuid4()}",
            correlation_id=correlation,
        )
        if not reply.accepted:
            result.fail(f"a valid PostEntry on {self.probe_tenant}: {_said(reply)}, not 202")
            return
        if "result" not in reply.body:
            result.skip(
                "the target has none of our extensions (no `result` in its 202), and the "
                "X-Correlation-Id echo is one"
            )
            return
        echoed = reply.body.get("correlationId")
        result.detail = f"X-Correlation-Id: {correlation} on {self.probe_tenant}"
        if echoed != correlation:
            result.fail(f"X-Correlation-Id {correlation!r}: the 202's correlationId is {echoed!r}")

    # ------------------------------------------------------- 6. idempotency scope

    def _main_customer(self) -> dict[str, Any] | None:
        """The run log's first accepted CreateCustomer (key, payload, reply)."""
        if self.run_log is None or not self.run_log.is_file():
            return None
        for record in _records(self.run_log):
            if record.get("type") == "CreateCustomer" and record.get("status") == 202:
                return record
        return None

    def probe_idempotency_scope(self, result: ProbeResult) -> None:
        first = self._main_customer()
        if first is None:
            result.skip("no accepted CreateCustomer in the run log (run with --probe, inspected)")
            return
        why = self._probe_tenant_ready()
        if why is not None:
            result.skip(why)
            return
        key = first["key"]
        reply = self._send(
            "CreateCustomer", first["payload"], self.probe_tenant, idempotency_key=key
        )
        result.detail = f"CreateCustomer on {self.probe_tenant} with {self.tenant_id}'s key {key}"
        if not reply.accepted:
            result.fail(f"{key} on {self.probe_tenant}: {_said(reply)}, not 202")
            return
        main_reply = first.get("reply") or {}
        theirs = (main_reply.get("commandId"), main_reply.get("customerId"))
        ours = (reply.body.get("commandId"), reply.body.get("customerId"))
        if reply.replayed and any(
            a is not None and a == b for a, b in zip(theirs, ours, strict=True)
        ):
            result.fail(
                f"{key} on {self.probe_tenant}: {self.tenant_id}'s reply replayed "
                f"(Idempotent-Replayed: true, commandId {ours[0]})"
            )
        elif reply.replayed:
            result.detail += " (replayed this tenant's own earlier probe: the probe ran before)"

    # --------------------------------------------------------- 7. creation order

    def probe_creation_order(self, result: ProbeResult) -> None:
        probe_creation_order(self, result)


def _records(path: Path) -> Iterator[dict[str, Any]]:
    with path.open("rb") as handle:
        for line in handle:
            if line.strip():
                yield orjson.loads(line)


def run_probes(
    client: TuringCoreClient,
    tenant_id: str,
    *,
    seed: int,
    planner: Any,
    run_log: Path | None,
) -> list[ProbeResult]:
    """The probes of the module docstring on `tenant_id`, in order."""
    return Prober(client, tenant_id, seed=seed, planner=planner, run_log=run_log).run()


def render_probes(results: list[ProbeResult], console: Console) -> None:
    """A table: probe, verdict, what it sent, the first failure or the reason skipped."""
    table = Table(title="Probes (twin run --probe)")
    for column in ("probe", "result", "sent", "first failure"):
        table.add_column(column, overflow="fold")
    styles = {PASS: "bold green", FAIL: "bold red", SKIP: "yellow"}
    for result in results:
        first = result.failures[0] if result.failures else ""
        if len(result.failures) > 1:
            first += f" (+{len(result.failures) - 1} more)"
        table.add_row(
            result.name, f"[{styles[result.status]}]{result.status}[/]", result.detail, first
        )
    console.print(table)
    failed = [r.name for r in results if r.status == FAIL]
    if failed:
        console.print(f"[bold red]probes failed: {', '.join(failed)}[/]")


def probe_phase(
    client: TuringCoreClient,
    console: Console,
    plan: Any,
    run_log: Path | None,
    tenant: Any,
    scenario: Any,
) -> list[ProbeResult]:
    """`twin run --probe`: the probes on the tenant `plan` ran on (after its checks),
    with a planner of its configuration (`tenant`, `scenario`) for the entries past the
    bounds; printed as a table."""
    from twin.generators.planner import Planner

    planner = Planner(tenant, scenario, plan.seed, plan.customers, plan.days)
    probes = run_probes(client, plan.tenant_code, seed=plan.seed, planner=planner, run_log=run_log)
    render_probes(probes, console)
    return probes
