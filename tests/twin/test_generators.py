"""The plan generator: deterministic, shaped like the contract's payloads, faithful to the
scenario's figures, and never planning a posting the service would refuse.

The checks here do not use the generator's own ledger or tables: the bounds come from
the planned UpsertProduct and OpenAccount payloads and docs/contract.md, replayed
through the small `Book` below.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.twin.test_config import CONSTRAINT_FIELDS, INTEREST_FIELDS, PRODUCT_FIELDS
from turingcore_client.contract import gl_accounts
from twin.config import ConfigError, ScenarioConfig, TenantConfig, load_scenario_and_tenant
from twin.generators import (
    COMMAND_ID_NAMESPACE,
    PlannedCommand,
    ScenarioPlan,
    plan_scenario,
)

SYDNEY = ZoneInfo("Australia/Sydney")
# The GL chart CreateTenant opens (read from the spec): no bounds.
GL_CHART = set(gl_accounts())
# Australia Post's postcode ranges by state (delivery and PO box), inclusive.
POSTCODES = {
    "NSW": [(1000, 2599), (2619, 2899), (2921, 2999)],
    "ACT": [(200, 299), (2600, 2618), (2900, 2920)],
    "VIC": [(3000, 3999), (8000, 8999)],
    "QLD": [(4000, 4999), (9000, 9999)],
    "SA": [(5000, 5999)],
    "WA": [(6000, 6999)],
    "TAS": [(7000, 7999)],
    "NT": [(800, 999)],
}
EMPLOYMENT = {"FULL_TIME", "PART_TIME", "SELF_EMPLOYED", "UNEMPLOYED", "RETIRED", "STUDENT"}
SALARIED = {"FULL_TIME", "PART_TIME", "SELF_EMPLOYED"}
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+1[01]:00$")
E164_AU_MOBILE = re.compile(r"^\+614\d{8}$")
EMAIL = re.compile(r"^[a-z0-9]+\.[a-z0-9]+\.\d{6}@example\.com\.au$")


@pytest.fixture(scope="module")
def configs() -> tuple[ScenarioConfig, TenantConfig]:
    return load_scenario_and_tenant("steady-state")


@pytest.fixture(scope="module")
def scenario(configs: tuple[ScenarioConfig, TenantConfig]) -> ScenarioConfig:
    return configs[0]


@pytest.fixture(scope="module")
def tenant(configs: tuple[ScenarioConfig, TenantConfig]) -> TenantConfig:
    return configs[1]


@pytest.fixture(scope="module")
def plan(scenario: ScenarioConfig, tenant: TenantConfig) -> ScenarioPlan:
    """The steady state as shipped: 500 members, 30 days, seed 42."""
    return plan_scenario(tenant, scenario, seed=42)


@pytest.fixture(scope="module")
def members_plan(scenario: ScenarioConfig, tenant: TenantConfig) -> ScenarioPlan:
    """2,000 members for the distributions; one day, since the seed phase is what counts."""
    return plan_scenario(tenant, scenario, seed=7, customers=2000, days=1)


def cents(amount: float) -> int:
    """A wire amount in minor units; it must have at most 2 decimals."""
    scaled = amount * 100
    assert isinstance(amount, float | int) and abs(scaled - round(scaled)) < 1e-6, amount
    return round(scaled)


def customers(plan: ScenarioPlan) -> Iterator[PlannedCommand]:
    return (c for c in plan.seed_phase if c.command_type == "CreateCustomer")


def refs_in(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        if set(value) == {"$ref"}:
            yield value["$ref"]
        else:
            for item in value.values():
                yield from refs_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from refs_in(item)


def age_on(born: dt.date, day: dt.date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def share(counter: Counter[str], key: str) -> float:
    return counter[key] / sum(counter.values())


def tolerance(p: float, n: int) -> float:
    """4 percentage points, or 4 standard errors for small samples."""
    return max(0.04, 4 * math.sqrt(p * (1 - p) / n))


class Book:
    """An independent ledger with the contract's account bounds (docs/contract.md).

    A DEBIT adds and a CREDIT subtracts. DEPOSIT and TERM_DEPOSIT stay within
    [floor, maxBalance], the floor being minBalance (default 0), or -overdraftLimit
    when allowOverdraft is true; a term deposit opens with an amount in [minAmount,
    maxAmount]. LOAN and CREDIT_CARD stay within [-facility limit, 0], the facility
    limit being facilityLimit when given (in [minAmount, maxAmount]), else maxAmount.
    """

    def __init__(self, plan: ScenarioPlan) -> None:
        self.products = {
            c.payload["productCode"]: c.payload
            for c in plan.bootstrap
            if c.command_type == "UpsertProduct"
        }
        self.bounds: dict[str, tuple[int, int | None]] = {}
        self.balance: dict[str, int] = {}

    def open(self, command: PlannedCommand) -> None:
        payload = command.payload
        product = self.products[payload["productCode"]]
        limits = product.get("constraints", {})
        assert command.produces is not None
        if product["productType"] in ("LOAN", "CREDIT_CARD"):
            facility = cents(payload.get("facilityLimit", limits["maxAmount"]))
            assert cents(limits["minAmount"]) <= facility <= cents(limits["maxAmount"])
            assert "initialDeposit" not in payload
            self.bounds[command.produces] = (-facility, 0)
            self.balance[command.produces] = 0
        else:
            assert "facilityLimit" not in payload
            deposit = cents(payload.get("initialDeposit", 0))
            assert deposit >= cents(limits.get("minBalance", 0))
            if product["productType"] == "TERM_DEPOSIT":
                assert cents(limits["minAmount"]) <= deposit <= cents(limits["maxAmount"])
            upper = cents(limits["maxBalance"]) if "maxBalance" in limits else None
            if limits.get("allowOverdraft") is True:
                lower = -cents(limits.get("overdraftLimit", 0))
            else:
                lower = cents(limits.get("minBalance", 0))
            self.bounds[command.produces] = (lower, upper)
            self.balance[command.produces] = deposit
            assert upper is None or deposit <= upper

    def post(self, command: PlannedCommand) -> str | None:
        """Apply an entry; return the invariant it breaks (and apply nothing), else None."""
        payload = command.payload
        if payload["valueDate"] < payload["bookingDate"]:
            return "VALUE_DATE_BEFORE_BOOKING_DATE"
        change: dict[str, int] = defaultdict(int)
        for leg in payload["legs"]:
            account = leg["accountId"]
            account = account["$ref"] if isinstance(account, dict) else account
            if account not in GL_CHART and account not in self.balance:
                return "ACCOUNT_MUST_EXIST"
            amount = cents(leg["amount"])
            assert amount > 0
            change[account] += amount if leg["direction"] == "DEBIT" else -amount
        if sum(change.values()) != 0:
            return "LEGS_MUST_BALANCE"
        for account, delta in change.items():
            if account in GL_CHART:
                continue
            lower, upper = self.bounds[account]
            if self.balance[account] + delta < lower:
                return "OVERDRAFT_LIMIT_EXCEEDED"
            if upper is not None and self.balance[account] + delta > upper:
                return "MAX_BALANCE_EXCEEDED"
        for account, delta in change.items():
            if account not in GL_CHART:
                self.balance[account] += delta
        return None


def replay(plan: ScenarioPlan) -> list[tuple[PlannedCommand, str | None]]:
    """Every PostEntry with the invariant it breaks when replayed in plan order."""
    book = Book(plan)
    results = []
    for command in plan.all_commands():
        if command.command_type == "OpenAccount":
            book.open(command)
        elif command.command_type == "PostEntry":
            results.append((command, book.post(command)))
    return results


# ------------------------------------------------------------ determinism


def test_same_seed_same_plan_other_seed_other_plan(
    scenario: ScenarioConfig, tenant: TenantConfig
) -> None:
    first = plan_scenario(tenant, scenario, seed=42, customers=60, days=10)
    again = plan_scenario(tenant, scenario, seed=42, customers=60, days=10)
    other = plan_scenario(tenant, scenario, seed=43, customers=60, days=10)
    assert first.stream_digest() == again.stream_digest()
    assert list(first.all_commands()) == list(again.all_commands())
    assert first.stream_digest() != other.stream_digest()
    assert [c.payload for c in first.seed_phase] != [c.payload for c in other.seed_phase]


def test_a_smaller_plan_is_a_prefix_of_a_larger_one(
    scenario: ScenarioConfig, tenant: TenantConfig
) -> None:
    small = plan_scenario(tenant, scenario, seed=5, customers=30, days=7)
    large = plan_scenario(tenant, scenario, seed=5, customers=60, days=30)
    assert large.seed_phase[: len(small.seed_phase)] == small.seed_phase
    for day in range(7):
        ours = [c for c in large.simulate[day] if c.lane <= "C000030"]
        assert small.simulate[day] == ours


def test_command_ids_are_uuid5_of_unique_idempotency_keys(plan: ScenarioPlan) -> None:
    keys, ids = set(), set()
    for command in plan.all_commands():
        assert command.idempotency_key.startswith("STEADY_STATE_30D:42:")
        assert len(command.idempotency_key) <= 200
        assert command.command_id == str(uuid.uuid5(COMMAND_ID_NAMESPACE, command.idempotency_key))
        keys.add(command.idempotency_key)
        ids.add(command.command_id)
    assert len(keys) == len(ids) == len(plan)


# ------------------------------------------------------------ shape


def test_bootstrap_creates_the_tenant_then_every_product(
    plan: ScenarioPlan, tenant: TenantConfig
) -> None:
    first, *products = plan.bootstrap
    assert (first.command_type, first.lane, first.phase) == ("CreateTenant", "tenant", "bootstrap")
    assert first.payload == tenant.to_create_payload()
    assert [c.payload for c in products] == [p.to_upsert_payload() for p in tenant.products]
    assert {(c.command_type, c.lane, c.kind) for c in products} == {
        ("UpsertProduct", "tenant", "product")
    }


def test_commands_sit_in_their_phase_day_and_lane(plan: ScenarioPlan) -> None:
    assert (plan.customers, plan.days, len(plan.simulate)) == (500, 30, 30)
    for command in plan.bootstrap:
        assert (command.phase, command.day, command.lane) == ("bootstrap", None, "tenant")
    for command in plan.seed_phase:
        assert command.phase == "seed" and command.day is None
        assert re.fullmatch(r"C\d{6}", command.lane)
    for day, commands in enumerate(plan.simulate):
        for command in commands:
            assert (command.phase, command.day, command.command_type) == (
                "simulate",
                day,
                "PostEntry",
            )
            assert re.fullmatch(r"C\d{6}", command.lane)
    assert len(list(customers(plan))) == 500


def test_every_ref_is_produced_earlier_in_its_own_lane(plan: ScenarioPlan) -> None:
    produced: dict[str, str] = {}
    for command in plan.all_commands():
        for ref in refs_in(command.payload):
            assert produced.get(ref) == command.lane, (ref, command.idempotency_key)
        if command.produces is not None:
            assert command.produces not in produced
            assert command.produces.split(":")[1] == command.lane
            produced[command.produces] = command.lane


def test_timestamps_are_sydney_local_time_in_lane_order(
    plan: ScenarioPlan, scenario: ScenarioConfig
) -> None:
    start = scenario.timeline.start_date
    last: dict[str, dt.datetime] = {}
    for command in plan.all_commands():
        assert TIMESTAMP.match(command.timestamp), command.timestamp
        moment = dt.datetime.fromisoformat(command.timestamp)
        assert moment.astimezone(SYDNEY).replace(tzinfo=None) == moment.replace(tzinfo=None)
        assert moment.utcoffset() == moment.astimezone(SYDNEY).utcoffset()
        assert moment >= last.get(command.lane, moment)
        last[command.lane] = moment
        if command.phase == "simulate":
            assert command.day is not None
            booking = (start + dt.timedelta(days=command.day)).isoformat()
            assert command.payload["bookingDate"] == booking == command.timestamp[:10]
            assert command.payload["valueDate"] >= booking
        else:
            assert moment.date() < start


def test_timestamps_follow_daylight_saving(scenario: ScenarioConfig, tenant: TenantConfig) -> None:
    autumn = scenario.model_copy(
        update={
            "timeline": scenario.timeline.model_copy(update={"start_date": dt.date(2025, 4, 4)})
        }
    )
    plan = plan_scenario(tenant, autumn, seed=1, customers=5, days=4)
    offsets = {c.payload["bookingDate"]: c.timestamp[-6:] for day in plan.simulate for c in day}
    assert offsets["2025-04-05"] == "+11:00" and offsets["2025-04-07"] == "+10:00"


def test_every_entry_balances_in_valid_money(plan: ScenarioPlan) -> None:
    entries = [c for c in plan.all_commands() if c.command_type == "PostEntry"]
    assert entries
    for command in entries:
        payload = command.payload
        assert payload["currency"] == "AUD" and 2 <= len(payload["legs"]) <= 100
        assert 1 <= len(payload["narrative"]) <= 500
        debits = sum(cents(leg["amount"]) for leg in payload["legs"] if leg["direction"] == "DEBIT")
        credits = sum(
            cents(leg["amount"]) for leg in payload["legs"] if leg["direction"] == "CREDIT"
        )
        assert debits == credits > 0, command.idempotency_key
        for leg in payload["legs"]:
            assert 0 < cents(leg["amount"]) <= 10**13


def test_every_posting_respects_the_account_bounds(plan: ScenarioPlan) -> None:
    broken = [(c.idempotency_key, why) for c, why in replay(plan) if why is not None]
    assert broken == []
    assert not any(c.expect_invariant for c in plan.all_commands())


# ------------------------------------------------------------ members


def test_members_are_valid_unique_adults(plan: ScenarioPlan, scenario: ScenarioConfig) -> None:
    start = scenario.timeline.start_date
    emails, mobiles, refs = set(), set(), set()
    for index, command in enumerate(customers(plan), start=1):
        payload = command.payload
        person, address = payload["person"], payload["address"]
        born = dt.date.fromisoformat(person["dateOfBirth"])
        on = dt.date.fromisoformat(command.timestamp[:10])
        assert 18 <= age_on(born, on) <= age_on(born, start) <= 91
        assert payload["externalRef"] == f"MEM-{index:06d}" and command.lane == f"C{index:06d}"
        assert E164_AU_MOBILE.match(person["mobile"]), person["mobile"]
        assert EMAIL.match(person["email"]), person["email"]
        assert 1 <= len(person["firstName"]) <= 100 and 1 <= len(person["lastName"]) <= 100
        emails.add(person["email"].lower())
        mobiles.add(person["mobile"])
        refs.add(payload["externalRef"])
        assert address["country"] == "AU"
        assert re.fullmatch(r"\d{4}", address["postcode"])
        postcode = int(address["postcode"])
        assert any(lo <= postcode <= hi for lo, hi in POSTCODES[address["state"]]), address
        assert payload["employment"]["status"] in EMPLOYMENT
        risk = payload["riskProfile"]
        assert set(risk) == {"segment", "kycStatus", "creditScore"}  # as published
        assert (risk["segment"], risk["kycStatus"]) == ("RETAIL", "SIMULATED_PASSED")
        assert 0 <= risk["creditScore"] <= 1200
    assert len(emails) == len(mobiles) == len(refs) == 500


def test_demographics_follow_the_scenario(
    members_plan: ScenarioPlan, scenario: ScenarioConfig
) -> None:
    demo = scenario.customers.demographics
    ages: Counter[str] = Counter()
    incomes: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    for command in customers(members_plan):
        payload = command.payload
        born = dt.date.fromisoformat(payload["person"]["dateOfBirth"])
        age = age_on(born, dt.date.fromisoformat(command.timestamp[:10]))
        ages[next(b for b, (lo, hi) in demo.age_ranges().items() if lo <= age <= hi)] += 1
        income = payload["employment"]["annualIncome"]
        incomes[
            next(b for b, (lo, hi) in demo.annual_income_ranges.items() if lo <= income <= hi)
        ] += 1
        statuses[payload["employment"]["status"].lower()] += 1
    n = sum(ages.values())
    assert n == 2000
    for observed, expected in (
        (ages, demo.age_buckets),
        (incomes, demo.income_distribution),
        (statuses, dict(demo.employment_types)),
    ):
        assert set(observed) <= set(expected)
        for key, p in expected.items():
            assert abs(share(observed, key) - p) <= tolerance(p, n), (key, share(observed, key), p)


def test_accounts_follow_the_scenario(
    members_plan: ScenarioPlan, scenario: ScenarioConfig, tenant: TenantConfig
) -> None:
    acc = scenario.accounts
    by_member: dict[str, dict[str, str]] = defaultdict(dict)
    amounts: dict[str, float] = {}
    ages: dict[str, int] = {}
    for command in members_plan.seed_phase:
        if command.command_type == "CreateCustomer":
            born = dt.date.fromisoformat(command.payload["person"]["dateOfBirth"])
            ages[command.lane] = age_on(born, dt.date.fromisoformat(command.timestamp[:10]))
        if command.command_type == "OpenAccount":
            slot = command.produces.split(":")[2] if command.produces else ""
            by_member[command.lane][slot] = command.payload["productCode"]
            amount = command.payload.get("facilityLimit", command.payload.get("initialDeposit"))
            if amount is not None:  # a loan opens with neither: its amount is drawn down
                amounts[f"{command.lane}:{slot}"] = amount
        if command.kind == "loan_drawdown":
            ref = command.payload["legs"][0]["accountId"]["$ref"]
            amounts[ref.removeprefix("account:")] = command.payload["legs"][0]["amount"]
    n = len(by_member)
    assert n == 2000
    assert all({"TXN", "SAV"} <= set(slots) for slots in by_member.values())

    def check(observed: float, expected: float, size: int) -> None:
        assert abs(observed - expected) <= tolerance(expected, size), (observed, expected)

    premium = sum(s["TXN"] == acc.txn_premium_product for s in by_member.values())
    check(premium / n, acc.txn_premium_probability, n)
    youth_max = tenant.product(acc.savings_youth_product).constraints.max_age or 200
    eligible = [m for m in by_member if ages[m] <= youth_max]
    youth = [m for m in by_member if by_member[m]["SAV"] == acc.savings_youth_product]
    assert set(youth) <= set(eligible)
    check(len(youth) / len(eligible), acc.savings_youth_probability, len(eligible))
    for slot, probability, distribution in (
        ("TD", acc.term_deposit_probability, acc.term_deposit_distribution),
        ("PL", acc.personal_loan_probability, acc.personal_loan_distribution),
        ("HL", acc.home_loan_probability, acc.home_loan_distribution),
        ("CC", acc.credit_card_probability, acc.credit_card_distribution),
    ):
        holders = [s[slot] for s in by_member.values() if slot in s]
        check(len(holders) / n, probability, n)
        kinds = Counter(holders)
        for code, p in distribution.items():
            check(share(kinds, code), p, len(holders))
    # Every amount lies within its product's limits (checked by Book.open and, for
    # loans, test_loans_and_cards_...) and is a whole number of dollars for term
    # deposits, of $500 for loans (cards open with no amount: their limit is the
    # product's maxAmount).
    assert not any(key.endswith(":CC") for key in amounts)
    assert any(key.endswith(":PL") for key in amounts)
    for key, amount in amounts.items():
        if key.endswith((":PL", ":HL")):
            assert amount % 500 == 0, (key, amount)
        elif key.endswith(":TD"):
            assert amount % 100 == 0 and amount >= 1000, (key, amount)
    book = Book(members_plan)
    for command in members_plan.seed_phase:
        if command.command_type == "OpenAccount":
            book.open(command)


# ------------------------------------------------------------ the simulated days


def test_salaries_are_fortnightly_on_weekdays_for_the_employed(
    plan: ScenarioPlan, scenario: ScenarioConfig
) -> None:
    tx = scenario.transactions
    status = {c.lane: c.payload["employment"]["status"] for c in customers(plan)}
    income = {c.lane: c.payload["employment"]["annualIncome"] for c in customers(plan)}
    pay_days: dict[str, list[int]] = defaultdict(list)
    for command in (c for day in plan.simulate for c in day if c.kind == "salary"):
        assert command.day is not None
        pay_days[command.lane].append(command.day)
        legs = command.payload["legs"]
        assert [(leg["direction"], leg["accountId"]) for leg in legs] == [
            ("CREDIT", "GL_SALARY_CLEARING"),
            ("DEBIT", {"$ref": f"account:{command.lane}:TXN"}),
        ]
        band = next(
            b
            for b, (lo, hi) in scenario.customers.demographics.annual_income_ranges.items()
            if lo <= income[command.lane] <= hi
        )
        lo, hi = tx.salary_amount_ranges[band]
        v = tx.salary_variation
        assert float(lo) * (1 - v) - 0.01 <= legs[0]["amount"] <= float(hi) * (1 + v) + 0.01
    assert set(pay_days) == {m for m, s in status.items() if s in SALARIED}
    start = scenario.timeline.start_date
    for days in pay_days.values():
        assert days[0] < tx.salary_pay_cycle_days
        assert (start + dt.timedelta(days=days[0])).weekday() < 5
        assert days == list(range(days[0], plan.days, tx.salary_pay_cycle_days))


def test_card_spend_follows_the_daily_profile(plan: ScenarioPlan, scenario: ScenarioConfig) -> None:
    tx = scenario.transactions
    factors = scenario.behaviors.spending_by_day.factors()
    weekend = 1 - scenario.timeline.weekend_transaction_reduction
    start = scenario.timeline.start_date
    expected = 0.0
    for day in range(plan.days):
        weekday = (start + dt.timedelta(days=day)).weekday()
        expected += (
            tx.daily_debits_per_customer.mean * factors[weekday] * (weekend if weekday >= 5 else 1)
        )
    expected *= plan.customers
    counts = plan.counts_by_kind()
    # Spends left out for lack of funds were still drawn.
    drawn = counts["card_spend"] + plan.skipped.get("card_spend", 0)
    assert abs(drawn / expected - 1) < 0.03, (drawn, expected)
    per_member_day = Counter(
        (c.lane, c.day) for day in plan.simulate for c in day if c.kind == "card_spend"
    )
    assert max(per_member_day.values()) <= tx.daily_debits_per_customer.max
    lo_all = min(lo for lo, _ in tx.debit_amount_ranges.values())
    hi_all = max(hi for _, hi in tx.debit_amount_ranges.values())
    for command in (c for day in plan.simulate for c in day if c.kind == "card_spend"):
        legs = command.payload["legs"]
        assert legs[0]["accountId"] == {"$ref": f"account:{command.lane}:TXN"}
        assert legs[0]["direction"] == "CREDIT" and legs[1]["accountId"] == "GL_CARD_CLEARING"
        assert float(lo_all) <= legs[0]["amount"] <= float(hi_all)


def test_payments_use_their_clearing_accounts_and_ranges(
    plan: ScenarioPlan, scenario: ScenarioConfig
) -> None:
    tx = scenario.transactions
    bill_lo = min(lo for lo, _ in tx.bill_amount_ranges.values())
    bill_hi = max(hi for _, hi in tx.bill_amount_ranges.values())
    ranges = {
        "bpay": ("GL_BPAY_CLEARING", bill_lo, bill_hi),
        "npp": ("GL_NPP_CLEARING", *tx.npp_amount_range),
        "atm": ("GL_ATM_CLEARING", *tx.atm_amount_range),
    }
    seen: Counter[str] = Counter()
    for command in (c for day in plan.simulate for c in day if c.kind in ranges):
        gl, lo, hi = ranges[command.kind]
        credit, debit = command.payload["legs"]
        assert credit == {
            "accountId": {"$ref": f"account:{command.lane}:TXN"},
            "direction": "CREDIT",
            "amount": debit["amount"],
        }
        assert debit["accountId"] == gl and debit["direction"] == "DEBIT"
        assert float(lo) <= debit["amount"] <= float(hi)
        if command.kind == "atm":
            assert debit["amount"] % 10 == 0
        seen[command.kind] += 1
    # Roughly: users x (mid of the per-month range), for one month.
    n = plan.customers
    for kind, probability, (lo_n, hi_n) in (
        ("bpay", tx.bill_payment_probability, tx.bill_payments_per_month),
        ("npp", tx.npp_payment_probability, tx.npp_payments_per_month),
        ("atm", tx.atm_withdrawal_probability, tx.atm_withdrawals_per_month),
    ):
        drawn = seen[kind] + plan.skipped.get(kind, 0)
        assert abs(drawn / (n * probability * (lo_n + hi_n) / 2) - 1) < 0.15, kind


def test_loans_and_cards_are_drawn_repaid_and_used_within_limits(
    plan: ScenarioPlan, scenario: ScenarioConfig
) -> None:
    tx = scenario.transactions
    start = scenario.timeline.start_date
    products = {
        c.payload["productCode"]: c.payload
        for c in plan.bootstrap
        if c.command_type == "UpsertProduct"
    }
    loans = {
        c.produces: products[c.payload["productCode"]]["constraints"]
        for c in plan.seed_phase
        if c.produces and c.produces.endswith((":PL", ":HL"))
    }
    # Loans and cards open as published, with no limit field (the facility is maxAmount).
    assert all("facilityLimit" not in c.payload for c in plan.seed_phase if c.kind == "account")
    drawn = {
        c.payload["legs"][0]["accountId"]["$ref"]: c.payload["legs"][0]["amount"]
        for c in plan.seed_phase
        if c.kind == "loan_drawdown"
    }
    assert set(drawn) == set(loans)  # each loan is drawn down once, within its range
    for ref, amount in drawn.items():
        assert loans[ref]["minAmount"] <= amount <= loans[ref]["maxAmount"], ref
    for command in (c for c in plan.seed_phase if c.kind == "loan_drawdown"):
        assert [leg["direction"] for leg in command.payload["legs"]] == ["CREDIT", "DEBIT"]
        assert command.payload["legs"][1]["accountId"] == "GL_LOAN_FUNDING"
    late_lo, late_hi = tx.loan_repayment_late_days_range
    repaid: Counter[str] = Counter()
    for command in (c for day in plan.simulate for c in day if c.kind == "loan_repayment"):
        assert command.day is not None
        day_of_month = (start + dt.timedelta(days=command.day)).day
        due = tx.loan_repayment_day_of_month
        assert day_of_month == due or due + late_lo <= day_of_month <= due + late_hi
        credit, debit = command.payload["legs"]
        assert credit["accountId"] == {"$ref": f"account:{command.lane}:TXN"}
        assert debit["accountId"]["$ref"] in loans and debit["direction"] == "DEBIT"
        repaid[debit["accountId"]["$ref"]] += 1
    assert repaid and max(repaid.values()) == 1  # 30 days from 1 January: one 15th
    assert len(repaid) >= 0.9 * len(loans)
    lo, hi = tx.credit_card_amount_range
    purchases = [c for day in plan.simulate for c in day if c.kind == "credit_card_purchase"]
    assert purchases
    for command in purchases:
        credit, debit = command.payload["legs"]
        assert credit["accountId"] == {"$ref": f"account:{command.lane}:CC"}
        assert debit["accountId"] == "GL_CARD_CLEARING"
        assert float(lo) <= credit["amount"] <= float(hi)
    for command in (c for day in plan.simulate for c in day if c.kind == "card_repayment"):
        credit, debit = command.payload["legs"]
        assert credit["accountId"] == {"$ref": f"account:{command.lane}:TXN"}
        assert debit["accountId"] == {"$ref": f"account:{command.lane}:CC"}


TAG_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
# The request fields of the published contract (docs/contract.md), per command and object.
PUBLISHED_FIELDS = {
    "CreateCustomer": {"externalRef", "person", "address", "employment", "riskProfile"},
    "person": {"firstName", "lastName", "dateOfBirth", "email", "mobile"},
    "address": {"line1", "line2", "suburb", "state", "postcode", "country"},
    "employment": {"status", "employer", "occupation", "annualIncome"},
    "riskProfile": {"segment", "kycStatus", "creditScore"},
    "OpenAccount": {
        "customerId",
        "productCode",
        "currency",
        "accountAlias",
        "initialDeposit",
        "accountPurpose",
    },
    "PostEntry": {
        "bookingDate",
        "valueDate",
        "currency",
        "legs",
        "narrative",
        "tags",
        "metadata",
    },
    "leg": {"accountId", "direction", "amount"},
    # The product's, as the twin's configuration tests list them.
    "UpsertProduct": PRODUCT_FIELDS,
    "interest": INTEREST_FIELDS,
    "constraints": CONSTRAINT_FIELDS,
}


def test_commands_use_the_published_fields(plan: ScenarioPlan) -> None:
    """A service built from the published document takes every command of the plan:
    only published fields, no extension of ours (no facilityLimit, no leg currency, no
    product description or age limits)."""

    def allowed(name: str) -> set[str]:
        return PUBLISHED_FIELDS[name]

    for command in plan.all_commands():
        payload = command.payload
        kind = command.command_type
        if kind == "CreateTenant":
            continue
        assert set(payload) <= allowed(kind), (kind, set(payload) - allowed(kind))
        for name, value in payload.items():
            if name in PUBLISHED_FIELDS and isinstance(value, dict):
                assert set(value) <= allowed(name), (kind, name, set(value) - allowed(name))
        for leg in payload.get("legs", []):
            assert set(leg) <= allowed("leg"), (kind, leg)


def test_entries_carry_tags_as_an_object_of_strings(plan: ScenarioPlan) -> None:
    """PostEntry `tags` as published: an object of strings, up to 20 entries; the
    published examples' tags for a salary, card spend and a transfer."""
    by_kind: dict[str, list[dict[str, str]]] = defaultdict(list)
    for command in plan.all_commands():
        if command.command_type != "PostEntry":
            continue
        tags = command.payload["tags"]
        assert isinstance(tags, dict) and 1 <= len(tags) <= 20, command.idempotency_key
        for key, value in tags.items():
            assert TAG_KEY.match(key) and len(key) <= 50, key
            assert isinstance(value, str) and 1 <= len(value) <= 100, (key, value)
        assert "category" in tags
        by_kind[command.kind].append(tags)
    assert by_kind["salary"][0] == {"category": "INCOME", "source": "PAYROLL_SIM"}
    assert by_kind["savings_transfer"][0] == {"category": "TRANSFER", "channel": "ONLINE"}
    spend = {(t["category"], t["channel"], t["merchantMcc"]) for t in by_kind["card_spend"]}
    assert ("GROCERIES", "POS", "5411") in spend
    assert all(re.fullmatch(r"\d{4}", mcc) for _, _, mcc in spend)
    assert {t["channel"] for t in by_kind["bpay"]} == {"BPAY"}


