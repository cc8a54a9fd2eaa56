"""audit_completeness: every command has its events, every balance change its posting,
and the tenant's balances sum to zero."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from turingcore_client.money import cents, format_minor
from twin.invariants.compact import fingerprint, key64
from twin.invariants.idempotency import NEEDS_RUN_LOG
from twin.invariants.inspection import PUMP_EVERY, Inspection
from twin.invariants.registry import check
from twin.invariants.results import FAILURES_KEPT, CheckResult
from twin.invariants.spill import FirstFew

if TYPE_CHECKING:
    from twin.invariants.spill import Spill

Events = tuple[int, int]  # (count, fingerprint) of a command's events


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
    if facts.commands is not None:  # compared during the stream pass, spilled
        result.absorb(facts.commands)
        return
    caused = facts.caused
    for _, record, (kind, command_id, events) in _compared(ctx, result):
        actual = caused(command_id)
        if _failed(kind, events, actual):
            result.fail(_problem(record, kind, command_id, events, actual[0]))


ACCEPTED, REJECTED = 0, 1
COUNTED = {ACCEPTED: "commands", REJECTED: "rejected_commands"}


def _expected(ctx: Inspection, record: Mapping[str, Any]) -> tuple[int, str, Events] | None:
    """(kind, commandId, (count, fingerprint) of the events it names) of a run-log record
    the audit compares with the stream, ACCEPTED (the events its reply names) or
    REJECTED (none); None for one it does not compare."""
    outcome = record.get("outcome")
    if (
        record.get("type") == "CreateTenant"
        and record.get("payload", {}).get("tenantCode") != ctx.tenant_id
    ):
        return None
    if outcome in ("accepted", "replayed"):
        reply = record.get("reply") or {}
        command_id = str(reply.get("commandId", record.get("commandId")))
        return ACCEPTED, command_id, fingerprint(str(x) for x in reply.get("eventIds", []))
    if outcome in ("rejected-expected", "rejected-unexpected"):
        return REJECTED, str(record.get("commandId")), (0, 0)
    return None


def _compared(
    ctx: Inspection, result: CheckResult
) -> Iterator[tuple[int, Mapping[str, Any], tuple[int, str, Events]]]:
    """(ordinal, record, `_expected`) of each record of the run log the audit compares,
    counted in `result`, with a look at the replies now and then."""
    assert ctx.run_log is not None
    pump = ctx.pump
    for ordinal, record in enumerate(ctx.run_log.records(), start=1):
        if not ordinal % PUMP_EVERY:
            pump()
        expected = _expected(ctx, record)
        if expected is not None:
            result.count(COUNTED[expected[0]])
            yield ordinal, record, expected


def _failed(kind: int, expected: Events, actual: Events) -> bool:
    if kind == REJECTED:
        return actual[0] != 0
    return not expected[0] or actual != expected


def _problem(
    record: Mapping[str, Any], kind: int, command_id: str, expected: Events, actual: int
) -> str:
    """What is wrong with a record that `_failed`: `actual` is how many events the
    stream has with its causationId."""
    if kind == REJECTED:
        return f"{record.get('key')}: rejected, yet it has events"
    if not expected[0]:
        return f"{record.get('key')}: accepted with no eventIds"
    return (
        f"{record.get('key')}: reply names {expected[0]} event(s), the stream has "
        f"{actual} with causationId {command_id}"
        + ("" if actual != expected[0] else " (other events, or another order)")
    )


def compare_spilled(ctx: Inspection, spill: Spill) -> CheckResult:
    """The run-log part of audit_completeness against a spilled stream pass (`spill`,
    whose causes are complete): what `audit_completeness` finds with the stream's
    fingerprints in memory, the same counts, failures and messages, in memory one
    partition's fingerprints at a time.

    One pass over the run log writes each compared record's (commandId key, kind and
    expected count, expected fingerprint, ordinal) to the partition of its key; each
    partition's records are then compared with that partition's fingerprints; the
    first failing records (by ordinal) are read again for their messages."""
    assert ctx.run_log is not None
    result = CheckResult("audit_completeness")
    pump = ctx.pump
    records = spill.partitions("log", 4)
    for ordinal, _, (kind, command_id, (count, value)) in _compared(ctx, result):
        records.append(key64(command_id), count << 1 | kind, value, ordinal)
    records.flush()

    failing = FirstFew(FAILURES_KEPT)  # (ordinal, the stream's count)
    for p in range(len(records)):
        get = spill.caused(p, pump).get
        for words in records.read(p):
            for j in range(0, len(words), 4):
                packed = words[j + 1]
                events = (packed >> 1, words[j + 2])
                actual = get(words[j])
                if _failed(packed & 1, events, actual):
                    failing.add(words[j + 3], actual[0])
            pump()

    if failing.total:
        actual_of = dict(failing.items())
        last = max(actual_of)
        for ordinal, record in enumerate(ctx.run_log.records(), start=1):
            if ordinal in actual_of:
                expected = _expected(ctx, record)
                assert expected is not None
                kind, command_id, events = expected
                result.fail(_problem(record, kind, command_id, events, actual_of[ordinal]))
            if ordinal >= last:
                break
        result.failure_count = failing.total
    return result
