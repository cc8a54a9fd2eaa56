"""Raw HTTP/1.1 for the twin's client: a response parser and a blocking keep-alive transport.

Why not http.client or httpx: a twin run is tens of thousands of small requests
ping-ponging with a server on the same few cores, so the client's CPU per request
is throughput lost to the server. A blocking GET round trip to a local server
costs the client ~95 us of CPU with `http.client` and ~60 us with `HttpTransport`
below (one preformatted `sendall`, `recv`, the small parser below), measured on a
2-core box; httpx's own transport was ~380 us in the issue's prototype. The
non-blocking multiplexer of `twin.client` brings a whole command (request, reply,
bookkeeping, run log) to ~40-60 us.

`ResponseParser` understands what an HTTP/1.1 server may send back: a status
line, headers (names case-insensitive), interim 1xx replies, and a body framed by
Content-Length, by chunked transfer coding (with trailers), or by the end of the
connection; bodies arrive in any number of pieces. It is fed bytes as they come
(`feed`), so the same parser serves the blocking transport here and the
non-blocking multiplexer of `twin.client`.

`HttpTransport` sends one request at a time per thread, each thread on its own
keep-alive connection (http or https). A request that finds its kept-alive
connection closed by the server before any byte of a reply arrives (idle
keep-alive timeout) is sent once more on a new connection; every other failure is
raised as the matching httpx exception (ConnectError, ReadTimeout,
RemoteProtocolError, ReadError) for the caller's retry logic.
"""

from __future__ import annotations

import socket
import ssl
import threading
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

HEAD_BYTES_MAX = 64 * 1024
RECV_BYTES = 256 * 1024
USER_AGENT = "turingcore-twin"

# Set by format_head and request_bytes, never taken from the caller.
_FRAMING_HEADERS = frozenset({"host", "content-length", "transfer-encoding"})
_HEAD, _LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _TRAILERS, _UNTIL_CLOSE = range(6)


class ProtocolError(Exception):
    """The peer sent something that is not an HTTP/1.1 response."""


class IncompleteResponse(Exception):
    """The connection ended before the whole response arrived."""

    def __init__(self, received: bool) -> None:
        super().__init__(
            "connection closed in the middle of a response"
            if received
            else "connection closed before any byte of a response"
        )
        self.received = received


class Headers(Mapping[str, str]):
    """Response headers by name, in any case (`get`, `[]`, `in`); a repeated header's
    values are joined with ", ". Kept as the received text and looked up with `find`:
    a reply's headers are mostly never read, and a full parse costs microseconds."""

    __slots__ = ("_block", "_fields", "_lower")

    def __init__(self, block: str = "") -> None:
        self._block = block  # "\r\nName: value\r\nName: value" (every line after a \n)
        self._lower = block.lower()  # latin-1 text: the same length, the same offsets
        self._fields: dict[str, str] | None = None

    def get(self, key: str, default: Any = None) -> Any:
        name = key.lower()
        if self._fields is None:
            needle = "\n" + name + ":"
            lower = self._lower
            start = lower.find(needle)
            if start < 0:
                return default
            if lower.find(needle, start + 1) < 0:  # said once: slice it out
                end = lower.find("\r\n", start)
                begin = start + len(needle)
                return self._block[begin:end].strip() if end >= 0 else self._block[begin:].strip()
        return self._parsed().get(name, default)

    def _parsed(self) -> dict[str, str]:
        fields = self._fields
        if fields is None:
            fields = {}
            for line in self._block.split("\r\n"):
                name, sep, value = line.partition(":")
                if not sep:
                    continue  # the leading empty line; lenient, like http.client, otherwise
                key = name.lower()
                if key in fields:
                    fields[key] += ", " + value.strip()
                else:
                    fields[key] = value.strip()
            self._fields = fields
        return fields

    def __getitem__(self, key: str) -> str:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return str(value)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self._parsed())

    def __len__(self) -> int:
        return len(self._parsed())

    def __repr__(self) -> str:
        return f"Headers({self._parsed()!r})"


@dataclass(slots=True)
class WireReply:
    """A reply off the wire: status, headers, the whole (de-chunked) body."""

    status: int
    headers: Any  # case-insensitive .get(name, default): Headers or httpx.Headers
    content: bytes


_NO_HEADERS = Headers()


