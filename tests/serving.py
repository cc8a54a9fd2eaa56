"""One way for tests to run a `mock-core serve` process: the kit's.

    with served_mock(["--database-url", url]) as base_url: ...
    with served_mock(args, executable=venv / "mock-core") as base_url: ...

See `turingcore_client.serving`: a free port on 127.0.0.1, a wait for `ready_path`
(failing with the server's log if it exits first), TERM then KILL at the end.

Tests that restart the mock, or kill -9 it, hold a `MockServer` (one store, one port,
one log, started as often as they like by the same `start_mock`), made by `Servers`,
which stops every one of them at the end (the `servers` fixtures).
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

from turingcore_client.serving import clean_env, free_port, served_mock, start_mock, stop_mock

__all__ = ["MockServer", "Servers", "free_port", "served_mock", "serving"]

REPO = Path(__file__).resolve().parents[1]
KILL_WAIT_S = 15.0


class MockServer:
    """One `mock-core serve` process on the SQLite file `db` (or the database at the URL
    `db`), on a port of its own that a restart keeps, its output appended to `log`."""

    def __init__(
        self,
        db: Path | str,
        log: Path,
        *,
        api_keys: str | None,
        env: Mapping[str, str] | None = None,
        port: int | None = None,
    ) -> None:
        self.db = db
        self.database_url = db if isinstance(db, str) else f"sqlite:///{db}"
        self.log = log
        self.api_keys = api_keys
        self.env = dict(env) if env is not None else clean_env()
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def args(self) -> list[str]:
        args = ["--database-url", self.database_url, "--no-access-log"]
        if self.api_keys is not None:
            args += ["--api-keys", self.api_keys]
        return args

    def start(self) -> MockServer:
        """Start (or restart, same port and store) and wait until it answers /healthz."""
        if self.running:
            raise RuntimeError("already running")
        with self.log.open("a+b") as log:
            log.write(f"--- start {self.starts}\n".encode())
            self.starts += 1
            self.proc, _ = start_mock(self.args(), log=log, cwd=REPO, env=self.env, port=self.port)
        return self

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> int | None:
        """kill -9 this server (by its own pid), reap it; its exit status."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=KILL_WAIT_S)
        return None if self.proc is None else self.proc.returncode

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL if it lingers; its exit status."""
        if self.proc is None:
            return None
        stop_mock(self.proc)
        return self.proc.returncode


class Servers:
    """Makes `MockServer`s in `workdir` (each with the same keys and environment) and
    stops every one of them at the end."""

    def __init__(
        self, workdir: Path, *, api_keys: str | None, env: Mapping[str, str] | None = None
    ) -> None:
        self.workdir = workdir
        self.api_keys = api_keys
        self.env = env
        self.started: list[MockServer] = []

    def new(self, db: Path | str | None = None, **kwargs: Any) -> MockServer:
        n = len(self.started)
        options: dict[str, Any] = {"api_keys": self.api_keys, "env": self.env, **kwargs}
        server = MockServer(
            db or self.workdir / f"store-{n}.db", self.workdir / f"server-{n}.log", **options
        )
        self.started.append(server)
        return server

    def start(self, db: Path | str | None = None, **kwargs: Any) -> MockServer:
        return self.new(db, **kwargs).start()

    def stop_all(self) -> None:
        for server in self.started:
            server.stop()


S = TypeVar("S", bound=Servers)


def serving(servers: S) -> Iterator[S]:
    """The body of a `servers` fixture: yield the manager, stop its servers however the
    test ends."""
    try:
        yield servers
    finally:
        servers.stop_all()
