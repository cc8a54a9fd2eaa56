"""Checks that span several fields of a file, or a scenario and its tenant. Each
yields (field path, expectation) pairs, or raises one `ConfigError`."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from turingcore_client.payloads import CONSTRAINT_RANGES
from twin.config.scenario import AGE_BUCKET, HOUR_BAND, ScenarioConfig
from twin.config.tenant import CONSTRAINTS_BY_TYPE, ConstraintsConfig, TenantConfig
from twin.config.values import ConfigError, product_features_max, product_fees_max, show_value

# ---------------------------------------------------------------------------
# Checks that span several fields. Each yields (field path, expectation).

Problems = Iterable[tuple[str, str]]


def _check_keys(field: str, mapping: Mapping[str, Any], expected: Iterable[str]) -> Problems:
    want, have = list(expected), set(mapping)
    if have != set(want):
        missing = [key for key in want if key not in have]
        extra = sorted(have - set(want))
        detail = ", ".join(
            part
            for part in (
                f"missing {', '.join(missing)}" if missing else "",
                f"unexpected {', '.join(extra)}" if extra else "",
            )
            if part
        )
        yield field, f"expected exactly the keys {', '.join(want)}, got {detail}"


def _snake(name: str) -> str:
    """A contract field's name as the configuration spells it (minBalance: min_balance)."""
    return re.sub(r"[A-Z]", lambda upper: "_" + upper.group().lower(), name)


def tenant_problems(cfg: TenantConfig) -> Problems:
    seen: set[str] = set()
    for i, product in enumerate(cfg.products):
        where = f"products[{i}]"
        if product.code in seen:
            yield (
                f"{where}.code",
                f"expected a product code unique in the file, got {product.code!r} again",
            )
        seen.add(product.code)
        c = product.constraints
        for low, high in CONSTRAINT_RANGES:
            lo_name, hi_name = _snake(low), _snake(high)
            lo, hi = getattr(c, lo_name), getattr(c, hi_name)
            if lo is not None and hi is not None and not lo < hi:
                yield (
                    f"{where}.constraints",
                    f"expected {lo_name} < {hi_name} (the contract's MIN_MUST_BE_BELOW_MAX), "
                    f"got {show_value(lo)} and {show_value(hi)}",
                )
        if (
            c.overdraft_limit is not None
            and c.overdraft_limit > 0
            and c.allow_overdraft is not True
        ):
            yield (
                f"{where}.constraints.allow_overdraft",
                "expected allow_overdraft: true with an overdraft_limit above 0 (the "
                f"contract's CONSTRAINTS_MUST_BE_CONSISTENT), got {show_value(c.allow_overdraft)} "
                f"with overdraft_limit {show_value(c.overdraft_limit)}",
            )
        if (
            c.term_months_default is not None
            and c.term_months_options is not None
            and c.term_months_default not in c.term_months_options
        ):
            yield (
                f"{where}.constraints.term_months_default",
                "expected one of term_months_options (the contract's "
                f"CONSTRAINTS_MUST_BE_CONSISTENT), got {c.term_months_default} with "
                f"{show_value(c.term_months_options)}",
            )
        applicable = CONSTRAINTS_BY_TYPE[product.type]
        for name in ConstraintsConfig.model_fields:
            if name not in applicable and getattr(c, name) is not None:
                yield (
                    f"{where}.constraints.{name}",
                    f"expected no {name} on a {product.type} product (it has no effect "
                    f"there), got {show_value(getattr(c, name))}",
                )
        if product.is_facility:
            for name in ("min_amount", "max_amount"):
                if getattr(c, name) is None:
                    yield (
                        f"{where}.constraints.{name}",
                        f"expected the facility-limit range (min_amount, max_amount) of a "
                        f"{product.type} product, got nothing",
                    )
        if len(product.fees) > product_fees_max:
            yield (
                f"{where}.fees",
                f"expected at most {product_fees_max} fees, got {len(product.fees)}",
            )
        if len(product.features) > product_features_max:
            yield (
                f"{where}.features",
                f"expected at most {product_features_max} features, got {len(product.features)}",
            )


