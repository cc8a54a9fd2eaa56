"""`twin run ... --probe` (twin/probe.py): every probe passes on the clean mock and
leaves the tenant's state digest alone; each fails, named, on the broken variant of
tests/contract/broken.py whose defect it is there to show."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.contract.asgi_threads import serve_in_thread
from turingcore_client.serving import served_mock
from twin.cli import main
from twin.probe import FAIL, PASS, PROBES, SKIP

SMALL = ["steady-state", "--customers", "10", "--days", "2", "--quiet"]


def _run(base_url: str, api_key: str, output: Path, *options: str) -> tuple[int, dict[str, Any]]:
    argv = ["run", *SMALL, "--base-url", base_url, "--api-key", api_key, "--output", str(output)]
    code = main([*argv, *options])
    summary = json.loads((output / "summary.json").read_text(encoding="utf-8"))
    return code, summary


def test_every_probe_passes_on_the_clean_mock_and_the_digest_stays(tmp_path: Path) -> None:
    args = ["--database-url", f"sqlite:///{tmp_path}/mock.db", "--no-access-log"]
    with served_mock(args) as base_url:
        code, probed = _run(base_url, "dev-platform-key", tmp_path / "probed", "--probe")
        # The same run again, without --probe: everything replays, and its digest is read
        # after the probes' requests, so a probe that wrote to the tenant would show.
        again, plain = _run(base_url, "dev-platform-key", tmp_path / "plain")
        # And --probe once more: its writes on the probe tenant replay (creation_order's
        # customers too, their keys and payloads from the seed), and every probe passes.
        third, reprobed = _run(base_url, "dev-platform-key", tmp_path / "reprobed", "--probe")
    assert code == 0, probed.get("probe")
    assert [p["name"] for p in probed["probe"]] == list(PROBES)
    assert {p["name"]: p["status"] for p in probed["probe"]} == dict.fromkeys(PROBES, PASS)
    assert again == 0 and "probe" not in plain
    assert plain["counts"]["by_outcome"]["replayed"] == plain["counts"]["total"]
    assert probed["state_digest"] == plain["state_digest"]
    assert third == 0, reprobed["probe"]
    assert {p["name"]: p["status"] for p in reprobed["probe"]} == dict.fromkeys(PROBES, PASS)
    assert reprobed["state_digest"] == plain["state_digest"]


# variant of tests/contract/broken.py -> the probes that must fail on it (every other passes)
CAUGHT_BY = {
    "server_error_on_bad_input": ("malformed_entry",),
    "no_balance_check": ("account_bounds",),
    "flipped_sign": ("account_bounds",),
    "page_skips_item": ("paging",),
    "last_page_short": ("paging",),
    "total_ignores_filter": ("paging",),
    # paging by the createdAt stamps; creation_order by three customers created in turn
    "customers_by_name": ("paging", "creation_order"),
    "tenant_case_insensitive": ("tenant_id_case",),
    "correlation_not_echoed": ("correlation_echo",),
    "idempotency_per_service": ("idempotency_scope",),
}


@pytest.mark.parametrize(("variant", "probes"), sorted(CAUGHT_BY.items()))
def test_the_probe_names_the_broken_variants_defect(
    variant: str, probes: tuple[str, ...], tmp_path: Path
) -> None:
    from tests.contract.broken import broken_target

    with broken_target(variant) as target, serve_in_thread(target.app) as base_url:
        code, summary = _run(base_url, target.api_key, tmp_path, "--probe", "--no-inspect")
    verdicts = {p["name"]: p for p in summary["probe"]}
    assert code == 1
    for probe in probes:
        assert verdicts[probe]["status"] == FAIL, verdicts[probe]
        assert verdicts[probe]["failures"], verdicts[probe]
    if variant == "no_balance_check":  # the entries were written: the mark moved
        assert any("a write" in f for f in verdicts["account_bounds"]["failures"])
    if variant == "flipped_sign":  # no crash: the negated balances named, nothing sent
        failures = verdicts["account_bounds"]["failures"]
        assert failures[0].startswith("the service reports a balance below the account's floor: -")
    if variant == "customers_by_name":
        assert "not in creation order" in verdicts["creation_order"]["failures"][0]
    others = {name: p["status"] for name, p in verdicts.items() if name not in probes}
    assert set(others.values()) == {PASS}, others


def test_a_published_only_target_passes_and_the_echo_is_skipped(tmp_path: Path) -> None:
    """A service with none of our extensions (tests/contract/published_only.py: no tenant
    read, no lastSequence, no `result`, X-Correlation-Id ignored): the probes use the
    published reads, and the correlation echo, an extension, is skipped with the reason."""
    published_only = pytest.importorskip("tests.contract.published_only")
    with serve_in_thread(published_only.app()) as base_url:
        code, summary = _run(base_url, "dev-platform-key", tmp_path, "--probe", "--no-inspect")
    verdicts = {p["name"]: p for p in summary["probe"]}
    assert code == 0, verdicts
    assert verdicts.pop("correlation_echo")["status"] == SKIP
    assert {name: p["status"] for name, p in verdicts.items()} == dict.fromkeys(verdicts, PASS)
    assert verdicts["tenant_id_case"]["detail"] == "GET /v1/tenants/cu_digital/customers: 404"


def test_nothing_written_is_judged_by_the_balances_without_a_last_sequence() -> None:
    from twin.probe import ProbeResult, _unmoved

    mark = "the members' balances"
    same = ProbeResult("account_bounds")
    _unmoved(same, (mark, {"A1": 10.0, "A2": 0.0}), (mark, {"A1": 10.0, "A2": 0.0}))
    assert same.status == PASS
    moved = ProbeResult("account_bounds")
    _unmoved(moved, (mark, {"A1": 10.0, "A2": 0.0}), (mark, {"A1": -355.93, "A2": 0.0}))
    assert moved.status == FAIL and moved.failures == [f"{mark} moved: A1: a write"]


def test_a_served_balance_outside_its_bounds_is_named_not_built_on() -> None:
    from twin.model import LedgerAccount
    from twin.probe_checks import bounds_problems, too_large

    inside = LedgerAccount("probe:A1", "TXN", "DEPOSIT", 0, 100_000, 5_000)
    below = LedgerAccount("probe:A2", "TXN", "DEPOSIT", 0, None, -12_345)
    above = LedgerAccount("probe:A3", "SAV", "DEPOSIT", 0, 100_000, 100_001)
    assert bounds_problems([("A1", inside)]) == []
    assert bounds_problems([("A1", inside), ("A2", below), ("A3", above)]) == [
        "the service reports a balance below the account's floor: -123.45 on A2 (floor 0.00)",
        "the service reports a balance above the account's maximum: 1000.01 on A3 "
        "(maximum 1000.00)",
    ]
    assert too_large(inside, "OVERDRAFT_LIMIT_EXCEEDED") is None
    huge = LedgerAccount("probe:A4", "TXN", "DEPOSIT", 0, None, 10**13)
    assert "past the largest entry amount" in str(too_large(huge, "OVERDRAFT_LIMIT_EXCEEDED"))
