"""The shell around the functional core: one command, one transaction.

    validate -> idempotency lookup -> load state -> decide -> append + project
    -> record the reply -> commit

A refused command raises before anything is written and the transaction rolls
back, so a rejection leaves no trace (and its key may be retried). Under group
commit (SQLite) several commands share one transaction, each in a savepoint of
its own that a refusal rolls back to: the same guarantee, one fsync.
"""

from __future__ import annotations

import asyncio
import uuid
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import ValidationError

from mock_core.core.commands import PAYLOAD_MODELS, Command, Envelope
from mock_core.core.decide import Context, decide
from mock_core.errors import InvariantViolation, MockCoreError, RequestError
from mock_core.store.eventstore import Store, WriteTx, payload_hash


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
    return str(uuid.uuid4())


def format_instant(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds, e.g. 2025-01-14T22:00:00.000000Z."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def validation_details(exc: ValidationError, prefix: tuple[str | int, ...] = ()) -> dict[str, Any]:
    """The `details` of a 400: where each problem is and what was expected."""
    return {
        "errors": [
            {"loc": [*prefix, *err["loc"]], "msg": err["msg"], "type": err["type"]}
            for err in exc.errors(include_url=False, include_context=False, include_input=False)
        ]
    }


def parse_command(path_tenant: str, body: Any) -> Command:
    """Validate a decoded request body against the envelope and its payload model."""
    if not isinstance(body, dict):
        raise RequestError("VALIDATION_ERROR", "the body must be a JSON object", {"errors": []})
    try:
        envelope = Envelope.model_validate(body)
    except ValidationError as exc:
        raise RequestError(
            "VALIDATION_ERROR", "the command envelope is invalid", validation_details(exc)
        ) from None
    try:
        payload = PAYLOAD_MODELS[envelope.commandType].model_validate(envelope.payload)
    except ValidationError as exc:
        raise RequestError(
            "VALIDATION_ERROR",
            f"the {envelope.commandType} payload is invalid",
            validation_details(exc, ("payload",)),
        ) from None
    if envelope.tenantId != path_tenant:
        raise RequestError(
            "TENANT_MISMATCH",
            "the envelope's tenantId differs from the path's",
            {"pathTenantId": path_tenant, "tenantId": envelope.tenantId},
        )
    if envelope.commandType == "CreateTenant" and payload.tenantCode != path_tenant:  # type: ignore[attr-defined]
        raise RequestError(
            "TENANT_MISMATCH",
            "CreateTenant's tenantCode must equal the path's tenantId",
            {"pathTenantId": path_tenant, "tenantCode": payload.tenantCode},  # type: ignore[attr-defined]
        )
    return Command(
        command_id=envelope.commandId,
        tenant_id=envelope.tenantId,
        command_type=envelope.commandType,
        actor=envelope.actor,
        timestamp=envelope.timestamp,
        idempotency_key=envelope.idempotencyKey,
        payload=payload,
    )


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
        """Apply `command` (or replay its first reply) in a transaction of its own.

        Raises the error that refuses it; a refusal rolls the transaction back.
        """
        with self.store.write(command.tenant_id) as tx:
            return self._apply(tx, command, correlation_id)

    def execute_batch(
        self, batch: Sequence[tuple[Command, str | None]]
    ) -> list[Outcome | MockCoreError]:
        """Apply several commands, in order, in ONE transaction and one durable commit.

        Each command runs inside a savepoint: a refused one is rolled back to it and
        leaves no trace, exactly as if it had had a transaction of its own, and later
        commands of the batch see the earlier ones. SQLite only (group commit).
        """
        if len(batch) == 1:  # a batch of one needs no savepoint: its transaction is its own
            command, correlation_id = batch[0]
            try:
                return [self.execute(command, correlation_id)]
            except MockCoreError as exc:
                return [exc]
        results: list[Outcome | MockCoreError] = []
        with self.store.write_batch() as conn:
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            for command, correlation_id in batch:
                cursor.execute("SAVEPOINT command")
                try:
                    tx = self.store.tx(conn, command.tenant_id)
                    results.append(self._apply(tx, command, correlation_id))
                except MockCoreError as exc:
                    cursor.execute("ROLLBACK TO SAVEPOINT command")
                    results.append(exc)
                finally:
                    cursor.execute("RELEASE SAVEPOINT command")
        return results

    def _apply(self, tx: WriteTx, command: Command, correlation_id: str | None) -> Outcome:
        # The validated payload, not the raw one: 3000, 3000.0 and 3000.00 are one amount,
        # and a replay that writes a number differently is still the same command.
        digest = payload_hash([command.command_type, command.payload.model_dump(mode="json")])
        key = command.dedup_key
        record = tx.find_command(key)
        if record is not None:
            if record.command_type == command.command_type and record.payload_hash == digest:
                return Outcome(202, record.reply, True)
            raise InvariantViolation(
                "IDEMPOTENCY_KEY_REUSED",
                "this idempotency key was used for another command",
                {"idempotencyKey": key, "firstCommandId": record.command_id},
            )
        state = tx.load_state(command)
        if state.tenant is None and command.command_type != "CreateTenant":
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
                "result": decision.result,
                "eventIds": event_ids,
            }
        )
        tx.record_command(key, command, digest, reply, accepted_at)
        return Outcome(202, reply, False, tuple(e.event_type for e in decision.events))


class GroupCommitter:
    """Shares one durable commit among the commands that arrive together (SQLite).

    A request queues its command and waits. The first one in schedules a flush on
    the event loop; by the time it runs, every request the loop has read meanwhile
    has queued too, and the flush applies them all in one transaction with one
    fsync (`Gateway.execute_batch`), then answers each. No reply is sent before the
    commit that holds its command is on disk. A sequential client gets batches of
    one, which is the plain path.
    """

    def __init__(self, gateway: Gateway, batch_max: int = 256) -> None:
        self.gateway = gateway
        self.batch_max = batch_max
        # One queue per event loop: a server has one loop, but in-process test
        # clients may each run their own, and a future must be resolved on its loop.
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopQueue] = (
            weakref.WeakKeyDictionary()
        )

    async def submit(self, command: Command, correlation_id: str | None) -> Outcome:
        loop = asyncio.get_running_loop()
        queue = self._queues.get(loop)
        if queue is None:
            queue = self._queues[loop] = _LoopQueue()
        future: asyncio.Future[Outcome] = loop.create_future()
        queue.items.append((command, correlation_id, future))
        if not queue.scheduled:
            queue.scheduled = True
            loop.call_soon(self._flush, loop, queue)
        return await future

    def _flush(self, loop: asyncio.AbstractEventLoop, queue: _LoopQueue) -> None:
        batch, queue.items = queue.items[: self.batch_max], queue.items[self.batch_max :]
        if queue.items:
            loop.call_soon(self._flush, loop, queue)
        else:
            queue.scheduled = False
        try:
            results = self.gateway.execute_batch([(c, corr) for c, corr, _ in batch])
        except Exception as exc:  # the commit itself failed: nothing of the batch is written
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, _, future), result in zip(batch, results, strict=True):
            if future.done():  # the client went away; its command is applied all the same
                continue
            if isinstance(result, MockCoreError):
                future.set_exception(result)
            else:
                future.set_result(result)


@dataclass(slots=True)
class _LoopQueue:
    items: list[tuple[Command, str | None, asyncio.Future[Outcome]]] = field(default_factory=list)
    scheduled: bool = False
