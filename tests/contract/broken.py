"""Deliberately broken variants of the mock, each with one defect, to prove the suites fail.

A check that never failed is not yet a check. Every variant here is the real app with
one defect added from outside, never by editing `mock_core`:

- ASGI middleware that rewrites requests or replies (`rewrite_requests`,
  `rewrite_replies`), for defects a client sees on the wire;
- a patch of one mock_core function while the variant is in use
  (`unittest.mock.patch`), for defects inside the ledger's rules or its store.

    with broken_target("no_balance_check") as target:
        result = run_ledger_suite(target)

`VARIANTS` says, for each, what is wrong, how it is built, and which check of which
suite must catch it (tests/contract/test_broken_variants.py asserts that).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from unittest import mock
from urllib.parse import parse_qsl, urlencode

import orjson
import rfc8785

from contract_tests.proxy import read_body as _read_body
from contract_tests.target import DEFAULT_PLATFORM_KEY, IN_PROCESS_KEYS, Target, in_process_target

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
# rewrite(scope, request body, status, headers, reply body) -> (status, headers, body)
ReplyRewrite = Callable[
    [Scope, bytes, int, list[tuple[bytes, bytes]], bytes],
    tuple[int, list[tuple[bytes, bytes]], bytes],
]
# rewrite(scope, request body) -> (scope, request body)
RequestRewrite = Callable[[Scope, bytes], tuple[Scope, bytes]]


# ---------------------------------------------------------------------------
# Two small ASGI middlewares.


def _replay_body(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


def _with_length(headers: list[tuple[bytes, bytes]], length: int) -> list[tuple[bytes, bytes]]:
    kept = [(k, v) for k, v in headers if k.lower() != b"content-length"]
    return [*kept, (b"content-length", str(length).encode())]


async def _call(app: ASGIApp, scope: Scope, request: bytes) -> tuple[Message, bytes]:
    """Run `app` on `scope` with the body `request`: (its http.response.start message,
    its whole body)."""
    start: Message = {}
    chunks: list[bytes] = []

    async def capture(message: Message) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, _replay_body(request), capture)
    return start, b"".join(chunks)


async def _send_reply(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes
) -> None:
    """Send a whole reply, its Content-Length set to the body's."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": _with_length(headers, len(body)),
        }
    )
    await send({"type": "http.response.body", "body": body})


Handler = Callable[[Scope, bytes, Send], Awaitable[None]]


