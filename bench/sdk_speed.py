"""Could the twin use the generated client? turingcore_sdk against the kit, one mock.

    python -m bench.sdk_speed [--n 500] [--concurrent 960] [--rounds 3]

One `mock-core serve` (SQLite in a temporary folder), one tenant, one member account.
Each round times, for each client, alternately (the order flips every round):
- `post_entry`: `--n` PostEntry commands one after another (member DEBIT, GL CREDIT);
- `get_account`: `--n` reads of the member account;
- `post_entry_32`: `--concurrent` PostEntry commands with 32 in flight, the twin's way:
  the kit's `run_lanes` (one thread, its multiplexer) against the SDK's async client
  (32 asyncio tasks on one `httpx.AsyncClient`, `asyncio_detailed`);
- `codec_only`: no I/O, `--n` x 10 times: a PostEntry built and encoded, and a 202
  parsed, the way each client does it (where the SDK's CPU goes: models or httpx).
For each: the wall time per operation and this process's CPU per operation (the
client's cost; the mock is another process). The figures are the medians of the
rounds, with the ratio SDK / kit. Results: bench/results/sdk-speed.{json,md}.

The kit (`turingcore_client.TuringCoreClient`) builds the envelope as a dict and
sends orjson bytes over its own HTTP/1.1 sockets; the SDK (`turingcore_sdk`) builds
attrs models, which `to_dict` and httpx encode, and parses every reply into models.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from bench import load
from bench.measure import write_results
from turingcore_client.client import TuringCoreClient
from turingcore_client.replies import CommandReply, CommandRequest, Lane, parse_body
from turingcore_client.serving import served_mock
from turingcore_sdk import AuthenticatedClient
from turingcore_sdk.api.accounts import get_account
from turingcore_sdk.api.commands import submit_command
from turingcore_sdk.models import (
    AccountSummary,
    Actor,
    ActorActorType,
    CommandAccepted,
    Direction,
    EntryLeg,
    PostEntryCommand,
    PostEntryPayload,
)

RESULTS = Path(__file__).resolve().parent / "results"
KEY = "bench-sdk-key"
TENANT = "SDK_BENCH"
GL = "GL_SALARY_CLEARING"
DAY = "2025-01-15"
TIMESTAMP = "2025-01-15T09:00:00+11:00"
AMOUNT = 12.34
IN_FLIGHT = 32
# The no-I/O rows run this many times more operations (each is microseconds).
CODEC_PER_OP = 10
CLIENTS = ("kit", "sdk")


# ------------------------------------------------------------------ the kit's side


def _kit_post(kit: TuringCoreClient, account: str, n: int) -> None:
    for _ in range(n):
        kit.post_entry(
            TENANT,
            booking_date=DAY,
            legs=[
                {"accountId": account, "direction": "DEBIT", "amount": AMOUNT},
                {"accountId": GL, "direction": "CREDIT", "amount": AMOUNT},
            ],
            narrative="bench",
        )


def _kit_read(kit: TuringCoreClient, account: str, n: int) -> None:
    for _ in range(n):
        assert kit.get_account(TENANT, account)["accountId"] == account


def _kit_post_concurrent(kit: TuringCoreClient, account: str, n: int) -> None:
    legs = [
        {"accountId": account, "direction": "DEBIT", "amount": AMOUNT},
        {"accountId": GL, "direction": "CREDIT", "amount": AMOUNT},
    ]
    payload = {"bookingDate": DAY, "valueDate": DAY, "currency": "AUD", "legs": legs,
               "narrative": "bench"}  # fmt: skip

    def lane(count: int) -> Lane:
        for _ in range(count):
            request: CommandRequest = kit.command_request("PostEntry", payload, tenant_id=TENANT)
            reply: CommandReply = yield request
            assert reply.status == 202, reply.body

    kit.run_lanes((lane(count) for count in _shares(n)), IN_FLIGHT)


# ------------------------------------------------------------------ the SDK's side

ACTOR = Actor(actor_type=ActorActorType.SYSTEM, actor_id="bench")


def _sdk_entry(account: str) -> PostEntryCommand:
    """A PostEntry as an SDK user writes it: models, a new command id each time."""
    day = datetime.date.fromisoformat(DAY)
    return PostEntryCommand(
        command_id=uuid.uuid4(),
        tenant_id=TENANT,
        command_type="PostEntry",
        actor=ACTOR,
        timestamp=datetime.datetime.fromisoformat(TIMESTAMP),
        payload=PostEntryPayload(
            booking_date=day,
            value_date=day,
            currency="AUD",
            legs=[
                EntryLeg(account_id=account, direction=Direction.DEBIT, amount=AMOUNT),
                EntryLeg(account_id=GL, direction=Direction.CREDIT, amount=AMOUNT),
            ],
            narrative="bench",
        ),
    )


def _sdk_post(sdk: AuthenticatedClient, account: str, n: int) -> None:
    for _ in range(n):
        reply = submit_command.sync_detailed(TENANT, client=sdk, body=_sdk_entry(account))
        assert isinstance(reply.parsed, CommandAccepted), reply.content


def _sdk_read(sdk: AuthenticatedClient, account: str, n: int) -> None:
    for _ in range(n):
        summary = get_account.sync(TENANT, account, client=sdk)
        assert isinstance(summary, AccountSummary) and summary.account_id == account


def _sdk_post_concurrent(base_url: str, account: str, n: int) -> None:
    """32 tasks on one async client, made in this run's event loop (an httpx.AsyncClient
    belongs to the loop it first ran on)."""

    async def worker(sdk: AuthenticatedClient, count: int) -> None:
        for _ in range(count):
            reply = await submit_command.asyncio_detailed(
                TENANT, client=sdk, body=_sdk_entry(account)
            )
            assert isinstance(reply.parsed, CommandAccepted), reply.content

    async def main() -> None:
        async with AuthenticatedClient(base_url=f"{base_url}/v1", token=KEY) as sdk:
            await asyncio.gather(*(worker(sdk, count) for count in _shares(n)))

    asyncio.run(main())


def _kit_codec(kit: TuringCoreClient, account: str, reply: bytes, n: int) -> None:
    """The kit's own work per command without I/O: the envelope to bytes, the reply parsed."""
    payload = {"bookingDate": DAY, "valueDate": DAY, "currency": "AUD", "narrative": "bench",
               "legs": [{"accountId": account, "direction": "DEBIT", "amount": AMOUNT},
                        {"accountId": GL, "direction": "CREDIT", "amount": AMOUNT}]}  # fmt: skip
    for _ in range(n):
        kit.command_request("PostEntry", payload, tenant_id=TENANT)
        parse_body(reply)


