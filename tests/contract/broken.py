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
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from unittest import mock

import orjson
import rfc8785

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


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


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


def rewrite_requests(app: ASGIApp, rewrite: RequestRewrite) -> ASGIApp:
    """Wrap `app` so that `rewrite` may change each HTTP request before the app sees it."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        body = await _read_body(receive)
        scope, body = rewrite(dict(scope), body)
        scope["headers"] = _with_length(list(scope["headers"]), len(body))
        await app(scope, _replay_body(body), send)

    return wrapped


def rewrite_replies(app: ASGIApp, rewrite: ReplyRewrite) -> ASGIApp:
    """Wrap `app` so that `rewrite` may change the status, headers and body of each reply."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        request = await _read_body(receive)
        start: Message = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await app(scope, _replay_body(request), capture)
        status, headers, body = rewrite(
            scope, request, start["status"], list(start.get("headers", [])), b"".join(chunks)
        )
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": _with_length(headers, len(body)),
            }
        )
        await send({"type": "http.response.body", "body": body})

    return wrapped


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


@dataclass(frozen=True)
class Variant:
    """One defect: how it is built, and which checks must catch it."""

    name: str
    defect: str
    built_by: str  # "middleware" or "patch"
    ledger_rows: frozenset[str]  # the ledger suite must fail in one of these rows
    wrap: Callable[[ASGIApp], ASGIApp] | None = None
    patches: tuple[tuple[str, Any], ...] = ()  # (dotted name, replacement)
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
        app = variant.wrap(base.app) if variant.wrap is not None else base.app
        yield Target(base.base_url, base.api_key, dict(base.scoped_keys), app, f"broken: {name}")
