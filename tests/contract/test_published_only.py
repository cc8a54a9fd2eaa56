"""`contract-test` judges the published contract; our extensions are checked only where a
target offers them.

A variant of the mock that implements only the published contract (no prevHash/hash, no
tenant stream, no `result`, no replay header, ...: tests/contract/published_only.py)
CONFORMS, whether it serves its (stripped) spec or none at all. The mock itself offers
every extension, and an extension it offers but gets wrong still fails the verdict
(test_broken_variants.py: hash_skips_field fails the extension row hash_chain).
"""

from __future__ import annotations

from pathlib import Path

from contract_tests.cli import EXIT_OK, main
from contract_tests.extensions import (
    EXTENSIONS,
    Extensions,
    detect_extensions,
    offered_by_spec,
)
from contract_tests.extensions_published import published_view, stripped_spec
from contract_tests.ledger import ROW_EXTENSIONS, run_ledger_suite
from contract_tests.schema_suite import load_spec, operation_ids
from contract_tests.target import in_process_target
from tests.contract.published_only import extension_field, published_only_target

QUICK = [
    "--max-examples",
    "10",
    "--phases",
    "examples,coverage,fuzzing",
    "--ledger-examples",
    "12",
    "--ledger-steps",
    "25",
]


def test_the_published_only_mock_conforms(tmp_path: Path) -> None:
    """The whole `contract-test` run (both suites, the CLI's own path) on the variant."""
    code = main(
        [
            "run",
            *QUICK,
            "--target-app",
            "tests.contract.published_only:app()",
            "--report-dir",
            str(tmp_path),
        ]
    )
    report = (tmp_path / "report.md").read_text()
    assert code == EXIT_OK, report
    assert "**Verdict**: CONFORMS" in report
    # The extension rows are there, labelled, and did not run.
    for row in ("hash_chain", "sequence", "replay_header", "command_result", "listEvents"):
        line = next(line for line in report.splitlines() if f"| {row} |" in line)
        assert "(not offered)" in line and "| 0 | 0 | 0 |" in line, line
    assert "extension" in (tmp_path / "junit.xml").read_text()


def test_without_a_served_spec_the_extensions_are_found_by_probing() -> None:
    with published_only_target(serve_spec=False) as target:
        found = detect_extensions(target)
        assert found.source == "probing"
        assert not any(found.offered.values()), found.describe()
        result = run_ledger_suite(target, max_examples=6, steps=20, shrink=False)
    assert result.error is None, result.error
    assert result.ok, {row.name: row.first_failure for row in result.rows if row.failed}
    runs = {row.name: row.runs for row in result.rows}
    assert runs["events"] > 0 and runs["balances"] > 0 and runs["idempotent_replay"] > 0
    for name in ROW_EXTENSIONS:
        row = next(r for r in result.rows if r.name == name)
        assert row.extension and not row.offered and row.runs == 0, name


def test_the_mock_offers_every_extension() -> None:
    target = in_process_target()
    found = detect_extensions(target)
    assert found.source == "served spec"
    assert found.offered == {name: True for name in EXTENSIONS}
    with target.client() as client:  # probing agrees with the spec
        from contract_tests.extensions import probe_extensions

        assert probe_extensions(client) == found.offered


def test_the_marks_decide_what_a_published_service_serves() -> None:
    spec = load_spec()
    assert all(offered_by_spec(spec).values())
    published = stripped_spec(spec)
    assert not any(offered_by_spec(published).values())
    assert set(operation_ids(published).values()) == {
        "submitCommand",
        "listCustomers",
        "listAccounts",
        "listAccountEvents",
    }
    # What the schema suite tests on a published-only target: no extension operation,
    # parameter or request field, and none in the request examples either.
    view = published_view(spec, Extensions.nothing())
    assert "getTenant" not in operation_ids(view).values()
    examples = view["paths"]["/tenants/{tenantId}/commands"]["post"]["requestBody"]["content"][
        "application/json"
    ]["examples"]
    assert all(extension_field(e["value"]) is None for e in examples.values())
    # Reply fields that are extensions stay, optional: a service that serves them is
    # held to their schema.
    envelope = view["components"]["schemas"]["EventEnvelope"]
    assert "hash" in envelope["properties"] and "hash" not in envelope.get("required", [])
