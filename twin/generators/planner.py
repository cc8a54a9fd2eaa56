"""`plan_scenario` and the `Planner`: the bootstrap, then each member's seeding (customer,
accounts, loan drawdowns); the days are planned by `twin.generators.days`."""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from turingcore_client.contract import gl_accounts
from turingcore_client.money import minor_units
from twin.config import (
    ProductConfig,
    ScenarioConfig,
    TenantConfig,
    check_scenario_against_tenant,
    customers_count_max,
    scenario_days_max,
)
from twin.generators.days import simulate_member
from twin.generators.draws import (
    _birth_date,
    _Choice,
    _Clock,
    _email_part,
    _FakerPools,
    _monthly_repayment,
    _range_minor,
    _round_to,
)
from twin.generators.plan import (
    PlannedCommand,
    ScenarioPlan,
    command_id_for,
)
from twin.generators.stream import PlanStream, SpillWriter, spill_folder
from twin.generators.vocabulary import (
    _NARRATIVE,
    _SALARIED,
    _SPEND_TAGS,
    _SPEND_TAGS_OTHER_MCC,
    _STATES,
    _TAGS,
    GL_LOAN_FUNDING,
    GL_ROLES,
    KYC_STATUS,
    RISK_SEGMENT,
    TENANT_LANE,
    _tag_value,
    loan_term_months_fallback,
    seed_clock_seconds_max,
)
from twin.model import LedgerAccount, Member


def plan_scenario(
    tenant: TenantConfig,
    scenario: ScenarioConfig,
    *,
    seed: int = 42,
    customers: int | None = None,
    days: int | None = None,
) -> ScenarioPlan:
    """Plan every command of `scenario` against `tenant`, deterministically from `seed`,
    and hold it whole (tests and small tools; a run streams it: `stream_scenario`).

    `customers` and `days` override the scenario's count and length. Raises ConfigError
    when the scenario does not fit the tenant, ValueError for counts out of range.
    Returns the ScenarioPlan.
    """
    planner = _planner(tenant, scenario, seed, customers, days)
    with _collector_paused():
        return planner.plan()


def stream_scenario(
    tenant: TenantConfig,
    scenario: ScenarioConfig,
    *,
    seed: int = 42,
    customers: int | None = None,
    days: int | None = None,
    folder: Path | None = None,
) -> PlanStream:
    """The same plan as `plan_scenario`, command for command, as a `PlanStream`: drawn
    member by member into spill files (in `folder`, else a new temporary folder) and
    read back a batch at a time, so it is never held whole. Close it when done."""
    planner = _planner(tenant, scenario, seed, customers, days)
    with _collector_paused():
        return planner.stream(folder or spill_folder())


def _planner(
    tenant: TenantConfig,
    scenario: ScenarioConfig,
    seed: int,
    customers: int | None,
    days: int | None,
) -> Planner:
    check_scenario_against_tenant(scenario, tenant)
    unknown = sorted(set(GL_ROLES) - set(gl_accounts()))
    assert not unknown, f"GL accounts the contract's chart does not open: {unknown}"
    n_customers = scenario.customers.count if customers is None else customers
    n_days = scenario.timeline.days if days is None else days
    if not 1 <= n_customers <= customers_count_max:
        raise ValueError(f"customers: expected 1..{customers_count_max}, got {n_customers}")
    if not 1 <= n_days <= scenario_days_max:
        raise ValueError(f"days: expected 1..{scenario_days_max}, got {n_days}")
    return Planner(tenant, scenario, seed, n_customers, n_days)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    # A plan is up to millions of small acyclic objects. The cyclic collector would scan
    # them again and again as they pile up (twice the run time at 2,000 members), and
    # they hold no cycles to collect, so it pauses while planning.
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


