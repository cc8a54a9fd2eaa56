"""The streamed plan: `PlanStream`, the plan a run sends, never held whole in memory.

The planner draws one member at a time: their seeding, then all their days (each
member's days come from the member's own random generators, and the next member's
from theirs). A day of the run, though, is every member's commands of that day, so
the days come out in the other order than they are drawn. Holding every member's
generators alive to draw the days one at a time would keep two Mersenne Twister
states (2.5 kB each) per member, half a gigabyte at 100,000 members; holding the
drawn days would keep the whole plan (1.1 GB at 10,000 members). So each member's
commands are written as they are drawn, a line each, to one spill file per batch
(the seed phase, each day) in a temporary folder, and the runner reads a batch back
a command at a time when it runs it. Memory stays flat as members grow; the disk
holds about 490 bytes per command until `close`.

The lines keep every field as planned (payload keys in their order), so a command
read back equals the one planned (`tests/twin/test_plan_stream.py` holds the stream
equal, command for command and in order, to the whole plan of `Planner.plan`).
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import orjson

from twin.generators.plan import PlannedCommand, digest_commands, digest_header

SPILL_BUFFER_BYTES = 1 << 16  # per open batch file: 31 of them at 30 days


class Batch:
    """One barrier's worth of commands (the bootstrap, the seed phase, or a day): its
    size, and its commands in plan order, read back from its spill file (or a list)
    each time it is iterated."""

    def __init__(
        self,
        stream: PlanStream,
        index: int,
        size: int,
        path: Path | None = None,
        commands: list[PlannedCommand] | None = None,
    ) -> None:
        self._stream = stream
        self.index = index
        self.size = size
        self.path = path
        self._commands = commands

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[PlannedCommand]:
        # The plan digest is fed by the first in-order pass over the batches (the run's),
        # a copy of it committed only when this batch was read to its end.
        stream = self._stream
        digest = stream._digest.copy() if stream._digested == self.index else None
        update = digest.update if digest is not None else None
        for command in self._read():
            if update is not None:
                update(command.canonical())
                update(b"\n")
            yield command
        if digest is not None and stream._digested == self.index:
            stream._digest, stream._digested = digest, self.index + 1

    def _read(self) -> Iterator[PlannedCommand]:
        if self._commands is not None:
            yield from self._commands
            return
        assert self.path is not None
        loads = orjson.loads
        with self.path.open("rb") as handle:
            for line in handle:
                yield PlannedCommand(*loads(line))


class PlanStream:
    """A scenario's plan as batches read back from disk: `bootstrap`, `seed_phase`, and
    `simulate` (one batch per day), each iterable (in plan order) and sized. The same
    attributes as `ScenarioPlan`, whose lists they replace, so the runner takes either.
    Close it (or use it as a context manager) to remove its spill files."""

    def __init__(
        self,
        scenario_code: str,
        tenant_code: str,
        seed: int,
        customers: int,
        days: int,
        folder: Path,
    ) -> None:
        self.scenario_code = scenario_code
        self.tenant_code = tenant_code
        self.seed = seed
        self.customers = customers
        self.days = days
        self.folder = folder
        # Removed by `close`, else when the stream is collected or the interpreter exits.
        self._remove = weakref.finalize(self, shutil.rmtree, folder, True)
        self.skipped: dict[str, int] = {}
        self.kinds: Counter[str] = Counter()
        self._digest = digest_header(scenario_code, tenant_code, seed, customers, days)
        self._digested = 0  # the batches fed to the digest so far, in order
        self.bootstrap: Batch = Batch(self, 0, 0, commands=[])
        self.seed_phase: Batch = Batch(self, 1, 0)
        self.simulate: list[Batch] = []

    def batches(self) -> list[Batch]:
        """Every batch in plan order: bootstrap, seed, then the days."""
        return [self.bootstrap, self.seed_phase, *self.simulate]

    def all_commands(self) -> Iterator[PlannedCommand]:
        """Every command: bootstrap, seed, then the days in order."""
        for batch in self.batches():
            yield from batch

    def stream_digest(self) -> str:
        """The plan digest (as `ScenarioPlan.stream_digest`): from the pass the run made
        over the batches, else from a pass made now over the ones it did not read."""
        digest = self._digest.copy()
        digest_commands(digest, (c for b in self.batches()[self._digested :] for c in b._read()))
        return str(digest.hexdigest())

    def counts_by_kind(self) -> dict[str, int]:
        """How many commands of each kind (in the order the planner first drew each)."""
        return dict(self.kinds)

    def __len__(self) -> int:
        return sum(len(batch) for batch in self.batches())

    def close(self) -> None:
        """Remove the spill files."""
        self._remove()

    def __enter__(self) -> PlanStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SpillWriter:
    """Writes a `PlanStream`'s batches as the planner draws them, member by member."""

    def __init__(self, stream: PlanStream) -> None:
        self.stream = stream
        folder = stream.folder
        self._seed = self._open(folder / "seed.jsonl")
        self._days = [self._open(folder / f"day-{d:03d}.jsonl") for d in range(stream.days)]
        self._sizes = [0] * (stream.days + 1)  # the seed phase, then each day
        self._kinds = stream.kinds

    @staticmethod
    def _open(path: Path) -> IO[bytes]:
        return path.open("wb", buffering=SPILL_BUFFER_BYTES)

    def _write(self, handle: IO[bytes], slot: int, commands: list[PlannedCommand]) -> None:
        if not commands:
            return
        dumps = orjson.dumps
        kinds = self._kinds
        lines = []
        for c in commands:
            kinds[c.kind] += 1
            lines.append(
                dumps(
                    (
                        c.phase,
                        c.day,
                        c.lane,
                        c.command_type,
                        c.idempotency_key,
                        c.command_id,
                        c.timestamp,
                        c.payload,
                        c.produces,
                        c.expect_invariant,
                        c.kind,
                    )
                )
            )
        lines.append(b"")
        handle.write(b"\n".join(lines))
        self._sizes[slot] += len(commands)

    def bootstrap(self, commands: list[PlannedCommand]) -> None:
        for c in commands:
            self._kinds[c.kind] += 1
        self.stream.bootstrap = Batch(self.stream, 0, len(commands), commands=list(commands))

    def member(self, seed: list[PlannedCommand], days: list[list[PlannedCommand]]) -> None:
        """One member's seeding and days (one list per day)."""
        self._write(self._seed, 0, seed)
        for day, commands in enumerate(days):
            self._write(self._days[day], day + 1, commands)

    def close(self, skipped: dict[str, int]) -> PlanStream:
        """Close the files; the stream, ready to be read."""
        stream = self.stream
        for handle in (self._seed, *self._days):
            handle.close()
        stream.seed_phase = Batch(stream, 1, self._sizes[0], path=self._seed_path())
        stream.simulate = [
            Batch(stream, 2 + d, self._sizes[d + 1], path=stream.folder / f"day-{d:03d}.jsonl")
            for d in range(stream.days)
        ]
        stream.skipped = skipped
        return stream

    def _seed_path(self) -> Path:
        return self.stream.folder / "seed.jsonl"


def spill_folder() -> Path:
    """A new temporary folder for a plan's spill files."""
    return Path(tempfile.mkdtemp(prefix="twin-plan-"))


__all__ = ["Batch", "PlanStream", "SpillWriter", "spill_folder"]
