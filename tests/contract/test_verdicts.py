"""Verdicts you can put in a gate.

- An interrupted (SIGINT, SIGTERM) or timed-out run is INCOMPLETE, exit 3, in the console,
  report.md, report.html, JUnit and the JSON output: never CONFORMS.
- A row none of whose checks ran is "not exercised", never a pass; a published row not
  exercised makes the run INCOMPLETE. The ledger suite's scripted sequence exercises
  every row at every seed, and catches a defect the exploration misses at seed 1.
- The probe refuses a service that does not answer like TuringCore (a `200 {}` server,
  a static file server's HTML 404s): exit 2, one line.
- `--format json` prints one JSON document; the diff says "the two services agree" or
  names the differences.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from functools import partial
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import pytest

from contract_tests import ledger
from contract_tests.cli import EXIT_INCOMPLETE, EXIT_NONCONFORMANCE, EXIT_OK, EXIT_USAGE
from contract_tests.ledger import ROWS, run_ledger_suite
from contract_tests.report import html_report, junit_xml, markdown_report, verdict_line
from contract_tests.results import (
    CONFORMS,
    DOES_NOT_CONFORM,
    INCOMPLETE,
    NOT_EXERCISED,
    SuiteResult,
    judge,
)
from contract_tests.target import DEFAULT_PLATFORM_KEY, Target, in_process_target
from tests.contract.broken import rewrite_requests
from tests.contract.test_cli import cli, one_error_line

ROOT = Path(__file__).resolve().parents[2]
QUICK_LEDGER: dict[str, Any] = {"max_examples": 3, "steps": 10, "shrink": False}


# --- servers that are not TuringCore -----------------------------------------------------


class _EmptyObject(BaseHTTPRequestHandler):
    """`200 {}` to every request."""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def answers_200() -> Iterator[str]:
    yield from _serve(_EmptyObject)


@pytest.fixture
def static_files(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "index.html").write_text("<h1>a static site</h1>")
    yield from _serve(partial(_Quiet, directory=str(tmp_path)))


def _serve(handler: Any) -> Iterator[str]:
    """python's http.server on a free 127.0.0.1 port, stopped at the end of the test."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_a_server_answering_200_empty_to_everything_is_refused(
    answers_200: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--base-url", answers_200, "--api-key", "k", "--report-dir", str(tmp_path)]
    code, out, err = cli(argv, capsys)
    assert code == EXIT_USAGE
    line = one_error_line(err)
    assert f"{answers_200} is not a TuringCore service" in line
    assert "answered 200 application/json '{}'" in line  # what it saw
    assert out == "" and not (tmp_path / "report.md").exists()


