"""The words of a report: the plain-language summary and the tables people read.

Everything here is text for people, built from a :class:`Summary` through
:mod:`sim.report.format` and :mod:`sim.report.names` (no scientific notation, every rule
ID with its name, money per currency with its minor units).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..rules.eligibility import RULES_BY_CODE
from .format import format_count, format_duration, format_metric, format_money, format_ratio
from .names import label_rule_ids, rule_label
from .stats import Summary

__all__ = ["TextTable", "cash_tables", "horizon_note", "metric_rows", "rule_tables",
           "summary_paragraph"]

TextTable = tuple[str, list[str], list[list[str]]]  # (caption, header, rows), all text


def _value(summary: Summary, name: str, default: Any = 0) -> Any:
    metric = summary.metrics.get(name)
    return default if metric is None else metric["value"]


def metric_rows(summary: Summary, prefixes: tuple[str, ...]) -> list[tuple[str, str]]:
    """(metric name, human value with unit) for every metric under `prefixes`."""
    return [(_display_name(name), format_metric(metric["value"], metric["unit"]))
            for name, metric in summary.metrics.items() if name.startswith(prefixes)]


def _display_name(name: str) -> str:
    """A metric's name; a blocker's code is followed by its rule ID and name."""
    parts = name.split(".")
    if parts[0] == "blocker" and len(parts) > 2 and parts[1] in RULES_BY_CODE:
        return f"{name} ({rule_label(RULES_BY_CODE[parts[1]].rule_id)})"
    return name


def _money_sentence(summary: Summary, currency: str) -> str:
    credits = _value(summary, f"finance.credits.total.{currency}", "0")
    charges = _value(summary, f"finance.charges.total.{currency}", "0")
    net = _value(summary, f"finance.net.total.{currency}", "0")
    return (f"in {currency}, credits {format_money(credits, currency)}, charges "
            f"{format_money(charges, currency)}, net {format_money(net, currency)}")


def summary_paragraph(summary: Summary, run: dict[str, Any]) -> str:
    """One paragraph: what the run was and its headline findings."""
    requests = int(_value(summary, "requests"))
    automatic = int(_value(summary, "outcome.automatic.requests")) + int(
        _value(summary, "outcome.automatic-after-remediation.requests"))
    manual = int(_value(summary, "outcome.manual.requests"))
    abandoned = int(_value(summary, "outcome.abandoned.requests"))
    share = (lambda n: format_ratio(n / requests)) if requests else (lambda n: "0%")
    parts = [
        f"This run simulated {format_count(int(run.get('tenants', 0)))} tenants of the "
        f"{run.get('scenario', '?')} scenario (seed {run.get('seed', '?')}, "
        f"{format_count(int(run.get('horizon_days', 0) or 0))} days"
        f"{' from ' + run['start'] if run.get('start') else ''}).",
        f"Of {format_count(requests)} plan-change requests, {format_count(automatic)} "
        f"({share(automatic)}) changed automatically, {format_count(manual)} "
        f"({share(manual)}) needed the manual path and {format_count(abandoned)} were "
        "abandoned.",
    ]
    blockers = summary.tables.get("blockers")
    if blockers is not None and len(blockers):
        top = blockers.iloc[0]
        rule = RULES_BY_CODE.get(top["code"])
        name = rule_label(rule.rule_id) if rule else str(top["code"])
        parts.append(f"{format_ratio(_value(summary, 'attempts.blocked_share'))} of "
                     f"eligibility attempts were blocked, most often by {name} "
                     f"({format_ratio(top['attempt_share'])} of attempts).")
    parts.append(f"Lead time was {format_duration(_value(summary, 'lead_time.p50'))} at the "
                 f"median and {format_duration(_value(summary, 'lead_time.p90'))} at p90.")
    currencies = [c for c in str(_value(summary, "finance.currencies", "")).split(", ") if c]
    if currencies:
        parts.append("Money, each currency on its own: "
                     + "; ".join(_money_sentence(summary, c) for c in currencies) + ".")
    violations = int(_value(summary, "invariant_violations"))
    parts.append(f"{format_count(violations)} invariant violation"
                 f"{'' if violations == 1 else 's'} found.")
    return label_rule_ids(" ".join(parts))


def horizon_note(summary: Summary) -> str:
    """Why cash runs past the simulated horizon, when it does (R-BILL-04, P-TIME-04)."""
    notes = summary.notes
    lines = int(notes.get("after_horizon_lines", 0))
    if not lines:
        return ""
    credits = int(notes.get("after_horizon_credit_lines", 0))
    return label_rule_ids(
        f"{format_count(lines)} ledger lines ({format_count(credits)} of them credits) have "
        f"cash dates after the simulated horizon, which ends {notes['horizon_end']}; the "
        f"last cash date is {notes['last_cash_date']}. Credits reach customers after the "
        "change (R-BILL-04: by payment method, up to months later for invoice payers), so "
        "the timeline runs past the horizon. No change requests are simulated after it, "
        "so charges stop once the last invoices are paid while credits keep arriving.")


def cash_tables(summary: Summary) -> list[TextTable]:
    """The monthly cash timeline per currency (payment methods added up; the CSV splits)."""
    table = summary.tables.get("cash_timeline")
    if table is None or table.empty:
        return []
    result = []
    for currency, frame in table.groupby("currency", sort=True):
        monthly = frame.groupby("month", sort=True)[
            ["credits_minor", "charges_minor", "net_minor"]].sum()
        cumulative = monthly["net_minor"].cumsum()
        rows = [[month] + [format_money(int(v), str(currency), minor=True)
                           for v in (row.credits_minor, row.charges_minor, row.net_minor,
                                     cumulative[month])]
                for month, row in monthly.iterrows()]
        result.append((f"Cash timeline, {currency} (all payment methods)",
                       ["month", "credits", "charges", "net", "cumulative net"], rows))
    return result


def rule_tables(summary: Summary) -> list[TextTable]:
    """Money by billing rule, per currency, each rule ID with its name."""
    table: pd.DataFrame | None = summary.tables.get("finance_by_rule")
    if table is None or table.empty:
        return []
    result = []
    for currency, frame in table.groupby("currency", sort=True):
        rows = [[rule_label(str(row.rule)), format_count(int(row.lines)),
                 format_money(int(row.credits_minor), str(currency), minor=True),
                 format_money(int(row.charges_minor), str(currency), minor=True),
                 format_money(int(row.net_minor), str(currency), minor=True)]
                for row in frame.itertuples()]
        result.append((f"Money by billing rule, {currency}",
                       ["rule", "lines", "credits", "charges", "net"], rows))
    return result
