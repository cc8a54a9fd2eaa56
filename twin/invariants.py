"""The five invariants of the contract, checked through the public API only.

Each check is a small named function registered with `@check(name)`; it gets
an `Inspection` (the client, the tenant, lazily fetched snapshots of the
stream, the accounts and the customers, and the run log when there is one)
and returns a `CheckResult`: PASS, FAIL or SKIP, what it counted, and the
first failures in full.

  balance_derivability  every account's balance is the fold of its postings
  event_integrity       the tenant's hash chain recomputes, sequences 1..N
  tenant_isolation      a key scoped to another tenant sees and touches nothing
  idempotency           replays with new commandIds: same reply, nothing written
  audit_completeness    every accepted command has its events, every balance
                        change its posting, and the tenant's balances sum to zero

Read-only checks run first; isolation and idempotency send commands (which
must all be refused or replayed) and compare the tenant's lastSequence.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from twin.client import ApiError, TuringCoreClient, now_rfc3339
from twin.digest import GENESIS_HASH, amount, event_hash, state_digest
from twin.runner import read_run_log, refs_from_log

PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"
FAILURES_KEPT = 20
POSTING_EVENTS = frozenset({"FundsPosted", "EntryPosted"})
BALANCE_EVENTS = POSTING_EVENTS | {"AccountBalanceUpdated"}
DEFAULT_PROBE_TENANT = "ISOLATION_PROBE_TWIN"
ENV_ISOLATION_KEY = "TURINGCORE_ISOLATION_API_KEY"
ENV_ISOLATION_TENANT = "TURINGCORE_ISOLATION_TENANT"
ZERO = Decimal(0)


@dataclass
class CheckResult:
    """One invariant's verdict."""

    name: str
    status: str = PASS
    checked: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    failure_count: int = 0
    note: str | None = None
    seconds: float = 0.0

    def fail(self, message: str, *, headline: bool = False) -> None:
        """Record a failure; a `headline` one goes first, ahead of the details."""
        self.status = FAIL
        self.failure_count += 1
        if headline:
            self.failures.insert(0, message)
            del self.failures[FAILURES_KEPT:]
        elif len(self.failures) < FAILURES_KEPT:
            self.failures.append(message)

    def count(self, name: str, n: int = 1) -> None:
        self.checked[name] = self.checked.get(name, 0) + n

    @property
    def passed(self) -> bool:
        return self.status != FAIL

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "checked": dict(self.checked),
            "failure_count": self.failure_count,
            "failures": list(self.failures),
            "note": self.note,
            "seconds": round(self.seconds, 3),
        }


class Inspection:
    """What the checks share: the client, the tenant and cached snapshots."""

    def __init__(
        self,
        client: TuringCoreClient,
        tenant_id: str,
        *,
        run_log: Sequence[Mapping[str, Any]] | None = None,
        isolation_client: TuringCoreClient | None = None,
        probe_tenant: str = DEFAULT_PROBE_TENANT,
        idempotency_sample: int = 200,
        concurrency: int = 4,
    ) -> None:
        self.client = client
        self.tenant_id = tenant_id
        self.run_log = list(run_log) if run_log is not None else None
        self.isolation_client = isolation_client
        self.probe_tenant = probe_tenant
        self.idempotency_sample = idempotency_sample
        self.concurrency = max(1, concurrency)
        self._events: list[dict[str, Any]] | None = None
        self._accounts: list[dict[str, Any]] | None = None
        self._customers: list[dict[str, Any]] | None = None

    def tenant(self) -> dict[str, Any]:
        return self.client.get_tenant(self.tenant_id)

    def last_sequence(self, tenant_id: str | None = None) -> int:
        return int(self.client.get_tenant(tenant_id or self.tenant_id).get("lastSequence", 0))

    def events(self) -> list[dict[str, Any]]:
        """The tenant's whole stream, fetched once."""
        if self._events is None:
            self._events = list(self.client.iter_tenant_events(self.tenant_id))
        return self._events

    def accounts(self) -> list[dict[str, Any]]:
        """Every account, member and GL, fetched once."""
        if self._accounts is None:
            self._accounts = list(self.client.iter_accounts(self.tenant_id))
        return self._accounts

    def customers(self) -> list[dict[str, Any]]:
        if self._customers is None:
            self._customers = list(self.client.iter_customers(self.tenant_id))
        return self._customers

    def map_parallel(
        self, fn: Callable[[dict[str, Any]], Any], items: Sequence[dict[str, Any]]
    ) -> list[Any]:
        if self.concurrency == 1 or len(items) < 2:
            return [fn(item) for item in items]
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="twin-inspect") as pool:
            return list(pool.map(fn, items))


