"""The deterministic plan of a scenario: every command the twin sends, in order, by lane.

`plan_scenario(tenant, scenario, seed=...)` turns the two configurations into a
`ScenarioPlan` of three phases:

- bootstrap: CreateTenant, then one UpsertProduct per product (lane "tenant");
- seed: per member, CreateCustomer, OpenAccount for each account, and the drawdown
  PostEntry of each loan (lane = the member's local id, "C000042");
- simulate: one list per day of PostEntry commands (salary, card spend, savings
  transfers, BPAY, NPP, ATM, loan and card repayments, card purchases), each in its
  member's lane.

Commands of one lane must run in order; lanes may run concurrently. Payloads are the
wire payloads of docs/contract.md in the published shapes, with no field of ours (no
facilityLimit: loans and cards open as published, at the product's maxAmount; PostEntry
`tags` an object of strings), except where a server id goes: there they hold a
local ref, `{"$ref": "customer:C000042"}` or `{"$ref": "account:C000042:TXN"}`, which
the runner replaces with the id the service returned for the command that `produces`
it. Treat payloads as read-only: copy before substituting.

Determinism: one Faker("en_AU") seeded with `seed` fills pools of names, streets and
suburbs, and one random.Random seeded with `seed` draws the members from them in order.
Each member's days are then drawn from its own random.Random seeded with
`f"{seed}:{local id}"` (string seeds hash with SHA-512, so no PYTHONHASHSEED dependence).
That keeps a member's plan independent of how many members or days come after it: each
list of the plan for 500 members is a prefix of the same list for 1,000, and the days
of a 7-day plan are the first 7 days of a 30-day one. The same inputs give the same plan
byte for byte (`stream_digest`), given the same Faker version.

Account bounds: the generator keeps each member account's balance in integer minor
units (`twin.model.LedgerAccount`) and skips a payment, or shrinks a transfer or
repayment, that would take an account out of its bounds, so a healthy run has no
rejections. A card's bound is the member's own credit limit (drawn from the scenario's
ranges, at most the product's maxAmount, which is the service's bound). A lane never
shares a bounded account with another (GL accounts have no bounds), so the bounds hold
under any interleaving of lanes.
"""

from __future__ import annotations

import bisect
import datetime as dt
import gc
import hashlib
import math
import random
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import orjson
from faker import Faker

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
from twin.model import LedgerAccount, Member

__all__ = [
    "COMMAND_ID_NAMESPACE",
    "GL_ROLES",
    "TENANT_LANE",
    "PlannedCommand",
    "ScenarioPlan",
    "command_id_for",
    "plan_scenario",
]

# command_id = uuid5(COMMAND_ID_NAMESPACE, idempotency_key).
COMMAND_ID_NAMESPACE = UUID("dbba7f46-bf5e-575f-a989-d7ae3b5844fe")
TENANT_LANE = "tenant"

GL_SALARY_CLEARING = "GL_SALARY_CLEARING"
GL_CARD_CLEARING = "GL_CARD_CLEARING"
GL_BPAY_CLEARING = "GL_BPAY_CLEARING"
GL_NPP_CLEARING = "GL_NPP_CLEARING"
GL_ATM_CLEARING = "GL_ATM_CLEARING"
GL_LOAN_FUNDING = "GL_LOAN_FUNDING"
# The GL accounts the plan posts to, each by its role; all in the contract's chart
# (`turingcore_client.contract.gl_accounts()`, checked by plan_scenario).
GL_ROLES = (
    GL_SALARY_CLEARING,
    GL_CARD_CLEARING,
    GL_BPAY_CLEARING,
    GL_NPP_CLEARING,
    GL_ATM_CLEARING,
    GL_LOAN_FUNDING,
)
# Every synthetic member's riskProfile: the published example's segment, and a KYC
# status that says the check was simulated.
RISK_SEGMENT = "RETAIL"
KYC_STATUS = "SIMULATED_PASSED"
# An account id no tenant has, for the deliberately invalid ACCOUNT_MUST_EXIST entry.
GL_UNKNOWN = "GL_NO_SUCH_ACCOUNT"

