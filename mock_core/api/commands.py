"""The command gateway endpoint, `POST /v1/tenants/{tenantId}/commands`: the one write path.

It is served as plain ASGI, ahead of the framework's middleware and router
(`MockCoreApp.__call__`): on this path Starlette's request and response
objects, routing, middleware and exception handling cost more CPU per command
than the ledger's whole decision. It keeps every behaviour of the framework
path: the checks in the same order, errors in the documented shapes, the
access log line and the metrics. Other methods on the path still reach the
router (`gateway_route`), which answers 405.

Order of the checks: the key (401/403), the media type (415), the body size
(413), JSON (400), the envelope and payload (400, 409 for a tenant mismatch),
the platform key for CreateTenant (403), X-Correlation-Id, a fault profile's wait or
refusal (docs/faults.md; nothing written), then the gateway; once it answered (the
command committed), a profile may still drop or spoil the reply.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from mock_core import limits
from mock_core.api.auth import KeyRing
from mock_core.api.errors import INTERNAL_ERROR_BODY, error_reply
from mock_core.api.faults import ActiveProfile, Fault, FaultTable, drop_connection, wait
from mock_core.api.observability import Metrics, log_access
from mock_core.api.parse import parse_command
from mock_core.core.commands import Command
from mock_core.errors import MockCoreError, RequestError
from mock_core.gateway import Gateway, GroupCommitter, Outcome

log = logging.getLogger("mock_core.errors")

PREFIX = "/v1/tenants/"
SUFFIX = "/commands"
_JSON = (b"content-type", b"application/json")
_REPLAYED = (b"idempotent-replayed", b"true")


def command_path_tenant(path: str) -> str | None:
    """The tenant of a command path, as the router's `{tenant_id}` would match it."""
    if path.startswith(PREFIX) and path.endswith(SUFFIX):
        tenant = path[len(PREFIX) : -len(SUFFIX)]
        if tenant and "/" not in tenant:
            return tenant
    return None


class _Disconnected(Exception):
    """The client went away before its body arrived: there is nobody to answer."""


class _Refused(Exception):
    """A fault profile refuses the command before the gateway sees it."""

    def __init__(self, fault: Fault, profile: str) -> None:
        super().__init__(fault.kind)
        self.fault = fault
        self.profile = profile


