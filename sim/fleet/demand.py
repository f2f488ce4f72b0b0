"""The demand profile: how busy each simulated day and hour is (NUMBERS.md, demand).

Weekday and hour weights, the last days of each month and marketing campaigns shape
when tenants ask for changes (:mod:`sim.fleet.population`) and when the purchases that
start credit checks happen in their lives (:mod:`sim.fleet.life`); the plans a change
may target, by direction (upgrade, lateral, downgrade), are listed here too.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import numpy as np

from ..rules.catalog import Catalog, Plan
from .scenario import Scenario

__all__ = ["LATERAL_BAND", "arrival_cdf", "day_weights", "targets_by_direction"]

LATERAL_BAND = Decimal("0.15")  # a target within +-15% of the current price is a lateral move


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


def targets_by_direction(catalog: Catalog, plan_ids: tuple[str, ...]
                          ) -> dict[tuple[int, int], np.ndarray]:
    """For each (plan, direction): candidate target plan indices, by annual price.

    Commercial plans move to commercial plans; government and nonprofit tenants look
    within their sector and at commercial plans (their move is manual, R-ELIG-06).
    """
    price = {pid: catalog.plans[pid].prices["P1Y"] for pid in plan_ids}
    table = {}
    for i, pid in enumerate(plan_ids):
        plan: Plan = catalog.plans[pid]
        pool = [j for j, other in enumerate(plan_ids) if other != pid and (
            catalog.plans[other].sector in (plan.sector, "commercial"))]
        low, high = price[pid] * (1 - LATERAL_BAND), price[pid] * (1 + LATERAL_BAND)
        groups = {
            0: [j for j in pool if price[plan_ids[j]] > high],
            1: [j for j in pool if low <= price[plan_ids[j]] <= high],
            2: [j for j in pool if price[plan_ids[j]] < low],
        }
        for direction, members in groups.items():
            table[i, direction] = np.array(members or pool, dtype=np.int16)
    return table
