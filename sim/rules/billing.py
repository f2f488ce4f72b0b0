"""Proration and billing lines of changes, cancellations and reductions (PRORATION.md 3).

Pure functions: given a subscription, plans and a day, return the ledger lines
(amounts in integer minor units, credits negative per P-RND-04) and the overlap cost.
Which alignment applies to a change is a table (:data:`ALIGNMENTS`), not branches in
flow code. Invoice and cash dates are added by :mod:`sim.rules.invoicing`.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import NamedTuple

from .calendar import BILLING_FREQUENCY_MONTHS, TERM_MONTHS, ChargeCycle, add_months, charge_cycle
from .catalog import Plan
from .domain import Subscription
from .money import Price, RoundingPolicy, prorate

__all__ = [
    "ALIGNMENTS",
    "MCA_FULL_REFUND_DAYS",
    "MCA_WINDOW_DAYS",
    "MOSA_ONLINE_CANCEL_LIMIT",
    "BillingOutcome",
    "Line",
    "add_seats_outcome",
    "alignment_for",
    "cancel_outcome",
    "change_outcome",
    "full_charge",
    "overlap_cost",
    "purchase_outcome",
    "reduce_outcome",
]

ONE_DAY = timedelta(days=1)

# NUMBERS.md defaults; scenarios pass their own values where they differ.
MCA_WINDOW_DAYS = 7  # R-MAN-07 / P-CHG-05: 168 h after start or renewal -> days 0..6
MCA_FULL_REFUND_DAYS = 1  # P-CHG-05: 24 h full refund -> day 0
MOSA_ONLINE_CANCEL_LIMIT = 25  # P-CHG-06


_new_tuple = tuple.__new__  # builds a NamedTuple without its Python-level __new__


class Line(NamedTuple):
    """One ledger line: a credit (negative) or charge over an inclusive span."""

    type: str  # "credit" | "charge"
    subscription_id: str
    plan: str
    start: date
    end: date
    billing_days: int
    cycle_days: int
    quantity: int
    amount: int  # minor units; credits are negative (P-RND-04)
    rule: str  # the P-CHG rule that produced the line
    unit_price: Price | None = None  # u, per license per month (for re-rounding, P-RND-03)
    months: int = 0  # m, months per charge cycle


class BillingOutcome(NamedTuple):
    alignment: str | None
    effective: date  # the day billing changes (R-BILL-01)
    lines: tuple[Line, ...]
    overlap_cost: int  # minor units (P-CHG-05/07)
    notes: tuple[str, ...] = ()

    @property
    def net(self) -> int:
        """P-CHG-08: the net of one change is the sum of its lines (P-RND-01)."""
        return sum(line.amount for line in self.lines)


def _line(kind: str, subscription_id: str, plan: Plan, price: Price, months: int,
          quantity: int, cycle: ChargeCycle, start: date, digits: int,
          policy: RoundingPolicy, rule: str) -> Line:
    """P-CHG-01: the prorated line for ``start..cycle.end`` of `cycle`."""
    _index, cycle_start, end = cycle
    billing_days = (end - start).days + 1
    cycle_days = (end - cycle_start).days + 1  # P-CAL-03, as ChargeCycle.cycle_days
    magnitude = prorate(price, months, quantity, billing_days, cycle_days, digits, policy)
    amount = -magnitude if kind == "credit" else magnitude  # P-RND-04
    return _new_tuple(Line, (kind, subscription_id, plan.id, start, end, billing_days,
                             cycle_days, quantity, amount, rule, price, months))


def full_charge(price: Price, months: int, quantity: int, digits: int,
                policy: RoundingPolicy) -> int:
    """The charge of one whole cycle, ``u * m * q`` (billing_days = cycle_days)."""
    return prorate(price, months, quantity, 1, 1, digits, policy)


def overlap_cost(subscription: Subscription, plan: Plan, quantity: int, on: date,
                 digits: int, policy: RoundingPolicy) -> int:
    """P-CHG-05/07: what keeps being billed for `quantity` licenses nobody uses.

    The prorated value of the rest of the current cycle from `on` (as P-CHG-01) plus
    the full charge of every later cycle up to the end of the term.
    """
    months = BILLING_FREQUENCY_MONTHS[subscription.billing_frequency]
    price = plan.price(subscription.term)
    cycle = charge_cycle(subscription.anchor, months, on)
    billing_days = (cycle.end - on).days + 1
    total = prorate(price, months, quantity, billing_days, cycle.cycle_days, digits, policy)
    later_cycles = TERM_MONTHS[subscription.term] // months - 1 - cycle.index
    if later_cycles > 0:
        total += later_cycles * full_charge(price, months, quantity, digits, policy)
    return total


# ------------------------------------------------------------------ automatic change

# Alignment of an automatic change (P-CHG-02..04), keyed by
# (billing account, schedule, keeps term and billing frequency).
ALIGNMENTS: dict[tuple[str, str, bool], str] = {
    ("MCA", "now", True): "keep-cycle",  # P-CHG-02
    ("MCA", "now", False): "new-term",  # P-CHG-03
    ("MOSA", "now", True): "new-term",  # P-CHG-03
    ("MOSA", "now", False): "new-term",  # P-CHG-03
    ("MCA", "renewal", True): "scheduled",  # P-CHG-04
    ("MCA", "renewal", False): "scheduled",  # P-CHG-04
}


def alignment_for(billing_account: str, schedule: str, keeps_term_and_frequency: bool) -> str:
    """Look the alignment up in :data:`ALIGNMENTS`; a missing row is an invalid request."""
    try:
        return ALIGNMENTS[billing_account, schedule, keeps_term_and_frequency]
    except KeyError:
        raise ValueError(
            f"no automatic change with schedule {schedule!r} for {billing_account} accounts"
        ) from None


def change_outcome(subscription: Subscription, current: Plan, target: Plan, on: date,
                   licenses: int, term: str, billing_frequency: str, schedule: str,
                   billing_account: str, digits: int, policy: RoundingPolicy,
                   new_subscription_id: str | None = None) -> BillingOutcome:
    """Lines of an allowed automatic change requested on day `on`.

    The credit line is the prorated credit for the unused part of the old
    subscription's paid cycle (R-BILL-02); billing of the old plan stops and of the new
    one starts on the effective day (R-BILL-01).

    `licenses` is the new plan's license count. Only the licenses that move leave the
    old plan: a partial MCA move (R-PATH-02) credits ``min(licenses, old)`` and the
    rest stay billed on the old subscription, so no user is left unlicensed (INV-01).
    """
    keeps = term == subscription.term and billing_frequency == subscription.billing_frequency
    alignment = alignment_for(billing_account, schedule, keeps)
    new_id = new_subscription_id or subscription.subscription_id
    old_months = BILLING_FREQUENCY_MONTHS[subscription.billing_frequency]
    new_months = BILLING_FREQUENCY_MONTHS[billing_frequency]
    moved = min(licenses, subscription.licenses)

    if alignment == "scheduled":
        # P-CHG-04: effective on the renewal day; no credit; first cycle charged then.
        renewal = add_months(subscription.anchor, TERM_MONTHS[subscription.term])
        cycle = ChargeCycle(0, renewal, add_months(renewal, new_months) - ONE_DAY)
        charge = _line("charge", new_id, target, target.price(term), new_months, licenses,
                       cycle, renewal, digits, policy, "P-CHG-04")
        return _new_tuple(BillingOutcome, (alignment, renewal, (charge,), 0, ()))

    old_cycle = charge_cycle(subscription.anchor, old_months, on)
    credit = _line("credit", subscription.subscription_id, current,
                   current.price(subscription.term), old_months, moved, old_cycle, on,
                   digits, policy, "P-CHG-02" if alignment == "keep-cycle" else "P-CHG-03")
    if alignment == "keep-cycle":
        # P-CHG-02: same span of the current cycle at the new price; term end unchanged.
        charge = _line("charge", new_id, target, target.price(term), new_months, licenses,
                       old_cycle, on, digits, policy, "P-CHG-02")
    else:
        # P-CHG-03: the new subscription is anchored on `on`, first cycle in full.
        new_cycle = _new_tuple(ChargeCycle, (0, on, add_months(on, new_months) - ONE_DAY))
        charge = _line("charge", new_id, target, target.price(term), new_months, licenses,
                       new_cycle, on, digits, policy, "P-CHG-03")
    return _new_tuple(BillingOutcome, (alignment, on, (credit, charge), 0, ()))


# ---------------------------------------------------------------- cancel and reduce


def _in_mca_window(subscription: Subscription, on: date, window_days: int) -> bool:
    """Whole days from the anchor: day ``anchor + n`` is inside when n < window_days."""
    return (on - subscription.anchor).days < window_days


def cancel_outcome(subscription: Subscription, plan: Plan, on: date, billing_account: str,
                   digits: int, policy: RoundingPolicy,
                   mca_window_days: int = MCA_WINDOW_DAYS,
                   mca_full_refund_days: int = MCA_FULL_REFUND_DAYS,
                   mosa_cancel_limit: int = MOSA_ONLINE_CANCEL_LIMIT) -> BillingOutcome:
    """P-CHG-05 (MCA) and P-CHG-06 (MOSA): cancelling `subscription` on day `on`."""
    months = BILLING_FREQUENCY_MONTHS[subscription.billing_frequency]
    cycle = charge_cycle(subscription.anchor, months, on)
    quantity = subscription.licenses
    price = plan.price(subscription.term)
    notes: list[str] = []
    if billing_account == "MCA":
        if not _in_mca_window(subscription, on, mca_window_days):
            cost = overlap_cost(subscription, plan, quantity, on, digits, policy)
            notes.append("P-CHG-05: outside the MCA 7-day window: no credit; billed to the "
                         "end of the term (overlap cost)")
            return _new_tuple(BillingOutcome, (None, on, (), cost, tuple(notes)))
        if (on - subscription.anchor).days < mca_full_refund_days:
            # Within 24 h: full refund of the cycle's charge (the whole first cycle).
            credit = _line("credit", subscription.subscription_id, plan, price, months,
                           quantity, cycle, cycle.start, digits, policy, "P-CHG-05")
            notes.append("P-CHG-05: within 24 h of the start or renewal: full refund")
        else:
            credit = _line("credit", subscription.subscription_id, plan, price, months,
                           quantity, cycle, on, digits, policy, "P-CHG-05")
        return _new_tuple(BillingOutcome, (None, on, (credit,), 0, tuple(notes)))
    # MOSA: a credit at any time; online cancellation needs <= 25 licenses.
    if quantity > mosa_cancel_limit:
        notes.append(f"P-CHG-06: {quantity} licenses > {mosa_cancel_limit}: reduce to "
                     f"{mosa_cancel_limit} first (one more admin step, same credit)")
    credit = _line("credit", subscription.subscription_id, plan, price, months, quantity,
                   cycle, on, digits, policy, "P-CHG-06")
    return _new_tuple(BillingOutcome, (None, on, (credit,), 0, tuple(notes)))


def reduce_outcome(subscription: Subscription, plan: Plan, on: date, new_licenses: int,
                   billing_account: str, digits: int, policy: RoundingPolicy,
                   mca_window_days: int = MCA_WINDOW_DAYS) -> BillingOutcome:
    """P-CHG-07: lowering `subscription` to `new_licenses` on day `on`."""
    removed = subscription.licenses - new_licenses
    months = BILLING_FREQUENCY_MONTHS[subscription.billing_frequency]
    if billing_account == "MCA" and not _in_mca_window(subscription, on, mca_window_days):
        cost = overlap_cost(subscription, plan, removed, on, digits, policy)
        renewal = add_months(subscription.anchor, TERM_MONTHS[subscription.term])
        note = (f"P-CHG-07: outside the MCA 7-day window: the reduction takes effect at "
                f"renewal ({renewal.isoformat()}); removed licenses billed until then")
        return _new_tuple(BillingOutcome, (None, renewal, (), cost, (note,)))
    cycle = charge_cycle(subscription.anchor, months, on)
    credit = _line("credit", subscription.subscription_id, plan, plan.price(subscription.term),
                   months, removed, cycle, on, digits, policy, "P-CHG-07")
    return _new_tuple(BillingOutcome, (None, on, (credit,), 0, ()))


# ------------------------------------------------------------- purchases (manual flow)


def purchase_outcome(subscription: Subscription, plan: Plan, digits: int,
                     policy: RoundingPolicy) -> BillingOutcome:
    """R-MAN-01 step 1: a new subscription anchored on its start day, first cycle in full.

    Billed like the new-term side of P-CHG-03: the whole first cycle is charged upfront.
    """
    months = BILLING_FREQUENCY_MONTHS[subscription.billing_frequency]
    start = subscription.anchor
    cycle = ChargeCycle(0, start, add_months(start, months) - ONE_DAY)
    charge = _line("charge", subscription.subscription_id, plan,
                   plan.price(subscription.term), months, subscription.licenses, cycle, start,
                   digits, policy, "P-CHG-03")
    return BillingOutcome(None, start, (charge,), 0)


def add_seats_outcome(subscription: Subscription, plan: Plan, on: date, added: int,
                      digits: int, policy: RoundingPolicy) -> BillingOutcome:
    """Buying `added` licenses on day `on`: a prorated charge to the cycle's end (P-CHG-01)."""
    months = BILLING_FREQUENCY_MONTHS[subscription.billing_frequency]
    cycle = charge_cycle(subscription.anchor, months, on)
    charge = _line("charge", subscription.subscription_id, plan,
                   plan.price(subscription.term), months, added, cycle, on, digits, policy,
                   "P-CHG-01")
    return BillingOutcome(None, on, (charge,), 0)
