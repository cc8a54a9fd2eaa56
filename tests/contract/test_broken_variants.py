"""Each deliberately broken variant of the mock is caught, by the right check.

The variants (tests/contract/broken.py) each add one defect to the real app. The ledger
suite must fail on every one of them, in a row the variant names; the schema-shaped
defects (a missing field, a 5xx on bad input, a wrong status) must also be caught by
the schema suite's matching Schemathesis check. The table printed at the end (variant,
caught by, seconds) is what docs/contract-tests.md quotes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from contract_tests.ledger import run_ledger_suite
from contract_tests.schema_suite import run_schema_suite
from tests.contract.broken import VARIANTS, broken_target

# (variant, suite, caught by, seconds), filled by the tests and printed at the end.
CAUGHT: list[tuple[str, str, str, float]] = []
SCHEMA_SHAPED = [name for name, variant in VARIANTS.items() if variant.schema_checks]
# The defects of issue 12, each caught by one scripted law (contract_tests/laws.py),
# deterministically: the laws run first, at every seed.
LAW_CAUGHT = {
    "page_skips_item": "paging",
    "last_page_short": "paging",
    "total_ignores_filter": "list_total",
    "customers_by_name": "list_order",
    "duplicate_event_id": "unique_ids",
    "non_jcs_hash": "canonical_json",
    "last_sequence_lags": "derived_fields",
    "tenant_case_insensitive": "identifier_case",
    "idempotency_per_service": "idempotency_scope",
    "correlation_not_echoed": "correlation_header",
    "float_balances": "exact_money",
}


@pytest.fixture(scope="module", autouse=True)
def caught_table(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    plugins = request.config.pluginmanager
    reporter = plugins.get_plugin("terminalreporter")
    capture = plugins.get_plugin("capturemanager")
    if reporter is None or capture is None or not CAUGHT:
        return
    with capture.global_and_fixture_disabled():  # shown even without -s
        reporter.write_line("")
        reporter.write_line(f"{'variant':28} {'suite':7} {'caught by':42} seconds")
        for name, suite, checks, seconds in CAUGHT:
            reporter.write_line(f"{name:28} {suite:7} {checks:42} {seconds:7.1f}")


@pytest.mark.parametrize("name", list(VARIANTS))
def test_the_ledger_suite_catches_each_variant(name: str) -> None:
    variant = VARIANTS[name]
    started = time.perf_counter()
    with broken_target(name) as target:
        result = run_ledger_suite(target, max_examples=30, steps=30, shrink=False)
    seconds = time.perf_counter() - started
    assert result.error is None, result.error
    failed = [row for row in result.rows if row.failed]
    names = {row.name for row in failed}
    assert failed, f"{name} ({variant.defect}) was not caught"
    assert names <= variant.ledger_rows, f"{name} caught by {names}, not {variant.ledger_rows}"
    row = failed[0]
    assert row.first_failure and "seed 1" in row.first_failure
    assert row.reproduce and row.reproduce.startswith("curl ")
    # An extension the mock offers but gets wrong fails like any other row.
    assert all(r.offered for r in failed)
    assert not result.ok
    CAUGHT.append((name, "ledger", ", ".join(sorted(names)), seconds))


@pytest.mark.parametrize("name", SCHEMA_SHAPED)
def test_the_schema_suite_catches_the_schema_shaped_variants(name: str) -> None:
    variant = VARIANTS[name]
    started = time.perf_counter()
    with broken_target(name) as target:
        result = run_schema_suite(
            target, max_examples=15, operations=["submitCommand"], phases=("examples", "fuzzing")
        )
    seconds = time.perf_counter() - started
    assert result.error is None, result.error
    caught = result.caught_by("submitCommand")
    assert caught & variant.schema_checks, f"{name} caught by {caught or 'nothing'}"
    CAUGHT.append((name, "schema", ", ".join(sorted(caught & variant.schema_checks)), seconds))


def test_every_defect_of_the_issue_has_a_variant() -> None:
    assert set(VARIANTS) == {
        "no_balance_check",
        "flipped_sign",
        "idempotency_ignored",
        "replay_different_body",
        "cross_tenant_read",
        "hash_skips_field",
        "missing_field",
        "server_error_on_bad_input",
        "wrong_status",
        *LAW_CAUGHT,
    }
    assert {v.built_by for v in VARIANTS.values()} == {"middleware", "patch"}


@pytest.mark.parametrize("seed", [7, 1234])
@pytest.mark.parametrize("name", list(LAW_CAUGHT))
def test_each_law_catches_its_variant_at_any_seed(name: str, seed: int) -> None:
    """The law's catching input is scripted: the same row fails, in the scripted laws,
    whatever the seed (bench/law_runs.py repeats this 10 times per variant)."""
    started = time.perf_counter()
    with broken_target(name) as target:
        result = run_ledger_suite(target, seed=seed, max_examples=30, steps=30, shrink=False)
    seconds = time.perf_counter() - started
    failed = [row for row in result.rows if row.failed]
    assert [row.name for row in failed] == [LAW_CAUGHT[name]], [r.first_failure for r in failed]
    assert f"scripted laws, seed {seed}" in (failed[0].first_failure or "")
    assert seconds < 30


def test_a_wrong_extension_is_caught_in_its_extension_row() -> None:
    """hash_skips_field breaks the hash chain, an extension the mock offers: the failing
    row is the extension row hash_chain, and the verdict is DOES NOT CONFORM."""
    from contract_tests.report import verdict

    with broken_target("hash_skips_field") as target:
        result = run_ledger_suite(target, max_examples=5, steps=15, shrink=False)
    failed = [row for row in result.rows if row.failed]
    assert [(row.name, row.extension, row.offered) for row in failed] == [
        ("hash_chain", "hash_chain", True)
    ]
    assert verdict([result]) == "DOES NOT CONFORM"


def test_the_variants_leave_the_mock_unpatched() -> None:
    import mock_core.core.decide as decide
    import mock_core.store.eventstore as eventstore

    before = decide._check_bounds, eventstore.chain_hash
    with broken_target("no_balance_check"), broken_target("hash_skips_field"):
        assert (decide._check_bounds, eventstore.chain_hash) != before
    assert (decide._check_bounds, eventstore.chain_hash) == before