def _sdk_codec(account: str, reply: bytes, n: int) -> None:
    """The SDK's work per command without I/O: the models built and encoded as httpx
    encodes a `json=` body, the reply parsed into `CommandAccepted`."""
    for _ in range(n):
        json.dumps(_sdk_entry(account).to_dict()).encode()
        CommandAccepted.from_dict(json.loads(reply))


def _shares(n: int) -> list[int]:
    """`n` split over IN_FLIGHT lanes as evenly as it goes."""
    return [n // IN_FLIGHT + (1 if lane < n % IN_FLIGHT else 0) for lane in range(IN_FLIGHT)]


# ------------------------------------------------------------------ the harness


def _timed(run: Callable[[], None], n: int) -> dict[str, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"wall_ms_per_op": wall * 1000 / n, "cpu_us_per_op": cpu * 1e6 / n,
            "ops_per_s": n / wall}  # fmt: skip


def _setup(kit: TuringCoreClient) -> str:
    """The tenant, a product, a customer and the member account; its id."""
    kit.create_tenant(TENANT, "SDK bench CU")
    kit.upsert_product(TENANT, {"productCode": "TXN", "name": "Everyday",
                                "productType": "DEPOSIT", "interest": {"rate": 0.0}})  # fmt: skip
    person = {"firstName": "Ann", "lastName": "Lee", "dateOfBirth": "1990-05-01",
              "email": "ann@example.com", "mobile": "+61400000001"}  # fmt: skip
    address = {"line1": "1 George St", "suburb": "Sydney", "state": "NSW",
               "postcode": "2000", "country": "AU"}  # fmt: skip
    customer_id = kit.create_customer(TENANT, person=person, address=address).new_id("customerId")
    assert customer_id is not None
    account_id = kit.open_account(TENANT, customer_id=customer_id, product_code="TXN").new_id(
        "accountId"
    )
    assert account_id is not None
    return account_id


def _rounds(base_url: str, n: int, concurrent: int, rounds: int) -> dict[str, Any]:
    kit = TuringCoreClient(base_url, KEY, retries=0)
    account = _setup(kit)
    sdk = AuthenticatedClient(base_url=f"{base_url}/v1", token=KEY)
    runs: dict[str, dict[str, Callable[[], None]]] = {
        "kit": {
            "post_entry": lambda: _kit_post(kit, account, n),
            "get_account": lambda: _kit_read(kit, account, n),
            "post_entry_32": lambda: _kit_post_concurrent(kit, account, concurrent),
        },
        "sdk": {
            "post_entry": lambda: _sdk_post(sdk, account, n),
            "get_account": lambda: _sdk_read(sdk, account, n),
            "post_entry_32": lambda: _sdk_post_concurrent(base_url, account, concurrent),
        },
    }
    # A warm-up of each (connections, imports, the mock's caches), not counted; its
    # last reply is the 202 that the no-I/O rows parse.
    _kit_post(kit, account, 20)
    _sdk_post(sdk, account, 20)
    reply = submit_command.sync_detailed(TENANT, client=sdk, body=_sdk_entry(account)).content
    codec = n * CODEC_PER_OP
    runs["kit"]["codec_only"] = lambda: _kit_codec(kit, account, reply, codec)
    runs["sdk"]["codec_only"] = lambda: _sdk_codec(account, reply, codec)
    counts = {"post_entry": n, "get_account": n, "post_entry_32": concurrent, "codec_only": codec}
    samples: dict[str, dict[str, list[dict[str, float]]]] = {
        op: {client: [] for client in CLIENTS} for op in counts
    }
    for round_ in range(rounds):
        order = CLIENTS if round_ % 2 == 0 else CLIENTS[::-1]
        for op, count in counts.items():
            for client in order:
                samples[op][client].append(_timed(runs[client][op], count))
    kit.close()
    sdk.get_httpx_client().close()
    return {"account": account, "counts": counts, "samples": samples}


def _medians(samples: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(s[key] for s in samples) for key in samples[0]}


def _summary(raw: dict[str, Any]) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for op, by_client in raw["samples"].items():
        kit, sdk = _medians(by_client["kit"]), _medians(by_client["sdk"])
        table[op] = {"kit": kit, "sdk": sdk,
                     "sdk_over_kit": {k: sdk[k] / kit[k] for k in kit}}  # fmt: skip
    return table


def _markdown(
    table: dict[str, Any], args: argparse.Namespace, started: str, machine: dict[str, Any]
) -> str:
    lines = [
        "# turingcore_sdk (generated) against turingcore_client (the kit), one mock",
        "",
        f"{started}, `python -m bench.sdk_speed --n {args.n} --concurrent {args.concurrent} "
        f"--rounds {args.rounds}`; medians of {args.rounds} rounds, the two clients "
        "alternated (order flipped each round), one `mock-core serve` on SQLite.",
        "Wall = time per operation seen by the client; CPU = this process's CPU per "
        "operation (the client's own cost; the mock runs in another process).",
        f"{machine['nproc']} CPUs, load average {machine['load_average_start']} at the "
        f"start, commit {machine['git_commit'][:10]}.",
        "",
        "| operation | kit wall ms | SDK wall ms | SDK/kit wall | kit CPU us | SDK CPU us "
        "| SDK/kit CPU | kit ops/s | SDK ops/s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    names = {"post_entry": "PostEntry, one at a time", "get_account": "GET account",
             "post_entry_32": f"PostEntry, {IN_FLIGHT} in flight",
             "codec_only": "PostEntry encode + 202 parse, no I/O"}  # fmt: skip
    for op, row in table.items():
        kit, sdk, ratio = row["kit"], row["sdk"], row["sdk_over_kit"]
        lines.append(
            f"| {names[op]} | {kit['wall_ms_per_op']:.3f} | {sdk['wall_ms_per_op']:.3f} "
            f"| {ratio['wall_ms_per_op']:.2f} | {kit['cpu_us_per_op']:.0f} "
            f"| {sdk['cpu_us_per_op']:.0f} | {ratio['cpu_us_per_op']:.2f} "
            f"| {kit['ops_per_s']:.0f} | {sdk['ops_per_s']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def _machine() -> dict[str, Any]:
    """What the figures were measured on (bench.machine needs wrk; this bench does not)."""
    return {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
        "packages": {name: metadata.version(name) for name in ("httpx", "attrs", "orjson")},
        "git_commit": subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sdk_speed", description=__doc__)
    parser.add_argument("--n", type=int, default=500, help="operations per sequential run")
    parser.add_argument("--concurrent", type=int, default=960, help="commands per 32-lane run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--results-dir", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    started = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = _machine()
    with tempfile.TemporaryDirectory() as tmp:
        serve = ["--database-url", f"sqlite:///{tmp}/sdk-bench.db", "--api-keys", f"{KEY}=*",
                 "--no-access-log"]  # fmt: skip
        with served_mock(serve) as base_url:
            raw = _rounds(base_url, args.n, args.concurrent, args.rounds)
    table = _summary(raw)
    data = {"started": started, "args": {k: str(v) for k, v in vars(args).items()},
            "machine": machine, "summary": table, "raw": raw}  # fmt: skip
    write_results(args.results_dir, "sdk-speed", data, _markdown(table, args, started, machine))
    return 0


if __name__ == "__main__":
    raise SystemExit(load.main_of(main))
