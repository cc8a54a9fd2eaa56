"""Start a `mock-core serve` process for a client: a free port, a wait, a stop.

    process, base_url = start_mock(["--database-url", url], log=path)   # twin demo
    ...
    stop_mock(process)

    with served_mock(["--database-url", url]) as base_url: ...           # tests, bench

The server binds 127.0.0.1 on a free port (or `port`); `start_mock` waits until it
answers `ready_path` with a 200, and raises `MockStartError` with the tail of its
log if it exits first or does not answer in time. `stop_mock` sends TERM, then KILL.
The mock is a separate program: this starts it by command line, never by import.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx

from turingcore_client.wire import HttpTransport

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0
PROBE_TIMEOUT_S = 2.0
LOG_TAIL_CHARS = 3000


class MockStartError(RuntimeError):
    """The mock exited, or did not answer, before it was ready."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(probe: HttpTransport, path: str) -> bool:
    try:
        return probe.send_raw("GET", path, None, {}).status == 200
    except httpx.TransportError:
        return False


def _tail(log: IO[bytes]) -> str:
    log.flush()
    log.seek(0)
    return log.read().decode(errors="replace")[-LOG_TAIL_CHARS:]


def start_mock(
    args: Sequence[str],
    *,
    log: IO[bytes],
    executable: Path | None = None,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    port: int | None = None,
    ready_path: str = "/healthz",
    wait_s: float = START_TIMEOUT_S,
) -> tuple[subprocess.Popen[bytes], str]:
    """Run `mock-core serve --host 127.0.0.1 --port N *args` (`executable`, else this
    Python's `-m mock_core`), its output to `log` (a binary file open for reading too);
    return the process and its base URL once it answers `ready_path`."""
    port = port or free_port()
    base_url = f"http://127.0.0.1:{port}"
    command = [str(executable)] if executable else [sys.executable, "-m", "mock_core"]
    command += ["serve", "--host", "127.0.0.1", "--port", str(port), *args]
    process = subprocess.Popen(
        command, cwd=cwd, env=None if env is None else dict(env), stdout=log, stderr=log
    )
    probe = HttpTransport(base_url, PROBE_TIMEOUT_S)
    deadline = time.monotonic() + wait_s
    try:
        while not _answers(probe, ready_path):
            if process.poll() is not None:
                raise MockStartError(f"the mock exited with {process.returncode}:\n{_tail(log)}")
            if time.monotonic() > deadline:
                stop_mock(process)
                raise MockStartError(
                    f"the mock did not answer {ready_path} within {wait_s:.0f} s:\n{_tail(log)}"
                )
            time.sleep(0.1)
    finally:
        probe.close()
    return process, base_url


def stop_mock(process: subprocess.Popen[bytes]) -> None:
    """Terminate a mock we started, then kill it if it lingers."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(STOP_TIMEOUT_S)


def clean_env() -> dict[str, str]:
    """This process's environment without `MOCK_CORE_*` settings, unbuffered: the mock
    then runs with its defaults and the arguments it is given, nothing inherited."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOCK_CORE_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


@contextmanager
def served_mock(
    args: Sequence[str],
    *,
    executable: Path | None = None,
    cwd: Path | None = None,
    ready_path: str = "/healthz",
) -> Iterator[str]:
    """Serve the mock with `args` in a clean environment; yield its base URL; stop it
    however the block ends."""
    with tempfile.TemporaryFile() as log:
        process, base_url = start_mock(
            args, log=log, executable=executable, cwd=cwd, env=clean_env(), ready_path=ready_path
        )
        try:
            yield base_url
        finally:
            stop_mock(process)
