"""RFC 8785 (JCS) canonical JSON and the event hash a client recomputes.

One encoder for every client-side use: the twin's event_integrity check and the
contract suites. It is independent of the mock's (`mock_core/store/hashchain.py`):
a client must be able to recompute a hash from the JSON it received, whatever
serializer the service used. `tests/twin/test_fast_paths.py` checks it equals
`rfc8785.dumps` on generated JSON and on every case where plain orjson differs.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

import orjson
import rfc8785

GENESIS_HASH = "0" * 64

# orjson's compact, key-sorted output is already RFC 8785 for almost every JSON value:
# the same string escapes, no whitespace, keys in code point order (= UTF-16 order
# within the Basic Multilingual Plane), integers as digits, and non-integral floats
# as their shortest round-trip digits. It differs only where JCS writes numbers as
# ECMAScript does, and each difference leaves a mark in orjson's output:
#   3000.0 -> `3000.0`, -0.0 -> `-0.0` (JCS `3000`, `0`): `.0` then `,` `]` or `}`;
#   1e16 <= |x| < 1e21 -> `1e+16` (JCS writes the digits): `e+`;
#   1e-6 <= |x| < 1e-5 -> `1e-6`, `1.5e-6` (JCS `0.000001`, `0.0000015`): `e-6` then
#     `,` `]` or `}` (every other exponent orjson writes, JCS writes the same way);
#   an integer beyond +-(2^53 - 1): OPT_STRICT_INTEGER makes orjson refuse it;
#   a key outside the BMP sorts by code point in orjson, by UTF-16 unit in JCS: its
#     4-byte UTF-8 sequence makes the output non-ASCII.
# The marks are looked for with searches that start from a literal (the fast kind in
# `re`) or a single byte. A mark inside a string only sends that value down the
# slower, exact path.
_ORJSON_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER
_INTEGRAL_MARK = re.compile(rb"\.0[,\]}]").search
_EXP6_HINT = re.compile(rb"-6[,\]}]").search
_EXP6_MARK = re.compile(rb"e-6[,\]}]").search
_NUMBER_OPENERS = frozenset(b":,[")
_DIGITS = frozenset(b"0123456789")


def _integral_floats_as_ints(out: bytes) -> bytes:
    """`out` with every number token `-?D+.0` written as the integer JCS writes
    (`-0.0` becomes `0`). A string holding such text is rewritten too: the caller
    proves by parsing the result that nothing but numbers changed."""
    pieces: list[bytes] = []
    start = 0
    pos = out.find(b".0", 0)
    while pos != -1:
        end = pos + 2
        if end < len(out) and out[end] in b",]}":
            first = pos
            while first > 0 and out[first - 1] in _DIGITS:
                first -= 1
            sign = first - 1 if first > 0 and out[first - 1] == 45 else first  # 45: "-"
            if first < pos and sign > 0 and out[sign - 1] in _NUMBER_OPENERS:
                digits = out[first:pos]
                pieces.append(out[start:sign])
                pieces.append(digits if sign == first or digits == b"0" else b"-" + digits)
                start = end
        pos = out.find(b".0", end)
    pieces.append(out[start:])
    return b"".join(pieces)


def _keys_in_bmp(value: Any) -> bool:
    """Whether every object key in `value` is inside the Basic Multilingual Plane."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not (key.isascii() or max(key) <= "\uffff") or not _keys_in_bmp(item):
                return False
        return True
    if isinstance(value, list):
        return all(_keys_in_bmp(item) for item in value)
    return True


def canonical_json(value: Any) -> bytes:
    """RFC 8785 (JCS) canonical JSON bytes of a JSON value (an object or an array on
    the fast path): orjson's sorted output when it is provably the same, with
    integral floats rewritten when that is the only difference, else `rfc8785`."""
    if isinstance(value, dict | list):
        try:
            out = orjson.dumps(value, option=_ORJSON_OPTIONS)
        except orjson.JSONEncodeError:
            return bytes(rfc8785.dumps(value))  # raises for what JCS refuses
        if (b"+" in out and b"e+" in out) or (_EXP6_HINT(out) and _EXP6_MARK(out)):
            return bytes(rfc8785.dumps(value))
        if not out.isascii() and not _keys_in_bmp(value):
            return bytes(rfc8785.dumps(value))
        if _INTEGRAL_MARK(out):
            rewritten = _integral_floats_as_ints(out)
            try:
                same = orjson.loads(rewritten) == value
            except orjson.JSONDecodeError:
                same = False
            if not same:
                return bytes(rfc8785.dumps(value))
            out = rewritten
        return out
    return bytes(rfc8785.dumps(value))


def event_hash(envelope: Mapping[str, Any]) -> str:
    """sha256 hex of prevHash (UTF-8) followed by the JCS of the envelope without `hash`.

    The canonical form matters because the hash must be recomputable by any
    client from the JSON it receives: key order and number spelling must not
    depend on the service's serializer, which is what RFC 8785 pins down.
    """
    body = dict(envelope)
    body.pop("hash", None)
    prev = str(envelope.get("prevHash", ""))
    return hashlib.sha256(prev.encode("utf-8") + canonical_json(body)).hexdigest()
