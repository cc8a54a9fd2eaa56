"""audit_completeness: every command has its events, every balance change its posting,
and the tenant's balances sum to zero."""

from __future__ import annotations

from turingcore_client.money import cents, format_minor
from twin.invariants.compact import fingerprint
from twin.invariants.idempotency import NEEDS_RUN_LOG
from twin.invariants.inspection import PUMP_EVERY, Inspection
from twin.invariants.registry import check
from twin.invariants.results import CheckResult


@check("audit_completeness")
def audit_completeness(ctx: Inspection, result: CheckResult) -> None:
    """Every accepted command of the run log has exactly the events its reply
    names (causationId = commandId) and every rejected one none; every
    AccountBalanceUpdated follows the EntryPosted of its entryId and matches its
    legs; every entry and deposit balances; every account an entry touches gets
    its AccountBalanceUpdated; the tenant's balances sum to zero."""
    facts = ctx.stream()
    result.absorb(facts.audit)

    accounts = ctx.accounts()
    total = sum((cents(acc["balance"]) for acc in accounts), 0)
    result.count("accounts_summed", len(accounts))
    if total != 0:
        result.fail(f"the tenant's balances sum to {format_minor(total)}, not 0")

    if ctx.run_log is None:
        result.note = (
            "stream-only: commands vs events not checked; it " + NEEDS_RUN_LOG.split(": ", 1)[0]
        )
        return
    caused = facts.caused
    pump = ctx.pump
    for number, record in enumerate(ctx.run_log.records(), start=1):
        if not number % PUMP_EVERY:
            pump()
        outcome = record.get("outcome")
        if (
            record.get("type") == "CreateTenant"
            and record.get("payload", {}).get("tenantCode") != ctx.tenant_id
        ):
            continue
        if outcome in ("accepted", "replayed"):
            reply = record.get("reply") or {}
            command_id = str(reply.get("commandId", record.get("commandId")))
            expected = fingerprint(str(x) for x in reply.get("eventIds", []))
            actual = caused(command_id)
            result.count("commands")
            if not expected[0]:
                result.fail(f"{record.get('key')}: accepted with no eventIds")
            elif actual != expected:
                result.fail(
                    f"{record.get('key')}: reply names {expected[0]} event(s), the stream has "
                    f"{actual[0]} with causationId {command_id}"
                    + ("" if actual[0] != expected[0] else " (other events, or another order)")
                )
        elif outcome in ("rejected-expected", "rejected-unexpected"):
            result.count("rejected_commands")
            if caused(str(record.get("commandId")))[0]:
                result.fail(f"{record.get('key')}: rejected, yet it has events")
