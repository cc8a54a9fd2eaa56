"""`twin` misused: each mistake ends in one line on stderr or stdout and exit code 2.

Each case is what a user was seen to hit: a negative count, a URL that is not
http(s), a key scoped to one tenant used to create it, and a tenant that already
holds data the run did not make (the README's curl example, then `twin run`).
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.twin.conftest import PLATFORM_KEY
from turingcore_client.serving import start_mock, stop_mock

SCOPED_KEY = "scoped-key-cu-digital"
KEYS = f"{PLATFORM_KEY}=*;{SCOPED_KEY}=CU_DIGITAL"
EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "published-examples.json"


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("cli-errors")
    args = ["--database-url", f"sqlite:///{tmp / 'db.sqlite'}", "--api-keys", KEYS]
    with (tmp / "server.log").open("w+b") as log:
        process, url = start_mock(args, log=log)
    try:
        yield url
    finally:
        stop_mock(process)


def twin(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "twin", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=cwd)


def one_line_exit_2(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    said = (result.stdout + result.stderr).strip()
    assert result.returncode == 2, said
    assert "Traceback" not in said, said
    assert len(said.splitlines()) == 1, said
    for fragment in fragments:
        assert fragment in said, said


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--customers", "-5"], "--customers: -5 is below 1"),
        (["--days", "0"], "--days: 0 is below 1"),
        (["--customers", "ten"], "'ten' is not a whole number"),
        (["--concurrency", "0"], "--concurrency: 0 is below 1"),
        (["--timeout", "-1"], "--timeout"),
        (["--tenant-code", "cu digital"], "is not a tenant code"),
        (["--base-url", "ftp://example"], "--base-url: not an http(s) URL"),
    ],
)
def test_bad_arguments_are_one_line(tmp_path: Path, args: list[str], fragment: str) -> None:
    result = twin("run", "steady-state", *args, "--output", str(tmp_path), cwd=tmp_path)
    one_line_exit_2(result, fragment)


def test_version(tmp_path: Path) -> None:
    result = twin("--version", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.startswith("twin "), result


def test_a_key_that_may_not_create_the_tenant_stops_the_run(base_url: str, tmp_path: Path) -> None:
    result = twin(
        "run", "steady-state", "--customers", "3", "--days", "1", "--quiet",
        "--base-url", base_url, "--api-key", SCOPED_KEY, "--output", str(tmp_path),
        cwd=tmp_path,
    )  # fmt: skip
    said = (result.stdout + result.stderr).strip()
    assert result.returncode == 2, said
    assert "Traceback" not in said, said
    last = said.splitlines()[-1]
    assert "403 FORBIDDEN on CreateTenant" in last and "platform key" in last, said


def test_a_tenant_holding_other_data_is_refused_with_the_way_out(
    base_url: str, tmp_path: Path
) -> None:
    # The README's example first: the published CreateTenant and CreateCustomer.
    examples = json.loads(EXAMPLES.read_text())
    headers = {"Authorization": f"Bearer {PLATFORM_KEY}"}
    for example in examples[0], examples[5]:
        envelope = {
            "commandId": str(uuid.uuid4()),
            "tenantId": "CU_DIGITAL",
            "commandType": example["commandType"],
            "actor": {"actorType": "USER", "actorId": "readme"},
            "timestamp": "2025-01-01T00:00:00Z",
            "payload": example["payload"],
        }
        reply = httpx.post(
            f"{base_url}/v1/tenants/CU_DIGITAL/commands", json=envelope, headers=headers
        )
        assert reply.status_code == 202, reply.text
    result = twin(
        "run", "steady-state", "--customers", "3", "--days", "1", "--quiet",
        "--base-url", base_url, "--api-key", PLATFORM_KEY, "--output", str(tmp_path),
        cwd=tmp_path,
    )  # fmt: skip
    one_line_exit_2(result, "CU_DIGITAL already holds data", "CUST-000123", "twin reset CU_DIGITAL")
    # The way out it names works: another tenant code.
    elsewhere = twin(
        "run", "steady-state", "--customers", "3", "--days", "1", "--quiet",
        "--tenant-code", "CU_ELSEWHERE", "--base-url", base_url, "--api-key", PLATFORM_KEY,
        "--output", str(tmp_path / "elsewhere"),
        cwd=tmp_path,
    )  # fmt: skip
    assert elsewhere.returncode == 0, elsewhere.stdout + elsewhere.stderr
