"""Unit tests of `decide`: given events, when a command, then events or an invariant.

The expectations come from docs/contract.md (event shapes, invariant codes and
their precedence, account bounds), not from the code under test.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable
from typing import Any

import pytest

from mock_core.core.commands import Command
from mock_core.core.decide import Context, decide
from mock_core.core.evolve import fold
from mock_core.core.state import TenantState
from mock_core.errors import INVARIANTS, InvariantViolation, RequestError
from mock_core.money import to_minor
from tests.mock_core.core_helpers import (
    CARD,
    CUSTOMER,
    GL_CHART,
    LOAN,
    NOW,
    OD,
    SAV,
    TENANT,
    TXN,
    Event,
    account_opened,
    account_payload,
    balance,
    context,
    customer_created,
    customer_payload,
    entry_payload,
    entry_posted,
    funds_posted,
    given,
    ledger,
    nth_id,
    post,
    product_created,
    product_payload,
    run,
    tenant_created,
    tenant_payload,
    then_error,
    then_events,
    when,
)

Case = Callable[[], tuple[TenantState, Command]]

# Happy paths: the exact events, in order, with their key fields.


def test_create_tenant_emits_tenant_created_then_the_eleven_gl_accounts_in_contract_order() -> None:
    decision = decide(TenantState(), when("CreateTenant", tenant_payload("NEW_CU")), context())

    gl_opened = [
        (
            "AccountOpened",
            {"accountId": code, "accountType": "GL", "customerId": None, "currency": "AUD"},
        )
        for code in GL_CHART
    ]
    then_events(
        decision,
        [
            (
                "TenantCreated",
                {"tenantCode": "NEW_CU", "baseCurrency": "AUD", "timeZone": "Australia/Sydney"},
            ),
            *gl_opened,
        ],
    )
    assert [e.entity_id for e in decision.events] == ["NEW_CU", *GL_CHART]
    assert decision.result == {"tenantId": "NEW_CU"}


def test_create_tenant_gl_accounts_are_in_the_tenant_base_currency() -> None:
    decision = decide(
        TenantState(), when("CreateTenant", tenant_payload("NZ_CU", "NZD")), context()
    )

    assert {e.payload["currency"] for e in decision.events[1:]} == {"NZD"}


def test_upsert_product_creates_a_new_code_then_updates_the_same_code() -> None:
    state = given(tenant_created())

    first = run(state, when("UpsertProduct", product_payload("NEW_SAVER", maxBalance=500)))
    second = decide(
        state, when("UpsertProduct", product_payload("NEW_SAVER", maxBalance=800)), context()
    )

    then_events(
        first,
        [
            (
                "ProductCreated",
                {
                    "productCode": "NEW_SAVER",
                    "productType": "DEPOSIT",
                    "active": True,
                    "constraints": {"maxBalance": 500},
                },
            )
        ],
    )
    then_events(
        second,
        [("ProductUpdated", {"productCode": "NEW_SAVER", "constraints": {"maxBalance": 800}})],
    )
    assert second.events[0].entity_id == "NEW_SAVER"
    assert second.result == {"tenantId": TENANT, "productCode": "NEW_SAVER"}


def test_upsert_product_of_another_code_is_a_creation() -> None:
    decision = decide(ledger(), when("UpsertProduct", product_payload("OTHER")), context())

    then_events(decision, [("ProductCreated", {"productCode": "OTHER"})])


def test_create_customer_emits_customer_created_with_the_id_from_the_factory() -> None:
    payload = customer_payload(2, external_ref="MEM-000002")

    decision = decide(ledger(), when("CreateCustomer", payload), context())

    then_events(
        decision,
        [
            (
                "CustomerCreated",
                {
                    "customerId": nth_id(1),
                    "externalRef": "MEM-000002",
                    "person": payload["person"],
                },
            )
        ],
    )
    assert decision.events[0].entity_id == nth_id(1)
    assert decision.result == {"tenantId": TENANT, "customerId": nth_id(1)}


def test_events_omit_optional_fields_that_were_not_given() -> None:
    tenant = decide(TenantState(), when("CreateTenant", tenant_payload("NEW_CU")), context())
    customer = decide(ledger(), when("CreateCustomer", customer_payload(2)), context())

    assert not {"regulatoryJurisdiction", "businessType"} & set(tenant.events[0].payload)
    assert not {"externalRef", "employment", "riskProfile"} & set(customer.events[0].payload)
    assert "line2" not in customer.events[0].payload["address"]


def test_customer_created_carries_the_optional_fields_that_were_given() -> None:
    payload = {
        **customer_payload(2, external_ref="MEM-2"),
        "employment": {"status": "FULL_TIME", "annualIncome": 85000.5},
        "riskProfile": {"segment": "RETAIL", "kycStatus": "SIMULATED_PASSED", "creditScore": 780},
    }

    decision = decide(ledger(), when("CreateCustomer", payload), context())

    then_events(
        decision,
        [
            (
                "CustomerCreated",
                {
                    "externalRef": "MEM-2",
                    "employment": {"status": "FULL_TIME", "annualIncome": 85000.5},
                    "riskProfile": {
                        "segment": "RETAIL",
                        "kycStatus": "SIMULATED_PASSED",
                        "creditScore": 780,
                    },
                },
            )
        ],
    )


def test_open_account_with_an_initial_deposit_funds_it_from_initial_deposit_clearing() -> None:
    command = when(
        "OpenAccount",
        account_payload("TXN_BASIC", initialDeposit=250.5, accountAlias="Everyday"),
    )

    decision = decide(ledger(), command, context())

    account_id, entry_id = nth_id(1), nth_id(2)
    then_events(
        decision,
        [
            (
                "AccountOpened",
                {
                    "accountId": account_id,
                    "accountType": "CUSTOMER",
                    "customerId": CUSTOMER,
                    "productCode": "TXN_BASIC",
                    "productType": "DEPOSIT",
                    "currency": "AUD",
                    "accountAlias": "Everyday",
                    "accountPurpose": None,
                },
            ),
            (
                "FundsPosted",
                {
                    "entryId": entry_id,
                    "accountId": account_id,
                    "currency": "AUD",
                    "amount": 250.5,
                    "legs": [
                        {"accountId": account_id, "direction": "DEBIT", "amount": 250.5},
                        {
                            "accountId": "GL_INITIAL_DEPOSIT_CLEARING",
                            "direction": "CREDIT",
                            "amount": 250.5,
                        },
                    ],
                },
            ),
        ],
    )
    assert decision.result == {"tenantId": TENANT, "accountId": account_id}


@pytest.mark.parametrize("deposit", [{"initialDeposit": 0}, {}], ids=["zero", "absent"])
def test_open_account_without_a_positive_deposit_posts_no_funds(deposit: dict[str, int]) -> None:
    decision = decide(
        ledger(), when("OpenAccount", account_payload("TXN_BASIC", **deposit)), context()
    )

    then_events(decision, [("AccountOpened", {"accountId": nth_id(1)})])


@pytest.mark.parametrize(
    ("product_code", "product_type"), [("HOME_LOAN", "LOAN"), ("CC_LOW", "CREDIT_CARD")]
)
def test_open_credit_account_creates_its_facility(product_code: str, product_type: str) -> None:
    command = when("OpenAccount", account_payload(product_code, facilityLimit=5000))

    decision = decide(ledger(), command, context())

    then_events(
        decision,
        [
            ("AccountOpened", {"accountId": nth_id(1), "productType": product_type}),
            (
                "LoanFacilityCreated",
                {"accountId": nth_id(1), "facilityLimit": 5000, "currency": "AUD"},
            ),
        ],
    )


def test_open_account_events_fold_into_the_funded_account() -> None:
    state = ledger()

    decision = run(state, when("OpenAccount", account_payload("TXN_BASIC", initialDeposit=75)))

    new_account = decision.result["accountId"]
    assert balance(state, new_account) == 7500
    assert balance(state, "GL_INITIAL_DEPOSIT_CLEARING") == -7500


def test_post_entry_emits_entry_posted_then_one_balance_update_per_account() -> None:
    state = ledger(funds_posted("E-0", TXN, 50))

    decision = decide(
        state, post((TXN, "DEBIT", 100), ("GL_SALARY_CLEARING", "CREDIT", 100)), context()
    )

    entry_id = nth_id(1)
    then_events(
        decision,
        [
            (
                "EntryPosted",
                {
                    "entryId": entry_id,
                    "bookingDate": "2025-01-15",
                    "valueDate": "2025-01-15",
                    "currency": "AUD",
                    "legs": [
                        {"accountId": TXN, "direction": "DEBIT", "amount": 100},
                        {"accountId": "GL_SALARY_CLEARING", "direction": "CREDIT", "amount": 100},
                    ],
                    "narrative": "unit test entry",
                    "tags": {},
                    "metadata": {},
                },
            ),
            (
                "AccountBalanceUpdated",
                {"accountId": TXN, "entryId": entry_id, "change": 100, "balance": 150},
            ),
            (
                "AccountBalanceUpdated",
                {"accountId": "GL_SALARY_CLEARING", "change": -100, "balance": -100},
            ),
        ],
    )
    assert [e.entity_id for e in decision.events] == [entry_id, TXN, "GL_SALARY_CLEARING"]
    assert decision.result == {"tenantId": TENANT, "entryId": entry_id}


def test_post_entry_nets_an_account_on_two_legs_in_first_leg_order() -> None:
    command = post(
        ("GL_CARD_CLEARING", "DEBIT", 40),
        (TXN, "DEBIT", 100),
        ("GL_SALARY_CLEARING", "CREDIT", 100),
        (TXN, "CREDIT", 40),
    )

    decision = decide(ledger(), command, context())

    then_events(
        decision,
        [
            ("EntryPosted", {"entryId": nth_id(1)}),
            (
                "AccountBalanceUpdated",
                {"accountId": "GL_CARD_CLEARING", "change": 40, "balance": 40},
            ),
            ("AccountBalanceUpdated", {"accountId": TXN, "change": 60, "balance": 60}),
            (
                "AccountBalanceUpdated",
                {"accountId": "GL_SALARY_CLEARING", "change": -100, "balance": -100},
            ),
        ],
    )
    assert len(decision.events[0].payload["legs"]) == 4


def test_post_entry_keeps_cents_exact_in_change_and_balance() -> None:
    state = ledger(funds_posted("E-0", TXN, 0.1))

    decision = decide(state, post((TXN, "DEBIT", 0.2), ("GL_FEES", "CREDIT", 0.2)), context())

    then_events(
        decision,
        [
            ("EntryPosted", {}),
            ("AccountBalanceUpdated", {"accountId": TXN, "change": 0.2, "balance": 0.3}),
            ("AccountBalanceUpdated", {"accountId": "GL_FEES", "change": -0.2, "balance": -0.2}),
        ],
    )


def test_post_entry_carries_tags_and_metadata() -> None:
    command = post(
        (TXN, "DEBIT", 1),
        ("GL_SALARY_CLEARING", "CREDIT", 1),
        tags={"category": "INCOME", "source": "PAYROLL_SIM"},
        metadata={"employer": "ACME", "payslip": 42, "fortnightly": True, "hours": 37.5},
    )

    decision = decide(ledger(), command, context())

    then_events(
        decision,
        [
            (
                "EntryPosted",
                {
                    "tags": {"category": "INCOME", "source": "PAYROLL_SIM"},
                    "metadata": {
                        "employer": "ACME",
                        "payslip": 42,
                        "fortnightly": True,
                        "hours": 37.5,
                    },
                },
            ),
            ("AccountBalanceUpdated", {}),
            ("AccountBalanceUpdated", {}),
        ],
    )


# Every invariant the core checks: one or more cases each. The table is the
# record of which codes these tests produce; a test below compares it with
# mock_core.errors.INVARIANTS, so a new code without a case fails the suite.


def _tenant(currency: str = "AUD", time_zone: str = "Australia/Sydney") -> Command:
    return when("CreateTenant", tenant_payload("NEW_CU", currency, time_zone))


def _customer(**kw: str) -> Command:
    return when("CreateCustomer", customer_payload(2, **kw))


def _account(product_code: str = "TXN_BASIC", **kw: object) -> Command:
    return when("OpenAccount", account_payload(product_code, **kw))


def _loan_without_max_amount() -> Event:
    return product_created("HOME_LOAN", "LOAN", minAmount=1000, event_type="ProductUpdated")


def _term_product(**constraints: Any) -> Event:
    return product_created("TERM_12", "TERM_DEPOSIT", event_type="ProductUpdated", **constraints)


def _min_balance_product(**more: Any) -> Event:
    """MIN_100: a deposit product that opens with at least 100 and keeps 100 in it."""
    return product_created("MIN_100", minBalance=100, **more)


INVARIANT_CASES = [
    pytest.param(
        "TENANT_CODE_UNIQUE",
        lambda: (given(tenant_created()), when("CreateTenant", tenant_payload(TENANT))),
        id="tenant-exists",
    ),
    pytest.param(
        "CURRENCY_MUST_BE_SUPPORTED",
        lambda: (TenantState(), _tenant("XYZ")),
        id="unknown-currency",
    ),
    *[
        pytest.param(
            "TIME_ZONE_MUST_BE_VALID",
            lambda zone=zone: (TenantState(), _tenant(time_zone=zone)),
            id=f"zone-{zone}",
        )
        for zone in ("Mars/Olympus_Mons", "Australia", "australia/sydney", "../../etc/passwd")
    ],
    *[
        pytest.param(
            "RATES_MUST_BE_NON_NEGATIVE",
            lambda name=name: (
                ledger(),
                when("UpsertProduct", product_payload(interest={name: -0.01})),
            ),
            id=f"negative-{name}",
        )
        for name in ("rate", "baseRate", "bonusRate", "purchaseRate", "cashAdvanceRate")
    ],
    *[
        pytest.param(
            "MIN_MUST_BE_BELOW_MAX",
            lambda low=low, high=high, lo=lo, hi=hi: (
                ledger(),
                when("UpsertProduct", product_payload(**{low: lo, high: hi})),
            ),
            id=f"{low}-{lo}-{high}-{hi}",
        )
        for low, high, lo, hi in (
            ("minBalance", "maxBalance", 1000, 1000),
            ("minBalance", "maxBalance", 1000.01, 1000),
            ("minAmount", "maxAmount", 5000, 1000),
            ("minAmount", "maxAmount", 1000, 1000),
            ("minAge", "maxAge", 65, 18),
            ("minAge", "maxAge", 18, 18),
        )
    ],
    *[
        pytest.param(
            "CONSTRAINTS_MUST_BE_CONSISTENT",
            lambda constraints=constraints: (
                ledger(),
                when("UpsertProduct", product_payload(**constraints)),
            ),
            id=name,
        )
        for name, constraints in (
            ("overdraft-limit-without-allow-overdraft", {"overdraftLimit": 0.01}),
            (
                "overdraft-limit-with-allow-overdraft-false",
                {"allowOverdraft": False, "overdraftLimit": 100},
            ),
            (
                "term-default-not-an-option",
                {"termMonthsDefault": 36, "termMonthsOptions": [12, 24, 60]},
            ),
        )
    ],
    pytest.param(
        "CUSTOMER_MUST_BE_ADULT",
        lambda: (ledger(), _customer(date_of_birth="2010-06-30")),
        id="aged-14",
    ),
    pytest.param(
        "CUSTOMER_EMAIL_UNIQUE",
        lambda: (ledger(), _customer(email="Olivia.Nguyen@Example.com.au")),
        id="same-email",
    ),
    pytest.param(
        "CUSTOMER_MOBILE_UNIQUE",
        lambda: (ledger(), _customer(mobile="+61400000001")),
        id="same-mobile",
    ),
    pytest.param(
        "CUSTOMER_EXTERNAL_REF_UNIQUE",
        lambda: (ledger(), _customer(external_ref="MEM-000001")),
        id="same-external-ref",
    ),
    pytest.param(
        "CUSTOMER_MUST_EXIST",
        lambda: (ledger(), _account(customer_id="CUS-404")),
        id="unknown-customer",
    ),
    pytest.param(
        "PRODUCT_MUST_EXIST",
        lambda: (ledger(), _account("NO_SUCH_PRODUCT")),
        id="unknown-product",
    ),
    pytest.param(
        "PRODUCT_MUST_BE_ACTIVE",
        lambda: (ledger(), _account("RETIRED")),
        id="inactive-product",
    ),
    pytest.param(
        "ACCOUNT_CURRENCY_MUST_MATCH_TENANT",
        lambda: (ledger(), when("OpenAccount", {**account_payload(), "currency": "USD"})),
        id="usd-account-in-aud-tenant",
    ),
    *[
        # Without a facilityLimit a loan or card takes the product's maxAmount; a
        # product without one leaves nothing to take.
        pytest.param(
            "FACILITY_LIMIT_REQUIRED",
            lambda code=code, kind=kind, constraints=constraints: (
                ledger(product_created(code, kind, event_type="ProductUpdated", **constraints)),
                _account(code),
            ),
            id=f"no-facility-{code}-{'-'.join(constraints) or 'no-constraints'}",
        )
        for code, kind, constraints in (
            ("HOME_LOAN", "LOAN", {"minAmount": 1000}),
            ("CC_LOW", "CREDIT_CARD", {}),
        )
    ],
    *[
        pytest.param(
            "FACILITY_LIMIT_NOT_ALLOWED",
            lambda code=code: (ledger(), _account(code, facilityLimit=1000, initialDeposit=500)),
            id=f"facility-on-{code}",
        )
        for code in ("TXN_BASIC", "TERM_12")
    ],
    *[
        pytest.param(
            "FACILITY_LIMIT_OUT_OF_RANGE",
            lambda limit=limit: (ledger(), _account("CC_LOW", facilityLimit=limit)),
            id=f"card-limit-{limit}",
        )
        for limit in (999.99, 25000.01)
    ],
    pytest.param(
        "FACILITY_LIMIT_OUT_OF_RANGE",
        lambda: (ledger(), _account("HOME_LOAN", facilityLimit=999.99)),
        id="loan-limit-below-min-amount",
    ),
    pytest.param(
        "FACILITY_LIMIT_OUT_OF_RANGE",
        # The default (maxAmount) is checked against minAmount like a given limit.
        lambda: (
            ledger(
                product_created(
                    "HOME_LOAN", "LOAN", minAmount=1000, maxAmount=1000, event_type="ProductUpdated"
                )
            ),
            _account("HOME_LOAN", facilityLimit=1000.01),
        ),
        id="loan-limit-above-max-amount",
    ),
    pytest.param(
        "INITIAL_DEPOSIT_BELOW_MINIMUM",
        lambda: (ledger(), _account("TERM_12", initialDeposit=499.99)),
        id="term-deposit-a-cent-below-min-amount",
    ),
    pytest.param(
        "INITIAL_DEPOSIT_BELOW_MINIMUM",
        lambda: (ledger(), _account("TERM_12")),
        id="term-deposit-absent",
    ),
    pytest.param(
        "INITIAL_DEPOSIT_BELOW_MINIMUM",
        lambda: (ledger(_min_balance_product()), _account("MIN_100", initialDeposit=99.99)),
        id="deposit-a-cent-below-min-balance",
    ),
    pytest.param(
        "INITIAL_DEPOSIT_BELOW_MINIMUM",
        lambda: (ledger(_min_balance_product()), _account("MIN_100")),
        id="deposit-absent-min-balance",
    ),
    pytest.param(
        "INITIAL_DEPOSIT_BELOW_MINIMUM",
        # The minimum opening amount holds with an overdraft too.
        lambda: (
            ledger(_min_balance_product(allowOverdraft=True, overdraftLimit=500)),
            _account("MIN_100", initialDeposit=50),
        ),
        id="deposit-below-min-balance-with-overdraft",
    ),
    pytest.param(
        "INITIAL_DEPOSIT_ABOVE_MAXIMUM",
        lambda: (ledger(), _account("TERM_12", initialDeposit=50000.01)),
        id="term-deposit-a-cent-above-max-amount",
    ),
    pytest.param(
        "VALUE_DATE_BEFORE_BOOKING_DATE",
        lambda: (
            ledger(),
            post((TXN, "DEBIT", 1), ("GL_FEES", "CREDIT", 1), value_date="2025-01-14"),
        ),
        id="value-date-a-day-early",
    ),
    pytest.param(
        "LEGS_MUST_SHARE_CURRENCY",
        lambda: (ledger(), post((TXN, "DEBIT", 1), ("GL_FEES", "CREDIT", 1, "USD"))),
        id="usd-leg-in-aud-entry",
    ),
    pytest.param(
        "ACCOUNT_MUST_EXIST",
        lambda: (ledger(), post((TXN, "DEBIT", 1), ("ACC-404", "CREDIT", 1))),
        id="unknown-account",
    ),
    pytest.param(
        "ENTRY_CURRENCY_MUST_MATCH_ACCOUNT",
        lambda: (ledger(), post((TXN, "DEBIT", 1), ("GL_FEES", "CREDIT", 1), currency="USD")),
        id="usd-entry-on-aud-accounts",
    ),
    pytest.param(
        "LEGS_MUST_BALANCE",
        lambda: (ledger(), post((TXN, "DEBIT", 100), ("GL_FEES", "CREDIT", 99.99))),
        id="a-cent-short",
    ),
    pytest.param(
        "OVERDRAFT_LIMIT_EXCEEDED",
        lambda: (ledger(), post((TXN, "CREDIT", 0.01), ("GL_FEES", "DEBIT", 0.01))),
        id="a-cent-overdrawn",
    ),
    pytest.param(
        "MAX_BALANCE_EXCEEDED",
        lambda: (
            ledger(),
            post((SAV, "DEBIT", 1000.01), ("GL_SALARY_CLEARING", "CREDIT", 1000.01)),
        ),
        id="a-cent-over-max",
    ),
    pytest.param(
        "MAX_BALANCE_EXCEEDED",
        lambda: (ledger(), _account("SAVER", initialDeposit=1000.01)),
        id="opening-deposit-over-max",
    ),
]


@pytest.mark.parametrize(("code", "case"), INVARIANT_CASES)
def test_invariant_is_reported_by_name(code: str, case: Case) -> None:
    state, command = case()

    then_error(state, command, code)


def test_every_invariant_but_the_shells_has_a_case() -> None:
    covered = {param.values[0] for param in INVARIANT_CASES}

    # IDEMPOTENCY_KEY_REUSED is checked by the gateway, before decide sees the command.
    assert "IDEMPOTENCY_KEY_REUSED" in INVARIANTS
    assert "IDEMPOTENCY_KEY_REUSED" not in covered
    assert covered == set(INVARIANTS) - {"IDEMPOTENCY_KEY_REUSED"}


# Precedence: a command breaking two invariants reports the earlier in INVARIANTS.
# Each case also gives the command with only the later breach, to show that the
# first command really breaks both.

PRECEDENCE_CASES = [
    pytest.param(
        "TENANT_CODE_UNIQUE",
        "CURRENCY_MUST_BE_SUPPORTED",
        lambda: given(tenant_created()),
        lambda: when("CreateTenant", tenant_payload(TENANT, "XYZ")),
        lambda: (TenantState(), when("CreateTenant", tenant_payload(TENANT, "XYZ"))),
        id="tenant-exists+currency",
    ),
    pytest.param(
        "CURRENCY_MUST_BE_SUPPORTED",
        "TIME_ZONE_MUST_BE_VALID",
        TenantState,
        lambda: _tenant("XYZ", "Mars/Base"),
        lambda: (TenantState(), _tenant("AUD", "Mars/Base")),
        id="currency+time-zone",
    ),
    pytest.param(
        "RATES_MUST_BE_NON_NEGATIVE",
        "MIN_MUST_BE_BELOW_MAX",
        ledger,
        lambda: when("UpsertProduct", product_payload(interest={"rate": -1}, minAge=30, maxAge=20)),
        lambda: (ledger(), when("UpsertProduct", product_payload(minAge=30, maxAge=20))),
        id="rates+min-max",
    ),
    pytest.param(
        "MIN_MUST_BE_BELOW_MAX",
        "CONSTRAINTS_MUST_BE_CONSISTENT",
        ledger,
        lambda: when(
            "UpsertProduct", product_payload(minBalance=10, maxBalance=5, overdraftLimit=100)
        ),
        lambda: (ledger(), when("UpsertProduct", product_payload(overdraftLimit=100))),
        id="min-max+consistent",
    ),
    pytest.param(
        "CUSTOMER_MUST_BE_ADULT",
        "CUSTOMER_EMAIL_UNIQUE",
        ledger,
        lambda: _customer(date_of_birth="2010-01-01", email="olivia.nguyen@example.com.au"),
        lambda: (ledger(), _customer(email="olivia.nguyen@example.com.au")),
        id="adult+email",
    ),
    pytest.param(
        "CUSTOMER_EMAIL_UNIQUE",
        "CUSTOMER_MOBILE_UNIQUE",
        ledger,
        lambda: _customer(email="olivia.nguyen@example.com.au", mobile="+61400000001"),
        lambda: (ledger(), _customer(mobile="+61400000001")),
        id="email+mobile",
    ),
    pytest.param(
        "CUSTOMER_MOBILE_UNIQUE",
        "CUSTOMER_EXTERNAL_REF_UNIQUE",
        ledger,
        lambda: _customer(mobile="+61400000001", external_ref="MEM-000001"),
        lambda: (ledger(), _customer(external_ref="MEM-000001")),
        id="mobile+external-ref",
    ),
    pytest.param(
        "CUSTOMER_MUST_EXIST",
        "PRODUCT_MUST_EXIST",
        ledger,
        lambda: _account("NO_SUCH_PRODUCT", customer_id="CUS-404"),
        lambda: (ledger(), _account("NO_SUCH_PRODUCT")),
        id="customer+product",
    ),
    pytest.param(
        "PRODUCT_MUST_BE_ACTIVE",
        "ACCOUNT_CURRENCY_MUST_MATCH_TENANT",
        ledger,
        lambda: when("OpenAccount", {**account_payload("RETIRED"), "currency": "USD"}),
        lambda: (ledger(), when("OpenAccount", {**account_payload(), "currency": "USD"})),
        id="inactive+currency",
    ),
    pytest.param(
        "ACCOUNT_CURRENCY_MUST_MATCH_TENANT",
        "FACILITY_LIMIT_REQUIRED",
        lambda: ledger(_loan_without_max_amount()),
        lambda: when("OpenAccount", {**account_payload("HOME_LOAN"), "currency": "USD"}),
        lambda: (ledger(_loan_without_max_amount()), _account("HOME_LOAN")),
        id="currency+facility-required",
    ),
    pytest.param(
        "FACILITY_LIMIT_NOT_ALLOWED",
        "INITIAL_DEPOSIT_BELOW_MINIMUM",
        ledger,
        lambda: _account("TERM_12", facilityLimit=1000),
        lambda: (ledger(), _account("TERM_12")),
        id="facility-not-allowed+deposit-minimum",
    ),
    pytest.param(
        "INITIAL_DEPOSIT_BELOW_MINIMUM",
        "MAX_BALANCE_EXCEEDED",
        lambda: ledger(
            product_created(
                "TERM_12",
                "TERM_DEPOSIT",
                minAmount=500,
                maxBalance=400,
                event_type="ProductUpdated",
            )
        ),
        lambda: _account("TERM_12", initialDeposit=450),
        lambda: (
            ledger(
                product_created(
                    "TERM_12", "TERM_DEPOSIT", maxBalance=400, event_type="ProductUpdated"
                )
            ),
            _account("TERM_12", initialDeposit=450),
        ),
        id="deposit-minimum+max-balance",
    ),
    pytest.param(
        # Only a stored product can hold minAmount above maxAmount (UpsertProduct refuses it).
        "INITIAL_DEPOSIT_BELOW_MINIMUM",
        "INITIAL_DEPOSIT_ABOVE_MAXIMUM",
        lambda: ledger(_term_product(minAmount=600, maxAmount=500)),
        lambda: _account("TERM_12", initialDeposit=550),
        lambda: (ledger(_term_product(maxAmount=500)), _account("TERM_12", initialDeposit=550)),
        id="deposit-minimum+deposit-maximum",
    ),
    pytest.param(
        "INITIAL_DEPOSIT_ABOVE_MAXIMUM",
        "MAX_BALANCE_EXCEEDED",
        lambda: ledger(_term_product(maxAmount=30000, maxBalance=40000)),
        lambda: _account("TERM_12", initialDeposit=45000),
        lambda: (
            ledger(_term_product(maxBalance=40000)),
            _account("TERM_12", initialDeposit=45000),
        ),
        id="deposit-maximum+max-balance",
    ),
    pytest.param(
        "VALUE_DATE_BEFORE_BOOKING_DATE",
        "LEGS_MUST_BALANCE",
        ledger,
        lambda: post((TXN, "DEBIT", 2), ("GL_FEES", "CREDIT", 1), value_date="2025-01-14"),
        lambda: (ledger(), post((TXN, "DEBIT", 2), ("GL_FEES", "CREDIT", 1))),
        id="value-date+unbalanced",
    ),
    pytest.param(
        "LEGS_MUST_SHARE_CURRENCY",
        "ACCOUNT_MUST_EXIST",
        ledger,
        lambda: post(("ACC-404", "DEBIT", 1), ("GL_FEES", "CREDIT", 1, "USD")),
        lambda: (ledger(), post(("ACC-404", "DEBIT", 1), ("GL_FEES", "CREDIT", 1))),
        id="leg-currency+unknown-account",
    ),
    pytest.param(
        "ACCOUNT_MUST_EXIST",
        "ENTRY_CURRENCY_MUST_MATCH_ACCOUNT",
        ledger,
        lambda: post((TXN, "DEBIT", 1), ("ACC-404", "CREDIT", 1), currency="USD"),
        lambda: (ledger(), post((TXN, "DEBIT", 1), ("GL_FEES", "CREDIT", 1), currency="USD")),
        id="unknown-account+entry-currency",
    ),
    pytest.param(
        "ACCOUNT_MUST_EXIST",
        "LEGS_MUST_BALANCE",
        ledger,
        lambda: post((TXN, "DEBIT", 2), ("ACC-404", "CREDIT", 1)),
        lambda: (ledger(), post((TXN, "DEBIT", 2), ("GL_FEES", "CREDIT", 1))),
        id="unbalanced+unknown-account",
    ),
    pytest.param(
        "ENTRY_CURRENCY_MUST_MATCH_ACCOUNT",
        "LEGS_MUST_BALANCE",
        ledger,
        lambda: post((TXN, "DEBIT", 2), ("GL_FEES", "CREDIT", 1), currency="USD"),
        lambda: (ledger(), post((TXN, "DEBIT", 2), ("GL_FEES", "CREDIT", 1))),
        id="entry-currency+unbalanced",
    ),
    pytest.param(
        "LEGS_MUST_BALANCE",
        "OVERDRAFT_LIMIT_EXCEEDED",
        ledger,
        lambda: post((TXN, "CREDIT", 2), ("GL_FEES", "DEBIT", 1)),
        lambda: (ledger(), post((TXN, "CREDIT", 2), ("GL_FEES", "DEBIT", 2))),
        id="unbalanced+overdraft",
    ),
    pytest.param(
        "OVERDRAFT_LIMIT_EXCEEDED",
        "MAX_BALANCE_EXCEEDED",
        ledger,
        lambda: post((SAV, "DEBIT", 1000.01), (TXN, "CREDIT", 1000.01)),
        lambda: (ledger(), post((SAV, "DEBIT", 1000.01), ("GL_FEES", "CREDIT", 1000.01))),
        id="max-balance-leg-first+overdraft",
    ),
    pytest.param(
        "OVERDRAFT_LIMIT_EXCEEDED",
        "MAX_BALANCE_EXCEEDED",
        ledger,
        lambda: post((LOAN, "DEBIT", 0.01), (TXN, "CREDIT", 0.01)),
        lambda: (ledger(), post((LOAN, "DEBIT", 0.01), ("GL_FEES", "CREDIT", 0.01))),
        id="loan-above-zero+overdraft",
    ),
]


@pytest.mark.parametrize(("earlier", "later", "state", "both", "later_only"), PRECEDENCE_CASES)
def test_two_breaches_report_the_earlier_invariant(
    earlier: str,
    later: str,
    state: Callable[[], TenantState],
    both: Callable[[], Command],
    later_only: Case,
) -> None:
    assert INVARIANTS.index(earlier) < INVARIANTS.index(later)
    then_error(*later_only(), later)

    then_error(state(), both(), earlier)


# Bounds: deposits, loans and cards, GL accounts; at the bound accepted, a cent past refused.


def accepts(state: TenantState, command: Command) -> None:
    decision = decide(state, command, context())
    assert decision.events[0].event_type in ("EntryPosted", "AccountOpened")


@pytest.mark.parametrize(
    ("account", "credit", "code"),
    [
        (TXN, 50, None),
        (TXN, 50.01, "OVERDRAFT_LIMIT_EXCEEDED"),
        (OD, 150, None),
        (OD, 150.01, "OVERDRAFT_LIMIT_EXCEEDED"),
    ],
    ids=[
        "no-overdraft-to-zero",
        "no-overdraft-a-cent-below",
        "overdraft-to-limit",
        "overdraft-a-cent-past",
    ],
)
def test_deposit_may_go_down_to_minus_its_overdraft_limit(
    account: str, credit: float, code: str | None
) -> None:
    state = ledger(funds_posted("E-0", account, 50))
    command = post((account, "CREDIT", credit), ("GL_CARD_CLEARING", "DEBIT", credit))

    if code is None:
        accepts(state, command)
    else:
        then_error(state, command, code)


@pytest.mark.parametrize(
    ("debit", "code"),
    [(600, None), (600.01, "MAX_BALANCE_EXCEEDED")],
    ids=["to-max", "a-cent-over"],
)
def test_deposit_may_go_up_to_its_max_balance(debit: float, code: str | None) -> None:
    state = ledger(funds_posted("E-0", SAV, 400))
    command = post((SAV, "DEBIT", debit), ("GL_SALARY_CLEARING", "CREDIT", debit))

    if code is None:
        accepts(state, command)
    else:
        then_error(state, command, code)


def test_deposit_without_max_balance_takes_the_largest_amount() -> None:
    accepts(
        ledger(),
        post((TXN, "DEBIT", 100_000_000_000), ("GL_SALARY_CLEARING", "CREDIT", 100_000_000_000)),
    )


def test_term_deposit_has_the_deposit_bounds() -> None:
    term = "ACC-TERM"
    state = ledger(
        account_opened(term, CUSTOMER, "TERM_12", "TERM_DEPOSIT"), funds_posted("E-0", term, 500)
    )

    accepts(state, post((term, "DEBIT", 99_500), ("GL_FEES", "CREDIT", 99_500)))
    then_error(
        state,
        post((term, "DEBIT", 99_500.01), ("GL_FEES", "CREDIT", 99_500.01)),
        "MAX_BALANCE_EXCEEDED",
    )
    accepts(state, post((term, "CREDIT", 500), ("GL_FEES", "DEBIT", 500)))
    then_error(
        state,
        post((term, "CREDIT", 500.01), ("GL_FEES", "DEBIT", 500.01)),
        "OVERDRAFT_LIMIT_EXCEEDED",
    )


@pytest.mark.parametrize(("account", "limit"), [(LOAN, 5000), (CARD, 2000)])
def test_credit_account_draws_down_to_minus_its_facility_limit(account: str, limit: int) -> None:
    state = ledger()

    accepts(state, post((account, "CREDIT", limit), ("GL_LOAN_FUNDING", "DEBIT", limit)))
    over = limit + 0.01
    then_error(
        state,
        post((account, "CREDIT", over), ("GL_LOAN_FUNDING", "DEBIT", over)),
        "OVERDRAFT_LIMIT_EXCEEDED",
    )


@pytest.mark.parametrize("account", [LOAN, CARD])
def test_credit_account_may_be_repaid_to_zero_but_not_above(account: str) -> None:
    state = ledger(entry_posted("E-0", (account, "CREDIT", 100), ("GL_LOAN_FUNDING", "DEBIT", 100)))

    accepts(state, post((account, "DEBIT", 100), ("GL_NPP_CLEARING", "CREDIT", 100)))
    then_error(
        state,
        post((account, "DEBIT", 100.01), ("GL_NPP_CLEARING", "CREDIT", 100.01)),
        "MAX_BALANCE_EXCEEDED",
    )


def test_credit_account_cannot_be_opened_with_a_deposit() -> None:
    then_error(
        ledger(),
        _account("HOME_LOAN", facilityLimit=5000, initialDeposit=0.01),
        "MAX_BALANCE_EXCEEDED",
    )


def test_opening_deposit_may_equal_the_max_balance() -> None:
    accepts(ledger(), _account("SAVER", initialDeposit=1000))


@pytest.mark.parametrize("deposit", [500, 50000], ids=["min-amount", "max-amount"])
def test_term_deposit_may_open_with_either_end_of_its_amount_range(deposit: float) -> None:
    accepts(ledger(), _account("TERM_12", initialDeposit=deposit))


@pytest.mark.parametrize("limit", [1000, 25000], ids=["min", "max"])
def test_facility_limit_may_equal_the_product_range_ends(limit: int) -> None:
    accepts(ledger(), _account("CC_LOW", facilityLimit=limit))


@pytest.mark.parametrize("limit", [1000, 500000], ids=["min", "max"])
def test_loan_facility_limit_may_equal_the_min_and_max_amount(limit: int) -> None:
    accepts(ledger(), _account("HOME_LOAN", facilityLimit=limit))


@pytest.mark.parametrize(
    ("code", "product_type", "max_amount"),
    [("HOME_LOAN", "LOAN", 500000), ("CC_LOW", "CREDIT_CARD", 25000)],
)
def test_credit_account_without_a_facility_limit_takes_the_max_amount(
    code: str, product_type: str, max_amount: int
) -> None:
    state = ledger()

    decision = run(state, _account(code))

    account_id = nth_id(1)
    then_events(
        decision,
        [
            ("AccountOpened", {"accountId": account_id, "productType": product_type}),
            (
                "LoanFacilityCreated",
                {"accountId": account_id, "facilityLimit": max_amount, "currency": "AUD"},
            ),
        ],
    )
    # ... and is bound by it like a limit asked for.
    accepts(
        state, post((account_id, "CREDIT", max_amount), ("GL_LOAN_FUNDING", "DEBIT", max_amount))
    )
    over = max_amount + 0.01
    then_error(
        state,
        post((account_id, "CREDIT", over), ("GL_LOAN_FUNDING", "DEBIT", over)),
        "OVERDRAFT_LIMIT_EXCEEDED",
    )


@pytest.mark.parametrize(
    ("deposit", "code"),
    [(100, None), (99.99, "INITIAL_DEPOSIT_BELOW_MINIMUM")],
    ids=["at-min-balance", "a-cent-below"],
)
def test_deposit_opens_with_at_least_its_min_balance(deposit: float, code: str | None) -> None:
    state = ledger(_min_balance_product())
    command = _account("MIN_100", initialDeposit=deposit)

    if code is None:
        accepts(state, command)
    else:
        then_error(state, command, code)


@pytest.mark.parametrize(
    ("more", "floor"),
    [
        ({}, 100),
        ({"allowOverdraft": False}, 100),
        ({"allowOverdraft": False, "overdraftLimit": 0}, 100),
        # With an overdraft the floor is -overdraftLimit, below minBalance.
        ({"allowOverdraft": True, "overdraftLimit": 250}, -250),
        ({"allowOverdraft": True}, 0),
    ],
    ids=[
        "min-balance",
        "overdraft-false",
        "overdraft-false-limit-0",
        "overdraft",
        "overdraft-no-limit",
    ],
)
def test_the_floor_is_min_balance_or_minus_the_overdraft_limit(
    more: dict[str, Any], floor: float
) -> None:
    account = "ACC-MIN"
    state = ledger(
        _min_balance_product(**more),
        account_opened(account, CUSTOMER, "MIN_100", "DEPOSIT"),
        funds_posted("E-0", account, 300),
    )
    to_floor = 300 - floor

    accepts(state, post((account, "CREDIT", to_floor), ("GL_FEES", "DEBIT", to_floor)))
    past = to_floor + 0.01
    then_error(
        state,
        post((account, "CREDIT", past), ("GL_FEES", "DEBIT", past)),
        "OVERDRAFT_LIMIT_EXCEEDED",
    )


def test_max_balance_bounds_a_deposit_with_min_balance_and_overdraft() -> None:
    account = "ACC-MIN"
    state = ledger(
        _min_balance_product(allowOverdraft=True, overdraftLimit=50, maxBalance=1000),
        account_opened(account, CUSTOMER, "MIN_100", "DEPOSIT"),
        funds_posted("E-0", account, 300),
    )

    accepts(state, post((account, "DEBIT", 700), ("GL_FEES", "CREDIT", 700)))
    then_error(
        state,
        post((account, "DEBIT", 700.01), ("GL_FEES", "CREDIT", 700.01)),
        "MAX_BALANCE_EXCEEDED",
    )
    then_error(
        state,
        when("OpenAccount", account_payload("MIN_100", initialDeposit=1000.01)),
        "MAX_BALANCE_EXCEEDED",
    )


def test_constraints_of_another_product_type_have_no_effect() -> None:
    state = ledger(
        # A deposit with a loan's range, a loan with a deposit's minimum.
        product_created("TXN_RANGE", minAmount=1000, maxAmount=2000),
        product_created("LOAN_MIN", "LOAN", minBalance=100, maxBalance=50, maxAmount=5000),
    )

    accepts(state, _account("TXN_RANGE", initialDeposit=5000))
    accepts(state, _account("TXN_RANGE"))
    accepts(state, _account("LOAN_MIN"))


@pytest.mark.parametrize(
    "constraints",
    [
        {"overdraftLimit": 0},
        {"allowOverdraft": False, "overdraftLimit": 0},
        {"allowOverdraft": True, "overdraftLimit": 500},
        {"allowOverdraft": True},
        {"termMonthsDefault": 36, "termMonthsOptions": [12, 36, 60]},
        {"termMonthsDefault": 36},
        {"termMonthsOptions": [12]},
    ],
    ids=[
        "limit-0",
        "allow-false-limit-0",
        "allow-true-limit",
        "allow-true-alone",
        "default-in-options",
        "default-alone",
        "options-alone",
    ],
)
def test_consistent_constraints_are_kept_verbatim(constraints: dict[str, Any]) -> None:
    decision = decide(
        ledger(),
        when("UpsertProduct", product_payload("NEW_LOAN", "LOAN", **constraints)),
        context(),
    )

    then_events(decision, [("ProductCreated", {"constraints": constraints})])


def test_upsert_product_keeps_bonus_conditions_and_every_published_constraint() -> None:
    interest = {
        "baseRate": 0.015,
        "bonusRate": 0.03,
        "bonusConditions": {"minMonthlyDeposit": 1000, "noWithdrawals": True, "note": "monthly"},
    }
    constraints = {
        "minBalance": 0,
        "maxBalance": 250000,
        "allowOverdraft": False,
        "overdraftLimit": 0,
        "minAmount": 5000,
        "maxAmount": 50000,
        "termMonthsDefault": 12,
        "termMonthsOptions": [6, 12],
        "termMonths": 12,
        "minAge": 18,
        "maxAge": 99,
    }
    payload = {**product_payload("SAVER_PLUS", interest=interest), "constraints": constraints}

    decision = decide(ledger(), when("UpsertProduct", payload), context())

    then_events(decision, [("ProductCreated", {"interest": interest, "constraints": constraints})])


def test_gl_accounts_have_no_bounds() -> None:
    huge = 100_000_000_000
    state = ledger(entry_posted("E-0", ("GL_SUSPENSE", "CREDIT", huge), ("GL_FEES", "DEBIT", huge)))

    decision = decide(
        state, post(("GL_SUSPENSE", "CREDIT", huge), ("GL_FEES", "DEBIT", huge)), context()
    )

    balances = {e.payload["accountId"]: e.payload["balance"] for e in decision.events[1:]}
    assert balances == {"GL_SUSPENSE": -2 * huge, "GL_FEES": 2 * huge}


def test_announced_balances_stay_exact_to_the_cent_as_gl_balances_grow() -> None:
    # GL accounts have no business bounds, so valid entries (50 legs of the largest
    # amount a side) could carry one past 9e15 minor units, where minor/100 as a
    # double no longer holds every cent. Each entry must either be refused or
    # announce balances that read back to the exact minor units.
    state = ledger()
    ctx = context()
    largest = 100_000_000_000
    big = post(*[("GL_SUSPENSE", "DEBIT", largest)] * 50, *[("GL_FEES", "CREDIT", largest)] * 50)
    nudge = post(("GL_SUSPENSE", "DEBIT", 0.01), (TXN, "DEBIT", 0.01), ("GL_FEES", "CREDIT", 0.02))
    for _ in range(19):
        for command in (big, nudge):
            try:
                decision = decide(state, command, ctx)
            except InvariantViolation:
                continue
            fold(((e.event_type, e.payload) for e in decision.events[:1]), state)
            for event in decision.events[1:]:
                account_id, written = event.payload["accountId"], event.payload["balance"]
                assert to_minor(written) == balance(state, account_id), (account_id, repr(written))
            fold(((e.event_type, e.payload) for e in decision.events[1:]), state)


def test_bounds_apply_to_the_net_change_of_an_account_in_the_entry() -> None:
    # TXN is at zero with no overdraft; its credit leg is paid back by a debit leg of the entry.
    command = post(
        (TXN, "CREDIT", 30), ("GL_FEES", "DEBIT", 30), (TXN, "DEBIT", 30), ("GL_FEES", "CREDIT", 30)
    )

    accepts(ledger(), command)


def _overdraft_tightened() -> TenantState:
    """OD drawn to -100.00 under a 100.00 overdraft, then the product's overdraft cut to 0."""
    return ledger(
        entry_posted("E-0", (OD, "CREDIT", 100), ("GL_CARD_CLEARING", "DEBIT", 100)),
        product_created(
            "OD_PLUS", allowOverdraft=True, overdraftLimit=0, event_type="ProductUpdated"
        ),
    )


