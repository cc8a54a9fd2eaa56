"""The twin's configuration: the shipped files load with the reference figures, payloads
follow docs/contract.md, and a bad file fails with its file, field and expectation."""

from __future__ import annotations

import copy
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from twin.config import (
    CONFIG_DIR_ENV,
    ConfigError,
    ScenarioConfig,
    TenantConfig,
    check_scenario_against_tenant,
    loading,  # finding and reading the files
)

REPO = Path(__file__).resolve().parents[2]
TENANT_FILE = REPO / "config" / "tenants" / "cu-digital.yaml"
SCENARIO_FILE = REPO / "config" / "scenarios" / "steady-state.yaml"

# The UpsertProduct payload's published fields (docs/contract.md). The twin sends
# nothing else, so that a service built from the published document takes it; `active`
# (an extension) only to switch a product off, which the shipped file never does.
PRODUCT_FIELDS = {
    "productCode",
    "name",
    "productType",
    "category",
    "interest",
    "fees",
    "constraints",
    "features",
    "creditCriteria",
}
INTEREST_FIELDS = {
    "rate",
    "baseRate",
    "bonusRate",
    "bonusConditions",
    "calculationMethod",
    "paymentFrequency",
}
CONSTRAINT_FIELDS = {
    "minBalance",
    "maxBalance",
    "allowOverdraft",
    "overdraftLimit",
    "minAmount",
    "maxAmount",
    "termMonthsDefault",
    "termMonthsOptions",
    "termMonths",
}
MONEY_CONSTRAINTS = {"minBalance", "maxBalance", "overdraftLimit", "minAmount", "maxAmount"}
# The constraints that mean something for each product type (docs/contract.md).
APPLICABLE = {
    "DEPOSIT": {"minBalance", "maxBalance", "allowOverdraft", "overdraftLimit"},
    "TERM_DEPOSIT": {"minBalance", "maxBalance", "minAmount", "maxAmount", "termMonths"},
    "LOAN": {"minAmount", "maxAmount", "termMonthsDefault", "termMonthsOptions"},
    "CREDIT_CARD": {"minAmount", "maxAmount"},
}
# The published request examples, verbatim (a copy of ../shared/reference/).
PUBLISHED_EXAMPLES = REPO / "tests" / "data" / "published-examples.json"


@pytest.fixture(scope="module")
def tenant() -> TenantConfig:
    return loading.load_tenant_config(TENANT_FILE)


@pytest.fixture(scope="module")
def scenario() -> ScenarioConfig:
    return loading.load_scenario_config(SCENARIO_FILE)


def _is_money(value: Any) -> bool:
    return (
        isinstance(value, float)
        and value >= 0
        and Decimal(repr(value)) == Decimal(repr(value)).quantize(Decimal("0.01"))
    )


# ------------------------------------------------------------ the shipped files


def test_shipped_tenant_has_the_reference_figures(tenant: TenantConfig) -> None:
    assert tenant.to_create_payload() == {
        "tenantCode": "CU_DIGITAL",
        "displayName": "CU Digital Twin",
        "region": "AU",
        "baseCurrency": "AUD",
        "timeZone": "Australia/Sydney",
        "regulatoryJurisdiction": "APRA",
        "businessType": "CREDIT_UNION",
    }
    codes = [p.code for p in tenant.products]
    # The reference catalogue lists these 13 products.
    assert codes == [
        "TXN_ACCOUNT_BASIC",
        "TXN_ACCOUNT_PREMIUM",
        "SAVINGS_STANDARD",
        "SAVINGS_YOUTH",
        "TERM_3M",
        "TERM_6M",
        "TERM_12M",
        "PL_CLASSIC",
        "PL_GREEN",
        "HOME_VARIABLE",
        "HOME_FIXED_3Y",
        "CC_LOW_RATE",
        "CC_REWARDS",
    ]
    assert tenant.demographics.age_distribution["26-40"] == 0.45


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (
            "TXN_ACCOUNT_BASIC",
            {"minBalance": 0.0, "allowOverdraft": False, "overdraftLimit": 0.0},
        ),
        ("TXN_ACCOUNT_PREMIUM", {"minBalance": 1000.0}),
        ("SAVINGS_STANDARD", {"minBalance": 0.0, "maxBalance": 250000.0}),
        ("SAVINGS_YOUTH", {"minBalance": 0.0, "maxBalance": 50000.0}),
        ("TERM_6M", {"minAmount": 1000.0, "maxAmount": 2000000.0, "termMonths": 6}),
        (
            "PL_CLASSIC",
            {
                "minAmount": 2000.0,
                "maxAmount": 50000.0,
                "termMonthsDefault": 36,
                "termMonthsOptions": [12, 24, 36, 48, 60],
            },
        ),
        (
            "HOME_FIXED_3Y",
            {
                "minAmount": 100000.0,
                "maxAmount": 2000000.0,
                "termMonthsDefault": 360,
                "termMonthsOptions": [180, 240, 300, 360],
            },
        ),
        ("CC_REWARDS", {"minAmount": 5000.0, "maxAmount": 50000.0}),
    ],
)
def test_product_constraints_map_the_reference_limits(
    tenant: TenantConfig, code: str, expected: dict[str, Any]
) -> None:
    assert tenant.product(code).to_upsert_payload()["constraints"] == expected


