"""The raw HTTP/1.1 client: the response parser, the blocking transport and the
multiplexer behind `TuringCoreClient.run_lanes`, against scripted socket servers that
split replies, chunk them, drop connections and lose replies."""

from __future__ import annotations

import json
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from turingcore_client.client import TuringCoreClient
from turingcore_client.errors import ServiceUnreachableError
from turingcore_client.replies import CommandReply, CommandRequest, Lane
from turingcore_client.wire import IncompleteResponse, ProtocolError, ResponseParser, WireReply

KEY = "key-123456"


# ------------------------------------------------------------------- the parser


def feed_all(parser: ResponseParser, pieces: list[bytes]) -> WireReply:
    """Feed the pieces; the reply must come exactly with the last one."""
    for i, piece in enumerate(pieces):
        reply = parser.feed(piece)
        if i < len(pieces) - 1:
            assert reply is None, f"a reply after piece {i} of {len(pieces)}"
        else:
            assert reply is not None, "no reply after the last piece"
            return reply
    raise AssertionError("no pieces")


def every_split(data: bytes) -> Iterator[list[bytes]]:
    """The data whole, byte by byte, and cut in two at every position."""
    yield [data]
    yield [data[i : i + 1] for i in range(len(data))]
    for cut in range(1, len(data)):
        yield [data[:cut], data[cut:]]


CONTENT_LENGTH = (
    b"HTTP/1.1 202 Accepted\r\ndate: x\r\nserver: uvicorn\r\ncontent-length: 13\r\n"
    b"Content-Type: application/json\r\nIdempotent-Replayed: true\r\n\r\n"
    b'{"result": 1}'
)
CHUNKED = (
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Trace: a\r\nx-trace: b\r\n\r\n"
    b"5\r\nhello\r\n"
    b"1;ext=1\r\n \r\n"
    b"0000000A\r\n0123456789\r\n"
    b"0\r\nX-Checksum: abc\r\n\r\n"
)


def split_anywhere(data: bytes) -> Iterator[tuple[ResponseParser, WireReply]]:
    """The reply `data` parsed from each way of splitting it into pieces, with its parser."""
    for pieces in every_split(data):
        parser = ResponseParser()
        yield parser, feed_all(parser, pieces)


def test_content_length_reply_split_anywhere() -> None:
    for parser, reply in split_anywhere(CONTENT_LENGTH):
        assert reply.status == 202
        assert reply.content == b'{"result": 1}'
        assert reply.headers.get("idempotent-replayed") == "true"
        assert reply.headers.get("Content-Type") == "application/json"
        assert reply.headers["CONTENT-LENGTH"] == "13"
        assert not parser.will_close


def test_chunked_reply_with_extensions_and_trailers_split_anywhere() -> None:
    for parser, reply in split_anywhere(CHUNKED):
        assert reply.status == 200
        assert reply.content == b"hello 0123456789"
        assert reply.headers.get("X-TRACE") == "a, b"  # repeated headers are joined
        assert not parser.will_close


def test_headers_in_any_case_repeated_or_odd() -> None:
    data = (
        b"HTTP/1.1 200 OK\r\nA: 1\r\nno colon here\r\nb:2\r\nContent-Length: 0\r\n"
        b"a:  3 \r\nX-Empty:\r\nx-long: a: b: c"
    )
    reply = feed_all(ResponseParser(), [data + b"\r\n\r\n"])
    headers = reply.headers
    assert headers.get("a") == headers["A"] == "1, 3"
    assert headers.get("B") == "2" and headers.get("x-empty") == ""
    assert headers.get("X-Long") == "a: b: c" and headers.get("missing", "d") == "d"
    assert "content-length" in headers and "nope" not in headers
    assert dict(headers.items()) == {
        "a": "1, 3",
        "b": "2",
        "content-length": "0",
        "x-empty": "",
        "x-long": "a: b: c",
    }
    with pytest.raises(KeyError):
        headers["missing"]


def test_the_parser_is_reused_for_the_next_reply() -> None:
    parser = ResponseParser()
    assert feed_all(parser, [CHUNKED]).content == b"hello 0123456789"
    parser.reset()
    assert feed_all(parser, [CONTENT_LENGTH]).status == 202


def test_interim_replies_are_skipped() -> None:
    data = b"HTTP/1.1 100 Continue\r\n\r\n" + CONTENT_LENGTH
    for pieces in every_split(data):
        assert feed_all(ResponseParser(), pieces).status == 202


