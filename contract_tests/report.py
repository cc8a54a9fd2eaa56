"""Reports of a contract run: JUnit XML for CI, a conformance report in Markdown and HTML,
and one JSON document for machines.

Every format has the verdict (CONFORMS, DOES NOT CONFORM, COULD NOT RUN or INCOMPLETE,
see `contract_tests.results.judge`) and one entry per CheckRow (an operation, a domain
check or an invariant): its result, checks run, passed, failed and the first failing
example as a curl command. A row none of whose checks ran is "not exercised", never a
pass. A row of an extension of ours is labelled as one ("extension hash_chain"); when
the target does not offer that extension the row did not run and is shown as "not
offered", never as a failure.
"""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from contract_tests.results import (
    INCOMPLETE,
    NOT_EXERCISED,
    NOT_OFFERED,
    CheckRow,
    SuiteResult,
    Verdict,
    judge,
)

DEFAULT_REPORT_DIR = Path("output/contract")


def verdict(results: Sequence[SuiteResult]) -> str:
    """CONFORMS, DOES NOT CONFORM, COULD NOT RUN or INCOMPLETE (see results.judge)."""
    return judge(results).word


def verdict_line(results: Sequence[SuiteResult], judged: Verdict | None = None) -> str:
    """The verdict, its reasons and the row counts, in one line."""
    judged = judged or judge(results)
    reasons = f" ({'; '.join(judged.reasons)})" if judged.reasons else ""
    return f"{judged.word}{reasons}; {judged.counts(results)}"


def _not_exercised_reason(row: CheckRow, result: SuiteResult) -> str:
    why = "no check of this row ran in this run"
    if result.interrupted:
        why += f" (the suite: {result.interrupted})"
    elif result.error:
        why += " (the suite could not run)"
    if row.required:
        why += "; a row the target must be exercised on, so the run cannot conform"
    return f"not exercised: {why}"


# --- JUnit -------------------------------------------------------------------------------


def junit_xml(results: Sequence[SuiteResult], target: str = "") -> str:
    """One <testsuite> per suite, one <testcase> per CheckRow; a failed row is a <failure>
    whose message is the first failure and whose text is the curl line; a suite that
    could not run is an <error>."""
    judged = judge(results)
    root = ET.Element("testsuites", name=f"contract-test {target}".strip())
    root.set("verdict", judged.word)
    total_tests = total_failures = total_errors = 0
    for result in results:
        failures = sum(1 for row in result.rows if row.failed)
        incomplete = not result.error and (result.interrupted or result.not_exercised)
        errors = 1 if result.error or incomplete else 0
        tests = len(result.rows) + errors
        suite = ET.SubElement(
            root,
            "testsuite",
            name=result.suite,
            tests=str(tests),
            failures=str(failures),
            errors=str(errors),
            skipped=str(sum(1 for row in result.rows if row.runs == 0 and not row.failed)),
            time=f"{result.duration_s:.3f}",
        )
        properties = ET.SubElement(suite, "properties")
        if target:
            ET.SubElement(properties, "property", name="target", value=target)
        ET.SubElement(properties, "property", name="verdict", value=judged.word)
        if result.error:
            case = ET.SubElement(
                suite, "testcase", classname=f"contract.{result.suite}", name="suite", time="0"
            )
            ET.SubElement(case, "error", message=result.error).text = result.error
        elif incomplete:
            # An incomplete run must not read as green in CI: one error case says why.
            why = "; ".join(
                ([result.interrupted] if result.interrupted else [])
                + (
                    [f"{len(result.not_exercised)} rows not exercised"]
                    if result.not_exercised
                    else []
                )
            )
            message = f"{INCOMPLETE}: {why}"
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"contract.{result.suite}",
                name="completeness",
                time="0",
            )
            names = ", ".join(row.name for row in result.not_exercised)
            error = ET.SubElement(case, "error", message=message, type="Incomplete")
            error.text = message + (f"\nnot exercised: {names}" if names else "")
        for row in result.rows:
            _testcase(suite, row, result)
        total_tests += tests
        total_failures += failures
        total_errors += errors
    root.set("tests", str(total_tests))
    root.set("failures", str(total_failures))
    root.set("errors", str(total_errors))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _testcase(suite: ET.Element, row: CheckRow, result: SuiteResult) -> None:
    case = ET.SubElement(
        suite,
        "testcase",
        classname=f"contract.{row.suite}",
        name=row.name,
        time=f"{row.duration_s:.3f}",
    )
    if row.failed:
        message = f"{row.failed} of {row.runs} failed: {row.first_failure or 'no detail'}"
        failure = ET.SubElement(case, "failure", message=message, type="NonConformance")
        reproduce = f"reproduce: {row.reproduce}" if row.reproduce else ""
        failure.text = "\n".join(part for part in (row.first_failure, reproduce) if part)
    elif row.extension and not row.offered:
        ET.SubElement(
            case, "skipped", message=f"extension {row.extension} not offered by the target"
        )
    elif row.runs == 0:
        ET.SubElement(case, "skipped", message=_not_exercised_reason(row, result))
    else:
        ET.SubElement(case, "system-out").text = f"{row.passed} of {row.runs} passed"