# Limits, unit last.
entry_amount_minor_max = 10**13
pay_hour_first = 6  # salaries land between 06:00 and 07:00, transfers to savings after
seed_clock_seconds_max = 14 * 3600  # seed commands are stamped 09:00 + i seconds, capped
days_per_block = 30  # "per month" counts are drawn per block of 30 days
loan_term_months_fallback = 12  # a loan product without termMonthsDefault
faker_pool_names = 400  # first and last names each: 160,000 combinations
faker_pool_streets = 300
faker_pool_suburbs = 200

_SALARIED = frozenset({"full_time", "part_time", "self_employed"})

# The states with their share of the population (ABS, rounded) and the postcode ranges
# of their capital city ("metro") and of the rest ("regional", also used for "rural").
# Ranges are inclusive, from Australia Post's allocation by state.
_STATES: dict[str, tuple[float, tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]] = {
    "NSW": (0.31, ((2000, 2234),), ((2250, 2599), (2619, 2899))),
    "VIC": (0.26, ((3000, 3207),), ((3211, 3999),)),
    "QLD": (0.20, ((4000, 4207),), ((4208, 4999),)),
    "WA": (0.11, ((6000, 6199),), ((6200, 6797),)),
    "SA": (0.07, ((5000, 5199),), ((5200, 5799),)),
    "TAS": (0.02, ((7000, 7099),), ((7100, 7799),)),
    "ACT": (0.02, ((2600, 2618), (2900, 2920)), ()),
    "NT": (0.01, ((800, 832),), ((835, 899),)),
}

_NARRATIVE = {
    "salary": "Salary",
    "savings_transfer": "Transfer to savings",
    "npp": "NPP payment",
    "atm": "ATM withdrawal",
    "card_repayment": "Credit card repayment",
    "loan_drawdown": "Loan drawdown",
}
_SPEND_NARRATIVE = {
    "small": "Cafe and lunch",
    "medium": "Groceries and fuel",
    "large": "Shopping and dining",
}
# PostEntry `tags`: an object of strings, as in the published examples (salary
# {"category": "INCOME", "source": "PAYROLL_SIM"}, card spend {"category": ...,
# "channel": "POS", "merchantMcc": ...}, transfer {"category": "TRANSFER", "channel":
# "ONLINE"}). One dict per kind, shared by the commands of that kind: payloads are
# read-only.
tag_value_chars_max = 100
_TAGS: dict[str, dict[str, str]] = {
    "salary": {"category": "INCOME", "source": "PAYROLL_SIM"},
    "savings_transfer": {"category": "TRANSFER", "channel": "ONLINE"},
    "npp": {"category": "PAYMENT", "channel": "NPP"},
    "atm": {"category": "CASH_WITHDRAWAL", "channel": "ATM"},
    "credit_card_purchase": {"category": "PURCHASE", "channel": "POS"},
    "loan_repayment": {"category": "LOAN_REPAYMENT", "channel": "INTERNAL"},
    "loan_drawdown": {"category": "LOAN_DRAWDOWN", "channel": "INTERNAL"},
}
# Card spend by size: the category and a merchant category code (ISO 18245) of it.
_SPEND_TAGS: dict[str, tuple[str, str]] = {
    "small": ("DINING", "5814"),  # fast food restaurants
    "medium": ("GROCERIES", "5411"),  # grocery stores, supermarkets
    "large": ("SHOPPING", "5311"),  # department stores
}
_SPEND_TAGS_OTHER_MCC = "5999"  # miscellaneous retail
_CARD_PAYMENT_TAGS = {
    mode: {"category": "CARD_REPAYMENT", "channel": "INTERNAL", "paymentType": mode.upper()}
    for mode in ("full_balance", "minimum", "partial")
}


