"""`contract-test proxy`: a validating proxy in front of any TuringCore v1 service.

    contract-test proxy --upstream https://core.test.example.com --listen 127.0.0.1:8081
                        [--record traffic.jsonl] [--report-dir DIR] [--junit FILE]

Clients change only the host and port of their base URL: every path (the upstream's
prefix included) goes to the upstream unchanged, with its headers and body, and the
reply comes back with its status, headers and body as the upstream sent them. The
proxy answers `/healthz` itself.

Each exchange is judged after its reply has gone back (`proxy_checks.Observer`, on
one checker task, in the order the replies completed), so the checks add no latency
to the reply. A finding is printed at once, one line; on SIGINT or SIGTERM the proxy
stops taking connections, finishes the exchanges in flight, judges what is queued,
writes junit.xml, report.md and report.html (`contract_tests.report`), and exits 1
when it saw any finding, else 0.

`--record FILE` writes one JSON line per exchange (`record_line`): the request
(method, path, query, headers, body) and the reply (status, headers, body) with the
timing; credentials are redacted (`REDACTED_HEADERS`).
"""

from __future__ import annotations

import asyncio
import base64
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import orjson
import uvicorn

from contract_tests import report
from contract_tests.proxy_checks import Exchange, Finding, Observer, spec_of
from contract_tests.proxy_upstream import UpstreamError, UpstreamPool
from turingcore_client.contract import spec as packaged_spec

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[Message], Any]

# Hop-by-hop headers (RFC 9110 section 7.6.1) belong to one connection, not the message.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "expect",  # the whole body is read before it is sent on
    }
)
HOP_BY_HOP_BYTES = frozenset(name.encode() for name in HOP_BY_HOP)
# Headers whose values are credentials: never written to a recording.
REDACTED_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "api-key", "cookie", "set-cookie"}
)
REDACTED = "REDACTED"
UPSTREAM_TIMEOUT_S = 60.0
KEEP_ALIVE_S = 75
QUEUE_MAX = 10_000  # exchanges waiting for the checker; beyond it a request waits