def test_the_kinds_of_a_steady_state(plan: ScenarioPlan, tenant: TenantConfig) -> None:
    counts = plan.counts_by_kind()
    assert counts["tenant"] == 1 and counts["product"] == len(tenant.products)
    assert counts["customer"] == 500
    assert counts["account"] >= 1000
    assert set(counts) == {
        "tenant",
        "product",
        "customer",
        "account",
        "loan_drawdown",
        "salary",
        "card_spend",
        "savings_transfer",
        "bpay",
        "npp",
        "atm",
        "loan_repayment",
        "credit_card_purchase",
        "card_repayment",
    }
    assert sum(counts.values()) == len(plan)


# ------------------------------------------------------------ invalid commands


def test_invalid_commands_break_exactly_their_invariant(
    scenario: ScenarioConfig, tenant: TenantConfig
) -> None:
    rate = 0.05
    noisy = scenario.model_copy(
        update={"invalid_commands": scenario.invalid_commands.model_copy(update={"rate": rate})}
    )
    plan = plan_scenario(tenant, noisy, seed=3, customers=200, days=10)
    results = replay(plan)
    invalid = [(c, why) for c, why in results if c.expect_invariant]
    simulated = [c for c, _ in results if c.phase == "simulate"]
    assert abs(len(invalid) / len(simulated) - rate) < 0.015
    assert {c.expect_invariant for c, _ in invalid} == set(noisy.invalid_commands.invariants)
    for command, why in results:
        assert why == command.expect_invariant, (command.idempotency_key, why)
        assert (command.kind == "invalid_entry") == (why is not None)
    # The valid commands are those of the same plan without invalid ones.
    clean = plan_scenario(tenant, scenario, seed=3, customers=200, days=10)
    assert [c for c in plan.all_commands() if not c.expect_invariant] == list(clean.all_commands())


# ------------------------------------------------------------ arguments


def test_counts_out_of_range_are_refused(scenario: ScenarioConfig, tenant: TenantConfig) -> None:
    with pytest.raises(ValueError, match="customers"):
        plan_scenario(tenant, scenario, customers=0)
    with pytest.raises(ValueError, match="days"):
        plan_scenario(tenant, scenario, days=0)


def test_a_scenario_for_another_tenant_is_refused(
    scenario: ScenarioConfig, tenant: TenantConfig
) -> None:
    other = scenario.model_copy(update={"tenant": "CU_OTHER"})
    with pytest.raises(ConfigError, match="tenant: expected the tenant code 'CU_DIGITAL'"):
        plan_scenario(tenant, other)
