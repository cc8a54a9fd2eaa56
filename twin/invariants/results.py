"""A check's verdict (`CheckResult`: PASS, FAIL or SKIP, what it counted, the first
failures) and the table the verdicts are shown in."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table

PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"
FAILURES_KEPT = 20


@dataclass
class CheckResult:
    """One invariant's verdict."""

    name: str
    status: str = PASS
    checked: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    failure_count: int = 0
    note: str | None = None
    seconds: float = 0.0

    def fail(self, message: str, *, headline: bool = False) -> None:
        """Record a failure; a `headline` one goes first, ahead of the details."""
        self.status = FAIL
        self.failure_count += 1
        if headline:
            self.failures.insert(0, message)
            del self.failures[FAILURES_KEPT:]
        elif len(self.failures) < FAILURES_KEPT:
            self.failures.append(message)

    def count(self, name: str, n: int = 1) -> None:
        self.checked[name] = self.checked.get(name, 0) + n

    def absorb(self, other: CheckResult) -> None:
        """Take over what `other` counted and found (in a pass shared by checks)."""
        for name, n in other.checked.items():
            self.count(name, n)
        if other.status == FAIL:
            self.status = FAIL
        self.failure_count += other.failure_count
        self.failures.extend(other.failures[: max(0, FAILURES_KEPT - len(self.failures))])

    @property
    def passed(self) -> bool:
        return self.status != FAIL

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "checked": dict(self.checked),
            "failure_count": self.failure_count,
            "failures": list(self.failures),
            "note": self.note,
            "seconds": round(self.seconds, 3),
        }


def render_results(results: Sequence[CheckResult], console: Console) -> None:
    """A table: invariant, verdict, what was checked, the first failure or note."""
    table = Table(title="Invariants", show_lines=False)
    table.add_column("invariant")
    table.add_column("result")
    table.add_column("checked")
    table.add_column("first failure / note", overflow="fold")
    styles = {PASS: "bold green", FAIL: "bold red", SKIP: "yellow"}
    for result in results:
        checked = ", ".join(f"{k}={v:,}" for k, v in result.checked.items())
        detail = result.failures[0] if result.failures else (result.note or "")
        if result.failure_count > 1:
            detail += f" (+{result.failure_count - 1} more)"
        table.add_row(
            result.name,
            f"[{styles[result.status]}]{result.status}[/]",
            checked,
            detail,
        )
    console.print(table)


def outcome_counter(results: Sequence[CheckResult]) -> Counter[str]:
    return Counter(r.status for r in results)
