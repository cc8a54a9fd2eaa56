"""The one pass over the tenant stream, and event_integrity, the check it makes."""

from __future__ import annotations

import operator
from collections import OrderedDict, defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any

from turingcore_client.canonical import GENESIS_HASH, event_hash
from turingcore_client.errors import api_error
from turingcore_client.money import cents, format_minor
from turingcore_client.paging import PAGE_SIZE_MAX, CursorStuck, cursor_query, next_after
from twin.invariants.compact import Fingerprints, IdSequence, KeySet, key64
from twin.invariants.inspection import PAGES_AHEAD, PUMP_EVERY, STREAM, Inspection
from twin.invariants.registry import check
from twin.invariants.results import CheckResult

POSTING_EVENTS = frozenset({"FundsPosted", "EntryPosted"})
BALANCE_EVENTS = POSTING_EVENTS | {"AccountBalanceUpdated"}
# EntryPosted whose every account got its AccountBalanceUpdated, kept for a late or
# second update (the mock writes them in the same commit as the entry); older ones go.
FINISHED_ENTRIES_KEPT = 4096


@dataclass
class StreamFacts:
    """What one pass over the tenant stream found and kept for the other checks."""

    integrity: CheckResult  # event_integrity's verdict
    audit: CheckResult  # the stream part of audit_completeness
    events: int = 0
    # account id -> the eventIds of its postings and balance updates, in stream order
    by_account: dict[str, IdSequence] = field(default_factory=dict)
    # causationId (the commandId) -> (count, fingerprint) of its eventIds, in stream order
    by_causation: Fingerprints = field(default_factory=Fingerprints)

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
    what stays grows with the accounts, plus 16 to 40 bytes an event and a command."""
    tenant_id = ctx.tenant_id
    facts = StreamFacts(CheckResult("event_integrity"), CheckResult("audit_completeness"))
    integrity, audit = facts.integrity, facts.audit
    tenant = ctx.tenant()
    last_sequence = tenant.get("lastSequence")
    try:
        stated_end = int(last_sequence) if last_sequence is not None else 0
    except (TypeError, ValueError):
        stated_end = 0
    previous = GENESIS_HASH
    index = 0
    seen_ids = KeySet(stated_end)
    by_account: defaultdict[str, IdSequence] = defaultdict(IdSequence)
    by_causation = Fingerprints(stated_end // 2)
    names: dict[str, str] = {}  # one string object per account id, for memory
    entries: dict[str, dict[str, int | Decimal]] = {}  # entryId -> net (cents) per account
    finished: OrderedDict[str, dict[str, int | Decimal]] = OrderedDict()
    pending: dict[str, set[str]] = {}  # EntryPosted accounts still without their update
    postings = updates = 0
    pump = ctx.pump
    pump_at = PUMP_EVERY
    last_cause: Any = object()
    of_cause = 0
    feed_cause = by_causation.feed

    for events in _stream_pages(ctx, stated_end, integrity.fail):
        for event in events:
            index += 1
            if index >= pump_at:
                pump()
                pump_at = index + PUMP_EVERY
            get = event.get
            sequence = get("sequence")
            if sequence != index:
                integrity.fail(f"sequence {sequence} where {index} was due (gap or reorder)")
            if get("tenantId") != tenant_id:
                integrity.fail(f"sequence {sequence}: tenantId {get('tenantId')!r}")
            if get("prevHash") != previous:
                integrity.fail(f"sequence {sequence}: prevHash does not link to the previous hash")
            stated = get("hash")
            try:
                recomputed = event_hash(event)
            except Exception as exc:  # a value JCS refuses, e.g. an integer beyond 2^53
                recomputed = f"(none: {type(exc).__name__}: {exc})"
            if stated != recomputed:
                integrity.fail(
                    f"sequence {sequence}: hash {str(stated)[:16]}... recomputes as "
                    f"{recomputed[:16]}..."
                )
            previous = str(stated)
            event_id = str(get("eventId"))
            if not seen_ids.add(key64(event_id)):
                integrity.fail(f"sequence {sequence}: eventId {event_id} appears twice")
            cause = get("causationId")
            if cause != last_cause:  # a command's events mostly come together
                last_cause = cause
                of_cause = by_causation.slot(key64(str(cause)))
            feed_cause(of_cause, event_id)

            kind = get("eventType")
            if kind == "AccountBalanceUpdated":
                updates += 1
                payload = get("payload") or {}
                account_id = str(payload.get("accountId"))
                by_account[account_id].add(event_id)
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
                    account_id = names.setdefault(account_id, account_id)  # kept: one copy
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
                    by_account[account_id].add(event_id)
                entries[entry_id] = nets
                if kind == "EntryPosted":
                    if nets:
                        pending[entry_id] = set(nets)
                    else:
                        pending.pop(entry_id, None)

    integrity.count("events", index)
    audit.count("postings", postings)
    audit.count("balance_updates", updates)
    for entry_id, missing in pending.items():
        for account_id in sorted(missing):
            audit.fail(f"EntryPosted {entry_id}: no AccountBalanceUpdated for {account_id}")
    if last_sequence is not None and stated_end != index:
        integrity.fail(f"tenant lastSequence {last_sequence}, the stream has {index} events")
    last_hash = tenant.get("lastHash")
    if index and last_hash is not None and last_hash != previous:
        integrity.fail("tenant lastHash is not the hash of the last event")
    facts.events = index
    facts.by_account = dict(by_account)
    facts.by_causation = by_causation
    return facts


@check("event_integrity")
def event_integrity(ctx: Inspection, result: CheckResult) -> None:
    """Sequences 1..N without gaps, each prevHash the previous hash (64 zeros
    first), each hash recomputed from the envelope, no eventId twice, and the
    tenant's lastSequence/lastHash at the end of the chain (see `read_stream`)."""
    result.absorb(ctx.stream().integrity)
