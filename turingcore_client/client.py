"""A thin, typed, synchronous client for the TuringCore v1 API.

One write path (the command gateway), the read endpoints and the mock's admin
resets and snapshots, nothing else. Errors: `turingcore_client.errors`; retries:
`turingcore_client.retry` (one policy for every send, counted in `client.policy.counts`).

Transport: without an injected one, requests go over raw HTTP/1.1 keep-alive
sockets (`turingcore_client.wire`), one connection per thread; `run_lanes` and
`multiplexer` keep many requests in flight from ONE thread (`turingcore_client.mux`,
epoll). An injected `httpx.BaseTransport` (tests, the in-process app) goes through
an `httpx.Client`, and the multiplexer then sends on worker threads. Latency per
command type is recorded in `client.stats`.
"""

from __future__ import annotations

import os
import time
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from functools import partial
from typing import Any, Unpack

import httpx
import orjson

from turingcore_client.envelope import CommandFields, build_envelope
from turingcore_client.errors import ServiceUnreachableError, api_error
from turingcore_client.mux import Done, IdleSockets, Multiplexer, Request
from turingcore_client.payloads import entry_payload, tenant_payload
from turingcore_client.queries import Queries
from turingcore_client.replies import (
    CommandReply,
    CommandRequest,
    Lane,
    LatencyStats,
    RawReply,
    parse_body,
)
from turingcore_client.retry import RESEND, RetryPolicy
from turingcore_client.wire import (
    USER_AGENT,
    Endpoint,
    HttpTransport,
    WireReply,
    format_head,
    request_bytes,
)

DEFAULT_BASE_URL = "http://127.0.0.1:8080"
DEFAULT_API_KEY = "dev-platform-key"
ENV_BASE_URL = "TURINGCORE_BASE_URL"
ENV_API_KEY = "TURINGCORE_API_KEY"
API_PREFIX = "/v1"


