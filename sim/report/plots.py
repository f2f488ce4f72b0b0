"""Plots of a run summary (matplotlib, headless). Each function draws one figure.

Every plot has a title, labelled axes with units, and is written as PNG at a fixed DPI
with fixed metadata, so the same summary gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless; set before pyplot is imported
import matplotlib.pyplot as plt
import numpy as np

from .stats import Summary

__all__ = ["PLOTS", "draw_all"]

DPI = 100
COLOURS = ("#1f5f8b", "#e07a1f", "#3a9d5d", "#c0392b", "#7d5ba6", "#8c6d46", "#5f6b73")


def _money_values(column) -> np.ndarray:
    return np.array([float(Decimal(v)) for v in column])  # plotting only, never arithmetic


def _blocker_bars(ax, summary: Summary, column: str, scale: float, colour: str,
                  xlabel: str, title: str) -> None:
    """One horizontal bar per blocker code, sorted by `column` of the blockers table."""
    table = summary.tables["blockers"]
    if table.empty:
        ax.text(0.5, 0.5, "no blocked attempts", ha="center", va="center")
    else:
        table = table.sort_values(column)
        ax.barh(table["code"], table[column] * scale, color=colour)
        ax.set_xlabel(xlabel)
    ax.set_title(title)


def _blockers(summary: Summary, ax) -> None:
    _blocker_bars(ax, summary, "attempt_share", 100, COLOURS[0],
                  "share of eligibility attempts blocked (%)", "Blockers met (R-ELIG-01..10)")


def _hours_lost(summary: Summary, ax) -> None:
    _blocker_bars(ax, summary, "hours_lost", 1, COLOURS[1],
                  "admin-hours waited or remediating (h)", "Time lost to each blocker")


def _funnel(summary: Summary, ax) -> None:
    table = summary.tables["outcome_funnel"]
    ax.bar(table["outcome"], table["requests"], color=COLOURS[:len(table)])
    ax.set_ylabel("change requests")
    ax.set_title("Outcome of change requests")
    ax.tick_params(axis="x", rotation=25)


def _daily_load(summary: Summary, ax) -> None:
    daily = summary.series["daily"]
    ax.plot(daily.index, daily["requests"], label="requests", color=COLOURS[0], lw=1)
    ax.plot(daily.index, daily["completions"], label="completions", color=COLOURS[2], lw=1)
    ax.set_ylabel("per day")
    ax.set_xlabel("date (UTC)")
    ax.set_title("Change requests and completions per day")
    ax.legend()


def _utilisation(summary: Summary, ax) -> None:
    daily = summary.series["daily"]
    ax.plot(daily.index, daily["utilisation"] * 100, color=COLOURS[3], lw=1,
            label="busy workers")
    ax.set_ylabel("worker utilisation (%)")
    ax.set_xlabel("date (UTC)")
    ax2 = ax.twinx()
    ax2.plot(daily.index, daily["queue_length"], color=COLOURS[4], lw=1, alpha=0.7,
             label="queue")
    ax2.set_ylabel("mean queue length (changes)")
    ax.set_title("Change workers: utilisation and queue (time-weighted daily means)")
    handles = ax.get_lines() + ax2.get_lines()
    ax.legend(handles, [line.get_label() for line in handles], loc="upper left")


def _waits(summary: Summary, ax) -> None:
    table = summary.tables["duration_percentiles"]
    measures = ("queue_wait", "switch", "lead_time")
    width = 0.2
    x = np.arange(len(measures))
    for offset, percentile in enumerate(sorted(table["percentile"].unique())):
        values = [float(table[(table["measure"] == m) & (table["percentile"] == percentile)]
                        ["minutes"].iloc[0]) for m in measures]
        ax.bar(x + (offset - 1.5) * width, values, width, label=f"p{percentile}",
               color=COLOURS[offset])
    ax.set_xticks(x, ["queue wait", "switch", "lead time"])
    ax.set_yscale("symlog", linthresh=10)
    ax.set_ylabel("minutes (log scale)")
    ax.set_title("Queue wait, switch time and lead time percentiles")
    ax.legend()


def _finance_by_account(summary: Summary, ax) -> None:
    table = summary.tables["finance_by_account"]
    x = np.arange(len(table))
    ax.bar(x - 0.2, _money_values(table["credits"]), 0.4, label="credits", color=COLOURS[2])
    ax.bar(x + 0.2, _money_values(table["charges"]), 0.4, label="charges", color=COLOURS[1])
    ax.set_xticks(x, table["billing_account"])
    ax.axhline(0, color="black", lw=0.8)
    ax.set_ylabel(f"amount ({summary.metrics['finance.net.total']['unit']})")
    ax.set_title("Credits and charges by billing account type")
    ax.legend()


def _cash_timeline(summary: Summary, ax) -> None:
    table = summary.tables["cash_timeline"]
    x = np.arange(len(table))
    ax.bar(x, -_money_values(table["credits"]), color=COLOURS[2], label="credits paid out")
    ax.plot(x, _money_values(table["charges"]), color=COLOURS[1], marker="o",
            label="charges collected")
    ax.set_xticks(x, table["month"], rotation=45)
    ax.set_ylabel(f"amount ({summary.metrics['finance.net.total']['unit']})")
    ax.set_title("Monthly cash timeline (by cash date, P-TIME-04)")
    ax.legend()


def _rounding(summary: Summary, ax) -> None:
    table = summary.tables["rounding_policies"]
    values = -_money_values(table["credits"])
    ax.bar(table["policy"], values, color=COLOURS[:len(table)])
    if len(values) and values.max() > 0:
        spread = values.max() - values.min()
        ax.set_ylim(values.min() - spread * 2 - 1, values.max() + spread * 2 + 1)
    ax.set_ylabel(f"credits ({summary.metrics['finance.net.total']['unit']})")
    ax.set_title("The fleet's credits under each rounding policy (P-RND-03)")


def _impact(summary: Summary, ax) -> None:
    table = summary.tables["impact_by_path"]
    x = np.arange(len(table))
    ax.bar(x - 0.2, table["data_at_risk_gb"], 0.4, label="data at risk", color=COLOURS[4])
    ax.bar(x + 0.2, table["data_lost_gb"], 0.4, label="data lost", color=COLOURS[3])
    ax.set_xticks(x, table["path"])
    ax.set_ylabel("GB")
    ax.set_title("Customer data at risk and lost, by path (R-MAN-02)")
    ax.legend()


PLOTS: dict[str, Callable] = {
    "blockers": _blockers,
    "outcome_funnel": _funnel,
    "hours_lost": _hours_lost,
    "daily_load": _daily_load,
    "utilisation": _utilisation,
    "waits": _waits,
    "finance_by_account": _finance_by_account,
    "cash_timeline": _cash_timeline,
    "rounding_policies": _rounding,
    "data_impact": _impact,
}


def draw_all(summary: Summary, directory: Path, write: Callable[[Path, bytes], None]
             ) -> dict[str, Path]:
    """Draw every plot as PNG into `directory` via `write(path, bytes)` (atomic)."""
    import io

    paths = {}
    for name, draw in PLOTS.items():
        figure, ax = plt.subplots(figsize=(8, 4.5), dpi=DPI)
        try:
            draw(summary, ax)
            figure.tight_layout()
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
        finally:
            plt.close(figure)
        path = directory / f"{name}.png"
        write(path, buffer.getvalue())
        paths[name] = path
    return paths
