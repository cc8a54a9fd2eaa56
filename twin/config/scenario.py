"""The scenario file's models: customers, accounts, balances, timeline, transactions,
behaviours, economic conditions and the deliberately invalid commands."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from twin.config.values import (
    WEEKDAYS,
    BandRanges,
    CardPaymentDistribution,
    Code,
    CountRange,
    Distribution,
    EmploymentDistribution,
    FileModel,
    FractionRange,
    Money,
    MoneyRange,
    Name,
    Probability,
    Short,
    StrictModel,
    Text,
    Weight,
    age_max,
    customers_count_max,
    scenario_days_max,
    sums_to_one,
)

# ---------------------------------------------------------------------------
# The scenario.

AGE_BUCKET = re.compile(r"^(\d{1,3})(?:-(\d{1,3})|\+)$")
HOUR_BAND = re.compile(r"^(\d{2})-(\d{2})$")


class CustomerDemographics(StrictModel):
    age_buckets: Distribution
    # The open bucket ("60+") reaches up to this age.
    max_age: Annotated[int, Field(ge=18, le=age_max)] = 90
    income_distribution: Distribution
    annual_income_ranges: BandRanges
    employment_types: EmploymentDistribution
    location_distribution: Annotated[
        dict[Literal["metro", "regional", "rural"], Probability], AfterValidator(sums_to_one)
    ]

    def age_ranges(self) -> dict[str, tuple[int, int]]:
        """Each age bucket as inclusive (lo, hi) years; valid once the file has loaded."""
        ranges: dict[str, tuple[int, int]] = {}
        for label in self.age_buckets:
            match = AGE_BUCKET.match(label)
            assert match is not None, label  # checked when the file was loaded
            lo = int(match.group(1))
            ranges[label] = (lo, int(match.group(2)) if match.group(2) else self.max_age)
        return ranges


class CustomersConfig(StrictModel):
    count: Annotated[int, Field(ge=1, le=customers_count_max)]
    demographics: CustomerDemographics


class AccountsConfig(StrictModel):
    txn_product: Code
    txn_premium_product: Code
    txn_premium_probability: Probability
    savings_product: Code
    savings_youth_product: Code
    # The share of members young enough for the youth product who get it.
    savings_youth_probability: Probability
    term_deposit_probability: Probability
    term_deposit_distribution: Distribution
    term_deposit_amount_ranges: BandRanges
    personal_loan_probability: Probability
    personal_loan_distribution: Distribution
    personal_loan_amount_ranges: BandRanges
    home_loan_probability: Probability
    home_loan_distribution: Distribution
    home_loan_amount_ranges: BandRanges
    credit_card_probability: Probability
    credit_card_distribution: Distribution
    credit_card_limit_ranges: BandRanges
    # Loan amounts and card limits are drawn in whole multiples of this.
    facility_rounding: Money = Decimal(500)


class InitialBalancesConfig(StrictModel):
    txn_account_ranges: BandRanges
    savings_account_ranges: BandRanges


class TimelineConfig(StrictModel):
    days: Annotated[int, Field(ge=1, le=scenario_days_max)]
    start_date: dt.date
    # Weekend volume is weekday volume times (1 - reduction).
    weekend_transaction_reduction: Probability


class DailyDebitsConfig(StrictModel):
    min: Annotated[int, Field(ge=0, le=50)]
    max: Annotated[int, Field(ge=1, le=50)]
    mean: Annotated[float, Field(ge=0, le=50)]


class TransactionsConfig(StrictModel):
    salary_pay_cycle_days: Annotated[int, Field(ge=1, le=62)]
    salary_amount_ranges: BandRanges
    salary_variation: Probability
    daily_debits_per_customer: DailyDebitsConfig
    debit_amount_distribution: Distribution
    debit_amount_ranges: dict[str, MoneyRange]
    savings_transfer_probability: Probability
    savings_transfer_frequency_days: Annotated[int, Field(ge=1, le=62)]
    savings_transfer_fraction_range: FractionRange
    bill_payment_probability: Probability
    bill_payments_per_month: CountRange
    bill_amount_ranges: Annotated[dict[str, MoneyRange], Field(min_length=1)]
    npp_payment_probability: Probability
    npp_payments_per_month: CountRange
    npp_amount_range: MoneyRange
    atm_withdrawal_probability: Probability
    atm_withdrawals_per_month: CountRange
    atm_amount_range: MoneyRange
    loan_repayment_day_of_month: Annotated[int, Field(ge=1, le=28)]
    loan_repayment_on_time_probability: Probability
    loan_repayment_late_days_range: CountRange
    credit_card_transactions_per_month: CountRange
    credit_card_amount_range: MoneyRange
    credit_card_payment_probability: Probability
    credit_card_payment_fraction: CardPaymentDistribution
    credit_card_minimum_payment_rate: Probability = 0.02
    credit_card_minimum_payment_floor: Money = Decimal(25)
    credit_card_partial_payment_range: FractionRange = (0.25, 0.75)


class SpendingByDay(StrictModel):
    monday: Weight
    tuesday: Weight
    wednesday: Weight
    thursday: Weight
    friday: Weight
    saturday: Weight
    sunday: Weight

    def factors(self) -> tuple[float, ...]:
        """The seven factors, Monday first (the order of `date.weekday()`)."""
        return tuple(getattr(self, day) for day in WEEKDAYS)


class BehaviorsConfig(StrictModel):
    spending_by_day: SpendingByDay
    spending_by_hour: Annotated[dict[str, Weight], Field(min_length=1)]

    def hour_bands(self) -> list[tuple[int, int, float]]:
        """The hour bands as (start hour, end hour, weight); valid once loaded."""
        bands = []
        for label, weight in self.spending_by_hour.items():
            match = HOUR_BAND.match(label)
            assert match is not None, label  # checked when the file was loaded
            bands.append((int(match.group(1)), int(match.group(2)), weight))
        return bands


class EconomicConditionsConfig(StrictModel):
    credit_score_distribution: Distribution
    credit_score_ranges: dict[str, CountRange]


class InvalidCommandsConfig(StrictModel):
    """Deliberately invalid PostEntry commands, each expecting a named 422."""

    # The share of all simulated PostEntry commands that are invalid; at most a half.
    rate: Annotated[Probability, Field(le=0.5)] = 0.0
    invariants: Annotated[
        dict[
            Literal[
                "OVERDRAFT_LIMIT_EXCEEDED",
                "MAX_BALANCE_EXCEEDED",
                "LEGS_MUST_BALANCE",
                "VALUE_DATE_BEFORE_BOOKING_DATE",
                "ACCOUNT_MUST_EXIST",
            ],
            Probability,
        ],
        AfterValidator(sums_to_one),
    ] = {
        "OVERDRAFT_LIMIT_EXCEEDED": 0.4,
        "LEGS_MUST_BALANCE": 0.3,
        "VALUE_DATE_BEFORE_BOOKING_DATE": 0.2,
        "ACCOUNT_MUST_EXIST": 0.1,
    }


class ScenarioConfig(FileModel):
    scenario_code: Code
    scenario_name: Name
    description: Text | None = None
    version: Short | None = None
    tenant: Annotated[str, Field(pattern=r"^[A-Z0-9_]{2,32}$")]
    customers: CustomersConfig
    accounts: AccountsConfig
    initial_balances: InitialBalancesConfig
    timeline: TimelineConfig
    transactions: TransactionsConfig
    behaviors: BehaviorsConfig
    economic_conditions: EconomicConditionsConfig
    invalid_commands: InvalidCommandsConfig = InvalidCommandsConfig()
