"""What `contract-test proxy` adds to a command's latency: PostEntry direct vs through it.

    .venv/bin/python -m bench.proxy                       # 7 rounds of 400 commands a side
    .venv/bin/python -m bench.proxy --rounds 3 --commands 200 --out /tmp/proxy-bench

A mock served on a fresh SQLite store (`turingcore_client.serving`), and the proxy in
front of it as its console command (`python -m contract_tests proxy`, every check on,
as a user runs it). One client, one keep-alive connection per side, one command at a
time: a PostEntry of one cent between two GL accounts (no bounds, so every entry is
accepted), each with a fresh commandId. Each round sends `--commands` commands
directly and as many through the proxy, the order of the two sides alternating from
round to round; the latency is the client's, from the request's first byte to the
reply's last. Reported: per side the p50 and p99 of each round, their medians over the
rounds, and the median of each round's difference (proxy minus direct). The proxy must
end with no finding (its exit code 0). Writes bench/results/proxy.{json,md} (`--out`).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import load
from bench.measure import write_results
from turingcore_client.serving import clean_env, free_port, served_mock

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results"
TENANT = "BENCH_PROXY"
HEADERS = {"Authorization": "Bearer dev-platform-key", "Content-Type": "application/json"}
START_TIMEOUT_S = 60.0


def _envelope(command_type: str, payload: dict[str, Any]) -> bytes:
    return json.dumps(
        {
            "commandId": str(uuid.uuid4()),
            "tenantId": TENANT,
            "commandType": command_type,
            "actor": {"actorType": "SYSTEM", "actorId": "bench-proxy"},
            "timestamp": "2025-01-01T00:00:00Z",
            "payload": payload,
        }
    ).encode()


def _entry() -> bytes:
    legs = [
        {"accountId": "GL_SUSPENSE", "direction": "DEBIT", "amount": 0.01},
        {"accountId": "GL_FEES", "direction": "CREDIT", "amount": 0.01},
    ]
    payload = {
        "bookingDate": "2025-01-02",
        "valueDate": "2025-01-02",
        "currency": "AUD",
        "legs": legs,
        "narrative": "bench proxy",
    }
    return _envelope("PostEntry", payload)


class Side:
    """One keep-alive connection to a base URL, timing each command."""

    def __init__(self, base_url: str) -> None:
        host, _, port = base_url.removeprefix("http://").partition(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=60)
        self.path = f"/v1/tenants/{TENANT}/commands"

    def send(self, body: bytes) -> tuple[int, float]:
        """One command: (status, ms). A keep-alive connection the server closed while
        the other side ran is opened again, and that attempt is not timed."""
        for attempt in (1, 2):
            started = time.perf_counter()
            try:
                self.conn.request("POST", self.path, body, HEADERS)
                reply = self.conn.getresponse()
                reply.read()
            except (ConnectionError, http.client.RemoteDisconnected):
                self.conn.close()
                if attempt == 2:
                    raise
                continue
            return reply.status, (time.perf_counter() - started) * 1000
        raise AssertionError("unreachable")

    def run(self, count: int) -> list[float]:
        bodies = [_entry() for _ in range(count)]  # made before the clock starts
        times = []
        for body in bodies:
            status, ms = self.send(body)
            if status != 202:
                raise RuntimeError(f"PostEntry answered {status}")
            times.append(ms)
        return times


def _cpu_s(pid: int) -> float | None:
    """A process's CPU time so far (user + system), from /proc; None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _wait(url: str, process: subprocess.Popen[bytes]) -> None:
    host, _, port = url.removeprefix("http://").partition(":")
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the proxy exited with {process.returncode}")
        try:
            conn = http.client.HTTPConnection(host, int(port), timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the proxy did not start")


def bench(rounds: int, commands: int, warmup: int) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="bench-proxy-"))
    args = ["--database-url", f"sqlite:///{workdir}/mock.db", "--no-access-log"]
    with served_mock(args, cwd=ROOT) as upstream:
        port = free_port()
        proxy = subprocess.Popen(
            [
                *(sys.executable, "-m", "contract_tests", "proxy", "--upstream", upstream),
                *("--listen", f"127.0.0.1:{port}", "--report-dir", str(workdir / "report")),
            ],
            cwd=ROOT,
            env=clean_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            proxied = f"http://127.0.0.1:{port}"
            _wait(proxied, proxy)
            direct_side, proxy_side = Side(upstream), Side(proxied)
            tenant = {
                "tenantCode": TENANT,
                "displayName": "Bench proxy",
                "region": "AU",
                "baseCurrency": "AUD",
                "timeZone": "Australia/Sydney",
            }
            status, _ = proxy_side.send(_envelope("CreateTenant", tenant))
            if status != 202:
                raise RuntimeError(f"CreateTenant answered {status}")
            direct_side.run(warmup)
            proxy_side.run(warmup)
            per_round = []
            cpu_spent: list[float | None] = []  # the proxy's, while the proxy side ran
            for n in range(rounds):
                order = [("direct", direct_side), ("proxy", proxy_side)]
                if n % 2:
                    order.reverse()
                times = {}
                for name, side in order:
                    before = _cpu_s(proxy.pid)
                    times[name] = side.run(commands)
                    after = _cpu_s(proxy.pid)
                    if name == "proxy":
                        spent = None if before is None or after is None else after - before
                        cpu_spent.append(spent)
                per_round.append(
                    {
                        name: {
                            "p50_ms": round(_percentile(t, 0.5), 3),
                            "p99_ms": round(_percentile(t, 0.99), 3),
                        }
                        for name, t in times.items()
                    }
                )
        finally:
            proxy.send_signal(signal.SIGTERM)
            out, _ = proxy.communicate(timeout=120)
    if proxy.returncode != 0:
        raise RuntimeError(f"the proxy saw findings (exit {proxy.returncode}):\n{out.decode()}")

    def median(side: str, key: str) -> float:
        return round(statistics.median(r[side][key] for r in per_round), 3)

    def added(key: str) -> float:
        return round(statistics.median(r["proxy"][key] - r["direct"][key] for r in per_round), 3)

    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()]},
        "settings": {"rounds": rounds, "commands_per_side": commands, "warmup": warmup},
        "direct": {"p50_ms": median("direct", "p50_ms"), "p99_ms": median("direct", "p99_ms")},
        "proxy": {"p50_ms": median("proxy", "p50_ms"), "p99_ms": median("proxy", "p99_ms")},
        "added": {"p50_ms": added("p50_ms"), "p99_ms": added("p99_ms")},
        # The proxy process's CPU (user + system) per command it passed, checks included.
        "proxy_cpu_us_per_command": None
        if None in cpu_spent
        else round(sum(c or 0.0 for c in cpu_spent) / (rounds * commands) * 1e6),
        "rounds": per_round,
        "proxy_output_tail": out.decode(errors="replace").strip().splitlines()[-1:],
    }