def _tag_value(name: str) -> str:
    """A scenario's key (a bill category, a spend size) as an upper-case tag value."""
    return (_NOT_TAG.sub("_", name).strip("_").upper() or "OTHER")[:tag_value_chars_max]


_NOT_TAG = re.compile(r"[^A-Za-z0-9]+")


@dataclass(frozen=True, slots=True)
class PlannedCommand:
    """One command of the plan, ready to be wrapped in the command envelope."""

    phase: str  # "bootstrap" | "seed" | "simulate"
    day: int | None  # 0-based day for simulate, else None
    lane: str  # "tenant", or the member's local id ("C000042")
    command_type: str
    idempotency_key: str  # f"{scenario_code}:{seed}:{entity...}", unique per command
    command_id: str  # uuid5(COMMAND_ID_NAMESPACE, idempotency_key)
    timestamp: str  # RFC 3339, local time of the tenant's zone, the simulated time
    payload: dict[str, Any]  # the wire payload, with {"$ref": ...} where a server id goes
    produces: str | None  # the local ref this command creates, else None
    expect_invariant: str | None  # the 422 invariant of a deliberately invalid command
    kind: str  # "tenant", "product", "customer", "account", "loan_drawdown", "salary", ...

    def canonical(self) -> bytes:
        """This command as canonical JSON (sorted keys, no spaces), for digests."""
        return orjson.dumps(
            {
                "phase": self.phase,
                "day": self.day,
                "lane": self.lane,
                "commandType": self.command_type,
                "idempotencyKey": self.idempotency_key,
                "commandId": self.command_id,
                "timestamp": self.timestamp,
                "payload": self.payload,
                "produces": self.produces,
                "expectInvariant": self.expect_invariant,
                "kind": self.kind,
            },
            option=orjson.OPT_SORT_KEYS,
        )


@dataclass(frozen=True)
class ScenarioPlan:
    """The commands of one scenario run, by phase; simulate has one list per day."""

    scenario_code: str
    tenant_code: str
    seed: int
    customers: int
    days: int
    bootstrap: list[PlannedCommand]
    seed_phase: list[PlannedCommand]
    simulate: list[list[PlannedCommand]]
    # Planned events left out to keep an account within its bounds, by kind.
    skipped: dict[str, int] = field(default_factory=dict)

    def all_commands(self) -> Iterator[PlannedCommand]:
        """Every command: bootstrap, seed, then the days in order."""
        yield from self.bootstrap
        yield from self.seed_phase
        for day in self.simulate:
            yield from day

    def stream_digest(self) -> str:
        """SHA-256 hex of the canonical JSON of every planned command, one per line."""
        digest = hashlib.sha256()
        header = [self.scenario_code, self.tenant_code, self.seed, self.customers, self.days]
        digest.update(orjson.dumps(header) + b"\n")
        for command in self.all_commands():
            digest.update(command.canonical())
            digest.update(b"\n")
        return digest.hexdigest()

    def counts_by_kind(self) -> dict[str, int]:
        """How many commands of each kind, in order of first appearance."""
        return dict(Counter(command.kind for command in self.all_commands()))

    def __len__(self) -> int:
        return len(self.bootstrap) + len(self.seed_phase) + sum(len(day) for day in self.simulate)


