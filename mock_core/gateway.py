"""The shell around the functional core: a batch of parsed commands, one transaction.

    idempotency lookup -> load the state the command reads -> decide ->
    append + project -> record the reply; then commit

There is one path: a single command is a batch of one. A refused command is
refused before it writes anything, so a rejection leaves no trace (and its key
may be retried) and needs no savepoint: later commands of the batch see exactly
the earlier accepted ones. Under group commit several commands share one
transaction and one durable commit; a failure after a write rolls the whole batch
back and applies each command alone.
"""

from __future__ import annotations

import asyncio
import collections
import os
import time
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson

from mock_core.core.commands import Command
from mock_core.core.decide import Context, decide
from mock_core.core.state import Reads
from mock_core.errors import InvariantViolation, MockCoreError, RequestError
from mock_core.store.eventstore import Store, WriteTransaction, WriteTx, payload_hash


@dataclass(frozen=True, slots=True)
class Outcome:
    """The reply to send: the stored bytes of the 202, and whether it is a replay."""

    status: int
    body: bytes
    replayed: bool
    event_types: tuple[str, ...] = ()


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_uuid() -> str:
    """A new id: a version 7 UUID (RFC 9562), 48 bits of Unix milliseconds, then random.

    Time-ordered ids land at the end of the indexes that hold them (customers,
    accounts, the events' entity index) instead of at random pages, so a growing
    store's inserts touch the same few pages and the commits stay small. The 74
    random bits keep them unguessable and unique.
    """
    h = f"{time.time_ns() // 1_000_000:012x}{os.urandom(10).hex()}"
    return f"{h[:8]}-{h[8:12]}-7{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


# The variant bits 10xx in the first digit of the fourth group (RFC 9562).
_VARIANT = {d: "89ab"[int(d, 16) & 3] for d in "0123456789abcdef"}


