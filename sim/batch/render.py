"""The report of a replication set: every metric with its interval, and error-bar plots.

Writes ``tables/metrics.csv`` (metric, unit, mean, sd, ci_low, ci_high, n, R),
``plots/intervals.png`` (waits, outcome shares and money totals, each mean with its
confidence interval as an error bar), ``report.md`` and a self-contained ``report.html``.
Money figures are printed from their exact decimal strings; floats only draw the plots.
"""

from __future__ import annotations

import base64
import csv
import fnmatch
import html
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

__all__ = ["interval_rows", "render_replications"]

PANELS = (
    ("Queue waits, whole horizon and peak window", "minutes",
     ("queue_wait.p50", "queue_wait.p95", "peak.queue_wait.p50", "peak.queue_wait.p95",
      "on_demand.queue_wait.p95", "at_renewal.queue_wait.p95")),
    ("Outcome shares", "share of requests",
     ("outcome.automatic.share", "outcome.automatic-after-remediation.share",
      "outcome.scheduled.share", "outcome.manual.share", "outcome.abandoned.share")),
    ("Money totals", "currency units",
     ("finance.credits.total*", "finance.charges.total*", "finance.net.total*",
      "finance.overlap_cost.total*")),  # patterns: a currency suffix may follow
)
COLUMNS = ("metric", "unit", "mean", "sd", "ci_low", "ci_high", "n", "replications")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def interval_rows(metrics: dict[str, dict[str, Any]]) -> list[list[str]]:
    """One row of text cells per metric, in COLUMNS order."""
    return [[name, metric["unit"], *(_cell(metric.get(c)) for c in COLUMNS[2:])]
            for name, metric in metrics.items()]


def _float(value: Any) -> float:
    return float(Decimal(value)) if isinstance(value, str) else float(value)


def _plot(metrics: dict[str, dict[str, Any]]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(PANELS), figsize=(15, 4.8), dpi=100)
    try:
        for ax, (title, unit, patterns) in zip(axes, PANELS, strict=True):
            shown = list(dict.fromkeys(
                name for pattern in patterns for name in metrics
                if fnmatch.fnmatchcase(name, pattern) and metrics[name]["mean"] is not None))
            means = [_float(metrics[n]["mean"]) for n in shown]
            errors = [_float(metrics[n]["half_width"]) if metrics[n]["half_width"] is not None
                      else 0.0 for n in shown]
            ax.bar(range(len(shown)), means, yerr=errors, capsize=4, color="#1f5f8b",
                   ecolor="#c0392b")
            ax.set_xticks(range(len(shown)), shown, rotation=30, ha="right", fontsize=8)
            ax.set_ylabel(unit)
            ax.set_title(title, fontsize=10)
        confidence = next(iter(metrics.values()))["confidence"] if metrics else 0.95
        figure.suptitle(f"Mean over replications with {confidence:.0%} confidence intervals")
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    finally:
        plt.close(figure)
    return buffer.getvalue()


def _title(run: dict[str, Any]) -> str:
    return (f"planshift replications: {run['scenario']} (base seed {run['base_seed']}, "
            f"{run['replications']} replications, {run['tenants']:,} tenants)")


def render_replications(summary: dict[str, Any], directory: Path) -> dict[str, Path]:
    """Write the tables, plot, report.md and report.html of a replication set."""
    from ..fleet.records import write_atomic

    run, metrics = summary["run"], summary["metrics"]
    rows = interval_rows(metrics)
    (directory / "tables").mkdir(exist_ok=True)
    (directory / "plots").mkdir(exist_ok=True)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    write_atomic(directory / "tables" / "metrics.csv", text.getvalue().encode("utf-8"))
    png = _plot(metrics)
    write_atomic(directory / "plots" / "intervals.png", png)
    intro = (f"Seeds derived as `{run['seed_derivation']}`; intervals: {run['interval']} "
             f"at {run['confidence']:.0%}. Peak window: {run['peak_window']}. Each "
             "replication's own records and summary are in rep-NNN/.")
    markdown = [f"# {_title(run)}", "", intro, "", "![intervals](plots/intervals.png)", "",
                "| " + " | ".join(COLUMNS) + " |", "|---|---|" + "---:|" * 6]
    markdown += ["| " + " | ".join(row) + " |" for row in rows]
    write_atomic(directory / "report.md", ("\n".join(markdown) + "\n").encode("utf-8"))
    esc = html.escape
    data = base64.b64encode(png).decode("ascii")
    page = ["<!DOCTYPE html>", "<html lang=\"en\"><head><meta charset=\"utf-8\">",
            f"<title>{esc(_title(run))}</title><style>body{{font-family:system-ui,"
            "sans-serif;max-width:1200px;margin:2em auto}td,th{border:1px solid #ccc;"
            "padding:2px 6px;font-size:13px}table{border-collapse:collapse}img{max-width:"
            "100%}</style></head><body>", f"<h1>{esc(_title(run))}</h1>",
            f"<p>{esc(intro)}</p>", f"<img alt=\"intervals\" src=\"data:image/png;base64,"
            f"{data}\">", "<table><tr>" + "".join(f"<th>{c}</th>" for c in COLUMNS) + "</tr>"]
    page += ["<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows]
    page += ["</table></body></html>"]
    write_atomic(directory / "report.html", ("\n".join(page) + "\n").encode("utf-8"))
    return {"markdown": directory / "report.md", "html": directory / "report.html",
            "plot": directory / "plots" / "intervals.png"}