def test_replies_without_a_body() -> None:
    no_content = b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n"
    assert feed_all(ResponseParser(), [no_content]).content == b""
    parser = ResponseParser()
    parser.reset(head_request=True)
    head = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n"
    reply = feed_all(parser, [head])
    assert reply.status == 200 and reply.content == b""


def test_a_body_that_runs_until_the_close() -> None:
    parser = ResponseParser()
    assert parser.feed(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nab") is None
    assert parser.feed(b"cd") is None
    reply = parser.feed_eof()
    assert reply.content == b"abcd" and parser.will_close


@pytest.mark.parametrize(
    ("head", "closes"),
    [
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\ncontent-length: 0\r\n\r\n", True),
        (b"HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n", True),
        (b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\ncontent-length: 0\r\n\r\n", False),
        (b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\nHTTP/1.1 200 OK\r\n", True),
    ],
)
def test_when_the_connection_cannot_be_used_again(head: bytes, closes: bool) -> None:
    parser = ResponseParser()
    assert parser.feed(head) is not None
    assert parser.will_close is closes


@pytest.mark.parametrize(
    "pieces",
    [
        [],
        [b"HTTP/1.1 200 OK\r\ncontent-le"],
        [b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n12345"],
        [b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhel"],
        [b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n"],
    ],
)
def test_a_cut_reply_is_incomplete(pieces: list[bytes]) -> None:
    parser = ResponseParser()
    for piece in pieces:
        assert parser.feed(piece) is None
    with pytest.raises(IncompleteResponse) as info:
        parser.feed_eof()
    assert info.value.received is bool(pieces)


@pytest.mark.parametrize(
    "data",
    [
        b"HTTP/2 200 OK\r\n\r\n",
        b"SSH-2.0-OpenSSH\r\n\r\n",
        b"HTTP/1.1 2x0 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nabXX",
    ],
)
def test_garbage_is_a_protocol_error(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        ResponseParser().feed(data)


# ------------------------------------------------------ a scripted socket server


@dataclass
class Seen:
    """One request as the scripted server read it."""

    connection: int  # 0 for the first connection, 1 for the second...
    index: int  # 0 for the connection's first request...
    head: bytes
    body: bytes

    @property
    def line(self) -> str:
        return self.head.split(b"\r\n", 1)[0].decode()

    def json(self) -> Any:
        return json.loads(self.body)


# A script answers a request with what to do: bytes to send (a list: sent piece by
# piece with a pause between), CLOSE (close without a byte), or (bytes, CLOSE) to send
# some bytes and close.
CLOSE = "close"
Action = Any
Script = Callable[[Seen], Action]


@dataclass
class ScriptedServer:
    script: Script
    seen: list[Seen] = field(default_factory=list)
    in_flight_max: int = 0
    _in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.connections = 0
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self.listener.close()
        for sock in self.sockets:
            sock.close()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with self._lock:
                number = self.connections
                self.connections += 1
                self.sockets.append(conn)
            threading.Thread(target=self._serve, args=(conn, number), daemon=True).start()

    def _serve(self, conn: socket.socket, number: int) -> None:
        buffer = b""
        index = 0
        try:
            while True:
                while b"\r\n\r\n" not in buffer:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                while len(buffer) < length:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                body, buffer = buffer[:length], buffer[length:]
                seen = Seen(number, index, head, body)
                index += 1
                with self._lock:
                    self.seen.append(seen)
                    self._in_flight += 1
                    self.in_flight_max = max(self.in_flight_max, self._in_flight)
                try:
                    action = self.script(seen)
                finally:
                    with self._lock:
                        self._in_flight -= 1
                if action == CLOSE:
                    return
                close_after = isinstance(action, tuple)
                data = action[0] if close_after else action
                for i, piece in enumerate(data if isinstance(data, list) else [data]):
                    if i:
                        time.sleep(0.002)
                    conn.sendall(piece)
                if close_after:
                    return
        except OSError:
            return
        finally:
            conn.close()


def reply_bytes(
    status: int, body: Any, *, chunked: bool = False, headers: dict[str, str] | None = None
) -> bytes:
    content = json.dumps(body).encode()
    lines = [f"HTTP/1.1 {status} Whatever", "server: scripted"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if chunked:
        lines.append("Transfer-Encoding: chunked")
        half = len(content) // 2
        framed = b"".join(
            b"%x\r\n%s\r\n" % (len(part), part) for part in (content[:half], content[half:]) if part
        )
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + framed + b"0\r\n\r\n"
    lines.append(f"content-length: {len(content)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + content


def accepted(seen: Seen, **extra: Any) -> dict[str, Any]:
    envelope = seen.json()
    return {
        "commandId": envelope["commandId"],
        "status": "ACCEPTED",
        "result": {"tenantId": envelope["tenantId"], "key": envelope.get("idempotencyKey")},
        "eventIds": [],
        **extra,
    }


@pytest.fixture
def scripted() -> Iterator[Callable[[Script], ScriptedServer]]:
    servers: list[ScriptedServer] = []

    def make(script: Script) -> ScriptedServer:
        server = ScriptedServer(script)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


def client_of(server: ScriptedServer, **kw: Any) -> TuringCoreClient:
    options: dict[str, Any] = {"backoff": 0.001, "timeout": 5.0, **kw}
    return TuringCoreClient(server.url, KEY, **options)


# ------------------------------------------------------- the blocking transport


def test_split_and_chunked_replies_over_a_kept_alive_connection(
    scripted: Callable[[Script], ScriptedServer],
) -> None:
    def script(seen: Seen) -> Action:
        if seen.index % 2:
            return reply_bytes(202, accepted(seen), chunked=True)
        data = reply_bytes(202, accepted(seen), headers={"Idempotent-Replayed": "true"})
        return [data[i : i + 7] for i in range(0, len(data), 7)]  # pieces, with pauses

    server = scripted(script)
    with client_of(server) as client:
        for i in range(4):
            reply = client.send_command(
                "PostEntry", {"n": i}, tenant_id="T1", idempotency_key=f"k-{i}"
            )
            assert reply.status == 202 and reply.result["key"] == f"k-{i}"
            assert reply.replayed is (i % 2 == 0)
    assert server.connections == 1
    first = server.seen[0]
    assert first.line == "POST /v1/tenants/T1/commands HTTP/1.1"
    assert b"Authorization: Bearer key-123456" in first.head
    assert b"Content-Type: application/json" in first.head
    assert first.json()["payload"] == {"n": 0}


def test_a_lost_reply_is_retried_with_the_same_bytes(
    scripted: Callable[[Script], ScriptedServer],
) -> None:
    """Half a reply, then the connection closes: the command goes again, byte for byte,
    on a new connection, and the attempt is counted."""

    def script(seen: Seen) -> Action:
        data = reply_bytes(202, accepted(seen))
        return (data[: len(data) // 2], CLOSE) if len(server.seen) == 1 else data

    server = scripted(script)
    with client_of(server) as client:
        reply = client.send_command("PostEntry", {}, tenant_id="T1", idempotency_key="k-1")
    assert reply.status == 202 and reply.attempts == 2
    assert [s.connection for s in server.seen] == [0, 1]
    assert server.seen[0].body == server.seen[1].body


def test_an_idle_connection_closed_by_the_server_is_replaced_at_once(
    scripted: Callable[[Script], ScriptedServer],
) -> None:
    """Every connection serves one request and is then closed without a word: each
    following request finds its connection dead and goes again on a new one, without
    counting as a retry."""

    def script(seen: Seen) -> Action:
        if seen.index == 0:
            return (reply_bytes(200, {"lastSequence": 3}), CLOSE)
        return CLOSE

    server = scripted(script)
    with client_of(server, retries=0) as client:
        for _ in range(3):
            assert client.get_tenant("T1")["lastSequence"] == 3
    assert server.connections == 3


def test_a_server_that_never_answers_times_out_then_gives_up(
    scripted: Callable[[Script], ScriptedServer],
) -> None:
    def script(seen: Seen) -> Action:
        time.sleep(0.5)
        return CLOSE

    server = scripted(script)
    with (
        client_of(server, timeout=0.1, retries=1) as client,
        pytest.raises(ServiceUnreachableError),
    ):
        client.send_command("PostEntry", {}, tenant_id="T1", idempotency_key="k-1")
    # The server's thread records a request when it reads it: on a busy machine the
    # retry can be given up on before that thread has run, so wait for it a little.
    deadline = time.monotonic() + 5
    while len(server.seen) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(server.seen) == 2


# ------------------------------------------------------------- the multiplexer


def lanes_of(
    client: TuringCoreClient, shape: dict[str, int], replies: dict[str, list[CommandReply]]
) -> list[Lane]:
    """One lane per name, `n` commands each; every reply is filed under the lane."""

    def lane(name: str, n: int) -> Lane:
        for i in range(n):
            reply = yield client.command_request(
                "PostEntry", {"lane": name, "i": i}, tenant_id="T1", idempotency_key=f"{name}:{i}"
            )
            replies.setdefault(name, []).append(reply)

    return [lane(name, n) for name, n in shape.items()]


def test_lanes_keep_their_order_and_concurrency_is_the_bound(
    scripted: Callable[[Script], ScriptedServer],
) -> None:
    def script(seen: Seen) -> Action:
        time.sleep(0.003)  # long enough for the others to pile up
        data = reply_bytes(202, accepted(seen), chunked=seen.index % 3 == 1)
        return [data[:20], data[20:]] if seen.index % 3 == 2 else data

    server = scripted(script)
    replies: dict[str, list[CommandReply]] = {}
    shape = {f"L{n}": n % 4 for n in range(12)}  # some lanes have no command at all
    with client_of(server) as client:
        client.run_lanes(lanes_of(client, shape, replies), 3)
        order = [(s.json()["payload"]["lane"], s.json()["payload"]["i"]) for s in server.seen]
        assert server.in_flight_max == 3 and server.connections == 3
        for name, n in shape.items():
            assert [i for lane, i in order if lane == name] == list(range(n))
            got = [r.result["key"] for r in replies.get(name, [])]
            assert got == [f"{name}:{i}" for i in range(n)]
        assert client.stats.count("PostEntry") == sum(shape.values())
        # the connections are kept for the next call
        client.run_lanes(lanes_of(client, {"again": 2}, replies), 3)
        assert server.connections == 3


def test_lost_and_truncated_replies_are_retried_with_the_same_bytes(
    scripted: Callable[[Script], ScriptedServer],
) -> None:
    """The first reply of every third command is lost (connection closed, nothing
    sent) and that of every other third cut in half: each goes again with the same
    envelope, and the lane only ever sees the final reply."""
    lock = threading.Lock()
    attempts: dict[str, int] = {}

    def script(seen: Seen) -> Action:
        key = seen.json()["idempotencyKey"]
        with lock:
            attempts[key] = attempts.get(key, 0) + 1
            first = attempts[key] == 1
        number = int(key.rsplit(":", 1)[1])
        data = reply_bytes(202, accepted(seen))
        if first and number % 3 == 0:
            return CLOSE
        if first and number % 3 == 1:
            return (data[: len(data) - 5], CLOSE)
        return data

    server = scripted(script)
    replies: dict[str, list[CommandReply]] = {}
    with client_of(server) as client:
        client.run_lanes(lanes_of(client, {"A": 6, "B": 6, "C": 6}, replies), 2)
    for name in "ABC":
        assert [r.result["key"] for r in replies[name]] == [f"{name}:{i}" for i in range(6)]
        # a reply lost before any byte on a kept-alive connection is resent at once (not
        # counted); on a fresh connection, or a cut reply, it is a counted retry
        assert all(r.attempts in (1, 2) for r in replies[name])
        assert [r.attempts for r in replies[name]][1::3] == [2, 2]
    bodies: dict[str, set[bytes]] = {}
    for seen in server.seen:
        bodies.setdefault(seen.json()["idempotencyKey"], set()).add(seen.body)
    assert all(len(b) == 1 for b in bodies.values()), "a retry changed the envelope"
    assert sum(attempts.values()) == 18 + 12


def test_retryable_statuses_are_retried_and_4xx_are_delivered(
    scripted: Callable[[Script], ScriptedServer],
) -> None:
    seen_keys: list[str] = []

    def script(seen: Seen) -> Action:
        key = seen.json()["idempotencyKey"]
        seen_keys.append(key)
        count = seen_keys.count(key)
        if key.endswith(":0") and count == 1:
            return reply_bytes(503, {"error": "NOT_READY", "message": ""})
        if key.endswith(":1") and count == 1:
            return reply_bytes(409, {"error": "COMMAND_IN_FLIGHT", "message": ""})
        if key.endswith(":2"):
            return reply_bytes(
                422,
                {"error": "INVARIANT_VIOLATION", "invariant": "LEGS_MUST_BALANCE", "message": ""},
            )
        return reply_bytes(202, accepted(seen), headers={"Idempotent-Replayed": "true"})

    server = scripted(script)
    replies: dict[str, list[CommandReply]] = {}
    with client_of(server) as client:
        client.run_lanes(lanes_of(client, {"A": 4}, replies), 4)
    got = replies["A"]
    assert [r.status for r in got] == [202, 202, 422, 202]
    assert [r.attempts for r in got] == [2, 2, 1, 1]
    assert got[2].invariant == "LEGS_MUST_BALANCE" and got[0].replayed


def test_a_dead_service_raises_after_the_retries(
    scripted: Callable[[Script], ScriptedServer],
) -> None:
    server = scripted(lambda seen: CLOSE)
    replies: dict[str, list[CommandReply]] = {}
    with client_of(server, retries=2) as client, pytest.raises(ServiceUnreachableError):
        client.run_lanes(lanes_of(client, {"A": 3, "B": 3}, replies), 2)
    assert replies == {}
    unused = socket.create_server(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{unused.getsockname()[1]}"
    unused.close()  # nothing listens there now
    client = TuringCoreClient(url, KEY, retries=1, backoff=0.001)
    with client, pytest.raises(ServiceUnreachableError, match="ConnectError"):
        client.run_lanes(lanes_of(client, {"A": 1}, replies), 1)


def test_a_silent_service_times_out_and_the_retry_gets_through(
    scripted: Callable[[Script], ScriptedServer],
) -> None:
    def script(seen: Seen) -> Action:
        if len(server.seen) == 1:
            time.sleep(1.5)
            return CLOSE
        return reply_bytes(202, accepted(seen))

    server = scripted(script)
    replies: dict[str, list[CommandReply]] = {}
    started = time.perf_counter()
    with client_of(server, timeout=0.1, retries=2) as client:
        client.run_lanes(lanes_of(client, {"A": 2}, replies), 1)
    assert time.perf_counter() - started < 1.0, "the timeout did not fire"
    assert [r.attempts for r in replies["A"]] == [2, 1]
    assert server.seen[0].body == server.seen[1].body


def test_a_reply_that_says_close_is_the_end_of_its_connection(
    scripted: Callable[[Script], ScriptedServer],
) -> None:
    """`Connection: close` on a reply: the next command goes on a new connection (this
    server would leave a request on the old one unanswered)."""

    def script(seen: Seen) -> Action:
        if seen.index > 0:
            time.sleep(1.5)
            return CLOSE
        body = {"tenantId": "T1"} if seen.line.startswith("GET") else accepted(seen)
        return reply_bytes(202, body, headers={"Connection": "close"})

    server = scripted(script)
    replies: dict[str, list[CommandReply]] = {}
    with client_of(server, timeout=1.0, retries=0) as client:
        client.run_lanes(lanes_of(client, {"A": 3, "B": 3}, replies), 2)
        assert [r.attempts for r in replies["A"] + replies["B"]] == [1] * 6
        assert client.get_tenant("T1") == {"tenantId": "T1"}
        assert client.get_tenant("T1") == {"tenantId": "T1"}
    assert [s.index for s in server.seen] == [0] * 8


def test_an_error_in_a_lane_stops_the_run(scripted: Callable[[Script], ScriptedServer]) -> None:
    server = scripted(lambda seen: reply_bytes(202, accepted(seen)))

    def bad(client: TuringCoreClient) -> Lane:
        yield client.command_request("PostEntry", {}, tenant_id="T1", idempotency_key="x")
        raise RuntimeError("a lane failed")

    replies: dict[str, list[CommandReply]] = {}
    with client_of(server) as client, pytest.raises(RuntimeError, match="a lane failed"):
        client.run_lanes([bad(client), *lanes_of(client, {"A": 50}, replies)], 2)
    assert len(replies.get("A", [])) < 50


def test_injected_transports_run_lanes_on_threads() -> None:
    import httpx

    def handler(request: httpx.Request) -> httpx.Response:
        envelope = json.loads(request.content)
        return httpx.Response(202, json={"result": {"key": envelope["idempotencyKey"]}})

    client = TuringCoreClient("http://x", KEY, transport=httpx.MockTransport(handler))
    replies: dict[str, list[CommandReply]] = {}
    client.run_lanes(lanes_of(client, {"A": 3, "B": 2, "C": 0}, replies), 2)
    assert [r.result["key"] for r in replies["A"]] == ["A:0", "A:1", "A:2"]
    assert [r.result["key"] for r in replies["B"]] == ["B:0", "B:1"]
    request = client.command_request("PostEntry", {}, tenant_id="T1", idempotency_key="k")
    assert isinstance(request, CommandRequest)
    assert client.send_request(request).result == {"key": "k"}


# ------------------------------------------------- the runner over real sockets


def test_the_runner_over_the_multiplexer_keeps_lanes_refs_and_days(
    scripted: Callable[[Script], ScriptedServer], tmp_path: Any
) -> None:
    """The plan of tests.twin.conftest, run over real sockets with a lossy server: refs
    resolve, each lane's commands arrive in order, no command of a day is sent before
    the previous day is done, and the run log is in plan order."""
    from tests.twin.conftest import make_plan
    from twin.runner import ScenarioRunner, read_run_log

    lock = threading.Lock()
    tries: dict[str, int] = {}

    def script(seen: Seen) -> Action:
        envelope = seen.json()
        key = envelope["idempotencyKey"]
        with lock:
            tries[key] = tries.get(key, 0) + 1
            first = tries[key] == 1
        result = {"tenantId": envelope["tenantId"]}
        if envelope["commandType"] == "CreateCustomer":
            result["customerId"] = "CUS-" + key.rsplit(":", 1)[-1]
        if envelope["commandType"] == "OpenAccount":
            result["accountId"] = "ACC-" + key.split(":")[-2]
        data = reply_bytes(202, {"commandId": envelope["commandId"], "result": result})
        if first and zlib.crc32(key.encode()) % 4 == 0:
            return (data[:30], CLOSE)  # a lost reply: the runner must not notice
        return data

    server = scripted(script)
    plan = make_plan("T_MUX", customers=7, days=3, invalid=False)
    with client_of(server) as client:
        run = ScenarioRunner(client, plan, concurrency=3, log_path=tmp_path / "log.jsonl").run()
    assert run.unexpected_count == 0
    assert run.by_outcome["accepted"] == len(list(plan.all_commands()))
    sent = [s.json() for s in server.seen]
    first_sent: dict[str, dict[str, Any]] = {}
    for envelope in sent:
        first_sent.setdefault(envelope["idempotencyKey"], envelope)
    order = list(first_sent)
    for i in range(7):
        lane = f"C{i:06d}"
        mine = [k for k in order if f":{lane}" in k]
        assert mine == [c.idempotency_key for c in plan.all_commands() if c.lane == lane]
    entries = [e for e in first_sent.values() if e["commandType"] == "PostEntry"]
    assert all(e["payload"]["legs"][0]["accountId"].startswith("ACC-C") for e in entries)
    days = [e["payload"]["bookingDate"] for e in entries]
    assert days == sorted(days), "a day started before the previous one ended"
    log = read_run_log(tmp_path / "log.jsonl")
    assert [r["key"] for r in log] == [c.idempotency_key for c in plan.all_commands()]
    assert any(r["attempts"] == 2 for r in log)
    assert server.in_flight_max <= 3


def test_resolve_copies_only_what_holds_a_ref() -> None:
    from turingcore_client.refs import RefTable

    refs = RefTable()
    refs.set("account:C1:TXN", "ACC-1")
    payload = {
        "legs": [
            {"accountId": {"$ref": "account:C1:TXN"}, "amount": 1},
            {"accountId": "GL_X", "amount": 1},
        ],
        "tags": {"category": "TRANSFER"},
        "nested": {"deep": [[{"$ref": "account:C1:TXN"}]]},
        "plain": {"a": 1},
    }
    before = json.dumps(payload)
    resolved = refs.resolve(payload)
    assert json.dumps(payload) == before, "the plan's payload was changed"
    assert resolved == {
        "legs": [{"accountId": "ACC-1", "amount": 1}, {"accountId": "GL_X", "amount": 1}],
        "tags": {"category": "TRANSFER"},
        "nested": {"deep": [["ACC-1"]]},
        "plain": {"a": 1},
    }
    assert list(resolved) == list(payload)  # key order kept
    assert resolved["legs"][1] is payload["legs"][1] and resolved["plain"] is payload["plain"]
    assert refs.resolve(payload["plain"]) is payload["plain"]
