"""The ledger room of the fleet model: booking the lines of a billing outcome.

Each line is booked with :func:`sim.rules.booking.book_line` (invoice date P-TIME-01/02,
cash date P-TIME-04, INV-07 lateness), recorded as a :class:`sim.fleet.rows.LedgerRow`
in the tenant's currency, told to the observers (``on_line``) and tallied on its change
row (credit, charge, net: P-CHG-08). Whether the tallies are right is the monitor's
business (INV-05), not the ledger's.

Local currencies (issue 12): each tenant is billed in its own currency
(``Tenant.currency``: its country's, or the scenario's fixed ``run.currency``).
:func:`price_list` gives, once per currency, the catalog's plans priced in that currency
(``plan.price(term)`` of such a plan is ``catalog_plan.price(term, currency)``) and the
currency's minor unit (P-MONEY-02), so the rules layer bills in the tenant's currency
without a lookup per line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from typing import NamedTuple

from ..rules.billing import BillingOutcome, Line
from ..rules.booking import book_line
from ..rules.catalog import Catalog, Plan
from ..rules.domain import Tenant
from ..rules.money import minor_unit
from .rows import ChangeRow, LedgerRow

__all__ = ["Ledger", "PriceList", "price_list", "tally"]


class PriceList(NamedTuple):
    """One currency's side of the model: its minor unit and the plans priced in it."""

    currency: str
    digits: int  # P-MONEY-02
    plans: Mapping[str, Plan]


def _priced_in(plan: Plan, currency: str) -> Plan:
    """`plan` with `currency`'s price list as its own (a KeyError if it has none)."""
    if currency == plan.currency:
        return plan
    if currency not in plan.exact_local_prices:
        raise KeyError(f"plan {plan.id} has no {currency} price list")
    return replace(plan, prices=plan.local_prices[currency],
                   exact_prices=plan.exact_local_prices[currency], currency=currency)


def price_list(catalog: Catalog, currency: str) -> PriceList:
    """The catalog's plans priced in `currency`, and its minor unit (issue 12)."""
    plans = {plan_id: _priced_in(plan, currency) for plan_id, plan in catalog.plans.items()}
    return PriceList(currency, minor_unit(currency), plans)


def tally(row: ChangeRow, line: Line) -> None:
    """Add a booked line to its change's credit, charge and net (P-CHG-08, P-RND-01)."""
    if line.amount < 0:
        row.credit_minor += line.amount
    else:
        row.charge_minor += line.amount
    row.net_minor += line.amount


_new_tuple = tuple.__new__


class Ledger:
    """Mixin of the fleet model: ``book`` the lines of an outcome on a change row.

    Needs ``self.price_lists`` (a dict, filled here) and ``self.currencies_seen`` (a set)."""

    def money(self, currency: str) -> PriceList:
        """The price list of `currency`, built on first use (one per currency per run)."""
        found = self.price_lists.get(currency)
        if found is None:
            found = self.price_lists[currency] = price_list(self.catalog, currency)
        return found

    def book(self, tenant: Tenant, row: ChangeRow, outcome: BillingOutcome,
             changed_on: date) -> None:
        """Ledger rows for `outcome`'s lines with invoice and cash dates (P-TIME-01..04),
        in the tenant's currency."""
        account = tenant.billing_account
        currency = tenant.currency
        terms = self.terms
        iso = self.iso
        on_line = self.hooks.on_line
        add = self.recorder.add
        method = tenant.payment_method
        policy = self.policy.name
        if outcome.lines:
            self.currencies_seen.add(currency)
        for line in outcome.lines:
            booked = book_line(line, account, method, tenant.country,
                               changed_on, terms, row.wire_international)
            if booked.late:  # INV-07: flagged here, counted by the monitor
                row.late_credit = True
                self.late_credits += 1
            # LedgerRow built positionally, without its Python-level constructor (hot).
            add("ledger", _new_tuple(LedgerRow, (
                row.request_id, row.tenant_id, account, method, line.subscription_id,
                line.plan, line.type, line.rule, iso[line.start], iso[line.end],
                line.billing_days, line.cycle_days, line.quantity, line.amount, currency,
                policy, iso[changed_on], iso[booked.invoiced], iso[booked.cash], booked.late,
                line.unit_price, line.months)))
            for hook in on_line:
                hook(row.request_id, tenant, line, booked.invoiced, booked.cash, changed_on)
            tally(row, line)