def _max_tightened() -> TenantState:
    """SAV at 1000.00 under a 1000.00 maximum, then the product's maximum cut to 500.00."""
    return ledger(
        funds_posted("E-0", SAV, 1000),
        product_created("SAVER", maxBalance=500, event_type="ProductUpdated"),
    )


def test_account_below_a_tightened_overdraft_may_move_back_towards_it() -> None:
    state = _overdraft_tightened()

    accepts(state, post((OD, "DEBIT", 40), ("GL_NPP_CLEARING", "CREDIT", 40)))
    accepts(state, post((OD, "DEBIT", 100), ("GL_NPP_CLEARING", "CREDIT", 100)))


def test_account_below_a_tightened_overdraft_may_not_go_further_out() -> None:
    then_error(
        _overdraft_tightened(),
        post((OD, "CREDIT", 0.01), ("GL_CARD_CLEARING", "DEBIT", 0.01)),
        "OVERDRAFT_LIMIT_EXCEEDED",
    )


def test_account_above_a_tightened_max_balance_may_move_back_towards_it() -> None:
    accepts(_max_tightened(), post((SAV, "CREDIT", 100), ("GL_NPP_CLEARING", "DEBIT", 100)))


def test_account_above_a_tightened_max_balance_may_not_go_further_out() -> None:
    then_error(
        _max_tightened(),
        post((SAV, "DEBIT", 0.01), ("GL_SALARY_CLEARING", "CREDIT", 0.01)),
        "MAX_BALANCE_EXCEEDED",
    )


