"""Plots of a run summary that tell the truth (issue 12, part 2). Headless matplotlib.

Each plot answers one question, named in its title with the run it came from. Axes
comparing magnitudes start at zero; no axis carries offset or scientific notation (tick
labels go through :mod:`sim.report.format`); differences are drawn as differences;
categories without a label or a value are not drawn; long labels sit on horizontal bars;
money is drawn per currency, never summed across currencies. Figures are drawn without
pyplot (one ``Figure`` each), at a fixed DPI with fixed metadata, so the same summary
gives the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from decimal import Decimal
from typing import Any, NamedTuple

import matplotlib

matplotlib.use("Agg")  # headless; set before any backend is used
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from ..rules.eligibility import RULES_BY_CODE
from .format import format_duration, format_money, format_number
from .names import label_rule_ids, rule_label
from .stats import Summary

__all__ = ["PLOTS", "Plot", "alt_text", "draw", "figure_of", "run_label"]

DPI = 100
COLOURS = ("#1f5f8b", "#e07a1f", "#3a9d5d", "#c0392b", "#7d5ba6", "#8c6d46", "#5f6b73")
PLAIN = FuncFormatter(lambda value, _: format_number(value))
PERCENT = FuncFormatter(lambda value, _: f"{format_number(value)}%")


class Plot(NamedTuple):
    question: str  # the title: the question the plot answers
    alt: str  # what the picture shows, for alt text
    draw: Callable[[Summary, Figure], None]


def run_label(run: dict[str, Any]) -> str:
    return (f"run: {run.get('scenario', '?')}, seed {run.get('seed', '?')}, "
            f"{format_number(int(run.get('tenants', 0)))} tenants")


def _plain(ax, *axes: str, formatter: FuncFormatter = PLAIN) -> None:
    """Tick labels through format.py: no offset, no exponent."""
    for axis in axes:
        getattr(ax, f"{axis}axis").set_major_formatter(formatter)


def _money(column) -> np.ndarray:
    return np.array([float(Decimal(v)) for v in column])  # plotting only, never arithmetic


def _empty(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()


def _blocker_label(code: str) -> str:
    rule = RULES_BY_CODE.get(code)
    return rule_label(rule.rule_id) if rule is not None else code


def _blocker_bars(summary: Summary, figure: Figure, column: str, scale: float, colour: str,
                  xlabel: str) -> None:
    ax = figure.add_subplot()
    table = summary.tables["blockers"]
    table = table[(table["code"].fillna("") != "") & (table[column] > 0)]
    if table.empty:
        return _empty(ax, "no blocked attempts")
    table = table.sort_values(column)
    ax.barh([_blocker_label(code) for code in table["code"]], table[column] * scale,
            color=colour)
    ax.set_xlim(left=0)
    ax.set_xlabel(xlabel)
    _plain(ax, "x", formatter=PERCENT if scale == 100 else PLAIN)


def _blockers(summary: Summary, figure: Figure) -> None:
    _blocker_bars(summary, figure, "attempt_share", 100, COLOURS[0],
                  "share of eligibility attempts blocked")


def _hours_lost(summary: Summary, figure: Figure) -> None:
    _blocker_bars(summary, figure, "hours_lost", 1, COLOURS[1],
                  "admin hours waited or remediating")


def _funnel(summary: Summary, figure: Figure) -> None:
    ax = figure.add_subplot()
    table = summary.tables["outcome_funnel"].iloc[::-1]
    bars = ax.barh(table["outcome"], table["requests"], color=COLOURS[0])
    labels = [f"{format_number(int(n))} ({format_number(s * 100, 1)}%)"
              for n, s in zip(table["requests"], table["share"], strict=True)]
    ax.bar_label(bars, labels, padding=3)
    ax.set_xlim(0, max(int(table["requests"].max()), 1) * 1.2)
    ax.set_xlabel("change requests")
    _plain(ax, "x")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _daily_load(summary: Summary, figure: Figure) -> None:
    ax = figure.add_subplot()
    daily = summary.series["daily"]
    ax.plot(daily.index, daily["requests"], label="requests", color=COLOURS[0], lw=1)
    ax.plot(daily.index, daily["completions"], label="completions", color=COLOURS[2], lw=1)
    ax.set_ylim(bottom=0)
    ax.set_ylabel("per day")
    ax.set_xlabel("date (UTC)")
    _plain(ax, "y")
    ax.legend(loc="upper left")


def _utilisation(summary: Summary, figure: Figure) -> None:
    ax = figure.add_subplot()
    daily = summary.series["daily"]
    ax.plot(daily.index, daily["utilisation"] * 100, color=COLOURS[3], lw=1,
            label="busy workers (%)")
    peak = float(daily["utilisation"].max() * 100) if len(daily) else 0.0
    ax.set_ylim(0, min(100.0, max(10.0, peak * 1.25)))  # from zero; 100% only when near it
    ax.set_ylabel("worker utilisation")
    ax.set_xlabel("date (UTC)")
    _plain(ax, "y", formatter=PERCENT)
    ax2 = ax.twinx()
    queue = daily["queue_length"].clip(lower=0)
    ax2.plot(daily.index, queue, color=COLOURS[4], lw=1, alpha=0.8, label="queue (changes)")
    ax2.set_ylim(0, max(float(queue.max()) * 1.1, 1.0))  # a queue is never negative
    if float(queue.max() if len(queue) else 0) == 0:
        ax.text(0.5, 0.6, "no change ever waited in the queue", ha="center",
                transform=ax.transAxes, color=COLOURS[4])
    ax2.set_ylabel("mean queue length (changes)")
    _plain(ax2, "y")
    handles = ax.get_lines() + ax2.get_lines()
    ax.legend(handles, [line.get_label() for line in handles], loc="upper left")


def _duration_unit(largest: float) -> tuple[str, float]:
    if largest >= 2 * 1440:
        return "days", 1440.0
    if largest >= 120:
        return "hours", 60.0
    return "minutes", 1.0


def _waits(summary: Summary, figure: Figure) -> None:
    """One linear panel per measure, each in its own unit: no log axis, zeros visible."""
    table = summary.tables["duration_percentiles"]
    measures = (("queue_wait", "queue wait"), ("switch", "switch"), ("lead_time", "lead time"))
    axes = figure.subplots(1, len(measures))
    for ax, (measure, label) in zip(axes, measures, strict=True):
        rows = table[table["measure"] == measure]
        minutes = rows["minutes"].to_numpy(dtype=float)
        unit, scale = _duration_unit(float(minutes.max()) if len(minutes) else 0.0)
        bars = ax.bar([f"p{p}" for p in rows["percentile"]], minutes / scale,
                      color=COLOURS[:len(rows)])
        ax.bar_label(bars, [format_duration(v) for v in minutes], padding=2, fontsize=7)
        top = float((minutes / scale).max()) if len(minutes) else 0.0
        ax.set_ylim(0, top * 1.15 if top > 0 else 1.0)
        if top == 0:
            ax.text(0.5, 0.5, "zero at every percentile", ha="center", va="center",
                    transform=ax.transAxes)
        ax.set_title(label)
        ax.set_ylabel(unit)
        _plain(ax, "y")


def _currencies(table) -> list[str]:
    return sorted(set(table["currency"])) if len(table) else []


def _per_currency(figure: Figure, currencies: list[str], sharex: bool = False) -> list:
    if not currencies:
        return []
    axes = figure.subplots(len(currencies), 1, sharex=sharex, squeeze=False)
    return list(axes[:, 0])


def _finance_by_account(summary: Summary, figure: Figure) -> None:
    table = summary.tables["finance_by_account"]
    currencies = _currencies(table)
    if not currencies:
        return _empty(figure.add_subplot(), "no ledger lines")
    for ax, currency in zip(_per_currency(figure, currencies), currencies, strict=True):
        rows = table[(table["currency"] == currency) & (table["billing_account"].fillna("") != "")]
        labels = list(rows["billing_account"])
        y = np.arange(len(rows))
        ax.barh(y + 0.2, -_money(rows["credits"]), 0.4, label="credits paid out",
                color=COLOURS[2])
        ax.barh(y - 0.2, _money(rows["charges"]), 0.4, label="charges collected",
                color=COLOURS[1])
        ax.set_yticks(y, labels)
        largest = max(float((-_money(rows["credits"])).max()), float(_money(rows["charges"]).max()),
                      1.0) if len(rows) else 1.0
        ax.set_xlim(0, largest * 1.35)  # room on the right for the legend
        ax.set_xlabel(f"amount ({currency})")
        _plain(ax, "x")
        if currency == currencies[0]:
            ax.legend(loc="center right", fontsize=8)


def _cash_timeline(summary: Summary, figure: Figure) -> None:
    table = summary.tables["cash_timeline"]
    currencies = _currencies(table)
    if not currencies:
        return _empty(figure.add_subplot(), "no dated ledger lines")
    for ax, currency in zip(_per_currency(figure, currencies, sharex=True), currencies,
                            strict=True):
        rows = table[table["currency"] == currency].groupby("month", sort=True)[
            ["credits_minor", "charges_minor", "net_minor"]].sum()  # payment methods, one currency
        scale = 10.0 ** -_digits(currency)
        x = np.arange(len(rows))
        edges = np.arange(len(rows) + 1) - 0.5  # one step per month: one patch, not 40 bars
        ax.stairs(rows["charges_minor"] * scale, edges, fill=True, color=COLOURS[1],
                  label="charges collected")
        ax.stairs(rows["credits_minor"] * scale, edges, fill=True, color=COLOURS[2],
                  label="credits paid out")
        ax.plot(x, rows["net_minor"].cumsum() * scale, color=COLOURS[0], lw=1.5,
                marker=".", label="cumulative net")
        ax.axhline(0, color="black", lw=0.8)
        horizon = summary.notes.get("horizon_end", "")[:7]
        if horizon in rows.index:
            ax.axvline(list(rows.index).index(horizon) + 0.5, color="grey", ls="--", lw=1,
                       label="simulated horizon ends")
        ax.set_ylabel(currency)
        _plain(ax, "y")
        step = max(1, len(rows) // 12)
        ax.set_xticks(x[::step], list(rows.index)[::step], rotation=45, ha="right")
        if currency == currencies[0]:
            ax.legend(loc="upper left", fontsize=8)
    ax.set_xlabel("cash month (every month shown; empty months are zero)")


def _digits(currency: str) -> int:
    from ..rules.money import minor_unit

    return minor_unit(currency)


def _rounding(summary: Summary, figure: Figure) -> None:
    """Each policy's difference from line-half-up, per currency: a difference, drawn as one."""
    table = summary.tables["rounding_policies"]
    currencies = _currencies(table)
    if not currencies:
        return _empty(figure.add_subplot(), "no credit lines")
    for ax, currency in zip(_per_currency(figure, currencies), currencies, strict=True):
        rows = table[table["currency"] == currency].iloc[::-1]
        deltas = -_money(rows["delta_from_default"])  # credit paid out: more is positive
        bars = ax.barh(rows["policy"], deltas, color=[COLOURS[2] if d >= 0 else COLOURS[3]
                                                       for d in deltas])
        ax.bar_label(bars, [format_money(-Decimal(v), currency)
                            for v in rows["delta_from_default"]], padding=3, fontsize=8)
        ax.axvline(0, color="black", lw=0.8)
        limit = max(float(np.abs(deltas).max()) * 1.4, 10.0 ** -_digits(currency))
        ax.set_xlim(-limit, limit)
        base = rows.loc[rows["policy"] == "line-half-up", "credits"]
        total = format_money(-Decimal(base.iloc[0]), currency) if len(base) else "n/a"
        ax.set_xlabel(f"credit paid out minus line-half-up's ({currency}); line-half-up "
                      f"pays {total} in credits")
        _plain(ax, "x")


