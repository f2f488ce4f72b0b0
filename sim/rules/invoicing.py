"""When money moves: invoice and cash dates of ledger lines (PRORATION.md section 5,
as amended 2026-11-30).

A line's **date** is the day of the event that produced it: the change day for the
credit and charge of an automatic change (P-CHG-02/03), the cancellation or reduction
day (P-CHG-05/06/07), the purchase or seat-addition day, and the renewal day for a
scheduled change's charge (P-CHG-04). Every line :mod:`sim.rules.billing` produces
starts on that day (its span runs from the event to the end of a cycle; a full refund
on day 0 starts on the anchor, which is the event day), so the date defaults to
``line.start``; a caller that knows better passes ``event_day``.

- **P-TIME-01 MCA**: the invoice of month M is dated on the invoice day D of M, clamped
  to M's last day (D = 31 gives Feb 28/29, Apr 30, ...). It carries every line dated
  from the day after the previous month's invoice through its own date: with D <= 28
  that is "day D+1 of the previous month through day D"; with a clamped month the
  window starts the day after the clamped date (D = 30: the March invoice on 30 Mar
  carries 1..30 Mar, after February's on 28 Feb). So every day lies in exactly one
  window, and a line goes on the first invoice dated on or after its date: at most 30
  days later (two consecutive invoice dates are at most 31 days apart). A new purchase
  (the charge of a new subscription, P-CHG-03, or of a scheduled change, P-CHG-04) is
  invoiced the next day, upfront.
- **P-TIME-02 MOSA**: a plan change or a cancellation closes the old subscription's
  billing on the change day (R-BILL-01), so its credit (P-CHG-02/03/05/06) is on a
  closing invoice dated the day after the change. Every other line (license reductions,
  seat additions, renewals, and the charges of a new subscription) is on the invoice
  dated the day after the billing period current on the line's date ends. Each such
  line spans from its date to the end of that period, so the invoice is ``line.end + 1``.
  The charge of a MOSA change's new subscription (P-CHG-03) is "a charge of a new
  subscription": its current billing period is its first cycle, which starts on the
  change day (the event day belongs to the new state, P-CAL-04), so it is invoiced the
  day after that cycle ends (a month, a year or three years after the change). The
  amended text dropped the old "charged at checkout" exception for MOSA; the upfront
  rule is written for MCA only.
- **P-TIME-03 / INV-07**: every credit of a plan change (or cancellation) is on an
  invoice at most 30 days after the change; :func:`late_credit` answers whether one is
  not. License-reduction credits (P-CHG-07) are not plan-change credits: P-TIME-02 puts
  them at the end of the billing period.
- **P-TIME-04 cash**: card payers are charged or refunded within 10 days of the invoice
  (MCA; the latest day is used) or the day after (MOSA); invoice payers settle by wire
  transfer in up to 4 (domestic) or 7 (international) business days, and credits owed
  to them are applied to the invoice that carries them.
"""

from __future__ import annotations

from calendar import monthrange
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from .billing import Line
from .calendar import add_business_days, add_months

__all__ = [
    "CLOSING_CREDIT_RULES",
    "BillingTerms",
    "cash_date",
    "inv07_late_credit",
    "invoice_date",
    "is_plan_change_credit",
    "late_credit",
    "mca_invoice_date",
]

ONE_DAY = timedelta(days=1)
_DAYS = {days: timedelta(days=days) for days in range(1, 32)}  # card payment delays
NEW_PURCHASE_RULES = frozenset({"P-CHG-03", "P-CHG-04"})  # P-TIME-01 "new purchase"
# P-TIME-02 / INV-07: credits of a plan change (P-CHG-02/03) or a cancellation
# (P-CHG-05/06). A license reduction (P-CHG-07) is not one.
CLOSING_CREDIT_RULES = frozenset({"P-CHG-02", "P-CHG-03", "P-CHG-05", "P-CHG-06"})