def test_product_payloads_follow_the_contract(tenant: TenantConfig) -> None:
    for product in tenant.products:
        payload = product.to_upsert_payload()
        assert set(payload) <= PRODUCT_FIELDS, product.code
        assert re.fullmatch(r"[A-Z0-9_]{2,50}", payload["productCode"])
        assert payload["productType"] in {"DEPOSIT", "LOAN", "TERM_DEPOSIT", "CREDIT_CARD"}
        assert set(payload["interest"]) <= INTEREST_FIELDS
        for name, rate in payload["interest"].items():
            if name.endswith("Rate") or name == "rate":
                assert isinstance(rate, float) and rate >= 0
        assert len(payload.get("fees", {})) <= 20
        assert all(_is_money(v) for v in payload.get("fees", {}).values()), payload["fees"]
        constraints = payload["constraints"]
        assert set(constraints) <= CONSTRAINT_FIELDS
        assert all(_is_money(constraints[k]) for k in constraints if k in MONEY_CONSTRAINTS)
        assert set(constraints) <= APPLICABLE[payload["productType"]], product.code
        if payload["productType"] in ("LOAN", "CREDIT_CARD"):
            assert {"minAmount", "maxAmount"} <= set(constraints)
        if constraints.get("overdraftLimit", 0) > 0:
            assert constraints.get("allowOverdraft") is True
        if "termMonthsDefault" in constraints and "termMonthsOptions" in constraints:
            assert constraints["termMonthsDefault"] in constraints["termMonthsOptions"]
        for lo, hi in [
            ("minBalance", "maxBalance"),
            ("minAmount", "maxAmount"),
        ]:
            if lo in constraints and hi in constraints:
                assert constraints[lo] < constraints[hi]
        assert len(payload.get("features", [])) <= 50
        assert len(payload.get("creditCriteria", {})) <= 20


def test_interest_and_fees_keep_the_reference_figures(tenant: TenantConfig) -> None:
    savings = tenant.product("SAVINGS_STANDARD").to_upsert_payload()
    assert savings["interest"]["baseRate"] == 0.015
    assert savings["interest"]["bonusRate"] == 0.030
    assert savings["interest"]["bonusConditions"] == {
        "minMonthlyDeposit": 200.0,
        "maxMonthlyWithdrawals": 1,
    }
    card = tenant.product("CC_LOW_RATE")
    assert card.to_upsert_payload()["interest"]["rate"] == 0.1299  # the purchase rate
    assert card.interest.cash_advance_rate == 0.1999  # kept, not sent
    assert tenant.product("SAVINGS_YOUTH").constraints.max_age == 25  # kept, not sent
    assert tenant.product("TXN_ACCOUNT_BASIC").to_upsert_payload()["fees"]["atmFeeOther"] == 2.5
    criteria = tenant.product("PL_GREEN").to_upsert_payload()["creditCriteria"]
    assert criteria["minCreditScore"] == 650
    # The mock takes only scalars in creditCriteria.
    assert (
        criteria["eligiblePurposes"]
        == "SOLAR_PANELS,ELECTRIC_VEHICLE,HOME_BATTERY,ENERGY_EFFICIENCY"
    )
    for product in tenant.products:
        for value in product.to_upsert_payload().get("creditCriteria", {}).values():
            assert isinstance(value, str | int | float | bool)


