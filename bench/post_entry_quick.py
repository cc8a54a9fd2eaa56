"""A quick PostEntry throughput measurement over real HTTP (issue 2's figure).

Starts `mock-core serve` on a fresh SQLite file, opens two member accounts, then
sends random transfers between them (fresh commandIds, every reply durable)
from N keep-alive connections, and a trivial request (/healthz) the same way
as the floor. Prints and writes medians of --runs runs to bench/results/.

    .venv/bin/python bench/post_entry_quick.py --requests 3000 --connections 1 8
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

KEY = "dev-platform-key"
TENANT = "BENCH_CU"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def command(kind: str, payload: dict, tenant: str = TENANT) -> bytes:
    return json.dumps(
        {
            "commandId": str(uuid.uuid4()),
            "tenantId": tenant,
            "commandType": kind,
            "actor": {"actorType": "SYSTEM", "actorId": "bench"},
            "timestamp": "2025-01-15T09:00:00+11:00",
            "payload": payload,
        }
    ).encode()


HEADERS = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}


def post(conn: http.client.HTTPConnection, body: bytes) -> dict:
    conn.request("POST", f"/v1/tenants/{TENANT}/commands", body, HEADERS)
    reply = conn.getresponse()
    data = reply.read()
    assert reply.status == 202, data
    return json.loads(data)


def setup(port: int) -> tuple[str, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    post(
        conn,
        command(
            "CreateTenant",
            {
                "tenantCode": TENANT,
                "displayName": "Bench",
                "region": "AU",
                "baseCurrency": "AUD",
                "timeZone": "Australia/Sydney",
            },
        ),
    )
    post(
        conn,
        command(
            "UpsertProduct",
            {
                "productCode": "TXN",
                "name": "Txn",
                "productType": "DEPOSIT",
                "interest": {"rate": 0.0},
            },
        ),
    )
    ids = []
    for n in range(2):
        person = {
            "firstName": "A",
            "lastName": "B",
            "dateOfBirth": "1990-01-01",
            "email": f"b{n}@example.com",
            "mobile": f"+6140000000{n}",
        }
        address = {
            "line1": "1 St",
            "suburb": "Sydney",
            "state": "NSW",
            "postcode": "2000",
            "country": "AU",
        }
        customer = post(conn, command("CreateCustomer", {"person": person, "address": address}))
        account = post(
            conn,
            command(
                "OpenAccount",
                {
                    "customerId": customer["result"]["customerId"],
                    "productCode": "TXN",
                    "currency": "AUD",
                    "initialDeposit": 1_000_000,
                },
            ),
        )
        ids.append(account["result"]["accountId"])
    return ids[0], ids[1]


def load(port: int, connections: int, requests: int, make_request) -> tuple[float, list[float]]:
    per_conn = requests // connections
    latencies: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(connections + 1)

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port)
        mine = []
        barrier.wait()
        for _ in range(per_conn):
            t0 = time.perf_counter()
            make_request(conn)
            mine.append(time.perf_counter() - t0)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    return per_conn * connections / (time.perf_counter() - started), latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", default="bench/results/post_entry_quick.json")
    args = parser.parse_args()
    port = free_port()
    tmp = tempfile.mkdtemp()
    env = {**os.environ, "MOCK_CORE_ACCESS_LOG": "false"}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mock_core",
            "serve",
            "--port",
            str(port),
            "--database-url",
            f"sqlite:///{tmp}/bench.db",
            "--no-access-log",
        ],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                c.request("GET", "/healthz")
                if c.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.1)
        a, b = setup(port)

        def transfer(conn: http.client.HTTPConnection) -> None:
            src, dst = (a, b) if random.random() < 0.5 else (b, a)
            amount = random.randint(1, 10000) / 100
            post(
                conn,
                command(
                    "PostEntry",
                    {
                        "bookingDate": "2025-01-15",
                        "valueDate": "2025-01-15",
                        "currency": "AUD",
                        "legs": [
                            {"accountId": src, "direction": "CREDIT", "amount": amount},
                            {"accountId": dst, "direction": "DEBIT", "amount": amount},
                        ],
                        "narrative": "bench transfer",
                    },
                ),
            )

        def health(conn: http.client.HTTPConnection) -> None:
            conn.request("GET", "/healthz")
            reply = conn.getresponse()
            reply.read()
            assert reply.status == 200

        results = {}
        for connections in args.connections:
            for name, fn in (("floor_healthz", health), ("post_entry", transfer)):
                rates, p50s, p99s = [], [], []
                for _ in range(args.runs):
                    rate, lat = load(port, connections, args.requests, fn)
                    lat.sort()
                    rates.append(rate)
                    p50s.append(lat[len(lat) // 2] * 1000)
                    p99s.append(lat[int(len(lat) * 0.99)] * 1000)
                results[f"{name}@{connections}"] = {
                    "requests_per_s_median": round(statistics.median(rates), 1),
                    "runs": [round(r, 1) for r in rates],
                    "p50_ms": round(statistics.median(p50s), 3),
                    "p99_ms": round(statistics.median(p99s), 3),
                }
        for connections in args.connections:
            floor = results[f"floor_healthz@{connections}"]["requests_per_s_median"]
            pe = results[f"post_entry@{connections}"]["requests_per_s_median"]
            results[f"post_entry@{connections}"]["ratio_to_floor"] = round(pe / floor, 3)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(
            json.dumps(
                {
                    "client": "http.client keep-alive, one thread per connection (same process)",
                    "results": results,
                },
                indent=2,
            )
            + "\n"
        )
        for name, r in results.items():
            print(
                f"{name:24} {r['requests_per_s_median']:>9.1f}/s  p50 {r['p50_ms']:.2f} ms  "
                f"p99 {r['p99_ms']:.2f} ms  {r.get('ratio_to_floor', '')}"
            )
    finally:
        server.terminate()
        server.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
