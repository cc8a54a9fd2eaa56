"""The hash chain's canonical encoding: the fast path must equal RFC 8785 exactly."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from mock_core.errors import InvariantViolation
from mock_core.store import hashchain
from mock_core.store.hashchain import GENESIS_HASH, canonical_json, event_hash, verify_chain
from tests.mock_core.core_helpers import (
    OD,
    SAV,
    TXN,
    account_payload,
    entry_payload,
    entry_posted,
    ledger,
    run,
    when,
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=400)
@given(json_values)
def test_canonical_json_equals_rfc8785(value: Any) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)


# Where orjson's notation and JCS's part: the small and the large floats.
edge_floats = st.floats(min_value=1e-8, max_value=1e-4) | st.floats(min_value=1e14, max_value=1e22)


@settings(max_examples=300)
@given(st.lists(edge_floats | edge_floats.map(lambda x: -x), min_size=1, max_size=3))
def test_canonical_json_equals_rfc8785_where_notations_differ(values: list[float]) -> None:
    assert canonical_json({"amounts": values}) == rfc8785.dumps({"amounts": values})


KNOWN_DIFFERENCES = [
    3000.0,
    -0.0,
    1e21,
    1e-7,
    1e-6,  # orjson: 1e-6, JCS: 0.000001
    [1.5e-6, -9.99e-6],
    {"x": 2.5e-6},
    1.5e15,
    {"b": 1, "a": [1.0, "x"]},
    {"\U0001f600": 1, "\uffff": 2},
]


@pytest.mark.parametrize("value", KNOWN_DIFFERENCES)
def test_known_differences_of_plain_json_are_handled(value: Any) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)


def _envelope(sequence: int, prev: str) -> dict[str, Any]:
    return {"eventId": f"e{sequence}", "sequence": sequence, "payload": {"amount": 3000.0},
            "prevHash": prev}  # fmt: skip


def test_event_hash_is_sha256_of_prev_hash_and_jcs() -> None:
    envelope = _envelope(1, GENESIS_HASH)
    expected = hashlib.sha256(GENESIS_HASH.encode() + rfc8785.dumps(envelope)).hexdigest()
    assert event_hash(GENESIS_HASH, envelope) == expected


def test_verify_chain_finds_gaps_broken_links_and_bad_hashes() -> None:
    chain, prev = [], GENESIS_HASH
    for sequence in (1, 2, 3):
        envelope = _envelope(sequence, prev)
        prev = event_hash(prev, envelope)
        chain.append({**envelope, "hash": prev})
    assert verify_chain(chain) == []
    assert any("expected 2" in p for p in verify_chain([chain[0], chain[2]]))
    tampered = [chain[0], {**chain[1], "payload": {"amount": 3000.01}}, chain[2]]
    assert any("does not recompute" in p for p in verify_chain(tampered))


def test_a_fast_encoder_that_keeps_dot_zero_would_be_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(hashchain, "_jcs_ready", lambda value: value)
    with pytest.raises(AssertionError):
        test_known_differences_of_plain_json_are_handled(3000.0)


# Events the hash chain finds plain (`hashchain.is_plain`) skip the careful encoder:
# their sorted-key orjson
# must be their RFC 8785 form for any command the validation lets through.
amounts = st.integers(1, 10**13).map(lambda cents: cents / 100) | st.integers(1, 10**11)
# Entry metadata values are strings, numbers or booleans; tags are strings under ASCII names.
metadata = st.dictionaries(
    st.text(min_size=1, max_size=8),
    st.text(max_size=12)
    | st.integers(-(10**12), 10**12)
    | st.floats(-1e12, 1e12, allow_nan=False, allow_infinity=False)
    | st.booleans(),
    max_size=3,
)
tags = st.dictionaries(
    st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,9}", fullmatch=True),
    st.text(min_size=1, max_size=10),
    max_size=3,
)


@settings(max_examples=200, deadline=None)
@given(
    amount=amounts,
    narrative=st.text(min_size=1, max_size=30),
    tags=tags,
    meta=metadata,
    deposit=amounts,
)
def test_plain_events_are_already_canonical(
    amount: float,
    narrative: str,
    tags: dict[str, str],
    meta: dict[str, str | int | float | bool],
    deposit: float,
) -> None:
    state = ledger(entry_posted("E0", (OD, "DEBIT", 10**11), (SAV, "CREDIT", 10**11)))
    state.products["SAVER"].max_balance_minor = None  # let any amount in
    extra: dict[str, Any] = {"narrative": narrative, "tags": tags, "metadata": meta}
    commands = [
        when("PostEntry", entry_payload((SAV, "DEBIT", amount), (OD, "CREDIT", amount), **extra)),
        when("OpenAccount", account_payload("SAVER", initialDeposit=deposit)),
    ]
    plain_seen = 0
    for command in commands:
        try:
            decision = run(state, command)
        except InvariantViolation:
            continue
        for event in decision.events:
            envelope = {"eventType": event.event_type, "sequence": 7, "payload": event.payload}
            if hashchain.is_plain(event):
                plain_seen += 1
                assert orjson.dumps(envelope, option=orjson.OPT_SORT_KEYS) == rfc8785.dumps(
                    envelope
                ), event
    assert plain_seen >= 2


def test_metadata_keys_beyond_the_bmp_make_an_entry_not_plain() -> None:
    state = ledger()
    payload = entry_payload(
        (TXN, "DEBIT", 1), (OD, "CREDIT", 1), metadata={"\U0001f600": "a", "\uffff": "b"}
    )
    decision = run(state, when("PostEntry", payload))
    assert not hashchain.is_plain(decision.events[0])
    assert all(hashchain.is_plain(e) for e in decision.events[1:])