@pytest.mark.skipif(not PUBLISHED_EXAMPLES.is_file(), reason="no published examples here")
def test_products_named_as_published_are_sent_as_published(tenant: TenantConfig) -> None:
    """The products the published contract has an example of (same code) go with its
    figures: constraints, interest and the fees it lists."""
    examples = json.loads(PUBLISHED_EXAMPLES.read_text())
    published = {
        e["payload"]["productCode"]: e["payload"]
        for e in examples
        if e["commandType"] == "UpsertProduct"
    }
    compared = 0
    for product in tenant.products:
        example = published.get(product.code)
        if example is None:
            continue
        compared += 1
        ours = product.to_upsert_payload()
        assert ours["productType"] == example["productType"]
        assert ours["name"] == example["name"]
        for name, value in example["interest"].items():
            assert ours["interest"][name] == value, (product.code, name)
        expected = {k: v for k, v in example.get("constraints", {}).items() if v is not None}
        if product.type == "TERM_DEPOSIT":
            # The seed script's term deposit differs from the reference tenant, whose
            # figures we keep: a higher maximum, and a penalty rate for a fixed fee.
            expected.pop("maxAmount")
            assert ours["constraints"]["maxAmount"] >= example["constraints"]["maxAmount"]
        else:
            for name, value in example.get("fees", {}).items():
                assert ours["fees"][name] == value, (product.code, name)
        assert {k: ours["constraints"].get(k) for k in expected} == expected, product.code
    assert compared == 4


def test_shipped_scenario_has_the_reference_figures(scenario: ScenarioConfig) -> None:
    assert scenario.scenario_code == "STEADY_STATE_30D"
    assert scenario.tenant == "CU_DIGITAL"
    assert scenario.customers.count == 500
    assert scenario.timeline.days == 30
    assert scenario.timeline.start_date.isoformat() == "2025-01-01"
    assert scenario.accounts.credit_card_probability == 0.25
    assert scenario.accounts.home_loan_amount_ranges["high"] == (Decimal(700000), Decimal(1200000))
    assert scenario.transactions.salary_amount_ranges["low"] == (Decimal(1500), Decimal(2500))
    assert scenario.behaviors.spending_by_day.friday == 1.20
    assert scenario.invalid_commands.rate == 0.0
    assert scenario.customers.demographics.age_ranges()["60+"] == (60, 90)


def test_scenario_fits_its_tenant(scenario: ScenarioConfig, tenant: TenantConfig) -> None:
    check_scenario_against_tenant(scenario, tenant)


# ------------------------------------------------------------ finding files


def test_default_config_dir_is_the_repository_config() -> None:
    assert loading.default_config_dir().resolve() == (REPO / "config").resolve()


def test_config_dir_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "other.yaml").write_text(SCENARIO_FILE.read_text())
    monkeypatch.setenv(CONFIG_DIR_ENV, str(tmp_path))
    assert loading.default_config_dir() == tmp_path
    assert loading.resolve_scenario("other") == tmp_path / "scenarios" / "other.yaml"
    with pytest.raises(ConfigError, match="steady-state"):
        loading.resolve_scenario("steady-state")


def test_resolve_by_name_or_path() -> None:
    assert loading.resolve_scenario("steady-state").resolve() == SCENARIO_FILE.resolve()
    assert loading.resolve_scenario(str(SCENARIO_FILE)) == SCENARIO_FILE
    assert loading.resolve_tenant("CU_DIGITAL").resolve() == TENANT_FILE.resolve()
    assert loading.resolve_tenant("cu-digital").resolve() == TENANT_FILE.resolve()
    with pytest.raises(ConfigError, match=r"expected one of the scenarios .*steady-state"):
        loading.resolve_scenario("no-such-scenario")


def test_load_scenario_and_tenant() -> None:
    scenario, tenant = loading.load_scenario_and_tenant("steady-state")
    assert (scenario.tenant, tenant.code) == ("CU_DIGITAL", "CU_DIGITAL")
    assert Path(scenario.source).resolve() == SCENARIO_FILE.resolve()


# ------------------------------------------------------------ bad files


def _scenario_doc() -> dict[str, Any]:
    return yaml.safe_load(SCENARIO_FILE.read_text())


def _tenant_doc() -> dict[str, Any]:
    return yaml.safe_load(TENANT_FILE.read_text())


