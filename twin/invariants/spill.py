"""The stream pass's per-event and per-command tables, spilled to disk by hash partition
when the stream is too long to hold them in memory at once.

A `KeySet` of every eventId and a `Fingerprints` of every command grow with the stream:
16 to 40 bytes an event, ~800 MB at 100,000 members x 30 days. Past `KEYS_PER_PART`
events the pass keeps neither. It appends fixed-width records (64-bit words) to one of
P files chosen by the key's top bits, P a power of two picked from the tenant's stated
lastSequence so that a file holds at most ~`KEYS_PER_PART` keys; after the pass each
file is read back alone into a table of that size. A key's records are all in one file,
in the order appended (stream order), so what a table of one file finds is what one
table of the whole stream would have found. Memory stays flat as the stream grows: one
partition's table, and write buffers of `BUFFERED_WORDS` words in all.

The files live in one temporary directory (`tempfile`, in the system's temp dir),
removed when the `Spill` is left, on an exception or an interrupt as well. At 19 M
events they take up to ~1.7 GB of disk: 16 bytes an event for its id, 16 for its
command, its eventId and stated sequence as text (~45 bytes) for the rare failure
message that names them, and 32 bytes a command of the run log (`audit`).
"""

from __future__ import annotations

import heapq
import tempfile
from array import array
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType

from twin.invariants.compact import Fingerprints, KeySet

# Keys a partition's table holds at most: a KeySet of 2^21 slots (16 MB), a
# Fingerprints of at most as many (40 MB; ~0.4 M commands a file, so 20 MB). A stream
# of no more events is checked in memory, without files, as before.
KEYS_PER_PART = 1 << 20
# 64-bit words buffered before a write, across all the partitions of one kind of file:
# 2 MB a kind, whatever P is (a partition's buffer is this divided among them).
BUFFERED_WORDS = 1 << 18
BUFFER_WORDS_MIN = 1 << 10  # a partition's buffer at least: writes of 8 kB or more
READ_WORDS = 1 << 14  # words read back at a time (128 kB)
TEXT_LINES_BUFFERED = 1 << 14


def parts_for(keys: int) -> int:
    """The partitions that keep `keys` keys to ~`KEYS_PER_PART` each: a power of two,
    1 when they fit one table (no spill)."""
    parts = 1
    while keys > parts * KEYS_PER_PART:
        parts *= 2
    return parts


