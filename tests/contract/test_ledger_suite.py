"""The ledger suite passes on the mock, in process and over HTTP, and its model is sound.

The suite's failing side is shown in test_broken_variants.py.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from contract_tests.ledger import ROWS, Wire, event_hash, order_free, run_ledger_suite
from contract_tests.ledger_replies import chain_problem
from contract_tests.model import (
    Ledger,
    canonical,
    entry_changes,
    number_to_minor,
    to_minor,
)
from contract_tests.target import (
    DEFAULT_PLATFORM_KEY,
    IN_PROCESS_KEYS,
    Target,
    in_process_target,
)
from turingcore_client.contract import gl_accounts

SMALL: dict[str, Any] = {"max_examples": 8, "steps": 20}
ON = date(2025, 1, 15)  # the date of the commands the model is asked about


def test_the_mock_passes() -> None:
    result = run_ledger_suite(in_process_target(), **SMALL)
    failures = {row.name: row.first_failure for row in result.rows if row.failed}
    assert result.error is None, result.error
    assert result.ok, failures
    runs = {row.name: row.runs for row in result.rows}
    assert [row.name for row in result.rows] == list(ROWS)
    for name in ("balances", "sequence", "events", "hash_chain", "idempotent_replay"):
        assert runs[name] > 0, name
    # The mock offers every extension: their rows run, labelled as extension rows.
    rows = {row.name: row for row in result.rows}
    for name in ("hash_chain", "sequence", "replay_header", "command_result", "event_ids"):
        assert rows[name].extension and rows[name].offered and rows[name].runs > 0, name
    assert rows["balances"].extension is None
    for name in ("tenant_isolation", "IDEMPOTENCY_KEY_REUSED", "accepted:PostEntry"):
        assert runs[name] > 0, name


def test_the_same_seed_runs_the_same_checks() -> None:
    def counts(seed: int) -> dict[str, int]:
        result = run_ledger_suite(in_process_target(), seed=seed, max_examples=4, steps=12)
        assert result.ok, [r.first_failure for r in result.rows if r.failed]
        return {row.name: row.runs for row in result.rows}

    assert counts(7) == counts(7)


@pytest.fixture
def served_mock(tmp_path: Path) -> Iterator[Target]:
    """The mock behind a real HTTP server (uvicorn on a free port), as a URL target."""
    import uvicorn

    from mock_core.api.app import create_app
    from mock_core.settings import Settings

    keys = ";".join(f"{key}={scope}" for key, scope in IN_PROCESS_KEYS.items())
    app = create_app(
        Settings(database_url=f"sqlite:///{tmp_path}/mock.db", api_keys=keys, access_log=False)
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    scoped = {scope: key for key, scope in IN_PROCESS_KEYS.items() if scope != "*"}
    try:
        yield Target(f"http://127.0.0.1:{port}", DEFAULT_PLATFORM_KEY, scoped)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_the_mock_passes_over_http(served_mock: Target) -> None:
    result = run_ledger_suite(served_mock, max_examples=5, steps=15)
    assert result.error is None, result.error
    assert result.ok, {row.name: row.first_failure for row in result.rows if row.failed}
    assert {row.name: row.runs for row in result.rows}["tenant_isolation"] > 0


def test_an_unreachable_target_is_an_error_not_an_exception() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there once the probe is closed
    result = run_ledger_suite(Target(f"http://127.0.0.1:{port}", "key"), max_examples=2)
    assert result.error and "could not be reached" in result.error
    assert not result.ok


# --- the reference model, written from docs/contract.md ------------------------------


def ledger_with_accounts() -> tuple[Ledger, str]:
    """A model tenant with a TXN account (no overdraft) holding 100.00, and a card."""
    model = Ledger()
    tenant = "CT_MODEL"

    def apply(command_type: str, payload: dict[str, Any], result: dict[str, Any]) -> None:
        outcome = model.expect(tenant, command_type, payload, dedup_key=canonical(payload), on=ON)
        assert outcome.fresh, outcome
        model.apply(
            tenant,
            command_type,
            payload,
            dedup_key=canonical(payload),
            command_id="c",
            reply=b"{}",
            result=result,
        )

    apply(
        "CreateTenant",
        {
            "tenantCode": tenant,
            "displayName": "x",
            "region": "AU",
            "baseCurrency": "AUD",
            "timeZone": "Australia/Sydney",
        },
        {},
    )
    for code, kind, constraints in (
        ("TXN", "DEPOSIT", {"overdraftLimit": 0}),
        ("CARD", "CREDIT_CARD", {"minAmount": 500, "maxAmount": 5000}),
    ):
        payload = {
            "productCode": code,
            "name": code,
            "productType": kind,
            "interest": {},
            "constraints": constraints,
        }
        apply("UpsertProduct", payload, {})
    person = {
        "firstName": "A",
        "lastName": "B",
        "dateOfBirth": "1990-01-01",
        "email": "a@example.com",
        "mobile": "+61400000001",
    }
    apply("CreateCustomer", {"person": person, "address": {}}, {"customerId": "CUS"})
    apply(
        "OpenAccount",
        {"customerId": "CUS", "productCode": "TXN", "currency": "AUD", "initialDeposit": 100},
        {"accountId": "TXN1"},
    )
    apply(
        "OpenAccount",
        {"customerId": "CUS", "productCode": "CARD", "currency": "AUD", "facilityLimit": 1000},
        {"accountId": "CARD1"},
    )
    return model, tenant


def entry(*legs: tuple[str, str, float], **extra: Any) -> dict[str, Any]:
    return {
        "bookingDate": "2025-01-15",
        "valueDate": "2025-01-15",
        "currency": "AUD",
        "legs": [{"accountId": a, "direction": d, "amount": m} for a, d, m in legs],
        "narrative": "n",
        **extra,
    }


def expect(model: Ledger, tenant: str, payload: dict[str, Any], key: str = "k") -> str:
    outcome = model.expect(tenant, "PostEntry", payload, dedup_key=key, on=ON)
    return outcome.invariant or outcome.error or str(outcome.status)


def test_the_model_follows_the_documented_precedence() -> None:
    model, t = ledger_with_accounts()
    # Unknown account and unbalanced: ACCOUNT_MUST_EXIST comes first.
    assert expect(model, t, entry(("NOPE", "DEBIT", 1), ("TXN1", "CREDIT", 2))) == (
        "ACCOUNT_MUST_EXIST"
    )
    # Value date and leg currency: the value date comes first.
    bad = entry(("TXN1", "DEBIT", 1), ("GL_FEES", "CREDIT", 1), valueDate="2025-01-14")
    bad["legs"][1]["currency"] = "NZD"
    assert expect(model, t, bad) == "VALUE_DATE_BEFORE_BOOKING_DATE"
    # Overdraft before maximum, checked over every account of the entry.
    both = entry(("TXN1", "CREDIT", 200), ("CARD1", "DEBIT", 200))
    assert expect(model, t, both) == "OVERDRAFT_LIMIT_EXCEEDED"
    assert expect(model, t, entry(("CARD1", "DEBIT", 1), ("GL_FEES", "CREDIT", 1))) == (
        "MAX_BALANCE_EXCEEDED"
    )
    assert expect(model, t, entry(("TXN1", "DEBIT", 1.005), ("GL_FEES", "CREDIT", 1.005))) == (
        "VALIDATION_ERROR"
    )
    assert expect(model, t, entry(("TXN1", "CREDIT", 100), ("CARD1", "CREDIT", 0.01))) == (
        "LEGS_MUST_BALANCE"
    )


def test_an_account_outside_its_bounds_may_move_back_towards_them() -> None:
    model, t = ledger_with_accounts()
    account = model.tenants[t].accounts["TXN1"]
    account.balance = -5000  # a product tightened under it: 50.00 below its minimum
    assert expect(model, t, entry(("TXN1", "DEBIT", 10), ("GL_FEES", "CREDIT", 10))) == "202"
    assert expect(model, t, entry(("TXN1", "CREDIT", 1), ("GL_FEES", "DEBIT", 1))) == (
        "OVERDRAFT_LIMIT_EXCEEDED"
    )


def test_replays_and_key_reuse() -> None:
    model, t = ledger_with_accounts()
    payload = entry(("TXN1", "DEBIT", 1), ("GL_FEES", "CREDIT", 1))
    model.apply(
        t,
        "PostEntry",
        payload,
        dedup_key="K",
        command_id="c",
        reply=b"first",
        result={"entryId": "E"},
    )
    replay = model.expect(t, "PostEntry", payload, dedup_key="K", on=ON)
    assert replay.replay_of is not None and replay.replay_of.reply == b"first"
    other = dict(payload, narrative="other")
    assert expect(model, t, other, key="K") == "IDEMPOTENCY_KEY_REUSED"
    assert model.expect(t, "UpsertProduct", {}, dedup_key="K", on=ON).invariant == (
        "IDEMPOTENCY_KEY_REUSED"
    )


def test_concurrent_entries_are_valid_in_any_order_only_within_bounds() -> None:
    model, t = ledger_with_accounts()  # TXN1 holds 100.00 and may not go below zero
    spend = [entry(("TXN1", "CREDIT", 40), ("GL_FEES", "DEBIT", 40)) for _ in range(2)]
    assert order_free(model.tenants[t], spend)
    assert not order_free(model.tenants[t], [*spend, spend[0]])  # 120.00 > 100.00
    # A deposit first would make the third spend valid, but the order is unknown.
    deposit = entry(("TXN1", "DEBIT", 40), ("GL_FEES", "CREDIT", 40))
    assert not order_free(model.tenants[t], [*spend, spend[0], deposit])


def product(code: str, kind: str, constraints: dict[str, Any]) -> dict[str, Any]:
    return {
        "productCode": code,
        "name": code,
        "productType": kind,
        "interest": {"rate": 0.01},
        "constraints": constraints,
    }


def expect_command(model: Ledger, t: str, command_type: str, payload: dict[str, Any]) -> str:
    outcome = model.expect(t, command_type, payload, dedup_key=canonical(payload), on=ON)
    return outcome.invariant or outcome.error or str(outcome.status)


def test_the_published_constraints_and_their_invariants() -> None:
    model, t = ledger_with_accounts()
    upsert = "UpsertProduct"
    # min < max for each pair; an overdraft limit needs allowOverdraft; a default term
    # must be one of the options; null is absent.
    assert (
        expect_command(
            model, t, upsert, product("A", "DEPOSIT", {"minBalance": 5, "maxBalance": 5})
        )
        == "MIN_MUST_BE_BELOW_MAX"
    )
    assert (
        expect_command(model, t, upsert, product("A", "DEPOSIT", {"overdraftLimit": 10}))
        == "CONSTRAINTS_MUST_BE_CONSISTENT"
    )
    assert (
        expect_command(
            model,
            t,
            upsert,
            product("A", "DEPOSIT", {"overdraftLimit": 10, "allowOverdraft": True}),
        )
        == "202"
    )
    loan = {"maxAmount": 100, "termMonthsDefault": 18, "termMonthsOptions": [12, 24]}
    assert (
        expect_command(model, t, upsert, product("A", "LOAN", loan))
        == "CONSTRAINTS_MUST_BE_CONSISTENT"
    )
    both = {"minAmount": 9, "maxAmount": 1, "termMonthsDefault": 18, "termMonthsOptions": [12]}
    assert expect_command(model, t, upsert, product("A", "LOAN", both)) == "MIN_MUST_BE_BELOW_MAX"
    nulls = {"minBalance": 0.0, "maxBalance": None, "allowOverdraft": False, "overdraftLimit": 0}
    assert expect_command(model, t, upsert, product("A", "DEPOSIT", nulls)) == "202"


def test_term_deposits_and_loans_as_published() -> None:
    model, t = ledger_with_accounts()
    apply_product = [
        product("TERM", "TERM_DEPOSIT", {"minAmount": 1000, "maxAmount": 5000, "termMonths": 6}),
        product("PL", "LOAN", {"minAmount": 2000, "maxAmount": 50000}),
        product("LINE", "CREDIT_CARD", {"minAmount": 500}),
    ]
    for payload in apply_product:
        model.apply(
            t,
            "UpsertProduct",
            payload,
            dedup_key=payload["productCode"],
            command_id="c",
            reply=b"{}",
            result={},
        )

    def open_(code: str, **extra: Any) -> str:
        payload = {"customerId": "CUS", "productCode": code, "currency": "AUD", **extra}
        return expect_command(model, t, "OpenAccount", payload)

    assert open_("TERM", initialDeposit=999.99) == "INITIAL_DEPOSIT_BELOW_MINIMUM"
    assert open_("TERM", initialDeposit=5000.01) == "INITIAL_DEPOSIT_ABOVE_MAXIMUM"
    assert open_("TERM", initialDeposit=5000) == "202"
    assert open_("TERM") == "INITIAL_DEPOSIT_BELOW_MINIMUM"
    # A loan opens with no limit field: its limit is the product's maxAmount.
    assert open_("PL") == "202"
    assert open_("PL", facilityLimit=1999.99) == "FACILITY_LIMIT_OUT_OF_RANGE"
    assert open_("LINE") == "FACILITY_LIMIT_REQUIRED"
    assert open_("LINE", facilityLimit=None) == "FACILITY_LIMIT_REQUIRED"  # null is absent
    assert open_("LINE", facilityLimit=600) == "202"
    assert open_("TXN", facilityLimit=600) == "FACILITY_LIMIT_NOT_ALLOWED"
    events = model.apply(
        t,
        "OpenAccount",
        {"customerId": "CUS", "productCode": "PL", "currency": "AUD"},
        dedup_key="pl",
        command_id="c",
        reply=b"{}",
        result={"accountId": "PL1"},
    )
    assert [e.event_type for e in events] == ["AccountOpened", "LoanFacilityCreated"]
    assert events[1].payload["facilityLimit"] == 50000
    assert model.tenants[t].bounds(model.tenants[t].accounts["PL1"]) == (-5000000, 0)


def test_money_and_the_sign_convention() -> None:
    assert to_minor(45.5) == 4550
    assert to_minor(1.005) is None and to_minor(0) is None and to_minor(-1) is None
    assert to_minor(0, allow_zero=True) == 0
    assert to_minor(100_000_000_000) == 10**13 and to_minor(100_000_000_000.01) is None
    assert number_to_minor(-0.01) == -1
    legs = entry(("A", "DEBIT", 10), ("B", "CREDIT", 4), ("B", "CREDIT", 6))["legs"]
    assert entry_changes(legs) == {"A": 1000, "B": -1000}  # a DEBIT adds, a CREDIT subtracts
    assert len(gl_accounts()) == 11
    # A served amount is read exactly: a float sum's drift is a failure, never rounded.
    for drifted in (0.9999999999999999, 0.30000000000000004):
        with pytest.raises(ValueError):
            number_to_minor(drifted)


def test_the_hash_is_recomputed_from_the_served_envelope() -> None:
    target = in_process_target()
    with target.client() as client:
        wire = Wire(client, target)
        payload = {
            "tenantCode": "CT_HASH",
            "displayName": "x",
            "region": "AU",
            "baseCurrency": "AUD",
            "timeZone": "Australia/Sydney",
        }
        wire.command("CT_HASH", "CreateTenant", payload, command_id=str(uuid.uuid4()), key=None)
        events = wire.get("/tenants/CT_HASH/events").json()["events"]
    prev = "0" * 64
    for event in events:
        assert event["prevHash"] == prev
        assert event["hash"] == event_hash(prev, event)
        prev = event["hash"]
    assert chain_problem("0" * 64, events) == (None, prev)
    # A broken link and a hash that does not recompute are each named, at their event.
    relinked = [dict(e) for e in events]
    relinked[2]["prevHash"] = "f" * 64
    problem, last = chain_problem("0" * 64, relinked)
    assert problem is not None and "prevHash does not link" in problem
    assert last == events[1]["hash"]
    edited = [dict(e) for e in events]
    edited[1]["payload"] = {**edited[1]["payload"], "accountId": "GL_EDITED"}
    problem, _ = chain_problem("0" * 64, edited, " (an edited payload)")
    assert problem is not None and "does not recompute" in problem and "edited" in problem
