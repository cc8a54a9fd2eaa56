"""The hash chain's canonical encoding: the fast path must equal RFC 8785 exactly."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from mock_core.store import hashchain
from mock_core.store.hashchain import GENESIS_HASH, canonical_json, event_hash, verify_chain

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


@pytest.mark.parametrize(
    "value",
    [3000.0, -0.0, 1e21, 1e-7, 1.5e15, {"b": 1, "a": [1.0, "x"]}, {"\U0001f600": 1, "\uffff": 2}],
)
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
