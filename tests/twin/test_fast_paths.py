"""The inspection's fast paths equal the slow, obvious ones.

- `turingcore_client.canonical.canonical_json` (orjson's sorted output where it is
  provably RFC 8785, rewritten or handed to `rfc8785` where not) is byte for byte
  `rfc8785.dumps`, on generated JSON values and on each case where plain orjson differs;
- `money.cents` (amounts as integer cents where exact) is `Decimal(repr(x)) * 100`;
- the multiplexer (several GETs in flight on raw keep-alive connections) hands every
  reply to the callback of its request, whatever the server does with the
  connections, and goes through the client's retries for a failed one.
"""

from __future__ import annotations

import math
import struct
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import orjson
import pytest
import rfc8785
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.twin import test_wire
from tests.twin.test_wire import CLOSE, Action, Script, ScriptedServer, Seen, reply_bytes
from turingcore_client.canonical import canonical_json, event_hash
from turingcore_client.client import TuringCoreClient
from turingcore_client.money import cents as _cents
from turingcore_client.replies import parse_body
from turingcore_client.wire import WireReply

STREAM, ACCOUNTS, PROBES = range(3)  # the inspection's priorities

# ------------------------------------------------------------------ canonical JSON

# Numbers where orjson's spelling is not ECMAScript's (so not JCS's).
EDGE_FLOATS = [
    3000.0,  # integral: orjson `3000.0`, JCS `3000`
    -0.0,  # orjson `-0.0`, JCS `0`
    0.0,
    -12.0,
    1e15,  # orjson `1000000000000000.0`
    1e-6,  # orjson `1e-6`, JCS `0.000001`
    1.5e-6,
    -9.99e-6,
    1e16,  # orjson `1e+16`, JCS `10000000000000000`
    1.2345678901234568e17,
    1e20,
    2.0**60,
    9007199254740992.0,
]
# The same spelling in both: kept here so the generator also covers them.
SAME_FLOATS = [1e-5, 1e-7, 5e-324, 1e21, 1e22, 1.7976931348623157e308, 0.1, 123.45, 95.95]
NON_BMP_KEYS = {"\ue000": 1, "\U0001f600": 2, "a": 3}  # UTF-16 order: a, 😀, U+E000
MARKS_IN_STRINGS = [":12.0,", "[1.0]", "x:-0.0}", "e+5", ",1e-6,", "-6]"]

floats = (
    st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(EDGE_FLOATS + SAME_FLOATS)
    | st.integers(-(10**9), 10**9).map(lambda cents: cents / 100)
    | st.integers(-(2**53) + 1, 2**53 - 1).map(float)
)
ints = st.integers(-(2**53) + 1, 2**53 - 1) | st.sampled_from([2**53 - 1, -(2**53) + 1, 0])
texts = st.text(max_size=8) | st.sampled_from(
    [*MARKS_IN_STRINGS, "😀", "\uffff", "\ue000", "\u2028", "\x7f\x1f", '"\\/']
)
scalars = st.none() | st.booleans() | ints | floats | texts
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=24,
)


@settings(max_examples=3000, deadline=None, suppress_health_check=list(HealthCheck))
@given(json_values)
@example({"amounts": EDGE_FLOATS})
@example({"n": MARKS_IN_STRINGS, "m": [1.0, -0.0]})
@example(NON_BMP_KEYS)
def test_canonical_json_is_rfc8785(value: Any) -> None:
    try:
        expected = bytes(rfc8785.dumps(value))
    except rfc8785.CanonicalizationError:
        with pytest.raises(rfc8785.CanonicalizationError):
            canonical_json(value)
        return
    assert canonical_json(value) == expected


@pytest.mark.parametrize("number", EDGE_FLOATS)
def test_each_edge_number_differs_in_plain_orjson_and_is_right_here(number: float) -> None:
    """If the fast path trusted orjson for these, the hash would be wrong."""
    for value in ({"amount": number}, [number, {"x": [number]}]):
        expected = bytes(rfc8785.dumps(value))
        assert orjson.dumps(value, option=orjson.OPT_SORT_KEYS) != expected
        assert canonical_json(value) == expected


def test_keys_outside_the_bmp_sort_by_utf16() -> None:
    expected = bytes(rfc8785.dumps(NON_BMP_KEYS))
    assert orjson.dumps(NON_BMP_KEYS, option=orjson.OPT_SORT_KEYS) != expected
    assert canonical_json(NON_BMP_KEYS) == expected
    # outside the BMP in a value only: orjson is right, and so are we
    assert canonical_json({"b": "😀", "a": 1}) == bytes(rfc8785.dumps({"b": "😀", "a": 1}))


def test_a_mark_inside_a_string_is_left_alone() -> None:
    """The integral-float rewrite works on bytes; a string holding `:12.0,` next to a
    real 3000.0 must come out untouched (the rewrite is proved by re-parsing)."""
    value = {"n": ":12.0,", "amount": 3000.0, "list": [1.0, "[1.0]", -0.0]}
    assert canonical_json(value) == bytes(rfc8785.dumps(value))
    assert b'":12.0,"' in canonical_json(value)
    assert b'"amount":3000,' in canonical_json(value)


def test_integers_jcs_refuses_are_refused() -> None:
    for number in (2**53, -(2**53), 2**64):
        with pytest.raises(rfc8785.CanonicalizationError):
            canonical_json({"n": number})
    assert canonical_json({"n": 2**53 - 1}) == b'{"n":9007199254740991}'


