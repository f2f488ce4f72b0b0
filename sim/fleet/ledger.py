"""The ledger room of the fleet model: booking the lines of a billing outcome.

Each line is booked with :func:`sim.rules.booking.book_line` (invoice date P-TIME-01/02,
cash date P-TIME-04, INV-07 lateness), recorded as a :class:`sim.fleet.rows.LedgerRow`,
told to the observers (``on_line``) and tallied on its change row (credit, charge, net:
P-CHG-08). Whether the tallies are right is the monitor's business (INV-05), not the
ledger's.
"""

from __future__ import annotations

from datetime import date

from ..rules.billing import BillingOutcome, Line
from ..rules.booking import book_line
from ..rules.domain import Tenant
from .rows import ChangeRow, LedgerRow

__all__ = ["Ledger", "tally"]


def tally(row: ChangeRow, line: Line) -> None:
    """Add a booked line to its change's credit, charge and net (P-CHG-08, P-RND-01)."""
    if line.amount < 0:
        row.credit_minor += line.amount
    else:
        row.charge_minor += line.amount
    row.net_minor += line.amount


class Ledger:
    """Mixin of the fleet model: ``book`` the lines of an outcome on a change row."""

    def book(self, tenant: Tenant, row: ChangeRow, outcome: BillingOutcome,
             changed_on: date) -> None:
        """Ledger rows for `outcome`'s lines with invoice and cash dates (P-TIME-01..04)."""
        account = tenant.billing_account
        terms = self.terms
        iso = self.iso
        on_line = self.hooks.on_line
        for line in outcome.lines:
            booked = book_line(line, account, tenant.payment_method, tenant.country,
                               changed_on, terms, row.wire_international)
            if booked.late:  # INV-07: flagged here, counted by the monitor
                row.late_credit = True
                self.late_credits += 1
            self.recorder.add("ledger", LedgerRow(
                request_id=row.request_id, tenant_id=row.tenant_id, billing_account=account,
                payment_method=tenant.payment_method, subscription_id=line.subscription_id,
                plan=line.plan, type=line.type, rule=line.rule, start=iso[line.start],
                end=iso[line.end], billing_days=line.billing_days,
                cycle_days=line.cycle_days, quantity=line.quantity, amount_minor=line.amount,
                currency=self.currency, policy=self.policy.name,
                changed_on=iso[changed_on], invoice_date=iso[booked.invoiced],
                cash_date=iso[booked.cash], late_credit=booked.late,
                unit_price=line.unit_price, months=line.months))
            for hook in on_line:
                hook(row.request_id, tenant, line, booked.invoiced, booked.cash, changed_on)
            tally(row, line)
