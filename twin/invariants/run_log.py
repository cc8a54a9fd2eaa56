"""A run's `commands.jsonl`, read a line at a time."""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from itertools import accumulate
from pathlib import Path
from typing import Any

import orjson

ACCOUNT_REF = "account:"  # the plan refs of accounts (`twin.digest`)
GAP_MAX = (1 << 32) - 1  # the largest gap between two offsets `Offsets` keeps


def replayable(record: Mapping[str, Any]) -> bool:
    """Whether a record is a command the idempotency check can replay: accepted, with
    its key and its reply."""
    return bool(
        record.get("outcome") in ("accepted", "replayed")
        and record.get("key")
        and record.get("reply")
    )


def chosen(counts: Mapping[str, int], size: int) -> dict[str, set[int]] | None:
    """The idempotency sample, as the ordinals to take of each command type (None: take
    every replayable command): evenly spread, deterministic, every type represented.
    `counts` is how many replayable commands each type has, in order of first
    appearance."""
    if sum(counts.values()) <= size:
        return None
    quota = max(1, size // len(counts))
    return {
        command_type: set(range(n)) if n <= quota else _spread(n, quota)
        for command_type, n in counts.items()
    }


def _spread(n: int, quota: int) -> set[int]:
    step = n / quota
    return {int(i * step) for i in range(quota)}


class Offsets:
    """Where the lines of a file start, in the order added: the first offset, then 4
    bytes a line, the gap from the one before (a 100,000-member run's log holds 7.5
    million replayable commands)."""

    def __init__(self) -> None:
        self.first: int | None = None
        self.gaps = array("I")
        self.last = 0

    def add(self, offset: int) -> bool:
        """Add `offset` (not below the last); False, nothing added, when its gap from the
        last is over 4 GiB."""
        if self.first is None:
            self.first = self.last = offset
            return True
        gap = offset - self.last
        if gap > GAP_MAX:
            return False
        self.gaps.append(gap)
        self.last = offset
        return True

    def at(self, ordinals: Sequence[int]) -> list[int]:
        """The offsets of the `ordinals`-th lines added (0 the first), ascending ordinals."""
        found: list[int] = []
        wanted = iter(ordinals)
        next_one = next(wanted, None)
        if next_one is None or self.first is None:
            return found
        for ordinal, offset in enumerate(accumulate(self.gaps, initial=self.first)):
            if ordinal == next_one:
                found.append(offset)
                next_one = next(wanted, None)
                if next_one is None:
                    break
        return found


class RunLog:
    """A run's `commands.jsonl`, read a line at a time (a 10,000-member run's log is
    most of a gigabyte, never held whole), or records already in memory.

    A full pass (`records`) also counts the replayable commands of each type, for the
    idempotency sample, notes where each starts in the file (`Offsets`: the sample is
    then read at those places, not in a second pass), and notes the plan refs of the
    accounts the run opened, for the state digest; `account_refs` and `sample` make
    that pass when none ran."""

    def __init__(self, source: Path | Sequence[Mapping[str, Any]]) -> None:
        self.path = source if isinstance(source, Path) else None
        self._records = None if isinstance(source, Path) else list(source)
        self._replayable: Counter[str] | None = None  # replayable commands by type
        self._refs: dict[str, str] | None = None
        # Where each type's replayable records start in the file, from the last full
        # pass (None: not read from a file, or a gap too long for `Offsets`).
        self._offsets: dict[str, Offsets] | None = None

    def _positioned(self) -> Iterator[tuple[int, Mapping[str, Any]]]:
        if self._records is not None:
            yield from enumerate(self._records)
            return
        assert self.path is not None
        offset = 0
        with self.path.open("rb") as handle:
            for line in handle:
                if not line.isspace():
                    yield offset, orjson.loads(line)
                offset += len(line)

    def records(self) -> Iterator[Mapping[str, Any]]:
        """Every record, in plan order."""
        counts: Counter[str] = Counter()
        refs: dict[str, str] = {}
        offsets: dict[str, Offsets] | None = {} if self.path is not None else None
        for position, record in self._positioned():
            if replayable(record):
                command_type = str(record.get("type"))
                counts[command_type] += 1
                if offsets is not None:
                    kept = offsets.get(command_type)
                    if kept is None:
                        kept = offsets[command_type] = Offsets()
                    if not kept.add(position):
                        offsets = None
            produced, ref = record.get("producedId"), record.get("produces")
            if produced and isinstance(ref, str) and ref.startswith(ACCOUNT_REF):
                refs[str(produced)] = ref
            yield record
        self._replayable, self._refs, self._offsets = counts, refs, offsets

    def _indexed(self) -> None:
        if self._replayable is None:
            for _ in self.records():
                pass

    def replayable(self) -> Counter[str]:
        """How many replayable commands (`replayable`) of each command type."""
        self._indexed()
        assert self._replayable is not None
        return self._replayable

    def account_refs(self) -> dict[str, str]:
        """Server id -> plan ref, for every account the run opened (what the state digest
        reads: the customers' refs would be another 100,000 entries at 100,000 members)."""
        self._indexed()
        assert self._refs is not None
        return self._refs

    def sample(self, size: int) -> list[Mapping[str, Any]]:
        """An evenly spread, deterministic sample of about `size` replayable commands,
        every command type represented (`chosen`), grouped by type in order of first
        appearance, each group in plan order (all of them in plan order when there are
        no more than `size`). Read at the offsets the full pass noted, or, for records
        in memory (or a log whose offsets could not be kept), by a second pass over
        them that keeps only the chosen ones."""
        counts = self.replayable()
        wanted = chosen(counts, size)
        if self._offsets is not None:
            return self._read_at(counts, wanted, self._offsets)
        seen: Counter[str] = Counter()
        groups: dict[str, list[Mapping[str, Any]]] = {t: [] for t in counts}
        everything: list[Mapping[str, Any]] = []
        for _, record in self._positioned():
            if not replayable(record):
                continue
            command_type = str(record.get("type"))
            ordinal = seen[command_type]
            seen[command_type] += 1
            if wanted is not None and ordinal in wanted[command_type]:
                groups[command_type].append(record)
            if wanted is None:
                everything.append(record)
        if wanted is None:
            return everything
        return [record for group in groups.values() for record in group]

    def _read_at(
        self,
        counts: Counter[str],
        wanted: dict[str, set[int]] | None,
        offsets: dict[str, Offsets],
    ) -> list[Mapping[str, Any]]:
        """`sample`'s records, each read where the full pass found it."""
        if wanted is None:  # every replayable command, in plan order
            places = sorted(o for t in counts for o in offsets[t].at(range(counts[t])))
        else:
            places = [o for t in counts for o in offsets[t].at(sorted(wanted[t]))]
        assert self.path is not None
        found: list[Mapping[str, Any]] = []
        with self.path.open("rb") as handle:
            for place in places:
                handle.seek(place)
                found.append(orjson.loads(handle.readline()))
        return found