CheckFn = Callable[[Inspection, CheckResult], None]
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


def _legs_net(event: Mapping[str, Any], account_id: str) -> Decimal:
    """The signed change a posting makes to one account: DEBIT +, CREDIT -."""
    net = ZERO
    for leg in event.get("payload", {}).get("legs", []):
        if leg.get("accountId") == account_id:
            value = amount(leg["amount"])
            net += value if leg.get("direction") == "DEBIT" else -value
    return net


def _touches(event: Mapping[str, Any]) -> set[str]:
    """The accounts whose balance an event is about."""
    payload = event.get("payload") or {}
    if event.get("eventType") == "AccountBalanceUpdated":
        return {str(payload.get("accountId"))}
    return {str(leg.get("accountId")) for leg in payload.get("legs", [])}


# ------------------------------------------------------------------ 1. balances


@check("balance_derivability")
def balance_derivability(ctx: Inspection, result: CheckResult) -> None:
    """Fold each account's own event stream (FundsPosted and EntryPosted legs,
    DEBIT + and CREDIT -): every AccountBalanceUpdated must agree with the fold
    at its point, and the final fold must equal the projected balance. The
    account stream must also hold exactly the tenant stream's postings and
    balance updates for that account."""
    expected_ids: dict[str, set[str]] = defaultdict(set)
    for event in ctx.events():
        if event.get("eventType") in BALANCE_EVENTS:
            for account_id in _touches(event):
                expected_ids[account_id].add(str(event.get("eventId")))

    def fold(account: dict[str, Any]) -> tuple[str, int, int, list[str]]:
        account_id = str(account["accountId"])
        problems: list[str] = []
        running = ZERO
        seen: set[str] = set()
        last_sequence = 0
        updates = 0
        events = list(ctx.client.iter_account_events(ctx.tenant_id, account_id))
        nets: dict[str, Decimal] = {}
        for event in events:
            sequence = int(event.get("sequence", 0))
            if sequence <= last_sequence:
                problems.append(f"{account_id}: events out of order at sequence {sequence}")
            last_sequence = sequence
            if event.get("tenantId") != ctx.tenant_id:
                problems.append(f"{account_id}: event {event.get('eventId')} of another tenant")
            kind = event.get("eventType")
            if kind in BALANCE_EVENTS:
                seen.add(str(event.get("eventId")))
            if kind in POSTING_EVENTS:
                net = _legs_net(event, account_id)
                running += net
                entry_id = event.get("payload", {}).get("entryId")
                if entry_id is not None:
                    nets[str(entry_id)] = net
            elif kind == "AccountBalanceUpdated":
                payload = event.get("payload", {})
                if payload.get("accountId") != account_id:
                    continue
                updates += 1
                balance = amount(payload.get("balance"))
                if balance != running:
                    problems.append(
                        f"{account_id}: AccountBalanceUpdated at sequence {sequence} says "
                        f"{balance}, the postings before it sum to {running}"
                    )
                entry_id = str(payload.get("entryId"))
                change = amount(payload.get("change"))
                if entry_id in nets and nets[entry_id] != change:
                    problems.append(
                        f"{account_id}: change {change} for entry {entry_id}, "
                        f"its legs give {nets[entry_id]}"
                    )
        projected = amount(account["balance"])
        if projected != running:
            problems.append(
                f"{account_id}: balance {projected}, its {len(events)} events fold to {running}"
            )
        missing = expected_ids.get(account_id, set()) - seen
        extra = seen - expected_ids.get(account_id, set())
        if missing:
            problems.append(
                f"{account_id}: account stream lacks {len(missing)} posting event(s) of the "
                f"tenant stream, e.g. {sorted(missing)[0]}"
            )
        if extra:
            problems.append(
                f"{account_id}: account stream has {len(extra)} posting event(s) the tenant "
                f"stream does not tie to it, e.g. {sorted(extra)[0]}"
            )
        return account_id, len(events), updates, problems

    for _account_id, n_events, updates, problems in ctx.map_parallel(fold, ctx.accounts()):
        result.count("accounts")
        result.count("events_folded", n_events)
        result.count("balance_updates", updates)
        for problem in problems:
            result.fail(problem)


