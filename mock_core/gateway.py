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
    """A batch applied in an open transaction (`txn`), or, if `txn` is None, already final."""

    txn: WriteTransaction | None
    results: list[Outcome | Exception]


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

    def prepare_batch(self, batch: Sequence[tuple[Command, str | None]]) -> PreparedBatch:
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
        """
        assert batch, "an empty batch"
        results: list[Outcome | Exception | None] = [None] * len(batch)
        single = len(batch) == 1
        txn = self.store.begin(
            (batch[0][0].tenant_id,) if single else {command.tenant_id for command, _ in batch}
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

    def commit_batch(
        self, prepared: PreparedBatch, batch: Sequence[tuple[Command, str | None]]
    ) -> list[Outcome | Exception]:
        """Commit a prepared batch and return its results.

        If the commit fails, nothing of the batch is written: in a batch of
        several, each command is then applied in a transaction of its own.
        """
        if prepared.txn is None:
            return prepared.results
        try:
            prepared.txn.commit()
        except Exception as exc:
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
    commits inline, since there is nothing to overlap. One batch runs at a time.
    """

    def __init__(
        self,
        gateway: Gateway,
        batch_max: int = 256,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self.gateway = gateway
        self.batch_max = batch_max
        self.on_batch = on_batch  # told each batch's number of tenants (the metrics)
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
        return await future

    async def _drain(self, loop: asyncio.AbstractEventLoop, queue: _LoopQueue) -> None:
        try:
            while queue.items:
                batch, queue.items = queue.items[: self.batch_max], queue.items[self.batch_max :]
                commands = [(command, correlation_id) for command, correlation_id, _ in batch]
                if self.on_batch is not None:
                    self.on_batch(
                        1 if len(commands) == 1 else len({c.tenant_id for c, _ in commands})
                    )
                results: list[Outcome | Exception]
                try:
                    prepared = self.gateway.prepare_batch(commands)
                    results = prepared.results
                    if prepared.txn is not None and len(commands) == 1:
                        results = self.gateway.commit_batch(prepared, commands)
                    elif prepared.txn is not None:
                        results = await loop.run_in_executor(
                            self._writer_thread(), self.gateway.commit_batch, prepared, commands
                        )
                except Exception as exc:
                    results = [exc] * len(batch)
                for (_, _, future), result in zip(batch, results, strict=True):
                    if future.done():  # the client went away; its command is applied all the same
                        continue
                    if isinstance(result, Exception):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            queue.draining = False


@dataclass(slots=True)
class _LoopQueue:
    items: list[tuple[Command, str | None, asyncio.Future[Outcome]]] = field(default_factory=list)
    draining: bool = False
    drain: asyncio.Task[None] | None = None  # held so the running drain is not collected
