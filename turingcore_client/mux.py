"""The one multiplexer: many requests in flight from ONE thread, one retry policy.

Callers `submit` a `Request` (the whole request as bytes, what to call with its
reply, a priority) and call `pump()` between pieces of their own work, or
`run_until(done)`. Replies are handed to their `done` callbacks on the pumping
thread, which may submit more. Two users:

- `TuringCoreClient.run_lanes` keeps one command of each of N lanes in flight and
  submits a lane's next command from its reply's callback (the twin's run);
- the invariant checks queue their reads (tenant-stream pages ahead, every account's
  event pages, the isolation probes) by priority and fold the replies as they come,
  so the service answers the next reads on one core while the twin checks the last
  ones on the other.

Over plain http with epoll: N non-blocking keep-alive connections, one thread. The
client's CPU per request is throughput lost to a server on the same cores; one
thread and non-blocking sockets cost neither thread switches nor GIL hand-offs, and
the replies that are ready are all read in one wake-up. Elsewhere (an injected
transport, https, no epoll) N worker threads send each request through the client's
blocking path (N = 1: on the calling thread), and `pump` runs the callbacks of the
requests they finished.

Retries follow `turingcore_client.retry.RetryPolicy` in both modes: a reply worth
retrying, or a transport failure, sends the same bytes again after the backoff
(the request waits on a timer, not on a connection), and a request that runs out of
attempts raises `ServiceUnreachableError` from `pump`.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass
from typing import Any

from turingcore_client.errors import ServiceUnreachableError
from turingcore_client.retry import RESEND, RetryPolicy
from turingcore_client.wire import (
    RECV_BYTES,
    Endpoint,
    IncompleteResponse,
    ProtocolError,
    ResponseParser,
    WireReply,
)

Done = Callable[[WireReply, int], None]  # (the final reply, attempts), on the pumping thread
Blocking = Callable[[], tuple[WireReply, int]]  # the same request, sent with the retries

_EPOLLIN: int = getattr(select, "EPOLLIN", 1)
_EPOLLOUT: int = getattr(select, "EPOLLOUT", 4)
_IN, _IN_OUT = _EPOLLIN, _EPOLLIN | _EPOLLOUT
_SCAN_S = 0.05  # how often in-flight requests are checked against their deadline
PRIORITIES = 3  # 0 goes first


@dataclass(slots=True)
class Request:
    """One request for the multiplexer."""

    data: bytes  # the whole request as the raw transport sends it (again on a retry)
    blocking: Blocking  # how the threaded mode sends it
    done: Done
    describe: str  # "GET http://host/v1/...", for the error that ends the retries
    priority: int = 0
    attempt: int = 0


class IdleSockets:
    """Kept-alive connections one multiplexer leaves for the next (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._socks: list[socket.socket] = []

    def take(self, n: int) -> list[socket.socket]:
        with self._lock:
            taken, self._socks = self._socks[:n], self._socks[n:]
        return taken

    def give(self, socks: list[socket.socket]) -> None:
        with self._lock:
            self._socks.extend(socks)

    def close(self) -> None:
        for sock in self.take(len(self._socks)):
            sock.close()


class _Conn:
    """One connection and the request it is running."""

    __slots__ = ("deadline", "fd", "parser", "pending", "request", "reused", "sock")

    def __init__(self) -> None:
        self.sock: socket.socket | None = None
        self.fd = -1
        self.parser = ResponseParser()
        self.request: Request | None = None
        self.pending = b""  # what the socket did not take yet
        self.deadline = 0.0  # > 0 while a request is in flight
        self.reused = False


class Multiplexer:
    """Up to `connections` requests in flight; see the module docstring."""

    def __init__(
        self,
        endpoint: Endpoint | None,
        connections: int,
        timeout: float,
        policy: RetryPolicy,
        idle: IdleSockets | None = None,
    ) -> None:
        self.connections = max(1, connections)
        self.timeout = timeout
        self.policy = policy
        self.idle = idle
        self.queues: tuple[deque[Request], ...] = tuple(deque() for _ in range(PRIORITIES))
        self.queued = 0
        self.running = 0
        self.timers: list[tuple[float, int, Request]] = []
        self.sequence = itertools.count()
        self.epoll = endpoint is not None and not endpoint.https and hasattr(select, "epoll")
        self.endpoint = endpoint
        self.conns: list[_Conn] = []
        self.free: list[_Conn] = []
        self.by_fd: dict[int, _Conn] = {}
        self.poller: Any = None
        self.next_scan = 0.0
        self.pool: ThreadPoolExecutor | None = None
        self.futures: dict[Future[tuple[WireReply, int]], Request] = {}
        if self.epoll:
            self.poller = select.epoll()
            self.conns = [_Conn() for _ in range(self.connections)]
            self.free = list(self.conns)
            for conn, sock in zip(
                self.conns, idle.take(self.connections) if idle else (), strict=False
            ):
                self._attach(conn, sock)
        elif self.connections > 1:
            self.pool = ThreadPoolExecutor(self.connections, thread_name_prefix="turingcore-mux")

    # ------------------------------------------------------------------ the API

    def submit(self, request: Request) -> None:
        """Queue `request` behind those of its priority. It starts at the next `pump`,
        so that what is submitted together goes out in priority order."""
        self.queues[request.priority].append(request)
        self.queued += 1

    @property
    def busy(self) -> bool:
        return bool(self.queued or self.running or self.timers)

    def pump(self, wait: float = 0.0) -> None:
        """Start what is queued, handle the replies that are ready (waiting up to `wait`
        seconds for one when none is), run their callbacks."""
        if not self.epoll:
            self._pump_threads(wait)
            return
        if self.queued:
            self._start()
        timers = self.timers
        if timers:
            wait = min(wait, max(0.0, timers[0][0] - time.perf_counter()))
        if self.running:
            for fd, events in self.poller.poll(wait):
                conn = self.by_fd.get(fd)
                if conn is None:
                    continue
                if events & _EPOLLOUT and conn.pending:
                    self._flush(conn)
                if events & ~_EPOLLOUT:
                    self._readable(conn)
        elif wait > 0:
            time.sleep(wait)
        now = time.perf_counter()
        while timers and timers[0][0] <= now:
            request = heapq.heappop(timers)[2]
            self.queues[request.priority].appendleft(request)
            self.queued += 1
        if now >= self.next_scan:
            self.next_scan = now + _SCAN_S
            for conn in self.conns:
                if 0.0 < conn.deadline < now:
                    self._failed(conn, "ReadTimeout", f"no reply within {self.timeout} s", False)
        if self.queued:
            self._start()

    def run_until(self, done: Callable[[], bool]) -> None:
        """Pump until `done()`; it must become true through the submitted requests."""
        while not done():
            if not self.busy:
                raise RuntimeError("waiting for a reply nobody asked for")
            self.pump(_SCAN_S)

    def close(self) -> None:
        """Idle connections go to `idle` for the next multiplexer; the others close."""
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
        if not self.epoll:
            return
        keep: list[socket.socket] = []
        for conn in self.conns:
            sock = conn.sock
            if sock is None:
                continue
            if self.idle is not None and conn.request is None and not conn.pending:
                self.by_fd.pop(conn.fd, None)
                self.poller.unregister(conn.fd)
                conn.sock = None
                keep.append(sock)
            else:
                self._close(conn)
        self.poller.close()
        if self.idle is not None:
            self.idle.give(keep)

    # ------------------------------------------------------------ the threaded mode

    def _next(self) -> Request | None:
        for requests in self.queues:
            if requests:
                self.queued -= 1
                return requests.popleft()
        return None

    def _pump_threads(self, wait: float) -> None:
        if self.pool is None:  # one connection: send on this thread
            request = self._next()
            if request is not None:
                request.done(*request.blocking())
            return
        while self.queued and len(self.futures) < self.connections:
            request = self._next()
            assert request is not None
            self.futures[self.pool.submit(request.blocking)] = request
        self.running = len(self.futures)
        if not self.futures:
            return
        finished, _ = futures_wait(self.futures, timeout=wait, return_when=FIRST_COMPLETED)
        for future in finished:
            request = self.futures.pop(future)
            self.running = len(self.futures)
            request.done(*future.result())
        self.running = len(self.futures)

    # --------------------------------------------------------------- the sockets

    def _start(self) -> None:
        while self.free and self.queued:
            request = self._next()
            assert request is not None
            self.running += 1
            self._send(self.free.pop(), request)

    def _attach(self, conn: _Conn, sock: socket.socket) -> None:
        conn.sock = sock
        conn.fd = sock.fileno()
        self.by_fd[conn.fd] = conn
        self.poller.register(conn.fd, _IN)

    def _close(self, conn: _Conn) -> None:
        sock = conn.sock
        if sock is None:
            return
        self.by_fd.pop(conn.fd, None)
        with contextlib.suppress(OSError, ValueError):  # already gone
            self.poller.unregister(conn.fd)
        sock.close()
        conn.sock = None
        conn.fd = -1
        conn.pending = b""

    def _send(self, conn: _Conn, request: Request) -> None:
        """Send `request` (again) on the connection, or on a new one."""
        conn.request = request
        conn.reused = conn.sock is not None
        if conn.sock is None:
            assert self.endpoint is not None
            try:
                sock = self.endpoint.connect(self.timeout)
            except TimeoutError:
                self._failed(conn, "ConnectTimeout", f"no connection within {self.timeout} s")
                return
            except OSError as exc:
                self._failed(conn, "ConnectError", str(exc))
                return
            sock.setblocking(False)
            self._attach(conn, sock)
        else:
            sock = conn.sock
        conn.parser.reset()
        conn.deadline = time.perf_counter() + self.timeout
        data = request.data
        try:
            sent = sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError as exc:
            self._failed(conn, "RemoteProtocolError", f"{type(exc).__name__}: {exc}")
            return
        if sent < len(data):
            conn.pending = data[sent:]
            self.poller.modify(conn.fd, _IN_OUT)

    def _flush(self, conn: _Conn) -> None:
        sock = conn.sock
        assert sock is not None
        try:
            sent = sock.send(conn.pending)
        except BlockingIOError:
            return
        except OSError as exc:
            self._failed(conn, "RemoteProtocolError", f"{type(exc).__name__}: {exc}")
            return
        conn.pending = conn.pending[sent:]
        if not conn.pending:
            self.poller.modify(conn.fd, _IN)

    def _readable(self, conn: _Conn) -> None:
        sock = conn.sock
        assert sock is not None
        try:
            data = sock.recv(RECV_BYTES)
        except BlockingIOError:
            return
        except OSError as exc:
            if conn.request is None:
                self._close(conn)
            else:
                self._failed(conn, "ReadError", f"{type(exc).__name__}: {exc}")
            return
        request = conn.request
        if request is None:
            # Nothing asked: the server closing an idle connection (or talking out of
            # turn). Either way this connection is done.
            self._close(conn)
            return
        parser = conn.parser
        try:
            wire = parser.feed(data) if data else parser.feed_eof()
        except IncompleteResponse as exc:
            self._failed(conn, "RemoteProtocolError", str(exc))
            return
        except ProtocolError as exc:
            self._failed(conn, "ReadError", f"ProtocolError: {exc}", False)
            return
        if wire is None:
            return
        if parser.will_close or not data:
            self._close(conn)
        self._release(conn)
        policy = self.policy
        if request.attempt < policy.retries and policy.retryable(wire):
            policy.count(wire)
            self._later(request, wire)
        else:
            request.done(wire, request.attempt + 1)

    def _failed(self, conn: _Conn, kind: str, message: str, resend: bool = True) -> None:
        """A transport failure of the connection's request: resend, retry later or give up."""
        request = conn.request
        assert request is not None
        received = conn.parser.received
        reused = conn.reused
        self._close(conn)
        if resend and reused and not received:
            self.policy.counts.add(RESEND)
            self._send(conn, request)  # a kept-alive connection closed under us: a new one
            return
        self._release(conn)
        if request.attempt >= self.policy.retries:
            raise ServiceUnreachableError(f"{request.describe}: {kind}: {message}")
        self.policy.count(None, kind)
        self._later(request, None)

    def _later(self, request: Request, wire: WireReply | None) -> None:
        delay = self.policy.delay(request.attempt, wire)
        request.attempt += 1
        heapq.heappush(self.timers, (time.perf_counter() + delay, next(self.sequence), request))

    def _release(self, conn: _Conn) -> None:
        conn.request = None
        conn.deadline = 0.0
        self.running -= 1
        self.free.append(conn)
