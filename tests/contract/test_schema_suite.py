"""The schema suite passes on the mock and fails, by the right check, on broken targets.

Each broken target wraps the real app in a tiny ASGI middleware that rewrites one kind of
reply; the mock itself is never edited. A check that never failed is not yet a check.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from contract_tests.checks import (
    error_catalogue,
    error_shape_problem,
    fold_balance,
    tenant_sum_problem,
)
from contract_tests.schema_suite import (
    SchemaSuiteResult,
    load_spec,
    operation_ids,
    run_schema_suite,
)
from contract_tests.target import Target, in_process_target

FAST = ("examples", "fuzzing")  # the coverage phase alone takes ~30 s on the gateway

# rewrite(method, path, status, body) -> (status, body), or None to leave the reply alone.
Rewrite = Callable[[str, str, int, bytes], tuple[int, bytes] | None]


def rewrite_responses(app: Any, rewrite: Rewrite) -> Any:
    """Wrap an ASGI app so that `rewrite` may change the status and body of each reply."""

    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            status, body = start["status"], b"".join(chunks)
            changed = rewrite(scope["method"], scope["path"], status, body)
            if changed is not None:
                status, body = changed
            headers = [
                (k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"
            ]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await app(scope, receive, capture)

    return wrapped


def _json_rewrite(
    method: str, pattern: Callable[[str], bool], status: int, edit: Callable[[Any], Any]
) -> Rewrite:
    def rewrite(m: str, path: str, s: int, body: bytes) -> tuple[int, bytes] | None:
        if m != method or s != status or not pattern(path):
            return None
        return s, json.dumps(edit(json.loads(body))).encode()

    return rewrite


def _is_commands(path: str) -> bool:
    return path.endswith("/commands")


def _is_account(path: str) -> bool:
    parts = path.strip("/").split("/")
    return len(parts) == 5 and parts[3] == "accounts"


def _is_account_list(path: str) -> bool:
    parts = path.strip("/").split("/")
    return len(parts) == 4 and parts[3] == "accounts"


def server_error_on_bad_input(m: str, path: str, status: int, body: bytes) -> Any:
    """A 500 where the contract wants a 400: any command that fails validation."""
    if m == "POST" and _is_commands(path) and status == 400 and b"VALIDATION_ERROR" in body:
        return 500, b'{"error":"INTERNAL_ERROR","message":"boom","details":{}}'
    return None


def _drop_balance(account: dict[str, Any]) -> dict[str, Any]:
    account.pop("balance", None)
    return account


def _error_as_detail(m: str, path: str, status: int, body: bytes) -> Any:
    """Errors in FastAPI's default shape instead of the documented `Error`."""
    if status == 404:
        return 404, b'{"detail":"Not Found"}'
    return None


def _shift_member_balance(account: dict[str, Any]) -> dict[str, Any]:
    if account.get("accountType") == "CUSTOMER":
        account["balance"] = float(Decimal(str(account["balance"])) + 1)
    return account


def _unbalance_first(page: dict[str, Any]) -> dict[str, Any]:
    if page.get("accounts"):
        first = page["accounts"][0]
        first["balance"] = float(Decimal(str(first["balance"])) + Decimal("0.01"))
    return page


BROKEN: dict[str, Rewrite] = {
    "500 on some bad input": server_error_on_bad_input,
    "required field missing": _json_rewrite("GET", _is_account, 200, _drop_balance),
    "200 instead of 202": lambda m, path, s, body: (
        (200, body) if m == "POST" and _is_commands(path) and s == 202 else None
    ),
    "error body of the wrong shape": _error_as_detail,
    "balance not derivable": _json_rewrite("GET", _is_account, 200, _shift_member_balance),
    "tenant does not sum to zero": _json_rewrite("GET", _is_account_list, 200, _unbalance_first),
}

# defect -> (operations to run, the row that must fail, the check that must catch it)
EXPECTED = {
    "500 on some bad input": (["submitCommand"], "submitCommand", "not_a_server_error"),
    "required field missing": (["getAccount"], "getAccount", "response_schema_conformance"),
    "200 instead of 202": (["submitCommand"], "submitCommand", "status_code_conformance"),
    "error body of the wrong shape": (["getCustomer"], "getCustomer", "error_shape"),
    "balance not derivable": (["getAccount"], "getAccount", "balance_derivability"),
    "tenant does not sum to zero": (["listAccounts"], "listAccounts", "tenant_sums_to_zero"),
    "auth not enforced": (["getTenant"], "getTenant", "ignored_auth"),
}


def auth_not_enforced(app: Any) -> Any:
    """A service that lets requests without a valid key through, as the platform."""

    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"authorization"]
            headers.append((b"authorization", b"Bearer dev-platform-key"))
            scope = {**scope, "headers": headers}
        await app(scope, receive, send)

    return wrapped


def broken_target(defect: str, directory: Path) -> Target:
    target = in_process_target(directory)
    if defect == "auth not enforced":
        target.app = auth_not_enforced(target.app)
    else:
        target.app = rewrite_responses(target.app, BROKEN[defect])
    target.name = f"mock with {defect}"
    return target


