"""tenant_isolation: a key scoped to another tenant sees and touches nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from typing import Any

from turingcore_client.client import TuringCoreClient
from turingcore_client.envelope import build_envelope
from turingcore_client.payloads import entry_payload, leg
from twin.digest import is_gl
from twin.invariants.inspection import ENV_ISOLATION_KEY, PROBES, QUEUED_AHEAD, Inspection
from twin.invariants.registry import check
from twin.invariants.results import SKIP, CheckResult


def _probe_tenant_ready(ctx: Inspection, iso: TuringCoreClient, result: CheckResult) -> bool:
    """Make sure the probe tenant exists (created with the main key when needed)."""
    probe = ctx.probe_tenant
    reply = iso.raw("GET", f"/v1/tenants/{probe}")
    if reply.status == 200:
        return True
    if reply.status == 404:
        created = ctx.client.create_tenant(
            probe,
            "Isolation probe (twin)",
            idempotency_key=f"twin:isolation-probe:{probe}",
            command_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"twin:isolation-probe:{probe}")),
            timestamp="2025-01-01T00:00:00+00:00",
            raise_on_error=False,
        )
        if created.accepted or created.invariant == "TENANT_CODE_UNIQUE":
            again = iso.raw("GET", f"/v1/tenants/{probe}").status
            if again == 200:
                return True
            # (A published-only target does not serve the tenant read: nothing checked.)
            result.status = SKIP
            result.note = (
                f"the probe tenant {probe} was created, but GET /v1/tenants/{probe} with the "
                f"isolation key answers {again}: the check needs that read"
            )
            return False
        result.status = SKIP
        result.note = (
            f"cannot create the probe tenant {probe} ({created.status} {created.error}): "
            "the main key must be a platform key, or create the tenant beforehand"
        )
        return False
    result.status = SKIP
    result.note = (
        f"the isolation key gets {reply.status} on its own tenant {probe}: give a key "
        f"scoped to {probe} only (or name its tenant with --isolation-tenant)"
    )
    return False


class IsolationStart:
    """The first half of the isolation check, started ahead of the read-only checks:
    the probe tenant made ready, both tenants' lastSequence noted, and every A id
    asked for under B's path (the probes, answered in the background)."""

    def __init__(self, ctx: Inspection, iso: TuringCoreClient) -> None:
        self.result = CheckResult("tenant_isolation")  # a SKIP verdict, if any
        self.ready = _probe_tenant_ready(ctx, iso, self.result)
        self.problems: list[tuple[int, int, str]] = []  # (item, path, message)
        self.open = 0
        if not self.ready:
            return
        a, b = ctx.tenant_id, ctx.probe_tenant
        self.a_before, self.b_before = ctx.last_sequence(a), ctx.last_sequence(b)
        self.customers = ctx.customers()
        accounts = ctx.accounts()
        self.member_accounts = [acc for acc in accounts if not is_gl(acc)]
        self.gl_accounts = [acc for acc in accounts if is_gl(acc)]
        self.ctx = ctx

        # A's ids under B's path: 404, as if they did not exist. A window of them is
        # queued at a time (the next one as each comes back), not one request per id.
        self._probes = self._paths([*self.customers, *self.member_accounts])
        self._iso, self._a = iso, a
        for _ in range(QUEUED_AHEAD):
            if not self._next_probe():
                break

    def _paths(self, items: list[Mapping[str, Any]]) -> Iterator[tuple[int, int, str]]:
        b = self.ctx.probe_tenant
        for item_index, item in enumerate(items):
            if "customerId" in item and "accountId" not in item:
                paths = [f"/v1/tenants/{b}/customers/{item['customerId']}"]
            else:
                aid = item["accountId"]
                paths = [
                    f"/v1/tenants/{b}/accounts/{aid}",
                    f"/v1/tenants/{b}/accounts/{aid}/events",
                ]
            for path_index, path in enumerate(paths):
                yield item_index, path_index, path

    def _next_probe(self) -> bool:
        """Queue the next probe; False when none is left."""
        probe = next(self._probes, None)
        if probe is None:
            return False
        item, index, path = probe
        a = self._a

        def done(status: int, body: Any) -> None:
            self.open -= 1
            if status != 404:
                message = f"GET {path} (an id of {a}) with B's key: {status}, not 404"
                self.problems.append((item, index, message))
            self._next_probe()

        self.open += 1
        self.ctx.get(self._iso, path, None, done, PROBES)
        return True

    def wait(self) -> list[str]:
        """The probes' failures, in the order of the ids."""
        self.ctx.mux.run_until(lambda: self.open == 0)
        return [message for _, _, message in sorted(self.problems)]


