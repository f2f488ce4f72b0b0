"""The invariant monitor: an observer that recomputes INV-01..07 as a fleet run goes.

It sits outside the flows (:mod:`sim.fleet.observe`) and recomputes each invariant of
RULES.md section 7 from what it sees, never from a flag the flow sets:

- INV-01: users and unlicensed users of the tenant just before an automatic change is
  applied and right after it: no user lost, no more users without a license.
- INV-02: the change row's data facts: nothing lost off the manual path; on it, never
  more than the data at risk and nothing at all when a backup was made.
- INV-03: from the lines' spans, the number of times each day is billed across an
  automatic change: the old subscription's paid cycle (its term, for a change at
  renewal), minus its credits, plus the new billing from its first charged day on
  (later cycles are billed at their own renewals), is exactly one on every day.
- INV-04: each credit against what was paid for the credited span, recomputed exactly
  from the plan price, the quantity and the charge cycle (integers, no prorate call).
- INV-05: the monitor's own running sums of each request's ledger lines against the
  change row's credit, charge and net.
- INV-06: assigned <= purchased on every subscription after every step (automatic,
  remediation and consolidation, manual), unless it was already over-assigned when
  the request began and has not got worse.
- INV-07: every change credit invoiced at most 30 days after the change
  (:func:`sim.rules.invoicing.late_credit`).

Each violation goes to ``report(request_id, rule, detail)``: the violations table, the
manifest count and ``--strict``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import lru_cache
from typing import Any

from ..rules.billing import BillingOutcome, Line
from ..rules.calendar import BILLING_FREQUENCY_MONTHS, ChargeCycle, charge_cycle, term_end
from ..rules.catalog import Catalog, Plan
from ..rules.domain import Subscription, Tenant
from ..rules.invoicing import BillingTerms, late_credit
from ..rules.money import RoundingPolicy, minor_unit

__all__ = ["InvariantMonitor", "billed_once"]

_cycle = lru_cache(maxsize=65_536)(charge_cycle)
_term_end = lru_cache(maxsize=16_384)(term_end)


def billed_once(spans: list[tuple[int, int, int]], first: int, last: int) -> bool:
    """INV-03: do the weighted day spans (start, end inclusive, +1/-1, as ordinals) add
    up to exactly one on every day from `first` to `last`?"""
    deltas: dict[int, int] = {}
    for start, end, weight in spans:
        deltas[start] = deltas.get(start, 0) + weight
        deltas[end + 1] = deltas.get(end + 1, 0) - weight
    level = 0
    for point in sorted(deltas):
        level += deltas[point]
        if first <= point <= last and level != 1:
            return False
    return True


def _licensing(tenant: Tenant) -> tuple[int, int]:
    """(users, users without a license) over all the tenant's subscriptions."""
    users = unlicensed = 0
    for subscription in tenant.subscriptions:
        users += subscription.assigned
        if subscription.assigned > subscription.licenses:
            unlicensed += subscription.assigned - subscription.licenses
    return users, unlicensed


