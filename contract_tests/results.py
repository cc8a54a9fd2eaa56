"""What a suite reports: one row per operation or invariant, for JUnit and the report,
and the verdict a run earns (`judge`).

A row is *passed* (its checks ran and none failed), *failed*, *not exercised* (no check
of it ran: it is never a pass) or *not offered* (an extension row of an extension the
target does not offer: not run, and not held against the target).
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson


@dataclass
class CheckRow:
    """One row of the conformance report: an operation or an invariant, and how it fared."""

    suite: str  # "schema", "ledger", "diff", ...
    name: str  # an operationId, a check name or an invariant code
    runs: int = 0
    passed: int = 0
    failed: int = 0
    first_failure: str | None = None  # what went wrong, in a sentence
    reproduce: str | None = None  # a curl command that reproduces the first failure
    duration_s: float = 0.0
    # The extension of ours this row checks (contract_tests.extensions.EXTENSIONS), or None
    # for the published contract. A row of an extension the target does not offer never
    # runs and never fails the verdict; one it offers counts like any other.
    extension: str | None = None
    offered: bool = True

    @property
    def status(self) -> str:
        """ "failed", "passed", "not offered" or "not exercised"."""
        if self.failed:
            return FAILED
        if self.extension is not None and not self.offered:
            return NOT_OFFERED
        return PASSED if self.runs else NOT_EXERCISED

    @property
    def required(self) -> bool:
        """True when the row must run for the target to conform: a published row, or an
        extension row of an extension the target offers."""
        return self.extension is None or self.offered

    @property
    def kind(self) -> str:
        if self.extension is None:
            return "published"
        return f"extension {self.extension}" + ("" if self.offered else " (not offered)")

    def record(self, ok: bool, failure: str | None = None, reproduce: str | None = None) -> None:
        self.runs += 1
        if ok:
            self.passed += 1
            return
        self.failed += 1
        if self.first_failure is None:
            self.first_failure = failure
            self.reproduce = reproduce


@dataclass
class SuiteResult:
    suite: str
    rows: list[CheckRow] = field(default_factory=list)
    duration_s: float = 0.0
    error: str | None = None  # the suite could not run at all (target unreachable, ...)
    extensions: str | None = None  # what the target offers beyond the published contract
    # Why the suite stopped before its end (Ctrl-C, SIGTERM, --timeout), or None.
    interrupted: str | None = None
    # Lines the reports show under the verdict (the diff: "the two services agree", or
    # each difference).
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Nothing failed and the suite ran to its end (rows not exercised aside: see
        `complete`)."""
        return (
            self.error is None
            and self.interrupted is None
            and all(row.failed == 0 for row in self.rows)
        )

    @property
    def not_exercised(self) -> list[CheckRow]:
        """The rows that should have run and did not."""
        return [row for row in self.rows if row.required and row.status == NOT_EXERCISED]

    @property
    def complete(self) -> bool:
        """Ran to its end, and every row that should have run did."""
        return self.error is None and self.interrupted is None and not self.not_exercised

    def row(self, name: str) -> CheckRow:
        for row in self.rows:
            if row.name == name:
                return row
        new = CheckRow(self.suite, name)
        self.rows.append(new)
        return new

    def mark_extension(self, name: str, extension: str, offered: bool) -> CheckRow:
        """Make the row `name` an extension row."""
        row = self.row(name)
        row.extension, row.offered = extension, offered
        return row


PASSED = "passed"
FAILED = "failed"
NOT_EXERCISED = "not exercised"
NOT_OFFERED = "not offered"

CONFORMS = "CONFORMS"
DOES_NOT_CONFORM = "DOES NOT CONFORM"
INCOMPLETE = "INCOMPLETE"
COULD_NOT_RUN = "COULD NOT RUN"
# The exit code of each verdict (docs/contract-tests.md, "Exit codes").
EXIT_CODES = {CONFORMS: 0, DOES_NOT_CONFORM: 1, COULD_NOT_RUN: 2, INCOMPLETE: 3}


@dataclass
class Verdict:
    """What a run earned, and why.

    CONFORMS (0): every suite ran to its end, nothing failed and every row that should
    have run did. DOES NOT CONFORM (1): a row failed (even if the run was also cut short:
    the failure is a finding). COULD NOT RUN (2): a suite could not run at all.
    INCOMPLETE (3): nothing failed, but the run was interrupted or timed out, or a row
    that should have run (a published row, or a row of an extension the target offers)
    was not exercised.
    """

    word: str
    reasons: list[str]
    not_exercised: list[CheckRow]
    failed: list[CheckRow]

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.word]

    def counts(self, results: Sequence[SuiteResult]) -> str:
        """'59 rows: 57 passed, 0 failed, 2 not exercised, 0 not offered'."""
        rows = [row for result in results for row in result.rows]
        tally = {
            status: sum(1 for row in rows if row.status == status)
            for status in (PASSED, FAILED, NOT_EXERCISED, NOT_OFFERED)
        }
        return f"{len(rows)} rows: " + ", ".join(f"{n} {status}" for status, n in tally.items())


def judge(results: Sequence[SuiteResult]) -> Verdict:
    """The verdict of a run (see Verdict)."""
    failed = [row for result in results for row in result.rows if row.failed]
    missing = [row for result in results for row in result.not_exercised]
    reasons = [f"{r.suite} suite could not run: {r.error}" for r in results if r.error]
    reasons += [f"{r.suite} suite: {r.interrupted}" for r in results if r.interrupted]
    if missing:
        names = ", ".join(f"{row.suite} {row.name}" for row in missing[:12])
        more = f" and {len(missing) - 12} more" if len(missing) > 12 else ""
        reasons.append(f"{len(missing)} rows not exercised ({names}{more})")
    if not results:
        reasons.append("no suite ran")
    if failed:
        word = DOES_NOT_CONFORM
    elif any(r.error for r in results):
        word = COULD_NOT_RUN
    elif reasons:
        word = INCOMPLETE
    else:
        word = CONFORMS
    return Verdict(word, reasons, missing, failed)


def curl_command(method: str, url: str, headers: dict[str, str], body: Any = None) -> str:
    """A copy-pasteable curl command for a request (the key is left as $TURINGCORE_API_KEY)."""
    parts = ["curl", "-sS", "-X", method.upper(), shlex.quote(url)]
    for name, value in headers.items():
        if name.lower() == "authorization":
            value = 'Bearer "$TURINGCORE_API_KEY"'
            parts += ["-H", f'"Authorization: {value}"']
            continue
        parts += ["-H", shlex.quote(f"{name}: {value}")]
    if body is not None:
        data = body if isinstance(body, str | bytes) else orjson.dumps(body)
        if isinstance(data, bytes):
            data = data.decode("utf-8", "replace")
        parts += ["--data-raw", shlex.quote(data)]
    return " ".join(parts)