def _impact(summary: Summary, figure: Figure) -> None:
    """Every path, zeros included (an automatic change loses no data: INV-02); a request
    without a path is drawn only if it has data at risk; blank labels never."""
    ax = figure.add_subplot()
    table = summary.tables["impact_by_path"]
    label = table["path"].fillna("")
    has_data = (table["data_at_risk_gb"] > 0) | (table["data_lost_gb"] > 0)
    shown = table[(label != "") & ((label != "none") | has_data)].iloc[::-1]
    if shown.empty:
        return _empty(ax, "no change requests")
    y = np.arange(len(shown))
    for offset, column, name, colour in ((0.2, "data_at_risk_gb", "data at risk", COLOURS[4]),
                                         (-0.2, "data_lost_gb", "data lost", COLOURS[3])):
        bars = ax.barh(y + offset, shown[column], 0.4, label=name, color=colour)
        ax.bar_label(bars, [f"{format_number(v)} GB" for v in shown[column]], padding=3,
                     fontsize=8)
    ax.set_yticks(y, shown["path"])
    ax.set_xlim(0, max(float(shown["data_at_risk_gb"].max()), 1.0) * 1.3)
    ax.set_xlabel("customer data (GB)")
    _plain(ax, "x")
    ax.legend(loc="center right")