def format_instant(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds, e.g. 2025-01-14T22:00:00.000000Z."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


@dataclass(slots=True)
class PreparedBatch:
    """A batch applied in an open transaction (`txn`), or, if `txn` is None, already final;
    `ahead`: applied ahead of its reads (`Gateway.prepare_ahead`)."""

    txn: WriteTransaction | None
    results: list[Outcome | Exception]
    ahead: bool = False
    again: bool = False  # applied ahead, then again the usual way (`Gateway.commit_batch`)


class Gateway:
    """Applies commands to the store, one transaction each."""

    def __init__(
        self,
        store: Store,
        clock: Callable[[], datetime] = utc_now,
        new_id: Callable[[], str] = new_uuid,
    ) -> None:
        self.store = store
        self.clock = clock
        self.new_id = new_id

    def execute(self, command: Command, correlation_id: str | None) -> Outcome:
        """Apply `command` (or replay its first reply): a batch of one.

        Raises the error that refuses it; a refusal writes nothing.
        """
        result = self.execute_batch([(command, correlation_id)])[0]
        if isinstance(result, Exception):
            raise result
        return result

    def execute_batch(
        self, batch: Sequence[tuple[Command, str | None]]
    ) -> list[Outcome | Exception]:
        """Apply several commands, in order, in ONE transaction and one durable commit.

        Each result is the command's Outcome, or the error that refused it. See
        `prepare_batch` and `commit_batch`; this commits on the calling thread.
        """
        return self.commit_batch(self.prepare_batch(batch), batch)

    def prepare_batch(
        self, batch: Sequence[tuple[Command, str | None]], keep: bool = False
    ) -> PreparedBatch:
        """Apply the commands in one open transaction; the caller commits it (`commit_batch`).

        A refusal is decided before its command writes anything, so it leaves no
        trace in the shared transaction, exactly as if the command had had a
        transaction of its own. Should anything fail after a command started
        writing (a database error), the whole transaction rolls back and, in a
        batch of several, each command is applied again in a transaction of its
        own (the results are then final: `txn` is None).

        Commands of several tenants share the transaction. They are applied tenant
        by tenant, each tenant's in the order they came: commands of different
        tenants never read each other's rows, so only that order is observable,
        and a tenant's rows are written in one go (on PostgreSQL a tenant switch
        issues the coalesced writes and moves the row-level-security scope).

        `keep`: the transaction's memory is kept for the batches applied ahead after it
        (`prepare_ahead`); only the group commit that holds `Store.ahead` passes it.
        """
        assert batch, "an empty batch"
        results: list[Outcome | Exception | None] = [None] * len(batch)
        single = len(batch) == 1
        txn = self.store.begin(
            (batch[0][0].tenant_id,) if single else {command.tenant_id for command, _ in batch},
            keep,
        )
        try:
            order = (
                range(1)
                if single
                else sorted(range(len(batch)), key=lambda i: batch[i][0].tenant_id)
            )
            if not single or txn.batch.reads_ahead_in_one_trip:
                txn.batch.look_ahead(_ahead(batch))
            for index in order:
                command, correlation_id = batch[index]
                tx = txn.batch.tx(command.tenant_id)
                try:
                    results[index] = self._apply(tx, command, correlation_id)
                except MockCoreError as exc:
                    if tx.wrote:
                        raise
                    results[index] = exc
            if not single:  # a batch of one commits next, on this thread: its commit flushes
                txn.flush()
        except Exception as exc:
            txn.rollback()
            return PreparedBatch(None, self._after_failure(batch, exc))
        except BaseException:
            txn.rollback()
            raise
        return PreparedBatch(txn, [result for result in results if result is not None])

    def prepare_ahead(self, batch: Sequence[tuple[Command, str | None]]) -> PreparedBatch | None:
        """Apply a batch of one tenant's commands from the store's kept memory, reading
        nothing (`apply_ahead`), and make its writes ready for its commit (`finish_ahead`);
        None if it cannot (it is then prepared the usual way: `prepare_batch`)."""
        prepared = self.apply_ahead(batch, None)
        if prepared is None or not self.finish_ahead(prepared):
            return None
        return prepared

    def apply_ahead(
        self, batch: Sequence[tuple[Command, str | None]], into: PreparedBatch | None
    ) -> PreparedBatch | None:
        """Apply one tenant's commands from the store's kept memory, reading nothing,
        maybe while the commit before them is still in flight: in a transaction of their
        own, or after the commands already applied `into` that one (returned). None if
        the memory does not hold all they read, or the store keeps none (SQLite): the
        commands are then prepared the usual way once the commits before are through.
        `into` is then as it was, unless a command found a read to make after all: then
        it is rolled back too (its `txn` is None), and its commands go the usual way.

        Its commit (`commit_batch`, after the one in flight) checks, under the tenant's
        lock, that what it assumed holds (`postgres.AheadTransaction`); if not, nothing
        of it is written and it is applied again the usual way.
        """
        tenant_id = batch[0][0].tenant_id
        if any(command.tenant_id != tenant_id for command, _ in batch):
            return None
        reads = [command.payload.reads() for command, _ in batch]
        if into is None:
            txn = self.store.begin_ahead(tenant_id, reads)
            prepared = None if txn is None else PreparedBatch(txn, [], ahead=True)
        else:
            txn = into.txn
            prepared = into if txn is not None and txn.takes(tenant_id, reads) else None
        if prepared is None or txn is None:
            return None
        try:
            txn.batch.assume_new(tenant_id, [command.dedup_key for command, _ in batch])
            for command, correlation_id in batch:
                tx = txn.batch.tx(tenant_id)
                try:
                    prepared.results.append(self._apply(tx, command, correlation_id))
                except MockCoreError as exc:
                    if tx.wrote:
                        raise
                    prepared.results.append(exc)
        except BaseException as exc:
            txn.rollback()  # (the memory it moved is dropped)
            prepared.txn = None
            if isinstance(exc, Exception):
                return None  # a read it needs after all (NeedsRead), or a failure: as usual
            raise
        return prepared

    def finish_ahead(self, prepared: PreparedBatch) -> bool:
        """Make the writes of commands applied ahead ready for their commit (the coalesced
        writes, and the kept totals' arithmetic, from the memory as they left it); False,
        rolled back, if that needs a read after all."""
        assert prepared.txn is not None
        try:
            prepared.txn.flush()
        except BaseException as exc:
            prepared.txn.rollback()
            prepared.txn = None
            if isinstance(exc, Exception):
                return False
            raise
        return True

    def commit_batch(
        self, prepared: PreparedBatch, batch: Sequence[tuple[Command, str | None]]
    ) -> list[Outcome | Exception]:
        """Commit a prepared batch and return its results.

        If the commit fails, nothing of the batch is written: a batch applied ahead is
        then applied again the usual way (what it assumed did not hold); in a batch of
        several, each command is applied in a transaction of its own.
        """
        if prepared.txn is None:
            return prepared.results
        try:
            prepared.txn.commit()
        except Exception as exc:
            if prepared.ahead:
                prepared.again = True
                return self.execute_batch(batch)
            return self._after_failure(batch, exc)
        return prepared.results

    def _after_failure(
        self, batch: Sequence[tuple[Command, str | None]], exc: Exception
    ) -> list[Outcome | Exception]:
        """The results of a batch whose transaction failed and was rolled back."""
        if len(batch) == 1:
            return [exc]
        # Nothing of the batch is written: give each command its own transaction.
        return [self.execute_batch([item])[0] for item in batch]

    def _apply(self, tx: WriteTx, command: Command, correlation_id: str | None) -> Outcome:
        # The validated payload, not the raw one: 3000, 3000.0 and 3000.00 are one amount,
        # and a replay that writes a number differently is still the same command.
        command_type = command.command_type
        digest = payload_hash([command_type, command.payload.model_dump(mode="json")])
        key = command.dedup_key
        record = tx.find_command(key)
        if record is not None:
            if record.command_type == command_type and record.payload_hash == digest:
                return Outcome(202, record.reply, True)
            raise InvariantViolation(
                "IDEMPOTENCY_KEY_REUSED",
                "this idempotency key was used for another command",
                {"idempotencyKey": key, "firstCommandId": record.command_id},
            )
        state = tx.load(command.payload.reads())
        if state.tenant is None and command_type != "CreateTenant":
            raise RequestError("NOT_FOUND", f"tenant {command.tenant_id} does not exist", {})
        now = self.clock()
        decision = decide(state, command, Context(now, self.new_id))
        accepted_at = format_instant(now)
        event_ids = [self.new_id() for _ in decision.events]
        tx.append(
            decision.events,
            causation_id=command.command_id,
            correlation_id=correlation_id or command.command_id,
            occurred_at=accepted_at,
            event_ids=event_ids,
        )
        reply = orjson.dumps(
            {
                "commandId": command.command_id,
                "status": "ACCEPTED",
                "correlationId": correlation_id or command.command_id,
                "acceptedAt": accepted_at,
                # The published client reads the new entity's id from the top of the
                # reply (reply["customerId"]); `result` holds the same ids (extension).
                **decision.result,
                "result": decision.result,
                "eventIds": event_ids,
            }
        )
        tx.record_command(key, command, digest, reply, accepted_at)
        return Outcome(202, reply, False, tuple(e.event_type for e in decision.events))


def _ahead(batch: Sequence[tuple[Command, str | None]]) -> dict[str, tuple[list[str], list[Reads]]]:
    """What a batch's commands will read, by tenant (`WriteBatch.look_ahead`)."""
    ahead: dict[str, tuple[list[str], list[Reads]]] = {}
    for command, _ in batch:
        keys, reads = ahead.setdefault(command.tenant_id, ([], []))
        keys.append(command.dedup_key)
        reads.append(command.payload.reads())
    return ahead


class GroupCommitter:
    """Shares one durable commit among the commands that arrive together.

    A request queues its command and waits. The first one in starts a drain; by
    the time it runs, every request the loop has read meanwhile has queued too,
    and the drain applies them all in one transaction with one fsync
    (`Gateway.prepare_batch`, then `commit_batch`), then answers each. No reply is sent before the
    commit that holds its command is on disk.

    The batch is applied on the event loop, and its commit (the fsync) runs on a
    writer thread: the loop goes on reading and validating the next requests
    while the disk syncs (the driver lets go of the GIL for that), and they make
    the next batch. Only the commit moves: Python work on two threads would
    fight over the GIL (measured: slower). A batch of one (a sequential client)
    commits inline, since there is nothing to overlap.

    On PostgreSQL the commands that arrive while a batch commits are applied at once,
    into the next batch, if the store's kept memory holds all they read
    (`Gateway.apply_ahead`): the loop stays busy while the server works. That batch's
    commit checks under the tenant's lock that what it assumed holds, else applies it
    again the usual way. The writer thread holds up to IN_FLIGHT commits (one running,
    the next queued behind it); they run one at a time, in the order their commands
    were read. A command that cannot be applied ahead waits until they are through.
    """

    def __init__(
        self,
        gateway: Gateway,
        batch_max: int = 256,
        on_batch: Callable[[int], None] | None = None,
        on_ahead: Callable[[bool], None] | None = None,
    ) -> None:
        self.gateway = gateway
        self.batch_max = batch_max
        self.on_batch = on_batch  # told each batch's number of tenants (the metrics)
        self.on_ahead = on_ahead  # told whether each batch applied ahead committed so
        self._writer: ThreadPoolExecutor | None = None  # started with the first batch
        # One queue per event loop: a server has one loop, but in-process test
        # clients may each run their own, and a future must be resolved on its loop.
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopQueue] = (
            weakref.WeakKeyDictionary()
        )

    def close(self) -> None:
        """Stop the writer thread (after the batch it is running, if any)."""
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.shutdown(wait=True)

    def _writer_thread(self) -> ThreadPoolExecutor:
        if self._writer is None:
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mock-core-writer")
        return self._writer

    async def submit(self, command: Command, correlation_id: str | None) -> Outcome:
        loop = asyncio.get_running_loop()
        queue = self._queues.get(loop)
        if queue is None:
            queue = self._queues[loop] = _LoopQueue()
        future: asyncio.Future[Outcome] = loop.create_future()
        queue.items.append((command, correlation_id, future))
        if not queue.draining:
            queue.draining = True
            queue.drain = loop.create_task(self._drain(loop, queue))
        elif queue.wake is not None and not queue.wake.done():
            queue.wake.set_result(None)
        return await future

    async def _drain(self, loop: asyncio.AbstractEventLoop, queue: _LoopQueue) -> None:
        store = self.gateway.store
        # One drain at a time applies batches ahead (PostgreSQL): the kept memory is its.
        ahead = store.applies_ahead and store.ahead.acquire(blocking=False)
        # The commits handed to the writer thread, in order (each done once its commands
        # are answered), and the batch applied ahead meanwhile, handed over next.
        flights: collections.deque[asyncio.Future[None]] = collections.deque()
        building: _Building | None = None
        blocked = False  # a command could not be applied ahead: it waits for the commits
        try:
            while queue.items or flights or building is not None:
                while flights and flights[0].done():
                    flights.popleft()
                if not flights and building is None:
                    blocked = False
                    if queue.items:
                        flight = self._next(loop, queue, ahead)
                        if flight is not None:
                            flights.append(flight)
                elif ahead and not blocked and queue.items and _room(building, self.batch_max):
                    building, blocked = self._apply_ahead(queue, building)
                elif building is not None and len(flights) < IN_FLIGHT:
                    flight = self._launch(loop, queue, building)
                    building = None
                    if flight is not None:
                        flights.append(flight)
                else:
                    listen = ahead and not blocked and _room(building, self.batch_max)
                    await _until(loop, queue, flights[0], listen)
        finally:
            if building is not None:  # (the drain was cancelled: its commands never commit)
                if building.prepared.txn is not None:
                    building.prepared.txn.rollback()
                _answer(
                    building.batch, [RuntimeError("the group commit stopped")] * len(building.batch)
                )
            if ahead:
                store.ahead.release()
            queue.draining = False

    def _next(
        self, loop: asyncio.AbstractEventLoop, queue: _LoopQueue, ahead: bool
    ) -> asyncio.Future[None] | None:
        """With no commit in flight: apply the next batch (ahead if it can be, else the
        usual way) and commit it (a batch of one the usual way: inline), or launch its
        commit on the writer thread (returned)."""
        batch, queue.items = queue.items[: self.batch_max], queue.items[self.batch_max :]
        commands = [(command, correlation_id) for command, correlation_id, _ in batch]
        if self.on_batch is not None:
            self.on_batch(1 if len(commands) == 1 else len({c.tenant_id for c, _ in commands}))
        try:
            prepared = self.gateway.prepare_ahead(commands) if ahead else None
            if prepared is None:
                prepared = self.gateway.prepare_batch(commands, keep=ahead)
            if prepared.txn is None:
                _answer(batch, prepared.results)
            elif len(commands) == 1 and not prepared.ahead:
                _answer(batch, self.gateway.commit_batch(prepared, commands))
            else:
                return self._commit(loop, prepared, commands, batch)
        except Exception as exc:
            _answer(batch, [exc] * len(batch))
        return None

    def _apply_ahead(
        self, queue: _LoopQueue, building: _Building | None
    ) -> tuple[_Building | None, bool]:
        """Apply the commands queued meanwhile ahead, into `building`; (the batch, and
        whether some could not be: they go back to the front of the queue, with the
        batch's own commands if it was rolled back)."""
        room = self.batch_max - (len(building.batch) if building is not None else 0)
        batch, queue.items = queue.items[:room], queue.items[room:]
        commands = [(command, correlation_id) for command, correlation_id, _ in batch]
        into = building.prepared if building is not None else None
        prepared = self.gateway.apply_ahead(commands, into)
        if prepared is not None:
            if building is None:
                return _Building(prepared, commands, batch), False
            building.commands += commands
            building.batch += batch
            return building, False
        if building is not None and building.prepared.txn is None:  # rolled back
            batch, building = building.batch + batch, None
        queue.items = batch + queue.items
        return building, True

    def _launch(
        self, loop: asyncio.AbstractEventLoop, queue: _LoopQueue, building: _Building
    ) -> asyncio.Future[None] | None:
        """Launch the commit of the batch applied ahead (None, its commands back to the
        front of the queue, if its writes need a read after all)."""
        if self.on_batch is not None:
            self.on_batch(1)
        if not self.gateway.finish_ahead(building.prepared):
            queue.items = building.batch + queue.items
            return None
        try:
            return self._commit(loop, building.prepared, building.commands, building.batch)
        except Exception as exc:  # (the writer thread is gone: the store is closing)
            if building.prepared.txn is not None:
                building.prepared.txn.rollback()
            _answer(building.batch, [exc] * len(building.batch))
            return None

    def _commit(
        self,
        loop: asyncio.AbstractEventLoop,
        prepared: PreparedBatch,
        commands: list[tuple[Command, str | None]],
        batch: list[tuple[Command, str | None, asyncio.Future[Outcome]]],
    ) -> asyncio.Future[None]:
        """Commit `prepared` on the writer thread; the future is done once its commands are
        answered (it never fails)."""
        done: asyncio.Future[None] = loop.create_future()

        def answer(commit: asyncio.Future[list[Outcome | Exception]]) -> None:
            exc = commit.exception()
            failed = exc if isinstance(exc, Exception) or exc is None else RuntimeError(exc)
            _answer(batch, commit.result() if failed is None else [failed] * len(batch))
            if prepared.ahead and self.on_ahead is not None:
                self.on_ahead(not prepared.again)
            if not done.done():  # (cancelled with its drain)
                done.set_result(None)

        loop.run_in_executor(
            self._writer_thread(), self.gateway.commit_batch, prepared, commands
        ).add_done_callback(answer)
        return done