class ResponseParser:
    """Incremental parser of one HTTP/1.1 response at a time (see the module docstring).

    `reset()` before each request; `feed(data)` returns the WireReply once it is whole,
    else None; `feed_eof()` at the end of the connection returns a reply whose body ran
    until the close, or raises IncompleteResponse. After a reply, `will_close` says the
    connection cannot be used again (the server said so, the body ran to the close, or
    bytes followed the reply).
    """

    __slots__ = (
        "_body",
        "_buf",
        "_headers",
        "_need",
        "_no_body",
        "_state",
        "_status",
        "received",
        "will_close",
    )

    def __init__(self) -> None:
        self.reset()

    def reset(self, *, head_request: bool = False) -> None:
        self._buf = b""
        self._state = _HEAD
        self._status = 0
        self._headers = _NO_HEADERS
        self._need = 0
        self._body: list[bytes] = []
        self._no_body = head_request
        self.received = False
        self.will_close = False

    def feed(self, data: bytes) -> WireReply | None:
        if data:
            self.received = True
        buf = self._buf + data if self._buf else data
        while True:
            state = self._state
            if state == _HEAD:
                end = self._find(buf, b"\r\n\r\n", "response head")
                if end < 0:
                    return None
                done = self._start(buf[:end])
                buf = buf[end + 4 :]
                if done:
                    return self._finish(b"", buf)
            elif state == _LENGTH:
                need = self._need
                if len(buf) < need:  # keep the pieces: no quadratic re-copying of big bodies
                    self._body.append(buf)
                    self._need = need - len(buf)
                    self._buf = b""
                    return None
                body = self._body
                if body:
                    body.append(buf[:need])
                    return self._finish(b"".join(body), buf[need:])
                if len(buf) == need:
                    return self._finish(buf, b"")
                return self._finish(buf[:need], buf[need:])
            elif state == _CHUNK_SIZE:
                end = self._find(buf, b"\r\n", "chunk size line")
                if end < 0:
                    return None
                size_text = buf[:end].split(b";", 1)[0].strip()
                try:
                    size = int(size_text, 16)
                except ValueError:
                    raise ProtocolError(f"bad chunk size {size_text[:20]!r}") from None
                if size < 0:
                    raise ProtocolError("negative chunk size")
                buf = buf[end + 2 :]
                if size == 0:
                    self._state = _TRAILERS
                else:
                    self._need = size
                    self._state = _CHUNK_DATA
            elif state == _CHUNK_DATA:
                need = self._need
                if len(buf) < need + 2:
                    take = min(len(buf), need)
                    if take:
                        self._body.append(buf[:take])
                        self._need = need - take
                        buf = buf[take:]
                    self._buf = buf
                    return None
                if buf[need : need + 2] != b"\r\n":
                    raise ProtocolError("chunk not followed by CRLF")
                self._body.append(buf[:need])
                buf = buf[need + 2 :]
                self._state = _CHUNK_SIZE
            elif state == _TRAILERS:
                if buf[:2] == b"\r\n":
                    return self._finish(b"".join(self._body), buf[2:])
                end = self._find(buf, b"\r\n\r\n", "trailers")
                if end < 0:
                    return None
                return self._finish(b"".join(self._body), buf[end + 4 :])
            else:  # _UNTIL_CLOSE
                if buf:
                    self._body.append(buf)
                self._buf = b""
                return None

    def _find(self, buf: bytes, marker: bytes, what: str) -> int:
        """Where `marker` starts in `buf`; -1 when it has not arrived yet (`buf` kept
        for the next feed; `what` too long for a head is a ProtocolError)."""
        end = buf.find(marker)
        if end < 0:
            if len(buf) > HEAD_BYTES_MAX:
                raise ProtocolError(f"{what} too long")
            self._buf = buf
        return end

    def feed_eof(self) -> WireReply:
        """The connection ended: the reply if its body runs until the close."""
        if self._state == _UNTIL_CLOSE:
            self.will_close = True
            return WireReply(self._status, self._headers, b"".join(self._body))
        raise IncompleteResponse(self.received)

    def _start(self, head: bytes) -> bool:
        """Parse the status line and headers; set up the body. True when there is none."""
        text = head.decode("latin-1")
        cut = text.find("\r\n")
        status_line = text if cut < 0 else text[:cut]
        version = status_line[:9]
        code = status_line[9:12]
        if (
            version not in ("HTTP/1.1 ", "HTTP/1.0 ")
            or not code.isdigit()
            or status_line[12:13] not in ("", " ")
        ):
            raise ProtocolError(f"bad status line {status_line[:60]!r}")
        status = int(code)
        if 100 <= status < 200 and status != 101:
            return False  # an interim reply: the real one follows
        headers = Headers("" if cut < 0 else text[cut:])
        self._status = status
        self._headers = headers
        connection = headers.get("connection")
        if connection is None:
            self.will_close = version == "HTTP/1.0 "
        else:
            connection = connection.lower()
            self.will_close = "close" in connection or (
                version == "HTTP/1.0 " and "keep-alive" not in connection
            )
        if self._no_body or status in (204, 304):
            return True
        coding = headers.get("transfer-encoding")
        if coding is not None:
            if coding.rsplit(",", 1)[-1].strip().lower() != "chunked":
                raise ProtocolError(f"unsupported transfer-encoding {coding!r}")
            self._state = _CHUNK_SIZE
            return False
        length = headers.get("content-length")
        if length is None:
            self._state = _UNTIL_CLOSE
            self.will_close = True
            return False
        if not length.isdigit():
            raise ProtocolError(f"bad content-length {length!r}")
        self._need = int(length)
        if self._need == 0:
            return True
        self._state = _LENGTH
        return False

    def _finish(self, content: bytes, rest: bytes) -> WireReply:
        if rest:
            self.will_close = True  # bytes nobody asked for: do not trust this connection
        self._buf = b""
        self._state = _HEAD
        return WireReply(self._status, self._headers, content)


