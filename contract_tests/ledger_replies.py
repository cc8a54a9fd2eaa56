"""What a reply and the events must be: pure `*_problem` functions that compare what the
service served with what the reference model (`contract_tests.model`) predicts, and
the bookkeeping of the events each accepted command must append (`Group`, `TenantView`).

Each returns None when the service agrees, else a sentence saying how it differs;
the state machine (`contract_tests.ledger_machine`) turns that into a row's failure.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from contract_tests.extensions import Extensions
from contract_tests.ledger_commands import GENESIS_HASH, reply_ids
from contract_tests.ledger_wire import Sent
from contract_tests.model import (
    INVARIANT_VIOLATION,
    Exactly,
    ExpectedEvent,
    Outcome,
    TenantLedger,
    number_to_minor,
    to_minor,
)
from turingcore_client.canonical import canonical_json


@dataclass
class Group:
    """The events one accepted command must have appended."""

    command_id: str
    event_ids: list[Any] | None  # the reply's eventIds (an extension), None without them
    events: list[ExpectedEvent]
    what: str  # "PostEntry <key>", for messages

    def touching(self, account_id: str) -> Group | None:
        """The part of this group an account's own stream holds, or None."""
        kept = [i for i, e in enumerate(self.events) if touches(e, account_id)]
        if not kept:
            return None
        ids = None if self.event_ids is None else [self.event_ids[i] for i in kept]
        return Group(self.command_id, ids, [self.events[i] for i in kept], self.what)


def touches(event: ExpectedEvent, account_id: str) -> bool:
    """True when the event is in the account's stream: its entity, or a leg on it."""
    if event.entity_id == account_id:
        return True
    legs = event.payload.get("legs") or []
    return any(isinstance(leg, dict) and leg.get("accountId") == account_id for leg in legs)


def touched_accounts(group: Group) -> list[str]:
    found: dict[str, None] = {}
    for event in group.events:
        if event.event_type in ("AccountOpened", "LoanFacilityCreated", "AccountBalanceUpdated"):
            found[event.entity_id] = None
        for leg in event.payload.get("legs") or []:
            found[str(leg.get("accountId"))] = None
    return list(found)


@dataclass
class AcceptedCommand:
    tenant: str
    command_type: str
    payload: dict[str, Any]
    key: str | None
    command_id: str


@dataclass
class TenantView:
    """What the suite has read of a tenant's stream (or of one account's) so far."""

    cursor: int = 0  # events read (the tenant stream's: its last sequence)
    prev_hash: str = GENESIS_HASH
    folded: dict[str, int] = field(default_factory=dict)  # balances folded from the stream
    batches: list[list[Group]] = field(default_factory=list)  # not yet read, in order
    # Without the tenant stream: each account's own stream, and the accounts to read at
    # the next check even when no accepted command touched them.
    accounts: dict[str, TenantView] = field(default_factory=dict)
    suspects: set[str] = field(default_factory=set)


def subset_problem(expected: Any, actual: Any, where: str = "payload") -> str | None:
    """Where `actual` differs from `expected` (dicts: only the expected keys count)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{where}: expected an object, got {actual!r}"
        if isinstance(expected, Exactly) and set(actual) != set(expected):
            return f"{where}: expected {dict(expected)!r}, got {actual!r}"
        for key, value in expected.items():
            if key not in actual and value is not None:
                return f"{where}.{key} is missing"
            problem = subset_problem(value, actual.get(key), f"{where}.{key}")
            if problem:
                return problem
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return f"{where}: expected {expected!r}, got {actual!r}"
        for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
            problem = subset_problem(want, got, f"{where}[{index}]")
            if problem:
                return problem
        return None
    if expected is None:
        # An absent optional field may be written as null or left out.
        return None if actual is None else f"{where}: expected null, got {actual!r}"
    if isinstance(expected, bool | str):
        return (
            None
            if actual == expected and type(actual) is type(expected)
            else (f"{where}: expected {expected!r}, got {actual!r}")
        )
    if isinstance(actual, bool) or not isinstance(actual, int | float) or actual != expected:
        return f"{where}: expected {expected!r}, got {actual!r}"
    return None


def event_hash(prev_hash: str, envelope: dict[str, Any]) -> str:
    """SHA-256 hex of prevHash then the RFC 8785 JSON of the envelope without `hash`."""
    body = {k: v for k, v in envelope.items() if k != "hash"}
    return hashlib.sha256(prev_hash.encode("utf-8") + canonical_json(body)).hexdigest()


def chain_problem(prev: str, events: list[dict[str, Any]], why: str = "") -> tuple[str | None, str]:
    """The first break in the hash chain of `events` after the hash `prev` (a prevHash
    that does not link, or a hash that does not recompute; `why` says what the input
    was), or None; and the hash the chain ends at."""
    for event in events:
        if event.get("prevHash") != prev:
            return f"event {event.get('sequence')}: prevHash does not link to the one before", prev
        recomputed = event_hash(prev, event)
        if event.get("hash") != recomputed:
            return (
                f"event {event.get('sequence')} ({event.get('eventType')}){why}: hash "
                f"{event.get('hash')} does not recompute (the RFC 8785 hash is {recomputed})"
            ), prev
        prev = str(event["hash"])
    return None, prev


def reply_row(outcome: Outcome, command_type: str) -> str:
    """The report row a command's reply counts in."""
    if outcome.replay_of is not None:
        return "idempotent_replay"
    if outcome.status == 202:
        return f"accepted:{command_type}"
    return outcome.invariant or outcome.error or str(outcome.status)


