"""The one pass over the tenant stream, and event_integrity, the check it makes."""

from __future__ import annotations

import operator
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any

from turingcore_client.canonical import GENESIS_HASH, event_hash
from turingcore_client.errors import api_error
from turingcore_client.money import cents, format_minor
from turingcore_client.paging import PAGE_SIZE_MAX, CursorStuck, cursor_query, next_after
from twin.invariants.compact import Fingerprints, KeySet, Sequences, key64
from twin.invariants.inspection import PAGES_AHEAD, PUMP_EVERY, STREAM, Inspection
from twin.invariants.registry import check
from twin.invariants.results import FAIL, FAILURES_KEPT, CheckResult
from twin.invariants.spill import Spill, parts_for

POSTING_EVENTS = frozenset({"FundsPosted", "EntryPosted"})
BALANCE_EVENTS = POSTING_EVENTS | {"AccountBalanceUpdated"}
# EntryPosted whose every account got its AccountBalanceUpdated, and FundsPosted (a
# deposit, which the mock follows with no update), kept for a late or second update (the
# mock writes them in the same commit as the entry); older ones go.
FINISHED_ENTRIES_KEPT = 4096


@dataclass
class StreamFacts:
    """What one pass over the tenant stream found and kept for the other checks."""

    integrity: CheckResult  # event_integrity's verdict
    audit: CheckResult  # the stream part of audit_completeness
    events: int = 0
    # key64(account id) -> the eventIds of its postings and balance updates, in stream order
    by_account: Sequences = field(default_factory=Sequences)
    # causationId (the commandId) -> (count, fingerprint) of its eventIds, in stream order
    by_causation: Fingerprints = field(default_factory=Fingerprints)
    # The run-log part of audit_completeness when the stream was spilled to disk (then
    # `by_causation` is empty: the commands were compared with it partition by partition
    # before its files went, `twin.invariants.audit.compare_spilled`).
    commands: CheckResult | None = None

    def caused(self, command_id: str) -> tuple[int, int]:
        """(count, fingerprint) of the events caused by `command_id`, in stream order
        (`twin.invariants.compact.fingerprint` of their eventIds); (0, 0) for none."""
        return self.by_causation.get(key64(command_id))


def _stream_pages(
    ctx: Inspection, last_sequence: int, stuck: Callable[[str], None]
) -> Iterator[list[dict[str, Any]]]:
    """The tenant stream's pages in order, following `nextCursor` exactly as a single
    reader does. The pages a stream without gaps will ask for next (after=0, 1000,
    2000, ... up to `last_sequence`) are asked for ahead; one is used only when the
    cursor really names it, so a stream with gaps or short pages is read exactly as
    sequential paging reads it (the guesses stop at the first miss)."""
    path = f"/v1/tenants/{ctx.tenant_id}/events"
    arrived: dict[int, tuple[int, Any]] = {}
    asked: set[int] = set()
    guesses: deque[int] = deque()
    next_guess = 0

    def ask(after: int) -> None:
        def done(status: int, body: Any) -> None:
            if after in asked:
                arrived[after] = (status, body)

        asked.add(after)
        ctx.get(ctx.client, path, cursor_query(after, PAGE_SIZE_MAX), done, STREAM)

    after = 0
    while True:
        if guesses and guesses[0] == after:
            guesses.popleft()
        elif guesses:  # off the guessed cursors: stop guessing
            for guess in guesses:
                asked.discard(guess)
                arrived.pop(guess, None)
            guesses.clear()
            next_guess = last_sequence
        if after not in asked:
            ask(after)
        while len(guesses) < PAGES_AHEAD and next_guess < last_sequence:
            next_guess += PAGE_SIZE_MAX
            if next_guess < last_sequence:
                guesses.append(next_guess)
                ask(next_guess)
        ctx.mux.run_until(partial(operator.contains, arrived, after))
        status, body = arrived.pop(after)
        asked.discard(after)
        if status >= 400:
            raise api_error(status, body)
        yield body.get("events", [])
        try:
            following = next_after(body, after)
        except CursorStuck as exc:
            stuck(f"{exc}; paging stopped")
            return
        if following is None:
            return
        after = following