# ---------------------------------------------------------------- 2. the chain


@check("event_integrity")
def event_integrity(ctx: Inspection, result: CheckResult) -> None:
    """Sequences 1..N without gaps, each prevHash the previous hash (64 zeros
    first), each hash recomputed from the envelope, and the tenant's
    lastSequence/lastHash at the end of the chain."""
    tenant = ctx.tenant()
    previous = GENESIS_HASH
    seen_ids: set[str] = set()
    events = ctx.events()
    for index, event in enumerate(events, start=1):
        result.count("events")
        sequence = event.get("sequence")
        if sequence != index:
            result.fail(f"sequence {sequence} where {index} was due (gap or reorder)")
        if event.get("tenantId") != ctx.tenant_id:
            result.fail(f"sequence {sequence}: tenantId {event.get('tenantId')!r}")
        if event.get("prevHash") != previous:
            result.fail(f"sequence {sequence}: prevHash does not link to the previous hash")
        recomputed = event_hash(event)
        if event.get("hash") != recomputed:
            result.fail(
                f"sequence {sequence}: hash {str(event.get('hash'))[:16]}... recomputes as "
                f"{recomputed[:16]}..."
            )
        event_id = str(event.get("eventId"))
        if event_id in seen_ids:
            result.fail(f"sequence {sequence}: eventId {event_id} appears twice")
        seen_ids.add(event_id)
        previous = str(event.get("hash"))
    last_sequence = tenant.get("lastSequence")
    if last_sequence is not None and int(last_sequence) != len(events):
        result.fail(f"tenant lastSequence {last_sequence}, the stream has {len(events)} events")
    last_hash = tenant.get("lastHash")
    if events and last_hash is not None and last_hash != previous:
        result.fail("tenant lastHash is not the hash of the last event")


# ------------------------------------------------------------- 3. isolation


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
            return iso.raw("GET", f"/v1/tenants/{probe}").status == 200
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


