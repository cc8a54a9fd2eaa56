"""`mock-core` misused: each mistake is one line on stderr and exit code 2, before serving.

Each case is one a user was seen to hit (or one like it): a port out of range or
already taken, a store that cannot be opened (an unreachable PostgreSQL, a SQLite
path under a file), settings that do not parse (a short key, a URL of another
database), a missing contract file.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.serving import free_port


def mock_core(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("MOCK_CORE_")}
    argv = [sys.executable, "-m", "mock_core", *args]
    return subprocess.run(
        argv, cwd=cwd, env={**base, **(env or {})}, capture_output=True, text=True, timeout=60
    )


def one_line_exit_2(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    said = result.stderr.strip()
    assert result.returncode == 2, (result.returncode, said, result.stdout)
    assert "Traceback" not in said, said
    assert len(said.splitlines()) == 1, said
    assert "serving" not in said, "announced before it could serve"
    for fragment in fragments:
        assert fragment in said, said


def unused_port() -> int:
    # A port that nothing listens on: connecting to it is refused at once.
    return free_port()


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--port", "99999"], ["port 99999 is outside 1..65535"]),
        (["--port", "0"], ["port 0 is outside 1..65535"]),
        (["--port", "http"], ["port 'http' is not a number"]),
        (["--workers", "0"], ["--workers: 0 is below 1"]),
        (["--no-such-flag"], ["unrecognized arguments: --no-such-flag"]),
        (["--api-keys", "short=*"], ["bad settings", "shorter than 8 characters"]),
        (["--api-keys", "no-scope-key-123"], ["bad settings", "must look like KEY=SCOPE"]),
        (["--database-url", "mysql://db/x"], ["bad settings", "database_url must be"]),
        (
            ["--database-url", "sqlite:////etc/passwd/x.db"],
            ["cannot open the database sqlite:////etc/passwd/x.db"],
        ),
        (
            [
                "--database-url",
                f"postgresql+psycopg://postgres@127.0.0.1:{unused_port()}/nowhere",
            ],
            ["cannot open the database postgresql+psycopg://", "connection"],
        ),
        (["--workers", "2", "--database-url", "sqlite:///x.db"], ["SQLite takes one worker"]),
    ],
)
def test_a_mistake_is_one_line_and_exit_2(
    tmp_path: Path, args: list[str], fragments: list[str]
) -> None:
    one_line_exit_2(mock_core("serve", *args, cwd=tmp_path), *fragments)


def test_a_port_in_use_is_refused_before_it_is_announced(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = mock_core(
            "serve", "--port", str(port), "--database-url", f"sqlite:///{tmp_path}/x.db",
            cwd=tmp_path,
        )  # fmt: skip
    one_line_exit_2(result, f"cannot listen on 127.0.0.1:{port}: the port is in use")


def test_a_missing_contract_file_is_refused(tmp_path: Path) -> None:
    result = mock_core(
        "serve", "--database-url", f"sqlite:///{tmp_path}/x.db",
        cwd=tmp_path, env={"MOCK_CORE_SPEC_PATH": str(tmp_path / "nope.yaml")},
    )  # fmt: skip
    one_line_exit_2(result, "the contract file", "does not exist")


def test_migrate_refuses_an_unopenable_store_in_one_line(tmp_path: Path) -> None:
    result = mock_core("migrate", "--database-url", "sqlite:////etc/passwd/x.db", cwd=tmp_path)
    one_line_exit_2(result, "cannot open the database")


def test_version(tmp_path: Path) -> None:
    result = mock_core("--version", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.startswith("mock-core 0."), result