def read_stream(ctx: Inspection) -> StreamFacts:
    """Page through the tenant stream once, checking as it goes:

    - the chain (event_integrity): sequences 1..N, tenantId, each prevHash the
      previous hash (64 zeros first), each hash recomputed, eventIds unique, and
      the tenant's lastSequence/lastHash (read first) at the end of the chain;
    - the postings (audit_completeness, stream part): each FundsPosted/EntryPosted
      balances; each AccountBalanceUpdated follows the posting of its entryId and
      its change is that posting's net for its account; every EntryPosted account
      gets its AccountBalanceUpdated;

    and keeping only which events belong to each account and to each command, as
    fingerprints (`twin.invariants.compact`). A page's events are dropped once checked;
    what stays grows with the accounts, plus 16 to 40 bytes an event and a command; or,
    past `spill.KEYS_PER_PART` events, is flat: the eventIds and the commands' events
    are spilled to disk by hash partition and checked a partition at a time after the
    pass (the duplicate eventIds here, the run log's commands through
    `audit.compare_spilled`), the files removed before this returns."""
    tenant = ctx.tenant()
    last_sequence = tenant.get("lastSequence")
    try:
        stated_end = int(last_sequence) if last_sequence is not None else 0
    except (TypeError, ValueError):
        stated_end = 0
    parts = parts_for(stated_end)
    if parts == 1:
        return _read(ctx, tenant, stated_end, None)
    with Spill(parts, causes=ctx.run_log is not None) as spill:
        return _read(ctx, tenant, stated_end, spill)


