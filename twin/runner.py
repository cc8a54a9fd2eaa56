"""Run a plan against a service: bootstrap, seed, simulate day by day.

The plan is a `PlanStream` (what `twin run` makes: each batch read back from disk
as it runs, so neither the plan nor the run log is ever held whole) or a whole
`ScenarioPlan` (tests); the two give the same requests in the same order.

Order: the commands of one lane run in order; different lanes run in parallel,
up to `concurrency` of them at a time (`TuringCoreClient.run_lanes`: that many
commands in flight on as many keep-alive connections). Phases are barriers, and
so is each simulated day: all of day d is acknowledged before day d+1 starts.

Refs: a payload may hold `{"$ref": "customer:C000042"}`; it is replaced by the
server id that the command producing that ref got back at the top level of its 202
(`customerId`, `accountId`, as the published client reads it; `result` otherwise).
A ref must come from an earlier phase or earlier in the same lane, otherwise
the plan is wrong and the run stops (RunnerError).

Each command has an outcome:
  accepted             202, first time
  replayed             202 with `Idempotent-Replayed: true`
  rejected-expected    the 422 the plan asked for (`expect_invariant`)
  rejected-unexpected  any other rejection: a generator or service bug
  accepted-unexpected  202 for a command the plan marked invalid: a service bug
  tenant-exists        CreateTenant answered TENANT_CODE_UNIQUE (created earlier under
                       another key); the run goes on with the existing tenant
  skipped              not sent: a ref it needs was never produced
"""

from __future__ import annotations

import gc
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

import orjson
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from turingcore_client.client import TuringCoreClient
from turingcore_client.refs import RefTable, Unresolved, produced_id
from turingcore_client.replies import CommandReply, Lane
from twin.latency import DecileLatencies, LatencyHistogram

if TYPE_CHECKING:
    from twin.generators import PlannedCommand, PlanStream, ScenarioPlan


class Batch(Protocol):
    """One barrier's commands: a list (`ScenarioPlan`) or a streamed batch (`PlanStream`)."""

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[PlannedCommand]: ...


OUTCOMES = (
    "accepted",
    "replayed",
    "rejected-expected",
    "rejected-unexpected",
    "accepted-unexpected",
    "tenant-exists",
    "skipped",
)
UNEXPECTED_OUTCOMES = frozenset({"rejected-unexpected", "accepted-unexpected", "skipped"})
UNEXPECTED_KEPT_MAX = 50
# Commands in flight (one lane each). Measured on a 2-core box against `mock-core serve`
# on SQLite (docs/twin.md): the mock's group commit turns more requests in flight into
# bigger batches, and 32 was about as fast as 64 or 128 at half their latency.
DEFAULT_CONCURRENCY = 32
PROGRESS_EVERY_S = 0.25  # progress bars are redrawn a few times a second, not per lane


class RunnerError(RuntimeError):
    """The plan cannot be run as given (an unresolvable ref): a generator bug."""


def classify(command: PlannedCommand, reply: CommandReply) -> str:
    """The outcome name of one sent command (see the module docstring)."""
    if reply.accepted:
        if command.expect_invariant:
            return "accepted-unexpected"
        return "replayed" if reply.replayed else "accepted"
    if command.expect_invariant and reply.invariant == command.expect_invariant:
        return "rejected-expected"
    if command.command_type == "CreateTenant" and reply.invariant == "TENANT_CODE_UNIQUE":
        return "tenant-exists"
    return "rejected-unexpected"


class RateColumn(ProgressColumn):
    """Commands per second since the task started."""

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        rate = task.completed / elapsed if elapsed > 0 else 0.0
        return Text(f"{rate:,.0f} cmd/s", style="progress.data.speed")


@dataclass
class PhaseStats:
    name: str
    commands: int = 0
    wall_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        rate = self.commands / self.wall_s if self.wall_s > 0 else 0.0
        return {
            "commands": self.commands,
            "wall_s": round(self.wall_s, 3),
            "commands_per_s": round(rate, 1),
        }


