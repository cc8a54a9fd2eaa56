"""A tiny HTTP/1.1 proxy that loses replies after the server has sent them.

`LossyProxy` listens on 127.0.0.1 (a free port), opens one upstream connection
per client connection, and forwards each request as it came. For a command POST
(`/v1/tenants/{t}/commands`) it asks its `DropPolicy` how many times the reply
to that command's key (idempotencyKey, else commandId) is to be lost. While that
count is not used up, the proxy reads the WHOLE reply from the mock (so the
command is committed: the mock answers only after its commit) and then, instead
of passing it on, either closes the client's connection without a byte
("close") or sends the status line, the headers and half of the body and then
closes ("truncate"). Every other request and reply passes through untouched.

The policy is deterministic: a key's fate is a hash of the key and a salt, so a
run can be repeated and the test knows in advance which replies go missing.
Every decision is logged in `proxy.log` (key, status from the mock, action).
Only Content-Length and chunked bodies are understood, which is all the mock
and the twin's client use.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import socket
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

HEADER_BYTES_MAX = 64 * 1024


@dataclass
class DropPolicy:
    """Which command replies to lose, and how often: a pure function of the key."""

    fraction: float = 0.2  # keys whose first reply is lost
    twice_fraction: float = 0.05  # of those, keys whose first two replies are lost
    truncate_fraction: float = 0.3  # losses that send half a reply rather than nothing
    salt: str = "lost-replies"

    def _unit(self, key: str, what: str) -> float:
        digest = hashlib.sha256(f"{self.salt}:{what}:{key}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    def drops(self, key: str) -> int:
        """How many replies to this key's command are lost before one gets through."""
        u = self._unit(key, "drop")
        if u < self.twice_fraction:
            return 2
        return 1 if u < self.fraction else 0

    def mode(self, key: str, attempt: int) -> str:
        return "truncate" if self._unit(key, f"mode{attempt}") < self.truncate_fraction else "close"


@dataclass
class _Message:
    head: bytes  # start line and headers, with the blank line
    body: bytes
    start_line: str
    headers: dict[str, str] = field(default_factory=dict)


class _Closed(Exception):
    """The peer closed the connection between messages."""


class _Reader:
    """Buffered reads of HTTP/1.1 messages from one socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def _fill(self) -> bool:
        chunk = self.sock.recv(65536)
        if not chunk:
            return False
        self.buffer += chunk
        return True

    def _line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            if not self._fill():
                raise ConnectionError("closed in the middle of a message")
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line

    def _exactly(self, n: int) -> bytes:
        while len(self.buffer) < n:
            if not self._fill():
                raise ConnectionError("closed in the middle of a body")
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def message(self) -> _Message:
        while b"\r\n\r\n" not in self.buffer:
            if len(self.buffer) > HEADER_BYTES_MAX:
                raise ConnectionError("headers too long")
            if not self._fill():
                if self.buffer:
                    raise ConnectionError("closed in the middle of the headers")
                raise _Closed
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = b""
            while True:
                size_line = self._line()
                size = int(size_line.split(b";", 1)[0], 16)
                chunk = self._exactly(size + 2)
                body += size_line + b"\r\n" + chunk
                if size == 0:
                    break
        else:
            body = self._exactly(int(headers.get("content-length", "0") or 0))
        return _Message(head + b"\r\n\r\n", body, lines[0], headers)


class LossyProxy:
    """Forwards HTTP/1.1 to the upstream port; loses command replies per `policy`."""

    def __init__(self, upstream_port: int, policy: DropPolicy | None = None) -> None:
        self.upstream_port = upstream_port
        self.policy = policy or DropPolicy()
        self.log: list[dict[str, Any]] = []
        self.counts: Counter[str] = Counter()
        self._seen: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._sockets: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._acceptor = threading.Thread(target=self._accept, name="proxy-accept", daemon=True)

    def __enter__(self) -> LossyProxy:
        self._acceptor.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stopping.set()
        _close(self._listener)  # shutdown() wakes the accept() that close() alone would not
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            _close(sock)
        self._acceptor.join(timeout=5)
        for thread in self._threads:
            thread.join(timeout=5)

    def dropped(self) -> list[dict[str, Any]]:
        """The log entries of the replies that were lost."""
        return [e for e in self.log if e["action"] != "forward"]

    # ---------------------------------------------------------------- internals

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(client,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _track(self, sock: socket.socket, add: bool) -> None:
        with self._lock:
            (self._sockets.add if add else self._sockets.discard)(sock)

    def _decide(self, request: _Message) -> tuple[str | None, str]:
        """The command key of a command POST and what to do with its reply."""
        method, _, rest = request.start_line.partition(" ")
        path = rest.rsplit(" ", 1)[0].split("?", 1)[0]
        if method != "POST" or not path.endswith("/commands"):
            return None, "forward"
        try:
            body = json.loads(request.body)
            key = str(body.get("idempotencyKey") or body.get("commandId"))
        except (ValueError, AttributeError):
            return None, "forward"
        with self._lock:
            attempt = self._seen[key]
            self._seen[key] += 1
        if attempt < self.policy.drops(key):
            return key, self.policy.mode(key, attempt)
        return key, "forward"

    def _serve(self, client: socket.socket) -> None:
        self._track(client, True)
        upstream: socket.socket | None = None
        try:
            reader = _Reader(client)
            up_reader: _Reader | None = None
            while not self._stopping.is_set():
                try:
                    request = reader.message()
                except _Closed:
                    return
                key, action = self._decide(request)
                for fresh in (False, True):
                    if upstream is None:
                        upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
                        self._track(upstream, True)
                        up_reader = _Reader(upstream)
                    assert up_reader is not None
                    try:
                        upstream.sendall(request.head + request.body)
                        reply = up_reader.message()  # the whole reply: the command is committed
                        break
                    except (_Closed, BrokenPipeError, ConnectionResetError):
                        # The server closed the kept-alive connection while it was idle
                        # (uvicorn does after 5 s) before reading this request: send it
                        # again on a new one, as a client would.
                        _close(upstream)
                        self._track(upstream, False)
                        upstream = up_reader = None
                        if fresh:
                            raise ConnectionError("the upstream closed twice") from None
                status = int(reply.start_line.split(" ", 2)[1])
                entry = {"key": key, "status": status, "action": action}
                with self._lock:
                    self.counts[action] += 1
                    if key is not None:
                        self.log.append(entry)
                if action == "close":
                    return
                if action == "truncate":
                    client.sendall(reply.head + reply.body[: len(reply.body) // 2])
                    return
                client.sendall(reply.head + reply.body)
                if reply.headers.get("connection", "").lower() == "close":
                    return
        except (OSError, ValueError, IndexError):
            return
        finally:
            _close(client)
            self._track(client, False)
            if upstream is not None:
                _close(upstream)
                self._track(upstream, False)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
