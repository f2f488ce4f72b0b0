"""When money moves: invoice and cash dates of ledger lines (PRORATION.md section 5).

- P-TIME-01 MCA: lines go on the monthly invoice issued on `invoice_day` of the month
  after the line's event day; a new purchase (the first cycle of a new or scheduled
  subscription) is invoiced the next day, upfront.
- P-TIME-02 MOSA: a line goes on the invoice dated the day after the billing period it
  belongs to ends; a new purchase is charged at checkout, so its invoice is the event day.
- P-TIME-03 every credit must be on an invoice within 30 days of the change; a later one
  is reported as a violation, never hidden.
- P-TIME-04 cash: card payers are charged or refunded within 10 days of the invoice (MCA;
  the latest day is used) or the day after (MOSA); invoice payers settle by wire
  transfer in up to 4 (domestic) or 7 (international) business days, and credits owed
  to them are applied to the invoice that carries them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from .billing import Line
from .calendar import add_business_days, add_months

__all__ = ["BillingTerms", "cash_date", "invoice_date", "late_credit"]

NEW_PURCHASE_RULES = frozenset({"P-CHG-03", "P-CHG-04"})


@dataclass(frozen=True, slots=True)
class BillingTerms:
    """The NUMBERS.md defaults for when money moves; scenarios override them."""

    invoice_day: int = 5  # P-TIME-01
    mca_card_days: int = 10  # P-TIME-04
    mosa_card_days: int = 1  # P-TIME-04
    wire_business_days_domestic: int = 4  # P-TIME-04
    wire_business_days_international: int = 7  # P-TIME-04
    credit_invoice_limit_days: int = 30  # P-TIME-03 / R-BILL-03


DEFAULT_TERMS = BillingTerms()


def _is_new_purchase(line: Line) -> bool:
    return line.type == "charge" and line.rule in NEW_PURCHASE_RULES


def invoice_date(line: Line, billing_account: str, terms: BillingTerms = DEFAULT_TERMS) -> date:
    """The date of the invoice that carries `line` (P-TIME-01/02)."""
    if billing_account == "MCA":
        if _is_new_purchase(line):
            return line.start + timedelta(days=1)
        first_of_next = add_months(line.start.replace(day=1), 1)
        return first_of_next.replace(day=terms.invoice_day)
    if _is_new_purchase(line):
        return line.start
    return line.end + timedelta(days=1)


def cash_date(line: Line, invoiced: date, billing_account: str, payment_method: str,
              country: str, international: bool = False,
              terms: BillingTerms = DEFAULT_TERMS) -> date:
    """The latest day the cash of `line` moves (P-TIME-04): how long a credit takes to
    reach the customer depends on the payment method (R-BILL-04)."""
    if payment_method == "card":
        days = terms.mca_card_days if billing_account == "MCA" else terms.mosa_card_days
        return invoiced + timedelta(days=days)
    if line.amount < 0:
        return invoiced  # credits owed to invoice payers are applied to that invoice
    business_days = (terms.wire_business_days_international if international
                     else terms.wire_business_days_domestic)
    return add_business_days(invoiced, business_days, country)


def late_credit(line: Line, invoiced: date, changed_on: date,
                terms: BillingTerms = DEFAULT_TERMS) -> bool:
    """P-TIME-03: a credit invoiced more than 30 days after the change."""
    return line.amount < 0 and (invoiced - changed_on).days > terms.credit_invoice_limit_days