# --- Markdown and HTML -------------------------------------------------------------------


def _header_facts(results: Sequence[SuiteResult], target: str) -> list[tuple[str, str]]:
    rows = [row for result in results for row in result.rows]
    published = [row for row in rows if row.extension is None]
    extension = [row for row in rows if row.extension is not None and row.offered]
    absent = sorted({row.extension or "" for row in rows if row.extension and not row.offered})
    offered = next((r.extensions for r in results if r.extensions), None)
    judged = judge(results)
    missing = judged.not_exercised
    return [
        ("Target", target or "-"),
        ("Verdict", judged.word),
        ("Why", "; ".join(judged.reasons) or "-"),
        ("When", datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")),
        ("Suites", ", ".join(_suite_fact(r) for r in results) or "-"),
        ("Rows", judged.counts(results)),
        (
            "Published contract",
            f"{len(published)} rows, {sum(1 for r in published if r.failed)} failing, "
            f"{sum(1 for r in published if r.status == NOT_EXERCISED)} not exercised",
        ),
        (
            "Not exercised",
            ", ".join(f"{row.suite} {row.name}" for row in missing) or "none",
        ),
        (
            "Extension rows",
            f"{len(extension)} rows of extensions the target offers, "
            f"{sum(1 for r in extension if r.failed)} failing; not offered (not run, "
            f"not held against it): {', '.join(absent) or 'none'}",
        ),
        ("Extensions", offered or "-"),
    ]


def _suite_fact(result: SuiteResult) -> str:
    state = ""
    if result.interrupted:
        state = f", {INCOMPLETE}: {result.interrupted}"
    elif result.error:
        state = ", could not run"
    return f"{result.suite} ({result.duration_s:.1f} s{state})"


def _md_cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _short(text: str | None, limit: int = 140) -> str:
    if not text:
        return ""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def markdown_report(results: Sequence[SuiteResult], target: str = "") -> str:
    """The conformance report as Markdown: facts, a table of every row, then the failures
    in full with the curl line that reproduces each."""
    lines = ["# TuringCore v1 conformance report", ""]
    lines += [f"- **{name}**: {value}" for name, value in _header_facts(results, target)]
    lines.append("")
    for result in results:
        if result.notes:
            lines += [f"## {result.suite}", ""]
            lines += [f"- {_md_cell(note)}" for note in result.notes]
            lines.append("")
    for result in results:
        if result.error:
            lines += [f"> **{result.suite} suite could not run**: {_md_cell(result.error)}", ""]
        if result.interrupted:
            lines += [
                f"> **{INCOMPLETE}** ({result.suite} suite: {_md_cell(result.interrupted)}): "
                "its rows count only what ran before.",
                "",
            ]
    lines += [
        "| Suite | Name | Kind | Result | Checks run | Passed | Failed | First failing example |",
        "|---|---|---|---|---:|---:|---:|---|",
    ]
    failed: list[CheckRow] = []
    for result in results:
        for row in result.rows:
            example = ""
            if row.failed:
                failed.append(row)
                anchor = f"failure-{len(failed)}"
                example = f"{_md_cell(_short(row.first_failure))} ([details](#{anchor}))"
                if row.reproduce:
                    example += f"<br>`{_md_cell(_short(row.reproduce, 100))}`"
            lines.append(
                f"| {row.suite} | {_md_cell(row.name)} | {row.kind} | {_md_status(row)} "
                f"| {row.runs} | {row.passed} | {row.failed} | {example} |"
            )
    if failed:
        lines += ["", "## Failures", "", "Each curl reads the key from `$TURINGCORE_API_KEY`.", ""]
        for number, row in enumerate(failed, 1):
            lines += [
                f'<a id="failure-{number}"></a>',
                f"### {row.suite} / {row.name}",
                "",
                _md_cell(row.first_failure or "no detail"),
                "",
                f"```sh\n{row.reproduce or '# no request to reproduce'}\n```",
                "",
            ]
    return "\n".join(lines).rstrip() + "\n"


def _md_status(row: CheckRow) -> str:
    status = row.status
    if status == NOT_EXERCISED and row.required:
        return "**not exercised**"
    return status


def html_report(results: Sequence[SuiteResult], target: str = "") -> str:
    """The conformance report as one self-contained HTML page with the same table."""
    esc = html.escape
    facts = "".join(
        f"<dt>{esc(name)}</dt><dd>{esc(value)}</dd>"
        for name, value in _header_facts(results, target)
    )
    errors = "".join(
        f'<p class="error"><b>{esc(r.suite)} suite could not run</b>: {esc(r.error)}</p>'
        for r in results
        if r.error
    ) + "".join(
        f'<p class="error"><b>{INCOMPLETE}</b> ({esc(r.suite)} suite: '
        f"{esc(r.interrupted)}): its rows count only what ran before.</p>"
        for r in results
        if r.interrupted
    )
    notes = "".join(
        f"<h2>{esc(r.suite)}</h2><ul>" + "".join(f"<li>{esc(n)}</li>" for n in r.notes) + "</ul>"
        for r in results
        if r.notes
    )
    rows = []
    for result in results:
        for row in result.rows:
            status = "fail" if row.failed else ("skip" if row.runs == 0 else "pass")
            if row.status == NOT_EXERCISED and row.required:
                status += " missing"
            if row.extension:
                status += " extension"
            example = ""
            if row.failed:
                example = f"<div>{esc(row.first_failure or '')}</div>"
                if row.reproduce:
                    example += f"<pre>{esc(row.reproduce)}</pre>"
            rows.append(
                f'<tr class="{status}"><td>{esc(row.suite)}</td><td>{esc(row.name)}</td>'
                f"<td>{esc(row.kind)}</td><td>{esc(row.status)}</td><td>{row.runs}</td>"
                f"<td>{row.passed}</td><td>{row.failed}</td><td>{example}</td></tr>"
            )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>TuringCore v1 conformance report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border: 1px solid #ccc; padding: 4px 8px; vertical-align: top; text-align: left; }}
td:nth-child(5), td:nth-child(6), td:nth-child(7) {{ text-align: right; }}
tr.fail td {{ background: #fde8e8; }} tr.skip td {{ color: #888; }}
tr.missing td {{ background: #fff4d6; color: #664d00; }}
tr.extension td:nth-child(3) {{ font-style: italic; }}
pre {{ white-space: pre-wrap; word-break: break-all; margin: 4px 0 0; }}
dt {{ font-weight: bold; float: left; clear: left; width: 6em; }} dd {{ margin-left: 7em; }}
.error {{ color: #a00; }}
</style></head><body>
<h1>TuringCore v1 conformance report</h1>
<dl>{facts}</dl>
{errors}
{notes}
<table><thead><tr><th>Suite</th><th>Name</th><th>Kind</th><th>Result</th><th>Checks run</th>
<th>Passed</th><th>Failed</th><th>First failing example</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table>
<p>Each curl reads the key from <code>$TURINGCORE_API_KEY</code>.</p>
</body></html>
"""


def json_report(
    results: Sequence[SuiteResult],
    target: str = "",
    *,
    reports: Mapping[str, Path] | None = None,
    version: str | None = None,
) -> dict[str, Any]:
    """The verdict and every row, for machines (`contract-test --format json`)."""
    judged = judge(results)
    return {
        "tool": "contract-test",
        "version": version,
        "target": target,
        "verdict": judged.word,
        "exit_code": judged.exit_code,
        "reasons": judged.reasons,
        "counts": {
            status: sum(1 for r in results for row in r.rows if row.status == status)
            for status in ("passed", "failed", NOT_EXERCISED, NOT_OFFERED)
        },
        "not_exercised": [f"{row.suite}/{row.name}" for row in judged.not_exercised],
        "suites": [
            {
                "suite": result.suite,
                "duration_s": round(result.duration_s, 3),
                "error": result.error,
                "interrupted": result.interrupted,
                "extensions": result.extensions,
                "notes": result.notes,
                "rows": [
                    {
                        "name": row.name,
                        "kind": "published" if row.extension is None else "extension",
                        "extension": row.extension,
                        "offered": row.offered,
                        "result": row.status,
                        "required": row.required,
                        "runs": row.runs,
                        "passed": row.passed,
                        "failed": row.failed,
                        "first_failure": row.first_failure,
                        "reproduce": row.reproduce,
                    }
                    for row in result.rows
                ],
            }
            for result in results
        ],
        "reports": {name: str(path) for name, path in (reports or {}).items()},
    }


def json_text(document: Mapping[str, Any]) -> str:
    return orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n"


def write_reports(
    results: Sequence[SuiteResult],
    report_dir: Path = DEFAULT_REPORT_DIR,
    *,
    junit: Path | None = None,
    target: str = "",
) -> dict[str, Path]:
    """Write junit.xml, report.md and report.html; return {format: path}."""
    report_dir.mkdir(parents=True, exist_ok=True)
    junit_path = junit or report_dir / "junit.xml"
    junit_path.parent.mkdir(parents=True, exist_ok=True)
    written = {
        "junit": junit_path,
        "markdown": report_dir / "report.md",
        "html": report_dir / "report.html",
    }
    written["junit"].write_text(junit_xml(results, target), encoding="utf-8")
    written["markdown"].write_text(markdown_report(results, target), encoding="utf-8")
    written["html"].write_text(html_report(results, target), encoding="utf-8")
    return written
