"""JUnit XML and the conformance report: counts, one row per operation, the curl line."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from contract_tests.report import (
    html_report,
    junit_xml,
    markdown_report,
    verdict,
    write_reports,
)
from contract_tests.results import CheckRow, SuiteResult, curl_command
from contract_tests.schema_suite import load_spec, operation_ids

CURL = curl_command(
    "POST",
    "http://127.0.0.1:8080/v1/tenants/T1/commands",
    {"Authorization": "Bearer secret", "Content-Type": "application/json"},
    {"commandType": "PostEntry", "note": "a|b <c>"},
)


def _results() -> list[SuiteResult]:
    schema = SuiteResult("schema", duration_s=12.5)
    for operation_id in operation_ids(load_spec()).values():
        row = schema.row(operation_id)
        for _ in range(3):
            row.record(True)
    failing = schema.row("submitCommand")
    failing.record(False, "not_a_server_error: Server error (got 500: boom)", CURL)
    failing.record(False, "a second failure is counted but not shown", "curl second")
    schema.row("balance_derivability")  # a row that never ran
    ledger = SuiteResult("ledger", error="the ledger suite is not available")
    return [schema, ledger]


def test_junit_has_one_suite_per_suite_and_the_right_counts() -> None:
    results = _results()
    root = ET.fromstring(junit_xml(results, "in-process mock"))
    suites = {suite.get("name"): suite for suite in root.iter("testsuite")}
    assert set(suites) == {"schema", "ledger"}
    schema = suites["schema"]
    rows = len(results[0].rows)
    # One case per row, and one `completeness` error: balance_derivability never ran.
    assert schema.get("tests") == str(rows + 1)
    assert schema.get("failures") == "1" and schema.get("errors") == "1"
    assert schema.get("skipped") == "1"
    assert len(schema.findall("testcase")) == rows + 1
    incomplete = schema.find("testcase[@name='completeness']/error")
    assert incomplete is not None and incomplete.get("type") == "Incomplete"
    skipped = schema.find("testcase[@name='balance_derivability']/skipped")
    assert skipped is not None and "not exercised" in (skipped.get("message") or "")
    assert root.get("verdict") == "DOES NOT CONFORM"
    failure = schema.find("testcase[@name='submitCommand']/failure")
    assert failure is not None
    assert "2 of 5 failed" in (failure.get("message") or "")
    assert "not_a_server_error" in (failure.get("message") or "")
    assert failure.text and "reproduce: curl -sS -X POST" in failure.text
    assert "secret" not in junit_xml(results)  # the key never lands in a report
    ledger = suites["ledger"]
    assert ledger.get("errors") == "1" and ledger.find("testcase/error") is not None
    assert root.get("tests") == str(rows + 2) and root.get("failures") == "1"


def test_markdown_has_a_row_per_operation_and_the_failure_in_full() -> None:
    text = markdown_report(_results(), "http://core.example")
    table = [line for line in text.splitlines() if line.startswith("| schema |")]
    names = {line.split("|")[2].strip() for line in table}
    assert set(operation_ids(load_spec()).values()) <= names
    submit = next(line for line in table if "| submitCommand |" in line)
    assert "| 5 | 3 | 2 |" in submit and "(#failure-1)" in submit
    assert "DOES NOT CONFORM" in text and "ledger suite could not run" in text
    details = text.split("## Failures", 1)[1]
    assert "```sh\ncurl -sS -X POST" in details
    assert "$TURINGCORE_API_KEY" in details and "secret" not in text
    # Pipes inside cells are escaped, so the table keeps its columns.
    assert all(line.count(" | ") + 2 >= 7 for line in table)


def test_html_escapes_and_marks_failures() -> None:
    page = html_report(_results(), "http://core.example")
    assert '<tr class="fail"><td>schema</td><td>submitCommand</td>' in page
    assert "a|b &lt;c&gt;" in page and "<c>" not in page
    assert page.count("<tr class=") == len(_results()[0].rows)


def test_write_reports_and_verdict(tmp_path: Path) -> None:
    results = _results()
    junit = tmp_path / "elsewhere" / "junit.xml"
    written = write_reports(results, tmp_path / "reports", junit=junit, target="t")
    assert written["junit"] == junit and junit.exists()
    assert (tmp_path / "reports" / "report.md").exists()
    assert (tmp_path / "reports" / "report.html").exists()
    assert verdict(results) == "DOES NOT CONFORM"
    passing = SuiteResult("schema", rows=[CheckRow("schema", "getTenant", 1, 1, 0)])
    assert verdict([passing]) == "CONFORMS"
    assert verdict([]) == "INCOMPLETE"  # no suite ran: never a pass
    never_ran = SuiteResult("schema", rows=[CheckRow("schema", "getTenant")])
    assert verdict([never_ran]) == "INCOMPLETE"
    cut_short = SuiteResult("schema", rows=[CheckRow("schema", "getTenant", 1, 1, 0)])
    cut_short.interrupted = "interrupted by SIGINT after 6.0 s"
    assert verdict([cut_short]) == "INCOMPLETE"
    assert verdict([SuiteResult("ledger", error="unreachable")]) == "COULD NOT RUN"
