"""What `contract-test` prints: a suite's one-line summary, the table of rows, and the
verdict with its exit code (the reports themselves are `contract_tests.report`'s).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from contract_tests import report
from contract_tests.cli_args import EXIT_INCOMPLETE, one_line, version
from contract_tests.results import (
    CONFORMS,
    COULD_NOT_RUN,
    DOES_NOT_CONFORM,
    INCOMPLETE,
    NOT_EXERCISED,
    NOT_OFFERED,
    SuiteResult,
    judge,
)


def suite_summary(result: SuiteResult) -> str:
    if result.error:
        return f"[red]could not run[/]: {escape(one_line(result.error))}"
    rows = [row for row in result.rows if row.offered]
    failed = sum(1 for row in rows if row.failed)
    missing = len(result.not_exercised)
    checks = sum(row.runs for row in rows)
    passing = sum(1 for row in rows if row.status == "passed")
    colour = "red" if failed else ("yellow" if missing or result.interrupted else "green")
    extension = sum(1 for row in rows if row.extension)
    absent = len(result.rows) - len(rows)
    state = (
        f"; [bold yellow]{INCOMPLETE}: {escape(result.interrupted)}[/]"
        if result.interrupted
        else ""
    )
    return (
        f"[{colour}]{passing}/{len(rows)} rows pass, {failed} fail, {missing} not exercised[/] "
        f"({checks} checks; {extension} of the rows check extensions the target offers; "
        f"{absent} extension rows not offered){state}"
    )


_STATUS_SHOWN = {
    "passed": "pass",
    "failed": "[red]FAIL[/]",
    NOT_EXERCISED: "[yellow]not exercised[/]",
    NOT_OFFERED: "[dim]not offered[/]",
}


def print_table(console: Console, results: Sequence[SuiteResult]) -> None:
    table = Table(title="Conformance", show_lines=False, expand=False)
    for column, justify in (
        ("Suite", "left"),
        ("Name", "left"),
        ("Kind", "left"),
        ("Result", "left"),
        ("Run", "right"),
        ("Passed", "right"),
        ("Failed", "right"),
        ("First failure", "left"),
    ):
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for result in results:
        if result.error:
            table.add_row(
                result.suite, "[red]suite[/]", "", "could not run", "-", "-", "-",
                escape(one_line(result.error)),
            )  # fmt: skip
        if result.interrupted:
            table.add_row(
                result.suite, "[yellow]suite[/]", "", f"[yellow]{INCOMPLETE}[/]", "-", "-", "-",
                escape(result.interrupted),
            )  # fmt: skip
        for row in result.rows:
            failed = f"[red]{row.failed}[/]" if row.failed else "0"
            first = escape(_short(row.first_failure, 90)) if row.failed else ""
            name = escape(row.name) if row.runs else f"[dim]{escape(row.name)}[/]"
            kind = "" if row.extension is None else f"[cyan]{escape(row.kind)}[/]"
            status = _STATUS_SHOWN.get(row.status, row.status)
            table.add_row(
                row.suite, name, kind, status, str(row.runs), str(row.passed), failed, first
            )
    console.print(table)


def _short(text: str | None, limit: int) -> str:
    text = one_line(text or "")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def finish(
    console: Console, results: list[SuiteResult], args: argparse.Namespace, target: str
) -> int:
    """Print the table, write the reports, print the verdict; the exit code."""
    print_table(console, results)
    for result in results:
        for note in result.notes:
            console.print(escape(note))
    junit = Path(args.junit) if args.junit else None
    paths = report.write_reports(results, Path(args.report_dir), junit=junit, target=target)
    for name, path in paths.items():
        console.print(f"{name:>8}: {path}")
    judged = judge(results)
    counts = judged.counts(results)
    why = "; ".join(judged.reasons)
    if judged.word == CONFORMS:
        console.print(
            f"[bold green]{escape(target)} CONFORMS[/] to TuringCore v1 as published"
            f" (and to every extension of ours it offers); {counts}"
        )
    elif judged.word == DOES_NOT_CONFORM:
        also = f" (also {INCOMPLETE}: {escape(why)})" if why else ""
        console.print(
            f"[bold red]{escape(target)} DOES NOT CONFORM[/]: {len(judged.failed)} failing "
            f"rows; {counts}{also}"
        )
    elif judged.word == COULD_NOT_RUN:
        console.print(f"[bold red]{escape(target)}: {COULD_NOT_RUN}[/]: {escape(why)}; {counts}")
    else:
        console.print(
            f"[bold yellow]{escape(target)}: {INCOMPLETE}[/] (exit {EXIT_INCOMPLETE}, never "
            f"a pass): {escape(why)}; {counts}"
        )
    if args.format == "json":
        document = report.json_report(results, target, reports=paths, version=version())
        sys.stdout.write(report.json_text(document))
        sys.stdout.flush()
    return judged.exit_code