def test_random_bit_patterns() -> None:
    """Every kind of double, not only the ones Hypothesis likes."""
    rng = __import__("random").Random(11)
    for _ in range(20000):
        number = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
        if math.isfinite(number):
            value = {"x": number, "y": [number, -number]}
            assert canonical_json(value) == bytes(rfc8785.dumps(value)), number


def test_event_hash_over_a_number_written_as_an_integral_float() -> None:
    """A service may write 3000 as `3000.0`; the JCS, hence the hash, is the same."""
    event = {"prevHash": "0" * 64, "sequence": 1, "payload": {"amount": 3000}}
    event["hash"] = event_hash(event)
    assert event_hash({**event, "payload": {"amount": 3000.0}}) == event["hash"]


# ------------------------------------------------------------------------ amounts


@settings(max_examples=3000, deadline=None)
@given(
    st.floats(allow_nan=False, allow_infinity=False)
    | st.integers(-(10**15), 10**15).map(lambda cents: cents / 100)
    | st.integers(-(10**15), 10**15).map(lambda mills: mills / 1000)
    | st.sampled_from([0.1, 0.29, 95.95, -0.0, 1e13 - 0.01, 9999999999999.99, 1e13, 0.001])
)
def test_cents_are_exact(value: float) -> None:
    cents = _cents(value)
    assert cents == Decimal(repr(value)) * 100
    if isinstance(cents, int):  # the fast path: only when it is exact
        assert Decimal(repr(value)) * 100 == Decimal(cents)


def test_cents_of_ints_and_refusals() -> None:
    assert _cents(12) == 1200
    assert _cents(0.001) == Decimal("0.100")  # a third decimal is kept, not rounded
    with pytest.raises(TypeError):
        _cents(None)


# ------------------------------------------------------------------------ fetcher

scripted = test_wire.scripted  # the scripted-server fixture


def _fetch_all(
    client: TuringCoreClient, jobs: list[tuple[str, int]], connections: int = 3
) -> list[tuple[str, int, Any]]:
    mux = client.multiplexer(connections)
    got: list[tuple[str, int, Any]] = []
    try:
        for path, priority in jobs:

            def done(wire: WireReply, attempts: int, path: str = path) -> None:
                got.append((path, wire.status, parse_body(wire.content)))

            mux.submit(client.get_request(path, None, done, priority))
        mux.run_until(lambda: len(got) == len(jobs))
    finally:
        mux.close()
    return got


def echo(seen: Seen) -> Action:
    time.sleep(0.005)  # long enough for the others to be in flight meanwhile
    path = seen.line.split(" ")[1]
    return reply_bytes(200, {"path": path})


def test_fetcher_answers_every_request_with_its_own_reply(
    scripted: Callable[[Script], ScriptedServer],
) -> None:
    server = scripted(echo)
    client = TuringCoreClient(server.url, "key-123456", timeout=5.0)
    assert client.raw_endpoint is not None  # the raw, epoll path
    jobs = [(f"/v1/x/{i}", (ACCOUNTS, PROBES)[i % 2]) for i in range(40)]
    jobs.append(("/v1/stream", STREAM))
    got = _fetch_all(client, jobs)
    assert sorted(got) == sorted((path, 200, {"path": path}) for path, _ in jobs)
    assert 1 < server.in_flight_max <= 3
    assert server.connections == 3
    # the stream's page jumped the queue of the 40 queued before it
    assert [s.line.split(" ")[1] for s in server.seen].index("/v1/stream") <= 3
    heads = [s.head for s in server.seen]
    assert all(b"Authorization: Bearer key-123456" in head for head in heads)


def test_fetcher_split_chunked_and_closing_replies(
    scripted: Callable[[Script], ScriptedServer],
) -> None:
    def script(seen: Seen) -> Action:
        path = seen.line.split(" ")[1]
        data = reply_bytes(200, {"path": path}, chunked=seen.index % 2 == 1)
        if seen.index == 2:
            return (data, CLOSE)  # replies, then closes without saying so
        return [data[i : i + 9] for i in range(0, len(data), 9)]

    server = scripted(script)
    client = TuringCoreClient(server.url, "key-123456", timeout=5.0)
    jobs = [(f"/v1/y/{i}", ACCOUNTS) for i in range(12)]
    got = _fetch_all(client, jobs, connections=2)
    assert sorted(got) == sorted((path, 200, {"path": path}) for path, _ in jobs)


def test_fetcher_retries_through_the_client(
    scripted: Callable[[Script], ScriptedServer],
) -> None:
    """A 503 and a connection closed before any byte: both end in the right reply."""
    calls: dict[str, int] = {}

    def script(seen: Seen) -> Action:
        path = seen.line.split(" ")[1]
        calls[path] = calls.get(path, 0) + 1
        if path == "/v1/busy" and calls[path] == 1:
            return reply_bytes(503, {"error": "BUSY"})
        if path == "/v1/drop" and calls[path] == 1:
            return CLOSE
        if path == "/v1/missing":
            return reply_bytes(404, {"error": "NOT_FOUND"})
        return reply_bytes(200, {"path": path})

    server = scripted(script)
    client = TuringCoreClient(server.url, "key-123456", timeout=5.0, backoff=0.001)
    got = _fetch_all(client, [("/v1/busy", PROBES), ("/v1/drop", PROBES), ("/v1/missing", PROBES)])
    assert sorted(got) == [
        ("/v1/busy", 200, {"path": "/v1/busy"}),
        ("/v1/drop", 200, {"path": "/v1/drop"}),
        ("/v1/missing", 404, {"error": "NOT_FOUND"}),
    ]
    assert calls["/v1/busy"] == 2 and calls["/v1/drop"] == 2
