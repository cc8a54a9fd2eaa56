"""The generator's random draws: weighted choices, birth dates, amounts, the simulated
clock, and the pools of Faker names and places."""

from __future__ import annotations

import bisect
import datetime as dt
import math
import random
import re
import unicodedata
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from faker import Faker

from turingcore_client.money import minor_units
from twin.generators.vocabulary import (
    faker_pool_names,
    faker_pool_streets,
    faker_pool_suburbs,
)

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
