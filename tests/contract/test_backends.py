"""The contract suites bound to each storage backend, and the two backends diffed.

One suite, two bindings: the schema and ledger suites run against the in-process
mock on SQLite and on PostgreSQL (`database_url` is parametrised in
tests/conftest.py), and the differential mode replays the twin's stream against a
SQLite mock and a PostgreSQL mock and must find no difference.
"""

from __future__ import annotations

from pathlib import Path

from contract_tests.diff import run_diff
from contract_tests.ledger import run_ledger_suite
from contract_tests.results import SuiteResult
from contract_tests.schema_suite import run_schema_suite
from contract_tests.target import in_process_target
from tests.conftest import create_database, drop_database, require_postgres


def _failures(result: SuiteResult) -> list[str]:
    return [f"{row.name}: {row.first_failure}" for row in result.rows if row.failed] + (
        [result.error] if result.error else []
    )


def test_schema_and_ledger_suites_pass_on_each_backend(database_url: str) -> None:
    target = in_process_target(database_url=database_url)
    schema = run_schema_suite(target, seed=3, max_examples=10)
    assert schema.ok, _failures(schema)
    ledger = run_ledger_suite(target, seed=3, max_examples=5, steps=15, shrink=False)
    assert ledger.ok, _failures(ledger)


def test_sqlite_and_postgres_mocks_show_no_difference(tmp_path: Path) -> None:
    require_postgres()
    name, url = create_database("mock_core_diff")
    try:
        sqlite_mock = in_process_target(tmp_path)
        postgres_mock = in_process_target(database_url=url)
        result = run_diff(sqlite_mock, postgres_mock, seed=42, customers=15, days=5)
        assert result.ok, _failures(result)
        assert sum(row.runs for row in result.rows) > 100, "the diff compared almost nothing"
    finally:
        drop_database(name)