class Planner:
    def __init__(
        self, tenant: TenantConfig, scenario: ScenarioConfig, seed: int, customers: int, days: int
    ) -> None:
        self.tenant = tenant
        self.scenario = scenario
        self.seed = seed
        self.customers = customers
        self.days = days
        self.currency = tenant.tenant.base_currency
        self.country = tenant.tenant.region
        self.start = scenario.timeline.start_date
        self.onboarding = self.start - dt.timedelta(days=1)
        self.clock = _Clock(tenant.tenant.time_zone, self.start, days)
        self.key_prefix = f"{scenario.scenario_code}:{seed}:"
        self.skipped: Counter[str] = Counter()
        self.products = {p.code: p for p in tenant.products}
        self._prepare_draws()

    # -- configuration turned into ready-to-draw tables -------------------------------

    def _prepare_draws(self) -> None:
        sc = self.scenario
        demo = sc.customers.demographics
        acc = sc.accounts
        tx = sc.transactions
        self.age_ranges = demo.age_ranges()
        self.age_choice = _Choice(demo.age_buckets)
        self.income_choice = _Choice(demo.income_distribution)
        self.income_ranges = {b: _range_minor(r) for b, r in demo.annual_income_ranges.items()}
        self.employment_choice = _Choice(demo.employment_types)
        self.location_choice = _Choice(demo.location_distribution)
        self.state_choice = _Choice({state: row[0] for state, row in _STATES.items()})
        econ = sc.economic_conditions
        self.credit_choice = _Choice(econ.credit_score_distribution)
        self.credit_ranges = econ.credit_score_ranges
        self.td_choice = _Choice(acc.term_deposit_distribution)
        self.pl_choice = _Choice(acc.personal_loan_distribution)
        self.hl_choice = _Choice(acc.home_loan_distribution)
        self.cc_choice = _Choice(acc.credit_card_distribution)
        bands = list(demo.income_distribution)
        ib = sc.initial_balances
        self.ranges = {
            name: {band: _range_minor(mapping[band]) for band in bands}
            for name, mapping in (
                ("txn", ib.txn_account_ranges),
                ("savings", ib.savings_account_ranges),
                ("td", acc.term_deposit_amount_ranges),
                ("pl", acc.personal_loan_amount_ranges),
                ("hl", acc.home_loan_amount_ranges),
                ("cc", acc.credit_card_limit_ranges),
                ("salary", tx.salary_amount_ranges),
            )
        }
        self.facility_step = minor_units(acc.facility_rounding)
        # Pay days: each salaried member is paid on a fixed weekday of the first cycle.
        cycle = tx.salary_pay_cycle_days
        weekdays = [d for d in range(cycle) if (self.start + dt.timedelta(days=d)).weekday() < 5]
        self.pay_offsets = weekdays or list(range(cycle))
        # Card spend: a count in [min, max] per day, binomial with the day's mean.
        debits = tx.daily_debits_per_customer
        factors = sc.behaviors.spending_by_day.factors()
        weekend = 1.0 - sc.timeline.weekend_transaction_reduction
        self.spend_trials = debits.max - debits.min
        self.spend_p: list[float] = []
        self.day_of_month: list[int] = []
        for k in range(self.days):
            day = self.start + dt.timedelta(days=k)
            factor = factors[day.weekday()] * (weekend if day.weekday() >= 5 else 1.0)
            mean = debits.mean * factor
            p = (mean - debits.min) / self.spend_trials if self.spend_trials else 0.0
            self.spend_p.append(min(max(p, 0.0), 1.0))
            self.day_of_month.append(day.day)
        self.spend_choice = _Choice(tx.debit_amount_distribution)
        self.spend_ranges = {k: _range_minor(v) for k, v in tx.debit_amount_ranges.items()}
        # Hour bands weigh by their weight per hour times their length.
        bands_by_hour = sc.behaviors.hour_bands()
        self.hour_choice = _Choice({f"{a}-{b}": w * (b - a) for a, b, w in bands_by_hour})
        self.hour_spans = {f"{a}-{b}": (a * 3600, b * 3600) for a, b, _ in bands_by_hour}
        self.bill_categories = list(tx.bill_amount_ranges)
        self.bill_tags = {
            category: {
                "category": "BILL_PAYMENT",
                "channel": "BPAY",
                "billType": _tag_value(category),
            }
            for category in self.bill_categories
        }
        self.spend_tags = {}
        for size in tx.debit_amount_ranges:
            category, mcc = _SPEND_TAGS.get(size, (_tag_value(size), _SPEND_TAGS_OTHER_MCC))
            self.spend_tags[size] = {"category": category, "channel": "POS", "merchantMcc": mcc}
        self.bill_ranges = {k: _range_minor(v) for k, v in tx.bill_amount_ranges.items()}
        self.npp_range = _range_minor(tx.npp_amount_range)
        self.atm_range = _range_minor(tx.atm_amount_range)
        self.cc_range = _range_minor(tx.credit_card_amount_range)
        self.card_payment_choice = _Choice(tx.credit_card_payment_fraction)
        self.min_payment_floor = minor_units(tx.credit_card_minimum_payment_floor)
        inv = sc.invalid_commands
        # Injected after a valid entry with probability q, invalid entries make up
        # q / (1 + q) = rate of all simulated entries.
        self.invalid_q = inv.rate / (1.0 - inv.rate) if inv.rate > 0 else 0.0
        self.invalid_choice = _Choice(inv.invariants) if inv.rate > 0 else None

    # -- commands ---------------------------------------------------------------------

    def command(
        self,
        phase: str,
        day: int | None,
        lane: str,
        command_type: str,
        key: str,
        timestamp: str,
        payload: dict[str, Any],
        kind: str,
        produces: str | None = None,
        expect: str | None = None,
    ) -> PlannedCommand:
        idempotency_key = self.key_prefix + key
        return PlannedCommand(
            phase,
            day,
            lane,
            command_type,
            idempotency_key,
            command_id_for(idempotency_key),
            timestamp,
            payload,
            produces,
            expect,
            kind,
        )

    def entry(
        self,
        day: int,
        legs: list[tuple[Any, str, int]],
        narrative: str,
        tags: dict[str, str],
        value_day: int | None = None,
    ) -> dict[str, Any]:
        """A PostEntry payload; each leg is (account id or ref, direction, minor units)."""
        booking = self.clock.date(day)
        return {
            "bookingDate": booking,
            "valueDate": booking if value_day is None else self.clock.date(value_day),
            "currency": self.currency,
            "legs": [
                {
                    "accountId": account if isinstance(account, str) else {"$ref": account.ref},
                    "direction": direction,
                    "amount": amount / 100,
                }
                for account, direction, amount in legs
            ],
            "narrative": narrative,
            "tags": tags,
        }

    # -- the three phases -------------------------------------------------------------

    def plan(self) -> ScenarioPlan:
        bootstrap = self._bootstrap()
        rng = random.Random(self.seed)
        pools = _FakerPools(self.seed)
        members: list[Member] = []
        seed_phase: list[PlannedCommand] = []
        mobiles: set[str] = set()
        for index in range(1, self.customers + 1):
            member, commands = self._seed_member(index, rng, pools, mobiles)
            members.append(member)
            seed_phase.extend(commands)
        simulate: list[list[PlannedCommand]] = [[] for _ in range(self.days)]
        for member in members:
            simulate_member(self, member, simulate)
        return ScenarioPlan(
            scenario_code=self.scenario.scenario_code,
            tenant_code=self.tenant.code,
            seed=self.seed,
            customers=self.customers,
            days=self.days,
            bootstrap=bootstrap,
            seed_phase=seed_phase,
            simulate=simulate,
            skipped=dict(sorted(self.skipped.items())),
        )

    def stream(self, folder: Path) -> PlanStream:
        """The plan of `plan`, drawn in the same order, written member by member: each
        member's seeding and days go to the spill files as soon as they are drawn."""
        stream = PlanStream(
            self.scenario.scenario_code,
            self.tenant.code,
            self.seed,
            self.customers,
            self.days,
            folder,
        )
        folder.mkdir(parents=True, exist_ok=True)
        writer = SpillWriter(stream)
        try:
            writer.bootstrap(self._bootstrap())
            rng = random.Random(self.seed)
            pools = _FakerPools(self.seed)
            mobiles: set[str] = set()
            for index in range(1, self.customers + 1):
                # A member's days draw only on their own generators, never on `rng` or
                # `pools`, so drawing them right after the member's seeding (instead of
                # after every member's, as `plan` does) draws the same values.
                member, commands = self._seed_member(index, rng, pools, mobiles)
                days: list[list[PlannedCommand]] = [[] for _ in range(self.days)]
                simulate_member(self, member, days)
                writer.member(commands, days)
        except BaseException:
            stream.close()
            raise
        return writer.close(dict(sorted(self.skipped.items())))

    def _bootstrap(self) -> list[PlannedCommand]:
        at = 8 * 3600
        commands = [
            self.command(
                "bootstrap",
                None,
                TENANT_LANE,
                "CreateTenant",
                f"tenant:{self.tenant.code}",
                self.clock.at(-1, at),
                self.tenant.to_create_payload(),
                "tenant",
            )
        ]
        for i, product in enumerate(self.tenant.products, start=1):
            commands.append(
                self.command(
                    "bootstrap",
                    None,
                    TENANT_LANE,
                    "UpsertProduct",
                    f"product:{product.code}",
                    self.clock.at(-1, at + i),
                    product.to_upsert_payload(),
                    "product",
                )
            )
        return commands

    def _seed_member(
        self, index: int, rng: random.Random, pools: _FakerPools, mobiles: set[str]
    ) -> tuple[Member, list[PlannedCommand]]:
        """Draw one member and plan their customer, accounts and loan drawdowns."""
        sc = self.scenario
        lid = f"C{index:06d}"
        customer_ref = f"customer:{lid}"
        bucket = self.age_choice.pick(rng)
        lo_age, hi_age = self.age_ranges[bucket]
        age = rng.randint(lo_age, hi_age)
        # Ages hold on the onboarding day, the date of the CreateCustomer command.
        dob = _birth_date(rng, self.onboarding, age)
        band = self.income_choice.pick(rng)
        lo_inc, hi_inc = self.income_ranges[band]
        income = _round_to(rng.randint(lo_inc, hi_inc), 10_000)  # whole hundreds of dollars
        income = min(max(income, lo_inc), hi_inc)
        employment = self.employment_choice.pick(rng)
        credit_band = self.credit_choice.pick(rng)
        credit_score = rng.randint(*self.credit_ranges[credit_band])
        state = self.state_choice.pick(rng)
        location = self.location_choice.pick(rng)
        _, metro, regional = _STATES[state]
        spans = metro if location == "metro" or not regional else regional
        lo_pc, hi_pc = spans[rng.randrange(len(spans))]
        postcode = f"{rng.randint(lo_pc, hi_pc):04d}"
        first, last, line1, suburb = pools.draw(rng)
        mobile = f"+614{rng.randrange(10**8):08d}"
        while mobile in mobiles:
            mobile = f"+614{rng.randrange(10**8):08d}"
        mobiles.add(mobile)
        email = f"{_email_part(first)}.{_email_part(last)}.{index:06d}@example.com.au"
        payload = {
            "externalRef": f"MEM-{index:06d}",
            "person": {
                "firstName": first,
                "lastName": last,
                "dateOfBirth": dob.isoformat(),
                "email": email,
                "mobile": mobile,
            },
            "address": {
                "line1": line1,
                "suburb": suburb,
                "state": state,
                "postcode": postcode,
                "country": self.country,
            },
            "employment": {"status": employment.upper(), "annualIncome": income / 100},
            "riskProfile": {
                "segment": RISK_SEGMENT,
                "kycStatus": KYC_STATUS,
                "creditScore": credit_score,
            },
        }
        second = 9 * 3600 + min(index - 1, seed_clock_seconds_max)
        at = self.clock.at(-1, second)
        commands = [
            self.command(
                "seed",
                None,
                lid,
                "CreateCustomer",
                customer_ref,
                at,
                payload,
                "customer",
                produces=customer_ref,
            )
        ]
        member = Member(index, lid, dob, age, band, employment)

        def open_account(slot: str, product: ProductConfig, amount: int) -> LedgerAccount:
            ref = f"account:{lid}:{slot}"
            body: dict[str, Any] = {
                "customerId": {"$ref": customer_ref},
                "productCode": product.code,
                "currency": self.currency,
            }
            if product.is_facility:
                # Opened as published, with no limit field (facilityLimit is an extension
                # the plan does not use): the service gives the facility the product's
                # maxAmount. A loan's `amount` is drawn down below; a card's is the
                # member's own credit limit, within [minAmount, maxAmount], which the
                # plan keeps the card to (so the service's wider limit is never met).
                assert product.constraints.max_amount is not None  # checked on loading
                limit = (
                    minor_units(product.constraints.max_amount)
                    if product.type == "LOAN"
                    else amount
                )
                account = LedgerAccount.open(ref, product, facility_limit=limit)
            else:
                body["initialDeposit"] = amount / 100
                account = LedgerAccount.open(ref, product)
                if amount:
                    account.debit(amount)  # funded from GL_INITIAL_DEPOSIT_CLEARING
            commands.append(
                self.command(
                    "seed", None, lid, "OpenAccount", ref, at, body, "account", produces=ref
                )
            )
            member.accounts[slot] = account
            return account

        acc = sc.accounts
        txn_code = (
            acc.txn_premium_product
            if rng.random() < acc.txn_premium_probability
            else acc.txn_product
        )
        open_account(
            "TXN", self.products[txn_code], self._deposit(rng, "txn", band, self.products[txn_code])
        )
        youth = self.products[acc.savings_youth_product].constraints
        youth_ok = (youth.max_age is None or age <= youth.max_age) and (
            youth.min_age is None or age >= youth.min_age
        )
        savings_code = acc.savings_product
        if youth_ok and rng.random() < acc.savings_youth_probability:
            savings_code = acc.savings_youth_product
        open_account(
            "SAV",
            self.products[savings_code],
            self._deposit(rng, "savings", band, self.products[savings_code]),
        )
        if rng.random() < acc.term_deposit_probability:
            product = self.products[self.td_choice.pick(rng)]
            amount = _round_to(self._deposit(rng, "td", band, product), 10_000)
            open_account("TD", product, self._clamp_deposit(amount, product))
        for slot, probability, choice, ranges in (
            ("PL", acc.personal_loan_probability, self.pl_choice, "pl"),
            ("HL", acc.home_loan_probability, self.hl_choice, "hl"),
        ):
            if rng.random() < probability:
                product = self.products[choice.pick(rng)]
                principal = self._facility(rng, ranges, band, product)
                loan = open_account(slot, product, principal)
                loan.credit(principal)
                drawdown = self.entry(
                    -1,
                    [(loan, "CREDIT", principal), (GL_LOAN_FUNDING, "DEBIT", principal)],
                    f"{_NARRATIVE['loan_drawdown']} {product.code}",
                    _TAGS["loan_drawdown"],
                )
                commands.append(
                    self.command(
                        "seed",
                        None,
                        lid,
                        "PostEntry",
                        f"drawdown:{lid}:{slot}",
                        at,
                        drawdown,
                        "loan_drawdown",
                    )
                )
                rate = product.interest.rate or 0.0
                months = product.constraints.term_months_default or loan_term_months_fallback
                member.repayments[slot] = _monthly_repayment(principal, rate, months)
        if rng.random() < acc.credit_card_probability:
            product = self.products[self.cc_choice.pick(rng)]
            open_account("CC", product, self._facility(rng, "cc", band, product))
            member.card_due_day = rng.randint(1, 28)
        tx = sc.transactions
        if employment in _SALARIED:
            lo_s, hi_s = self.ranges["salary"][band]
            position = (income - lo_inc) / (hi_inc - lo_inc) if hi_inc > lo_inc else 0.5
            member.salary_minor = lo_s + round(position * (hi_s - lo_s))
            member.pay_offset = self.pay_offsets[rng.randrange(len(self.pay_offsets))]
        if rng.random() < tx.savings_transfer_probability:
            member.savings_fraction = rng.uniform(*tx.savings_transfer_fraction_range)
        member.pays_bills = rng.random() < tx.bill_payment_probability
        member.uses_npp = rng.random() < tx.npp_payment_probability
        member.uses_atm = rng.random() < tx.atm_withdrawal_probability
        return member, commands

    def _deposit(self, rng: random.Random, ranges: str, band: str, product: ProductConfig) -> int:
        lo, hi = self.ranges[ranges][band]
        return self._clamp_deposit(rng.randint(lo, hi), product)

    @staticmethod
    def _clamp_deposit(amount: int, product: ProductConfig) -> int:
        """An opening deposit the product takes: at least minBalance (and a term
        deposit's minAmount), at most maxBalance (and a term deposit's maxAmount)."""
        c = product.constraints
        lows = [c.min_balance]
        highs = [c.max_balance]
        if product.type == "TERM_DEPOSIT":
            lows.append(c.min_amount)
            highs.append(c.max_amount)
        for low in lows:
            if low is not None:
                amount = max(amount, minor_units(low))
        for high in highs:
            if high is not None:
                amount = min(amount, minor_units(high))
        return amount

    def _facility(self, rng: random.Random, ranges: str, band: str, product: ProductConfig) -> int:
        lo, hi = self.ranges[ranges][band]
        amount = _round_to(rng.randint(lo, hi), self.facility_step)
        c = product.constraints
        assert c.min_amount is not None and c.max_amount is not None  # checked on loading
        return min(max(amount, minor_units(c.min_amount)), minor_units(c.max_amount))

    # -- simulation -------------------------------------------------------------------