def command_id_for(idempotency_key: str) -> str:
    """uuid5(COMMAND_ID_NAMESPACE, idempotency_key) as a string, computed directly.

    The same value as `str(uuid.uuid5(...))` at a third of its cost, which matters for a
    million commands: the SHA-1 hex digest with the version and variant bits set.
    """
    h = hashlib.sha1(_NAMESPACE_BYTES + idempotency_key.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


# The RFC 4122 variant: the top two bits of the 17th hex digit are 10.
_VARIANT = {f"{n:x}": f"{(n & 0x3) | 0x8:x}" for n in range(16)}
_NAMESPACE_BYTES = COMMAND_ID_NAMESPACE.bytes


# ---------------------------------------------------------------------------
# Small helpers.


class _Choice:
    """A weighted choice among keys, drawn with one random() call."""

    __slots__ = ("_cum", "_keys", "_total")

    def __init__(self, weights: Mapping[Any, float]) -> None:
        self._keys: list[str] = [str(key) for key in weights]
        self._cum = []
        total = 0.0
        for weight in weights.values():
            total += weight
            self._cum.append(total)
        self._total = total
        assert total > 0, weights

    def pick(self, rng: random.Random) -> str:
        return self.pick_with(rng.random)

    def pick_with(self, rand: Callable[[], float]) -> str:
        index = bisect.bisect_right(self._cum, rand() * self._total)
        return self._keys[min(index, len(self._keys) - 1)]


def _between(rand: Callable[[], float], lo: int, hi: int) -> int:
    """A uniform integer in [lo, hi], from one random() call (randint costs 5x more)."""
    return lo + int(rand() * (hi - lo + 1))


def _range_minor(pair: tuple[Decimal, Decimal]) -> tuple[int, int]:
    return minor_units(pair[0]), minor_units(pair[1])


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year - years, day=28)


def _birth_date(rng: random.Random, on: dt.date, age: int) -> dt.date:
    """A date of birth that makes the member exactly `age` years old on `on`."""
    latest = _years_before(on, age)
    earliest = _years_before(on, age + 1) + dt.timedelta(days=1)
    return earliest + dt.timedelta(days=rng.randrange((latest - earliest).days + 1))


