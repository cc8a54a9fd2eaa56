"""Unit tests of `evolve` / `fold` and of money at the edges (`mock_core.money`).

Balances follow docs/contract.md: a DEBIT leg adds, a CREDIT leg subtracts,
balance = sum(debits) - sum(credits), so a tenant's balances sum to zero.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import given as hgiven
from hypothesis import strategies as st

from mock_core.core.decide import decide
from mock_core.core.events import AccountBalanceUpdated
from mock_core.core.evolve import evolve, fold
from mock_core.core.state import TenantState
from mock_core.errors import InvariantViolation
from mock_core.money import to_minor, to_number
from tests.mock_core import core_helpers as core  # the command payloads
from tests.mock_core.core_helpers import (
    CARD,
    CUSTOMER,
    GL_CHART,
    LOAN,
    SAV,
    TXN,
    account_opened,
    balance,
    context,
    customer_created,
    entry_posted,
    funds_posted,
    given,
    ledger,
    loan_facility_created,
    post,
    product_created,
    run,
    tenant_created,
    when,
)

# Folding facts into state.


def test_tenant_created_sets_the_tenant_and_opens_the_gl_chart_at_zero() -> None:
    state = given(tenant_created(currency="NZD", time_zone="Pacific/Auckland"))

    assert state.tenant is not None
    assert (state.tenant.tenant_id, state.tenant.base_currency, state.tenant.time_zone) == (
        "CU_TEST",
        "NZD",
        "Pacific/Auckland",
    )
    assert list(state.accounts) == list(GL_CHART)
    assert {(a.account_type, a.currency, a.balance_minor) for a in state.accounts.values()} == {
        ("GL", "NZD", 0)
    }


def test_product_limits_are_held_in_minor_units() -> None:
    state = given(
        tenant_created(),
        product_created(
            "P1",
            minBalance=0.5,
            maxBalance=1000.25,
            allowOverdraft=True,
            overdraftLimit=100,
            minAmount=1,
        ),
    )

    product = state.products["P1"]
    assert (product.min_balance_minor, product.max_balance_minor, product.overdraft_minor) == (
        50,
        100025,
        10000,
    )
    assert product.allow_overdraft is True
    assert (product.min_amount_minor, product.max_amount_minor) == (100, None)


@pytest.mark.parametrize(
    "constraints",
    [{}, {"allowOverdraft": False}, {"overdraftLimit": 100}],
    ids=["absent", "false", "limit-alone"],
)
def test_a_product_allows_an_overdraft_only_when_it_says_true(
    constraints: dict[str, Any],
) -> None:
    state = given(tenant_created(), product_created("P1", **constraints))

    assert state.products["P1"].allow_overdraft is False


def test_product_updated_replaces_the_product() -> None:
    state = given(
        tenant_created(),
        product_created("P1", overdraftLimit=100),
        product_created("P1", "DEPOSIT", active=False, event_type="ProductUpdated"),
    )

    product = state.products["P1"]
    assert product.active is False
    assert product.overdraft_minor is None


def test_customer_created_indexes_lower_cased_email_mobile_and_external_ref() -> None:
    state = given(
        tenant_created(),
        customer_created(
            "CUS-9", email="Mixed.Case@Example.COM", mobile="+61411111111", external_ref="MEM-9"
        ),
    )

    assert state.emails == {"mixed.case@example.com": "CUS-9"}
    assert state.mobiles == {"+61411111111": "CUS-9"}
    assert state.external_refs == {"MEM-9": "CUS-9"}
    assert state.customers["CUS-9"].date_of_birth.isoformat() == "1990-04-12"


def test_customer_without_external_ref_is_not_indexed_by_it() -> None:
    state = given(tenant_created(), customer_created("CUS-9", external_ref=None))

    assert state.external_refs == {}


def test_loan_facility_created_sets_the_account_limit_in_minor_units() -> None:
    state = given(
        tenant_created(),
        account_opened("A1", CUSTOMER, "CC", "CREDIT_CARD"),
        loan_facility_created("A1", 2500.5),
    )

    assert state.accounts["A1"].facility_limit_minor == 250050


def test_funds_posted_debits_the_member_and_credits_initial_deposit_clearing() -> None:
    state = ledger(funds_posted("E-1", TXN, 123.45))

    assert balance(state, TXN) == 12345
    assert balance(state, "GL_INITIAL_DEPOSIT_CLEARING") == -12345


def test_entry_posted_balance_is_sum_of_debits_minus_credits() -> None:
    state = ledger(
        entry_posted("E-1", (TXN, "DEBIT", 100), ("GL_SALARY_CLEARING", "CREDIT", 100)),
        entry_posted(
            "E-2",
            (TXN, "CREDIT", 30.25),
            ("GL_CARD_CLEARING", "DEBIT", 30.25),
            (TXN, "DEBIT", 0.1),
            ("GL_FEES", "CREDIT", 0.1),
        ),
        funds_posted("E-3", TXN, 5),
    )

    assert balance(state, TXN) == 10000 - 3025 + 10 + 500
    assert balance(state, "GL_SALARY_CLEARING") == -10000
    assert balance(state, "GL_CARD_CLEARING") == 3025
    assert balance(state, "GL_FEES") == -10
    assert balance(state, "GL_INITIAL_DEPOSIT_CLEARING") == -500


def test_a_loan_drawdown_leaves_the_loan_negative() -> None:
    state = ledger(entry_posted("E-1", (LOAN, "CREDIT", 4000), ("GL_LOAN_FUNDING", "DEBIT", 4000)))

    assert balance(state, LOAN) == -400000
    assert balance(state, "GL_LOAN_FUNDING") == 400000


def test_account_balance_updated_restates_the_balance_and_changes_nothing() -> None:
    state = ledger(entry_posted("E-1", (TXN, "DEBIT", 7), ("GL_FEES", "CREDIT", 7)))

    evolve(state, AccountBalanceUpdated(TXN, "E-1", 700, 700))

    assert balance(state, TXN) == 700


def test_evolve_refuses_an_unknown_event_type() -> None:
    with pytest.raises(AssertionError, match="unknown event type"):
        fold([("AccountClosed", {})])


def test_fold_continues_from_a_given_state() -> None:
    state = ledger()

    same = fold([funds_posted("E-1", SAV, 10)], state)

    assert same is state
    assert balance(state, SAV) == 1000


def test_decided_events_fold_into_the_balances_they_announce() -> None:
    state = TenantState()
    ctx = context()
    run(state, when("CreateTenant", core.tenant_payload()), ctx)
    run(
        state,
        when(
            "UpsertProduct",
            core.product_payload("EVERYDAY", allowOverdraft=True, overdraftLimit=50),
        ),
        ctx,
    )
    customer = run(state, when("CreateCustomer", core.customer_payload(1)), ctx).result[
        "customerId"
    ]
    opened = run(
        state,
        when("OpenAccount", core.account_payload("EVERYDAY", customer, initialDeposit=20)),
        ctx,
    )
    account = opened.result["accountId"]

    decision = run(
        state,
        post((account, "CREDIT", 70), ("GL_CARD_CLEARING", "DEBIT", 60), ("GL_FEES", "DEBIT", 10)),
        ctx,
    )

    announced = {e.payload["accountId"]: e.payload["balance"] for e in decision.events[1:]}
    assert announced == {account: -50, "GL_CARD_CLEARING": 60, "GL_FEES": 10}
    assert {a: to_number(balance(state, a)) for a in announced} == announced
    assert balance(state, "GL_INITIAL_DEPOSIT_CLEARING") == -2000
    assert sum(a.balance_minor for a in state.accounts.values()) == 0


# Properties: random balanced entries keep the books straight.

BOUNDED = {TXN: (0, None), SAV: (0, 100_000), LOAN: (-500_000, 0), CARD: (-200_000, 0)}
ACCOUNTS = [*BOUNDED, "GL_SUSPENSE", "GL_FEES", "GL_SALARY_CLEARING"]

# A transfer is (debit account, credit account, amount in minor units); an entry
# is 1..3 transfers flattened into legs, so it always balances and may put the
# same account on both sides.
transfers = st.tuples(st.sampled_from(ACCOUNTS), st.sampled_from(ACCOUNTS), st.integers(1, 150_000))
entries = st.lists(st.lists(transfers, min_size=1, max_size=3), min_size=1, max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@hgiven(entries)
def test_random_balanced_entries_agree_with_a_reference_ledger(
    entry_list: list[list[tuple[str, str, int]]],
) -> None:
    state = ledger()
    ctx = context()
    model = {account_id: 0 for account_id in state.accounts}
    for transfers_ in entry_list:
        legs = []
        after = dict(model)
        for debit, credit, amount in transfers_:
            legs += [(debit, "DEBIT", to_number(amount)), (credit, "CREDIT", to_number(amount))]
            after[debit] += amount
            after[credit] -= amount
        fits = all(
            (low is None or after[a] >= low) and (high is None or after[a] <= high)
            for a, (low, high) in BOUNDED.items()
        )
        try:
            decision = run(state, post(*legs), ctx)
        except InvariantViolation as exc:
            assert not fits, f"refused an entry that fits: {exc}"
            assert exc.invariant in ("OVERDRAFT_LIMIT_EXCEEDED", "MAX_BALANCE_EXCEEDED")
            continue
        assert fits, "accepted an entry that takes an account out of its bounds"
        model = after
        for event in decision.events[1:]:
            assert to_minor(event.payload["balance"]) == model[event.payload["accountId"]]

    assert {a: acc.balance_minor for a, acc in state.accounts.items()} == model
    assert sum(acc.balance_minor for acc in state.accounts.values()) == 0


legs_strategy = st.lists(
    st.tuples(st.sampled_from(GL_CHART), st.sampled_from(GL_CHART), st.integers(1, 10**13)),
    min_size=1,
    max_size=20,
)


@settings(max_examples=50, deadline=None)
@hgiven(st.lists(legs_strategy, min_size=1, max_size=10))
def test_folded_balances_are_debits_minus_credits_and_sum_to_zero(
    history: list[list[tuple[str, str, int]]],
) -> None:
    events: list[tuple[str, dict[str, Any]]] = [*tenant_created()]
    expected = dict.fromkeys(GL_CHART, 0)
    for n, transfers_ in enumerate(history):
        legs = []
        for debit, credit, amount in transfers_:
            legs += [(debit, "DEBIT", to_number(amount)), (credit, "CREDIT", to_number(amount))]
            expected[debit] += amount
            expected[credit] -= amount
        events.append(entry_posted(f"E-{n}", *legs))

    state = fold(events)

    assert {a: acc.balance_minor for a, acc in state.accounts.items()} == expected
    assert sum(acc.balance_minor for acc in state.accounts.values()) == 0


def test_two_tenants_fold_apart_and_each_sums_to_zero() -> None:
    first = ledger(entry_posted("E-1", (TXN, "DEBIT", 5), ("GL_FEES", "CREDIT", 5)))
    second = given(
        tenant_created("OTHER_CU"),
        entry_posted("E-1", ("GL_SUSPENSE", "DEBIT", 9), ("GL_FEES", "CREDIT", 9)),
    )

    assert balance(first, "GL_FEES") == -500
    assert balance(second, "GL_FEES") == -900
    for state in (first, second):
        assert sum(acc.balance_minor for acc in state.accounts.values()) == 0


# Money: JSON numbers in, integer minor units inside, JSON numbers out.


@settings(max_examples=300, deadline=None)
@hgiven(st.integers(1, 10**13))
def test_minor_units_round_trip_through_json_numbers(minor: int) -> None:
    number = to_number(minor)

    assert to_minor(number) == minor
    assert Decimal(repr(number)) == Decimal(minor).scaleb(-2)


@pytest.mark.parametrize(
    ("number", "minor"),
    [(0, 0), (0.01, 1), (0.1, 10), (1, 100), (19.99, 1999), (100_000_000_000, 10**13)],
)
def test_to_minor_reads_amounts_with_up_to_two_decimals(number: float, minor: int) -> None:
    assert to_minor(number) == minor


@pytest.mark.parametrize("minor", [1, 10, 99, 1999, 10**13 - 1, 10**13], ids=lambda m: f"minor-{m}")
def test_to_number_writes_exactly_minor_over_a_hundred(minor: int) -> None:
    assert Decimal(repr(to_number(minor))) == Decimal(minor) / 100


@pytest.mark.parametrize("number", [0.001, 1.005, 12345.678, 99_999_999_999.999, 1e-7])
def test_to_minor_refuses_a_third_decimal(number: float) -> None:
    with pytest.raises(ValueError, match="decimal places"):
        to_minor(number)


@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf, Decimal("NaN")])
def test_to_minor_refuses_nan_and_infinity(number: object) -> None:
    with pytest.raises(ValueError):
        to_minor(number)


@pytest.mark.parametrize("value", [True, False, None, [1], {"amount": 1}, "twelve"])
def test_to_minor_refuses_what_is_not_a_number(value: object) -> None:
    with pytest.raises(ValueError):
        to_minor(value)


def test_zero_digit_currency_has_whole_minor_units() -> None:
    assert to_minor(500, 0) == 500
    assert to_number(500, 0) == 500
    with pytest.raises(ValueError):
        to_minor(500.5, 0)


def test_decide_announces_balances_as_exact_numbers() -> None:
    state = ledger(funds_posted("E-1", TXN, 0.1))

    decision = decide(state, post((TXN, "DEBIT", 0.2), ("GL_FEES", "CREDIT", 0.2)), context())

    assert decision.events[1].payload["balance"] == 0.3  # not 0.30000000000000004