def _http_only(
    app: ASGIApp, handle: Handler, wants: Callable[[Scope], bool] | None = None
) -> ASGIApp:
    """Wrap `app`: `handle(scope, request body, send)` takes the HTTP requests (those
    `wants` picks, when given); `app` the rest, untouched."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (wants is not None and not wants(scope)):
            await app(scope, receive, send)
            return
        await handle(scope, await _read_body(receive), send)

    return wrapped


def rewrite_requests(app: ASGIApp, rewrite: RequestRewrite) -> ASGIApp:
    """Wrap `app` so that `rewrite` may change each HTTP request before the app sees it."""

    async def handle(scope: Scope, body: bytes, send: Send) -> None:
        scope, body = rewrite(dict(scope), body)
        scope["headers"] = _with_length(list(scope["headers"]), len(body))
        await app(scope, _replay_body(body), send)

    return _http_only(app, handle)


def rewrite_replies(app: ASGIApp, rewrite: ReplyRewrite) -> ASGIApp:
    """Wrap `app` so that `rewrite` may change the status, headers and body of each reply."""

    async def handle(scope: Scope, request: bytes, send: Send) -> None:
        start, reply = await _call(app, scope, request)
        status, headers, body = rewrite(
            scope, request, start["status"], list(start.get("headers", [])), reply
        )
        await _send_reply(send, status, headers, body)

    return _http_only(app, handle)


def _is_command(scope: Scope) -> bool:
    return scope["method"] == "POST" and scope["path"].endswith("/commands")


def _json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    return next((v for k, v in headers if k.lower() == name), None)


# ---------------------------------------------------------------------------
# The defects.


def _replies_with(
    change: Callable[[Scope, int, Any], tuple[int, Any] | None],
) -> Callable[[ASGIApp], ASGIApp]:
    """A wrapper whose rewrite sees (scope, status, JSON body) and may return new ones."""

    def wrap(app: ASGIApp) -> ASGIApp:
        def rewrite(
            scope: Scope,
            request: bytes,
            status: int,
            headers: list[tuple[bytes, bytes]],
            body: bytes,
        ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
            changed = change(scope, status, _json(body))
            if changed is None:
                return status, headers, body
            return changed[0], headers, orjson.dumps(changed[1])

        return rewrite_replies(app, rewrite)

    return wrap


class SignFlipper:
    """Serves every balance negated and swaps the direction of every posting.

    The events are re-hashed along the way (a service with the opposite convention has
    a consistent chain of its own), so the balances check is what must catch it. A
    tenant's lastHash is re-mapped once its events have been read from the start.
    """

    def __init__(self) -> None:
        self.rehashed: dict[str, str] = {"0" * 64: "0" * 64}

    def __call__(self, scope: Scope, status: int, body: Any) -> tuple[int, Any] | None:
        if scope["method"] != "GET" or status != 200 or not isinstance(body, dict):
            return None
        if "accounts" in body:
            for account in body["accounts"]:
                account["balance"] = -account["balance"]
        elif "balance" in body and "accountId" in body:
            body["balance"] = -body["balance"]
        elif "events" in body:
            body["events"] = [self.flip(event) for event in body["events"]]
        elif "lastHash" in body:
            body["lastHash"] = self.rehashed.get(body["lastHash"], body["lastHash"])
        else:
            return None
        return status, body

    def flip(self, event: dict[str, Any]) -> dict[str, Any]:
        payload = event["payload"]
        if event["eventType"] in ("EntryPosted", "FundsPosted"):
            for posting in payload["legs"]:
                posting["direction"] = "CREDIT" if posting["direction"] == "DEBIT" else "DEBIT"
        elif event["eventType"] == "AccountBalanceUpdated":
            payload["change"], payload["balance"] = -payload["change"], -payload["balance"]
        original = event.pop("hash")
        event["prevHash"] = self.rehashed.get(event["prevHash"], event["prevHash"])
        digest = hashlib.sha256(event["prevHash"].encode() + rfc8785.dumps(event)).hexdigest()
        self.rehashed[original] = event["hash"] = digest
        return event


def _sign_flipped(app: ASGIApp) -> ASGIApp:
    return _replies_with(SignFlipper())(app)


def _strip_idempotency_keys(app: ASGIApp) -> ASGIApp:
    """Drop the idempotencyKey: a replay with a new commandId is then a new command."""

    def rewrite(scope: Scope, body: bytes) -> tuple[Scope, bytes]:
        command = _json(body) if _is_command(scope) else None
        if isinstance(command, dict) and command.pop("idempotencyKey", None) is not None:
            return scope, orjson.dumps(command)
        return scope, body

    return rewrite_requests(app, rewrite)


def _replays_restamped(app: ASGIApp) -> ASGIApp:
    """A replay gets the first reply with a fresh acceptedAt, not the same bytes."""

    def rewrite(
        scope: Scope, request: bytes, status: int, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        reply = _json(body)
        if _header(headers, b"idempotent-replayed") != b"true" or not isinstance(reply, dict):
            return status, headers, body
        reply["acceptedAt"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return status, headers, orjson.dumps(reply)

    return rewrite_replies(app, rewrite)


SCOPED_KEYS = frozenset(key for key, scope in IN_PROCESS_KEYS.items() if scope != "*")


def _reads_ignore_scope(app: ASGIApp) -> ASGIApp:
    """Auth that lets any known key read any tenant: a scoped key reads as the platform."""

    def rewrite(scope: Scope, body: bytes) -> tuple[Scope, bytes]:
        if scope["method"] != "GET":
            return scope, body
        headers = []
        for name, value in scope["headers"]:
            if name.lower() == b"authorization" and value.split(b" ")[-1].decode() in SCOPED_KEYS:
                value = f"Bearer {DEFAULT_PLATFORM_KEY}".encode()
            headers.append((name, value))
        scope["headers"] = headers
        return scope, body

    return rewrite_requests(app, rewrite)


def _hash_without_occurred_at(prev_hash: str, canonical: bytes) -> str:
    """Stands in for eventstore.chain_hash: hashes the envelope without occurredAt."""
    body = {k: v for k, v in orjson.loads(canonical).items() if k != "occurredAt"}
    return hashlib.sha256(prev_hash.encode("ascii") + rfc8785.dumps(body)).hexdigest()


def _no_bounds(*args: Any, **kwargs: Any) -> None:
    return None


def _drop_correlation_id(scope: Scope, status: int, body: Any) -> tuple[int, Any] | None:
    if _is_command(scope) and status == 202 and isinstance(body, dict):
        body.pop("correlationId", None)
        return status, body
    return None


def _bad_input_is_a_server_error(scope: Scope, status: int, body: Any) -> tuple[int, Any] | None:
    if _is_command(scope) and status == 400:
        return 500, {
            "error": "INTERNAL_ERROR",
            "message": "the mock failed; this is a bug, please report it",
            "details": {},
        }
    return None


def _ok_instead_of_accepted(scope: Scope, status: int, body: Any) -> tuple[int, Any] | None:
    if _is_command(scope) and status == 202:
        return 200, body
    return None


# ---------------------------------------------------------------------------
# The defects of issue 12: what real implementations get wrong, each shown caught by
# one of the scripted laws (contract_tests/laws.py).


async def _ask(app: ASGIApp, scope: Scope, path: str, query: dict[str, Any]) -> tuple[int, Any]:
    """GET `path` from the real app with the caller's headers: (status, JSON body)."""
    inner = dict(scope)
    inner.update(
        method="GET",
        path=path,
        raw_path=path.encode(),
        query_string=urlencode(query).encode(),
        headers=[(k, v) for k, v in scope["headers"] if k.lower() != b"content-length"],
    )
    start, body = await _call(app, inner, b"")
    return int(start["status"]), _json(body)


