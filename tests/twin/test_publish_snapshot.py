"""`twin run --publish-snapshot NAME` against a real `mock-core serve` process.

A small run that passes is saved as the mock's named snapshot of its tenant; after
the tenant is reset, restoring the snapshot through the admin API gives back the
run's state digest exactly. A target without the admin endpoint is refused before
the run, in one line with exit code 2 and no traceback.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.twin.conftest import API_KEYS, PLATFORM_KEY
from turingcore_client.client import TuringCoreClient
from turingcore_client.errors import NotFoundError
from turingcore_client.serving import start_mock, stop_mock
from twin.cli import main

TENANT = "CU_SNAPSHOT"
SIZE = ["--customers", "8", "--days", "3", "--seed", "42", "--tenant-code", TENANT]

pytestmark = pytest.mark.slow


def serve(tmp: Path, *extra: str) -> tuple[Any, str]:
    args = ["--database-url", f"sqlite:///{tmp / 'db.sqlite'}", "--api-keys", API_KEYS]
    with (tmp / "server.log").open("w+b") as log:
        return start_mock([*args, "--no-access-log", *extra], log=log)


@pytest.fixture
def mock(tmp_path: Path) -> Iterator[str]:
    pytest.importorskip("mock_core.cli")
    process, base_url = serve(tmp_path)
    try:
        yield base_url
    finally:
        stop_mock(process)


def twin(*argv: str, base_url: str) -> int:
    return main([*argv, "--base-url", base_url, "--api-key", PLATFORM_KEY])


def run_and_publish(base_url: str, output: Path, name: str) -> int:
    argv = ["run", "steady-state", *SIZE, "--output", str(output), "--quiet"]
    return twin(*argv, "--publish-snapshot", name, base_url=base_url)


def inspected_digest(base_url: str, run_log: Path, out: Path) -> str:
    argv = ["inspect", TENANT, "--run-log", str(run_log), "--json", str(out)]
    assert twin(*argv, base_url=base_url) == 0
    return str(json.loads(out.read_text())["state_digest"])


def test_a_published_run_restores_to_the_same_digest(mock: str, tmp_path: Path) -> None:
    assert run_and_publish(mock, tmp_path / "run", "cu-small") == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["ok"] is True
    assert summary["snapshot"]["name"] == "cu-small"
    assert summary["snapshot"]["tenantId"] == TENANT
    assert summary["snapshot"]["events"] > 0
    run_log = tmp_path / "run" / "commands.jsonl"
    assert inspected_digest(mock, run_log, tmp_path / "before.json") == summary["state_digest"]

    with TuringCoreClient(mock, PLATFORM_KEY) as client:
        listed = client.admin_list_snapshots()
        assert [s["name"] for s in listed.body["snapshots"]] == ["cu-small"]
        assert client.admin_reset_tenant(TENANT).status == 200
        with pytest.raises(NotFoundError):  # the reset really emptied it
            client.get_tenant(TENANT)
        restored = client.admin_restore_snapshot("cu-small", TENANT)
        assert restored.status == 200, restored.body
        assert restored.body["restored"]["tenantId"] == TENANT
        assert client.get_tenant(TENANT)["tenantId"] == TENANT
    after = inspected_digest(mock, run_log, tmp_path / "after.json")
    assert after == summary["state_digest"]


def test_a_target_without_the_admin_endpoint_is_refused_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("mock_core.cli")
    process, base_url = serve(tmp_path, "--no-admin")
    try:
        code = run_and_publish(base_url, tmp_path / "run", "cu-small")
        with TuringCoreClient(base_url, PLATFORM_KEY) as client, pytest.raises(NotFoundError):
            client.get_tenant(TENANT)  # nothing was sent: refused before the run
    finally:
        stop_mock(process)
    out = capsys.readouterr()
    assert code == 2
    lines = [line for line in out.out.splitlines() if line.strip()]
    assert len(lines) == 1, out.out
    assert lines[0].startswith("twin: ")
    assert "GET /_mock/snapshots gave 404" in lines[0]
    assert "Traceback" not in out.out + out.err


def test_a_bad_snapshot_name_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "steady-state", "--publish-snapshot", "../etc"])
    assert exit_info.value.code == 2
    assert "'../etc' is not a snapshot name" in capsys.readouterr().err
