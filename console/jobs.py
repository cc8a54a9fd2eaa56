"""The twin, run by the console as a separate process: its five invariant checks
(`twin inspect`) and its scenarios (`twin run`).

The twin is a client of the API like the console, so the console starts it as a
command against the same base URL and key rather than importing it: what runs is
exactly what an operator would run in a shell, and its output is the progress.
One job of each kind at a time per tenant.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from console.api import service_root

LOG_TAIL_LINES = 40
SCENARIO = "steady-state"
CUSTOMERS_MAX = 10_000
DAYS_MAX = 30
_ACCOUNT_AT_START = re.compile(r"^(GL_[A-Z_]+|[0-9a-f]{8}-[0-9a-f-]{27}): ")
_SEQUENCE = re.compile(r"\bsequence (\d+)")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@dataclass
class Job:
    """One twin process: its command line, its log file and how it ended."""

    kind: str
    tenant: str
    argv: list[str]
    workdir: Path
    started: float = field(default_factory=time.time)
    process: subprocess.Popen[bytes] | None = None
    exit_code: int | None = None
    params: dict[str, int] = field(default_factory=dict)  # what its form was sent with

    @property
    def log_path(self) -> Path:
        return self.workdir / "twin.log"

    @property
    def running(self) -> bool:
        return self.exit_code is None

    def elapsed(self) -> int:
        """Whole seconds since the job started."""
        return int(time.time() - self.started)

    def poll(self) -> None:
        if self.process is not None and self.exit_code is None:
            self.exit_code = self.process.poll()

    def tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """The last lines of the twin's output (carriage-return redraws folded)."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""
        rows = [_ANSI.sub("", row.rsplit("\r", 1)[-1]) for row in text.splitlines()]
        return "\n".join(row for row in rows[-lines:])

    @property
    def results_path(self) -> Path:
        return self.workdir / "checks.json"

    @property
    def run_log(self) -> Path:
        return self.workdir / "output" / "commands.jsonl"


def _twin(*args: str) -> list[str]:
    return [sys.executable, "-m", "twin", *args]


def _service(base_url: str, api_key: str) -> list[str]:
    return ["--base-url", service_root(base_url), "--api-key", api_key]


def scenario_argv(
    base_url: str, api_key: str, tenant: str, customers: int, days: int, seed: int, out: Path
) -> list[str]:
    """`twin run steady-state` against the console's target, on `tenant`."""
    return _twin(
        "run",
        SCENARIO,
        "--tenant-code",
        tenant,
        "--customers",
        str(customers),
        "--days",
        str(days),
        "--seed",
        str(seed),
        "--output",
        str(out),
        "--quiet",
        *_service(base_url, api_key),
    )


def checks_argv(
    base_url: str, api_key: str, tenant: str, results: Path, run_log: Path | None
) -> list[str]:
    """`twin inspect TENANT --json results` (with the last scenario's run log if any)."""
    argv = _twin("inspect", tenant, "--json", str(results), *_service(base_url, api_key))
    if run_log is not None and run_log.is_file():
        argv += ["--run-log", str(run_log)]
    return argv


@dataclass(frozen=True)
class Link:
    """A piece of a failure's text, linked to the account or event it names."""

    text: str
    href: str | None = None


def link_failure(tenant: str, failure: str) -> list[Link]:
    """Split a failure message into text and links: a leading account id links to the
    account's page, each `sequence N` to the event viewer at that event."""
    pieces: list[Link] = []
    rest = failure
    match = _ACCOUNT_AT_START.match(rest)
    if match:
        account = match.group(1)
        pieces.append(Link(account, f"/tenants/{tenant}/accounts/{account}"))
        rest = rest[len(account) :]
    position = 0
    for found in _SEQUENCE.finditer(rest):
        pieces.append(Link(rest[position : found.start()]))
        sequence = int(found.group(1))
        href = f"/tenants/{tenant}/events?after={max(sequence - 1, 0)}#seq-{sequence}"
        pieces.append(Link(found.group(0), href))
        position = found.end()
    pieces.append(Link(rest[position:]))
    return [piece for piece in pieces if piece.text]


def read_results(job: Job) -> list[dict[str, Any]] | None:
    """The checks' verdicts from `twin inspect --json`, or None before they exist."""
    try:
        body = orjson.loads(job.results_path.read_bytes())
    except (FileNotFoundError, orjson.JSONDecodeError):
        return None
    results: list[dict[str, Any]] = body.get("invariants", [])
    for result in results:
        result["links"] = [link_failure(job.tenant, f) for f in result.get("failures", [])]
    return results


class Jobs:
    """At most one job of each kind per tenant; the latest one is kept for its page."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self._jobs: dict[tuple[str, str], Job] = {}
        self._lock = threading.Lock()
        self._root = Path(tempfile.mkdtemp(prefix="turingcore-console-"))

    def latest(self, kind: str, tenant: str) -> Job | None:
        with self._lock:
            job = self._jobs.get((kind, tenant))
        if job is not None:
            job.poll()
        return job

    def start(
        self, kind: str, tenant: str, argv_for: Any, params: dict[str, int] | None = None
    ) -> Job:
        """Start a job unless one of its kind is running for the tenant (then return it).
        `argv_for(workdir)` gives the command line; `params`, its form's values."""
        with self._lock:
            current = self._jobs.get((kind, tenant))
            if current is not None:
                current.poll()
                if current.running:
                    return current
            workdir = Path(tempfile.mkdtemp(prefix=f"{kind}-{tenant}-", dir=self._root))
            argv: Sequence[str] = argv_for(workdir)
            job = Job(kind, tenant, list(argv), workdir, params=dict(params or {}))
            with job.log_path.open("wb") as log:
                job.process = subprocess.Popen(
                    job.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
                )
            self._jobs[(kind, tenant)] = job
            return job

    def last_run_log(self, tenant: str) -> Path | None:
        job = self.latest("scenario", tenant)
        return job.run_log if job is not None and not job.running else None

    def stop(self) -> None:
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            if job.process is not None and job.process.poll() is None:
                job.process.terminate()
                try:
                    job.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    job.process.kill()
