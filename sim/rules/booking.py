"""Booking a ledger line: when it is invoiced, when its cash moves, whether it is late.

One function, :func:`book_line`, used by the fleet's ledger and by the case evaluator
(:mod:`sim.harness.cases`), so a line's invoice date (P-TIME-01/02), cash date
(P-TIME-04) and lateness (P-TIME-03 / INV-07) are decided in one place.
"""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

from .billing import Line
from .invoicing import DEFAULT_TERMS, BillingTerms, cash_date, invoice_date, late_credit

__all__ = ["BookedLine", "book_line"]


class BookedLine(NamedTuple):
    """A billing line with the dates money moves (P-TIME-01..04)."""

    line: Line
    invoiced: date
    cash: date
    late: bool  # INV-07 / P-TIME-03: a change credit invoiced > 30 days after the change


_new_tuple = tuple.__new__


def book_line(line: Line, billing_account: str, payment_method: str, country: str,
              changed_on: date, terms: BillingTerms = DEFAULT_TERMS,
              international: bool = False) -> BookedLine:
    """The invoice date, cash date and INV-07 lateness of `line` of a change on
    `changed_on`, for a tenant of this account type, payment method and country."""
    invoiced = invoice_date(line, billing_account, terms)
    cash = cash_date(line, invoiced, billing_account, payment_method, country, international,
                     terms)
    # tuple.__new__: a NamedTuple without its Python-level constructor (hot path)
    return _new_tuple(BookedLine, (line, invoiced, cash,
                                   late_credit(line, invoiced, changed_on, terms)))
