"""The demand profile: how busy each simulated day and hour is (NUMBERS.md, demand).

Weekday and hour weights, the last days of each month and marketing campaigns shape
when tenants ask for changes (:mod:`sim.fleet.population`) and when the purchases that
start credit checks happen in their lives (:mod:`sim.fleet.life`).
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from .scenario import Scenario

__all__ = ["arrival_cdf", "day_weights"]


def arrival_cdf(scenario: Scenario) -> np.ndarray:
    """Cumulative weight of every simulated hour: weekday x hour x month-end x campaigns."""
    hourly = np.outer(day_weights(scenario), np.array(scenario.demand.hour_weights)).ravel()
    if hourly.sum() <= 0:
        hourly = np.ones_like(hourly)
    cdf = np.cumsum(hourly)
    return cdf / cdf[-1]


def day_weights(scenario: Scenario) -> np.ndarray:
    """The demand weight of every simulated day: weekday x month-end x campaigns."""
    demand = scenario.demand
    start = scenario.run.start
    days = scenario.run.horizon_days
    day_weight = np.empty(days)
    for n in range(days):
        day = start + timedelta(days=n)
        weight = demand.weekday_weights[day.weekday()]
        next_month = date(day.year + day.month // 12, day.month % 12 + 1, 1)
        if (next_month - day).days <= demand.month_end_days:
            weight *= demand.month_end_factor
        for campaign in demand.campaigns:
            if 0 <= (day - campaign.start).days < campaign.days:
                weight *= campaign.factor
        day_weight[n] = weight
    return day_weight