def format_head(method: str, target: str, host: str, headers: Mapping[str, str]) -> bytes:
    """The request line and headers, without Content-Length and the blank line."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    lines.extend(
        f"{name}: {value}"
        for name, value in headers.items()
        if name.lower() not in _FRAMING_HEADERS
    )
    return ("\r\n".join(lines) + "\r\n").encode("latin-1")


def request_bytes(head: bytes, body: bytes | None) -> bytes:
    """A whole request from `format_head`'s head and a body (None: no body)."""
    if body is None:
        return head + b"\r\n"
    return b"%sContent-Length: %d\r\n\r\n%s" % (head, len(body), body)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a base URL points: scheme, host, port, the Host header."""

    https: bool
    host: str
    port: int
    host_header: str

    @classmethod
    def parse(cls, base_url: str) -> Endpoint:
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        https = parts.scheme == "https"
        return cls(https, parts.hostname, parts.port or (443 if https else 80), parts.netloc)

    def connect(self, timeout: float) -> socket.socket:
        """A new connected socket (TLS for https), blocking with `timeout`."""
        sock = socket.create_connection((self.host, self.port), timeout=timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.https:
                context = ssl.create_default_context()
                sock = context.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
        return sock


class _Connection:
    __slots__ = ("parser", "sock")

    def __init__(self) -> None:
        self.sock: socket.socket | None = None
        self.parser = ResponseParser()

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None


class HttpTransport(httpx.BaseTransport):
    """Blocking HTTP/1.1 keep-alive over raw sockets, one connection per thread."""

    def __init__(self, base_url: str, timeout: float) -> None:
        self.endpoint = Endpoint.parse(base_url)
        self._timeout = timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[_Connection] = []
        # Told of each resend on a new connection after a kept-alive one closed.
        self.on_resend: Callable[[], None] | None = None

    def _connection(self) -> _Connection:
        conn: _Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = _Connection()
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def exchange(self, data: bytes, *, head_request: bool = False) -> WireReply:
        """Send one whole request (`request_bytes`); return its reply."""
        endpoint = self.endpoint
        for fresh_retry in (False, True):
            conn = self._connection()
            parser = conn.parser
            parser.reset(head_request=head_request)
            reused = conn.sock is not None
            try:
                if conn.sock is None:
                    try:
                        conn.sock = endpoint.connect(self._timeout)
                    except TimeoutError as exc:
                        raise httpx.ConnectTimeout(
                            f"{endpoint.host}:{endpoint.port}: no connection within "
                            f"{self._timeout} s"
                        ) from exc
                sock = conn.sock
                sock.sendall(data)
                while True:
                    chunk = sock.recv(RECV_BYTES)
                    if not chunk:
                        reply = parser.feed_eof()
                        conn.close()
                        return reply
                    reply_or_none = parser.feed(chunk)
                    if reply_or_none is not None:
                        if parser.will_close:
                            conn.close()
                        return reply_or_none
            except httpx.TransportError:
                conn.close()
                raise
            except TimeoutError as exc:
                conn.close()
                raise httpx.ReadTimeout(f"no reply within {self._timeout} s") from exc
            except ConnectionRefusedError as exc:
                conn.close()
                raise httpx.ConnectError(f"{endpoint.host}:{endpoint.port}: {exc}") from exc
            except (IncompleteResponse, BrokenPipeError, ConnectionResetError) as exc:
                conn.close()
                if reused and not parser.received and not fresh_retry:
                    if self.on_resend is not None:
                        self.on_resend()
                    continue  # the server closed the idle connection: go again on a new one
                raise httpx.RemoteProtocolError(f"{type(exc).__name__}: {exc}") from exc
            except (ProtocolError, OSError) as exc:
                conn.close()
                raise httpx.ReadError(f"{type(exc).__name__}: {exc}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def send_raw(
        self, method: str, target: str, body: bytes | None, headers: Mapping[str, str]
    ) -> WireReply:
        """One request; `target` is the path with its query string."""
        head = format_head(method, target, self.endpoint.host_header, headers)
        return self.exchange(request_bytes(head, body), head_request=method == "HEAD")

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        target = request.url.raw_path.decode("ascii")
        body = request.read()
        wire = self.send_raw(
            request.method,
            target,
            body if body or request.method != "GET" else None,
            request.headers,
        )
        return httpx.Response(
            wire.status, headers=list(wire.headers.items()), content=wire.content, request=request
        )

    def close(self) -> None:
        with self._lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()
        self._local = threading.local()