class InvariantMonitor:
    """Recomputes INV-01..07 from the observer hooks; see the module docstring."""

    def __init__(self, report: Callable[[str, str, str], None], catalog: Catalog,
                 digits: int, policy: RoundingPolicy, terms: BillingTerms) -> None:
        self.report = report
        self.catalog = catalog
        self.per_unit = policy.per_unit
        self.terms = terms
        self._excess: dict[str, dict[str, int]] = {}  # over-assignment when first seen
        self._before: dict[str, tuple[int, int]] = {}  # INV-01 snapshot
        self._sums: dict[str, list[int]] = {}  # INV-05: [credits, charges] per request

    # ------------------------------------------------------------------ hooks

    def on_attempt(self, request_id: str, day: date, tenant: Tenant,
                   subscription: Subscription, current_plan: Plan, target_plan: Plan,
                   blockers: tuple) -> None:
        self._first_sight(request_id, tenant)

    def on_change_billed(self, request_id: str, day: date, tenant: Tenant,
                         subscription: Subscription, current_plan: Plan, target_plan: Plan,
                         licenses: int, term: str, billing_frequency: str, schedule: str,
                         outcome: BillingOutcome) -> None:
        if request_id not in self._excess:
            self._first_sight(request_id, tenant)
        self._before[request_id] = _licensing(tenant)
        months = BILLING_FREQUENCY_MONTHS[subscription.billing_frequency]
        if outcome.alignment == "scheduled":
            self._billed_once(request_id, subscription, outcome, None)
        else:
            cycle = _cycle(subscription.anchor, months, outcome.effective)
            self._billed_once(request_id, subscription, outcome, cycle)
            self._credits(request_id, subscription, current_plan, outcome, cycle)

    def on_cancel_billed(self, request_id: str, day: date, tenant: Tenant,
                         subscription: Subscription, plan: Plan, outcome: BillingOutcome
                         ) -> None:
        self._credits(request_id, subscription, plan, outcome)

    def on_reduce_billed(self, request_id: str, day: date, tenant: Tenant,
                         subscription: Subscription, plan: Plan, licenses: int,
                         outcome: BillingOutcome) -> None:
        self._credits(request_id, subscription, plan, outcome)

    def on_line(self, request_id: str, tenant: Tenant, line: Line, invoiced: date,
                cash: date, changed_on: date) -> None:
        sums = self._sums.get(request_id)
        if sums is None:
            sums = self._sums[request_id] = [0, 0]
        sums[line.amount >= 0] += line.amount
        if line.amount < 0 and late_credit(line, invoiced, changed_on, self.terms):
            self.report(request_id, "INV-07",
                        f"credit on {line.subscription_id} invoiced {invoiced}, "
                        f"{(invoiced - changed_on).days} days after the change on "
                        f"{changed_on}")

    def on_step(self, request_id: str, tenant: Tenant, step: str) -> None:
        excess = self._first_sight(request_id, tenant)
        if step == "automatic":
            before = self._before.pop(request_id, None)
            if before is not None:
                users, unlicensed = _licensing(tenant)
                if users != before[0] or unlicensed > before[1]:
                    self.report(request_id, "INV-01",
                                f"users {before[0]} -> {users}, without a license "
                                f"{before[1]} -> {unlicensed}")
        for subscription in tenant.subscriptions:
            over = subscription.assigned - subscription.licenses
            if over > 0 and over > excess.get(subscription.subscription_id, 0):
                self.report(request_id, "INV-06",
                            f"after {step}: {subscription.subscription_id} assigned "
                            f"{subscription.assigned} > {subscription.licenses} licenses")

    def on_request_end(self, row: Any) -> None:
        request_id = row.request_id
        self._excess.pop(request_id, None)
        self._before.pop(request_id, None)
        credits, charges = self._sums.pop(request_id, (0, 0))
        if (row.credit_minor, row.charge_minor, row.net_minor) != (credits, charges,
                                                                   credits + charges):
            self.report(request_id, "INV-05",
                        f"lines sum to credit {credits}, charge {charges}, net "
                        f"{credits + charges}; the change row says {row.credit_minor}, "
                        f"{row.charge_minor}, {row.net_minor}")
        self._data(row)

    # ----------------------------------------------------------- recomputations

    def _first_sight(self, request_id: str, tenant: Tenant) -> dict[str, int]:
        excess = self._excess.get(request_id)
        if excess is None:
            excess = self._excess[request_id] = {
                s.subscription_id: s.assigned - s.licenses for s in tenant.subscriptions
                if s.assigned > s.licenses}
        return excess

    def _billed_once(self, request_id: str, subscription: Subscription,
                     outcome: BillingOutcome, cycle: ChargeCycle | None) -> None:
        """INV-03 from spans: paid cycle (or term) - old credits + charges == 1 per day.

        `cycle` is the old subscription's charge cycle containing the change day; None
        for a change at renewal, which is billed through its term."""
        old_id = subscription.subscription_id
        if cycle is None:
            first = last = _term_end(subscription.anchor, subscription.term).toordinal()
        else:
            first, last = cycle.start.toordinal(), cycle.end.toordinal()
        spans = [(first, last, 1)]
        for line in outcome.lines:
            end = line.end.toordinal()
            if end > last:
                last = end
        for line in outcome.lines:
            if line.type == "charge":  # the new billing runs on, cycle after cycle
                spans.append((line.start.toordinal(), last, 1))
            elif line.subscription_id == old_id:
                spans.append((line.start.toordinal(), line.end.toordinal(), -1))
        if not billed_once(spans, first, last):
            self.report(request_id, "INV-03",
                        f"{old_id}: the days around the change on {outcome.effective} are "
                        "not billed exactly once (gap or overlap)")

    def _credits(self, request_id: str, subscription: Subscription, plan: Plan,
                 outcome: BillingOutcome, cycle: ChargeCycle | None = None) -> None:
        """INV-04: a credit never exceeds what was paid for the credited span (`cycle`:
        the charge cycle of the change day, if known)."""
        months = BILLING_FREQUENCY_MONTHS[subscription.billing_frequency]
        # The plan as billed: priced in the tenant's currency, rounded to its minor unit.
        price = plan.price(subscription.term, plan.currency)
        scale = 10 ** minor_unit(plan.currency)
        for line in outcome.lines:
            if line.amount >= 0 or line.subscription_id != subscription.subscription_id:
                continue
            if cycle is None or not cycle.start <= line.start <= cycle.end:
                cycle = _cycle(subscription.anchor, months, line.start)
            span = (min(line.end, cycle.end) - max(line.start, cycle.start)).days + 1
            quantity = min(line.quantity, subscription.licenses)
            # paid for the span = u * m * q * span / cycle_days, exactly (a fraction)
            paid = price.numerator * months * quantity * max(span, 0) * scale
            denominator = price.denominator * cycle.cycle_days
            slack = quantity if self.per_unit else 1  # at most this much rounding up
            if -line.amount * denominator > paid + slack * denominator:
                self.report(request_id, "INV-04",
                            f"credit {-line.amount} on {line.subscription_id} exceeds the "
                            f"{paid / denominator:.2f} paid for {span} of "
                            f"{cycle.cycle_days} days")

    def _data(self, row: Any) -> None:
        """INV-02: data is lost only by a manual change made without a backup."""
        lost, at_risk = row.data_lost_gb, row.data_at_risk_gb
        if lost <= 0:
            return
        if row.path != "manual":
            self.report(row.request_id, "INV-02", f"{row.path} change lost {lost} GB")
        elif row.backup_made:
            self.report(row.request_id, "INV-02", f"{lost} GB lost although backed up")
        elif lost > at_risk:
            self.report(row.request_id, "INV-02",
                        f"{lost} GB lost, more than the {at_risk} GB at risk")