def test_a_static_file_server_is_refused(
    static_files: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--base-url", static_files, "--api-key", "k", "--report-dir", str(tmp_path)]
    code, out, err = cli([*argv, "--format", "json"], capsys)
    assert code == EXIT_USAGE
    line = one_error_line(err)
    assert f"{static_files} is not a TuringCore service" in line
    assert "answered 404 text/html" in line
    document = json.loads(out)  # even an error is one JSON document with --format json
    assert document["exit_code"] == EXIT_USAGE and "not a TuringCore service" in document["error"]


def test_diff_refuses_a_side_that_is_not_turingcore(
    answers_200: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["diff", "--left-app", "tests.contract.test_cli:broken_app()", "--right", answers_200]
    code, _, err = cli([*argv, "--report-dir", str(tmp_path)], capsys)
    assert code == EXIT_USAGE
    assert f"{answers_200} is not a TuringCore service" in one_error_line(err)


def test_a_service_that_answers_nothing_useful_is_not_exercised(answers_200: str) -> None:
    """Past the probe (the suite called directly), a `200 {}` service fails its first
    step and every other row is not exercised: none reads as a pass."""
    result = run_ledger_suite(Target(answers_200, DEFAULT_PLATFORM_KEY), **QUICK_LEDGER)
    assert result.error is None, result.error
    statuses = {row.name: row.status for row in result.rows}
    assert statuses["accepted:CreateTenant"] == "failed"
    assert [name for name, status in statuses.items() if status == "passed"] == []
    assert set(statuses.values()) == {"failed", NOT_EXERCISED, "not offered"}
    missing = len(result.not_exercised)
    assert missing == sum(1 for row in result.rows if row.extension is None) - 1
    assert judge([result]).word == DOES_NOT_CONFORM
    text = markdown_report([result], answers_200)
    assert text.count("| **not exercised** |") == missing
    assert f"{missing} not exercised" in verdict_line([result])


# --- not exercised -----------------------------------------------------------------------


def _partly_exercised() -> list[SuiteResult]:
    schema = SuiteResult("schema")
    schema.row("submitCommand").record(True)
    schema.row("listCustomers")  # published, never ran
    schema.mark_extension("listEvents", "tenant_stream", False)  # not offered
    return [schema]


def test_a_published_row_not_exercised_is_incomplete_everywhere() -> None:
    results = _partly_exercised()
    judged = judge(results)
    assert judged.word == INCOMPLETE and judged.exit_code == EXIT_INCOMPLETE
    assert [row.name for row in judged.not_exercised] == ["listCustomers"]
    line = verdict_line(results)
    assert line.startswith("INCOMPLETE (1 rows not exercised (schema listCustomers))")
    assert "1 not exercised, 1 not offered" in line
    text = markdown_report(results, "t")
    assert "**Verdict**: INCOMPLETE" in text
    assert "| listCustomers | published | **not exercised** | 0 | 0 | 0 |" in text
    assert "| listEvents | extension tenant_stream (not offered) | not offered |" in text
    assert '<tr class="skip missing">' in html_report(results, "t")
    root = ET.fromstring(junit_xml(results, "t"))
    assert root.get("verdict") == INCOMPLETE
    skipped = root.find(".//testcase[@name='listCustomers']/skipped")
    assert skipped is not None and (skipped.get("message") or "").startswith("not exercised")
    offered = root.find(".//testcase[@name='listEvents']/skipped")
    assert offered is not None and "not offered" in (offered.get("message") or "")
    error = root.find(".//testcase[@name='completeness']/error")
    assert error is not None and error.get("message") == f"{INCOMPLETE}: 1 rows not exercised"


def test_an_extension_row_not_offered_does_not_count_against_the_target() -> None:
    schema = SuiteResult("schema")
    schema.row("submitCommand").record(True)
    schema.mark_extension("listEvents", "tenant_stream", False)
    assert judge([schema]).word == CONFORMS
    # An extension the target offers must run like a published row.
    schema.mark_extension("listEvents", "tenant_stream", True)
    assert judge([schema]).word == INCOMPLETE


def test_rows_the_exploration_left_out_make_the_cli_incomplete(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the scripted sequence a short exploration leaves invariants unexercised:
    the run is INCOMPLETE (exit 3) and names them, where it used to pass."""
    built = ledger.build_machine

    def without_script(*args: Any, **kwargs: Any) -> Any:
        machine = built(*args, **kwargs)

        class Unscripted(machine):  # type: ignore[valid-type,misc]
            def scripted(self) -> None:
                pass

        return Unscripted

    monkeypatch.setattr(ledger, "build_machine", without_script)
    argv = ["--suite", "ledger", "--ledger-examples", "1", "--ledger-steps", "2"]
    code, out, _ = cli([*argv, "--report-dir", str(tmp_path)], capsys)
    assert code == EXIT_INCOMPLETE, out
    report = (tmp_path / "report.md").read_text()
    assert "**Verdict**: INCOMPLETE" in report
    assert "TIME_ZONE_MUST_BE_VALID" in report.split("**Not exercised**:", 1)[1].split("\n")[0]
    assert "not exercised" in out and "INCOMPLETE" in out


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_the_scripted_sequence_exercises_every_row_at_every_seed(seed: int) -> None:
    result = run_ledger_suite(in_process_target(), seed=seed, **QUICK_LEDGER)
    assert result.ok, {row.name: row.first_failure for row in result.rows if row.failed}
    assert result.not_exercised == []
    assert judge([result]).word == CONFORMS


def _invalid_zones_replaced(app: Any) -> Any:
    """A defect the exploration does not reach at seed 1: an unknown time zone is
    silently replaced by a valid one, so the tenant is created (202) instead of refused
    with TIME_ZONE_MUST_BE_VALID."""

    def rewrite(scope: dict[str, Any], body: bytes) -> tuple[dict[str, Any], bytes]:
        if scope.get("method") != "POST" or not scope.get("path", "").endswith("/commands"):
            return scope, body
        try:
            command = orjson.loads(body)
        except orjson.JSONDecodeError:
            return scope, body
        payload = command.get("payload") if isinstance(command, dict) else None
        if isinstance(payload, dict) and payload.get("timeZone") == "Mars/Olympus_Mons":
            payload["timeZone"] = "Australia/Sydney"
            return scope, orjson.dumps(command)
        return scope, body

    return rewrite_requests(app, rewrite)


def test_the_scripted_sequence_catches_what_the_exploration_missed() -> None:
    base = in_process_target()
    broken = Target(
        base.base_url,
        base.api_key,
        base.scoped_keys,
        _invalid_zones_replaced(base.app),
        "mock accepting unknown time zones",
    )
    result = run_ledger_suite(broken, seed=1, **QUICK_LEDGER)
    failed = {row.name: row.first_failure or "" for row in result.rows if row.failed}
    assert list(failed) == ["TIME_ZONE_MUST_BE_VALID"], failed
    assert "scripted sequence, seed 1" in failed["TIME_ZONE_MUST_BE_VALID"]
    assert "create_tenant(bad_zone)" in failed["TIME_ZONE_MUST_BE_VALID"]


# --- interrupted and timed out -----------------------------------------------------------


def _start(argv: list[str]) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "contract_tests", *argv],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for(process: subprocess.Popen[str], text: str, seconds: float = 60) -> list[str]:
    """Read the process's output until a line holds `text`."""
    assert process.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if text in line:
            return seen
    process.kill()
    pytest.fail(f"never saw {text!r}: {''.join(seen)[-2000:]}")


@pytest.mark.parametrize(
    ("signum", "suite", "name"),
    [(signal.SIGINT, "all", "SIGINT"), (signal.SIGTERM, "ledger", "SIGTERM")],
)
def test_an_interrupted_run_is_incomplete(
    signum: int, suite: str, name: str, tmp_path: Path
) -> None:
    """The CLI as a subprocess on the in-process mock, stopped a few seconds into a
    suite: exit 3, INCOMPLETE everywhere, never CONFORMS."""
    process = _start(["--suite", suite, "--report-dir", str(tmp_path)])
    try:
        _wait_for(process, "Judged: the published contract")
        time.sleep(2.5)
        process.send_signal(signum)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == EXIT_INCOMPLETE, output[-3000:]
    assert "CONFORMS" not in output.replace("DOES NOT CONFORM", "")
    first = "schema" if suite == "all" else suite
    assert f"INCOMPLETE (exit 3, never a pass): {first} suite: interrupted by {name}" in output
    report = (tmp_path / "report.md").read_text()
    assert "**Verdict**: INCOMPLETE" in report and f"interrupted by {name}" in report
    assert "INCOMPLETE" in (tmp_path / "report.html").read_text()
    root = ET.parse(tmp_path / "junit.xml").getroot()
    assert root.get("verdict") == INCOMPLETE
    error = root.find(".//testcase[@name='completeness']/error")
    assert error is not None and f"interrupted by {name}" in (error.get("message") or "")
    if suite == "all":  # the ledger suite never started: it is listed as not run
        assert "ledger suite: not run (interrupted by SIGINT" in report


def test_a_timed_out_run_is_incomplete_and_json_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--suite", "schema", "--timeout", "2", "--format", "json"]
    # (Not always default_int_handler: a process started in the background by a
    # non-interactive shell starts with SIGINT ignored.)
    handler = signal.getsignal(signal.SIGINT)
    started = time.monotonic()
    code, out, err = cli([*argv, "--report-dir", str(tmp_path)], capsys)
    assert time.monotonic() - started < 30
    assert code == EXIT_INCOMPLETE, err[-2000:]
    document = json.loads(out)  # stdout is the JSON document alone
    assert document["verdict"] == INCOMPLETE and document["exit_code"] == EXIT_INCOMPLETE
    (schema,) = document["suites"]
    assert schema["interrupted"].startswith("timed out after")
    assert "--timeout 2" in schema["interrupted"]
    assert "timed out after" in err and "INCOMPLETE" in err  # the human output
    assert "**Verdict**: INCOMPLETE" in (tmp_path / "report.md").read_text()
    assert signal.getsignal(signal.SIGINT) is handler  # restored


# --- --format json and the diff -----------------------------------------------------------


def test_json_output_has_the_verdict_and_every_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--suite", "ledger", "--ledger-examples", "2", "--ledger-steps", "8"]
    code, out, err = cli([*argv, "--format", "json", "--report-dir", str(tmp_path)], capsys)
    assert code == EXIT_OK, err[-2000:]
    document = json.loads(out)
    assert document["verdict"] == CONFORMS and document["exit_code"] == EXIT_OK
    assert document["tool"] == "contract-test" and document["version"]
    (suite,) = document["suites"]
    rows = {row["name"]: row for row in suite["rows"]}
    assert list(rows) == list(ROWS)
    assert all(row["result"] == "passed" and row["runs"] > 0 for row in rows.values())
    assert rows["hash_chain"]["kind"] == "extension"
    assert document["counts"][NOT_EXERCISED] == 0 and document["not_exercised"] == []
    assert document["reports"]["markdown"].endswith("report.md")
    assert "CONFORMS" in err  # the human output went to stderr


def test_the_diff_says_the_two_services_agree(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = "tests.contract.test_cli:broken_app()"  # a 5xx on bad input only: same stream
    argv = ["diff", "--left-app", app, "--right-app", app, "--customers", "3", "--days", "1"]
    code, out, _ = cli([*argv, "--report-dir", str(tmp_path)], capsys)
    assert code == EXIT_OK, out[-2000:]
    assert "the two services agree" in out
    assert "the two services agree" in (tmp_path / "report.md").read_text()


def test_the_diff_names_the_differences(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["diff", "--left-app", "tests.contract.test_cli:broken_app()"]
    argv += ["--right-app", "tests.contract.test_verdicts:zones_app()"]
    argv += ["--customers", "3", "--days", "1", "--format", "json"]
    code, out, err = cli([*argv, "--report-dir", str(tmp_path)], capsys)
    document = json.loads(out)
    notes = document["suites"][0]["notes"]
    assert code == EXIT_NONCONFORMANCE, notes
    assert notes[0].startswith("the two services differ:"), notes
    assert any("caused by" in note for note in notes[1:]), notes
    assert "the two services differ" in (tmp_path / "report.md").read_text()
    assert "the two services differ" in err


def test_a_timed_out_diff_is_incomplete(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = "tests.contract.test_cli:broken_app()"
    argv = ["diff", "--left-app", app, "--right-app", app, "--timeout", "0.5"]
    code, out, _ = cli([*argv, "--report-dir", str(tmp_path)], capsys)
    assert code == EXIT_INCOMPLETE, out[-2000:]
    report = (tmp_path / "report.md").read_text()
    assert "**Verdict**: INCOMPLETE" in report
    assert "the two services were not fully compared" in report
    assert "the two services agree" not in report


def zones_app() -> Any:
    """The mock whose 202s to CreateTenant carry an extra field: a difference."""
    from tests.contract.broken import rewrite_replies

    def rewrite(
        scope: Any, request: bytes, status: int, headers: Any, body: bytes
    ) -> tuple[int, Any, bytes]:
        if status == 202 and b'"CreateTenant"' in request:
            value = orjson.loads(body)
            value["region"] = "MARS"
            return status, headers, orjson.dumps(value)
        return status, headers, body

    return rewrite_replies(in_process_target().app, rewrite)


# --- the packaged contract ---------------------------------------------------------------


def test_the_contract_is_read_from_the_package() -> None:
    import importlib.resources

    from contract_tests.schema_suite import packaged_spec_text

    packaged = importlib.resources.files("turingcore_contract") / "turingcore.v1.yaml"
    assert packaged_spec_text() == packaged.read_text(encoding="utf-8")
    # No suite module finds a file by its place in the repository.
    for path in (ROOT / "contract_tests").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert "__file__" not in source and "parents[" not in source, path.name
