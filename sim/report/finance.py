"""Finance statistics of a run, each currency on its own (issue 4 part 1, issue 12).

Every money figure is grouped by the currency its ledger lines were billed in: totals,
breakdowns, the cash timeline and the rounding-policy comparison. Nothing is summed
across currencies unless a conversion table (:class:`sim.report.fx.FxTable`) is given,
and then the converted figures carry the unit "<target> converted". Amounts stay integer
minor units of their currency (P-MONEY-01/02) and totals are sums of already-rounded
lines (P-RND-01).
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from ..rules.money import format_minor, minor_unit
from .fx import FxTable
from .policies import rounding_policies
from .records import RunRecords

__all__ = ["cash_timeline", "finance", "ledger_currency"]

BREAKDOWNS = ((["billing_account"], "finance_by_account"),
              (["plan_pair"], "finance_by_plan_pair"),
              (["billing_frequency"], "finance_by_billing_frequency"),
              (["payment_method"], "finance_by_payment_method"),
              (["rule"], "finance_by_rule"))


def _read_column(records: RunRecords, table: str, column: str) -> pd.Series | None:
    """One column straight from a record file, for loaders that did not keep it."""
    entry = records.manifest.get("tables", {}).get(table)
    if not entry:
        return None
    path = records.directory / entry["file"]
    if path.suffix == ".parquet":
        if column not in pq.read_schema(path).names:
            return None
        return pq.read_table(path, columns=[column]).column(column).to_pandas()
    header = path.open(encoding="utf-8").readline().rstrip("\n").split(",")
    if column not in header:
        return None
    options = pa_csv.ConvertOptions(include_columns=[column], strings_can_be_null=False)
    return pa_csv.read_csv(path, convert_options=options).column(column).to_pandas()


def ledger_currency(records: RunRecords) -> pd.Series:
    """The currency of every ledger line: its own column, else the run's one currency."""
    ledger = records.tables["ledger"]
    column = ledger["currency"] if "currency" in ledger.columns else _read_column(
        records, "ledger", "currency")
    if column is None or len(column) != len(ledger):
        return pd.Series([records.currency] * len(ledger), index=ledger.index, dtype=object)
    column = pd.Series(column.to_numpy(dtype=object), index=ledger.index)
    return column.where(column.fillna("") != "", records.currency)


def _change_currency(records: RunRecords, ledger: pd.DataFrame) -> pd.Series:
    """Each change's currency: its own column, else its tenant's ledger lines, else the run's."""
    changes = records.tables["changes"]
    own = changes["currency"] if "currency" in changes.columns else _read_column(
        records, "changes", "currency")
    if own is not None and len(own) == len(changes):
        return pd.Series(own.to_numpy(dtype=object), index=changes.index)
    by_tenant = ledger.drop_duplicates("tenant_id").set_index("tenant_id")["currency"]
    return changes["tenant_id"].map(by_tenant).fillna(records.currency)


def _add_money(summary, name: str, minor: int, currency: str) -> None:
    summary.add(name, format_minor(int(minor), minor_unit(currency)), currency)


