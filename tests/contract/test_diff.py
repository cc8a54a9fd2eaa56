"""Differential mode: two mocks agree; a mock and an altered one disagree, and the
difference names the command that caused it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest

from contract_tests.diff import DiffReport, diff_targets, differing_paths, run_diff
from contract_tests.target import Target, in_process_target
from tests.contract.broken import rewrite_replies

SMALL: dict[str, Any] = {"seed": 42, "customers": 6, "days": 2}


def altered(change: Any) -> Target:
    """The in-process mock with `change(scope, status, body) -> body | None` on its replies."""
    base = in_process_target()

    def rewrite(
        scope: Any, request: bytes, status: int, headers: Any, body: bytes
    ) -> tuple[int, Any, bytes]:
        try:
            value = orjson.loads(body)
        except orjson.JSONDecodeError:
            return status, headers, body
        changed = change(scope, status, value)
        return status, headers, body if changed is None else orjson.dumps(changed)

    app = rewrite_replies(base.app, rewrite)
    return Target(base.base_url, base.api_key, base.scoped_keys, app, "altered mock")


def items_altered(key: str, change: Callable[[dict[str, Any]], None]) -> Target:
    """The in-process mock with `change(item)` on each item of the `key` list of every
    GET reply that has one."""

    def rewrite(scope: Any, status: int, body: Any) -> Any:
        if scope["method"] != "GET" or not isinstance(body, dict) or key not in body:
            return None
        for item in body[key]:
            change(item)
        return body

    return altered(rewrite)


@pytest.fixture(scope="module")
def agreeing() -> DiffReport:
    return diff_targets(in_process_target(), in_process_target(), **SMALL)


def test_two_mocks_agree(agreeing: DiffReport) -> None:
    assert agreeing.result.error is None, agreeing.result.error
    assert agreeing.differences == [], agreeing.format()
    assert agreeing.ok
    runs = {row.name: row.runs for row in agreeing.result.rows}
    assert runs["replies"] == agreeing.commands > 50
    assert all(runs[f"projection:{p}"] > 0 for p in ("tenant", "customers", "accounts", "events"))


def test_the_stream_includes_the_error_paths(agreeing: DiffReport) -> None:
    from contract_tests.diff import plan_steps

    kinds = [step.kind for step in plan_steps(42, 6, 2, "steady-state")]
    for kind in (
        "injected_overdraft",
        "injected_unbalanced",
        "injected_unknown_account",
        "injected_replay",
        "injected_key_reuse",
    ):
        assert kind in kinds


def test_a_renamed_event_type_is_blamed_on_its_command() -> None:
    def rename(event: dict[str, Any]) -> None:
        if event.get("eventType") == "FundsPosted":
            event["eventType"] = "FundsDeposited"

    report = diff_targets(in_process_target(), items_altered("events", rename), **SMALL)
    assert not report.ok
    rows = {row.name: row for row in report.result.rows}
    assert rows["replies"].failed == 0  # the commands' replies are the same
    assert rows["projection:events"].failed > 0
    renamed = [d for d in report.differences if d.path.endswith("eventType")]
    assert renamed and all(d.left == "FundsPosted" and d.right == "FundsDeposited" for d in renamed)
    for difference in renamed:
        assert difference.step is not None
        assert difference.step.command_type == "OpenAccount"
        assert difference.step.payload.get("initialDeposit", 0) > 0
    assert "OpenAccount" in (rows["projection:events"].first_failure or "")


def test_a_different_refusal_is_blamed_on_its_command() -> None:
    def rename(scope: Any, status: int, body: Any) -> Any:
        if status == 422 and body.get("invariant") == "OVERDRAFT_LIMIT_EXCEEDED":
            return {**body, "invariant": "INSUFFICIENT_FUNDS"}
        return None

    result = run_diff(in_process_target(), altered(rename), **SMALL)
    replies = next(row for row in result.rows if row.name == "replies")
    assert replies.failed >= 1
    assert "injected_overdraft" in (replies.first_failure or "")
    assert "OVERDRAFT_LIMIT_EXCEEDED" in (replies.first_failure or "")
    assert replies.reproduce and replies.reproduce.startswith("curl ")


def test_a_rounded_balance_is_blamed_on_the_last_command_on_the_account() -> None:
    def round_balance(account: dict[str, Any]) -> None:
        if account.get("accountType") == "CUSTOMER":
            account["balance"] = round(account["balance"])

    report = diff_targets(in_process_target(), items_altered("accounts", round_balance), **SMALL)
    balances = [d for d in report.differences if d.path.endswith(".balance")]
    assert balances, report.format()
    assert all(d.where == "projection:accounts" and d.step is not None for d in balances)
    assert {d.step.command_type for d in balances if d.step} <= {"OpenAccount", "PostEntry"}


def test_one_service_on_both_sides_gets_two_tenants_and_agrees_with_itself() -> None:
    target = in_process_target()
    report = diff_targets(target, target, seed=7, customers=3, days=1)
    assert report.tenant.endswith("_R") and "_L /" in report.tenant
    assert report.ok, report.format()


def test_differing_paths() -> None:
    left = {"a": 1, "b": [1, 2], "c": {"d": "x"}}
    right = {"a": 1.0, "b": [1, 3], "c": {"e": "x"}}
    paths = [p for p, _, _ in differing_paths(left, right)]
    assert paths == ["b[1]", "c.d", "c.e"]
