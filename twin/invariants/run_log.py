"""A run's `commands.jsonl`, read a line at a time."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson


class RunLog:
    """A run's `commands.jsonl`, read a line at a time (a 10,000-member run's log is
    most of a gigabyte, never held whole), or records already in memory.

    A full pass (`records`) also notes where the replayable commands are, for the
    idempotency sample, and the plan refs of the ids the run produced, for the
    state digest; `replayable`, `refs` and `load` make that pass when none ran."""

    def __init__(self, source: Path | Sequence[Mapping[str, Any]]) -> None:
        self.path = source if isinstance(source, Path) else None
        self._records = None if isinstance(source, Path) else list(source)
        self._replayable: list[tuple[str, int]] | None = None  # (type, position)
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
        replayable: list[tuple[str, int]] = []
        refs: dict[str, str] = {}
        for position, record in self._positioned():
            if (
                record.get("outcome") in ("accepted", "replayed")
                and record.get("key")
                and record.get("reply")
            ):
                replayable.append((str(record.get("type")), position))
            produced, ref = record.get("producedId"), record.get("produces")
            if produced and ref:
                refs[str(produced)] = str(ref)
            yield record
        self._replayable, self._refs = replayable, refs

    def _indexed(self) -> None:
        if self._replayable is None:
            for _ in self.records():
                pass

    def replayable(self) -> list[tuple[str, int]]:
        """(command type, position) of every accepted command with a key and a reply."""
        self._indexed()
        assert self._replayable is not None
        return self._replayable

    def refs(self) -> dict[str, str]:
        """Server id -> plan ref, for every id the run produced."""
        self._indexed()
        assert self._refs is not None
        return self._refs

    def load(self, positions: Iterable[int]) -> list[Mapping[str, Any]]:
        """The records at `positions` (from `replayable`)."""
        if self._records is not None:
            return [self._records[p] for p in positions]
        assert self.path is not None
        out: list[Mapping[str, Any]] = []
        with self.path.open("rb") as handle:
            for position in positions:
                handle.seek(position)
                out.append(orjson.loads(handle.readline()))
        return out
