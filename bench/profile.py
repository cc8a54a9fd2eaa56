"""Where a PostEntry's server CPU goes: the mock in-process, profiled, grouped by layer.

    python -m bench.profile [--commands 8000] [--concurrency 32]

Drives the ASGI app directly (no sockets, no HTTP parser: that part is the
floor's, measured by bench/run.py) with PostEntry transfers between two
accounts, `--concurrency` in flight so group commit batches them as under wrk.
It prints and writes bench/results/profile.md: CPU per command without the
profiler, then cProfile's own time grouped into layers. The profiler inflates
Python-heavy layers, so read the shares, not the microseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import random
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from bench import load
from bench.load import BENCH_KEY, PRODUCT, TENANT, command, tenant_payload, transfer
from mock_core.api.app import create_app
from mock_core.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results"

# (layer, predicate on "file:function"), first match wins.
IDLE = "idle: the loop waiting (epoll) for the writer thread's commit"
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (IDLE, ("select.epoll",)),
    ("SQLite: commit (WAL write + fsync)", ("'commit' of 'sqlite3",)),
    ("SQLite: statements", ("sqlite3.Cursor", "sqlite3.Connection")),
    ("PostgreSQL: the driver (psycopg)", ("psycopg",)),
    (
        "store: events, hash chain, projections",
        (
            "store/eventstore.py",
            "store/sqlite.py",
            "store/projections.py",
            "store/hashchain.py",
            "_hashlib",
            "'hexdigest'",
        ),
    ),
    (
        "validation (pydantic, envelope, money)",
        ("pydantic", "core/commands.py", "money.py", "api/parse.py", "re.Pattern"),
    ),
    (
        "decide and evolve (business rules, typed events)",
        ("core/decide.py", "core/state.py", "core/events.py", "core/evolve.py"),
    ),
    ("gateway (idempotency, replies, ids)", ("gateway.py",)),
    ("endpoint, metrics, access log", ("api/", "prometheus_client")),
    ("SQLAlchemy (connections, transactions)", ("sqlalchemy",)),
    ("this driver (stands in for the HTTP server; not the mock)", ("bench/profile.py",)),
    (
        "asyncio event loop, futures, writer-thread hand-off",
        ("asyncio", "concurrent/futures", "threading.py", "queue"),
    ),
    ("the rest", ("",)),
]


def _request(path: str, body: bytes) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"authorization", f"Bearer {BENCH_KEY}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {},
    }


class Driver:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.path = f"/v1/tenants/{TENANT}/commands"

    async def call(self, body: bytes) -> tuple[int, bytes]:
        sent = False
        status = 0
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(_request(self.path, body), receive, send)
        return status, b"".join(chunks)

    async def command(self, command_type: str, payload: dict[str, Any]) -> dict[str, Any]:
        status, reply = await self.call(envelope(command_type, payload))
        if status != 202:
            raise SystemExit(f"set-up {command_type} failed: {status} {reply!r}")
        result: dict[str, Any] = orjson.loads(reply)["result"]
        return result


def envelope(command_type: str, payload: dict[str, Any]) -> bytes:
    return orjson.dumps(command(command_type, payload, "bench-profile"))


async def set_up(driver: Driver) -> tuple[str, str]:
    await driver.command("CreateTenant", tenant_payload())
    await driver.command(
        "UpsertProduct",
        {
            "productCode": PRODUCT,
            "name": "Bench",
            "productType": "DEPOSIT",
            "interest": {"rate": 0},
        },
    )
    accounts = []
    for n in range(2):
        person = {
            "firstName": "Profile",
            "lastName": f"Member{n}",
            "dateOfBirth": "1980-01-01",
            "email": f"profile.{n}@example.com",
            "mobile": f"+6149{n:08d}",
        }
        address = {
            "line1": "1 Bench St",
            "suburb": "Sydney",
            "state": "NSW",
            "postcode": "2000",
            "country": "AU",
        }
        customer = await driver.command("CreateCustomer", {"person": person, "address": address})
        account = await driver.command(
            "OpenAccount",
            {
                "customerId": customer["customerId"],
                "productCode": PRODUCT,
                "currency": "AUD",
                "initialDeposit": 1_000_000,
            },
        )
        accounts.append(account["accountId"])
    return accounts[0], accounts[1]


def transfers(a: str, b: str, count: int, rng: random.Random) -> list[bytes]:
    bodies = []
    for _ in range(count):
        src, dst = (a, b) if rng.random() < 0.5 else (b, a)
        amount = rng.randint(1, 10_000) / 100
        bodies.append(envelope("PostEntry", transfer(src, dst, amount, "bench transfer")))
    return bodies


async def drive(driver: Driver, bodies: list[bytes], concurrency: int) -> None:
    async def worker(first: int) -> None:
        for index in range(first, len(bodies), concurrency):
            status, reply = await driver.call(bodies[index])
            if status != 202:
                raise SystemExit(f"PostEntry failed: {status} {reply!r}")

    await asyncio.gather(*(worker(i) for i in range(concurrency)))


def layer_of(key: str) -> str:
    for name, needles in LAYERS:
        if any(needle in key for needle in needles):
            return name
    return LAYERS[-1][0]


def run(
    commands: int,
    concurrency: int,
    workdir: Path,
    caches: str | None = None,
    database_url: str | None = None,
) -> dict[str, Any]:
    """Profile `commands` PostEntry on a fresh SQLite store in `workdir`, or on the
    (empty) database at `database_url`."""
    settings = Settings(
        database_url=database_url or f"sqlite:///{workdir / 'profile.db'}",
        api_keys=f"{BENCH_KEY}=*",
        access_log=False,
        caches=caches if caches is not None else Settings().caches,
    )
    app = create_app(settings)
    driver = Driver(app)
    rng = random.Random(7)

    async def main() -> dict[str, Any]:
        a, b = await set_up(driver)
        await drive(driver, transfers(a, b, 500, rng), concurrency)  # warm-up
        plain = transfers(a, b, commands, rng)
        cpu, wall = time.process_time(), time.perf_counter()
        await drive(driver, plain, concurrency)
        cpu_us = (time.process_time() - cpu) / commands * 1e6
        wall_us = (time.perf_counter() - wall) / commands * 1e6
        profiled = transfers(a, b, commands, rng)
        profiler = cProfile.Profile()
        profiler.enable()
        await drive(driver, profiled, concurrency)
        profiler.disable()
        stats = pstats.Stats(profiler)
        layers: dict[str, float] = {name: 0.0 for name, _ in LAYERS}
        rest: list[tuple[float, str]] = []
        for (filename, _, function), row in stats.stats.items():  # type: ignore[attr-defined]
            key = f"{filename}:{function}"
            layers[layer_of(key)] += row[2]  # own time
            if layer_of(key) == "the rest":
                rest.append((row[2], key))
        idle = layers.pop(IDLE)
        total = sum(layers.values())
        return {
            "commands": commands,
            "concurrency": concurrency,
            "cpu_us_per_command": round(cpu_us, 1),
            "wall_us_per_command": round(wall_us, 1),
            "layers": {name: round(seconds / total, 4) for name, seconds in layers.items()},
            "idle_share_of_wall": round(idle / (idle + total), 4),
            "rest_top": [key for _, key in sorted(rest, reverse=True)[:8]],
        }

    return asyncio.run(main())


def render(result: dict[str, Any]) -> str:
    lines = [
        "# Where a PostEntry's server CPU goes (in-process, no HTTP)",
        "",
        "`python -m bench.profile "
        f"--commands {result['commands']} --concurrency {result['concurrency']}`",
        "",
        f"- CPU per command without the profiler: **{result['cpu_us_per_command']} us** "
        f"(wall {result['wall_us_per_command']} us), plus the HTTP server's share, "
        "which the floor measures",
        "- share of the profiled own time, by layer:",
        "",
        "| layer | share |",
        "|---|---:|",
    ]
    for name, share in sorted(result["layers"].items(), key=lambda item: -item[1]):
        lines.append(f"| {name} | {share * 100:.1f}% |")
    lines += [
        "",
        "The commit (WAL write and fsync) runs on the writer thread, which cProfile does",
        "not see; its CPU is in the per-command figure above. The loop sat idle in epoll,",
        f"waiting for commits, for {result['idle_share_of_wall'] * 100:.0f}% of the profiled time",
        "(left out of the shares). Largest items of `the rest`: "
        + ", ".join(f"`{key}`" for key in result["rest_top"]),
    ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--commands", type=int, default=8000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--results-dir", type=Path, default=RESULTS)
    parser.add_argument(
        "--mock-caches", default=None, help="the store's caches (default: all; see bench.run)"
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="an empty PostgreSQL database to profile on (default: a fresh SQLite file); "
        "the server's own CPU is not counted",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp:
        result = run(
            args.commands, args.concurrency, Path(tmp), args.mock_caches, args.database_url
        )
    text = render(result)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    (args.results_dir / "profile.md").write_text(text)
    (args.results_dir / "profile.json").write_text(orjson.dumps(result).decode())
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(load.main_of(main))