_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def _email_part(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return _NOT_ALNUM.sub("", ascii_name.lower()) or "member"


def _round_to(amount: int, step: int) -> int:
    return amount if step <= 0 else round(amount / step) * step


def _monthly_repayment(principal: int, annual_rate: float, months: int) -> int:
    """The level monthly repayment of an amortising loan, in minor units, rounded up."""
    if annual_rate <= 0:
        return math.ceil(principal / months)
    i = annual_rate / 12
    return math.ceil(principal * i / (1 - (1 + i) ** -months))


class _Clock:
    """RFC 3339 local timestamps in the tenant's zone for the onboarding day and each day.

    Offsets are looked up per hour, so a day with a daylight-saving change gets the right
    one on each side of it; a local hour that does not exist (the spring-forward hour) is
    moved on by the change.
    """

    def __init__(self, zone: str, start: dt.date, days: int) -> None:
        tz = ZoneInfo(zone)
        self.dates: list[str] = []
        # Per day, per local hour: ("2025-01-01T09:", "+11:00").
        self._hours: list[list[tuple[str, str]]] = []
        for k in range(-1, days):
            day = start + dt.timedelta(days=k)
            self.dates.append(day.isoformat())
            hours = []
            for hour in range(24):
                local = dt.datetime(day.year, day.month, day.day, hour, 30, tzinfo=tz)
                real = local.astimezone(dt.UTC).astimezone(tz)
                offset = real.utcoffset()
                assert offset is not None
                minutes = int(offset.total_seconds()) // 60
                sign = "+" if minutes >= 0 else "-"
                text = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
                hours.append((f"{real.date().isoformat()}T{real.hour:02d}:", text))
            self._hours.append(hours)

    def date(self, day: int) -> str:
        """The ISO date of `day` (-1 is the onboarding day, the day before the start)."""
        return self.dates[day + 1]

    def at(self, day: int, second: int) -> str:
        """The timestamp of `second` (0..86399) into `day`, as RFC 3339 with its offset."""
        hour, rest = divmod(second, 3600)
        head, offset = self._hours[day + 1][hour]
        return head + _MINUTE_SECOND[rest] + offset


_MINUTE_SECOND = [f"{m:02d}:{s:02d}" for m in range(60) for s in range(60)]


class _FakerPools:
    """Names, streets and suburbs from a seeded Faker("en_AU"), drawn once.

    A Faker call costs about 100 us, most of it in weighted sampling; drawing members
    from fixed pools made with it costs a microsecond and keeps the pools, and so every
    member, independent of the number of members.
    """

    def __init__(self, seed: int) -> None:
        fake = Faker("en_AU")
        fake.seed_instance(seed)
        self.first_names = [fake.first_name() for _ in range(faker_pool_names)]
        self.last_names = [fake.last_name() for _ in range(faker_pool_names)]
        self.streets = [fake.street_name() for _ in range(faker_pool_streets)]
        self.suburbs = [fake.city() for _ in range(faker_pool_suburbs)]

    def draw(self, rng: random.Random) -> tuple[str, str, str, str]:
        """(first name, last name, address line 1, suburb) for one member."""
        rand = rng.random
        first = self.first_names[int(rand() * len(self.first_names))]
        last = self.last_names[int(rand() * len(self.last_names))]
        street = self.streets[int(rand() * len(self.streets))]
        number = _between(rand, 1, 300)
        if rand() < 0.15:
            line1 = f"{_between(rand, 1, 40)}/{number} {street}"  # a unit
        else:
            line1 = f"{number} {street}"
        return first, last, line1, self.suburbs[int(rand() * len(self.suburbs))]


# ---------------------------------------------------------------------------
# The planner.


def plan_scenario(
    tenant: TenantConfig,
    scenario: ScenarioConfig,
    *,
    seed: int = 42,
    customers: int | None = None,
    days: int | None = None,
) -> ScenarioPlan:
    """Plan every command of `scenario` against `tenant`, deterministically from `seed`.

    `customers` and `days` override the scenario's count and length. Raises ConfigError
    when the scenario does not fit the tenant, ValueError for counts out of range.
    Returns the ScenarioPlan.
    """
    check_scenario_against_tenant(scenario, tenant)
    unknown = sorted(set(GL_ROLES) - set(gl_accounts()))
    assert not unknown, f"GL accounts the contract's chart does not open: {unknown}"
    n_customers = scenario.customers.count if customers is None else customers
    n_days = scenario.timeline.days if days is None else days
    if not 1 <= n_customers <= customers_count_max:
        raise ValueError(f"customers: expected 1..{customers_count_max}, got {n_customers}")
    if not 1 <= n_days <= scenario_days_max:
        raise ValueError(f"days: expected 1..{scenario_days_max}, got {n_days}")
    planner = _Planner(tenant, scenario, seed, n_customers, n_days)
    # A plan is up to millions of small acyclic objects. The cyclic collector would scan
    # them again and again as they pile up (twice the run time at 2,000 members), and
    # they hold no cycles to collect, so it pauses while planning.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return planner.plan()
    finally:
        if collecting:
            gc.enable()


class _Planner:
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

    def _command(
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

    def _entry(
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
            self._simulate_member(member, simulate)
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

    def _bootstrap(self) -> list[PlannedCommand]:
        at = 8 * 3600
        commands = [
            self._command(
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
                self._command(
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
            self._command(
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
                self._command(
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
                drawdown = self._entry(
                    -1,
                    [(loan, "CREDIT", principal), (GL_LOAN_FUNDING, "DEBIT", principal)],
                    f"{_NARRATIVE['loan_drawdown']} {product.code}",
                    _TAGS["loan_drawdown"],
                )
                commands.append(
                    self._command(
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

    def _simulate_member(self, m: Member, out: list[list[PlannedCommand]]) -> None:
        """Plan one member's days into `out`, moving their local ledger as it goes.

        Everything a day needs is drawn on that day (or, for the "per month" counts, on
        the first day of the 30-day block), so a shorter run is a prefix of a longer one.
        """
        tx = self.scenario.transactions
        rng = random.Random(f"{self.seed}:{m.local_id}")
        rand = rng.random
        bad = random.Random(f"{self.seed}:invalid:{m.local_id}") if self.invalid_q else None
        lid = m.local_id
        card = m.accounts.get("CC")
        cycle = tx.salary_pay_cycle_days
        save_every = tx.savings_transfer_frequency_days
        on_time = tx.loan_repayment_on_time_probability
        late_lo, late_hi = tx.loan_repayment_late_days_range
        repay_dom = tx.loan_repayment_day_of_month
        monthly = [
            ("bpay", m.pays_bills, tx.bill_payments_per_month, (9, 17)),
            ("npp", m.uses_npp, tx.npp_payments_per_month, (8, 22)),
            ("atm", m.uses_atm, tx.atm_withdrawals_per_month, None),
            ("credit_card_purchase", card is not None, tx.credit_card_transactions_per_month, None),
        ]
        hour_pick, hour_spans = self.hour_choice.pick, self.hour_spans
        spend_trials, spend_p, n_days = self.spend_trials, self.spend_p, self.days
        clock, prefix, skipped = self.clock, self.key_prefix, self.skipped
        pending: dict[int, list[tuple[int, int, str, Any]]] = {}
        order = 0

        def when(hours: tuple[int, int] | None) -> int:
            if hours is None:
                lo, hi = hour_spans[hour_pick(rng)]
            else:
                lo, hi = hours[0] * 3600, hours[1] * 3600
            return lo + int(rand() * (hi - lo))

        for day in range(n_days):
            if day % days_per_block == 0:
                for kind, active, (lo_n, hi_n), hours in monthly:
                    if not active:
                        continue
                    for _ in range(_between(rand, lo_n, hi_n)):
                        target = day + int(rand() * days_per_block)
                        second = when(hours)
                        if target < n_days:
                            order += 1
                            pending.setdefault(target, []).append((second, order, kind, None))
            events = pending.pop(day, [])
            if m.pay_offset is not None and day >= m.pay_offset:
                since = day - m.pay_offset
                if since % cycle == 0:
                    order += 1
                    second = pay_hour_first * 3600 + int(rand() * 3600)
                    events.append((second, order, "salary", None))
                if m.savings_fraction and since % save_every == 0:
                    order += 1
                    second = (pay_hour_first + 1) * 3600 + int(rand() * 1800)
                    events.append((second, order, "savings_transfer", None))
            p = spend_p[day]
            for _ in range(spend_trials):
                if rand() < p:
                    order += 1
                    events.append((when(None), order, "card_spend", None))
            if self.day_of_month[day] == repay_dom:
                for slot in m.repayments:
                    order += 1
                    event = (9 * 3600 + int(rand() * 3600), order, "loan_repayment", slot)
                    if rand() < on_time:
                        events.append(event)
                    else:
                        target = day + _between(rand, late_lo, late_hi)
                        if target < n_days:
                            pending.setdefault(target, []).append(event)
            if (
                card is not None
                and self.day_of_month[day] == m.card_due_day
                and rand() < tx.credit_card_payment_probability
            ):
                order += 1
                mode = self.card_payment_choice.pick(rng)
                events.append((10 * 3600 + int(rand() * 3600), order, "card_repayment", mode))
            events.sort()
            todays = out[day]
            date = clock.dates[day + 1]
            seq = bad_seq = 0
            for second, _, kind, arg in events:
                posting = self._event(rand, m, kind, arg)
                if posting is None:
                    skipped[kind] += 1
                    continue
                credit, debit, amount, narrative, tags = posting
                seq += 1
                at = clock.at(day, second)
                key = f"{prefix}{kind}:{lid}:{date}:{seq}"
                value = amount / 100
                payload = {
                    "bookingDate": date,
                    "valueDate": date,
                    "currency": self.currency,
                    "legs": [
                        {"accountId": credit, "direction": "CREDIT", "amount": value},
                        {"accountId": debit, "direction": "DEBIT", "amount": value},
                    ],
                    "narrative": narrative,
                    "tags": tags,
                }
                todays.append(
                    PlannedCommand(
                        "simulate",
                        day,
                        lid,
                        "PostEntry",
                        key,
                        command_id_for(key),
                        at,
                        payload,
                        None,
                        None,
                        kind,
                    )
                )
                if bad is not None and bad.random() < self.invalid_q:
                    # A count of its own keeps the valid commands' keys what they are
                    # without invalid ones.
                    bad_seq += 1
                    todays.append(self._invalid(bad, m, day, bad_seq, at))

    def _event(
        self, rand: Callable[[], float], m: Member, kind: str, arg: Any
    ) -> tuple[Any, Any, int, str, dict[str, str]] | None:
        """Draw one event's amount, check the bounds and move the ledger.

        Returns (CREDIT account, DEBIT account, minor units, narrative, tags), each account
        a GL code or a {"$ref": ...}; None when the event is skipped to keep within bounds.
        Payments are skipped when the funds are short; transfers and repayments shrink.
        """
        txn = m.accounts["TXN"]
        if kind == "card_spend":
            size = self.spend_choice.pick_with(rand)
            amount = _between(rand, *self.spend_ranges[size])
            if amount > txn.room_to_credit():
                return None
            txn.credit(amount)
            narrative = f"Card purchase - {_SPEND_NARRATIVE.get(size, size)}"
            return {"$ref": txn.ref}, GL_CARD_CLEARING, amount, narrative, self.spend_tags[size]
        if kind == "salary":
            variation = self.scenario.transactions.salary_variation
            amount = round(m.salary_minor * (1 + variation * (2 * rand() - 1)))
            room = txn.room_to_debit()
            amount = amount if room is None else min(amount, room)
            if amount <= 0:
                return None
            txn.debit(amount)
            m.last_salary_minor = amount
            return GL_SALARY_CLEARING, {"$ref": txn.ref}, amount, _NARRATIVE[kind], _TAGS[kind]
        if kind == "savings_transfer":
            sav = m.accounts["SAV"]
            amount = round(m.last_salary_minor * m.savings_fraction)
            room = sav.room_to_debit()
            amount = min(amount, txn.room_to_credit(), amount if room is None else room)
            if amount <= 0:
                return None
            txn.credit(amount)
            sav.debit(amount)
            return {"$ref": txn.ref}, {"$ref": sav.ref}, amount, _NARRATIVE[kind], _TAGS[kind]
        if kind == "bpay":
            categories = self.bill_categories
            category = categories[int(rand() * len(categories))]
            amount = _between(rand, *self.bill_ranges[category])
            if amount > txn.room_to_credit():
                return None
            txn.credit(amount)
            narrative = f"BPAY {category}"
            return {"$ref": txn.ref}, GL_BPAY_CLEARING, amount, narrative, self.bill_tags[category]
        if kind == "npp":
            amount = _between(rand, *self.npp_range)
            if amount > txn.room_to_credit():
                return None
            txn.credit(amount)
            return {"$ref": txn.ref}, GL_NPP_CLEARING, amount, _NARRATIVE[kind], _TAGS[kind]
        if kind == "atm":
            lo, hi = self.atm_range
            # Notes come in tens of dollars; a range without one falls back to cents.
            tens_lo, tens_hi = -(-lo // 1000), hi // 1000
            if tens_lo <= tens_hi:
                amount = _between(rand, tens_lo, tens_hi) * 1000
            else:
                amount = _between(rand, lo, hi)
            if amount > txn.room_to_credit():
                return None
            txn.credit(amount)
            return {"$ref": txn.ref}, GL_ATM_CLEARING, amount, _NARRATIVE[kind], _TAGS[kind]
        if kind == "credit_card_purchase":
            card = m.accounts["CC"]
            amount = _between(rand, *self.cc_range)
            if amount > card.room_to_credit():
                return None
            card.credit(amount)
            narrative = "Credit card purchase"
            return {"$ref": card.ref}, GL_CARD_CLEARING, amount, narrative, _TAGS[kind]
        if kind == "loan_repayment":
            loan = m.accounts[arg]
            owed = loan.room_to_debit()
            assert owed is not None
            amount = min(m.repayments[arg], owed, txn.room_to_credit())
            if amount <= 0:
                return None
            txn.credit(amount)
            loan.debit(amount)
            narrative = f"Loan repayment {loan.product_code}"
            return {"$ref": txn.ref}, {"$ref": loan.ref}, amount, narrative, _TAGS[kind]
        if kind == "card_repayment":
            card = m.accounts["CC"]
            owed = -card.balance
            tx = self.scenario.transactions
            if arg == "full_balance":
                amount = owed
            elif arg == "minimum":
                amount = max(
                    round(owed * tx.credit_card_minimum_payment_rate), self.min_payment_floor
                )
            else:
                lo_f, hi_f = tx.credit_card_partial_payment_range
                amount = round(owed * (lo_f + (hi_f - lo_f) * rand()))
            amount = min(amount, owed, txn.room_to_credit())
            if amount <= 0:
                return None
            txn.credit(amount)
            card.debit(amount)
            tags = _CARD_PAYMENT_TAGS.get(arg) or {
                "category": "CARD_REPAYMENT",
                "channel": "INTERNAL",
                "paymentType": _tag_value(str(arg)),
            }
            return {"$ref": txn.ref}, {"$ref": card.ref}, amount, _NARRATIVE[kind], tags
        raise AssertionError(f"unknown event kind {kind!r}")

    def _invalid(
        self, rng: random.Random, m: Member, day: int, seq: int, at: str
    ) -> PlannedCommand:
        """A PostEntry the service must refuse with the drawn invariant; the ledger stays."""
        assert self.invalid_choice is not None
        invariant = self.invalid_choice.pick(rng)
        txn, sav = m.accounts["TXN"], m.accounts["SAV"]
        small = rng.randint(100, 5000)
        value_day: int | None = None
        legs: list[tuple[Any, str, int]]
        sav_room = sav.room_to_debit()
        if invariant == "MAX_BALANCE_EXCEEDED" and sav_room is not None:
            amount = sav_room + small
            legs = [(GL_NPP_CLEARING, "CREDIT", amount), (sav, "DEBIT", amount)]
        elif invariant == "LEGS_MUST_BALANCE":
            legs = [
                (txn, "CREDIT", small),
                (GL_CARD_CLEARING, "DEBIT", small + rng.randint(1, 100)),
            ]
        elif invariant == "VALUE_DATE_BEFORE_BOOKING_DATE":
            legs = [(GL_NPP_CLEARING, "CREDIT", small), (txn, "DEBIT", small)]
            value_day = day - 1
        elif invariant == "ACCOUNT_MUST_EXIST":
            legs = [(GL_UNKNOWN, "CREDIT", small), (txn, "DEBIT", small)]
        else:
            # OVERDRAFT_LIMIT_EXCEEDED, also standing in for MAX_BALANCE_EXCEEDED when the
            # savings product has no maximum.
            invariant = "OVERDRAFT_LIMIT_EXCEEDED"
            amount = txn.room_to_credit() + small
            legs = [(txn, "CREDIT", amount), (GL_CARD_CLEARING, "DEBIT", amount)]
        assert all(0 < amount <= entry_amount_minor_max for _, _, amount in legs)
        tags = {"category": "INVALID_ENTRY", "expectedInvariant": invariant}
        payload = self._entry(day, legs, f"Deliberately invalid: {invariant}", tags, value_day)
        return self._command(
            "simulate",
            day,
            m.local_id,
            "PostEntry",
            f"invalid:{m.local_id}:{self.clock.date(day)}:{seq}",
            at,
            payload,
            "invalid_entry",
            expect=invariant,
        )
