"""Crash: kill -9 the mock at random points of a twin run, restart it, run again.

The twin's steady-state plan is sent by the twin's own runner and client
(twin.runner.ScenarioRunner over turingcore_client.TuringCoreClient, the code behind
`twin run`). At each of >= 10 random points (a number of completed commands,
then a random few milliseconds, so the kill lands wherever the server is: in a
group commit, between the commit and the reply, or idle) the server gets
SIGKILL; the client's retries run out, the server restarts on the same SQLite
file and port, and the same plan (same idempotency keys and commandIds) is sent
again from the start, replaying what was applied. When a run gets through with
no kill:

- the state digest equals that of an uninterrupted `twin run` on a fresh store;
- the chain recomputes (sequences 1..N, prevHash links, RFC 8785 hashes);
- every 202 the client saw before a kill is there: its events exist with
  causationId == its commandId, and the final run's replay of its key returned
  the same reply;
- every command was applied exactly once: the events caused by each accepted
  command are exactly the eventIds of its reply, and there are no others;
- the tenant sums to zero and its chain head is the last event.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from tests.faults.conftest import (
    PLATFORM_KEY,
    TEST_SIZE,
    Http,
    Servers,
    all_accounts,
    all_events,
    by_causation,
    chain_problems,
    load_plan,
    minor,
)
from tests.serving import MockServer
from turingcore_client.client import TuringCoreClient
from turingcore_client.errors import ServiceUnreachableError
from turingcore_client.replies import CommandReply
from twin.digest import state_digest
from twin.runner import ScenarioRunner

KILLS = 10
ATTEMPTS_MAX = 200  # bounded: a kill or a clean finish each time


def run_crash(
    server: MockServer,
    *,
    customers: int,
    days: int,
    seed: int,
    kills: int,
    rng_seed: int,
    reference: str | None,
    concurrency: int = 4,
    log: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """Run the plan through `kills` kill -9s and restarts of `server`; check; report.

    `server` is not started yet; it is left running (the caller stops it).
    Returns the measurements and `failures` (empty when every check passed).
    """
    plan = load_plan(customers, days, seed)
    total = len(plan)
    rng = random.Random(rng_seed)
    # One kill inside the bootstrap phase, the others anywhere in the plan.
    first = rng.randint(1, len(plan.bootstrap))
    rest = rng.sample([n for n in range(1, total) if n != first], kills - 1)
    targets = sorted([first, *rest])
    jitters = [rng.uniform(0.0, 0.006) for _ in range(kills)]

    started = time.perf_counter()
    server.start()
    lock = threading.Lock()
    completed: set[str] = set()  # keys that got a reply, over every attempt
    acked_before_kill: list[tuple[str, dict[str, Any]]] = []
    first_reply_replayed: dict[str, bool] = {}  # key -> was its first 202 ever a replay
    kill_points: list[dict[str, Any]] = []
    final: dict[str, CommandReply] = {}
    attempts = 0
    requests = 0
    refs: dict[str, str] = {}
    while True:
        attempts += 1
        if attempts > ATTEMPTS_MAX:
            raise AssertionError(f"no clean run after {ATTEMPTS_MAX} attempts")
        index = len(kill_points)
        target = targets[index] if index < kills else None
        kill_now = threading.Event()
        stop = threading.Event()
        killed = threading.Event()
        replies: dict[str, CommandReply] = {}

        def on_command(
            command: Any,
            reply: CommandReply | None,
            outcome: str,
            replies: dict[str, CommandReply] = replies,
            target: int | None = target,
            kill_now: threading.Event = kill_now,
        ) -> None:
            with lock:
                if reply is not None:
                    replies[command.idempotency_key] = reply
                    if reply.status == 202:
                        first_reply_replayed.setdefault(command.idempotency_key, reply.replayed)
                completed.add(command.idempotency_key)
                if target is not None and len(completed) >= target:
                    kill_now.set()

        def killer(
            kill_now: threading.Event = kill_now,
            stop: threading.Event = stop,
            killed: threading.Event = killed,
            jitter: float = jitters[index] if target is not None else 0.0,
        ) -> None:
            while not stop.is_set():
                if kill_now.wait(0.005):
                    time.sleep(jitter)
                    server.kill()
                    killed.set()
                    return

        thread = threading.Thread(target=killer, name="crash-killer", daemon=True)
        thread.start()
        client = TuringCoreClient(server.url, PLATFORM_KEY, timeout=10.0, retries=3)
        runner = ScenarioRunner(
            client,
            plan,
            concurrency=concurrency,
            console=Console(quiet=True),
            show_progress=False,
            on_command=on_command,
        )
        try:
            runner.run()
            finished = True
        except ServiceUnreachableError:
            finished = False
        finally:
            stop.set()
            thread.join(timeout=30)
            client.close()
        with lock:
            requests += len(replies)
            if killed.is_set():
                acks = [(k, r.body) for k, r in replies.items() if r.status == 202]
                acked_before_kill.extend(acks)
                kill_points.append(
                    {"after_completed": target, "acks_in_attempt": len(acks), "finished": finished}
                )
                log(f"kill {len(kill_points)} at {target}/{total}, {len(acks)} 202s seen")
        if killed.is_set():
            server.start()
            continue
        if not finished:
            raise AssertionError(f"attempt {attempts} failed without a kill:\n{server.output()}")
        final = replies
        refs = runner.refs.by_server_id()
        break
    run_wall = time.perf_counter() - started

    # ---- checks, through the API only
    failures: list[str] = []
    http_ = Http(server.url)
    tenant = plan.tenant_code
    events = all_events(http_, tenant)
    accounts = all_accounts(http_, tenant)
    head = http_.get(f"/tenants/{tenant}")
    http_.close()
    failures += [f"chain: {p}" for p in chain_problems(events)]
    if head["lastSequence"] != len(events) or (events and head["lastHash"] != events[-1]["hash"]):
        failures.append(f"tenant head {head['lastSequence']} is not the last of {len(events)}")
    if len(final) != total:
        failures.append(f"the final run got {len(final)} replies for {total} commands")
    unexpected = sorted(k for k, r in final.items() if r.status >= 500 or r.status in (401, 403))
    failures += [f"final reply {k}: {final[k].status}" for k in unexpected[:5]]

    index_by_id = {e["eventId"]: e for e in events}
    caused = by_causation(events)
    missing = 0
    for key, body in acked_before_kill:
        ids = body.get("eventIds", [])
        present = all(
            i in index_by_id and index_by_id[i]["causationId"] == body["commandId"] for i in ids
        )
        replay = final.get(key)
        if not present or not ids or replay is None or replay.body != body:
            missing += 1
            if missing <= 5:
                failures.append(
                    f"acknowledged before a kill but not intact after: {key} "
                    f"(events present: {present}, replay equal: "
                    f"{replay is not None and replay.body == body})"
                )
    accepted_ids: set[str] = set()
    applied_events = 0
    for key, reply in final.items():
        if reply.status != 202:
            continue
        command_id = reply.body["commandId"]
        accepted_ids.add(command_id)
        applied_events += len(reply.event_ids)
        got = [e["eventId"] for e in caused.get(command_id, [])]
        if got != reply.event_ids:
            failures.append(f"{key}: events {len(got)} vs the reply's {len(reply.event_ids)}")
    orphans = set(caused) - accepted_ids
    if orphans or applied_events != len(events):
        failures.append(
            f"{len(events)} events, {applied_events} from accepted commands; "
            f"{len(orphans)} causation ids of no accepted command"
        )
    if sum(minor(a["balance"]) for a in accounts) != 0:
        failures.append("the tenant's balances do not sum to zero")
    digest, unmapped = state_digest(accounts, refs)
    if reference is not None and digest != reference:
        failures.append(f"state digest {digest} != uninterrupted run's {reference}")
    if unmapped:
        failures.append(f"{unmapped} accounts without a plan ref")
    return {
        "customers": customers,
        "days": days,
        "seed": seed,
        "commands": total,
        "kills": len(kill_points),
        "attempts": attempts,
        "server_starts": server.starts,
        "requests_answered": requests,
        "acknowledged_before_kills": len(acked_before_kill),
        "acknowledged_checked": len(acked_before_kill) - missing,
        # Applied, but the kill took the reply: the first 202 the client ever saw was a replay.
        "committed_reply_lost": sum(first_reply_replayed.values()),
        "kill_points": kill_points,
        "events": len(events),
        "state_digest": digest,
        "reference_digest": reference,
        "wall_s": round(run_wall, 2),
        "failures": failures,
    }


def test_kill_9_at_random_points_loses_nothing(
    servers: Servers, tmp_path: Path, test_size_digest: str
) -> None:
    report = run_crash(
        servers.new(tmp_path / "crash.db"),
        **TEST_SIZE,
        kills=KILLS,
        rng_seed=20250115,
        reference=test_size_digest,
        log=print,
    )
    print({k: v for k, v in report.items() if k != "kill_points"})
    assert report["kills"] >= KILLS
    assert report["acknowledged_before_kills"] > 0
    assert report["failures"] == [], "\n".join(report["failures"])