def render(data: dict[str, Any]) -> str:
    s = data["settings"]
    lines = [
        "# contract-test proxy: added latency (PostEntry, one at a time)",
        "",
        f"`python -m bench.proxy --rounds {s['rounds']} --commands {s['commands_per_side']}` "
        f"on {data['machine']['cpus']} CPUs, load average {data['machine']['load_average']} "
        f"at the end, {data['when']}. A mock on SQLite, the proxy in front of it with every "
        "check on; medians over the rounds of each round's percentiles.",
        "",
        "| | p50 ms | p99 ms |",
        "|---|---:|---:|",
        f"| direct | {data['direct']['p50_ms']} | {data['direct']['p99_ms']} |",
        f"| through the proxy | {data['proxy']['p50_ms']} | {data['proxy']['p99_ms']} |",
        f"| **added** (median of per-round differences) | **{data['added']['p50_ms']}** | "
        f"**{data['added']['p99_ms']}** |",
        "",
        f"The proxy's CPU (user + system, every check on) per command it passed: "
        f"{data['proxy_cpu_us_per_command']} us.",
        "",
        "Per round (direct / proxy): "
        + "; ".join(
            f"{r['direct']['p50_ms']}/{r['proxy']['p50_ms']} p50, "
            f"{r['direct']['p99_ms']}/{r['proxy']['p99_ms']} p99"
            for r in data["rounds"]
        ),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.proxy", description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--commands", type=int, default=400, help="commands per side per round")
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    data = bench(args.rounds, args.commands, args.warmup)
    write_results(args.out, "proxy", data, render(data))
    return 0


if __name__ == "__main__":
    raise SystemExit(load.main_of(main))