def _set(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    *parents, last = path.split("/")
    node: Any = doc
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value
    return doc


_DELETE = object()

# (name, which file, path to change, new value, field in the message, expectation in it)
BAD_FILES = [
    (
        "range upside down",
        "scenario",
        "transactions/salary_amount_ranges/low",
        [5, 2],
        "transactions.salary_amount_ranges.low",
        "expected [min, max] with min <= max, got [5, 2]",
    ),
    (
        "distribution not summing to 1",
        "scenario",
        "accounts/credit_card_distribution/CC_LOW_RATE",
        0.6,
        "accounts.credit_card_distribution",
        "expected shares summing to 1 (within 1e-06), got 0.9 from "
        '{"CC_LOW_RATE": 0.6, "CC_REWARDS": 0.3}',
    ),
    (
        "probability above 1",
        "scenario",
        "accounts/home_loan_probability",
        1.5,
        "accounts.home_loan_probability",
        "expected a probability in [0, 1], got 1.5",
    ),
    (
        "money with three decimals",
        "scenario",
        "initial_balances/txn_account_ranges/low",
        [100.125, 500],
        "initial_balances.txn_account_ranges.low",
        "expected an amount >= 0 with at most 2 decimal places, got 100.125",
    ),
    (
        "unknown field",
        "scenario",
        "transactions/salary_cycle_days",
        14,
        "transactions.salary_cycle_days",
        "unknown field, expected one of: salary_pay_cycle_days",
    ),
    (
        "missing field",
        "scenario",
        "timeline/days",
        _DELETE,
        "timeline.days",
        "expected a value (required), got nothing",
    ),
    (
        "days not a number",
        "scenario",
        "timeline/days",
        "thirty",
        "timeline.days",
        'expected a valid integer, unable to parse string as an integer, got "thirty"',
    ),
    (
        "income band missing from a range map",
        "scenario",
        "accounts/home_loan_amount_ranges/high",
        _DELETE,
        "accounts.home_loan_amount_ranges",
        "expected exactly the keys low, mid, high, got missing high",
    ),
    (
        "age bucket under 18",
        "scenario",
        "customers/demographics/age_buckets",
        {"16-25": 0.25, "26-40": 0.45, "41-60": 0.25, "60+": 0.05},
        "customers.demographics.age_buckets.16-25",
        "expected a bucket 'lo-hi' or 'lo+' with 18 <= lo <= hi <= max_age (90), got '16-25'",
    ),
    (
        "employment status unknown",
        "scenario",
        "customers/demographics/employment_types",
        {"full_time": 0.9, "astronaut": 0.1},
        "customers.demographics.employment_types.astronaut",
        "expected a key 'full_time', 'part_time', 'self_employed', 'unemployed', 'retired' or "
        "'student', got \"astronaut\"",
    ),
    (
        "too many invalid commands",
        "scenario",
        "invalid_commands/rate",
        0.7,
        "invalid_commands.rate",
        "expected less than or equal to 0.5, got 0.7",
    ),
    (
        "facility range upside down",
        "tenant",
        "products/7/constraints/min_amount",
        60000,
        "products[7].constraints",
        "expected min_amount < max_amount (the contract's MIN_MUST_BE_BELOW_MAX), "
        "got 60000.00 and 50000.00",
    ),
    (
        "balance range upside down",
        "tenant",
        "products/3/constraints/min_balance",
        50000,
        "products[3].constraints",
        "expected min_balance < max_balance (the contract's MIN_MUST_BE_BELOW_MAX), "
        "got 50000.00 and 50000.00",
    ),
    (
        "negative rate",
        "tenant",
        "products/0/interest/rate",
        -0.01,
        "products[0].interest.rate",
        "expected a non-negative rate (0.05 is 5 %), got -0.01",
    ),
    (
        "product type unknown",
        "tenant",
        "products/2/type",
        "SAVINGS",
        "products[2].type",
        "expected 'DEPOSIT', 'LOAN', 'TERM_DEPOSIT' or 'CREDIT_CARD', got \"SAVINGS\"",
    ),
    (
        "loan without a facility-limit range",
        "tenant",
        "products/8/constraints/max_amount",
        _DELETE,
        "products[8].constraints.max_amount",
        "expected the facility-limit range (min_amount, max_amount) of a LOAN product, got nothing",
    ),
    (
        "overdraft without allow_overdraft",
        "tenant",
        "products/0/constraints/overdraft_limit",
        500,
        "products[0].constraints.allow_overdraft",
        "expected allow_overdraft: true with an overdraft_limit above 0 (the contract's "
        "CONSTRAINTS_MUST_BE_CONSISTENT), got false with overdraft_limit 500.00",
    ),
    (
        "default term not among the options",
        "tenant",
        "products/7/constraints/term_months_default",
        30,
        "products[7].constraints.term_months_default",
        "expected one of term_months_options (the contract's CONSTRAINTS_MUST_BE_CONSISTENT), "
        "got 30 with [12, 24, 36, 48, 60]",
    ),
    (
        "duplicate term options",
        "tenant",
        "products/7/constraints/term_months_options",
        [12, 12, 36],
        "products[7].constraints.term_months_options",
        "expected terms without duplicates, got [12, 12, 36]",
    ),
    (
        "a constraint of another product type",
        "tenant",
        "products/1/constraints/term_months",
        12,
        "products[1].constraints.term_months",
        "expected no term_months on a DEPOSIT product (it has no effect there), got 12",
    ),
    (
        "the removed name minOpeningBalance",
        "tenant",
        "products/1/constraints/min_opening_balance",
        1000,
        "products[1].constraints.min_opening_balance",
        "unknown field, expected one of: min_balance, max_balance, allow_overdraft",
    ),
    (
        "bonus condition neither text, number nor boolean",
        "tenant",
        "products/2/interest/bonus_conditions/min_monthly_deposit",
        [200],
        "products[2].interest.bonus_conditions",
        "expected min_monthly_deposit to be a string of at most 200 characters, a finite "
        "number or a boolean, got [200]",
    ),
]


@pytest.mark.parametrize(
    ("which", "path", "value", "field", "expected"),
    [case[1:] for case in BAD_FILES],
    ids=[case[0] for case in BAD_FILES],
)
def test_a_bad_file_names_file_field_and_expectation(
    tmp_path: Path, which: str, path: str, value: Any, field: str, expected: str
) -> None:
    doc = _set(_scenario_doc() if which == "scenario" else _tenant_doc(), path, value)
    bad = tmp_path / f"bad-{which}.yaml"
    bad.write_text(yaml.safe_dump(doc, sort_keys=False))
    load = loading.load_scenario_config if which == "scenario" else loading.load_tenant_config
    with pytest.raises(ConfigError) as caught:
        load(bad)
    assert isinstance(caught.value, ValueError)
    line = f"{bad}: {field}: {expected}"
    assert any(got.startswith(line) for got in str(caught.value).splitlines()), str(caught.value)
    assert caught.value.path == str(bad)


def test_every_problem_in_a_file_is_reported(tmp_path: Path) -> None:
    doc = _set(_scenario_doc(), "accounts/home_loan_probability", 2)
    doc = _set(doc, "timeline/start_date", "someday")
    bad = tmp_path / "two.yaml"
    bad.write_text(yaml.safe_dump(doc))
    with pytest.raises(ConfigError) as caught:
        loading.load_scenario_config(bad)
    fields = [field for field, _ in caught.value.problems]
    assert fields == ["accounts.home_loan_probability", "timeline.start_date"]


def test_a_scenario_naming_an_unknown_product_fails_against_its_tenant(
    tmp_path: Path, tenant: TenantConfig
) -> None:
    doc = _set(_scenario_doc(), "accounts/credit_card_distribution", {"CC_GOLD": 1.0})
    bad = tmp_path / "gold.yaml"
    bad.write_text(yaml.safe_dump(doc))
    scenario = loading.load_scenario_config(bad)
    with pytest.raises(ConfigError) as caught:
        check_scenario_against_tenant(scenario, tenant)
    assert (
        f"{bad}: accounts.credit_card_distribution: expected a product of "
        f"{tenant.source}, got 'CC_GOLD'" in str(caught.value)
    )


def test_a_scenario_naming_a_product_of_the_wrong_type_fails(
    tmp_path: Path, tenant: TenantConfig
) -> None:
    doc = _set(_scenario_doc(), "accounts/txn_product", "PL_CLASSIC")
    bad = tmp_path / "wrong.yaml"
    bad.write_text(yaml.safe_dump(doc))
    with pytest.raises(ConfigError, match=r"accounts\.txn_product: expected a DEPOSIT product"):
        check_scenario_against_tenant(loading.load_scenario_config(bad), tenant)


def test_unreadable_yaml(tmp_path: Path) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text("scenario_code: X\ncustomers: [1, 2\n")
    with pytest.raises(ConfigError) as caught:
        loading.load_scenario_config(bad)
    message = str(caught.value)
    assert message.startswith(f"{bad}: line ")
    assert "expected valid YAML, got a syntax error" in message


def test_not_a_mapping(tmp_path: Path) -> None:
    bad = tmp_path / "list.yaml"
    bad.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match=r"expected a mapping at the top level, got list"):
        loading.load_tenant_config(bad)


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nothing.yaml"
    with pytest.raises(ConfigError) as caught:
        loading.load_scenario_config(missing)
    assert str(caught.value) == f"{missing}: expected an existing file, got nothing at this path"
