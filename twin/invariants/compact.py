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
    array, grown (doubled) before it is more than 3/4 full. A subclass keeps figures
    beside each key, slot for slot, in arrays of its own (`COLUMNS`)."""

    COLUMNS: tuple[tuple[str, str], ...] = ()  # (attribute, array typecode)

    def __init__(self, expected: int = 0) -> None:
        self._allocate(_slots_for(expected))
        self.count = 0

    def _allocate(self, slots: int) -> None:
        self.keys = array("Q", bytes(8 * slots))
        self.mask = slots - 1
        for name, code in self.COLUMNS:
            setattr(self, name, array(code, bytes(array(code).itemsize * slots)))

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

    def slot(self, key: int) -> int:
        """The slot of `key`, made (its figures zero) when missing. It stays valid until
        another key is made."""
        i = self._find(key)
        return i if self.keys[i] else self._insert(i, key)

    def _insert(self, i: int, key: int) -> int:
        if 4 * (self.count + 1) > 3 * len(self.keys):
            self._grow()
            i = self._find(key)
        self.keys[i] = key
        self.count += 1
        return i

    def _grow(self) -> None:
        old_keys = self.keys
        old_columns = [getattr(self, name) for name, _ in self.COLUMNS]
        self._allocate(2 * len(old_keys))
        find, keys = self._find, self.keys
        columns = [getattr(self, name) for name, _ in self.COLUMNS]
        for j, key in enumerate(old_keys):
            if key:
                i = find(key)
                keys[i] = key
                for column, old in zip(columns, old_columns, strict=True):
                    column[i] = old[j]


class Fingerprints(KeySet):
    """key -> (count, fingerprint) of the ids fed under it, in the order fed."""

    COLUMNS = (("counts", "I"), ("values", "Q"))
    counts: array[int]
    values: array[int]

    def feed(self, slot: int, text: str) -> None:
        self.feed_key(slot, key64(text))

    def feed_key(self, slot: int, key: int) -> None:
        """Feed the id of `key` (`key64`) under `slot` (`slot`: a run of one key's ids)."""
        self.counts[slot] += 1
        self.values[slot] = chain_key(self.values[slot], key)

    def get(self, key: int) -> tuple[int, int]:
        """(count, fingerprint) under `key`; (0, 0) when nothing was fed."""
        i = self._find(key)
        return (self.counts[i], self.values[i]) if self.keys[i] else (0, 0)


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


class Sequences(KeySet):
    """key -> the `IdSequence` of the ids fed under it, as three figures in flat arrays
    (28 bytes a slot, the key included). An IdSequence object with its two 64-bit ints
    takes 128 bytes, and every id fed to it makes two new ints: over a pass over
    millions of events, those survivors end up scattered across the allocator's pages
    among the pages' garbage, which the process then cannot give back."""

    COLUMNS = (("counts", "I"), ("ordered", "Q"), ("unordered", "Q"))
    counts: array[int]
    ordered: array[int]
    unordered: array[int]

    def feed(self, slot: int, text: str) -> None:
        """Add the id `text` to the sequence under `slot` (as `IdSequence.add`)."""
        self.counts[slot] += 1
        self.ordered[slot] = chain(self.ordered[slot], text)
        self.unordered[slot] = (self.unordered[slot] + key64(text)) & MASK

    def get(self, key: int) -> IdSequence:
        """The sequence under `key` (empty when nothing was fed)."""
        i = self._find(key)
        return self.at(i) if self.keys[i] else IdSequence()

    def at(self, slot: int) -> IdSequence:
        """The sequence under `slot`."""
        found = IdSequence()
        found.count, found.ordered, found.unordered = (
            self.counts[slot],
            self.ordered[slot],
            self.unordered[slot],
        )
        return found
