"""Record and replay (docs/proxy.md): the twin's traffic recorded by the proxy in front
of a SQLite mock, then replayed against another SQLite mock, a PostgreSQL mock and
broken variants, with the recorded mock as the reference (noise learned on it)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from contract_tests.cli import main
from contract_tests.proxy import ValidatingProxy, api_prefix_of
from contract_tests.proxy_checks import Observer
from tests.conftest import create_database, drop_database, postgres_problem
from tests.contract.asgi_threads import serve_in_thread
from tests.contract.broken import broken_target
from tests.contract.test_proxy import _run_twin
from tests.serving import served_mock
from turingcore_client.contract import spec


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """(the recording of a twin run through the proxy, the recorded mock's URL)."""
    work = tmp_path_factory.mktemp("recorded")
    args = ["--database-url", f"sqlite:///{work}/recorded.db", "--no-access-log"]
    with served_mock(args) as upstream:
        recording = work / "traffic.jsonl"
        with recording.open("wb") as out, open(os.devnull, "w") as quiet:
            observer = Observer(spec(), api_prefix_of(upstream))
            app = ValidatingProxy(upstream, observer, record=out, out=quiet)
            with serve_in_thread(app) as url:
                assert _run_twin(url, work / "twin") == 0
        assert observer.findings == []
        yield recording, upstream


def _replay(recording: Path, base_url: str, reference: str | None, tmp: Path) -> int:
    argv = ["replay", str(recording), "--base-url", base_url, "--report-dir", str(tmp / "r")]
    return main([*argv, "--reference", reference] if reference else argv)


def test_the_recording(recorded: tuple[Path, str]) -> None:
    lines = [orjson.loads(line) for line in recorded[0].read_bytes().splitlines()]
    commands = [x for x in lines if x["request"]["path"].endswith("/commands")]
    assert len(commands) > 100 and len(lines) > len(commands)
    for line in lines:
        assert set(line) >= {"request", "reply", "timing"}
        assert {"method", "path", "query", "headers"} <= set(line["request"])
        assert ["authorization", "REDACTED"] in line["request"]["headers"]
    assert b"dev-platform-key" not in recorded[0].read_bytes()


def test_replay_on_another_sqlite_mock_agrees(
    recorded: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--database-url", f"sqlite:///{tmp_path}/other.db", "--no-access-log"]
    with served_mock(args) as other:
        assert _replay(recorded[0], other, recorded[1], tmp_path) == 0
    out = capsys.readouterr().out
    assert "the replay agrees with the reference" in out and "no difference" in out


def test_replay_without_a_reference_agrees_with_the_recording(
    recorded: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--database-url", f"sqlite:///{tmp_path}/other.db", "--no-access-log"]
    with served_mock(args) as other:
        argv = ["replay", str(recorded[0]), "--base-url", other, "--format", "json"]
        assert main([*argv, "--report-dir", str(tmp_path / "r")]) == 0
    out = capsys.readouterr()
    assert "the replay agrees with the recording" in out.err
    document = orjson.loads(out.out)
    assert (document["differences"], document["exit_code"]) == (0, 0)


def test_replay_on_a_postgres_mock_agrees(
    recorded: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    problem = postgres_problem()
    if problem is not None:
        pytest.skip(f"no PostgreSQL mock to replay on: {problem}")
    name, url = create_database("mock_core_replay")
    try:
        with served_mock(["--database-url", url, "--no-access-log"]) as other:
            assert _replay(recorded[0], other, recorded[1], tmp_path) == 0
    finally:
        drop_database(name)
    assert "no difference" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("variant", "shown"),
    [
        ("flipped_sign", "its accounts: [1].accounts[0].balance: expected -"),
        ("replay_different_body", "[1].acceptedAt: expected '<0:[1].acceptedAt>'"),
    ],
)
def test_replay_on_a_broken_variant_reports_the_difference(
    variant: str,
    shown: str,
    recorded: tuple[Path, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with broken_target(variant) as target, serve_in_thread(target.app) as up:
        assert _replay(recorded[0], up, recorded[1], tmp_path) == 1
    out = capsys.readouterr().out
    assert "the replay differs from the reference" in out
    assert shown in out
    assert "failed" in (tmp_path / "r" / "report.md").read_text()


def test_replay_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = ["replay", str(tmp_path / "none.jsonl"), "--base-url", "http://127.0.0.1:9"]
    assert main([*missing, "--report-dir", str(tmp_path / "r")]) == 2
    assert "no such recording" in capsys.readouterr().err
    assert main(["replay", str(tmp_path), "--base-url", "not a url"]) == 2
    assert "--base-url" in capsys.readouterr().err
