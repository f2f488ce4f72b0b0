"""The one clock: simulation time is minutes since the scenario's first UTC midnight.

Conversion between simulation minutes and UTC calendar dates happens here and nowhere
else (P-CAL-01: an event at any time of day belongs to that UTC date).
"""

from __future__ import annotations

from datetime import date, timedelta

__all__ = ["MINUTES_PER_DAY", "Clock"]

MINUTES_PER_DAY = 1440


class Clock:
    """Maps simulation minutes to UTC dates for one run, starting at `start` 00:00 UTC."""

    __slots__ = ("_days", "start")

    def __init__(self, start: date, horizon_days: int) -> None:
        self.start = start
        # Dates are built once per day; lookups in the simulation loop are list indexing.
        self._days = [start + timedelta(days=n) for n in range(horizon_days + 1)]

    def date(self, minutes: float) -> date:
        """The UTC date of simulation time `minutes`."""
        day = int(minutes // MINUTES_PER_DAY)
        if 0 <= day < len(self._days):
            return self._days[day]
        return self.start + timedelta(days=day)

    def minutes(self, day: date) -> float:
        """Simulation time of 00:00 UTC on `day`."""
        return float((day - self.start).days * MINUTES_PER_DAY)
