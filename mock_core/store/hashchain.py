"""The per-tenant hash chain over the event envelopes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import rfc8785

GENESIS_HASH = "0" * 64


def event_hash(prev_hash: str, envelope: Mapping[str, Any]) -> str:
    """Return SHA-256 hex of prev_hash followed by the JCS encoding of `envelope`.

    `envelope` is the event without its `hash`. Key order and number formatting
    must not depend on who serialises the event, or a client recomputing the
    chain from the JSON it was served would get other bytes; RFC 8785 (JCS)
    fixes both, which plain sorted-key JSON does not (3000.0 vs 3000).
    """
    assert "hash" not in envelope
    digest = hashlib.sha256(prev_hash.encode("ascii"))
    digest.update(rfc8785.dumps(dict(envelope)))
    return digest.hexdigest()


def verify_chain(
    envelopes: Iterable[Mapping[str, Any]], prev_hash: str = GENESIS_HASH, first_sequence: int = 1
) -> list[str]:
    """Check a run of envelopes (oldest first); return the problems found, empty if none."""
    problems: list[str] = []
    expected_sequence = first_sequence
    for envelope in envelopes:
        sequence = envelope.get("sequence")
        if sequence != expected_sequence:
            problems.append(f"sequence {sequence}: expected {expected_sequence}")
        if envelope.get("prevHash") != prev_hash:
            problems.append(f"sequence {sequence}: prevHash does not link to the previous event")
        body = {k: v for k, v in envelope.items() if k != "hash"}
        recomputed = event_hash(str(envelope.get("prevHash")), body)
        if envelope.get("hash") != recomputed:
            problems.append(f"sequence {sequence}: hash does not recompute")
        prev_hash = str(envelope.get("hash"))
        expected_sequence = (sequence if isinstance(sequence, int) else expected_sequence) + 1
    return problems