@pytest.fixture(scope="module")
def mock_result(tmp_path_factory: pytest.TempPathFactory) -> SchemaSuiteResult:
    target = in_process_target(tmp_path_factory.mktemp("schema-suite"))
    return run_schema_suite(target, max_examples=8, phases=FAST)


def test_the_mock_conforms(mock_result: SchemaSuiteResult) -> None:
    failures = {r.name: r.first_failure for r in mock_result.rows if r.failed}
    assert mock_result.error is None
    assert failures == {}
    assert mock_result.ok


def test_one_row_per_operation_and_domain_check(mock_result: SchemaSuiteResult) -> None:
    names = {row.name for row in mock_result.rows}
    assert set(operation_ids(load_spec()).values()) <= names
    assert {"error_shape", "balance_derivability", "tenant_sums_to_zero"} <= names
    by_name = {row.name: row for row in mock_result.rows}
    # Every operation ran, and the follow-up checks did run, on seeded entities.
    assert all(by_name[op].runs > 0 for op in operation_ids(load_spec()).values())
    assert by_name["balance_derivability"].runs > 0
    assert by_name["tenant_sums_to_zero"].runs > 0
    assert by_name["example-sequence"].passed == by_name["example-sequence"].runs > 0


def test_the_spec_examples_are_seeded_and_substituted(mock_result: SchemaSuiteResult) -> None:
    fixtures = mock_result.fixtures
    assert fixtures is not None
    assert len(fixtures.customer_ids) == 1 and len(fixtures.account_ids) == 3
    assert "GL_SALARY_CLEARING" in fixtures.gl_account_ids
    # The example ids now point at the entities this run made.
    assert set(fixtures.substitutions.values()) >= set(fixtures.account_ids)


@pytest.mark.parametrize("defect", list(EXPECTED))
def test_a_broken_target_is_caught_by_the_right_check(defect: str, tmp_path: Path) -> None:
    operations, row_name, check = EXPECTED[defect]
    result = run_schema_suite(
        broken_target(defect, tmp_path), max_examples=15, operations=operations, phases=FAST
    )
    row = next(r for r in result.rows if r.name == row_name)
    assert not result.ok
    assert row.failed > 0, f"{defect} was not caught on {row_name}"
    assert check in result.caught_by(row_name), result.failed_checks
    assert row.first_failure and row.reproduce and row.reproduce.startswith("curl ")


def test_invalid_options_are_reported_not_raised(tmp_path: Path) -> None:
    target = in_process_target(tmp_path)
    assert run_schema_suite(target, operations=["noSuchOperation"]).error
    assert run_schema_suite(target, phases=("stateful",)).error


# --- the domain checks as plain functions ---------------------------------------------


def test_error_shape_reads_the_codes_from_the_spec() -> None:
    catalogue = error_catalogue(load_spec())
    assert "LEGS_MUST_BALANCE" in catalogue.invariants
    assert catalogue.codes_for(404) == {"NOT_FOUND"}
    ok = {"error": "NOT_FOUND", "message": "no", "details": {}}
    assert error_shape_problem(404, ok, catalogue) is None
    assert error_shape_problem(200, {"anything": 1}, catalogue) is None
    assert "missing" in (error_shape_problem(404, {"detail": "Not Found"}, catalogue) or "")
    wrong_status = {"error": "VALIDATION_ERROR", "message": "", "details": {}}
    assert "not documented for 404" in (error_shape_problem(404, wrong_status, catalogue) or "")
    violation = {
        "commandId": "x",
        "error": "INVARIANT_VIOLATION",
        "invariant": "LEGS_MUST_BALANCE",
        "message": "",
        "details": {},
    }
    assert error_shape_problem(422, violation, catalogue) is None
    unknown = {**violation, "invariant": "MADE_UP"}
    assert "not a documented invariant" in (error_shape_problem(422, unknown, catalogue) or "")


def test_fold_balance_follows_the_sign_convention() -> None:
    events = [
        {"eventType": "AccountOpened", "payload": {"accountId": "A"}},
        {
            "eventType": "FundsPosted",
            "payload": {
                "legs": [
                    {"accountId": "A", "direction": "DEBIT", "amount": Decimal("100.00")},
                    {"accountId": "GL", "direction": "CREDIT", "amount": Decimal("100.00")},
                ]
            },
        },
        {
            "eventType": "EntryPosted",
            "payload": {
                "legs": [
                    {"accountId": "A", "direction": "CREDIT", "amount": 45.5},
                    {"accountId": "GL2", "direction": "DEBIT", "amount": 45.5},
                ]
            },
        },
    ]
    assert fold_balance(events, "A") == Decimal("54.50")
    assert fold_balance(events, "GL") == Decimal("-100.00")
    assert (
        tenant_sum_problem(
            [{"balance": 54.5, "currency": "AUD"}, {"balance": -54.5, "currency": "AUD"}]
        )
        is None
    )
    assert "sum to 0.01 AUD" in (tenant_sum_problem([{"balance": 0.01, "currency": "AUD"}]) or "")