@check("tenant_isolation")
def tenant_isolation(ctx: Inspection, result: CheckResult) -> None:
    """With a key scoped only to a probe tenant B: every read and the gateway of
    tenant A give 403; every A customer and account id under B's path gives 404;
    B's lists hold nothing of A; a PostEntry (and an OpenAccount) in B naming A's
    ids gives 422 ACCOUNT_MUST_EXIST (CUSTOMER_MUST_EXIST); nothing is written
    to A or B."""
    iso = ctx.isolation_client
    if iso is None:
        result.status = SKIP
        result.note = (
            f"needs a key scoped only to {ctx.probe_tenant}: --isolation-key or {ENV_ISOLATION_KEY}"
        )
        return
    if not _probe_tenant_ready(ctx, iso, result):
        return
    a, b = ctx.tenant_id, ctx.probe_tenant
    a_before, b_before = ctx.last_sequence(a), ctx.last_sequence(b)
    customers = ctx.customers()
    accounts = ctx.accounts()
    member_accounts = [acc for acc in accounts if acc.get("accountType") != "GL"]
    gl_accounts = [acc for acc in accounts if acc.get("accountType") == "GL"]

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
    legs = [
        {"accountId": "NO_SUCH_ACCOUNT_1", "direction": "DEBIT", "amount": 0.01},
        {"accountId": "NO_SUCH_ACCOUNT_2", "direction": "CREDIT", "amount": 0.01},
    ]
    entry = {
        "bookingDate": "2025-01-01",
        "valueDate": "2025-01-01",
        "currency": "AUD",
        "legs": legs,
        "narrative": "isolation probe",
    }
    expect(
        403,
        "POST",
        f"/v1/tenants/{a}/commands",
        iso.build_envelope("PostEntry", entry, tenant_id=a),
    )

    # A's ids under B's path: 404, as if they did not exist.
    def probe_ids(item: dict[str, Any]) -> list[str]:
        problems = []
        if "customerId" in item and "accountId" not in item:
            paths = [f"/v1/tenants/{b}/customers/{item['customerId']}"]
        else:
            aid = item["accountId"]
            paths = [f"/v1/tenants/{b}/accounts/{aid}", f"/v1/tenants/{b}/accounts/{aid}/events"]
        for path in paths:
            reply = iso.raw("GET", path)
            if reply.status != 404:
                problems.append(f"GET {path} (an id of {a}) with B's key: {reply.status}, not 404")
        return problems

    for problems in ctx.map_parallel(probe_ids, [*customers, *member_accounts]):
        for problem in problems:
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
    for item in iso.iter_accounts(b):
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
    if len(member_accounts) >= 2:
        entry["legs"] = [
            {"accountId": member_accounts[0]["accountId"], "direction": "DEBIT", "amount": 0.01},
            {"accountId": member_accounts[1]["accountId"], "direction": "CREDIT", "amount": 0.01},
        ]
        reply = iso.send_command("PostEntry", entry, tenant_id=b, raise_on_error=False)
        result.count("cross_tenant_writes")
        if reply.invariant != "ACCOUNT_MUST_EXIST":
            result.fail(
                f"PostEntry in {b} on {a}'s accounts: {reply.status} "
                f"{reply.invariant or reply.error}, expected 422 ACCOUNT_MUST_EXIST"
            )
    if customers:
        products = [acc.get("productCode") for acc in member_accounts if acc.get("productCode")]
        opening = {
            "customerId": customers[0]["customerId"],
            "productCode": products[0] if products else "NO_SUCH_PRODUCT",
            "currency": "AUD",
        }
        reply = iso.send_command("OpenAccount", opening, tenant_id=b, raise_on_error=False)
        result.count("cross_tenant_writes")
        if reply.invariant != "CUSTOMER_MUST_EXIST":
            result.fail(
                f"OpenAccount in {b} for {a}'s customer: {reply.status} "
                f"{reply.invariant or reply.error}, expected 422 CUSTOMER_MUST_EXIST"
            )
    a_after, b_after = ctx.last_sequence(a), ctx.last_sequence(b)
    if a_after != a_before:
        result.fail(
            f"{a}'s lastSequence moved from {a_before} to {a_after} during the probe",
            headline=True,
        )
    if b_after != b_before:
        result.fail(f"{b}'s lastSequence moved from {b_before} to {b_after} during the probe")


# ------------------------------------------------------------ 4. idempotency