def test_account_outside_its_bounds_may_not_overshoot_to_the_other_side() -> None:
    then_error(
        _max_tightened(),
        post((SAV, "CREDIT", 1000.01), ("GL_NPP_CLEARING", "DEBIT", 1000.01)),
        "OVERDRAFT_LIMIT_EXCEEDED",
    )


# Customers: age on the command's date, unique contact details.


@pytest.mark.parametrize(
    ("born", "code"),
    [("2007-01-15", None), ("2007-01-16", "CUSTOMER_MUST_BE_ADULT")],
    ids=["18-today", "18-tomorrow"],
)
def test_customer_must_be_18_on_the_command_date(born: str, code: str | None) -> None:
    command = when(
        "CreateCustomer", customer_payload(date_of_birth=born), timestamp="2025-01-15T09:00:00Z"
    )

    if code is None:
        then_events(decide(ledger(), command, context()), [("CustomerCreated", {})])
    else:
        then_error(ledger(), command, code)


def test_customer_age_is_taken_on_the_command_date_not_the_clock() -> None:
    command = when(
        "CreateCustomer",
        customer_payload(date_of_birth="2007-01-16"),
        timestamp="2025-01-16T09:00:00Z",
    )

    # The context's clock (NOW) says 2025-01-15, one day short; the command's date decides.
    assert NOW.date().isoformat() == "2025-01-15"
    then_events(decide(ledger(), command, context()), [("CustomerCreated", {})])