PLOTS: dict[str, Plot] = {
    "outcome_funnel": Plot(
        "How do change requests end?",
        "Horizontal bars: number and share of change requests by outcome.", _funnel),
    "blockers": Plot(
        "Which blockers stop automatic changes most often? (R-ELIG-11)",
        "Horizontal bars: share of eligibility attempts blocked, per blocker rule.",
        _blockers),
    "hours_lost": Plot(
        "How much admin time does each blocker cost?",
        "Horizontal bars: admin hours waited or spent remediating, per blocker rule.",
        _hours_lost),
    "daily_load": Plot(
        "How many changes arrive and complete each day?",
        "Lines from zero: change requests and completions per day.", _daily_load),
    "utilisation": Plot(
        "Are the change workers saturated, and does a queue build up?",
        "Lines: daily time-weighted worker utilisation (0 to 100%) and mean queue length "
        "(from zero).", _utilisation),
    "waits": Plot(
        "How long do admins wait, switch and wait overall?",
        "Three bar panels, each on a linear axis from zero in its own unit: p50, p90, "
        "p95 and p99 of queue wait, switch time and lead time.", _waits),
    "finance_by_account": Plot(
        "How much is credited and charged per billing account, in each currency?",
        "Horizontal bars per currency: credits paid out and charges collected by "
        "billing account.", _finance_by_account),
    "cash_timeline": Plot(
        "When does the cash move, month by month, in each currency? (P-TIME-04)",
        "Monthly bars per currency, every month from the first to the last cash date: "
        "charges above zero, credits below, and the cumulative net as a line.",
        _cash_timeline),
    "rounding_policies": Plot(
        "How much would each rounding policy change the credits? (P-RND-03)",
        "Horizontal bars per currency: each policy's credit total minus line-half-up's.",
        _rounding),
    "data_impact": Plot(
        "Where is customer data put at risk or lost? (R-MAN-02)",
        "Horizontal bars: GB of customer data at risk and lost, by change path.", _impact),
}