def _sample(records: Sequence[Mapping[str, Any]], size: int) -> list[Mapping[str, Any]]:
    """An evenly spread, deterministic sample with every command type represented."""
    if len(records) <= size:
        return list(records)
    by_type: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for record in records:
        by_type[str(record.get("type"))].append(record)
    quota = max(1, size // len(by_type))
    chosen: list[Mapping[str, Any]] = []
    for items in by_type.values():
        if len(items) <= quota:
            chosen.extend(items)
        else:
            step = len(items) / quota
            chosen.extend(items[int(i * step)] for i in range(quota))
    return chosen


NEEDS_RUN_LOG = (
    "needs --run-log output/commands.jsonl: the replies to compare against and the "
    "idempotency keys are only in the run log (events do not carry the keys, so "
    "commands rebuilt from them would be new commands, not replays)"
)


@check("idempotency")
def idempotency(ctx: Inspection, result: CheckResult) -> None:
    """Replay a sample of the run's accepted commands (at least 50, or all) with
    new commandIds and timestamps: each must come back 202 with
    `Idempotent-Replayed: true` and the recorded reply unchanged; one PostEntry
    with a changed payload under the same key must be refused with
    IDEMPOTENCY_KEY_REUSED; the tenant's lastSequence must not move."""
    if ctx.run_log is None:
        result.status = SKIP
        result.note = NEEDS_RUN_LOG
        return
    records = [
        r
        for r in ctx.run_log
        if r.get("outcome") in ("accepted", "replayed") and r.get("key") and r.get("reply")
    ]
    if not records:
        result.status = SKIP
        result.note = "the run log holds no accepted command to replay"
        return
    sample = _sample(records, max(50, ctx.idempotency_sample))
    before = ctx.last_sequence()
    for record in sample:
        command_type = str(record["type"])
        payload = record["payload"]
        tenant = payload["tenantCode"] if command_type == "CreateTenant" else ctx.tenant_id
        reply = ctx.client.send_command(
            command_type,
            payload,
            tenant_id=tenant,
            command_id=str(uuid.uuid4()),
            idempotency_key=str(record["key"]),
            timestamp=now_rfc3339(),
            raise_on_error=False,
        )
        result.count("replayed")
        if reply.status != 202:
            result.fail(
                f"{record['key']}: replay got {reply.status} {reply.invariant or reply.error}"
            )
            continue
        if not reply.replayed:
            result.fail(f"{record['key']}: replay lacks `Idempotent-Replayed: true`")
        if reply.body != record["reply"]:
            changed = sorted(
                k
                for k in set(reply.body) | set(record["reply"])
                if reply.body.get(k) != record["reply"].get(k)
            )
            result.fail(
                f"{record['key']}: replayed reply differs from the recorded one in {changed}"
            )
    entries = [r for r in sample if r.get("type") == "PostEntry"]
    if entries:
        record = entries[0]
        changed_payload = dict(record["payload"])
        changed_payload["narrative"] = str(changed_payload.get("narrative", "")) + " (changed)"
        reply = ctx.client.send_command(
            "PostEntry",
            changed_payload,
            tenant_id=ctx.tenant_id,
            idempotency_key=str(record["key"]),
            raise_on_error=False,
        )
        result.count("reused_key_probes")
        if reply.invariant != "IDEMPOTENCY_KEY_REUSED":
            result.fail(
                f"{record['key']} with another payload: {reply.status} "
                f"{reply.invariant or reply.error}, expected 422 IDEMPOTENCY_KEY_REUSED"
            )
    after = ctx.last_sequence()
    if after != before:
        result.fail(
            f"lastSequence moved from {before} to {after} during the replays", headline=True
        )


# ------------------------------------------------------------------ 5. audit


@check("audit_completeness")
def audit_completeness(ctx: Inspection, result: CheckResult) -> None:
    """Every accepted command of the run log has exactly the events its reply
    names (causationId = commandId) and every rejected one none; every
    AccountBalanceUpdated follows the EntryPosted of its entryId and matches its
    legs; every entry and deposit balances; every account an entry touches gets
    its AccountBalanceUpdated; the tenant's balances sum to zero."""
    events = ctx.events()
    by_causation: dict[str, list[str]] = defaultdict(list)
    entries: dict[str, Mapping[str, Any]] = {}
    pending: dict[str, set[str]] = {}
    for event in events:
        by_causation[str(event.get("causationId"))].append(str(event.get("eventId")))
        kind = event.get("eventType")
        payload = event.get("payload") or {}
        if kind in POSTING_EVENTS:
            result.count("postings")
            legs = payload.get("legs", [])
            debits = sum((amount(x["amount"]) for x in legs if x.get("direction") == "DEBIT"), ZERO)
            credits = sum(
                (amount(x["amount"]) for x in legs if x.get("direction") == "CREDIT"), ZERO
            )
            if debits != credits or not legs:
                result.fail(
                    f"{kind} {payload.get('entryId')}: debits {debits} != credits {credits}"
                )
            entry_id = str(payload.get("entryId"))
            entries[entry_id] = event
            if kind == "EntryPosted":
                pending[entry_id] = {str(x.get("accountId")) for x in legs}
        elif kind == "AccountBalanceUpdated":
            result.count("balance_updates")
            entry_id = str(payload.get("entryId"))
            account_id = str(payload.get("accountId"))
            posted = entries.get(entry_id)
            if posted is None:
                result.fail(
                    f"AccountBalanceUpdated seq {event.get('sequence')} for {account_id}: "
                    f"no EntryPosted (or FundsPosted) {entry_id} before it"
                )
                continue
            pending.get(entry_id, set()).discard(account_id)
            if account_id not in _touches(posted):
                result.fail(f"AccountBalanceUpdated for {account_id}: entry {entry_id} has no leg")
            elif _legs_net(posted, account_id) != amount(payload.get("change")):
                result.fail(
                    f"AccountBalanceUpdated for {account_id}: change {payload.get('change')}, "
                    f"entry {entry_id} gives {_legs_net(posted, account_id)}"
                )
    for entry_id, missing in pending.items():
        for account_id in sorted(missing):
            result.fail(f"EntryPosted {entry_id}: no AccountBalanceUpdated for {account_id}")

    total = sum((amount(acc["balance"]) for acc in ctx.accounts()), ZERO)
    result.count("accounts_summed", len(ctx.accounts()))
    if total != ZERO:
        result.fail(f"the tenant's balances sum to {total}, not 0")

    if ctx.run_log is None:
        result.note = (
            "stream-only: commands vs events not checked; it " + NEEDS_RUN_LOG.split(": ", 1)[0]
        )
        return
    for record in ctx.run_log:
        outcome = record.get("outcome")
        if (
            record.get("type") == "CreateTenant"
            and record.get("payload", {}).get("tenantCode") != ctx.tenant_id
        ):
            continue
        if outcome in ("accepted", "replayed"):
            reply = record.get("reply") or {}
            command_id = str(reply.get("commandId", record.get("commandId")))
            expected = [str(x) for x in reply.get("eventIds", [])]
            actual = by_causation.get(command_id, [])
            result.count("commands")
            if not expected:
                result.fail(f"{record.get('key')}: accepted with no eventIds")
            elif actual != expected:
                result.fail(
                    f"{record.get('key')}: reply names {len(expected)} event(s), the stream has "
                    f"{len(actual)} with causationId {command_id}"
                    + ("" if set(actual) != set(expected) else " (order differs)")
                )
        elif outcome in ("rejected-expected", "rejected-unexpected"):
            result.count("rejected_commands")
            if by_causation.get(str(record.get("commandId"))):
                result.fail(f"{record.get('key')}: rejected, yet it has events")


# ---------------------------------------------------------------- entry points


def run_checks(ctx: Inspection, names: Iterable[str] | None = None) -> list[CheckResult]:
    """Run the checks (all five by default), read-only ones first; results in
    the contract's order."""
    wanted = set(names) if names is not None else set(CHECKS)
    results: dict[str, CheckResult] = {}
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
    records = read_run_log(run_log) if isinstance(run_log, Path) else run_log
    iso = client.with_api_key(isolation_key) if isolation_key else None
    ctx = Inspection(
        client,
        tenant_id,
        run_log=records,
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
    refs = refs_from_log(ctx.run_log) if ctx.run_log is not None else {}
    return state_digest(ctx.accounts(), refs)


def render_results(results: Sequence[CheckResult], console: Console) -> None:
    """A table: invariant, verdict, what was checked, the first failure or note."""
    table = Table(title="Invariants", show_lines=False)
    table.add_column("invariant")
    table.add_column("result")
    table.add_column("checked")
    table.add_column("first failure / note", overflow="fold")
    styles = {PASS: "bold green", FAIL: "bold red", SKIP: "yellow"}
    for result in results:
        checked = ", ".join(f"{k}={v:,}" for k, v in result.checked.items())
        detail = result.failures[0] if result.failures else (result.note or "")
        if result.failure_count > 1:
            detail += f" (+{result.failure_count - 1} more)"
        table.add_row(
            result.name,
            f"[{styles[result.status]}]{result.status}[/]",
            checked,
            detail,
        )
    console.print(table)


def outcome_counter(results: Sequence[CheckResult]) -> Counter[str]:
    return Counter(r.status for r in results)
