"""The same fleet's credits under every rounding policy, per currency (P-RND-03).

Each credit line is recomputed from its stored inputs (unit price, months, quantity,
billing days, cycle days) with the currency's minor unit (P-MONEY-02). The table gives
each policy's total and its difference from the default policy, line-half-up, so a plot
can show the differences as differences.
"""

from __future__ import annotations

from decimal import Decimal

import pandas as pd

from ..rules.money import (
    DEFAULT_POLICY,
    ROUNDING_POLICIES,
    Price,
    format_minor,
    minor_unit,
    prorate,
)

__all__ = ["rounding_policies"]

KEYS = ["unit_price", "months", "quantity", "billing_days", "cycle_days"]


def _credits_by_policy(credits: pd.DataFrame, digits: int) -> dict[str, int]:
    """Total credit (negative minor units) of `credits` under each policy.

    Lines sharing (price, months, quantity, billing_days, cycle_days) round alike, so
    each distinct combination is computed once and weighted by its count.
    """
    if "unit_price" not in credits.columns or credits.empty:
        return {name: 0 for name in ROUNDING_POLICIES}
    combos = credits.groupby(KEYS).size().rename("lines").reset_index()
    prices = {text: Price.from_decimal(Decimal(text)) for text in combos["unit_price"].unique()}
    totals = {}
    for name, policy in ROUNDING_POLICIES.items():
        total = 0
        for price, months, quantity, billing_days, cycle_days, lines in combos.itertuples(
                index=False):
            total += lines * prorate(prices[price], int(months), int(quantity),
                                     int(billing_days), int(cycle_days), digits, policy)
        totals[name] = -total
    return totals


def rounding_policies(ledger: pd.DataFrame) -> pd.DataFrame:
    """Rows (currency, policy, credits, delta from line-half-up), exact minor units."""
    rows = []
    currencies = sorted(set(ledger["currency"])) if len(ledger) else []
    for currency in currencies:
        digits = minor_unit(currency)
        lines = ledger[(ledger["currency"] == currency) & (ledger["amount_minor"] < 0)]
        totals = _credits_by_policy(lines, digits)
        for name, total in totals.items():
            delta = total - totals[DEFAULT_POLICY]
            rows.append({"currency": currency, "policy": name, "credits_minor": total,
                         "credits": format_minor(total, digits),
                         "delta_from_default_minor": delta,
                         "delta_from_default": format_minor(delta, digits)})
    columns = ["currency", "policy", "credits_minor", "credits", "delta_from_default_minor",
               "delta_from_default"]
    return pd.DataFrame(rows, columns=columns)