@pytest.mark.parametrize(
    ("timestamp", "code"),
    [
        # 2025-01-14 in UTC, but 2025-01-15 (the 18th birthday) in its own offset.
        ("2025-01-15T09:00:00+11:00", None),
        # 2025-01-15 in UTC, but still 2025-01-14 in its own offset.
        ("2025-01-14T23:00:00-05:00", "CUSTOMER_MUST_BE_ADULT"),
    ],
    ids=["sydney-morning", "new-york-evening"],
)
def test_customer_age_is_read_in_the_timestamp_own_offset(timestamp: str, code: str | None) -> None:
    command = when("CreateCustomer", customer_payload(date_of_birth="2007-01-15"), timestamp)

    if code is None:
        then_events(decide(ledger(), command, context()), [("CustomerCreated", {})])
    else:
        then_error(ledger(), command, code)


@pytest.mark.parametrize(
    ("existing", "new"),
    [
        ("olivia.nguyen@example.com.au", "OLIVIA.NGUYEN@EXAMPLE.COM.AU"),
        ("OLIVIA.NGUYEN@EXAMPLE.COM.AU", "olivia.nguyen@example.com.au"),
        ("Olivia.Nguyen@Example.com.au", "olivia.NGUYEN@example.COM.au"),
    ],
)
def test_customer_emails_compare_case_insensitively(existing: str, new: str) -> None:
    state = given(tenant_created(), customer_created("CUS-1", email=existing))

    then_error(state, _customer(email=new), "CUSTOMER_EMAIL_UNIQUE")


