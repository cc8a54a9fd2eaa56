"""idempotency: replays with new commandIds get the same reply and write nothing."""

from __future__ import annotations

import uuid

from turingcore_client.envelope import now_rfc3339
from twin.invariants.inspection import Inspection
from twin.invariants.registry import check
from twin.invariants.results import SKIP, CheckResult

NEEDS_RUN_LOG = (
    "needs --run-log output/commands.jsonl: the replies to compare against and the "
    "idempotency keys are only in the run log (events do not carry the keys, so "
    "commands rebuilt from them would be new commands, not replays)"
)


@check("idempotency")
def idempotency(ctx: Inspection, result: CheckResult) -> None:
    """Replay a sample of the run's accepted commands (at least 50, or all) with
    new commandIds and timestamps: each must come back 202 with
    `Idempotent-Replayed: true` and the recorded reply unchanged; one PostEntry
    with a changed payload under the same key must be refused with
    IDEMPOTENCY_KEY_REUSED; the tenant's lastSequence must not move."""
    if ctx.run_log is None:
        result.status = SKIP
        result.note = NEEDS_RUN_LOG
        return
    if not ctx.run_log.replayable():
        result.status = SKIP
        result.note = "the run log holds no accepted command to replay"
        return
    sample = ctx.run_log.sample(max(50, ctx.idempotency_sample))
    before = ctx.last_sequence()
    for record in sample:
        command_type = str(record["type"])
        payload = record["payload"]
        tenant = payload["tenantCode"] if command_type == "CreateTenant" else ctx.tenant_id
        reply = ctx.client.send_command(
            command_type,
            payload,
            tenant_id=tenant,
            command_id=str(uuid.uuid4()),
            idempotency_key=str(record["key"]),
            timestamp=now_rfc3339(),
            raise_on_error=False,
        )
        result.count("replayed")
        if reply.status != 202:
            result.fail(
                f"{record['key']}: replay got {reply.status} {reply.invariant or reply.error}"
            )
            continue
        if not reply.replayed:
            result.fail(f"{record['key']}: replay lacks `Idempotent-Replayed: true`")
        if reply.body != record["reply"]:
            changed = sorted(
                k
                for k in set(reply.body) | set(record["reply"])
                if reply.body.get(k) != record["reply"].get(k)
            )
            result.fail(
                f"{record['key']}: replayed reply differs from the recorded one in {changed}"
            )
    entries = [r for r in sample if r.get("type") == "PostEntry"]
    if entries:
        record = entries[0]
        changed_payload = dict(record["payload"])
        changed_payload["narrative"] = str(changed_payload.get("narrative", "")) + " (changed)"
        reply = ctx.client.send_command(
            "PostEntry",
            changed_payload,
            tenant_id=ctx.tenant_id,
            idempotency_key=str(record["key"]),
            raise_on_error=False,
        )
        result.count("reused_key_probes")
        if reply.invariant != "IDEMPOTENCY_KEY_REUSED":
            result.fail(
                f"{record['key']} with another payload: {reply.status} "
                f"{reply.invariant or reply.error}, expected 422 IDEMPOTENCY_KEY_REUSED"
            )
    after = ctx.last_sequence()
    if after != before:
        result.fail(
            f"lastSequence moved from {before} to {after} during the replays", headline=True
        )