@dataclass
class RunResult:
    """What a run did: counts, timings, latencies, refs and where the log is."""

    scenario: str
    tenant_id: str
    seed: int
    customers: int
    days: int
    plan_digest: str
    concurrency: int
    phases: dict[str, PhaseStats]
    by_outcome: Counter[str]
    by_kind: Counter[str]
    by_type: Counter[str]
    by_kind_outcome: dict[str, Counter[str]]
    unexpected: list[dict[str, Any]]
    latency: LatencyHistogram
    refs: RefTable
    log_path: Path | None
    wall_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    retried: int = 0
    simulate_deciles: DecileLatencies | None = None

    @property
    def total(self) -> int:
        return sum(self.by_outcome.values())

    @property
    def commands_retried(self) -> int:
        """Commands that took more than one attempt (a retry after a fault or a failure)."""
        return self.retried

    @property
    def unexpected_count(self) -> int:
        return sum(self.by_outcome[o] for o in UNEXPECTED_OUTCOMES)

    @property
    def commands_per_s(self) -> float:
        return self.total / self.wall_s if self.wall_s > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "tenant": self.tenant_id,
            "seed": self.seed,
            "customers": self.customers,
            "days": self.days,
            "plan_digest": self.plan_digest,
            "concurrency": self.concurrency,
            "counts": {
                "total": self.total,
                "by_outcome": {o: self.by_outcome.get(o, 0) for o in OUTCOMES},
                "by_type": dict(sorted(self.by_type.items())),
                "by_kind": dict(sorted(self.by_kind.items())),
                "by_kind_outcome": {
                    kind: dict(sorted(c.items()))
                    for kind, c in sorted(self.by_kind_outcome.items())
                },
            },
            "unexpected_total": self.unexpected_count,
            "unexpected": self.unexpected,
            "phases": {name: p.as_dict() for name, p in self.phases.items()},
            "wall_s": round(self.wall_s, 3),
            "commands_per_s": round(self.commands_per_s, 1),
            "latency_ms": self.latency.summary(),
            "latency_ms_simulate_deciles": (
                self.simulate_deciles.summary() if self.simulate_deciles else []
            ),
            "run_log": str(self.log_path) if self.log_path else None,
        }