def test_customers_without_external_ref_do_not_clash() -> None:
    state = given(tenant_created(), customer_created("CUS-1", external_ref=None))

    decision = run(state, _customer())

    then_events(decision, [("CustomerCreated", {"customerId": nth_id(1)})])
    assert len(state.customers) == 2


def test_customer_created_in_the_same_history_blocks_its_email() -> None:
    state = given(tenant_created())
    ctx = context()
    run(state, _customer(email="Jack@Example.com"), ctx)

    then_error(
        state,
        when("CreateCustomer", customer_payload(3, email="jack@example.com")),
        "CUSTOMER_EMAIL_UNIQUE",
    )


# Purity: same inputs, same decision; the state is read, never written.

PURITY_COMMANDS = [
    pytest.param(
        lambda: when("CreateTenant", tenant_payload("NEW_CU")), TenantState, id="CreateTenant"
    ),
    pytest.param(
        lambda: when("UpsertProduct", product_payload("SAVER", maxBalance=10)),
        ledger,
        id="UpsertProduct",
    ),
    pytest.param(lambda: _customer(external_ref="MEM-9"), ledger, id="CreateCustomer"),
    pytest.param(lambda: _account("TXN_BASIC", initialDeposit=10), ledger, id="OpenAccount"),
    pytest.param(lambda: _account("CC_LOW", facilityLimit=3000), ledger, id="OpenAccount-card"),
    pytest.param(
        lambda: post((TXN, "DEBIT", 5), (TXN, "CREDIT", 1), ("GL_FEES", "CREDIT", 4)),
        ledger,
        id="PostEntry",
    ),
    pytest.param(
        lambda: post((TXN, "CREDIT", 5), ("GL_FEES", "DEBIT", 5)), ledger, id="PostEntry-refused"
    ),
]