PER_CURRENCY = {"finance_by_account", "cash_timeline", "rounding_policies"}


def _size(name: str, summary: Summary) -> tuple[float, float]:
    if name in PER_CURRENCY:
        table = summary.tables.get(name)
        count = len(_currencies(table)) if table is not None else 1
        return 9.0, 1.3 + 2.3 * max(count, 1)
    return 9.0, 4.8


def figure_of(name: str, summary: Summary, run: dict[str, Any]) -> Figure:
    """Plot `name` as a matplotlib Figure, titled with its question and the run."""
    plot = PLOTS[name]
    figure = Figure(figsize=_size(name, summary), dpi=DPI)
    plot.draw(summary, figure)
    figure.suptitle(f"{label_rule_ids(plot.question)}\n{run_label(run)}", fontsize=11)
    figure.tight_layout()
    return figure


def draw(name: str, summary: Summary, run: dict[str, Any]) -> bytes:
    """The PNG bytes of plot `name` (fixed DPI and metadata: same summary, same bytes)."""
    figure = figure_of(name, summary, run)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def alt_text(name: str, run: dict[str, Any]) -> str:
    """Alt text of plot `name`: its question, what it shows, and the run."""
    plot = PLOTS[name]
    return label_rule_ids(f"{plot.question} {plot.alt} ({run_label(run)})")
