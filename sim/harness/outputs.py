"""The files a check writes: its output folder, atomic writes, JUnit XML, an HTML page.

An output folder is only ever a new folder or one a previous check wrote (it holds that
check's ``summary.json``): a folder of someone's own files is refused, never written
over. Every file is written to a temporary name beside it and renamed into place.
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from ..fleet.records import write_atomic

__all__ = ["OutputError", "atomic_text", "prepare_out_dir", "write_junit", "write_report"]

REPORT_ROWS = 50  # disagreements shown on the HTML page


class OutputError(ValueError):
    """An output or input path cannot be used (bad input, exit 2)."""


def atomic_text(path: Path, text: str) -> None:
    """Write `text` (UTF-8) beside `path` and rename it into place (sim.fleet.records)."""
    write_atomic(path, text.encode("utf-8"))


def prepare_out_dir(path: Path, tool: str, marker: str = "summary.json"
                    ) -> dict[str, Any] | None:
    """Create `path`, or accept it when empty or a previous `tool` output; else refuse.

    A previous output is recognised by its `marker` file, a JSON object whose ``tool``
    is `tool`.

    Returns the previous summary (so the caller can remove only the files it wrote).
    """
    if path.exists() and not path.is_dir():
        raise OutputError(f"--out {path}: exists and is not a directory")
    if not path.exists():
        try:
            path.mkdir(parents=True)
        except OSError as error:
            raise OutputError(f"--out {path}: cannot create ({error.strerror})") from None
        return None
    if not any(path.iterdir()):
        return None
    summary_path = path / marker
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        summary = None
    if not isinstance(summary, dict) or summary.get("tool") != tool:
        raise OutputError(f"--out {path}: the directory holds other files and no "
                          f"{marker} of a previous {tool}; choose a new directory")
    return summary


def write_junit(path: Path, cases_file: Path, summary: dict[str, Any]) -> None:
    """JUnit XML, one testcase per case, from the (case_id, kind, record) lines of a check."""
    failures = summary["disagreements"]
    errors = summary["sut_errors"]
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with temporary.open("w", encoding="utf-8") as out, cases_file.open(encoding="utf-8") as src:
            out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
            out.write(f'<testsuites><testsuite name="planshift check" tests="{summary["cases"]}" '
                      f'failures="{failures}" errors="{errors}" '
                      f'time="{summary["seconds"]}">\n')
            for line in src:
                case_id, kind, record = json.loads(line)
                out.write(f'<testcase classname={quoteattr(f"planshift.{kind}")} '
                          f'name={quoteattr(str(case_id))}')
                if record is None:
                    out.write("/>\n")
                    continue
                tag = "error" if record["class"] == "sut-error" else "failure"
                detail = record.get("reason") or json.dumps(record.get("differences"),
                                                            default=str)
                out.write(f'><{tag} type={quoteattr(record["class"])} '
                          f'message={quoteattr(", ".join(record["classes"]))}>'
                          f"{escape(detail)}</{tag}></testcase>\n")
            out.write("</testsuite></testsuites>\n")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _rows(disagreements: Path) -> list[dict[str, Any]]:
    rows = []
    with disagreements.open(encoding="utf-8") as handle:
        for line in handle:
            rows.append(json.loads(line))
            if len(rows) >= REPORT_ROWS:
                break
    return rows


def write_report(path: Path, summary: dict[str, Any], disagreements: Path) -> None:
    """A short HTML page: totals, counts per class and per rule, the first disagreements."""
    def table(title: str, counts: dict[str, int]) -> str:
        body = "".join(f"<tr><td>{html.escape(k)}</td><td>{v}</td></tr>"
                       for k, v in counts.items())
        return f"<h2>{title}</h2><table><tr><th>{title}</th><th>cases</th></tr>{body}</table>"

    rows = "".join(
        f"<tr><td>{html.escape(str(r['case_id']))}</td><td>{html.escape(r['class'])}</td>"
        f"<td><code>{html.escape(r.get('reason') or json.dumps(r.get('differences'))[:400])}"
        f"</code></td></tr>" for r in _rows(disagreements))
    shrunk = "".join(f"<li><a href='{html.escape(s['files'][0])}'>{html.escape(s['case_id'])}"
                     f"</a> ({html.escape(s['class'])})</li>" for s in summary["shrunk"])
    verdict = "all agree" if not (summary["disagreements"] or summary["sut_errors"]) else (
        f"{summary['disagreements']} disagreements, {summary['sut_errors']} SUT errors")
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>planshift check</title>
<style>body{{font-family:sans-serif;margin:2em}}td,th{{border:1px solid #ccc;padding:3px 8px}}
table{{border-collapse:collapse}}code{{font-size:85%}}</style></head><body>
<h1>planshift check: {html.escape(verdict)}</h1>
<p>SUT <code>{html.escape(summary['sut'])}</code>: {summary['cases']} cases,
{summary['agreed']} agree, {summary['invalid']} invalid.
{html.escape(summary['stopped'] or '')}</p>
{table('class', summary['classes'])}
{table('rule', summary['rules'])}
<h2>First disagreements</h2><table><tr><th>case</th><th>class</th><th>detail</th></tr>
{rows}</table>
<h2>Shrunk cases</h2><ul>{shrunk}</ul>
</body></html>
"""
    atomic_text(path, page)