def redact(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The headers with every credential's value replaced by REDACTED."""
    return [
        (k, REDACTED if k.lower() in REDACTED_HEADERS or "token" in k.lower() else v)
        for k, v in headers
    ]


def _body_field(body: bytes) -> dict[str, Any]:
    """A body for the recording: its JSON when it is JSON, else text, else base64."""
    if not body:
        return {"body": None}
    try:
        return {"body": orjson.loads(body)}
    except orjson.JSONDecodeError:
        pass
    try:
        return {"bodyText": body.decode("utf-8")}
    except UnicodeDecodeError:
        return {"bodyBase64": base64.b64encode(body).decode("ascii")}


def record_line(ex: Exchange) -> bytes:
    """One exchange as one JSON line, credentials redacted."""
    request: dict[str, Any] = {
        "method": ex.method,
        "path": ex.path,
        "query": ex.query,
        "headers": redact(ex.request_headers),
        **_body_field(ex.request_body),
    }
    reply: dict[str, Any] = {
        "status": ex.status,
        "headers": redact(ex.reply_headers),
        **_body_field(ex.reply_body),
    }
    timing = {"startedAt": ex.started, "elapsedMs": round(ex.elapsed_ms, 3)}
    line: dict[str, Any] = {"request": request, "reply": reply, "timing": timing}
    if ex.upstream_error is not None:
        line["upstreamError"] = ex.upstream_error
    return orjson.dumps(line) + b"\n"


@dataclass
class _Traffic:
    """Per tenant: commands in flight and commands completed (so a read knows whether
    the ledger moved while it ran)."""

    in_flight: dict[str, int] = field(default_factory=dict)
    completed: dict[str, int] = field(default_factory=dict)


class ValidatingProxy:
    """The ASGI app: forwards each request to `upstream`, returns its reply unchanged,
    and queues the exchange for the checker."""

    def __init__(
        self,
        upstream: str,
        observer: Observer,
        *,
        record: IO[bytes] | None = None,
        out: IO[str] | None = None,
    ) -> None:
        url = httpx.URL(upstream)
        self.origin = (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
        self.observer = observer
        self.record = record
        self.out = out if out is not None else sys.stdout
        self.pool: UpstreamPool | None = None
        self.queue: asyncio.Queue[Exchange | None] | None = None
        self.checker: asyncio.Task[None] | None = None
        self.traffic = _Traffic()
        self.api_prefix = observer.api_prefix

    # --- lifespan ----------------------------------------------------------------------

    async def start(self) -> None:
        self.pool = UpstreamPool(*self.origin, UPSTREAM_TIMEOUT_S)
        self.queue = asyncio.Queue(QUEUE_MAX)
        self.checker = asyncio.create_task(
            self._check_all(asyncio.create_task(self._served_spec()))
        )

    async def _served_spec(self) -> None:
        """What the upstream offers, from the spec it serves (if any): one GET at start."""
        assert self.pool is not None
        for name in ("openapi.json", "openapi.yaml"):
            target = f"{self.api_prefix}/{name}".encode()
            try:
                reply = await asyncio.wait_for(self.pool.request("GET", target, [], None), 10)
            except (UpstreamError, TimeoutError):
                return
            if reply.status == 200:
                self.observer.lists.learn_spec(spec_of(reply.body))
                return

    async def stop(self) -> None:
        """Judge what is queued, then close the upstream connections."""
        if self.queue is not None and self.checker is not None:
            await self.queue.put(None)
            await self.checker
        if self.pool is not None:
            await self.pool.aclose()

    async def _check_all(self, first: asyncio.Task[None]) -> None:
        assert self.queue is not None
        await first  # the served spec is read before any exchange is judged
        while True:
            ex = await self.queue.get()
            if ex is None:
                return
            try:
                findings = self.observer.observe(ex)
            except Exception as exc:  # a check's bug must not stop the proxy
                findings = []
                print(f"proxy: could not judge {ex.method} {ex.path}: {exc!r}", file=self.out)
            for finding in findings:
                self._show(finding)
            if self.record is not None:
                self.record.write(record_line(ex))

    def _show(self, finding: Finding) -> None:
        print(finding.line(), file=self.out, flush=True)

    # --- ASGI --------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if scope["path"] == "/healthz":
            body = orjson.dumps(
                {
                    "status": "ok",
                    "exchanges": self.observer.exchanges,
                    "findings": len(self.observer.findings),
                }
            )
            await _send_whole(send, 200, [(b"content-type", b"application/json")], body)
            return
        await self._forward(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _forward(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.pool is not None and self.queue is not None
        started, clock = time.time(), time.perf_counter()
        body = await read_body(receive)
        method = scope["method"]
        raw_path = scope.get("raw_path") or scope["path"].encode()
        query = scope.get("query_string", b"")
        target = raw_path + (b"?" + query if query else b"")
        forwarded = [(k, v) for k, v in scope["headers"] if k.lower() not in HOP_BY_HOP_BYTES]
        # A body, or an empty one where the method has one: no Content-Length: 0 is
        # added to a GET.
        content = body if body or method in ("POST", "PUT", "PATCH") else None
        tenant = _tenant_of(scope["path"], self.api_prefix)
        is_command = method == "POST" and scope["path"].endswith("/commands")
        traffic = self.traffic
        epoch = traffic.completed.get(tenant or "", 0)
        quiet = not traffic.in_flight.get(tenant or "", 0)
        if is_command and tenant is not None:
            traffic.in_flight[tenant] = traffic.in_flight.get(tenant, 0) + 1
        error: str | None = None
        status, out_headers = 502, []
        reply_headers: list[tuple[bytes, bytes]] = []
        try:
            reply = await self.pool.request(method, target, forwarded, content)
            status, reply_body, reply_headers = reply.status, reply.body, reply.headers
            out_headers = [(k, v) for k, v in reply.headers if k.lower() not in HOP_BY_HOP_BYTES]
        except UpstreamError as exc:
            error = f"{exc.__class__.__name__}: {exc}"
            status, reply_body = (
                502,
                orjson.dumps(
                    {
                        "error": "UPSTREAM_UNAVAILABLE",
                        "message": f"the proxy could not reach the upstream: {error}",
                        "details": {},
                    }
                ),
            )
            out_headers = [(b"content-type", b"application/json")]
        finally:
            if is_command and tenant is not None:
                traffic.in_flight[tenant] -= 1
                # A command no other command of its tenant overlapped.
                quiet = quiet and not traffic.in_flight[tenant]
                quiet = quiet and traffic.completed.get(tenant, 0) == epoch
                if _may_have_written(status, out_headers):
                    traffic.completed[tenant] = traffic.completed.get(tenant, 0) + 1
        # A reply to HEAD keeps the length of the body it describes.
        length = _header_value(reply_headers, b"content-length") if method == "HEAD" else b""
        await _send_whole(send, status, out_headers, reply_body, length)
        if tenant is not None and not is_command:
            quiet = quiet and not traffic.in_flight.get(tenant, 0)
            quiet = quiet and traffic.completed.get(tenant, 0) == epoch
        ex = Exchange(
            method,
            scope["path"],
            query.decode("latin-1"),
            [(k.decode("latin-1"), v.decode("latin-1")) for k, v in forwarded],
            body,
            status,
            [(k.decode("latin-1"), v.decode("latin-1")) for k, v in out_headers],
            reply_body,
            started,
            (time.perf_counter() - clock) * 1000,
            quiet,
            epoch,
            error,
        )
        if self.queue.full():
            await self.queue.put(ex)
        else:
            self.queue.put_nowait(ex)


def _header_value(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes:
    return next((v for k, v in headers if k.lower() == name), b"")


def _may_have_written(status: int, headers: list[tuple[bytes, bytes]]) -> bool:
    """A command's reply that may have moved the ledger: a 202 that is not a replay, or
    no answer (a refusal writes nothing)."""
    if status == 202:
        return not any(k.lower() == b"idempotent-replayed" and v == b"true" for k, v in headers)
    return status >= 500


def _tenant_of(path: str, api_prefix: str) -> str | None:
    if not path.startswith(api_prefix + "/tenants/"):
        return None
    return path[len(api_prefix) + len("/tenants/") :].split("/", 1)[0] or None


async def read_body(receive: Receive) -> bytes:
    """The whole body of an ASGI request."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


async def _send_whole(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes, length: bytes = b""
) -> None:
    """Send a whole reply with its Content-Length: the body's, or `length` (a HEAD's)."""
    size = length or str(len(body)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", size)],
        }
    )
    await send({"type": "http.response.body", "body": body})


# --- running it ----------------------------------------------------------------------


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the proxy stops on SIGINT and SIGTERM
    itself, writes its reports, and chooses its exit code (uvicorn would re-raise the
    signal after its shutdown, before the reports)."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def api_prefix_of(upstream: str) -> str:
    """The upstream URL's path up to the API: `/v1`, or `/core/v1` behind a gateway."""
    path = httpx.URL(upstream).path.rstrip("/").removesuffix("/v1")
    return path + "/v1"


@dataclass
class ProxyRun:
    """What one proxy run saw, for the reports."""

    observer: Observer
    exchanges: int = 0
    findings: list[Finding] = field(default_factory=list)


def serve_proxy(
    upstream: str,
    host: str,
    port: int,
    *,
    record: Path | None = None,
    spec: dict[str, Any] | None = None,
    out: IO[str] | None = None,
    on_ready: Callable[[], None] | None = None,
) -> ProxyRun:
    """Serve the proxy until SIGINT or SIGTERM; return what it saw."""
    observer = Observer(
        spec or packaged_spec(), api_prefix_of(upstream), target=f"http://{host}:{port}"
    )
    record_file = record.open("wb") if record is not None else None
    try:
        app = ValidatingProxy(upstream, observer, record=record_file, out=out)
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            lifespan="on",
            access_log=False,
            log_level="warning",
            # Idle client connections are kept as long as common servers keep them
            # (nginx: 75 s), not uvicorn's 5 s: a client's pool should not meet a
            # closed connection here that it would not meet without the proxy.
            timeout_keep_alive=KEEP_ALIVE_S,
            server_header=False,
            date_header=False,
            http="httptools",
        )
        server = _Server(config)

        async def main() -> None:
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, lambda: setattr(server, "should_exit", True))
            if on_ready is not None:
                loop.call_soon(_when_started, server, on_ready)
            await server.serve()

        # uvicorn applies `loop` only when it runs the loop itself: run ours on uvloop
        # where uvicorn[standard] installed it (not on Windows).
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(main())
    finally:
        if record_file is not None:
            record_file.close()
    return ProxyRun(observer, observer.exchanges, list(observer.findings))


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def _when_started(server: uvicorn.Server, on_ready: Callable[[], None]) -> None:
    if server.started:
        on_ready()
        return
    asyncio.get_running_loop().call_later(0.01, _when_started, server, on_ready)


def write_proxy_reports(
    run: ProxyRun, report_dir: Path, junit: Path | None, target: str
) -> dict[str, Path]:
    """The proxy's row table as junit.xml, report.md and report.html."""
    result = run.observer.result
    result.notes = [
        f"the proxy passed {run.exchanges} exchanges and saw {len(run.findings)} findings"
        + ("" if not run.findings else ": " + "; ".join(f.line() for f in run.findings[:30]))
    ]
    return report.write_reports([result], report_dir, junit=junit, target=target)


def parse_listen(text: str) -> tuple[str, int]:
    """HOST:PORT -> (host, port); a UsageError-worthy ValueError otherwise."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--listen takes HOST:PORT (e.g. 127.0.0.1:8081), got {text!r}")
    host = host.strip("[]")
    try:  # a taken port is a usage error (exit 2), not uvicorn's exit 1 (a finding's)
        with socket.create_server((host, int(port)), reuse_port=False):
            pass
    except OSError as exc:
        raise ValueError(f"--listen {text}: cannot listen there: {exc.strerror or exc}") from None
    return host, int(port)


def cmd_proxy(args: Any, out: IO[str] | None = None) -> int:
    """`contract-test proxy`: serve until stopped; 1 when a finding was seen, else 0."""
    out = out if out is not None else sys.stdout
    host, port = parse_listen(args.listen)
    spec = None
    if args.spec:
        import yaml

        spec = yaml.safe_load(Path(args.spec).read_text(encoding="utf-8"))
    upstream = args.upstream.rstrip("/")
    prefix = api_prefix_of(upstream)

    def ready() -> None:
        print(
            f"contract-test proxy: http://{host}:{port}{prefix} -> {upstream.removesuffix('/v1')}"
            f"{prefix} (findings below; stop with Ctrl-C or SIGTERM)",
            file=out,
            flush=True,
        )

    run = serve_proxy(
        upstream,
        host,
        port,
        record=Path(args.record) if args.record else None,
        spec=spec,
        out=out,
        on_ready=ready,
    )
    junit = Path(args.junit) if args.junit else None
    paths = write_proxy_reports(run, Path(args.report_dir), junit, upstream)
    for name, path in paths.items():
        print(f"{name:>8}: {path}", file=out)
    verdict = "none" if not run.findings else str(len(run.findings))
    print(
        f"contract-test proxy: exchanges passed: {run.exchanges}; findings: {verdict}",
        file=out,
        flush=True,
    )
    return 1 if run.findings else 0