class _Borrowed(httpx.BaseTransport):
    """Another client's transport, used but never closed by the borrower."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._inner.handle_request(request)

    def close(self) -> None:
        pass


class TuringCoreClient(Queries):
    """Typed client for the TuringCore v1 API (commands, queries, the mock's admin reset).

    `base_url` is the service root (`http://127.0.0.1:8080`); the client adds
    `/v1`. Both it and `api_key` default to `TURINGCORE_BASE_URL` /
    `TURINGCORE_API_KEY`, then to the mock's defaults.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.05,
        backoff_max: float = 2.0,
        max_connections: int = 16,
        stats: LatencyStats | None = None,
    ) -> None:
        root = base_url or os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL
        root = root.rstrip("/")
        if root.endswith(API_PREFIX):
            root = root[: -len(API_PREFIX)]
        self.base_url = root
        self.api_key = api_key or os.environ.get(ENV_API_KEY) or DEFAULT_API_KEY
        self.policy = RetryPolicy(max(0, retries), backoff, backoff_max)
        self.retries = self.policy.retries
        self.timeout = timeout
        self._transport = transport
        self._max_connections = max_connections
        self.stats = stats if stats is not None else LatencyStats()
        # No injected transport: raw sockets (wire.py); else httpx (tests, in process).
        self._fast = HttpTransport(root, timeout) if transport is None else None
        if self._fast is not None:
            self._fast.on_resend = partial(self.policy.counts.add, RESEND)
        self._base_headers = {
            "Authorization": f"Bearer {self.api_key}",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        self._host_header = urllib.parse.urlsplit(root).netloc
        self._command_heads: dict[str, bytes] = {}
        self._idle = IdleSockets()  # kept-alive connections between two multiplexers
        self._http = httpx.Client(
            base_url=root,
            headers={
                "Authorization": f"Bearer {self.api_key}",
                "Accept": "application/json",
            },
            timeout=timeout,
            transport=transport if transport is not None else self._fast,
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
        )

    # ----------------------------------------------------------------- plumbing

    def with_api_key(self, api_key: str) -> TuringCoreClient:
        """A new client for the same service and transport with another key."""
        return TuringCoreClient(
            self.base_url,
            api_key,
            transport=_Borrowed(self._transport) if self._transport is not None else None,
            timeout=self.timeout,
            retries=self.policy.retries,
            backoff=self.policy.backoff,
            backoff_max=self.policy.backoff_max,
            max_connections=self._max_connections,
        )

    def close(self) -> None:
        self._http.close()
        self._idle.close()

    def __enter__(self) -> TuringCoreClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send_once(
        self,
        method: str,
        path: str,
        content: bytes | None,
        params: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
    ) -> WireReply:
        if self._fast is not None:
            target = path + ("?" + urllib.parse.urlencode(params) if params else "")
            all_headers = self._base_headers if not headers else {**self._base_headers, **headers}
            return self._fast.send_raw(method, target, content, all_headers)
        response = self._http.request(method, path, content=content, params=params, headers=headers)
        return WireReply(response.status_code, response.headers, response.content)

    def _request(
        self,
        method: str,
        path: str,
        *,
        content: bytes | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        raw: bytes | None = None,
    ) -> tuple[WireReply, int]:
        """Send with retries; return the final reply and the number of attempts.

        `raw`, when given, is the whole request preformatted for the raw transport
        (used instead of method/path/content/headers when that transport is in use).
        """
        attempt = 0
        fast = self._fast if raw is not None else None
        while True:
            try:
                if fast is not None:
                    assert raw is not None
                    wire = fast.exchange(raw)
                else:
                    wire = self._send_once(method, path, content, params, headers)
            except httpx.TransportError as exc:
                if attempt >= self.retries:
                    raise ServiceUnreachableError(
                        f"{method} {self.base_url}{path}: {type(exc).__name__}: {exc}"
                    ) from exc
                self.policy.count(None, type(exc).__name__)
                time.sleep(self.policy.delay(attempt, None))
                attempt += 1
                continue
            if attempt < self.retries and self.policy.retryable(wire):
                self.policy.count(wire)
                time.sleep(self.policy.delay(attempt, wire))
                attempt += 1
                continue
            return wire, attempt + 1

    def raw(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> RawReply:
        """One request to `path` (relative to the service root), no error mapping."""
        content = orjson.dumps(json_body) if json_body is not None else None
        headers = {"Content-Type": "application/json"} if content is not None else None
        wire, _ = self._request(method, path, content=content, params=params, headers=headers)
        return RawReply(wire.status, parse_body(wire.content), dict(wire.headers.items()))

    @property
    def raw_endpoint(self) -> Endpoint | None:
        """Where the raw http transport connects; None with an injected transport or
        over https (see `get_request_bytes`)."""
        fast = self._fast
        return fast.endpoint if fast is not None and not fast.endpoint.https else None

    def get_request_bytes(self, path: str, params: Mapping[str, Any] | None = None) -> bytes:
        """The whole GET request for `path` (relative to the service root) exactly as the
        raw transport sends it with this client's key, for a caller that keeps several
        requests in flight on its own non-blocking connections to `raw_endpoint` (the
        invariant checks). Replies are the caller's to parse; use `raw` for retries."""
        target = path + ("?" + urllib.parse.urlencode(params) if params else "")
        head = format_head("GET", target, self._host_header, self._base_headers)
        return request_bytes(head, None)

    def _get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        wire, _ = self._request("GET", API_PREFIX + path, params=params)
        body = parse_body(wire.content)
        if wire.status >= 400:
            raise api_error(wire.status, body)
        return body

    # ----------------------------------------------------------------- commands

    def command_request(
        self,
        command_type: str,
        payload: Mapping[str, Any],
        *,
        tenant_id: str,
        command_id: str | None = None,
        idempotency_key: str | None = None,
        timestamp: str | None = None,
        actor: Mapping[str, str] | None = None,
        correlation_id: str | None = None,
    ) -> CommandRequest:
        """The command, encoded once, ready for `send_request` or a lane of `run_lanes`
        (the envelope as `build_envelope` makes it; `correlation_id` for the
        X-Correlation-Id header)."""
        envelope = build_envelope(
            command_type,
            payload,
            tenant_id=tenant_id,
            command_id=command_id,
            idempotency_key=idempotency_key,
            timestamp=timestamp,
            actor=actor,
        )
        return CommandRequest(
            command_type,
            tenant_id,
            envelope["commandId"],
            idempotency_key,
            orjson.dumps(envelope),
            correlation_id,
        )

    def send_command(
        self,
        command_type: str,
        payload: Mapping[str, Any],
        *,
        raise_on_error: bool = True,
        **fields: Unpack[CommandFields],
    ) -> CommandReply:
        """POST one command to the gateway (`fields` as for `command_request`).

        Returns the reply (202, or any status when `raise_on_error=False`).
        Raises InvariantViolationError on 422, ApiError on other 4xx/5xx, and
        ServiceUnreachableError when the service cannot be reached.
        """
        request = self.command_request(command_type, payload, **fields)
        return self.send_request(request, raise_on_error=raise_on_error)

    def send_request(self, request: CommandRequest, *, raise_on_error: bool = True) -> CommandReply:
        """POST a prepared command (see `send_command`), with retries."""
        started = time.perf_counter()
        wire, attempts = self._post_command(request)
        reply = self._command_reply(request, wire, attempts, time.perf_counter() - started)
        if raise_on_error:
            reply.raise_for_error()
        return reply

    def _post_command(self, request: CommandRequest) -> tuple[WireReply, int]:
        if self._fast is not None:
            return self._request(
                "POST", self._command_path(request), raw=self._command_bytes(request)
            )
        headers = {"Content-Type": "application/json"}
        if request.correlation_id is not None:
            headers["X-Correlation-Id"] = request.correlation_id
        return self._request(
            "POST", self._command_path(request), content=request.body, headers=headers
        )

    @staticmethod
    def _command_path(request: CommandRequest) -> str:
        return f"{API_PREFIX}/tenants/{request.tenant_id}/commands"

    def _command_bytes(self, request: CommandRequest) -> bytes:
        """The whole HTTP request of a command: a cached head per tenant, then the body."""
        head = self._command_heads.get(request.tenant_id)
        if head is None or request.correlation_id is not None:
            headers = {**self._base_headers, "Content-Type": "application/json"}
            if request.correlation_id is not None:
                headers["X-Correlation-Id"] = request.correlation_id
            head = format_head("POST", self._command_path(request), self._host_header, headers)
            if request.correlation_id is None:
                self._command_heads[request.tenant_id] = head
        body = request.body
        return b"%sContent-Length: %d\r\n\r\n%s" % (head, len(body), body)

    def _command_reply(
        self, request: CommandRequest, wire: WireReply, attempts: int, latency: float
    ) -> CommandReply:
        self.stats.record(request.command_type, latency)
        body = parse_body(wire.content)
        replayed = wire.headers.get("Idempotent-Replayed")
        return CommandReply(
            command_type=request.command_type,
            command_id=request.command_id,
            idempotency_key=request.idempotency_key,
            status=wire.status,
            body=body if isinstance(body, dict) else {"body": body},
            replayed=replayed is not None and str(replayed).lower() == "true",
            latency_s=latency,
            attempts=attempts,
        )

    def multiplexer(self, connections: int) -> Multiplexer:
        """A multiplexer for up to `connections` requests in flight, on this client's
        endpoint (worker threads with an injected transport or over https)."""
        fast = self._fast
        return Multiplexer(
            fast.endpoint if fast is not None else None,
            connections,
            self.timeout,
            self.policy,
            self._idle,
        )

    def get_request(
        self, path: str, params: Mapping[str, Any] | None, done: Done, priority: int = 0
    ) -> Request:
        """A GET of `path` (from the service root) with this client's key, for a
        multiplexer; `done` gets the final reply and the number of attempts."""
        return Request(
            self.get_request_bytes(path, params),
            partial(self._request, "GET", path, params=params),
            done,
            f"GET {self.base_url}{path}",
            priority,
        )

    def command_job(self, request: CommandRequest, done: Done) -> Request:
        """A command for a multiplexer (see `get_request`)."""
        return Request(
            self._command_bytes(request),
            partial(self._post_command, request),
            done,
            f"POST {self.base_url}{self._command_path(request)}",
        )

    def run_lanes(self, lanes: Iterable[Lane], concurrency: int) -> None:
        """Drive the lanes, at most `concurrency` at a time, each in its own order.

        A lane yields a CommandRequest and is sent its CommandReply (any status, after
        the retries) before it yields the next. A new lane starts whenever one ends.
        One thread keeps up to `concurrency` commands in flight through a multiplexer.
        An exception, from the service (ServiceUnreachableError) or from a lane, stops
        the lanes and is raised here.
        """
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        mux = self.multiplexer(concurrency)
        try:
            _LaneDriver(self, mux, iter(lanes)).run(concurrency)
        finally:
            mux.close()

    def create_tenant(
        self,
        tenant_code: str,
        display_name: str,
        *,
        region: str = "AU",
        base_currency: str = "AUD",
        time_zone: str = "Australia/Sydney",
        regulatory_jurisdiction: str | None = None,
        business_type: str | None = None,
        **envelope: Any,
    ) -> CommandReply:
        """CreateTenant (platform key only); the path tenant is the new code."""
        payload = tenant_payload(
            tenant_code,
            display_name,
            region=region,
            base_currency=base_currency,
            time_zone=time_zone,
            regulatory_jurisdiction=regulatory_jurisdiction,
            business_type=business_type,
        )
        return self.send_command("CreateTenant", payload, tenant_id=tenant_code, **envelope)

    def upsert_product(
        self, tenant_id: str, product: Mapping[str, Any], **envelope: Any
    ) -> CommandReply:
        """UpsertProduct: `product` is the payload (productCode, name, productType, ...)."""
        return self.send_command("UpsertProduct", product, tenant_id=tenant_id, **envelope)

    def create_customer(
        self,
        tenant_id: str,
        *,
        person: Mapping[str, Any],
        address: Mapping[str, Any],
        external_ref: str | None = None,
        employment: Mapping[str, Any] | None = None,
        risk_profile: Mapping[str, Any] | None = None,
        **envelope: Any,
    ) -> CommandReply:
        """CreateCustomer; the new id is `reply.new_id("customerId")`.

        `risk_profile` as published: {segment, kycStatus, creditScore}.
        """
        payload: dict[str, Any] = {"person": dict(person), "address": dict(address)}
        if external_ref is not None:
            payload["externalRef"] = external_ref
        if employment is not None:
            payload["employment"] = dict(employment)
        if risk_profile is not None:
            payload["riskProfile"] = dict(risk_profile)
        return self.send_command("CreateCustomer", payload, tenant_id=tenant_id, **envelope)

    def open_account(
        self,
        tenant_id: str,
        *,
        customer_id: str,
        product_code: str,
        currency: str = "AUD",
        initial_deposit: float | int | None = None,
        facility_limit: float | int | None = None,
        account_alias: str | None = None,
        account_purpose: str | None = None,
        **envelope: Any,
    ) -> CommandReply:
        """OpenAccount; the new id is `reply.new_id("accountId")`.

        `facility_limit` is an extension (ours): a LOAN opened without it gets the
        product's maxAmount, as published.
        """
        payload: dict[str, Any] = {
            "customerId": customer_id,
            "productCode": product_code,
            "currency": currency,
        }
        optional = {
            "initialDeposit": initial_deposit,
            "facilityLimit": facility_limit,
            "accountAlias": account_alias,
            "accountPurpose": account_purpose,
        }
        payload.update({k: v for k, v in optional.items() if v is not None})
        return self.send_command("OpenAccount", payload, tenant_id=tenant_id, **envelope)

    def post_entry(
        self,
        tenant_id: str,
        *,
        booking_date: str,
        legs: list[Mapping[str, Any]],
        narrative: str,
        value_date: str | None = None,
        currency: str = "AUD",
        tags: Mapping[str, str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        **envelope: Any,
    ) -> CommandReply:
        """PostEntry: legs of {accountId, direction DEBIT|CREDIT, amount}; `tags` an
        object of strings ({"category": "INCOME", "source": "PAYROLL_SIM"}), `metadata`
        an object of scalars."""
        payload = entry_payload(
            booking_date,
            [dict(leg) for leg in legs],
            narrative,
            value_date=value_date,
            currency=currency,
            tags=tags,
            metadata=metadata,
        )
        return self.send_command("PostEntry", payload, tenant_id=tenant_id, **envelope)

    # --------------------------------------------------- the mock's own endpoints

    def healthz(self) -> bool:
        """True when `GET /healthz` answers 200 (a mock endpoint, outside /v1)."""
        try:
            return self._send_once("GET", "/healthz", None, None, None).status == 200
        except httpx.TransportError:
            return False

    def admin_reset_tenant(self, tenant_id: str) -> RawReply:
        """`POST /_mock/tenants/{tenantId}/reset` (mock only; 404/405 elsewhere)."""
        return self.raw("POST", f"/_mock/tenants/{tenant_id}/reset")

    def admin_reset_all(self) -> RawReply:
        """`POST /_mock/reset` (mock only): empties the whole store."""
        return self.raw("POST", "/_mock/reset")

    def admin_list_snapshots(self) -> RawReply:
        """`GET /_mock/snapshots` (mock only; platform key): every saved snapshot."""
        return self.raw("GET", "/_mock/snapshots")

    def admin_save_snapshot(self, name: str, tenant_id: str | None = None) -> RawReply:
        """`POST /_mock/snapshots/{name}?tenant=T` (mock only; platform key): save the
        tenant (or, without one, the whole store) under `name`, replacing it."""
        return self._snapshot(f"/_mock/snapshots/{_segment(name)}", tenant_id)

    def admin_restore_snapshot(self, name: str, tenant_id: str | None = None) -> RawReply:
        """`POST /_mock/snapshots/{name}/restore?tenant=T` (mock only; platform key)."""
        return self._snapshot(f"/_mock/snapshots/{_segment(name)}/restore", tenant_id)

    def _snapshot(self, path: str, tenant_id: str | None) -> RawReply:
        return self.raw("POST", path, params=None if tenant_id is None else {"tenant": tenant_id})


def _segment(text: str) -> str:
    """`text` as one URL path segment."""
    return urllib.parse.quote(text, safe="")


class _LaneDriver:
    """Keeps one command of each running lane in flight; starts a lane when one ends."""

    def __init__(self, client: TuringCoreClient, mux: Multiplexer, lanes: Iterator[Lane]) -> None:
        self.client = client
        self.mux = mux
        self.lanes = lanes
        self.active = 0

    def run(self, concurrency: int) -> None:
        for _ in range(concurrency):
            if not self._next_lane():
                break
        self.mux.run_until(self._finished)

    def _finished(self) -> bool:
        return self.active == 0

    def _next_lane(self) -> bool:
        """Start the next lane that has a command; False when none is left."""
        for lane in self.lanes:
            try:
                request = next(lane)
            except StopIteration:
                continue
            self.active += 1
            self._submit(lane, request)
            return True
        return False

    def _submit(self, lane: Lane, request: CommandRequest) -> None:
        started = time.perf_counter()

        def done(wire: WireReply, attempts: int) -> None:
            reply = self.client._command_reply(
                request, wire, attempts, time.perf_counter() - started
            )
            try:
                following = lane.send(reply)
            except StopIteration:
                self.active -= 1
                self._next_lane()
                return
            self._submit(lane, following)

        self.mux.submit(self.client.command_job(request, done))
