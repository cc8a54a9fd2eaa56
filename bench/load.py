"""The mechanics of the harness: wrk, the servers, their CPU and memory, PostgreSQL
databases, figures.

Nothing here decides what to measure; bench/run.py does.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from turingcore_client import serving
from turingcore_client.envelope import build_envelope
from turingcore_client.serving import free_port

ROOT = Path(__file__).resolve().parents[1]
WRK_DIR = Path(__file__).resolve().parent / "wrk"
RESULT_MARK = "BENCH_RESULT "
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
BENCH_KEY = "bench-platform-key"
# A key scoped to the twin's probe tenant only, so its tenant-isolation check runs.
ISOLATION_KEY = "bench-isolation-key"
ISOLATION_TENANT = "ISOLATION_PROBE_TWIN"
TENANT = "BENCH_CU"
PRODUCT = "TXN"
TIMESTAMP = "2025-01-15T09:00:00+11:00"


def main_of(main: Callable[[], int | None]) -> int | None:
    """Run a bench tool's `main`, with SIGTERM ending it as Ctrl-C does: by an exception
    that unwinds it, so that the `finally` blocks stop the servers it started, drop the
    databases it made and remove the worktrees it added. (Python's own SIGTERM ends the
    process at once and leaves them behind.) Its exit code is then 128 + 15, as a shell
    reports a process killed by SIGTERM."""
    signal.signal(signal.SIGTERM, _exit_on_signal)
    return main()


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


class BenchError(Exception):
    """Something the harness cannot work around (printed, exit code 2)."""


# ----------------------------------------------------------------------- wrk


def ensure_wrk(*, install: bool = True) -> str:
    """The path of wrk; install it with apt-get when missing and we are root."""
    found = shutil.which("wrk")
    if found:
        return found
    if not install:
        raise BenchError("wrk is not installed (apt-get install wrk)")
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise BenchError(
            "wrk is not installed and this is not a root shell with apt-get: "
            "install it with `sudo apt-get install -y wrk` (or build it from "
            "https://github.com/wg/wrk) and run the bench again"
        )
    print("bench: wrk is missing; installing it with `apt-get install -y wrk` ...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = ["apt-get", "install", "-y", "-q", "wrk"]
    if subprocess.run(command, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True)
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise BenchError(f"apt-get install wrk failed:\n{done.stderr[-2000:]}")
    found = shutil.which("wrk")
    if not found:
        raise BenchError("apt-get install wrk succeeded but wrk is not on PATH")
    print(f"bench: wrk installed at {found}", flush=True)
    return found


def wrk_version(wrk: str) -> str:
    done = subprocess.run([wrk, "--version"], capture_output=True, text=True)
    text = (done.stdout or done.stderr).strip().splitlines()
    return text[0] if text else "unknown"


@dataclass
class WrkResult:
    """One wrk run, as its done() hook reported it."""

    script: str
    connections: int
    requests: int
    duration_s: float
    errors: dict[str, int]
    latency_us: dict[str, float]

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def latency_ms(self, name: str) -> float:
        return self.latency_us[name] / 1000.0


def run_wrk(
    wrk: str,
    base_url: str,
    script: str,
    *,
    connections: int,
    duration_s: int,
    env: Mapping[str, str],
    threads: int = 1,
    timeout_s: int = 30,
) -> WrkResult:
    """Run `wrk -t{threads} -c{connections} -d{duration_s}s -s wrk/{script}.lua` once."""
    path = WRK_DIR / f"{script}.lua"
    command = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration_s}s",
        f"--timeout={timeout_s}s",
        "-s",
        str(path),
        base_url,
    ]
    done = subprocess.run(
        command,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=duration_s + timeout_s + 60,
    )
    line = next((x for x in done.stdout.splitlines() if x.startswith(RESULT_MARK)), None)
    if done.returncode != 0 or line is None:
        raise BenchError(
            f"wrk {script} failed ({done.returncode}):\n{done.stdout[-1500:]}{done.stderr[-1500:]}"
        )
    data = json.loads(line[len(RESULT_MARK) :])
    return WrkResult(
        script=script,
        connections=connections,
        requests=int(data["requests"]),
        duration_s=data["duration_us"] / 1e6,
        errors={k: int(v) for k, v in data["errors"].items()},
        latency_us={k: float(v) for k, v in data["latency_us"].items()},
    )


# ------------------------------------------------------- processes: CPU, RSS


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may hold spaces: split after it.
    return raw[raw.rindex(")") + 2 :].split()


def process_tree(root: int) -> list[int]:
    """root and all its descendants (uvicorn's master and its workers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def cpu_seconds(pids: Sequence[int]) -> float:
    """utime + stime of the processes, in seconds (from /proc/<pid>/stat)."""
    ticks = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is not None:
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / CLOCK_TICKS


def machine_cpu_seconds() -> float:
    """CPU seconds the whole machine has been busy (every process; /proc/stat)."""
    with open("/proc/stat") as stat:
        fields = [int(x) for x in stat.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq = fields[:7]
    return (user + nice + system + irq + softirq) / CLOCK_TICKS


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds of `root` and its descendants: each one's utime + stime, and the
    children `root` has reaped already (its cutime + cstime)."""
    fields = _stat_fields(root)
    reaped = int(fields[13]) + int(fields[14]) if fields is not None else 0
    return cpu_seconds(process_tree(root)) + reaped / CLOCK_TICKS


def proc_kb_sum(pids: Sequence[int], file: str, field: str) -> int:
    """The sum, in bytes, of the kB figure `field` (e.g. "VmRSS") of /proc/<pid>/`file`
    over the processes (one that has gone counts 0)."""
    total = 0
    prefix = field + ":"
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/{file}").read_text().splitlines():
                if line.startswith(prefix):
                    total += int(line.split()[1]) * 1024
                    break
    return total


def rss_bytes(pids: Sequence[int]) -> int:
    """The sum of VmRSS of the processes."""
    return proc_kb_sum(pids, "status", "VmRSS")


def pss_bytes(pids: Sequence[int]) -> int:
    """The sum of the processes' proportional set size (`Pss` of smaps_rollup): a page
    shared by n of them counts 1/n in each, so a fork's pages count once in the sum."""
    return proc_kb_sum(pids, "smaps_rollup", "Pss")


def twin_steady_state(
    customers: int | str, days: int | str, base_url: str, output: Path, *more: str
) -> list[str]:
    """`python -m twin run steady-state` at a size against `base_url`, quiet, its outputs
    in `output`; `more`: the caller's own options (seed, keys, --no-inspect ...)."""
    return [
        sys.executable,
        "-m",
        "twin",
        "run",
        "steady-state",
        "--customers",
        str(customers),
        "--days",
        str(days),
        "--base-url",
        base_url,
        "--output",
        str(output),
        "--quiet",
        *more,
    ]


def postgres_backends(database: str) -> list[int]:
    """The PostgreSQL backend processes serving `database` (by their process title)."""
    out = []
    needle = f" {database} "
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if title.startswith("postgres:") and needle in title:
            out.append(int(entry.name))
    return out


# ------------------------------------------------- another commit's tree


@contextlib.contextmanager
def worktree(rev: str, path: Path) -> Iterator[Path]:
    """A detached git worktree of this checkout at `rev`, in `path`, removed at the end."""
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(path), rev],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    try:
        yield path
    finally:
        subprocess.run(
            ["git", "worktree", "remove", "--force", str(path)], cwd=ROOT, capture_output=True
        )


def shim(tree: Path, into: Path) -> Path:
    """A directory that puts `tree`'s spec and scenarios on the path under the installed
    packages' names (an editable install maps them to the main checkout)."""
    into.mkdir(parents=True, exist_ok=True)
    (into / "turingcore_contract").symlink_to(tree / "openapi")
    (into / "turingcore_scenarios").symlink_to(tree / "config")
    return into


# ------------------------------------------------------------------ servers


@dataclass
class Server:
    """A server we started: its process, URL, log, and (PostgreSQL) database name."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    database: str | None = None
    workers: int = 1

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def pids(self) -> list[int]:
        return process_tree(self.process.pid)

    def cpu(self) -> tuple[float, float]:
        """(server CPU s summed over the master and its workers, database backends' CPU s)."""
        db = cpu_seconds(postgres_backends(self.database)) if self.database else 0.0
        return cpu_seconds(self.pids()), db

    def rss(self) -> int:
        return rss_bytes(self.pids())

    def alive(self) -> bool:
        return self.process.poll() is None


def _wait_ready(server: Server, path: str, wait_s: float) -> None:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if not server.alive():
            tail = server.log_path.read_text(errors="replace")[-3000:]
            raise BenchError(f"{server.name} exited with {server.process.returncode}:\n{tail}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=2)
            conn.request("GET", path)
            reply = conn.getresponse()
            reply.read()
            conn.close()
            if reply.status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    stop_server(server)
    raise BenchError(f"{server.name} did not answer {path} in {wait_s:.0f} s ({server.log_path})")


# The mock's store caches (`MOCK_CORE_CACHES`: `writer_memory,offset_marks`, a subset or
# `none`), set by `bench.run --mock-caches` to measure what each buys; None: all on.
MOCK_CACHES: str | None = None


def _start(name: str, command: list[str], log_path: Path, port: int, ready_path: str) -> Server:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=serving.clean_env(), stdout=log, stderr=subprocess.STDOUT
        )
    server = Server(name, process, port, log_path)
    _wait_ready(server, ready_path, 60.0)
    return server


def start_floor(log_path: Path) -> Server:
    """bench.floor_app under uvicorn: one worker, loop/http auto, no access log."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.floor_app:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--loop",
        "auto",
        "--http",
        "auto",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    return _start("floor", command, log_path, port, "/healthz")


def start_mock(
    database_url: str, log_path: Path, *, workers: int = 1, database: str | None = None
) -> Server:
    """`mock-core serve` on a free port (the kit's `start_mock`), no access log, the
    bench's platform key; ready when it answers /readyz."""
    args = [
        "--database-url",
        database_url,
        "--api-keys",
        f"{BENCH_KEY}=*;{ISOLATION_KEY}={ISOLATION_TENANT}",
        "--workers",
        str(workers),
        "--no-access-log",
    ]
    env = serving.clean_env()
    if MOCK_CACHES is not None:
        env["MOCK_CORE_CACHES"] = MOCK_CACHES
    name = f"mock ({'postgresql' if database else 'sqlite'}, {workers} worker(s))"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w+b") as log:
        try:
            process, base_url = serving.start_mock(
                args, log=log, cwd=ROOT, env=env, ready_path="/readyz"
            )
        except serving.MockStartError as exc:
            raise BenchError(f"{name}: {exc}") from None
    port = int(base_url.rsplit(":", 1)[1])
    return Server(name, process, port, log_path, database=database, workers=workers)


def stop_server(server: Server) -> None:
    """SIGTERM the master (uvicorn stops its workers), then SIGKILL what lingers."""
    pids = server.pids()
    if server.alive():
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=5)
    for pid in pids[1:]:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def running(server: Server) -> Iterator[Server]:
    try:
        yield server
    finally:
        stop_server(server)


# ---------------------------------------------------------------- the tenant


def command(
    command_type: str, payload: dict[str, Any], actor_id: str, tenant: str = TENANT
) -> dict[str, Any]:
    """A command envelope from the SYSTEM actor `actor_id`, a fresh commandId."""
    actor = {"actorType": "SYSTEM", "actorId": actor_id}
    return build_envelope(command_type, payload, tenant_id=tenant, timestamp=TIMESTAMP, actor=actor)


def transfer(src: str, dst: str, amount: float, narrative: str) -> dict[str, Any]:
    """A PostEntry payload: `amount` (major units) from `src` (CREDIT) to `dst` (DEBIT)."""
    return {
        "bookingDate": "2025-01-15",
        "valueDate": "2025-01-15",
        "currency": "AUD",
        "legs": [
            {"accountId": src, "direction": "CREDIT", "amount": amount},
            {"accountId": dst, "direction": "DEBIT", "amount": amount},
        ],
        "narrative": narrative,
    }


def tenant_payload() -> dict[str, Any]:
    """The bench tenant's CreateTenant payload."""
    return {
        "tenantCode": TENANT,
        "displayName": "Bench CU",
        "region": "AU",
        "baseCurrency": "AUD",
        "timeZone": "Australia/Sydney",
    }


# --------------------------------------------------------------- PostgreSQL


DEFAULT_PG_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


def postgres_problem(dsn: str) -> str | None:
    """None when the PostgreSQL server answers, else why not."""
    try:
        import psycopg

        with psycopg.connect(dsn, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        return f"PostgreSQL at {dsn!r} is unreachable: {exc}".strip()
    return None


def create_database(dsn: str) -> tuple[str, str]:
    """A fresh database; return (its name, the mock's SQLAlchemy URL for it)."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    name = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    info = conninfo_to_dict(dsn)
    user = info.get("user", "postgres")
    password = f":{info['password']}" if info.get("password") else ""
    host = info.get("host", "127.0.0.1")
    port = info.get("port", 5432)
    return name, f"postgresql+psycopg://{user}{password}@{host}:{port}/{name}"


def drop_database(dsn: str, name: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ------------------------------------------------------------------ figures


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list (q in 0..100)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), math.ceil(q / 100 * len(sorted_values))))
    return float(sorted_values[rank - 1])