@dataclass(frozen=True, slots=True)
class CommandEndpoint:
    """Serves commands: validate, apply through the gateway, reply with the stored bytes."""

    gateway: Gateway
    committer: GroupCommitter | None
    keys: KeyRing
    metrics: Metrics
    access_log: bool
    faults: FaultTable | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send, tenant_id: str) -> None:
        started = time.perf_counter()
        # What the access log line says of the command, filled in as it is learnt.
        facts: dict[str, Any] = {}
        headers: list[tuple[bytes, bytes]] = [_JSON]
        try:
            status, body = await self._handle(scope, receive, tenant_id, facts)
            if str(facts.get("outcome")).startswith("REPLAYED"):  # "REPLAYED+FAULT:..." too
                headers.append(_REPLAYED)
            fault: Fault | None = facts.get("fault")
            if fault is not None:  # after the gateway answered: the command is committed
                await wait(fault)
                if fault.drop and await drop_connection(send):
                    if self.access_log:
                        log_access(scope, 0, started, tenant_id, facts)
                    return
                if fault.status or fault.drop:
                    status, body, headers = fault.reply(facts["fault_profile"])
                    if fault.drop:  # no connection to close (in process): a 503 instead
                        status = 503
        except MockCoreError as exc:
            facts["outcome"] = exc.code
            status, body, extra = error_reply(exc, facts.get("command_id"))
            headers.extend((name.encode(), value.encode()) for name, value in extra)
        except _Disconnected:
            return
        except _Refused as refused:
            status, body, headers = refused.fault.reply(refused.profile)
        except Exception:
            log.exception("unexpected error on POST %s", scope["path"])
            status, body = 500, INTERNAL_ERROR_BODY
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        if self.access_log:
            log_access(scope, status, started, tenant_id, facts)

    async def _handle(
        self, scope: Scope, receive: Receive, tenant_id: str, facts: dict[str, Any]
    ) -> tuple[int, bytes]:
        authorization = content_type = content_length = correlation_id = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = authorization or value.decode("latin-1")
            elif name == b"content-type":
                content_type = content_type or value.decode("latin-1")
            elif name == b"content-length":
                content_length = content_length or value.decode("latin-1")
            elif name == b"x-correlation-id":
                correlation_id = correlation_id or value.decode("latin-1")
        keys = self.keys
        keys.check_tenant(authorization, tenant_id)
        if scope.get("query_string"):
            _refuse_query(scope["query_string"])
        _require_json(content_type)
        body = await _read_body(receive, content_length)
        try:
            raw = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise RequestError("MALFORMED_JSON", f"the body is not valid JSON: {exc}") from None
        command = parse_command(tenant_id, raw)
        facts["command_id"] = command.command_id
        command_type = facts["command_type"] = command.command_type
        if command_type == "CreateTenant":
            keys.check_platform(authorization, "create tenants")
        if correlation_id is not None and not (
            1 <= len(correlation_id) <= limits.correlation_id_chars_max
        ):
            raise RequestError(
                "VALIDATION_ERROR",
                f"X-Correlation-Id must be 1 to {limits.correlation_id_chars_max} characters",
            )
        active = self.faults.for_tenant(tenant_id) if self.faults is not None else None
        if active is not None:
            await self._before(active, command, facts)
        started = time.perf_counter()
        try:
            if self.committer is not None:
                outcome: Outcome = await self.committer.submit(command, correlation_id)
            else:
                outcome = self.gateway.execute(command, correlation_id)
        except MockCoreError as exc:
            self.metrics.count(command_type, exc.code)
            raise
        self.metrics.observe_command(command_type, time.perf_counter() - started, outcome)
        facts["outcome"] = "REPLAYED" if outcome.replayed else "ACCEPTED"
        if active is not None:
            fault = self._note(active, active.after(command.dedup_key, tenant_id))
            if fault is not None:
                facts.update(fault=fault, fault_profile=active.profile.spec)
                facts["outcome"] = f"{facts['outcome']}+FAULT:{fault.kind}"
        return 202, outcome.body

    def _note(self, active: ActiveProfile, fault: Fault | None) -> Fault | None:
        assert self.faults is not None
        return self.faults.note(active, fault)

    async def _before(self, active: ActiveProfile, command: Command, facts: dict[str, Any]) -> None:
        """A profile's fault before the gateway: a wait, or a refusal (nothing written)."""
        command_type = command.command_type
        fault = active.before(command.dedup_key, command_type, command.tenant_id)
        fault = self._note(active, fault)
        if fault is None:
            return
        await wait(fault)
        if fault.status:
            facts["outcome"] = f"FAULT:{fault.kind}"
            self.metrics.count(command_type, facts["outcome"])
            raise _Refused(fault, active.profile.spec)


def _refuse_query(query_string: bytes) -> None:
    # The gateway takes no query parameters; one it ignored might have been meant to
    # change what the command does, so it is refused, not dropped.
    names = [name for name, _ in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)]
    if names:
        raise RequestError(
            "VALIDATION_ERROR",
            f"unknown query parameter {names[0]!r}; the command gateway takes none",
            {"parameter": names[0], "allowed": []},
        )


def _require_json(content_type: str | None) -> None:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not (
        media_type.startswith("application/") and media_type.endswith("+json")
    ):
        raise RequestError(
            "UNSUPPORTED_MEDIA_TYPE",
            "commands must be sent as application/json",
            {"contentType": media_type or None},
        )


def _too_large() -> RequestError:
    return RequestError(
        "PAYLOAD_TOO_LARGE",
        f"the body is over {limits.request_body_bytes_max} bytes",
        {"limitBytes": limits.request_body_bytes_max},
    )


async def _read_body(receive: Receive, declared: str | None) -> bytes:
    """Read the body, refusing (413) anything over the limit without reading it all."""
    if (
        declared is not None
        and declared.isdigit()
        and int(declared) > limits.request_body_bytes_max
    ):
        raise _too_large()
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limits.request_body_bytes_max:
            raise _too_large()
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class _Routed:
    """The endpoint as an ASGI app behind the router, taking the tenant from the path."""

    def __init__(self, endpoint: CommandEndpoint) -> None:
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.endpoint(scope, receive, send, scope["path_params"]["tenant_id"])


def gateway_route(endpoint: CommandEndpoint) -> Route:
    """The command path in the router: POST is normally served ahead of it; others get 405."""
    return Route(PREFIX + "{tenant_id}" + SUFFIX, _Routed(endpoint), methods=["POST"])