def _read(
    ctx: Inspection, tenant: dict[str, Any], stated_end: int, spill: Spill | None
) -> StreamFacts:
    """`read_stream`, keeping the eventIds and the commands' events in memory, or in
    `spill`'s files when there is one."""
    tenant_id = ctx.tenant_id
    facts = StreamFacts(CheckResult("event_integrity"), CheckResult("audit_completeness"))
    integrity, audit = facts.integrity, facts.audit
    last_sequence = tenant.get("lastSequence")
    previous = GENESIS_HASH
    index = 0
    # Where each kept integrity failure was found (the event's position; 0: at the
    # event, before its eventId was looked up; 2: after the events up to it), so that
    # the duplicate eventIds found after a spilled pass go in among them in stream order.
    found_at: list[tuple[int, int]] = []

    def fail(message: str, when: int = 0) -> None:
        if len(integrity.failures) < FAILURES_KEPT:
            found_at.append((index, when))
        integrity.fail(message)

    in_memory = spill is None
    seen_ids = KeySet(stated_end if in_memory else 0)
    by_account = Sequences()
    of_account, feed_account = by_account.slot, by_account.feed
    by_causation = Fingerprints(stated_end // 2 if in_memory else 0)
    entries: dict[str, dict[str, int | Decimal]] = {}  # entryId -> net (cents) per account
    finished: OrderedDict[str, dict[str, int | Decimal]] = OrderedDict()
    pending: dict[str, set[str]] = {}  # EntryPosted accounts still without their update
    postings = updates = 0
    pump = ctx.pump
    pump_at = PUMP_EVERY
    last_cause: Any = object()
    of_cause = cause_key = 0
    feed_cause = by_causation.feed_key
    spill_event = spill.add if spill is not None else None

    for events in _stream_pages(ctx, stated_end, partial(fail, when=2)):
        for event in events:
            index += 1
            if index >= pump_at:
                pump()
                pump_at = index + PUMP_EVERY
            get = event.get
            sequence = get("sequence")
            if sequence != index:
                fail(f"sequence {sequence} where {index} was due (gap or reorder)")
            if get("tenantId") != tenant_id:
                fail(f"sequence {sequence}: tenantId {get('tenantId')!r}")
            if get("prevHash") != previous:
                fail(f"sequence {sequence}: prevHash does not link to the previous hash")
            stated = get("hash")
            try:
                recomputed = event_hash(event)
            except Exception as exc:  # a value JCS refuses, e.g. an integer beyond 2^53
                recomputed = f"(none: {type(exc).__name__}: {exc})"
            if stated != recomputed:
                fail(
                    f"sequence {sequence}: hash {str(stated)[:16]}... recomputes as "
                    f"{recomputed[:16]}..."
                )
            previous = str(stated)
            event_id = str(get("eventId"))
            event_key = key64(event_id)
            cause = get("causationId")
            if cause != last_cause:  # a command's events mostly come together
                last_cause = cause
                cause_key = key64(str(cause))
                if in_memory:
                    of_cause = by_causation.slot(cause_key)
            if spill_event is None:
                if not seen_ids.add(event_key):
                    fail(f"sequence {sequence}: eventId {event_id} appears twice")
                feed_cause(of_cause, event_key)
            else:
                spill_event(index, sequence, event_id, event_key, cause_key)

            kind = get("eventType")
            if kind == "AccountBalanceUpdated":
                updates += 1
                payload = get("payload") or {}
                account_id = str(payload.get("accountId"))
                feed_account(of_account(key64(account_id)), event_id)
                entry_id = str(payload.get("entryId"))
                nets = entries.get(entry_id)
                if nets is None:
                    nets = finished.get(entry_id)
                if nets is None:
                    audit.fail(
                        f"AccountBalanceUpdated seq {sequence} for {account_id}: "
                        f"no EntryPosted (or FundsPosted) {entry_id} before it"
                    )
                    continue
                waiting = pending.get(entry_id)
                if waiting is not None:
                    waiting.discard(account_id)
                    if not waiting:  # the entry is complete: its nets can go soon
                        del pending[entry_id]
                        finished[entry_id] = entries.pop(entry_id)
                        if len(finished) > FINISHED_ENTRIES_KEPT:
                            finished.popitem(last=False)
                net = nets.get(account_id)
                if net is None:
                    audit.fail(
                        f"AccountBalanceUpdated for {account_id}: entry {entry_id} has no leg"
                    )
                elif net != cents(payload.get("change")):
                    audit.fail(
                        f"AccountBalanceUpdated for {account_id}: change {payload.get('change')}, "
                        f"entry {entry_id} gives {format_minor(net)}"
                    )
            elif kind in POSTING_EVENTS:
                postings += 1
                payload = get("payload") or {}
                legs = payload.get("legs", [])
                debits: int | Decimal = 0
                credits: int | Decimal = 0
                nets = {}
                for leg in legs:
                    account_id = str(leg.get("accountId"))
                    value = cents(leg["amount"])
                    direction = leg.get("direction")
                    if direction == "DEBIT":
                        debits += value
                    else:
                        if direction == "CREDIT":
                            credits += value
                        value = -value
                    nets[account_id] = nets.get(account_id, 0) + value
                entry_id = str(payload.get("entryId"))
                if debits != credits or not legs:
                    audit.fail(
                        f"{kind} {payload.get('entryId')}: debits {format_minor(debits)} != "
                        f"credits {format_minor(credits)}"
                    )
                for account_id in nets:
                    feed_account(of_account(key64(account_id)), event_id)
                if kind == "EntryPosted":
                    if nets:
                        pending[entry_id] = set(nets)
                    else:
                        pending.pop(entry_id, None)
                if entry_id in pending:
                    entries[entry_id] = nets
                    continue
                # Nothing to wait for (a deposit, or an entry without legs): kept for a
                # while only, as a finished entry (210,000 deposits at 100,000 members).
                entries.pop(entry_id, None)
                finished[entry_id] = nets
                finished.move_to_end(entry_id)
                if len(finished) > FINISHED_ENTRIES_KEPT:
                    finished.popitem(last=False)

    integrity.count("events", index)
    audit.count("postings", postings)
    audit.count("balance_updates", updates)
    for entry_id, missing in pending.items():
        for account_id in sorted(missing):
            audit.fail(f"EntryPosted {entry_id}: no AccountBalanceUpdated for {account_id}")
    if last_sequence is not None and stated_end != index:
        fail(f"tenant lastSequence {last_sequence}, the stream has {index} events", 2)
    last_hash = tenant.get("lastHash")
    if index and last_hash is not None and last_hash != previous:
        fail("tenant lastHash is not the hash of the last event", 2)
    facts.events = index
    facts.by_account = by_account
    facts.by_causation = by_causation
    if spill is not None:
        spill.finish()
        _spilled_duplicates(ctx, spill, integrity, found_at)
        if ctx.run_log is not None:
            from twin.invariants.audit import compare_spilled

            facts.commands = compare_spilled(ctx, spill)
    return facts


def _spilled_duplicates(
    ctx: Inspection, spill: Spill, integrity: CheckResult, found_at: list[tuple[int, int]]
) -> None:
    """Add the duplicate eventIds of a spilled pass to `integrity`, where the pass in
    memory would have said them: each after its event's other failures, before the next
    event's (`found_at` says where the kept failures were found)."""
    duplicates = spill.duplicates(FAILURES_KEPT, ctx.pump)
    if not duplicates.total:
        return
    first = duplicates.items()
    texts = spill.texts({index for index, _ in first})
    said = [
        ((index, 1), f"sequence {texts[index][0]}: eventId {texts[index][1]} appears twice")
        for index, _ in first
    ]
    merged = sorted([*zip(found_at, integrity.failures, strict=True), *said], key=lambda x: x[0])
    integrity.failures = [message for _, message in merged[:FAILURES_KEPT]]
    integrity.failure_count += duplicates.total
    integrity.status = FAIL


@check("event_integrity")
def event_integrity(ctx: Inspection, result: CheckResult) -> None:
    """Sequences 1..N without gaps, each prevHash the previous hash (64 zeros
    first), each hash recomputed from the envelope, no eventId twice, and the
    tenant's lastSequence/lastHash at the end of the chain (see `read_stream`)."""
    result.absorb(ctx.stream().integrity)