def _reply(
    status: int, body: Any, headers: list[tuple[bytes, bytes]] | None = None
) -> list[Message]:
    data = orjson.dumps(body)
    kept = [(k, v) for k, v in headers or [] if k.lower() != b"content-length"]
    if not any(k.lower() == b"content-type" for k, _ in kept):
        kept.append((b"content-type", b"application/json"))
    return [
        {"type": "http.response.start", "status": status, "headers": _with_length(kept, len(data))},
        {"type": "http.response.body", "body": data},
    ]


def _list_kind(scope: Scope) -> str | None:
    """'customers' or 'accounts' for a GET of a tenant's customer or account list."""
    parts = scope["path"].strip("/").split("/")
    if scope["method"] == "GET" and len(parts) == 4 and parts[:2] == ["v1", "tenants"]:
        return parts[3] if parts[3] in ("customers", "accounts") else None
    return None


# pager(items, offset, limit, query, unfiltered total) -> (page, total)
Pager = Callable[[list[Any], int, int, dict[str, str], int], tuple[list[Any], int]]


def _paged_by(pager: Pager) -> Callable[[ASGIApp], ASGIApp]:
    """A list service that reads the whole list from the mock and pages it with `pager`."""

    def wrap(app: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            kind = _list_kind(scope) if scope["type"] == "http" else None
            query = dict(parse_qsl(scope.get("query_string", b"").decode())) if kind else {}
            try:
                offset, limit = int(query.get("offset", 0)), int(query.get("limit", 50))
            except ValueError:
                kind = None
            if kind is None:
                await app(scope, receive, send)
                return
            whole = {**query, "offset": 0, "limit": 1000}
            status, body = await _ask(app, scope, scope["path"], whole)
            if status != 200 or not isinstance(body, dict):
                await app(scope, receive, send)
                return
            unfiltered = {k: v for k, v in whole.items() if k != "customerId"}
            _, everything = await _ask(app, scope, scope["path"], unfiltered)
            page, total = pager(list(body[kind]), offset, limit, query, everything["total"])
            for message in _reply(
                200, {kind: page, "total": total, "limit": limit, "offset": offset}
            ):
                await send(message)

        return wrapped

    return wrap


def _skips_at_offset(
    items: list[Any], offset: int, limit: int, query: dict[str, str], unfiltered: int
) -> tuple[list[Any], int]:
    start = offset + 1 if offset > 0 else 0  # an off-by-one past the first page
    return items[start : start + limit], len(items)


def _last_page_short(
    items: list[Any], offset: int, limit: int, query: dict[str, str], unfiltered: int
) -> tuple[list[Any], int]:
    page = items[offset : offset + limit]
    if offset > 0 and offset + limit >= len(items) and page:
        page = page[:-1]  # the final page loses its last item
    return page, len(items)


def _total_ignores_filter(
    items: list[Any], offset: int, limit: int, query: dict[str, str], unfiltered: int
) -> tuple[list[Any], int]:
    return items[offset : offset + limit], unfiltered if "customerId" in query else len(items)


def _customers_by_name(
    items: list[Any], offset: int, limit: int, query: dict[str, str], unfiltered: int
) -> tuple[list[Any], int]:
    if items and "customerId" in items[0] and "accountId" not in items[0]:
        # ORDER BY last name: consistent across pages, but not the creation order. (By
        # id would pass: the mock's ids are UUIDv7, which sort in creation order.)
        items = sorted(items, key=lambda c: (str(c.get("lastName")), str(c["customerId"])))
    return items[offset : offset + limit], len(items)


class RepeatedEventIds:
    """Stands in for WriteTx.append: each command's last event takes the id of the
    previous command's last event (a stale id generator). The reply's eventIds are the
    same list, so reply and stream agree, and the chain is computed over the ids used."""

    def __init__(self, append: Callable[..., None]) -> None:
        self.append = append
        self.previous: str | None = None

    def __call__(self, tx: Any, new_events: Any, *, event_ids: list[str], **kwargs: Any) -> None:
        last = event_ids[-1]
        if self.previous is not None and self.previous not in event_ids:
            event_ids[-1] = self.previous
        self.previous = last
        self.append(tx, new_events, event_ids=event_ids, **kwargs)


def _repeated_event_ids() -> Any:
    from mock_core.store import eventstore

    repeated = RepeatedEventIds(eventstore.WriteTx.append)

    def append(self: Any, new_events: Any, **kwargs: Any) -> None:
        repeated(self, new_events, **kwargs)

    return append


def _python_json_encoding(envelope: Any, event: Any) -> bytes:
    """Stands in for hashchain.canonical_event: json.dumps with sorted keys, compact,
    as most hand-rolled 'canonical JSON' is: ASCII escapes, 5e-05, 5.0, code point order."""
    plain = orjson.loads(orjson.dumps(envelope, option=orjson.OPT_SORT_KEYS))
    return json.dumps(plain, sort_keys=True, separators=(",", ":")).encode()


def _last_sequence_of_opening(app: ASGIApp) -> ASGIApp:
    """Accounts whose lastSequence is set when they open and never moved by a posting."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        parts = scope["path"].strip("/").split("/") if scope["type"] == "http" else []
        is_read = scope.get("method") == "GET" and parts[:2] == ["v1", "tenants"]
        if not (is_read and len(parts) in (4, 5) and parts[3:4] == ["accounts"]):
            await app(scope, receive, send)
            return
        request = await _read_body(receive)
        start, reply = await _call(app, scope, request)
        body = _json(reply)
        items = body.get("accounts") if isinstance(body, dict) else None
        items = items if isinstance(items, list) else [body] if len(parts) == 5 else []
        for item in items:
            if not isinstance(item, dict) or "lastSequence" not in item:
                continue
            path = f"/v1/tenants/{parts[2]}/accounts/{item['accountId']}/events"
            status, events = await _ask(app, scope, path, {"limit": 1})
            if status == 200 and events.get("events"):
                item["lastSequence"] = events["events"][0].get("sequence")
        out = orjson.dumps(body) if items else reply
        await _send_reply(send, start["status"], list(start.get("headers", [])), out)

    return wrapped


def _tenant_case_folded(app: ASGIApp) -> ASGIApp:
    """Tenant codes matched case-insensitively: the path's tenant is upper-cased."""

    def rewrite(scope: Scope, body: bytes) -> tuple[Scope, bytes]:
        parts = scope["path"].split("/")
        if len(parts) > 3 and parts[1:3] == ["v1", "tenants"]:
            parts[3] = parts[3].upper()
            scope["path"] = "/".join(parts)
            scope["raw_path"] = scope["path"].encode()
        return scope, body

    return rewrite_requests(app, rewrite)


def _keys_per_service(app: ASGIApp) -> ASGIApp:
    """Idempotency keys unique per service, not per tenant: a key another tenant used
    replays that tenant's reply (the same command) or is refused as reused."""
    first: dict[str, tuple[str, bytes, bytes]] = {}  # key -> (tenant, command, reply)

    async def handle(scope: Scope, request: bytes, send: Send) -> None:
        command = _json(request)
        key = command.get("idempotencyKey") if isinstance(command, dict) else None
        tenant = scope["path"].split("/")[3]
        if isinstance(key, str) and key in first and first[key][0] != tenant:
            _, what, reply = first[key]
            same = orjson.dumps([command.get("commandType"), command.get("payload")]) == what
            if same:
                replay = [(b"idempotent-replayed", b"true"), (b"content-type", b"application/json")]
                for message in _reply(202, orjson.loads(reply), replay):
                    await send(message)
            else:
                for message in _reply(
                    422,
                    {
                        "commandId": command.get("commandId"),
                        "error": "INVARIANT_VIOLATION",
                        "invariant": "IDEMPOTENCY_KEY_REUSED",
                        "message": "this idempotency key was used for another command",
                        "details": {"idempotencyKey": key},
                    },
                ):
                    await send(message)
            return
        start, body = await _call(app, scope, request)
        if start["status"] == 202 and isinstance(key, str) and key not in first:
            what = orjson.dumps([command.get("commandType"), command.get("payload")])
            first[key] = (tenant, what, body)
        await send(start)
        await send({"type": "http.response.body", "body": body})

    return _http_only(app, handle, _is_command)


def _correlation_header_dropped(app: ASGIApp) -> ASGIApp:
    """X-Correlation-Id accepted (documented, no error) but never echoed."""

    def rewrite(scope: Scope, body: bytes) -> tuple[Scope, bytes]:
        scope["headers"] = [(k, v) for k, v in scope["headers"] if k.lower() != b"x-correlation-id"]
        return scope, body

    return rewrite_requests(app, rewrite)


class FloatBalances:
    """A service that keeps balances as binary floats: every posting is added to a
    float, and reads serve that float (drifting: ten 0.10s make 0.9999999999999999)."""

    def __init__(self) -> None:
        self.drift: dict[tuple[str, str], tuple[float, Decimal]] = {}

    def add(self, tenant: str, account: Any, amount: Any, sign: int) -> None:
        if isinstance(amount, bool) or not isinstance(amount, int | float):
            return
        binary, exact = self.drift.get((tenant, str(account)), (0.0, Decimal(0)))
        self.drift[(tenant, str(account))] = (
            binary + sign * float(amount),
            exact + sign * Decimal(repr(amount)),
        )

    def served(self, tenant: str, item: dict[str, Any]) -> None:
        found = self.drift.get((tenant, str(item.get("accountId"))))
        balance = item.get("balance")
        if found is None or not isinstance(balance, int | float):
            return
        binary, exact = found
        item["balance"] = float(Decimal(repr(balance)) - exact) + binary

    def __call__(
        self,
        scope: Scope,
        request: bytes,
        status: int,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        tenant = scope["path"].split("/")[3] if scope["path"].startswith("/v1/tenants/") else ""
        reply = _json(body)
        if (
            _is_command(scope)
            and status == 202
            and _header(headers, b"idempotent-replayed") is None
        ):
            command = _json(request) or {}
            payload = command.get("payload") or {}
            if command.get("commandType") == "PostEntry":
                for posting in payload.get("legs") or []:
                    sign = 1 if posting.get("direction") == "DEBIT" else -1
                    self.add(tenant, posting.get("accountId"), posting.get("amount"), sign)
            elif command.get("commandType") == "OpenAccount" and isinstance(reply, dict):
                deposit = payload.get("initialDeposit")
                self.add(tenant, reply.get("accountId"), deposit, 1)
                self.add(tenant, "GL_INITIAL_DEPOSIT_CLEARING", deposit, -1)
            return status, headers, body
        if scope["method"] != "GET" or status != 200 or not isinstance(reply, dict):
            return status, headers, body
        if isinstance(reply.get("accounts"), list):
            for item in reply["accounts"]:
                self.served(tenant, item)
        elif "balance" in reply and "accountId" in reply:
            self.served(tenant, reply)
        else:
            return status, headers, body
        return status, headers, orjson.dumps(reply)


def _float_balances(app: ASGIApp) -> ASGIApp:
    return rewrite_replies(app, FloatBalances())


@dataclass(frozen=True)
class Variant:
    """One defect: how it is built, and which checks must catch it."""

    name: str
    defect: str
    built_by: str  # "middleware" or "patch"
    ledger_rows: frozenset[str]  # the ledger suite must fail in one of these rows
    wrap: Callable[[ASGIApp], ASGIApp] | None = None
    patches: tuple[tuple[str, Any], ...] = ()  # (dotted name, replacement)
    # (dotted name, a function making the replacement when the variant is entered)
    patch_factories: tuple[tuple[str, Callable[[], Any]], ...] = ()
    # The schema suite must fail this operation with one of these checks (schema-shaped
    # defects only).
    schema_checks: frozenset[str] = field(default_factory=frozenset)


ACCEPTED_ROWS = frozenset(
    f"accepted:{name}"
    for name in ("CreateTenant", "UpsertProduct", "CreateCustomer", "OpenAccount", "PostEntry")
)

VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant(
            "no_balance_check",
            "entries and initial deposits may take an account past its overdraft limit, "
            "maximum balance or facility",
            "patch",
            frozenset({"OVERDRAFT_LIMIT_EXCEEDED", "MAX_BALANCE_EXCEEDED"}),
            patches=(("mock_core.core.decide._check_bounds", _no_bounds),),
        ),
        Variant(
            "flipped_sign",
            "balances served negated and posting directions swapped (events re-hashed)",
            "middleware",
            frozenset({"balances"}),
            wrap=_sign_flipped,
        ),
        Variant(
            "idempotency_ignored",
            "the idempotencyKey is dropped, so a replay with a new commandId is applied again",
            "middleware",
            frozenset({"idempotent_replay", "IDEMPOTENCY_KEY_REUSED"}),
            wrap=_strip_idempotency_keys,
        ),
        Variant(
            "replay_different_body",
            "a replay gets the first reply with a new acceptedAt, not the same bytes",
            "middleware",
            frozenset({"idempotent_replay"}),
            wrap=_replays_restamped,
        ),
        Variant(
            "cross_tenant_read",
            "a key scoped to one tenant may read every tenant",
            "middleware",
            frozenset({"tenant_isolation"}),
            wrap=_reads_ignore_scope,
        ),
        Variant(
            "hash_skips_field",
            "the event hash leaves occurredAt out",
            "patch",
            frozenset({"hash_chain"}),
            patches=(("mock_core.store.eventstore.chain_hash", _hash_without_occurred_at),),
        ),
        Variant(
            "missing_field",
            "CommandAccepted replies lack the required correlationId",
            "middleware",
            ACCEPTED_ROWS,
            wrap=_replies_with(_drop_correlation_id),
            schema_checks=frozenset({"response_schema_conformance"}),
        ),
        Variant(
            "server_error_on_bad_input",
            "a command refused with 400 gets 500 INTERNAL_ERROR instead",
            "middleware",
            frozenset({"VALIDATION_ERROR", "TENANT_MISMATCH"}),
            wrap=_replies_with(_bad_input_is_a_server_error),
            schema_checks=frozenset({"not_a_server_error"}),
        ),
        Variant(
            "wrong_status",
            "accepted commands get 200 instead of 202",
            "middleware",
            ACCEPTED_ROWS | {"idempotent_replay"},
            wrap=_replies_with(_ok_instead_of_accepted),
            schema_checks=frozenset({"status_code_conformance"}),
        ),
        # Issue 12: each caught by the scripted law named, the same way at every seed.
        Variant(
            "page_skips_item",
            "a page at an offset skips one item (offset off by one)",
            "middleware",
            frozenset({"paging"}),
            wrap=_paged_by(_skips_at_offset),
        ),
        Variant(
            "last_page_short",
            "the last page of a list lacks its last item",
            "middleware",
            frozenset({"paging"}),
            wrap=_paged_by(_last_page_short),
        ),
        Variant(
            "total_ignores_filter",
            "total counts the tenant's accounts, not those the customerId filter selects",
            "middleware",
            frozenset({"list_total"}),
            wrap=_paged_by(_total_ignores_filter),
        ),
        Variant(
            "customers_by_name",
            "customers listed (and paged) by last name, not in creation order",
            "middleware",
            frozenset({"list_order"}),
            wrap=_paged_by(_customers_by_name),
        ),
        Variant(
            "duplicate_event_id",
            "each command's last event reuses the previous command's last eventId",
            "patch",
            frozenset({"unique_ids"}),
            patch_factories=(("mock_core.store.eventstore.WriteTx.append", _repeated_event_ids),),
        ),
        Variant(
            "non_jcs_hash",
            "the event hash is taken over json.dumps(sort_keys=True), not RFC 8785",
            "patch",
            frozenset({"canonical_json"}),
            patches=(("mock_core.store.eventstore.canonical_event", _python_json_encoding),),
        ),
        Variant(
            "last_sequence_lags",
            "an account's lastSequence is its opening's, never moved by its postings",
            "middleware",
            frozenset({"derived_fields"}),
            wrap=_last_sequence_of_opening,
        ),
        Variant(
            "tenant_case_insensitive",
            "tenant codes in the path are matched case-insensitively (cu_digital is CU_DIGITAL)",
            "middleware",
            frozenset({"identifier_case"}),
            wrap=_tenant_case_folded,
        ),
        Variant(
            "idempotency_per_service",
            "idempotency keys are unique per service: another tenant's key replays its reply",
            "middleware",
            frozenset({"idempotency_scope"}),
            wrap=_keys_per_service,
        ),
        Variant(
            "correlation_not_echoed",
            "X-Correlation-Id is accepted but the reply's correlationId is the commandId",
            "middleware",
            frozenset({"correlation_header"}),
            wrap=_correlation_header_dropped,
        ),
        Variant(
            "float_balances",
            "balances kept as binary floats (ten postings of 0.10 read 0.9999999999999999)",
            "middleware",
            frozenset({"exact_money"}),
            wrap=_float_balances,
        ),
    )
}


@contextmanager
def broken_target(name: str) -> Iterator[Target]:
    """The in-process mock with the defect `name` (a key of VARIANTS), as a Target."""
    variant = VARIANTS[name]
    base = in_process_target()
    with ExitStack() as stack:
        for dotted, replacement in variant.patches:
            stack.enter_context(mock.patch(dotted, replacement))
        for dotted, factory in variant.patch_factories:
            stack.enter_context(mock.patch(dotted, factory()))
        app = variant.wrap(base.app) if variant.wrap is not None else base.app
        yield Target(base.base_url, base.api_key, dict(base.scoped_keys), app, f"broken: {name}")
