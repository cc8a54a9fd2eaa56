"""A thin, typed, synchronous client for the TuringCore v1 API.

One write path (the command gateway) and the read endpoints, nothing else.

Exceptions::

    TuringCoreError
     +-- ServiceUnreachableError   connection errors or timeouts after every retry
     +-- ApiError                  a non-2xx reply (status, error, message, details)
          +-- NotFoundError            404
          +-- InvariantViolationError  422, carries the invariant code

Retries: connection errors, timeouts, 5xx, 409 COMMAND_IN_FLIGHT and 429 are
retried with exponential backoff. A retried command reuses the same commandId
and idempotencyKey, so a retry after a lost reply replays instead of writing
twice: safe by construction.

Transport: without an injected one, requests go over raw HTTP/1.1 keep-alive
sockets (`twin.wire`), one connection per thread; `run_lanes` keeps up to N
commands in flight from ONE thread over N connections (`_CommandMux`, epoll),
which is how the runner drives a scenario. An injected `httpx.BaseTransport`
(tests, the in-process app) goes through an `httpx.Client`, and `run_lanes` then
uses N worker threads. Latency per command type is recorded in `client.stats`.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import math
import os
import select
import socket
import threading
import time
import urllib.parse
import uuid
from collections.abc import Generator, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson

from twin.wire import (
    RECV_BYTES,
    Endpoint,
    HttpTransport,
    IncompleteResponse,
    ProtocolError,
    ResponseParser,
    WireReply,
    format_head,
    request_bytes,
)

DEFAULT_BASE_URL = "http://127.0.0.1:8080"
DEFAULT_API_KEY = "dev-platform-key"
ENV_BASE_URL = "TURINGCORE_BASE_URL"
ENV_API_KEY = "TURINGCORE_API_KEY"
API_PREFIX = "/v1"
PAGE_SIZE_MAX = 1000
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
DEFAULT_ACTOR: Mapping[str, str] = {"actorType": "SYSTEM", "actorId": "twin"}


class TuringCoreError(Exception):
    """Base of every error this client raises."""


class ServiceUnreachableError(TuringCoreError):
    """The service could not be reached (connection error or timeout) after every retry."""


class ApiError(TuringCoreError):
    """A non-2xx reply: the contract's `Error` shape (`error`, `message`, `details`)."""

    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        details: Mapping[str, Any] | None = None,
        reply: CommandReply | None = None,
    ) -> None:
        super().__init__(f"{status} {error}: {message}")
        self.status = status
        self.error = error
        self.message = message
        self.details: dict[str, Any] = dict(details or {})
        self.reply = reply


class NotFoundError(ApiError):
    """404: unknown tenant, customer, account or path (or another tenant's id)."""


class InvariantViolationError(ApiError):
    """422: a named business invariant refused the command; `code` is its name."""

    def __init__(
        self,
        code: str,
        message: str,
        details: Mapping[str, Any] | None = None,
        reply: CommandReply | None = None,
    ) -> None:
        super().__init__(422, "INVARIANT_VIOLATION", message, details, reply)
        self.code = code
        self.args = (f"422 {code}: {message}",)


def _percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted, non-empty list."""
    rank = max(1, math.ceil(fraction * len(ordered) - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


class LatencyStats:
    """Latencies (seconds) per command type; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._samples: dict[str, list[float]] = {}

    def record(self, name: str, seconds: float) -> None:
        with self._lock:
            samples = self._samples.get(name)
            if samples is None:
                self._samples[name] = [seconds]
            else:
                samples.append(seconds)

    def reset(self) -> None:
        with self._lock:
            self._samples.clear()

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._samples)

    def count(self, name: str) -> int:
        with self._lock:
            return len(self._samples.get(name, ()))

    def summary(self) -> dict[str, dict[str, float]]:
        """Per name: count, mean, p50, p95, p99 and max, in milliseconds."""
        with self._lock:
            snapshot = {name: sorted(values) for name, values in self._samples.items()}
        out: dict[str, dict[str, float]] = {}
        for name in sorted(snapshot):
            values = snapshot[name]
            if not values:
                continue
            out[name] = {
                "count": len(values),
                "mean_ms": round(1000 * sum(values) / len(values), 3),
                "p50_ms": round(1000 * _percentile(values, 0.50), 3),
                "p95_ms": round(1000 * _percentile(values, 0.95), 3),
                "p99_ms": round(1000 * _percentile(values, 0.99), 3),
                "max_ms": round(1000 * values[-1], 3),
            }
        return out