def extension_rows(outcome: Outcome, ext: Extensions) -> list[str]:
    """The extension rows a reply that passed `reply_problem` also counts in."""
    if outcome.replay_of is not None:
        return ["replay_header"] if ext["replay_header"] else []
    if outcome.status != 202:
        return []
    return [name for name in ("command_result", "event_ids") if ext[name]]


def reply_problem(
    outcome: Outcome,
    sent: Sent,
    tenant: str,
    command_type: str,
    command_id: str,
    ext: Extensions | None = None,
    correlation: str | None = None,
) -> tuple[str | None, str | None]:
    """How a command's reply differs from what the model says it must be, and the row
    of an extension that is wrong (None: the reply's own row); (None, None) when right."""
    ext = ext or Extensions.everything()
    response = sent.response
    body = sent.json()
    header = response.headers.get("Idempotent-Replayed")
    if outcome.replay_of is not None:
        if response.status_code != 202:
            return "a replay must get 202", None
        if response.content != outcome.replay_of.reply:
            return (
                "the replayed body differs from the first reply: "
                f"{outcome.replay_of.reply[:200]!r} then {response.content[:200]!r}"
            ), None
        if ext["replay_header"] and header != "true":
            return "the Idempotent-Replayed: true header is missing", "replay_header"
        return None, None
    if response.status_code != outcome.status:
        return f"status {response.status_code}", None
    if not isinstance(body, dict):
        return "the body is not a JSON object", None
    if outcome.status == 202:
        published = ("commandId", "status", "correlationId", "acceptedAt")
        missing = [name for name in published if name not in body]
        if missing:
            return f"CommandAccepted lacks {', '.join(missing)}", None
        if body["commandId"] != command_id or body["status"] != "ACCEPTED":
            return f"commandId/status are {body['commandId']}/{body['status']}", None
        if correlation is not None and body["correlationId"] != correlation:
            return (
                f"correlationId is {body['correlationId']!r}, not the X-Correlation-Id "
                f"{correlation!r} the command was sent with"
            ), None
        if correlation is None and body["correlationId"] != command_id:
            return "correlationId must default to the commandId", None
        ids = reply_ids(body, command_type)
        if ids.get("tenantId") != tenant:
            return f"the reply's tenantId is {ids.get('tenantId')!r}, not {tenant}", None
        lacking = [name for name, value in ids.items() if not isinstance(value, str)]
        if lacking:
            return f"the reply lacks {', '.join(lacking)} at its top level", None
        if ext["replay_header"] and header is not None:
            return "a first acceptance is marked Idempotent-Replayed", "replay_header"
        if ext["command_result"]:
            result = body.get("result")
            if not isinstance(result, dict) or {k: result.get(k) for k in ids} != ids:
                return f"result {result!r} does not name the ids {ids}", "command_result"
        if ext["event_ids"]:
            event_ids = body.get("eventIds")
            if (
                not isinstance(event_ids, list)
                or len(event_ids) != len(outcome.events)
                or len(set(event_ids)) != len(event_ids)
            ):
                return (
                    f"eventIds {event_ids!r}: expected {len(outcome.events)} distinct ids",
                    "event_ids",
                )
        return None, None
    if outcome.status == 422:
        if body.get("error") != INVARIANT_VIOLATION:
            return f"error is {body.get('error')!r}, not {INVARIANT_VIOLATION}", None
        if body.get("invariant") != outcome.invariant:
            return f"invariant is {body.get('invariant')!r}", None
        if body.get("commandId") != command_id:
            return f"commandId is {body.get('commandId')!r}", None
        return None, None
    if body.get("error") != outcome.error:
        return f"error is {body.get('error')!r}", None
    return None, None


def applied_copy(sent: Sent, command_id: str) -> bool:
    """True when this copy of a command was the one applied: a 202 whose commandId is the
    copy's own (a replay carries the first copy's)."""
    body = sent.json()
    return (
        sent.response.status_code == 202
        and isinstance(body, dict)
        and body.get("commandId") == command_id
    )


def copies_problem(first: Sent, replies: list[Sent], ext: Extensions | None = None) -> str | None:
    """Every copy but the applied one must be its replay, or 409 COMMAND_IN_FLIGHT."""
    header = (ext or Extensions.everything())["replay_header"]
    for sent in replies:
        status = sent.response.status_code
        if sent is first:
            continue
        if status == 409 and (sent.json() or {}).get("error") == "COMMAND_IN_FLIGHT":
            continue
        if (
            status == 202
            and (not header or sent.response.headers.get("Idempotent-Replayed") == "true")
            and sent.response.content == first.response.content
        ):
            continue
        return (
            f"a copy got {sent.summary()}, not a replay of the first reply or 409 COMMAND_IN_FLIGHT"
        )
    return None