@pytest.mark.parametrize(("command", "state"), PURITY_COMMANDS)
def test_decide_gives_equal_decisions_for_equal_inputs(
    command: Callable[[], Command], state: Callable[[], TenantState]
) -> None:
    def outcome() -> object:
        try:
            return decide(state(), command(), context())
        except InvariantViolation as exc:  # the refusal is part of the outcome
            return (type(exc), exc.args, getattr(exc, "details", None))

    assert outcome() == outcome()


@pytest.mark.parametrize(("command", "state"), PURITY_COMMANDS)
def test_decide_does_not_change_the_state(
    command: Callable[[], Command], state: Callable[[], TenantState]
) -> None:
    before = state()
    snapshot = copy.deepcopy(before)

    with contextlib.suppress(InvariantViolation):  # refused or not, the state stays as it was
        decide(before, command(), context())

    assert before == snapshot


def test_decide_takes_new_ids_only_from_the_context() -> None:
    ids = iter(["acc-from-ctx", "entry-from-ctx"])
    ctx = Context(now=NOW, new_id=lambda: next(ids))

    decision = decide(ledger(), _account("TXN_BASIC", initialDeposit=10), ctx)

    assert decision.result["accountId"] == "acc-from-ctx"
    assert decision.events[-1].payload["entryId"] == "entry-from-ctx"