@check("tenant_isolation")
def tenant_isolation(ctx: Inspection, result: CheckResult) -> None:
    """With a key scoped only to a probe tenant B: every read and the gateway of
    tenant A give 403; every A customer and account id under B's path gives 404;
    B's lists hold nothing of A; a PostEntry (and an OpenAccount) in B naming A's
    ids gives 422 ACCOUNT_MUST_EXIST (CUSTOMER_MUST_EXIST); nothing is written
    to A or B (from before the read-only checks to the end of this one)."""
    iso = ctx.isolation_client
    if iso is None:
        result.status = SKIP
        result.note = (
            f"needs a key scoped only to {ctx.probe_tenant}: --isolation-key or {ENV_ISOLATION_KEY}"
        )
        return
    start = ctx.isolation_start()
    if not start.ready:
        result.status, result.note = start.result.status, start.result.note
        return
    a, b = ctx.tenant_id, ctx.probe_tenant
    customers, member_accounts, gl_accounts = (
        start.customers,
        start.member_accounts,
        start.gl_accounts,
    )

    def expect(status: int, method: str, path: str, body: Any = None) -> None:
        reply = iso.raw(method, path, json_body=body)
        result.count(f"expected_{status}")
        if reply.status != status:
            result.fail(f"{method} {path} with B's key: {reply.status}, expected {status}")

    # Tenant A's endpoints with B's key: all 403, whatever the id.
    sample_customers = [c["customerId"] for c in customers[:1] + customers[-1:]]
    sample_accounts = [acc["accountId"] for acc in member_accounts[:1] + member_accounts[-1:]]
    sample_accounts += [acc["accountId"] for acc in gl_accounts[:1]]
    paths = [
        f"/v1/tenants/{a}",
        f"/v1/tenants/{a}/products",
        f"/v1/tenants/{a}/customers",
        f"/v1/tenants/{a}/accounts",
        f"/v1/tenants/{a}/events",
    ]
    paths += [f"/v1/tenants/{a}/customers/{cid}" for cid in sample_customers]
    for aid in sample_accounts:
        paths += [f"/v1/tenants/{a}/accounts/{aid}", f"/v1/tenants/{a}/accounts/{aid}/events"]
    for path in paths:
        expect(403, "GET", path)
    legs = [leg("NO_SUCH_ACCOUNT_1", "DEBIT", 0.01), leg("NO_SUCH_ACCOUNT_2", "CREDIT", 0.01)]
    entry = entry_payload("2025-01-01", legs, "isolation probe")
    expect(
        403,
        "POST",
        f"/v1/tenants/{a}/commands",
        build_envelope("PostEntry", entry, tenant_id=a),
    )

    # A's ids under B's path: 404 (the probes started ahead, see IsolationStart).
    for problem in start.wait():
        result.fail(problem)
    result.count("a_customer_ids_probed", len(customers))
    result.count("a_account_ids_probed", len(member_accounts))

    # GL codes are shared by design: under B's path they must be B's own accounts.
    for gl in gl_accounts:
        seen = iso.raw("GET", f"/v1/tenants/{b}/accounts/{gl['accountId']}")
        if seen.status == 200 and seen.body.get("tenantId") != b:
            result.fail(f"GL {gl['accountId']} under {b} belongs to {seen.body.get('tenantId')}")
    a_customer_ids = {c["customerId"] for c in customers}
    a_account_ids = {acc["accountId"] for acc in member_accounts}
    for item in iso.iter_customers(b):
        result.count("b_customers_listed")
        if item.get("customerId") in a_customer_ids or item.get("tenantId") != b:
            result.fail(f"{b}'s customer list shows {item.get('customerId')} of {a}")
    for item in iso.iter_ledger_accounts(b):
        result.count("b_accounts_listed")
        if item.get("accountId") in a_account_ids or item.get("tenantId") != b:
            result.fail(f"{b}'s account list shows {item.get('accountId')} of {a}")
    for event in iso.iter_tenant_events(b):
        result.count("b_events_listed")
        if event.get("tenantId") != b:
            result.fail(
                f"{b}'s stream shows event {event.get('eventId')} of {event.get('tenantId')}"
            )

    # Writes in B that name A's ids are refused and write nothing.
    def refused(command_type: str, payload: dict[str, Any], what: str, invariant: str) -> None:
        reply = iso.send_command(command_type, payload, tenant_id=b, raise_on_error=False)
        result.count("cross_tenant_writes")
        if reply.invariant != invariant:
            result.fail(
                f"{command_type} in {b} {what}: {reply.status} "
                f"{reply.invariant or reply.error}, expected 422 {invariant}"
            )

    if len(member_accounts) >= 2:
        entry["legs"] = [
            leg(member_accounts[0]["accountId"], "DEBIT", 0.01),
            leg(member_accounts[1]["accountId"], "CREDIT", 0.01),
        ]
        refused("PostEntry", entry, f"on {a}'s accounts", "ACCOUNT_MUST_EXIST")
    if customers:
        products = [acc.get("productCode") for acc in member_accounts if acc.get("productCode")]
        opening = {
            "customerId": customers[0]["customerId"],
            "productCode": products[0] if products else "NO_SUCH_PRODUCT",
            "currency": "AUD",
        }
        refused("OpenAccount", opening, f"for {a}'s customer", "CUSTOMER_MUST_EXIST")
    a_after, b_after = ctx.last_sequence(a), ctx.last_sequence(b)
    if a_after != start.a_before:
        result.fail(
            f"{a}'s lastSequence moved from {start.a_before} to {a_after} during the probe",
            headline=True,
        )
    if b_after != start.b_before:
        result.fail(f"{b}'s lastSequence moved from {start.b_before} to {b_after} during the probe")
