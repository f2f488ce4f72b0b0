"""Credit checks started by events in a tenant's life (R-ELIG-03, P-CAL-06; issue 8).

A tenant buys, adds seats and changes how it pays over the year, whether or not it asks
for a plan change; some of these events start a credit check that stays pending for 1 to
``credit_checks.max_business_days`` business days of the tenant's country. So whether a
check is pending at an attempt depends on the calendar (weekends, holidays, the demand
profile's busy days), not on when the request arrived.

Life events are a Poisson process whose daily rate follows the demand profile (weekday,
month end, campaigns), thinned from its busiest day. Its mean is set so that the share
of time a tenant has a check pending is ``population.blockers.credit_check_pending``:
with checks started at rate r and lasting d days on average, that share is
``1 - exp(-r * d)``. Each tenant's events come from its own ``life`` stream and are
drawn lazily, from a look-back window before its first request (long enough to hold any
check still pending then) forward as its attempts need them. Purchases and seat
additions the simulation itself makes (manual path, consolidation) start checks too,
with probability ``credit_checks.after_purchase``, from the tenant's ``credit_checks``
stream.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import numpy as np

from ..rules.calendar import add_business_days
from .clock import MINUTES_PER_DAY, Clock
from .scenario import Scenario
from .streams import TenantStream

__all__ = ["CreditCheckLife", "LifeRates"]

MAX_PENDING_SHARE = 0.95
CALENDAR_PER_BUSINESS_DAY = 7.0 / 5.0
LONGEST_HOLIDAYS = 7  # calendar days (weekends and holidays in a row, e.g. Dec 24-Jan 1)


class LifeRates:
    """Per-run constants of the life process: the thinning rate and each day's weight."""

    __slots__ = ("after_purchase", "clock", "lookback", "max_days", "peak_rate", "weights")

    def __init__(self, scenario: Scenario, clock: Clock, day_weights: np.ndarray) -> None:
        checks = scenario.credit_checks
        self.clock = clock
        self.after_purchase = checks.after_purchase
        self.max_days = checks.max_business_days
        share = min(scenario.population.blockers.credit_check_pending, MAX_PENDING_SHARE)
        mean_days = (1 + checks.max_business_days) / 2 * CALENDAR_PER_BUSINESS_DAY
        weights = day_weights / day_weights.mean() if day_weights.sum() > 0 \
            else np.ones_like(day_weights)
        peak = float(weights.max()) if len(weights) else 1.0
        self.weights = (weights / peak).tolist()  # thinning: the busiest day accepts all
        if share <= 0 or checks.after_purchase <= 0:
            self.peak_rate = 0.0
        else:  # life events per minute on the busiest day
            checks_per_day = -math.log(1.0 - share) / mean_days
            self.peak_rate = checks_per_day / checks.after_purchase * peak / MINUTES_PER_DAY
        # Any check pending at a request started at most this long before it: N business
        # days span at most N weeks' worth of calendar days plus the longest holiday run.
        self.lookback = (self.max_days * CALENDAR_PER_BUSINESS_DAY + LONGEST_HOLIDAYS
                         ) * MINUTES_PER_DAY

    def weight(self, minute: float) -> float:
        """The day's demand weight relative to the busiest day (outside: the nearest)."""
        weights = self.weights
        return weights[min(max(int(minute // MINUTES_PER_DAY), 0), len(weights) - 1)]


class CreditCheckLife:
    """The credit checks of one tenant: windows [start, end) of simulation minutes."""

    __slots__ = ("country", "cursor", "rates", "streams", "windows")

    def __init__(self, rates: LifeRates, streams: Any, country: str, first_minute: float
                 ) -> None:
        self.rates = rates
        self.streams = streams  # the tenant's: ``life`` for its own events, and
        # ``credit_checks`` for checks started by the simulation's purchases
        self.country = country
        self.cursor = first_minute - rates.lookback
        self.windows: list[tuple[float, float]] = []

    def pending(self, now: float) -> bool:
        """R-ELIG-03: is a credit check of this tenant pending at minute `now`?"""
        rates = self.rates
        cursor = self.cursor
        if rates.peak_rate > 0 and cursor <= now:
            stream = self.streams.life
            rate, accept, weights = rates.peak_rate, rates.after_purchase, rates.weights
            last = len(weights) - 1
            while cursor <= now:  # thinning: the day's weight (rates.weight), inlined
                cursor += stream.expovariate(rate)
                day = min(max(int(cursor // MINUTES_PER_DAY), 0), last)
                if stream.random() < weights[day] * accept:
                    self._start(cursor, stream)
            self.cursor = cursor
        windows = self.windows
        if windows:
            windows[:] = [window for window in windows if window[1] > now]
            return any(start <= now for start, _ in windows)
        return False

    def purchase(self, now: float) -> None:
        """A purchase or seat addition made in the simulation (R-MAN-01, R-ELIG-05)."""
        extra = self.streams.credit_checks
        if extra.random() < self.rates.after_purchase:
            self._start(now, extra)

    def _start(self, minute: float, stream: TenantStream) -> None:
        """A check starting at `minute`, pending for 1..N business days (P-CAL-06)."""
        rates = self.rates
        clock = rates.clock
        days = stream.randint(1, rates.max_days)
        start_day: date = clock.date(minute)
        done = add_business_days(start_day, days, self.country)
        end = clock.minutes(done) + minute % MINUTES_PER_DAY
        self.windows.append((minute, end))