def scenario_problems(cfg: ScenarioConfig) -> Problems:
    demo = cfg.customers.demographics
    for label in demo.age_buckets:
        match = AGE_BUCKET.match(label)
        lo = int(match.group(1)) if match else -1
        hi = int(match.group(2)) if match and match.group(2) else demo.max_age
        if match is None or not 18 <= lo <= hi <= demo.max_age:
            yield (
                f"customers.demographics.age_buckets.{label}",
                f"expected a bucket 'lo-hi' or 'lo+' with 18 <= lo <= hi <= max_age "
                f"({demo.max_age}), got {label!r}",
            )
    bands = list(demo.income_distribution)
    band_maps = {
        "customers.demographics.annual_income_ranges": demo.annual_income_ranges,
        "accounts.term_deposit_amount_ranges": cfg.accounts.term_deposit_amount_ranges,
        "accounts.personal_loan_amount_ranges": cfg.accounts.personal_loan_amount_ranges,
        "accounts.home_loan_amount_ranges": cfg.accounts.home_loan_amount_ranges,
        "accounts.credit_card_limit_ranges": cfg.accounts.credit_card_limit_ranges,
        "initial_balances.txn_account_ranges": cfg.initial_balances.txn_account_ranges,
        "initial_balances.savings_account_ranges": cfg.initial_balances.savings_account_ranges,
        "transactions.salary_amount_ranges": cfg.transactions.salary_amount_ranges,
    }
    for field, mapping in band_maps.items():
        yield from _check_keys(field, mapping, bands)
    tx = cfg.transactions
    yield from _check_keys(
        "transactions.debit_amount_ranges", tx.debit_amount_ranges, tx.debit_amount_distribution
    )
    econ = cfg.economic_conditions
    yield from _check_keys(
        "economic_conditions.credit_score_ranges",
        econ.credit_score_ranges,
        econ.credit_score_distribution,
    )
    for band, (score_lo, score_hi) in econ.credit_score_ranges.items():
        if score_hi > 1200:
            yield (
                f"economic_conditions.credit_score_ranges.{band}",
                f"expected scores within [0, 1200], got [{score_lo}, {score_hi}]",
            )
    amount_ranges: list[tuple[str, tuple[Decimal, Decimal]]] = [
        ("transactions.npp_amount_range", tx.npp_amount_range),
        ("transactions.atm_amount_range", tx.atm_amount_range),
        ("transactions.credit_card_amount_range", tx.credit_card_amount_range),
        *((f"transactions.debit_amount_ranges.{k}", v) for k, v in tx.debit_amount_ranges.items()),
        *((f"transactions.bill_amount_ranges.{k}", v) for k, v in tx.bill_amount_ranges.items()),
    ]
    for field, (amount_lo, _) in amount_ranges:
        if amount_lo <= 0:
            yield (
                field,
                "expected amounts > 0 (the contract refuses a zero amount), "
                f"got min {show_value(amount_lo)}",
            )
    debits = tx.daily_debits_per_customer
    if not debits.min <= debits.mean <= debits.max:
        yield (
            "transactions.daily_debits_per_customer",
            f"expected min <= mean <= max, "
            f"got min {debits.min}, mean {debits.mean}, max {debits.max}",
        )
    covered = [False] * 24
    for label in cfg.behaviors.spending_by_hour:
        match = HOUR_BAND.match(label)
        start, end = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
        if match is None or not 0 <= start < end <= 24:
            yield (
                f"behaviors.spending_by_hour.{label}",
                f"expected a band 'HH-HH' with 00 <= start < end <= 24, got {label!r}",
            )
            continue
        for hour in range(start, end):
            if covered[hour]:
                yield (
                    f"behaviors.spending_by_hour.{label}",
                    f"expected bands that do not overlap, got hour {hour:02d} twice",
                )
            covered[hour] = True
    if not any(weight > 0 for weight in cfg.behaviors.spending_by_hour.values()):
        yield "behaviors.spending_by_hour", "expected at least one weight > 0, got all zero"


def check_scenario_against_tenant(scenario: ScenarioConfig, tenant: TenantConfig) -> None:
    """Check that the scenario names the tenant and products it can use.

    Raises ConfigError, naming the scenario's file, when the scenario targets another
    tenant or refers to a product the tenant lacks or of the wrong type.
    """
    problems: list[tuple[str, str]] = []
    if scenario.tenant != tenant.code:
        problems.append(
            (
                "tenant",
                f"expected the tenant code {tenant.code!r} of {tenant.source}, "
                f"got {scenario.tenant!r}",
            )
        )
    types_of = {p.code: p.type for p in tenant.products}
    acc = scenario.accounts

    def want(field: str, codes: Iterable[str], product_type: str) -> None:
        for code in codes:
            if code not in types_of:
                problems.append((field, f"expected a product of {tenant.source}, got {code!r}"))
            elif types_of[code] != product_type:
                problems.append(
                    (field, f"expected a {product_type} product, got {code!r} ({types_of[code]})")
                )

    want("accounts.txn_product", [acc.txn_product], "DEPOSIT")
    want("accounts.txn_premium_product", [acc.txn_premium_product], "DEPOSIT")
    want("accounts.savings_product", [acc.savings_product], "DEPOSIT")
    want("accounts.savings_youth_product", [acc.savings_youth_product], "DEPOSIT")
    want("accounts.term_deposit_distribution", acc.term_deposit_distribution, "TERM_DEPOSIT")
    want("accounts.personal_loan_distribution", acc.personal_loan_distribution, "LOAN")
    want("accounts.home_loan_distribution", acc.home_loan_distribution, "LOAN")
    want("accounts.credit_card_distribution", acc.credit_card_distribution, "CREDIT_CARD")
    if problems:
        raise ConfigError(scenario.source, problems)