def test_refused_command_emits_nothing() -> None:
    state = ledger()
    ctx = context()

    with pytest.raises(InvariantViolation, match="LEGS_MUST_BALANCE"):
        decide(state, post((TXN, "DEBIT", 2), ("GL_FEES", "CREDIT", 1)), ctx)
    assert balance(state, TXN) == 0


# Money precision the core relies on: amounts reach decide with at most the
# currency's minor digits (docs/contract.md, "Money": more digits is a 400).


def test_post_entry_in_a_zero_digit_currency_refuses_cents() -> None:
    with pytest.raises(RequestError) as info:
        when(
            "PostEntry",
            entry_payload((TXN, "DEBIT", 1.5), ("GL_FEES", "CREDIT", 1.5), currency="JPY"),
        )
    assert info.value.code == "VALIDATION_ERROR"


@pytest.mark.parametrize("field", ["initialDeposit", "facilityLimit"])
def test_open_account_in_a_zero_digit_currency_refuses_cents(field: str) -> None:
    payload = {"customerId": CUSTOMER, "productCode": "TXN_BASIC", "currency": "JPY", field: 100.5}

    with pytest.raises(RequestError) as info:
        when("OpenAccount", payload)
    assert info.value.code == "VALIDATION_ERROR"


def test_the_new_refusals_name_the_published_constraints() -> None:
    out_of_range = then_error(
        ledger(), _account("HOME_LOAN", facilityLimit=999.99), "FACILITY_LIMIT_OUT_OF_RANGE"
    )
    assert out_of_range.details == {"facilityLimit": 999.99, "minAmount": 1000, "maxAmount": 500000}
    above = then_error(
        ledger(), _account("TERM_12", initialDeposit=50000.01), "INITIAL_DEPOSIT_ABOVE_MAXIMUM"
    )
    assert above.details == {"initialDeposit": 50000.01, "maxAmount": 50000}
    below = then_error(
        ledger(_min_balance_product()),
        _account("MIN_100", initialDeposit=99.99),
        "INITIAL_DEPOSIT_BELOW_MINIMUM",
    )
    assert below.details == {"initialDeposit": 99.99, "minBalance": 100}
    overdraft = then_error(
        ledger(),
        when("UpsertProduct", product_payload(overdraftLimit=100)),
        "CONSTRAINTS_MUST_BE_CONSISTENT",
    )
    assert "allowOverdraft" in overdraft.message and "overdraftLimit" in overdraft.message
    term = then_error(
        ledger(),
        when("UpsertProduct", product_payload(termMonthsDefault=36, termMonthsOptions=[12, 24])),
        "CONSTRAINTS_MUST_BE_CONSISTENT",
    )
    assert term.details == {"termMonthsDefault": 36, "termMonthsOptions": [12, 24]}