# Commits handed to the writer thread at once, at most: one running, and the next queued
# behind it, so that the server has it as soon as the last one is through, while the loop
# applies the one after (`GroupCommitter._drain`).
IN_FLIGHT = 2


@dataclass(slots=True)
class _Building:
    """A batch applied ahead while a commit is in flight (`GroupCommitter._apply_ahead`)."""

    prepared: PreparedBatch
    commands: list[tuple[Command, str | None]]
    batch: list[tuple[Command, str | None, asyncio.Future[Outcome]]]


def _room(building: _Building | None, batch_max: int) -> bool:
    return building is None or len(building.batch) < batch_max


async def _until(
    loop: asyncio.AbstractEventLoop,
    queue: _LoopQueue,
    flight: asyncio.Future[None],
    listen: bool,
) -> None:
    """Wait until the commit in flight is answered or, if `listen`, a command is queued."""
    if not listen:
        await flight
        return
    wake = queue.wake = loop.create_future()

    def landed(_: asyncio.Future[None]) -> None:
        if not wake.done():
            wake.set_result(None)

    flight.add_done_callback(landed)
    try:
        await wake
    finally:
        queue.wake = None


def _answer(
    batch: list[tuple[Command, str | None, asyncio.Future[Outcome]]],
    results: Sequence[Outcome | Exception],
) -> None:
    """Resolve each command's future with its result (an error: raised to its request)."""
    for (_, _, future), result in zip(batch, results, strict=True):
        if future.done():  # the client went away; its command is applied all the same
            continue
        if isinstance(result, Exception):
            future.set_exception(result)
        else:
            future.set_result(result)


@dataclass(slots=True)
class _LoopQueue:
    items: list[tuple[Command, str | None, asyncio.Future[Outcome]]] = field(default_factory=list)
    draining: bool = False
    drain: asyncio.Task[None] | None = None  # held so the running drain is not collected
    # Set when a command is queued, while the drain waits on a commit in flight (`_until`).
    wake: asyncio.Future[None] | None = None