@dataclass(slots=True)
class CommandReply:
    """The outcome of one command: HTTP status, parsed body, replay flag, latency."""

    command_type: str
    command_id: str
    idempotency_key: str | None
    status: int
    body: dict[str, Any]
    replayed: bool
    latency_s: float
    attempts: int = 1

    @property
    def accepted(self) -> bool:
        return self.status == 202

    @property
    def result(self) -> dict[str, Any]:
        """The reply's `result` object (an extension of ours), {} when absent."""
        result = self.body.get("result")
        return result if isinstance(result, dict) else {}

    def new_id(self, name: str) -> str | None:
        """The id `name` ("customerId", "accountId", ...) of what the command made.

        Read where the published client reads it, at the top level of the 202
        (`reply["customerId"]`), else from `result`; None when neither has it.
        """
        value = self.body.get(name)
        if value is None:
            value = self.result.get(name)
        return None if value is None else str(value)

    @property
    def event_ids(self) -> list[str]:
        ids = self.body.get("eventIds")
        return list(ids) if isinstance(ids, list) else []

    @property
    def invariant(self) -> str | None:
        """The 422 invariant code, None for any other reply."""
        if self.status != 422:
            return None
        code = self.body.get("invariant")
        return str(code) if code is not None else None

    @property
    def error(self) -> str | None:
        if self.status < 400:
            return None
        return str(self.body.get("error", "UNKNOWN"))

    def raise_for_error(self) -> CommandReply:
        """Raise the typed error for a non-2xx reply; return self otherwise."""
        if self.status < 400:
            return self
        if self.status == 422:
            raise InvariantViolationError(
                self.invariant or "UNKNOWN",
                str(self.body.get("message", "")),
                self.body.get("details") or {},
                reply=self,
            )
        raise _api_error(self.status, self.body, reply=self)


@dataclass(slots=True)
class CommandRequest:
    """One command ready to go: the envelope as bytes, and what the reply is filed under."""

    command_type: str
    tenant_id: str
    command_id: str
    idempotency_key: str | None
    body: bytes  # the JSON envelope, exactly as sent (and sent again on a retry)
    correlation_id: str | None = None


# A lane: a generator that yields the CommandRequests of one sequence of commands, in
# order, and is sent each one's CommandReply before it yields the next (see run_lanes).
Lane = Generator[CommandRequest, CommandReply, None]


@dataclass(slots=True)
class RawReply:
    """A reply as received, for probes that need the status rather than an exception."""

    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)


def _names_parameter(error: ApiError, name: str) -> bool:
    """Whether a 400 refuses the query parameter `name` (details.parameter names it)."""
    return error.details.get("parameter") == name or (not error.details and name in error.message)


def _api_error(status: int, body: Any, reply: CommandReply | None = None) -> ApiError:
    data = body if isinstance(body, dict) else {}
    error = str(data.get("error", "UNKNOWN"))
    message = str(data.get("message", ""))
    details = data.get("details") if isinstance(data.get("details"), dict) else {}
    if status == 422:
        return InvariantViolationError(
            str(data.get("invariant", "UNKNOWN")), message, details, reply=reply
        )
    cls = NotFoundError if status == 404 else ApiError
    return cls(status, error, message, details, reply=reply)


def parse_body(content: bytes) -> Any:
    """A reply body as JSON; a non-JSON reply becomes an error-shaped dict."""
    if not content:
        return {}
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return {"error": "NON_JSON_REPLY", "message": content[:200].decode("utf-8", "replace")}


def now_rfc3339() -> str:
    """The current time as RFC 3339 with an explicit UTC offset."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


class _Borrowed(httpx.BaseTransport):
    """Another client's transport, used but never closed by the borrower."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._inner.handle_request(request)

    def close(self) -> None:
        pass


