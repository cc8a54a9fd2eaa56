"""What the checks keep per event or per command, in a few bytes each.

The one pass over the tenant stream must remember something of every event (that its
eventId was seen, for uniqueness) and of every command (which events it caused, for
audit_completeness), and each account's postings must be compared with the account's
own stream. As Python strings, lists and dicts that is ~250 bytes an event: 2.4 M
events at 10,000 members came to over a gigabyte. Here an id is a 64-bit key (its
SipHash, Python's `hash` of the string: stable within the process, which is all the
checks need), kept in flat arrays with open addressing, and a sequence of ids is a
count and a 64-bit fingerprint that depends on their order:

- `KeySet`: was this key seen? 8 bytes a slot, the slots at most 3/4 full (sized
  ahead from the stream's length: 34 MB for the 2.4 M events of 10,000 members).
- `Fingerprints`: key -> (count, ordered fingerprint) of the ids fed under it, 20
  bytes a slot (42 MB for the ~800,000 commands of 10,000 members).
- `fingerprint`/`chain_key`: the fingerprint of a sequence of ids, folded over their
  keys (so that it can be made again from keys spilled to disk, `spill`).

Past a million events or so the pass does not keep these for the whole stream at once
but spills their keys to disk by hash partition and builds them a partition at a time
(`twin.invariants.spill`).

Two different ids share a key, or two different sequences a fingerprint, with a chance
of about 1 in 2^61 a pair: at 2.4 M events, a false "appears twice" about once in
10^5 runs of 10,000 members, and a changed sequence missed far less often.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable

MASK = (1 << 64) - 1
SLOTS_MIN = 1 << 10


def key64(text: str) -> int:
    """A non-zero 64-bit key for `text` (0 marks an empty slot)."""
    return (hash(text) & MASK) or 1


def chain(fingerprint: int, text: str) -> int:
    """The fingerprint of a sequence extended by `text` (the empty sequence's is 0)."""
    return hash((fingerprint, text)) & MASK


def chain_key(fingerprint: int, key: int) -> int:
    """The fingerprint of a sequence of ids extended by the id of `key` (`key64`)."""
    return hash((fingerprint, key)) & MASK


def fingerprint(texts: Iterable[str]) -> tuple[int, int]:
    """(count, fingerprint) of a sequence of ids, as `Fingerprints` keeps them."""
    count = value = 0
    for text in texts:
        count += 1
        value = chain_key(value, key64(text))
    return count, value


def _slots_for(expected: int) -> int:
    """A power of two with room for `expected` keys at most 3/4 full."""
    return max(SLOTS_MIN, 1 << (4 * max(expected, 1) // 3).bit_length())


class KeySet:
    """A set of non-zero 64-bit keys: open addressing with linear probing in one
    array, grown (doubled) before it is more than 3/4 full."""

    def __init__(self, expected: int = 0) -> None:
        self.keys = array("Q", bytes(8 * _slots_for(expected)))
        self.mask = len(self.keys) - 1
        self.count = 0

    def __len__(self) -> int:
        return self.count

    def _find(self, key: int) -> int:
        """The slot of `key`, or the empty slot where it would go."""
        keys, mask = self.keys, self.mask
        i = key & mask
        while True:
            k = keys[i]
            if k == key or k == 0:
                return i
            i = (i + 1) & mask

    def add(self, key: int) -> bool:
        """Add `key`; False when it was already there."""
        i = self._find(key)
        if self.keys[i]:
            return False
        self._insert(i, key)
        return True

    def __contains__(self, key: int) -> bool:
        return bool(self.keys[self._find(key)])

    def _insert(self, i: int, key: int) -> int:
        if 4 * (self.count + 1) > 3 * len(self.keys):
            self._grow()
            i = self._find(key)
        self.keys[i] = key
        self.count += 1
        return i

    def _grow(self) -> None:
        old = self.keys
        self.keys = array("Q", bytes(16 * len(old)))
        self.mask = len(self.keys) - 1
        self._moved(old)

    def _moved(self, old: array[int]) -> None:
        find, keys = self._find, self.keys
        for key in old:
            if key:
                keys[find(key)] = key


class Fingerprints(KeySet):
    """key -> (count, fingerprint) of the ids fed under it, in the order fed."""

    def __init__(self, expected: int = 0) -> None:
        super().__init__(expected)
        self.counts = array("I", bytes(4 * len(self.keys)))
        self.values = array("Q", bytes(8 * len(self.keys)))

    def slot(self, key: int) -> int:
        """The slot of `key`, made (empty) when missing. It stays valid until another
        key is made: feed a run of one key's ids through `feed` with it."""
        i = self._find(key)
        return i if self.keys[i] else self._insert(i, key)

    def feed(self, slot: int, text: str) -> None:
        self.feed_key(slot, key64(text))

    def feed_key(self, slot: int, key: int) -> None:
        """Feed the id of `key` (`key64`) under `slot`."""
        self.counts[slot] += 1
        self.values[slot] = chain_key(self.values[slot], key)

    def get(self, key: int) -> tuple[int, int]:
        """(count, fingerprint) under `key`; (0, 0) when nothing was fed."""
        i = self._find(key)
        return (self.counts[i], self.values[i]) if self.keys[i] else (0, 0)

    def _grow(self) -> None:
        old_keys, old_counts, old_values = self.keys, self.counts, self.values
        self.keys = array("Q", bytes(16 * len(old_keys)))
        self.counts = array("I", bytes(8 * len(old_keys)))
        self.values = array("Q", bytes(16 * len(old_keys)))
        self.mask = len(self.keys) - 1
        find, keys, counts, values = self._find, self.keys, self.counts, self.values
        for j, key in enumerate(old_keys):
            if key:
                i = find(key)
                keys[i], counts[i], values[i] = key, old_counts[j], old_values[j]


class IdSequence:
    """A sequence of ids (an account's postings), as a count, an ordered fingerprint
    and an order-free one (a sum of keys): equal sequences agree on all three; the same
    ids in another order differ in the ordered one only."""

    __slots__ = ("count", "ordered", "unordered")

    def __init__(self) -> None:
        self.count = 0
        self.ordered = 0
        self.unordered = 0

    def add(self, text: str) -> None:
        self.count += 1
        self.ordered = chain(self.ordered, text)
        self.unordered = (self.unordered + key64(text)) & MASK

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, IdSequence):
            return NotImplemented
        return (self.count, self.ordered, self.unordered) == (
            other.count,
            other.ordered,
            other.unordered,
        )

    __hash__ = None  # type: ignore[assignment]
