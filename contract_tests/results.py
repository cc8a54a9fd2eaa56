"""What a suite reports: one row per operation or invariant, for JUnit and the report."""

from __future__ import annotations

import shlex
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

    @property
    def ok(self) -> bool:
        return self.error is None and all(row.failed == 0 for row in self.rows)

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
