"""Writing a report: summary.json, tables/*.csv, plots/*.png, report.md, report.html.

Every file is written to a temporary name and renamed into place (``os.replace``), so
an interrupted report never leaves a half-written file behind. report.html is one
self-contained file: its plots are embedded as data URIs and it needs no network.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

from ..fleet.records import write_atomic, write_json_atomic
from .plots import draw_all
from .stats import Summary

__all__ = ["render"]

SECTIONS = (
    ("QA: failures and outcomes", ("outcome.", "attempts.", "blocker.", "manual.",
                                   "invariant_violations", "requests", "tenants"),
     ("outcome_funnel", "blockers", "hours_lost")),
    ("Capacity planning", ("capacity.", "queue_wait.", "switch.", "lead_time.", "sla."),
     ("daily_load", "utilisation", "waits")),
    ("Finance: proration, credits and cash", ("finance.",),
     ("finance_by_account", "cash_timeline", "rounding_policies")),
    ("Customer impact", ("impact.",), ("data_impact",)),
)


def _format_value(metric: dict[str, Any]) -> str:
    value = metric["value"]
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    return f"{value}"


def _metric_rows(metrics: dict[str, dict[str, Any]], prefixes: tuple[str, ...]
                 ) -> list[tuple[str, str, str]]:
    return [(name, _format_value(metric), metric["unit"]) for name, metric in metrics.items()
            if name.startswith(prefixes)]


def render(summary: Summary, directory: Path, run_info: dict[str, Any]) -> dict[str, Path]:
    """Write the report of `summary` into `directory`; returns the main files."""
    directory.mkdir(parents=True, exist_ok=True)
    tables_dir = directory / "tables"
    plots_dir = directory / "plots"
    tables_dir.mkdir(exist_ok=True)
    plots_dir.mkdir(exist_ok=True)
    summary_doc = {"format": 1, "run": run_info, "metrics": summary.metrics}
    write_json_atomic(directory / "summary.json", summary_doc)
    for name, table in summary.tables.items():
        write_atomic(tables_dir / f"{name}.csv",
                     table.to_csv(index=False, lineterminator="\n").encode("utf-8"))
    plots = draw_all(summary, plots_dir, write_atomic)
    write_atomic(directory / "report.md", _markdown(summary, run_info).encode("utf-8"))
    write_atomic(directory / "report.html", _html(summary, run_info, plots).encode("utf-8"))
    return {"summary": directory / "summary.json", "markdown": directory / "report.md",
            "html": directory / "report.html"}


def _title(run_info: dict[str, Any]) -> str:
    return (f"planshift report: {run_info['scenario']} (seed {run_info['seed']}, "
            f"{run_info['tenants']:,} tenants)")


def _markdown(summary: Summary, run_info: dict[str, Any]) -> str:
    lines = [f"# {_title(run_info)}", ""]
    if run_info.get("question"):
        lines += [f"*{run_info['question']}*", ""]
    lines += [f"Currency {run_info['currency']}, rounding policy `{run_info['rounding']}`, "
              f"record format {run_info['record_format']}. Built from the stored records "
              f"alone (`python run_sim.py report RUN_DIR`).", ""]
    for heading, prefixes, plots in SECTIONS:
        lines += [f"## {heading}", "", "| metric | value | unit |", "|---|---:|---|"]
        lines += [f"| {n} | {v} | {u} |" for n, v, u in _metric_rows(summary.metrics, prefixes)]
        lines.append("")
        lines += [f"![{plot}](plots/{plot}.png)" for plot in plots]
        lines.append("")
    lines += ["## Tables", ""]
    lines += [f"- [`tables/{name}.csv`](tables/{name}.csv)" for name in summary.tables]
    return "\n".join(lines) + "\n"


def _html(summary: Summary, run_info: dict[str, Any], plots: dict[str, Path]) -> str:
    esc = html.escape
    parts = [
        "<!DOCTYPE html>", "<html lang=\"en\"><head><meta charset=\"utf-8\">",
        f"<title>{esc(_title(run_info))}</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;"
        "padding:0 1em;color:#222}table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:3px 8px;font-size:14px}td.v{text-align:right;"
        "font-variant-numeric:tabular-nums}img{max-width:100%;display:block;margin:1em 0}"
        "h2{border-bottom:2px solid #1f5f8b;padding-bottom:4px}</style></head><body>",
        f"<h1>{esc(_title(run_info))}</h1>",
    ]
    if run_info.get("question"):
        parts.append(f"<p><em>{esc(run_info['question'])}</em></p>")
    parts.append(f"<p>Currency {esc(run_info['currency'])}, rounding policy "
                 f"<code>{esc(run_info['rounding'])}</code>. Built from the stored records "
                 "alone.</p>")
    for heading, prefixes, plot_names in SECTIONS:
        parts.append(f"<h2>{esc(heading)}</h2>")
        for name in plot_names:
            data = base64.b64encode(plots[name].read_bytes()).decode("ascii")
            parts.append(f"<img alt=\"{esc(name)}\" src=\"data:image/png;base64,{data}\">")
        parts.append("<table><tr><th>metric</th><th>value</th><th>unit</th></tr>")
        for name, value, unit in _metric_rows(summary.metrics, prefixes):
            parts.append(f"<tr><td>{esc(name)}</td><td class=\"v\">{esc(value)}</td>"
                         f"<td>{esc(unit)}</td></tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