class ScenarioRunner:
    """Sends a plan's commands through one client; see the module docstring."""

    def __init__(
        self,
        client: TuringCoreClient,
        plan: ScenarioPlan | PlanStream,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        log_path: Path | None = None,
        console: Console | None = None,
        show_progress: bool | None = None,
        on_command: Callable[[PlannedCommand, CommandReply | None, str], None] | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.client = client
        self.plan = plan
        self.concurrency = concurrency
        self.log_path = log_path
        self.console = console or Console(stderr=True)
        self.show_progress = self.console.is_terminal if show_progress is None else show_progress
        self.on_command = on_command
        self.refs = RefTable()
        self.latency = LatencyHistogram()
        self._lock = threading.Lock()
        self._by_outcome: Counter[str] = Counter()
        self._by_kind: Counter[str] = Counter()
        self._by_type: Counter[str] = Counter()
        self._by_kind_outcome: dict[str, Counter[str]] = {}
        self._unexpected: list[dict[str, Any]] = []
        self._retried = 0
        self._progress_pending = 0
        self._progress_at = 0.0
        self._advance_batch: Callable[[int], None] = _no_progress
        # The simulate phase's latencies by tenth of the phase: the recorder, and the
        # phase index of the running batch's first command (None outside the phase).
        self._deciles: DecileLatencies | None = None
        self._batch_index: int | None = None

    # ------------------------------------------------------------ one lane

    def _lane(self, commands: list[tuple[int, PlannedCommand]], log: _OrderedLog | None) -> Lane:
        """One lane's commands (each with its position in the batch), in order, as a
        lane for `run_lanes`. Each command's run-log line goes to `log` at its position;
        the refs it produces are set before the lane's next command is made."""
        tenant_id = self.plan.tenant_code
        client = self.client
        refs = self.refs
        deciles, batch_index = self._deciles, self._batch_index
        for position, command in commands:
            record: dict[str, Any] = {
                "key": command.idempotency_key,
                "commandId": command.command_id,
                "type": command.command_type,
                "kind": command.kind,
                "phase": command.phase,
                "day": command.day,
                "lane": command.lane,
                "timestamp": command.timestamp,
                "expected": command.expect_invariant,
                "produces": command.produces,
            }
            try:
                payload = refs.resolve(command.payload)
            except Unresolved as exc:
                if not refs.failed(exc.ref):
                    raise RunnerError(
                        f"{command.idempotency_key}: ref {exc.ref!r} is not produced by an "
                        "earlier phase or earlier in the same lane (a generator bug)"
                    ) from None
                record.update(
                    status=None, replayed=False, invariant=None, outcome="skipped", latency_ms=0.0
                )
                record["error"] = f"ref {exc.ref} was never produced"
                self._count(command, record, None)
                if command.produces:
                    refs.fail(command.produces)
                if log is not None:
                    log.put(position, orjson.dumps(record))
                continue
            reply = yield client.command_request(
                command.command_type,
                payload,
                tenant_id=tenant_id,
                command_id=command.command_id,
                idempotency_key=command.idempotency_key,
                timestamp=command.timestamp,
            )
            outcome = classify(command, reply)
            self.latency.record(command.command_type, reply.latency_s)
            if batch_index is not None and deciles is not None:
                deciles.record(batch_index + position, reply.latency_s)
            if command.produces:
                server_id = produced_id(command.produces, reply.body) if reply.accepted else None
                if server_id is None and outcome == "tenant-exists":
                    server_id = tenant_id
                if server_id is not None:
                    refs.set(command.produces, server_id)
                    record["producedId"] = server_id
                else:
                    refs.fail(command.produces)
            record.update(
                status=reply.status,
                replayed=reply.replayed,
                invariant=reply.invariant,
                outcome=outcome,
                latency_ms=round(reply.latency_s * 1000, 3),
                attempts=reply.attempts,
                payload=payload,
                reply=reply.body,
            )
            self._count(command, record, reply)
            if log is not None:
                log.put(position, orjson.dumps(record))
        self._advance_batch(len(commands))

    def _count(
        self, command: PlannedCommand, record: dict[str, Any], reply: CommandReply | None
    ) -> None:
        outcome = record["outcome"]
        with self._lock:
            self._by_outcome[outcome] += 1
            self._by_kind[command.kind] += 1
            self._by_type[command.command_type] += 1
            self._by_kind_outcome.setdefault(command.kind, Counter())[outcome] += 1
            if reply is not None and reply.attempts > 1:
                self._retried += 1
            if outcome in UNEXPECTED_OUTCOMES and len(self._unexpected) < UNEXPECTED_KEPT_MAX:
                body = reply.body if reply is not None else {}
                self._unexpected.append(
                    {
                        "key": command.idempotency_key,
                        "type": command.command_type,
                        "kind": command.kind,
                        "outcome": outcome,
                        "status": record.get("status"),
                        "expected": command.expect_invariant,
                        "error": body.get("invariant") or body.get("error") or record.get("error"),
                        "message": body.get("message"),
                        "details": body.get("details"),
                    }
                )
        if self.on_command is not None:
            self.on_command(command, reply, outcome)

    def _stop_on_refused_key(self) -> None:
        """Stop the run when the service refused the key (401/403): every later command
        would be refused too, and the checks would then read a tenant that is not there."""
        for item in self._unexpected:
            if item["status"] in (401, 403):
                hint = (
                    "CreateTenant needs a platform key (scope *); use one, or create the "
                    "tenant first"
                    if item["type"] == "CreateTenant"
                    else f"use a key whose scope includes {self.plan.tenant_code}"
                )
                raise RunnerError(
                    f"the service refused the API key: {item['status']} {item['error']} on "
                    f"{item['type']} ({item['message']}); {hint}"
                )

    # ------------------------------------------------------------------ batches

    def _lanes(self, commands: Iterable[PlannedCommand], log: _OrderedLog | None) -> Iterator[Lane]:
        """The lanes of one batch, made as `run_lanes` asks for them: a lane's commands
        stand together in a streamed batch (member by member), so a lane is read, run and
        dropped while the batch is still being read. A lane that comes back later in the
        batch would have to wait for its earlier part: for a list (a whole plan in
        memory) the lanes are gathered first; in a stream it is a plan error."""
        if isinstance(commands, list):
            lanes: dict[str, list[tuple[int, PlannedCommand]]] = {}
            for position, command in enumerate(commands):
                lanes.setdefault(command.lane, []).append((position, command))
            for lane in lanes.values():
                yield self._lane(lane, log)
            return
        ended: set[str] = set()
        current: list[tuple[int, PlannedCommand]] = []
        lane_name = None
        for position, command in enumerate(commands):
            if command.lane != lane_name:
                if current:
                    yield self._lane(current, log)
                if command.lane in ended:
                    raise RunnerError(
                        f"{command.idempotency_key}: lane {command.lane} comes back after "
                        "other lanes in its batch (a generator bug)"
                    )
                if lane_name is not None:
                    ended.add(lane_name)
                lane_name, current = command.lane, []
            current.append((position, command))
        if current:
            yield self._lane(current, log)

    def _run_batch(self, commands: Iterable[PlannedCommand], log: IO[bytes] | None) -> None:
        """Run one barrier's worth of commands; their run-log lines go to `log` in plan
        order (as each line's turn comes, so only the lines of lanes ahead of a slower
        one wait in memory)."""
        ordered = _OrderedLog(log) if log is not None else None
        self.client.run_lanes(self._lanes(commands, ordered), self.concurrency)
        if ordered is not None:
            ordered.close()

    def _advance(self, progress: Progress, task: Any, n: int, *, flush: bool = False) -> None:
        """Count `n` more done; redraw at most every PROGRESS_EVERY_S (or when flushed)."""
        with self._lock:
            self._progress_pending += n
            now = time.monotonic()
            if not flush and now - self._progress_at < PROGRESS_EVERY_S:
                return
            pending, self._progress_pending = self._progress_pending, 0
            self._progress_at = now
        if pending:
            progress.advance(task, pending)

    def _phases(self) -> list[tuple[str, list[Batch]]]:
        plan = self.plan
        return [
            ("bootstrap", [plan.bootstrap]),
            ("seed", [plan.seed_phase]),
            ("simulate", list(plan.simulate)),
        ]

    def run(self) -> RunResult:
        """Run every phase; write the command log; return the counts and timings."""
        phases: dict[str, PhaseStats] = {}
        log: IO[bytes] | None = None
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            log = self.log_path.open("wb", buffering=1 << 20)
        progress = Progress(
            TextColumn("[bold]{task.description:<10}"),
            BarColumn(),
            MofNCompleteColumn(),
            RateColumn(),
            TimeElapsedColumn(),
            console=self.console,
            disable=not self.show_progress,
            transient=False,
        )
        # What is alive now (the configuration, the client) lives as long as the run:
        # keep the cyclic collector from scanning it again and again as the run allocates.
        gc.freeze()
        started = time.perf_counter()
        try:
            with progress:
                for name, batches in self._phases():
                    total = sum(len(b) for b in batches)
                    task = progress.add_task(name, total=total)
                    stats = PhaseStats(name, commands=total)
                    phase_started = time.perf_counter()

                    def advance(n: int, task_id: Any = task) -> None:
                        self._advance(progress, task_id, n)

                    self._advance_batch = advance
                    if name == "simulate" and total:
                        self._deciles, self._batch_index = DecileLatencies(total), 0
                    for batch in batches:
                        self._run_batch(batch, log)
                        if self._batch_index is not None:
                            self._batch_index += len(batch)
                        self._stop_on_refused_key()
                        self._advance(progress, task, 0, flush=True)
                    stats.wall_s = time.perf_counter() - phase_started
                    self._batch_index = None
                    phases[name] = stats
        finally:
            gc.unfreeze()
            if log is not None:
                log.close()
        wall = time.perf_counter() - started
        plan = self.plan
        return RunResult(
            scenario=plan.scenario_code,
            tenant_id=plan.tenant_code,
            seed=plan.seed,
            customers=plan.customers,
            days=plan.days,
            plan_digest=plan.stream_digest(),
            concurrency=self.concurrency,
            phases=phases,
            by_outcome=self._by_outcome,
            by_kind=self._by_kind,
            by_type=self._by_type,
            by_kind_outcome=self._by_kind_outcome,
            unexpected=self._unexpected,
            latency=self.latency,
            refs=self.refs,
            log_path=self.log_path,
            wall_s=wall,
            retried=self._retried,
            simulate_deciles=self._deciles,
        )


def _no_progress(n: int) -> None:
    pass


class _OrderedLog:
    """Run-log lines put in any order by position, written in position order."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.waiting: dict[int, bytes] = {}
        self.next = 0

    def put(self, position: int, line: bytes) -> None:
        if position != self.next:
            self.waiting[position] = line
            return
        write, waiting = self.out.write, self.waiting
        write(line + b"\n")
        position += 1
        while position in waiting:
            write(waiting.pop(position) + b"\n")
            position += 1
        self.next = position

    def close(self) -> None:
        assert not self.waiting, f"run-log lines never written: {sorted(self.waiting)[:5]}"


def read_run_log(path: Path) -> list[dict[str, Any]]:
    """The records of a `commands.jsonl` written by a run, in plan order."""
    with path.open("rb") as handle:
        return [orjson.loads(line) for line in handle if line.strip()]


def refs_from_log(records: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Server id -> plan ref, rebuilt from a run log (for the state digest)."""
    out: dict[str, str] = {}
    for record in records:
        produced = record.get("producedId")
        ref = record.get("produces")
        if produced and ref:
            out[str(produced)] = str(ref)
    return out