@dataclass(frozen=True, slots=True)
class BillingTerms:
    """The NUMBERS.md defaults for when money moves; scenarios override them."""

    invoice_day: int = 5  # P-TIME-01, 1..31 (clamped to short months)
    mca_card_days: int = 10  # P-TIME-04
    mosa_card_days: int = 1  # P-TIME-04
    wire_business_days_domestic: int = 4  # P-TIME-04
    wire_business_days_international: int = 7  # P-TIME-04
    credit_invoice_limit_days: int = 30  # P-TIME-03 / R-BILL-03 / INV-07

    def __post_init__(self) -> None:
        if not 1 <= self.invoice_day <= 31:
            raise ValueError(f"invoice_day must be 1..31, got {self.invoice_day}")


DEFAULT_TERMS = BillingTerms()


def _invoice_in_month(year: int, month: int, invoice_day: int) -> date:
    """P-TIME-01: the MCA invoice of a month, on `invoice_day` clamped to its last day."""
    if invoice_day <= 28:  # every month has the day
        return date(year, month, invoice_day)
    return date(year, month, min(invoice_day, monthrange(year, month)[1]))


@lru_cache(maxsize=1 << 12)
def mca_invoice_date(dated: date, invoice_day: int = DEFAULT_TERMS.invoice_day) -> date:
    """P-TIME-01: the monthly MCA invoice whose window holds a line dated `dated`: the
    first invoice dated on or after it (this month's, or else next month's). Cached: a
    pure function of the day, and lines fall on far fewer days than there are lines."""
    this_month = _invoice_in_month(dated.year, dated.month, invoice_day)
    if dated <= this_month:
        return this_month
    first_of_next = add_months(dated.replace(day=1), 1)
    return _invoice_in_month(first_of_next.year, first_of_next.month, invoice_day)


def _is_new_purchase(line: Line) -> bool:
    return line.type == "charge" and line.rule in NEW_PURCHASE_RULES


def is_plan_change_credit(line: Line) -> bool:
    """A credit of a plan change or cancellation (P-TIME-02, INV-07), by its P-CHG rule."""
    return (line.type == "credit" or line.amount < 0) and line.rule in CLOSING_CREDIT_RULES


def invoice_date(line: Line, billing_account: str, terms: BillingTerms = DEFAULT_TERMS, *,
                 event_day: date | None = None) -> date:
    """The date of the invoice that carries `line` (P-TIME-01/02).

    `event_day` is the line's date (the day of the event that produced it); it defaults
    to ``line.start``, which is that day for every line of :mod:`sim.rules.billing`.
    """
    dated = line.start if event_day is None else event_day
    if billing_account == "MCA":
        if _is_new_purchase(line):
            return dated + ONE_DAY  # P-TIME-01: new purchase, upfront
        return mca_invoice_date(dated, terms.invoice_day)
    if is_plan_change_credit(line):
        return dated + ONE_DAY  # P-TIME-02: closing invoice
    return line.end + ONE_DAY  # P-TIME-02: day after the current billing period ends


def cash_date(line: Line, invoiced: date, billing_account: str, payment_method: str,
              country: str, international: bool = False,
              terms: BillingTerms = DEFAULT_TERMS) -> date:
    """The latest day the cash of `line` moves (P-TIME-04): how long a credit takes to
    reach the customer depends on the payment method (R-BILL-04)."""
    if payment_method == "card":
        days = terms.mca_card_days if billing_account == "MCA" else terms.mosa_card_days
        return invoiced + (_DAYS.get(days) or timedelta(days=days))
    if line.amount < 0:
        return invoiced  # credits owed to invoice payers are applied to that invoice
    business_days = (terms.wire_business_days_international if international
                     else terms.wire_business_days_domestic)
    return add_business_days(invoiced, business_days, country)


def late_credit(line: Line, invoiced: date, changed_on: date,
                terms: BillingTerms = DEFAULT_TERMS) -> bool:
    """INV-07 / P-TIME-03: a credit of a plan change or cancellation invoiced more than
    ``credit_invoice_limit_days`` (30) days after the change. Charges and license
    reduction credits (P-CHG-07) are never late under INV-07."""
    return ((invoiced - changed_on).days > terms.credit_invoice_limit_days
            and is_plan_change_credit(line))


inv07_late_credit = late_credit  # the name the invariant monitor looks for (INV-07)