def _money_columns(table: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """Add the exact decimal twin of each ``<column>_minor``, in each row's currency."""
    digits = table["currency"].map(minor_unit)
    for column in columns:
        table[column] = [format_minor(int(v), int(d))
                         for v, d in zip(table[f"{column}_minor"], digits, strict=True)]
    return table


def _money_table(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    grouped = frame.groupby(["currency", *keys], dropna=False)
    table = pd.DataFrame({
        "lines": grouped.size(),
        "credits_minor": grouped["credit_part"].sum(),
        "charges_minor": grouped["charge_part"].sum(),
        "net_minor": grouped["amount_minor"].sum(),
    }).reset_index()
    return _money_columns(table, ("credits", "charges", "net"))


def finance(records: RunRecords, summary, fx: FxTable | None = None) -> None:
    """Totals, breakdowns, cash timeline and rounding policies, per currency."""
    ledger = records.tables["ledger"].copy()
    ledger["currency"] = ledger_currency(records)
    changes = records.tables["changes"].assign(currency=_change_currency(records, ledger))
    amount = ledger["amount_minor"].astype("int64")
    ledger["amount_minor"] = amount
    ledger["credit_part"] = amount.where(amount < 0, 0)
    ledger["charge_part"] = amount.where(amount > 0, 0)
    currencies = sorted(set(ledger["currency"]) | set(changes["currency"]))
    summary.add("finance.currencies", ", ".join(currencies), "currencies")
    summary.add("finance.ledger_lines", len(ledger), "lines")
    for currency in currencies:
        _currency_totals(summary, currency, ledger[ledger["currency"] == currency],
                         changes[changes["currency"] == currency])
    pairs = changes[["request_id", "current_plan", "target_plan"]]
    frequency = records.tables["population"][["tenant_id", "billing_frequency"]]
    enriched = ledger.merge(pairs, on="request_id", how="left").merge(
        frequency, on="tenant_id", how="left")
    enriched["plan_pair"] = enriched["current_plan"] + " -> " + enriched["target_plan"]
    for keys, name in BREAKDOWNS:
        summary.tables[name] = _money_table(enriched, keys)
    end = _horizon_end(records)
    summary.tables["cash_timeline"] = cash_timeline(ledger)
    _after_horizon(summary, ledger, end)
    summary.tables["rounding_policies"] = rounding_policies(ledger)
    for row in summary.tables["rounding_policies"].itertuples():
        _add_money(summary, f"finance.credits.policy.{row.policy}.{row.currency}",
                   int(row.credits_minor), row.currency)
    if fx is not None:
        _converted(summary, ledger, fx)


def _currency_totals(summary, currency: str, ledger: pd.DataFrame,
                     changes: pd.DataFrame) -> None:
    credits = int(ledger["credit_part"].sum())
    charges = int(ledger["charge_part"].sum())
    summary.add(f"finance.ledger_lines.{currency}", len(ledger), "lines")
    _add_money(summary, f"finance.credits.total.{currency}", credits, currency)
    _add_money(summary, f"finance.charges.total.{currency}", charges, currency)
    _add_money(summary, f"finance.net.total.{currency}", credits + charges, currency)
    overlap = int(changes["overlap_cost_minor"].astype("int64").sum())
    _add_money(summary, f"finance.overlap_cost.total.{currency}", overlap, currency)
    nets = changes.loc[changes["net_minor"] != 0, "net_minor"].to_numpy(dtype=np.int64)
    for p in (50, 90, 95, 99):
        value = int(np.round(np.percentile(nets, p))) if len(nets) else 0
        _add_money(summary, f"finance.net_per_change.p{p}.{currency}", value, currency)
    for account, frame in ledger.groupby("billing_account"):
        _add_money(summary, f"finance.{account}.credits.{currency}",
                   int(frame["credit_part"].sum()), currency)
        _add_money(summary, f"finance.{account}.charges.{currency}",
                   int(frame["charge_part"].sum()), currency)
        _add_money(summary, f"finance.{account}.net.{currency}",
                   int(frame["amount_minor"].sum()), currency)
    late = ledger[(ledger["amount_minor"] < 0) & ledger["late_credit"].astype(bool)]
    summary.add(f"finance.late_credits.lines.{currency}", len(late), "lines")
    _add_money(summary, f"finance.late_credits.amount.{currency}",
               int(late["amount_minor"].sum()), currency)


def cash_timeline(ledger: pd.DataFrame) -> pd.DataFrame:
    """Credits, charges, net and cumulative net by cash month (P-TIME-04).

    One row per (currency, payment method, month) for every month from the first to
    the last cash date of the ledger: months without cash are zero rows, never gaps.
    """
    columns = ["currency", "payment_method", "month", "lines", "credits_minor",
               "charges_minor", "net_minor", "cumulative_net_minor"]
    dated = ledger[ledger["cash_date"].fillna("") != ""]
    if dated.empty:
        return _money_columns(pd.DataFrame(columns=columns),
                              ("credits", "charges", "net", "cumulative_net"))
    month = dated["cash_date"].str.slice(0, 7)
    months = pd.period_range(month.min(), month.max(), freq="M").strftime("%Y-%m")
    frame = dated.assign(month=month, line=1)
    sums = frame.groupby(["currency", "payment_method", "month"])[
        ["line", "credit_part", "charge_part"]].sum()
    groups = frame[["currency", "payment_method"]].drop_duplicates().sort_values(
        ["currency", "payment_method"])
    full = pd.MultiIndex.from_tuples(
        [(c, m, month) for c, m in groups.itertuples(index=False) for month in months],
        names=["currency", "payment_method", "month"])
    table = sums.reindex(full, fill_value=0).reset_index()
    table = table.rename(columns={"line": "lines", "credit_part": "credits_minor",
                                  "charge_part": "charges_minor"})
    table["net_minor"] = table["credits_minor"] + table["charges_minor"]
    table["cumulative_net_minor"] = table.groupby(["currency", "payment_method"])[
        "net_minor"].cumsum()
    table = table[columns].astype({c: "int64" for c in columns[3:]})
    return _money_columns(table, ("credits", "charges", "net", "cumulative_net"))


def _horizon_end(records: RunRecords) -> date:
    start = date.fromisoformat(records.manifest["scenario"]["run"]["start"])
    days = int(records.manifest["scenario"]["run"]["horizon_days"])
    return start + timedelta(days=days - 1)


def _after_horizon(summary, ledger: pd.DataFrame, end: date) -> None:
    """Lines whose cash moves after the simulated horizon (late credits, R-BILL-04)."""
    after = ledger[ledger["cash_date"].fillna("") > end.isoformat()]
    summary.add("finance.after_horizon.lines", len(after), "lines")
    summary.notes["horizon_end"] = end.isoformat()
    summary.notes["after_horizon_lines"] = len(after)
    summary.notes["after_horizon_credit_lines"] = int((after["amount_minor"] < 0).sum())
    summary.notes["last_cash_date"] = str(ledger["cash_date"].dropna().max()) if len(
        ledger) else ""


def _converted(summary, ledger: pd.DataFrame, fx: FxTable) -> None:
    """Cross-currency totals, only through the user's conversion table (``--fx``)."""
    unit = f"{fx.target} converted"
    rows = []
    for currency, frame in ledger.groupby("currency"):
        row = {"currency": currency, "rate": str(fx.rates.get(currency, 1))}
        for part, column in (("credits", "credit_part"), ("charges", "charge_part"),
                             ("net", "amount_minor")):
            row[f"{part}_minor"] = int(frame[column].sum())
            row[f"{part}_converted_minor"] = fx.convert_minor(int(frame[column].sum()),
                                                              str(currency))
        rows.append(row)
    table = pd.DataFrame(rows)
    summary.tables["finance_converted"] = table
    digits = minor_unit(fx.target)
    for part in ("credits", "charges", "net"):
        total = int(table[f"{part}_converted_minor"].sum()) if len(table) else 0
        summary.add(f"finance.{part}.total.converted", format_minor(total, digits), unit)