def status_problem(sent: Sent, status: int, error: str, what: str) -> str | None:
    body = sent.json()
    if (
        sent.response.status_code == status
        and isinstance(body, dict)
        and body.get("error") == error
    ):
        return None
    return f"{sent.method} {sent.url} with {what}: expected {status} {error}, got {sent.summary()}"


def balances_problem(
    tenant: TenantLedger, found: dict[str, dict[str, Any]], every_account: bool = True
) -> str | None:
    """How the served accounts differ from the model's, or None.

    `every_account`: `found` is every account of the tenant (GL ones too, listed with
    accountType=ALL, an extension), so the balances must also sum to zero; else it is
    the members' accounts, the published listing.
    """
    wanted = {
        a: account
        for a, account in tenant.accounts.items()
        if every_account or account.account_type == "CUSTOMER"
    }
    missing = [a for a in wanted if a not in found]
    extra = [a for a in found if a not in wanted]
    if missing or extra:
        return f"accounts missing {missing[:3]}, unexpected {extra[:3]}"
    total = 0
    for account_id, account in wanted.items():
        served = found[account_id]
        try:
            balance = number_to_minor(served.get("balance"))
        except ValueError as exc:
            return f"account {account_id}: balance {exc}"
        total += balance
        if balance != account.balance:
            return (
                f"account {account_id} ({account.product_code or 'GL'}): balance "
                f"{served.get('balance')}, the model has {account.balance / 100:.2f}"
            )
        if account.facility is not None and served.get("facilityLimit") is not None:
            limit = served.get("facilityLimit")  # an extension: checked when served
            if not isinstance(limit, int | float) or to_minor(limit) != account.facility:
                expected = f"{account.facility / 100:.2f}"
                return f"account {account_id}: facilityLimit {limit!r}, expected {expected}"
    if every_account and total != 0:
        return f"the tenant's balances sum to {total / 100:.2f}, not zero"
    return None


EVENT_IDS_DIFFER = "the events' ids differ from the reply's eventIds"


def events_problem(view: TenantView, events: list[dict[str, Any]]) -> str | None:
    """How new events differ from the accepted commands' expected groups, or None.

    A command's events must be contiguous and in the documented order; commands follow
    each other in the order they were accepted, except within a concurrent batch, whose
    commands may come in any order. Each AccountBalanceUpdated balance must equal the
    fold of the stream's postings up to it.
    """
    runs: list[list[dict[str, Any]]] = []
    for event in events:
        if runs and runs[-1][0].get("causationId") == event.get("causationId"):
            runs[-1].append(event)
        else:
            runs.append([event])
    position = 0
    for batch in view.batches:
        waiting = {group.command_id: group for group in batch}
        while waiting:
            if position >= len(runs):
                names = ", ".join(g.what for g in waiting.values())
                return f"no events for {names}"
            run = runs[position]
            group = waiting.pop(str(run[0].get("causationId")), None)
            if group is None:
                names = ", ".join(g.what for g in waiting.values())
                return (
                    f"events {[e.get('eventType') for e in run]} with causationId "
                    f"{run[0].get('causationId')} where the events of {names} were expected"
                )
            problem = group_problem(group, run)
            if problem:
                return f"{group.what}: {problem}"
            position += 1
    if position < len(runs):
        extra = runs[position]
        types = [e.get("eventType") for e in extra]
        return f"unexpected events {types} (causationId {extra[0].get('causationId')})"
    for event in events:
        payload = event.get("payload") or {}
        kind = event.get("eventType")
        if kind in ("EntryPosted", "FundsPosted"):
            for posting in payload.get("legs") or []:
                minor = to_minor(posting.get("amount")) or 0
                delta = minor if posting.get("direction") == "DEBIT" else -minor
                account = str(posting.get("accountId"))
                view.folded[account] = view.folded.get(account, 0) + delta
        elif kind == "AccountBalanceUpdated":
            account = str(payload.get("accountId"))
            try:
                served = number_to_minor(payload.get("balance"))
            except ValueError:
                return f"event {event.get('sequence')}: balance {payload.get('balance')!r}"
            if served != view.folded.get(account, 0):
                return (
                    f"event {event.get('sequence')}: AccountBalanceUpdated of {account} says "
                    f"{payload.get('balance')}, the stream's postings fold to "
                    f"{view.folded.get(account, 0) / 100:.2f}"
                )
    return None


def group_problem(group: Group, run: list[dict[str, Any]]) -> str | None:
    types = [e.get("eventType") for e in run]
    expected = [e.event_type for e in group.events]
    if types != expected:
        return f"events {types}, expected {expected}"
    for event, want in zip(run, group.events, strict=True):
        if event.get("entityId") != want.entity_id:
            got = event.get("entityId")
            return f"{want.event_type}: entityId {got!r}, expected {want.entity_id!r}"
        problem = subset_problem(want.payload, event.get("payload"))
        if problem:
            return f"{want.event_type} {problem}"
    if group.event_ids is not None and [e.get("eventId") for e in run] != group.event_ids:
        return EVENT_IDS_DIFFER
    return None