class Partitions:
    """`parts` append-only files of records of `width` 64-bit words, the first word a
    key; a record goes to the file of its key's top bits, files keep the order of
    appending."""

    def __init__(self, directory: Path, name: str, parts: int, width: int) -> None:
        assert parts >= 2 and parts & (parts - 1) == 0, parts
        self.width = width
        self.shift = 64 - (parts.bit_length() - 1)
        self.paths = [directory / f"{name}-{p}" for p in range(parts)]
        self.buffers = [array("Q") for _ in range(parts)]
        per_part = max(BUFFER_WORDS_MIN, BUFFERED_WORDS // parts)
        self.flush_at = per_part - per_part % width
        self.records = [0] * parts

    def __len__(self) -> int:
        return len(self.paths)

    def append(self, key: int, *words: int) -> None:
        """Append the record (key, *words) to its key's partition."""
        p = key >> self.shift
        buffer = self.buffers[p]
        buffer.append(key)
        buffer.extend(words)
        if len(buffer) >= self.flush_at:
            self._flush(p)

    def _flush(self, p: int) -> None:
        buffer = self.buffers[p]
        if buffer:
            with self.paths[p].open("ab") as handle:
                buffer.tofile(handle)
            self.records[p] += len(buffer) // self.width
            del buffer[:]

    def flush(self) -> None:
        """Write what is buffered: the files are complete."""
        for p in range(len(self.paths)):
            self._flush(p)

    def read(self, p: int) -> Iterator[array[int]]:
        """Partition `p`'s records in the order appended, as arrays of whole records
        (`width` words each) of at most `READ_WORDS` words."""
        path = self.paths[p]
        if not path.exists():
            return
        size = 8 * (READ_WORDS - READ_WORDS % self.width)
        with path.open("rb") as handle:
            while chunk := handle.read(size):
                words = array("Q")
                words.frombytes(chunk)
                yield words
        path.unlink()  # read once: the disk it took goes back as the check goes on


class FirstFew:
    """The `size` items of the lowest order among those added, and how many were added:
    the failures a check shows (the first ones) and its failure count."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.total = 0
        self._heap: list[tuple[int, int]] = []  # (-order, value): the highest on top

    def add(self, order: int, value: int = 0) -> None:
        self.total += 1
        if len(self._heap) < self.size:
            heapq.heappush(self._heap, (-order, value))
        elif -self._heap[0][0] > order:
            heapq.heapreplace(self._heap, (-order, value))

    def items(self) -> list[tuple[int, int]]:
        """(order, value) of the first few, lowest order first."""
        return sorted((-order, value) for order, value in self._heap)


class Spill:
    """The stream pass's spill: every event's (eventId key, position) by the key's
    partition, every event's (causationId key, eventId key) by the causationId's (when
    `causes`), and every event's stated sequence and eventId as a line of text."""

    def __init__(self, parts: int, *, causes: bool) -> None:
        self._directory = tempfile.TemporaryDirectory(prefix="twin-spill-")
        self.directory = Path(self._directory.name)
        self.parts = parts
        self.ids = Partitions(self.directory, "ids", parts, 2)
        self.causes = Partitions(self.directory, "causes", parts, 2) if causes else None
        self._texts = self.directory / "texts"
        self._lines: list[bytes] = []

    def __enter__(self) -> Spill:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Remove the files."""
        self._directory.cleanup()

    def partitions(self, name: str, width: int) -> Partitions:
        """More partitions, of the same count, in the same directory."""
        return Partitions(self.directory, name, self.parts, width)

    def add(
        self, index: int, sequence: object, event_id: str, event_key: int, cause_key: int
    ) -> None:
        """The event at `index` (1, 2, ...) of the stream."""
        self.ids.append(event_key, index)
        if self.causes is not None:
            self.causes.append(cause_key, event_key)
        # Escaped, a line is one line whatever the text holds (a tab or a newline).
        lines = self._lines
        lines.append(
            f"{sequence}".encode("unicode_escape") + b"\t" + event_id.encode("unicode_escape")
        )
        if len(lines) >= TEXT_LINES_BUFFERED:
            self._write_lines()

    def _write_lines(self) -> None:
        if self._lines:
            with self._texts.open("ab") as handle:
                handle.write(b"\n".join(self._lines) + b"\n")
            self._lines.clear()

    def finish(self) -> None:
        """The stream has ended: write what is buffered."""
        self.ids.flush()
        if self.causes is not None:
            self.causes.flush()
        self._write_lines()

    def duplicates(self, kept: int, pump: Callable[[], None]) -> FirstFew:
        """The positions of the events whose eventId key an earlier event had (the
        first `kept` of them, and how many), one partition at a time."""
        found = FirstFew(kept)
        ids = self.ids
        for p in range(len(ids)):
            seen = KeySet(ids.records[p])
            add = seen.add
            for words in ids.read(p):
                for j in range(0, len(words), 2):
                    if not add(words[j]):
                        found.add(words[j + 1])
                pump()
            del seen
        return found

    def texts(self, indices: set[int]) -> dict[int, tuple[str, str]]:
        """Position -> (stated sequence, eventId) as text, for the events at `indices`."""
        found: dict[int, tuple[str, str]] = {}
        if not indices:
            return found
        last = max(indices)
        with self._texts.open("rb") as handle:
            for index, line in enumerate(handle, start=1):
                if index in indices:
                    sequence, event_id = line.rstrip(b"\n").split(b"\t")
                    found[index] = (
                        sequence.decode("unicode_escape"),
                        event_id.decode("unicode_escape"),
                    )
                if index >= last:
                    break
        return found

    def caused(self, p: int, pump: Callable[[], None]) -> Fingerprints:
        """causationId key -> (count, fingerprint) of its events' ids, in stream order,
        for the causationIds of partition `p`."""
        assert self.causes is not None
        causes = self.causes
        table = Fingerprints(causes.records[p] // 2)
        slot_of, feed = table.slot, table.feed_key
        last_cause = slot = -1
        for words in causes.read(p):
            for j in range(0, len(words), 2):
                cause = words[j]
                if cause != last_cause:  # a command's events mostly come together
                    last_cause = cause
                    slot = slot_of(cause)
                feed(slot, words[j + 1])
            pump()
        return table
