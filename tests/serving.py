"""One way for tests to run a `mock-core serve` process: a free port, a wait, a stop.

    with served_mock(["--database-url", url]) as base_url: ...
    with served_mock(args, executable=venv / "mock-core") as base_url: ...

The server binds 127.0.0.1 on a free port; the context waits for it to answer
`ready_path` (failing with its stderr if it exits first) and stops it (TERM, then
KILL) however the test ends.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def served_mock(
    args: Sequence[str],
    *,
    executable: Path | None = None,
    cwd: Path | None = None,
    ready_path: str = "/healthz",
) -> Iterator[str]:
    """Serve the mock with `args` (after `serve --port N`); yield its base URL."""
    port = free_port()
    command = [str(executable)] if executable else [sys.executable, "-m", "mock_core"]
    command += ["serve", "--host", "127.0.0.1", "--port", str(port), *args]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOCK_CORE_")}
    env["PYTHONUNBUFFERED"] = "1"
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=log)
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while True:
                try:
                    if httpx.get(base + ready_path, timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    said = log.read().decode(errors="replace")[-3000:]
                    raise AssertionError(f"the mock did not come up ({command}):\n{said}")
                time.sleep(0.1)
            yield base
        finally:
            server.terminate()
            try:
                server.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(STOP_TIMEOUT_S)