class TuringCoreClient:
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
        self.retries = max(0, retries)
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.timeout = timeout
        self._transport = transport
        self._max_connections = max_connections
        self.stats = stats if stats is not None else LatencyStats()
        # Without an injected transport the client sends over raw sockets (twin.wire);
        # an injected one (tests, the in-process app) goes through httpx.
        self._fast = HttpTransport(root, timeout) if transport is None else None
        self._base_headers = {
            "Authorization": f"Bearer {self.api_key}",
            "Accept": "application/json",
            "User-Agent": "turingcore-twin",
        }
        self._host_header = urllib.parse.urlsplit(root).netloc
        self._command_heads: dict[str, bytes] = {}
        self._idle_lock = threading.Lock()
        self._idle: list[socket.socket] = []  # the multiplexer's kept-alive connections
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
            retries=self.retries,
            backoff=self.backoff,
            backoff_max=self.backoff_max,
            max_connections=self._max_connections,
        )

    def close(self) -> None:
        self._http.close()
        with self._idle_lock:
            idle, self._idle = self._idle, []
        for sock in idle:
            sock.close()

    def __enter__(self) -> TuringCoreClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _retry_delay(self, attempt: int, wire: WireReply | None) -> float:
        delay = min(self.backoff_max, self.backoff * (2**attempt))
        if wire is not None and wire.status == 429:
            retry_after = str(wire.headers.get("Retry-After", ""))
            if retry_after.isdigit():
                delay = min(self.backoff_max, float(retry_after))
        return delay

    def _sleep_before_retry(self, attempt: int, wire: WireReply | None) -> None:
        time.sleep(self._retry_delay(attempt, wire))

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

    @staticmethod
    def _retryable(wire: WireReply) -> bool:
        return wire.status in RETRYABLE_STATUSES or (
            wire.status == 409 and b"COMMAND_IN_FLIGHT" in wire.content
        )

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
                self._sleep_before_retry(attempt, None)
                attempt += 1
                continue
            if attempt < self.retries and self._retryable(wire):
                self._sleep_before_retry(attempt, wire)
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
            raise _api_error(wire.status, body)
        return body

    # ----------------------------------------------------------------- commands

    def build_envelope(
        self,
        command_type: str,
        payload: Mapping[str, Any],
        *,
        tenant_id: str,
        command_id: str | None = None,
        idempotency_key: str | None = None,
        timestamp: str | None = None,
        actor: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """The command envelope exactly as it is sent."""
        envelope: dict[str, Any] = {
            "commandId": command_id or str(uuid.uuid4()),
            "tenantId": tenant_id,
            "commandType": command_type,
            "actor": dict(actor or DEFAULT_ACTOR),
            "timestamp": timestamp or now_rfc3339(),
            "payload": payload,
        }
        if idempotency_key is not None:
            envelope["idempotencyKey"] = idempotency_key
        return envelope

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
        """The command, encoded once, ready for `send_request` or a lane of `run_lanes`."""
        envelope = self.build_envelope(
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
        tenant_id: str,
        command_id: str | None = None,
        idempotency_key: str | None = None,
        timestamp: str | None = None,
        actor: Mapping[str, str] | None = None,
        correlation_id: str | None = None,
        raise_on_error: bool = True,
    ) -> CommandReply:
        """POST one command to the gateway.

        Returns the reply (202, or any status when `raise_on_error=False`).
        Raises InvariantViolationError on 422, ApiError on other 4xx/5xx, and
        ServiceUnreachableError when the service cannot be reached.
        """
        request = self.command_request(
            command_type,
            payload,
            tenant_id=tenant_id,
            command_id=command_id,
            idempotency_key=idempotency_key,
            timestamp=timestamp,
            actor=actor,
            correlation_id=correlation_id,
        )
        return self.send_request(request, raise_on_error=raise_on_error)

    def send_request(self, request: CommandRequest, *, raise_on_error: bool = True) -> CommandReply:
        """POST a prepared command (see `send_command`), with retries."""
        started = time.perf_counter()
        if self._fast is not None:
            wire, attempts = self._request(
                "POST", self._command_path(request), raw=self._command_bytes(request)
            )
        else:
            headers = {"Content-Type": "application/json"}
            if request.correlation_id is not None:
                headers["X-Correlation-Id"] = request.correlation_id
            wire, attempts = self._request(
                "POST", self._command_path(request), content=request.body, headers=headers
            )
        reply = self._command_reply(request, wire, attempts, time.perf_counter() - started)
        if raise_on_error:
            reply.raise_for_error()
        return reply

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

    def run_lanes(self, lanes: Iterable[Lane], concurrency: int) -> None:
        """Drive the lanes, at most `concurrency` at a time, each in its own order.

        A lane yields a CommandRequest and is sent its CommandReply (any status, after
        the retries) before it yields the next. A new lane starts whenever one ends.
        Over raw http (the default) one thread keeps up to `concurrency` commands in
        flight on as many keep-alive connections; with an injected transport (or https,
        or where epoll is missing) `concurrency` worker threads each drive a lane. An
        exception, from the service (ServiceUnreachableError) or from a lane, stops
        the lanes and is raised here.
        """
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        fast = self._fast
        if fast is not None and not fast.endpoint.https and hasattr(select, "epoll"):
            _CommandMux(self, concurrency).run(lanes)
            return

        def drive(lane: Lane) -> None:
            try:
                request = next(lane)
                while True:
                    request = lane.send(self.send_request(request, raise_on_error=False))
            except StopIteration:
                return

        if concurrency == 1:
            for lane in lanes:
                drive(lane)
            return
        with ThreadPoolExecutor(concurrency, thread_name_prefix="twin-lane") as pool:
            futures = [pool.submit(drive, lane) for lane in lanes]
            try:
                for future in futures:
                    future.result()
            except BaseException:
                for future in futures:
                    future.cancel()
                raise

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
        payload: dict[str, Any] = {
            "tenantCode": tenant_code,
            "displayName": display_name,
            "region": region,
            "baseCurrency": base_currency,
            "timeZone": time_zone,
        }
        if regulatory_jurisdiction is not None:
            payload["regulatoryJurisdiction"] = regulatory_jurisdiction
        if business_type is not None:
            payload["businessType"] = business_type
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
        payload: dict[str, Any] = {
            "bookingDate": booking_date,
            "valueDate": value_date or booking_date,
            "currency": currency,
            "legs": [dict(leg) for leg in legs],
            "narrative": narrative,
        }
        if tags is not None:
            payload["tags"] = dict(tags)
        if metadata is not None:
            payload["metadata"] = dict(metadata)
        return self.send_command("PostEntry", payload, tenant_id=tenant_id, **envelope)

    # ------------------------------------------------------------------ queries

    def get_tenant(self, tenant_id: str) -> dict[str, Any]:
        """The tenant (with lastSequence and lastHash)."""
        body: dict[str, Any] = self._get(f"/tenants/{tenant_id}")
        return body

    def list_products(self, tenant_id: str) -> list[dict[str, Any]]:
        body = self._get(f"/tenants/{tenant_id}/products")
        return list(body.get("products", []))

    def list_customers(self, tenant_id: str, *, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        """One page: {customers, total, limit, offset}."""
        body: dict[str, Any] = self._get(
            f"/tenants/{tenant_id}/customers", {"limit": limit, "offset": offset}
        )
        return body

    def iter_customers(
        self, tenant_id: str, *, page_size: int = PAGE_SIZE_MAX
    ) -> Iterator[dict[str, Any]]:
        """Every customer, in creation order."""
        offset = 0
        while True:
            page = self.list_customers(tenant_id, limit=page_size, offset=offset)
            items = page.get("customers", [])
            yield from items
            offset += len(items)
            if not items or offset >= int(page.get("total", 0)):
                return

    def get_customer(self, tenant_id: str, customer_id: str) -> dict[str, Any]:
        body: dict[str, Any] = self._get(f"/tenants/{tenant_id}/customers/{customer_id}")
        return body

    def list_accounts(
        self,
        tenant_id: str,
        *,
        customer_id: str | None = None,
        account_type: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> dict[str, Any]:
        """One page: {accounts, total, limit, offset}.

        `account_type` (an extension): CUSTOMER, the members' accounts, which is what
        the service lists without it; GL; or ALL.
        """
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if customer_id is not None:
            params["customerId"] = customer_id
        if account_type is not None:
            params["accountType"] = account_type
        body: dict[str, Any] = self._get(f"/tenants/{tenant_id}/accounts", params)
        return body

    def iter_accounts(
        self,
        tenant_id: str,
        *,
        customer_id: str | None = None,
        account_type: str | None = None,
        page_size: int = PAGE_SIZE_MAX,
    ) -> Iterator[dict[str, Any]]:
        """Every account `list_accounts` selects (members' only by default), in creation
        order."""
        return self._account_pages(tenant_id, customer_id, account_type, page_size, None)

    def iter_ledger_accounts(
        self, tenant_id: str, *, page_size: int = PAGE_SIZE_MAX
    ) -> Iterator[dict[str, Any]]:
        """Every account of the ledger, members' and GL (`accountType=ALL`), in creation
        order. A service without the accountType extension (a 400 naming it) gives
        what it lists by default instead."""
        try:
            first = self.list_accounts(tenant_id, account_type="ALL", limit=page_size)
        except ApiError as exc:
            if exc.status != 400 or not _names_parameter(exc, "accountType"):
                raise
            yield from self.iter_accounts(tenant_id, page_size=page_size)
            return
        yield from self._account_pages(tenant_id, None, "ALL", page_size, first)

    def _account_pages(
        self,
        tenant_id: str,
        customer_id: str | None,
        account_type: str | None,
        page_size: int,
        first: dict[str, Any] | None,
    ) -> Iterator[dict[str, Any]]:
        offset = 0
        page = first
        while True:
            if page is None:
                page = self.list_accounts(
                    tenant_id,
                    customer_id=customer_id,
                    account_type=account_type,
                    limit=page_size,
                    offset=offset,
                )
            items = page.get("accounts", [])
            yield from items
            offset += len(items)
            if not items or offset >= int(page.get("total", 0)):
                return
            page = None

    def get_account(self, tenant_id: str, account_id: str) -> dict[str, Any]:
        body: dict[str, Any] = self._get(f"/tenants/{tenant_id}/accounts/{account_id}")
        return body

    def account_events(
        self,
        tenant_id: str,
        account_id: str,
        *,
        after: int = 0,
        limit: int = PAGE_SIZE_MAX,
        offset: int | None = None,
    ) -> dict[str, Any]:
        """One page of the events that touched the account, oldest first: {events,
        nextCursor}. `after` (the cursor, an extension) and `offset` combine: events
        with sequence > after, skipping `offset` of them."""
        params: dict[str, Any] = {"after": after, "limit": limit}
        if offset is not None:
            params["offset"] = offset
        body: dict[str, Any] = self._get(
            f"/tenants/{tenant_id}/accounts/{account_id}/events", params
        )
        return body

    def iter_account_events(
        self, tenant_id: str, account_id: str, *, page_size: int = PAGE_SIZE_MAX
    ) -> Iterator[dict[str, Any]]:
        after = 0
        while True:
            page = self.account_events(tenant_id, account_id, after=after, limit=page_size)
            yield from page.get("events", [])
            cursor = page.get("nextCursor")
            if cursor is None:
                return
            after = int(cursor)

    def tenant_events(
        self,
        tenant_id: str,
        *,
        after: int = 0,
        limit: int = PAGE_SIZE_MAX,
        event_type: str | None = None,
        entity_id: str | None = None,
    ) -> dict[str, Any]:
        """One page of the tenant's stream, in sequence order: {events, nextCursor}."""
        params: dict[str, Any] = {"after": after, "limit": limit}
        if event_type is not None:
            params["eventType"] = event_type
        if entity_id is not None:
            params["entityId"] = entity_id
        body: dict[str, Any] = self._get(f"/tenants/{tenant_id}/events", params)
        return body

    def iter_tenant_events(
        self,
        tenant_id: str,
        *,
        after: int = 0,
        event_type: str | None = None,
        entity_id: str | None = None,
        page_size: int = PAGE_SIZE_MAX,
    ) -> Iterator[dict[str, Any]]:
        """The tenant's whole stream from `after`, page by page."""
        while True:
            page = self.tenant_events(
                tenant_id,
                after=after,
                limit=page_size,
                event_type=event_type,
                entity_id=entity_id,
            )
            yield from page.get("events", [])
            cursor = page.get("nextCursor")
            if cursor is None:
                return
            after = int(cursor)

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


# ---------------------------------------------------------------- the multiplexer

_EPOLLIN: int = getattr(select, "EPOLLIN", 1)
_EPOLLOUT: int = getattr(select, "EPOLLOUT", 4)
_IN, _IN_OUT = _EPOLLIN, _EPOLLIN | _EPOLLOUT
_SCAN_S = 0.05  # how often in-flight requests are checked against their deadline


class _Slot:
    """One connection of the multiplexer and the lane it is running."""

    __slots__ = (
        "attempt",
        "data",
        "deadline",
        "fd",
        "lane",
        "parser",
        "pending",
        "request",
        "reused",
        "sock",
        "started",
    )

    def __init__(self) -> None:
        self.sock: socket.socket | None = None
        self.fd = -1
        self.parser = ResponseParser()
        self.lane: Lane | None = None
        self.request: CommandRequest | None = None
        self.data = b""
        self.pending = b""  # what the socket did not take yet
        self.started = 0.0
        self.deadline = 0.0  # > 0 while a request is in flight
        self.attempt = 0
        self.reused = False


class _CommandMux:
    """Keeps up to N commands in flight from one thread: N keep-alive connections, epoll.

    Each connection runs one lane at a time. The client's CPU per command is what
    limits a run once the server is fast: one thread and non-blocking sockets cost
    neither thread switches nor GIL hand-offs, and the replies that are ready are
    all read in one wake-up. Retries follow the client's policy exactly (same bytes:
    same commandId and idempotency key): connection errors, timeouts, 5xx, 429 and
    409 COMMAND_IN_FLIGHT, with backoff timers; a kept-alive connection that the
    server closed before any byte of a reply is replaced and the request sent again
    at once.
    """

    def __init__(self, client: TuringCoreClient, concurrency: int) -> None:
        self.client = client
        self.timeout = client.timeout
        self.retries = client.retries
        self.endpoint = client._fast.endpoint if client._fast is not None else None
        self.slots = [_Slot() for _ in range(concurrency)]
        self.poller = select.epoll()
        self.by_fd: dict[int, _Slot] = {}
        self.timers: list[tuple[float, int, _Slot]] = []
        self.sequence = itertools.count()
        self.lanes: Iterator[Lane] = iter(())
        self.active = 0

    # ------------------------------------------------------------------ driving

    def run(self, lanes: Iterable[Lane]) -> None:
        self.lanes = iter(lanes)
        client = self.client
        try:
            with client._idle_lock:
                for slot in self.slots:
                    if not client._idle:
                        break
                    self._attach(slot, client._idle.pop())
            for slot in self.slots:
                request = self._next_lane(slot)
                if request is None:
                    break
                self.active += 1
                self._begin(slot, request)
            poll = self.poller.poll
            timers = self.timers
            next_scan = time.perf_counter() + _SCAN_S
            while self.active:
                now = time.perf_counter()
                wait = _SCAN_S
                if timers:
                    wait = min(wait, max(0.0, timers[0][0] - now))
                for fd, events in poll(wait):
                    ready = self.by_fd.get(fd)
                    if ready is None:
                        continue
                    if events & _EPOLLOUT and ready.pending:
                        self._flush(ready)
                    if events & ~_EPOLLOUT:
                        self._readable(ready)
                now = time.perf_counter()
                while timers and timers[0][0] <= now:
                    slot = heapq.heappop(timers)[2]
                    self._send(slot)
                if now >= next_scan:
                    next_scan = now + _SCAN_S
                    for slot in self.slots:
                        if 0.0 < slot.deadline < now:
                            self._failed(
                                slot,
                                "ReadTimeout",
                                f"no reply within {self.timeout} s",
                                resend=False,
                            )
        finally:
            self._shutdown()

    def _next_lane(self, slot: _Slot) -> CommandRequest | None:
        """The first request of the next lane that has one, now run by `slot`."""
        for lane in self.lanes:
            try:
                request = next(lane)
            except StopIteration:
                continue
            slot.lane = lane
            return request
        slot.lane = None
        return None

    def _begin(self, slot: _Slot, request: CommandRequest) -> None:
        slot.request = request
        slot.data = self.client._command_bytes(request)
        slot.attempt = 0
        slot.started = time.perf_counter()
        self._send(slot)

    def _complete(self, slot: _Slot, wire: WireReply) -> None:
        slot.deadline = 0.0
        client = self.client
        if slot.attempt < self.retries and client._retryable(wire):
            self._retry_later(slot, wire)
            return
        request = slot.request
        assert request is not None and slot.lane is not None
        reply = client._command_reply(
            request, wire, slot.attempt + 1, time.perf_counter() - slot.started
        )
        try:
            following = slot.lane.send(reply)
        except StopIteration:
            next_lane = self._next_lane(slot)
            if next_lane is None:
                slot.request = None
                self.active -= 1
                return
            following = next_lane
        self._begin(slot, following)

    def _retry_later(self, slot: _Slot, wire: WireReply | None) -> None:
        delay = self.client._retry_delay(slot.attempt, wire)
        slot.attempt += 1
        heapq.heappush(self.timers, (time.perf_counter() + delay, next(self.sequence), slot))

    # --------------------------------------------------------------- the sockets

    def _attach(self, slot: _Slot, sock: socket.socket) -> None:
        slot.sock = sock
        slot.fd = sock.fileno()
        self.by_fd[slot.fd] = slot
        self.poller.register(slot.fd, _IN)

    def _close(self, slot: _Slot) -> None:
        sock = slot.sock
        if sock is None:
            return
        self.by_fd.pop(slot.fd, None)
        with contextlib.suppress(OSError):  # already gone
            self.poller.unregister(slot.fd)
        sock.close()
        slot.sock = None
        slot.fd = -1
        slot.pending = b""

    def _send(self, slot: _Slot) -> None:
        """Send the slot's request (again), on its connection or a new one."""
        slot.reused = slot.sock is not None
        if slot.sock is None:
            assert self.endpoint is not None
            try:
                sock = self.endpoint.connect(self.timeout)
            except TimeoutError:
                self._failed(slot, "ConnectTimeout", f"no connection within {self.timeout} s")
                return
            except OSError as exc:
                self._failed(slot, "ConnectError", str(exc))
                return
            sock.setblocking(False)
            self._attach(slot, sock)
        else:
            sock = slot.sock
        slot.parser.reset()
        slot.deadline = time.perf_counter() + self.timeout
        data = slot.data
        try:
            sent = sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError as exc:
            self._failed(slot, "RemoteProtocolError", f"{type(exc).__name__}: {exc}")
            return
        if sent < len(data):
            slot.pending = data[sent:]
            self.poller.modify(slot.fd, _IN_OUT)

    def _flush(self, slot: _Slot) -> None:
        sock = slot.sock
        assert sock is not None
        try:
            sent = sock.send(slot.pending)
        except BlockingIOError:
            return
        except OSError as exc:
            self._failed(slot, "RemoteProtocolError", f"{type(exc).__name__}: {exc}")
            return
        slot.pending = slot.pending[sent:]
        if not slot.pending:
            self.poller.modify(slot.fd, _IN)

    def _readable(self, slot: _Slot) -> None:
        sock = slot.sock
        assert sock is not None
        try:
            data = sock.recv(RECV_BYTES)
        except BlockingIOError:
            return
        except OSError as exc:
            if slot.deadline == 0.0:
                self._close(slot)
            else:
                self._failed(slot, "ReadError", f"{type(exc).__name__}: {exc}")
            return
        if slot.deadline == 0.0:
            # Nothing asked: the server closing an idle connection (or talking out of
            # turn). Either way this connection is done.
            self._close(slot)
            return
        parser = slot.parser
        try:
            wire = parser.feed(data) if data else parser.feed_eof()
        except IncompleteResponse as exc:
            self._failed(slot, "RemoteProtocolError", str(exc))
            return
        except ProtocolError as exc:
            self._failed(slot, "ReadError", f"ProtocolError: {exc}", resend=False)
            return
        if wire is None:
            return
        if parser.will_close or not data:
            self._close(slot)
        self._complete(slot, wire)

    def _failed(self, slot: _Slot, kind: str, message: str, *, resend: bool = True) -> None:
        """A transport failure of the slot's request: resend, retry later or give up."""
        received = slot.parser.received
        reused = slot.reused
        slot.deadline = 0.0
        self._close(slot)
        if resend and reused and not received:
            self._send(slot)  # a kept-alive connection closed under us: a new one, at once
            return
        if slot.attempt >= self.retries:
            request = slot.request
            assert request is not None
            raise ServiceUnreachableError(
                f"POST {self.client.base_url}{self.client._command_path(request)}: "
                f"{kind}: {message}"
            )
        self._retry_later(slot, None)

    def _shutdown(self) -> None:
        """Idle connections go back to the client for the next run; the others close."""
        client = self.client
        keep: list[socket.socket] = []
        for slot in self.slots:
            sock = slot.sock
            if sock is None:
                continue
            if slot.deadline == 0.0 and not slot.pending:
                self.by_fd.pop(slot.fd, None)
                self.poller.unregister(slot.fd)
                slot.sock = None
                keep.append(sock)
            else:
                self._close(slot)
        self.poller.close()
        with client._idle_lock:
            client._idle.extend(keep)
