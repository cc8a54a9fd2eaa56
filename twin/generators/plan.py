"""The plan: `PlannedCommand`, `ScenarioPlan` (a whole plan in memory, for tests and
small tools), and the command id of an idempotency key. The run streams its plan
instead (`twin.generators.stream.PlanStream`); both give the same `stream_digest`."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from twin.generators.vocabulary import (
    COMMAND_ID_NAMESPACE,
)


@dataclass(frozen=True, slots=True)
class PlannedCommand:
    """One command of the plan, ready to be wrapped in the command envelope."""

    phase: str  # "bootstrap" | "seed" | "simulate"
    day: int | None  # 0-based day for simulate, else None
    lane: str  # "tenant", or the member's local id ("C000042")
    command_type: str
    idempotency_key: str  # f"{scenario_code}:{seed}:{entity...}", unique per command
    command_id: str  # uuid5(COMMAND_ID_NAMESPACE, idempotency_key)
    timestamp: str  # RFC 3339, local time of the tenant's zone, the simulated time
    payload: dict[str, Any]  # the wire payload, with {"$ref": ...} where a server id goes
    produces: str | None  # the local ref this command creates, else None
    expect_invariant: str | None  # the 422 invariant of a deliberately invalid command
    kind: str  # "tenant", "product", "customer", "account", "loan_drawdown", "salary", ...

    def canonical(self) -> bytes:
        """This command as canonical JSON (sorted keys, no spaces), for digests."""
        return orjson.dumps(
            {
                "phase": self.phase,
                "day": self.day,
                "lane": self.lane,
                "commandType": self.command_type,
                "idempotencyKey": self.idempotency_key,
                "commandId": self.command_id,
                "timestamp": self.timestamp,
                "payload": self.payload,
                "produces": self.produces,
                "expectInvariant": self.expect_invariant,
                "kind": self.kind,
            },
            option=orjson.OPT_SORT_KEYS,
        )


@dataclass(frozen=True)
class ScenarioPlan:
    """The commands of one scenario run, by phase; simulate has one list per day."""

    scenario_code: str
    tenant_code: str
    seed: int
    customers: int
    days: int
    bootstrap: list[PlannedCommand]
    seed_phase: list[PlannedCommand]
    simulate: list[list[PlannedCommand]]
    # Planned events left out to keep an account within its bounds, by kind.
    skipped: dict[str, int] = field(default_factory=dict)

    def all_commands(self) -> Iterator[PlannedCommand]:
        """Every command: bootstrap, seed, then the days in order."""
        yield from self.bootstrap
        yield from self.seed_phase
        for day in self.simulate:
            yield from day

    def stream_digest(self) -> str:
        """SHA-256 hex of the canonical JSON of every planned command, one per line."""
        digest = digest_header(
            self.scenario_code, self.tenant_code, self.seed, self.customers, self.days
        )
        digest_commands(digest, self.all_commands())
        return digest.hexdigest()

    def counts_by_kind(self) -> dict[str, int]:
        """How many commands of each kind, in order of first appearance."""
        return dict(Counter(command.kind for command in self.all_commands()))

    def __len__(self) -> int:
        return len(self.bootstrap) + len(self.seed_phase) + sum(len(day) for day in self.simulate)


def digest_header(
    scenario_code: str, tenant_code: str, seed: int, customers: int, days: int
) -> Any:
    """The plan digest's hash, fed its header line (what the plan is of)."""
    digest = hashlib.sha256()
    header = [scenario_code, tenant_code, seed, customers, days]
    digest.update(orjson.dumps(header) + b"\n")
    return digest


def digest_commands(digest: Any, commands: Iterable[PlannedCommand]) -> None:
    """Feed `commands` to the plan digest, one canonical line each."""
    update = digest.update
    for command in commands:
        update(command.canonical())
        update(b"\n")


def command_id_for(idempotency_key: str) -> str:
    """uuid5(COMMAND_ID_NAMESPACE, idempotency_key) as a string, computed directly.

    The same value as `str(uuid.uuid5(...))` at a third of its cost, which matters for a
    million commands: the SHA-1 hex digest with the version and variant bits set.
    """
    h = hashlib.sha1(_NAMESPACE_BYTES + idempotency_key.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


# The RFC 4122 variant: the top two bits of the 17th hex digit are 10.
_VARIANT = {f"{n:x}": f"{(n & 0x3) | 0x8:x}" for n in range(16)}
_NAMESPACE_BYTES = COMMAND_ID_NAMESPACE.bytes
