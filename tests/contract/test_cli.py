"""`contract-test` exit codes: 0 conforms, 1 non-conformance, 2 usage error or unreachable."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import httpx
import pytest

from contract_tests.cli import EXIT_NONCONFORMANCE, EXIT_OK, EXIT_USAGE, main, parse_scoped_keys
from contract_tests.target import in_process_target
from tests.contract.test_schema_suite import rewrite_responses, server_error_on_bad_input

ROOT = Path(__file__).resolve().parents[2]
SMALL = ["--suite", "schema", "--max-examples", "5", "--phases", "examples,fuzzing"]


def broken_app() -> Any:
    """The mock with one defect (a 500 for a command that fails validation), for --target-app."""
    return rewrite_responses(in_process_target().app, server_error_on_bad_input)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_in_process_mock_conforms(tmp_path: Path) -> None:
    operations = "getTenant,listAccounts,getAccount"
    code = main(["run", *SMALL, "--operations", operations, "--report-dir", str(tmp_path)])
    assert code == EXIT_OK
    assert {p.name for p in tmp_path.iterdir()} == {"junit.xml", "report.md", "report.html"}


def test_run_is_the_default_command(tmp_path: Path) -> None:
    code = main([*SMALL, "--operations", "getTenant", "--report-dir", str(tmp_path)])
    assert code == EXIT_OK


def test_a_broken_target_exits_1_and_says_where(tmp_path: Path) -> None:
    junit = tmp_path / "ci" / "contract.xml"
    # More examples than SMALL: the defect shows only on a command refused with a
    # VALIDATION_ERROR, and a handful of negative cases may draw none.
    code = main(
        [
            *SMALL,
            "--max-examples",
            "25",
            "--operations",
            "submitCommand",
            "--target-app",
            "tests.contract.test_cli:broken_app()",
            "--report-dir",
            str(tmp_path),
            "--junit",
            str(junit),
        ]
    )
    assert code == EXIT_NONCONFORMANCE
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    failed = [
        case.get("name") for case in suite.iter("testcase") if case.find("failure") is not None
    ]
    assert "submitCommand" in failed
    assert "not_a_server_error" in (tmp_path / "report.md").read_text()


def test_an_unreachable_base_url_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    code = main(["--base-url", url, "--api-key", "whatever-key", "--report-dir", str(tmp_path)])
    assert code == EXIT_USAGE
    assert "cannot reach" in capsys.readouterr().out
    assert not (tmp_path / "report.md").exists()


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert main(["--scoped-key", "no-equals-sign", "--report-dir", str(tmp_path)]) == EXIT_USAGE
    assert main(["--target-app", "no_such_module:app"]) == EXIT_USAGE
    with pytest.raises(SystemExit) as exited:
        main(["--suite", "nonsense"])
    assert exited.value.code == EXIT_USAGE
    assert main(["diff", "--left", "http://127.0.0.1:1"]) == EXIT_USAGE


def test_a_scoped_key_alone_is_refused_with_a_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "--target-app",
            "tests.contract.test_cli:broken_app()",
            "--api-key",
            "contract-tenant-a-key",
        ]
    )
    assert code == EXIT_USAGE
    assert "not a platform key" in capsys.readouterr().out


def test_parse_scoped_keys() -> None:
    assert parse_scoped_keys(["CU_A=key-a", " CU_B = key-b "]) == {"CU_A": "key-a", "CU_B": "key-b"}


def test_against_a_separately_served_mock(tmp_path: Path) -> None:
    """`mock-core serve` in a subprocess, then `contract-test --base-url` against it."""
    port = _free_port()
    key = "served-platform-key"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mock_core",
            "serve",
            "--port",
            str(port),
            "--database-url",
            f"sqlite:///{tmp_path}/served.db",
            "--api-keys",
            f"{key}=*",
            "--no-access-log",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail(f"mock-core serve did not start: {server.stderr and server.stderr.read()}")
        code = main(
            ["--base-url", base, "--api-key", key, *SMALL, "--report-dir", str(tmp_path / "r")]
        )
        assert code == EXIT_OK, (tmp_path / "r" / "report.md").read_text()
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
