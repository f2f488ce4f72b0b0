"""Calendar of charge cycles, terms and business days (PRORATION.md section 2).

Every piece of month arithmetic in the project lives here. Dates are UTC calendar
dates (P-CAL-01): callers convert simulation time to a date once, through
:mod:`sim.fleet.clock`, and hand plain :class:`datetime.date` objects to this module.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from typing import NamedTuple

__all__ = [
    "BILLING_FREQUENCY_MONTHS",
    "TERM_MONTHS",
    "ChargeCycle",
    "add_business_days",
    "add_months",
    "charge_cycle",
    "cycles",
    "days_inclusive",
    "is_business_day",
    "supported_countries",
    "term_end",
]

ONE_DAY = timedelta(days=1)

# P-CAL-05: the three terms and how many months each covers.
TERM_MONTHS: dict[str, int] = {"P1M": 1, "P1Y": 12, "P3Y": 36}
# P-CAL-02: m, the months of one charge cycle, per billing frequency.
BILLING_FREQUENCY_MONTHS: dict[str, int] = {"monthly": 1, "annual": 12, "triennial": 36}

_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _days_in_month(year: int, month: int) -> int:
    if month == 2 and (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)):
        return 29
    return _MONTH_DAYS[month - 1]


@lru_cache(maxsize=1 << 15)
def add_months(anchor: date, months: int) -> date:
    """P-CAL-02: the date `months` after `anchor`, clamped to the month's last day.

    Always count from the anchor itself, never from a previous result: an anchor of
    Jan 31 gives Feb 28/29, Mar 31, Apr 30, ... and never drifts to the 28th.

    Cached (a pure function of two hashable values): a charge cycle needs two or three
    of these, and anchors repeat across the cases of a file and the days of a fleet.
    """
    index = anchor.month - 1 + months
    year = anchor.year + index // 12
    month = index % 12 + 1
    day = min(anchor.day, _days_in_month(year, month))
    return date(year, month, day)


def days_inclusive(start: date, end: date) -> int:
    """Days from `start` to `end`, both counted (P-CAL-03/04)."""
    return (end - start).days + 1


_new_tuple = tuple.__new__  # builds a NamedTuple without its Python-level __new__


class ChargeCycle(NamedTuple):
    """One charge cycle k of a subscription: `start`..`end`, both inclusive (P-CAL-02)."""

    index: int
    start: date
    end: date

    @property
    def cycle_days(self) -> int:
        """P-CAL-03: days in the cycle, both ends counted."""
        return (self.end - self.start).days + 1

    def billing_days(self, on: date) -> int:
        """P-CAL-04: days from `on` to the cycle's last day, both ends counted.

        The event day belongs to the new state (R-BILL-01), so it is included.
        """
        if not self.start <= on <= self.end:
            raise ValueError(f"{on} is outside cycle {self.start}..{self.end}")
        return (self.end - on).days + 1


@lru_cache(maxsize=1 << 13)
def term_end(anchor: date, term: str) -> date:
    """P-CAL-05: a term ends on the day before `add_months(anchor, 1|12|36)` (cached)."""
    return add_months(anchor, TERM_MONTHS[term]) - ONE_DAY


def charge_cycle(anchor: date, months_per_cycle: int, on: date) -> ChargeCycle:
    """P-CAL-02: the charge cycle of a subscription anchored at `anchor` containing `on`.

    `on` may lie in any later term too (cycles continue across renewals); it may not
    precede the anchor.
    """
    if on < anchor:
        raise ValueError(f"{on} precedes the anchor {anchor}")
    # First guess from whole months elapsed, then correct by at most one step either way
    # (month-end clamping can shift a boundary by a few days, never by a whole cycle).
    elapsed_months = (on.year - anchor.year) * 12 + (on.month - anchor.month)  # >= 0
    k = elapsed_months // months_per_cycle
    start = add_months(anchor, k * months_per_cycle)
    if start > on:
        next_start = start  # the guess was the next cycle (`on` precedes its day)
        k -= 1
        start = add_months(anchor, k * months_per_cycle)
    else:
        next_start = add_months(anchor, (k + 1) * months_per_cycle)
    if next_start <= on:  # never taken: the next start lies in a later month than `on`
        k += 1
        start = next_start
        next_start = add_months(anchor, (k + 1) * months_per_cycle)
    return _new_tuple(ChargeCycle, (k, start, next_start - ONE_DAY))


def cycles(anchor: date, months_per_cycle: int, until: date) -> list[ChargeCycle]:
    """All charge cycles from the anchor whose start is on or before `until`."""
    result = []
    k = 0
    start = anchor
    while start <= until:
        next_start = add_months(anchor, (k + 1) * months_per_cycle)
        result.append(ChargeCycle(k, start, next_start - ONE_DAY))
        k += 1
        start = next_start
    return result


# ---------------------------------------------------------------- business days (P-CAL-06)


@lru_cache(maxsize=512)
def _holidays(country: str, year: int) -> frozenset[date]:
    import holidays  # imported lazily: only cash-date work needs it

    return frozenset(holidays.country_holidays(country, years=year).keys())


@lru_cache(maxsize=1)
def supported_countries() -> frozenset[str]:
    """ISO 3166 alpha-2 codes the holiday library has calendars for."""
    import holidays

    return frozenset(code for code in holidays.list_supported_countries() if len(code) == 2)


def is_business_day(day: date, country: str) -> bool:
    """P-CAL-06: not a Saturday, Sunday or public holiday of `country`."""
    return day.weekday() < 5 and day not in _holidays(country, day.year)


@lru_cache(maxsize=1 << 13)
def add_business_days(start: date, business_days: int, country: str) -> date:
    """The date `business_days` business days after `start` (P-CAL-06).

    `start` itself is not counted; zero returns `start` unchanged. Cached: a pure
    function of the day, the count and the country's holidays.
    """
    day = start
    remaining = business_days
    while remaining > 0:
        day += ONE_DAY
        if is_business_day(day, country):
            remaining -= 1
    return day

