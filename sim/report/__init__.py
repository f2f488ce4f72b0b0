"""Reports of a finished run: statistics, plots and documents, from stored records only.

run -> records (sim.fleet.runner) | aggregate: :func:`summarise` | render: :func:`render`.
:func:`build_report` chains load, summarise and render for one run directory.
"""

from __future__ import annotations

from pathlib import Path

from .records import RunError, RunRecords, load_run
from .render import render
from .stats import Summary, summarise

__all__ = ["RunError", "RunRecords", "Summary", "build_report", "load_run", "render",
           "summarise"]


def run_info(records: RunRecords) -> dict:
    manifest = records.manifest
    return {
        "scenario": manifest["scenario_name"],
        "question": manifest["scenario"]["meta"].get("question", ""),
        "seed": manifest["seed"],
        "tenants": manifest["tenants"],
        "currency": manifest["currency"],
        "rounding": manifest["rounding"],
        "record_format": manifest["record_format"],
        "version": manifest["version"],
    }


def build_report(directory: str | Path) -> dict[str, Path]:
    """Rebuild the report of the run in `directory` from its records alone."""
    records = load_run(directory)
    return render(summarise(records), Path(directory), run_info(records))
