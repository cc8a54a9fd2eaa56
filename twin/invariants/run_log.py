"""A run's `commands.jsonl`, read a line at a time."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

ACCOUNT_REF = "account:"  # the plan refs of accounts (`twin.digest`)


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


class RunLog:
    """A run's `commands.jsonl`, read a line at a time (a 10,000-member run's log is
    most of a gigabyte, never held whole), or records already in memory.

    A full pass (`records`) also counts the replayable commands of each type, for the
    idempotency sample, and notes the plan refs of the accounts the run opened, for the
    state digest; `account_refs` and `sample` make that pass when none ran."""

    def __init__(self, source: Path | Sequence[Mapping[str, Any]]) -> None:
        self.path = source if isinstance(source, Path) else None
        self._records = None if isinstance(source, Path) else list(source)
        self._replayable: Counter[str] | None = None  # replayable commands by type
        self._refs: dict[str, str] | None = None

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
        for _, record in self._positioned():
            if replayable(record):
                counts[str(record.get("type"))] += 1
            produced, ref = record.get("producedId"), record.get("produces")
            if produced and isinstance(ref, str) and ref.startswith(ACCOUNT_REF):
                refs[str(produced)] = ref
            yield record
        self._replayable, self._refs = counts, refs

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
        no more than `size`). A second pass over the log, which keeps
        only the chosen records."""
        counts = self.replayable()
        wanted = chosen(counts, size)
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
