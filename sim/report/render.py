"""Writing a report: summary.json, tables/*.csv, plots/*.png, report.md, report.html.

Every file is written to a temporary name and renamed into place (``os.replace``), so
an interrupted report never leaves a half-written file behind. report.html is one
self-contained file: its plots are embedded as data URIs with alt text, it needs no
network, and it opens with a plain-language summary and a table of contents linking each
section and each ``tables/*.csv``. JSON and CSV keep exact machine values; report.md and
report.html show numbers through :mod:`sim.report.format`.
"""

from __future__ import annotations

import base64
import html
import os
import re
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from ..fleet.progress import NO_PHASES, Phase, Phases, track
from ..fleet.records import write_atomic, write_json_atomic
from .names import label_rule_ids
from .narrative import (
    TextTable,
    cash_tables,
    horizon_note,
    metric_rows,
    rule_tables,
    summary_paragraph,
)
from .plots import alt_text, draw, run_label
from .stats import Summary

__all__ = ["SECTIONS", "render"]

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
FINANCE = SECTIONS[2][0]


def _anchor(heading: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", heading.lower()).strip("-")


PLOT_NAMES = tuple(name for _, _, plots in SECTIONS for name in plots)


def _draw_plots(summary: Summary, run: dict[str, Any], workers: int,
                phase: Phase) -> dict[str, bytes]:
    """Every plot, in PLOT_NAMES order; `phase` advances as each one is finished."""
    if workers <= 1:
        images = {}
        for name in PLOT_NAMES:
            images[name] = draw(name, summary, run)
            phase.advance()
        return images
    # Forked workers share the imported matplotlib; each draws whole figures.
    with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
        futures = {name: pool.submit(draw, name, summary, run) for name in PLOT_NAMES}
        for _ in as_completed(futures.values()):
            phase.advance()
        return {name: future.result() for name, future in futures.items()}


def _plot_workers() -> int:
    return 2 if (os.cpu_count() or 1) >= 2 else 1


def render(summary: Summary, directory: Path, run_info: dict[str, Any], plots: bool = True,
           workers: int | None = None, progress: Phases = NO_PHASES) -> dict[str, Path]:
    """Write the report of `summary` into `directory`; returns the main files.

    ``plots=False`` skips drawing (the documents then say so); `workers` processes
    draw the plots (default: 2 where the machine has 2 cores or more). `progress`
    (sim.fleet.progress) sees the phases report: tables, report: plots, report: documents.
    """
    directory.mkdir(parents=True, exist_ok=True)
    tables_dir = directory / "tables"
    tables_dir.mkdir(exist_ok=True)
    summary_doc = {"format": 1, "run": run_info, "metrics": summary.metrics}
    with track(progress, "report: tables", 1 + len(summary.tables)) as phase:
        write_json_atomic(directory / "summary.json", summary_doc)
        phase.advance()
        for name, table in summary.tables.items():
            write_atomic(tables_dir / f"{name}.csv",
                         table.to_csv(index=False, lineterminator="\n").encode("utf-8"))
            phase.advance()
    images: dict[str, bytes] = {}
    if plots:
        plots_dir = directory / "plots"
        plots_dir.mkdir(exist_ok=True)
        with track(progress, "report: plots", len(PLOT_NAMES)) as phase:
            images = _draw_plots(summary, run_info, workers or _plot_workers(), phase)
            for name, data in images.items():
                write_atomic(plots_dir / f"{name}.png", data)
    with track(progress, "report: documents", 2) as phase:
        write_atomic(directory / "report.md",
                     _markdown(summary, run_info, bool(images)).encode("utf-8"))
        phase.advance()
        write_atomic(directory / "report.html",
                     _html(summary, run_info, images).encode("utf-8"))
        phase.advance()
    return {"summary": directory / "summary.json", "markdown": directory / "report.md",
            "html": directory / "report.html"}


def _title(run_info: dict[str, Any]) -> str:
    return (f"planshift report: {run_info['scenario']} (seed {run_info['seed']}, "
            f"{run_info['tenants']:,} tenants)")


def _settings(summary: Summary, run_info: dict[str, Any]) -> str:
    currencies = summary.metrics.get("finance.currencies", {}).get("value") or run_info.get(
        "currency", "")
    return (f"Billing currencies {currencies}; rounding policy {run_info['rounding']}; "
            f"record format {run_info['record_format']}. Built from the stored records "
            "alone (python run_sim.py report RUN_DIR). Money is shown per currency and "
            "never summed across currencies unless a conversion table (--fx) is given.")


def _section_tables(heading: str, summary: Summary) -> list[TextTable]:
    return rule_tables(summary) + cash_tables(summary) if heading == FINANCE else []


def _md_table(table: TextTable) -> list[str]:
    caption, header, rows = table
    lines = [f"**{caption}**", "", "| " + " | ".join(header) + " |",
             "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def _markdown(summary: Summary, run_info: dict[str, Any], with_plots: bool) -> str:
    lines = [f"# {_title(run_info)}", ""]
    if run_info.get("question"):
        lines += [f"*{run_info['question']}*", ""]
    lines += [summary_paragraph(summary, run_info), "", _settings(summary, run_info), "",
              "## Contents", ""]
    lines += [f"- [{heading}](#{_anchor(heading)})" for heading, _, _ in SECTIONS]
    lines += ["- [Tables](#tables)", ""]
    for heading, prefixes, plots in SECTIONS:
        lines += [f"## {heading}", ""]
        if heading == FINANCE and horizon_note(summary):
            lines += [f"> {horizon_note(summary)}", ""]
        lines += ["| metric | value |", "|---|---:|"]
        lines += [f"| {name} | {value} |" for name, value in metric_rows(summary, prefixes)]
        lines.append("")
        for table in _section_tables(heading, summary):
            lines += _md_table(table)
        if with_plots:
            lines += [f"![{alt_text(plot, run_info)}](plots/{plot}.png)" for plot in plots]
        else:
            lines.append("*Plots not drawn for this report (--no-plots).*")
        lines.append("")
    lines += ["## Tables", "", "Exact machine values (minor units and decimal strings):", ""]
    lines += [f"- [tables/{name}.csv](tables/{name}.csv)" for name in summary.tables]
    return label_rule_ids("\n".join(lines) + "\n")


STYLE = ("body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;"
         "padding:0 1em;color:#222}table{border-collapse:collapse;margin:1em 0}"
         "td,th{border:1px solid #ccc;padding:3px 8px;font-size:14px}td.v{text-align:right;"
         "font-variant-numeric:tabular-nums}img{max-width:100%;display:block;margin:1em 0}"
         "h2{border-bottom:2px solid #1f5f8b;padding-bottom:4px}p.summary{font-size:16px;"
         "background:#f3f6f9;padding:10px 14px;border-left:4px solid #1f5f8b}"
         "caption{text-align:left;font-weight:bold;padding:4px 0}")


def _html_table(table: TextTable) -> list[str]:
    esc = html.escape
    caption, header, rows = table
    parts = [f"<table><caption>{esc(caption)}</caption><tr>"
             + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>"]
    for row in rows:
        parts.append("<tr>" + "".join(
            f"<td>{esc(cell)}</td>" if i == 0 else f"<td class=\"v\">{esc(cell)}</td>"
            for i, cell in enumerate(row)) + "</tr>")
    parts.append("</table>")
    return parts


def _html(summary: Summary, run_info: dict[str, Any], images: dict[str, bytes]) -> str:
    esc = html.escape
    parts = ["<!DOCTYPE html>", "<html lang=\"en\"><head><meta charset=\"utf-8\">",
             f"<title>{esc(_title(run_info))}</title>", f"<style>{STYLE}</style></head><body>",
             f"<h1>{esc(_title(run_info))}</h1>"]
    if run_info.get("question"):
        parts.append(f"<p><em>{esc(run_info['question'])}</em></p>")
    parts.append(f"<p class=\"summary\">{esc(summary_paragraph(summary, run_info))}</p>")
    parts.append(f"<p>{esc(_settings(summary, run_info))}</p>")
    parts.append("<nav><h2 id=\"contents\">Contents</h2><ol>")
    parts += [f"<li><a href=\"#{_anchor(h)}\">{esc(h)}</a></li>" for h, _, _ in SECTIONS]
    parts.append("<li><a href=\"#tables\">Tables (CSV)</a></li></ol></nav>")
    for heading, prefixes, plot_names in SECTIONS:
        parts.append(f"<h2 id=\"{_anchor(heading)}\">{esc(heading)}</h2>")
        if heading == FINANCE and horizon_note(summary):
            parts.append(f"<p><strong>Note:</strong> {esc(horizon_note(summary))}</p>")
        for name in plot_names:
            if name in images:
                data = base64.b64encode(images[name]).decode("ascii")
                parts.append(f"<img alt=\"{esc(alt_text(name, run_info))}\" "
                             f"src=\"data:image/png;base64,{data}\">")
        if not images:
            parts.append("<p><em>Plots not drawn for this report (--no-plots).</em></p>")
        parts += _html_table(("Metrics", ["metric", "value"],
                              [list(row) for row in metric_rows(summary, prefixes)]))
        for table in _section_tables(heading, summary):
            parts += _html_table(table)
    parts.append("<h2 id=\"tables\">Tables (CSV, exact machine values)</h2><ul>")
    parts += [f"<li><a href=\"tables/{esc(name)}.csv\">tables/{esc(name)}.csv</a></li>"
              for name in summary.tables]
    parts.append("</ul>")
    parts.append(f"<p>{esc(run_label(run_info))}</p></body></html>")
    return label_rule_ids("\n".join(parts) + "\n")
