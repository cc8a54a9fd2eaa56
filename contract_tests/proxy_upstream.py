"""The proxy's HTTP/1.1 client to the upstream: pooled keep-alive connections on asyncio
streams, replies parsed by httptools (the parser uvicorn uses).

A proxy hop through httpx costs about 1 ms of CPU on this machine (its models, httpcore,
anyio and h11 for every request); this costs a fraction of it, which is what keeps the
proxy's added latency low on a busy 2-core machine (docs/proxy.md, bench/results/proxy.md).
It does only what the proxy needs: send a request with the client's headers and body as
they are, and return the status, the headers and the body as the upstream framed them
(de-chunked; a compressed body stays compressed).

A connection is reused only while it is idle for less than `IDLE_S` and its peer has
not closed it; a request is never sent twice (a command might then be applied twice):
when a connection fails, the request fails, and the caller answers 502.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass, field

import httptools

IDLE_S = 4.0  # below the 5 s that common servers (uvicorn, ...) keep an idle connection
READ_CHUNK = 65_536
CONNECTIONS_IDLE_MAX = 100


class UpstreamError(Exception):
    """The upstream could not be reached, or broke the connection before its reply."""


@dataclass
class Reply:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


@dataclass
class _Parsing:
    """What httptools' callbacks collect for one reply."""

    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: list[bytes] = field(default_factory=list)
    headers_done: bool = False
    done: bool = False

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.headers_done = True

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.done = True


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    idle_since: float = 0.0

    def usable(self) -> bool:
        return (
            not self.writer.is_closing()
            and not self.reader.at_eof()
            and time.monotonic() - self.idle_since < IDLE_S
        )


class UpstreamPool:
    """Keep-alive connections to one origin (`http://host:port` or `https://...`)."""

    def __init__(self, scheme: str, host: str, port: int, timeout_s: float) -> None:
        self.host, self.port, self.timeout_s = host, port, timeout_s
        self.ssl = ssl.create_default_context() if scheme == "https" else None
        self.idle: list[_Connection] = []

    async def _connection(self) -> _Connection:
        while self.idle:
            connection = self.idle.pop()
            if connection.usable():
                return connection
            connection.writer.close()
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(
                    self.host,
                    self.port,
                    ssl=self.ssl,
                    server_hostname=self.host if self.ssl else None,
                    limit=READ_CHUNK,
                ),
                self.timeout_s,
            )
        except (OSError, TimeoutError) as exc:
            raise UpstreamError(f"cannot connect to {self.host}:{self.port}: {exc!r}") from None
        return _Connection(reader, writer)

    async def request(
        self, method: str, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes | None
    ) -> Reply:
        """Send one request (`target`: the path and query) and read its whole reply."""
        connection = await self._connection()
        head = [b"%s %s HTTP/1.1\r\n" % (method.encode("ascii"), target)]
        head.append(b"host: %s\r\n" % self._host_header())
        head.extend(b"%s: %s\r\n" % (name, value) for name, value in headers)
        if body is not None:
            head.append(b"content-length: %d\r\n" % len(body))
        head.append(b"\r\n")
        try:
            connection.writer.write(b"".join(head) + (body or b""))
            reply = await asyncio.wait_for(self._read(connection, method), self.timeout_s)
        except (OSError, TimeoutError, httptools.HttpParserError, UpstreamError) as exc:
            connection.writer.close()
            raise UpstreamError(f"{method} {target.decode('latin-1')}: {exc!r}") from None
        return reply

    def _host_header(self) -> bytes:
        default = 443 if self.ssl else 80
        host = self.host if self.port == default else f"{self.host}:{self.port}"
        return host.encode("idna")

    async def _read(self, connection: _Connection, method: str) -> Reply:
        parsing = _Parsing()
        parser = httptools.HttpResponseParser(parsing)
        while True:
            data = await connection.reader.read(READ_CHUNK)
            if not data:
                if parsing.headers_done and not parsing.done and not _framed(parsing.headers):
                    parsing.done = True  # a body delimited by the connection's close
                    break
                raise UpstreamError("the upstream closed the connection before its reply")
            parser.feed_data(data)
            # A reply to HEAD has no body, whatever its Content-Length says.
            if parsing.done or (method == "HEAD" and parsing.headers_done):
                break
        status = parser.get_status_code()
        if parser.should_keep_alive() and len(self.idle) < CONNECTIONS_IDLE_MAX:
            connection.idle_since = time.monotonic()
            self.idle.append(connection)
        else:
            connection.writer.close()
        return Reply(status, parsing.headers, b"".join(parsing.body))

    async def aclose(self) -> None:
        for connection in self.idle:
            connection.writer.close()
        self.idle.clear()


def _framed(headers: list[tuple[bytes, bytes]]) -> bool:
    names = {name.lower() for name, _ in headers}
    return b"content-length" in names or b"transfer-encoding" in names
