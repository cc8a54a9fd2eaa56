"""`contract-test` exit codes: 0 conforms, 1 non-conformance, 2 usage error, unreachable or
not a TuringCore service, 3 incomplete; every error is one line.

The verdicts themselves (INCOMPLETE, not exercised, the probe, --format json) are in
test_verdicts.py.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from contract_tests.cli import (
    EXIT_NONCONFORMANCE,
    EXIT_OK,
    EXIT_USAGE,
    build_parser,
    main,
    parse_scoped_keys,
)
from contract_tests.target import in_process_target
from tests.contract.test_schema_suite import rewrite_responses, server_error_on_bad_input
from turingcore_client.serving import free_port, served_mock

ROOT = Path(__file__).resolve().parents[2]
SMALL = ["--suite", "schema", "--max-examples", "5", "--phases", "examples,fuzzing"]


def broken_app() -> Any:
    """The mock with one defect (a 500 for a command that fails validation), for --target-app."""
    return rewrite_responses(in_process_target().app, server_error_on_bad_input)


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


def cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run `contract-test argv` in process: (exit code, stdout, stderr)."""
    try:
        code = main(argv)
    except SystemExit as exited:  # argparse: --help, --version and usage errors
        code = int(exited.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("contract-test: "), lines[0]
    assert "Traceback" not in err
    return lines[0]


def test_an_unreachable_base_url_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    argv = ["--base-url", url, "--api-key", "whatever-key", "--report-dir", str(tmp_path)]
    code, out, err = cli(argv, capsys)
    assert code == EXIT_USAGE
    assert "cannot reach" in one_error_line(err) and out == ""
    assert not (tmp_path / "report.md").exists()


MISUSES = {
    # argv: what the one line says
    "negative examples": (["--max-examples", "-5"], "must be 1 or more"),
    "zero examples": (["--max-examples", "0"], "must be 1 or more"),
    "not a number": (["--max-examples", "many"], "is not a whole number"),
    "negative seed": (["--seed", "-1"], "must be 0 or more"),
    "zero ledger steps": (["--ledger-steps", "0"], "must be 1 or more"),
    "negative ledger examples": (["--ledger-examples", "-2"], "must be 1 or more"),
    "zero timeout": (["--timeout", "0"], "more than 0 seconds"),
    "timeout not a number": (["--timeout", "soon"], "not a number of seconds"),
    "unknown phase": (["--phases", "examples,nonsense"], "unknown phases nonsense"),
    "empty operations": (["--operations", ","], "at least one operationId"),
    "unknown suite": (["--suite", "nonsense"], "invalid choice"),
    "unknown format": (["--format", "yaml"], "invalid choice"),
    "unknown option": (["--no-such-option"], "unrecognized arguments"),
    "diff: negative customers": (["diff", "--customers", "-5"], "must be 1 or more"),
    "diff: zero days": (["diff", "--days", "0"], "must be 1 or more"),
    "run: negative examples": (["run", "--max-examples", "-1"], "must be 1 or more"),
    "bad URL scheme": (["--base-url", "ftp://core.example"], "not an http(s) URL"),
    "URL without a host": (["--base-url", "http://"], "--base-url"),
    "not a URL": (["--base-url", "core example"], "--base-url"),
    "diff: bad left URL": (
        ["diff", "--left", "file:///etc", "--right", "http://127.0.0.1:1"],
        "--left 'file:///etc' is not an http(s) URL",
    ),
    "diff without --right": (["diff", "--left", "http://127.0.0.1:1"], "diff needs --right"),
    "scoped key without =": (["--scoped-key", "no-equals-sign"], "--scoped-key takes TENANT=KEY"),
    "unknown app": (["--target-app", "no_such_module:app"], "cannot load the app"),
    "missing spec file": (["--spec", "/no/such/contract.yaml"], "no such file"),
}


@pytest.mark.parametrize("name", list(MISUSES))
def test_each_misuse_is_one_line_and_exit_2(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv, said = MISUSES[name]
    code, out, err = cli([*argv, "--report-dir", str(tmp_path)], capsys)
    assert code == EXIT_USAGE, (code, out, err)
    assert said in one_error_line(err)
    assert out == ""


def test_a_usage_error_with_format_json_is_also_a_json_document(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    argv = ["--format", "json", "--max-examples", "-5", "--report-dir", str(tmp_path)]
    code, out, err = cli(argv, capsys)
    assert code == EXIT_USAGE
    assert "must be 1 or more" in one_error_line(err)
    document = json.loads(out)
    assert document["exit_code"] == EXIT_USAGE and "must be 1 or more" in document["error"]


def test_a_bad_base_url_in_the_environment_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TURINGCORE_BASE_URL", "core.example:8080")
    code, _, err = cli(["--report-dir", str(tmp_path)], capsys)
    assert code == EXIT_USAGE
    assert "TURINGCORE_BASE_URL 'core.example:8080'" in one_error_line(err)


def test_a_report_dir_that_cannot_be_made_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    for argv in (
        ["--report-dir", str(a_file / "reports")],
        ["--report-dir", str(tmp_path / "ok"), "--junit", str(a_file / "junit.xml")],
        ["diff", "--report-dir", str(a_file / "reports"), "--left", "http://127.0.0.1:1"],
    ):
        code, _, err = cli(argv, capsys)
        assert code == EXIT_USAGE, argv
        assert f"cannot write reports to {a_file}" in one_error_line(err), argv


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        pytest.param("contract-tenant-a-key", "not a platform key", id="scoped-key-alone"),
        pytest.param("no-such-key-anywhere", "refused the API key (401)", id="wrong-key"),
    ],
)
def test_a_bad_key_is_refused_with_a_reason(
    key: str, reason: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--target-app", "tests.contract.test_cli:broken_app()"]
    argv += ["--api-key", key, "--report-dir", str(tmp_path)]
    code, _, err = cli(argv, capsys)
    assert code == EXIT_USAGE
    assert reason in one_error_line(err)


def test_an_unexpected_error_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(target: Any) -> None:
        raise RuntimeError("something\nbroke")

    monkeypatch.setattr("contract_tests.cli.probe", boom)
    code, _, err = cli(["--report-dir", str(tmp_path)], capsys)
    assert code == EXIT_USAGE
    line = one_error_line(err)
    assert "unexpected error: RuntimeError: something broke" in line
    assert "CONTRACT_TEST_TRACEBACK=1" in line


def test_help_shows_the_main_options_and_the_exit_codes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = cli(["--help"], capsys)
    assert code == EXIT_OK
    for option in ("--base-url", "--api-key", "--scoped-key", "--timeout", "--format", "diff"):
        assert option in out, option
    assert "3 incomplete" in " ".join(out.split())
    code, out, _ = cli(["diff", "--help"], capsys)
    assert code == EXIT_OK and "--left" in out and "--timeout" in out


def test_version_names_the_tool_and_the_distribution(capsys: pytest.CaptureFixture[str]) -> None:
    import importlib.metadata

    code, out, _ = cli(["--version"], capsys)
    assert code == EXIT_OK
    assert out.strip() == f"contract-test {importlib.metadata.version('turingcore-kit')}"


def test_parse_scoped_keys() -> None:
    assert parse_scoped_keys(["CU_A=key-a", " CU_B = key-b "]) == {"CU_A": "key-a", "CU_B": "key-b"}


def test_the_options_work_with_and_without_run() -> None:
    """`contract-test --base-url ...` and `contract-test run --base-url ...` are the same."""
    argv = ["--base-url", "http://core.example", "--api-key", "k", "--seed", "7"]
    top = build_parser().parse_args(argv)
    run = build_parser().parse_args(["run", *argv])
    for name in ("base_url", "api_key", "seed", "suite", "report_dir", "timeout", "format"):
        assert getattr(top, name) == getattr(run, name), name
    assert top.command is None and run.command == "run"
    assert build_parser().parse_args(["diff", "--left", "http://a"]).seed == 42


def test_against_a_separately_served_mock(tmp_path: Path) -> None:
    """`mock-core serve` in a subprocess (the kit's helper), then `contract-test
    --base-url` against it."""
    key = "served-platform-key"
    args = ["--database-url", f"sqlite:///{tmp_path}/served.db", "--api-keys", f"{key}=*"]
    with served_mock([*args, "--no-access-log"], cwd=ROOT) as base:
        code = main(
            ["--base-url", base, "--api-key", key, *SMALL, "--report-dir", str(tmp_path / "r")]
        )
    assert code == EXIT_OK, (tmp_path / "r" / "report.md").read_text()
